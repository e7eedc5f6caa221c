package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

type otherKey struct{}

// A task's context is its parent's, with the task added: values, deadline
// and cancellation pass through, and Current sees the task.
func TestTaskContext(t *testing.T) {
	parent, cancel := context.WithTimeout(context.WithValue(context.Background(), otherKey{}, "v"), time.Hour)
	info := Info{WorkerID: "w1", Task: "t", TaskID: "c.1.2", Attempt: 2}
	ctx := withTask(parent, taskCtx{once: &onceTask{info: info}})

	if got := ctx.Value(otherKey{}); got != "v" {
		t.Fatalf("parent's value: got %v", got)
	}
	if got := Current(ctx); got != info {
		t.Fatalf("Current: got %+v, want %+v", got, info)
	}
	if got := Current(context.Background()); got != (Info{}) {
		t.Fatalf("Current outside a task: got %+v", got)
	}
	pd, _ := parent.Deadline()
	if d, ok := ctx.Deadline(); !ok || !d.Equal(pd) {
		t.Fatalf("deadline: got %v %v, want %v", d, ok, pd)
	}
	// A context derived from the task's is cancelled with the parent.
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context derived from the task's was not cancelled with its parent")
	}
	if !errors.Is(child.Err(), context.Canceled) || Current(child) != info {
		t.Fatalf("derived context: err %v, Current %+v", child.Err(), Current(child))
	}
}
