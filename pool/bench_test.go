package pool_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procpool/procpool/pool"
)

// End-to-end benchmarks of the hot paths (dispatch, the workers' loop,
// result collection) with real worker processes, for benchstat:
//
//	go test -run '^$' -bench . -count 6 ./pool/ > new.txt
func benchPool(b *testing.B) *pool.Pool {
	b.Helper()
	return newPool(b, pool.WithProcesses(2))
}

// BenchmarkApply is one sequential round trip per op: caller → stream →
// worker → caller.
func BenchmarkApply(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pool.Apply(ctx, p, upper, "hello"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyAsync submits tasks one by one and collects them all:
// packing on the way out, result routing on the way back.
func BenchmarkApplyAsync(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	rs := make([]*pool.AsyncResult[string], 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		rs = rs[:0]
		for range 1024 {
			rs = append(rs, pool.ApplyAsync(ctx, p, upper, "hello"))
		}
		for _, r := range rs {
			if _, err := r.Get(0); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(1024*b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkMap maps 10,000 short strings per op, at chunk size 1 and at
// the default.
func BenchmarkMap(b *testing.B) {
	items := make([]string, 10000)
	for i := range items {
		items[i] = fmt.Sprintf("item-%d-abc", i)
	}
	for _, cs := range []int{1, 0} {
		b.Run(fmt.Sprintf("chunksize=%d", cs), func(b *testing.B) {
			p := benchPool(b)
			ctx := context.Background()
			var opts []pool.MapOption
			if cs > 0 {
				opts = append(opts, pool.WithChunksize(cs))
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pool.Map(ctx, p, upper, items, opts...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(items)*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
