"""The forecast of Mexican nationals at the US border: policy regressors and the regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from corridor.backtest import parts
from corridor.backtest.baselines import N_DRAWS, baseline_forecast
from corridor.backtest.origins import known_before, monthly_histories
from corridor.backtest.parts import METHOD, MEXICAN_PART, mexican_forecast, policy_regressors
from corridor.backtest.simulated import _part_forecast
from corridor.errors import BacktestError
from corridor.observations.reader import load_observed

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "mexico-2018-2024.yaml"
MEXICANS = ("usbp_sw_encounters", "US Southwest land border", MEXICAN_PART)


@pytest.fixture(scope="module")
def regressors() -> pd.DataFrame:
    return policy_regressors(SCENARIO)


def _months(start: str, periods: int) -> pd.PeriodIndex:
    return pd.period_range(start, periods=periods, freq="M")


def _step_series(seed: int = 1) -> tuple[pd.Series, pd.DataFrame]:
    """A level of about 100 for 36 months, about 200 while ``x`` is on (24 months), then ``x``
    off again from 2020-01 on: the history ends in 2019-12."""
    months = _months("2015-01", 60)
    x = np.r_[np.zeros(36), np.ones(24)]
    noise = np.random.default_rng(seed).normal(0.0, 0.05, months.size)
    history = pd.Series(100.0 * 2.0**x * np.exp(noise), index=months)
    frame = pd.DataFrame({"x": np.r_[x, np.zeros(12)]}, index=_months("2015-01", 72))
    return history, frame


# --------------------------------------------------------------------------- regressors
def test_regressors_are_title42_during_it_and_zero_well_before_and_after(regressors: pd.DataFrame) -> None:
    title42 = regressors["title42"]
    during = title42["2020-04":"2023-04"]
    assert len(during) == 37 and (during == 1.0).all()
    assert (title42[:"2020-01"] == 0.0).all() and (title42["2023-07":] == 0.0).all()
    # Title 42 began on 21 March 2020 and ended with 11 May 2023: 11 of 31 days of each month.
    assert title42[pd.Period("2020-03", "M")] == pytest.approx(11 / 31)
    assert title42[pd.Period("2023-05", "M")] == pytest.approx(11 / 31)
    share = regressors["expelled_share"]
    assert (share["2020-04":"2023-04"] > 0.1).all() and (share["2020-04":"2023-04"] < 1).all()
    assert (share[:"2020-02"] == 0.0).all() and (share["2023-06":] == 0.0).all()
    buildup = regressors["title42_buildup"]["2020-03":"2023-04"].to_numpy()
    assert (np.diff(buildup) > 0).all() and buildup[0] < 0.1 and buildup[-1] > 0.99
    assert (regressors["title42_buildup"]["2023-06":] == 0.0).all()
    # The default months: the horizon (2018-07 .. 2024-06) and the year before it.
    assert regressors.index[0] == pd.Period("2017-07", "M")
    assert regressors.index[-1] == pd.Period("2024-06", "M")


def test_months_outside_the_horizon_take_the_nearest_months_value() -> None:
    months = _months("2016-01", 12).append(_months("2020-06", 2)).append(_months("2030-01", 1))
    frame = policy_regressors(SCENARIO, months)
    assert list(frame.index) == list(months)
    inside = policy_regressors(
        SCENARIO, pd.PeriodIndex(["2018-07", "2020-06", "2020-07", "2024-06"], freq="M")
    )
    assert (frame.iloc[:12].to_numpy() == inside.iloc[0].to_numpy()).all()
    assert (frame.iloc[12:14].to_numpy() == inside.iloc[1:3].to_numpy()).all()
    assert (frame.iloc[14].to_numpy() == inside.iloc[3].to_numpy()).all()


def test_regressors_read_the_scenario_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scenario derives its inflows from observed data; the regressors must not read any.
    def refuse() -> pd.DataFrame:
        raise AssertionError("observed data read")

    monkeypatch.setattr("corridor.observations.inflows._shipped_observations", refuse)
    monkeypatch.setattr("corridor.observations.reader.load_observed", refuse)
    assert policy_regressors(SCENARIO, _months("2021-01", 1))["title42"].iloc[0] == 1.0


# --------------------------------------------------------------------------- the regression
def test_the_forecast_falls_back_toward_the_old_level_when_the_regressor_switches_off() -> None:
    history, frame = _step_series()
    made = mexican_forecast(history, "2020-01", 6, frame, np.random.default_rng(0), columns=["x"])
    table = made.table
    assert (table["method"] == METHOD).all() and (table["fallback"] == "").all()
    assert (table["interval"] == METHOD).all()
    persistence = baseline_forecast(history, "2020-01", 6, "persistence", np.random.default_rng(0)).table
    assert (persistence["median"] > 170).all()  # persistence stays at the doubled level
    assert (table["median"] < 130).all() and (table["median"] > 75).all()  # the old level, about 100
    assert (table["q05"] < table["median"]).all() and (table["median"] < table["q95"]).all()
    assert made.draws.shape == (6, N_DRAWS) and (made.draws >= 0).all()
    assert np.median(made.draws, axis=1) == pytest.approx(table["median"].to_numpy(), rel=0.15)


def test_the_forecast_stays_up_while_the_regressor_stays_on() -> None:
    history, frame = _step_series()
    frame.loc[pd.Period("2020-01", "M") :, "x"] = 1.0  # the policy goes on
    table = mexican_forecast(history, "2020-01", 6, frame, np.random.default_rng(0), columns=["x"]).table
    assert (table["median"] > 160).all()


def test_a_value_at_the_origin_raises() -> None:
    history, frame = _step_series()
    with pytest.raises(BacktestError, match="at or after the origin"):
        mexican_forecast(history, "2019-12", 3, frame, np.random.default_rng(0), columns=["x"])


def test_nothing_at_or_after_the_origin_is_read() -> None:
    observed = load_observed()
    origin = pd.Period("2023-03", "M")  # its targets see Title 42 end
    leaked = observed.copy()
    after = pd.to_datetime(leaked["period_end"]) >= origin.start_time
    leaked.loc[after, "value"] = leaked.loc[after, "value"] * 7
    regressors = policy_regressors(SCENARIO)

    def forecast(data: pd.DataFrame, at: pd.Period) -> tuple[pd.DataFrame, np.ndarray]:
        history = monthly_histories(known_before(data, at))[MEXICANS]
        made = mexican_forecast(history, at, 6, regressors, np.random.default_rng(5))
        return made.table, made.draws

    honest, honest_draws = forecast(observed, origin)
    tampered, tampered_draws = forecast(leaked, origin)
    assert (honest["fallback"] == "").all()
    pd.testing.assert_frame_equal(honest, tampered)
    assert np.array_equal(honest_draws, tampered_draws)
    # The next origin can see the month multiplied, and its forecast changes.
    later = origin + 1
    assert not forecast(observed, later)[0]["median"].equals(forecast(leaked, later)[0]["median"])


def test_a_short_history_falls_back_to_mean3() -> None:
    history, frame = _step_series()
    short = history[pd.Period("2017-07", "M") : pd.Period("2018-06", "M")]  # 12 months, x switches on
    assert frame["x"].reindex(short.index).nunique() == 2
    made = mexican_forecast(short, "2018-07", 4, frame, np.random.default_rng(0), columns=["x"])
    mean3 = baseline_forecast(short, "2018-07", 4, "mean3", np.random.default_rng(0))
    assert (made.table["fallback"] == "mean3").all() and (made.table["method"] == METHOD).all()
    assert made.table["median"].tolist() == mean3.table["median"].tolist()
    assert np.array_equal(made.draws, mean3.draws)


def test_a_regressor_that_never_varied_falls_back_to_mean3() -> None:
    history, frame = _step_series()
    before = history[: pd.Period("2017-12", "M")]  # 36 months, x always 0 in them
    table = mexican_forecast(before, "2018-01", 3, frame, np.random.default_rng(0), columns=["x"]).table
    assert (table["fallback"] == "mean3").all()


def test_a_failed_fit_falls_back_to_mean3(monkeypatch: pytest.MonkeyPatch) -> None:
    history, frame = _step_series()

    def broken(*args: object) -> None:
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(parts, "_fit", broken)
    table = mexican_forecast(history, "2020-01", 3, frame, np.random.default_rng(0), columns=["x"]).table
    assert (table["fallback"] == "mean3").all()


def test_missing_regressor_columns_and_bad_horizons_raise() -> None:
    history, frame = _step_series()
    with pytest.raises(BacktestError, match="lack the column"):
        mexican_forecast(history, "2020-01", 3, frame, np.random.default_rng(0))  # no title42_buildup
    with pytest.raises(BacktestError, match="horizons"):
        mexican_forecast(history, "2020-01", 0, frame, np.random.default_rng(0), columns=["x"])


def test_the_same_seed_gives_the_same_forecast() -> None:
    history, frame = _step_series()

    def made(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
        out = mexican_forecast(history, "2020-01", 6, frame, np.random.default_rng(seed), columns=["x"])
        return out.table, out.draws

    (a, a_draws), (b, b_draws), (c, c_draws) = made(3), made(3), made(4)
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(a_draws, b_draws)
    assert not np.array_equal(a_draws, c_draws)  # the draws come from the generator
    pd.testing.assert_frame_equal(a, c)  # the fitted distribution does not


# --------------------------------------------------------------------------- in corridor's forecast
def test_the_mexican_part_uses_the_regression_given_regressors(regressors: pd.DataFrame) -> None:
    history = monthly_histories(known_before(load_observed(), pd.Period("2023-03", "M")))[MEXICANS]
    origin = pd.Period("2023-03", "M")
    draws, method = _part_forecast(history, origin, 6, MEXICAN_PART, regressors, np.random.default_rng(0))
    assert method == METHOD and draws.shape == (6, N_DRAWS)
    expected = mexican_forecast(history, origin, 6, regressors, np.random.default_rng(0)).draws
    assert np.array_equal(draws, expected)
    for part, given in ((MEXICAN_PART, None), ("citizenship=Honduras", regressors)):
        _, method = _part_forecast(history, origin, 6, part, given, np.random.default_rng(0))
        assert method == "mean3"
