//go:build unix

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/ipc"
)

// The JetStream meta leader of a 3-node cluster stops (SIGSTOP: its
// connections stay up and it answers nothing) for 20 s, as the chaos
// nemesis stops nodes, while a caller on another node makes a pipe, a
// queue and a lock. The API requests that went to the stopped leader are
// never answered, and before ipc bounded each attempt, one of them held
// NewPipe for the caller's whole context (a chaos run with the
// meta-leader fault, issue 18: "pool: new pipe: create stream: context
// deadline exceeded" after 2 minutes). Now each is asked again once the
// others have elected a leader.
//
// The stream and buckets are R3, so the new leader may also answer "no
// suitable peers for placement" (10005) once it has seen the stopped
// node offline: that answer too is asked again, until the node is back.
// Whether the new leader has yet seen the node offline is a race, so
// the test asserts no particular answer, only that the calls complete.
func TestIPCSurvivesMetaLeaderStop(t *testing.T) {
	const stopFor = 20 * time.Second // > wire.APIAttempt: the lost attempt ends while the node is stopped
	c := startCluster(t)
	leader := c.metaLeader(t)
	other := (leader + 1) % len(c.nodes)
	nc, err := nats.Connect(c.urls[other], nats.UserInfo("caller", callerPassword), nats.CustomInboxPrefix("_INBOX.caller"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)

	pid := c.nodes[leader].pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var contOnce sync.Once
	cont := func() {
		contOnce.Do(func() {
			_ = syscall.Kill(pid, syscall.SIGCONT)
			t.Logf("meta leader %s resumed %s after the stop", c.names[leader], time.Since(stopped).Round(time.Millisecond))
		})
	}
	t.Cleanup(cont)
	resume := time.AfterFunc(stopFor, cont)
	t.Cleanup(func() { resume.Stop() })
	t.Logf("meta leader %s (pid %d) stopped for %s", c.names[leader], pid, stopFor)

	// The bound a caller would give: long, but the old code spent all of it.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, b, err := ipc.NewPipe[string](ctx, nc, ipc.WithReplicas(3))
	if err != nil {
		t.Fatalf("NewPipe with the meta leader stopped, after %s: %v", time.Since(stopped).Round(time.Millisecond), err)
	}
	t.Logf("NewPipe done %s after the stop", time.Since(stopped).Round(time.Millisecond))
	q, err := ipc.NewQueue[int](ctx, nc, "metaleader", ipc.WithReplicas(3))
	if err != nil {
		t.Fatalf("NewQueue with the meta leader stopped, after %s: %v", time.Since(stopped).Round(time.Millisecond), err)
	}
	l, err := ipc.NewLock(ctx, nc, "metaleader", ipc.WithReplicas(3))
	if err != nil {
		t.Fatalf("NewLock with the meta leader stopped, after %s: %v", time.Since(stopped).Round(time.Millisecond), err)
	}
	t.Logf("pipe, queue and lock made %s after the stop", time.Since(stopped).Round(time.Millisecond))

	// They work.
	if err := a.Send(ctx, "over"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Recv(ctx); err != nil || got != "over" {
		t.Fatalf("pipe Recv = %q, %v", got, err)
	}
	if err := q.Put(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Get(ctx); err != nil || got != 7 {
		t.Fatalf("queue Get = %d, %v", got, err)
	}
	if err := l.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	cont()
	_ = a.Close()
	_ = b.Close()
	_ = q.Close()
}

// metaLeader returns the index of the node that is the JetStream meta
// leader, as the nodes' /jsz says.
func (c *testCluster) metaLeader(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := http.Client{Timeout: 2 * time.Second}
	for {
		var last error
		for _, mon := range c.mons {
			name, err := jszLeader(&client, mon)
			if err != nil {
				last = err
				continue
			}
			for i, n := range c.names {
				if n == name {
					return i
				}
			}
			last = fmt.Errorf("/jsz on %s names the meta leader %q, not a node of the cluster", mon, name)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no meta leader: %v", last)
		}
		time.Sleep(200 * time.Millisecond) // poll, bounded by deadline
	}
}

func jszLeader(client *http.Client, mon string) (string, error) {
	resp, err := client.Get("http://" + mon + "/jsz")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var jsz struct {
		Meta *struct {
			Leader string `json:"leader"`
		} `json:"meta_cluster"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&jsz); err != nil {
		return "", err
	}
	if jsz.Meta == nil || jsz.Meta.Leader == "" {
		return "", fmt.Errorf("/jsz on %s: no meta leader yet", mon)
	}
	return jsz.Meta.Leader, nil
}
