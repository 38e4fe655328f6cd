"""corridor's own forecast at one origin: simulations from prior draws, kept by their fit.

At origin T the scenario is run with its derived inputs cut at T (``inputs_cutoff``) and
its horizon ending with the last target month, once per prior draw (the same draws and
seeds at every origin: common random numbers). Each run is scored against the observations
of the ``fit_months`` months before T with the one error score (:mod:`corridor.evidence.
score`, as calibration does); the ``keep`` runs closest to them are the forecast's ensemble
(ABC rejection on a reference table of prior draws; ``docs/backtest.md`` says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.calibrate.distance import log_ratio_distance
from corridor.evidence import COLUMNS, Rule
from corridor.evidence.plan import plan_comparison, simulated_values
from corridor.evidence.score import observation_codes
from corridor.forecast import as_observations
from corridor.geography import load_network
from corridor.metrics import Results
from corridor.observations.mapping import find_rule
from corridor.runner.single import simulate

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RunTask:
    """One simulation of a backtest: an origin, a prior draw and its seed."""

    scenario: str
    origin: str  #: YYYY-MM
    draw: int
    seed: int
    agents: int | None
    overrides: dict[str, Any]
    rows: pd.DataFrame  #: fit rows then request rows, in the observed table's columns
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RunValues:
    """What one run gives, row by row of its task's ``rows`` (NaN where not compared)."""

    origin: str
    draw: int
    simulated: FloatArray
    observed: FloatArray  #: the value compared with (a total minus a part the model lacks)
    codes: npt.NDArray[np.int8]
    change: npt.NDArray[np.bool_]


def run_overrides(
    origin: pd.Period, horizons: int, draw: dict[str, float], start: pd.Timestamp | None = None
) -> dict[str, Any]:
    """The overrides of a run at ``origin``: its prior draw, the inputs cut at the origin, a
    horizon ending with the last target month and, with ``start``, starting then (policies
    dated earlier take effect on the first day)."""
    last = origin + (horizons - 1)
    out = {
        **draw,
        "inputs_cutoff": f"{origin.start_time:%Y-%m-%d}",
        "horizon.end": f"{last.end_time:%Y-%m-%d}",
    }
    if start is not None:
        out["horizon.start"] = f"{start:%Y-%m-%d}"
    return out


def simulate_task(task: RunTask) -> RunValues:
    """Run one task (a worker function of :func:`corridor.runner.run_many`)."""
    results = simulate(task.scenario, seed=task.seed, agents=task.agents, overrides=task.overrides)
    return task_values(task, results)


def task_values(task: RunTask, results: Results) -> RunValues:
    """What a run of ``task`` gives, row by row of its ``rows``."""
    plan = plan_comparison(task.rows, results, load_network(), list(task.rules))
    n = len(task.rows)
    simulated, observed = np.full(n, np.nan), np.full(n, np.nan)
    codes, change = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool)
    values = simulated_values(results, plan)
    for value, target in zip(values, plan.targets, strict=True):
        i = int(target.row["line"]) - 1
        simulated[i] = value
        observed[i] = float(target.row["observed"])
        codes[i] = observation_codes([target.row["observation"]])[0]
        change[i] = target.statistic == "change"
    return RunValues(task.origin, task.draw, simulated, observed, codes, change)


def fit_rows(known: pd.DataFrame, origin: pd.Period, fit_months: int) -> pd.DataFrame:
    """The known observations a run is fitted to: periods inside the ``fit_months`` months
    before ``origin`` (and ending before it)."""
    since = (origin - fit_months).start_time
    starts = pd.to_datetime(known["period_start"])
    ends = pd.to_datetime(known["period_end"])
    return known[(starts >= since) & (ends < origin.start_time)].reset_index(drop=True)


#: The ``source`` of the rows a backtest asks the runs for (see :func:`task_rows`).
REQUEST_SOURCE = "backtest request"


def request_rows(requests: pd.DataFrame, rules: Sequence[Rule]) -> pd.DataFrame:
    """Requests in the observed table's format, with the parts a total subtracts."""
    return as_observations(requests, rules, source=REQUEST_SOURCE)


