package ipc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/ipc"
)

// itemOf is n bytes of a pattern that depends on i and n.
func itemOf(i, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(k*31 + i*7 + n)
	}
	return b
}

// bucketState is the state of the stream that holds bucket's objects;
// ok is false if the bucket does not exist.
func bucketState(t testing.TB, nc *nats.Conn, bucket string) (state jetstream.StreamState, ok bool) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(testutil.Ctx(t, 30*time.Second), "OBJ_"+bucket)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return state, false
	}
	if err != nil {
		t.Fatalf("bucket %s: %v", bucket, err)
	}
	info, err := s.Info(testutil.Ctx(t, 30*time.Second))
	if err != nil {
		t.Fatalf("bucket %s: %v", bucket, err)
	}
	return info.State, true
}

// waitBucketEmpty waits until bucket, which must exist, holds nothing:
// every stored item was deleted, tombstones included.
func waitBucketEmpty(t testing.TB, nc *nats.Conn, bucket string) {
	t.Helper()
	var st jetstream.StreamState
	testutil.WaitFor(t, 30*time.Second, "bucket "+bucket+" emptied", func() bool {
		var ok bool
		st, ok = bucketState(t, nc, bucket)
		if !ok {
			t.Fatalf("bucket %s does not exist: nothing was stored", bucket)
		}
		return st.Msgs == 0 && st.Bytes == 0
	})
}

// The message of a stored item round-trips through ipc.OpenMsg; anything else
// under the stored header is refused.
func TestOpenMsgStoredItem(t *testing.T) {
	ref := wire.Ref{Kind: wire.RefObject, Name: "i-0123456789abcdef01234567", Size: 5 << 20}
	items, got, err := ipc.OpenMsg(ipc.StoredMsg("s", wire.AppendRef(nil, &ref)))
	if err != nil || got == nil || *got != ref || len(items) != 1 {
		t.Fatalf("ipc.OpenMsg(stored) = %d items, %v, %v; want the ref", len(items), got, err)
	}
	items, got, err = ipc.OpenMsg(&nats.Msg{Data: []byte(`"hi"`)})
	if err != nil || got != nil || len(items) != 1 || string(items[0]) != `"hi"` {
		t.Fatalf("ipc.OpenMsg(plain) = %q, %v, %v", items, got, err)
	}
	fileRef := wire.Ref{Kind: wire.RefFile, Name: "procpool-1_ab/x", Size: 1}
	packed := ipc.StoredMsg("s", wire.AppendRef(nil, &ref))
	packed.Header.Set(ipc.PackHeader, "2")
	for name, m := range map[string]*nats.Msg{
		"file ref":        ipc.StoredMsg("s", wire.AppendRef(nil, &fileRef)),
		"packed":          packed,
		"not a ref":       ipc.StoredMsg("s", []byte(`"hi"`)),
		"trailing bytes":  ipc.StoredMsg("s", append(wire.AppendRef(nil, &ref), 0)),
		"path in the ref": ipc.StoredMsg("s", wire.AppendRef(nil, &wire.Ref{Kind: wire.RefObject, Name: "../x", Size: 1})),
	} {
		if _, got, err := ipc.OpenMsg(m); err == nil {
			t.Errorf("%s: ipc.OpenMsg = %v, nil; want an error", name, got)
		}
	}
}

// Small items and items too large for a message, put in quick succession
// on an unbounded queue (so the small ones are packed), come out in the
// order they were put, byte for byte; the stored ones are then deleted.
func TestQueueMixedSizesKeepOrder(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	put := newTestQueue[[]byte](t, connect(t, b), "mixed")
	get := newTestQueue[[]byte](t, connectTCP(t, b), "mixed")
	const n = 300
	size := func(i int) int {
		if i%7 == 3 {
			return 300<<10 + i // over the 256 KiB inline limit
		}
		return 1 + i%50
	}
	for i := range n {
		if err := put.Put(ctx, itemOf(i, size(i))); err != nil {
			t.Fatalf("Put(%d): %v", i, err)
		}
	}
	if err := put.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := get.Len(ctx); err != nil || l != n {
		t.Fatalf("Len = %d, %v; want %d", l, err, n)
	}
	if st, ok := bucketState(t, connect(t, b), put.StreamName()); !ok || st.Bytes < uint64(n/7*300<<10) {
		t.Fatalf("bucket holds %+v (exists %v): the large items were not stored", st, ok)
	}
	for i := range n {
		v, err := get.Get(ctx)
		if err != nil {
			t.Fatalf("Get #%d: %v", i, err)
		}
		if !bytes.Equal(v, itemOf(i, size(i))) {
			t.Fatalf("Get #%d: %d bytes, not item %d (%d bytes): order or content lost", i, len(v), i, size(i))
		}
	}
	waitBucketEmpty(t, connect(t, b), put.StreamName())
	if err := get.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := bucketState(t, connect(t, b), put.StreamName()); ok {
		t.Error("the bucket outlived Delete")
	}
}

