"""What a backtest costs, and what its cheaper settings cost in accuracy.

Runs ``corridor.backtest.run_backtest`` on a few origins of a scenario once per setting
(agents per run, draws per origin), in one invocation so that the figures compare as ratios
on the same noisy machine, and prints one JSON line per setting: simulations, simulated
days, wall seconds, workers, simulations per second, and corridor's median |log error| and
90% coverage by horizon, with the change against the most expensive setting (the error a
cheaper setting adds). The last line projects the wall time of the full quarterly backtest
of 2019-2023 (19 origins) from the measured seconds per simulated day. Usage::

    python benchmarks/backtest_cost.py [--scenario scenarios/mexico-2018-2024.yaml]
        [--origins 2019-06:2022-06:12] [--settings 10000x40 20000x40 40000x40] [--workers 2]

The committed backtest records its own compute in ``backtests/<name>/backtest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from corridor.backtest import parse_origins, run_backtest
from corridor.scenario import load_scenario


def _days(scenario: Path, origins: list[pd.Period], horizons: int) -> int:
    """Days simulated per draw: every run goes from the horizon's start to its last target month."""
    start = pd.Timestamp(load_scenario(scenario).horizon.start)
    return sum(((o + (horizons - 1)).end_time.normalize() - start).days + 1 for o in origins)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=Path("scenarios/mexico-2018-2024.yaml"))
    parser.add_argument("--origins", default="2019-06:2022-06:12")
    parser.add_argument("--horizons", type=int, default=6)
    parser.add_argument("--settings", nargs="+", default=["10000x40", "20000x40", "40000x40"])
    parser.add_argument("--keep-share", type=float, default=0.25)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    origins = parse_origins(args.origins)
    days_per_draw = _days(args.scenario, origins, args.horizons)
    full = parse_origins("2019-03:2023-11:3")
    full_days_per_draw = _days(args.scenario, full, args.horizons)
    results = []
    for setting in args.settings:
        agents, draws = (int(x) for x in setting.split("x"))
        keep = max(1, round(draws * args.keep_share))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = run_backtest(
                args.scenario,
                origins,
                Path(tmp) / "bt",
                horizons=args.horizons,
                draws=draws,
                keep=keep,
                agents=agents,
                workers=args.workers,
            )
            wall = time.perf_counter() - started
        mine = result.summary[result.summary["method"] == "corridor"].set_index("horizon")
        persistence = result.summary[result.summary["method"] == "persistence"].set_index("horizon")
        line = {
            "agents": agents,
            "draws": draws,
            "keep": keep,
            "origins": len(origins),
            "simulations": len(origins) * draws,
            "simulated_days": days_per_draw * draws,
            "workers": args.workers,
            "wall_seconds": round(wall, 1),
            "simulations_per_second": round(len(origins) * draws / wall, 3),
            "seconds_per_simulated_day_per_worker": wall * args.workers / (days_per_draw * draws),
            "corridor_median_abs_log_error": mine["median_abs_log_error"].round(3).to_dict(),
            "corridor_coverage": mine["coverage"].round(3).to_dict(),
            "persistence_median_abs_log_error": persistence["median_abs_log_error"].round(3).to_dict(),
        }
        results.append(line)
        print(json.dumps(line), flush=True)
    reference = results[-1]["corridor_median_abs_log_error"]
    for line in results:
        added = {h: round(line["corridor_median_abs_log_error"][h] - reference[h], 3) for h in reference}
        projected = (
            line["seconds_per_simulated_day_per_worker"] * full_days_per_draw * line["draws"] / args.workers
        )
        print(
            json.dumps(
                {
                    "setting": f"{line['agents']}x{line['draws']}",
                    "error_added_vs_last_setting_by_horizon": added,
                    "projected_full_quarterly_backtest_minutes": round(projected / 60, 1),
                    "full_backtest_simulations": len(full) * line["draws"],
                }
            )
        )


if __name__ == "__main__":
    main()
