package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

// payload: values of every size, as py_anchor.py's payload section: a
// million distinct 100-byte strings with the default chunksize, 40
// distinct 5 MiB strings as arguments, 40 results of 5 MiB. It runs only
// when named (--only payload), as Python's does.
func (b *bench) payload(ctx context.Context) error {
	p, err := pool.New(ctx, b.cf.options()...)
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := pool.Map(ctx, p, builtin.Len, []string{"warm", "warm", "warm", "warm", "warm", "warm", "warm", "warm"}); err != nil {
		return err
	}

	small := make([]string, b.n(1_000_000))
	for i := range small {
		small[i] = fmt.Sprintf("%0100d", i)
	}
	var secs []float64
	for range b.repeats {
		t0 := time.Now()
		out, err := pool.Map(ctx, p, builtin.Len, small)
		secs = append(secs, time.Since(t0).Seconds())
		if err != nil {
			return fmt.Errorf("map(len) over %d strings: %w", len(small), err)
		}
		if len(out) != len(small) || out[0] != 100 || out[len(out)-1] != 100 {
			return fmt.Errorf("map(len) over %d strings: wrong results", len(small))
		}
	}
	b.record("small_map_s", fmt.Sprintf("map(len) %d x 100 B strings, default chunksize", len(small)), "s", secs)
	small = nil

	const mib = 1 << 20
	n := max(b.n(40), 2)
	big := make([]string, n)
	for i := range big {
		big[i] = strings.Repeat(string(rune('a'+i%26)), 5*mib)
	}
	total := float64(n * 5) // MiB
	var rates []float64
	for range b.repeats {
		t0 := time.Now()
		out, err := pool.Map(ctx, p, builtin.Len, big)
		rates = append(rates, total/time.Since(t0).Seconds())
		if err != nil {
			return fmt.Errorf("map(len) over %d x 5 MiB: %w", n, err)
		}
		for i, v := range out {
			if v != 5*mib {
				return fmt.Errorf("map(len) over %d x 5 MiB: item %d: %d", n, i, v)
			}
		}
	}
	b.record("arg_mib_per_s", fmt.Sprintf("map(len) %d distinct 5 MiB strings (arguments)", n), "MiB/s", rates)
	big = nil

	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = 5 * mib
	}
	rates = nil
	for range b.repeats {
		t0 := time.Now()
		out, err := pool.Map(ctx, p, builtin.Blob, sizes)
		rates = append(rates, total/time.Since(t0).Seconds())
		if err != nil {
			return fmt.Errorf("map returning %d x 5 MiB: %w", n, err)
		}
		for i, v := range out {
			if len(v) != 5*mib || v[len(v)-1] != byte((5*mib-1)%251) {
				return fmt.Errorf("map returning %d x 5 MiB: result %d is wrong", n, i)
			}
		}
	}
	b.record("result_mib_per_s", fmt.Sprintf("map returning %d x 5 MiB bytes (results)", n), "MiB/s", rates)
	return nil
}
