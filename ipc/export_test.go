package ipc

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// What the black-box tests of package ipc_test reach inside.

var (
	StoredMsg    = storedMsg
	PackItems    = packItems
	Unpack       = unpack
	OpenMsg      = openMsg
	KeepReserved = keepReserved
	ErrBadPack   = errBadPack
	AckProgress  = ackProgress
)

const (
	PackHeader        = packHeader
	QueueStreamPrefix = queueStreamPrefix
	PipeStreamPrefix  = pipeStreamPrefix
)

// Buffered is how many messages the handle has fetched and not handed out.
func (q *Queue[T]) Buffered() int {
	p := q.pull
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf) - p.head
}

// PublishPacked publishes items as one packed message.
func (q *Queue[T]) PublishPacked(ctx context.Context, items [][]byte) error {
	return q.pk.publish(ctx, items)
}

func (q *Queue[T]) JS() jetstream.JetStream { return q.js }
func (q *Queue[T]) StreamName() string      { return q.stream }
func (q *Queue[T]) Subject() string         { return q.subject }
func (p *PipeEnd[T]) StreamName() string    { return p.stream }

// Buffered is how many messages the end has fetched and not handed out.
func (p *PipeEnd[T]) Buffered() int {
	pl := p.pull
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.buf) - pl.head
}

// IdleHandBack is how long a handle holding the rest of a packed message
// stays idle before it hands the message back.
const IdleHandBack = idleHandBack

// Held is how many items of an opened packed message the handle holds:
// more than 0 after a Get says the message was packed.
func (q *Queue[T]) Held() int { return int(q.cur.left.Load()) }

// Held is how many values of an opened packed message the end holds.
func (p *PipeEnd[T]) Held() int { return int(p.cur.left.Load()) }

// SendPacked sends items as one packed message.
func (p *PipeEnd[T]) SendPacked(ctx context.Context, items [][]byte) error {
	return p.pk.publish(ctx, items)
}
