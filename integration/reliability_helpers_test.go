package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/internal/supervise"
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
// child), so that it can choose its URL and read its stderr. It starts the
// way a pool's supervisor starts its children (supervise.Launch).
type workerProc struct {
	child  *supervise.Launched
	stderr *testutil.SyncBuffer
}

// startWorkerProc starts this test binary as a worker of the named pool on
// url and waits until it is ready. It is killed at cleanup.
func startWorkerProc(tb testing.TB, url, user, password, poolName string) *workerProc {
	tb.Helper()
	needProcFS(tb)
	cfg := spawn.ChildConfig{URL: url, User: user, Password: password, Pool: poolName,
		ID: fmt.Sprintf("%s-w%d", poolName, time.Now().UnixNano()%1e6)}
	w := &workerProc{stderr: &testutil.SyncBuffer{}}
	c, err := supervise.Launch(os.Args[0], cfg, os.Stdout, io.MultiWriter(w.stderr, os.Stderr))
	if err != nil {
		tb.Fatal(err)
	}
	w.child = c
	tb.Cleanup(w.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Ready(ctx); err != nil {
		tb.Fatalf("%v: %s", err, w.stderr.String())
	}
	return w
}

func (w *workerProc) pid() int { return w.child.Pid() }

func (w *workerProc) alive() bool {
	select {
	case <-w.child.Exited():
		return false
	default:
		return true
	}
}

func (w *workerProc) kill() { w.child.Kill() }

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
