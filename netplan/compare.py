"""Set runs side by side: `netplan compare RUN_A RUN_B [...] --out DIR` reads each run folder's
kpis.csv (and run.json), and writes compare.csv, compare.xlsx and compare.html — indicators, targets,
costs and CO2 per run, the difference to the first run, and which targets each run misses — and
compare_map.html, the first two layouts on synchronised maps side by side.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from netplan.errors import InputError
from netplan.export import staging, write_csv
from netplan.report import CSS, fmt_number, stream_zh, write_xlsx
from netplan.runfolder import KPIS_TOWNSHIP_CSV, read_run

KEY = ["stream", "indicator", "label_zh", "unit"]


def compare_runs(run_dirs: list[str | Path]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Wide comparison table and, per run, the targets it misses (``stream.indicator``).

    Columns: stream, indicator, label_zh, unit, target, then per run ``<run>`` (value) and
    ``<run> met``, then per later run ``Δ <run>`` (its value minus the first run's).
    """
    if len(run_dirs) < 2:
        msg = "compare needs at least two run folders"
        raise InputError(msg)
    runs = [(r.name, r.kpis, r.meta) for r in map(read_run, run_dirs)]
    labels: list[str] = []
    for name, _, _ in runs:
        lab, i = name, 2
        while lab in labels:
            lab, i = f"{name}_{i}", i + 1
        labels.append(lab)
    order: list[tuple] = []
    for _, k, _ in runs:
        for t in k[KEY].itertuples(index=False, name=None):
            if t not in order:
                order.append(t)
    table = pd.DataFrame(order, columns=KEY)
    tg = pd.concat([k[KEY + ["target"]] for _, k, _ in runs]).dropna(subset=["target"])
    tg = tg.drop_duplicates(subset=["stream", "indicator"]).set_index(["stream", "indicator"])["target"]
    idx = pd.MultiIndex.from_frame(table[["stream", "indicator"]])
    table["target"] = tg.reindex(idx).to_numpy()
    misses: dict[str, list[str]] = {}
    for lab, (_, k, _) in zip(labels, runs, strict=True):
        ki = k.drop_duplicates(subset=["stream", "indicator"]).set_index(["stream", "indicator"])
        table[lab] = ki["value"].reindex(idx).to_numpy()
        met = ki["met"].reindex(idx)
        table[f"{lab} met"] = met.map(lambda m: None if pd.isna(m) else str(m).lower() == "true").to_numpy()
        miss = table[table["target"].notna() & (table[f"{lab} met"] == False)]  # noqa: E712
        misses[lab] = [f"{r.stream}.{r.indicator}" for r in miss.itertuples(index=False)]
    for lab in labels[1:]:
        table[f"Δ {lab}"] = (table[lab] - table[labels[0]]).round(6)
    table.attrs["runs"] = labels
    return table, misses


def compare_townships(run_dirs: list[str | Path], labels: list[str]) -> pd.DataFrame:
    """Per township, stream and rate indicator: each run's value and the difference to the first run
    (runs without kpis_township.csv are left out)."""
    parts = []
    for lab, d in zip(labels, run_dirs, strict=True):
        t = read_run(d).township_kpis() if (Path(d) / KPIS_TOWNSHIP_CSV).is_file() else None
        if t is None:
            continue
        t = t[t["unit"] == "fraction"]
        parts.append(t.set_index(["township_code", "township", "stream", "indicator"])["value"]
                     .rename(lab))
    if not parts:
        return pd.DataFrame()
    wide = pd.concat(parts, axis=1).reset_index()
    have = [lab for lab in labels if lab in wide.columns]
    for lab in have[1:]:
        wide[f"Δ {lab}"] = (wide[lab] - wide[have[0]]).round(6)
    return wide


