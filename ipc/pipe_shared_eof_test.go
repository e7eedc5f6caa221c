package ipc_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/ipc"
)

// readToEOF receives from p until io.EOF, and returns what it got.
func readToEOF(ctx context.Context, p *ipc.PipeEnd[int]) ([]int, error) {
	var got []int
	for {
		v, err := p.Recv(ctx)
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, v)
	}
}

// Every reader of a shared end meets the end of stream, not only the one
// that took the marker: the others waited for their context before.
func TestPipeSharedEndEveryReaderMeetsEOF(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	w, end := newTestPipe[int](t, connect(t, b))
	readers := []*ipc.PipeEnd[int]{end, openTestPipe[int](t, connectTCP(t, b), end.Name()), openTestPipe[int](t, connectTCP(t, b), end.Name())}
	const n = 30
	for i := range n {
		if err := w.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		all []int
		wg  sync.WaitGroup
	)
	errs := make([]error, len(readers))
	for i, r := range readers {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			got, err := readToEOF(rctx, r)
			errs[i] = err
			mu.Lock()
			all = append(all, got...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v, want io.EOF after the values", i, err)
		}
	}
	slices.Sort(all)
	if !slices.Equal(all, seq(0, n)) {
		t.Fatalf("the readers got %v between them, want 0..%d once each", all, n-1)
	}
	// And a reader that comes later meets it too.
	late := openTestPipe[int](t, connectTCP(t, b), end.Name())
	if _, err := late.Recv(testutil.Ctx(t, 10*time.Second)); !errors.Is(err, io.EOF) {
		t.Fatalf("a reader opened after the end of stream: %v, want io.EOF", err)
	}
}

// A reader does not meet the end of stream while values sent before it
// are still out: here the rest of a packed message that another handle of
// the end holds, idle, and hands back. It returned io.EOF at once before,
// and those values were never received by it.
func TestPipeSharedEndNoEOFBeforeHandedBackValues(t *testing.T) {
	ctx := testutil.Ctx(t, 30*time.Second)
	b := testutil.StartBroker(t, quietBroker)
	w, idle := newTestPipe[int](t, connect(t, b))
	other := openTestPipe[int](t, connectTCP(t, b), idle.Name())
	const n = 50
	if err := w.SendPacked(ctx, encodeAll(t, seq(0, n))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := idle.Recv(ctx); err != nil || v != 0 {
		t.Fatalf("idle Recv = %d, %v; want 0", v, err)
	}
	if held := idle.Held(); held != n-1 {
		t.Fatalf("the idle end holds %d values, want %d (was the message packed?)", held, n-1)
	}
	got, err := readToEOF(ctx, other)
	if err != nil {
		t.Fatalf("other: %v after %v", err, got)
	}
	if !slices.Equal(got, seq(1, n)) {
		t.Fatalf("other got %v before io.EOF, want 1..%d: the end of stream overtook the handed-back values", got, n-1)
	}
	if _, err := idle.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("the idle end's next Recv: %v, want io.EOF", err)
	}
}
