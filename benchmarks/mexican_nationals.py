"""How well Mexican nationals at the US border are forecast, with no simulation.

For every origin (default ``2019-03:2023-11:3``, the committed backtest's) and horizons 1-6,
forecasts US Border Patrol southwest encounters of Mexican nationals
(``usbp_sw_encounters``, ``citizenship=Mexico``) from the observed months before the origin
(:func:`corridor.backtest.origins.known_before`), by
:func:`corridor.backtest.parts.mexican_forecast` with the scenario's policy regressors and by
the four baselines, scores them against what happened (observed months only: outcomes from
December 2023 on are held out and absent) with :func:`corridor.backtest.scores.score_forecasts`
and prints, per method and horizon, the median |log error|, the 90% interval's coverage and the
skill against persistence (above 0 beats it), then the rows of ``policy_regression`` that fell
back to ``mean3``. Runs in seconds::

    python benchmarks/mexican_nationals.py [--scenario scenarios/mexico-2018-2024.yaml]
        [--origins 2019-03:2023-11:3] [--horizons 6] [--seed 0] [--variants]

``--variants`` adds the regression's alternatives, to show how much the choices of
``corridor.backtest.parts`` matter: the build-up's time constant at 3 and 12 months
(``buildup3``, ``buildup12``), the plain Title 42 indicator (``title42``), the expelled share
(``expelled_share``), the levels model ``order=(1, 0, 0)`` with a constant (``levels``), and the
same AR(1) on differences with no regressor at all (``ar_only``, fitted here with statsmodels
directly: what the policy adds).
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.backtest import parse_origins
from corridor.backtest.baselines import METHODS, N_DRAWS, BaselineForecast, baseline_forecasts
from corridor.backtest.origins import known_before, monthly_histories
from corridor.backtest.parts import METHOD, MEXICAN_PART, mexican_forecast, policy_regressors
from corridor.backtest.scores import score_forecasts, summarise_scores
from corridor.observations.reader import load_observed, monthly_rows

KEY = ("usbp_sw_encounters", "US Southwest land border", MEXICAN_PART)
#: A forecaster: (history, origin, horizons, generator) -> forecast.
Forecaster = Callable[[pd.Series, pd.Period, int, np.random.Generator], BaselineForecast]


def _forecasters(scenario: Path, variants: bool) -> dict[str, Forecaster]:
    regressors = policy_regressors(scenario)

    def regression(frame: pd.DataFrame, columns: list[str], differenced: bool = True) -> Forecaster:
        def make(
            history: pd.Series, origin: pd.Period, horizons: int, rng: np.random.Generator
        ) -> BaselineForecast:
            return mexican_forecast(
                history, origin, horizons, frame, rng, columns=columns, differenced=differenced
            )

        return make

    out = {METHOD: regression(regressors, ["title42_buildup"])}
    if variants:
        for months in (3, 12):
            frame = policy_regressors(scenario, buildup_months=months)
            out[f"buildup{months}"] = regression(frame, ["title42_buildup"])
        out["title42"] = regression(regressors, ["title42"])
        out["expelled_share"] = regression(regressors, ["expelled_share"])
        out["levels"] = regression(regressors, ["title42_buildup"], differenced=False)
        out["ar_only"] = _ar_only
    return out


def _ar_only(
    history: pd.Series, origin: pd.Period, horizons: int, rng: np.random.Generator
) -> BaselineForecast:
    """SARIMAX(1, 1, 0) on log1p of the history, no regressor (median and interval only)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    months = pd.period_range(history.index.min(), origin - 1, freq="M")
    log_y = np.log1p(history.reindex(months).to_numpy(dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecast = SARIMAX(log_y, order=(1, 1, 0), trend="n").fit(disp=False).get_forecast(horizons)
    mean, sd = np.asarray(forecast.predicted_mean), np.sqrt(np.asarray(forecast.var_pred_mean))
    interval = np.asarray(forecast.conf_int(alpha=0.10))
    draws = np.maximum(np.expm1(mean[:, None] + sd[:, None] * rng.standard_normal((horizons, N_DRAWS))), 0)
    table = pd.DataFrame(
        {
            "method": "ar_only",
            "origin": pd.PeriodIndex([origin] * horizons),
            "horizon": np.arange(1, horizons + 1),
            "target": pd.period_range(origin, periods=horizons, freq="M"),
            "median": np.expm1(mean),
            "q05": np.expm1(interval[:, 0]),
            "q95": np.expm1(interval[:, 1]),
            "fallback": "",
            "interval": "ar_only",
        }
    )
    return BaselineForecast(table, draws)


def _rows(made: BaselineForecast, method: str, origin: pd.Period) -> pd.DataFrame:
    table = made.table.assign(method=method)
    table["series"], table["geography"], table["breakdown"] = KEY
    table["origin"] = f"{origin:%Y-%m}"
    table["month"] = made.table["target"]
    return table.drop(columns=["target"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=Path("scenarios/mexico-2018-2024.yaml"))
    parser.add_argument("--origins", default="2019-03:2023-11:3")
    parser.add_argument("--horizons", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", action="store_true", help="also score the regression's alternatives")
    args = parser.parse_args()

    observations = load_observed()  # held-out rows dropped
    forecasters = _forecasters(args.scenario, args.variants)
    tables, draws = [], []
    for origin in parse_origins(args.origins):
        history = monthly_histories(known_before(observations, origin)).get(KEY)
        if history is None or history.dropna().empty:
            continue
        rng = np.random.default_rng([args.seed, origin.ordinal])
        made = [(m, baseline_forecasts(history, origin, args.horizons, rng, [m])) for m in METHODS]
        made += [(name, make(history, origin, args.horizons, rng)) for name, make in forecasters.items()]
        for method, forecast in made:
            tables.append(_rows(forecast, method, origin))
            draws.append(forecast.draws)
    forecasts = pd.concat(tables, ignore_index=True)
    # What happened: read only now, for scoring.
    truth = monthly_rows(observations)
    truth = truth[
        (truth["series"] == KEY[0]) & (truth["geography"] == KEY[1]) & (truth["breakdown"] == KEY[2])
    ]
    observed = truth.groupby("month")["value"].last()
    forecasts["observed"] = [float(observed.get(m, np.nan)) for m in forecasts["month"]]
    scored = score_forecasts(forecasts, np.vstack(draws))
    summary = summarise_scores(scored, ("method", "horizon"))
    order = [*METHODS, *forecasters]
    for column, label in (
        ("median_abs_log_error", "median |log error|"),
        ("coverage", "90% interval coverage"),
        ("skill", "skill against persistence"),
    ):
        table = summary.pivot(index="method", columns="horizon", values=column).reindex(order)
        print(f"\n{label} (rows scored per horizon: {summary.groupby('horizon')['n'].max().tolist()})")
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    fell_back = scored[(scored["method"] == METHOD) & (scored["fallback"] != "")]
    skipped = sorted(set(fell_back["origin"]))
    print(f"\n{METHOD} fell back to mean3 at origins: {skipped}")
    fitted = summarise_scores(scored[~scored["origin"].isin(skipped)], ("method", "horizon"))
    table = fitted.pivot(index="method", columns="horizon", values="skill").reindex(order)
    print("\nskill against persistence at the other origins (the regression fitted)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    _policy_changes(scored, policy_regressors(args.scenario))


def _policy_changes(scored: pd.DataFrame, regressors: pd.DataFrame) -> None:
    """Forecasts of the origins whose target months see Title 42 begin or end."""
    title42 = regressors["title42"]
    changes = {str(m) for m, step in title42.diff().items() if step != 0 and not np.isnan(step)}
    rows = scored[scored["month"].astype(str).isin(changes)]
    shown = scored[
        scored["origin"].isin(set(rows["origin"])) & scored["method"].isin(["persistence", METHOD])
    ]
    table = shown.pivot_table(index=["origin", "horizon", "observed"], columns="method", values="median")
    print(
        "\nmedians where Title 42 begins or ends in the target months (months of change: "
        + ", ".join(sorted(changes))
        + ")"
    )
    print(table.to_string(float_format=lambda v: f"{v:,.0f}"))


if __name__ == "__main__":
    main()
