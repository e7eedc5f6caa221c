package pool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/blob"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var (
	strLen = worker.Register("test.len", func(ctx context.Context, s string) (int, error) {
		return len(s), nil
	})
	// blobOf returns n bytes of a pattern that depends on n.
	blobOf = worker.Register("test.blob", func(ctx context.Context, n int) ([]byte, error) {
		return pattern(n), nil
	})
)

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

// valueFiles lists what is left in the value directories of this process.
func valueFiles(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(blob.Root(), fmt.Sprintf("procpool-%d_*", os.Getpid())))
	var left []string
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			left = append(left, filepath.Join(d, e.Name()))
		}
	}
	return left
}

// TestApplyLargeArgumentAndResult sends a 5 MiB argument and gets a 5 MiB
// result back through Apply: both are stored beside the messages.
func TestApplyLargeArgumentAndResult(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 60*time.Second)
	in := pattern(5 << 20)
	out, err := pool.Apply(ctx, p, raw, in)
	if err != nil {
		t.Fatalf("Apply(5 MiB): %v", err)
	}
	checkInverted(t, out, in)
	s := strings.Repeat("é", 2<<20) // not plain ASCII: the JSON path
	n, err := pool.Apply(ctx, p, strLen, s)
	if err != nil || n != len(s) {
		t.Fatalf("Apply(4 MiB string) = %d, %v; want %d", n, err, len(s))
	}
	waitNoValueFiles(t)
}

func waitNoValueFiles(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := valueFiles(t)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored values left behind: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMapMillionShortStringsDefaultChunksize is the Map Python's Pool runs
// with its default chunksize: chunks are cut by bytes, never too large.
func TestMapMillionShortStringsDefaultChunksize(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("%0100d", i)
	}
	out, err := pool.Map(ctx, p, strLen, items)
	if err != nil {
		t.Fatalf("Map(%d x 100 B): %v", n, err)
	}
	for i, v := range out {
		if v != 100 {
			t.Fatalf("out[%d] = %d, want 100", i, v)
		}
	}
	if msgs := p.Stats().TaskMessages; msgs < int64(n*100/(256<<10)) {
		t.Fatalf("%d task messages for %d MB: chunks larger than 256 KiB", msgs, n*100>>20)
	}
}

// TestMapLargeItemsAndResults runs Map over 5 MiB items and returning
// 5 MiB results, with the default and with an explicit chunksize whose
// chunks are far over the broker's message limit.
func TestMapLargeItemsAndResults(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)
	items := make([]string, 8)
	for i := range items {
		items[i] = strings.Repeat(string(rune('a'+i)), 5<<20)
	}
	for _, opts := range [][]pool.MapOption{nil, {pool.WithChunksize(4)}} {
		out, err := pool.Map(ctx, p, strLen, items, opts...)
		if err != nil || !slices.Equal(out, []int{5 << 20, 5 << 20, 5 << 20, 5 << 20, 5 << 20, 5 << 20, 5 << 20, 5 << 20}) {
			t.Fatalf("Map(8 x 5 MiB, %d opts) = %v, %v", len(opts), out, err)
		}
	}
	sizes := []int{5 << 20, 10, 3 << 20, 300 << 10, 5 << 20}
	res, err := pool.Map(ctx, p, blobOf, sizes, pool.WithChunksize(2))
	if err != nil {
		t.Fatalf("Map returning large results: %v", err)
	}
	for i, b := range res {
		if !bytes.Equal(b, pattern(sizes[i])) {
			t.Fatalf("result %d: %d bytes, not the pattern of %d", i, len(b), sizes[i])
		}
	}
	waitNoValueFiles(t)
}

var (
	// sizeOf is the length of its argument.
	sizeOf = worker.Register("test.size", func(ctx context.Context, b []byte) (int, error) {
		return len(b), nil
	})
	// sumOf is a checksum of its argument, so a wrong byte anywhere shows.
	sumOf = worker.Register("test.sum", func(ctx context.Context, b []byte) (uint64, error) {
		return checksum(b), nil
	})
	// bigOnce returns n pattern bytes, but its first attempt SIGKILLs its
	// own worker a moment after it starts returning them: while the
	// result is being stored.
	bigOnce = worker.Register("test.big-once", func(ctx context.Context, n int) ([]byte, error) {
		out := pattern(n)
		if worker.Current(ctx).Attempt == 1 {
			time.AfterFunc(2*time.Millisecond, func() { _ = killSelf() })
		}
		return out, nil
	})
)

