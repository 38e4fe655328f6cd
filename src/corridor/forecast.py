"""Forecasts: what a (calibrated) scenario says about observed series in periods with no data.

:func:`forecast` runs a scenario many times (seeds, and parameter draws from a posterior when
one is given), reads from every run the simulated value of each requested series, place,
breakdown and period exactly as :mod:`corridor.evidence` compares observations (same mapping,
same aggregation), and returns the median and the 90% interval across runs.

Some observed series hold a part the model does not simulate. The US Border Patrol totals
include Mexican nationals, who are not simulated (the mapping compares the total minus the
``citizenship=Mexico`` row). For such a part, and for the part's own rows, the forecast is
**empirical persistence**: the mean of the last three observed months before the forecast,
times the spread of what followed such a mean ``h`` months later in the observed history
(``log(y[t+h]) - log(mean(y[t-2..t]))`` over every month ``t`` of the history). The total is
then the simulated part plus draws of the persistence forecast, run by run. Only
observations before the held-out date are read (see docs/evidence.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.atomic import write_atomically, write_text_atomically
from corridor.errors import ForecastError, OutputError
from corridor.evidence import COLUMNS, HELD_OUT_FROM, Rule, load_mapping, load_observed
from corridor.evidence.plan import plan_comparison, simulated_values
from corridor.geography import load_network
from corridor.observations.mapping import find_rule
from corridor.observations.reader import monthly_rows
from corridor.outputs import check_output_file
from corridor.params.posterior import read_posterior
from corridor.runner.executors import make_executor, run_many
from corridor.runner.progress import Progress
from corridor.runner.single import simulate
from corridor.scenario import load_scenario

#: Columns of a forecast table.
FORECAST_COLUMNS: tuple[str, ...] = (
    "series",
    "geography",
    "breakdown",
    "period_start",
    "period_end",
    "median",
    "q05",
    "q95",
)
#: Columns of a request table (what to forecast).
REQUEST_COLUMNS: tuple[str, ...] = ("series", "geography", "breakdown", "period_start", "period_end")
#: Months averaged for the level of a persistence forecast.
PERSISTENCE_MONTHS = 3
#: Persistence draws added to each simulated run.
DRAWS_PER_RUN = 50


@dataclass(frozen=True)
class ForecastResult:
    """A forecast and how it was made.

    Attributes
    ----------
    table : DataFrame
        One row per request, columns :data:`FORECAST_COLUMNS`.
    methods : DataFrame
        The requests with ``method`` (simulated, simulated + persistence of a part, or
        persistence) and the simulated ``metric``/``where``/``nationalities``.
    simulated : ndarray
        The simulated value of every request (rows) in every run (columns); NaN for rows
        forecast by persistence alone.
    info : dict
        Scenario, runs, seeds, agents, posterior and the cut-off of the observations read.
    """

    table: pd.DataFrame
    methods: pd.DataFrame
    simulated: npt.NDArray[np.float64]
    info: dict[str, Any]

    def _repr_html_(self) -> str:
        """A short summary for notebooks: the first forecast months with their intervals."""
        from corridor.notebook import forecast_html

        return forecast_html(self)


def monthly_requests(
    series: Iterable[tuple[str, str, str]], start: str | date, end: str | date
) -> pd.DataFrame:
    """Requests for every calendar month from ``start``'s month to ``end``'s month.

    Parameters
    ----------
    series : iterable of (series, geography, breakdown)
        As in the observed files (breakdown ``""`` for a total).
    start, end : date
        First and last month (any day in them).
    """
    months = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq="M")
    if len(months) == 0:
        raise ForecastError(f"no month from {start} to {end}")
    rows = [
        {
            "series": s,
            "geography": g,
            "breakdown": b,
            "period_start": m.start_time.normalize(),
            "period_end": m.end_time.normalize(),
        }
        for s, g, b in series
        for m in months
    ]
    return pd.DataFrame(rows, columns=list(REQUEST_COLUMNS))


def read_requests(path: str | Path, start: str | date, end: str | date) -> pd.DataFrame:
    """Monthly requests from a CSV with columns series, geography, breakdown (empty: total)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise ForecastError(f"cannot read forecast targets {path}: {exc}") from None
    missing = [c for c in ("series", "geography", "breakdown") if c not in frame.columns]
    if missing:
        raise ForecastError(f"{path}: missing column(s) {', '.join(missing)}")
    return monthly_requests(
        frame[["series", "geography", "breakdown"]].itertuples(index=False, name=None), start, end
    )


