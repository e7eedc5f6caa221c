package pool_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/procpool/procpool/pool"
)

// The examples run the tasks registered in main_test.go (upper, square) on
// worker processes that are copies of this test binary.

func ExampleNew() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	n, err := pool.Apply(ctx, p, square, 7)
	fmt.Println(n, err)
	// Output: 49 <nil>
}

func ExampleMap() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	out, err := pool.Map(ctx, p, upper, []string{"kel", "smile"})
	fmt.Println(out, err)
	// Output: [KEL SMILE] <nil>
}

func ExampleIMap() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	// Results come in the order of the items, as soon as each is ready.
	for n, err := range pool.IMap(ctx, p, square, slices.Values([]int{1, 2, 3})) {
		fmt.Println(n, err)
	}
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
}

func ExampleIMapUnordered() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	// Results come as they are ready, in any order.
	var got []int
	for n, err := range pool.IMapUnordered(ctx, p, square, slices.Values([]int{1, 2, 3})) {
		if err != nil {
			fmt.Println(err)
			return
		}
		got = append(got, n)
	}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [1 4 9]
}

func ExampleApply() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	s, err := pool.Apply(ctx, p, upper, "hello")
	fmt.Println(s, err)
	// Output: HELLO <nil>
}

func ExampleApplyAsync() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	a := pool.ApplyAsync(ctx, p, square, 12)
	// Then runs a callback once the result is in (Python's callback=).
	done := a.Then(func(n int) { fmt.Println("callback:", n) }, func(err error) { fmt.Println("error:", err) })
	n, err := a.Get(30 * time.Second)
	<-done
	fmt.Println("get:", n, err)
	// Output:
	// callback: 144
	// get: 144 <nil>
}

func ExampleMapAsync() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	a := pool.MapAsync(ctx, p, upper, []string{"a", "b", "c"})
	out, err := a.Wait(ctx)
	fmt.Println(out, err)
	// Output: [A B C] <nil>
}

func ExampleStart() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	// A process of its own for one call (Python's Process): Start, then Join.
	pr, err := pool.Start(ctx, p, upper, "process")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := pr.Join(ctx)
	fmt.Println(s, err, pr.ExitCode())
	// Output: PROCESS <nil> 0
}
