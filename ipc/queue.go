package ipc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

const (
	queueStreamPrefix = "PROCPOOL_Q_"
	queueSubjectPref  = "procpool.queue."
	queueConsumer     = "getters"

	// pullExpires bounds one pull request; an idle Get renews it.
	pullExpires = 5 * time.Second
	// pullLostAfter is how long past its expiry a pull request with no
	// answer is taken as lost (e.g. across a reconnect) and asked again.
	pullLostAfter = 2 * time.Second
	// closeTimeout bounds the waits in Close, which takes no context.
	closeTimeout = 10 * time.Second
	// asyncAckTimeout fails a put whose acknowledgement never comes.
	asyncAckTimeout = 30 * time.Second
	// stallPoll is how often a Put blocked on a full window checks its ctx.
	stallPoll = 50 * time.Millisecond
)

// Queue is a FIFO queue of T shared by every process that opens it by name
// (Python's multiprocessing.Queue): the parent, local workers and workers on
// other hosts, each with its own *nats.Conn. Items of one producer handle
// come out in the order they were put. No item is lost to a getter's
// death: an item fetched by a getter that dies before its Get returned it
// goes back to the queue after the queue's ack wait.
//
// It is a JetStream work-queue stream PROCPOOL_Q_<name> on the subjects
// procpool.queue.<name> and procpool.queue.<name>.<k>, read through one
// durable pull consumer that all getters share. A Queue value is a handle:
// it is safe for concurrent use, and Close releases the handle, not the
// queue (see [Queue.Delete]).
//
// A handle fetches nothing ahead: it asks the broker for a message only
// while a Get waits, and when Get returns it gives back (Nak) anything it
// fetched and did not return, so an item never waits in the handle of a
// process that is not getting while another getter waits for it.
//
// Packing and what it means for delivery. Items an unbounded queue's handle
// is given faster than it can publish them travel together, up to 256 in
// one JetStream message (published on procpool.queue.<name>.<k>); that is
// what makes a queue fast. A getter takes such a message whole and its Get
// returns the items one by one; the message is acknowledged when Get has
// returned its last item. A handle that goes idle with items of the message
// not yet returned hands the message back 20 to 40 ms after its last Get
// (plus a round trip to the broker), and Close at once: it records
// how many items were returned, under a key of the pool's key-value bucket
// [SyncBucket] ("handback.<stream>.<sequence>.<time>", 24h TTL), and gives
// the message back to the head of the queue. The Get of any handle that
// takes it next skips the recorded items and returns the others, in order.
// A getter that pauses between Gets for longer pays that hand-back (a few
// round trips to the broker) and then gets the rest, in order. Hence,
// exactly:
//   - each item is returned by exactly one Get while getters live;
//   - a getter that dies (or freezes for longer than half the ack wait)
//     holding a message it has returned j of k items from, before it could
//     hand it back, loses the message to the queue whole: all k items are
//     delivered again after the ack wait, so those j items are returned
//     twice (at least once, never lost). A getter that dies before
//     returning any item of a message, or after handing it back, causes
//     no duplicate;
//   - a hand-back whose record cannot be written (the bucket unreachable)
//     publishes the items not returned as a new message, at the tail of
//     the queue, after the items queued meanwhile, and none of the j: no
//     item lost or repeated, but out of order. A record that cannot be
//     read makes that Get return all k items (at least once).
//
// A bounded queue (WithMaxSize) never packs: one item per message, so each
// item is returned by exactly one Get, dead getters included. A getter
// that must never see an item twice uses a bounded queue or makes its
// handling of an item idempotent.
//
// Items of any size. An item whose encoding is larger than a message
// should carry (256 KiB, less under a small broker max payload) is stored
// in the queue's JetStream object store bucket PROCPOOL_Q_<name> (stream
// OBJ_PROCPOOL_Q_<name>), made on the first such item, and its message
// carries a reference to it; the getter fetches it, and deletes it once
// it has acknowledged the message. A stored item counts as one item, in
// WithMaxSize as in Len, keeps its place in the order of its producer's
// items, and is never packed with others. The bucket's TTL (see
// [WithValueTTL], default 24h) ends what a killed process left
// behind (a producer killed between storing an item and publishing it);
// an item still queued past it is lost: the Get that meets it returns an
// error saying so, and the next Get goes on with the following items.
// Delete deletes the bucket with the queue.
type Queue[T any] struct {
	name    string
	stream  string
	subject string
	nc      *nats.Conn
	js      jetstream.JetStream
	bounded bool

	pub  *publisher
	pk   *packer // unbounded queues: puts are packed
	pull *puller
	cur  *cursor // the message Get is taking items from
	hb   *handBacks
	acks *ackConfirms
	vals *ipcValues // items too large for a message (queue_values.go)
	// staleAfter: an opened message not touched for this long may have
	// been redelivered to another getter; its remaining items are dropped.
	staleAfter time.Duration

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error
}

