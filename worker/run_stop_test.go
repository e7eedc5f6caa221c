package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// Run with no processes serves in this process; a stop lets the task in
// hand run on (its context is not cancelled by the stop), so Run bounds
// the wait by StopTimeout and then returns an error saying so.
func TestRunInProcessStopIsBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conns := brokerConns(t, 2)
	caller, wc := conns[0], conns[1]
	subj := wire.Subjects{Pool: "sb"}
	js, err := jetstream.New(caller)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.EnsureStream(ctx, js, subj, wire.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	reg := NewRegistry()
	RegisterIn(reg, "t.block", func(ctx context.Context, s string) (string, error) {
		close(started)
		<-release // ignores ctx: a task that will not stop
		return s, nil
	})
	body := wire.TaskMsgHeader(nil, 1, 1)
	body = wire.AppendTask(body, &wire.Task{Seq: 1, Items: [][]byte{[]byte(`"x"`)}})
	m := nats.NewMsg(subj.Task("t.block"))
	m.Data = body
	m.Header.Set(wire.HdrReply, caller.NewInbox())
	m.Header.Set(wire.HdrMaxAttempts, "3")
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() {
		ran <- Run(runCtx, Config{Conn: wc, Pool: "sb", ID: "w.sb", Registry: reg, StopTimeout: 500 * time.Millisecond}, 0)
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the task never started")
	}
	stopped := time.Now()
	stop()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "StopTimeout") {
			t.Fatalf("Run = %v, want the stop timeout's error", err)
		}
		if d := time.Since(stopped); d > 10*time.Second {
			t.Fatalf("Run returned %s after the stop, want about 500ms", d)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return: the stop is not bounded")
	}
	if err := Run(ctx, Config{Conn: wc, StopTimeout: -time.Second}, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("negative StopTimeout: %v, want ErrInvalidConfig", err)
	}
}
