package integration

import (
	"context"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
)

// sharedEndWait bounds how long the task may wait for the item meant for
// it. Without the fix it waits forever (pipe) or for the queue's ack wait,
// which the queue test sets far beyond it.
const sharedEndWait = 20 * time.Second

// The program: the parent reads once on pipe end b, then hands b
// to a task, which sends and then receives on it. What the parent sends
// next must reach the task, not the parent's idle handle of b.
func TestPipeEndSharedWithTaskDoesNotHoard(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 60*time.Second)
	a, b, err := ipc.NewPipe[string](ctx, p.Conn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipc.DeletePipe(context.Background(), p.Conn(), a.Name()) })
	if err := a.Send(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Recv(ctx); err != nil || v != "early" {
		t.Fatalf("parent b.Recv = %q, %v; want early", v, err)
	}
	ar := pool.ApplyAsync(ctx, p, sendUpper, sharedEndJob{Name: b.Name(), Msg: "smile"})
	if v, err := a.Recv(ctx); err != nil || v != "SMILE" {
		t.Fatalf("parent a.Recv = %q, %v; want SMILE", v, err)
	}
	if err := a.Send(ctx, "ack-smile"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, sharedEndWait)
	defer cancel()
	got, err := ar.Wait(wctx)
	if err != nil {
		t.Fatalf("the task's b.Recv did not return within %v (%v): the parent's idle end kept the value", sharedEndWait, err)
	}
	if got != "ack-smile" {
		t.Fatalf("the task received %q, want ack-smile", got)
	}
	// The parent's end still works: nothing of it was lost.
	if err := a.Send(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Recv(ctx); err != nil || v != "late" {
		t.Fatalf("parent b.Recv afterwards = %q, %v; want late", v, err)
	}
}

// The same program with a Queue: the parent gets once from queue "back",
// a task gets from "back" while the parent's handle of it is idle, and the
// item the parent puts there next must reach the task.
func TestQueueSharedWithTaskDoesNotHoard(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 60*time.Second)
	const name = "shared-end"
	out, err := ipc.NewQueue[string](ctx, p.Conn(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Delete(context.Background()) })
	// An ack wait far beyond sharedEndWait: only a handle that gives back
	// at once lets the task have the item in time.
	back, err := ipc.NewQueue[string](ctx, p.Conn(), name+"-back", ipc.WithAckWait(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = back.Delete(context.Background()) })
	if err := back.Put(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	if v, err := back.Get(ctx); err != nil || v != "early" {
		t.Fatalf("parent back.Get = %q, %v; want early", v, err)
	}
	ar := pool.ApplyAsync(ctx, p, putThenGet, sharedEndJob{Name: name, Msg: "smile"})
	if v, err := out.Get(ctx); err != nil || v != "SMILE" {
		t.Fatalf("parent Get = %q, %v; want SMILE", v, err)
	}
	if err := back.Put(ctx, "ack-smile"); err != nil {
		t.Fatal(err)
	}
	if err := back.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, sharedEndWait)
	defer cancel()
	got, err := ar.Wait(wctx)
	if err != nil {
		t.Fatalf("the task's Get did not return within %v (%v): the parent's idle handle kept the item", sharedEndWait, err)
	}
	if got != "ack-smile" {
		t.Fatalf("the task got %q, want ack-smile", got)
	}
	if n, err := back.Len(ctx); err != nil || n != 0 {
		t.Fatalf("back.Len = %d, %v; want 0 (the item went once, to the task)", n, err)
	}
}
