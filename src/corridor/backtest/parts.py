"""Parts of an observed total that corridor does not simulate: Mexican nationals at the US border.

corridor simulates people crossing Mexico, not Mexican nationals, yet they are about a third of
US Border Patrol southwest encounters. Their forecast in a backtest is statistical, and it uses
what a scenario fixes at any origin: the **policy timeline** (an input, as in any scenario).

:func:`policy_regressors`
    Monthly exogenous indicators read from the scenario's compiled timeline
    (:func:`corridor.timeline.compile_timeline`), from the US encounter outcome shares of each
    day (``policy.us_outcome_shares``, whose ``expelled`` outcome is Title 42):

    ``title42``
        The share of the month's days under Title 42: days on which some nationality's US
        encounters have a positive ``expelled`` share (1 from April 2020 to April 2023 in
        ``mexico-2018-2024``, 11/31 in May 2023, 0 before March 2020 and after May 2023).
    ``expelled_share``
        The monthly mean of the share of US encounters expelled, averaged over the scenario's
        nationalities with equal weights (the scenario alone does not say how many of each
        are encountered).
    ``title42_buildup``
        ``title42 x (1 - exp(-c / TITLE42_BUILDUP_MONTHS))``, ``c`` the months of Title 42 so
        far in the spell (the sum of ``title42`` since it last was 0): the pool of expelled
        people who cross again builds up over months after expulsions begin, and stops at
        once when they end, because expulsion (no penalty, a return to the nearest Mexican
        border city) is what made crossing again cheap.

    Months outside the scenario's horizon take the nearest month's value. Only the scenario
    is read: its inflows are set to zero before compiling, so that no derived inflow reads
    observed data.

:func:`mexican_forecast`
    A regression with ARIMA errors on ``log1p`` of the history: ``SARIMAX(order=(1, 1, 0))``,
    no constant, with the regressors of :data:`MEXICAN_REGRESSORS` (by default
    ``title42_buildup`` only), forecast with the regressors of the target months.

**Why differences, and why the build-up.** Mexican encounters wandered from 9,000 to 83,000 a
month between 2017 and 2023 with no level to return to: a stationary AR(1) around a constant
(``order=(1, 0, 0)``) pulls a forecast toward the mean of the whole history (or, with its
coefficient near 1, becomes the differenced model with one more badly identified parameter),
and a constant on the differences would extrapolate the drift of the years before. In
differences the regressor's coefficient is learnt from the months in which the policy changes,
and there the plain indicator ``title42`` fails: its one switch-on before 2023 (March-April 2020)
coincides with the COVID-19 collapse of April 2020, so its coefficient comes out negative and a
forecast made before May 2023 predicts that encounters *rise* when Title 42 ends.
``title42_buildup`` spreads the switch-on over the months in which encounters of Mexicans rose
(mid-2020 to 2021), as re-crossings accumulated, and keeps the end abrupt. Its time constant
(six months) is an assumption, not fitted; ``benchmarks/mexican_nationals.py --variants``
shows the alternatives (three and twelve months, the indicator, the expelled share, the levels
model) scored beside it, and ``docs/backtest.md`` ("Mexican nationals") how much depends on it.

**Falling back.** With fewer than :data:`MIN_REGRESSION_MONTHS` observed months, when no
regressor varies over the observed months of the history (before 2020 nothing does: a
coefficient cannot be learnt before the policy has changed once), or when the fit fails or gives
non-finite values, the forecast is the ``mean3`` baseline's, with ``fallback`` ``"mean3"``.

The median is ``expm1`` of the forecast mean on the ``log1p`` scale, ``q05`` and ``q95`` the
model's 90% interval on that scale (parameters taken as known), and the
:data:`~corridor.backtest.baselines.N_DRAWS` draws are normal on that scale with the forecast's
mean and variance, drawn from the generator given: the same history, origin, regressors and
generator state give the same forecast.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.backtest.baselines import (
    N_DRAWS,
    BaselineForecast,
    _as_month,
    _dense_history,
    baseline_forecast,
)
from corridor.errors import BacktestError
from corridor.geography import load_network
from corridor.scenario import Scenario, load_scenario
from corridor.scenario.schema import Inflow
from corridor.timeline import US_OUTCOMES, compile_timeline

__all__ = [
    "METHOD",
    "MEXICAN_PART",
    "MEXICAN_REGRESSORS",
    "MIN_REGRESSION_MONTHS",
    "REGRESSOR_COLUMNS",
    "REGRESSOR_LEAD_MONTHS",
    "TITLE42_BUILDUP_MONTHS",
    "mexican_forecast",
    "policy_regressors",
]

_FloatArray = npt.NDArray[np.float64]

#: The breakdown of the part of US encounters forecast by :func:`mexican_forecast`.
MEXICAN_PART = "citizenship=Mexico"
#: The ``method`` of :func:`mexican_forecast`'s rows.
METHOD = "policy_regression"
#: Observed months a regression needs; a shorter history is forecast by ``mean3``.
MIN_REGRESSION_MONTHS = 24
#: Columns of :func:`policy_regressors`.
REGRESSOR_COLUMNS: tuple[str, ...] = ("title42", "expelled_share", "title42_buildup")
#: The regressors :func:`mexican_forecast` uses by default (see the module docstring).
MEXICAN_REGRESSORS: tuple[str, ...] = ("title42_buildup",)
#: Time constant of ``title42_buildup``, months (an assumption; see the module docstring).
TITLE42_BUILDUP_MONTHS = 6.0
#: Months before the scenario's horizon :func:`policy_regressors` covers by default (the
#: observed histories start before the horizons of the shipped scenarios).
REGRESSOR_LEAD_MONTHS = 12


# --------------------------------------------------------------------------- regressors
def policy_regressors(
    scenario_path: str | Path,
    months: pd.PeriodIndex | None = None,
    *,
    buildup_months: float = TITLE42_BUILDUP_MONTHS,
) -> pd.DataFrame:
    """Monthly policy indicators of a scenario (the columns of :data:`REGRESSOR_COLUMNS`).

    Parameters
    ----------
    scenario_path : path
        A scenario YAML file. Only the scenario is read (no observed data).
    months : PeriodIndex, optional
        Monthly periods wanted (default: the scenario's horizon and the
        :data:`REGRESSOR_LEAD_MONTHS` months before it). Months outside the horizon take the
        value of the nearest month inside it.
    buildup_months : float
        Time constant of ``title42_buildup`` in months (default
        :data:`TITLE42_BUILDUP_MONTHS`).

    Returns
    -------
    DataFrame
        Indexed by ``months``; columns ``title42``, ``expelled_share`` and ``title42_buildup``
        (see the module docstring), each between 0 and 1.

    Raises
    ------
    BacktestError
        ``months`` that are not monthly periods, or ``buildup_months`` not positive.
    ScenarioError
        The scenario cannot be read or compiled.
    """
    if not buildup_months > 0:
        raise BacktestError(f"buildup_months must be positive, not {buildup_months}")
    scenario = load_scenario(scenario_path)
    timeline = compile_timeline(_policy_only(scenario), load_network())
    expelled = US_OUTCOMES.index("expelled")
    # Per segment and nationality, the share expelled (the cdf's step at 'expelled').
    shares = np.array(
        [np.diff(seg.us_outcome_cdf, axis=1, prepend=0.0)[:, expelled] for seg in timeline.segments]
    )
    daily = shares[timeline.segment_of_day.astype(np.intp)]  # (day, nationality)
    by_day = pd.DataFrame(
        {"title42": (daily.max(axis=1) > 0).astype(float), "expelled_share": daily.mean(axis=1)},
        index=timeline.dates,
    )
    monthly = by_day.groupby(timeline.dates.to_period("M")).mean()
    monthly.index = pd.PeriodIndex(monthly.index, freq="M")
    monthly["title42_buildup"] = _buildup(monthly["title42"].to_numpy(dtype=np.float64), buildup_months)
    if months is None:
        months = pd.period_range(
            monthly.index[0] - REGRESSOR_LEAD_MONTHS, monthly.index[-1], freq="M", name="month"
        )
    return _nearest_months(monthly[list(REGRESSOR_COLUMNS)], months)


def _policy_only(scenario: Scenario) -> Scenario:
    """The scenario with every inflow a constant zero: compiling it reads no observed data (a
    derived inflow would), and the policy arrays do not depend on inflows."""
    inflows = [
        Inflow.model_validate({"nationality": i.nationality, "entry": dict(i.entry), "persons_per_day": 0.0})
        for i in scenario.inflows
    ]
    return scenario.model_copy(update={"inflows": inflows})


def _buildup(title42: _FloatArray, buildup_months: float) -> _FloatArray:
    """``title42 x (1 - exp(-c / buildup_months))``, ``c`` the months of the spell so far."""
    out = np.zeros_like(title42)
    spell = 0.0
    for i, share in enumerate(title42):
        spell = spell + share if share > 0 else 0.0
        out[i] = share * (1.0 - np.exp(-spell / buildup_months))
    return out


def _nearest_months(frame: pd.DataFrame, months: pd.PeriodIndex) -> pd.DataFrame:
    """``frame`` (indexed by months) at ``months``, each taking the nearest month's row."""
    if not isinstance(months, pd.PeriodIndex) or months.freqstr != "M":
        raise BacktestError("months must be monthly periods (a PeriodIndex with freq 'M')")
    index = frame.index
    if not isinstance(index, pd.PeriodIndex) or index.freqstr != "M" or index.empty:
        raise BacktestError("regressors must be indexed by monthly periods (a PeriodIndex with freq 'M')")
    if index.has_duplicates:
        raise BacktestError(f"the regressors have the month {index[index.duplicated()][0]} twice")
    frame = frame.sort_index()
    rows = frame.index.get_indexer(months, method="nearest")
    out = frame.iloc[rows].copy()
    out.index = months
    return out


