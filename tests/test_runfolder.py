"""netplan.runfolder is the run-folder contract: docs/outputs.md says the same, and read_run
reads a folder back or names what is wrong with it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from netplan import runfolder as rf
from netplan.errors import InputError
from netplan.export import LAYER_ORDER, write_csv

DOC = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"


def test_outputs_doc_names_every_file_layer_column_and_key() -> None:
    """Every file name, layer, kpis.csv column and run.json key of the module is in the doc."""
    doc = DOC.read_text(encoding="utf-8")
    files = [v for k, v in vars(rf).items() if k.isupper() and isinstance(v, str) and "." in v]
    assert len(files) >= 12
    missing = [f for f in files if f"`{f}`" not in doc]
    missing += [f"layer {n}" for n in rf.LAYERS if f"`{n}`" not in doc]
    kpi_table = doc[doc.index("## kpis.csv"):]
    missing += [f"kpis.csv column {c}" for c in rf.KPI_COLUMNS
                if not re.search(rf"^\| {c} \|", kpi_table, flags=re.M)]
    missing += [f"run.json key {k}" for k in (*rf.RUN_JSON_KEYS, *rf.SOLVE_KEYS)
                if k not in doc.split("| `run.json` |")[1].split("\n")[0] and k != "source"]
    assert not missing, missing
    assert f"`{rf.PNG_DIR}/`" in doc and "`<stream>.html`" in doc


def test_gpkg_writer_uses_the_contract_layers() -> None:
    """export.write_gpkg writes the layers the contract names, in its order."""
    assert tuple(LAYER_ORDER) == rf.LAYERS


def test_read_run_parses_kpis_and_meta(tmp_path: Path) -> None:
    """met written as text becomes True/False/None, value/target numbers; run.json is read."""
    k = pd.DataFrame([("straw", "village_coverage", 0.9, 0.82, True, "fraction", "覆盖率"),
                      ("straw", "generation_t_yr", 5.0, None, None, "t/yr", "产生量")],
                     columns=list(rf.KPI_COLUMNS))
    write_csv(tmp_path / rf.KPIS_CSV, k)
    (tmp_path / rf.RUN_JSON).write_text('{"scenario": "s", "crow_fly": true}', encoding="utf-8")
    run = rf.read_run(tmp_path)
    assert run.name == tmp_path.name and run.crow_fly and not run.has_plan
    assert list(run.kpis["met"]) == [True, None]
    assert run.kpis["target"].isna().tolist() == [False, True]
    assert run.township_kpis() is None and run.layers() == {}


def test_read_run_names_a_missing_kpis_file_and_column(tmp_path: Path) -> None:
    """No kpis.csv, or one without a contract column, is an InputError naming the file."""
    with pytest.raises(InputError, match="kpis.csv missing"):
        rf.read_run(tmp_path)
    write_csv(tmp_path / rf.KPIS_CSV, pd.DataFrame({"stream": ["straw"], "indicator": ["x"]}))
    with pytest.raises(InputError, match="lacks column"):
        rf.read_run(tmp_path)
