package broker_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/procpool/procpool/broker"
	"github.com/procpool/procpool/internal/testutil"
)

func TestCredentialsRequired(t *testing.T) {
	b := start(t, broker.Config{})
	if b.User() == "" || len(b.Password()) < 32 {
		t.Fatalf("want generated credentials, got user %q and a %d-char password", b.User(), len(b.Password()))
	}
	if strings.Contains(b.ClientURL(), b.Password()) {
		t.Fatal("ClientURL carries the password")
	}
	tests := []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"none", nil, false},
		{"wrong password", []nats.Option{nats.UserInfo(b.User(), "wrong")}, false},
		{"wrong user", []nats.Option{nats.UserInfo("nobody", b.Password())}, false},
		{"right", []nats.Option{nats.UserInfo(b.User(), b.Password())}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(b.ClientURL(), append(tt.opts, nats.Timeout(5*time.Second))...)
			if tt.ok {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				nc.Close()
				return
			}
			if err == nil {
				nc.Close()
				t.Fatal("connected without valid credentials")
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("want an authorization violation, got %v", err)
			}
		})
	}
}

func TestTokenAuth(t *testing.T) {
	const token = "s3cret-token"
	b := start(t, broker.Config{Token: token})
	if b.Token() != token || b.User() != "" || b.Password() != "" {
		t.Fatalf("Token/User/Password = %q/%q/%q", b.Token(), b.User(), b.Password())
	}
	u, err := url.Parse(b.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	withToken := "nats://" + token + "@" + u.Host
	tests := []struct {
		name string
		url  string
		opts []nats.Option
		ok   bool
	}{
		{"option", b.ClientURL(), []nats.Option{nats.Token(token)}, true},
		{"in url", withToken, nil, true},
		{"none", b.ClientURL(), nil, false},
		{"wrong", b.ClientURL(), []nats.Option{nats.Token("not-it")}, false},
		{"user and password", b.ClientURL(), []nats.Option{nats.UserInfo("procpool", token)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := nats.Connect(tt.url, append(tt.opts, nats.Timeout(5*time.Second))...)
			if nc != nil {
				defer nc.Close()
			}
			if tt.ok && err != nil {
				t.Fatalf("connect: %v", err)
			}
			if !tt.ok && !errors.Is(err, nats.ErrAuthorization) {
				t.Fatalf("want an authorization violation, got %v", err)
			}
		})
	}
	nc := inProcess(t, b)
	if err := nc.Flush(); err != nil {
		t.Fatalf("in-process connection with the token: %v", err)
	}
}

// TestLoopbackOnly dials the broker's port on the machine's other
// addresses: by default it must listen on loopback only.
func TestLoopbackOnly(t *testing.T) {
	b := start(t, broker.Config{})
	u, err := url.Parse(b.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Fatalf("ClientURL %s is not on loopback", b.ClientURL())
	}
	ips := testutil.OtherIPs(t)
	for _, ip := range ips {
		addr := net.JoinHostPort(ip.String(), u.Port())
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("broker reachable on %s", addr)
		}
	}
	if len(ips) == 0 {
		t.Skip("this machine has no non-loopback address to dial")
	}
}

// TestPermissions gives a caller and a worker the recommended role
// permissions and checks what each may do.
func TestPermissions(t *testing.T) {
	callerPerms, err := broker.CallerPermissions("p1", "_INBOX.caller1")
	if err != nil {
		t.Fatal(err)
	}
	workerPerms, err := broker.WorkerPermissions("p1", "_INBOX.worker1")
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.Config{Users: []broker.User{
		{Name: "caller", Password: "caller-pw", Permissions: &callerPerms},
		{Name: "worker", Password: "worker-pw", Permissions: &workerPerms},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The administrator (Connect's credentials) is unrestricted.
	if err := inProcess(t, b).Publish("anything.at.all", nil); err != nil {
		t.Fatal(err)
	}

	caller := connect(t, b.ClientURL(), nats.UserInfo("caller", "caller-pw"),
		nats.CustomInboxPrefix("_INBOX.caller1"))
	werrs := make(chan error, 16)
	worker := connect(t, b.ClientURL(), nats.UserInfo("worker", "worker-pw"),
		nats.CustomInboxPrefix("_INBOX.worker1"), nats.PermissionErrOnSubscribe(true),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case werrs <- err:
			default:
			}
		}))
	cjs, err := jetstream.New(caller)
	if err != nil {
		t.Fatal(err)
	}
	wjs, err := jetstream.New(worker)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cjs.CreateStream(ctx, jetstream.StreamConfig{
		Name:      "P1_TASKS",
		Subjects:  []string{"procpool.p1.task.>"},
		Retention: jetstream.WorkQueuePolicy,
	}); err != nil {
		t.Fatalf("caller creates the task stream: %v", err)
	}

	// A worker takes a task and sends the result to the caller's inbox.
	results, err := caller.SubscribeSync("_INBOX.caller1.results")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cjs.Publish(ctx, "procpool.p1.task.square", []byte("3")); err != nil {
		t.Fatalf("caller publishes a task: %v", err)
	}
	cons, err := wjs.CreateOrUpdateConsumer(ctx, "P1_TASKS", jetstream.ConsumerConfig{Durable: "workers", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("worker creates its consumer: %v", err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("worker fetches a task: %v", err)
	}
	if err := worker.Publish("_INBOX.caller1.results", []byte("9")); err != nil {
		t.Fatal(err)
	}
	if err := msg.DoubleAck(ctx); err != nil {
		t.Fatalf("worker acks: %v", err)
	}
	if m, err := results.NextMsg(10 * time.Second); err != nil || string(m.Data) != "9" {
		t.Fatalf("caller's result: %v, %v", m, err)
	}

	// The worker may not listen on the caller's inbox...
	spy, err := worker.SubscribeSync("_INBOX.caller1.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spy.NextMsg(10 * time.Second); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("worker subscribing to the caller's inbox: want a permissions violation, got %v", err)
	}
	// ...nor delete or purge the stream.
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if err := wjs.DeleteStream(short, "P1_TASKS"); err == nil {
		t.Fatal("worker deleted the stream")
	}
	if err := testutil.WaitErr(werrs, nats.ErrPermissionViolation, 10*time.Second); err != nil {
		t.Fatalf("worker deleting the stream: %v", err)
	}
	if _, err := cjs.Stream(ctx, "P1_TASKS"); err != nil {
		t.Fatalf("stream gone after the worker's attempt: %v", err)
	}
	// The caller may.
	if err := cjs.DeleteStream(ctx, "P1_TASKS"); err != nil {
		t.Fatalf("caller deletes the stream: %v", err)
	}
	// And the caller may not touch another pool.
	cerrs := make(chan error, 4)
	caller.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case cerrs <- err:
		default:
		}
	})
	if err := caller.Publish("procpool.p2.task.x", nil); err != nil {
		t.Fatal(err)
	}
	if err := testutil.WaitErr(cerrs, nats.ErrPermissionViolation, 10*time.Second); err != nil {
		t.Fatalf("caller publishing to another pool: %v", err)
	}
}

