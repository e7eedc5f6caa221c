package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ErrInvalidArgument is wrapped by the errors of this package's
// constructors for bad arguments.
var ErrInvalidArgument = errors.New("metrics: invalid argument")

// Server is an HTTP endpoint serving Prometheus metrics at /metrics.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	once sync.Once
}

// Listen serves the collectors' metrics, plus the Go runtime's and the
// process's, on addr ("host:port"; port 0 picks a free one) at /metrics,
// in a registry of its own, until Close.
func Listen(addr string, cs ...prometheus.Collector) (*Server, error) {
	if addr == "" {
		return nil, fmt.Errorf("%w: empty address", ErrInvalidArgument)
	}
	reg := prometheus.NewRegistry()
	cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range cs {
		if c == nil {
			return nil, fmt.Errorf("%w: nil collector", ErrInvalidArgument)
		}
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	s := &Server{ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting up to 5s for scrapes in progress. It is
// idempotent.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err = s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.done
	})
	return err
}

// ConstHistogram makes a histogram metric from per-bucket counts (not
// cumulative; one more count than bounds, the last for +Inf) and a sum.
func ConstHistogram(d *prometheus.Desc, bounds []float64, counts []int64, sum float64, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		if i < len(counts) {
			cum += uint64(max(counts[i], 0))
		}
		buckets[b] = cum
	}
	if len(counts) > len(bounds) {
		cum += uint64(max(counts[len(bounds)], 0))
	}
	return prometheus.MustNewConstHistogram(d, cum, sum, buckets, labels...)
}
