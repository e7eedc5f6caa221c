package ipc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/wire"
)

const (
	pipeStreamPrefix = "PROCPOOL_P_"
	pipeSubjectPref  = "procpool.pipe."
	// pipeEOFHeader marks the end-of-stream message an end sends on Close.
	pipeEOFHeader = "Procpool-Pipe-Eof"
	// pipePrefetch is an end's default WithPrefetch: the most messages
	// one pull request asks for (an end asks only for what calls wait for).
	pipePrefetch = 512
	// pipeSendWindow is how many sends may await acknowledgement.
	pipeSendWindow = 1024
	// pipeAckWait is the ack wait of an end's consumer: how long a
	// message delivered to a reader that went silent (killed, frozen)
	// waits before it is delivered again.
	pipeAckWait = 30 * time.Second
	// pipeStaleAfter: a message held this long may have been delivered
	// again to another reader of the end; what is left of it is theirs.
	pipeStaleAfter = pipeAckWait / 2
)

// PipeEnd is one end of a duplex, ordered pipe of T (Python's
// multiprocessing.Pipe): what one end sends, the other receives, in order.
// Make a pipe with [NewPipe] and hand one end's [PipeEnd.Name] to another
// process, which opens it with [OpenPipe].
//
// A pipe is a JetStream stream PROCPOOL_P_<id> with interest retention and
// two subjects, procpool.pipe.<id>.a and .b: end a sends on .a and reads .b
// through the durable consumer "a", and the other way round. Both consumers
// exist from NewPipe on, so nothing sent before the other end is opened is
// lost, and a message leaves the stream once a Recv took it. A PipeEnd is
// safe for concurrent use.
//
// An end may be opened by several processes at once, as Python programs
// hand one end to several children: whichever is inside Recv gets the next
// value. An end that is not inside Recv or Poll holds nothing: it fetches
// only for a call that waits, and gives back at once, in order, what the
// call did not take.
//
// Values sent faster than they can be published travel together, up to
// 256 in one message, delivered as a queue's are (see [Queue]): the Recv
// that takes such a message keeps the rest of it for the next Recvs of
// its handle, which hands it back (with a record of the values already
// received, which the next reader skips) within 40 ms of its last Recv.
// The message leaves the stream with its last value: a reader that dies
// holding it loses nothing, the message is delivered again (values it had
// received included) after 30 s.
//
// Values of any size: one larger than a message should carry (256 KiB,
// less under a small broker max payload) is stored in the pipe's object
// store bucket PROCPOOL_P_<id>, made on the first such value, and its
// message carries a reference; Recv fetches it, then acknowledges the
// message and deletes the value. The bucket
// goes with the pipe's stream; its TTL (24h) ends what a reader that died
// or never read left behind.
type PipeEnd[T any] struct {
	id      string
	end     string // "a" or "b"
	stream  string
	subject string // where this end sends
	nc      *nats.Conn
	js      jetstream.JetStream

	pub  *publisher
	pk   *packer // sends are packed (see queue_pack.go)
	pull *puller
	cur  *cursor
	hb   *handBacks
	vals *ipcValues // values too large for a message (queue_values.go)

	mu      sync.Mutex // guards peerEOF
	peerEOF bool
	eofWait time.Duration // the next wait of a marker met too early (pipe_eof.go); p.cur's lock

	closeOnce sync.Once
	closed    atomic.Bool
	closeErr  error
}

