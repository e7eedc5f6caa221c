package ipc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handing back a packed message. A Get or Recv that opens a message of k
// packed items returns the first and keeps the rest for the next calls of
// its handle. A handle that then stays idle would hold those items from a
// reader elsewhere, so once it has been idle for idleHandBack it hands the
// message back: it records in the primitives' bucket how many of its items
// were returned, and gives the message back (Nak) so that the broker
// redelivers it at once, in its place in the order, to whichever reader
// asks. That reader, seeing a packed message delivered more than once,
// looks the record up and skips the items already returned.
const (
	// idleHandBack is how long a handle holding the rest of a packed
	// message may stay outside Get, Recv and Len before it hands the
	// message back: a reader elsewhere waits between it and twice it. A
	// single reader pausing between calls for longer pays a hand-back
	// (a record, a Nak, a redelivery and a lookup: a few round trips).
	idleHandBack = 20 * time.Millisecond
	// handBackTTL is how long a record lives: it must outlast the time
	// the message waits for its next reader.
	handBackTTL = 24 * time.Hour
	// handBackTimeout bounds writing, reading and deleting a record.
	handBackTimeout = 5 * time.Second
	// handBackKind is the first token of a record's key in the bucket.
	handBackKind = "handback"
)

// handBacks writes and reads the records of one queue's or pipe end's
// handed-back messages.
type handBacks struct {
	nc     *nats.Conn
	stream string
	so     syncOptions // how to make the bucket if it does not exist

	mu sync.Mutex
	js jetstream.JetStream
	kv jetstream.KeyValue
}

func newHandBacks(nc *nats.Conn, stream string, o options) *handBacks {
	return &handBacks{nc: nc, stream: stream, so: syncOptions{file: o.file, replicas: max(o.replicas, 1)}}
}

// open opens the bucket once, making it if create is set.
func (h *handBacks) open(ctx context.Context, create bool) (jetstream.JetStream, jetstream.KeyValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.kv != nil {
		return h.js, h.kv, nil
	}
	if !create {
		js, err := jetstream.New(h.nc)
		if err != nil {
			return nil, nil, err
		}
		if _, err := lookupSyncKV(ctx, js); err != nil {
			return nil, nil, err // not found: there is no record
		}
	}
	js, kv, err := syncKV(ctx, h.nc, h.so)
	if err != nil {
		return nil, nil, err
	}
	h.js, h.kv = js, kv
	return js, kv, nil
}

// key is the record's key of m: the stream's sequence of m and the time
// it was stored, so that a queue deleted and made again under the same
// name does not meet its predecessor's records.
func (h *handBacks) key(m *nats.Msg) (string, bool) {
	md, err := m.Metadata()
	if err != nil {
		return "", false
	}
	return handBackKind + "." + h.stream + "." + strconv.FormatUint(md.Sequence.Stream, 10) +
		"." + strconv.FormatInt(md.Timestamp.UnixNano(), 10), true
}

// record notes that taken items of the packed message m were returned.
func (h *handBacks) record(m *nats.Msg, taken int) error {
	key, ok := h.key(m)
	if !ok {
		return errors.New("message has no JetStream metadata")
	}
	ctx, cancel := context.WithTimeout(context.Background(), handBackTimeout)
	defer cancel()
	js, _, err := h.open(ctx, true)
	if err != nil {
		return err
	}
	rec := &nats.Msg{Subject: syncSubject(key), Data: strconv.AppendInt(nil, int64(taken), 10)}
	_, err = js.PublishMsg(ctx, rec, jetstream.WithMsgTTL(handBackTTL))
	return err
}

// lookup returns how many items of the packed message m a handle that
// handed it back had returned: 0 for a first delivery, when there is no
// record, or when it cannot be read (all are delivered then: at least
// once). found says a record was there (to forget once m is acked). An
// error is ctx's.
func (h *handBacks) lookup(ctx context.Context, m *nats.Msg) (skip int, found bool, err error) {
	md, err := m.Metadata()
	if err != nil || md.NumDelivered <= 1 {
		return 0, false, nil
	}
	key, _ := h.key(m)
	lctx, cancel := context.WithTimeout(ctx, handBackTimeout)
	defer cancel()
	_, kv, err := h.open(lctx, false)
	if err == nil {
		var e jetstream.KeyValueEntry
		if e, err = kv.Get(lctx, key); err == nil {
			n, perr := strconv.Atoi(string(e.Value()))
			if perr != nil || n < 0 {
				return 0, false, nil
			}
			return n, true, nil
		}
	}
	return 0, false, ctx.Err()
}

// forget deletes m's record, in the background: best effort, the TTL
// ends what is left.
func (h *handBacks) forget(m *nats.Msg) {
	key, ok := h.key(m)
	if !ok {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), handBackTimeout)
		defer cancel()
		if _, kv, err := h.open(ctx, false); err == nil {
			_ = kv.Purge(ctx, key, jetstream.PurgeTTL(syncMarkerTTL))
		}
	}()
}

// handBackLocked hands back the message c holds, so that a reader
// elsewhere gets its rest in its place in the order, and forgets it. A
// message older than staleAfter (> 0) is dropped instead: the broker may
// have redelivered it already. giveBack Naks a message; fallback hands
// back a message whose record could not be written, with its items not
// yet returned, and whether it had a record already. c is locked.
func (h *handBacks) handBackLocked(c *cursor, staleAfter time.Duration, giveBack func(*nats.Msg), fallback func(m *nats.Msg, rest [][]byte, recorded bool)) {
	m := c.msg
	if m == nil {
		return
	}
	stale := staleAfter > 0 && time.Since(c.touched) > staleAfter
	taken, rest, recorded := c.next, c.rest(), c.recorded
	c.reset()
	switch {
	case stale:
	case taken == 0 || h.record(m, taken) == nil:
		giveBack(m)
	default:
		fallback(m, rest, recorded)
	}
}
