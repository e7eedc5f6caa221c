package pool

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
)

// A stored result the broker cannot serve for longer than the value
// store's own retries (5 s) is read again, and arrives once the broker is
// back: a chaos run (issue 18) answered such a task bad_output, though it
// had run and its result was stored. If the broker stays away, the error
// is the broker's (unavailable at the caller), not the output's.
func TestFetchStoredOutlastsBrokerOutage(t *testing.T) {
	dir := t.TempDir()
	ns := testutil.JetStreamServer(t, dir, server.RANDOM_PORT)
	port := ns.Addr().(*net.TCPAddr).Port
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	vals := blob.NewValues(js, blob.Bucket("fetch"), blob.ObjectsConfig{File: true, TTL: time.Hour})
	t.Cleanup(vals.Close)
	want := bytes.Repeat([]byte("stored result "), 50_000)
	ref, err := vals.Put(ctx, "", "r", want)
	if err != nil {
		t.Fatal(err)
	}

	// JetStream goes away, the server stays: reads fail at once (no
	// responders), as with a cluster answering "temporarily unavailable".
	if err := ns.DisableJetStream(); err != nil {
		t.Fatal(err)
	}
	const outage = 8 * time.Second // longer than the store's own 5 s of retries
	restarted := make(chan *server.Server, 1)
	go func() {
		time.Sleep(outage) // the outage itself, not a synchronisation
		ns.Shutdown()      // and back with JetStream (re-enabling it in place races inside nats-server)
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true, JetStream: true, StoreDir: dir})
		if err == nil {
			ns.Start()
			t.Cleanup(ns.Shutdown)
		}
		restarted <- ns
	}()
	start := time.Now()
	got, err := fetchStored(ctx, vals, ref)
	back := <-restarted
	if back == nil {
		t.Fatal("could not restart the server")
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fetch across an %s outage: %d bytes, %v (after %s)", outage, len(got), err, time.Since(start))
	}
	t.Logf("stored result read %s after the broker went away", time.Since(start).Round(time.Millisecond))

	// The broker gone for good: the caller's answer is unavailable, not
	// bad_output, whether the read failed or its deadline passed first.
	was := resultRetryWindow
	resultRetryWindow = 2 * time.Second
	t.Cleanup(func() { resultRetryWindow = was })
	back.Shutdown()
	gctx, gcancel := context.WithTimeout(ctx, 20*time.Second)
	defer gcancel()
	_, err = fetchStored(gctx, vals, ref)
	if err == nil {
		t.Fatal("fetch with the broker gone succeeded")
	}
	if code := fetchErrCode(gctx, err); code != wire.CodeUnavailable {
		t.Fatalf("fetch with the broker gone: %v, answered %s, want %s", err, code, wire.CodeUnavailable)
	}
	// The control: a value that is not there is bad output.
	if code := fetchErrCode(ctx, blob.ErrMissing); code != wire.CodeBadOutput {
		t.Fatalf("a missing value answered %s, want %s", code, wire.CodeBadOutput)
	}
}