# --------------------------------------------------------------------------- the forecast
def mexican_forecast(
    history: pd.Series,
    origin: pd.Period | str,
    horizons: int,
    regressors: pd.DataFrame,
    rng: np.random.Generator,
    *,
    columns: Sequence[str] | None = MEXICAN_REGRESSORS,
    differenced: bool = True,
) -> BaselineForecast:
    """Forecast a monthly series (Mexican nationals at the US border) with policy regressors.

    Parameters
    ----------
    history : Series
        Non-negative values indexed by a monthly :class:`~pandas.PeriodIndex`; missing
        months may be absent or NaN. Every month must be before ``origin``.
    origin : Period or str
        The origin month ``T``, the first month forecast (``h = 1``).
    horizons : int
        ``H``: the months ``T .. T+H-1`` are forecast.
    regressors : DataFrame
        Indexed by monthly periods (e.g. :func:`policy_regressors`): the policy, known for
        the past and the target months alike. A month it lacks takes the nearest month's row.
    rng : numpy.random.Generator
        The source of every random draw.
    columns : sequence of str, optional
        The regressors used (default :data:`MEXICAN_REGRESSORS`; None: every column).
        Those constant over the history's observed months are left out.
    differenced : bool
        ``order=(1, 1, 0)`` without a constant (default; the module docstring says why), or
        ``order=(1, 0, 0)`` with one.

    Returns
    -------
    BaselineForecast
        ``horizons`` rows of method :data:`METHOD`; ``fallback`` is ``"mean3"`` where the
        ``mean3`` baseline made the forecast (a short history, no regressor varying over it,
        a failed fit), ``""`` otherwise; ``interval`` ``"policy_regression"`` (the model's
        own) or, on a fallback, the baseline's.

    Raises
    ------
    BacktestError
        ``horizons < 1``, a history that is not monthly counts or holds a month at or after
        ``origin``, regressors not indexed by monthly periods or lacking a column.
    """
    if horizons < 1:
        raise BacktestError(f"horizons must be at least 1, not {horizons}")
    month = _as_month(origin)
    dense = _dense_history(history, month)  # refuses a month at or after the origin
    names = list(regressors.columns) if columns is None else list(columns)
    missing = [c for c in names if c not in regressors.columns]
    if missing or not names:
        raise BacktestError(f"the regressors lack the column(s) {', '.join(missing) or '(none given)'}")
    months = pd.period_range(month - dense.size, periods=dense.size + horizons, freq="M")
    exog = _nearest_months(regressors[names], months).to_numpy(dtype=np.float64, na_value=np.nan)
    made = _regression(dense, exog, differenced, rng)
    if made is None:
        base = baseline_forecast(history, month, horizons, "mean3", rng)
        table = base.table.assign(method=METHOD, fallback="mean3")
        return BaselineForecast(table, base.draws)
    median, q05, q95, draws = made
    table = pd.DataFrame(
        {
            "method": METHOD,
            "origin": pd.PeriodIndex([month] * horizons),
            "horizon": np.arange(1, horizons + 1),
            "target": pd.period_range(month, periods=horizons, freq="M"),
            "median": median,
            "q05": q05,
            "q95": q95,
            "fallback": "",
            "interval": METHOD,
        }
    )
    return BaselineForecast(table, np.ascontiguousarray(draws, dtype=np.float64))


