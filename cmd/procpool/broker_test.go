package main

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/testcerts"
	"github.com/procpool/procpool/internal/testutil"
)

func TestRunBrokerBadFlags(t *testing.T) {
	t.Setenv("PROCPOOL_TOKEN", "")
	t.Setenv("PROCPOOL_USER", "")
	t.Setenv("PROCPOOL_PASSWORD", "")
	certs, err := testcerts.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"extra argument", []string{"--token", "t", "extra"}, "unexpected argument"},
		{"bad listen", []string{"--token", "t", "--listen", "nowhere"}, "--listen"},
		{"bad port", []string{"--token", "t", "--listen", "127.0.0.1:70000"}, "out of range"},
		{"non-loopback without credentials", []string{"--listen", "0.0.0.0:0"}, "refusing to listen on 0.0.0.0 without credentials"},
		{"loopback without credentials", []string{"--listen", "127.0.0.1:0"}, "no credentials"},
		{"token and user", []string{"--token", "t", "--user", "u", "--password", "p", "--listen", "127.0.0.1:0"}, "exclusive"},
		{"routes without cluster", []string{"--token", "t", "--listen", "127.0.0.1:0", "--routes", "127.0.0.1:6222"}, "cluster listen"},
		{"cluster without routes", []string{"--token", "t", "--listen", "127.0.0.1:0", "--cluster", "127.0.0.1:0"}, "needs routes"},
		{"tls cert without key", []string{"--token", "t", "--tls-cert", certs.ServerCert}, "client TLS"},
		{"cluster tls without CA", []string{"--token", "t", "--cluster-tls-cert", certs.ServerCert, "--cluster-tls-key", certs.ServerKey}, "cluster TLS"},
		{"bad monitor port", []string{"--token", "t", "--listen", "127.0.0.1:0", "--monitor", "-5"}, "monitor port"},
		{"missing config", []string{"--config", "/nonexistent.conf"}, "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if code := runBroker(ctx, tt.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr does not mention %q:\n%s", tt.want, stderr.String())
			}
			if stdout.String() != "" {
				t.Fatalf("stdout: %q", stdout.String())
			}
		})
	}
}

var urlRe = regexp.MustCompile(`(nats|tls)://\S+`)

// runInBackground runs runBroker until the test ends, and returns the
// client URL from its ready line.
func runInBackground(t *testing.T, args []string) (clientURL string, stdout, stderr *testutil.SyncBuffer, stop func() int) {
	t.Helper()
	stdout, stderr = &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- runBroker(ctx, args, stdout, stderr) }()
	code, stopped := 0, false
	stop = func() int {
		if !stopped {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("runBroker did not return within 30s of cancellation")
			}
			stopped = true
		}
		return code
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := urlRe.FindString(stdout.String()); m != "" {
			return m, stdout, stderr, stop
		}
		select {
		case code := <-done:
			stopped = true
			t.Fatalf("runBroker exited with %d before ready; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready line within 20s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunBrokerServes(t *testing.T) {
	const token = "cli-secret-token"
	t.Setenv("PROCPOOL_TOKEN", token)
	store := t.TempDir()
	u, stdout, stderr, stop := runInBackground(t, []string{
		"--listen", "127.0.0.1:0", "--store", store, "--name", "cli-node", "--monitor", "-1",
	})
	if lines := strings.Count(stdout.String(), "\n"); lines != 1 {
		t.Errorf("stdout has %d lines, want 1: %q", lines, stdout.String())
	}
	if !strings.Contains(stdout.String(), "cli-node") || !strings.Contains(stdout.String(), "monitor=http://") {
		t.Errorf("ready line lacks name or monitor: %q", stdout.String())
	}
	if _, err := nats.Connect(u, nats.Timeout(5*time.Second)); err == nil {
		t.Fatal("connected without the token")
	}
	nc, err := nats.Connect(u, nats.Token(token), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect with the token from PROCPOOL_TOKEN: %v", err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	nc.Close()

	if code := stop(); code != 0 {
		t.Fatalf("exit code %d after cancellation, want 0; stderr:\n%s", code, stderr.String())
	}
	for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
		if strings.Contains(out, token) {
			t.Errorf("%s shows the token", name)
		}
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
		c.Close()
		t.Error("still listening after shutdown")
	}
	if _, err := os.Stat(filepath.Join(store, "jetstream")); err != nil {
		t.Errorf("store dir not used or not kept: %v", err)
	}
}

func TestRunBrokerConfigFile(t *testing.T) {
	t.Setenv("PROCPOOL_TOKEN", "")
	t.Setenv("PROCPOOL_USER", "")
	t.Setenv("PROCPOOL_PASSWORD", "")
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("host: 127.0.0.1\nport: -1\nmax_payload: 4096\nauthorization { user: a, password: b }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _, _, stop := runInBackground(t, []string{"--config", conf})
	nc, err := nats.Connect(u, nats.UserInfo("a", "b"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect with the file's credentials: %v", err)
	}
	if nc.MaxPayload() != 4096 {
		t.Errorf("MaxPayload = %d, want the file's 4096", nc.MaxPayload())
	}
	nc.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d", code)
	}

	// A config file without authorization is refused, like no flags.
	bare := filepath.Join(dir, "bare.conf")
	if err := os.WriteFile(bare, []byte("port: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr testutil.SyncBuffer
	if code := runBroker(context.Background(), []string{"--config", bare}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no credentials") || stdout.String() != "" {
		t.Fatalf("stdout %q, stderr:\n%s", stdout.String(), stderr.String())
	}
}

func TestRunBrokerTLS(t *testing.T) {
	certs, err := testcerts.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROCPOOL_USER", "u")
	t.Setenv("PROCPOOL_PASSWORD", "pw-secret")
	t.Setenv("PROCPOOL_TOKEN", "")
	u, _, _, _ := runInBackground(t, []string{"--listen", "127.0.0.1:0", "--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey})
	if !strings.HasPrefix(u, "tls://") {
		t.Fatalf("URL %s, want tls://", u)
	}
	if nc, err := nats.Connect(u, nats.UserInfo("u", "pw-secret"), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected without the CA")
	}
	nc, err := nats.Connect(u, nats.UserInfo("u", "pw-secret"), nats.RootCAs(certs.CA), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect with the CA: %v", err)
	}
	nc.Close()
}
