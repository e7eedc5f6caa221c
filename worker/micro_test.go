package worker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/procpool/procpool/internal/wire"
)

func TestSemver(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"release", "v1.2.3", "1.2.3"},
		{"pseudo", "v0.0.0-20260101000000-abcdef123456", "0.0.0-20260101000000-abcdef123456"},
		{"dirty", "v0.1.0+dirty", "0.1.0+dirty"},
		{"devel", "(devel)", "0.0.0-devel"},
		{"empty", "", "0.0.0-devel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := semver(tc.in); got != tc.want {
				t.Fatalf("semver(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestControlSubject(t *testing.T) {
	if got := ControlSubject("p", "host.example.com-12", EndpointDrain); got != "procpool.p.worker.host_example_com-12.drain" {
		t.Fatalf("ControlSubject = %q", got)
	}
}

// Serve registers the micro service: INFO carries the metadata, the status
// endpoint the heartbeat, and the drain endpoint makes Serve return.
func TestServeMicroServiceAndDrain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc := brokerConns(t, 1)[0] // helpers_test.go
	reg := NewRegistry()
	RegisterIn(reg, "t.echo", func(ctx context.Context, s string) (string, error) { return s, nil })
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, Config{Conn: nc, Pool: "mt", ID: "w.1", Registry: reg}) }()

	var info micro.Info
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := nc.Request("$SRV.INFO."+ServiceName, nil, time.Second)
		if err == nil && json.Unmarshal(m.Data, &info) == nil && info.Metadata[MetaWorkerID] == "w.1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no INFO from the worker's micro service: %v", err)
		}
	}
	md := info.Metadata
	if md[MetaPool] != "mt" || md[MetaPID] != strconv.Itoa(os.Getpid()) || md[MetaTasks] != "t.echo" || md[MetaNumTasks] != "1" {
		t.Fatalf("metadata %v", md)
	}
	// The service answers INFO as soon as it exists, a moment before its
	// endpoints are added, one by one: ask each until it answers.
	ask := func(subject string) *nats.Msg {
		for {
			m, err := nc.Request(subject, nil, 5*time.Second)
			if err == nil {
				return m
			}
			if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
				t.Fatalf("%s: %v", subject, err)
			}
			time.Sleep(10 * time.Millisecond) // poll interval, bounded by deadline
		}
	}
	m := ask(ControlSubject("mt", "w.1", EndpointStatus))
	var beat wire.Beat
	if err := json.Unmarshal(m.Data, &beat); err != nil || beat.ID != "w.1" || beat.PID != os.Getpid() || beat.RSS <= 0 || beat.Stopping {
		t.Fatalf("status %s (%v)", m.Data, err)
	}
	m = ask(ControlSubject("mt", "w.1", EndpointDrain))
	var rep DrainReply
	if err := json.Unmarshal(m.Data, &rep); err != nil || !rep.Draining || rep.WorkerID != "w.1" {
		t.Fatalf("drain reply %s (%v)", m.Data, err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve after a drain: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after a drain")
	}
	// The service is gone with the worker.
	if _, err := nc.Request("$SRV.PING."+ServiceName, nil, 500*time.Millisecond); err == nil {
		t.Fatal("the micro service still answers after Serve returned")
	}
}