// NewQueue creates the queue called name, or opens it if it exists. The
// name may hold only letters, digits, '_' and '-'. Options that shape the
// queue (see [Option]) apply only when this call creates it.
func NewQueue[T any](ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*Queue[T], error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	if err := validName("queue", name); err != nil {
		return nil, err
	}
	o := defaultOptions()
	if err := applyOptions(&o, opts); err != nil {
		return nil, err
	}
	q := &Queue[T]{
		name:    name,
		stream:  queueStreamPrefix + name,
		subject: queueSubjectPref + name,
		nc:      nc,
	}
	var err error
	q.pub, err = newPublisher(nc, o.putWindow)
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: %w", name, err))
	}
	q.js = q.pub.js
	q.pk = newPacker(q.pub, func(n int) string {
		if n == 1 {
			return q.subject
		}
		return q.subject + "." + strconv.Itoa(n) // Len counts items by subject
	})
	q.cur = newCursor(q.handBackIdle)
	q.hb = newHandBacks(nc, q.stream, o)
	stream, err := q.openStream(ctx, o)
	if err != nil {
		return nil, err
	}
	info := stream.CachedInfo()
	q.bounded = info.Config.MaxMsgs > 0
	q.vals = newIPCValues(nc, q.js, q.stream, queueBucketConfig(info.Config))
	q.pub.onLost = q.vals.lost
	cons, err := openConsumer(ctx, q.js, q.stream, jetstream.ConsumerConfig{
		Durable:       queueConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.ackWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
		Replicas:      o.replicas,
	})
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: open consumer: %w", name, err))
	}
	ackWait := cons.CachedInfo().Config.AckWait
	q.staleAfter = ackWait / 2
	q.pull = newPuller(nc, q.stream, queueConsumer, o.prefetch, q.staleAfter)
	if q.acks, err = newAckConfirms(nc); err != nil {
		q.pull.close()
		q.pub.close()
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: %w", name, err))
	}
	return q, nil
}

func (q *Queue[T]) openStream(ctx context.Context, o options) (jetstream.Stream, error) {
	s, err := lookupStream(ctx, q.js, q.stream)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: %w", q.name, err))
	}
	cfg := jetstream.StreamConfig{
		Name:      q.stream,
		Subjects:  []string{q.subject, q.subject + ".*"},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.MemoryStorage,
		Replicas:  o.replicas,
		MaxMsgs:   -1,
		MaxBytes:  o.maxBytes,
		Discard:   jetstream.DiscardNew,
		Metadata:  map[string]string{queueValueTTLKey: o.valueTTL.String()},
	}
	if o.file {
		cfg.Storage = jetstream.FileStorage
	}
	if o.maxSize > 0 {
		cfg.MaxMsgs = int64(o.maxSize)
		cfg.Discard = jetstream.DiscardNew
	}
	err = wire.CreateFitted(&cfg, func() error { // a bound that fits the broker
		return wire.APICall(ctx, q.js, func(ctx context.Context) error {
			s, err = q.js.CreateStream(ctx, cfg)
			return err
		})
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another process created it first, with other options.
		s, err = lookupStream(ctx, q.js, q.stream)
	}
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: create stream: %w", q.name, err))
	}
	return s, nil
}

// lookupStream looks the stream called name up, asking again while the
// request goes unanswered (wire.APICall).
func lookupStream(ctx context.Context, js jetstream.JetStream, name string) (s jetstream.Stream, err error) {
	err = wire.APICall(ctx, js, func(ctx context.Context) error {
		s, err = js.Stream(ctx, name)
		return err
	})
	return s, err
}

// openConsumer returns the durable consumer cfg.Durable, creating it with
// cfg if it does not exist. An existing consumer is used as it is.
func openConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (c jetstream.Consumer, err error) {
	lookup := func(ctx context.Context) error {
		c, err = js.Consumer(ctx, stream, cfg.Durable)
		return err
	}
	if err = wire.APICall(ctx, js, lookup); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return c, err
	}
	err = wire.APICall(ctx, js, func(ctx context.Context) error {
		c, err = js.CreateConsumer(ctx, stream, cfg)
		return err
	})
	if errors.Is(err, jetstream.ErrConsumerExists) {
		err = wire.APICall(ctx, js, lookup)
	}
	return c, err
}

