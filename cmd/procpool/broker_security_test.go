package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
)

// clearSecretEnv empties the variables the broker reads secrets from.
func clearSecretEnv(t *testing.T) {
	for _, name := range []string{"PROCPOOL_TOKEN", "PROCPOOL_USER", "PROCPOOL_PASSWORD", "PROCPOOL_CLUSTER_USER", "PROCPOOL_CLUSTER_PASSWORD"} {
		t.Setenv(name, "")
	}
}

// TestRunBrokerRefusesOpenRoutes is attack row 10 at the command line:
// `procpool broker --cluster 0.0.0.0:…` without route authentication
// would let any host join the cluster, so it refuses to start and names
// the settings; with PROCPOOL_CLUSTER_USER and PROCPOOL_CLUSTER_PASSWORD
// it starts and its route port asks for them.
func TestRunBrokerRefusesOpenRoutes(t *testing.T) {
	clearSecretEnv(t)
	t.Setenv("PROCPOOL_TOKEN", "client-token")
	args := []string{"--listen", "127.0.0.1:0", "--cluster", "0.0.0.0:0", "--routes", "nats-route://127.0.0.1:1"}
	var stdout, stderr testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := runBroker(ctx, args, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2 (refused); stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"not loopback", "PROCPOOL_CLUSTER_USER and PROCPOOL_CLUSTER_PASSWORD", "--cluster-tls-ca"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("refusal does not name %q:\n%s", want, stderr.String())
		}
	}

	t.Setenv("PROCPOOL_TOKEN", "client-token") // the first run took it out of the environment
	t.Setenv("PROCPOOL_CLUSTER_USER", "route")
	t.Setenv("PROCPOOL_CLUSTER_PASSWORD", "route-secret")
	_, out, errOut, _ := runInBackground(t, args)
	m := regexp.MustCompile(`routes=(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("ready line without routes=: %q", out.String())
	}
	if info := testutil.ReadInfo(t, m[1]); !strings.Contains(info, `"auth_required":true`) {
		t.Fatalf("route port does not ask for credentials: %s", info)
	}
	if strings.Contains(errOut.String(), "warning") {
		t.Errorf("warned with secrets from the environment:\n%s", errOut.String())
	}
}

// TestRunBrokerStandaloneIgnoresRouteEnv: route credentials exported for
// the cluster's nodes do not stop a stand-alone node started from the same
// shell.
func TestRunBrokerStandaloneIgnoresRouteEnv(t *testing.T) {
	clearSecretEnv(t)
	t.Setenv("PROCPOOL_TOKEN", "client-token")
	t.Setenv("PROCPOOL_CLUSTER_USER", "route")
	t.Setenv("PROCPOOL_CLUSTER_PASSWORD", "route-secret")
	runInBackground(t, []string{"--listen", "127.0.0.1:0"})
}

// TestRunBrokerWarnsOfSecretsInArgv: secrets given as flags work, but the
// command warns once, naming the flags and the variables to use instead.
func TestRunBrokerWarnsOfSecretsInArgv(t *testing.T) {
	clearSecretEnv(t)
	_, _, stderr, _ := runInBackground(t, []string{"--listen", "127.0.0.1:0", "--token", "t0ken",
		"--cluster", "127.0.0.1:0", "--routes", "nats-route://route:route-secret@127.0.0.1:1",
		"--cluster-user", "route", "--cluster-password", "route-secret", "--log-level", "debug"})
	warnings := regexp.MustCompile(`(?m)^procpool broker: warning: .*$`).FindAllString(stderr.String(), -1)
	if len(warnings) != 1 {
		t.Fatalf("%d warning lines, want 1:\n%s", len(warnings), stderr.String())
	}
	for _, want := range []string{"--token, --cluster-password, --routes", "every user", "PROCPOOL_TOKEN", "PROCPOOL_CLUSTER_PASSWORD"} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("warning lacks %q: %s", want, warnings[0])
		}
	}
	if strings.Contains(stderr.String(), "route-secret") || strings.Contains(stderr.String(), "t0ken") {
		t.Errorf("stderr shows a secret:\n%s", stderr.String())
	}
}

// TestRunBrokerMonitorOnLoopback is attack row 11 at the command line:
// `--listen 0.0.0.0:… --monitor -1` serves monitoring (which asks no
// credentials and lists every client) on loopback only; `--monitor
// host:port` serves it elsewhere on purpose, with a warning.
func TestRunBrokerMonitorOnLoopback(t *testing.T) {
	ip := testutil.NonLoopbackIP(t)
	monitorPort := regexp.MustCompile(`monitor=http://\S+:(\d+)`)
	for _, tc := range []struct {
		monitor       string
		beyond, warns bool
	}{
		{"-1", false, false},
		{"0.0.0.0:0", true, true},
	} {
		t.Run(tc.monitor, func(t *testing.T) {
			clearSecretEnv(t)
			t.Setenv("PROCPOOL_TOKEN", "client-token")
			_, stdout, stderr, _ := runInBackground(t, []string{"--listen", "0.0.0.0:0", "--monitor", tc.monitor})
			m := monitorPort.FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("ready line without monitor=: %q", stdout.String())
			}
			if !testutil.Reachable("127.0.0.1", m[1]) {
				t.Fatal("monitoring not served on loopback")
			}
			if got := testutil.Reachable(ip, m[1]); got != tc.beyond {
				t.Fatalf("monitoring reachable on %s:%s: %v, want %v", ip, m[1], got, tc.beyond)
			}
			if got := strings.Contains(stderr.String(), "warning: monitoring on"); got != tc.warns {
				t.Fatalf("warning: %v, want %v; stderr:\n%s", got, tc.warns, stderr.String())
			}
		})
	}
}
