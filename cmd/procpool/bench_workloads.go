package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

func benchItems(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("item-%d-abc", i)
	}
	return out
}

func checkUpper(in, out []string) error {
	if len(out) != len(in) || out[len(out)-1] != strings.ToUpper(in[len(in)-1]) {
		return fmt.Errorf("map returned %d items, want %d upper-cased", len(out), len(in))
	}
	return nil
}

// poolFigures: map at three chunk sizes, imap and imap_unordered, and
// apply_async submitted one by one then gathered.
func (b *bench) poolFigures(ctx context.Context, p *pool.Pool) error {
	nMap, nIMap, nApply := b.n(100_000), b.n(20_000), b.n(20_000)
	dataMap, dataIMap := benchItems(nMap), benchItems(nIMap)
	if _, err := pool.Map(ctx, p, builtin.Upper, benchItems(1000)); err != nil { // warm
		return err
	}
	for _, cs := range []struct {
		n          int
		label, key string
	}{{1, "1", "map_chunk1_items_per_s"}, {0, "default", "map_default_items_per_s"}, {1000, "1000", ""}} {
		var opts []pool.MapOption
		if cs.n > 0 {
			opts = append(opts, pool.WithChunksize(cs.n))
		}
		var outs [][]string // checked after the timed runs: py_anchor.py times map() alone
		vals, err := b.rate(nMap, func() error {
			out, err := pool.Map(ctx, p, builtin.Upper, dataMap, opts...)
			outs = append(outs, out)
			return err
		})
		for _, out := range outs {
			if err == nil {
				err = checkUpper(dataMap, out)
			}
		}
		if err != nil {
			return fmt.Errorf("map chunksize=%s: %w", cs.label, err)
		}
		b.record(cs.key, fmt.Sprintf("map %d chunksize=%s", nMap, cs.label), "items/s", vals)
	}
	for _, ordered := range []bool{true, false} {
		for _, cs := range []int{1, 100} {
			name, key := "imap", ""
			if !ordered {
				name = "imap_unordered"
			}
			if ordered && cs == 1 {
				key = "imap_chunk1_items_per_s"
			}
			vals, err := b.rate(nIMap, func() error {
				f := pool.IMap[string, string]
				if !ordered {
					f = pool.IMapUnordered[string, string]
				}
				c := 0
				for _, err := range f(ctx, p, builtin.Upper, slices.Values(dataIMap), pool.WithChunksize(cs)) {
					if err != nil {
						return err
					}
					c++
				}
				if c != nIMap {
					return fmt.Errorf("%s yielded %d of %d", name, c, nIMap)
				}
				return nil
			})
			if err != nil {
				return err
			}
			b.record(key, fmt.Sprintf("%s %d chunksize=%d", name, nIMap, cs), "items/s", vals)
		}
	}
	vals, err := b.rate(nApply, func() error {
		rs := make([]*pool.AsyncResult[string], nApply)
		for i := range rs {
			rs[i] = pool.ApplyAsync(ctx, p, builtin.Upper, dataIMap[i%len(dataIMap)])
		}
		for i, r := range rs {
			v, err := r.Get(0)
			if err != nil {
				return err
			}
			if v != strings.ToUpper(dataIMap[i%len(dataIMap)]) {
				return fmt.Errorf("apply_async %d: got %q", i, v)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply_async: %w", err)
	}
	b.record("apply_async_tasks_per_s", fmt.Sprintf("apply_async x%d then get all", nApply), "tasks/s", vals)
	return nil
}

// latency: sequential Apply round trips.
func (b *bench) latency(ctx context.Context, p *pool.Pool) error {
	n := b.n(2000)
	p50s, p99s, err := b.roundTrips(n, func() error {
		v, err := pool.Apply(ctx, p, builtin.Upper, "hello")
		if err == nil && v != "HELLO" {
			err = fmt.Errorf("apply: %q", v)
		}
		return err
	})
	if err != nil {
		return err
	}
	b.record("apply_p50_us", fmt.Sprintf("apply() round-trip median (%d calls)", n), "us", p50s)
	b.record("apply_p99_us", fmt.Sprintf("apply() round-trip p99 (%d calls)", n), "us", p99s)
	return nil
}

// startup: New with 2 processes and the first result, as Python's
// Pool(2) + apply with the spawn start method.
func (b *bench) startup(ctx context.Context) error {
	var vals []float64
	for range b.repeats * 2 {
		t0 := time.Now()
		p, err := pool.New(ctx, b.cf.options()...)
		if err != nil {
			return err
		}
		if _, err := pool.Apply(ctx, p, builtin.Echo, []byte("x")); err != nil {
			p.Terminate()
			return err
		}
		vals = append(vals, float64(time.Since(t0).Microseconds())/1000)
		if err := p.Close(); err != nil {
			return err
		}
	}
	b.record("startup_ms", "pool.New(2 processes) + first result", "ms", vals)
	return nil
}

// cpu: 40 tasks of ~20ms each, wall time with 1 process over wall time with 2.
func (b *bench) cpu(ctx context.Context) error {
	// Calibrate the prime bound to ~20ms in this process.
	n := 20_000
	var one time.Duration
	for {
		t0 := time.Now()
		if builtin.CountPrimes(n) == 0 {
			return fmt.Errorf("no primes below %d", n)
		}
		one = time.Since(t0)
		if one > 5*time.Millisecond {
			break
		}
		n *= 2
	}
	// CountPrimes grows faster than linearly: refine n until one call
	// takes ~20ms, as py_anchor.py's linear loop does after one scaling.
	for range 4 {
		n = max(int(float64(n)*(20*time.Millisecond).Seconds()/one.Seconds()), 1)
		t0 := time.Now()
		if builtin.CountPrimes(n) == 0 {
			return fmt.Errorf("no primes below %d", n)
		}
		one = time.Since(t0)
	}
	b.record("", fmt.Sprintf("single CountPrimes(%d) in-process", n), "ms", []float64{float64(one.Microseconds()) / 1000})
	tasks := slices.Repeat([]int{n}, 40)
	walls := map[int][]float64{}
	for _, procs := range []int{1, 2} {
		cf := *b.cf
		cf.processes = procs
		p, err := pool.New(ctx, cf.options()...)
		if err != nil {
			return err
		}
		if _, err := pool.Map(ctx, p, builtin.Primes, []int{1000, 1000, 1000, 1000}); err != nil {
			p.Terminate()
			return err
		}
		for range b.repeats {
			t0 := time.Now()
			if _, err := pool.Map(ctx, p, builtin.Primes, tasks, pool.WithChunksize(1)); err != nil {
				p.Terminate()
				return err
			}
			walls[procs] = append(walls[procs], float64(time.Since(t0).Milliseconds()))
		}
		p.Close()
		b.record("", fmt.Sprintf("40 x ~20ms tasks, %d process(es) wall", procs), "ms", walls[procs])
	}
	var sp []float64
	for i := range walls[1] {
		sp = append(sp, walls[1][i]/walls[2][i])
	}
	b.record("cpu_speedup", "speedup 2 processes vs 1 (pairwise)", "x", sp)
	return nil
}

// raw: the ceiling, core NATS request/reply with 1024 in flight between two
// connections to an embedded broker, in this same run.
func (b *bench) raw(ctx context.Context) error {
	br, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		return err
	}
	defer br.Shutdown()
	connect := func() (*nats.Conn, error) {
		return nats.Connect(br.ClientURL(), nats.UserInfo(br.User(), br.Password()))
	}
	srv, err := connect()
	if err != nil {
		return err
	}
	defer srv.Close()
	if _, err := srv.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		return err
	}
	_ = srv.Flush()
	cli, err := connect()
	if err != nil {
		return err
	}
	defer cli.Close()
	n := b.n(200_000)
	inbox := nats.NewInbox()
	slots := make(chan struct{}, 1024)
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := cli.Subscribe(inbox, func(*nats.Msg) {
		<-slots
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	var vals []float64
	for range b.repeats {
		got.Store(0)
		done = make(chan struct{})
		t0 := time.Now()
		for range n {
			slots <- struct{}{}
			if err := cli.PublishRequest("bench.echo", inbox, []byte("item-1-abc")); err != nil {
				return err
			}
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			return fmt.Errorf("raw request/reply: %d of %d replies", got.Load(), n)
		}
		vals = append(vals, float64(n)/time.Since(t0).Seconds())
	}
	b.record("nats_reqrep_per_s", fmt.Sprintf("raw NATS request/reply, 1024 in flight, %d", n), "req/s", vals)
	if err := b.floors(ctx); err != nil { // bench_floor.go
		return err
	}
	for _, r := range b.results {
		if r.key == "apply_async_tasks_per_s" || r.key == "map_chunk1_items_per_s" {
			fmt.Fprintf(b.out, "  %-52s %14.2f x of raw request/reply\n", r.key, r.median()/benchResult{vals: vals}.median())
		}
	}
	return nil
}
