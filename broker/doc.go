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
// The same [Start] runs a standalone broker node (the "procpool broker"
// command) for remote workers and multi-host pools:
//
//   - authentication by [Config.Token], a single user, or [Config.Users]
//     with per-subject [Permissions]; [CallerPermissions] and
//     [WorkerPermissions] give the recommended sets, so that a worker's
//     credential cannot read other callers' results or delete streams;
//   - TLS for clients ([Config.TLS], [LoadTLS]) and routes
//     ([Config.ClusterTLS], [LoadClusterTLS]);
//   - a cluster: [Config.ClusterListen], [Config.ClusterName] and
//     [Config.Routes] listing every node; JetStream then replicates streams,
//     and [Server.JetStreamReady] waits for its meta leader; routes beyond
//     loopback must authenticate ([Config.ClusterUser] or
//     [Config.ClusterTLS]);
//   - monitoring on request ([Config.MonitorPort]), on loopback unless
//     [Config.MonitorHost] says otherwise;
//   - a standard nats-server configuration file ([Config.ConfigFile]) under
//     the explicit fields.
//
// Every wait is bounded by a context, and every bad setting is an error
// wrapping [ErrInvalidConfig].
//
// This is the only package of procpool that imports nats-server; everything
// else speaks to the broker through nats.go.
package broker
