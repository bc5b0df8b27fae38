"""Write a run to PostgreSQL + PostGIS for shared deployments (`--db postgresql://…`).

The same layers as plan.gpkg (villages, farms, sites, assignments, routes, boundary, townships; EPSG:4326
geometry columns) and the same tables as the CSVs (kpis, kpis_township, costs, transport) go into one
schema per run (default: the scenario name), in a single transaction: a failed write leaves the
previous contents of the schema untouched. Re-running replaces the tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import pandas as pd

from netplan.errors import InputError, NetplanError
from netplan.export import LAYER_ORDER


def engine_url(url: str) -> str:
    """SQLAlchemy URL for psycopg 3 (``postgresql://`` and ``postgres://`` are accepted)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgresql+"):
        return url
    msg = f"--db expects a postgresql:// URL, got {url.split('@')[-1]!r}"
    raise InputError(msg, field="db")


def schema_name(name: str) -> str:
    """A safe lower-case schema identifier from a run or scenario name."""
    s = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "netplan"
    return s if not s[0].isdigit() else f"run_{s}"


def write_postgis_tables(url: str, layers: Mapping[str, gpd.GeoDataFrame],
                         tables: Mapping[str, pd.DataFrame], *, schema: str) -> list[str]:
    """Write geometry layers and plain tables into ``schema`` in one transaction; returns table names.

    Raises
    ------
    NetplanError
        If the database cannot be reached or PostGIS is not available there (message names the host).
    """
    import sqlalchemy as sa

    schema = schema_name(schema)
    eng = sa.create_engine(engine_url(url))
    written: list[str] = []
    try:
        with eng.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            for name in LAYER_ORDER:
                g = layers.get(name)
                if g is None or len(g) == 0:
                    conn.execute(sa.text(f'DROP TABLE IF EXISTS "{schema}"."{name}"'))
                    continue
                g = g.to_crs("EPSG:4326") if g.crs is not None else g.set_crs("EPSG:4326")
                if g.geometry.notna().any():
                    g.to_postgis(name, conn, schema=schema, if_exists="replace", index=False)
                else:  # e.g. townships from a table without outlines: keep a NULL geometry column
                    pd.DataFrame(g.drop(columns=g.geometry.name)).to_sql(
                        name, conn, schema=schema, if_exists="replace", index=False)
                    conn.execute(sa.text(f'ALTER TABLE "{schema}"."{name}" '
                                         "ADD COLUMN geometry geometry(Geometry, 4326)"))
                written.append(name)
            for name, df in tables.items():
                d = pd.DataFrame(df)
                for i in range(d.shape[1]):
                    if d.iloc[:, i].dtype == object:
                        d.isetitem(i, d.iloc[:, i].map(
                            lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)))
                d.to_sql(name, conn, schema=schema, if_exists="replace", index=False)
                written.append(name)
    except sa.exc.OperationalError as exc:
        host = engine_url(url).split("@")[-1]
        msg = f"cannot write to the database at {host}: {str(exc.orig).strip().splitlines()[0]}"
        raise NetplanError(msg) from None
    finally:
        eng.dispose()
    return written


def write_postgis(url: str, plan: Any, *, schema: str | None = None) -> list[str]:
    """Write a Plan's layers and tables (kpis, kpis_township, costs, transport) to PostGIS."""
    ev = plan.evaluation
    tables: dict[str, pd.DataFrame] = {"kpis": plan.kpis}
    if ev is not None:
        tables.update(kpis_township=ev.townships, costs=ev.costs, transport=ev.transport)
    return write_postgis_tables(url, plan.layers, tables, schema=schema or plan.scenario.name)
