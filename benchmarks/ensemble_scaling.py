"""Ensemble scaling: the same ensemble with 1 local worker, then 2 (or --workers ...).

Prints one JSON line per case (machine, versions, runs, workers, wall seconds, runs per
second) and a last line with the speed-up of each case over the first::

    python benchmarks/ensemble_scaling.py | tee benchmarks/results/ensemble_scaling.jsonl

Each case is a fresh ``corridor.run_ensemble`` into a temporary folder; its wall time
includes starting the worker processes, writing every partition and the summary. A
one-run ensemble first starts the process pool's fork server, so that no case pays for it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from corridor import provenance
from corridor.ensemble import run_ensemble

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, Any]:
    """Where the benchmark ran (:func:`corridor.provenance.machine`) and its host and load."""
    return {
        **provenance.machine(),
        "host": socket.gethostname(),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict[str, str]:
    import dask
    import distributed

    return {**provenance.versions(), "dask": dask.__version__, "distributed": distributed.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "mexico-2019.yaml")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="corridor-ensemble-bench-") as tmp:
        run_ensemble(
            args.scenario,
            Path(tmp) / "warmup",
            1,
            agents=1000,
            overrides={"horizon.end": "2019-01-10"},
            workers=1,
            progress=False,
        )
        cases = []
        for workers in args.workers:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            start = time.perf_counter()
            result = run_ensemble(
                args.scenario,
                Path(tmp) / f"workers-{workers}",
                args.runs,
                agents=args.agents,
                workers=workers,
                progress=False,
            )
            wall = time.perf_counter() - start
            run_walls = [o.wall_seconds for o in result.outcomes]
            case = {
                "benchmark": "ensemble_scaling",
                "machine": {**machine(), "load_average_1m": load},
                "versions": versions(),
                "scenario": args.scenario.name,
                "agents": args.agents,
                "runs": args.runs,
                "workers": workers,
                "wall_seconds": round(wall, 3),
                "runs_per_second": round(args.runs / wall, 4),
                "engine_seconds_per_run_mean": round(float(np.mean(run_walls)), 3),
            }
            cases.append(case)
            print(json.dumps(case), flush=True)
    base = cases[0]
    print(
        json.dumps(
            {
                "benchmark": "ensemble_scaling",
                "ratio": {
                    f"{c['workers']}_vs_{base['workers']}_workers": round(
                        c["runs_per_second"] / base["runs_per_second"], 3
                    )
                    for c in cases[1:]
                },
                "note": "runs per second of each case over the first case's",
            }
        )
    )


if __name__ == "__main__":
    main()
