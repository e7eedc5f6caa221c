// Command returnvalue starts three worker processes that each return a
// name upper-cased, and prints the three return values: what Python's
// Process cannot return without a Queue or a Manager.
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

var upper = worker.Register("examples.returnvalue.upper", func(ctx context.Context, name string) (string, error) {
	return strings.ToUpper(name), nil
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

	var procs []*pool.Process[string]
	for _, name := range []string{"john", "paul", "george"} {
		pr, err := pool.Start(ctx, p, upper, name)
		if err != nil {
			log.Fatal(err)
		}
		procs = append(procs, pr)
	}
	for _, pr := range procs {
		v, err := pr.Join(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(v)
	}
}
