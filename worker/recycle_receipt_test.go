package worker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// A worker recycled after MaxTasksPerChild waits for a slow caller's
// receipt (here 3s, past the 2s a stopping worker waits) and acks its task
// message, rather than NAK it and have the task run a second time.
func TestRecycledWorkerWaitsForSlowReceipt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conns := brokerConns(t, 2) // helpers_test.go
	caller, wc := conns[0], conns[1]

	subj := wire.Subjects{Pool: "rr"}
	js, err := jetstream.New(caller)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.EnsureStream(ctx, js, subj, wire.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	reg := NewRegistry()
	RegisterIn(reg, "t.count", func(ctx context.Context, s string) (string, error) {
		runs.Add(1)
		return s, nil
	})
	// The caller: receipts each result message only after 3s.
	inbox := caller.NewInbox()
	results := make(chan struct{}, 4)
	sub, err := caller.Subscribe(inbox, func(m *nats.Msg) {
		results <- struct{}{}
		time.AfterFunc(3*time.Second, func() { _ = caller.Publish(m.Reply, nil) })
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	body := wire.TaskMsgHeader(nil, 1, 1)
	body = wire.AppendTask(body, &wire.Task{Seq: 1, Items: [][]byte{[]byte(`"x"`)}})
	m := nats.NewMsg(subj.Task("t.count"))
	m.Data = body
	m.Header.Set(wire.HdrReply, inbox)
	m.Header.Set(wire.HdrMaxAttempts, "3")
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	// AckWait 20s: the worker resends an unreceipted result every 10s, so
	// the one result message this test counts is not raced by a resend
	// landing just before the 3s receipt.
	err = Serve(ctx, Config{Conn: wc, Pool: "rr", ID: "w.r", Registry: reg, MaxTasksPerChild: 1, AckWait: 20 * time.Second})
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if waited := time.Since(start); waited < 3*time.Second {
		t.Fatalf("the recycled worker returned after %s, before the receipt", waited)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("task ran %d times", n)
	}
	if len(results) != 1 {
		t.Fatalf("%d result messages, want 1", len(results))
	}
	// Acked, not NAKed: nothing is left for another worker to run again.
	s, err := js.Stream(ctx, subj.Stream())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d task messages left in the stream after the worker recycled", info.State.Msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
