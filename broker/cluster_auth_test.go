package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
)

// TestRoutesBeyondLoopbackNeedAuth is attack row 10 at the library: a node
// whose route port is reachable beyond loopback and asks no credentials
// lets any host join the cluster and see its traffic, so Start refuses
// it, naming the settings that would authenticate routes; with route
// credentials or verified route TLS it starts.
func TestRoutesBeyondLoopbackNeedAuth(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "open-routes.conf")
	if err := os.WriteFile(conf, []byte("cluster { listen: 0.0.0.0:-1, routes: [nats-route://127.0.0.1:1] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	route := []string{"nats-route://127.0.0.1:1"} // nobody there: the node keeps trying
	for _, tc := range []struct {
		name string
		cfg  broker.Config
	}{
		{"every interface", broker.Config{ClusterListen: "0.0.0.0:0", Routes: route}},
		{"no host, client host every interface", broker.Config{Host: "0.0.0.0", ClusterListen: ":0", Routes: route}},
		{"config file cluster block", broker.Config{ConfigFile: conf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := startRefused(t, ctx, tc.cfg, "unauthenticated routes beyond loopback")
			for _, want := range []string{"not loopback", "ClusterUser", "PROCPOOL_CLUSTER_PASSWORD", "--cluster-tls-ca"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %q: %v", want, err)
				}
			}
		})
	}

	t.Run("route credentials", func(t *testing.T) {
		b := start(t, broker.Config{ClusterListen: "0.0.0.0:0", Routes: route, ClusterUser: "route", ClusterPassword: "route-secret"})
		if b.ClusterAddr() == "" {
			t.Fatal("no route listener")
		}
	})
	t.Run("verified route TLS", func(t *testing.T) {
		f := certs(t)
		ctc, err := broker.LoadClusterTLS(f.ServerCert, f.ServerKey, f.CA)
		if err != nil {
			t.Fatal(err)
		}
		b := start(t, broker.Config{ClusterListen: "0.0.0.0:0", Routes: route, ClusterTLS: ctc})
		if b.ClusterAddr() == "" {
			t.Fatal("no route listener")
		}
	})
	t.Run("loopback stays open", func(t *testing.T) {
		b := start(t, broker.Config{ClusterListen: "127.0.0.1:0", Routes: route})
		if b.ClusterAddr() == "" {
			t.Fatal("no route listener")
		}
	})
}
