"""Browser fixtures: Debian's chromium driven by Playwright, pages served on 127.0.0.1 only.

Every request to any other host is aborted and recorded, so a map that needs the network fails
its test. Where chromium or Playwright is missing the tests skip and say why (the CI script
installs Debian's ``chromium``; Playwright never downloads a browser here).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# A 1x1 transparent PNG, served in place of online tiles when a test allows tile hosts.
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture(scope="session")
def served_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder whose contents the local server serves."""
    return tmp_path_factory.mktemp("served")


@pytest.fixture(scope="session")
def server(served_root: Path) -> Iterator[str]:
    """Base URL of a static file server on 127.0.0.1 (random free port)."""
    handler = functools.partial(_QuietHandler, directory=str(served_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory):
    """A headless chromium context with an empty profile, or a skip saying what is missing."""
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium); browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (PyPI) not installed; browser tests skipped")
    profile = tmp_path_factory.mktemp("chromium-profile")
    pw = sync_playwright().start()
    try:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=exe, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860}, locale="zh-CN",
        )
    except Exception as exc:  # a broken browser install is a skip with its reason
        pw.stop()
        pytest.skip(f"chromium did not start: {exc}")
    yield ctx
    ctx.close()
    pw.stop()


@dataclass
class PageVisit:
    """What happened while a page loaded: requests made, failed, blocked; console errors."""

    page: object
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    tiles: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture
def visit(browser_context, server):
    """Open a served path; only 127.0.0.1 is reachable (plus stubbed tile hosts if allowed)."""
    opened = []
    local = urlsplit(server).netloc

    def _visit(path: str, *, tile_hosts: tuple[str, ...] = ()) -> PageVisit:
        page = browser_context.new_page()
        opened.append(page)
        v = PageVisit(page)

        def route(r):
            url = r.request.url
            host = urlsplit(url).netloc
            if host == local or url.startswith("data:"):
                r.continue_()
            elif any(host.endswith(h) for h in tile_hosts):
                v.tiles.append(url)
                r.fulfill(status=200, content_type="image/png", body=BLANK_PNG)
            else:
                v.blocked.append(url)
                r.abort()

        page.route("**/*", route)
        page.on("request", lambda req: v.requests.append(req.url))
        page.on("requestfailed", lambda req: v.failed.append(f"{req.url} {req.failure}"))
        page.on("console", lambda m: v.console_errors.append(m.text) if m.type == "error"
                else None)
        page.on("pageerror", lambda e: v.page_errors.append(str(e)))
        page.goto(f"{server}/{path}", wait_until="load")
        page.wait_for_selector(".leaflet-control-layers", timeout=15000)
        page.wait_for_timeout(300)  # let canvas and tiles settle
        return v

    yield _visit
    for p in opened:
        p.close()
