"""``make bench``: run every benchmark module and print its figures.

Each ``benchmarks/bench_*.py`` exposes ``main()``; pass names to run a subset:
``python -m benchmarks.run read_genotypes``. Benchmarks compare against the reference tools when those are
installed in a side environment (see benchmarks/README.md) and print the ratios.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    for name in names:
        print(f"== {name}")
        start = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        module.main()
        print(f"   ({time.perf_counter() - start:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
