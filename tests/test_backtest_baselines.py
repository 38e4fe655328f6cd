"""Baseline forecasts of a backtest and their scores, on hand-made series with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from corridor.backtest import baselines
from corridor.backtest.baselines import (
    DEFAULT_LOG_SD,
    METHODS,
    N_DRAWS,
    baseline_forecast,
    baseline_forecasts,
)
from corridor.backtest.scores import score_forecasts, summarise_scores
from corridor.errors import BacktestError


def _series(values: list[float], start: str = "2019-01") -> pd.Series:
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"), dtype=float)


def _forecast(history: pd.Series, origin: str, horizons: int, method: str, seed: int = 0) -> pd.DataFrame:
    return baseline_forecast(history, origin, horizons, method, np.random.default_rng(seed)).table


# --------------------------------------------------------------------------- point forecasts
def test_persistence_is_the_last_observed_month_for_every_horizon() -> None:
    table = _forecast(_series([8, 2, 7, 5]), "2019-05", 6, "persistence")
    assert table["median"].tolist() == [5.0] * 6
    assert table["horizon"].tolist() == [1, 2, 3, 4, 5, 6]
    assert [str(p) for p in table["target"]] == [f"2019-{m:02d}" for m in range(5, 11)]
    assert (table["origin"] == pd.Period("2019-05", "M")).all()


def test_persistence_after_missing_last_months_is_the_last_observed_one() -> None:
    # Data end in 2019-04; the origin is 2019-07: h = 1 is 2019-07, three months after the data.
    table = _forecast(_series([8, 2, 7, 5]), "2019-07", 2, "persistence")
    assert table["median"].tolist() == [5.0, 5.0]
    assert [str(p) for p in table["target"]] == ["2019-07", "2019-08"]


def test_mean3_is_the_mean_of_the_last_three_observed_months() -> None:
    assert _forecast(_series([3, 6, 9]), "2019-04", 4, "mean3")["median"].tolist() == [6.0] * 4
    assert _forecast(_series([100, 3, 6, 9]), "2019-05", 2, "mean3")["median"].tolist() == [6.0] * 2
    # A missing month (2019-03, absent or NaN) is skipped: the last three observed are 3, 6, 9.
    absent = _series([100, 3, 0, 6, 9]).drop(pd.Period("2019-03", "M"))
    assert _forecast(absent, "2019-06", 1, "mean3")["median"].tolist() == [6.0]
    as_nan = _series([100, 3, np.nan, 6, 9])
    assert _forecast(as_nan, "2019-06", 1, "mean3")["median"].tolist() == [6.0]


def test_seasonal_naive_is_the_same_month_a_year_before_the_target() -> None:
    history = _series([100.0 + i for i in range(24)])  # 2019-01 .. 2020-12: 100 .. 123
    table = _forecast(history, "2021-01", 6, "seasonal_naive")
    assert table["median"].tolist() == [112.0, 113.0, 114.0, 115.0, 116.0, 117.0]  # 2020-01 .. 2020-06
    assert (table["fallback"] == "").all()


def test_seasonal_naive_falls_back_to_persistence_and_says_so() -> None:
    history = _series([100.0 + i for i in range(24)]).drop(pd.Period("2020-02", "M"))
    table = _forecast(history, "2021-01", 13, "seasonal_naive")
    # h = 2 (2021-02): 2020-02 is missing; h = 13 (2022-01): 2021-01 is not in the history.
    assert table["median"].tolist() == [112.0, 123.0, *(114.0 + i for i in range(10)), 123.0]
    assert table["fallback"].tolist() == ["", "persistence", *[""] * 10, "persistence"]


# --------------------------------------------------------------------------- nothing after the origin
@pytest.mark.parametrize("method", METHODS)
def test_a_value_at_or_after_the_origin_raises(method: str) -> None:
    with pytest.raises(BacktestError, match="at or after the origin"):
        _forecast(_series([4, 5, 6]), "2019-03", 2, method)
    with pytest.raises(BacktestError, match="at or after the origin"):
        _forecast(_series([4, 5, np.nan, np.nan]), "2019-04", 2, method)


def test_values_after_the_origin_do_not_change_the_forecast() -> None:
    rng = np.random.default_rng(3)
    full = _series(list(rng.uniform(50, 150, 48)))
    changed = full.copy()
    changed.iloc[30:] *= 10  # 2021-07 onwards
    origin = pd.Period("2021-07", "M")
    first = baseline_forecasts(full[full.index < origin], origin, 6, np.random.default_rng(1))
    second = baseline_forecasts(changed[changed.index < origin], origin, 6, np.random.default_rng(1))
    pd.testing.assert_frame_equal(first.table, second.table)
    np.testing.assert_array_equal(first.draws, second.draws)


def test_the_interval_is_made_of_the_methods_own_past_errors() -> None:
    # Persistence at h = 1 erred by log1p(y[t]) - log1p(y[t-1]) at every past month t.
    values = [10.0, 12, 9, 15, 11, 14, 8, 13, 16, 10]
    table = _forecast(_series(values), "2019-11", 1, "persistence")
    errors = np.diff(np.log1p(values))
    low, high = np.quantile(errors - np.median(errors), [0.05, 0.95])
    assert table["interval"].tolist() == ["empirical"]
    assert table["q05"].iloc[0] == pytest.approx(np.expm1(np.log1p(10) + low))
    assert table["q95"].iloc[0] == pytest.approx(np.expm1(np.log1p(10) + high))


# --------------------------------------------------------------------------- intervals and draws
def _noisy(sd: float, seed: int = 5) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = 200 * np.exp(rng.normal(0, sd, 36))
    values[-1] = 200.0
    return _series(list(values))


def test_intervals_contain_the_median_and_widen_with_past_error() -> None:
    quiet, noisy = (
        baseline_forecasts(_noisy(sd), "2022-01", 6, np.random.default_rng(2)) for sd in (0.05, 0.4)
    )
    for forecast in (quiet, noisy):
        table = forecast.table
        assert (table["q05"] <= table["median"]).all() and (table["median"] <= table["q95"]).all()
        assert forecast.draws.shape == (len(METHODS) * 6, N_DRAWS) and (forecast.draws >= 0).all()
    width = {name: f.table["q95"] - f.table["q05"] for name, f in (("quiet", quiet), ("noisy", noisy))}
    assert (width["noisy"] > 2 * width["quiet"]).all()


def test_too_few_past_errors_give_the_default_log_sd() -> None:
    table = _forecast(_series([3, 6, 9]), "2019-04", 3, "mean3")
    assert table["interval"].tolist() == ["default"] * 3
    spread = 1.6448536269514722 * DEFAULT_LOG_SD * np.sqrt([1, 2, 3])
    np.testing.assert_allclose(table["q95"], np.expm1(np.log1p(6) + spread))
    np.testing.assert_allclose(table["q05"], np.expm1(np.log1p(6) - spread))


def test_the_same_seed_gives_the_same_forecasts_and_another_seed_other_draws() -> None:
    history = _noisy(0.2)
    first, second, other = (
        baseline_forecasts(history, "2022-01", 4, np.random.default_rng(s)) for s in (7, 7, 8)
    )
    pd.testing.assert_frame_equal(first.table, second.table)
    np.testing.assert_array_equal(first.draws, second.draws)
    assert not np.array_equal(first.draws, other.draws)


# --------------------------------------------------------------------------- ETS
@pytest.mark.parametrize("growth", [1.03, 0.97])
def test_ets_forecasts_in_the_direction_of_a_clean_trend(growth: float) -> None:
    noise = np.random.default_rng(0).normal(0, 0.005, 36)
    history = _series(list(1000 * growth ** np.arange(36) * np.exp(noise)))
    table = _forecast(history, "2022-01", 6, "ets")
    assert (table["fallback"] == "").all() and (table["interval"] == "ets").all()
    steps = np.diff([history.iloc[-1], *table["median"]])
    assert (steps > 0).all() if growth > 1 else (steps < 0).all()
    assert (table["q05"] <= table["median"]).all() and (table["median"] <= table["q95"]).all()


def test_ets_falls_back_to_mean3_on_a_short_history() -> None:
    history = _series([3, 4, 3, 6, 9])
    table = _forecast(history, "2019-06", 3, "ets")
    assert table["fallback"].tolist() == ["mean3"] * 3
    assert table["method"].tolist() == ["ets"] * 3
    assert table["median"].tolist() == [6.0] * 3


def test_ets_falls_back_to_mean3_when_the_fit_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(baselines, "_ets_fit", fail)
    table = _forecast(_noisy(0.1), "2022-01", 2, "ets")
    assert table["fallback"].tolist() == ["mean3", "mean3"]


def test_a_malformed_history_or_request_raises() -> None:
    with pytest.raises(BacktestError, match="monthly periods"):
        _forecast(pd.Series([1.0, 2.0]), "2019-03", 1, "persistence")
    with pytest.raises(BacktestError, match="non-negative"):
        _forecast(_series([1, -2]), "2019-03", 1, "persistence")
    with pytest.raises(BacktestError, match="no observed month"):
        _forecast(_series([np.nan, np.nan]), "2019-03", 1, "persistence")
    with pytest.raises(BacktestError, match="unknown baseline method"):
        _forecast(_series([1, 2]), "2019-03", 1, "naive")


# --------------------------------------------------------------------------- scores
def _rows(method: str, observed: list[float], median: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": method,
            "origin": pd.Period("2020-01", "M"),
            "horizon": np.arange(1, len(observed) + 1),
            "observed": observed,
            "median": median,
            "q05": np.array(median) * 0.5,
            "q95": np.array(median) * 1.5,
        }
    )


def _scored(method: str, observed: list[float], median: list[float]) -> pd.DataFrame:
    rows = _rows(method, observed, median)
    return score_forecasts(rows, np.repeat(np.array(median)[:, None], 5, axis=1))


def test_scores_of_known_values() -> None:
    scored = _scored("m", [10.0, 0.0, 10.0, 20.0, 4.0, 15.0], [10.0, np.e - 1, 7.0, 10.0, 4.0, 10.0])
    expected = [0.0, 1.0, np.log(11 / 8), np.log(21 / 11), 0.0, np.log(16 / 11)]
    np.testing.assert_allclose(scored["abs_log_error"], expected)
    # 0 is below [0.86, 2.58]; 10 is inside [3.5, 10.5]; 20 is above [5, 15]; 4 is inside
    # [2, 6]; 15 is on the edge of [5, 15], inside.
    assert scored["inside"].tolist() == [True, False, True, False, True, True]
    # The CRPS of an ensemble of equal members x is |x - y|, on either scale.
    np.testing.assert_allclose(scored["crps"], [0.0, np.e - 1, 3.0, 10.0, 0.0, 5.0], atol=1e-12)
    np.testing.assert_allclose(scored["crps_log"], scored["abs_log_error"], atol=1e-12)


def test_crps_of_a_spread_ensemble_is_its_energy_form() -> None:
    scored = score_forecasts(_rows("m", [10.0], [10.0]), np.array([[8.0, 12.0]]))
    assert scored["crps"].iloc[0] == pytest.approx(2.0 - 0.5 * 2.0)  # E|X - y| - E|X - X'| / 2


def test_rows_without_an_observed_value_are_left_out_and_counted() -> None:
    scored = _scored("m", [10.0, np.nan, 20.0], [10.0, 10.0, 10.0])
    assert scored["abs_log_error"].isna().tolist() == [False, True, False]
    assert scored["inside"].isna().tolist() == [False, True, False]
    summary = summarise_scores(scored, by=["method"])
    assert summary[["n", "n_missing"]].iloc[0].tolist() == [2, 1]
    assert summary["coverage"].iloc[0] == pytest.approx(0.5)
    assert summary["mean_abs_log_error"].iloc[0] == pytest.approx(np.log(21 / 11) / 2)


def test_skill_against_persistence() -> None:
    observed = [10.0, 20.0, 40.0, 80.0]
    persistence = _scored("persistence", observed, [20.0, 10.0, 20.0, 40.0])
    perfect = _scored("perfect", observed, observed)
    close = score_forecasts(
        _rows("close", observed, [10.0, 20.0, 40.0, 80.0]).assign(median=np.expm1(np.log1p(observed) + 0.1)),
        np.ones((4, 3)),
    )
    scored = pd.concat([persistence, perfect, close], ignore_index=True).assign(horizon=1)
    scored["origin"] = pd.PeriodIndex(["2020-01", "2020-02", "2020-03", "2020-04"] * 3, freq="M")
    summary = summarise_scores(scored).set_index("method")
    reference = float(np.median(persistence["abs_log_error"]))
    assert summary.loc["persistence", "skill"] == pytest.approx(0.0)
    assert summary.loc["perfect", "skill"] == pytest.approx(1.0)
    assert summary.loc["close", "skill"] == pytest.approx(1 - 0.1 / reference)
    assert summary.loc["perfect", "n_skill"] == 4


def test_skill_uses_only_the_rows_the_reference_scored() -> None:
    persistence = _scored("persistence", [10.0, 20.0], [20.0, 10.0])  # horizons 1 and 2
    method = _scored("m", [10.0, 20.0, 30.0, 40.0], [10.0, 20.0, 90.0, 120.0])  # h = 3, 4 way off
    both = pd.concat([persistence, method], ignore_index=True)
    row = summarise_scores(both, by=["method"]).set_index("method").loc["m"]
    assert row["n"] == 4 and row["n_skill"] == 2
    assert row["median_abs_log_error"] > 0.5  # over all four rows
    assert row["skill"] == pytest.approx(1.0)  # over horizons 1 and 2, where m is exact
    by_horizon = summarise_scores(both)
    h3 = by_horizon[(by_horizon["method"] == "m") & (by_horizon["horizon"] == 3)].iloc[0]
    assert np.isnan(h3["skill"]) and h3["n_skill"] == 0


def test_summary_per_series_and_a_duplicated_reference() -> None:
    a = _scored("persistence", [10.0, 20.0], [20.0, 10.0]).assign(series="a")
    b = _scored("persistence", [10.0, 20.0], [10.0, 20.0]).assign(series="b")
    both = pd.concat([a, b], ignore_index=True)
    summary = summarise_scores(both, by=["series", "method", "horizon"])
    assert summary["series"].tolist() == ["a", "a", "b", "b"]
    assert summary["median_abs_log_error"].tolist()[2:] == [0.0, 0.0]
    with pytest.raises(BacktestError, match="same"):
        summarise_scores(both, row_keys=("origin", "horizon"))


def test_baseline_forecasts_are_scored_end_to_end() -> None:
    forecast = baseline_forecasts(_noisy(0.2), "2022-01", 3, np.random.default_rng(0))
    table = forecast.table.assign(observed=200.0)
    summary = summarise_scores(score_forecasts(table, forecast.draws))
    assert len(summary) == len(METHODS) * 3
    assert (summary["n"] == 1).all()
    assert np.isfinite(summary["mean_crps_log"]).all()
    assert summary.loc[summary["method"] == "persistence", "skill"].isna().all()  # persistence is exact here
