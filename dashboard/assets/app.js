// procpool dashboard: renders the state the server pushes over server-sent
// events. Every value from the server goes into the page as text, never as
// markup.
"use strict";

(function () {
  const pp = { state: null, charts: {}, updates: 0 };
  window.procpool = pp; // for people (and tests) poking at the page

  const $ = (sel, root) => (root || document).querySelector(sel);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const k of kids) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  function num(n) { return Number(n || 0).toLocaleString("en-US"); }
  function bytes(b) {
    if (!b) return "-";
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return b.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function dur(s) {
    if (s === undefined || s === null || !isFinite(s)) return "-";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return Math.floor(s / 60) + " m " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " m";
  }
  function since(t, now) {
    const d = (now - Date.parse(t)) / 1000;
    return d >= 0 ? dur(d) + " ago" : "-";
  }
  function clock(t) { return new Date(t).toLocaleTimeString(); }

  // ---- charts -------------------------------------------------------------

  function chartOpts(title, series, width) {
    return {
      title: title, width: width, height: 170,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
      axes: [{}, { size: 60 }],
      series: [{}].concat(series),
    };
  }

  function charts(section, ps) {
    let c = pp.charts[ps.name];
    const boxes = section.querySelectorAll(".chart");
    if (!c) {
      const w = Math.max(280, boxes[0].clientWidth || 480);
      c = pp.charts[ps.name] = {
        rate: new uPlot(chartOpts("tasks/s (a chunk of a Map counts once)", [{ label: "tasks/s", stroke: "#2e9d5b", fill: "rgba(46,157,91,.12)", width: 2 }], w),
          [ps.series.t, ps.series.rate], boxes[0]),
        queue: new uPlot(chartOpts("queue depth", [
          { label: "pending", stroke: "#d08a12", width: 2 },
          { label: "in flight", stroke: "#2f6fdf", width: 2 }], w),
          [ps.series.t, ps.series.pending, ps.series.in_flight], boxes[1]),
      };
      return;
    }
    c.rate.setData([ps.series.t, ps.series.rate]);
    c.queue.setData([ps.series.t, ps.series.pending, ps.series.in_flight]);
  }

  window.addEventListener("resize", () => {
    for (const c of Object.values(pp.charts)) {
      for (const u of [c.rate, c.queue]) {
        const w = u.root.parentElement.clientWidth;
        if (w > 0) u.setSize({ width: w, height: 170 });
      }
    }
  });

  // ---- sections -----------------------------------------------------------

  function poolSection(name) {
    let s = document.querySelector(`section.pool[data-pool="${CSS.escape(name)}"]`);
    if (s) return s;
    s = el("section", { class: "pool card", "data-pool": name },
      el("h2", {}, "pool ", el("span", { class: "name" }, name)),
      el("div", { class: "summary" }),
      el("div", { class: "charts" }, el("div", { class: "chart rate" }), el("div", { class: "chart queue" })),
      el("h3", {}, "Calls in flight"), el("div", { class: "calls" }),
      el("h3", {}, "Workers"), el("div", { class: "workers" }),
      el("h3", {}, "Failures"), el("div", { class: "failures" }),
      el("h3", {}, "Callers"), el("div", { class: "callers" }));
    $("#pools").append(s);
    return s;
  }

  function summary(ps) {
    const alive = ps.workers.filter((w) => w.state !== "dead" && w.state !== "exited").length;
    const dead = ps.workers.length - alive;
    const rate = ps.series.rate.length ? ps.series.rate[ps.series.rate.length - 1] : 0;
    const parts = [
      el("b", {}, alive), " workers live", dead ? [", ", el("b", {}, dead), " gone"] : null,
      " · queue ", el("b", {}, num(ps.queue.pending)), " pending, ", el("b", {}, num(ps.queue.in_flight)), " in flight",
      " · ", el("b", { class: "rate" }, rate.toFixed(1)), " tasks/s",
      " · retries ", el("b", {}, num(ps.retried)), " · workers lost ", el("b", { class: "lost" }, num(ps.lost)),
      ps.queue.error ? [" · queue: ", ps.queue.error] : null,
    ].flat();
    return parts.filter((x) => x !== null && x !== undefined);
  }

  function callsTable(ps) {
    if (!ps.calls.length) return el("p", { class: "empty" }, "No Map or IMap call in flight.");
    const rows = ps.calls.map((c) => {
      const total = c.total;
      const pct = total > 0 ? Math.min(100, (100 * c.done) / total) : 0;
      const fpct = total > 0 ? Math.min(100, (100 * c.failed) / total) : 0;
      const label = total >= 0 ? `${num(c.done)} / ${num(total)} (${Math.floor(pct)}%)` : `${num(c.done)} / ?`;
      return el("tr", { class: "call", "data-caller": c.caller, "data-id": c.id, "data-done": c.done, "data-failed": c.failed,
        "data-total": total, "data-ended": c.ended ? "true" : "false" },
        el("td", {}, c.kind), el("td", {}, c.task),
        el("td", {}, el("div", { class: "progress" }, el("div", { class: "bar" },
          el("div", { class: "done", style: `width:${pct - fpct}%` }),
          el("div", { class: "failed", style: `left:${pct - fpct}%;width:${fpct}%` })),
          el("span", { class: "label" }, label))),
        el("td", { class: "num" }, num(c.failed)),
        el("td", { class: "num" }, c.rate ? c.rate.toFixed(1) + "/s" : "-"),
        el("td", { class: "num" }, c.ended ? "done" : c.eta_seconds ? dur(c.eta_seconds) : "-"),
        el("td", {}, `${c.host} pid ${c.pid}`));
    });
    return el("table", {}, el("thead", {}, el("tr", {}, ...["kind", "task", "progress", "failed", "rate", "ETA", "caller"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
  }

  // workersTable draws the process tree: host, then each parent process,
  // then its workers, the way pstree shows a pool.
  function workersTable(ps, control, now) {
    if (!ps.workers.length) return el("p", { class: "empty" }, "No worker has sent a heartbeat.");
    const head = ["", "id", "pid", "state", "task", "for", "done", "errors", "RSS", "started"];
    if (control) head.push("");
    const rows = [];
    const byHost = new Map();
    for (const w of ps.workers) {
      if (!byHost.has(w.host)) byHost.set(w.host, new Map());
      const byParent = byHost.get(w.host);
      if (!byParent.has(w.ppid)) byParent.set(w.ppid, []);
      byParent.get(w.ppid).push(w);
    }
    for (const [host, byParent] of byHost) {
      rows.push(el("tr", { class: "host", "data-host": host }, el("td", { colspan: head.length }, host)));
      const parents = [...byParent.keys()];
      parents.forEach((ppid, pi) => {
        const lastParent = pi === parents.length - 1;
        rows.push(el("tr", { class: "parent", "data-ppid": ppid },
          el("td", { class: "tree" }, lastParent ? "└─" : "├─"),
          el("td", { colspan: head.length - 1 }, `parent process, pid ${ppid}`)));
        const ws = byParent.get(ppid);
        ws.forEach((w, wi) => {
          const glyph = (lastParent ? "   " : "│  ") + (wi === ws.length - 1 ? "└─" : "├─");
          const gone = w.state === "dead" || w.state === "exited";
          const cells = [
            el("td", { class: "tree" }, glyph),
            el("td", { class: "id" }, w.id),
            el("td", { class: "pid num" }, w.pid),
            el("td", { class: "state" }, el("span", { class: w.state }, w.state)),
            el("td", { class: "task" }, w.task || "-"),
            el("td", { class: "num" }, w.task ? dur(w.task_seconds) : "-"),
            el("td", { class: "num done" }, num(w.done)),
            el("td", { class: "num errors" }, num(w.errors)),
            el("td", { class: "num" }, bytes(w.rss)),
            el("td", {}, since(w.started, now)),
          ];
          if (control) {
            cells.push(el("td", {}, gone || w.state === "draining" ? "" :
              el("button", { class: "drain", "data-worker": w.id, onclick: () => drain(ps.name, w.id) }, "drain")));
          }
          rows.push(el("tr", { class: "worker", "data-id": w.id, "data-pid": w.pid, "data-ppid": w.ppid, "data-state": w.state }, ...cells));
        });
      });
    }
    return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
  }

  const openStacks = new Set();

  function failuresTable(ps, now) {
    if (!ps.failures.length) return el("p", { class: "empty" }, "No task has failed.");
    const rows = ps.failures.map((f) => {
      const key = f.caller + " " + f.seq;
      const msg = el("td", { class: "message-cell" }, el("span", { class: "message" }, f.message));
      if (f.stack) {
        const d = el("details", { open: openStacks.has(key) }, el("summary", {}, "stack"), el("pre", {}, f.stack));
        d.addEventListener("toggle", () => { d.open ? openStacks.add(key) : openStacks.delete(key); });
        msg.append(d);
      }
      return el("tr", { class: "failure", "data-code": f.code },
        el("td", {}, clock(f.time)), el("td", {}, f.task), el("td", { class: "code" }, f.code), msg,
        el("td", {}, f.worker ? `${f.worker} (pid ${f.pid}${f.host ? " on " + f.host : ""})` : "-"),
        el("td", { class: "num" }, f.attempt || "-"));
    });
    return el("table", {}, el("thead", {}, el("tr", {}, ...["time", "task", "code", "message", "worker", "attempt"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows));
  }

  function callersTable(ps) {
    if (!ps.callers.length) return el("p", { class: "empty" }, "No caller has reported.");
    const rows = ps.callers.map((c) => el("tr", { class: "caller" },
      el("td", {}, `${c.host} pid ${c.pid}`), el("td", { class: "num" }, num(c.submitted)),
      el("td", { class: "num" }, num(c.completed)), el("td", { class: "num" }, num(c.failed)),
      el("td", { class: "num" }, num(c.retried)), el("td", { class: "num" }, num(c.in_flight))));
    return el("table", {}, el("thead", {}, el("tr", {}, ...["caller", "submitted", "completed", "failed", "retried", "in flight (Apply, ApplyAsync, maps)"].map((h) => el("th", { class: h === "caller" ? "" : "num" }, h)))),
      el("tbody", {}, ...rows));
  }

  function streamsTable(streams) {
    const tb = $("#streams tbody");
    tb.replaceChildren(...(streams.length ? streams.map((s) => el("tr", { class: "stream", "data-kind": s.kind },
      el("td", {}, s.kind), el("td", {}, s.name), el("td", { class: "num" }, num(s.messages)),
      el("td", { class: "num" }, bytes(s.bytes)), el("td", { class: "num" }, s.consumers))) :
      [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No queue or pipe."))]));
  }

  async function drain(pool, id) {
    if (!confirm(`Drain worker ${id}? It finishes its task, takes no more and exits; the pool replaces it.`)) return;
    const r = await fetch("/api/drain", {
      method: "POST", headers: { "Content-Type": "application/json", "X-Procpool-Control": "1" },
      body: JSON.stringify({ pool: pool, worker: id }),
    });
    if (!r.ok) alert("drain: " + (await r.text()));
  }
  pp.drain = drain;

  function render(st) {
    pp.state = st;
    const now = Date.parse(st.time);
    $("#clock").textContent = clock(st.time);
    $("#mode").textContent = st.control ? "control enabled" : "read-only";
    if (st.pools.length) $("#pools .empty")?.remove();
    for (const ps of st.pools) {
      const s = poolSection(ps.name);
      $(".summary", s).replaceChildren(...summary(ps));
      $(".calls", s).replaceChildren(callsTable(ps));
      $(".workers", s).replaceChildren(workersTable(ps, st.control, now));
      $(".failures", s).replaceChildren(failuresTable(ps, now));
      $(".callers", s).replaceChildren(callersTable(ps));
      charts(s, ps);
    }
    streamsTable(st.streams);
    pp.updates++;
    document.body.dataset.updates = pp.updates;
  }

  const es = new EventSource("/events");
  const conn = $("#conn");
  es.addEventListener("open", () => { conn.dataset.state = "live"; conn.textContent = "live"; });
  es.addEventListener("error", () => { conn.dataset.state = "lost"; conn.textContent = "reconnecting…"; });
  es.addEventListener("state", (ev) => {
    try { render(JSON.parse(ev.data)); } catch (e) { console.error("procpool dashboard:", e); }
  });
})();
