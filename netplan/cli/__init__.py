"""The netplan command line: ``netplan demo``, ``plan``, ``evaluate``, ``validate``, ``compare``,
``batch`` and the commands added beside them.

Each command lives in a module of this package and registers itself on :data:`app`
(``@app.command(...)`` then ``@friendly``, both from ``netplan.cli._app``); this file imports the
modules in the order ``netplan --help`` lists them. Nothing outside ``netplan.cli`` imports this
package, typer or rich: the library reports progress through plain callbacks.
Errors print a clear message and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

from netplan.cli._app import app, friendly

# the command modules, in the order `netplan --help` lists their commands
# isort: off
from netplan.cli import run  # noqa: F401  (demo, plan, evaluate)
from netplan.cli import validate  # noqa: F401
from netplan.cli import compare  # noqa: F401
from netplan.cli import batch  # noqa: F401
from netplan.cli import analysis  # noqa: F401  (frontier, alternatives)
from netplan.cli import risk  # noqa: F401  (risk)
from netplan.cli import serve  # noqa: F401  (serve: the studio)
# isort: on

__all__ = ["app", "friendly", "main"]


def main() -> None:  # pragma: no cover - console entry
    """Console entry point."""
    app()
    sys.exit(0)