def as_observations(
    requests: pd.DataFrame, rules: Sequence[Rule], *, source: str = "forecast request"
) -> pd.DataFrame:
    """The requests in the observed table's format (no values, ``source`` naming them), plus
    the rows that the mapping subtracts from a total (``_extra``), so that the total can be
    planned: a run then gives the part too."""
    rows = [dict(r) for r in requests.to_dict("records")]
    keys = {(r["series"], r["geography"], r["breakdown"], r["period_start"]) for r in rows}
    for r in list(rows):
        rule = find_rule(rules, r["series"], r["geography"], r["breakdown"])
        if rule is not None and rule.subtract is not None:
            key = (r["series"], r["geography"], rule.subtract, r["period_start"])
            if key not in keys:
                keys.add(key)
                rows.append({**r, "breakdown": rule.subtract, "_extra": True})
    out = pd.DataFrame(rows)
    out["nationality"] = ""
    out["value"] = np.nan
    out["unit"] = ""
    out["statistic"] = ""
    out["source"] = source
    out["note"] = ""
    out["file"] = "forecast"
    out["line"] = np.arange(1, len(out) + 1)
    if "_extra" not in out.columns:
        out["_extra"] = False
    out["_extra"] = out["_extra"].fillna(False).astype(bool)
    return out[[*COLUMNS, "_extra"]]


# --------------------------------------------------------------------- persistence
def _monthly_history(observed: pd.DataFrame, series: str, geography: str, breakdown: str) -> pd.Series:
    """Observed calendar-month values of one series, place and breakdown, by month."""
    rows = monthly_rows(
        observed[
            (observed["series"] == series)
            & (observed["geography"] == geography)
            & (observed["breakdown"] == breakdown)
        ]
    )
    values = pd.Series(rows["value"].to_numpy(dtype=float), index=pd.PeriodIndex(rows["month"]))
    return values.groupby(level=0).last().sort_index()


