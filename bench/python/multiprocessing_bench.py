#!/usr/bin/env python3
"""Python's multiprocessing on the workloads of `procpool bench`.

The same workloads, sizes and JSON keys as `procpool bench --json`, so that
scripts/bench-vs-python.sh can print procpool / Python ratios measured in the
same run. Every figure is the median over --repeats runs.

  python3 bench/python/multiprocessing_bench.py --json
  python3 bench/python/multiprocessing_bench.py --only payload --json

Sections: pool, ipc, cpu, startup; payload runs only when named.
Keys (Pool(2) throughout):
  apply_async_tasks_per_s   20,000 apply_async calls, then every get()
  map_chunk1_items_per_s    map over 100,000 short strings, chunksize=1
  map_default_items_per_s   the same, default chunksize
  imap_chunk1_items_per_s   imap over 20,000, chunksize=1
  apply_p50_us, apply_p99_us  2,000 sequential apply() round trips
  queue_msgs_per_s          one producer process, 200,000 messages through a Queue
  pipe_msgs_per_s           the same through a Pipe
  cpu_speedup               40 tasks of ~20 ms: wall with 1 process / with 2
  startup_ms                spawn start method: Pool(2) created + first result
  small_map_s               map(len) over 1,000,000 distinct 100-byte strings, default chunksize (seconds)
  arg_mib_per_s             map(len) over 40 distinct 5 MiB strings
  result_mib_per_s          map returning 40 results of 5 MiB bytes
"""
import argparse
import json
import multiprocessing as mp
import statistics
import time

HEADLINE = {}


def upper(s):
    return s.upper()


def noop(x):
    return x


def length(s):
    return len(s)


