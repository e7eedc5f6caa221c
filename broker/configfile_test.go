package broker_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
)

func writeConf(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFile(t *testing.T) {
	conf := writeConf(t, `
server_name: from-file
max_payload: 2048
authorization { token: "file-token" }
`)
	t.Run("honoured", func(t *testing.T) {
		b := start(t, broker.Config{ConfigFile: conf})
		if b.Name() != "from-file" {
			t.Errorf("Name = %q, want from-file", b.Name())
		}
		nc := connect(t, b.ClientURL(), nats.Token("file-token"))
		if got := nc.MaxPayload(); got != 2048 {
			t.Errorf("MaxPayload = %d, want 2048", got)
		}
		if err := nc.Publish("x", make([]byte, 4096)); !errors.Is(err, nats.ErrMaxPayload) {
			t.Errorf("oversized publish: want ErrMaxPayload, got %v", err)
		}
		if nc, err := nats.Connect(b.ClientURL(), nats.Timeout(5*time.Second)); !errors.Is(err, nats.ErrAuthorization) {
			if nc != nil {
				nc.Close()
			}
			t.Errorf("connect without the file's token: want an authorization violation, got %v", err)
		}
		// Connect uses the file's token; the host stays loopback.
		if err := inProcess(t, b).Flush(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("overridden", func(t *testing.T) {
		b := start(t, broker.Config{ConfigFile: conf, MaxPayload: 4096, ServerName: "explicit", User: "u", Password: "p"})
		if b.Name() != "explicit" {
			t.Errorf("Name = %q, want explicit", b.Name())
		}
		nc := connect(t, b.ClientURL(), nats.UserInfo("u", "p"))
		if got := nc.MaxPayload(); got != 4096 {
			t.Errorf("MaxPayload = %d, want 4096", got)
		}
		if nc, err := nats.Connect(b.ClientURL(), nats.Token("file-token"), nats.Timeout(5*time.Second)); err == nil {
			nc.Close()
			t.Error("the file's token still works after explicit credentials replaced it")
		}
	})
	t.Run("invalid", func(t *testing.T) {
		bad := writeConf(t, "max_payload: {{{\n")
		if _, err := broker.Start(context.Background(), broker.Config{ConfigFile: bad}); !errors.Is(err, broker.ErrInvalidConfig) {
			t.Fatalf("want ErrInvalidConfig, got %v", err)
		}
	})
}

func TestMonitor(t *testing.T) {
	if a := start(t, broker.Config{}).MonitorAddr(); a != "" {
		t.Fatalf("monitoring on by default at %s", a)
	}
	b := start(t, broker.Config{MonitorPort: -1})
	if b.MonitorAddr() == "" {
		t.Fatal("no MonitorAddr")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.MonitorAddr()+"/varz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/varz: %s", resp.Status)
	}
}

// TestStoreDirKept restarts a broker on the same store directory and
// finds its stream and message again.
func TestStoreDirKept(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	b := start(t, broker.Config{StoreDir: dir})
	js, err := jetstream.New(inProcess(t, b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "keep", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	b.Shutdown()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("store dir removed: %v", err)
	}

	b = start(t, broker.Config{StoreDir: dir})
	if b.StoreDir() != dir {
		t.Fatalf("StoreDir = %q, want %q", b.StoreDir(), dir)
	}
	js, err = jetstream.New(inProcess(t, b))
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "KEEP")
	if err != nil {
		t.Fatalf("stream lost across restart: %v", err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "still here" {
		t.Fatalf("message lost across restart: %v, %v", msg, err)
	}

	tmp := start(t, broker.Config{})
	tmpDir := tmp.StoreDir()
	tmp.Shutdown()
	if _, err := os.Stat(tmpDir); !os.IsNotExist(err) {
		t.Fatalf("temporary store dir %s not removed: %v", tmpDir, err)
	}
}
