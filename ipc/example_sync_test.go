package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/ipc"
)

// exampleBroker starts a broker for an example and connects to it; stop
// ends both.
func exampleBroker(ctx context.Context) (nc *nats.Conn, stop func(), err error) {
	b, err := broker.Start(ctx, broker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	nc, err = b.Connect()
	if err != nil {
		b.Shutdown()
		return nil, nil, err
	}
	return nc, func() { nc.Close(); b.Shutdown() }, nil
}

func ExampleNewLock() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	// Two handles of one lock, as two processes would have.
	a, _ := ipc.NewLock(ctx, nc, "printer", ipc.WithLease(5*time.Second))
	b, _ := ipc.NewLock(ctx, nc, "printer")
	fmt.Println(a.Lock(ctx))
	fmt.Println(errors.Is(b.TryLock(ctx), ipc.ErrLocked))
	fmt.Println(a.Unlock(ctx))
	fmt.Println(b.TryLock(ctx))
	fmt.Println(errors.Is(a.Unlock(ctx), ipc.ErrNotHeld))
	fmt.Println(b.Unlock(ctx))
	// Output:
	// <nil>
	// true
	// <nil>
	// <nil>
	// true
	// <nil>
}

func ExampleNewSemaphore() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	s, _ := ipc.NewSemaphore(ctx, nc, "downloads", 2)
	fmt.Println(s.Acquire(ctx), s.Acquire(ctx))
	fmt.Println(errors.Is(s.TryAcquire(ctx), ipc.ErrLocked))
	fmt.Println(s.Release(ctx), s.Release(ctx))
	fmt.Println(errors.Is(s.Release(ctx), ipc.ErrNotHeld))
	// Output:
	// <nil> <nil>
	// true
	// <nil> <nil>
	// true
}

func ExampleNewEvent() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	e, _ := ipc.NewEvent(ctx, nc, "ready")
	woken := make(chan error)
	go func() { woken <- e.Wait(ctx) }()
	fmt.Println(e.Set(ctx))
	fmt.Println(<-woken)
	fmt.Println(e.IsSet(ctx))
	// Output:
	// <nil>
	// <nil>
	// true <nil>
}

func ExampleNewBarrier() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	var mu sync.Mutex
	var arrivals []int
	var wg sync.WaitGroup
	for range 3 {
		b, _ := ipc.NewBarrier(ctx, nc, "start", 3)
		wg.Go(func() {
			i, err := b.Wait(ctx)
			if err != nil {
				fmt.Println(err)
			}
			mu.Lock()
			arrivals = append(arrivals, i)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(arrivals)
	fmt.Println(arrivals)

	// A party that gives up breaks the barrier for all.
	b, _ := ipc.NewBarrier(ctx, nc, "start", 3)
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	_, err = b.Wait(short)
	fmt.Println(errors.Is(err, ipc.ErrBrokenBarrier))
	// Output:
	// [0 1 2]
	// true
}

func ExampleNewValue() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	v, _ := ipc.NewValue[int](ctx, nc, "hits")
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = v.Update(ctx, func(n int) int { return n + 1 }) })
	}
	wg.Wait()
	fmt.Println(v.Load(ctx))
	// Output:
	// 10 <nil>
}

func ExampleNewDict() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, stop, err := exampleBroker(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()

	d, _ := ipc.NewDict[string](ctx, nc, "config")
	watch, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	changes, _ := d.Watch(watch)
	_ = d.Set(ctx, "mode", "fast")
	_, _ = d.Update(ctx, "mode", func(old string, ok bool) string { return old + "er" })
	fmt.Println(d.Get(ctx, "mode"))
	fmt.Println(d.Len(ctx))
	for c := range changes { // "mode fast", then (or only) "mode faster"
		if c.Value == "faster" {
			fmt.Println(c.Key, c.Value)
			break
		}
	}
	// Output:
	// faster true <nil>
	// 1 <nil>
	// mode faster
}
