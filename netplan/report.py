"""The one-page HTML report of a run (report.html) and the plan.xlsx writer with Chinese headers;
the run folder itself (which tables, run.json) is :mod:`netplan.runfolder`'s.

The report is self-contained (inline CSS, no CDN, no script) and links or frames the maps the run
wrote (index.html, <stream>.html).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from netplan.maps.text import fmt_kpi

#: Chinese column headers for XLSX (and the report); columns not listed keep their name
HEADERS_ZH = {
    "stream": "品类", "indicator": "指标", "value": "数值", "target": "目标值", "met": "是否达标",
    "unit": "单位", "label_zh": "指标名称", "township_code": "乡镇代码", "township": "乡镇",
    "site_id": "站点编号", "tier": "层级", "name": "名称", "tier_name": "层级名称", "kind": "类型",
    "status": "状态", "load_t": "年收集量_t", "capacity_t": "处理能力_t", "utilisation": "负荷率",
    "parent_id": "上级站点", "capex_cny": "建设投资_元", "capex_cny_yr": "年化建设成本_元",
    "opex_cny_yr": "年运营成本_元", "fixed_cny_yr": "设施年成本_元", "link": "运输环节",
    "vehicle": "车型", "mass_t_yr": "运量_t每年", "tkm_yr": "周转量_吨公里", "cost_cny_yr": "运输成本_元",
    "trips_yr": "年车次", "vehicle_km_yr": "年行驶里程_km", "vehicle_h_yr": "年作业小时",
    "vehicle_days_yr": "年车辆作业天数", "fleet": "高峰车辆数", "co2_kg_yr": "二氧化碳_kg每年",
    "route_id": "线路编号", "station_id": "起点站", "stops": "停靠点", "n_stops": "停靠点数",
    "distance_m": "距离_m", "duration_s": "时长_s", "trips_per_year": "年趟数", "lon": "经度",
    "lat": "纬度", "streams": "品类", "storage_t": "储存量_t", "storage_m3": "储存体积_m3",
    "yard_mu": "堆场用地_亩", "yard_m2": "堆场面积_m2", "stack_m2": "垛基面积_m2", "stack_blocks": "垛组数",
    "yard_capex_cny": "堆场投资_元", "yard_cost_cny_yr": "堆场年成本_元", "capex_wan_cny": "投资_万元",
    "year": "建设年度", "baseline_no_network": "基线值_无网络",
    "baseline_max_existing": "基线上限_含现有设施能力", "payload_t": "单车载量_t", "count": "数量", "type": "类型",
    "use": "去向", "t_yr": "吨每年", "share": "占比", "village_id": "行政村代码",
}
def stream_zh(stream: str) -> str:
    """Chinese name of a stream (data/streams.toml); 全县合计 for the county-wide rows (``all``)."""
    from netplan.streams import load_streams

    if stream == "all":
        return "全县合计"
    meta = load_streams().get(stream)
    return meta.name_zh if meta is not None else stream


def write_xlsx(path: Path, sheets: Mapping[str, pd.DataFrame], *, chinese: bool = True) -> Path:
    """One workbook, one sheet per table; Chinese headers when ``chinese``."""
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            d = pd.DataFrame(df)
            if "geometry" in d.columns:
                d = d.drop(columns="geometry")
            if chinese:
                d = d.rename(columns=HEADERS_ZH)
            d.to_excel(xw, sheet_name=name[:31], index=False)
    return path


CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.2em auto;max-width:1100px;
color:#222;font-size:14px}h1{font-size:1.35em}h2{font-size:1.1em;margin-top:1.4em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ddd;padding:2px 7px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.ok{color:#1a7f37;font-weight:bold}
.miss{color:#c62828;font-weight:bold}.note{color:#666}.diff{background:#fff3c4}
iframe{width:100%;height:520px;border:1px solid #ccc}nav a{margin-right:1em}
"""