// A stored item whose value was deleted behind the queue's back makes its
// Get fail at once with an error that says so; the items after it are
// not lost.
func TestQueueStoredItemMissing(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	q := newTestQueue[[]byte](t, nc, "missing")
	big := itemOf(1, 5<<20)
	for _, v := range [][]byte{big, []byte("after")} {
		if err := q.Put(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "OBJ_"+q.StreamName())
	if err != nil {
		t.Fatalf("the bucket was not made: %v", err)
	}
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	getCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := q.Get(getCtx)
	if !errors.Is(err, blob.ErrMissing) || getCtx.Err() != nil {
		t.Fatalf("Get of the purged item = %d bytes, %v; want an error wrapping ErrMissing, before the deadline", len(v), err)
	}
	for _, want := range []string{`queue "missing"`, "dropped", "ipc.WithValueTTL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if v, err := q.Get(getCtx); err != nil || string(v) != "after" {
		t.Fatalf("next Get = %q, %v; want the item after it", v, err)
	}
	if n, err := q.Len(ctx); err != nil || n != 0 {
		t.Errorf("Len = %d, %v; want 0: the missing item stays in the queue", n, err)
	}
}

// A bounded queue counts a stored item as one: Put waits while the queue
// holds ipc.WithMaxSize of them, and a Put that gives up deletes the value it
// stored.
func TestQueueBoundedCountsStoredItems(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	q := newTestQueue[[]byte](t, nc, "bounded-large", ipc.WithMaxSize(2))
	for i := range 2 {
		if err := q.Put(ctx, itemOf(i, 1<<20)); err != nil {
			t.Fatalf("Put(%d): %v", i, err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := q.Put(short, itemOf(2, 1<<20)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third Put on a full queue of two = %v; want it to wait until its ctx ends", err)
	}
	if n, err := q.Len(ctx); err != nil || n != 2 {
		t.Fatalf("Len = %d, %v; want 2", n, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := js.ObjectStore(ctx, q.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the refused Put's value deleted", func() bool {
		objs, err := store.List(ctx)
		return err == nil && len(objs) == 2
	})
	for i := range 2 {
		v, err := q.Get(ctx)
		if err != nil || !bytes.Equal(v, itemOf(i, 1<<20)) {
			t.Fatalf("Get #%d = %d bytes, %v", i, len(v), err)
		}
	}
	waitBucketEmpty(t, nc, q.StreamName())
}

// ipc.WithValueTTL is the queue's: whichever handle stores the first
// large item makes the bucket with the TTL the queue was created with.
func TestQueueValueTTL(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	if _, err := ipc.NewQueue[int](ctx, nc, "ttl", ipc.WithValueTTL(time.Millisecond)); !errors.Is(err, ipc.ErrInvalidOption) {
		t.Fatalf("ipc.WithValueTTL(1ms) = %v, want ipc.ErrInvalidOption", err)
	}
	creator := newTestQueue[[]byte](t, nc, "ttl", ipc.WithValueTTL(time.Hour))
	other := newTestQueue[[]byte](t, connectTCP(t, b), "ttl", ipc.WithValueTTL(2*time.Hour))
	if err := other.Put(ctx, itemOf(0, 1<<20)); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "OBJ_"+creator.StreamName())
	if err != nil {
		t.Fatalf("no bucket after a large Put: %v", err)
	}
	if age := s.CachedInfo().Config.MaxAge; age != time.Hour {
		t.Errorf("bucket TTL %v, want the creator's 1h", age)
	}
	if v, err := creator.Get(ctx); err != nil || len(v) != 1<<20 {
		t.Fatalf("Get = %d bytes, %v", len(v), err)
	}
	// A queue made without the option gets the default.
	d := newTestQueue[[]byte](t, nc, "ttl-default")
	if err := d.Put(ctx, itemOf(0, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = js.Stream(ctx, "OBJ_"+d.StreamName())
	if err != nil {
		t.Fatalf("no bucket after a large Put: %v", err)
	}
	if age := s.CachedInfo().Config.MaxAge; age != ipc.DefaultValueTTL {
		t.Errorf("default bucket TTL %v, want %v", age, ipc.DefaultValueTTL)
	}
}

// Values too large for a message go through a pipe both ways, in order
// with small ones; each is deleted once received, and the bucket goes
// with the pipe.
func TestPipeLargeValuesInOrder(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	a, _ := newTestPipe[[]byte](t, nc)
	bb := openTestPipe[[]byte](t, connectTCP(t, b), strings.Replace(a.Name(), ".a", ".b", 1))
	size := func(i int) int { return []int{3 << 20, 5, 300 << 10, 7}[i%4] }
	for _, dir := range []struct {
		name     string
		from, to *ipc.PipeEnd[[]byte]
	}{{"a to b", a, bb}, {"b to a", bb, a}} {
		for i := range 8 {
			if err := dir.from.Send(ctx, itemOf(i, size(i))); err != nil {
				t.Fatalf("%s: Send(%d): %v", dir.name, i, err)
			}
		}
		for i := range 8 {
			v, err := dir.to.Recv(ctx)
			if err != nil || !bytes.Equal(v, itemOf(i, size(i))) {
				t.Fatalf("%s: Recv #%d = %d bytes, %v; want item %d (%d bytes)", dir.name, i, len(v), err, i, size(i))
			}
		}
	}
	waitBucketEmpty(t, nc, a.StreamName())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := bucketState(t, nc, a.StreamName()); ok {
		t.Error("the bucket outlived the pipe")
	}
}

// While a stored item is fetched, the message stays reserved: progress
// acks go out every quarter of the stale bound, and stop says when the
// last went.
func TestKeepReservedSendsProgress(t *testing.T) {
	nc := connect(t, testutil.StartBroker(t, quietBroker))
	sub, err := nc.SubscribeSync(nc.NewInbox())
	if err != nil {
		t.Fatal(err)
	}
	stop := ipc.KeepReserved(nc, sub.Subject, 40*time.Millisecond)
	for range 2 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil || !bytes.Equal(m.Data, ipc.AckProgress) {
			t.Fatalf("progress ack: %v, %v", m, err)
		}
	}
	if last := stop(); last.IsZero() {
		t.Error("stop after two progress acks says none went")
	}
	if stop := ipc.KeepReserved(nc, sub.Subject, time.Hour); !stop().IsZero() {
		t.Error("stop before any progress ack says one went")
	}
}
