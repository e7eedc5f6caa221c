// Package testutil holds the helpers that the tests of several packages
// share: polling for a condition or an error, a buffer safe for concurrent
// use, an in-process broker, free loopback ports, probes of this
// machine's addresses and listeners, killing a process, and skipping
// only outside CI. Only tests
// import it (pools for tests: package pooltest).
package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
)

// WaitFor polls cond until it holds, and fails tb if d passes first (no
// sleeping for synchronisation: the poll is bounded and fails loudly).
func WaitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Ctx returns a context that ends after d, or when the test ends.
func Ctx(tb testing.TB, d time.Duration) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// SyncBuffer is a bytes.Buffer safe for writers and readers at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns the lines written so far that contain every one of words.
func (s *SyncBuffer) Lines(words ...string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s.String()))
next:
	for sc.Scan() {
		for _, w := range words {
			if !strings.Contains(sc.Text(), w) {
				continue next
			}
		}
		out = append(out, sc.Text())
	}
	return out
}

// StartBroker starts an in-process broker with cfg; it shuts down when
// the test ends.
func StartBroker(tb testing.TB, cfg broker.Config) *broker.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("broker.Start: %v", err)
	}
	tb.Cleanup(b.Shutdown)
	return b
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	return FreePorts(tb, 1)[0]
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago (released before use: a tiny race).
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// Deps lists the packages the package in the test's directory imports,
// directly or not (go list -deps), or skips the test where there is no go
// command, or under -short.
func Deps(tb testing.TB) []string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		tb.Fatalf("go list -deps: %v", err)
	}
	return strings.Fields(string(out))
}

// WaitErr waits for an error matching target on errs, and says so if d
// passes first.
func WaitErr(errs <-chan error, target error, d time.Duration) error {
	timeout := time.After(d)
	for {
		select {
		case err := <-errs:
			if errors.Is(err, target) {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("no %v reported within %s", target, d)
		}
	}
}

// SkipOutsideCI skips tb for a reason the machine gives (no root, a tool
// missing), but fails it in CI (the CI environment variable set), whose
// machine must offer what the test needs: there a skip would hide it.
func SkipOutsideCI(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI: "+format, args...)
	}
	tb.Skipf(format, args...)
}
