"""risk.html: one offline page (inline SVG drawn by ~100 lines of vanilla JS, no library, no CDN).

For each indicator with a target: the histogram of its value over the draws with the target line
(red) and the nominal plan's value (grey), and the share of draws meeting it; beside it the tornado
of one-at-a-time swings (each uncertain number at its 5th and 95th percentile, the others at their
nominal values). Then the sites over capacity in some draws and the ranges used, with sources.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.2em auto;max-width:1150px;
color:#222;font-size:14px}h1{font-size:1.3em}h2{font-size:1.08em;margin-top:1.4em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.ok{color:#1a7f37;font-weight:bold}
.miss{color:#c62828;font-weight:bold}.note{color:#666}.row{display:flex;gap:18px;flex-wrap:wrap}
.card{border:1px solid #ddd;padding:6px 10px;margin:8px 0}svg text{font-size:11px}
"""

JS = r"""
const D = JSON.parse(document.getElementById('risk-data').textContent);
const NS = 'http://www.w3.org/2000/svg';
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function pct(v) { return (100 * v).toFixed(1) + '%'; }
function histogram(box, item) {
  const W = 430, H = 190, L = 40, R = 10, T = 14, B = 34;
  const svg = el('svg', {width: W, height: H, role: 'img'});
  const vals = item.values;
  let lo = Math.min(...vals, item.target, item.nominal), hi = Math.max(...vals, item.target, item.nominal);
  if (hi - lo < 1e-6) { lo -= 0.005; hi += 0.005; }
  const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  const nb = 30, counts = new Array(nb).fill(0);
  for (const v of vals) counts[Math.min(nb - 1, Math.floor((v - lo) / (hi - lo) * nb))] += 1;
  const cmax = Math.max(...counts, 1);
  const x = v => L + (v - lo) / (hi - lo) * (W - L - R);
  const y = c => H - B - c / cmax * (H - T - B);
  for (let i = 0; i < nb; i++) {
    const x0 = x(lo + i * (hi - lo) / nb), x1 = x(lo + (i + 1) * (hi - lo) / nb);
    const mid = lo + (i + 0.5) * (hi - lo) / nb;
    svg.appendChild(el('rect', {x: x0 + 0.5, y: y(counts[i]), width: Math.max(0, x1 - x0 - 1),
      height: H - B - y(counts[i]), fill: mid + 1e-9 >= item.target ? '#7fb8e6' : '#f2a7a0'}));
  }
  svg.appendChild(el('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#444'}));
  for (let i = 0; i <= 4; i++) {
    const v = lo + i * (hi - lo) / 4;
    const anchor = i === 0 ? 'start' : i === 4 ? 'end' : 'middle';
    svg.appendChild(el('text', {x: x(v), y: H - B + 14, 'text-anchor': anchor}, pct(v)));
  }
  const line = (v, color, label, dy) => {
    svg.appendChild(el('line', {x1: x(v), x2: x(v), y1: T, y2: H - B, stroke: color, 'stroke-width': 2}));
    svg.appendChild(el('text', {x: x(v) + 3, y: T + dy, fill: color}, label));
  };
  line(item.target, '#c62828', 'target ' + pct(item.target), 0);
  line(item.nominal, '#555', 'nominal ' + pct(item.nominal), 12);
  svg.appendChild(el('text', {x: L, y: H - 4}, 'draws: ' + vals.length + ' · met in ' + pct(item.p_met)));
  box.appendChild(svg);
}
function tornado(box, item) {
  const rows = item.tornado;
  if (!rows.length) return;
  const W = 560, RH = 17, L = 270, R = 10, T = 16;
  const H = T + rows.length * RH + 22;
  const svg = el('svg', {width: W, height: H, role: 'img'});
  let lo = item.nominal, hi = item.nominal;
  for (const r of rows) { lo = Math.min(lo, r.lo, r.hi, item.target); hi = Math.max(hi, r.lo, r.hi, item.target); }
  if (hi - lo < 1e-6) { lo -= 0.005; hi += 0.005; }
  const x = v => L + (v - lo) / (hi - lo) * (W - L - R);
  rows.forEach((r, i) => {
    const yy = T + i * RH;
    svg.appendChild(el('text', {x: L - 4, y: yy + 12, 'text-anchor': 'end'}, r.label));
    const a = Math.min(r.lo, r.hi), b = Math.max(r.lo, r.hi);
    svg.appendChild(el('rect', {x: x(a), y: yy + 2, width: Math.max(1, x(b) - x(a)), height: RH - 4,
      fill: r.hi >= r.lo ? '#5a9bd4' : '#e0875a'}));
  });
  const vline = (v, color) => svg.appendChild(el('line', {x1: x(v), x2: x(v), y1: T - 4,
    y2: T + rows.length * RH, stroke: color, 'stroke-width': 1.5}));
  vline(item.nominal, '#555'); vline(item.target, '#c62828');
  svg.appendChild(el('text', {x: L, y: H - 4}, pct(lo) + ' … ' + pct(hi)));
  box.appendChild(svg);
}
for (const item of D.items) {
  const card = document.getElementById('card-' + item.id);
  const row = card.querySelector('.row');
  histogram(row, item); tornado(row, item);
}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _items(risk: pd.DataFrame, samples: Mapping[tuple[str, str], np.ndarray], torn: pd.DataFrame,
           top: int) -> list[dict[str, Any]]:
    items = []
    tg = risk[(risk["kind"] == "indicator") & risk["target"].notna()]
    for i, r in enumerate(tg.itertuples(index=False)):
        t = torn[(torn["stream"] == r.stream) & (torn["indicator"] == r.indicator)] if len(torn) else torn
        t = t.head(top) if len(t) else t
        items.append({
            "id": i, "stream": r.stream, "indicator": r.indicator, "target": float(r.target),
            "nominal": float(r.nominal), "p_met": float(r.p_met),
            "p_met_max": float(getattr(r, "p_met_max", 1.0)),
            "values": [round(float(v), 6) for v in samples[(r.stream, r.indicator)]],
            "tornado": [{"label": k.param.removeprefix("coefficients.").removeprefix("scenario."),
                         "lo": float(k.value_at_q05), "hi": float(k.value_at_q95)}
                        for k in t.itertuples(index=False) if k.swing > 0],
        })
    return items


def _param_table(params: Sequence[Any]) -> str:
    out = ["<table><tr><th class=l>number</th><th>dist</th><th>nominal</th><th>range</th>"
           "<th>tag</th><th class=l>source</th></tr>"]
    for p in params:
        rng = f"sd {p.sd:g}" if p.dist == "normal" else f"{p.low:g} – {p.high:g}"
        out.append(f"<tr><td class=l>{_e(p.key)}</td><td>{_e(p.dist)}</td><td>{p.nominal:g}</td>"
                   f"<td>{_e(rng)}</td><td>{_e(p.tag)}</td><td class=l>{_e(p.source)}</td></tr>")
    return "".join(out) + "</table>"


def _sites_table(risk: pd.DataFrame) -> str:
    s = risk[risk["kind"] == "site"]
    if len(s) == 0:
        return "<p class=ok>No site is over capacity in any draw.</p>"
    out = ["<table><tr><th class=l>stream</th><th class=l>tier</th><th class=l>site</th><th>capacity t/yr</th>"
           "<th>over capacity in</th><th>inflow p50</th><th>p95</th></tr>"]
    for r in s.itertuples(index=False):
        out.append(f"<tr><td class=l>{_e(r.stream)}</td><td class=l>{_e(r.tier)}</td><td class=l>{_e(r.site_id)}"
                   f"</td><td>{r.target:,.0f}</td><td class=miss>{1 - r.p_met:.1%}</td><td>{r.p50:,.0f}</td>"
                   f"<td>{r.p95:,.0f}</td></tr>")
    return "".join(out) + "</table>"


def risk_html(meta: Mapping[str, Any], risk: pd.DataFrame, samples: Mapping[tuple[str, str], np.ndarray],
              torn: pd.DataFrame, params: Sequence[Any], *, top: int = 10) -> str:
    """The page (self-contained: data as JSON in the page, SVG drawn by inline script)."""
    items = _items(risk, samples, torn, top)
    cards = []
    for it in items:
        cls = "ok" if it["p_met"] >= meta.get("robust", 0.9) else "miss"
        cards.append(f"<div class=card id='card-{it['id']}'><b>{_e(it['stream'])} · {_e(it['indicator'])}</b>"
                     f" — target ≥ {it['target']:.1%}, nominal {it['nominal']:.1%}, "
                     f"<span class={cls}>met in {it['p_met']:.1%} of draws</span>"
                     + (f" · <span class=miss>not controllable by siting: p_met ≤ {it['p_met_max']:.1%} at "
                        "any layout</span>" if it["p_met_max"] < meta.get("robust", 0.9) else "")
                     + "<div class=row></div></div>")
    data = json.dumps({"items": items}, ensure_ascii=False).replace("</", "<\\/")
    head = (f"<p>run <b>{_e(meta.get('run', ''))}</b> · scenario <b>{_e(meta.get('scenario', ''))}</b> · "
            f"{meta.get('samples')} draws, seed {meta.get('seed')} · {len(params)} uncertain numbers "
            f"(data/uncertainty.toml) · sites and assignments fixed, no re-solve</p>"
            "<p class=note>Left: the indicator over the draws (blue bins meet the target, red miss). "
            "Right: tornado of one-at-a-time swings — each number at its 5th and 95th percentile, every "
            "other number at its nominal value; the bar spans the indicator's two values (blue: the indicator "
            "rises with the number, orange: it falls; grey line nominal, red line target). "
            "Tables: risk.csv, risk_tornado.csv, risk_samples.csv (docs/risk.md).</p>")
    return "\n".join([
        "<!DOCTYPE html><html lang=zh><head><meta charset=utf-8>",
        f"<title>风险分析 risk — {_e(meta.get('scenario', ''))}</title><style>{CSS}</style></head><body>",
        f"<h1>规划把握度 How sure is the plan — {_e(meta.get('title', ''))}</h1>", head,
        "<h2>目标达成概率 Targets under uncertainty</h2>", *cards,
        "<h2>超负荷站点 Sites over capacity</h2>", _sites_table(risk),
        "<h2>不确定参数 Ranges used</h2>", _param_table(params),
        f"<script type='application/json' id='risk-data'>{data}</script>",
        f"<script>{JS}</script></body></html>",
    ])
