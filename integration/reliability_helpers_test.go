package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// Helpers of the reliability tests (rows 8-13, 18-20): an external broker
// whose credentials the test knows, worker processes whose stderr it
// reads, and a TCP proxy it can cut.

// poolName is a pool name unique to the test.
func poolName(tb testing.TB) string {
	r := strings.NewReplacer("/", "_", " ", "_")
	name := r.Replace(tb.Name())
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	return strings.Trim(name, "_-")
}

// externalPool starts a pool on broker url with the given credentials.
func externalPool(tb testing.TB, url, user, password string, opts ...pool.Option) *pool.Pool {
	tb.Helper()
	all := []pool.Option{pool.WithBroker(url), pool.WithCredentials(user, password), pool.WithName(poolName(tb))}
	return newPool(tb, append(all, opts...)...)
}

// workerProc is a worker process the test started itself (not a pool's
// child), so that it can choose its URL and read its stderr.
type workerProc struct {
	cmd    *exec.Cmd
	stderr *testutil.SyncBuffer
	exited chan struct{}
}

// startWorkerProc starts this test binary as a worker of the named pool on
// url, the way a pool's supervisor does (config over stdin, which stays
// open, status pipe on fd 3), and waits until it is ready. It is killed at
// cleanup.
func startWorkerProc(tb testing.TB, url, user, password, poolName string) *workerProc {
	tb.Helper()
	needProcFS(tb)
	statusR, statusW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer statusW.Close()
	stdin, stdinW, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer stdin.Close()
	cfg, _ := json.Marshal(spawn.ChildConfig{URL: url, User: user, Password: password, Pool: poolName,
		ID: fmt.Sprintf("%s-w%d", poolName, time.Now().UnixNano()%1e6)})
	w := &workerProc{stderr: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	w.cmd = exec.Command(os.Args[0])
	w.cmd.Env = append(os.Environ(), spawn.EnvMarker+"=1")
	w.cmd.Stdin = stdin
	w.cmd.Stderr = io.MultiWriter(w.stderr, os.Stderr)
	w.cmd.ExtraFiles = []*os.File{statusW}
	w.cmd.SysProcAttr = testProcAttr()
	if err := w.cmd.Start(); err != nil {
		statusR.Close()
		stdinW.Close()
		tb.Fatal(err)
	}
	// One line; the pipe's buffer holds it, and the write end stays open:
	// end of file would tell the worker its parent is gone.
	if _, err := stdinW.Write(append(cfg, '\n')); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); stdinW.Close(); close(w.exited) }()
	tb.Cleanup(func() { w.kill() })
	ready := make(chan struct{})
	go func() {
		defer statusR.Close()
		sc := spawn.NewStatusScanner(statusR)
		once := sync.Once{}
		for sc.Scan() {
			if kind, _ := spawn.ParseStatus(sc.Text()); kind == spawn.StatusReady {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-w.exited:
		tb.Fatalf("worker process exited before it was ready: %s", w.stderr.String())
	case <-time.After(20 * time.Second):
		tb.Fatalf("worker process not ready after 20s: %s", w.stderr.String())
	}
	return w
}

func (w *workerProc) pid() int { return w.cmd.Process.Pid }

func (w *workerProc) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

func (w *workerProc) kill() {
	killGroup(w.pid())
	<-w.exited
}

// proxy forwards loopback TCP connections to a target; Cut drops every
// connection and refuses new ones until Restore.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	tb.Cleanup(p.close)
	return p
}

// URL is a nats:// URL of the proxy.
func (p *proxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

// Cut drops every connection through the proxy and refuses new ones.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore lets connections through again.
func (p *proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *proxy) close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// connectAs dials url with the given options; it returns the error of a
// refused connection.
func connectAs(url string, opts ...nats.Option) error {
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(3 * time.Second), nats.MaxReconnects(0)}, opts...)...)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		return err
	}
	return nil
}
