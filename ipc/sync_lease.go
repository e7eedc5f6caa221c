package ipc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// lease is one holding of a key (a Lock, a Semaphore slot): the key
// exists with this holding's token as value and a per-message TTL of d,
// which a goroutine renews every d/3 by a compare-and-swap on the key's
// revision. A holder that stops renewing (SIGKILL, a frozen or cut-off
// host) loses the key when the broker expires it, at most d after its
// last renewal; the broker's clock alone decides, so hosts' clocks need
// not agree.
type lease struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	key   string
	d     time.Duration
	token []byte

	mu   sync.Mutex
	rev  uint64
	lost bool

	stop chan struct{}
	done chan struct{}
}

// tryLease creates key for a new holder, or returns ErrLocked if it
// exists (someone holds it).
func tryLease(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, key string, d time.Duration) (*lease, error) {
	token := []byte(rand.Text())
	rev, err := kv.Create(ctx, key, token, jetstream.KeyTTL(d))
	if errors.Is(err, jetstream.ErrKeyExists) || casConflict(err) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, err
	}
	l := &lease{js: js, kv: kv, key: key, d: d, token: token, rev: rev,
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.renew()
	return l, nil
}

// renew keeps the lease alive until stop, or until it is lost.
func (l *lease) renew() {
	defer close(l.done)
	t := time.NewTicker(l.d / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), l.d/3)
		ack, err := l.js.PublishMsg(ctx, &nats.Msg{Subject: syncSubject(l.key), Data: l.token},
			jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(l.d))
		switch {
		case err == nil:
			l.setRev(ack.Sequence)
		case errors.Is(err, nats.ErrConnectionClosed):
			// No renewal will ever go out: the lease runs out.
			l.mu.Lock()
			l.lost = true
			l.mu.Unlock()
			cancel()
			return
		case casConflict(err):
			// Ours still, if a renewal whose answer was lost went through.
			if rev, ok, err := l.mine(ctx); ok {
				l.setRev(rev)
			} else if err == nil {
				l.mu.Lock()
				l.lost = true
				l.mu.Unlock()
				cancel()
				return
			}
		}
		// Other errors (a timeout, a reconnect): try again next tick; the
		// broker decides whether the lease outlived the outage.
		cancel()
	}
}

func (l *lease) setRev(rev uint64) {
	l.mu.Lock()
	l.rev = rev
	l.mu.Unlock()
}

// mine returns the key's revision and true if the key still holds this
// lease's token, false if it does not (it expired, another holds it),
// and an error if it could not tell.
func (l *lease) mine(ctx context.Context) (uint64, bool, error) {
	e, err := l.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if bytes.Equal(e.Value(), l.token) {
		return e.Revision(), true, nil
	}
	return 0, false, nil
}

// held reports whether the lease has not been found lost.
func (l *lease) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.lost
}

// release stops renewing and deletes the key if it is still this
// lease's: ErrNotHeld if it ran out. Whatever it returns, the holding is
// over: a key it could not delete (the broker unreachable) expires.
func (l *lease) release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	lost, rev := l.lost, l.rev
	l.mu.Unlock()
	if lost {
		return ErrNotHeld
	}
	for range 2 {
		err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev))
		if !casConflict(err) {
			return err
		}
		// Ours still, if a renewal whose answer was lost went through.
		r, ok, err := l.mine(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotHeld
		}
		rev = r
	}
	return ErrNotHeld
}
