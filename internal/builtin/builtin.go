// Package builtin registers the tasks that procpool's own binaries serve:
// the CLI's demo and bench, and the standalone worker, so that a client
// and remote workers built from this repository agree on them.
package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/procpool/procpool/worker"
)

// Who is what the whoami task returns: where a task ran.
type Who struct {
	ID      string `json:"id"`
	PID     int    `json:"pid"`
	PPID    int    `json:"ppid"`
	Host    string `json:"host"`
	Attempt int    `json:"attempt"`
	// GOMAXPROCS of the worker process that ran the task.
	GOMAXPROCS int `json:"gomaxprocs"`
}

func who(ctx context.Context) Who {
	i := worker.Current(ctx)
	return Who{ID: i.WorkerID, PID: i.PID, PPID: i.PPID, Host: i.Host, Attempt: i.Attempt, GOMAXPROCS: runtime.GOMAXPROCS(0)}
}

// CrashArg asks the crash-once task to kill its own worker on its first
// attempt after Delay, and to return on later attempts.
type CrashArg struct {
	Delay time.Duration `json:"delay"`
}

var (
	// Upper upper-cases a string.
	Upper = worker.Register("procpool.upper", func(ctx context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	// Square squares an int.
	Square = worker.Register("procpool.square", func(ctx context.Context, n int) (int, error) {
		return n * n, nil
	})
	// Echo returns its argument: the smallest possible task, for overhead.
	Echo = worker.Register("procpool.echo", func(ctx context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	// Sleep sleeps for its argument (honouring ctx) and says where it ran.
	Sleep = worker.Register("procpool.sleep", func(ctx context.Context, d time.Duration) (Who, error) {
		select {
		case <-time.After(d):
			return who(ctx), nil
		case <-ctx.Done():
			return Who{}, ctx.Err()
		}
	})
	// SHA256 hashes bytes, hex-encoded.
	SHA256 = worker.Register("procpool.sha256", func(ctx context.Context, b []byte) (string, error) {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]), nil
	})
	// Primes counts the primes below n, by trial division: CPU-bound.
	Primes = worker.Register("procpool.primes", func(ctx context.Context, n int) (int, error) {
		if n < 0 || n > 1e9 {
			return 0, fmt.Errorf("primes: n=%d out of range [0, 1e9]", n)
		}
		return CountPrimes(n), nil
	})
	// WhoAmI says which worker ran it.
	WhoAmI = worker.Register("procpool.whoami", func(ctx context.Context, _ struct{}) (Who, error) {
		return who(ctx), nil
	})
	// CrashOnce kills its own worker process on its first attempt (SIGKILL;
	// TerminateProcess on Windows), to show that the task still completes,
	// on another worker.
	CrashOnce = worker.Register("procpool.crash-once", func(ctx context.Context, a CrashArg) (Who, error) {
		if worker.Current(ctx).Attempt == 1 {
			time.Sleep(a.Delay)
			if self, err := os.FindProcess(os.Getpid()); err == nil {
				_ = self.Kill()
			}
			select {}
		}
		return who(ctx), nil
	})
)

// CountPrimes counts the primes below n.
func CountPrimes(n int) int {
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}
