"""Make the two 2023-24 forecasts of issue 12, as a backtest origin of December 2023 would.

    python forecasts/make_mexico_2023_24.py

writes ``forecasts/mexico-2023-24.parquet`` (from data before 1 December 2023 only, upstream
inputs included) and ``forecasts/mexico-2023-24-given-upstream.parquet`` (the same, given the
observed upstream inflows of December 2023 to June 2024): December 2023 to June 2024, every
backtest target (US Border Patrol encounters, total and by citizenship; Mexico's events, total
and by nationality; Mexico's returns; COMAR applications). Same options as the committed
backtest (backtests/mexico-2018-2024/backtest.json).

Which of corridor's forecasts is written (``corridor``, ``corridor_adjusted``,
``corridor_anchored`` or ``corridor_combined``: docs/backtest.md) is decided by the committed
backtest, before the forecast is made: the one with the lowest median |log error| averaged over
the horizons in ``summary.csv``. ``corridor_combined`` takes its weights from the committed
backtest's record (its rows of months before December 2023); the given-upstream file then
holds ``corridor_anchored`` (see :func:`methods`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.backtest.combined import COMBINED
from corridor.backtest.origin_forecast import SAME_OPTIONS, forecast_at_origin
from corridor.backtest.simulated import ANCHORED

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE.parent / "scenarios"
SUMMARY = HERE.parent / "backtests" / "mexico-2018-2024" / "summary.csv"
SCORES = SUMMARY.with_name("scores.parquet")


def backtest_options() -> dict[str, Any]:
    """The committed backtest's options (``backtest.json``), so the forecast is made as its origins were."""
    info = json.loads(SUMMARY.with_name("backtest.json").read_text(encoding="utf-8"))
    return {k: info[k] for k in SAME_OPTIONS}


def best_method() -> str:
    """corridor's forecast with the lowest median |log error| (mean over horizons) in the backtest."""
    summary = pd.read_csv(SUMMARY)
    mine = summary[summary["method"].str.startswith("corridor")]
    return str(mine.groupby("method")["median_abs_log_error"].mean().idxmin())


def methods() -> dict[str, str]:
    """File name -> the method written in it.

    Without the upstream inflows: the backtest's best. Given them: ``corridor_anchored`` when
    the best is ``corridor_combined``, whose weights come from a record made with the inflows
    held at their last month (the model's changes of a nationality then earned almost no
    weight); the anchored weights are fitted on months whose inflows were observed, the
    condition of a forecast given them.
    """
    best = best_method()
    given = ANCHORED if best == COMBINED else best
    return {"mexico-2023-24.parquet": best, "mexico-2023-24-given-upstream.parquet": given}


if __name__ == "__main__":
    chosen = methods()
    options = backtest_options()
    print(f"the methods written, from the backtest's summary: {chosen}; options: {options}")
    for scenario, name in (
        ("mexico-2018-2024.yaml", "mexico-2023-24.parquet"),
        ("mexico-2018-2024-given-upstream.yaml", "mexico-2023-24-given-upstream.parquet"),
    ):
        method = chosen[name]
        record = SCORES if method == COMBINED else None
        table = forecast_at_origin(
            SCENARIOS / scenario, "2023-12", 7, HERE / name, method, track_record=record, **options
        )
        print(f"wrote {HERE / name}: {len(table)} rows, {table['method'].value_counts().to_dict()}")
