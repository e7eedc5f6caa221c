package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/procpool/procpool/worker"
)

// ChaosArg is the chaos run's task (internal/chaos): Key names the task,
// Log is the directory its executions are recorded in, Sleep how long it
// runs, Pad bytes that make the argument (and, with Echo, the result) as
// large as the run wants.
type ChaosArg struct {
	Key   string        `json:"key"`
	Log   string        `json:"log"`
	Sleep time.Duration `json:"sleep"`
	Pad   []byte        `json:"pad,omitempty"`
	Echo  bool          `json:"echo,omitempty"`
}

// ChaosResult is its result: the key it ran for, and the pad's hash.
type ChaosResult struct {
	Key string `json:"key"`
	Sum string `json:"sum"`
	Pad []byte `json:"pad,omitempty"`
}

// ChaosSum is the hash ChaosResult.Sum carries.
func ChaosSum(pad []byte) string {
	s := sha256.Sum256(pad)
	return hex.EncodeToString(s[:8])
}

// Chaos records its execution (one line, "key attempt pid host unixnano",
// appended to exec-<pid>.log in a.Log before it does anything else: an
// execution that dies at once still counts), sleeps a.Sleep (honouring
// ctx) and returns its key and the pad's hash.
var Chaos = worker.Register("procpool.chaos", func(ctx context.Context, a ChaosArg) (ChaosResult, error) {
	if a.Log != "" {
		i := worker.Current(ctx)
		f, err := os.OpenFile(filepath.Join(a.Log, fmt.Sprintf("exec-%d.log", os.Getpid())), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return ChaosResult{}, err
		}
		_, err = fmt.Fprintf(f, "%s %d %d %s %d\n", a.Key, i.Attempt, os.Getpid(), i.Host, time.Now().UnixNano())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return ChaosResult{}, err
		}
	}
	select {
	case <-time.After(a.Sleep):
	case <-ctx.Done():
		return ChaosResult{}, ctx.Err()
	}
	r := ChaosResult{Key: a.Key, Sum: ChaosSum(a.Pad)}
	if a.Echo {
		r.Pad = a.Pad
	}
	return r, nil
})
