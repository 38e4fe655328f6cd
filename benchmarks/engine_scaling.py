"""Engine benchmark: mexico-2019 with every instrument on, at 10^4, 10^5 and 10^6 people.

Each case runs in a fresh Python process (so peak memory is that case's own) and prints one
JSON line: machine, versions, N (agents), days, wall seconds, agent-steps per second, peak
resident memory, and bytes per person of the population arrays. The last line gives the
marginal peak memory per person, (peak at the largest N - peak at the smallest) / (N_max -
N_min), the figure the 100-bytes target is about. Usage::

    python benchmarks/engine_scaling.py [--scenario scenarios/mexico-2019.yaml] [--sizes 1e4 1e5 1e6]
        [--repeat 1] [--out benchmarks/results/engine_scaling.jsonl]

Compare figures as ratios within one invocation: the machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CASE = r"""
import json, sys, resource, time
import corridor
scenario, n, seed = sys.argv[1], int(float(sys.argv[2])), int(sys.argv[3])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
res = corridor.simulate(scenario, seed=seed, agents=n)
info = res.info
print(json.dumps({
    "agents": info["agents"], "days": info["days"], "wall_seconds": round(info["wall_seconds"], 3),
    "agent_steps": info["agent_steps"],
    "agent_steps_per_second": round(info["agent_steps_per_second"]),
    "peak_rss_bytes": info["peak_rss_bytes"], "rss_before_run_bytes": before,
    "population_bytes_per_agent": round(info["population_bytes"] / max(info["agents"], 1), 1),
    "identity_holds": res.identity_check()["holds"],
}))
"""


def machine() -> dict[str, object]:
    """The machine and the versions (:mod:`corridor.provenance`)."""
    from corridor.provenance import machine, versions

    return {**machine(), **versions()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/mexico-2019.yaml")
    parser.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="Also append the JSON lines to this file.")
    args = parser.parse_args()

    lines = []
    facts = machine()
    for size in args.sizes:
        for rep in range(args.repeat):
            done = subprocess.run(
                [sys.executable, "-c", CASE, args.scenario, size, str(args.seed)],
                check=True,
                capture_output=True,
                text=True,
            )
            case = json.loads(done.stdout.strip().splitlines()[-1])
            line = {
                "benchmark": "engine_scaling",
                "scenario": Path(args.scenario).stem,
                "repeat": rep,
                **facts,
                **case,
            }
            lines.append(line)
            print(json.dumps(line), flush=True)
    small = min(lines, key=lambda x: x["agents"])
    big = max(lines, key=lambda x: x["agents"])
    if big["agents"] > small["agents"]:
        marginal = (big["peak_rss_bytes"] - small["peak_rss_bytes"]) / (big["agents"] - small["agents"])
        summary = {
            "benchmark": "engine_scaling_summary",
            "marginal_peak_bytes_per_person": round(marginal, 1),
            "largest_n_wall_seconds": big["wall_seconds"],
            "largest_n": big["agents"],
            **facts,
        }
        lines.append(summary)
        print(json.dumps(summary), flush=True)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