// NewPipe creates a pipe and returns its two ends, both on nc. To hand an
// end to another process, pass its Name, which that process gives to
// [OpenPipe], and leave the end here alone: an end that never sends or
// receives holds nothing (no subscription), and closing it would close the
// end for good. Options are as for a queue, see [Option].
func NewPipe[T any](ctx context.Context, nc *nats.Conn, opts ...Option) (*PipeEnd[T], *PipeEnd[T], error) {
	if nc == nil {
		return nil, nil, fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	o, err := pipeOptions(opts)
	if err != nil {
		return nil, nil, err
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, nil, wire.MarkUnavailable(fmt.Errorf("pool: new pipe: %w", err))
	}
	id := hex.EncodeToString(rnd[:])
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, nil, wire.MarkUnavailable(fmt.Errorf("pool: new pipe: %w", err))
	}
	stream := pipeStreamPrefix + id
	cfg := jetstream.StreamConfig{
		Name:      stream,
		Subjects:  []string{pipeSubjectPref + id + ".a", pipeSubjectPref + id + ".b"},
		Retention: jetstream.InterestPolicy,
		Storage:   jetstream.MemoryStorage,
		Replicas:  o.replicas,
		MaxMsgs:   -1,
		// Bounded like a queue: a Send past it fails, nothing sent is lost.
		MaxBytes: o.maxBytes,
		Discard:  jetstream.DiscardNew,
	}
	if o.file {
		cfg.Storage = jetstream.FileStorage
	}
	err = wire.CreateFitted(&cfg, func() error { // a bound that fits the broker
		return wire.APICall(ctx, js, func(ctx context.Context) error {
			_, err := js.CreateStream(ctx, cfg)
			return err
		})
	})
	if err != nil {
		return nil, nil, wire.MarkUnavailable(fmt.Errorf("pool: new pipe: create stream: %w", err))
	}
	for _, end := range []string{"a", "b"} {
		ccfg := jetstream.ConsumerConfig{
			Durable:       end,
			FilterSubject: pipeSubjectPref + id + "." + peerOf(end),
			// Explicit acks, so that what an end fetched and did not take
			// can be given back to another reader of the same end.
			AckPolicy:  jetstream.AckExplicitPolicy,
			AckWait:    pipeAckWait,
			MaxDeliver: -1,
			MaxWaiting: 16,
		}
		err = wire.APICall(ctx, js, func(ctx context.Context) error {
			_, err := js.CreateConsumer(ctx, stream, ccfg)
			return err
		})
		if err != nil {
			_ = js.DeleteStream(context.WithoutCancel(ctx), stream)
			return nil, nil, wire.MarkUnavailable(fmt.Errorf("pool: new pipe: create consumer: %w", err))
		}
	}
	a, err := openEnd[T](nc, id, "a", o)
	if err != nil {
		_ = js.DeleteStream(context.WithoutCancel(ctx), stream)
		return nil, nil, err
	}
	b, err := openEnd[T](nc, id, "b", o)
	if err != nil {
		_ = a.Close()
		_ = js.DeleteStream(context.WithoutCancel(ctx), stream)
		return nil, nil, err
	}
	return a, b, nil
}

// OpenPipe opens the pipe end called name (the [PipeEnd.Name] of an end
// made by [NewPipe]) on nc, typically in another process. Opening an end
// that was closed, or whose pipe was deleted, is an error. Of the options,
// only WithPrefetch and WithPutWindow matter here: the pipe is as NewPipe
// made it.
func OpenPipe[T any](ctx context.Context, nc *nats.Conn, name string, opts ...Option) (*PipeEnd[T], error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	o, err := pipeOptions(opts)
	if err != nil {
		return nil, err
	}
	id, end, err := parsePipeName(name)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: open pipe %q: %w", name, err))
	}
	err = wire.APICall(ctx, js, func(ctx context.Context) error {
		_, err := js.Consumer(ctx, pipeStreamPrefix+id, end)
		return err
	})
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: open pipe %q: not found or closed: %w", name, err))
	}
	return openEnd[T](nc, id, end, o)
}

func openEnd[T any](nc *nats.Conn, id, end string, o options) (*PipeEnd[T], error) {
	p := &PipeEnd[T]{
		id:      id,
		end:     end,
		stream:  pipeStreamPrefix + id,
		subject: pipeSubjectPref + id + "." + end,
		nc:      nc,
		eofWait: eofFirstWait,
	}
	var err error
	p.pub, err = newPublisher(nc, o.putWindow)
	if err != nil {
		return nil, wire.MarkUnavailable(fmt.Errorf("pool: open pipe %q: %w", p.Name(), err))
	}
	p.js = p.pub.js
	p.vals = newIPCValues(nc, p.js, p.stream, blob.ObjectsConfig{})
	p.pub.onLost = p.vals.lost
	p.pk = newPacker(p.pub, func(int) string { return p.subject })
	p.cur = newCursor(p.handBackIdle)
	p.hb = newHandBacks(nc, p.stream, o)
	p.pull = newPuller(nc, p.stream, end, o.prefetch, pipeStaleAfter)
	return p, nil
}

func peerOf(end string) string {
	if end == "a" {
		return "b"
	}
	return "a"
}

// parsePipeName splits "<id>.a" or "<id>.b".
func parsePipeName(name string) (id, end string, err error) {
	id, end, ok := strings.Cut(name, ".")
	if !ok || (end != "a" && end != "b") {
		return "", "", fmt.Errorf("%w: pipe end name %q: want <id>.a or <id>.b", ErrInvalidArgument, name)
	}
	if err := validName("pipe", id); err != nil {
		return "", "", err
	}
	return id, end, nil
}

// Name returns this end's name, "<pipe id>.a" or "<pipe id>.b", which
// another process passes to [OpenPipe] to open this end.
func (p *PipeEnd[T]) Name() string { return p.id + "." + p.end }

