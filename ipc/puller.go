package ipc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/internal/wire"
)

var (
	ackAck  = []byte(wire.AckOK)
	ackNak  = []byte(wire.AckNak)
	ackTerm = []byte(wire.AckTerm)
	// ackProgress resets the ack wait of a message still being worked on.
	ackProgress = []byte(wire.AckProgress)
)

// puller fetches messages from a durable pull consumer on a private inbox
// with raw pull requests: no subscription per fetch, at most one pull request
// in flight, asking for up to max messages. It asks only when a caller wants
// a message and its buffer is at most half full, so an idle handle holds at
// most one batch.
type puller struct {
	nc      *nats.Conn
	reqSubj string
	sub     *nats.Subscription
	max     int
	// staleAfter, if > 0, drops a buffered message older than this instead
	// of returning it: the broker may have redelivered it elsewhere.
	staleAfter time.Duration
	nakOnClose bool
	wake       chan struct{} // capacity 1: "the buffer or state changed"
	done       chan struct{} // closed by close, wakes every waiter

	mu          sync.Mutex
	buf         []pulled
	head        int
	outstanding int       // messages asked for, not yet received
	lostAt      time.Time // when the pull request in flight counts as lost
	closed      bool
	err         error // terminal: the consumer is gone
}

type pulled struct {
	msg *nats.Msg
	at  time.Time
}

