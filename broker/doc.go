// Package broker runs the embedded NATS server that a procpool pool talks
// through: the replacement for the pipes behind Python's multiprocessing.Queue.
//
// A pool starts one with [Start]: it listens on 127.0.0.1 on a random port,
// refuses connections without the per-broker credentials it generates, never
// installs signal handlers (NoSigs), routes the server's log lines through
// log/slog, and runs JetStream with its own store directory, which is removed
// on [Server.Shutdown] unless the caller supplied it.
//
//	b, err := broker.Start(ctx, broker.Config{})
//	if err != nil { ... }
//	defer b.Shutdown()
//	nc, err := b.Connect() // in-process connection, no TCP hop
//
// This is the only package of procpool that imports nats-server; everything
// else speaks to the broker through nats.go.
package broker
