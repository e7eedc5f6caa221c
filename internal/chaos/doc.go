// Package chaos is procpool's chaos run (`procpool chaos`): a 3-node
// cluster of real `procpool broker` processes, two worker hosts of real
// `procpool-worker` processes (in network namespaces when it runs as root
// with ip(8)), and caller processes running a mixed workload, while a
// nemesis driven by a seed kills, stops, restarts and partitions them at
// random. Everything that happens goes into a history (history.go) that is
// checked afterwards against procpool's promises (check.go): one outcome
// per accepted task, no result for a task never submitted, executions per
// task at most MaxAttempts and more than one only around a fault, every
// queue item got (a duplicate only around a fault), recovery within a
// bound once the nemesis stops, a worker host that stops within its bound,
// and no process left behind.
//
// Files: cluster.go (the brokers), hosts.go (the worker hosts), netns.go
// (namespaces, bridge, partitions), netns_lossy.go (lossy links and
// one-way partitions, with Config.Lossy), proc.go (processes), callers.go (the
// caller processes, seen from the run), workload.go (what a caller process
// does), nemesis.go (the faults), history.go (the record), check.go (the
// verdict), run.go (the whole run). The engine needs Linux (/proc,
// signals, namespaces); elsewhere Run says so.
package chaos
