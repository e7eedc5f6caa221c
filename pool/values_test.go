package pool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/blob"
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
	ctx := testCtx(t, 60*time.Second)
	in := pattern(5 << 20)
	out, err := pool.Apply(ctx, p, raw, in)
	if err != nil {
		t.Fatalf("Apply(5 MiB): %v", err)
	}
	if len(out) != len(in) {
		t.Fatalf("result is %d bytes, want %d", len(out), len(in))
	}
	for i := range out {
		if out[i] != in[i]^0xff {
			t.Fatalf("result byte %d = %#x, want %#x", i, out[i], in[i]^0xff)
		}
	}
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
	ctx := testCtx(t, 120*time.Second)
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
	ctx := testCtx(t, 120*time.Second)
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