// Send sends v to the other end. It returns once v is handed to the end's
// publisher, which packs it with the values sent meanwhile, with a bounded
// window of messages awaiting the broker's acknowledgement (see
// [PipeEnd.Flush]); if the broker
// refused one of them, a later Send or Close returns that error and the
// value given to that call is not sent. Send on a closed end returns
// [ErrClosed]. Sending after the other end closed is not detected: the value
// is dropped.
func (p *PipeEnd[T]) Send(ctx context.Context, v T) error {
	if p.closed.Load() {
		return fmt.Errorf("pool: pipe %s: send: %w", p.Name(), ErrClosed)
	}
	data, err := wire.Encode(v)
	if err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: send: %w", p.Name(), err))
	}
	data, stored, err := p.vals.store(ctx, data)
	if err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: send: %w", p.Name(), err))
	}
	if err := p.pk.put(ctx, data, stored); err != nil {
		if stored {
			p.vals.lost(storedMsg(p.subject, data))
		}
		return wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: send: %w", p.Name(), err))
	}
	return nil
}

// Flush waits until the broker has stored every value this handle sent,
// and reports a send it refused. Several processes may open the same end
// to send on it: each Flushes before it ends, and only the last one, if
// any, Closes it (Close sends the end of the stream).
func (p *PipeEnd[T]) Flush(ctx context.Context) error {
	if err := p.pk.flush(ctx); err != nil {
		return wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: flush: %w", p.Name(), err))
	}
	return nil
}

// Recv returns the next value the other end sent, waiting until there is
// one or ctx ends. After the other end closed and every value it sent before
// was received, Recv returns io.EOF. On an end that several handles read,
// each of them returns io.EOF, once no value sent before the close is still
// out with another (docs/ipc.md). Recv on a closed end returns
// [ErrClosed].
func (p *PipeEnd[T]) Recv(ctx context.Context) (T, error) {
	var zero T
	if p.closed.Load() {
		return zero, fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), ErrClosed)
	}
	p.mu.Lock()
	if p.peerEOF {
		p.mu.Unlock()
		return zero, io.EOF
	}
	p.mu.Unlock()
	if err := p.cur.lock(ctx); err != nil {
		return zero, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
	}
	defer p.cur.unlock()
	for {
		if p.cur.msg != nil {
			if p.cur.ref != nil {
				v, ok, err := p.recvStoredLocked(ctx)
				if !ok {
					continue
				}
				return v, err
			}
			data, ok := p.takeLocked()
			if !ok {
				continue
			}
			v, err := wire.Decode[T](data)
			if err != nil {
				return zero, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
			}
			return v, nil
		}
		m, at, err := p.pull.next(ctx, true)
		if err != nil {
			return zero, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
		}
		if isEOF(m) {
			eof, err := p.meetEOF(ctx, m) // pipe_eof.go
			if err != nil {
				return zero, err
			}
			if eof {
				return zero, io.EOF
			}
			continue
		}
		items, ref, err := openMsg(m)
		if err != nil {
			if m.Reply != "" {
				_ = p.nc.Publish(m.Reply, ackTerm)
			}
			return zero, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
		}
		skip := 0
		if len(items) > 1 {
			// If it was delivered before, a reader that handed it
			// back may have received some of its values.
			n, found, err := p.hb.lookup(ctx, m)
			if err != nil {
				p.pull.giveBack(m)
				return zero, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
			}
			if found && n >= len(items) { // all received; only the ack was missing
				p.ack(m)
				p.hb.forget(m)
				continue
			}
			skip = n
		}
		p.cur.open(m, items, ref, at, skip)
	}
}

// ack acknowledges m: it leaves the stream.
func (p *PipeEnd[T]) ack(m *nats.Msg) {
	if m.Reply != "" {
		_ = p.nc.Publish(m.Reply, ackAck)
	}
}

// takeLocked takes the next value of the opened message, acknowledging
// the message with its last value. ok is false if the message went stale
// and was dropped. p.cur is locked and holds a message.
func (p *PipeEnd[T]) takeLocked() (data []byte, ok bool) {
	c := p.cur
	now := time.Now()
	if now.Sub(c.touched) > pipeStaleAfter {
		c.reset() // the broker may have given it to another reader
		return nil, false
	}
	data, last := c.take()
	if last {
		m, recorded := c.msg, c.recorded
		c.reset()
		p.ack(m)
		if recorded {
			p.hb.forget(m)
		}
		return data, true
	}
	if now.Sub(c.touched) > pipeStaleAfter/4 && c.msg.Reply != "" {
		_ = p.nc.Publish(c.msg.Reply, ackProgress) // still at it
		c.touched = now
	}
	return data, true
}

// handBackIdle hands back the message an idle end holds (see
// cursor.tick); p.cur is locked. Should the record not be written, the
// whole message goes back: values already received come again rather
// than out of order.
func (p *PipeEnd[T]) handBackIdle() {
	p.hb.handBackLocked(p.cur, pipeStaleAfter, p.pull.giveBack, func(m *nats.Msg, _ [][]byte, _ bool) { p.pull.giveBack(m) })
}

