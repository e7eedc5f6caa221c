// Package dashboard serves a live web page of procpool pools: their
// workers as a process tree per host, throughput and queue depth charts,
// the Map and IMap calls in flight with their progress, recent task
// failures, and the queues and pipes on the broker.
//
// The server reads only what the pools publish on their own subjects (the
// workers' heartbeats, the callers' calls reports) and the JetStream
// state of their streams, over a connection the caller provides, so it
// needs no more than a pool's worker credentials (a caller's show the
// workers and queues, not the calls: those carry every caller's
// failures). It pushes the page a
// new state once a second with server-sent events; the page and its
// charting library (uPlot, vendored under assets/uplot) are embedded in
// the binary, so nothing is fetched from elsewhere.
//
// Secure by default: it listens on loopback unless told otherwise, and
// refuses a non-loopback address without a token; it is read-only unless
// Config.AllowControl, which adds a drain button per worker.
//
// The command line is `procpool dashboard`; in a program, use
// pool.WithDashboard.
package dashboard
