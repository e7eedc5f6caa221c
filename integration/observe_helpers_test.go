package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// observedPool is a pool on an external broker whose credentials the test
// knows, so that the nats CLI and procpool status can connect too.
type observedPool struct {
	*pool.Pool
	b *broker.Server
}

func newObservedPool(t *testing.T, name string, processes int, opts ...pool.Option) observedPool {
	t.Helper()
	ctx := testutil.Ctx(t, 30*time.Second)
	b, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		t.Fatalf("broker.Start: %v", err)
	}
	t.Cleanup(b.Shutdown) // after the pool's cleanup (LIFO)
	opts = append([]pool.Option{pool.WithBroker(b.ClientURL()), pool.WithCredentials(b.User(), b.Password()),
		pool.WithName(name), pool.WithProcesses(processes)}, opts...)
	return observedPool{Pool: newPool(t, opts...), b: b}
}

// env is the environment for a client of the pool's broker: the nats CLI
// (NATS_*) and procpool (PROCPOOL_*). Secrets travel in the environment,
// not argv.
func (o observedPool) env() []string {
	return append(os.Environ(),
		"NATS_URL="+o.b.ClientURL(), "NATS_USER="+o.b.User(), "NATS_PASSWORD="+o.b.Password(),
		"NATS_CONTEXT=", "HOME="+os.TempDir(),
		"PROCPOOL_URL="+o.b.ClientURL(), "PROCPOOL_USER="+o.b.User(), "PROCPOOL_PASSWORD="+o.b.Password())
}

// natsCLI finds the nats CLI v0.5.0: on PATH, in GOPATH/bin, or installed
// now with go install; the test is skipped, saying why, if none can be had.
func natsCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	gobin := filepath.Join(goEnv(t, "GOPATH"), "bin", "nats")
	if _, err := os.Stat(gobin); err == nil {
		return gobin
	}
	ctx := testutil.Ctx(t, 10*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "install", "github.com/nats-io/natscli/nats@v0.5.0").CombinedOutput()
	if err != nil {
		testutil.SkipOutsideCI(t, "the nats CLI is not on PATH and `go install github.com/nats-io/natscli/nats@v0.5.0` failed (%v): %s", err, out)
	}
	return gobin
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return string(bytes.TrimSpace(out))
}

// run runs a command with env, bounded by d, and returns its stdout.
func runCmd(t *testing.T, d time.Duration, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", filepath.Base(name), args, err, out, stderr.String())
	}
	return out
}

var (
	buildOnce sync.Once
	builtCLI  string
	buildErr  error
	buildOut  []byte
)

// procpoolCLI builds cmd/procpool once per test binary run.
func procpoolCLI(t *testing.T) string {
	t.Helper()
	needProcFS(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "procpool-cli-")
		if err != nil {
			buildErr = err
			return
		}
		builtCLI = filepath.Join(dir, "procpool")
		cmd := exec.Command("go", "build", "-o", builtCLI, "github.com/procpool/procpool/cmd/procpool")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building cmd/procpool: %v\n%s", buildErr, buildOut)
	}
	return builtCLI
}
