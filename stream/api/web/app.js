// LifeUp's page: calls /v1/score (pasted events) or /v1/score/takeout (uploads) with the key the
// person types, then draws steps, distance and speed per user with the flagged hours marked.
// Plain DOM and SVG: no build step, no CDN. Hash parameters (#key=...&events=<JSON>) pre-fill
// and run it, so a link (or a test in headless Chromium) can open a scored view directly.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

function status(text, isError) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

function parseEvents(text) {
  const trimmed = text.trim();
  if (!trimmed) throw new Error("paste at least one event");
  try {
    return JSON.parse(trimmed);
  } catch (_) {
    return trimmed.split(/\n+/).filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l); } catch (e) { throw new Error(`line ${i + 1} is not JSON: ${e.message}`); }
    });
  }
}

async function call(path, init) {
  const key = $("key").value.trim();
  if (!key) throw new Error("enter an API key first");
  localStorage.setItem("lifeup-key", key);
  const headers = Object.assign({ Authorization: `Bearer ${key}` }, init.headers || {});
  const answer = await fetch(path, Object.assign({}, init, { headers }));
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const codes = (body.rejections || []).slice(0, 5).map((r) => `${r.code}: ${r.detail}`).join("; ");
    throw new Error(`${answer.status} ${body.error || ""}: ${body.detail || answer.statusText}${codes ? " (" + codes + ")" : ""}`);
  }
  return body;
}

async function scoreEvents(events) {
  status("Scoring…");
  const body = await call("/v1/score?series=true", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(events),
  });
  show(body);
}

async function scoreUpload() {
  const files = $("files").files;
  if (!files.length) throw new Error("choose a Takeout archive (zip or tgz) or JSON files first");
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  if ($("user").value.trim()) form.append("user", $("user").value.trim());
  status(`Uploading ${files.length} file(s)…`);
  show(await call("/v1/score/takeout?series=true", { method: "POST", body: form }));
}

function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const fmtTime = (ms) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");

function chart(windows) {
  // One row per channel over the user's whole time range; flagged hours shaded across all rows.
  const W = 1000, rowH = 90, top = 22, left = 56, right = 10, gap = 18;
  const rows = [
    { key: "steps", label: "steps/min", kind: "bar" },
    { key: "distance_m", label: "m/min", kind: "bar", cls: "distance" },
    { key: "speed_mps", label: "speed m/s", kind: "line", cls: "speed" },
  ];
  const t0 = Date.parse(windows[0].window_start);
  const t1 = Date.parse(windows[windows.length - 1].window_end);
  const x = (ms) => left + ((ms - t0) / Math.max(t1 - t0, 1)) * (W - left - right);
  const H = top + rows.length * (rowH + gap);
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "steps, distance and speed over time" });
  for (const w of windows.filter((w) => w.anomalous)) {
    const a = x(Date.parse(w.window_start)), b = x(Date.parse(w.window_end));
    svg.append(el("svg:rect", { class: "flag", x: a, y: top - 6, width: Math.max(b - a, 2), height: H - top }));
    const right = a > W / 2;  // keep the label inside the chart near its right edge
    svg.append(el("svg:text", { class: "flag-label", x: right ? b - 2 : a + 2, y: 12, "text-anchor": right ? "end" : "start" },
      w.reasons.join(", ") || "anomalous"));
  }
  rows.forEach((row, r) => {
    const y0 = top + r * (rowH + gap), base = y0 + rowH;
    const points = [];
    for (const w of windows) {
      if (!w.series) continue;
      const step = w.series.bin_seconds * 1000, start = Date.parse(w.window_start);
      w.series[row.key].forEach((v, i) => { if (v !== null && (row.kind === "line" || v > 0)) points.push([start + i * step, v, step]); });
    }
    const max = Math.max(1e-9, ...points.map((p) => p[1]));
    svg.append(el("svg:line", { x1: left, x2: W - right, y1: base, y2: base, stroke: "#c9d3dd" }));
    svg.append(el("svg:text", { x: 4, y: y0 + 10 }, row.label));
    svg.append(el("svg:text", { x: 4, y: y0 + 24 }, points.length ? `max ${max.toFixed(max < 10 ? 1 : 0)}` : "no data"));
    const y = (v) => base - (v / max) * (rowH - 4);
    if (row.kind === "bar") {
      for (const [t, v, step] of points) {
        const a = x(t);
        svg.append(el("svg:rect", { class: row.cls || row.key, x: a, y: y(v), width: Math.max(x(t + step) - a, 0.8), height: base - y(v) }));
      }
    } else if (points.length) {
      let d = "", prev = null;
      for (const [t, v, step] of points) {
        d += `${prev !== null && t - prev <= step ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
        prev = t;
      }
      svg.append(el("svg:path", { class: row.cls, d }));
    }
  });
  svg.append(el("svg:text", { x: left, y: H - 2 }, fmtTime(t0) + " UTC"));
  svg.append(el("svg:text", { x: W - right - 120, y: H - 2 }, fmtTime(t1) + " UTC"));
  return svg;
}

function table(windows) {
  const t = el("table", { class: "windows" });
  const head = el("tr");
  for (const h of ["hour (UTC)", "score", "steps", "metres", "reasons"]) head.append(el("th", {}, h));
  t.append(head);
  for (const w of windows) {
    const tr = el("tr", { class: w.anomalous ? "anomalous" : "normal" });
    tr.append(el("td", {}, fmtTime(Date.parse(w.window_start))));
    tr.append(el("td", {}, w.score.toFixed(2)));
    tr.append(el("td", {}, String(w.totals.steps)));
    tr.append(el("td", {}, w.totals.distance_m.toFixed(0)));
    const reasons = el("td", { class: "reasons" });
    for (const r of w.reasons) reasons.append(el("span", { class: "reason" }, r));
    tr.append(reasons);
    t.append(tr);
  }
  return t;
}

function show(body) {
  const out = $("results");
  out.replaceChildren();
  const flagged = body.windows.filter((w) => w.anomalous).length;
  const skipped = (body.rejections || []).length;
  status(`Scored ${body.windows.length} hour(s): ${flagged} flagged (model ${body.model_version}).` +
    (skipped ? ` ${skipped} point(s) could not be read.` : ""));
  out.dataset.flagged = String(flagged);
  const users = new Map();
  for (const w of body.windows) {
    if (!users.has(w.user_id)) users.set(w.user_id, []);
    users.get(w.user_id).push(w);
  }
  for (const [user, windows] of users) {
    const section = el("section", { class: "user" });
    const n = windows.filter((w) => w.anomalous).length;
    section.append(el("h2", {}, `${user}: ${n} of ${windows.length} hour(s) flagged`));
    section.append(chart(windows));
    section.append(table(windows));
    out.append(section);
  }
  document.body.dataset.state = "scored";
}

function run(task) {
  task().catch((e) => { status(e.message, true); document.body.dataset.state = "error"; });
}

$("paste").addEventListener("click", () => run(() => scoreEvents(parseEvents($("events").value))));
$("upload").addEventListener("click", () => run(scoreUpload));
$("key").value = localStorage.getItem("lifeup-key") || "";

(function fromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("key")) $("key").value = params.get("key");
  if (params.get("events")) {
    $("events").value = params.get("events");
    history.replaceState(null, "", location.pathname + location.search);  // drop the key from the URL
    run(() => scoreEvents(parseEvents($("events").value)));
  }
})();