func checksum(b []byte) uint64 {
	var h uint64 = 14695981039346656037
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// TestApply64MiB carries a 64 MiB argument and a 64 MiB result through
// Apply, byte for byte.
func TestApply64MiB(t *testing.T) {
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 120*time.Second)
	in := pattern(64 << 20)
	sum, err := pool.Apply(ctx, p, sumOf, in)
	if err != nil || sum != checksum(in) {
		t.Fatalf("Apply(64 MiB argument) = %x, %v; want checksum %x", sum, err, checksum(in))
	}
	out, err := pool.Apply(ctx, p, blobOf, 64<<20)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("Apply returning 64 MiB: %d bytes, %v; want the pattern", len(out), err)
	}
	waitNoValueFiles(t)
}

// TestOneGiBValue: a value of 1 GiB travels each way.
func TestOneGiBValue(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2 GiB; run without -short")
	}
	p := newPool(t, pool.WithProcesses(1))
	ctx := testutil.Ctx(t, 5*time.Minute)
	t0 := time.Now()
	n, err := pool.Apply(ctx, p, sizeOf, make([]byte, 1<<30))
	if err != nil || n != 1<<30 {
		t.Fatalf("Apply(1 GiB argument) = %d, %v", n, err)
	}
	t1 := time.Now()
	out, err := pool.Apply(ctx, p, blobOf, 1<<30)
	if err != nil || len(out) != 1<<30 {
		t.Fatalf("Apply returning 1 GiB: %d bytes, %v", len(out), err)
	}
	for _, i := range []int{0, 1, 1 << 20, 1<<30 - 1} {
		if want := byte(i*7 + 1<<30); out[i] != want {
			t.Fatalf("byte %d of the 1 GiB result = %d, want %d", i, out[i], want)
		}
	}
	t.Logf("1 GiB argument in %v, 1 GiB result in %v", t1.Sub(t0), time.Since(t1))
	waitNoValueFiles(t)
}

// TestWorkerKilledMidTransfer: a worker SIGKILLed while it fetches a large
// argument, and one killed while it stores a large result: the task runs
// again on another worker and the caller gets the right value, once.
func TestWorkerKilledMidTransfer(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)

	in := pattern(256 << 20) // long enough to read that the kill lands in it
	r := pool.ApplyAsync(ctx, p, sumOf, in)
	var victim int
	for deadline := time.Now().Add(30 * time.Second); victim == 0; {
		for _, w := range p.Workers() {
			if w.Busy && w.Task == sumOf.Name() {
				victim = w.PID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no worker took the task")
		}
	}
	if err := testutil.KillPID(victim); err != nil {
		t.Fatal(err)
	}
	sum, err := r.Wait(ctx)
	if err != nil || sum != checksum(in) {
		t.Fatalf("after its worker was killed fetching: %x, %v; want %x", sum, err, checksum(in))
	}

	out, err := pool.Apply(ctx, p, bigOnce, 64<<20)
	if err != nil || !bytes.Equal(out, pattern(64<<20)) {
		t.Fatalf("after its worker was killed storing the result: %d bytes, %v", len(out), err)
	}
	if st := p.Stats(); st.WorkersLost < 2 || st.DuplicateResult != 0 {
		t.Fatalf("stats %+v: want 2 workers lost and no duplicate", st)
	}
}

// TestIMapLargeItemsBoundedByBytes: IMap over a lazy stream of 4 MiB items
// reads no further ahead than its byte window while the consumer is slow.
func TestIMapLargeItemsBoundedByBytes(t *testing.T) {
	p := newPool(t, pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 120*time.Second)
	const item, window, n = 4 << 20, 16 << 20, 40
	var produced atomic.Int64
	items := func(yield func([]byte) bool) {
		for i := range n {
			produced.Add(1)
			b := pattern(item)
			b[0] = byte(i)
			if !yield(b) {
				return
			}
		}
	}
	consumed, maxAhead := 0, int64(0)
	for v, err := range pool.IMap(ctx, p, sizeOf, items, pool.WithWindowBytes(window)) {
		if err != nil || v != item {
			t.Fatalf("result %d = %d, %v", consumed, v, err)
		}
		consumed++
		time.Sleep(5 * time.Millisecond) // a slow consumer
		maxAhead = max(maxAhead, produced.Load()-int64(consumed))
	}
	if consumed != n {
		t.Fatalf("%d results, want %d", consumed, n)
	}
	// The window holds window/item chunks; one more may be encoded and
	// waiting for room.
	if limit := int64(window/item + 1); maxAhead > limit {
		t.Fatalf("the input was read %d items ahead of the consumer; the byte window allows %d", maxAhead, limit)
	}
	waitNoValueFiles(t)
}
