"""What the policy changes after each backtest origin do in the model: the kept runs, again with
the policy frozen at the origin.

    python benchmarks/policy_split.py [--draws 3] [--out /tmp/policy_split.parquet]

For every origin of the committed backtest (``backtests/mexico-2018-2024``), the first
``--draws`` of the draws it kept are run twice over the origin's months, with the seeds, fitted
scales and persons per agent of the backtest: as the backtest ran them, and with
``policy_frozen_from`` set to the origin (events dated on or after it not applied). Both runs are
the same until the first event after the origin. Writes one row per origin, draw and forecast
target: the simulated value with the policy (``with_policy``) and without its later changes
(``frozen``). ``docs/backtest.md`` ("What the policy changes after an origin do in the runs") uses them.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.backtest.posteriors import kept_draws, origin_fit
from corridor.backtest.run import _prepare, _run_start
from corridor.backtest.simulated import RunTask, run_overrides, task_values
from corridor.calibrate.priors import prior_sample
from corridor.evidence import load_mapping, load_observed
from corridor.geography import load_network
from corridor.runner.single import choose_scale, simulate
from corridor.scenario import load_scenario
from corridor.timeline import compile_timeline

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "mexico-2018-2024.yaml"
BACKTEST = ROOT / "backtests" / "mexico-2018-2024"
KEYS = ["series", "geography", "breakdown", "period_start"]
#: Agents per run: the committed backtest's (checked against its backtest.json).
AGENTS = 100_000


def _one(job: tuple[str, int, int, dict[str, Any], pd.DataFrame, int]) -> pd.DataFrame:
    """Both runs of one kept draw at one origin: the request rows with both simulated values."""
    origin, draw, seed, overrides, rows, n_fit = job
    net = load_network()
    scale = choose_scale(compile_timeline(load_scenario(SCENARIO, overrides), net), int(AGENTS), None)
    task = RunTask(str(SCENARIO), origin, draw, seed, None, overrides, rows, tuple(load_mapping()))
    out = rows[KEYS].copy()
    for name, extra in (("with_policy", {}), ("frozen", {"policy_frozen_from": f"{origin}-01"})):
        results = simulate(SCENARIO, seed=seed, scale=scale, overrides={**overrides, **extra}, network=net)
        out[name] = task_values(task, results).simulated
    return out.iloc[n_fit:].assign(origin=origin, draw=draw)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--draws", type=int, default=3, help="kept draws per origin (the first ones)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/policy_split.parquet"))
    args = parser.parse_args()
    info = json.loads((BACKTEST / "backtest.json").read_text(encoding="utf-8"))
    if int(info["agents"]) != AGENTS:
        raise SystemExit(f"the backtest ran {info['agents']} agents, this script {AGENTS}")
    scores = pd.read_parquet(BACKTEST / "scores.parquet")
    sc = load_scenario(SCENARIO)
    prior = prior_sample(sc.priors, int(info["draws"]), seed=int(info["seed"]))
    rules = tuple(load_mapping())
    observations = load_observed(None, mapping=rules)
    horizons, seed = int(info["horizons"]), int(info["seed"])
    jobs = []
    for label in sorted(scores["origin"].unique()):
        origin = pd.Period(label, freq="M")
        kept, draws = kept_draws(origin_fit(scores, label), sc, prior, args.draws)
        entry = _prepare(origin, observations, rules, horizons, int(info["fit_months"]))
        for i, draw in zip(kept, draws, strict=True):
            overrides = run_overrides(origin, horizons, draw, _run_start(sc, origin, info))
            jobs.append((label, i, seed + i, overrides, entry.rows, entry.n_fit))
    with ProcessPoolExecutor(args.workers) as pool:
        frames = []
        for k, frame in enumerate(pool.map(_one, jobs)):
            frames.append(frame)
            print(
                f"{k + 1}/{len(jobs)} origin {frame['origin'].iloc[0]} draw {frame['draw'].iloc[0]}",
                flush=True,
            )
    pd.concat(frames, ignore_index=True).to_parquet(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
