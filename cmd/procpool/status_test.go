package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/pool"
)

func TestStatusNeedsURL(t *testing.T) {
	t.Setenv("PROCPOOL_URL", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"status"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--url") {
		t.Fatalf("status without a URL: exit %d, stderr %q", code, errOut.String())
	}
	if code := run([]string{"status", "--url", "nats://127.0.0.1:1", "--log-format", "xml"}, &out, &errOut); code != 2 {
		t.Fatalf("status --log-format xml: exit %d, want 2", code)
	}
}

func TestStatusJSONAndTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown()
	p, err := pool.New(ctx, pool.WithBroker(b.ClientURL()), pool.WithCredentials(b.User(), b.Password()),
		pool.WithName("st"), pool.WithProcesses(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	if _, err := pool.Map(ctx, p, builtin.Square, []int{1, 2, 3, 4}, pool.WithChunksize(1)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROCPOOL_USER", b.User())
	t.Setenv("PROCPOOL_PASSWORD", b.Password())
	var out, errOut bytes.Buffer
	if code := run([]string{"status", "--url", b.ClientURL(), "--pool", "st", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("status --json: exit %d: %s", code, errOut.String())
	}
	var rep statusReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	ws := p.Workers()
	if len(rep.Workers) != len(ws) {
		t.Fatalf("status: %d workers, pool: %d", len(rep.Workers), len(ws))
	}
	var done int64
	for i, w := range rep.Workers {
		if w.ID != ws[i].ID || w.PID != ws[i].PID || w.State != "idle" {
			t.Errorf("status worker %+v, pool worker %+v", w, ws[i])
		}
		done += w.TasksDone
	}
	if done != 4 || rep.Throughput.TasksLastMinute != 4 || rep.Queue.Pending != 0 || rep.Queue.InFlight != 0 {
		t.Errorf("status: %d done, %d in the last minute, queue %+v; want 4, 4, empty", done, rep.Throughput.TasksLastMinute, rep.Queue)
	}
	out.Reset()
	t.Setenv("PROCPOOL_PASSWORD", b.Password()) // each command takes it out of the environment
	if code := run([]string{"status", "--url", b.ClientURL(), "--pool", "st"}, &out, &errOut); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), ws[0].ID) || !strings.Contains(out.String(), "PROCPOOL_st") {
		t.Errorf("status table:\n%s", out.String())
	}
	// A pool that does not exist is an error, not an empty report.
	t.Setenv("PROCPOOL_PASSWORD", b.Password())
	if code := run([]string{"status", "--url", b.ClientURL(), "--pool", "nosuch"}, &out, &errOut); code != 1 {
		t.Errorf("status of a missing pool: exit %d", code)
	}
}
