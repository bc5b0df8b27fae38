/* netplan studio: the page side of docs/studio.md. The server holds the base layout; the page
   holds the planner's change set {closed, open, moved}, its undo/redo history, and asks
   POST /api/evaluate after every change. No network beyond 127.0.0.1. */
"use strict";
const S = { meta: null, sites: [], demands: [], cands: [], changes: { closed: [], open: [], moved: [] },
            undo: [], redo: [], result: null, mode: null, moving: null, seq: 0, markers: {},
            villages: [], poll: null, routes: null, routePoll: null, drag: null, dragged: false,
            cmpPoll: null };
const $ = (id) => document.getElementById(id);
const TIER_R = { village_point: 5, township_station: 8, county_center: 11 };

async function api(path, opts) {
  const r = await fetch(path, opts);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}
const post = (path, body, method) => api(path, { method: method || "POST",
  headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function say(msg, bad) { const s = $("status"); s.textContent = msg; s.className = bad ? "error" : ""; }
function streamLabel(id) { const s = S.meta.streams.find((x) => x.id === id); return s ? s.label : id; }
function streamColour(id) { const s = S.meta.streams.find((x) => x.id === id); return s ? s.colour : "#555"; }

/* ------------------------------------------------------------------ change set and history */
function siteOpen(id) {
  const base = S.sites.filter((s) => s.site_id === id);
  const baseOpen = base.some((s) => s.status !== "closed");
  if (S.changes.closed.includes(id)) return false;
  if (S.changes.open.some((e) => (e.site_id || e) === id)) return true;
  return baseOpen;
}
function change(fn) {
  S.undo.push(JSON.stringify(S.changes));
  S.redo = [];
  fn(S.changes);
  refresh();
}
function toggle(id) {
  change((c) => {
    const base = S.sites.filter((s) => s.site_id === id);
    const baseOpen = base.some((s) => s.status !== "closed");
    const open = siteOpen(id);
    c.closed = c.closed.filter((x) => x !== id);
    c.open = c.open.filter((e) => (e.site_id || e) !== id);
    if (open && baseOpen) c.closed.push(id);
    if (!open && !baseOpen) c.open.push(id);
  });
}
function history(from, to) {
  if (!from.length) return;
  to.push(JSON.stringify(S.changes));
  S.changes = JSON.parse(from.pop());
  refresh();
}

/* ------------------------------------------------------------------ site list */
function renderList() {
  const q = $("search").value.trim().toLowerCase();
  const box = $("sites");
  box.innerHTML = "";
  const seen = new Set();
  const added = S.changes.open.filter((e) => typeof e === "object");
  const rows = S.sites.concat(added.map((e) => ({ site_id: e.site_id || `(${e.lon.toFixed(4)}, ${e.lat.toFixed(4)})`,
    name: "新增 added", streams: e.streams || S.meta.streams.map((s) => s.id), tier: e.tier, added: true })));
  for (const st of S.meta.streams) {
    const g = document.createElement("div"); g.className = "group";
    g.innerHTML = `<h3 style="color:${st.colour}">${st.label}</h3>`;
    let any = false;
    for (const tier of S.meta.tiers) {
      const items = rows.filter((s) => s.streams[0] === st.id && s.tier === tier && !seen.has(s.site_id)
        && (!q || s.site_id.toLowerCase().includes(q) || (s.name || "").toLowerCase().includes(q)));
      if (!items.length) continue;
      any = true;
      const h = document.createElement("h4"); h.textContent = S.meta.tier_labels[tier]; g.appendChild(h);
      for (const s of items) {
        seen.add(s.site_id);
        const open = s.added ? true : siteOpen(s.site_id);
        const d = document.createElement("div"); d.className = "site" + (open ? "" : " closed");
        const load = S.result && S.result.loads[s.site_id];
        const lt = load ? ` ${load.load.toFixed(0)}/${load.capacity.toFixed(0)} t` : "";
        const mv = S.changes.moved.find((m) => m.site_id === s.site_id);
        const where = mv ? ` <span class="muted" data-testid="moved-${s.site_id}">→ ${mv.to || "移动 moved"}</span>` : "";
        d.innerHTML = `<span class="label" title="${s.streams.join(", ")}">${s.site_id} ${s.name || ""}${where}<span class="muted">${lt}</span></span>`;
        if (!s.added) {
          const b = document.createElement("button");
          b.dataset.testid = `toggle-${s.site_id}`;
          b.setAttribute("data-testid", `toggle-${s.site_id}`);
          b.textContent = open ? "开 open" : "关 closed";
          b.onclick = () => toggle(s.site_id);
          d.appendChild(b);
          const m = document.createElement("button"); m.textContent = "移动 move";
          m.setAttribute("data-testid", `move-${s.site_id}`);
          m.onclick = () => startMove(s.site_id);
          d.appendChild(m);
        }
        g.appendChild(d);
      }
    }
    if (any) box.appendChild(g);
  }
}

/* ------------------------------------------------------------------ map */
let map, siteLayer, villageLayer, routeLayer, catchLayer, ghost;
function initMap() {
  map = L.map("map", { preferCanvas: true });
  const b = S.meta.bounds;
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  L.geoJSON(S.meta.boundary, { style: { color: "#444", weight: 2, fill: false }, interactive: false }).addTo(map);
  catchLayer = L.layerGroup().addTo(map);
  routeLayer = L.layerGroup().addTo(map);
  villageLayer = L.layerGroup().addTo(map);
  siteLayer = L.layerGroup().addTo(map);
  for (const d of S.demands) {
    const m = L.circleMarker([d.lat, d.lon], { radius: 3, weight: 0, fillOpacity: 0.8, fillColor: "#bbb" });
    m.bindTooltip(`${d.kind} ${d.demand_id} ${d.name}`);
    S.villages.push(m); villageLayer.addLayer(m);
  }
  map.on("click", (e) => { if (!S.dragged) mapClick(e.latlng); });
  map.on("mousemove", dragMove);
  map.on("mouseup", dragEnd);
  document.addEventListener("mouseup", () => { if (S.drag) dragEnd(null); });
}
/* drag a site to move it: the server snaps the point to the road network (or to a candidate
   within a few pixels of it) */
function dragStart(s, e) {
  if (S.mode || !S.sites.some((b) => b.site_id === s.site_id)) return;
  S.drag = { id: s.site_id, from: e.containerPoint, moved: false };
  S.dragged = false;
  map.dragging.disable();
}
function dragMove(e) {
  const d = S.drag;
  if (!d) return;
  if (!d.moved && e.containerPoint.distanceTo(d.from) < 6) return;
  d.moved = true;
  if (!ghost) ghost = L.circleMarker(e.latlng, { radius: 9, color: "#000", dashArray: "3", fill: false, interactive: false }).addTo(map);
  ghost.setLatLng(e.latlng);
  $("mode").textContent = `移动 moving ${d.id}`;
}
function dragEnd(e) {
  const d = S.drag;
  if (!d) return;
  S.drag = null;
  map.dragging.enable();
  if (ghost) { ghost.remove(); ghost = null; }
  $("mode").textContent = "";
  if (!d.moved || !e) return;
  S.dragged = true;
  setTimeout(() => { S.dragged = false; }, 0);
  const to = nearCandidate(e.latlng);
  change((c) => {
    c.moved = c.moved.filter((m) => m.site_id !== d.id);
    c.moved.push(to ? { site_id: d.id, to } : { site_id: d.id, lon: e.latlng.lng, lat: e.latlng.lat });
  });
}
function nearCandidate(ll) {
  /* a candidate drawn within 8 px of the point, else null (the point is snapped to a road) */
  const p = map.latLngToContainerPoint(ll);
  let best = null, bd = 8;
  for (const c of S.cands) {
    const d = map.latLngToContainerPoint([c.lat, c.lon]).distanceTo(p);
    if (d < bd) { bd = d; best = c.site_id; }
  }
  return best;
}
function renderSites() {
  /* the evaluated layout (moves and additions snapped to their candidate), else the base one */
  siteLayer.clearLayers();
  const rows = S.result ? S.result.layout : S.sites;
  const base = new Set(S.sites.map((s) => s.site_id));
  for (const s of rows) {
    const open = s.status !== "closed";
    const m = L.circleMarker([s.lat, s.lon], { radius: TIER_R[s.tier] || 5, color: open ? "#222" : "#999",
      weight: base.has(s.site_id) ? 1.5 : 3, dashArray: base.has(s.site_id) ? null : "3",
      fillColor: open ? streamColour(s.streams[0]) : "#fff", fillOpacity: open ? 0.9 : 0.3 });
    m.bindTooltip(`${s.site_id} ${s.name} · ${S.meta.tier_labels[s.tier]} · ${s.streams.join(", ")} · ${open ? "open" : "closed"}`);
    m.on("mousedown", (e) => dragStart(s, e));
    m.on("click", (e) => {
      L.DomEvent.stopPropagation(e);
      if (S.dragged) return;
      if (S.mode) mapClick(e.latlng); else if (base.has(s.site_id)) toggle(s.site_id);
    });
    siteLayer.addLayer(m);
  }
}
function renderRoutes() {
  routeLayer.clearLayers();
  if (!S.routes) return;
  const sid = $("stream-shown").value, col = streamColour(sid);
  for (const r of S.routes.routes.filter((x) => x.stream === sid)) {
    const l = L.polyline(r.coords, { color: col, weight: r.kind === "haulage" ? 3 : 1.5, opacity: 0.7,
      dashArray: r.kind === "haulage" ? "6 4" : null });
    l.bindTooltip(`${r.route_id} · ${(r.distance_m / 1000).toFixed(1)} km × ${r.trips_per_year.toFixed(0)}/yr`);
    routeLayer.addLayer(l);
  }
  /* villages and sites stay on top of the lines: a click or drag on a site reaches the site */
  villageLayer.eachLayer((m) => m.bringToFront());
  siteLayer.eachLayer((m) => m.bringToFront());
}
function renderCatchments() {
  /* each served village or farm to its village point, for the stream shown */
  catchLayer.clearLayers();
  if (!S.result || !S.result.catchments) return;
  const sid = $("stream-shown").value, to = S.result.catchments[sid] || [];
  const at = new Map(S.result.layout.filter((s) => s.tier === "village_point").map((s) => [s.site_id, [s.lat, s.lon]]));
  to.forEach((p, i) => {
    const d = S.demands[i], q = p && at.get(p);
    if (q) catchLayer.addLayer(L.polyline([[d.lat, d.lon], q], { color: streamColour(sid), weight: 0.8, opacity: 0.5, interactive: false }));
  });
}
function renderVillages() {
  renderRoutes();
  renderCatchments();
  if (!S.result) return;
  const cov = S.result.coverage[$("stream-shown").value] || [];
  S.villages.forEach((m, i) => {
    const c = cov[i];
    m.setStyle({ fillColor: c === 1 ? "#1a9641" : c === 0 ? "#d7191c" : "#cccccc", radius: c === -1 ? 2 : 3 });
  });
}
function startMove(id) { S.mode = "move"; S.moving = id; $("mode").textContent = `点击地图放置 click the map to move ${id}`; }
function mapClick(ll) {
  const to = nearCandidate(ll);
  if (S.mode === "move") {
    const id = S.moving;
    change((c) => {
      c.moved = c.moved.filter((m) => m.site_id !== id);
      c.moved.push(to ? { site_id: id, to } : { site_id: id, lon: ll.lng, lat: ll.lat });
    });
  } else if (S.mode === "add") {
    const streams = [$("stream-shown").value], tier = $("add-tier").value;
    change((c) => c.open.push(to ? { site_id: to, tier, streams } : { lon: ll.lng, lat: ll.lat, tier, streams }));
  } else return;
  S.mode = null; S.moving = null; $("mode").textContent = "";
}

/* ------------------------------------------------------------------ KPI panel */
function fmt(r) {
  if (r.value === null) return "–";
  if (r.unit === "fraction") return (100 * r.value).toFixed(1) + "%";
  return r.value.toLocaleString("en", { maximumFractionDigits: r.value < 100 ? 2 : 0 }) + " " + r.unit;
}
function renderKpis() {
  const rows = S.result.kpis;
  const tg = rows.filter((r) => r.target !== null);
  let h = `<table><tr><th></th><th>品类 stream</th><th>指标 indicator</th><th>值 value</th><th>目标 target</th></tr>`;
  for (const r of tg) {
    h += `<tr class="${r.met ? "met" : "missed"}" data-testid="kpi-${r.stream}-${r.indicator}" data-met="${r.met}" data-value="${r.value}">`
      + `<td class="flag"></td><td>${streamLabel(r.stream)}</td><td>${r.label_zh || ""} ${r.indicator}</td>`
      + `<td class="v">${fmt(r)}</td><td>${(100 * r.target).toFixed(0)}%</td></tr>`;
  }
  const was = (id) => { const d = $("kpi").querySelector(`details[data-testid="${id}"]`); return d && d.open ? " open" : ""; };
  h += `</table><details data-testid="costs"${was("costs")}><summary>成本与站点 costs and sites</summary><table>`;
  for (const r of rows.filter((x) => x.stream === "all" || x.indicator === "cost_cny_per_t")) {
    h += kpiRow(r);
  }
  h += `</table></details><details data-testid="routed"${was("routed")}><summary>${S.routes ? "" : "⏳ "}收运路线 collection rounds</summary><table>`;
  const pend = S.result.pending || [];
  for (const st of S.meta.streams) {
    for (const ind of pend) {
      const r = rows.find((x) => x.stream === st.id && x.indicator === ind)
        || { stream: st.id, indicator: ind, value: null, unit: ind.endsWith("_co2_kg_yr") ? "kg/yr" : "km/yr", label_zh: "" };
      h += kpiRow(r, true);
    }
  }
  const wait = S.routes ? `collection rounds re-planned in ${S.routesElapsed || 0} s`
    : "⏳ marked figures wait for the collection rounds (re-planned in the background)";
  h += `</table></details><div class="muted" data-testid="kpi-note">evaluated in ${S.result.elapsed_ms} ms · ${wait}</div>`;
  $("kpi").innerHTML = h;
  $("kpi").classList.remove("busy");
}
function kpiRow(r, routedRow) {
  const pending = (S.result.pending || []).includes(r.indicator) && !S.routes;
  const who = r.stream === "all" ? "全县 county" : streamLabel(r.stream);
  const v = pending ? (r.value === null ? "…" : "≈ " + fmt(r)) : fmt(r);
  return `<tr data-testid="kpi-${r.stream}-${r.indicator}${routedRow ? "-routed" : ""}" data-pending="${pending}" data-value="${r.value}"`
    + ` class="${pending ? "pending" : ""}"><td>${pending ? "⏳ " : ""}${who}</td>`
    + `<td>${r.label_zh || ""} ${r.indicator}</td><td class="v">${v}</td></tr>`;
}
/* collection rounds of the layout on screen, re-planned in the background after each change */
async function planRoutes(seq, key) {
  clearTimeout(S.routePoll);
  try {
    let j = await post("/api/routes", S.changes);
    while (j.state === "running") {
      await new Promise((ok) => { S.routePoll = setTimeout(ok, 700); });
      if (seq !== S.seq) return;
      j = await api(`/api/routes?key=${key}`);
    }
    if (seq !== S.seq) return;
    if (j.state !== "done") { say(`collection rounds: ${j.state} ${j.error || ""}`, j.state === "failed"); return; }
    const routed = new Map(j.kpis.map((r) => [`${r.stream}/${r.indicator}`, r]));
    S.result.kpis = S.result.kpis.filter((r) => !routed.has(`${r.stream}/${r.indicator}`)).concat(j.kpis);
    S.routes = j; S.routesElapsed = j.elapsed_s;
    renderKpis(); renderRoutes();
  } catch (err) { if (seq === S.seq) say(`collection rounds: ${err.message}`, true); }
}

/* ------------------------------------------------------------------ evaluate, optimise, save */
async function evaluate() {
  const seq = ++S.seq;
  $("kpi").classList.add("busy");
  try {
    const res = await post("/api/evaluate", S.changes);
    if (seq !== S.seq) return;
    S.result = res; S.routes = null; renderKpis(); renderVillages(); renderList(); renderSites();
    say(`${res.open_sites.length} open sites · ${S.undo.length} change(s)`);
    planRoutes(seq, res.routes_key);
  } catch (err) {
    if (seq !== S.seq) return;
    say(err.message, true);
    if (S.undo.length) { S.changes = JSON.parse(S.undo.pop()); refresh(); }
  }
}
function refresh() {
  $("undo").disabled = !S.undo.length; $("redo").disabled = !S.redo.length;
  renderList(); renderSites(); evaluate();
}
async function loadSites() {
  const r = await api("/api/sites");
  S.sites = r.sites;
}
async function optimise() {
  try {
    await post("/api/optimise", S.changes);
    $("cancel").disabled = false; $("optimise").disabled = true;
    S.poll = setInterval(pollJob, 1000); pollJob();
  } catch (err) { $("job").textContent = err.message; }
}
async function pollJob() {
  const j = await api("/api/optimise");
  if (j.state === "running" && !j.progress.length) j.progress = ["starting the siting…"];
  $("job").textContent = `${j.state} · ${j.elapsed_s || 0} s\n${(j.progress || []).slice(-4).join("\n")}${j.error ? "\n" + j.error : ""}`;
  if (j.state === "running") return;
  clearInterval(S.poll); $("cancel").disabled = true; $("optimise").disabled = false;
  if (j.state === "done") {
    await loadSites();
    S.changes = { closed: [], open: [], moved: [] }; S.undo = []; S.redo = [];
    refresh();
  }
}
async function compare() {
  try {
    await post("/api/compare", S.changes);
    $("compare").disabled = true;
    S.cmpPoll = setInterval(pollCompare, 1000); pollCompare();
  } catch (err) { $("compared").textContent = err.message; $("compared").className = "error"; }
}
async function pollCompare() {
  const j = await api("/api/compare");
  const box = $("compared");
  box.className = j.state === "failed" ? "error" : "";
  if (j.state === "running") {
    box.textContent = `${j.state} · ${j.elapsed_s} s · ${(j.progress || []).slice(-1)[0] || ""}`;
    return;
  }
  clearInterval(S.cmpPoll); $("compare").disabled = false;
  if (j.state !== "done") { box.textContent = `${j.state} ${j.error || ""}`; return; }
  const [a, b] = j.result.labels;
  box.innerHTML = `<a data-testid="compare-map" href="/compare/compare_map.html" target="_blank">${a} | ${b} 地图对比 maps side by side</a>`
    + ` · <a data-testid="compare-table" href="/compare/compare.html" target="_blank">指标对比 table</a>`;
  window.open("/compare/compare_map.html", "_blank");
}
async function save() {
  try {
    const r = await post("/api/save", { name: $("save-name").value, changes: S.changes });
    $("saved").textContent = `saved ${r.rows} rows → ${r.path}`;
  } catch (err) { $("saved").textContent = err.message; $("saved").className = "error"; }
}

async function main() {
  S.meta = await api("/api/meta");
  document.title = `netplan studio — ${S.meta.title}`;
  $("title").textContent = S.meta.title;
  for (const s of S.meta.streams) $("stream-shown").add(new Option(s.label, s.id));
  for (const t of S.meta.tiers) $("add-tier").add(new Option(S.meta.tier_labels[t], t));
  S.demands = (await api("/api/demands")).demands;
  S.cands = (await api("/api/candidates")).candidates;
  await loadSites();
  initMap();
  $("stream-shown").onchange = renderVillages;
  $("search").oninput = renderList;
  $("undo").onclick = () => history(S.undo, S.redo);
  $("redo").onclick = () => history(S.redo, S.undo);
  $("reset").onclick = () => change((c) => { c.closed = []; c.open = []; c.moved = []; });
  $("add").onclick = () => { S.mode = "add"; $("mode").textContent = "点击地图新增 click the map to add"; };
  $("optimise").onclick = optimise;
  $("cancel").onclick = async () => { await post("/api/optimise", {}, "DELETE"); };
  $("save").onclick = save;
  $("compare").onclick = compare;
  $("compare").textContent = S.meta.reference ? "与最优方案对比 Compare with the optimal plan"
    : "与初始布局对比 Compare with the starting layout";
  refresh();
}
main().catch((err) => say(err.message, true));
