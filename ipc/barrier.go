package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxParties bounds a barrier's parties.
const maxParties = 1 << 20

// Barrier makes a fixed number of parties wait for each other, across
// processes and hosts (Python's multiprocessing.Barrier): each calls
// Wait, and all return once the last has come. It then serves the next
// round.
//
// A party that gives up (its ctx ends while it waits) breaks the barrier
// for all: every party waiting in that round, and every later Wait, gets
// [ErrBrokenBarrier] until [Barrier.Reset]. A party that dies while it
// waits breaks nothing: the others wait until their own ctx ends, and
// then break it; give every Wait a deadline.
//
// Its state is the key "barrier.<name>" of the [SyncBucket]: the round,
// how many have come, and whether it is broken, changed by
// compare-and-swap; waiters watch it.
type Barrier struct {
	name    string
	key     string
	parties int
	js      jetstream.JetStream
	kv      jetstream.KeyValue
}

// barrierState is the barrier's key.
type barrierState struct {
	Parties int    `json:"parties"`
	Round   uint64 `json:"round"`
	Count   int    `json:"count"` // parties waiting in Round
	Broken  bool   `json:"broken"`
	// BrokenRound is the latest round broken, so that a waiter that looks
	// after a Reset still learns that its round was broken, not released.
	BrokenRound uint64 `json:"broken_round"`
}

// NewBarrier opens the barrier called name, for parties parties (1 to
// 2^20), creating it if it does not exist; opening it with other parties
// is an [ErrMismatch]. The name may hold only letters, digits, '_' and
// '-'. Options: [WithFileStorage] and [WithReplicas] (see [NewLock]).
func NewBarrier(ctx context.Context, nc *nats.Conn, name string, parties int, opts ...Option) (*Barrier, error) {
	if err := validName("barrier", name); err != nil {
		return nil, err
	}
	if parties < 1 || parties > maxParties {
		return nil, fmt.Errorf("%w: barrier %q: parties %d not in 1..%d", ErrInvalidArgument, name, parties, maxParties)
	}
	_, js, kv, err := openSync(ctx, nc, "barrier", name, opts)
	if err != nil {
		return nil, err
	}
	b := &Barrier{name: name, key: syncKey("barrier", name), parties: parties, js: js, kv: kv}
	data, _ := json.Marshal(barrierState{Parties: parties, Round: 1})
	_, err = kv.Create(ctx, b.key, data)
	if errors.Is(err, jetstream.ErrKeyExists) || casConflict(err) {
		var st barrierState
		if st, _, err = b.state(ctx); err == nil && st.Parties != parties {
			return nil, fmt.Errorf("%w: barrier %q has %d parties, not %d", ErrMismatch, name, st.Parties, parties)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: barrier %q: %w", name, err)
	}
	return b, nil
}

// Name returns the barrier's name, by which other processes open it.
func (b *Barrier) Name() string { return b.name }

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

func (b *Barrier) state(ctx context.Context) (barrierState, uint64, error) {
	e, err := b.kv.Get(ctx, b.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return barrierState{}, 0, fmt.Errorf("ipc: barrier %q was deleted", b.name)
	}
	if err != nil {
		return barrierState{}, 0, err
	}
	var st barrierState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return st, 0, fmt.Errorf("ipc: barrier %q: bad state: %w", b.name, err)
	}
	return st, e.Revision(), nil
}

// change applies fn to the state by compare-and-swap until it wins; fn
// returns false to leave the state as it is.
func (b *Barrier) change(ctx context.Context, fn func(*barrierState) bool) (barrierState, error) {
	for {
		st, rev, err := b.state(ctx)
		if err != nil {
			return st, err
		}
		if !fn(&st) {
			return st, nil
		}
		data, _ := json.Marshal(st)
		_, err = b.kv.Update(ctx, b.key, data, rev)
		if err == nil {
			return st, nil
		}
		if !casConflict(err) {
			return st, err
		}
		if err := ctx.Err(); err != nil {
			return st, err
		}
	}
}