def fmt_number(v: Any, unit: str) -> str:
    """A bare number (no unit) for tables whose row label carries the unit (compare.html); the
    report's own KPI values go through :func:`netplan.maps.text.fmt_kpi`, like the maps."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    v = float(v)
    if unit == "fraction":
        return f"{v:.1%}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def _e(x: Any) -> str:
    return html.escape(str(x))


def target_table(kpis: pd.DataFrame) -> str:
    """HTML rows of the indicators that have a target: achieved, target, met / missed."""
    k = kpis[kpis["target"].notna()]
    out = ["<table><tr><th class=l>品类 stream</th><th class=l>指标 indicator</th><th>实际 achieved</th>"
           "<th>目标 target</th><th>达标 met</th></tr>"]
    for r in k.itertuples(index=False):
        ok = str(r.met).lower() == "true"
        out.append(f"<tr><td class=l>{_e(stream_zh(r.stream))} {_e(r.stream)}</td>"
                   f"<td class=l>{_e(r.label_zh)} <span class=note>{_e(r.indicator)}</span></td>"
                   f"<td>{_e(fmt_kpi(r.value, r.unit))}</td><td>≥ {_e(fmt_kpi(r.target, r.unit))}</td>"
                   f"<td class={'ok' if ok else 'miss'}>{'达标 met' if ok else '未达标 missed'}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _cost_table(kpis: pd.DataFrame, streams: list[str]) -> str:
    inds = ["generation_t_yr", "served_t_yr", "capex_cny", "capex_cny_yr", "opex_cny_yr",
            "transport_tkm_yr", "transport_cost_cny_yr", "baling_cost_cny_yr", "loading_cost_cny_yr",
            "purchase_cost_cny_yr", "incentive_cost_cny_yr", "treatment_cost_cny_yr", "storage_cost_cny_yr",
            "storage_loss_cost_cny_yr", "total_cost_cny_yr", "cost_cny_per_t", "cost_range_min_cny_per_t",
            "cost_range_max_cny_per_t", "storage_t", "storage_yard_mu",
            "vehicle_km_yr", "fleet_collection", "fleet_haulage", "transport_co2_kg_yr",
            "sites_village_point", "sites_township_station", "sites_county_center",
            "shared_village_point", "shared_township_station", "shared_county_center"]
    k = kpis.set_index(["stream", "indicator"])
    cols = [*streams, "all"]
    out = ["<table><tr><th class=l>指标</th>"
           + "".join(f"<th>{_e(stream_zh(s))}</th>" for s in cols) + "</tr>"]
    for ind in inds:
        if not any((s, ind) in k.index for s in cols):
            continue
        first = next(s for s in cols if (s, ind) in k.index)
        unit, lab = k.at[(first, ind), "unit"], k.at[(first, ind), "label_zh"]
        cells = "".join(
            f"<td>{_e(fmt_kpi(k.at[(s, ind), 'value'], unit)) if (s, ind) in k.index else ''}</td>"
            for s in cols)
        out.append(f"<tr><td class=l>{_e(lab)} <span class=note>{_e(ind)}</span></td>{cells}</tr>")
    out.append("</table>")
    return "".join(out)


def _township_table(towns: pd.DataFrame, streams: list[str]) -> str:
    t = towns[towns["indicator"] == "village_coverage"]
    if len(t) == 0:
        return "<p class=note>no township rows</p>"
    wide = t.pivot_table(index=["township_code", "township"], columns="stream", values="value",
                         aggfunc="first")
    tg = t.groupby("stream")["target"].first()
    cols = [s for s in streams if s in wide.columns]
    out = ["<table><tr><th class=l>乡镇</th>" + "".join(
        f"<th>{_e(stream_zh(s))}</th>" for s in cols) + "</tr>"]
    for (code, name), row in wide.iterrows():
        cells = []
        for s in cols:
            v = row[s]
            tgt = tg.get(s)
            cls = "" if pd.isna(v) or tgt is None or pd.isna(tgt) else (
                " class=ok" if v >= tgt - 1e-9 else " class=miss")
            cells.append(f"<td{cls}>{_e(fmt_kpi(v, 'fraction'))}</td>")
        out.append(f"<tr><td class=l>{_e(name)} <span class=note>{_e(code)}</span></td>{''.join(cells)}</tr>")
    out.append("</table>")
    return "".join(out)


def _worth_html(solve: Mapping[str, Mapping[str, Any]]) -> str:
    """方案质量: per siting block, "proven optimal" or "within X % of the lower bound" (run.json
    ``solve``); empty for a hand-made layout."""
    seen: dict[str, str] = {}
    for stream, d in solve.items():
        worth = d.get("worth")
        if worth:
            seen.setdefault(str(d.get("block") or stream), str(worth))
    if not seen:
        return ""
    items = "; ".join(f"{_e(b)}: {_e(w)}" for b, w in seen.items())
    return f"<p>方案质量 Plan quality (siting model): {items}</p>"


def year_html(years: pd.DataFrame) -> str:
    """The per-year table of a phased plan: sites new that year per tier, capex against the
    budget, the year's annual cost and gap, and every target met or missed."""
    head = ("<tr><th>年份 Year</th><th>新建村级点 New points</th><th>新建乡镇站 New stations</th>"
            "<th>新建县级中心 New centres</th><th>当年投资 Capex (CNY)</th><th>预算 Budget (CNY)</th>"
            "<th>年成本 Annual cost (CNY/yr)</th><th>gap</th><th class=l>目标 Targets</th></tr>")
    rows = []
    for r in years.itertuples(index=False):
        budget = fmt_number(r.capex_budget_cny, "CNY") if r.capex_budget_cny < float("inf") else "—"
        over = r.capex_cny > r.capex_budget_cny + 0.5
        gap = f"{100 * r.gap:.2f} %" if r.gap == r.gap else "—"   # NaN: a scored layout
        met = f"<span class=ok>{_e(r.targets_met)}</span>" if r.targets_met else ""
        miss = f"<span class=miss>{_e(r.targets_missed)}</span>" if r.targets_missed else ""
        rows.append(f"<tr><td>{r.year}</td><td>{r.new_village_point}</td>"
                    f"<td>{r.new_township_station}</td><td>{r.new_county_center}</td>"
                    f"<td class={'miss' if over else 'ok'}>{fmt_number(r.capex_cny, 'CNY')}</td>"
                    f"<td>{budget}</td><td>{fmt_number(r.annual_cost_cny, 'CNY/yr')}</td>"
                    f"<td>{gap}</td><td class=l>{met}{'<br>' if met and miss else ''}"
                    f"{miss}</td></tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def report_html(meta: Mapping[str, Any], kpis: pd.DataFrame, towns: pd.DataFrame | None,
                transport: pd.DataFrame | None, streams: list[str], *, maps: bool = True,
                plan_tables: Mapping[str, pd.DataFrame] | None = None,
                years: pd.DataFrame | None = None) -> str:
    """The one-page report of a run (self-contained HTML); ``plan_tables`` (netplan.plan_tables, from
    the evaluation) adds the tables a county plan is written from; ``years`` (a phased plan,
    netplan.phasing.year_table) the build-out year by year. ``kpis`` is the last year's."""
    missed = kpis[kpis["target"].notna() & (kpis["met"].astype(str).str.lower() != "true")]
    summary = ("全部目标达标 — every target met" if len(missed) == 0 else
               f"{len(missed)} 项目标未达标 — targets missed: " + ", ".join(
                   f"{r.stream}.{r.indicator}" for r in missed.itertuples(index=False)))
    crow = ("<p class=miss>距离为直线估算 (no road file: distances are crow-fly estimates × circuity)</p>"
            if meta.get("crow_fly") else "")
    parts = [
        "<!DOCTYPE html><html lang=zh><head><meta charset=utf-8>",
        f"<title>{_e(meta.get('title', 'netplan'))}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(meta.get('title', ''))}</h1>",
        f"<p>scenario <b>{_e(meta.get('scenario', ''))}</b> · layout: <b>{_e(meta.get('source', ''))}</b>"
        f" · road network: {_e(meta.get('network', ''))}</p>{crow}",
        f"<p class={'ok' if len(missed) == 0 else 'miss'}>{_e(summary)}</p>",
        _worth_html(meta.get("solve") or {}),
        *(["<h2>分年度建设 Build-out by year</h2>", year_html(years)] if years is not None else []),
        "<h2>目标对照 Targets</h2>", target_table(kpis),
        "<h2>成本与碳排放 Costs and CO2 (per year)</h2>", _cost_table(kpis, streams),
    ]
    if towns is not None and len(towns):
        parts += ["<h2>分乡镇行政村覆盖率 Village coverage by township</h2>", _township_table(towns, streams)]
    if plan_tables:
        from netplan.plan_tables import tables_html

        parts.append(tables_html(plan_tables))
    if maps:
        links = " ".join(f"<a href='{_e(s)}.html'>{_e(stream_zh(s))}</a>" for s in streams)
        parts += ["<h2>地图 Maps</h2>", f"<nav><a href='index.html'>总览 overview</a> {links}</nav>",
                  "<iframe src='index.html' title='overview map'></iframe>"]
    parts.append("<p class=note>Tables: kpis.csv, kpis_township.csv, costs.csv, transport.csv, sites.csv, "
                 "routes.csv, plan.xlsx; layers: plan.gpkg. Definitions: docs/indicators.md.</p>"
                 "</body></html>")
    return "\n".join(parts)
