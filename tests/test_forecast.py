"""Forecasts: simulated quantiles read as validate reads them, persistence of parts not simulated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.errors import ForecastError
from corridor.evidence import aggregate
from corridor.forecast import FORECAST_COLUMNS, forecast, monthly_requests, persistence_draws, write_forecast

from .conftest import base_scenario_data, write_yaml

AGENTS = 3000
US = "US Southwest land border"


def _history(values: list[float], first: str = "2017-01") -> pd.Series:
    return pd.Series(values, index=pd.period_range(first, periods=len(values), freq="M"))


def test_persistence_of_a_constant_series_is_exact() -> None:
    draws = persistence_draws(
        _history([1000.0] * 24), pd.Period("2019-03", "M"), 200, np.random.default_rng(1)
    )
    assert np.allclose(draws, 1000.0)


def test_persistence_carries_the_past_growth_and_widens_with_the_horizon() -> None:
    rng = np.random.default_rng(2)
    noise = np.exp(rng.normal(0, 0.1, 48))
    history = _history(list(1000 * 1.02 ** np.arange(48) * noise))
    level = history.iloc[-3:].mean()
    near = persistence_draws(history, history.index[-1] + 1, 4000, rng)
    far = persistence_draws(history, history.index[-1] + 6, 4000, rng)
    # A trailing 3-month mean lags a 2%/month rise by a month: h months ahead is ~1.02^(h+1).
    assert np.median(near) / level == pytest.approx(1.02**2, rel=0.04)
    assert np.median(far) / level == pytest.approx(1.02**7, rel=0.06)
    assert np.std(np.log(far)) > 0  # the interval comes from the past errors


def test_persistence_needs_enough_history() -> None:
    with pytest.raises(ForecastError, match="at least 12"):
        persistence_draws(_history([5.0] * 6), pd.Period("2017-08", "M"), 10, np.random.default_rng(0))
    with pytest.raises(ForecastError, match="not after"):
        persistence_draws(_history([5.0] * 24), pd.Period("2018-06", "M"), 10, np.random.default_rng(0))


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("forecast")
    scenario = write_yaml(folder / "small.yaml", base_scenario_data())
    months = pd.period_range("2017-01", "2019-02", freq="M")
    rows = [
        {
            "series": "usbp_sw_encounters",
            "geography": US,
            "period_start": m.start_time.strftime("%Y-%m-%d"),
            "period_end": m.end_time.strftime("%Y-%m-%d"),
            "value": 1000,
            "unit": "events",
            "breakdown": "citizenship=Mexico",
            "source_title": "hand-made for a test",
            "source_url": "",
            "note": "",
        }
        for m in months
    ]
    observed = folder / "mexicans.csv"
    pd.DataFrame(rows).to_csv(observed, index=False)
    return {"folder": folder, "scenario": scenario, "observed": observed}


def test_forecast_reads_runs_as_validate_does_and_adds_the_part_not_simulated(
    setting: dict[str, Path],
) -> None:
    requests = monthly_requests(
        [
            ("usbp_sw_encounters", US, ""),
            ("usbp_sw_encounters", US, "citizenship=Mexico"),
            ("usbp_sw_encounters", US, "citizenship=Honduras"),
            ("mx_irregular_events", "Mexico", ""),
        ],
        "2019-03-01",
        "2019-03-31",
    )
    result = forecast(
        setting["scenario"],
        requests,
        runs=3,
        agents=AGENTS,
        observed=[setting["observed"]],
        held_out_from="2019-03-01",
        workers=1,
        seed=7,
    )
    table = result.table
    assert list(table.columns) == list(FORECAST_COLUMNS) and len(table) == 4
    assert (table["q05"] <= table["median"]).all() and (table["median"] <= table["q95"]).all()

    # Run i is seed 7 + i; its value is the evidence aggregation of the mapped metric.
    run = corridor.simulate(setting["scenario"], seed=8, agents=AGENTS)
    start, end = pd.Timestamp("2019-03-01"), pd.Timestamp("2019-03-31")
    hn = aggregate(run, "us_encounters", "sum", start, end, nationalities=["Honduras"])
    everyone = aggregate(run, "us_encounters", "sum", start, end)
    interdictions = aggregate(run, "interdictions", "sum", start, end)
    sims = result.simulated
    assert sims[2, 1] == pytest.approx(hn)
    assert sims[0, 1] == pytest.approx(everyone)
    assert sims[3, 1] == pytest.approx(interdictions)
    assert np.isnan(sims[1]).all()  # Mexicans are not simulated

    # Mexicans: persistence of a constant history; the total adds them run by run.
    assert table.loc[1, ["q05", "median", "q95"]].tolist() == pytest.approx([1000.0] * 3)
    assert table.loc[0, "median"] == pytest.approx(np.median(sims[0]) + 1000.0)
    assert result.methods["method"].tolist() == [
        "simulated + persistence of citizenship=Mexico",
        "persistence",
        "simulated",
        "simulated",
    ]

    path = write_forecast(result, setting["folder"] / "out" / "forecast.parquet")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, result.table)
    assert path.with_suffix(".json").is_file()


def test_forecast_refuses_what_it_cannot_forecast(setting: dict[str, Path]) -> None:
    unmapped = monthly_requests([("no_such_series", "Mexico", "")], "2019-03-01", "2019-03-31")
    with pytest.raises(ForecastError, match="no_such_series / Mexico / total: no mapping"):
        forecast(setting["scenario"], unmapped, runs=2, agents=AGENTS, workers=1)
    skipped = monthly_requests([("mx_returns", "Mexico", "type=deportation")], "2019-03-01", "2019-03-31")
    with pytest.raises(ForecastError, match="not simulated"):
        forecast(setting["scenario"], skipped, runs=2, agents=AGENTS, workers=1)
    outside = monthly_requests([("mx_returns", "Mexico", "")], "2019-06-01", "2019-06-30")
    with pytest.raises(ForecastError, match="outside the scenario's horizon"):
        forecast(setting["scenario"], outside, runs=2, agents=AGENTS, workers=1)


def test_cli_writes_the_forecast_and_refuses_bad_targets(setting: dict[str, Path]) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    folder = setting["folder"]
    targets = folder / "targets.csv"
    targets.write_text("series,geography,breakdown\nmx_returns,Mexico,\n")
    out = folder / "cli" / "f.parquet"
    args = ["forecast", str(setting["scenario"]), "--targets", str(targets), "--start", "2019-03"]
    args += ["--end", "2019-03", "--runs", "2", "--agents", str(AGENTS), "--workers", "1", "--out", str(out)]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert pd.read_parquet(out)["series"].tolist() == ["mx_returns"]

    targets.write_text("series,geography,breakdown\nmx_retruns,Mexico,\n")
    out.unlink()
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 2 and "mx_retruns" in bad.output and "no mapping" in bad.output
    assert not out.exists()
