package pool

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// Option configures New.
type Option func(*options) error

type options struct {
	processes        int
	brokerURL        string
	user, password   string
	token            string
	tlsCA            string
	tlsCert, tlsKey  string
	name             string
	maxAttempts      int
	taskTimeout      time.Duration
	maxTasksPerChild int
	workerGOMAXPROCS int // 0: the default, 1
	logger           *slog.Logger
	storeDir         string
	fileStore        bool
	replicas         int
	ackWait          time.Duration
	valueTTL         time.Duration // WithValueTTL; 0: blob.DefaultTTL
	maxQueuedBytes   int64         // WithMaxQueuedBytes; 0: wire.DefaultTaskStreamBytes
	startTimeout     time.Duration
	stopTimeout      time.Duration
	metricsAddr      string // WithMetrics (metrics.go)
	dashboardAddr    string // WithDashboard (dashboard.go)
	workerLogLevel   string // WithWorkerLog (logging.go)
	workerLogFormat  string
	workerOutput     *workerOutput // WithWorkerOutputPrefix (output.go)
}

func defaultOptions() options {
	return options{
		processes:    runtime.NumCPU(),
		name:         "default",
		maxAttempts:  3,
		ackWait:      wire.DefaultAckWait,
		startTimeout: 30 * time.Second,
		stopTimeout:  10 * time.Second,
	}
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}

// WithProcesses sets how many local worker processes the pool spawns and
// supervises. Default runtime.NumCPU(); 0 means remote workers only.
func WithProcesses(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("WithProcesses(%d): negative", n)
		}
		o.processes = n
		return nil
	}
}

// WithBroker makes the pool use an existing NATS server or cluster (a URL or
// a comma-separated list; credentials may be in it, nats://TOKEN@host:4222)
// instead of starting an embedded broker.
func WithBroker(url string) Option {
	return func(o *options) error {
		if url == "" {
			return invalid("WithBroker: empty URL")
		}
		o.brokerURL = url
		return nil
	}
}

// WithCredentials sets the user and password for WithBroker's server.
func WithCredentials(user, password string) Option {
	return func(o *options) error {
		if user == "" {
			return invalid("WithCredentials: empty user")
		}
		if err := wire.CheckUserName(user); err != nil {
			return invalid("WithCredentials: %v", err)
		}
		o.user, o.password = user, password
		return nil
	}
}

// WithToken sets the token for WithBroker's server.
func WithToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return invalid("WithToken: empty token")
		}
		o.token = token
		return nil
	}
}

// WithTLS sets the TLS files for WithBroker's server, for this pool's
// connection and its worker processes (which get the paths, not the
// contents): caFile is a PEM certificate authority to trust (a private CA;
// "" trusts the system's roots), certFile and keyFile a client certificate
// for a server that verifies clients ("" for none). The files are checked
// here.
func WithTLS(caFile, certFile, keyFile string) Option {
	return func(o *options) error {
		if caFile == "" && certFile == "" {
			return invalid("WithTLS: no CA and no certificate")
		}
		if (certFile == "") != (keyFile == "") {
			return invalid("WithTLS: certificate and key go together")
		}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return invalid("WithTLS: CA: %v", err)
			}
			if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				return invalid("WithTLS: CA %s: no PEM certificate in it", caFile)
			}
		}
		if certFile != "" {
			if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
				return invalid("WithTLS: client certificate: %v", err)
			}
		}
		o.tlsCA, o.tlsCert, o.tlsKey = caFile, certFile, keyFile
		return nil
	}
}

// WithName sets the pool's name: its task stream and subjects, and what
// remote workers join with (procpool-worker --pool NAME). Default "default".
func WithName(name string) Option {
	return func(o *options) error {
		if err := wire.ValidPoolName(name); err != nil {
			return invalid("WithName: %v", err)
		}
		o.name = name
		return nil
	}
}

// WithMaxAttempts bounds how many times a task is executed when each
// execution ends with its worker dead or hung; then it fails with
// ErrWorkerLost. Tasks that return an error are not retried. Default 3.
func WithMaxAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return invalid("WithMaxAttempts(%d): want at least 1", n)
		}
		o.maxAttempts = n
		return nil
	}
}