// recvStoredLocked fetches the opened message's stored value, then
// acknowledges the message and deletes the value. A fetch cut short by
// ctx leaves it in hand (handed back if the end stays idle); a value that
// is gone is dropped with an error; any other failure gives the message
// back. ok is false if the message went stale and was dropped. p.cur is
// locked and holds a stored value.
func (p *PipeEnd[T]) recvStoredLocked(ctx context.Context) (v T, ok bool, err error) {
	var zero T
	c := p.cur
	if time.Since(c.touched) > pipeStaleAfter {
		c.reset() // as in takeLocked
		return zero, false, nil
	}
	ref := *c.ref
	m := c.msg
	stop := keepReserved(p.nc, m.Reply, pipeStaleAfter)
	data, err := p.vals.fetch(ctx, ref)
	if last := stop(); !last.IsZero() {
		c.touched = last
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, blob.ErrMissing):
			c.reset()
			p.ack(m) // redelivering it would fail every reader
		default:
			c.reset()
			p.pull.giveBack(m)
		}
		return zero, true, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
	}
	c.take()
	c.reset()
	p.ack(m)
	p.vals.release(ref)
	v, err = decodeFetched[T](data)
	if err != nil {
		return zero, true, wire.MarkUnavailable(fmt.Errorf("pool: pipe %s: recv: %w", p.Name(), err))
	}
	return v, true, nil
}

func isEOF(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header != nil && m.Header.Get(pipeEOFHeader) != ""
}

// Poll reports whether Recv would return without waiting: a value or the
// end of the stream is there, or the end is closed. It waits up to timeout
// for that; a timeout <= 0 asks the broker once without waiting. Poll does
// not keep the value it saw (an end outside Recv holds nothing): another
// reader of this end may take it before this end's Recv does. Nor does it
// look behind an end-of-stream marker: while a value sent before the marker
// is still out with another reader, Recv waits for that value.
func (p *PipeEnd[T]) Poll(timeout time.Duration) bool {
	if p.closed.Load() {
		return true
	}
	p.mu.Lock()
	eof := p.peerEOF
	p.mu.Unlock()
	if eof || p.cur.left.Load() > 0 {
		return true
	}
	return p.pull.poll(timeout)
}

// Close closes this end: it waits (at most 10s) for its sends to be
// acknowledged, then sends the end-of-stream marker after which the other
// end's Recv returns io.EOF, and stops receiving. Values sent to this end
// and not yet received are dropped. When both ends are closed, the pipe's
// stream and bucket are deleted. Close is idempotent.
func (p *PipeEnd[T]) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		var errs []error
		if err := p.pk.flush(ctx); err != nil {
			errs = append(errs, err)
		}
		p.pk.close()
		eof := &nats.Msg{Subject: p.subject, Header: nats.Header{pipeEOFHeader: []string{"1"}}}
		if err := p.pub.publishSync(ctx, eof); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) &&
			!errors.Is(err, jetstream.ErrNoStreamResponse) {
			errs = append(errs, fmt.Errorf("send end of stream: %w", err))
		}
		p.pub.close()
		p.pull.close() // wakes a Recv waiting for a message
		if p.cur.lock(ctx) == nil {
			p.cur.reset() // the consumer goes, and what it holds with it
			p.cur.close()
			p.cur.unlock()
		}
		p.vals.close()
		// This end reads no more: drop its consumer. Whichever end finds
		// the other's consumer gone as well deletes the stream and the
		// bucket.
		err := wire.APICall(ctx, p.js, func(ctx context.Context) error { return p.js.DeleteConsumer(ctx, p.stream, p.end) })
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("delete consumer: %w", err))
		}
		err = wire.APICall(ctx, p.js, func(ctx context.Context) error {
			_, err := p.js.Consumer(ctx, p.stream, peerOf(p.end))
			return err
		})
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			err = wire.APICall(ctx, p.js, func(ctx context.Context) error { return p.js.DeleteStream(ctx, p.stream) })
			if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				errs = append(errs, fmt.Errorf("delete stream: %w", err))
			}
			if err := deleteBucket(ctx, p.js, p.stream); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			p.closeErr = fmt.Errorf("pool: pipe %s: close: %w", p.Name(), err)
		}
	})
	return p.closeErr
}

// DeletePipe deletes the pipe one of whose ends is called name, whatever
// state its ends are in: ends still open then fail. Use it to clean up
// after a process that died without closing its end. Deleting a pipe that
// does not exist is not an error.
func DeletePipe(ctx context.Context, nc *nats.Conn, name string) error {
	if nc == nil {
		return fmt.Errorf("%w: nil *nats.Conn", ErrInvalidArgument)
	}
	id, _, err := parsePipeName(name)
	if err != nil {
		return err
	}
	return deleteStream(ctx, nc, pipeStreamPrefix+id, fmt.Sprintf("pipe %q", name))
}
