"""Engine cost per simulated day, before and after a change, measured in one run as ratios.

Two source trees (``--before``, e.g. ``git archive HEAD`` unpacked in /tmp/before, and
``--after``, by default this checkout's ``src``) are timed alternately, each run in a fresh
Python process with ``PYTHONPATH`` set to the tree, so that both see the same machine load
(the machines are shared and noisy: compare the ratio, not the seconds). For each size the
report gives the median over ``--repeat`` runs of:

* ``engine_ms_per_day``: the day loop alone (``Results.info["wall_seconds"]`` / days);
* ``engine_cpu_ms_per_day``: the CPU time the process got for days 1 to the last (read
  at each day's end through ``simulate(on_day=...)``), per day: steadier than the wall
  clock when other jobs share the machine;
* ``simulate_seconds``: the whole ``corridor.simulate`` call (loading and compiling the
  scenario, drawing the population, the loop; not importing corridor, done before);
  ``sims_per_second`` is its inverse;

and the speed-up ``before / after`` of each. Usage::

    python benchmarks/engine_per_day.py --before /tmp/before/src --sizes 1e3 1e4 2e4 1e5 \
        [--repeat 3] [--scenario scenarios/mexico-2019.yaml] [--out benchmarks/results/engine_per_day.jsonl]

Prints one JSON line per size (and appends them to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CASE = r"""
import json, sys, time
import corridor
import corridor.runner.single  # imported before timing: the first simulate() would import it
scenario, n, seed = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])
cpu = []
start = time.perf_counter()
res = corridor.simulate(scenario, seed=seed, agents=n, on_day=lambda day: cpu.append(time.process_time()))
total = time.perf_counter() - start
print(json.dumps({"agents": res.info["agents"], "days": res.info["days"],
                  "engine_seconds": res.info["wall_seconds"], "simulate_seconds": total,
                  "engine_cpu_seconds_after_day_0": cpu[-1] - cpu[0]}))
"""


def run_case(tree: Path, scenario: str, size: str, seed: int) -> dict[str, Any]:
    """One simulation in a fresh process importing corridor from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    done = subprocess.run(
        [sys.executable, "-c", CASE, scenario, size, str(seed)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Medians of a tree's runs at one size."""
    days = runs[0]["days"]
    engine = statistics.median(r["engine_seconds"] for r in runs)
    cpu = statistics.median(r["engine_cpu_seconds_after_day_0"] for r in runs)
    total = statistics.median(r["simulate_seconds"] for r in runs)
    return {
        "engine_ms_per_day": round(1000 * engine / days, 3),
        "engine_cpu_ms_per_day": round(1000 * cpu / (days - 1), 3),
        "simulate_seconds": round(total, 3),
        "sims_per_second": round(1 / total, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="Source tree before (its src folder).")
    parser.add_argument("--after", type=Path, default=Path("src"), help="Source tree after (default: src).")
    parser.add_argument("--scenario", default="scenarios/mexico-2019.yaml")
    parser.add_argument("--sizes", nargs="+", default=["1e3", "1e4", "2e4", "1e5"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="Also append the JSON lines to this file.")
    args = parser.parse_args()

    from corridor.provenance import machine

    facts = machine()
    for size in args.sizes:
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(args.repeat):  # alternate, so that both trees see the same load
            for name, tree in (("before", args.before), ("after", args.after)):
                runs[name].append(run_case(tree, args.scenario, size, args.seed))
        before, after = summarise(runs["before"]), summarise(runs["after"])
        line = {
            "benchmark": "engine_per_day",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "scenario": Path(args.scenario).stem,
            "agents": runs["after"][0]["agents"],
            "days": runs["after"][0]["days"],
            "repeat": args.repeat,
            "before": before,
            "after": after,
            "engine_speedup": round(before["engine_ms_per_day"] / after["engine_ms_per_day"], 2),
            "engine_cpu_speedup": round(before["engine_cpu_ms_per_day"] / after["engine_cpu_ms_per_day"], 2),
            "simulate_speedup": round(before["simulate_seconds"] / after["simulate_seconds"], 2),
            "machine": facts,
        }
        print(json.dumps(line), flush=True)
        if args.out is not None:
            with args.out.open("a") as fh:
                fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
