"""Simulations per CPU second inside calibration, with the NumPy phases and the compiled ones.

    python benchmarks/calibration_throughput.py [--budget 60] [--population 12] [--agents 20000]
        [--scenario scenarios/mexico-2019.yaml] [--out benchmarks/results/calibration_throughput.jsonl]

Issue 14's target is stated inside calibration ("about 0.8 a second per core at 20,000 agents
inside calibration"): this runs ``corridor.calibrate`` (one worker, in one process, so pyabc's
own work is in the figure's surroundings but not in it) once per engine, each in a fresh
process with ``CORRIDOR_ENGINE`` set, and times every call of the model pyabc makes (the drawn
scenario validated, simulated and reduced to the observed statistics) in CPU seconds. Prints
one JSON line per engine and their ratio (and appends them to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASE = r"""
import json, statistics, sys, time
from corridor.calibrate import calibrate
from corridor.calibrate import model
scenario, out, budget, population, agents = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
seconds = []
plain = model._Model.__call__
def timed(self, par):
    start = time.process_time()
    result = plain(self, par)
    seconds.append(time.process_time() - start)
    return result
model._Model.__call__ = timed
calibrate(scenario, out_dir=out, budget=budget, population_size=population, agents=agents,
          workers=1, check_runs=0, seed=5)
print(json.dumps({"model_calls": len(seconds), "cpu_s_per_simulation_median": statistics.median(seconds),
                  "cpu_s_per_simulation_mean": statistics.mean(seconds)}))
"""


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, object]:
    """One calibration in a fresh process with ``CORRIDOR_ENGINE=engine``."""
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-c", CASE, args.scenario, str(Path(folder) / "out"),
             str(args.budget), str(args.population), str(args.agents)],
            check=True, capture_output=True, text=True,
            env={**os.environ, "CORRIDOR_ENGINE": engine},
        )  # fmt: skip
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    mean = float(figures["cpu_s_per_simulation_mean"])  # type: ignore[arg-type]
    return {"engine": engine, **figures, "simulations_per_cpu_second": round(1 / mean, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/mexico-2019.yaml")
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = [run_engine(engine, args) for engine in ("numpy", "numba")]
    ratio = float(rows[1]["simulations_per_cpu_second"]) / float(rows[0]["simulations_per_cpu_second"])  # type: ignore[arg-type]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lines = [
        {
            "benchmark": "calibration_throughput",
            "date": stamp,
            "agents": args.agents,
            "budget": args.budget,
            **row,
        }
        for row in rows
    ]
    lines.append({"benchmark": "calibration_throughput", "date": stamp, "speed_up": round(ratio, 2)})
    for line in lines:
        print(json.dumps(line))
    if args.out is not None:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(line) + "\n" for line in lines)


if __name__ == "__main__":
    main()
