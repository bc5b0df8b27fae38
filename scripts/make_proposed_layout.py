"""Write data/demo/layout_proposed.csv: the layout the demo county might propose by itself — a village
point in every village with a supply co-op outlet (供销社网点), a station at every township seat, the
existing county facilities as centres (netplan.layout_io.proposed_layout). Reproducible: run

    .venv/bin/python scripts/make_proposed_layout.py [SCENARIO] [OUT]

(defaults: data/scenarios/demo.toml, data/demo/layout_proposed.csv).
"""

from __future__ import annotations

import sys
from pathlib import Path

from netplan._paths import data_file
from netplan.layout_io import proposed_layout, write_layout
from netplan.planner import load_inputs
from netplan.scenario import load_scenario


def main(argv: list[str]) -> Path:
    """Build the proposal from the scenario's county folder and write it (CSV, UTF-8 with BOM)."""
    scenario = load_scenario(argv[0] if argv else data_file("scenarios", "demo.toml"))
    out = Path(argv[1]) if len(argv) > 1 else scenario.county_dir / "layout_proposed.csv"
    table = proposed_layout(load_inputs(scenario), scenario)
    write_layout(table, out)
    print(f"{out}: {len(table)} sites "
          + ", ".join(f"{t} {n}" for t, n in table.groupby("tier").size().items()))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