def compare_html(table: pd.DataFrame, misses: dict[str, list[str]], *, map_link: bool = False) -> str:
    """Self-contained HTML: the table with differences highlighted and each run's missed targets."""
    labels = table.attrs["runs"]
    e = html.escape
    rows = ["<table><tr><th class=l>品类</th><th class=l>指标</th><th>目标 target</th>"
            + "".join(f"<th>{e(lab)}</th>" for lab in labels)
            + "".join(f"<th>Δ {e(lab)}</th>" for lab in labels[1:]) + "</tr>"]
    for r in table.to_dict("records"):
        unit = r["unit"]
        base = r[labels[0]]
        cells = []
        for lab in labels:
            v = r[lab]
            cls = []
            if lab != labels[0] and not (pd.isna(v) or pd.isna(base)) and abs(v - base) > 1e-9:
                cls.append("diff")
            met = r[f"{lab} met"]
            if met is True:
                cls.append("ok")
            elif met is False:
                cls.append("miss")
            c = f" class='{' '.join(cls)}'" if cls else ""
            cells.append(f"<td{c}>{fmt_number(v, unit)}</td>")
        for lab in labels[1:]:
            d = r[f"Δ {lab}"]
            sign = "+" if not pd.isna(d) and d > 0 else ""
            cells.append(f"<td>{'' if pd.isna(d) or abs(d) < 1e-9 else sign + fmt_number(d, unit)}</td>")
        tgt = "" if pd.isna(r["target"]) else "≥ " + fmt_number(r["target"], unit)
        rows.append(f"<tr><td class=l>{e(stream_zh(r['stream']))}</td>"
                    f"<td class=l>{e(str(r['label_zh']))} <span class=note>{e(r['indicator'])} "
                    f"({e(str(unit))})</span></td><td>{tgt}</td>{''.join(cells)}</tr>")
    rows.append("</table>")
    miss = "".join(
        f"<li><b>{e(lab)}</b>: " + (e(", ".join(m)) if m else "<span class=ok>全部达标 all targets met</span>")
        + "</li>" for lab, m in misses.items())
    links = " ".join(f"<a href='../{e(lab)}/report.html'>{e(lab)}</a>" for lab in labels)
    return ("<!DOCTYPE html><html lang=zh><head><meta charset=utf-8><title>netplan compare</title>"
            f"<style>{CSS}</style></head><body><h1>方案比选 Layout comparison</h1>"
            f"<p>runs: {links}; Δ = run minus <b>{e(labels[0])}</b>; "
            "<span class=diff>highlighted</span> = differs from the first run."
            + (" Maps side by side: <a href='compare_map.html'>compare_map.html</a>." if map_link else "")
            + "</p>"
            f"<h2>未达标目标 Targets missed</h2><ul>{miss}</ul>"
            f"<h2>指标、成本与碳排放 Indicators, costs and CO2</h2>{''.join(rows)}</body></html>")


def write_compare_map_of(run_a: Path, run_b: Path, labels: tuple[str, str], path: Path) -> Path | None:
    """Side-by-side synchronised map of two runs (netplan.maps.write_compare_map); None if a run has
    no plan.gpkg."""
    from netplan.maps import write_compare_map

    a, b = read_run(run_a), read_run(run_b)
    if not (a.has_plan and b.has_plan):
        return None
    out = write_compare_map(path, a.layers(), b.layers(), labels=labels, kpis_a=a.kpis,
                            kpis_b=b.kpis, crow_fly=a.crow_fly or b.crow_fly)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(out, 0o666 & ~umask)  # the map writer's temp file is private (0600); publish like the rest
    return out


def write_compare(table: pd.DataFrame, misses: dict[str, list[str]], out_dir: str | Path,
                  run_dirs: list[str | Path] | None = None) -> list[Path]:
    """compare.csv, compare.xlsx (Chinese headers, a "missed" sheet), compare.html and — given the
    run folders — compare_township.csv (per-township rates) and compare_map.html (first two runs side
    by side), atomically."""
    out = Path(out_dir)
    names = ["compare.csv", "compare.xlsx", "compare.html"]
    with staging(out) as tmp:
        write_csv(tmp / "compare.csv", table)
        miss = pd.DataFrame([{"run": k, "missed": ";".join(v), "n_missed": len(v)}
                             for k, v in misses.items()])
        sheets = {"compare": table, "missed": miss}
        if run_dirs is not None:
            towns = compare_townships(list(run_dirs), table.attrs["runs"])
            if len(towns):
                write_csv(tmp / "compare_township.csv", towns)
                names.append("compare_township.csv")
                sheets["townships"] = towns
        write_xlsx(tmp / "compare.xlsx", sheets)
        has_map = False
        if run_dirs is not None and len(run_dirs) >= 2:
            labels = table.attrs["runs"]
            has_map = write_compare_map_of(Path(run_dirs[0]), Path(run_dirs[1]),
                                           (labels[0], labels[1]), tmp / "compare_map.html") is not None
        if has_map:
            names.append("compare_map.html")
        (tmp / "compare.html").write_text(compare_html(table, misses, map_link=has_map),
                                          encoding="utf-8")
    return [out / n for n in names]
