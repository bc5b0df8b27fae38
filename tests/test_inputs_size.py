"""Size estimate before any table is parsed: a table beyond the machine's memory is refused in
seconds with what to do, not after minutes with a MemoryError."""

from __future__ import annotations

import time

import pytest
from test_inputs import build_folder

from netplan.errors import InputError
from netplan.inputs import load_county, validate_folder
from netplan.inputs.size import check_size, count_lines, estimate


def test_estimate_and_levels():
    """Matrix memory grows with demands × candidates; error / warning / note by available memory."""
    est = estimate(villages=1000, farms=100, sites=50, townships=20)
    assert (est.demands, est.candidates) == (1100, 1070)
    assert est.matrix_bytes == 8 * 4 * (1100 * 1070 + 1070 * 1070)
    for mem, severity, ok in ((10**12, "note", True), (4 * est.matrix_bytes, "warning", True),
                              (est.matrix_bytes, "error", False)):
        probs = []
        assert check_size(est, "villages.csv", probs, memory=mem) is ok
        assert [p.severity for p in probs] == [severity]
    assert "netplan batch" in probs[0].message and "coarser candidates" in probs[0].message


def test_count_lines(tmp_path):
    """Data lines counted on the bytes (header excluded, missing final newline counted)."""
    p = tmp_path / "v.csv"
    p.write_bytes(b"a,b\n1,2\n3,4")
    assert count_lines(p) == 2
    assert count_lines(tmp_path / "v.xlsx") is None


def test_huge_villages_table_refused_before_parsing(tmp_path, monkeypatch):
    """With 1 MiB of memory (NETPLAN_MEMORY_BYTES) a 2,000-row villages.csv is refused at once,
    naming the file and the way out; the same folder loads with the real memory."""
    root = build_folder(tmp_path)
    text = (root / "villages.csv").read_text(encoding="utf-8-sig").splitlines()
    (root / "villages.csv").write_text("\n".join([text[0]] + [text[1]] * 2000) + "\n",
                                       encoding="utf-8")
    monkeypatch.setenv("NETPLAN_MEMORY_BYTES", str(1 << 20))
    t0 = time.perf_counter()
    rep = validate_folder(root, roads=False)
    assert time.perf_counter() - t0 < 5
    assert [p.file for p in rep.errors] == ["villages.csv"]
    assert "too large to plan on this machine" in rep.errors[0].message
    with pytest.raises(InputError, match="netplan batch"):
        load_county(root)


def test_count_rows_of_a_workbook(tmp_path):
    """An XLSX sheet's rows come from its dimension record, without reading the cells."""
    import pandas as pd

    p = tmp_path / "v.xlsx"
    pd.DataFrame({"village_id": range(1200), "name": ["x"] * 1200}).to_excel(p, index=False)
    assert count_lines(p) == 1200
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    assert count_lines(tmp_path / "bad.xlsx") is None