def persistence_draws(
    history: pd.Series, target: pd.Period, n: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Draws of a monthly value ``target`` months after the end of ``history`` (empirical).

    The level is the mean of the last :data:`PERSISTENCE_MONTHS` months of ``history``; the
    draws multiply it by ``exp(e)``, ``e`` resampled from the log ratios of every later value
    ``h`` months ahead to the trailing mean, over the whole history (``h`` the horizon).

    Parameters
    ----------
    history : Series
        Positive values indexed by monthly ``Period`` (gaps allowed, the last months needed).
    target : Period
        The month to forecast (after the last month of ``history``).
    n : int
        Number of draws.
    rng : Generator
    """
    history = history[history > 0].sort_index()
    if history.empty:
        raise ForecastError("no positive monthly history")
    origin = history.index[-1]
    horizon = (target - origin).n
    if horizon < 1:
        raise ForecastError(f"target month {target} is not after the history's last month {origin}")
    recent = pd.period_range(origin - (PERSISTENCE_MONTHS - 1), origin, freq="M")
    if not all(m in history.index for m in recent):
        raise ForecastError(f"needs the {PERSISTENCE_MONTHS} months up to {origin}")
    level = float(history.loc[recent].mean())
    full = history.reindex(pd.period_range(history.index[0], origin, freq="M"))
    trailing = full.rolling(PERSISTENCE_MONTHS).mean()
    ahead = full.shift(-horizon)
    errors = np.log((ahead / trailing).dropna().to_numpy(dtype=float))
    if len(errors) < 12:
        raise ForecastError(
            f"{len(errors)} past {horizon}-month-ahead errors; at least 12 needed for an interval"
        )
    return level * np.exp(rng.choice(errors, size=n))


# ---------------------------------------------------------------------------- runs
def _one_run(
    scenario: str | Path,
    seed: int,
    agents: int | None,
    overrides: dict[str, Any],
    observations: pd.DataFrame,
    rules: list[Rule],
) -> npt.NDArray[np.float64]:
    res = simulate(scenario, seed=seed, agents=agents, overrides=overrides)
    plan = plan_comparison(observations, res, load_network(), rules)
    values = np.full(len(observations), np.nan)
    for value, target in zip(simulated_values(res, plan), plan.targets, strict=True):
        values[int(target.row["line"]) - 1] = value
    return values


def _run_of(
    scenario: str | Path,
    agents: int | None,
    observations: pd.DataFrame,
    rules: list[Rule],
    run: tuple[int, dict[str, Any]],
) -> npt.NDArray[np.float64]:
    """One forecast run (a task of :func:`corridor.runner.run_many`): ``run`` is (seed, draw)."""
    seed, overrides = run
    return _one_run(scenario, seed, agents, overrides, observations, rules)


def forecast(
    scenario: str | Path,
    requests: pd.DataFrame,
    *,
    runs: int = 40,
    agents: int | None = None,
    posterior: str | Path | None = None,
    observed: Iterable[str | Path] | None = None,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    workers: int | None = None,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> ForecastResult:
    """Forecast observed series: median and 90% interval across runs of a scenario.

    Parameters
    ----------
    scenario : path
        The scenario file (typically the calibrated one).
    requests : DataFrame
        Columns :data:`REQUEST_COLUMNS` (see :func:`monthly_requests`).
    runs : int
        Runs; run ``i`` has seed ``seed + i`` and, with a posterior, a draw resampled by weight.
    agents : int, optional
        As for :func:`corridor.simulate`.
    posterior : path, optional
        Parameter draws (``posterior.parquet`` of :func:`corridor.calibrate`).
    observed : paths, optional
        Observed files for the parts forecast by persistence (default: the shipped ones);
        rows from ``held_out_from`` on are never read.
    workers : int, optional
        Local processes (default: the CPU count, at most ``runs``).
    seed : int
        First seed; also seeds the draws.
    scheduler : str or distributed.Client, optional
        A Dask scheduler to run on, instead of local ``workers``.
    progress : Progress, optional
        Told of the runs (:mod:`corridor.runner.progress`).

    Raises
    ------
    ForecastError
        A request that neither the model nor the persistence rule can forecast.
    """
    if runs < 2:
        raise ForecastError("a forecast interval needs at least 2 runs")
    rules = load_mapping()
    requests = _checked_requests(scenario, requests)
    cutoff = pd.Timestamp(held_out_from)
    observations = as_observations(requests, rules)
    history = load_observed(observed, held_out_from=cutoff, mapping=rules)
    kinds = _kinds(observations, rules)

    rng = np.random.default_rng([seed, 20231201])
    draws: list[dict[str, Any]] = [{} for _ in range(runs)]
    if posterior is not None:
        post = read_posterior(posterior)
        w = post.weights if post.weights is not None else np.ones(len(post))
        picks = rng.choice(len(post), size=runs, p=w / w.sum())
        draws = [dict(post.draws[int(i)]) for i in picks]
    n_workers = max(1, min(runs, workers or os.cpu_count() or 1))
    sims = np.empty((len(observations), runs))
    work = partial(_run_of, scenario, agents, observations.drop(columns="_extra"), rules)
    with make_executor(n_workers, scheduler, preload=["corridor.forecast"]) as executor:
        values = run_many(
            work,
            [(seed + i, draws[i]) for i in range(runs)],
            executor=executor,
            progress=progress,
            description="forecast",
        )
    for i, column in enumerate(values):
        sims[:, i] = column
    parts = _persistence_parts(observations, kinds, history, cutoff, runs, rng)
    table, methods = _forecast_table(observations, kinds, sims, parts, rules)
    info = {
        "scenario": str(scenario),
        "runs": runs,
        "seeds": [seed, seed + runs - 1],
        "agents": agents,
        "posterior": None if posterior is None else str(posterior),
        "observations_read_before": str(cutoff.date()),
        "persistence_months": PERSISTENCE_MONTHS,
    }
    keep = ~observations["_extra"].to_numpy()
    return ForecastResult(table, methods, sims[keep], info)


def _checked_requests(scenario: str | Path, requests: pd.DataFrame) -> pd.DataFrame:
    """The requests, normalised (breakdown text, dates), each inside the scenario's horizon."""
    missing = [c for c in REQUEST_COLUMNS if c not in requests.columns]
    if missing:
        raise ForecastError(f"requests lack column(s) {', '.join(missing)}")
    requests = requests.copy()
    requests["breakdown"] = requests["breakdown"].fillna("").astype(str)
    for col in ("period_start", "period_end"):
        requests[col] = pd.to_datetime(requests[col])
    horizon = load_scenario(scenario).horizon
    outside = requests[
        (requests["period_start"] < pd.Timestamp(horizon.start))
        | (requests["period_end"] > pd.Timestamp(horizon.end))
    ]
    if not outside.empty:
        r = outside.iloc[0]
        raise ForecastError(
            f"{r['series']} / {r['geography']} / {r['breakdown'] or 'total'}: "
            f"{r['period_start']:%Y-%m-%d}..{r['period_end']:%Y-%m-%d} is outside the scenario's "
            f"horizon ({horizon.start}..{horizon.end})"
        )
    return requests


def _kinds(observations: pd.DataFrame, rules: list[Rule]) -> list[str]:
    """What each row is: simulated, simulated + a persistence part, or persistence only."""
    kinds: list[str] = []
    for rec in observations.to_dict("records"):
        rule = find_rule(rules, rec["series"], rec["geography"], rec["breakdown"])
        label = f"{rec['series']} / {rec['geography']} / {rec['breakdown'] or 'total'}"
        if rule is None:
            raise ForecastError(f"{label}: no mapping for this series (docs/evidence.md)")
        if rule.skip is not None:
            total = find_rule(rules, rec["series"], rec["geography"], "")
            if total is None or total.subtract != rec["breakdown"]:
                raise ForecastError(f"{label}: not simulated ({rule.skip})")
            kinds.append("persistence")
        elif rule.subtract is not None:
            kinds.append(f"simulated + persistence of {rule.subtract}")
        else:
            kinds.append("simulated")
    return kinds


def _persistence_parts(
    observations: pd.DataFrame,
    kinds: list[str],
    history: pd.DataFrame,
    cutoff: pd.Timestamp,
    runs: int,
    rng: np.random.Generator,
) -> dict[int, npt.NDArray[np.float64]]:
    """Persistence parts, drawn :data:`DRAWS_PER_RUN` times for every run (rows x draws)."""
    parts: dict[int, npt.NDArray[np.float64]] = {}
    for i, rec in enumerate(observations.to_dict("records")):
        if kinds[i] == "persistence":
            hist = _monthly_history(history, rec["series"], rec["geography"], rec["breakdown"])
            hist = hist[hist.index < pd.Period(cutoff, freq="M")]
            target = pd.Period(rec["period_start"], freq="M")
            try:
                parts[i] = persistence_draws(hist, target, runs * DRAWS_PER_RUN, rng).reshape(
                    runs, DRAWS_PER_RUN
                )
            except ForecastError as exc:
                raise ForecastError(
                    f"{rec['series']} / {rec['geography']} / {rec['breakdown']}: {exc}"
                ) from None
    return parts


def _forecast_table(
    observations: pd.DataFrame,
    kinds: list[str],
    sims: npt.NDArray[np.float64],
    parts: dict[int, npt.NDArray[np.float64]],
    rules: list[Rule],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecast table (median and 90% interval per request) and the method of each."""
    records = observations.to_dict("records")
    index = {
        (r["series"], r["geography"], r["breakdown"], r["period_start"]): i for i, r in enumerate(records)
    }
    table_rows = []
    methods = []
    for i, rec in enumerate(records):
        if rec["_extra"]:
            continue
        if kinds[i] == "simulated":
            values = sims[i]
        elif kinds[i] == "persistence":
            values = parts[i].ravel()
        else:
            rule = find_rule(rules, rec["series"], rec["geography"], rec["breakdown"])
            assert rule is not None and rule.subtract is not None
            j = index[(rec["series"], rec["geography"], rule.subtract, rec["period_start"])]
            values = (sims[i][:, None] + parts[j]).ravel()
        q05, median, q95 = np.quantile(values, [0.05, 0.5, 0.95])
        table_rows.append(
            {
                **{c: rec[c] for c in REQUEST_COLUMNS},
                "median": float(median),
                "q05": float(q05),
                "q95": float(q95),
            }
        )
        methods.append({**{c: rec[c] for c in REQUEST_COLUMNS}, "method": kinds[i]})
    return pd.DataFrame(table_rows, columns=list(FORECAST_COLUMNS)), pd.DataFrame(methods)


def is_forecast_file(path: Path) -> bool:
    """Whether ``path`` (a .parquet, or the .json beside it) is a forecast corridor wrote."""
    meta = path.with_suffix(".json")
    try:
        return "methods" in json.loads(meta.read_text(encoding="utf-8")) and (
            path.suffix == ".parquet" or path == meta
        )
    except (OSError, ValueError, TypeError):
        return False


def check_forecast_target(path: Path, *, force: bool = False) -> None:
    """Refuse (:class:`OutputError`) a forecast file name that is not ``.parquet``, or whose
    file or .json beside it exists and is not an earlier forecast, unless ``force``."""
    if path.suffix != ".parquet":
        raise OutputError(f"--out {path}: a forecast is a .parquet file; give a name ending in .parquet")
    for file in (path, path.with_suffix(".json")):
        check_output_file(file, recognised=is_forecast_file, force=force)


def write_forecast(result: ForecastResult, path: str | Path, *, force: bool = False) -> Path:
    """Write the forecast table as Parquet (atomically), with ``info`` and methods in a JSON
    file beside it (same name, ``.json``).

    An existing file (or .json beside it) that is not an earlier forecast is never replaced
    (:class:`OutputError`), unless ``force``."""
    target = Path(path)
    check_forecast_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, lambda fh: result.table.to_parquet(fh, index=False))
    methods = result.methods.assign(
        period_start=result.methods["period_start"].dt.strftime("%Y-%m-%d"),
        period_end=result.methods["period_end"].dt.strftime("%Y-%m-%d"),
    )
    text = json.dumps({**result.info, "methods": methods.to_dict("records")}, indent=1) + "\n"
    write_text_atomically(target.with_suffix(".json"), text)
    return target
