// Command queue starts three worker processes that each put a name,
// upper-cased, on one shared Queue; the parent drains the queue and prints
// the three items.
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// putArg names the queue to put on and the name to put.
type putArg struct {
	Queue string `json:"queue"`
	Name  string `json:"name"`
}

var put = worker.Register("examples.queue.put", func(ctx context.Context, a putArg) (struct{}, error) {
	// Any process opens a queue by name on its own connection.
	q, err := ipc.NewQueue[string](ctx, worker.Conn(ctx), a.Queue)
	if err != nil {
		return struct{}{}, err
	}
	if err := q.Put(ctx, strings.ToUpper(a.Name)); err != nil {
		_ = q.Close()
		return struct{}{}, err
	}
	return struct{}{}, q.Close() // Close waits until the broker has the item
})

func main() {
	worker.Main()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := pool.New(ctx, pool.WithProcesses(0))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	q, err := ipc.NewQueue[string](ctx, p.Conn(), "names")
	if err != nil {
		log.Fatal(err)
	}
	defer q.Delete(context.WithoutCancel(ctx))

	var procs []*pool.Process[struct{}]
	for _, name := range []string{"john", "paul", "george"} {
		pr, err := pool.Start(ctx, p, put, putArg{Queue: q.Name(), Name: name})
		if err != nil {
			log.Fatal(err)
		}
		procs = append(procs, pr)
	}
	for range procs {
		v, err := q.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(v)
	}
	for _, pr := range procs {
		if _, err := pr.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
}