func TestRolePermissionsValidate(t *testing.T) {
	tests := []struct {
		name, pool, prefix string
	}{
		{"empty pool", "", "_INBOX.a"},
		{"dotted pool", "a.b", "_INBOX.a"},
		{"wildcard pool", "*", "_INBOX.a"},
		{"bare _INBOX", "p", "_INBOX"},
		{"wildcard prefix", "p", "_INBOX.*"},
		{"empty prefix", "p", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := broker.WorkerPermissions(tt.pool, tt.prefix); !errors.Is(err, broker.ErrInvalidConfig) {
				t.Errorf("WorkerPermissions: want ErrInvalidConfig, got %v", err)
			}
			if _, err := broker.CallerPermissions(tt.pool, tt.prefix); !errors.Is(err, broker.ErrInvalidConfig) {
				t.Errorf("CallerPermissions: want ErrInvalidConfig, got %v", err)
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	perms := &broker.Permissions{Publish: broker.SubjectRules{Allow: []string{"a..b"}}}
	tests := []struct {
		name string
		cfg  broker.Config
	}{
		{"port", broker.Config{Port: 70000}},
		{"negative port", broker.Config{Port: -1}},
		{"host", broker.Config{Host: "bad host"}},
		{"user without password", broker.Config{User: "u"}},
		{"token and user", broker.Config{Token: "t", User: "u", Password: "p"}},
		{"token and users", broker.Config{Token: "t", Users: []broker.User{{Name: "a", Password: "b"}}}},
		{"user without name", broker.Config{Users: []broker.User{{Password: "b"}}}},
		{"user without password in list", broker.Config{Users: []broker.User{{Name: "a"}}}},
		{"duplicate user", broker.Config{Users: []broker.User{{Name: "a", Password: "b"}, {Name: "a", Password: "c"}}}},
		{"user named like the admin", broker.Config{Users: []broker.User{{Name: "procpool", Password: "b"}}}},
		{"bad permission subject", broker.Config{Users: []broker.User{{Name: "a", Password: "b", Permissions: perms}}}},
		{"monitor port", broker.Config{MonitorPort: -2}},
		{"negative limit", broker.Config{MaxStore: -1}},
		{"server name", broker.Config{ServerName: "a b"}},
		{"cluster listen", broker.Config{ClusterListen: "127.0.0.1"}},
		{"cluster port", broker.Config{ClusterListen: "127.0.0.1:99999"}},
		{"routes without cluster", broker.Config{Routes: []string{"nats-route://127.0.0.1:6222"}}},
		{"bad route", broker.Config{ClusterListen: "127.0.0.1:0", Routes: []string{"http://127.0.0.1:6222"}}},
		{"route without port", broker.Config{ClusterListen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1"}}},
		{"cluster user without password", broker.Config{ClusterListen: "127.0.0.1:0", ClusterUser: "r"}},
		{"cluster name", broker.Config{ClusterListen: "127.0.0.1:0", ClusterName: "a b"}},
		{"missing config file", broker.Config{ConfigFile: "/nonexistent/procpool.conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			startRefused(t, context.Background(), tt.cfg, "the config")
		})
	}
}

// TestStartFailsFast checks that a start-up failure is reported at once
// with its reason, not after ReadyTimeout.
func TestStartFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	begin := time.Now()
	b, err := broker.Start(context.Background(), broker.Config{Port: port, ReadyTimeout: time.Minute, Logger: testLogger(t)})
	if err == nil {
		b.Shutdown()
		t.Fatalf("Start on busy port %d succeeded", port)
	}
	if d := time.Since(begin); d > 30*time.Second {
		t.Fatalf("Start took %s to fail", d)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error does not name the port: %v", err)
	}
}
