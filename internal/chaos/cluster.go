//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/internal/wire"
)

// node is one broker node: a `procpool broker` process with a file store
// and authenticated routes, restarted with the same command line.
type node struct {
	name string // n1, n2, n3: the server name and the role
	argv []string
	url  string // its client URL
	mon  string // its monitoring address (host:port), where /jsz names the meta leader
	p    *proc
}

// The pool every process of the run uses.
const poolName = "chaos"

// startCluster starts the three nodes and waits until JetStream answers on
// each.
func (r *run) startCluster(ctx context.Context) error {
	clientPorts, routePorts, monPorts := []int{4222, 4222, 4222}, []int{6222, 6222, 6222}, []int{8222, 8222, 8222}
	hosts := []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}
	listen := "127.0.0.1"
	if r.net != nil {
		listen = "0.0.0.0"
		for i := range 3 {
			hosts[i] = r.net.addr(fmt.Sprintf("n%d", i+1))
		}
	} else {
		var err error
		if clientPorts, err = freePorts(3); err != nil {
			return err
		}
		if routePorts, err = freePorts(3); err != nil {
			return err
		}
		if monPorts, err = freePorts(3); err != nil {
			return err
		}
	}
	var routes, urls []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats-route://%s:%d", hosts[i], routePorts[i]))
		urls = append(urls, fmt.Sprintf("nats://%s:%d", hosts[i], clientPorts[i]))
	}
	r.urls = strings.Join(urls, ",")
	for i := range 3 {
		n := &node{name: fmt.Sprintf("n%d", i+1), url: urls[i], mon: net.JoinHostPort(hosts[i], strconv.Itoa(monPorts[i]))}
		n.argv = []string{r.cfg.Procpool, "broker", "--name", n.name,
			"--listen", net.JoinHostPort(listen, strconv.Itoa(clientPorts[i])),
			"--monitor", n.mon,
			"--store", filepath.Join(r.dir, n.name),
			"--cluster", net.JoinHostPort(listen, strconv.Itoa(routePorts[i])),
			"--routes", strings.Join(routes, ",")}
		if r.net != nil {
			n.argv = r.net.wrap(n.name, n.argv)
		}
		r.nodes = append(r.nodes, n)
		if err := r.startNode(n); err != nil {
			return err
		}
	}
	for _, n := range r.nodes {
		if err := waitUntil(ctx, 90*time.Second, "JetStream on "+n.name, func() bool { return r.jetStreamOK(n) }); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) startNode(n *node) error {
	env := []string{"PROCPOOL_TOKEN=" + r.token, "PROCPOOL_CLUSTER_USER=route", "PROCPOOL_CLUSTER_PASSWORD=" + r.routePassword}
	p, err := r.procs.start("broker "+n.name, filepath.Join(r.dir, n.name+".log"), env, n.argv...)
	if err != nil {
		return err
	}
	n.p = p
	return nil
}

// jetStreamOK says whether n answers a JetStream request.
func (r *run) jetStreamOK(n *node) bool {
	nc, err := nats.Connect(n.url, nats.Token(r.token), nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err == nil
}

// metaLeader is the name of the JetStream meta leader, as the first node
// that answers its monitoring endpoint says.
func (r *run) metaLeader(ctx context.Context) (string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	var last error
	for _, n := range r.nodes {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.mon+"/jsz", nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		var jsz struct {
			Meta *struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&jsz)
		resp.Body.Close()
		if err == nil && jsz.Meta != nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader, nil
		}
		last = fmt.Errorf("%s: no meta leader in /jsz (%v)", n.name, err)
	}
	return "", last
}

// streamState is the task stream's health as seen through the run's
// connection: its leader, whether every replica is current, and what its
// workers' consumer still has to deliver or see acknowledged.
type streamState struct {
	leader  string
	current bool // every replica current
	pending uint64
	detail  string // the consumer's counts, for a report
}

func (r *run) streamState(ctx context.Context) (streamState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	js, err := jetstream.New(r.admin)
	if err != nil {
		return streamState{}, err
	}
	s, err := js.Stream(ctx, wire.Subjects{Pool: poolName}.Stream())
	if err != nil {
		return streamState{}, err
	}
	si := s.CachedInfo()
	st := streamState{current: true}
	if si.Cluster != nil {
		st.leader = si.Cluster.Leader
		if len(si.Cluster.Replicas) != 2 {
			st.current = false
		}
		for _, p := range si.Cluster.Replicas {
			if !p.Current || p.Offline {
				st.current = false
			}
		}
	}
	c, err := s.Consumer(ctx, wire.ConsumerName)
	if err != nil {
		return st, err
	}
	ci := c.CachedInfo()
	st.pending = ci.NumPending + uint64(ci.NumAckPending)
	st.detail = fmt.Sprintf("%d pending, %d unacknowledged, %d redelivered, %d waiting pulls; stream %d messages, first %d last %d",
		ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, si.State.Msgs, si.State.FirstSeq, si.State.LastSeq)
	return st, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// waitUntil polls cond until it holds, for at most d.
func waitUntil(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("chaos: %s: not within %s", what, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}