// Name returns the queue's name, which other processes pass to [NewQueue]
// to open it.
func (q *Queue[T]) Name() string { return q.name }

// Put adds v to the end of the queue. On an unbounded queue Put returns once
// v is handed to the handle's publisher, which packs it with the items
// put meanwhile (see [Queue]) and sends them, with up to the put window
// (see [WithPutWindow]) of messages awaiting the broker's
// acknowledgement; an item Put returned for can be lost only if this
// process dies before [Queue.Flush] or [Queue.Close]. If the broker
// refused one of them,
// that error is returned by a later Put, [Queue.Flush] or [Queue.Close], and
// the item given to that call is not queued. On a bounded queue (see
// [WithMaxSize]) Put returns once the broker stored v, waiting while the
// queue is full. Put honours ctx throughout.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	if q.closed.Load() {
		return fmt.Errorf("pool: queue %q: put: %w", q.name, ErrClosed)
	}
	data, err := wire.Encode(v)
	if err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: queue %q: put: %w", q.name, err))
	}
	data, stored, err := q.vals.store(ctx, data)
	if err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: queue %q: put: %w", q.name, err))
	}
	if q.bounded {
		m := &nats.Msg{Subject: q.subject, Data: data}
		if stored {
			m = storedMsg(q.subject, data)
		}
		err = q.putBounded(ctx, m)
		if err != nil {
			q.vals.lost(m)
		}
	} else {
		err = q.pk.put(ctx, data, stored)
		if err != nil && stored {
			q.vals.lost(storedMsg(q.subject, data))
		}
	}
	if err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: queue %q: put: %w", q.name, err))
	}
	return nil
}

func (q *Queue[T]) putBounded(ctx context.Context, m *nats.Msg) error {
	backoff := time.Millisecond
	for {
		_, err := q.js.PublishMsg(ctx, m)
		if err == nil || !isStreamFull(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 25*time.Millisecond)
	}
}

// isStreamFull reports whether err is the broker refusing a message because
// a DiscardNew stream is at its limit.
func isStreamFull(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	// 10077: JSStreamStoreFailedF, "maximum messages exceeded" and friends.
	return apiErr.ErrorCode == 10077
}

// Flush waits until the broker has acknowledged every item this handle put,
// and reports a put the broker refused.
func (q *Queue[T]) Flush(ctx context.Context) error {
	if err := q.pk.flush(ctx); err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: queue %q: flush: %w", q.name, err))
	}
	return nil
}

// Get removes and returns the item at the head of the queue, waiting until
// there is one or ctx ends. An item that cannot be decoded as T is removed
// from the queue and reported as an error.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	v, _, err := q.get(ctx, true)
	return v, err
}

