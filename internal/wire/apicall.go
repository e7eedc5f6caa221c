package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A JetStream API request (create a stream, look a consumer up, open a
// bucket) sent while a cluster's meta leader dies gets no answer at all:
// the old leader took it down with it, and the others ignore requests
// until one of them is elected. Given the caller's whole context, one
// such request held NewPipe for its full two minutes in a chaos run
// (issue 18). APICall bounds each attempt instead, and asks again.

const (
	// APIAttempt bounds one attempt of an API request. Requests are
	// answered in milliseconds, and in a second or two on a loaded
	// cluster; one that goes unanswered this long was lost.
	APIAttempt = 10 * time.Second
	// APIWindow is how long after its first failure a request is
	// attempted again: long enough for a meta leader election (several
	// seconds) and a node's restart, short enough that a broker really
	// gone fails the call rather than hang it.
	APIWindow = 45 * time.Second
)

// APICall calls call until it is answered: an attempt that is not
// answered within APIAttempt, or whose answer is that the cluster cannot
// serve it yet (JetStream temporarily unavailable, no placement while a
// node restarts, a connection reconnecting), is made again, pacing from
// 100 ms to 1 s, for APIWindow after the first such failure and never past
// ctx. Every other answer, success or error, is returned at once.
//
// js is the handle call uses (nil skips what follows). A request that the
// connection's permissions refuse is never answered either: the server
// says so only asynchronously, as the connection's last error. APICall
// watches for that error while an attempt waits and returns it, wrapped
// around [nats.ErrPermissionViolation], as soon as it comes, instead of
// waiting out the attempt and the window as if the cluster were electing.
//
// call must be safe to repeat: an attempt whose answer was lost may have
// taken effect. Creating a stream, consumer or bucket with the same
// configuration, looking one up, deleting and purging all are.
func APICall(ctx context.Context, js jetstream.JetStream, call func(ctx context.Context) error) error {
	var nc *nats.Conn
	if js != nil {
		nc = js.Conn()
	}
	var first time.Time
	pause := 100 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, APIAttempt)
		refused := watchRefusal(actx, cancel, nc)
		err := call(actx)
		stalled := err != nil && actx.Err() != nil && ctx.Err() == nil
		cancel()
		if r := refused(); r != nil && err != nil {
			return r
		}
		if err == nil || ctx.Err() != nil || !(stalled || APINotReady(err)) {
			return err
		}
		if first.IsZero() {
			first = time.Now()
		} else if time.Since(first) >= APIWindow {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// refusalGrace is how long an attempt waits before it first looks at its
// connection's last error, and refusalPoll how often it looks again.
// Answers come in milliseconds, so the usual call is over before the
// first look, and costs one timer, no goroutine.
const (
	refusalGrace = 200 * time.Millisecond
	refusalPoll  = 100 * time.Millisecond
)

// watchRefusal watches nc, while actx lasts, for a new permissions
// violation on a JetStream API subject, and cancels the attempt when one
// comes. The returned func, called after cancel, reports it (nil if none).
// A violation recorded before the attempt is not this attempt's: only a
// change of the last error counts.
func watchRefusal(actx context.Context, cancel context.CancelFunc, nc *nats.Conn) func() error {
	if nc == nil {
		return func() error { return nil }
	}
	before := nc.LastError()
	var (
		mu      sync.Mutex
		refusal error
		timer   *time.Timer
	)
	look := func() {
		if actx.Err() != nil {
			return
		}
		// jsAPIRefusal first: a refusal is a pointer, so the comparison
		// after it cannot panic on an uncomparable error.
		if err := nc.LastError(); jsAPIRefusal(err) && err != before {
			mu.Lock()
			refusal = fmt.Errorf("JetStream API request refused: %w", err)
			mu.Unlock()
			cancel() // after the refusal is set: a call it ends sees it
			return
		}
		mu.Lock()
		timer.Reset(refusalPoll) // under mu: timer is set after AfterFunc returns
		mu.Unlock()
	}
	mu.Lock()
	timer = time.AfterFunc(refusalGrace, look)
	mu.Unlock()
	return func() error {
		timer.Stop() // a look already running finds actx done and stops
		mu.Lock()
		defer mu.Unlock()
		return refusal
	}
}

// jsAPIRefusal reports whether err is the server refusing a publish to a
// JetStream API subject ("$JS.API.…", or "$JS.<domain>.API.…").
func jsAPIRefusal(err error) bool {
	return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `Publish to "$JS.`)
}

// JetStream error codes that pass once a cluster settles.
const (
	errCodeNoPeers      = 10005 // no suitable peers for placement (a node down)
	errCodeNotAvailable = 10008 // JetStream system temporarily unavailable
)

// APINotReady reports whether err says the request should be made again
// shortly: the cluster or the connection is in the middle of a change.
func APINotReady(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503 || api.ErrorCode == errCodeNoPeers || api.ErrorCode == errCodeNotAvailable
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, jetstream.ErrNoStreamResponse)
}
