// Package metrics serves procpool's Prometheus metrics: an HTTP endpoint
// (Listen) for a pool's collector (pool.Pool.Collector, pool.WithMetrics)
// and a collector of the workers a process supervises, built from their
// heartbeats (NewWorkerCollector), for standalone worker binaries.
//
// Every collector here is unchecked-free and registry-local: nothing is
// registered with Prometheus' default registry behind the caller's back.
package metrics
