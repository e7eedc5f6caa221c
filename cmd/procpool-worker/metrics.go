package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/procpool/procpool/metrics"
)

// serveMetrics serves, on o.metrics, the Prometheus metrics of the worker
// processes this process supervises (their heartbeats: metrics.WorkerCollector
// with this pid as their parent), until the returned stop is called. With no
// --metrics it does nothing.
func serveMetrics(o options, log *slog.Logger) (stop func(), err error) {
	if o.metrics == "" {
		return func() {}, nil
	}
	opts := o.connOptions(nats.Name("procpool-worker metrics"), nats.Timeout(3*time.Second),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true)) // the broker may not be up yet: serve() waits for it
	nc, err := nats.Connect(o.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("metrics: connect: %w", err)
	}
	ppid := os.Getpid()
	if o.processes == 0 {
		ppid = os.Getppid() // serving in this process: its beats name our parent
	}
	col, err := metrics.NewWorkerCollector(nc, o.cfg.Pool, ppid)
	if err != nil {
		nc.Close()
		return nil, err
	}
	srv, err := metrics.Listen(o.metrics, col)
	if err != nil {
		_ = col.Close()
		nc.Close()
		return nil, err
	}
	log.Info("serving metrics", "url", "http://"+srv.Addr()+"/metrics")
	return func() {
		_ = srv.Close()
		_ = col.Close()
		nc.Close()
	}, nil
}
