package worker

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/wire"
)

// Results travel on core NATS to the caller's inbox, which is at most
// once: a result published while the caller is disconnected, or written
// into a TCP connection that is dying, is gone. If the worker then acked
// the task message, the task would be lost and its caller would wait
// forever. So every result message asks for a receipt (its reply subject),
// the caller sends one for every result message it gets, and the worker
// settles (acks) a task message only once every result message of it has
// been receipted. Until then it resends the unreceipted ones every
// resendEvery (the caller drops the copies it already has: the first
// result per task wins) and keeps the task message from being redelivered
// with progress. After giveUpAfter without a receipt the caller is taken
// to be gone: the worker stops resending and settles anyway. A worker that
// stops with results still unreceipted NAKs their task messages, so that
// another worker runs them again. See docs/reliability.md, row 12.

// giveUpAfter bounds how long a worker tries to hand a result to a caller
// that does not answer.
const giveUpAfter = time.Minute

// confirmer tracks the result messages that await the caller's receipt,
// and the task messages waiting on them.
type confirmer struct {
	rt     *executor
	prefix string // receipt subjects are prefix.<n>
	sub    *nats.Subscription
	resend time.Duration

	mu   sync.Mutex
	n    uint64
	sent map[string]*sentResult // by token
	jobs map[*job]*settling
}

type sentResult struct {
	j           *job
	reply, subj string
	buf         []byte // what body is part of: recycled after the receipt
	body        []byte
	first, last time.Time
}

// settling is a task message whose results are not all receipted yet.
type settling struct {
	n    int    // result messages without a receipt
	verb string // what to answer JetStream once n is 0; "" while running
}

func newConfirmer(rt *executor) (*confirmer, error) {
	c := &confirmer{
		rt: rt, prefix: rt.nc.NewInbox(),
		resend: max(rt.cfg.AckWait/2, 2*time.Second),
		sent:   map[string]*sentResult{},
		jobs:   map[*job]*settling{},
	}
	sub, err := rt.nc.Subscribe(c.prefix+".*", c.receipt)
	if err != nil {
		return nil, err
	}
	c.sub = sub
	return c, nil
}

// publish sends a result message of j that asks for a receipt; body is
// part of buf, which is the confirmer's from now on; itemNanos is the mean
// execution time per item of its tasks ("" if none ran).
func (c *confirmer) publish(j *job, buf, body []byte, itemNanos string) error {
	now := time.Now()
	c.mu.Lock()
	c.n++
	tok := strconv.FormatUint(c.n, 10)
	r := &sentResult{j: j, reply: c.prefix + "." + tok, subj: j.reply, buf: buf, body: body, first: now, last: now}
	c.sent[tok] = r
	s := c.jobs[j]
	if s == nil {
		s = &settling{}
		c.jobs[j] = s
	}
	s.n++
	c.mu.Unlock()
	m := &nats.Msg{Subject: r.subj, Reply: r.reply, Data: body, Header: tokenHeader(j)}
	if itemNanos != "" {
		m.Header[wire.HdrItemNanos] = []string{itemNanos}
	}
	// PublishMsg copies body into the connection's buffer before it
	// returns, and no receipt can come before the message is out: buf is
	// not recycled while this uses it.
	return c.rt.nc.PublishMsg(m)
}

// tokenHeader is a result message's header: the task message's token,
// which the caller requires before it takes a result.
func tokenHeader(j *job) nats.Header {
	h := nats.Header{}
	if j.token != "" {
		h[wire.HdrToken] = []string{j.token}
	}
	return h
}

// receipt handles a caller's receipt of one result message.
func (c *confirmer) receipt(m *nats.Msg) {
	if m.Header.Get("Status") != "" {
		// "503 no responders": the caller has no subscription right now
		// (disconnected, or gone). Not a receipt: the sweep resends.
		return
	}
	tok := m.Subject[min(len(c.prefix)+1, len(m.Subject)):]
	c.mu.Lock()
	r := c.sent[tok]
	if r == nil {
		c.mu.Unlock()
		return
	}
	delete(c.sent, tok)
	verb := c.done(r.j)
	c.mu.Unlock()
	c.rt.out.put(r.buf)
	if verb != "" {
		_ = c.rt.nc.Publish(r.j.msg.Reply, []byte(verb))
	}
}

