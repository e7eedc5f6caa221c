package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/builtin"
	"github.com/procpool/procpool/internal/testutil"
	"github.com/procpool/procpool/pool"
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
	ports := testutil.FreePorts(t, 4)
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
	testutil.WaitFor(t, 30*time.Second, "good1 and good2 to route to each other", func() bool {
		return slices.Contains(routezNames(t, mon1), "good2") && slices.Contains(routezNames(t, mon2), "good1")
	})
	// Each rogue dials the good nodes at once and every second after: wait
	// until it has been turned away, or has joined.
	turnedAway := regexp.MustCompile(`Authorization Violation`)
	for _, r := range []*osProc{rogueNone, rogueWrong} {
		testutil.WaitFor(t, 30*time.Second, r.name+" to be turned away or to join", func() bool {
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
	testutil.WaitFor(t, 10*time.Second, "good2's subscription to reach good1", func() bool {
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

// TestWorkerProcessesInheritNoSecrets is the secrets row: procpool-worker
// is given its credentials in the environment (a token, a user and
// password, or a URL that carries them) next to a route password it has no
// use for; the worker processes it starts, and so task code and whatever
// a task starts, find none of them in their environment. The environment
// read is the one the kernel gave the worker process that ran the task
// (/proc/PID/environ), which is what os.Getenv there returns.
func TestWorkerProcessesInheritNoSecrets(t *testing.T) {
	bin := buildBinaries(t)
	const token, password, routePassword = "tok-5e1f", "pw-7a3b", "route-pw-c4d2"
	for _, tc := range []struct {
		name   string
		broker broker.Config
		env    func(url string) []string
		auth   pool.Option
	}{
		{"token", broker.Config{Token: token},
			func(url string) []string { return []string{"PROCPOOL_URL=" + url, "PROCPOOL_TOKEN=" + token} },
			pool.WithToken(token)},
		{"user and password", broker.Config{User: "w", Password: password},
			func(url string) []string {
				return []string{"PROCPOOL_URL=" + url, "PROCPOOL_USER=w", "PROCPOOL_PASSWORD=" + password}
			},
			pool.WithCredentials("w", password)},
		{"credentials in the URL", broker.Config{User: "w", Password: password},
			func(url string) []string {
				return []string{"PROCPOOL_URL=" + strings.Replace(url, "nats://", "nats://w:"+password+"@", 1)}
			},
			pool.WithCredentials("w", password)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testutil.StartBroker(t, tc.broker)
			env := append(tc.env(b.ClientURL()), "PROCPOOL_POOL="+poolName(t), "PROCPOOL_CLUSTER_PASSWORD="+routePassword)
			startWorkerBinary(t, bin, "procpool-worker", 1, env...)
			p := remotePool(t, pool.WithBroker(b.ClientURL()), tc.auth, pool.WithName(poolName(t)), pool.WithProcesses(0))
			who, err := pool.Apply(testutil.Ctx(t, time.Minute), p, builtin.WhoAmI, struct{}{})
			if err != nil {
				t.Fatal(err)
			}
			environ, err := os.ReadFile("/proc/" + strconv.Itoa(who.PID) + "/environ")
			if err != nil {
				t.Fatalf("environment of worker process %d: %v", who.PID, err)
			}
			var names []string // of the variables, never their values: the test's log is no place for them
			for kv := range strings.SplitSeq(string(environ), "\x00") {
				name, value, _ := strings.Cut(kv, "=")
				names = append(names, name)
				for _, secret := range []string{token, password, routePassword} {
					if strings.Contains(value, secret) {
						t.Errorf("worker process %d inherited a secret in %s", who.PID, name)
					}
				}
			}
			if !slices.Contains(names, "PROCPOOL_POOL") {
				t.Fatalf("worker process %d's environment lacks PROCPOOL_POOL, which it does inherit: %v", who.PID, names)
			}
		})
	}
}
