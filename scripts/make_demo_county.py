"""Write a synthetic-but-grounded county folder (thin CLI over netplan.synth.generate_county).

    python scripts/make_demo_county.py --adcode 411723 --out data/demo --seed 0
    python scripts/make_demo_county.py --adcode 410423 --out data/demo_hills --terrain hilly
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netplan.errors import NetplanError  # noqa: E402
from netplan.synth import generate_county  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate, print the totals; non-zero exit on a netplan error."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--adcode", required=True, help="6-digit county code with an outline in data/china_admin/")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--terrain", choices=["plain", "hilly"], default=None)
    p.add_argument("--n-villages", type=int, default=None,
                   help="default: the county's real village list (fewer: a subset; more: plus villager groups)")
    a = p.parse_args(argv)
    try:
        totals = generate_county(a.adcode, a.out, seed=a.seed, terrain=a.terrain, n_villages=a.n_villages)
    except NetplanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(totals, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
