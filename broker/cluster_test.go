package broker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

// TestCluster3 forms a 3-node cluster, replicates a stream on all three,
// and keeps using it after its leader is shut down.
func TestCluster3(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	js := make([]jetstream.JetStream, len(nodes))
	for i, b := range nodes {
		var err error
		if js[i], err = jetstream.New(inProcess(t, b)); err != nil {
			t.Fatal(err)
		}
	}
	// The meta leader may not have heard from every peer yet ("no
	// suitable peers for placement"), and a request sent during an
	// election gets no answer: retry, each attempt bounded, until ctx ends.
	var st jetstream.Stream
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		st, err = js[0].CreateStream(actx, jetstream.StreamConfig{
			Name:     "R3",
			Subjects: []string{"r3.>"},
			Replicas: 3,
			Storage:  jetstream.FileStorage,
		})
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create R3 stream: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by ctx
	}
	if _, err := js[0].Publish(ctx, "r3.one", []byte("from node 1")); err != nil {
		t.Fatalf("publish on node 1: %v", err)
	}
	if got := readOne(ctx, t, js[2], 1); got != "from node 1" {
		t.Fatalf("read on node 3: %q", got)
	}

	// Shut the stream's leader down; the two others elect a new one.
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream is not replicated on 3 nodes: %+v", info.Cluster)
	}
	leader := info.Cluster.Leader
	var alive []int
	for i, b := range nodes {
		if b.Name() == leader {
			b.Shutdown()
		} else {
			alive = append(alive, i)
		}
	}
	if len(alive) != 2 {
		t.Fatalf("stream leader %q is not one of the nodes", leader)
	}
	// Publishing fails while the survivors elect a leader: retry until
	// it works or ctx ends.
	survivor := js[alive[0]]
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := survivor.Publish(pctx, "r3.two", []byte("after failover"))
		pcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish after the leader's shutdown: %v", err)
		}
	}
	if got := readOne(ctx, t, js[alive[1]], 2); got != "after failover" {
		t.Fatalf("read after failover: %q", got)
	}
}

// readOne reads message seq of stream R3 through js, retrying until ctx
// ends (a new stream leader may still be taking over).
func readOne(ctx context.Context, t *testing.T, js jetstream.JetStream, seq uint64) string {
	t.Helper()
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := js.Stream(rctx, "R3")
		var msg *jetstream.RawStreamMsg
		if err == nil {
			msg, err = st.GetMsg(rctx, seq)
		}
		cancel()
		if err == nil {
			return string(msg.Data)
		}
		if ctx.Err() != nil {
			t.Fatalf("read seq %d: %v", seq, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by ctx
	}
}

func TestStandaloneJetStreamReady(t *testing.T) {
	b := start(t, broker.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.JetStreamReady(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.ClusterSize(); n != 1 {
		t.Fatalf("ClusterSize = %d, want 1", n)
	}
	if a := b.ClusterAddr(); a != "" {
		t.Fatalf("ClusterAddr = %q without a cluster", a)
	}
}

// TestClusterRandomPortAndRouteAuth starts a node on a fixed route port
// that requires route credentials, and a second node on a random route
// port that routes to it.
func TestClusterRandomPortAndRouteAuth(t *testing.T) {
	port := strconv.Itoa(testutil.FreePorts(t, 1)[0])
	first := start(t, broker.Config{
		ClusterListen:   "127.0.0.1:" + port,
		ClusterUser:     "route",
		ClusterPassword: "route-pw",
		Routes:          []string{"127.0.0.1:" + port},
	})
	if got := first.ClusterAddr(); got != "127.0.0.1:"+port {
		t.Fatalf("ClusterAddr = %q, want 127.0.0.1:%s", got, port)
	}
	if info := testutil.ReadInfo(t, first.ClusterAddr()); !strings.Contains(info, `"auth_required":true`) {
		t.Fatalf("route INFO does not require auth: %s", info)
	}
	second := start(t, broker.Config{
		ClusterListen:   "127.0.0.1:0",
		ClusterUser:     "route",
		ClusterPassword: "route-pw",
		Routes:          []string{first.ClusterAddr()},
	})
	if second.ClusterAddr() == "" || strings.HasSuffix(second.ClusterAddr(), ":0") {
		t.Fatalf("ClusterAddr = %q", second.ClusterAddr())
	}
	testutil.WaitFor(t, 20*time.Second, "the two nodes to route", func() bool {
		return first.ClusterSize() == 2 && second.ClusterSize() == 2 && first.NumRoutes() > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := second.JetStreamReady(ctx); err != nil {
		t.Fatal(err)
	}
}

func ExampleServer_JetStreamReady() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := broker.Start(ctx, broker.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Shutdown()
	fmt.Println(b.JetStreamReady(ctx))
	// Output: <nil>
}