// done counts one result message of j as settled and returns the verb to
// send if that was the last one. c.mu is held.
func (c *confirmer) done(j *job) string {
	s := c.jobs[j]
	if s == nil {
		return ""
	}
	s.n--
	if s.n > 0 || s.verb == "" {
		return ""
	}
	delete(c.jobs, j)
	return s.verb
}

// settle answers JetStream for j's message with verb (wire.AckOK, wire.AckTerm) as
// soon as every result message of j has been receipted: now, usually.
func (c *confirmer) settle(j *job, verb string) {
	c.mu.Lock()
	s := c.jobs[j]
	if s != nil && s.n > 0 {
		s.verb = verb
		c.mu.Unlock()
		return
	}
	delete(c.jobs, j)
	c.mu.Unlock()
	_ = c.rt.nc.Publish(j.msg.Reply, []byte(verb))
}

// sweep resends the result messages that have waited resend without a
// receipt, gives up on those past giveUpAfter, and sends progress for the
// task messages still waiting, so JetStream does not redeliver them.
// beatLoop calls it every tick.
func (c *confirmer) sweep() {
	now := time.Now()
	var resend []*nats.Msg
	var answer []*nats.Msg // verbs of task messages given up on
	progress := map[*job]bool{}
	c.mu.Lock()
	for tok, r := range c.sent {
		if now.Sub(r.first) >= giveUpAfter {
			delete(c.sent, tok)
			c.rt.log.Warn("caller did not receipt results; dropping them", "to", r.subj, "task", r.j.name, "after", giveUpAfter)
			if verb := c.done(r.j); verb != "" {
				answer = append(answer, &nats.Msg{Subject: r.j.msg.Reply, Data: []byte(verb)})
			}
			continue
		}
		if now.Sub(r.last) >= c.resend {
			r.last = now
			// A copy: the receipt may come (and body be recycled) before
			// this is published.
			// A resend echoes the task message's token like the first send:
			// without it the caller would take the copy for a forgery.
			resend = append(resend, &nats.Msg{Subject: r.subj, Reply: r.reply, Data: bytes.Clone(r.body), Header: tokenHeader(r.j)})
		}
	}
	for j, s := range c.jobs {
		if s.verb != "" && s.n > 0 {
			progress[j] = true
		}
	}
	c.mu.Unlock()
	for _, m := range resend {
		_ = c.rt.nc.PublishMsg(m)
	}
	for j := range progress {
		_ = c.rt.nc.Publish(j.msg.Reply, []byte(wire.AckProgress))
	}
	for _, m := range answer {
		_ = c.rt.nc.PublishMsg(m)
	}
}

// stopReceiptWait bounds close's wait once the worker is asked to stop.
const stopReceiptWait = 2 * time.Second

// close waits up to wait for outstanding receipts (stopReceiptWait once
// ctx ends), then NAKs the task messages still without them so that
// another worker runs them again.
func (c *confirmer) close(ctx context.Context, wait time.Duration) {
	start := time.Now()
	every := max(c.rt.cfg.AckWait/5, 50*time.Millisecond)
	lastSweep := start
	for {
		c.mu.Lock()
		n := len(c.sent)
		c.mu.Unlock()
		waited := time.Since(start)
		if n == 0 || waited >= wait || c.rt.nc.IsClosed() || ctx.Err() != nil && waited >= stopReceiptWait {
			break
		}
		if time.Since(lastSweep) >= every {
			// A long wait must not let JetStream redeliver the task
			// messages meanwhile, and lost results go again.
			c.sweep()
			lastSweep = time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	for j, s := range c.jobs {
		if s.n > 0 {
			_ = c.rt.nc.Publish(j.msg.Reply, []byte(wire.AckNak))
		}
	}
	clear(c.jobs)
	clear(c.sent)
	c.mu.Unlock()
	_ = c.sub.Unsubscribe()
	_ = c.rt.nc.FlushTimeout(time.Second)
}
