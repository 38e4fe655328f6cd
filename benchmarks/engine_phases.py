"""Where corridor's engine spends a simulated day: CPU milliseconds per phase, and what the
compiled phases save.

    python benchmarks/engine_phases.py [--agents 20000] [--repeat 3] [--engines | --numba-streams]
        [--scenario scenarios/mexico-2019.yaml] [--out benchmarks/results/engine_phases.jsonl]

Each phase of :data:`corridor.engine.phases.PHASES`, the policy step and the record step are
wrapped with a CPU-time counter; a run is simulated ``--repeat`` times (after one untimed run)
and the median per phase is printed as one JSON line (the phases run compiled where numba is
installed; ``CORRIDOR_ENGINE=numpy`` times the NumPy ones). With ``--engines`` (numba needed),
whole runs with the NumPy phases and with the compiled ones (:mod:`corridor.engine.kernels`)
are alternated in one process: their CPU seconds, simulations per CPU second, the speed-up,
and whether their flows and stocks are identical (issue 14: the engine's 3x at 2x10^4
agents). ``--numba-streams`` checks, draw by draw, that numba given the run's Generator draws
the numbers NumPy draws: what the compiled phases rest on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import corridor
from corridor.engine import accelerate, core, phases, randomness, state


def _timed(name: str, f: Callable[..., Any], spent: dict[str, int]) -> Callable[..., Any]:
    def wrapper(*args: Any) -> Any:
        start = time.process_time_ns()
        out = f(*args)
        spent[name] = spent.get(name, 0) + time.process_time_ns() - start
        return out

    return wrapper


def per_phase(scenario: str, agents: int, repeat: int) -> dict[str, Any]:
    """CPU ms per simulated day of each phase (median over ``repeat`` runs) and of the run."""
    spent: dict[str, int] = {}
    core.PHASES = tuple(_timed(p.__name__, p, spent) for p in phases.PHASES)
    state.Simulation.record = _timed("record", state.Simulation.record, spent)
    state.Simulation.set_policy = _timed("set_policy", state.Simulation.set_policy, spent)
    corridor.simulate(scenario, agents=agents, seed=0)
    runs: list[dict[str, float]] = []
    for seed in range(1, repeat + 1):
        spent.clear()
        start = time.process_time()
        results = corridor.simulate(scenario, agents=agents, seed=seed)
        days = len(results.dates)
        row = {k: v / 1e6 / days for k, v in spent.items()}
        row["whole_run_cpu_s"] = time.process_time() - start
        runs.append(row)
    out = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
    return {"agents": agents, "days": days, "cpu_ms_per_day": out}


def engines(scenario: str, agents: int, repeat: int) -> dict[str, Any]:
    """CPU seconds of whole runs with the NumPy phases and with the compiled ones
    (``CORRIDOR_ENGINE``), alternated in one process, and whether their results are the same."""
    seconds: dict[str, list[float]] = {"numpy": [], "numba": []}
    digests: dict[str, str] = {}
    for i in range(repeat + 1):
        for label in seconds:
            os.environ[accelerate.ENGINE_VARIABLE] = label
            start = time.process_time()
            results = corridor.simulate(scenario, agents=agents, seed=7)
            if i:  # the first round warms both up (numba loads or compiles the kernels)
                seconds[label].append(time.process_time() - start)
            digests[label] = hashlib.sha256(results.flows.tobytes() + results.stocks.tobytes()).hexdigest()
    del os.environ[accelerate.ENGINE_VARIABLE]
    medians = {k: round(statistics.median(v), 3) for k, v in seconds.items()}
    return {
        "agents": agents,
        "whole_run_cpu_s": medians,
        "simulations_per_cpu_second": {k: round(1 / v, 2) for k, v in medians.items()},
        "speed_up": round(medians["numpy"] / medians["numba"], 2),
        "identical": digests["numpy"] == digests["numba"],
    }


def numba_streams() -> dict[str, Any]:
    """Whether numba, given the run's Generator, draws what NumPy draws (and leaves the same
    state), for each kind of draw the engine makes: the condition for compiling the day with
    the same random numbers."""
    import numba

    @numba.njit(cache=True)
    def draws(g: np.random.Generator, items: np.ndarray) -> tuple[Any, ...]:
        return (
            g.random(7),
            # corridor.engine.randomness.new_key: one raw output shifted right by one bit, which
            # is what integers(0, 2**63) gives; numba takes it with the end point included.
            g.integers(0, 2**63 - 1, 3, np.int64, True),
            g.exponential(30.0, 3),
            g.permutation(items),
        )

    items = np.arange(12)
    compiled, plain = np.random.default_rng(11), np.random.default_rng(11)
    got = draws(compiled, items)
    want = (
        plain.random(7),
        np.array([randomness.new_key(plain) for _ in range(3)]),
        plain.exponential(30.0, 3),
        plain.permutation(items),
    )
    names = ("random", "new_key", "exponential", "permutation")
    same = {n: bool(np.array_equal(a, b)) for n, a, b in zip(names, got, want, strict=True)}
    same["state_after"] = bool(compiled.random() == plain.random())

    @numba.njit
    def choice(g: np.random.Generator, items: np.ndarray) -> Any:
        return g.choice(items, 3, replace=False)

    try:
        choice(np.random.default_rng(1), items)
        same["choice_without_replacement"] = True
    except numba.core.errors.TypingError:
        same["choice_without_replacement"] = False  # not supported: those draws stay in Python
    return {"numba": numba.__version__, "numpy": np.__version__, "same_as_numpy": same}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="scenarios/mexico-2019.yaml")
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", action="store_true")
    parser.add_argument("--numba-streams", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.numba_streams:
        row = numba_streams()
    elif args.engines:
        row = engines(args.scenario, args.agents, args.repeat)
    else:
        row = per_phase(args.scenario, args.agents, args.repeat)
    line = json.dumps({"benchmark": "engine_phases", **row})
    print(line)
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
