package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

func TestMain(m *testing.M) {
	worker.Main()
	if os.Getenv(parentEnv) != "" {
		os.Exit(parentMain())
	}
	code := m.Run()
	if dir := clusterCertsOnce.dir; dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// execLog records every execution of instrumented tasks: one line
// "<task id> <pid> <attempt>" appended per execution, by whichever worker
// process runs it (O_APPEND writes of one short line are atomic).
type execLog struct{ path string }

func newExecLog(tb testing.TB) execLog {
	return execLog{path: filepath.Join(tb.TempDir(), "exec.log")}
}

type execution struct {
	taskID  string
	pid     int
	attempt int
}

func (l execLog) record(ctx context.Context) {
	info := worker.Current(ctx)
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %d %d\n", info.TaskID, info.PID, info.Attempt)
}

func (l execLog) read(tb testing.TB) []execution {
	tb.Helper()
	f, err := os.Open(l.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []execution
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) != 3 {
			tb.Fatalf("bad exec log line %q", sc.Text())
		}
		pid, _ := strconv.Atoi(parts[1])
		att, _ := strconv.Atoi(parts[2])
		out = append(out, execution{parts[0], pid, att})
	}
	return out
}

// executions counts executions per task id.
func (l execLog) executions(tb testing.TB) map[string][]execution {
	m := map[string][]execution{}
	for _, e := range l.read(tb) {
		m[e.taskID] = append(m[e.taskID], e)
	}
	return m
}

// newPool starts a pool; at cleanup it terminates it and checks that no
// process it spawned is left (invariant I4).
func newPool(tb testing.TB, opts ...pool.Option) *pool.Pool {
	tb.Helper()
	needProcFS(tb)
	return pooltest.New(tb, 30*time.Second, func() { assertNoChildren(tb) }, opts...)
}

// children lists the live processes whose parent is pid (zombies included:
// a zombie is a child nobody reaped, which is a leak too).
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		cpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppidOf(cpid) == pid {
			out = append(out, cpid)
		}
	}
	return out
}

func ppidOf(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name is in parentheses and may hold spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return -1
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

func assertNoChildren(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		kids := children(os.Getpid())
		if len(kids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, k := range kids {
				_ = testutil.KillPID(k)
			}
			tb.Errorf("child processes left behind: %v", kids)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pids of a pool's live workers.
func workerPIDs(p *pool.Pool) []int {
	var out []int
	for _, w := range p.Workers() {
		out = append(out, w.PID)
	}
	return out
}
