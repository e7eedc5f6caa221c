package ipc

import (
	"context"
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

// minPullExpires is the shortest expiry a pull request is sent with, however
// close the caller's deadline: the call gives up on its own at its deadline.
const minPullExpires = time.Millisecond

// settleWait bounds how long a request waits for earlier give-backs to be
// confirmed (see puller.settling).
const settleWait = 2 * time.Second

// puller fetches messages from a durable pull consumer, which other
// handles, in this process or others, read too. It uses raw pull requests
// on a private inbox: no subscription per fetch, at most one request in
// flight.
//
// It never fetches ahead. It asks for a message only for a call inside
// next or poll that waits for one, with the request's expiry bounded by the
// call's deadline; and once no call is inside, it holds nothing: it gives
// back (Nak) what it had buffered, and cancels the request in flight by
// dropping its inbox (the broker drops a pull request whose inbox has no
// interest), giving back whatever that request still delivers. A message
// given back is redelivered at once, so a receiver on another handle never
// waits for a handle that is not receiving.
type puller struct {
	nc      *nats.Conn
	reqSubj string
	max     int // most messages one request asks for
	// staleAfter, if > 0, drops a buffered message older than this instead
	// of returning it: the broker may have redelivered it elsewhere.
	staleAfter time.Duration
	wake       chan struct{} // capacity 1: "the buffer or state changed"
	done       chan struct{} // closed by close, wakes every waiter

	mu          sync.Mutex
	sub         *nats.Subscription // the inbox of the request in flight, if any
	buf         []pulled
	head        int
	inside      int       // calls in next or poll
	outstanding int       // messages asked for on sub, not yet received
	reqs        uint64    // requests sent so far: names the one in flight
	lostAt      time.Time // when the request in flight counts as lost
	closed      bool
	err         error // terminal: the consumer is gone

	// Giving back, in order. A message given back goes to the head of the
	// consumer's redeliveries, but only once the broker has processed the
	// Nak; a request of ours that overtook it would be handed a later
	// message first. So requests wait until every Nak sent is confirmed
	// and every cancelled request's inbox is drained (settling back to 0),
	// or settleBy passes (a confirmation lost across a reconnect).
	confirm  *nats.Subscription // Nak confirmations arrive here
	settling int
	settleBy time.Time
}

type pulled struct {
	msg *nats.Msg
	at  time.Time
}

func newPuller(nc *nats.Conn, stream, consumer string, max int, staleAfter time.Duration) *puller {
	return &puller{
		nc:         nc,
		reqSubj:    wire.ConsumerNextSubject(stream, consumer),
		max:        max,
		staleAfter: staleAfter,
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
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
	// What we ask for bounds what comes; let the subscription queue it.
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

// nak gives m back at once, without waiting to hear that it was (close).
func (p *puller) nak(m *nats.Msg) {
	if m.Reply != "" {
		_ = p.nc.Publish(m.Reply, ackNak)
	}
}

// giveBack gives m back at once; the next request waits until the broker
// confirms it (see settling).
func (p *puller) giveBack(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	p.mu.Lock()
	if p.confirm == nil {
		sub, err := p.nc.Subscribe(p.nc.NewInbox(), func(*nats.Msg) { p.settled(1) })
		if err != nil {
			p.mu.Unlock()
			p.nak(m)
			return
		}
		p.confirm = sub
	}
	inbox := p.confirm.Subject
	p.settlingLocked(1)
	p.mu.Unlock()
	if err := p.nc.PublishRequest(m.Reply, inbox, ackNak); err != nil {
		p.settled(1)
	}
}

// settlingLocked counts n more give-backs to wait for.
func (p *puller) settlingLocked(n int) {
	if p.settling == 0 {
		p.settleBy = time.Now().Add(settleWait)
	}
	p.settling += n
}

// settled counts n give-backs done, and wakes a call waiting for them.
func (p *puller) settled(n int) {
	p.mu.Lock()
	p.settling = max(p.settling-n, 0)
	zero := p.settling == 0
	p.mu.Unlock()
	if zero {
		p.signal()
	}
}

// retire cancels the request in flight on sub: the broker drops a pull
// request whose inbox has no interest. The drain hands what the request
// delivered before that to onMsg, which gives it back; until it is done,
// requests wait.
func (p *puller) retire(sub *nats.Subscription) {
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err != nil {
		_ = sub.Unsubscribe()
		p.settled(1)
		return
	}
	go func() {
		t := time.NewTimer(settleWait)
		defer t.Stop()
		select {
		case <-closed:
		case <-t.C:
		}
		p.settled(1)
	}()
}

func (p *puller) onMsg(m *nats.Msg) {
	status := len(m.Data) == 0 && m.Header != nil && m.Header.Get("Status") != ""
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		if !status {
			p.nak(m)
		}
		return
	}
	if m.Sub != p.sub {
		// A request cancelled before the broker saw it: what it still
		// delivers is not ours to keep.
		p.mu.Unlock()
		if !status {
			p.giveBack(m)
		}
		return
	}
	if status {
		p.mu.Unlock()
		p.onStatus(m.Header.Get("Status"), m.Header.Get("Description"))
		return
	}
	if p.outstanding > 0 {
		p.outstanding--
	}
	if p.inside == 0 {
		// Nobody here is receiving (a request we lost count of): give it
		// back at once rather than hold it.
		p.mu.Unlock()
		p.giveBack(m)
		return
	}
	p.buf = append(p.buf, pulled{msg: m, at: time.Now()})
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

// enter counts a call in; every enter is followed by one leave.
func (p *puller) enter() {
	p.mu.Lock()
	p.inside++
	p.mu.Unlock()
}

// leave counts a call out. The last one out gives back what is buffered
// and cancels the request in flight: an idle handle holds nothing.
func (p *puller) leave() {
	p.mu.Lock()
	p.inside--
	if p.inside > 0 || p.closed {
		p.mu.Unlock()
		return
	}
	rest := p.takeAllLocked()
	var old *nats.Subscription
	if p.outstanding > 0 {
		old, p.sub, p.outstanding = p.sub, nil, 0
		p.settlingLocked(1)
	}
	p.mu.Unlock()
	// Cancel before giving back, so the broker drops the request rather
	// than hand it what we give back.
	if old != nil {
		p.retire(old)
	}
	for _, m := range rest {
		p.giveBack(m)
	}
}

// takeAllLocked empties the buffer and returns what was in it.
func (p *puller) takeAllLocked() []*nats.Msg {
	var rest []*nats.Msg
	for _, it := range p.buf[p.head:] {
		rest = append(rest, it.msg)
	}
	clear(p.buf)
	p.buf, p.head = p.buf[:0], 0
	return rest
}

// What requestLocked did.
type reqState int

const (
	reqSent     reqState = iota
	reqInFlight          // one is in flight already, or nothing is wanted
	reqLater             // give-backs are unconfirmed, or sending failed: retry
)

// retrySend is how soon a request that could not be sent is tried again.
const retrySend = 10 * time.Millisecond

// requestLocked sends a pull request for what the calls inside wait for,
// unless one is in flight, enough is buffered, or give-backs are not yet
// confirmed. A request expires at deadline (if not zero) or after
// pullExpires; noWait asks the broker to answer at once, with a message or
// with none.
func (p *puller) requestLocked(now, deadline time.Time, noWait bool) reqState {
	if p.outstanding > 0 && now.After(p.lostAt) {
		p.outstanding = 0
	}
	if p.settling > 0 && now.After(p.settleBy) {
		p.settling = 0 // a confirmation was lost: go on
	}
	want := min(p.inside, p.max) - (len(p.buf) - p.head)
	switch {
	case p.outstanding > 0 || want <= 0 || p.err != nil:
		return reqInFlight
	case p.settling > 0:
		return reqLater
	}
	if err := p.subscribeLocked(); err != nil {
		p.lostAt = now.Add(retrySend)
		return reqLater
	}
	expires := pullExpires
	if !deadline.IsZero() {
		expires = max(min(expires, deadline.Sub(now)), minPullExpires)
	}
	req := make([]byte, 0, 64)
	req = append(req, `{"batch":`...)
	req = strconv.AppendInt(req, int64(want), 10)
	if noWait {
		req = append(req, `,"no_wait":true`...)
	} else {
		req = append(req, `,"expires":`...)
		req = strconv.AppendInt(req, int64(expires), 10)
	}
	req = append(req, '}')
	if err := p.nc.PublishRequest(p.reqSubj, p.sub.Subject, req); err != nil {
		p.lostAt = now.Add(retrySend)
		return reqLater
	}
	p.outstanding = want
	p.reqs++
	p.lostAt = now.Add(expires + pullLostAfter)
	return reqSent
}

// checkAtLocked is when a waiting call looks again without being woken:
// when the request in flight counts as lost, or the wait for give-backs
// ends.
func (p *puller) checkAtLocked() time.Time {
	if p.settling > 0 && (p.outstanding == 0 || p.settleBy.Before(p.lostAt)) {
		return p.settleBy
	}
	return p.lostAt
}

// answeredLocked reports whether request number n (a no-wait one) is over:
// it delivered, said it had nothing, or a later request replaced it.
func (p *puller) answeredLocked(n uint64) bool {
	return p.reqs != n || p.outstanding == 0
}

// popLocked returns the oldest fresh buffered message, dropping stale ones.
func (p *puller) popLocked(now time.Time) (*nats.Msg, time.Time) {
	for p.head < len(p.buf) {
		it := p.buf[p.head]
		p.buf[p.head] = pulled{}
		p.head++
		if p.head == len(p.buf) {
			p.buf, p.head = p.buf[:0], 0
		}
		if p.staleAfter > 0 && now.Sub(it.at) > p.staleAfter {
			continue // not ours any more: the broker redelivers it
		}
		return it.msg, it.at
	}
	return nil, time.Time{}
}

// next returns the next message and when it arrived, waiting until one
// comes or ctx ends. With wait false it asks the broker once for a message
// it holds now and returns a nil message if there is none (or if another
// call of this handle is already waiting for the next one).
func (p *puller) next(ctx context.Context, wait bool) (*nats.Msg, time.Time, error) {
	p.enter()
	defer p.leave()
	deadline, _ := ctx.Deadline()
	wctx := ctx
	if !wait {
		// Bounds the wait for an answer that was lost.
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, pullLostAfter)
		defer cancel()
	}
	var mine uint64 // the no-wait request this call sent
	for {
		now := time.Now()
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, time.Time{}, ErrClosed
		}
		m, at := p.popLocked(now)
		empty := false
		if m == nil && p.err == nil {
			if wait {
				p.requestLocked(now, deadline, false)
			} else if mine == 0 {
				switch p.requestLocked(now, time.Time{}, true) {
				case reqSent:
					mine = p.reqs
				case reqInFlight:
					empty = true // another call waits for the next one
				}
			} else {
				empty = p.answeredLocked(mine)
			}
		}
		more := p.head < len(p.buf)
		err := p.err
		checkAt := p.checkAtLocked()
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
		if empty {
			return nil, time.Time{}, nil
		}
		if err := p.wait(wctx, checkAt.Sub(now)); err != nil {
			if ctx.Err() == nil {
				return nil, time.Time{}, nil // no answer in time: none
			}
			return nil, time.Time{}, err
		}
	}
}

// poll waits up to timeout for a message to be there, and reports whether
// one is. It does not remove it; if no other call is inside, leaving gives
// it back, and the Recv that follows fetches it again. A timeout <= 0 asks
// the broker once without waiting for a new message.
func (p *puller) poll(timeout time.Duration) bool {
	p.enter()
	defer p.leave()
	noWait := timeout <= 0
	if noWait {
		timeout = pullLostAfter // bounds a lost answer
	}
	deadline := time.Now().Add(timeout)
	var mine uint64
	for {
		now := time.Now()
		p.mu.Lock()
		// Drop stale messages at the head so they are not reported.
		for p.head < len(p.buf) && p.staleAfter > 0 && now.Sub(p.buf[p.head].at) > p.staleAfter {
			p.popLocked(now)
		}
		ready := p.closed || p.err != nil || p.head < len(p.buf)
		empty := false
		if !ready {
			switch {
			case !noWait:
				p.requestLocked(now, deadline, false)
			case mine == 0:
				switch p.requestLocked(now, time.Time{}, true) {
				case reqSent:
					mine = p.reqs
				case reqInFlight:
					empty = true // another call waits for the next one
				}
			default:
				empty = p.answeredLocked(mine)
			}
		}
		checkAt := p.checkAtLocked()
		p.mu.Unlock()
		if ready {
			return true
		}
		if empty || !now.Before(deadline) {
			return false
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		_ = p.wait(ctx, min(checkAt.Sub(now), time.Until(deadline)))
		cancel()
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

// close stops fetching and gives back (Nak) what is buffered. Messages
// still in flight are given back by the subscription's drain.
func (p *puller) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	rest := p.takeAllLocked()
	sub, confirm := p.sub, p.confirm
	p.mu.Unlock()
	close(p.done)
	if confirm != nil {
		_ = confirm.Unsubscribe()
	}
	// Unsubscribe first: the broker drops a pull request whose inbox has no
	// interest, so what we give back below is not sent to us again. The
	// drain hands messages already on their way to onMsg, which gives them
	// back too.
	if sub != nil {
		if err := sub.Drain(); err != nil {
			_ = sub.Unsubscribe()
		}
	}
	for _, m := range rest {
		p.nak(m)
	}
}
