package integration

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// Process-level tests of the operational defences of docs/security.md
// ("Operations: routes, monitoring, names, secrets"): real procpool
// broker and procpool-worker processes, as an operator runs them.

var readyMonitor = regexp.MustCompile(`procpool broker \S+ ready: .* monitor=(http://\S+)`)

// routezNames lists the server names of the nodes a broker is routed to,
// from its monitoring endpoint.
func routezNames(tb testing.TB, monitor string) []string {
	tb.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(monitor + "/routez")
	if err != nil {
		tb.Fatalf("GET %s/routez: %v", monitor, err)
	}
	defer resp.Body.Close()
	var rz struct {
		Routes []struct {
			RemoteName string `json:"remote_name"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rz); err != nil {
		tb.Fatalf("decode /routez: %v", err)
	}
	var names []string
	for _, r := range rz.Routes {
		if !slices.Contains(names, r.RemoteName) {
			names = append(names, r.RemoteName)
		}
	}
	slices.Sort(names)
	return names
}

// TestRogueBrokerCannotJoinCluster is attack row 10: two nodes share
// route credentials from the environment; a third node that routes to
// them with no credentials, and a fourth with a wrong password, never
// join: the good nodes list only each other as routes, and messages
// published on a good node never reach a subscriber on a rogue one. The
// route password never shows in the nodes' output.
func TestRogueBrokerCannotJoinCluster(t *testing.T) {
	bin := buildBinaries(t)
	const routePassword = "route-secret-9f2c"
	ports := freePorts(t, 4)
	route := func(i int) string { return "nats-route://127.0.0.1:" + strconv.Itoa(ports[i]) }
	goodRoutes := route(0) + "," + route(1)
	node := func(name string, i int, routes string, env ...string) *osProc {
		return startProc(t, name, append([]string{"PROCPOOL_TOKEN=token-" + name}, env...), bin.procpool, "broker",
			"--name", name, "--listen", "127.0.0.1:0", "--monitor", "-1", "--log-level", "debug",
			"--cluster", "127.0.0.1:"+strconv.Itoa(ports[i]), "--routes", routes)
	}
	creds := []string{"PROCPOOL_CLUSTER_USER=route", "PROCPOOL_CLUSTER_PASSWORD=" + routePassword}
	good1 := node("good1", 0, goodRoutes, creds...)
	good2 := node("good2", 1, goodRoutes, creds...)
	rogueNone := node("rogue-none", 2, goodRoutes+","+route(2))
	rogueWrong := node("rogue-wrong", 3, goodRoutes+","+route(3), "PROCPOOL_CLUSTER_USER=route", "PROCPOOL_CLUSTER_PASSWORD=guessed")

	mon1 := good1.waitOutput(t, readyMonitor, 30*time.Second)
	mon2 := good2.waitOutput(t, readyMonitor, 30*time.Second)
	waitFor(t, 30*time.Second, "good1 and good2 to route to each other", func() bool {
		return slices.Contains(routezNames(t, mon1), "good2") && slices.Contains(routezNames(t, mon2), "good1")
	})
	// Each rogue dials the good nodes at once and every second after: wait
	// until it has been turned away, or has joined.
	turnedAway := regexp.MustCompile(`Authorization Violation`)
	for _, r := range []*osProc{rogueNone, rogueWrong} {
		waitFor(t, 30*time.Second, r.name+" to be turned away or to join", func() bool {
			return turnedAway.MatchString(r.out.String()) ||
				slices.Contains(routezNames(t, mon1), r.name) || slices.Contains(routezNames(t, mon2), r.name)
		})
	}
	if r1, r2 := routezNames(t, mon1), routezNames(t, mon2); !slices.Equal(r1, []string{"good2"}) || !slices.Equal(r2, []string{"good1"}) {
		t.Fatalf("a rogue node joined the cluster: good1 routes to %v, good2 to %v", r1, r2)
	}

	// Messages published on good1 reach a subscriber on good2, and none on
	// the rogues.
	connect := func(p *osProc) *nats.Conn {
		u := p.waitOutput(t, readyURL, 30*time.Second)
		nc, err := nats.Connect(u, nats.Token("token-"+p.name), nats.Timeout(5*time.Second))
		if err != nil {
			t.Fatalf("connect to %s: %v", p.name, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	subscribe := func(nc *nats.Conn) *nats.Subscription {
		sub, err := nc.SubscribeSync("procpool.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	pub := connect(good1)
	onGood2 := subscribe(connect(good2))
	rogueConns := []*nats.Conn{connect(rogueNone), connect(rogueWrong)}
	var onRogues []*nats.Subscription
	for _, nc := range rogueConns {
		onRogues = append(onRogues, subscribe(nc))
	}
	// good2's interest reaches good1 over the route: publish until it does.
	waitFor(t, 10*time.Second, "good2's subscription to reach good1", func() bool {
		if err := pub.Publish("procpool.default.probe", nil); err != nil {
			t.Fatal(err)
		}
		_, err := onGood2.NextMsg(100 * time.Millisecond)
		return err == nil
	})
	const n = 100
	for i := range n {
		if err := pub.Publish("procpool.default.task.secret", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < n; {
		m, err := onGood2.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("good2 got %d of %d task messages: %v", got, n, err)
		}
		if m.Subject == "procpool.default.task.secret" {
			got++
		}
	}
	for i, sub := range onRogues {
		if err := rogueConns[i].Flush(); err != nil {
			t.Fatal(err)
		}
		if m, err := sub.NextMsg(200 * time.Millisecond); err == nil {
			t.Fatalf("a rogue node received %s published on good1", m.Subject)
		}
	}

	for _, p := range []*osProc{good1, good2, rogueNone, rogueWrong} {
		if strings.Contains(p.out.String(), routePassword) {
			t.Errorf("%s's output shows the route password", p.name)
		}
	}
}
