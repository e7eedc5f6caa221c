// Command pool runs a pool of 5 worker processes: Map and IMap over two
// names, then 7 ApplyAsync calls of a task that sleeps 2 s, collected in
// order with Get(2100*time.Millisecond) each. Five run at once, so all 7
// succeed in about 4 s.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var (
	upper = worker.Register("examples.pool.upper", func(ctx context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	slowUpper = worker.Register("examples.pool.slow-upper", func(ctx context.Context, s string) (string, error) {
		select {
		case <-time.After(2 * time.Second):
			return strings.ToUpper(s), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
)

func main() {
	worker.Main()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := pool.New(ctx, pool.WithProcesses(5))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	names := []string{"kel", "smile"}
	out, err := pool.Map(ctx, p, upper, names)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("map:", out)
	for v, err := range pool.IMap(ctx, p, upper, func(yield func(string) bool) {
		for _, n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("imap:", v)
	}

	start := time.Now()
	var results []*pool.AsyncResult[string]
	for i := range 7 {
		results = append(results, pool.ApplyAsync(ctx, p, slowUpper, fmt.Sprintf("task-%d", i)))
	}
	for _, r := range results {
		v, err := r.Get(2100 * time.Millisecond)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("apply_async:", v)
	}
	fmt.Printf("7 results in %.1fs\n", time.Since(start).Seconds())
}
