"""Bundled Leaflet: every map netplan writes opens and draws with no network at all.

folium's default page loads Leaflet, jQuery, Bootstrap and icon fonts from public CDNs. netplan's
maps use only Leaflet (markers are canvas circles and CSS div icons, panels are plain HTML), taken
from the npm registry tarball ``leaflet@1.9.4`` and committed under ``netplan/maps/static/`` with
its BSD-2-Clause licence (see ``static/PROVENANCE.md``). A page either inlines the assets (one
self-contained file, the default) or links them from a ``lib/`` folder written next to it.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
from pathlib import Path

import folium

STATIC_DIR = Path(__file__).resolve().parent / "static"
LIB_DIR_NAME = "lib"

# (name, path under static/) in load order.
JS_ASSETS: tuple[tuple[str, str], ...] = (("leaflet", "leaflet/leaflet.js"),)
CSS_ASSETS: tuple[tuple[str, str], ...] = (("leaflet_css", "leaflet/leaflet.css"),)

_TAG_RE = re.compile(
    r'<script src="lib/(?P<js>[^"]+)"></script>|<link rel="stylesheet" href="lib/(?P<css>[^"]+)"/>'
)
_CSS_URL_RE = re.compile(r"url\((?P<q>['\"]?)(?P<path>images/[^)'\"]+)(?P=q)\)")
# src/href attributes and CSS url()s that point off the page's own folder.
_EXTERNAL_RE = re.compile(
    r"""(?:<(?:script|img|iframe|source|embed)\b[^>]*?\bsrc\s*=\s*["']"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["']|url\(\s*["']?)(?P<url>(?:https?:)?//[^"')\s]+)""",
    re.IGNORECASE,
)


class NetplanMap(folium.Map):
    """A folium Map whose only dependency is the bundled Leaflet (no CDN links)."""

    default_js = [(name, f"{LIB_DIR_NAME}/{rel}") for name, rel in JS_ASSETS]
    default_css = [(name, f"{LIB_DIR_NAME}/{rel}") for name, rel in CSS_ASSETS]


def _css_with_data_uris(css: str, base: Path) -> str:
    def repl(m: re.Match[str]) -> str:
        data = (base / m.group("path")).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    return _CSS_URL_RE.sub(repl, css)


def inline_assets(html: str) -> str:
    """Replace the page's ``lib/`` script and stylesheet links by the files' contents.

    Images referenced by the stylesheets (Leaflet's layer-control icon) become data URIs.
    """

    def repl(m: re.Match[str]) -> str:
        if m.group("js"):
            code = (STATIC_DIR / m.group("js")).read_text(encoding="utf-8")
            return f"<script>{code}</script>"
        path = STATIC_DIR / m.group("css")
        css = _css_with_data_uris(path.read_text(encoding="utf-8"), path.parent)
        return f"<style>{css}</style>"

    return _TAG_RE.sub(repl, html)


def install_assets(out_dir: Path) -> Path:
    """Copy the bundled assets (with their licences) to ``out_dir/lib``; return that folder."""
    dest = Path(out_dir) / LIB_DIR_NAME
    shutil.copytree(STATIC_DIR, dest, dirs_exist_ok=True)
    return dest


def external_references(html: str) -> list[str]:
    """URLs of scripts, stylesheets, images or frames a page would fetch from another host.

    Navigation links (``<a href>``) are not fetched and are not listed; nor are tile URL
    templates inside scripts: tiles are the online backgrounds' whole point and the offline
    background has none (the browser tests check what is actually requested).
    """
    return sorted({m.group("url") for m in _EXTERNAL_RE.finditer(html)})


def write_atomic(path: Path, write, *, suffix: str = ".tmp") -> Path:
    """Create ``path`` through a temporary file beside it and a rename; ``write(tmp_path)`` fills
    the temporary file. The result gets the usual file mode (mkstemp's is 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
