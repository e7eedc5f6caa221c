#!/usr/bin/env bash
# Runs `procpool bench` and Python's multiprocessing on the same workloads, interleaved
# RUNS times (default 2), and prints the headline figures of each run side by
# side with the ratio, plus the medians over the runs. The machines are
# shared and noisy: compare ratios from the same run, never absolute times
# from different runs.
#
#   scripts/bench-vs-python.sh            # from the repository root
#   RUNS=3 scripts/bench-vs-python.sh
#   ONLY=payload scripts/bench-vs-python.sh    # values of every size only
#   CGO_ENABLED=1 scripts/bench-vs-python.sh   # procpool linked with libc
#
# Python's side is bench/python/multiprocessing_bench.py: the same workloads
# and JSON keys as `procpool bench`. ONLY=default runs every section but
# payload, ONLY=payload only payload, ONLY=all (the default) both.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-2}
ONLY=${ONLY:-all}
ANCHOR=${ANCHOR:-bench/python/multiprocessing_bench.py}
out=$(mktemp -d)
# Built as deploy/build.sh builds the shipped binaries: static, pure Go.
# CGO_ENABLED=1 links libc, whose pages add ~1-1.5 MB to each worker's RSS.
CGO_ENABLED=${CGO_ENABLED:-0} go build -trimpath -ldflags='-s -w' -o "$out/procpool" ./cmd/procpool
echo "--- procpool built with CGO_ENABLED=${CGO_ENABLED:-0}" >&2
for i in $(seq "$RUNS"); do
  : > "$out/go$i.txt"; : > "$out/py$i.txt"
  if [ "$ONLY" != payload ]; then
    echo "--- run $i: procpool bench" >&2
    "$out/procpool" bench --json | tail -n 1 >> "$out/go$i.txt"
    echo "--- run $i: python3 $ANCHOR" >&2
    python3 "$ANCHOR" --json --only pool,ipc,cpu,startup | tail -n 1 >> "$out/py$i.txt"
  fi
  if [ "$ONLY" != default ]; then
    echo "--- run $i: procpool bench --only payload" >&2
    "$out/procpool" bench --only payload --json | tail -n 1 >> "$out/go$i.txt"
    echo "--- run $i: python3 $ANCHOR --only payload" >&2
    python3 "$ANCHOR" --json --only payload | tail -n 1 >> "$out/py$i.txt"
  fi
done
python3 - "$out" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def merged(p):  # one JSON object per line, one line per section run
    d = {}
    for line in open(p).read().split("\n"):
        if line.strip():
            d.update(json.loads(line))
    return d
go = [merged(f"{out}/go{i}.txt") for i in range(1, runs + 1)]
py = [merged(f"{out}/py{i}.txt") for i in range(1, runs + 1)]
# (key, target: ratio go/python must be >= this, or <= for "lower is better")
keys = [("apply_async_tasks_per_s", ">=", 2), ("map_chunk1_items_per_s", ">=", 2), ("imap_chunk1_items_per_s", ">=", 2),
        ("map_default_items_per_s", ">=", 1), ("queue_msgs_per_s", ">=", 1), ("pipe_msgs_per_s", ">=", 1),
        ("apply_p50_us", "<=", 2), ("apply_p99_us", "<=", 1), ("startup_ms", "<=", 1),
        ("arg_mib_per_s", ">=", 1), ("result_mib_per_s", ">=", 1), ("small_map_s", "<=", 2)]
keys = [k for k in keys if all(k[0] in g for g in go)]
print("| figure | " + " | ".join(f"run {i}: procpool / Python = ratio" for i in range(1, runs + 1)) + " | median ratio | target | met |")
print("|---|" + "---:|" * runs + "---:|---|---|")
for k, op, t in keys:
    ratios, cells = [], []
    for g, p in zip(go, py):
        r = g[k] / p[k]
        ratios.append(r)
        cells.append(f"{g[k]:,.1f} / {p[k]:,.1f} = {r:.2f}x")
    m = statistics.median(ratios)
    ok = m >= t if op == ">=" else m <= t
    print(f"| {k} | " + " | ".join(cells) + f" | {m:.2f}x | {op} {t}x | {'yes' if ok else 'NO'} |")
if not all("cpu_speedup" in g for g in go):
    sys.exit(0)  # payload only
sp = [g["cpu_speedup"] for g in go]
print(f"| cpu_speedup (procpool; Python {', '.join(str(p['cpu_speedup']) for p in py)}) | " + " | ".join(f"{s:.2f}" for s in sp) + f" | {statistics.median(sp):.2f} | >= 1.8 | {'yes' if statistics.median(sp) >= 1.8 else 'NO'} |")
for k, t in (("worker_rss_mb", 20), ("worker_private_mb", 20), ("parent_rss_mb", 100)):
    v = [g.get(k, float("nan")) for g in go]
    print(f"| {k} | " + " | ".join(f"{x:.1f} MB" for x in v) + f" | {statistics.median(v):.1f} MB | <= {t} MB | {'yes' if statistics.median(v) <= t else 'NO'} |")
print(f"| nats_reqrep_per_s (raw ceiling) | " + " | ".join(f"{g['nats_reqrep_per_s']:,.0f}" for g in go) + " | | | |")
# The floors under apply(), same runs: core NATS and JetStream round trips to
# a responder process, next to Python's apply() figures.
for k, pk in (("nats_reqrep_p50_us", "apply_p50_us"), ("nats_reqrep_p99_us", "apply_p99_us"),
              ("jetstream_rtt_p50_us", "apply_p50_us"), ("jetstream_rtt_p99_us", "apply_p99_us")):
    if all(k in g for g in go):
        print(f"| {k} (floor; vs Python {pk}) | " + " | ".join(f"{g[k]:,.1f} / {p[pk]:,.1f} = {g[k]/p[pk]:.2f}x" for g, p in zip(go, py)) + " | | | |")
PY
echo "raw outputs: $out" >&2
