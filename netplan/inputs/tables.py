"""Read a planner's table or layer: CSV, XLSX, GeoJSON, GeoPackage, Shapefile.

Text is decoded as declared, else detected: UTF-8 (with or without BOM) when the bytes decode,
otherwise GB18030 (a superset of GBK/GB2312, what Chinese Excel and ArcGIS write). Shapefile
attributes are decoded the same way from the .dbf bytes when no .cpg file names the code page.
Every failure becomes an :class:`~netplan.errors.InputError` naming the file.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from netplan.errors import InputError

TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")
GEO_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
SUFFIXES = TABLE_SUFFIXES + GEO_SUFFIXES

_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "936": "gb18030",
            "utf8": "utf-8", "utf-8": "utf-8", "utf-8-sig": "utf-8-sig"}


def _codec(encoding: str) -> str:
    e = encoding.strip().lower()
    out = _ALIASES.get(e, e)
    try:
        "".encode(out)
    except LookupError:
        msg = f"unknown encoding '{encoding}' (use utf-8 or gbk)"
        raise InputError(msg) from None
    return out


def detect_encoding(data: bytes) -> str:
    """Best codec for ``data``: "utf-16" with a UTF-16 byte-order mark, "utf-8-sig" if it decodes as
    UTF-8, else "gb18030".

    GB18030 decodes any byte string GBK produces; text that is neither decodes to replacement
    characters there, which the caller reports as unknown names rather than crashing.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Excel's "Unicode text" export (tab-separated)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    codec = _codec(encoding) if encoding else detect_encoding(data)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        msg = (f"cannot decode the file as {encoding or codec} (byte {exc.start}); "
               "save it as UTF-8 or declare `encoding` in county.toml")
        raise InputError(msg, file=path.name) from None


def read_table(path: Path, *, encoding: str | None = None, sheet: str | int | None = None,
               layer: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read one file of the county folder.

    Parameters
    ----------
    path
        CSV/TXT, XLSX/XLS, GeoJSON, GeoPackage or Shapefile (or a zipped Shapefile).
    encoding
        Declared text encoding ("utf-8", "gbk"); detected when None.
    sheet, layer
        Excel sheet (name or 0-based index; default the first) or GeoPackage layer (default the first).

    Returns
    -------
    frame, note
        A DataFrame of strings for CSV/XLSX (cells exactly as written, blanks as ""), a GeoDataFrame
        for geo formats; and a note on the encoding used.
    """
    suffix = path.suffix.lower()
    if encoding:
        try:
            _codec(encoding)
        except InputError as exc:
            raise InputError(str(exc.problems[0].message), file=path.name) from None
    if path.is_dir() and suffix not in (".gdb",):
        msg = "a folder, not a file (give the table's file)"
        raise InputError(msg, file=path.name)
    if not path.exists():
        msg = ("a broken symbolic link or a link loop" if path.is_symlink() else "file not found")
        raise InputError(msg, file=path.name)
    try:
        if suffix in (".csv", ".txt"):
            data = path.read_bytes()
            text = _decode(path, data, encoding)
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                             sep=_delimiter(text), skipinitialspace=True)
            codec = _codec(encoding) if encoding else detect_encoding(data)
            return _clean_headers(df), f"encoding {codec.replace('-sig', '')}"
        if suffix == ".xls":
            try:
                import xlrd  # noqa: F401
            except ImportError:
                msg = "old Excel format (.xls): save the sheet as .xlsx or .csv"
                raise InputError(msg, file=path.name) from None
        if suffix in (".xlsx", ".xlsm", ".xls"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
            df = df.map(_cell).astype(str) if len(df.columns) else df
            return _clean_headers(df), (f"sheet {sheet}" if sheet is not None else "")
        if suffix in GEO_SUFFIXES:
            return _read_geo(path, encoding=encoding, layer=layer)
    except InputError:
        raise
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError, OSError, KeyError,
            IndexError, TypeError, UnicodeError, struct.error) as exc:
        msg = f"cannot read the file: {_short(exc)}"
        raise InputError(msg, file=path.name) from None
    except Exception as exc:  # pyogrio / openpyxl raise their own classes for corrupt files
        msg = f"cannot read the file ({type(exc).__name__}): {_short(exc)}"
        raise InputError(msg, file=path.name) from None
    msg = f"unsupported file type '{suffix}' (use {', '.join(SUFFIXES)})"
    raise InputError(msg, file=path.name)


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab: whichever the header line holds most of (comma on ties)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _cell(v: object) -> str:
    """An Excel cell as text: integers without ".0", blanks as ""."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v).strip()


def _clean_headers(df: pd.DataFrame) -> pd.DataFrame:
    cols = [str(c).strip().replace("\ufeff", "") for c in df.columns]
    df = df.copy()
    df.columns = cols
    # drop fully blank rows (Excel leaves them after deleting content)
    if len(df):
        blank = df.apply(lambda r: all(str(x).strip() == "" for x in r), axis=1)
        df = df[~blank.to_numpy(dtype=bool)].reset_index(drop=True) if blank.any() else df
    return df


def dbf_encoding(shp: Path) -> str | None:
    """Code page of a Shapefile's attributes (also inside a .zip): the .cpg file's, else detected
    from the .dbf bytes; None when the attributes are plain ASCII or there is no .dbf."""
    if shp.suffix.lower() == ".zip":
        with zipfile.ZipFile(shp) as zf:
            names = zf.namelist()
            cpg = [n for n in names if n.lower().endswith(".cpg")]
            dbf = [n for n in names if n.lower().endswith(".dbf")]
            cpg_text = zf.read(cpg[0]).decode("ascii", "ignore") if cpg else ""
            data = zf.read(dbf[0]) if dbf else b""
    else:
        cpg_path, dbf_path = shp.with_suffix(".cpg"), shp.with_suffix(".dbf")
        cpg_text = cpg_path.read_text(errors="ignore") if cpg_path.exists() else ""
        data = dbf_path.read_bytes() if dbf_path.exists() else b""
    if cpg_text.strip():
        return cpg_text.strip()
    if len(data) < 32:
        return None
    header_len = struct.unpack("<H", data[8:10])[0]
    body = data[header_len:]
    if all(b < 128 for b in body):
        return None
    return "UTF-8" if detect_encoding(body) == "utf-8-sig" else "GB18030"


def _read_geo(path: Path, *, encoding: str | None, layer: str | None) -> tuple[gpd.GeoDataFrame, str]:
    kwargs: dict[str, object] = {}
    note = ""
    if path.suffix.lower() in (".shp", ".zip"):
        enc = encoding or dbf_encoding(path)
        if enc:
            try:
                codec = _codec(enc)
            except InputError:
                msg = f"unknown attribute encoding '{enc}' (.cpg file or `encoding`); use utf-8 or gbk"
                raise InputError(msg, file=path.name) from None
            kwargs["encoding"] = "GB18030" if codec == "gb18030" else enc
            note = f"encoding {kwargs['encoding']}" + ("" if encoding else " (detected)")
    elif encoding:
        kwargs["encoding"] = encoding
    if layer is not None:
        kwargs["layer"] = layer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
        except UnicodeDecodeError as exc:
            msg = (f"cannot decode the attribute names or values as {kwargs.get('encoding', 'UTF-8')} "
                   f"({exc.reason}); a Shapefile cuts names to 10 bytes, which splits Chinese UTF-8 "
                   "characters: save it as GBK or as a GeoPackage, or declare `encoding`")
            raise InputError(msg, file=path.name) from None
    gdf.columns = [str(c).strip() for c in gdf.columns]
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    return gdf, note
