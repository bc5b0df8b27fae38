"""Fuzz: malformed tables, files and geometries never raise anything but InputError (or load)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_inputs import VILLAGES, build_folder

from netplan.errors import InputError
from netplan.inputs import load_county, validate_folder
from netplan.model import County

#: examples per fuzz test; NETPLAN_FUZZ_EXAMPLES=2000 for a long hunt
FUZZ = settings(max_examples=int(os.environ.get("NETPLAN_FUZZ_EXAMPLES", "15")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A clean folder to copy and then break one file of."""
    return build_folder(tmp_path_factory.mktemp("fuzz") / "base")


def load_or_inputerror(root: Path) -> County | None:
    """load_county's result, None when it raised InputError; any other exception fails the test.
    validate_folder must agree (ok exactly when load_county succeeds)."""
    rep = validate_folder(root, roads=False)
    try:
        c = load_county(root)
    except InputError as exc:
        assert exc.problems and all(p.severity == "error" for p in exc.problems)
        assert not rep.ok
        return None
    assert rep.ok, rep.format()
    return c


def with_file(base: Path, name: str, data: bytes, drop: tuple[str, ...] = ()) -> tuple[Path, str]:
    """A copy of ``base`` in a fresh temp dir with ``name`` replaced by ``data``."""
    tmp = tempfile.mkdtemp(prefix="netplan-fuzz-")
    root = Path(tmp) / "c"
    shutil.copytree(base, root)
    for d in drop:
        (root / d).unlink(missing_ok=True)
    (root / name).write_bytes(data)
    return root, tmp


cells = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10**12, 10**12).map(str),
    st.sampled_from(["", " ", "nan", "NULL", "-", "1,2", "３００", "114°36′", "33度", "1e400",
                     "甲镇", "乙街道", "411723101", "-0", "0x10", "∞", "pig", "猪", "秸秆;glass"]),
)
headers = st.sampled_from(list(VILLAGES.columns) + ["村名", "经度", "纬度", "人口", "耕地面积（公顷）",
                                                    "乡镇", "x", "y", "", "名称", "geometry"])


@FUZZ
@given(st.lists(headers, min_size=1, max_size=8),
       st.lists(st.lists(cells, min_size=8, max_size=8), max_size=6),
       st.sampled_from(["utf-8", "gbk", "utf-16"]))
def test_fuzz_village_table(base, cols, rows, encoding):
    """Any villages.csv built from plausible headers and hostile cells, in any of three encodings,
    loads or raises InputError."""
    df = pd.DataFrame([r[: len(cols)] for r in rows], columns=None if not rows else range(len(cols)))
    text = ",".join(f'"{c}"' for c in cols) + "\n"
    for r in rows:
        text += ",".join('"' + str(v).replace('"', '""') + '"' for v in r[: len(cols)]) + "\n"
    del df
    data = text.encode(encoding, errors="replace")
    root, tmp = with_file(base, "villages.csv", data)
    try:
        load_or_inputerror(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["villages.csv", "villages.xlsx", "farms.csv",
                                                 "sites.csv", "townships.geojson", "boundary.geojson",
                                                 "county.toml"]))
def test_fuzz_random_bytes(base, data, name):
    """Random bytes in place of any file of the folder load or raise InputError."""
    drop = ("villages.csv",) if name == "villages.xlsx" else ()
    root, tmp = with_file(base, name, data, drop)
    try:
        load_or_inputerror(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


coord = st.one_of(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e8, max_value=1e8),
                  st.floats(114.55, 114.75), st.floats(32.95, 33.05))
ring = st.lists(st.tuples(coord, coord), min_size=0, max_size=7).map(
    lambda pts: [list(p) for p in pts] + ([list(pts[0])] if pts and len(pts) % 2 else []))
geometry = st.one_of(
    st.builds(lambda r: {"type": "Polygon", "coordinates": [r]}, ring),
    st.builds(lambda rs: {"type": "MultiPolygon", "coordinates": [[r] for r in rs]},
              st.lists(ring, max_size=3)),
    st.builds(lambda p: {"type": "Point", "coordinates": list(p)}, st.tuples(coord, coord)),
    st.builds(lambda r: {"type": "LineString", "coordinates": r}, ring),
    st.just(None),
    st.just({"type": "Polygon", "coordinates": []}),
)


@FUZZ
@given(st.lists(geometry, min_size=0, max_size=4), st.sampled_from(["townships.geojson",
                                                                      "boundary.geojson"]))
def test_fuzz_geometries(base, geoms, name):
    """Boundary and township layers with empty, degenerate, self-intersecting, far-away or
    wrong-type geometries load or raise InputError."""
    feats = [{"type": "Feature", "properties": {"township_code": f"41172310{i}", "name": f"镇{i}"},
              "geometry": g} for i, g in enumerate(geoms)]
    data = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    root, tmp = with_file(base, name, data)
    try:
        load_or_inputerror(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@FUZZ
@given(st.dictionaries(st.sampled_from(["name", "adcode", "terrain", "crs", "metric_crs", "files",
                                         "province"]),
                       st.one_of(st.text(max_size=10), st.integers(), st.booleans(),
                                 st.sampled_from(["gcj02", "EPSG:4547", "EPSG:4326", "EPSG:99999",
                                                  "hilly", "plain", "bd09"])), max_size=5),
       st.dictionaries(st.sampled_from(["villages", "townships", "farms", "roads", "rivers"]),
                       st.one_of(st.text(max_size=8), st.integers(),
                                 st.fixed_dictionaries({"crs": st.sampled_from(["gcj02", "x", "EPSG:4526"]),
                                                        "area_unit": st.sampled_from(["mu", "ha", "acre"]),
                                                        "encoding": st.sampled_from(["gbk", "utf-8",
                                                                                     "klingon"])})),
                       max_size=3))
def test_fuzz_county_toml(base, top, files):
    """county.toml with odd values, types, CRS names, file tables and options loads or raises
    InputError."""
    lines = []
    for k, v in top.items():
        if k == "files":
            continue
        lines.append(f"{k} = {json.dumps(v, ensure_ascii=False)}")
    for k, v in files.items():
        if isinstance(v, dict):
            lines.append(f"[files.{k}]")
            lines += [f"{kk} = {json.dumps(vv)}" for kk, vv in v.items()]
        else:
            lines.insert(0, f"files.{k} = {json.dumps(v, ensure_ascii=False)}")
    root, tmp = with_file(base, "county.toml", "\n".join(lines).encode())
    try:
        load_or_inputerror(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
