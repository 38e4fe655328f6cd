"""Backtests: forecasts made at past origin months from the data before them, scored against
what happened, beside simple baselines.

:func:`run_backtest` runs one (``corridor backtest``): :mod:`~corridor.backtest.origins`
says what is known at each origin and what is forecast; :mod:`~corridor.backtest.simulated`
makes corridor's forecast (prior draws simulated with inputs cut at the origin, the closest
to the data kept); :mod:`~corridor.backtest.baselines` makes the baseline forecasts
(persistence, mean of three months, seasonal naive, ETS) of one observed monthly series;
:mod:`~corridor.backtest.scores` scores forecasts row by row and summarises them per method
and horizon; :mod:`~corridor.backtest.posteriors` lays out what the fit gave the parameters at
each origin; :mod:`~corridor.backtest.scorecard` draws the page.
"""

from corridor.backtest.baselines import BaselineForecast, baseline_forecast, baseline_forecasts
from corridor.backtest.origins import parse_origins, upstream_read_past_origins
from corridor.backtest.posteriors import fitted_parameters
from corridor.backtest.run import BacktestResult, run_backtest
from corridor.backtest.scores import score_forecasts, summarise_scores

__all__ = [
    "BacktestResult",
    "BaselineForecast",
    "baseline_forecast",
    "baseline_forecasts",
    "fitted_parameters",
    "parse_origins",
    "run_backtest",
    "score_forecasts",
    "summarise_scores",
    "upstream_read_past_origins",
]
