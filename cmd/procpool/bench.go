package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/procpool/procpool/internal/spawn"
	"github.com/procpool/procpool/pool"
)

// benchResult is one measured figure: its median over the repeats, and the
// spread.
type benchResult struct {
	key, name, unit string
	vals            []float64
}

func (r benchResult) median() float64 {
	v := slices.Clone(r.vals)
	sort.Float64s(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// runBench is `procpool bench`: the workloads of py_anchor.py, same sizes,
// on the embedded broker with 2 worker processes (or --url/--processes).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("procpool bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf connFlags
	cf.register(fs, 2)
	repeats := fs.Int("repeats", 3, "repeats per figure; the median is reported")
	scale := fs.Float64("scale", 1, "scale the item counts (1 = py_anchor.py's sizes)")
	asJSON := fs.Bool("json", false, "print the headline figures as one JSON object, last")
	only := fs.String("only", "", "comma list of sections: pool,latency,startup,ipc,cpu,raw; payload runs only when named")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (caller and embedded broker) to the file")
	workerProfiles := fs.String("worker-cpuprofile", "", "each worker process writes its CPU profile into this directory")
	memProfile := fs.String("memprofile", "", "write this process's allocation profile (caller and embedded broker) to the file, at the end")
	workerMemProfiles := fs.String("worker-memprofile", "", "each worker process writes its allocation profile into this directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, err := cf.setup(stderr); err != nil { // logflags.go
		fmt.Fprintln(stderr, "procpool bench:", err)
		return 2
	}
	if *workerProfiles != "" {
		os.Setenv(spawn.CPUProfileEnv, *workerProfiles) // inherited by the workers this command spawns
	}
	var memFile *os.File
	if *memProfile != "" {
		// Created now, so a bad path fails before the run, not after it.
		f, err := os.Create(*memProfile)
		if err != nil {
			fmt.Fprintln(stderr, "procpool bench:", err)
			return 1
		}
		defer f.Close()
		memFile = f
		runtime.MemProfileRate = 4096 // a sample every 4 KiB, not 512 KiB
	}
	if *workerMemProfiles != "" {
		os.Setenv(spawn.MemProfileEnv, *workerMemProfiles)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "procpool bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "procpool bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *repeats < 1 || *scale <= 0 {
		fmt.Fprintln(stderr, "procpool bench: --repeats >= 1 and --scale > 0")
		return 2
	}
	b := &bench{cf: &cf, repeats: *repeats, scale: *scale, out: stdout, only: splitList(*only)}
	if err := b.run(ctx); err != nil {
		fmt.Fprintln(stderr, "procpool bench:", err)
		return 1
	}
	b.table()
	if memFile != nil {
		if err := writeAllocs(memFile); err != nil {
			fmt.Fprintln(stderr, "procpool bench:", err)
			return 1
		}
	}
	if *asJSON {
		head := map[string]float64{}
		for _, r := range b.results {
			if r.key != "" {
				head[r.key] = round2(r.median())
			}
		}
		data, _ := json.Marshal(head)
		fmt.Fprintln(stdout, string(data))
	}
	return 0
}

type bench struct {
	cf      *connFlags
	repeats int
	scale   float64
	out     io.Writer
	only    []string
	results []benchResult
}

func (b *bench) want(section string) bool {
	return len(b.only) == 0 || slices.Contains(b.only, section)
}

func (b *bench) n(base int) int { return max(int(float64(base)*b.scale), 1) }

func (b *bench) record(key, name, unit string, vals []float64) {
	r := benchResult{key: key, name: name, unit: unit, vals: vals}
	b.results = append(b.results, r)
	fmt.Fprintf(b.out, "  %-52s %14.1f %-8s (min %.1f, max %.1f, n=%d)\n", name, r.median(), unit, slices.Min(vals), slices.Max(vals), len(vals))
}

// rate runs fn repeats times and returns n/seconds for each run.
func (b *bench) rate(n int, fn func() error) ([]float64, error) {
	var out []float64
	step, finish := stepBar(b.out, fmt.Sprintf("%d items x%d", n, b.repeats), b.repeats) // progressbar.go
	defer finish()
	for range b.repeats {
		t0 := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		out = append(out, float64(n)/time.Since(t0).Seconds())
		step()
	}
	return out, nil
}

// withPool runs the pool and latency workloads on one pool, then records
// its memory and closes it: its workers and broker must not run alongside
// the later sections (py_anchor.py closes each Pool too).
func (b *bench) withPool(ctx context.Context) error {
	p, err := pool.New(ctx, b.cf.options()...)
	if err != nil {
		return err
	}
	defer p.Close()
	if b.want("pool") {
		if err := b.poolFigures(ctx, p); err != nil {
			return err
		}
	}
	if b.want("latency") {
		if err := b.latency(ctx, p); err != nil {
			return err
		}
	}
	if err := b.memory(p); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return nil
}

func (b *bench) run(ctx context.Context) error {
	fmt.Fprintf(b.out, "procpool bench: %d worker processes, repeats=%d scale=%g\n", b.cf.processes, b.repeats, b.scale)
	if b.want("startup") {
		if err := b.startup(ctx); err != nil {
			return fmt.Errorf("startup: %w", err)
		}
	}
	if b.want("pool") || b.want("latency") {
		if err := b.withPool(ctx); err != nil {
			return err
		}
	}
	if b.want("ipc") {
		if err := b.ipc(ctx); err != nil {
			return fmt.Errorf("ipc: %w", err)
		}
	}
	if b.want("cpu") {
		if err := b.cpu(ctx); err != nil {
			return fmt.Errorf("cpu: %w", err)
		}
	}
	if b.want("raw") {
		if err := b.raw(ctx); err != nil {
			return fmt.Errorf("raw: %w", err)
		}
	}
	if slices.Contains(b.only, "payload") { // only when named, as in Python's bench
		if err := b.payload(ctx); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
	}
	return nil
}

func (b *bench) table() {
	fmt.Fprintln(b.out, "\n| figure | median | unit | min | max | n |\n|---|---:|---|---:|---:|---:|")
	for _, r := range b.results {
		fmt.Fprintf(b.out, "| %s | %.1f | %s | %.1f | %.1f | %d |\n", r.name, r.median(), r.unit, slices.Min(r.vals), slices.Max(r.vals), len(r.vals))
	}
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// writeAllocs writes this process's allocation profile (go tool pprof
// -sample_index=alloc_space) to f and closes it.
func writeAllocs(f *os.File) error {
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return err
	}
	return f.Close()
}

// roundTrips times n sequential calls, b.repeats times, and returns each
// repeat's median and 99th percentile, in microseconds.
func (b *bench) roundTrips(n int, call func() error) (p50s, p99s []float64, err error) {
	for range b.repeats {
		lat := make([]float64, 0, n)
		for range n {
			t0 := time.Now()
			if err := call(); err != nil {
				return nil, nil, err
			}
			lat = append(lat, float64(time.Since(t0).Nanoseconds())/1000)
		}
		sort.Float64s(lat)
		p50s = append(p50s, lat[len(lat)/2])
		p99s = append(p99s, lat[max(int(float64(len(lat))*0.99)-1, 0)])
	}
	return p50s, p99s, nil
}