// GetTimeout is Get that waits at most timeout (Python's get(timeout=...)):
// it returns [ErrQueueEmpty] if no item came in time. A timeout <= 0 does not
// wait for an item to be put (Python's get_nowait): it asks the broker once
// and returns an item the queue holds now, else ErrQueueEmpty.
func (q *Queue[T]) GetTimeout(ctx context.Context, timeout time.Duration) (T, error) {
	if timeout <= 0 {
		v, ok, err := q.get(ctx, false)
		if err == nil && !ok {
			err = fmt.Errorf("pool: queue %q: %w", q.name, ErrQueueEmpty)
		}
		return v, err
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := q.Get(tctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return v, fmt.Errorf("pool: queue %q: %w", q.name, ErrQueueEmpty)
	}
	return v, err
}

func (q *Queue[T]) get(ctx context.Context, wait bool) (T, bool, error) {
	var zero T
	if err := q.cur.lock(ctx); err != nil {
		return zero, false, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
	}
	defer q.cur.unlock()
	for {
		if q.cur.msg != nil {
			decode := wire.Decode[T]
			var data []byte
			var ok bool
			var err error
			if q.cur.ref != nil {
				data, ok, err = q.takeStoredLocked(ctx)
				decode = decodeFetched[T]
			} else {
				data, ok, err = q.takeLocked()
			}
			if !ok {
				continue
			}
			if err != nil {
				return zero, false, err
			}
			v, err := decode(data)
			if err != nil {
				// The item is gone from the queue: redelivering it would
				// fail every getter of this type forever.
				return zero, false, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
			}
			return v, true, nil
		}
		m, at, err := q.pull.next(ctx, wait)
		if err != nil {
			return zero, false, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
		}
		if m == nil {
			return zero, false, nil
		}
		items, ref, err := openMsg(m)
		if err != nil {
			_ = q.nc.Publish(m.Reply, ackTerm)
			return zero, false, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
		}
		skip := 0
		if len(items) > 1 {
			// If it was delivered before, a handle that handed it
			// back may have returned some of its items.
			n, found, err := q.hb.lookup(ctx, m)
			if err != nil {
				q.pull.giveBack(m)
				return zero, false, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
			}
			if found && n >= len(items) { // all returned; only the ack was missing
				_ = q.acks.ack(m.Reply)
				q.hb.forget(m)
				continue
			}
			skip = n
		}
		q.cur.open(m, items, ref, at, skip)
	}
}

// takeLocked takes the next item of the opened message, acknowledging the
// message with its last item. ok is false if the message went stale and
// was dropped. q.cur is locked and holds a message.
func (q *Queue[T]) takeLocked() (data []byte, ok bool, err error) {
	c := q.cur
	now := time.Now()
	if q.staleAfter > 0 && now.Sub(c.touched) > q.staleAfter {
		// The broker may have given it to another getter by now: what is
		// left of it is theirs.
		c.reset()
		return nil, false, nil
	}
	data, last := c.take()
	if last {
		m, recorded := c.msg, c.recorded
		c.reset()
		if err := q.acks.ack(m.Reply); err != nil {
			return nil, true, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: ack: %w", q.name, err))
		}
		if recorded {
			q.hb.forget(m)
		}
		return data, true, nil
	}
	if now.Sub(c.touched) > q.staleAfter/4 {
		// Still at it: keep the broker from redelivering the message.
		_ = q.nc.Publish(c.msg.Reply, ackProgress)
		c.touched = now
	}
	return data, true, nil
}

// takeStoredLocked fetches the opened message's stored item, acknowledges
// the message and deletes the stored value. ok is false if the message
// went stale and was dropped. A fetch cut short by ctx leaves the message
// in hand for the next Get; an item whose value is gone is dropped with
// an error naming it; any other failure gives the message back to the
// queue. q.cur is locked and holds a stored item.
func (q *Queue[T]) takeStoredLocked(ctx context.Context) (data []byte, ok bool, err error) {
	c := q.cur
	if q.staleAfter > 0 && time.Since(c.touched) > q.staleAfter {
		c.reset() // as in takeLocked
		return nil, false, nil
	}
	ref := *c.ref
	stop := keepReserved(q.nc, c.msg.Reply, q.staleAfter)
	data, err = q.vals.fetch(ctx, ref)
	if last := stop(); !last.IsZero() {
		c.touched = last
	}
	if err != nil {
		m := c.msg
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, blob.ErrMissing):
			c.reset()
			_ = q.acks.ack(m.Reply) // redelivering it would fail every getter
			err = fmt.Errorf("%w; the item is dropped from the queue (ipc.WithValueTTL sets how long stored items live)", err)
		default:
			c.reset()
			_ = q.nc.Publish(m.Reply, ackNak)
		}
		return nil, true, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: %w", q.name, err))
	}
	c.take()
	m := c.msg
	c.reset()
	if err := q.acks.ack(m.Reply); err != nil {
		return nil, true, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: get: ack: %w", q.name, err))
	}
	q.vals.release(ref)
	return data, true, nil
}

// handBackIdle hands back the message an idle handle holds (see
// cursor.tick); q.cur is locked.
func (q *Queue[T]) handBackIdle() {
	q.hb.handBackLocked(q.cur, q.staleAfter, q.pull.giveBack, q.republishRest)
}

// republishRest hands back the items rest of the packed message m when
// its hand-back record could not be written: it publishes them as a new
// message, at the tail of the queue, and acknowledges m (deleting m's
// earlier record if recorded); if that fails it gives the whole message
// back.
func (q *Queue[T]) republishRest(m *nats.Msg, rest [][]byte, recorded bool) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if len(rest) > 0 {
		out := &nats.Msg{Subject: q.subject, Data: rest[0]}
		if len(rest) > 1 {
			out = &nats.Msg{Subject: q.subject + "." + strconv.Itoa(len(rest)), Data: packItems(rest),
				Header: nats.Header{packHeader: []string{strconv.Itoa(len(rest))}}}
		}
		if err := q.pub.publishSync(ctx, out); err != nil {
			_ = q.nc.Publish(m.Reply, ackNak) // at least once rather than lost
			return
		}
	}
	_ = q.nc.Publish(m.Reply, ackAck)
	if recorded {
		q.hb.forget(m)
	}
}

// nakNow gives m back without waiting for the broker to confirm it.
func (q *Queue[T]) nakNow(m *nats.Msg) { _ = q.nc.Publish(m.Reply, ackNak) }

