package pool_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/internal/testutil/pooltest"
	"github.com/procpool/procpool/internal/wire"
	"github.com/procpool/procpool/pool"
)

// A caller reports its Map and IMap calls on the pool's calls subject, a
// few times a second however many tasks complete, each call ending with
// Done == Total, and its failed results with their worker and attempt.
func TestCallsReported(t *testing.T) {
	const name = "callsrep"
	p := pooltest.New(t, 30*time.Second, nil, pool.WithName(name), pool.WithProcesses(2))
	ctx := testutil.Ctx(t, 60*time.Second)
	reports := make(chan *nats.Msg, 1024)
	sub, err := p.Conn().ChanSubscribe(wire.Subjects{Pool: name}.Calls(), reports)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	items := slices.Repeat([]int{2}, 600) // ms each
	start := time.Now()
	if _, err := pool.Map(ctx, p, sleepMS, items, pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	n := 0
	for _, err := range pool.IMap(ctx, p, square, slices.Values([]int{1, 2, 3, 4, 5})) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if _, err := pool.Apply(ctx, p, failing, "x7"); err == nil {
		t.Fatal("Apply(failing) succeeded")
	}

	var mapEnded, imapEnded, failed bool
	during := 0
	deadline := time.After(15 * time.Second)
	for !(mapEnded && imapEnded && failed) {
		select {
		case m := <-reports:
			var r wire.CallsReport
			if err := json.Unmarshal(m.Data, &r); err != nil {
				t.Fatalf("report: %v: %s", err, m.Data)
			}
			if r.Pool != name || r.Caller == "" || r.PID == 0 {
				t.Errorf("report from %q pid %d of pool %q", r.Caller, r.PID, r.Pool)
			}
			for _, c := range r.Calls {
				switch {
				case c.Kind == "map" && c.Task == sleepMS.Name():
					during++
					if c.Total != 600 || c.Done > c.Total {
						t.Errorf("map progress %+v", c)
					}
					mapEnded = mapEnded || (c.Ended && c.Done == 600 && c.Failed == 0)
				case c.Kind == "imap" && c.Task == square.Name():
					imapEnded = imapEnded || (c.Ended && c.Done == 5 && c.Total == 5)
				}
			}
			for _, f := range r.Failures {
				if f.Message == "bad x7" {
					failed = true
					if f.Code != wire.CodeTask || f.Task != failing.Name() || f.Worker == "" || f.PID == 0 || f.Attempt != 1 {
						t.Errorf("failure %+v", f)
					}
				}
			}
		case <-deadline:
			t.Fatalf("after 15s: map ended %v, imap ended %v, failure %v", mapEnded, imapEnded, failed)
		}
	}
	// Rate-limited: about two reports a second, not one per task.
	if limit := int(took/(400*time.Millisecond)) + 3; during > limit {
		t.Errorf("%d reports of a %s Map of 600 tasks, want at most %d", during, took.Round(time.Millisecond), limit)
	}
}