// WithTaskTimeout sets each task's deadline. Its context is cancelled then;
// a task that ignores that for a grace period gets an ErrTimeout error and
// its worker process is replaced. Default 0: no timeout.
func WithTaskTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return invalid("WithTaskTimeout(%s): negative", d)
		}
		if d > 0 && d < time.Millisecond {
			return invalid("WithTaskTimeout(%s): below 1ms", d)
		}
		o.taskTimeout = d
		return nil
	}
}

// WithWorkerGOMAXPROCS sets how many threads may run Go code at once in
// each local worker process. Default 1: the pool starts one process per
// CPU, each meant to keep one CPU busy, as a Python worker does; with all
// the CPUs each, the workers' idle threads spin on CPUs their siblings
// need, which costs apply latency (BENCHMARKS.md, Figures behind code
// comments). Give more to tasks that run goroutines in parallel; -1 keeps
// Go's default (the GOMAXPROCS environment variable or the CPU count).
func WithWorkerGOMAXPROCS(n int) Option {
	return func(o *options) error {
		if n == 0 || n < -1 {
			return invalid("WithWorkerGOMAXPROCS(%d): want 1 or more, or -1 for Go's default", n)
		}
		o.workerGOMAXPROCS = n
		return nil
	}
}

// WithMaxTasksPerChild recycles each local worker process after it has run
// n tasks (Python's maxtasksperchild). Default 0: never.
func WithMaxTasksPerChild(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return invalid("WithMaxTasksPerChild(%d): negative", n)
		}
		o.maxTasksPerChild = n
		return nil
	}
}

// WithLogger sets the logger for the pool, its embedded broker and the
// supervision of its workers. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return invalid("WithLogger: nil")
		}
		o.logger = l
		return nil
	}
}

// WithFileStore keeps the pool's tasks in a JetStream file store in dir
// instead of memory, so that accepted tasks survive a broker restart. With
// WithBroker, dir is ignored and the stream is created with file storage.
func WithFileStore(dir string) Option {
	return func(o *options) error {
		o.fileStore, o.storeDir = true, dir
		return nil
	}
}

// WithReplicas sets the task stream's replica count on a cluster. Default:
// 3 when connected to a cluster of 3 or more servers, else 1.
func WithReplicas(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return invalid("WithReplicas(%d): want 1 to 5", n)
		}
		o.replicas = n
		return nil
	}
}

// WithAckWait sets how long a task's worker may be silent (dead, stopped,
// cut off) before the task is given to another worker. Live workers send
// progress every AckWait/5, so long tasks are not affected. A local worker
// that dies has its task redelivered at once regardless. Default 5s.
func WithAckWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 100*time.Millisecond {
			return invalid("WithAckWait(%s): below 100ms", d)
		}
		o.ackWait = d
		return nil
	}
}

// WithMaxQueuedBytes bounds the bytes of the pool's queued tasks (its
// task stream; large values are stored apart and do not count). A call
// that would go past it fails with the broker's "maximum bytes exceeded"
// after a few retries; nothing already queued is dropped. Default 1 GiB.
func WithMaxQueuedBytes(n int64) Option {
	return func(o *options) error {
		if n < 1<<20 {
			return invalid("WithMaxQueuedBytes(%d): below 1 MiB", n)
		}
		o.maxQueuedBytes = n
		return nil
	}
}

// WithValueTTL bounds how long a large value stored beside the broker
// (an argument or result too large for a message) can outlive a caller or
// worker killed before it deleted the value; values are otherwise deleted
// as soon as their task is over. It is the pool's object store bucket's
// TTL, set when the bucket is made: a task still queued after it finds its
// argument gone and fails with a clear error. Default 24h.
func WithValueTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Second {
			return invalid("WithValueTTL(%s): below 1s", d)
		}
		o.valueTTL = d
		return nil
	}
}

// WithStartTimeout bounds how long New waits for its worker processes to
// connect. Default 30s.
func WithStartTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return invalid("WithStartTimeout(%s): want > 0", d)
		}
		o.startTimeout = d
		return nil
	}
}
