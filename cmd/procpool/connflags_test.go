package main

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

// TestConnFlagsTakeSecretsOutOfEnvironment: the commands that start worker
// processes (demo, bench) read the secrets and remove them from the
// environment first, so neither the workers nor what their tasks start
// inherit them (workers get theirs over stdin).
func TestConnFlagsTakeSecretsOutOfEnvironment(t *testing.T) {
	t.Setenv("PROCPOOL_TOKEN", "tok-1")
	t.Setenv("PROCPOOL_PASSWORD", "pw-1")
	t.Setenv("PROCPOOL_CLUSTER_PASSWORD", "route-pw-1")
	t.Setenv("PROCPOOL_URL", "nats://u:pw-2@127.0.0.1:4222")
	var cf connFlags
	fs := flag.NewFlagSet("procpool demo", flag.ContinueOnError)
	cf.register(fs, 0)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if cf.token != "tok-1" || cf.password != "pw-1" || cf.url != "nats://u:pw-2@127.0.0.1:4222" {
		t.Fatalf("flags: token %q password %q url %q", cf.token, cf.password, cf.url)
	}
	for _, name := range []string{"PROCPOOL_TOKEN", "PROCPOOL_PASSWORD", "PROCPOOL_CLUSTER_PASSWORD", "PROCPOOL_URL"} {
		if v, ok := os.LookupEnv(name); ok {
			t.Errorf("%s=%q left in the environment for worker processes to inherit", name, v)
		}
	}
}

// TestURLSecretOnCommandLineWarns: a --url that carries credentials works
// but earns one warning naming the variable to use instead; a URL from
// PROCPOOL_URL earns none.
func TestURLSecretOnCommandLineWarns(t *testing.T) {
	t.Setenv("PROCPOOL_URL", "")
	t.Setenv("PROCPOOL_TOKEN", "")
	var out, errOut bytes.Buffer
	run([]string{"status", "--url", "nats://s3cret@127.0.0.1:1,nats://s3cret@127.0.0.1:2", "--timeout", "1s"}, &out, &errOut)
	if n := strings.Count(errOut.String(), "warning:"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, errOut.String())
	}
	for _, want := range []string{"procpool status: warning: --url", "every user", "PROCPOOL_TOKEN"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("warning lacks %q:\n%s", want, errOut.String())
		}
	}

	t.Setenv("PROCPOOL_URL", "nats://s3cret@127.0.0.1:1")
	errOut.Reset()
	run([]string{"status", "--timeout", "1s"}, &out, &errOut)
	if strings.Contains(errOut.String(), "warning:") {
		t.Fatalf("warned of a URL from the environment:\n%s", errOut.String())
	}
}

// TestDottedUserRefused is attack row 12 on the command line: a user name
// with a dot would share another user's inboxes, so the command stops
// with the rule instead of connecting.
func TestDottedUserRefused(t *testing.T) {
	t.Setenv("PROCPOOL_TOKEN", "")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"PROCPOOL_USER", []string{"PROCPOOL_USER=c.d", "PROCPOOL_PASSWORD=pw"}, []string{"status", "--url", "nats://127.0.0.1:1"}},
		{"user in the URL", nil, []string{"status", "--url", "nats://c.d:pw@127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PROCPOOL_USER", "")
			for _, kv := range tc.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), `user name "c.d": no dots`) {
				t.Fatalf("stderr does not name the rule:\n%s", errOut.String())
			}
		})
	}
}
