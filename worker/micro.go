package worker

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/micro"
	"github.com/procpool/procpool/internal/wire"
)

// ServiceName is the NATS micro service every worker registers, so that
// the nats CLI finds them: nats micro ls|info|stats procpool.
const ServiceName = "procpool"

// Metadata keys of a worker's micro service.
const (
	MetaPool     = "pool"      // the pool it serves
	MetaWorkerID = "worker_id" // its id in the pool
	MetaHost     = "host"      // host name
	MetaPID      = "pid"       // process id
	MetaPPID     = "ppid"      // its supervisor's pid
	MetaVersion  = "version"   // procpool's module version
	MetaTasks    = "tasks"     // the task names it serves, comma-separated
	MetaNumTasks = "num_tasks" // how many task names it serves
)

// Endpoint names of a worker's micro service.
const (
	EndpointStatus = "status" // replies with the worker's current heartbeat (JSON)
	EndpointDrain  = "drain"  // the worker finishes its task, takes no more, exits
)

// ControlSubject is the subject of a worker's control endpoint (status or
// drain): procpool.<pool>.worker.<id>.<endpoint>, the id's characters
// outside [A-Za-z0-9_-] replaced by '_'.
func ControlSubject(pool, workerID, endpoint string) string {
	return "procpool." + pool + ".worker." + subjectToken(workerID) + "." + endpoint
}

var notToken = regexp.MustCompile(`[^A-Za-z0-9_-]`)

func subjectToken(s string) string { return notToken.ReplaceAllString(s, "_") }

// TaskStats is the Data of the status endpoint in the micro service's
// stats: the worker's task counters, which `nats micro stats procpool
// --json` and `nats micro info procpool <id>` show. (The service's own
// request counts are for its control endpoints: tasks reach a worker
// through JetStream, not through micro.)
type TaskStats struct {
	TasksDone      int64         `json:"tasks_done"`
	TasksFailed    int64         `json:"tasks_failed"`
	ProcessingTime time.Duration `json:"processing_time"` // nanoseconds executing task messages
	Redelivered    int64         `json:"redelivered"`     // messages it got on a redelivery
	Done1m         int64         `json:"done_1m"`         // tasks executed in the last minute
	Busy           bool          `json:"busy"`
	Task           string        `json:"task,omitempty"`
	TaskSince      time.Time     `json:"task_since,omitzero"`
	RSS            int64         `json:"rss"`
	Draining       bool          `json:"draining"`
}

// DrainReply is the drain endpoint's answer.
type DrainReply struct {
	WorkerID string `json:"worker_id"`
	PID      int    `json:"pid"`
	Draining bool   `json:"draining"`
}

// addService registers the worker's micro service on its connection.
func (rt *executor) addService() (micro.Service, error) {
	names := rt.cfg.Registry.Names()
	svc, err := micro.AddService(rt.nc, micro.Config{
		Name:        ServiceName,
		Version:     semver(moduleVersion()),
		Description: fmt.Sprintf("procpool worker %s of pool %s (pid %d on %s)", rt.cfg.ID, rt.cfg.Pool, rt.pid, rt.host),
		Metadata: map[string]string{
			MetaPool: rt.cfg.Pool, MetaWorkerID: rt.cfg.ID, MetaHost: rt.host,
			MetaPID: strconv.Itoa(rt.pid), MetaPPID: strconv.Itoa(os.Getppid()),
			MetaVersion: moduleVersion(), MetaTasks: strings.Join(names, ","),
			MetaNumTasks: strconv.Itoa(len(names)),
		},
		QueueGroupDisabled: true, // control requests are for one worker, by subject
		StatsHandler: func(e *micro.Endpoint) any {
			if e.Name == EndpointDrain {
				return map[string]bool{"draining": rt.obs.draining()}
			}
			return rt.taskStats()
		},
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			rt.log.Warn("micro service error", "subject", e.Subject, "err", e.Description)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("worker: micro service: %w", err)
	}
	status := func(req micro.Request) {
		data, _ := json.Marshal(rt.beat())
		_ = req.Respond(data)
	}
	drain := func(req micro.Request) {
		rt.log.Info("drain requested: finishing the task in hand, taking no more")
		rt.obs.requestDrain()
		_ = req.RespondJSON(DrainReply{WorkerID: rt.cfg.ID, PID: rt.pid, Draining: true})
	}
	for _, ep := range []struct {
		name string
		h    micro.HandlerFunc
	}{{EndpointStatus, status}, {EndpointDrain, drain}} {
		err := svc.AddEndpoint(ep.name, ep.h, micro.WithEndpointSubject(ControlSubject(rt.cfg.Pool, rt.cfg.ID, ep.name)))
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("worker: micro endpoint %s: %w", ep.name, err)
		}
	}
	return svc, nil
}

// beat is the worker's current heartbeat.
func (rt *executor) beat() wire.Beat {
	rt.mu.Lock()
	j := rt.current
	rt.mu.Unlock()
	b := wire.Beat{
		ID: rt.cfg.ID, PID: rt.pid, PPID: os.Getppid(), Host: rt.host, Pool: rt.cfg.Pool,
		Started: rt.started, TasksDone: rt.done.Load(), Failed: rt.failed.Load(),
		Tasks: rt.cfg.Registry.Names(), Stopping: rt.stop.Load() || rt.obs.draining(), Interval: time.Second,
	}
	if j != nil {
		b.Busy, b.Task, b.TaskSince = true, j.name, j.start
	}
	rt.obs.fill(&b)
	return b
}

func (rt *executor) taskStats() TaskStats {
	b := rt.beat()
	return TaskStats{
		TasksDone: b.TasksDone, TasksFailed: b.Failed, ProcessingTime: b.BusyTime,
		Redelivered: b.Redelivered, Done1m: b.Done1m, Busy: b.Busy, Task: b.Task,
		TaskSince: b.TaskSince, RSS: b.RSS, Draining: b.Stopping,
	}
}

// moduleVersion is procpool's module version in this binary's build info.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if bi.Main.Path == "github.com/procpool/procpool" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/procpool/procpool" {
			return d.Version
		}
	}
	return "(devel)"
}

var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$`)

// semver turns a Go module version into the SemVer micro requires;
// "(devel)" and other non-versions become 0.0.0-devel.
func semver(v string) string {
	if m := semverRE.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return "0.0.0-devel"
}
