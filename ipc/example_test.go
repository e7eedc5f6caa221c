package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/ipc"
)

func ExampleNewQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Shutdown()
	nc, err := b.Connect()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()

	// Any process with a connection opens the queue by its name.
	q, err := ipc.NewQueue[string](ctx, nc, "jobs", ipc.WithMaxSize(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Delete(ctx)
	for _, s := range []string{"first", "second"} {
		if err := q.Put(ctx, s); err != nil {
			fmt.Println(err)
			return
		}
	}
	for range 2 {
		s, err := q.Get(ctx)
		fmt.Println(s, err)
	}
	_, err = q.GetTimeout(ctx, 10*time.Millisecond)
	fmt.Println(errors.Is(err, ipc.ErrQueueEmpty))
	// Output:
	// first <nil>
	// second <nil>
	// true
}

func ExampleNewPipe() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Shutdown()
	nc, err := b.Connect()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()

	// Another process would open one end with ipc.OpenPipe(ctx, nc, end.Name()).
	a, z, err := ipc.NewPipe[int](ctx, nc)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ipc.DeletePipe(ctx, nc, a.Name())
	for i := range 3 {
		if err := a.Send(ctx, i*i); err != nil {
			fmt.Println(err)
			return
		}
	}
	_ = a.Close() // z then reads io.EOF after what a sent
	for {
		v, err := z.Recv(ctx)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(v)
	}
	_ = z.Close()
	// Output:
	// 0
	// 1
	// 4
	// EOF
}