def task_rows(fit: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """Fit rows then request rows in the observed table's columns, ``line`` numbering them."""
    rows = pd.concat([fit[list(COLUMNS)], requests[list(COLUMNS)]], ignore_index=True)
    rows["line"] = np.arange(1, len(rows) + 1)
    rows["breakdown"] = rows["breakdown"].fillna("").astype(str)
    return rows


@dataclass(frozen=True)
class Fitted:
    """The runs of one origin, scored on the fit rows, and the ones kept."""

    distances: FloatArray  #: per draw
    kept: npt.NDArray[np.intp]  #: draws kept, best first
    fit_rows_compared: int


def select_runs(runs: Sequence[RunValues], n_fit: int, keep: int) -> Fitted:
    """Score every run on the first ``n_fit`` rows (the fit rows) and keep the ``keep`` best."""
    ordered = sorted(runs, key=lambda r: r.draw)
    first = ordered[0]
    compared = np.isfinite(first.observed[:n_fit])
    distances = np.array(
        [
            log_ratio_distance(
                r.simulated[:n_fit][compared],
                r.observed[:n_fit][compared],
                r.codes[:n_fit][compared],
                r.change[:n_fit][compared],
            )
            if compared.any()
            else 0.0
            for r in ordered
        ]
    )
    order = np.argsort(distances, kind="stable")
    return Fitted(distances, order[: max(1, min(keep, len(order)))], int(compared.sum()))


def forecast_scenario_path(scenario: str | Path) -> str:
    """The scenario path as workers read it (absolute: workers may run elsewhere)."""
    return str(Path(scenario).resolve())


def _kind(rules: Sequence[Rule], series: str, geography: str, breakdown: str) -> str | None:
    """How corridor forecasts a target: ``simulated``, ``simulated+part`` (a total minus a part
    the model lacks, the part by ``mean3``), ``part`` (only that part), or None (it cannot)."""
    rule = find_rule(rules, series, geography, breakdown)
    if rule is None:
        return None
    if rule.skip is not None:
        total = find_rule(rules, series, geography, "")
        return "part" if total is not None and total.subtract == breakdown else None
    return "simulated+part" if rule.subtract is not None else "simulated"


def _as_draws(values: FloatArray, n: int) -> FloatArray:
    """``n`` draws standing for the sample ``values``: its quantiles at (k + 0.5) / n."""
    return np.quantile(values, (np.arange(n) + 0.5) / n)


#: What each way of forecasting is called in the ``how`` column; ``{method}`` is how the part was
#: forecast: ``policy_regression`` (:func:`corridor.backtest.parts.mexican_forecast`, Mexican
#: nationals given the policy regressors) or ``mean3`` (any other part, no regressors, or the
#: regression fell back).
HOW = {
    "simulated": "simulated",
    "simulated+part": "simulated + {method} of {part}",
    "part": "{method} (not simulated)",
}


def _part_forecast(
    history: pd.Series,
    origin: pd.Period,
    horizons: int,
    part: str,
    regressors: pd.DataFrame | None,
    rng: np.random.Generator,
) -> tuple[FloatArray, str]:
    """The draws of a part the model does not simulate, and the method that made them: the
    policy regression for Mexican nationals when regressors are given, ``mean3`` otherwise."""
    from corridor.backtest.baselines import baseline_forecast
    from corridor.backtest.parts import MEXICAN_PART, mexican_forecast

    if part == MEXICAN_PART and regressors is not None:
        made = mexican_forecast(history, origin, horizons, regressors, rng)
        fell_back = made.table["fallback"].iloc[0] != ""
        return made.draws, "mean3" if fell_back else str(made.table["method"].iloc[0])
    return baseline_forecast(history, origin, horizons, "mean3", rng).draws, "mean3"


#: The method name of corridor's forecast adjusted by its own errors before the origin
#: (:func:`fit_discrepancy`): the simulations, shifted by their mean log error over the fit
#: months and widened by the spread of that error.
ADJUSTED = "corridor_adjusted"
#: Fewest fit months of a series for its own bias and spread; with fewer, the pooled spread
#: of its series (every breakdown) is used and no bias.
_MIN_FIT_POINTS = 3


@dataclass(frozen=True)
class Discrepancy:
    """What the kept runs got wrong before the origin, per target: log(observed / simulated)."""

    bias: dict[tuple[str, str, str], float]  #: mean log error of a target's fit months
    spread: dict[tuple[str, str, str], float]  #: its standard deviation
    pooled: dict[str, float]  #: per series, over every breakdown


def _fit_errors(
    rows: pd.DataFrame, runs: Sequence[RunValues], fitted: Fitted
) -> tuple[pd.DataFrame, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """The fit rows, log(observed) and log(median of the kept runs) on each, and which are
    usable (counts, both values positive)."""
    by_draw = {r.draw: r for r in runs}
    kept = [by_draw[int(d)] for d in fitted.kept]
    fit = (rows["source"] != REQUEST_SOURCE).to_numpy()
    sims = np.column_stack([r.simulated for r in kept])[fit]
    first = kept[0]
    observed, codes, change = first.observed[fit], first.codes[fit], first.change[fit]
    with np.errstate(divide="ignore", invalid="ignore"):
        median = np.median(sims, axis=1)
        log_observed, log_simulated = np.log(observed), np.log(median)
    usable = np.isfinite(log_observed) & np.isfinite(log_simulated) & (codes == 0) & ~change
    return rows[fit].reset_index(drop=True), log_observed, log_simulated, usable


def _target_key(row: Any) -> tuple[str, str, str]:
    return (str(row[0]), str(row[1]), str(row[2]))


def fit_discrepancy(rows: pd.DataFrame, runs: Sequence[RunValues], fitted: Fitted) -> Discrepancy:
    """The kept runs' log errors on the fit rows (counts only), by target.

    Only observations of the fit months (before the origin) are read, so the adjustment
    obeys the same rule as everything else a forecast at the origin uses.
    """
    fit, log_observed, log_simulated, usable = _fit_errors(rows, runs, fitted)
    error = np.where(usable, log_observed - np.where(usable, log_simulated, 0.0), np.nan)
    keys = zip(fit["series"], fit["geography"], fit["breakdown"], strict=True)
    groups: dict[tuple[str, str, str], list[float]] = {}
    for key, e, ok in zip(keys, error, usable, strict=True):
        if ok:
            groups.setdefault(_target_key(key), []).append(float(e))
    bias = {k: float(np.mean(v)) for k, v in groups.items() if len(v) >= _MIN_FIT_POINTS}
    spread = {k: float(np.std(v, ddof=1)) for k, v in groups.items() if len(v) >= _MIN_FIT_POINTS}
    by_series: dict[str, list[float]] = {}
    for k, v in groups.items():
        mean = float(np.mean(v)) if len(v) >= _MIN_FIT_POINTS else 0.0
        by_series.setdefault(k[0], []).extend(x - mean for x in v)
    pooled = {k: float(np.std(v, ddof=1)) for k, v in by_series.items() if len(v) >= _MIN_FIT_POINTS}
    return Discrepancy(bias=bias, spread=spread, pooled=pooled)


#: The method name of corridor's forecast anchored at the last observed month
#: (:func:`fit_anchors`): the last month observed, moved by the change the runs simulate from it
#: (as far as that change followed the observed one inside the fit months), widened by what that
#: left unexplained there.
ANCHORED = "corridor_anchored"
#: A target's own drift is shrunk toward its series' as if the series gave this many more pairs
#: (an assumption: a target has at most 15 pairs a month apart in 16 fit months, too few to trust
#: alone, while the series pools targets from national totals to nationalities of a few hundred).
_DRIFT_PRIOR_PAIRS = 6


@dataclass(frozen=True)
class Anchors:
    """Where the kept runs stood against the last observations before the origin, and how far
    their month-to-month changes followed the observed ones before it."""

    #: target -> its last monthly fit row's month, log(observed) and log(median simulated)
    last: dict[tuple[str, str, str], tuple[pd.Period, float, float]]
    #: series -> months ahead -> weight of the simulated log change (0: none, 1: all of it)
    weight: dict[str, dict[int, float]]
    #: target -> months ahead -> root mean square of what the weighted change left unexplained
    drift: dict[tuple[str, str, str], dict[int, float]]


def fit_anchors(rows: pd.DataFrame, runs: Sequence[RunValues], fitted: Fitted) -> Anchors:
    """Each target's last monthly fit row, and per series and months ahead h how the observed
    log change over h months followed the simulated one inside the fit months.

    Over every pair of months (m, m + h) of every target of a series (at least 3 pairs), with
    x the simulated log change and y the observed one, the weight is the least-squares slope
    through 0, sum(xy) / sum(xx), within [0, 1] (0 without simulated change). A target's drift
    is the root mean square of y - weight x over its own pairs, shrunk toward its series' as if
    the series added :data:`_DRIFT_PRIOR_PAIRS` pairs (a national total drifts less than a
    nationality of a few hundred people). Only monthly rows count (a year's total is no month
    to anchor on); only the fit months are read, so the anchor is the last month before the
    origin at the latest.
    """
    fit, log_observed, log_simulated, usable = _fit_errors(rows, runs, fitted)
    starts = pd.to_datetime(fit["period_start"]).dt.to_period("M")
    ends = pd.to_datetime(fit["period_end"]).dt.to_period("M")
    monthly = usable & (starts == ends).to_numpy()
    by_target: dict[tuple[str, str, str], dict[pd.Period, tuple[float, float]]] = {}
    keys = zip(fit["series"], fit["geography"], fit["breakdown"], strict=True)
    for key, month, lo, ls, ok in zip(keys, starts, log_observed, log_simulated, monthly, strict=True):
        if ok:
            by_target.setdefault(_target_key(key), {})[month] = (float(lo), float(ls))
    last = {k: (m, *v[m]) for k, v in by_target.items() for m in [max(v)]}
    pairs: dict[tuple[str, str, str], dict[int, list[tuple[float, float]]]] = {}
    for key, values in by_target.items():
        for month, (lo, ls) in values.items():
            for later, (lo_later, ls_later) in values.items():
                if later > month:
                    by_ahead = pairs.setdefault(key, {})
                    by_ahead.setdefault((later - month).n, []).append((ls_later - ls, lo_later - lo))
    by_series: dict[str, dict[int, list[tuple[float, float]]]] = {}
    for key, by_ahead in pairs.items():
        for ahead, xy in by_ahead.items():
            by_series.setdefault(key[0], {}).setdefault(ahead, []).extend(xy)
    weight: dict[str, dict[int, float]] = {}
    series_ms: dict[str, dict[int, float]] = {}  # mean square of what the weight leaves
    for series, by_ahead in by_series.items():
        for ahead, xy in by_ahead.items():
            if len(xy) < _MIN_FIT_POINTS:
                continue
            x, y = np.array(xy).T
            xx = float(x @ x)
            w = float(np.clip(x @ y / xx, 0.0, 1.0)) if xx > 0 else 0.0
            weight.setdefault(series, {})[ahead] = w
            series_ms.setdefault(series, {})[ahead] = float(np.mean(np.square(y - w * x)))
    drift: dict[tuple[str, str, str], dict[int, float]] = {}
    for key in by_target:
        for ahead, ms in series_ms.get(key[0], {}).items():
            own = np.array(pairs.get(key, {}).get(ahead, []), dtype=float).reshape(-1, 2)
            left = own[:, 1] - weight[key[0]][ahead] * own[:, 0]
            shrunk = (float(left @ left) + _DRIFT_PRIOR_PAIRS * ms) / (len(left) + _DRIFT_PRIOR_PAIRS)
            drift.setdefault(key, {})[ahead] = float(np.sqrt(shrunk))
    return Anchors(last=last, weight=weight, drift=drift)


def _at(by_ahead: dict[int, float], ahead: int, grow: bool) -> float | None:
    """The value ``ahead`` months after the anchor: measured, else the furthest measured (grown
    like a random walk's, sqrt of the months, with ``grow``), else None."""
    if ahead in by_ahead:
        return by_ahead[ahead]
    if not by_ahead:
        return None
    furthest = max(by_ahead)
    return by_ahead[furthest] * (float(np.sqrt(ahead / furthest)) if grow else 1.0)


def _adjusted(
    sim: FloatArray, key: tuple[str, str, str], horizon: int, found: Discrepancy, rng: np.random.Generator
) -> FloatArray:
    """:data:`N_DRAWS <corridor.backtest.baselines.N_DRAWS>` draws of a simulated target,
    shifted by its bias and with a log-normal error whose spread grows like a random walk's
    (the fit months' spread times sqrt(horizon): an assumption, stated in docs/backtest.md)."""
    from corridor.backtest.baselines import N_DRAWS

    bias = found.bias.get(key, 0.0)
    spread = found.spread.get(key, found.pooled.get(key[0], 0.0))
    base = sim[np.arange(N_DRAWS) % sim.size]
    return base * np.exp(bias + spread * np.sqrt(horizon) * rng.standard_normal(N_DRAWS))


def _anchored(
    sim: FloatArray,
    key: tuple[str, str, str],
    month: pd.Period,
    horizon: int,
    anchors: Anchors,
    found: Discrepancy,
    rng: np.random.Generator,
) -> FloatArray:
    """:data:`N_DRAWS <corridor.backtest.baselines.N_DRAWS>` draws of a simulated target for
    ``month``: its last fit month's observed value times (simulated / simulated then) to the
    power of the series' weight, with a log-normal error of its drift (:func:`fit_anchors`;
    without them, the adjusted method's pooled spread grown like a random walk's, and weight
    1). A target without a monthly fit row is :func:`_adjusted`'s."""
    from corridor.backtest.baselines import N_DRAWS

    if key not in anchors.last:
        return _adjusted(sim, key, horizon, found, rng)
    anchor_month, log_observed, log_simulated = anchors.last[key]
    ahead = max((month - anchor_month).n, 1)
    weight = _at(anchors.weight.get(key[0], {}), ahead, grow=False)
    spread = _at(anchors.drift.get(key, {}), ahead, grow=True)
    if spread is None:
        spread = found.pooled.get(key[0], 0.0) * float(np.sqrt(ahead))
    base = sim[np.arange(N_DRAWS) % sim.size]
    change = np.log(np.maximum(base, 1.0)) - log_simulated  # a person at least: no log of 0
    noise = spread * rng.standard_normal(N_DRAWS)
    return np.asarray(np.exp(log_observed + (1.0 if weight is None else weight) * change + noise))


def corridor_forecast(
    requests: pd.DataFrame,
    rows: pd.DataFrame,
    runs: Sequence[RunValues],
    fitted: Fitted,
    histories: dict[tuple[str, str, str], pd.Series],
    rules: Sequence[Rule],
    rng: np.random.Generator,
    regressors: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, FloatArray]:
    """corridor's forecast of every request it can make, and its draws.

    ``rows`` are the runs' rows (fit rows, then the requests and their parts: see
    :func:`request_rows`). A part the model does not simulate is forecast from its history and
    added to the kept runs' values draw by draw: Mexican nationals in the US totals (and their
    own row) by :func:`corridor.backtest.parts.mexican_forecast` with ``regressors`` (the
    scenario's policy, :func:`corridor.backtest.parts.policy_regressors`), any other part, or
    every part when ``regressors`` is None, by the ``mean3`` baseline. The ``how`` column says
    which.
    """
    from corridor.backtest.baselines import N_DRAWS

    by_draw = {r.draw: r for r in runs}
    sims = np.column_stack([by_draw[int(d)].simulated for d in fitted.kept])  # rows x kept
    line = {
        (r["series"], r["geography"], r["breakdown"], pd.Timestamp(r["period_start"])): i
        for i, r in enumerate(rows.to_dict("records"))
        if r["source"] == REQUEST_SOURCE
    }
    origin = pd.Period(requests["period_start"].min(), freq="M")
    horizons = int(requests["horizon"].max())
    part_draws: dict[tuple[str, str, str], tuple[FloatArray, str]] = {}
    out: list[dict[str, Any]] = []
    draws: list[FloatArray] = []
    # The adjusted method draws from its own stream, so the other methods' draws are as before.
    found = fit_discrepancy(rows, runs, fitted)
    adjust_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])  # type: ignore[attr-defined]
    adjusted_out: list[dict[str, Any]] = []
    adjusted_draws: list[FloatArray] = []
    # The anchored method too (spawned after, so the adjusted method's stream is as before).
    anchors = fit_anchors(rows, runs, fitted)
    anchor_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])  # type: ignore[attr-defined]
    anchored_out: list[dict[str, Any]] = []
    anchored_draws: list[FloatArray] = []
    for req in requests.to_dict("records"):
        series, geography, breakdown = str(req["series"]), str(req["geography"]), str(req["breakdown"])
        kind = _kind(rules, series, geography, breakdown)
        if kind is None:
            continue
        values: FloatArray | None = None
        part, method = "", ""
        if kind in ("part", "simulated+part"):
            total = find_rule(rules, series, geography, "")
            assert total is not None and total.subtract is not None
            part = total.subtract if kind == "simulated+part" else breakdown
            key_part = (series, geography, part)
            if key_part not in histories:
                continue  # no history of the part: no forecast
            if key_part not in part_draws:
                part_draws[key_part] = _part_forecast(
                    histories[key_part], origin, horizons, part, regressors, rng
                )
            h = int(req["horizon"]) - 1
            values, method = part_draws[key_part][0][h], part_draws[key_part][1]
        if kind != "part":
            sim = sims[line[(series, geography, breakdown, pd.Timestamp(req["period_start"]))]]
            if not np.isfinite(sim).all():
                continue
            values = sim if values is None else (sim[:, None] + values[None, :]).ravel()
        assert values is not None
        how = HOW[kind].format(part=part, method=method)
        _append(out, draws, req, "corridor", values, how)
        adjusted = anchored = values
        if kind != "part":
            key = (series, geography, breakdown)
            month = pd.Period(pd.Timestamp(req["period_start"]), freq="M")
            adjusted = _adjusted(sim, key, int(req["horizon"]), found, adjust_rng)
            anchored = _anchored(sim, key, month, int(req["horizon"]), anchors, found, anchor_rng)
            if kind == "simulated+part":
                part_values = _as_draws(part_draws[key_part][0][h], N_DRAWS)
                adjusted = adjusted + adjust_rng.permutation(part_values)
                anchored = anchored + anchor_rng.permutation(part_values)
        _append(adjusted_out, adjusted_draws, req, ADJUSTED, adjusted, how + " (adjusted)")
        _append(anchored_out, anchored_draws, req, ANCHORED, anchored, how + " (anchored)")
    table = pd.DataFrame(out + adjusted_out + anchored_out)
    every = draws + adjusted_draws + anchored_draws
    return table, (np.vstack(every) if every else np.empty((0, N_DRAWS)))


def _append(
    out: list[dict[str, Any]],
    draws: list[FloatArray],
    req: dict[Any, Any],
    method: str,
    values: FloatArray,
    how: str,
) -> None:
    """One forecast row (median and 90% interval of ``values``) and its draws."""
    from corridor.backtest.baselines import N_DRAWS

    q05, median, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    out.append(
        {
            **{str(k): v for k, v in req.items()},
            "method": method,
            "median": max(float(median), 0.0),
            "q05": max(float(q05), 0.0),
            "q95": max(float(q95), 0.0),
            "how": how,
        }
    )
    draws.append(_as_draws(np.maximum(values, 0.0), N_DRAWS))
