package pool

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

// MapOption configures Map, IMap and IMapUnordered.
type MapOption func(*mapOptions) error

type mapOptions struct {
	chunksize   int            // 0: choose
	window      int            // chunks in flight at once
	windowBytes int64          // bytes of chunks in flight at once
	progress    func(Progress) // WithProgress; nil: none
}

// WithChunksize sets how many items travel and run as one task. Default:
// for Map, Python's len/(4*workers) rounded up, and no more than 256 KiB
// of encoded items per chunk (a chunk is cut there, so that a million
// short strings travel in many small messages rather than a few huge
// ones); for IMap and IMapUnordered, whose input length is unknown, 1.
// Small tasks are packed several to a message anyway, so 1 is cheap. An
// explicit chunksize is kept as given: a chunk too large for a message is
// stored beside the broker (docs/protocol.md, Values of any size).
func WithChunksize(n int) MapOption {
	return func(o *mapOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithChunksize(%d): want at least 1", ErrInvalidOption, n)
		}
		o.chunksize = n
		return nil
	}
}

// WithWindow bounds how many chunks of one call are queued or running at
// once; the input is read no further ahead than that. Default 4096.
func WithWindow(n int) MapOption {
	return func(o *mapOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithWindow(%d): want at least 1", ErrInvalidOption, n)
		}
		o.window = n
		return nil
	}
}

// WithWindowBytes bounds the encoded bytes of one call's chunks queued,
// running or returned and not yet consumed; the input is read no further
// ahead than that, so a stream of large items keeps memory bounded. A
// single chunk larger than n still goes, alone. Default 64 MiB.
func WithWindowBytes(n int64) MapOption {
	return func(o *mapOptions) error {
		if n < 1 {
			return fmt.Errorf("%w: WithWindowBytes(%d): want at least 1", ErrInvalidOption, n)
		}
		o.windowBytes = n
		return nil
	}
}

// defaultWindowBytes is WithWindowBytes' default.
const defaultWindowBytes = 64 << 20

