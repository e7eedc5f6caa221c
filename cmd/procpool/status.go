package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/worker"
)

const statusUsage = `Usage: procpool status [flags]

Shows a pool's workers (from their NATS micro services), its task queue
(the JetStream stream PROCPOOL_<pool> and its consumer) and its throughput
over the last minute. Credentials come from the URL or the environment:
PROCPOOL_TOKEN, or PROCPOOL_USER and PROCPOOL_PASSWORD.

Flags:
`

// statusReport is what procpool status shows; --json prints it as is.
type statusReport struct {
	Pool       string         `json:"pool"`
	Time       time.Time      `json:"time"`
	Workers    []workerStatus `json:"workers"`
	Queue      queueStatus    `json:"queue"`
	Throughput throughput     `json:"throughput"`
	Calls      []callStatus   `json:"calls"` // Map and IMap calls in flight
}

type workerStatus struct {
	ID          string    `json:"id"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	PPID        int       `json:"ppid"`
	State       string    `json:"state"` // idle, busy or draining
	TasksDone   int64     `json:"tasks_done"`
	Errors      int64     `json:"errors"`
	Task        string    `json:"task,omitempty"`
	TaskSeconds float64   `json:"task_seconds,omitempty"` // how long it has run the current task
	RSS         int64     `json:"rss"`                    // bytes
	Done1m      int64     `json:"done_1m"`
	Started     time.Time `json:"started"`
}

type queueStatus struct {
	Stream   string `json:"stream"`
	Pending  uint64 `json:"pending"`   // task messages waiting for a worker
	InFlight int    `json:"in_flight"` // task messages held by workers, not yet acked
	Messages uint64 `json:"messages"`  // messages in the stream
}

type throughput struct {
	TasksLastMinute int64   `json:"tasks_last_minute"`
	PerSecond       float64 `json:"per_second"`
}

// runStatus is `procpool status`.
func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("procpool status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), statusUsage)
		fs.PrintDefaults()
	}
	var cf connFlags
	cf.register(fs, 0)
	asJSON := fs.Bool("json", false, "print one JSON object (for scripts)")
	watch := fs.Bool("watch", false, "refresh in place until interrupted")
	every := fs.Duration("interval", 2*time.Second, "with --watch: time between refreshes")
	timeout := fs.Duration("timeout", 5*time.Second, "bound on connecting and on each query")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if _, err := cf.setup(stderr); err != nil {
		fmt.Fprintln(stderr, "procpool status:", err)
		return 2
	}
	if cf.url == "" {
		fmt.Fprintln(stderr, "procpool status: --url (or PROCPOOL_URL) is required: the broker the pool uses")
		return 2
	}
	if *every <= 0 || *timeout <= 0 {
		fmt.Fprintln(stderr, "procpool status: --interval and --timeout must be > 0")
		return 2
	}
	nc, err := cf.connect(*timeout)
	if err != nil {
		fmt.Fprintln(stderr, "procpool status:", err)
		return 1
	}
	defer nc.Close()
	for {
		rep, err := collectStatus(ctx, nc, cf.poolName, *timeout)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintln(stderr, "procpool status:", err)
			return 1
		}
		if *watch && !*asJSON {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J") // home, clear screen
		}
		if *asJSON {
			data, _ := json.Marshal(rep)
			fmt.Fprintln(stdout, string(data))
		} else {
			printStatus(stdout, rep)
		}
		if !*watch {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(*every):
		}
	}
}

// connect dials the flags' URL with their credentials.
func (c *connFlags) connect(timeout time.Duration) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("procpool status"), nats.Timeout(timeout)}
	if c.token != "" {
		opts = append(opts, nats.Token(c.token))
	}
	if c.user != "" {
		opts = append(opts, nats.UserInfo(c.user, c.password))
	}
	if prefix := wire.InboxPrefix(c.user, c.url); prefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(prefix))
	}
	if c.tlsCA != "" {
		opts = append(opts, nats.RootCAs(c.tlsCA))
	}
	if c.tlsCert != "" {
		opts = append(opts, nats.ClientCert(c.tlsCert, c.tlsKey))
	}
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.url, err)
	}
	return nc, nil
}

// collectStatus asks every procpool micro service for its stats, keeps the
// pool's workers, and reads the task stream's consumer.
func collectStatus(ctx context.Context, nc *nats.Conn, poolName string, timeout time.Duration) (*statusReport, error) {
	rep := &statusReport{Pool: poolName, Time: time.Now().UTC(), Workers: []workerStatus{}}
	gctx, gcancel := context.WithTimeout(ctx, timeout)
	stats, calls, err := gatherStats(gctx, nc, poolName)
	gcancel()
	if err != nil {
		return nil, err
	}
	rep.Calls = calls
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, s := range stats {
		w := workerStatus{ID: s.Metadata[worker.MetaWorkerID], Host: s.Metadata[worker.MetaHost], Started: s.Started}
		w.PID, _ = strconv.Atoi(s.Metadata[worker.MetaPID])
		w.PPID, _ = strconv.Atoi(s.Metadata[worker.MetaPPID])
		for _, e := range s.Endpoints {
			if e.Name != worker.EndpointStatus || len(e.Data) == 0 {
				continue
			}
			var ts worker.TaskStats
			if json.Unmarshal(e.Data, &ts) != nil {
				continue
			}
			w.TasksDone, w.Errors, w.RSS, w.Done1m = ts.TasksDone, ts.TasksFailed, ts.RSS, ts.Done1m
			w.State = "idle"
			if ts.Busy {
				w.State, w.Task = "busy", ts.Task
				if !ts.TaskSince.IsZero() {
					w.TaskSeconds = rep.Time.Sub(ts.TaskSince).Seconds()
				}
			}
			if ts.Draining {
				w.State = "draining"
			}
		}
		rep.Throughput.TasksLastMinute += w.Done1m
		rep.Workers = append(rep.Workers, w)
	}
	sort.Slice(rep.Workers, func(i, j int) bool { return rep.Workers[i].ID < rep.Workers[j].ID })
	rep.Throughput.PerSecond = float64(rep.Throughput.TasksLastMinute) / 60

	subj := wire.Subjects{Pool: poolName}
	rep.Queue.Stream = subj.Stream()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	cons, err := js.Consumer(ctx, subj.Stream(), wire.ConsumerName)
	if err != nil {
		return nil, fmt.Errorf("task stream %s of pool %q: %w", subj.Stream(), poolName, err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumer info: %w", err)
	}
	rep.Queue.Pending, rep.Queue.InFlight = ci.NumPending, ci.NumAckPending
	if str, err := js.Stream(ctx, subj.Stream()); err == nil {
		rep.Queue.Messages = str.CachedInfo().State.Msgs
	}
	return rep, nil
}

// gatherStats sends a micro STATS request to every procpool service and
// collects the answers of poolName's workers. It knows how many to wait
// for from the pool's heartbeats: it listens to them for one heartbeat
// interval (every worker beats once in it), then returns as soon as every
// worker it heard has answered, or when ctx ends with what it has. It
// also collects the calls in flight that callers report meanwhile.
func gatherStats(ctx context.Context, nc *nats.Conn, poolName string) ([]micro.Stats, []callStatus, error) {
	subj := wire.Subjects{Pool: poolName}
	beats := make(chan *nats.Msg, 1024)
	bsub, err := nc.ChanSubscribe(subj.Heartbeat(), beats)
	if err != nil {
		return nil, nil, err
	}
	defer bsub.Unsubscribe()
	reports := make(chan *nats.Msg, 256)
	csub, err := nc.ChanSubscribe(subj.Calls(), reports)
	if err != nil {
		return nil, nil, err
	}
	defer csub.Unsubscribe()
	inbox := nc.NewInbox()
	ch := make(chan *nats.Msg, 1024)
	sub, err := nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, nil, err
	}
	defer sub.Unsubscribe()
	subject := micro.APIPrefix + "." + micro.StatsVerb.String() + "." + worker.ServiceName
	if err := nc.PublishRequest(subject, inbox, nil); err != nil {
		return nil, nil, err
	}
	// Every worker beats once an interval (a second; a beat says its own).
	window := time.NewTimer(beatWindow)
	defer window.Stop()
	listened := false
	heard := map[string]bool{}    // workers that beat
	answered := map[string]bool{} // workers that answered
	var out []micro.Stats
	calls := map[string]callStatus{}
	done := func() ([]micro.Stats, []callStatus, error) {
		list := make([]callStatus, 0, len(calls))
		for _, c := range calls {
			list = append(list, c)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Started.Before(list[j].Started) })
		return out, list, nil
	}
	for {
		if listened && len(answered) >= len(heard) {
			all := true
			for id := range heard {
				all = all && answered[id]
			}
			if all {
				return done()
			}
		}
		select {
		case m := <-ch:
			var s micro.Stats
			if json.Unmarshal(m.Data, &s) == nil && s.Type == micro.StatsResponseType && s.Metadata[worker.MetaPool] == poolName {
				if id := s.Metadata[worker.MetaWorkerID]; !answered[id] {
					answered[id] = true
					out = append(out, s)
				}
			}
		case m := <-beats:
			var b wire.Beat
			if json.Unmarshal(m.Data, &b) == nil && b.ID != "" && !b.Stopping {
				heard[b.ID] = true
			}
		case m := <-reports:
			var r wire.CallsReport
			if json.Unmarshal(m.Data, &r) == nil {
				for _, c := range r.Calls {
					key := r.Caller + " " + strconv.FormatUint(c.ID, 10)
					if c.Ended {
						delete(calls, key)
						continue
					}
					calls[key] = callStatus{CallProgress: c, Host: r.Host, PID: r.PID}
				}
			}
		case <-window.C:
			listened = true
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return done() // those that answered in time
			}
			return nil, nil, ctx.Err()
		}
	}
}

// beatWindow is how long status listens to heartbeats: a worker's
// interval (wire.Beat.Interval, one second) and a margin for a loaded
// machine.
const beatWindow = 1500 * time.Millisecond

// callStatus is a Map or IMap call in flight, as its caller reports it.
type callStatus struct {
	wire.CallProgress
	Host string `json:"host"` // the caller's
	PID  int    `json:"pid"`
}

func printStatus(w io.Writer, r *statusReport) {
	fmt.Fprintf(w, "pool %q: %d workers; queue %s: %d pending, %d in flight; %d tasks in the last minute (%.1f/s)\n\n",
		r.Pool, len(r.Workers), r.Queue.Stream, r.Queue.Pending, r.Queue.InFlight, r.Throughput.TasksLastMinute, r.Throughput.PerSecond)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tHOST\tPID\tSTATE\tDONE\tERRORS\tTASK\tFOR\tRSS")
	for _, x := range r.Workers {
		task, since := "-", "-"
		if x.Task != "" {
			task, since = x.Task, (time.Duration(x.TaskSeconds * float64(time.Second))).Round(100*time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", x.ID, x.Host, x.PID, x.State, x.TasksDone, x.Errors, task, since, mib(x.RSS))
	}
	tw.Flush()
	for _, c := range r.Calls {
		total := "?"
		if c.Total >= 0 {
			total = strconv.FormatInt(c.Total, 10)
		}
		fmt.Fprintf(w, "\n%s %s: %d of %s done, %d failed, for %s (caller pid %d on %s)", c.Kind, c.Task, c.Done, total, c.Failed,
			roundDur(r.Time.Sub(c.Started)), c.PID, c.Host)
	}
	if len(r.Calls) > 0 {
		fmt.Fprintln(w)
	}
}

func roundDur(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB"
}