// Wait waits until all parties have called Wait, and returns this party's
// arrival index in the round, 0 to parties-1 (Python's). It returns
// [ErrBrokenBarrier] if the barrier is or gets broken; if ctx ends first
// it breaks the barrier and returns ErrBrokenBarrier wrapping ctx's
// error.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	// Watch from before arriving, so that the release is not missed.
	updates, stop := watchKeys(ctx, b.kv, b.key)
	defer stop()
	var idx int
	var round uint64
	var broken, last bool
	_, err := b.change(ctx, func(st *barrierState) bool {
		if st.Broken {
			broken = true
			return false
		}
		idx, round = st.Count, st.Round
		last = st.Count+1 >= st.Parties
		if last {
			st.Round++
			st.Count = 0
		} else {
			st.Count++
		}
		return true
	})
	switch {
	case err != nil && round != 0 && ctx.Err() != nil:
		return 0, b.giveUp(ctx, round) // it may have arrived: the answer was lost
	case err != nil:
		return 0, fmt.Errorf("ipc: barrier %q: %w", b.name, err)
	case broken:
		return 0, ErrBrokenBarrier
	case last:
		return idx, nil
	}
	poll := time.NewTicker(syncPoll)
	defer poll.Stop()
	for {
		var st barrierState
		select {
		case <-ctx.Done():
			return 0, b.giveUp(ctx, round)
		case e, ok := <-updates:
			if !ok {
				updates = nil
				continue
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut || json.Unmarshal(e.Value(), &st) != nil {
				continue
			}
		case <-poll.C: // should the watch have missed a change
			var err error
			if st, _, err = b.state(ctx); err != nil {
				continue
			}
		}
		if done, err := b.outcome(st, round); done {
			return idx, err
		}
	}
}

// outcome tells a waiter of round what st means for it: done with nil
// (released) or ErrBrokenBarrier, or not done.
func (b *Barrier) outcome(st barrierState, round uint64) (bool, error) {
	switch {
	case st.BrokenRound == round || (st.Round == round && st.Broken):
		return true, ErrBrokenBarrier
	case st.Round != round:
		return true, nil
	}
	return false, nil
}

// giveUp breaks round, unless it was released meanwhile, for a waiter
// whose ctx ended.
func (b *Barrier) giveUp(ctx context.Context, round uint64) error {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	st, err := b.change(cctx, func(st *barrierState) bool {
		if st.Round != round || st.Broken {
			return false
		}
		st.Broken, st.BrokenRound = true, round
		return true
	})
	if err == nil {
		if done, berr := b.outcome(st, round); done && berr == nil {
			return nil // released just in time
		}
	}
	return fmt.Errorf("%w: %w", ErrBrokenBarrier, ctx.Err())
}

// Abort breaks the barrier: the parties waiting, and every later Wait
// until Reset, get [ErrBrokenBarrier].
func (b *Barrier) Abort(ctx context.Context) error {
	_, err := b.change(ctx, func(st *barrierState) bool {
		if st.Broken {
			return false
		}
		st.Broken, st.BrokenRound = true, st.Round
		return true
	})
	if err != nil {
		return fmt.Errorf("ipc: barrier %q: abort: %w", b.name, err)
	}
	return nil
}

// Reset returns the barrier to its empty state, for a new round. Parties
// waiting in the round it ends get [ErrBrokenBarrier].
func (b *Barrier) Reset(ctx context.Context) error {
	_, err := b.change(ctx, func(st *barrierState) bool {
		if st.Count > 0 && !st.Broken {
			st.BrokenRound = st.Round
		}
		st.Round++
		st.Count, st.Broken = 0, false
		return true
	})
	if err != nil {
		return fmt.Errorf("ipc: barrier %q: reset: %w", b.name, err)
	}
	return nil
}

// Delete removes the barrier from the broker; its waiters wait on until
// their ctx ends.
func (b *Barrier) Delete(ctx context.Context) error {
	if err := purgeSync(ctx, b.js, b.key); err != nil {
		return fmt.Errorf("ipc: barrier %q: delete: %w", b.name, err)
	}
	return nil
}