func newPuller(nc *nats.Conn, stream, consumer string, max int, staleAfter time.Duration, nakOnClose bool) *puller {
	p := &puller{
		nc:         nc,
		reqSubj:    wire.ConsumerNextSubject(stream, consumer),
		max:        max,
		staleAfter: staleAfter,
		nakOnClose: nakOnClose,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	return p
}

// subscribeLocked makes the inbox subscription on first use, so a handle
// that never reads costs nothing.
func (p *puller) subscribeLocked() error {
	if p.sub != nil {
		return nil
	}
	// NewInbox, not NewRespInbox: the connection's request mux subscribes
	// to every response inbox, which would keep our pull requests alive
	// after we unsubscribe, and swallow what they deliver.
	sub, err := p.nc.Subscribe(p.nc.NewInbox(), p.onMsg)
	if err != nil {
		return err
	}
	// The buffer bounds what we hold; let the subscription queue whatever
	// the broker sends in the meantime.
	_ = sub.SetPendingLimits(-1, -1)
	p.sub = sub
	return nil
}

func (p *puller) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *puller) onMsg(m *nats.Msg) {
	if len(m.Data) == 0 && m.Header != nil {
		if code := m.Header.Get("Status"); code != "" {
			p.onStatus(code, m.Header.Get("Description"))
			return
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		if p.nakOnClose && m.Reply != "" {
			_ = p.nc.Publish(m.Reply, ackNak)
		}
		return
	}
	p.buf = append(p.buf, pulled{msg: m, at: time.Now()})
	if p.outstanding > 0 {
		p.outstanding--
	}
	p.mu.Unlock()
	p.signal()
}

func (p *puller) onStatus(code, desc string) {
	switch code {
	case "100": // idle heartbeat (not asked for)
		return
	}
	// 404 no messages, 408 request expired, 409 request ended (max waiting,
	// leadership change, consumer deleted, ...): our one request is over.
	p.mu.Lock()
	p.outstanding = 0
	if code == "409" && desc == "Consumer Deleted" || code == "400" {
		p.err = fmt.Errorf("pull: %s %s", code, desc)
	}
	p.mu.Unlock()
	p.signal()
}

// refillLocked asks for more messages if none are on the way and the buffer
// is at most half full.
func (p *puller) refillLocked(now time.Time) {
	if p.outstanding > 0 && now.After(p.lostAt) {
		p.outstanding = 0
	}
	buffered := len(p.buf) - p.head
	if p.outstanding > 0 || buffered > p.max/2 || p.err != nil {
		return
	}
	if err := p.subscribeLocked(); err != nil {
		return // the wait in next retries
	}
	batch := p.max - buffered
	req := make([]byte, 0, 64)
	req = append(req, `{"batch":`...)
	req = strconv.AppendInt(req, int64(batch), 10)
	req = append(req, `,"expires":`...)
	req = strconv.AppendInt(req, int64(pullExpires), 10)
	req = append(req, '}')
	if err := p.nc.PublishRequest(p.reqSubj, p.sub.Subject, req); err != nil {
		return // the wait below retries when lostAt passes
	}
	p.outstanding = batch
	p.lostAt = now.Add(pullExpires + pullLostAfter)
}

// popLocked returns the oldest fresh buffered message, dropping stale ones.
func (p *puller) popLocked(now time.Time) (*nats.Msg, time.Time) {
	for p.head < len(p.buf) {
		it := p.buf[p.head]
		p.buf[p.head] = pulled{}
		p.head++
		if p.head == len(p.buf) {
			p.buf, p.head = p.buf[:0], 0
		} else if p.head > 1024 && p.head > len(p.buf)/2 {
			n := copy(p.buf, p.buf[p.head:])
			p.buf, p.head = p.buf[:n], 0
		}
		if p.staleAfter > 0 && now.Sub(it.at) > p.staleAfter {
			continue // not ours any more: the broker redelivers it
		}
		return it.msg, it.at
	}
	return nil, time.Time{}
}

// next returns the next message and when it arrived. With wait false it
// returns a nil message if none is buffered; otherwise it waits until one
// comes or ctx ends.
func (p *puller) next(ctx context.Context, wait bool) (*nats.Msg, time.Time, error) {
	for {
		now := time.Now()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, time.Time{}, ErrClosed
		}
		m, at := p.popLocked(now)
		p.refillLocked(now)
		more := p.head < len(p.buf)
		err := p.err
		lostAt := p.lostAt
		p.mu.Unlock()
		if m != nil {
			if more {
				p.signal() // pass the baton to another waiting caller
			}
			return m, at, nil
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if !wait {
			return nil, time.Time{}, nil
		}
		if err := p.wait(ctx, lostAt.Sub(now)); err != nil {
			return nil, time.Time{}, err
		}
	}
}

// poll waits up to timeout for a message to be buffered, and reports
// whether one is. It does not remove it.
func (p *puller) poll(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		now := time.Now()
		p.mu.Lock()
		// Drop stale messages at the head so they are not reported.
		for p.head < len(p.buf) && p.staleAfter > 0 && now.Sub(p.buf[p.head].at) > p.staleAfter {
			p.popLocked(now)
		}
		ready := p.closed || p.err != nil || p.head < len(p.buf)
		if !ready {
			p.refillLocked(now)
		}
		p.mu.Unlock()
		if ready || !now.Before(deadline) {
			return ready
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := p.wait(ctx, time.Until(deadline))
		cancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			continue // one last look
		}
	}
}

func (p *puller) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, time.Millisecond))
	defer t.Stop()
	select {
	case <-p.wake:
		return nil
	case <-p.done:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops fetching and gives back (Nak) what is buffered if nakOnClose.
// Messages still in flight are given back by the subscription's drain.
// It returns the messages it dropped, for callers that look for markers.
func (p *puller) close() []*nats.Msg {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var rest []*nats.Msg
	for _, it := range p.buf[p.head:] {
		rest = append(rest, it.msg)
	}
	p.buf, p.head = nil, 0
	sub := p.sub
	p.mu.Unlock()
	close(p.done)
	// Unsubscribe first: the broker drops a pull request whose inbox has no
	// interest, so what we give back below is not sent to us again. The
	// drain hands messages already on their way to onMsg, which gives them
	// back too.
	if sub != nil {
		if err := sub.Drain(); err != nil {
			_ = sub.Unsubscribe()
		}
	}
	if p.nakOnClose {
		for _, m := range rest {
			_ = p.nc.Publish(m.Reply, ackNak)
		}
	}
	return rest
}
