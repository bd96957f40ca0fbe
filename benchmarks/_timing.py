"""Timing shared by the benchmarks: best-of-rounds, with the candidates interleaved."""

from __future__ import annotations

import time

ROUNDS = 5


def interleaved(fns: dict, rounds: int = ROUNDS) -> dict:
    """Best wall time of each callable over ``rounds``, calling them in turn each round.

    Interleaving spreads a machine's load changes over every candidate alike, so that their
    ratio stays fair on a shared machine; a first call warms allocators and lazy set-up.
    """
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
