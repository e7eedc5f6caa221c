package wire

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// APICall asks again only when the answer says "not now"; an answer that
// is final (success, not found, a refusal) comes back from the first
// attempt, and the caller's ctx ends the attempts. (An attempt that gets
// no answer at all is TestIPCSurvivesMetaLeaderStop's, in integration.)
func TestAPICallRetriesOnlyNotReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unavailable := &jetstream.APIError{Code: 503, ErrorCode: errCodeNotAvailable, Description: "JetStream system temporarily unavailable"}

	calls := 0
	err := APICall(ctx, nil, func(context.Context) error {
		if calls++; calls < 3 {
			return unavailable
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("two 503s then success: err %v after %d calls, want nil after 3", err, calls)
	}

	for _, final := range []error{jetstream.ErrStreamNotFound, jetstream.ErrStreamNameAlreadyInUse, errors.New("permissions violation")} {
		calls = 0
		err = APICall(ctx, nil, func(context.Context) error { calls++; return final })
		if !errors.Is(err, final) || calls != 1 {
			t.Errorf("final answer %v: got %v after %d calls, want it after 1", final, err, calls)
		}
	}

	short, stop := context.WithTimeout(ctx, 700*time.Millisecond)
	defer stop()
	calls = 0
	start := time.Now()
	err = APICall(short, nil, func(context.Context) error { calls++; return unavailable })
	if !errors.Is(err, unavailable) || time.Since(start) > 5*time.Second || calls < 2 {
		t.Fatalf("503 until ctx ends: %v after %d calls and %s, want the 503 soon after the ctx's 700ms", err, calls, time.Since(start))
	}
}
