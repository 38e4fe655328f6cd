"""Baseline forecasts of one observed monthly series, made at an origin month from the months before it.

A backtest asks, at each origin month ``T``, for forecasts of the target months ``T``, ``T+1``,
..., ``T+H-1`` (horizon ``h = 1`` is the origin month itself, the first month with no data). The
baselines here read only a history whose months are all before ``T``; a value at or after
``T`` is a leak of the future and raises :class:`~corridor.errors.BacktestError`.

Methods (:data:`METHODS`):

``persistence``
    The last observed month, for every horizon.
``mean3``
    The mean of the last three observed months (of fewer when fewer are observed).
``seasonal_naive``
    The same calendar month one year before the target. When that month is missing, or not
    in the history (``h > 12``), the forecast is persistence and the ``fallback`` column
    says ``"persistence"``.
``ets``
    statsmodels' ETS (additive error, additive damped trend, no season) fitted to
    ``log1p`` of the history, with its analytic 90% interval and simulated draws. Missing
    months inside the history are interpolated on the log scale. A history of fewer than
    :data:`MIN_ETS_MONTHS` observed months, or a fit that fails or gives non-finite values,
    gives ``mean3`` instead, with ``fallback`` ``"mean3"``.

Intervals and draws of the three naive methods are empirical, from the method's own past
errors on the history: for horizon ``h``, the log errors ``log1p(y[t+h-1]) - log1p(f_t)``
of the forecast ``f_t`` the method would have made at every past origin ``t`` of the history
whose target is observed. The errors are centred on their median (the point forecast stays
the method's own, and it is the median of its distribution), their 5% and 95% quantiles
give ``q05`` and ``q95``, and :data:`N_DRAWS` of them, resampled with the generator given,
give the draws, each ``expm1(log1p(f) + e)``: the point forecast times ``exp(e)`` on the
``log1p`` scale, which keeps zeros usable. With fewer than :data:`MIN_PAST_ERRORS` past
errors at a horizon, the errors are instead normal with standard deviation
``DEFAULT_LOG_SD * sqrt(h)`` (an assumption: a random walk on the log scale, a 90% interval
of about a factor 2.3 either way at ``h = 1``); the ``interval`` column says which.

Everything is deterministic given the generator: the same history, origin and generator
state give the same forecast.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.errors import BacktestError

__all__ = [
    "DEFAULT_LOG_SD",
    "FORECAST_COLUMNS",
    "METHODS",
    "MIN_ETS_MONTHS",
    "MIN_PAST_ERRORS",
    "N_DRAWS",
    "Z95",
    "BaselineForecast",
    "baseline_forecast",
    "baseline_forecasts",
]

_FloatArray = npt.NDArray[np.float64]
_BoolArray = npt.NDArray[np.bool_]
_Steps = npt.NDArray[np.int64]  # horizons 1..H
#: A point forecaster: (the history before an origin as a dense array, horizons) -> (values, fell back).
_PointMethod = Callable[[_FloatArray, _Steps], tuple[_FloatArray, _BoolArray]]

#: The baseline methods, in the order :func:`baseline_forecasts` makes them.
METHODS: tuple[str, ...] = ("persistence", "mean3", "seasonal_naive", "ets")
#: Draws per forecast row, for every method.
N_DRAWS = 200
#: Past errors a horizon needs for an empirical interval; fewer use :data:`DEFAULT_LOG_SD`.
MIN_PAST_ERRORS = 6
#: Standard deviation of the log1p error at ``h = 1`` when past errors are too few (times ``sqrt(h)``).
DEFAULT_LOG_SD = 0.5
#: Observed months ETS needs; a shorter history is forecast by ``mean3``.
MIN_ETS_MONTHS = 12
#: Columns of :attr:`BaselineForecast.table`.
FORECAST_COLUMNS: tuple[str, ...] = (
    "method",
    "origin",
    "horizon",
    "target",
    "median",
    "q05",
    "q95",
    "fallback",
    "interval",
)
#: The standard normal's 95% quantile: a 90% interval is the median +- Z95 standard deviations.
Z95 = 1.6448536269514722


@dataclass(frozen=True)
class BaselineForecast:
    """Forecasts of one or more methods, one row per method and horizon.

    Attributes
    ----------
    table : DataFrame
        Columns :data:`FORECAST_COLUMNS`: ``method``; ``origin`` and ``target`` (monthly
        periods, ``target = origin + horizon - 1``); ``horizon`` (1 is the origin month);
        ``median``, ``q05``, ``q95`` (counts); ``fallback``, the method that made the point
        forecast when it is not ``method`` itself (``""`` otherwise); ``interval``,
        ``"empirical"``, ``"default"`` (too few past errors) or ``"ets"``.
    draws : ndarray, shape (len(table), N_DRAWS)
        Sample draws of the forecast distribution (counts, >= 0), row ``i`` for row ``i``
        of the table.
    """

    table: pd.DataFrame
    draws: _FloatArray

    @staticmethod
    def concat(forecasts: Sequence[BaselineForecast]) -> BaselineForecast:
        """The rows of several forecasts, in order, as one."""
        if not forecasts:
            raise BacktestError("no forecasts to concatenate")
        table = pd.concat([f.table for f in forecasts], ignore_index=True)
        return BaselineForecast(table, np.concatenate([f.draws for f in forecasts]))


def baseline_forecast(
    history: pd.Series, origin: pd.Period | str, horizons: int, method: str, rng: np.random.Generator
) -> BaselineForecast:
    """Forecast one series by one baseline method for horizons ``1..horizons``.

    Parameters
    ----------
    history : Series
        Non-negative values indexed by a monthly :class:`~pandas.PeriodIndex`; missing
        months may be absent or NaN. Every month must be before ``origin``.
    origin : Period or str
        The origin month ``T``, the first month forecast (``h = 1``).
    horizons : int
        ``H``: the months ``T .. T+H-1`` are forecast.
    method : str
        One of :data:`METHODS`.
    rng : numpy.random.Generator
        The source of every random draw.

    Returns
    -------
    BaselineForecast
        ``horizons`` rows.

    Raises
    ------
    BacktestError
        An unknown method, ``horizons < 1``, a history that is not monthly counts, with no
        observed month, or with a month at or after ``origin``.
    """
    if method not in METHODS:
        raise BacktestError(f"unknown baseline method {method!r}; expected one of {', '.join(METHODS)}")
    if horizons < 1:
        raise BacktestError(f"horizons must be at least 1, not {horizons}")
    month = _as_month(origin)
    dense = _dense_history(history, month)
    steps = np.arange(1, horizons + 1, dtype=np.int64)
    if method == "ets":
        made = _ets(dense, steps, rng)
        if made is not None:
            return _forecast(method, month, made, np.full(horizons, ""), np.full(horizons, "ets"))
    naive = "mean3" if method == "ets" else method
    point = _POINT_METHODS[naive]
    values, fell_back = point(dense, steps)
    q05, q95, draws, empirical = _empirical_spread(dense, point, values, steps, rng)
    fallback = np.full(horizons, "mean3") if method == "ets" else np.where(fell_back, "persistence", "")
    interval = np.where(empirical, "empirical", "default")
    return _forecast(method, month, (values, q05, q95, draws), fallback, interval)


def baseline_forecasts(
    history: pd.Series,
    origin: pd.Period | str,
    horizons: int,
    rng: np.random.Generator,
    methods: Sequence[str] = METHODS,
) -> BaselineForecast:
    """Forecast one series by several baseline methods (all of :data:`METHODS` by default).

    The rows are method by method, in the order of ``methods``, each with horizons
    ``1..horizons``; the generator is used by the methods in that order. Parameters and
    errors as :func:`baseline_forecast`.
    """
    return BaselineForecast.concat([baseline_forecast(history, origin, horizons, m, rng) for m in methods])


# --------------------------------------------------------------------------- the history
def _as_month(origin: pd.Period | str) -> pd.Period:
    try:
        month = pd.Period(origin, freq="M")
    except (ValueError, TypeError) as error:
        raise BacktestError(f"origin {origin!r} is not a month: {error}") from None
    if isinstance(origin, pd.Period) and origin.freqstr != month.freqstr:
        raise BacktestError(f"origin {origin} is not a month")
    return month


def _dense_history(history: pd.Series, origin: pd.Period) -> _FloatArray:
    """The history as one value per month, from its first observed month to ``origin - 1``
    (NaN where missing): index ``i`` is month ``first + i``, and ``origin`` is index ``len``."""
    index = history.index
    if not isinstance(index, pd.PeriodIndex) or index.freqstr != "M":
        raise BacktestError("a history must be indexed by monthly periods (a PeriodIndex with freq 'M')")
    if index.has_duplicates:
        raise BacktestError(f"a history has the month {index[index.duplicated()][0]} twice")
    if len(index) and index.max() >= origin:
        raise BacktestError(
            f"the history holds {index.max()}, at or after the origin {origin}: only months "
            "before the origin may be read (a leak of the future)"
        )
    try:
        values = pd.to_numeric(history).to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError):
        values = np.array([-1.0])  # not numbers: refused below
    if np.isinf(values).any() or (values < 0).any():
        raise BacktestError("a history must hold non-negative finite counts (NaN for a missing month)")
    observed = ~np.isnan(values)
    if not observed.any():
        raise BacktestError(f"the history has no observed month before the origin {origin}")
    ordinals = index.asi8[observed]
    first = ordinals.min()
    dense = np.full(origin.ordinal - first, np.nan)
    dense[ordinals - first] = values[observed]
    return dense


# --------------------------------------------------------------------------- point forecasts
def _persistence(past: _FloatArray, steps: _Steps) -> tuple[_FloatArray, _BoolArray]:
    """The last observed month, for every horizon."""
    observed = past[~np.isnan(past)]
    return np.full(steps.size, observed[-1]), np.zeros(steps.size, dtype=bool)


def _mean3(past: _FloatArray, steps: _Steps) -> tuple[_FloatArray, _BoolArray]:
    """The mean of the last three observed months (fewer when fewer are observed)."""
    observed = past[~np.isnan(past)]
    return np.full(steps.size, observed[-3:].mean()), np.zeros(steps.size, dtype=bool)


def _seasonal_naive(past: _FloatArray, steps: _Steps) -> tuple[_FloatArray, _BoolArray]:
    """The month 12 before the target (index ``len(past) + h - 1``); persistence when that
    month is missing or not in ``past`` (``h > 12``)."""
    source = past.size + steps - 1 - 12
    inside = (source >= 0) & (source < past.size)
    values = np.full(steps.size, np.nan)
    values[inside] = past[source[inside]]
    fell_back = np.isnan(values)
    values[fell_back] = _persistence(past, steps)[0][fell_back]
    return values, fell_back


_POINT_METHODS: dict[str, _PointMethod] = {
    "persistence": _persistence,
    "mean3": _mean3,
    "seasonal_naive": _seasonal_naive,
}


# --------------------------------------------------------------------------- empirical spread
def _past_log_errors(dense: _FloatArray, point: _PointMethod, steps: _Steps) -> list[_FloatArray]:
    """For each horizon, ``log1p(y[t+h-1]) - log1p(f_t)`` over the past origins ``t`` of the
    history whose target is observed; ``f_t`` is made from ``dense[:t]`` alone."""
    n = dense.size
    log_y = np.log1p(dense)
    errors = np.full((n, steps.size), np.nan)
    for t in range(1, n):  # dense[0] is observed, so every prefix has a month to forecast from
        values, _ = point(dense[:t], steps)
        targets = t + steps - 1
        inside = targets < n
        errors[t, inside] = log_y[targets[inside]] - np.log1p(values[inside])
    return [column[~np.isnan(column)] for column in errors.T]


def _empirical_spread(
    dense: _FloatArray,
    point: _PointMethod,
    values: _FloatArray,
    steps: _Steps,
    rng: np.random.Generator,
) -> tuple[_FloatArray, _FloatArray, _FloatArray, _BoolArray]:
    """``q05``, ``q95``, draws and whether each horizon had enough past errors (see the module
    docstring): the method's past log errors centred on their median, or the default."""
    low = np.empty(steps.size)
    high = np.empty(steps.size)
    shifts = np.empty((steps.size, N_DRAWS))
    empirical = np.empty(steps.size, dtype=bool)
    for i, past_errors in enumerate(_past_log_errors(dense, point, steps)):
        empirical[i] = past_errors.size >= MIN_PAST_ERRORS
        if empirical[i]:
            centred = past_errors - np.median(past_errors)
            low[i], high[i] = np.quantile(centred, [0.05, 0.95])
            shifts[i] = centred[rng.integers(0, centred.size, size=N_DRAWS)]
        else:
            sd = DEFAULT_LOG_SD * np.sqrt(steps[i])
            low[i], high[i] = -Z95 * sd, Z95 * sd
            shifts[i] = rng.normal(0.0, sd, size=N_DRAWS)
    log_point = np.log1p(values)
    draws = _counts(log_point[:, None] + shifts)
    return _counts(log_point + low), _counts(log_point + high), draws, empirical


