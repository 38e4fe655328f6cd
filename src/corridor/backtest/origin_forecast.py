"""A forecast made the way a backtest origin is: a forecast file for months with no data.

:func:`forecast_at_origin` runs one backtest origin (prior draws with inputs cut at the
origin, the demand scale fitted by the pilot, the closest runs kept: ``docs/backtest.md``)
and writes corridor's forecasts (with a ``.json`` beside: the options and each row's method)
in the forecast file's columns (``series, geography,
breakdown, period_start, period_end, median, q05, q95``, plus ``method``). Targets corridor
does not simulate (nationalities it groups under ``Other``) are forecast by the ETS
baseline, and ``method`` says so. Outcomes after the origin are never read; with a scenario
whose ``upstream_known_until`` is later, its upstream inputs (Honduras' entries) are.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.atomic import write_atomically, write_text_atomically
from corridor.backtest.combined import COMBINED, combined_forecasts
from corridor.backtest.run import run_backtest
from corridor.backtest.simulated import ADJUSTED, ANCHORED
from corridor.errors import BacktestError
from corridor.provenance import portable_paths

#: Columns of a forecast file (as :data:`corridor.forecast.FORECAST_COLUMNS`, plus ``method``).
COLUMNS = ("series", "geography", "breakdown", "period_start", "period_end", "median", "q05", "q95", "method")
#: What forecasts a target corridor does not simulate.
FALLBACK = "ets"


def forecast_at_origin(
    scenario: str | Path,
    origin: str,
    horizons: int,
    out_file: str | Path,
    method: str = "corridor",
    track_record: str | Path | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Forecast every backtest target for ``horizons`` months from ``origin`` (YYYY-MM) and
    write them to ``out_file`` (Parquet, atomically).

    ``method`` is which of corridor's forecasts is written: ``corridor`` (the kept runs),
    ``corridor_adjusted``, ``corridor_anchored`` or ``corridor_combined``
    (``docs/backtest.md``). ``corridor_combined`` needs ``track_record``: a backtest's
    ``scores.parquet``, whose rows of earlier origins, months ended before ``origin``, give the
    weights. ``options`` go to :func:`run_backtest`."""
    target = Path(out_file)
    if target.suffix != ".parquet":
        raise BacktestError(f"{target}: a forecast is a .parquet file")
    choices = ("corridor", ADJUSTED, ANCHORED, COMBINED)
    if method not in choices:
        raise BacktestError(f"method: expected one of {', '.join(choices)}, got {method!r}")
    if method == COMBINED and track_record is None:
        raise BacktestError(f"method {COMBINED} needs track_record: a backtest's scores.parquet")
    record = None
    if track_record is not None:
        record = _track_record(Path(track_record), Path(scenario), options)
    month = pd.Period(origin, freq="M")
    with tempfile.TemporaryDirectory() as tmp:
        result = run_backtest(scenario, [month], Path(tmp) / "origin", horizons=horizons, **options)
    scores = result.scores
    if record is not None:  # the weights from the given record, not from this one origin
        combined = combined_forecasts(scores, record, int(options.get("seed", 0)), require_record=True)
        scores = pd.concat([scores[scores["method"] != COMBINED], combined], ignore_index=True)
    keys = ["series", "geography", "breakdown", "period_start"]
    mine = scores[scores["method"] == method]
    other = scores[scores["method"] == FALLBACK]
    missing = other.merge(mine[keys], on=keys, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    table = pd.concat(
        [mine.assign(method=method), missing.assign(method=f"{FALLBACK} (not simulated)")],
        ignore_index=True,
    )
    table = table.sort_values(["series", "breakdown", "period_start"]).reset_index(drop=True)[list(COLUMNS)]
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, lambda fh: table.to_parquet(fh, index=False))
    methods = table.drop(columns=["median", "q05", "q95"]).assign(
        period_start=table["period_start"].dt.strftime("%Y-%m-%d"),
        period_end=table["period_end"].dt.strftime("%Y-%m-%d"),
    )
    # Of the run, not the forecast (which methods a backtest's scores hold; each row's is below).
    bookkeeping = ("complete", "compute_last_call", "compute_calls", "methods_across_origins")
    info = {k: v for k, v in result.info.items() if k not in bookkeeping}
    meta = {**info, "made_as": f"backtest origin {origin}", "methods": methods.to_dict("records")}
    if track_record is not None:
        meta["track_record"] = str(track_record)
    meta = portable_paths(meta, ("scenario", "observed_files", "track_record"))
    write_text_atomically(target.with_suffix(".json"), json.dumps(meta, indent=1, default=str) + "\n")
    return table


#: Options a track record's backtest must share with the forecast that reads it.
SAME_OPTIONS = ("draws", "keep", "agents", "history_months", "seed")


def _track_record(path: Path, scenario: Path, options: dict[str, Any]) -> pd.DataFrame:
    """A backtest's scores, checked against the forecast's scenario and options where its
    ``backtest.json`` is beside them (a record of another model would weigh it wrongly)."""
    try:
        record = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise BacktestError(f"track_record: cannot read {path}: {e}") from None
    info_file = path.with_name("backtest.json")
    if info_file.is_file():
        info = json.loads(info_file.read_text(encoding="utf-8"))
        differ = [k for k in SAME_OPTIONS if k in options and k in info and info[k] != options[k]]
        if Path(str(info.get("scenario", scenario))).name != scenario.name:
            differ.insert(0, "scenario")
        if differ:
            raise BacktestError(
                f"track_record: {path} is a backtest with other {', '.join(differ)} than this forecast's"
            )
    return record
