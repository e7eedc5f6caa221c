package ipc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/internal/wire"
)

// Packing. JetStream costs a few microseconds per message, whatever its
// size; one producer putting small items one by one is limited to ~50k
// items/s by that alone. So a Queue's or a PipeEnd's puts go through a
// packer: one goroutine that takes every item waiting when it is free and
// publishes them as one message. It never waits for more (no linger): a
// lone Put is published at once; items pile up, and share a message, only
// while the previous message is being published. Order is kept: one
// goroutine publishes, in the order Put handed items over.
//
// A message of k > 1 items carries the header Procpool-Pack: k and a body
// of k length-prefixed items (uvarint length, bytes); a message of one
// item is the item itself, as a message published by hand would be. A
// stored item (queue_values.go) travels alone, as its reference under the
// header Procpool-Stored: the items before it go first, those after it
// next, so order is kept.
const (
	packHeader   = "Procpool-Pack"
	maxPackItems = 256
	maxPackBytes = 64 << 10
	packQueueLen = 4096
)

// packItem is an encoded item on its way to the packer, or a flush marker.
type packItem struct {
	data    []byte
	stored  bool          // data is a stored item's reference: it travels alone
	flushed chan struct{} // a marker: closed once everything before it is published
}

// packer publishes items through pub, packing those that wait together.
type packer struct {
	pub     *publisher
	subject func(n int) string // the subject of a message of n items

	in   chan packItem
	stop chan struct{}
	wg   sync.WaitGroup
	err  atomic.Pointer[error] // first failure to publish; reported once

	mu      sync.Mutex // guards started and closed
	started bool       // the loop runs (from the first put on)
	closed  bool
}

func newPacker(pub *publisher, subject func(n int) string) *packer {
	return &packer{pub: pub, subject: subject, in: make(chan packItem, packQueueLen), stop: make(chan struct{})}
}

// put hands data to the packer, waiting for room while ctx lives; stored
// says data is a stored item's reference. An earlier item that could not
// be published is reported here, once, and data is then not queued.
func (k *packer) put(ctx context.Context, data []byte, stored bool) error {
	if err := k.takeErr(); err != nil {
		return err
	}
	if err := k.pub.takeErr(); err != nil {
		return err
	}
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return ErrClosed
	}
	if !k.started {
		k.started = true
		k.wg.Go(k.loop)
	}
	k.mu.Unlock()
	it := packItem{data: data, stored: stored}
	select {
	case k.in <- it:
		return nil
	default:
	}
	select {
	case k.in <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-k.stop:
		return ErrClosed
	}
}

// flush waits until every item put so far is published and acknowledged,
// and reports a failure to store one.
func (k *packer) flush(ctx context.Context) error {
	k.mu.Lock()
	started := k.started && !k.closed
	k.mu.Unlock()
	if started {
		marker := packItem{flushed: make(chan struct{})}
		select {
		case k.in <- marker:
		case <-ctx.Done():
			return ctx.Err()
		case <-k.stop:
		}
		select {
		case <-marker.flushed:
		case <-ctx.Done():
			return ctx.Err()
		case <-k.stop:
		}
	}
	if err := k.takeErr(); err != nil {
		return err
	}
	return k.pub.flush(ctx)
}

// close stops the packer; items not yet published are dropped (flush
// first), stored ones reported to the publisher's onLost.
func (k *packer) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	close(k.stop)
	k.wg.Wait()
	for {
		select {
		case it := <-k.in:
			if it.stored {
				k.pub.lost(storedMsg(k.subject(1), it.data))
			}
		default:
			return
		}
	}
}

func (k *packer) takeErr() error {
	if k.err.Load() == nil {
		return nil
	}
	if e := k.err.Swap(nil); e != nil {
		return fmt.Errorf("an earlier item was not stored: %w", *e)
	}
	return nil
}

func (k *packer) loop() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // stop also ends a publish waiting for the ack window
		select {
		case <-k.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	batch := make([][]byte, 0, maxPackItems)
	size := 0
	send := func() {
		if len(batch) == 0 {
			return
		}
		if err := k.publish(ctx, batch); err != nil {
			k.err.CompareAndSwap(nil, &err)
		}
		clear(batch)
		batch, size = batch[:0], 0
	}
	for {
		var it packItem
		select {
		case it = <-k.in:
		case <-k.stop:
			return
		}
		for {
			switch {
			case it.flushed != nil:
				send()
				close(it.flushed)
			case it.stored:
				send()
				if err := k.pub.publish(ctx, storedMsg(k.subject(1), it.data)); err != nil {
					k.err.CompareAndSwap(nil, &err)
				}
			default:
				if len(batch) == maxPackItems || (len(batch) > 0 && size+len(it.data) > maxPackBytes) {
					send()
				}
				batch = append(batch, it.data)
				size += len(it.data) + binary.MaxVarintLen32
			}
			select {
			case it = <-k.in:
				continue
			default:
			}
			break
		}
		send()
	}
}

func (k *packer) publish(ctx context.Context, items [][]byte) error {
	m := &nats.Msg{Subject: k.subject(len(items))}
	if len(items) == 1 {
		m.Data = items[0]
	} else {
		m.Data = packItems(items)
		m.Header = nats.Header{packHeader: []string{strconv.Itoa(len(items))}}
	}
	return k.pub.publish(ctx, m)
}

// packItems encodes items as one message body.
func packItems(items [][]byte) []byte {
	n := 0
	for _, it := range items {
		n += len(it) + binary.MaxVarintLen32
	}
	body := make([]byte, 0, n)
	for _, it := range items {
		body = binary.AppendUvarint(body, uint64(len(it)))
		body = append(body, it...)
	}
	return body
}

