package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// procpool bench runs every workload, scaled down, and its --json line has
// every figure py_anchor.py has, each measured (positive).
func TestBenchJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"bench", "--json", "--scale", "0.02", "--repeats", "1"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("bench exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line is not a JSON object of numbers: %v\n%s", err, out.String())
	}
	for _, key := range []string{
		// py_anchor.py's keys, which the issue fixes
		"apply_async_tasks_per_s", "map_chunk1_items_per_s", "map_default_items_per_s",
		"imap_chunk1_items_per_s", "apply_p50_us", "apply_p99_us", "startup_ms",
		"queue_msgs_per_s", "pipe_msgs_per_s", "cpu_speedup",
		// the ceiling and the floors measured in the same run, and memory
		"nats_reqrep_per_s", "nats_reqrep_p50_us", "nats_reqrep_p99_us",
		"jetstream_rtt_p50_us", "jetstream_rtt_p99_us",
		"worker_rss_mb", "worker_private_mb", "parent_rss_mb",
	} {
		if v, ok := got[key]; !ok || v <= 0 {
			t.Errorf("%s = %v (present %v), want a positive figure", key, v, ok)
		}
	}
	if got["apply_p99_us"] < got["apply_p50_us"] || got["jetstream_rtt_p99_us"] < got["jetstream_rtt_p50_us"] {
		t.Errorf("a p99 below its p50: %v", got)
	}
}
