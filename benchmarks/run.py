"""Run the benchmarks: ``python benchmarks/run.py [NAME ...]``.

Each ``benchmarks/bench_*.py`` module exposes ``BENCHMARKS = {name: callable}``; a callable
returns ``{"name", "ratio", "target", "unit", "raw": {...}}`` (or a list of such results, one
line each). A result may add ``"checks": {name: bool}`` (e.g. both paths give the same
pixels), all of which must hold, and ``"gate": false`` to be a report: its ratio is printed
but passes or fails nothing (``"pass": null``). One JSON line is printed per result, with
``"pass": ratio >= target and all checks``; the exit code is 1 if any gate failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict:
    """Return ``{name: callable}`` over all ``bench_*.py`` modules beside this file."""
    found = {}
    if str(HERE) not in sys.path:  # the modules share helpers beside them (_timing)
        sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, fn in module.BENCHMARKS.items():
            if name in found:
                raise SystemExit(f"benchmark {name!r} is defined twice ({path.name})")
            found[name] = fn
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    benchmarks = discover()
    if args.list:
        print("\n".join(benchmarks))
        return 0
    unknown = sorted(set(args.names) - set(benchmarks))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(benchmarks)}")
    failed = 0
    for name in args.names or list(benchmarks):
        start = time.perf_counter()
        results = benchmarks[name]()
        seconds = round(time.perf_counter() - start, 1)
        for result in results if isinstance(results, list) else [results]:
            result = {"name": name, **result}
            if result.get("gate", True):
                result["pass"] = bool(result["ratio"] >= result["target"]
                                      and all(result.get("checks", {}).values()))
                failed += not result["pass"]
            else:
                result["pass"] = None  # a report: nothing to pass
            result["seconds"] = seconds
            print(json.dumps(result), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
