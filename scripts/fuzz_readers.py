"""Run the readers' fuzz suite at full volume (issue 18: >= 10,000 cases, no unhandled exception).

    .venv/bin/python scripts/fuzz_readers.py            # scale 1: 10,500 cases
    .venv/bin/python scripts/fuzz_readers.py --scale 5  # 52,500 cases

Prints the number of cases, the wall and CPU time, and pytest's result; exit code is pytest's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

#: examples per test in tests/test_fuzz_readers.py at scale 1
CASES = {"numeric_cell": 6000, "check_numbers_frame": 1000, "read_table": 1200, "scenario": 1300,
         "layout_table": 1000}


def main() -> int:
    """Run the suite; print cases, time and the outcome."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplier of the example counts")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, NETPLAN_FUZZ_SCALE=str(args.scale))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(root / "tests" / "test_fuzz_readers.py")], env=env, cwd=root,
                       check=False)
    wall = time.perf_counter() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = sum(max(1, int(c * args.scale)) for c in CASES.values())
    print(f"{'test':<22}{'cases':>8}")
    for k, c in CASES.items():
        print(f"{k:<22}{max(1, int(c * args.scale)):>8}")
    print(f"{'total':<22}{n:>8}   wall {wall:.1f} s, CPU {cpu.ru_utime + cpu.ru_stime:.1f} s, "
          f"pytest exit {r.returncode}")
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
