// Command process starts two worker processes that each report they
// started, wait a moment, and print their parent's pid and their own; the
// parent starts both, joins both, and says when all are done. The parent
// pid the processes print is this program's pid.
//
// Python:
//
//	def f(name):
//	    print(name, 'started')
//	    time.sleep(0.5)
//	    print(name, 'parent process:', os.getppid(), 'process id:', os.getpid())
//
//	if __name__ == '__main__':
//	    ps = [Process(target=f, args=(n,)) for n in ('bob', 'alice')]
//	    for p in ps: p.start()
//	    print('started both')
//	    for p in ps: p.join()
//	    print('all done')
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var info = worker.Register("examples.process.info", func(ctx context.Context, name string) (struct{}, error) {
	fmt.Printf("%s started\n", name)
	time.Sleep(500 * time.Millisecond)
	fmt.Printf("%s: parent process: %d, process id: %d\n", name, os.Getppid(), os.Getpid())
	return struct{}{}, nil
})

func main() {
	worker.Main() // a worker process runs its task here and exits

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// No pool workers: the pool is the broker the processes report to.
	p, err := pool.New(ctx, pool.WithProcesses(0))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	fmt.Printf("main process id: %d\n", os.Getpid())
	var procs []*pool.Process[struct{}]
	for _, name := range []string{"bob", "alice"} {
		pr, err := pool.Start(ctx, p, info, name)
		if err != nil {
			log.Fatal(err)
		}
		procs = append(procs, pr)
	}
	fmt.Println("started both")
	for _, pr := range procs {
		if _, err := pr.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("all done")
}