def _counts(log1p_values: _FloatArray) -> _FloatArray:
    """Back from the log1p scale, never below zero."""
    return np.maximum(np.expm1(log1p_values), 0.0)


# --------------------------------------------------------------------------- ETS
_Spread = tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray]


def _ets(dense: _FloatArray, steps: _Steps, rng: np.random.Generator) -> _Spread | None:
    """ETS(A,Ad,N) on log1p: median, q05, q95 and draws, or None when it cannot be used."""
    observed = np.flatnonzero(~np.isnan(dense))
    if observed.size < MIN_ETS_MONTHS:
        return None
    last = int(observed[-1])
    # Missing months inside the history, interpolated on the log scale (both ends are observed).
    log_y = pd.Series(np.log1p(dense[: last + 1])).interpolate()
    ahead = dense.size - last - 1 + steps  # steps after the last observed month, per target
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence and frequency warnings of a fit
            spread = _ets_fit(log_y, ahead, rng)
    except Exception:  # statsmodels fails in many ways (LinAlgError, ValueError, ...): fall back
        return None
    return spread if all(np.isfinite(part).all() for part in spread) else None


def _ets_fit(log_y: pd.Series, ahead: _Steps, rng: np.random.Generator) -> _Spread:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fit = ETSModel(log_y, error="add", trend="add", damped_trend=True).fit(disp=False)
    last_step = int(ahead[-1])
    frame = fit.get_prediction(start=len(log_y), end=len(log_y) + last_step - 1).summary_frame(alpha=0.10)
    # Our own normal errors with the fit's scale: reproducible from the generator, and the same
    # call under statsmodels 0.14 and 0.15 (whose seed arguments differ).
    noise = rng.standard_normal((last_step, N_DRAWS)) * np.sqrt(fit.scale)
    paths = np.asarray(fit.simulate(last_step, anchor="end", repetitions=N_DRAWS, random_errors=noise))
    rows = ahead - 1
    return (
        _counts(frame["mean"].to_numpy()[rows]),
        _counts(frame["pi_lower"].to_numpy()[rows]),
        _counts(frame["pi_upper"].to_numpy()[rows]),
        _counts(paths.reshape(last_step, N_DRAWS)[rows]),
    )


# --------------------------------------------------------------------------- the table
def _forecast(
    method: str,
    origin: pd.Period,
    spread: _Spread,
    fallback: npt.NDArray[np.str_],
    interval: npt.NDArray[np.str_],
) -> BaselineForecast:
    median, q05, q95, draws = spread
    count = median.size
    table = pd.DataFrame(
        {
            "method": method,
            "origin": pd.PeriodIndex([origin] * count),
            "horizon": np.arange(1, count + 1),
            "target": pd.period_range(origin, periods=count, freq="M"),
            "median": median,
            "q05": q05,
            "q95": q95,
            "fallback": fallback.astype(object),
            "interval": interval.astype(object),
        }
    )
    return BaselineForecast(table, np.ascontiguousarray(draws, dtype=np.float64))
