package ipc_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/ipc"
)

// putPacked publishes items as one packed message, as the packer does when
// they are put in quick succession.
func putPacked[T any](t *testing.T, q *ipc.Queue[T], items ...T) {
	t.Helper()
	enc := make([][]byte, len(items))
	for i, it := range items {
		data, err := wire.Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		enc[i] = data
	}
	if err := q.PublishPacked(testutil.Ctx(t, 30*time.Second), enc); err != nil {
		t.Fatal(err)
	}
	if err := q.Flush(testutil.Ctx(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items [][]byte
	}{
		{"two", [][]byte{[]byte(`"a"`), []byte(`"b"`)}},
		{"empty items", [][]byte{{}, {}, []byte("x")}},
		{"big", [][]byte{make([]byte, 70000), []byte("1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &nats.Msg{Data: ipc.PackItems(tc.items), Header: nats.Header{ipc.PackHeader: []string{"0"}}}
			m.Header.Set(ipc.PackHeader, strconv.Itoa(len(tc.items)))
			got, err := ipc.Unpack(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.items) {
				t.Fatalf("%d items, want %d", len(got), len(tc.items))
			}
			for i := range got {
				if !slices.Equal(got[i], tc.items[i]) {
					t.Errorf("item %d differs", i)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, count string
		body        []byte
	}{
		{"count not a number", "x", ipc.PackItems([][]byte{[]byte("a")})},
		{"count too large", "5", ipc.PackItems([][]byte{[]byte("a")})},
		{"cut short", "2", ipc.PackItems([][]byte{[]byte("abc"), []byte("def")})[:6]},
		{"trailing bytes", "1", append(ipc.PackItems([][]byte{[]byte("a")}), 9)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ipc.Unpack(&nats.Msg{Data: tc.body, Header: nats.Header{ipc.PackHeader: []string{tc.count}}})
			if !errors.Is(err, ipc.ErrBadPack) {
				t.Errorf("ipc.Unpack = %v, want ipc.ErrBadPack", err)
			}
		})
	}
	// No header: the body is the one item, as for a message published by hand.
	if got, err := ipc.Unpack(&nats.Msg{Data: []byte(`"hi"`)}); err != nil || len(got) != 1 || string(got[0]) != `"hi"` {
		t.Errorf("plain message = %q, %v", got, err)
	}
}

// Items put in quick succession share messages; FIFO, Len and exactly one
// delivery per item still hold.
func TestQueuePackingFIFOAndLen(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[int](t, connect(t, b), "packed")
	const n = 20000
	for i := range n {
		if err := q.Put(ctx, i); err != nil {
			t.Fatalf("Put(%d): %v", i, err)
		}
	}
	if got, err := q.Len(ctx); err != nil || got != n {
		t.Fatalf("Len = %d, %v; want %d", got, err, n)
	}
	s, err := q.JS().Stream(ctx, q.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	if msgs := s.CachedInfo().State.Msgs; msgs >= n {
		t.Errorf("%d messages for %d items: nothing was packed", msgs, n)
	} else {
		t.Logf("%d items in %d messages", n, msgs)
	}
	for i := range n {
		v, err := q.Get(ctx)
		if err != nil || v != i {
			t.Fatalf("Get #%d = %d, %v", i, v, err)
		}
		if i == n/2 {
			held := q.Held()
			got, err := q.Len(ctx)
			// Len counts exactly unless the handle went idle before it
			// and handed its message back (then its returned items are
			// in the queue again, until a getter skips them).
			if q.Held() == held && (err != nil || got != n-i-1) {
				t.Errorf("Len half way = %d, %v; want %d", got, err, n-i-1)
			}
		}
	}
	if empty, err := q.Empty(ctx); err != nil || !empty {
		t.Errorf("Empty at the end = %v, %v", empty, err)
	}
}

// A getter that dies holding a packed message it has taken items from:
// the whole message comes back, items already returned included (at least
// once, never lost). Should the getter go idle before it dies, it hands
// the rest back, and the item it returned does not come again.
func TestQueuePackedMessageOfVanishedGetterComesBack(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[string](t, connect(t, b), "vanish-packed", ipc.WithAckWait(300*time.Millisecond))
	ncDoomed := connectTCP(t, b)
	doomed := newTestQueue[string](t, ncDoomed, "vanish-packed")
	putPacked(t, q, "a", "b", "c")
	if v, err := doomed.Get(ctx); err != nil || v != "a" {
		t.Fatalf("doomed Get = %q, %v", v, err)
	}
	ncDoomed.Close()
	var got []string
	for len(got) < 3 && !slices.Equal(got, []string{"b", "c"}) {
		v, err := q.Get(ctx)
		if err != nil {
			t.Fatalf("Get after the getter vanished: %v (got %v)", err, got)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []string{"a", "b", "c"}) && !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("came back: %v; want [a b c] (or [b c], handed back before the getter died) in order", got)
	}
}

// Close hands back the items of a half-taken packed message exactly once:
// not the ones Get returned.
func TestQueueCloseGivesBackRestOfPacked(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	q := newTestQueue[int](t, connect(t, b), "giveback-packed", ipc.WithAckWait(time.Hour))
	h := newTestQueue[int](t, connectTCP(t, b), "giveback-packed")
	putPacked(t, q, 0, 1, 2, 3, 4)
	for want := range 2 {
		if v, err := h.Get(ctx); err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d", v, err, want)
		}
	}
	n, err := h.Len(ctx)
	if h.Held() == 3 && (err != nil || n != 3) { // as in TestQueuePackingFIFOAndLen
		t.Errorf("Len with 2 of 5 taken = %d, %v; want 3", n, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 3 {
		v, err := q.Get(ctx)
		if err != nil {
			t.Fatalf("Get: %v (got %v)", err, got)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{2, 3, 4}) {
		t.Errorf("given back: %v; want [2 3 4]", got)
	}
	if v, err := q.GetTimeout(ctx, 200*time.Millisecond); !errors.Is(err, ipc.ErrQueueEmpty) {
		t.Errorf("after the rest: %d, %v; want ipc.ErrQueueEmpty (nothing returned twice)", v, err)
	}
}

// A packed message whose header lies is reported, and dropped, once.
func TestQueueMalformedPackedMessage(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	nc := connect(t, b)
	q := newTestQueue[string](t, nc, "badpack")
	m := &nats.Msg{Subject: q.Subject() + ".3", Data: ipc.PackItems([][]byte{[]byte(`"x"`)}),
		Header: nats.Header{ipc.PackHeader: []string{"3"}}}
	if _, err := q.JS().PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, ipc.ErrBadPack) {
		t.Fatalf("Get of a malformed message = %v, want ipc.ErrBadPack", err)
	}
	if v, err := q.Get(ctx); err != nil || v != "good" {
		t.Fatalf("next Get = %q, %v", v, err)
	}
}

// A pipe packs too; order holds and EOF comes after every value.
func TestPipePackingOrderAndEOF(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	a, z := newTestPipe[int](t, connect(t, b))
	const n = 20000
	for i := range n {
		if err := a.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v, err := z.Recv(ctx)
		if err != nil || v != i {
			t.Fatalf("Recv #%d = %d, %v", i, v, err)
		}
		if i == 0 && !z.Poll(0) {
			t.Error("Poll(0) false with the rest of a packed message in hand")
		}
	}
	if _, err := z.Recv(ctx); err == nil || err.Error() != "EOF" {
		t.Errorf("Recv at the end = %v, want EOF", err)
	}
}
