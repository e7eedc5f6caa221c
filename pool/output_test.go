package pool_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

var (
	printLines = worker.Register("test.print-lines", func(ctx context.Context, n int) (int, error) {
		for i := range n {
			fmt.Printf("line %d of %d\n", i, os.Getpid())
		}
		fmt.Fprintf(os.Stderr, "to stderr from %d\n", os.Getpid())
		return os.Getpid(), nil
	})
	printPartial = worker.Register("test.print-partial", func(ctx context.Context, _ struct{}) (int, error) {
		fmt.Printf("partial %d", os.Getpid()) // no newline: flushed when the process exits
		return os.Getpid(), nil
	})
)

// TestWorkerOutputPrefix: with WithWorkerOutputPrefix, what worker
// processes print reaches the parent's writers as whole lines prefixed with
// the worker's id, never mixed between workers printing at the same time,
// and a last partial line is flushed when its worker exits.
func TestWorkerOutputPrefix(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := pool.New(ctx, pool.WithProcesses(2), pool.WithName("prefix"), pool.WithWorkerOutputPrefixTo(&stdout, &stderr))
	if err != nil {
		t.Fatal(err)
	}
	const calls, lines = 8, 200
	pids, err := pool.Map(ctx, p, printLines, []int{lines, lines, lines, lines, lines, lines, lines, lines}, pool.WithChunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	partialPID, err := pool.Apply(ctx, p, printPartial, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil { // waits for the workers, and their output
		t.Fatal(err)
	}
	if len(pids) != calls {
		t.Fatalf("%d results", len(pids))
	}

	lineRE := regexp.MustCompile(`^\[w \S+-(\d+)\] (?:line \d+ of (\d+)|partial (\d+))$`)
	counted, partial := map[string]int{}, 0
	for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		m := lineRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("stdout line %q: not a whole, prefixed line", l)
		}
		if m[2]+m[3] != m[1] {
			t.Fatalf("stdout line %q: printed by %s%s, prefixed with worker pid %s", l, m[2], m[3], m[1])
		}
		if m[3] != "" {
			partial++
			if m[3] != strconv.Itoa(partialPID) {
				t.Fatalf("partial line %q, want from pid %d", l, partialPID)
			}
			continue
		}
		counted[m[1]]++
	}
	total := 0
	for _, n := range counted {
		total += n
	}
	if total != calls*lines || partial != 1 {
		t.Fatalf("stdout: %d prefixed lines and %d partial ones, want %d and 1", total, partial, calls*lines)
	}
	for _, pid := range pids {
		if counted[strconv.Itoa(pid)] == 0 {
			t.Fatalf("no line from worker %d", pid)
		}
	}
	errLines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	want := 0
	for _, l := range errLines {
		if !strings.HasPrefix(l, "[w ") {
			t.Fatalf("stderr line %q: not prefixed", l)
		}
		if strings.Contains(l, "] to stderr from ") {
			want++
		}
	}
	if want != calls {
		t.Fatalf("stderr: %d task lines, want %d:\n%s", want, calls, stderr.String())
	}
}
