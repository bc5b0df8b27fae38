"""`netplan serve SCENARIO`: the planning studio (netplan.studio) on a local uvicorn server."""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from netplan.cli._app import app, console, friendly


@app.command()
@friendly
def serve(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file")],
    run: Annotated[Path | None, typer.Option(
        help="Run folder (or layout table) to start from; default: maps/<name>, else a new plan")] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1 = this computer only)")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser")] = False,
    save_dir: Annotated[Path | None, typer.Option(
        help="Folder the studio saves layouts to (default: the run folder, else maps/<name>-studio)")] = None,
) -> None:
    """Open the planning studio: try site layouts on the map and see the targets move (docs/studio.md)."""
    import uvicorn

    from netplan.studio.load import create_app

    with console.status("loading the scenario…") as status:
        def progress(msg: str) -> None:
            status.update(msg)
            console.log(msg)

        asgi = create_app(scenario, run, save_dir=save_dir, progress=progress)
    url = f"http://{host}:{port}/"
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]bound to {host}: anyone who can reach this machine can use the studio[/]")
    console.print(f"netplan studio on {url} (Ctrl+C stops it)")
    if not no_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(asgi, host=host, port=port, log_level="warning")