// errBadPack is wrapped by unpack's errors.
var errBadPack = errors.New("malformed packed message")

// unpack returns the items of a message: its body, or the items a packer
// put in it. The items alias m.Data.
func unpack(m *nats.Msg) ([][]byte, error) {
	if m.Header == nil || m.Header.Get(packHeader) == "" {
		return [][]byte{m.Data}, nil
	}
	k, err := strconv.Atoi(m.Header.Get(packHeader))
	if err != nil || k < 1 || k > len(m.Data)+1 {
		return nil, fmt.Errorf("%w: item count %q", errBadPack, m.Header.Get(packHeader))
	}
	items := make([][]byte, 0, k)
	b := m.Data
	for range k {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, fmt.Errorf("%w: item %d of %d cut short", errBadPack, len(items), k)
		}
		items = append(items, b[w:w+int(n):w+int(n)])
		b = b[w+int(n):]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadPack, len(b))
	}
	return items, nil
}

// cursor is the message a reading handle has opened: its items, and how
// many were returned. One reader at a time walks it (sem); left can be
// read without the lock.
//
// A cursor that holds a message between calls hands it back once the
// handle has been idle for idleHandBack (handback.go): a timer, armed when
// a call leaves a message in it, looks every idleHandBack whether a call
// ended or is in progress since its last look, and calls onIdle if none
// did. A reader's hot loop only counts its calls.
type cursor struct {
	sem      chan struct{} // capacity 1: held by the Get/Recv in progress
	msg      *nats.Msg
	items    [][]byte
	ref      *wire.Ref // msg is a stored item: its one item is to be fetched
	next     int
	touched  time.Time // when the broker last heard about msg (delivery or progress)
	recorded bool      // msg has a hand-back record, to delete once it is acked
	left     atomic.Int32
	taken    atomic.Int32 // items returned from msg, not yet acknowledged

	onIdle func()        // hands back msg; c is locked
	idle   *time.Timer   // runs tick while armed; nil if onIdle is
	armed  bool          // guarded by sem, as is shut
	shut   bool          // the handle is closed: the timer stays off
	calls  atomic.Uint64 // calls that ended holding a message (and Lens)
	seen   atomic.Uint64 // calls at the timer's last look
	busy   atomic.Int32  // calls in progress that do not lock c (Len)
}

func newCursor(onIdle func()) *cursor {
	c := &cursor{sem: make(chan struct{}, 1), onIdle: onIdle}
	if onIdle != nil {
		c.idle = time.AfterFunc(time.Hour, c.tick)
		c.idle.Stop()
	}
	return c
}

func (c *cursor) lock(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unlock ends a call; if the call leaves a message in c, the idle timer
// runs.
func (c *cursor) unlock() {
	if c.msg != nil && c.onIdle != nil && !c.shut {
		c.calls.Add(1)
		if !c.armed {
			c.armed = true
			c.seen.Store(c.calls.Load())
			c.idle.Reset(idleHandBack)
		}
	}
	<-c.sem
}

// enterBusy and leaveBusy bracket a call that reads c without locking it
// (Len), so that no hand-back happens during it.
func (c *cursor) enterBusy() { c.busy.Add(1) }
func (c *cursor) leaveBusy() { c.calls.Add(1); c.busy.Add(-1) }

// tick is the idle timer: it hands the message back if no call ended or
// ran since its last look, else looks again later. It takes the lock
// only when the handle looks idle, so as not to get in a busy reader's way.
func (c *cursor) tick() {
	if n := c.calls.Load(); n != c.seen.Load() || c.busy.Load() > 0 {
		c.seen.Store(n)
		c.idle.Reset(idleHandBack)
		return
	}
	select {
	case c.sem <- struct{}{}:
	default: // a call is in progress: it is not idle
		c.idle.Reset(idleHandBack)
		return
	}
	n := c.calls.Load()
	switch {
	case c.msg == nil || c.shut:
		c.armed = false
	case n != c.seen.Load() || c.busy.Load() > 0:
		c.seen.Store(n)
		c.idle.Reset(idleHandBack)
	default:
		c.onIdle()
		c.armed = false
	}
	<-c.sem
}

// close stops the idle timer for good; c is locked.
func (c *cursor) close() {
	c.shut = true
	if c.idle != nil {
		c.idle.Stop()
	}
}

// open makes m, fetched at, the current message, of items or of the
// stored item ref, of which the first skip were returned already (by a
// handle that handed m back); c is locked.
func (c *cursor) open(m *nats.Msg, items [][]byte, ref *wire.Ref, at time.Time, skip int) {
	clear(items[:skip])
	c.msg, c.items, c.ref, c.next, c.touched = m, items, ref, skip, at
	c.recorded = skip > 0
	c.left.Store(int32(len(items) - skip))
	c.taken.Store(int32(skip))
}

// take returns the next item and whether it was the message's last; c is
// locked and holds an item.
func (c *cursor) take() ([]byte, bool) {
	it := c.items[c.next]
	c.items[c.next] = nil
	c.next++
	c.left.Add(-1)
	c.taken.Add(1)
	return it, c.next == len(c.items)
}

// reset forgets the current message; c is locked.
func (c *cursor) reset() {
	c.msg, c.items, c.ref, c.next, c.recorded = nil, nil, nil, 0, false
	c.left.Store(0)
	c.taken.Store(0)
}

// rest returns the items not yet taken; c is locked.
func (c *cursor) rest() [][]byte {
	if c.msg == nil {
		return nil
	}
	return c.items[c.next:]
}
