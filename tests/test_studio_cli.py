"""`netplan serve`: bad arguments exit 2 with a message, the defaults bind 127.0.0.1:8765, and
--no-browser opens none (uvicorn.run and webbrowser.open are replaced, no server is started)."""

from __future__ import annotations

import pytest
from test_hostile_cli import cli, make_base, refused

pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def scen(tmp_path_factory):
    return make_base(tmp_path_factory)[1]


def test_missing_scenario_is_refused(tmp_path):
    refused(cli("serve", tmp_path / "nope.toml", "--no-browser"), "scenario file not found")


def test_run_without_a_layout_is_refused(scen, tmp_path):
    refused(cli("serve", scen, "--run", tmp_path, "--no-browser"), "layout.csv")


def test_serve_binds_localhost_and_opens_no_browser(scen, tmp_path, monkeypatch):
    import webbrowser

    import uvicorn
    from test_studio_api import start_layout

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setattr(webbrowser, "open", lambda url: seen.setdefault("opened", url))
    r = cli("serve", scen, "--run", start_layout(scen, tmp_path), "--no-browser",
            "--save-dir", tmp_path / "saved")
    assert r.exit_code == 0, r.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8765 and "opened" not in seen
    assert seen["app"].state.studio.save_dir == tmp_path / "saved"
    assert "http://127.0.0.1:8765/" in r.text
