package pool

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// receiptDelay is how long a result's receipt may wait to be sent. The
// receipt only lets the worker ack its task message (worker/confirm.go);
// sending it a little later takes it off the critical path between one
// result and the caller's next task, where on a small machine it competes
// for the CPU, and lets receipts that come close together go in one flush.
const receiptDelay = 500 * time.Microsecond

// receiptAtOnce is the mean time per item from which a result's receipt
// goes at once instead: after milliseconds of work results come far
// apart, and a receipt sent later would cost the caller's process a
// wakeup of its own for each (BENCHMARKS.md, finding 19).
const receiptAtOnce = time.Millisecond

// receipter sends result receipts in the background.
type receipter struct {
	nc    *nats.Conn
	delay time.Duration // receiptDelay

	mu      sync.Mutex
	pending []string // reply subjects to answer
	timer   *time.Timer
	closed  bool
}

func newReceipter(nc *nats.Conn) *receipter {
	r := &receipter{nc: nc, delay: receiptDelay}
	r.timer = time.AfterFunc(time.Hour, r.send)
	r.timer.Stop()
	return r
}

// add queues a receipt for the result message whose reply subject is
// reply, or sends it at once.
func (r *receipter) add(reply string, now bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || now {
		_ = r.nc.Publish(reply, nil)
		return
	}
	r.pending = append(r.pending, reply)
	if len(r.pending) == 1 {
		r.timer.Reset(r.delay)
	}
}

// send publishes the queued receipts.
func (r *receipter) send() {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, reply := range pending {
		_ = r.nc.Publish(reply, nil)
	}
}

// close sends what is queued and from then on sends at once.
func (r *receipter) close() {
	r.mu.Lock()
	r.closed = true
	r.timer.Stop()
	r.mu.Unlock()
	r.send()
}
