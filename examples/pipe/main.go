// Command pipe starts three worker processes that each send a name,
// upper-cased, through one Pipe; the parent receives and prints the three
// messages.
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

// sendArg names the pipe end to send on and the name to send.
type sendArg struct {
	End  string `json:"end"`
	Name string `json:"name"`
}

var send = worker.Register("examples.pipe.send", func(ctx context.Context, a sendArg) (struct{}, error) {
	end, err := ipc.OpenPipe[string](ctx, worker.Conn(ctx), a.End)
	if err != nil {
		return struct{}{}, err
	}
	if err := end.Send(ctx, strings.ToUpper(a.Name)); err != nil {
		return struct{}{}, err
	}
	// Three processes share this end: each flushes; none closes it, which
	// would tell the parent that nothing more is coming.
	return struct{}{}, end.Flush(ctx)
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
	parentEnd, childEnd, err := ipc.NewPipe[string](ctx, p.Conn())
	if err != nil {
		log.Fatal(err)
	}
	defer childEnd.Close()
	defer parentEnd.Close()

	var procs []*pool.Process[struct{}]
	for _, name := range []string{"john", "paul", "george"} {
		pr, err := pool.Start(ctx, p, send, sendArg{End: childEnd.Name(), Name: name})
		if err != nil {
			log.Fatal(err)
		}
		procs = append(procs, pr)
	}
	for range procs {
		v, err := parentEnd.Recv(ctx)
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