def blob(n):
    # procpool's bench returns the same pattern: 0..250 over and over
    return bytes(range(251)) * (n // 251) + bytes(range(n % 251))


def burn(n):
    t = 0
    for i in range(n):
        t += i * i
    return t


def items(n):
    return [f"item-{i}-abc" for i in range(n)]


def record(key, name, unit, vals):
    m = statistics.median(vals)
    if key:
        HEADLINE[key] = m
    print(f"  {name:<56} {m:>14,.2f} {unit:<8} (min {min(vals):,.2f}, max {max(vals):,.2f}, n={len(vals)})", flush=True)


def timed(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def pool_section(repeats, scale):
    n_map, n_imap, n_apply, n_lat = (int(x * scale) for x in (100_000, 20_000, 20_000, 2_000))
    data_map, data_imap = items(n_map), items(n_imap)
    with mp.Pool(2) as pool:
        pool.map(upper, items(1000))
        for cs, key in ((1, "map_chunk1_items_per_s"), (None, "map_default_items_per_s")):
            secs = timed(lambda: pool.map(upper, data_map, chunksize=cs), repeats)
            record(key, f"map {n_map:,} chunksize={cs or 'default'}", "items/s", [n_map / s for s in secs])
        secs = timed(lambda: sum(1 for _ in pool.imap(upper, data_imap, chunksize=1)), repeats)
        record("imap_chunk1_items_per_s", f"imap {n_imap:,} chunksize=1", "items/s", [n_imap / s for s in secs])

        def gather():
            for r in [pool.apply_async(upper, (s,)) for s in data_imap[:n_apply]]:
                r.get()
        secs = timed(gather, repeats)
        record("apply_async_tasks_per_s", f"apply_async x{n_apply:,} then get all", "tasks/s", [n_apply / s for s in secs])

        p50, p99 = [], []
        for _ in range(repeats):
            lat = []
            for _ in range(n_lat):
                t0 = time.perf_counter_ns()
                pool.apply(upper, ("hello",))
                lat.append((time.perf_counter_ns() - t0) / 1000)
            lat.sort()
            p50.append(lat[len(lat) // 2])
            p99.append(lat[max(int(len(lat) * 0.99) - 1, 0)])
        record("apply_p50_us", f"apply() round trip p50 ({n_lat:,} calls)", "us", p50)
        record("apply_p99_us", f"apply() round trip p99 ({n_lat:,} calls)", "us", p99)


def put_all(q, n):
    for _ in range(n):
        q.put("hello-world-msg")
    q.put(None)


def send_all(conn, n):
    for _ in range(n):
        conn.send("hello-world-msg")
    conn.send(None)
    conn.close()


def ipc_section(repeats, scale):
    n = int(200_000 * scale)
    rates = []
    for _ in range(repeats):
        q = mp.Queue()
        t0 = time.perf_counter()
        p = mp.Process(target=put_all, args=(q, n))
        p.start()
        got = 0
        while q.get() is not None:
            got += 1
        rates.append(n / (time.perf_counter() - t0))
        p.join()
        assert got == n
    record("queue_msgs_per_s", f"Queue, 1 producer process -> parent, {n:,} msgs", "msgs/s", rates)
    rates = []
    for _ in range(repeats):
        r, w = mp.Pipe(duplex=False)
        t0 = time.perf_counter()
        p = mp.Process(target=send_all, args=(w, n))
        p.start()
        w.close()
        got = 0
        while r.recv() is not None:
            got += 1
        rates.append(n / (time.perf_counter() - t0))
        p.join()
        assert got == n
    record("pipe_msgs_per_s", f"Pipe, 1 producer process -> parent, {n:,} msgs", "msgs/s", rates)


def cpu_section(repeats):
    n = 200_000
    while True:  # calibrate to ~20 ms in this process
        t0 = time.perf_counter()
        burn(n)
        dt = time.perf_counter() - t0
        if dt > 0.005:
            break
        n *= 2
    n = int(n * 0.020 / dt)
    walls = {}
    for procs in (1, 2):
        with mp.Pool(procs) as pool:
            pool.map(burn, [1000] * 4)
            walls[procs] = timed(lambda: pool.map(burn, [n] * 40, chunksize=1), repeats)
    record("cpu_speedup", "40 x ~20 ms tasks: Pool(1) wall / Pool(2) wall", "x", [a / b for a, b in zip(walls[1], walls[2])])


def startup_section(repeats):
    ctx = mp.get_context("spawn")
    ms = []
    for _ in range(repeats * 2):
        t0 = time.perf_counter()
        pool = ctx.Pool(2)
        pool.apply(noop, (1,))
        ms.append((time.perf_counter() - t0) * 1000)
        pool.close()
        pool.join()
    record("startup_ms", "spawn: Pool(2) created + first result", "ms", ms)


def payload_section(repeats):
    small = [f"{i:0100d}" for i in range(1_000_000)]  # distinct objects: pickle would send a repeated one once
    big = [chr(ord("a") + i % 26) * (5 << 20) for i in range(40)]
    with mp.Pool(2) as pool:
        pool.map(length, ["warm"] * 8)
        record("small_map_s", "map(len) 1,000,000 x 100 B strings, default chunksize", "s",
               timed(lambda: pool.map(length, small), repeats))
        secs = timed(lambda: pool.map(length, big), repeats)
        record("arg_mib_per_s", "map(len) 40 distinct 5 MiB strings (arguments)", "MiB/s", [200 / s for s in secs])
        secs = timed(lambda: pool.map(blob, [5 << 20] * 40), repeats)
        record("result_mib_per_s", "map returning 40 x 5 MiB bytes (results)", "MiB/s", [200 / s for s in secs])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="scale the item counts")
    ap.add_argument("--only", default="", help="comma list: pool,ipc,cpu,startup,payload (payload only when named)")
    ap.add_argument("--json", action="store_true", help="print the headline figures as one JSON object, last")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    want = lambda k: not only or k in only
    if want("pool"):
        pool_section(args.repeats, args.scale)
    if want("ipc"):
        ipc_section(args.repeats, args.scale)
    if want("cpu"):
        cpu_section(args.repeats)
    if want("startup"):
        startup_section(args.repeats)
    if "payload" in only:
        payload_section(args.repeats)
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in HEADLINE.items()}, sort_keys=True))


if __name__ == "__main__":
    main()
