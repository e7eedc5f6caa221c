package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testcerts"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
)

// A pool and its worker processes reach a broker that requires TLS with a
// private CA and client certificates, through pool.WithTLS alone (no
// SSL_CERT_FILE): the files' paths go to the workers, never their contents.
func TestPoolWithTLSBroker(t *testing.T) {
	files, err := testcerts.Generate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := broker.LoadTLS(files.ServerCert, files.ServerKey, files.CA) // CA set: clients must present a certificate
	if err != nil {
		t.Fatal(err)
	}
	ctx := testutil.Ctx(t, 60*time.Second)
	b, err := broker.Start(ctx, broker.Config{TLS: tc, User: "caller", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	url := b.ClientURL()

	p := newPool(t, pool.WithBroker(url), pool.WithCredentials("caller", "s3cret"),
		pool.WithTLS(files.CA, files.ClientCert, files.ClientKey), pool.WithProcesses(2), pool.WithName("tls"))
	if !p.Conn().TLSRequired() {
		t.Fatal("the pool's connection is not TLS")
	}
	items := make([]probe, 40)
	for i := range items {
		items[i] = probe{N: i, Log: t.TempDir() + "/tls.log"}
	}
	out, err := pool.Map(ctx, p, quick, items, pool.WithChunksize(1))
	if err != nil {
		t.Fatalf("Map over TLS: %v", err)
	}
	pids := map[int]bool{}
	for i, o := range out {
		if o.N != 2*i {
			t.Fatalf("out[%d] = %+v", i, o)
		}
		pids[o.PID] = true
	}
	for _, w := range p.Workers() {
		if !w.Local {
			t.Fatalf("unexpected remote worker %+v", w)
		}
	}
	t.Logf("40 tasks over TLS on worker pids %v", pids)

	// Without the client certificate the broker refuses the pool.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = pool.New(short, pool.WithBroker(url), pool.WithCredentials("caller", "s3cret"),
		pool.WithTLS(files.CA, "", ""), pool.WithProcesses(0), pool.WithStartTimeout(3*time.Second))
	if err == nil {
		t.Fatal("a pool without a client certificate connected to a broker that verifies clients")
	}
	t.Logf("without a client certificate: %v", err)

	// Bad TLS options fail at once, before any connection.
	for _, opt := range []pool.Option{
		pool.WithTLS("", "", ""),
		pool.WithTLS(files.CA, files.ClientCert, ""),
		pool.WithTLS(t.TempDir()+"/missing.pem", "", ""),
		pool.WithTLS(files.ClientKey, "", ""), // a key is no CA certificate
	} {
		if _, err := pool.New(ctx, pool.WithBroker(url), opt); !errors.Is(err, pool.ErrInvalidOption) {
			t.Fatalf("bad WithTLS: %v, want ErrInvalidOption", err)
		}
	}
	if _, err := pool.New(ctx, pool.WithTLS(files.CA, "", "")); err == nil || !strings.Contains(err.Error(), "WithBroker") {
		t.Fatalf("WithTLS on the embedded broker: %v", err)
	}
}