func buildMapOptions(opts []MapOption) (mapOptions, error) {
	o := mapOptions{window: 4096, windowBytes: defaultWindowBytes}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil MapOption", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// chunkOutcome is what came back for one chunk.
type chunkOutcome struct {
	index int  // chunk number
	first int  // index of its first item in the input
	n     int  // its number of items
	bytes int  // its encoded size, held in the byte window until consumed
	owned bool // items were fetched from the store: this process's alone
	items iter.Seq[[]byte]
	err   error
}

// mapCall is one Map/IMap call's share of the dispatcher: its chunks in
// flight, bounded by a window, and their outcomes in arrival order.
type mapCall struct {
	p     *Pool
	name  string
	call  uint64
	slots chan struct{}
	bytes *byteWindow
	pack  int // submission.pack of its chunks

	mu       sync.Mutex
	seqs     map[uint64]struct{}
	outcomes []chunkOutcome
	notify   chan struct{} // gets a token when outcomes grows
}

func newMapCall(p *Pool, name string, o mapOptions) *mapCall {
	return &mapCall{
		p: p, name: name, call: p.d.newCall(),
		slots:  make(chan struct{}, o.window),
		bytes:  newByteWindow(o.windowBytes),
		seqs:   map[uint64]struct{}{},
		notify: make(chan struct{}, 1),
	}
}

// submit queues one chunk, waiting for room in the window (chunks and
// bytes) while ctx lives. A chunk too large for a message is stored and
// travels as a reference.
func (m *mapCall) submit(ctx context.Context, index, first int, c encodedChunk) error {
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	parts := c.parts
	if parts == nil {
		parts = [][]byte{c.buf}
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if err := m.bytes.acquire(ctx, int64(size)); err != nil {
		<-m.slots
		return err
	}
	unwind := func() {
		m.bytes.release(int64(size))
		<-m.slots
	}
	ref, err := m.p.d.storeTask(ctx, m.name, parts...) // values.go
	if err != nil {
		unwind()
		return err
	}
	if ref == nil && c.parts != nil { // small enough after all: inline
		c.buf = slices.Concat(c.parts...)
	}
	var seq uint64
	seq, err = m.p.d.add(m.call, m.name, ref, func(r *wire.Result, src *source) {
		out := chunkOutcome{index: index, first: first, n: c.n, bytes: size, items: r.All(), owned: r.Owned}
		if r.Err != nil {
			out.err = resultError(m.name, r, src, first)
		} else if r.Len() != c.n {
			out.err = fmt.Errorf("pool: task %s: %d results for %d items", m.name, r.Len(), c.n)
		}
		m.mu.Lock()
		delete(m.seqs, seq)
		m.outcomes = append(m.outcomes, out)
		m.mu.Unlock()
		select {
		case m.notify <- struct{}{}:
		default:
		}
	})
	if err != nil {
		unwind()
		return err
	}
	m.mu.Lock()
	m.seqs[seq] = struct{}{}
	m.mu.Unlock()
	sub := submission{name: m.name, call: m.call, size: 16 + size, items: c.n,
		task: wire.Task{Seq: seq, Encoded: c.buf, NItems: c.n}, frame: c.frame, pack: m.pack}
	if ref != nil {
		sub.size, sub.task, sub.frame = 64, wire.Task{Seq: seq, NItems: c.n, Ref: ref}, nil
	}
	err = m.p.d.enqueue(ctx, sub)
	if err != nil {
		m.p.d.forget(seq)
		m.mu.Lock()
		delete(m.seqs, seq)
		m.mu.Unlock()
		unwind()
	}
	return err
}

// wake makes wait return, so the caller looks at what changed.
func (m *mapCall) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// take removes and returns the outcomes that have arrived.
func (m *mapCall) take() []chunkOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.outcomes
	m.outcomes = nil
	return out
}

// release frees an outcome's room in the window once it is consumed.
func (m *mapCall) release(oc *chunkOutcome) {
	m.bytes.release(int64(oc.bytes))
	<-m.slots
}

// abandon forgets the call's outstanding chunks and tells workers to skip
// the ones still queued.
func (m *mapCall) abandon() {
	m.mu.Lock()
	seqs := make([]uint64, 0, len(m.seqs))
	for s := range m.seqs {
		seqs = append(seqs, s)
	}
	m.seqs = map[uint64]struct{}{}
	m.mu.Unlock()
	if len(seqs) > 0 {
		m.p.d.cancelCall(m.call, seqs)
	}
}

// wait blocks until an outcome arrives, ctx ends or the pool closes.
func (m *mapCall) wait(ctx context.Context) error {
	select {
	case <-m.notify:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// encodedChunk is one task's items in wire form (wire.Task.Encoded).
type encodedChunk struct {
	buf []byte // the items
	// parts, when buf is nil, hold the items as pieces to be stored
	// together: a length prefix and one large item's encoding.
	parts [][]byte
	n     int
	// frame is buf with wire.MaxOneTaskPrefix bytes of room in front, so
	// that a chunk sent as a message of its own is framed in place, not
	// copied into a second buffer (dispatcher.publish).
	frame []byte
}

// decodeInto decodes a chunk's result items into dst. With owned (a
// stored result this process fetched), a lone item keeps the fetched
// memory instead of a copy; a chunk's several items are copied, so that
// keeping one does not keep the others' memory alive.
func decodeInto[R any](dst []R, items iter.Seq[[]byte], name string, first int, owned bool) error {
	decode := wire.Decode[R]
	if owned && len(dst) == 1 {
		decode = wire.DecodeOwned[R]
	} else if strs, ok := any(dst).([]string); ok && wire.DecodeStrings(strs, items) {
		return nil // the common case of string results, in one allocation
	}
	k := 0
	for b := range items {
		v, err := decode(b)
		if err != nil {
			return &TaskError{Task: name, Code: wire.CodeBadOutput, Message: err.Error(), Index: first + k}
		}
		dst[k] = v
		k++
	}
	return nil
}

// defaultChunksize is Python's: len/(4*workers), rounded up.
func defaultChunksize(n, workers int) int {
	if n == 0 {
		return 1
	}
	cs, extra := n/(4*workers), n%(4*workers)
	if extra > 0 {
		cs++
	}
	return max(cs, 1)
}

// feed is the feeder of Map, IMap and IMapUnordered: it cuts items into
// chunks (ch) and submits them to m in input order, waiting for room in
// the call's window, until the input ends, a chunk cannot be encoded or
// submitted, or ctx ends. It returns how many chunks and items it
// submitted.
func feed[A any](ctx context.Context, m *mapCall, ch *chunker[A], items iter.Seq[A]) (chunks, submitted int, err error) {
	submit := func(c encodedChunk, first int) error {
		if err := m.submit(ctx, chunks, first, c); err != nil {
			return err
		}
		chunks++
		return nil
	}
	for it := range items {
		if err = ch.push(it, submit); err != nil {
			break
		}
	}
	if err == nil {
		err = ch.flush(submit)
	}
	return chunks, ch.first, err
}

// Map runs t on every item, on the pool's workers, and returns the results
// in input order (Python's map). It returns at the first failure, with the
// failing item's index in the *TaskError, and drops the rest of the call.
func Map[A, R any](ctx context.Context, p *Pool, t worker.Task[A, R], items []A, opts ...MapOption) ([]R, error) {
	if err := check(ctx, p, t.Name()); err != nil {
		return nil, err
	}
	o, err := buildMapOptions(opts)
	if err != nil {
		return nil, err
	}
	workers := p.numWorkers()
	ch := &chunker[A]{name: t.Name(), size: o.chunksize, hint: len(items)}
	if o.chunksize == 0 {
		ch.size = defaultChunksize(len(items), workers)
		ch.maxBytes = p.d.inline // values.go
	}
	out := make([]R, len(items))
	prog := p.trackProgress(newProgress(o.progress, len(items)), t.Name(), "map", len(items)) // progress.go
	defer prog.end()
	if len(items) == 0 {
		prog.report()
		return out, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	m := newMapCall(p, t.Name(), o)
	nchunks := (len(items) + ch.size - 1) / ch.size // at least: the byte budget may cut more
	// However short the caller thinks these tasks are, no message packs
	// more than a worker's share of them: when the estimate is wrong (it
	// came from other inputs), every worker has started on the call at
	// once, instead of one running while the rest wait for its give-back.
	m.pack = (nchunks + workers - 1) / workers
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the feeder stops on cancel
	feedErr := make(chan error, 1)
	var total atomic.Int64 // chunks submitted, once the feeder is done; -1 before
	total.Store(-1)
	wg.Go(func() {
		n, _, err := feed(ctx, m, ch, slices.Values(items))
		if err != nil {
			feedErr <- err
			m.wake() // the loop may be waiting for an outcome that will never come
			return
		}
		total.Store(int64(n))
		m.wake()
	})
	for done := 0; ; {
		for _, oc := range m.take() {
			m.release(&oc)
			done++
			if oc.err == nil {
				oc.err = decodeInto(out[oc.first:oc.first+oc.n], oc.items, t.Name(), oc.first, oc.owned)
			}
			prog.add(oc.n, oc.err != nil)
			if oc.err != nil {
				prog.report()
				cancel()
				m.abandon()
				return nil, oc.err
			}
		}
		prog.report()
		if int64(done) == total.Load() {
			break
		}
		select {
		case err := <-feedErr:
			cancel()
			m.abandon()
			return nil, err
		default:
		}
		if err := m.wait(ctx); err != nil {
			m.abandon()
			if p.closed.Load() {
				return nil, ErrClosed
			}
			return nil, p.waitErr(err)
		}
	}
	return out, nil
}