// Len returns the number of items in the queue (Python's qsize), counting
// items fetched by getters but not yet returned by their Get. Like Python's,
// the figure is approximate while other processes use the queue: the items
// a handle returned from a packed message it then handed back (see
// [Queue]) count again until a getter takes that message. It first waits
// for this handle's own puts to be acknowledged.
func (q *Queue[T]) Len(ctx context.Context) (int, error) {
	if q.closed.Load() {
		return 0, fmt.Errorf("pool: queue %q: len: %w", q.name, ErrClosed)
	}
	// No hand-back while Len counts what this handle holds.
	q.cur.enterBusy()
	defer q.cur.leaveBusy()
	if err := q.pk.flush(ctx); err != nil {
		return 0, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: len: %w", q.name, err))
	}
	if err := q.acks.wait(ctx); err != nil {
		return 0, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: len: %w", q.name, err))
	}
	s, err := lookupStream(ctx, q.js, q.stream)
	if err != nil {
		return 0, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: len: %w", q.name, err))
	}
	var info *jetstream.StreamInfo
	err = wire.APICall(ctx, q.js, func(ctx context.Context) error {
		info, err = s.Info(ctx, jetstream.WithSubjectFilter(q.subject+".*"))
		return err
	})
	if err != nil {
		return 0, wire.MarkUnavailable(fmt.Errorf("pool: queue %q: len: %w", q.name, err))
	}
	// A packed message of k items is on subject <subject>.<k>.
	n := int(info.State.Msgs)
	for subj, msgs := range info.State.Subjects {
		if k, err := strconv.Atoi(subj[len(q.subject)+1:]); err == nil && k > 1 {
			n += (k - 1) * int(msgs)
		}
	}
	// Items this handle returned from a message it has not acknowledged yet.
	n -= int(q.cur.taken.Load())
	return max(n, 0), nil
}

// Empty reports whether the queue holds no items (see [Queue.Len]).
func (q *Queue[T]) Empty(ctx context.Context) (bool, error) {
	n, err := q.Len(ctx)
	return n == 0, err
}

// Close releases the handle: it waits (at most 10s) for this handle's puts
// to be acknowledged, and hands back the packed message it was returning
// items from, as an idle handle does (see [Queue]). The queue itself
// stays. Close is idempotent.
func (q *Queue[T]) Close() error {
	q.closeOnce.Do(func() {
		q.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		err := q.pk.flush(ctx)
		q.pk.close()
		q.pull.close() // wakes a Get waiting for a message
		if q.cur.lock(ctx) == nil {
			q.hb.handBackLocked(q.cur, q.staleAfter, q.nakNow, q.republishRest)
			q.cur.close()
			q.cur.unlock()
		}
		q.pub.close()
		q.acks.close()
		q.vals.close()
		if err != nil {
			q.closeErr = fmt.Errorf("pool: queue %q: close: %w", q.name, err)
		}
	})
	return q.closeErr
}

// Delete closes the handle and deletes the queue with every item in it,
// its bucket of stored items included. Other handles on it then fail.
func (q *Queue[T]) Delete(ctx context.Context) error {
	_ = q.Close()
	return DeleteQueue(ctx, q.nc, q.name)
}

// DeleteQueue deletes the queue called name with every item in it, its
// bucket of stored items included. Deleting a queue that does not exist
// is not an error.
func DeleteQueue(ctx context.Context, nc *nats.Conn, name string) error {
	if nc == nil {
		return fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	if err := validName("queue", name); err != nil {
		return err
	}
	return deleteStream(ctx, nc, queueStreamPrefix+name, fmt.Sprintf("queue %q", name))
}

// deleteStream deletes a queue's or a pipe's stream and its bucket of
// stored items; what names it in errors. What does not exist is not an
// error.
func deleteStream(ctx context.Context, nc *nats.Conn, stream, what string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("pool: delete %s: %w", what, err)
	}
	err = wire.APICall(ctx, js, func(ctx context.Context) error { return js.DeleteStream(ctx, stream) })
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("pool: delete %s: %w", what, err)
	}
	if err := deleteBucket(ctx, js, stream); err != nil {
		return fmt.Errorf("pool: delete %s: %w", what, err)
	}
	return nil
}

// validName checks a queue or pipe name: non-empty, only [A-Za-z0-9_-], so
// that it is one token of a subject and part of a stream name.
func validName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty %s name", ErrInvalidArgument, kind)
	}
	if len(name) > 200 {
		return fmt.Errorf("%w: %s name longer than 200 bytes", ErrInvalidArgument, kind)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return fmt.Errorf("%w: %s name %q: only letters, digits, '_' and '-' are allowed", ErrInvalidArgument, kind, name)
		}
	}
	return nil
}
