"""Write a synthetic region: one county folder per county of a seed prefecture (real outlines).

    python scripts/make_region.py OUT_DIR --counties 10 --seed 0            # Zhumadian's ten
    python scripts/make_region.py OUT_DIR --counties 3 --seed 0 --villages 40 --jobs 2

The folder is what ``netplan batch OUT_DIR --scenario S`` reads. Every county gets its real
administrative villages (names, codes, townships: NBS 2016 list in data/china_admin/villages_2016/,
Vonng/adcode, CC BY 4.0); ``--villages N`` keeps a subset of them (or adds villager groups).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netplan.batch.region import PREFECTURES, make_region  # noqa: E402
from netplan.errors import NetplanError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Generate the region; print one line per county; exit 1 if a county failed, 2 on bad input."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir", type=Path, help="region folder to write")
    p.add_argument("--counties", type=int, default=None, help="how many counties (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prefecture", default="4117", choices=sorted(PREFECTURES),
                   help="4117 Zhumadian (default) or 4104 Pingdingshan")
    p.add_argument("--villages", type=int, default=None,
                   help="villages per county (default: the county's whole real list)")
    p.add_argument("--lattice-m", type=float, default=None,
                   help="road lattice spacing, m (default: the generator's; coarser is faster)")
    p.add_argument("--jobs", type=int, default=1, help="counties generated in parallel")
    a = p.parse_args(argv)
    try:
        res = make_region(a.out_dir, counties=a.counties, seed=a.seed, prefecture=a.prefecture,
                          n_villages=a.villages, lattice_m=a.lattice_m, jobs=a.jobs)
    except NetplanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in res:
        if r["ok"]:
            t = r["totals"]
            print(f"{Path(r['folder']).name}: {t.get('villages', '?')} villages, "
                  f"{r['time_s']:.1f} s")
        else:
            print(f"{Path(r['folder']).name}: FAILED {r['error']}", file=sys.stderr)
    bad = [r for r in res if not r["ok"]]
    print(f"wrote {len(res) - len(bad)} of {len(res)} county folders to {a.out_dir}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
