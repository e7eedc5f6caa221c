package broker_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testcerts"
)

func certs(t testing.TB) testcerts.Files {
	t.Helper()
	f, err := testcerts.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestClientTLS(t *testing.T) {
	f := certs(t)
	other := certs(t) // a CA that did not sign the server's certificate
	tc, err := broker.LoadTLS(f.ServerCert, f.ServerKey, "")
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.Config{User: "u", Password: "p", TLS: tc})
	if !strings.HasPrefix(b.ClientURL(), "tls://") {
		t.Fatalf("ClientURL = %s, want tls://", b.ClientURL())
	}
	creds := nats.UserInfo("u", "p")
	tests := []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"system roots only", nil, false},
		{"other CA", []nats.Option{nats.RootCAs(other.CA)}, false},
		{"right CA", []nats.Option{nats.RootCAs(f.CA)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(b.ClientURL(), append(tt.opts, creds, nats.Timeout(5*time.Second))...)
			if nc != nil {
				defer nc.Close()
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				if _, err := nc.TLSConnectionState(); err != nil {
					t.Fatalf("not a TLS connection: %v", err)
				}
				return
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Fatalf("want an unknown-authority error, got %v", err)
			}
		})
	}
	// A plain TCP client is refused too.
	u := strings.Replace(b.ClientURL(), "tls://", "nats://", 1)
	if nc, err := nats.Connect(u, creds, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("plain TCP client connected to a TLS broker")
	}
	// The in-process connection needs no TLS.
	if err := inProcess(t, b).Flush(); err != nil {
		t.Fatalf("in-process connection: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	f := certs(t)
	tc, err := broker.LoadTLS(f.ServerCert, f.ServerKey, f.CA)
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.Config{Token: "tok", TLS: tc})
	opts := []nats.Option{nats.Token("tok"), nats.RootCAs(f.CA), nats.Timeout(5 * time.Second)}
	if nc, err := nats.Connect(b.ClientURL(), opts...); err == nil {
		nc.Close()
		t.Fatal("client without a certificate connected")
	}
	nc := connect(t, b.ClientURL(), append(opts, nats.ClientCert(f.ClientCert, f.ClientKey))...)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTLSErrors(t *testing.T) {
	f := certs(t)
	tests := []struct {
		name            string
		cert, key, ca   string
		cluster, wantOK bool
	}{
		{name: "ok", cert: f.ServerCert, key: f.ServerKey, wantOK: true},
		{name: "no key", cert: f.ServerCert},
		{name: "missing file", cert: "/nonexistent.pem", key: f.ServerKey},
		{name: "key mismatch", cert: f.ServerCert, key: f.ClientKey},
		{name: "bad CA", cert: f.ServerCert, key: f.ServerKey, ca: f.ServerKey},
		{name: "cluster without CA", cert: f.ServerCert, key: f.ServerKey, cluster: true},
		{name: "cluster ok", cert: f.ServerCert, key: f.ServerKey, ca: f.CA, cluster: true, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := broker.LoadTLS
			if tt.cluster {
				load = broker.LoadClusterTLS
			}
			_, err := load(tt.cert, tt.key, tt.ca)
			if tt.wantOK != (err == nil) {
				t.Fatalf("err = %v", err)
			}
			if err != nil && !errors.Is(err, broker.ErrInvalidConfig) {
				t.Fatalf("want ErrInvalidConfig, got %v", err)
			}
		})
	}
}

// TestClusterTLS forms a 3-node cluster whose routes use TLS with
// certificates verified both ways.
func TestClusterTLS(t *testing.T) {
	f := certs(t)
	ctc, err := broker.LoadClusterTLS(f.ServerCert, f.ServerKey, f.CA)
	if err != nil {
		t.Fatal(err)
	}
	nodes := startCluster(t, 3, func(_ int, cfg *broker.Config) { cfg.ClusterTLS = ctc })

	pool := x509.NewCertPool()
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	// Routes start with a TLS handshake: a peer with a certificate from
	// the CA gets the route INFO over TLS...
	addr := nodes[0].ClusterAddr()
	dial := func(certs []tls.Certificate) (string, error) {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, Certificates: certs})
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return bufio.NewReader(c).ReadString('\n')
	}
	info, err := dial([]tls.Certificate{cert})
	if err != nil || !strings.HasPrefix(info, "INFO ") {
		t.Fatalf("route over TLS with a certificate: %q, %v", info, err)
	}
	// ...and one without a client certificate is turned away.
	_, err = dial(nil)
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("route without a client certificate: want a TLS error, got %v", err)
	}
	// So is a plain TCP peer: it never gets an INFO.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatalf("plain TCP route peer got %q", line)
	}
}
