package worker_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// The test binary is also the workers' binary of ExampleRegister's pool:
// worker.Main turns the copies the pool starts into workers.
func TestMain(m *testing.M) {
	worker.Main()
	os.Exit(m.Run())
}

// shout is registered at package level, so that the parent and every
// worker process know it by its name.
var shout = worker.Register("example.shout", func(ctx context.Context, s string) (string, error) {
	return strings.ToUpper(s) + "!", nil
})

func ExampleRegister() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.WithProcesses(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	s, err := pool.Apply(ctx, p, shout, "hello")
	fmt.Println(s, err)
	// Output: HELLO! <nil>
}
