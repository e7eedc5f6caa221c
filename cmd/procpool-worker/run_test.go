package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseTakesSecretsOutOfEnvironment: procpool-worker reads its
// secrets and removes them from its environment before it starts worker
// processes, which get them over stdin; so task code and what it starts
// cannot read them.
func TestParseTakesSecretsOutOfEnvironment(t *testing.T) {
	t.Setenv("PROCPOOL_USER", "w")
	t.Setenv("PROCPOOL_PASSWORD", "pw-1")
	t.Setenv("PROCPOOL_TOKEN", "")
	t.Setenv("PROCPOOL_CLUSTER_PASSWORD", "route-pw-1")
	t.Setenv("PROCPOOL_URL", "nats://127.0.0.1:4222")
	var out, errOut bytes.Buffer
	o, code, ok := parse(nil, &out, &errOut)
	if !ok {
		t.Fatalf("parse: exit %d: %s", code, errOut.String())
	}
	if o.cfg.User != "w" || o.cfg.Password != "pw-1" || o.cfg.URL != "nats://127.0.0.1:4222" {
		t.Fatalf("config: %+v", o.cfg)
	}
	for _, name := range []string{"PROCPOOL_TOKEN", "PROCPOOL_PASSWORD", "PROCPOOL_CLUSTER_PASSWORD"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s=%q left in the environment", name, v)
		}
	}
	if os.Getenv("PROCPOOL_URL") == "" {
		t.Error("PROCPOOL_URL without credentials removed")
	}
}

// TestParseWarnsOfURLSecret: a --url carrying a password works, with one
// warning naming the variables to use instead.
func TestParseWarnsOfURLSecret(t *testing.T) {
	for _, name := range []string{"PROCPOOL_USER", "PROCPOOL_PASSWORD", "PROCPOOL_TOKEN", "PROCPOOL_URL"} {
		t.Setenv(name, "")
	}
	var out, errOut bytes.Buffer
	o, code, ok := parse([]string{"--url", "nats://w:pw-1@127.0.0.1:4222"}, &out, &errOut)
	if !ok {
		t.Fatalf("parse: exit %d: %s", code, errOut.String())
	}
	if o.cfg.URL != "nats://w:pw-1@127.0.0.1:4222" {
		t.Fatalf("URL %q", o.cfg.URL)
	}
	if n := strings.Count(errOut.String(), "warning:"); n != 1 || !strings.Contains(errOut.String(), "PROCPOOL_USER and PROCPOOL_PASSWORD") {
		t.Fatalf("want one warning naming PROCPOOL_USER and PROCPOOL_PASSWORD:\n%s", errOut.String())
	}
}

// TestParseRefusesDottedUser is attack row 12 for a worker host: a dotted
// user name would share another user's inboxes.
func TestParseRefusesDottedUser(t *testing.T) {
	t.Setenv("PROCPOOL_USER", "c.d")
	t.Setenv("PROCPOOL_PASSWORD", "pw")
	t.Setenv("PROCPOOL_TOKEN", "")
	t.Setenv("PROCPOOL_URL", "nats://127.0.0.1:4222")
	var out, errOut bytes.Buffer
	if _, code, ok := parse(nil, &out, &errOut); ok || code != 2 {
		t.Fatalf("parse accepted user c.d (ok %v, code %d)", ok, code)
	}
	if !strings.Contains(errOut.String(), "no dots") {
		t.Fatalf("stderr does not name the rule:\n%s", errOut.String())
	}
}

// TestParseStopTimeout: the stop bound is 7s unless --stop-timeout or
// PROCPOOL_STOP_TIMEOUT says otherwise, and must be positive.
func TestParseStopTimeout(t *testing.T) {
	t.Setenv("PROCPOOL_URL", "nats://127.0.0.1:4222")
	t.Setenv("PROCPOOL_TOKEN", "")
	t.Setenv("PROCPOOL_USER", "")
	for _, c := range []struct {
		env  string
		args []string
		want time.Duration // 0: refused
	}{
		{"", nil, 7 * time.Second},
		{"3s", nil, 3 * time.Second},
		{"3s", []string{"--stop-timeout", "20s"}, 20 * time.Second},
		{"", []string{"--stop-timeout", "0s"}, 0},
		{"soon", nil, 0},
	} {
		t.Setenv("PROCPOOL_STOP_TIMEOUT", c.env)
		var out, errOut bytes.Buffer
		o, code, ok := parse(c.args, &out, &errOut)
		switch {
		case c.want == 0 && (ok || code != 2 || !strings.Contains(errOut.String(), "stop-timeout")):
			t.Errorf("env %q args %q: accepted (ok %v, code %d, %s), want refused", c.env, c.args, ok, code, errOut.String())
		case c.want != 0 && (!ok || o.cfg.StopTimeout != c.want):
			t.Errorf("env %q args %q: stop timeout %s (ok %v: %s), want %s", c.env, c.args, o.cfg.StopTimeout, ok, errOut.String(), c.want)
		}
	}
}
