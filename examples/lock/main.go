// Command lock starts four worker processes that each add 1 to a shared
// Value ten times, reading and writing it under a shared Lock. Before
// them, a fifth process takes the lock and is killed mid-section: its
// lease runs out (two seconds here) and the others go on, where Python's
// multiprocessing.Lock would leave them waiting forever. The total is
// exactly 40.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/procpool/procpool/ipc"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

const (
	name  = "counter"       // of the lock, the value and the event
	lease = 2 * time.Second // how long a dead holder keeps the lock
	procs = 4
	each  = 10
)

// add adds 1 to the value n times, each under the lock.
var add = worker.Register("examples.lock.add", func(ctx context.Context, n int) (struct{}, error) {
	nc := worker.Conn(ctx) // any process opens them by name
	lock, err := ipc.NewLock(ctx, nc, name, ipc.WithLease(lease))
	if err != nil {
		return struct{}{}, err
	}
	v, err := ipc.NewValue[int](ctx, nc, name)
	if err != nil {
		return struct{}{}, err
	}
	for range n {
		if err := lock.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		// A read and a write that only the lock keeps apart.
		x, err := v.Load(ctx)
		if err == nil {
			err = v.Store(ctx, x+1)
		}
		if uerr := lock.Unlock(ctx); err == nil {
			err = uerr
		}
		if err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

// hold takes the lock, says so, and never lets go.
var hold = worker.Register("examples.lock.hold", func(ctx context.Context, _ struct{}) (struct{}, error) {
	nc := worker.Conn(ctx)
	lock, err := ipc.NewLock(ctx, nc, name, ipc.WithLease(lease))
	if err != nil {
		return struct{}{}, err
	}
	held, err := ipc.NewEvent(ctx, nc, name)
	if err != nil {
		return struct{}{}, err
	}
	if err := lock.Lock(ctx); err != nil {
		return struct{}{}, err
	}
	if err := held.Set(ctx); err != nil {
		return struct{}{}, err
	}
	<-ctx.Done() // mid-section, until killed
	return struct{}{}, ctx.Err()
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
	nc := p.Conn()
	v, err := ipc.NewValue[int](ctx, nc, name)
	if err != nil {
		log.Fatal(err)
	}
	held, err := ipc.NewEvent(ctx, nc, name)
	if err != nil {
		log.Fatal(err)
	}
	lock, err := ipc.NewLock(ctx, nc, name)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { // the primitives outlive processes: delete them
		for _, del := range []func(context.Context) error{v.Delete, held.Delete, lock.Delete} {
			_ = del(context.WithoutCancel(ctx))
		}
	}()

	holder, err := pool.Start(ctx, p, hold, struct{}{})
	if err != nil {
		log.Fatal(err)
	}
	if err := held.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	var adders []*pool.Process[struct{}]
	for range procs {
		pr, err := pool.Start(ctx, p, add, each)
		if err != nil {
			log.Fatal(err)
		}
		adders = append(adders, pr)
	}
	fmt.Println("a process holds the lock; killing it mid-section")
	killed := time.Now()
	if err := holder.Kill(); err != nil {
		log.Fatal(err)
	}
	for _, pr := range adders {
		if _, err := pr.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	total, err := v.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d processes × %d increments under the lock: %d\n", procs, each, total)
	fmt.Printf("done %.1fs after the kill (lease %v)\n", time.Since(killed).Seconds(), lease)
}
