package integration

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
	"github.com/procpool/procpool/worker"
)

// The official nats CLI lists every worker of a running pool, with its
// metadata, and shows each worker's task counters and the task stream.
func TestObserveNatsMicro(t *testing.T) {
	nats := natsCLI(t)
	p := newObservedPool(t, "obsmicro", 2)
	ctx := testutil.Ctx(t, 60*time.Second)
	log := newExecLog(t)
	const n = 12
	for i := range n {
		if _, err := pool.Apply(ctx, p.Pool, quick, probe{N: i, Log: log.path}); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	ws := p.Workers()
	if len(ws) != 2 {
		t.Fatalf("pool reports %d workers, want 2", len(ws))
	}

	// nats micro ls procpool --json: every worker, with its metadata.
	var infos []micro.Info
	out := runCmd(t, 30*time.Second, p.env(), nats, "micro", "ls", "procpool", "--json")
	if err := json.Unmarshal(out, &infos); err != nil {
		t.Fatalf("nats micro ls --json: %v\n%s", err, out)
	}
	host, _ := os.Hostname()
	seen := map[string]micro.Info{}
	for _, in := range infos {
		if in.Metadata[worker.MetaPool] == "obsmicro" {
			seen[in.Metadata[worker.MetaWorkerID]] = in
		}
	}
	if len(seen) != len(ws) {
		t.Fatalf("nats micro ls lists %d workers of the pool, the pool has %d: %s", len(seen), len(ws), out)
	}
	for _, w := range ws {
		in, ok := seen[w.ID]
		if !ok {
			t.Fatalf("worker %s not listed by nats micro ls: %s", w.ID, out)
		}
		md := in.Metadata
		if in.Name != worker.ServiceName || md[worker.MetaPID] != strconv.Itoa(w.PID) || md[worker.MetaHost] != host ||
			md[worker.MetaPPID] != strconv.Itoa(os.Getpid()) || md[worker.MetaVersion] == "" {
			t.Errorf("worker %s (pid %d) listed with name %q metadata %v", w.ID, w.PID, in.Name, md)
		}
		tasks := strings.Split(md[worker.MetaTasks], ",")
		if !slices.Contains(tasks, quick.Name()) || md[worker.MetaNumTasks] != strconv.Itoa(len(tasks)) {
			t.Errorf("worker %s: tasks metadata %q / %q lacks %s", w.ID, md[worker.MetaTasks], md[worker.MetaNumTasks], quick.Name())
		}
		var eps []string
		for _, e := range in.Endpoints {
			eps = append(eps, e.Name+"="+e.Subject)
		}
		for _, ep := range []string{worker.EndpointStatus, worker.EndpointDrain} {
			want := ep + "=" + worker.ControlSubject("obsmicro", w.ID, ep)
			if !slices.Contains(eps, want) {
				t.Errorf("worker %s endpoints %v lack %s", w.ID, eps, want)
			}
		}
	}

	// nats micro stats procpool --json: the workers' task counts add up to
	// what ran, and each worker's matches its own executions.
	var stats []micro.Stats
	out = runCmd(t, 30*time.Second, p.env(), nats, "micro", "stats", "procpool", "--json")
	if err := json.Unmarshal(out, &stats); err != nil {
		t.Fatalf("nats micro stats --json: %v\n%s", err, out)
	}
	perPID := map[int]int64{}
	for _, e := range log.read(t) {
		perPID[e.pid]++
	}
	var total int64
	for _, s := range stats {
		if s.Metadata[worker.MetaPool] != "obsmicro" {
			continue
		}
		pid, _ := strconv.Atoi(s.Metadata[worker.MetaPID])
		var ts worker.TaskStats
		for _, e := range s.Endpoints {
			if e.Name == worker.EndpointStatus {
				if err := json.Unmarshal(e.Data, &ts); err != nil {
					t.Fatalf("stats data of %d: %v: %s", pid, err, e.Data)
				}
			}
		}
		if ts.TasksDone != perPID[pid] || ts.TasksFailed != 0 || ts.RSS <= 0 {
			t.Errorf("worker pid %d: stats %+v, but it executed %d tasks", pid, ts, perPID[pid])
		}
		if ts.TasksDone > 0 && ts.ProcessingTime <= 0 {
			t.Errorf("worker pid %d: processing time %v after %d tasks", pid, ts.ProcessingTime, ts.TasksDone)
		}
		total += ts.TasksDone
	}
	if total != n {
		t.Errorf("nats micro stats: %d tasks done in all, want %d:\n%s", total, n, out)
	}

	// The human views run too, and name the workers.
	table := runCmd(t, 30*time.Second, p.env(), nats, "micro", "stats", "procpool")
	info := runCmd(t, 30*time.Second, p.env(), nats, "micro", "info", "procpool", infoID(seen[ws[0].ID]))
	if !strings.Contains(string(info), ws[0].ID) || !strings.Contains(string(info), "tasks_done") {
		t.Errorf("nats micro info does not show worker %s and its task counts:\n%s", ws[0].ID, info)
	}
	t.Logf("nats micro stats procpool:\n%s", table)

	// nats stream ls: the pool's task stream.
	streams := runCmd(t, 30*time.Second, p.env(), nats, "stream", "ls", "--names")
	if !strings.Contains(string(streams), "PROCPOOL_obsmicro") {
		t.Errorf("nats stream ls does not show PROCPOOL_obsmicro:\n%s", streams)
	}
}

func infoID(in micro.Info) string { return in.ID }
