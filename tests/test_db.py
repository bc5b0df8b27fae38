"""PostGIS writer against a real PostgreSQL + PostGIS: a throw-away cluster in a temp folder on a
loopback port, started here from Debian's packages (.ci/run installs postgresql-15-postgis-3)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from netplan.db import engine_url, schema_name, write_postgis_tables
from netplan.errors import InputError, NetplanError


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    """URL of a fresh PostgreSQL cluster with PostGIS available; stopped after the module."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    version = Path(initdb).parent.parent.name
    if not glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
        pytest.skip(f"PostGIS not installed for PostgreSQL {version} "
                    f"(apt-get install postgresql-{version}-postgis-3)")
    # a folder of its own under the system temp dir (pytest's tmp dirs are private to this user)
    root = Path(tempfile.mkdtemp(prefix="netplan-pg-"))
    data = root / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the packages' postgres user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to own the cluster")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = subprocess.run(prefix + [initdb, "-D", str(data), "-U", "netplan", "--auth=trust",
                                   "-E", "UTF8", "--locale=C"], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"initdb failed: {run.stderr.strip()[:300]}")
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run = subprocess.run(prefix + [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w",
                                   "start"], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"pg_ctl start failed: {run.stderr.strip()[:300]}")
    try:
        yield f"postgresql://netplan@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _layers():
    sites = gpd.GeoDataFrame({"site_id": ["S1", "T1"], "stream": ["film", "film"],
                              "tier": ["village_point", "township_station"], "name": ["农资店", "甲镇驻地"],
                              "load_t": [0.9, 0.9], "parent_id": ["T1", None]},
                             geometry=[Point(114.625, 33.0), Point(114.62, 33.0)], crs="EPSG:4326")
    asg = gpd.GeoDataFrame({"stream": ["film"], "from_id": ["v1"], "to_id": ["S1"], "mass_t": [0.4]},
                           geometry=[LineString([(114.61, 33.0), (114.625, 33.0)])], crs="EPSG:4326")
    return {"sites": sites, "assignments": asg, "routes": gpd.GeoDataFrame(
        columns=["stream", "geometry"], geometry="geometry", crs="EPSG:4326")}


KPIS = pd.DataFrame({"stream": ["film"], "indicator": ["village_coverage"], "value": [0.5],
                     "target": [1.0], "met": [False], "unit": ["fraction"], "label_zh": ["行政村覆盖率"]})


def test_url_and_schema_names():
    """postgresql:// URLs use psycopg 3; other schemes are an input error; schema names are safe."""
    assert engine_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert engine_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(InputError):
        engine_url("sqlite:///x.db")
    assert schema_name("Demo-2027") == "demo_2027" and schema_name("2027") == "run_2027"


def test_layers_and_tables_round_trip(pg_url):
    """Layers arrive as PostGIS geometry (SRID 4326) with Chinese text intact; tables as tables;
    a rerun replaces them."""
    import sqlalchemy as sa

    names = write_postgis_tables(pg_url, _layers(), {"kpis": KPIS}, schema="demo")
    assert names == ["sites", "assignments", "kpis"]
    eng = sa.create_engine(engine_url(pg_url))
    with eng.connect() as c:
        g = gpd.read_postgis('SELECT * FROM demo.sites ORDER BY site_id', c, geom_col="geometry")
        srid = c.execute(sa.text("SELECT Find_SRID('demo', 'sites', 'geometry')")).scalar()
        k = pd.read_sql("SELECT * FROM demo.kpis", c)
        routes = c.execute(sa.text("SELECT to_regclass('demo.routes')")).scalar()
    assert srid == 4326 and list(g["name"]) == ["农资店", "甲镇驻地"]
    assert g.geometry.iloc[0].equals(Point(114.625, 33.0))
    assert k.loc[0, "value"] == 0.5 and k.loc[0, "label_zh"] == "行政村覆盖率"
    assert routes is None  # empty layers are not written (as in plan.gpkg)
    k2 = KPIS.assign(value=0.75)
    write_postgis_tables(pg_url, _layers(), {"kpis": k2}, schema="demo")
    with eng.connect() as c:
        assert pd.read_sql("SELECT value FROM demo.kpis", c)["value"].tolist() == [0.75]
    eng.dispose()


def test_failed_write_leaves_previous_contents(pg_url):
    """One transaction: if a table fails half-way, the schema keeps what the previous run wrote."""
    import sqlalchemy as sa

    write_postgis_tables(pg_url, _layers(), {"kpis": KPIS}, schema="atomic")
    bad = pd.DataFrame([[1, 2]], columns=["a", "a"])  # duplicate column names: the table is refused
    with pytest.raises((ValueError, sa.exc.SQLAlchemyError)):
        write_postgis_tables(pg_url, {"sites": _layers()["sites"].iloc[:1]},
                             {"kpis": KPIS.assign(value=0.1), "bad": bad}, schema="atomic")
    eng = sa.create_engine(engine_url(pg_url))
    with eng.connect() as c:
        assert pd.read_sql("SELECT value FROM atomic.kpis", c)["value"].tolist() == [0.5]
        assert pd.read_sql("SELECT count(*) AS n FROM atomic.sites", c)["n"].iloc[0] == 2
    eng.dispose()


def test_unreachable_database_is_a_clear_error():
    """A closed port gives a NetplanError naming the host, not a driver traceback."""
    with pytest.raises(NetplanError, match="cannot write to the database at 127.0.0.1"):
        write_postgis_tables(f"postgresql://x@127.0.0.1:{_free_port()}/db?connect_timeout=2",
                             _layers(), {}, schema="x")


def test_plan_to_postgis_matches_the_gpkg(pg_url, tmp_path):
    """`--db`: a run's layers and tables land in PostGIS with the rows of plan.gpkg and kpis.csv."""
    import sqlalchemy as sa
    from test_compare import county_copy, scenario_file
    from typer.testing import CliRunner

    from netplan.cli import app

    sc = scenario_file(tmp_path, county_copy(tmp_path))
    res = CliRunner().invoke(app, ["plan", str(sc), "--out", str(tmp_path / "run"), "--no-maps",
                                   "--db", pg_url])
    assert res.exit_code == 0, res.output
    eng = sa.create_engine(engine_url(pg_url))
    with eng.connect() as c:
        for layer in ("villages", "sites", "assignments", "routes", "townships"):
            g = gpd.read_file(tmp_path / "run" / "plan.gpkg", layer=layer)
            n = c.execute(sa.text(f"SELECT count(*) FROM demo.{layer}")).scalar()
            assert n == len(g), layer
        k = pd.read_sql("SELECT * FROM demo.kpis", c)
        t = pd.read_sql("SELECT count(*) AS n FROM demo.kpis_township", c)["n"].iloc[0]
    eng.dispose()
    kc = pd.read_csv(tmp_path / "run" / "kpis.csv", encoding="utf-8-sig")
    assert len(k) == len(kc) and np.allclose(k["value"], kc["value"])
    assert t == len(pd.read_csv(tmp_path / "run" / "kpis_township.csv", encoding="utf-8-sig"))
