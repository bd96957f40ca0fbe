"""Mutation testing of radiolib's core (``make mutate``; not part of CI): run mutmut, score it.

``python tests/mutate.py [--survivors] [MODULE ...]`` runs mutmut (configured in ``pyproject.toml``,
``[tool.mutmut]``: the files mutated and the fast tests run against them) on the functions of
`SCOPE` -- every function of a module, or the named ones -- and prints, per module, mutants
killed / tested and each survivor's diff. ``--report`` prints the last results without
running. Results are kept in ``mutants/`` (ignored by git), so a rerun only tests mutants of
functions that changed. The score and the survivors' reasons are in ``tests/README.md``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
SEP = "\u01c1"  # mutmut's class separator in mutant names: x<SEP>Class<SEP>method


def _methods(module: str, cls: str, *names: str) -> list[str]:
    return [f"{module}.x{SEP}{cls}{SEP}{n}__mutmut_*" for n in names]


def _functions(module: str, *names: str) -> list[str]:
    return [f"{module}.x_{n}__mutmut_*" for n in names]


#: Module -> mutant-name patterns: what ``make mutate`` mutates (files listed in pyproject).
SCOPE = {
    # NTXentLoss; the all_gather of its negatives (_gather, _GatherWithGrad) runs only in the
    # two-rank test's spawned processes, whose calls mutmut cannot attribute to a test
    "ntxent": _methods("radiolib.ssl.ntxent", "NTXentLoss", "__init__", "extra_repr", "forward"),
    "dino_loss": ["radiolib.ssl.dino_loss.*"],
    "simclr_step": _methods("radiolib.ssl.simclr", "SimCLR", "views", "training_step"),
    "dino_step": _methods("radiolib.ssl.dino", "DINO", "param_groups", "base_lr", "set_schedule",
                          "training_step", "after_backward", "after_step")
    + _methods("radiolib.ssl.dino", "MultiCropNet", "forward")
    + _methods("radiolib.ssl.method", "SSLMethod", "set_schedule", "after_backward"),
    "schedules": ["radiolib.ssl.schedules.*"],
    "scaling": ["radiolib.scaling.*"],
    "field_stats": ["radiolib.tiling.stats.*"],
    "boxes": ["radiolib.tiling.boxes.*"],
    "metrics": _functions("radiolib.evaluate.probes", "_pca", "count_regression_mse", "_scores",
                          "linear_probe", "knn_probe", "bootstrap_std")
    + ["radiolib.evaluate.label_counts.*"],
    "verdict": _functions("radiolib.published", "tolerance_of", "verdict", "claim_verdict"),
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
          None: "not checked"}


def results() -> dict[str, int | None]:
    """Exit code of every generated mutant, from mutmut's ``mutants/**/*.meta`` files."""
    codes: dict[str, int | None] = {}
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def retest_timeouts() -> None:
    """Forget the result of mutants that timed out, so that the next run tests them again."""
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        stale = [k for k, v in codes.items() if STATUS.get(v) == "timeout"]
        if stale:
            codes.update(dict.fromkeys(stale))
            meta.write_text(json.dumps(data))


def in_scope(name: str, patterns: list[str]) -> bool:
    """True when mutant ``name`` matches one of ``patterns``."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def diff(name: str) -> str:
    """The changed lines of mutant ``name`` (``mutmut show``), one line each, -/+."""
    out = subprocess.run([str(MUTMUT), "show", name], cwd=ROOT, capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines()
             if ln[:1] in "-+" and not ln.startswith(("---", "+++"))]
    return " | ".join(ln.strip() for ln in lines)


def report(modules: list[str], *, diffs: bool = True) -> tuple[int, int]:
    """Print killed / tested per module and the survivors; return the totals."""
    codes = results()
    killed = tested = 0
    for module in modules:
        names = sorted(n for n in codes if in_scope(n, SCOPE[module]))
        status = {n: STATUS.get(codes[n], "suspicious") for n in names}
        done = [n for n in names if status[n] != "not checked"]
        k = sum(status[n] == "killed" for n in done)  # a timeout is listed, not counted
        killed, tested = killed + k, tested + len(done)
        score = f"{100 * k / len(done):.1f} %" if done else "-"
        print(f"{module:12s} {k:4d} / {len(done):4d} killed ({score}); "
              f"{len(names) - len(done)} not checked")
        for n in done:
            if status[n] != "killed":
                print(f"    {status[n]:9s} {n}" + (f"\n        {diff(n)}" if diffs else ""))
    if tested:
        print(f"{'total':12s} {killed:4d} / {tested:4d} killed ({100 * killed / tested:.1f} %)")
    return killed, tested


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", choices=[[], *SCOPE], metavar="MODULE",
                        help=f"modules of SCOPE (default all): {', '.join(SCOPE)}")
    parser.add_argument("--report", action="store_true", help="print the last results only")
    parser.add_argument("--survivors", action="store_true",
                        help="rerun only the mutants of MODULES that the last run did not kill "
                             "(after adding tests: a killed mutant stays killed)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    modules = args.modules or list(SCOPE)
    if not args.report:
        patterns = [p for m in modules for p in SCOPE[m]]
        if args.survivors:
            codes = results()
            patterns = sorted(n for n in codes if in_scope(n, patterns)
                              and codes[n] is not None and STATUS.get(codes[n]) != "killed")
            if not patterns:
                print("no survivors to rerun")
                return 0 if report(modules)[0] else 1
        retest_timeouts()
        # mutants run in processes forked from mutmut's, which ran the tests once: an OpenMP
        # pool started there deadlocks torch in the children (false timeouts); one thread each
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        start = time.perf_counter()
        done = subprocess.run([str(MUTMUT), "run", "--max-children", str(args.max_children),
                               *patterns], cwd=ROOT, env=env)
        print(f"mutmut run: exit {done.returncode}, {time.perf_counter() - start:.0f} s")
        if done.returncode:
            return done.returncode
    killed, tested = report(modules)
    return 0 if tested and killed >= 0.9 * tested else 1


if __name__ == "__main__":
    sys.exit(main())