_Spread = tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray]


def _regression(
    dense: _FloatArray, exog: _FloatArray, differenced: bool, rng: np.random.Generator
) -> _Spread | None:
    """Median, q05, q95 and draws of the regression, or None when it cannot be used.

    ``dense`` is the history (NaN where missing), ``exog`` the regressors of its months then
    of the target months."""
    n = dense.size
    observed = ~np.isnan(dense)
    if observed.sum() < MIN_REGRESSION_MONTHS or not np.isfinite(exog).all():
        return None
    past, future = exog[:n], exog[n:]
    varying = np.ptp(past[observed], axis=0) > 1e-9
    if not varying.any():
        return None  # a coefficient cannot be learnt from a regressor that never changed
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence and frequency warnings of a fit
            mean, sd, low, high = _fit(np.log1p(dense), past[:, varying], future[:, varying], differenced)
    except Exception:  # statsmodels fails in many ways (LinAlgError, ValueError, ...): fall back
        return None
    if not all(np.isfinite(part).all() for part in (mean, sd, low, high)):
        return None
    draws = mean[:, None] + sd[:, None] * rng.standard_normal((mean.size, N_DRAWS))
    return _counts(mean), _counts(low), _counts(high), _counts(draws)


def _fit(
    log_y: _FloatArray, past: _FloatArray, future: _FloatArray, differenced: bool
) -> tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray]:
    """Forecast mean, standard deviation, 5% and 95% quantiles on the log1p scale."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    order = (1, 1, 0) if differenced else (1, 0, 0)
    model = SARIMAX(log_y, exog=past, order=order, trend="n" if differenced else "c")
    fit = model.fit(disp=False)
    forecast = fit.get_forecast(steps=future.shape[0], exog=future)
    interval = np.asarray(forecast.conf_int(alpha=0.10), dtype=np.float64)
    return (
        np.asarray(forecast.predicted_mean, dtype=np.float64),
        np.sqrt(np.asarray(forecast.var_pred_mean, dtype=np.float64)),
        interval[:, 0],
        interval[:, 1],
    )


def _counts(log1p_values: _FloatArray) -> _FloatArray:
    """Back from the log1p scale, never below zero."""
    return np.maximum(np.expm1(log1p_values), 0.0)
