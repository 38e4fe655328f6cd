"""The backtest: origins, inputs re-derived at a cut-off, nothing read at or after an origin, resume."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from corridor.backtest import parse_origins, run_backtest, upstream_read_past_origins
from corridor.backtest.origins import known_before, origin_targets
from corridor.backtest.scorecard import origin_figure, write_scorecard
from corridor.errors import BacktestError, ScenarioError
from corridor.observations import inflows
from corridor.observations.inflows import derive_inflows
from corridor.observations.reader import load_observed, observed_files
from corridor.scenario import load_scenario
from corridor.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
FORECAST_COLUMNS = ["origin", "horizon", "series", "breakdown", "method", "median", "q05", "q95", "how"]


# ----------------------------------------------------------------------------- origins
def test_origins_are_start_end_step_months() -> None:
    origins = parse_origins("2019-03:2023-11:3")
    assert len(origins) == 19
    assert str(origins[0]) == "2019-03" and str(origins[-1]) == "2023-09"
    assert [str(o) for o in parse_origins("2020-01:2020-03")] == ["2020-01", "2020-02", "2020-03"]
    # A grid and the months a policy changed: in order, without repeats.
    mixed = parse_origins("2023-03:2023-09:3, 2023-05,2023-06")
    assert [str(o) for o in mixed] == ["2023-03", "2023-05", "2023-06", "2023-09"]
    assert [str(o) for o in parse_origins("2019-06")] == ["2019-06"]


@pytest.mark.parametrize(
    "text",
    ["2019-13:2020-01", "2020-01:2019-01", "2019-01:2020-01:0", "2019:2020", "x", "2019-03,", "2019-03:"],
)
def test_bad_origins_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(BacktestError, match="--origins"):
        parse_origins(text)


def test_an_origin_knows_only_periods_ending_before_it() -> None:
    observed = load_observed()
    origin = pd.Period("2019-06", freq="M")
    known = known_before(observed, origin)
    assert (known["period_end"] < pd.Timestamp("2019-06-01")).all()
    assert (observed["period_end"] >= pd.Timestamp("2019-06-01")).any()  # there was more to read
    history = {("usbp_sw_encounters", "US Southwest land border", ""): pd.Series([1.0], index=[origin - 1])}
    requests = origin_targets(history, origin, 6).requests
    assert list(requests["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert requests["period_start"].iloc[0] == pd.Timestamp("2019-06-01")  # h = 1 is the origin month


# ------------------------------------------------------------------ derived inflows, cut-off
def _derived_scenario(
    cutoff: str | None = None, start: str = "2018-10-01", end: str = "2019-12-31"
) -> Scenario:
    base = load_scenario(ROOT / "scenarios" / "mexico-2023-24.yaml")
    data = json.loads(base.model_dump_json(by_alias=True, exclude={"base_dir", "sha256"}, exclude_none=True))
    data["horizon"] = {"start": start, "end": end}
    data["inputs_cutoff"] = cutoff
    for inflow in data["inflows"]:
        for key in ("persons_per_day", "monthly_persons", "file"):
            inflow.pop(key, None)
        inflow["derived"] = "us_encounters_next_month"
    return Scenario.model_validate(data)


def _poisoned(observed: pd.DataFrame, cutoff: str, factor: float = 7.0) -> pd.DataFrame:
    """``observed`` with every value of a period ending on or after ``cutoff`` multiplied."""
    out = observed.copy()
    late = out["period_end"] >= pd.Timestamp(cutoff)
    out.loc[late, "value"] = out.loc[late, "value"] * factor
    return out


def test_a_derived_inflow_follows_its_rule_before_the_cutoff() -> None:
    observed = load_observed()
    table = derive_inflows(_derived_scenario("2019-06-01"), observed).set_index(["nationality", "month"])
    upm = observed[
        (observed["series"] == "mx_irregular_events")
        & (observed["breakdown"] == "nationality=Guatemala")
        & (observed["period_start"] == pd.Timestamp("2019-03-01"))
    ]["value"].max()
    usbp = observed[
        (observed["series"] == "usbp_sw_encounters")
        & (observed["breakdown"] == "citizenship=Guatemala")
        & (observed["period_start"] == pd.Timestamp("2019-04-01"))
    ]["value"].max()
    assert table.loc[("Guatemala", "2019-03"), "persons"] == pytest.approx(upm + usbp)
    assert table.loc[("Guatemala", "2019-03"), "basis"] == "data"
    # May needs June's US encounters, which end after the cut-off: April's (persistence).
    april = table.loc[("Guatemala", "2019-04"), "persons"]
    assert table.loc[("Guatemala", "2019-05"), "persons"] == pytest.approx(april)
    assert table.loc[("Guatemala", "2019-05"), "basis"] == "last derived month (2019-04)"


def test_derived_inflows_read_nothing_at_or_after_the_cutoff() -> None:
    observed = load_observed()
    scenario = _derived_scenario("2019-06-01")
    honest = derive_inflows(scenario, observed)
    poisoned = derive_inflows(scenario, _poisoned(observed, "2019-06-01"))
    pd.testing.assert_frame_equal(honest, poisoned)
    later = derive_inflows(_derived_scenario("2019-09-01"), observed)
    assert not later["persons"].equals(honest["persons"])  # a later cut-off reads more


def test_a_nationality_without_data_is_a_scenario_error() -> None:
    scenario = _derived_scenario("2019-06-01")
    data = json.loads(
        scenario.model_dump_json(by_alias=True, exclude={"base_dir", "sha256"}, exclude_none=True)
    )
    data["inflows"][0]["nationality"] = "Atlantis"
    with pytest.raises(ScenarioError, match=r"inflows\.0\.derived.*Atlantis"):
        derive_inflows(Scenario.model_validate(data), load_observed())


# ------------------------------------------------------------------------ the backtest
@pytest.fixture
def tiny_scenario(tmp_path: Path) -> Path:
    """A short derived scenario with two priors, small enough to backtest in seconds."""
    scenario = _derived_scenario(None, start="2018-11-01", end="2019-09-30")
    data = json.loads(
        scenario.model_dump_json(by_alias=True, exclude={"base_dir", "sha256"}, exclude_none=True)
    )
    data["name"] = "tiny-backtest"
    data["horizon"]["spin_up_days"] = 30
    data["priors"] = {
        "inflow_multiplier": {"distribution": "lognormal", "mean": 0.0, "sd": 0.3},
        "behaviour.border_crossing_probability_per_day": {
            "distribution": "uniform",
            "low": 0.05,
            "high": 0.8,
        },
    }
    data["provenance"] = {}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _backtest(path: Path, out: Path, **kw: object) -> pd.DataFrame:
    result = run_backtest(
        path, parse_origins("2019-05:2019-06"), out, horizons=2, draws=3, keep=2, agents=1500, workers=1, **kw
    )
    return result.scores


def test_a_forecast_reads_nothing_at_or_after_its_origin(
    tiny_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = _backtest(tiny_scenario, tmp_path / "honest")
    assert set(honest["method"]) == {
        "corridor",
        "corridor_adjusted",
        "corridor_anchored",
        "corridor_combined",
        "persistence",
        "mean3",
        "seasonal_naive",
        "ets",
    }
    assert honest["observed"].notna().any()
    # Every observation, inputs included, is multiplied for periods ending on or after the
    # first origin: a forecast from that origin must not change.
    real = load_observed()
    monkeypatch.setattr("corridor.backtest.run.load_observed", lambda *a, **k: _poisoned(real, "2019-05-01"))
    monkeypatch.setattr(inflows, "_shipped_observations", lambda: _poisoned(real, "2019-05-01"))
    poisoned = _backtest(tiny_scenario, tmp_path / "poisoned")
    first = "2019-05"
    a = honest[honest["origin"] == first].reset_index(drop=True)
    b = poisoned[poisoned["origin"] == first].reset_index(drop=True)
    pd.testing.assert_frame_equal(a[FORECAST_COLUMNS], b[FORECAST_COLUMNS])
    assert not np.allclose(a["observed"].fillna(-1), b["observed"].fillna(-1))  # only the scoring saw it
    # The second origin (June) knew May, which changed: its forecast moves.
    c = honest[honest["origin"] == "2019-06"].reset_index(drop=True)
    d = poisoned[poisoned["origin"] == "2019-06"].reset_index(drop=True)
    assert not np.allclose(c["median"], d["median"])


def test_a_backtest_resumes_the_missing_origins_only(tiny_scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    first = _backtest(tiny_scenario, out)
    (out / "origins" / "origin=2019-06.parquet").unlink()
    result = run_backtest(
        tiny_scenario,
        parse_origins("2019-05:2019-06"),
        out,
        horizons=2,
        draws=3,
        keep=2,
        agents=1500,
        workers=1,
    )
    assert result.computed == ("2019-06",)
    pd.testing.assert_frame_equal(first, result.scores)  # same seeds, same forecasts
    # Each call that computed origins is kept, so a resumed folder records its whole cost.
    calls = json.loads((out / "backtest.json").read_text())["compute_calls"]
    assert [c["computed"] for c in calls] == [["2019-05", "2019-06"], ["2019-06"]]
    assert calls[1]["simulations"] == result.info["compute_last_call"]["simulations"] > 0
    for name in ("scores.parquet", "summary.csv", "parameters.csv", "scorecard.html", "backtest.json"):
        assert (out / name).is_file()
    fitted = pd.read_csv(out / "parameters.csv")
    assert set(fitted.loc[fitted["fitted_by"] == "abc", "parameter"]) == {
        "inflow_multiplier",
        "behaviour.border_crossing_probability_per_day",
    }
    assert (fitted.loc[fitted["fitted_by"] == "abc", "interval"] == "range of 2 draws").all()  # the kept
    assert "What the fit gave the parameters" in (out / "scorecard.html").read_text()
    info = json.loads((out / "backtest.json").read_text())
    assert info["upstream_known_until"] is None
    assert "not a forecast" not in (out / "scorecard.html").read_text()
    with pytest.raises(BacktestError, match="other draws"):
        run_backtest(
            tiny_scenario,
            parse_origins("2019-05:2019-06"),
            out,
            horizons=2,
            draws=4,
            keep=2,
            agents=1500,
            workers=1,
        )


def test_a_backtest_resumes_in_another_checkout_but_not_on_other_data(
    tiny_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bt"
    _backtest(tiny_scenario, out)
    marker = out / "backtest.json"
    info = json.loads(marker.read_text())

    def computed_nothing() -> bool:
        return len(json.loads(marker.read_text())["compute_calls"]) == 1

    # The record names the scenario as given from the working folder, not by an absolute path.
    monkeypatch.chdir(tmp_path)
    _backtest(Path("tiny.yaml"), Path("bt"))
    assert json.loads(marker.read_text())["scenario"] == "tiny.yaml" and computed_nothing()
    # The same contents elsewhere (another checkout) are the same data.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copies = [shutil.copy(f, elsewhere) for f in observed_files()]
    _backtest(Path("tiny.yaml"), Path("bt"), observed=copies)
    assert computed_nothing()
    # Other contents of a file are other data, whatever the paths.
    digests = info["observed_files_sha256"]
    marker.write_text(json.dumps({**info, "observed_files_sha256": {**digests, "observed.csv": "0" * 64}}))
    with pytest.raises(BacktestError, match="other observed_files_sha256"):
        _backtest(Path("tiny.yaml"), Path("bt"))
    # A folder recorded before the digests names its files by the paths they had: files of the
    # same names resume it, and its record then claims no digest its origins may not have read.
    legacy = {k: v for k, v in info.items() if k != "observed_files_sha256"}
    legacy["observed_files"] = [f"/gone/{Path(f).name}" for f in info["observed_files"]]
    marker.write_text(json.dumps(legacy))
    _backtest(Path("tiny.yaml"), Path("bt"))
    assert computed_nothing() and "observed_files_sha256" not in json.loads(marker.read_text())
    marker.write_text(json.dumps({**legacy, "observed_files": legacy["observed_files"][:-1]}))
    with pytest.raises(BacktestError, match="other observed_files_sha256"):
        _backtest(Path("tiny.yaml"), Path("bt"))


def test_a_backtest_that_read_upstream_months_forecast_says_it_is_a_diagnostic(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corridor.backtest import BacktestResult
    from corridor.cli import app

    info = {"origins": ["2019-05", "2019-06"], "upstream_known_until": None}
    assert upstream_read_past_origins(info) is None
    # Upstream periods ending before the day are read: 1 June reads May, the first origin's month.
    for known, past in [
        ("2019-06-01", True),
        ("2024-07-01", True),
        ("2019-06-01T00:00:00", True),
        ("2019-05-31", False),
        ("2019-05-15", False),
        ("2019-05-01", False),
        ("2018-12-01", False),
    ]:
        got = upstream_read_past_origins({**info, "upstream_known_until": known})
        assert (got is not None) is past, known
    # The page and the command say so.
    scores = pd.read_parquet(ROOT / "backtests" / "mexico-2018-2024-given-upstream" / "scores.parquet")
    summary = pd.read_csv(ROOT / "backtests" / "mexico-2018-2024-given-upstream" / "summary.csv")
    given = json.loads((ROOT / "backtests" / "mexico-2018-2024-given-upstream" / "backtest.json").read_text())
    page = write_scorecard(scores, summary, given, tmp_path / "given.html").read_text()
    assert "periods ending before 2024-07-01" in page and "not a forecast" in page
    honest = write_scorecard(scores, summary, {**given, "upstream_known_until": None}, tmp_path / "h.html")
    assert "not a forecast" not in honest.read_text()
    result = BacktestResult(scores, summary, tmp_path, given, ())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("corridor.backtest.run_backtest", lambda *a, **k: result)
        args = ["backtest", str(ROOT / "scenarios" / "mexico-2018-2024-given-upstream.yaml")]
        shown = CliRunner().invoke(app, [*args, "--origins", "2019-03", "--out", str(tmp_path / "bt")])
    assert shown.exit_code == 0, shown.output
    assert "a diagnostic of the model given demand, not a forecast" in " ".join(shown.output.split())


def test_an_origin_outside_the_horizon_is_refused(tiny_scenario: Path, tmp_path: Path) -> None:
    with pytest.raises(BacktestError, match="outside the scenario's horizon"):
        run_backtest(
            tiny_scenario, parse_origins("2019-09:2019-09"), tmp_path / "x", horizons=3, draws=2, keep=1
        )
    assert not (tmp_path / "x").exists()


def test_the_command_refuses_bad_origins_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    scenario = ROOT / "scenarios" / "mexico-2018-2024.yaml"
    out = tmp_path / "bt"
    result = CliRunner().invoke(
        app, ["backtest", str(scenario), "--origins", "2019-13:2020-01", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "--origins" in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_the_pilot_scales_each_nationality_by_observed_over_simulated() -> None:
    from corridor.backtest.pilot import scale_ratios
    from corridor.backtest.simulated import RunValues

    rows = pd.DataFrame(
        {
            "series": ["mx_irregular_events", "usbp_sw_encounters", "usbp_sw_encounters", "mx_returns", "x"],
            "breakdown": [
                "nationality=Guatemala",
                "citizenship=Guatemala",
                "citizenship=Honduras",
                "nationality=Honduras",
                "",
            ],
        }
    )
    pilot = RunValues(
        "2019-06",
        -1,
        simulated=np.array([100.0, 300.0, 50.0, 10.0, np.nan]),
        observed=np.array([200.0, 600.0, 500.0, 1.0, np.nan]),
        codes=np.zeros(5, dtype=np.int8),
        change=np.zeros(5, dtype=bool),
    )
    ratios = scale_ratios(pilot, rows, n_fit=4, nationalities=["Guatemala", "Honduras", "Cuba"])
    assert ratios["Guatemala"] == pytest.approx(2.0)  # (200 + 600) / (100 + 300)
    assert ratios["Honduras"] == pytest.approx(10.0)  # mx_returns is not a scale series
    assert ratios["Cuba"] == 1.0  # no rows: unchanged
    # Rows past n_fit (the requests) are never read.
    assert scale_ratios(pilot, rows, n_fit=2, nationalities=["Honduras"])["Honduras"] == 1.0


def test_the_pilot_fits_the_level_and_the_caught_share_of_the_last_months_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from corridor.backtest import pilot as pilot_module
    from corridor.backtest.simulated import RunValues

    months = ["2019-03-01", "2019-04-01", "2019-05-01"]
    rows = pd.DataFrame(
        {
            "series": ["mx_irregular_events"] * 3 + ["usbp_sw_encounters"] * 3,
            "breakdown": ["nationality=Cuba"] * 3 + ["citizenship=Cuba"] * 3,
            "period_start": months * 2,
        }
    )
    # A rising flow: observed twice the pilot in March and April, four times in May; half the
    # Cubans caught in Mexico in the pilot, a fifth observed in May.
    pilot = RunValues(
        "2019-06",
        -1,
        simulated=np.array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0]),
        observed=np.array([200.0, 200.0, 160.0, 200.0, 200.0, 640.0]),
        codes=np.zeros(6, dtype=np.int8),
        change=np.zeros(6, dtype=bool),
    )
    monkeypatch.setattr(pilot_module, "SCALE_MONTHS", 1)
    monkeypatch.setattr(pilot_module, "CATCH_MONTHS", 1)
    assert pilot_module.scale_ratios(pilot, rows, 6, ["Cuba"], "2019-06")["Cuba"] == pytest.approx(4.0)
    factor = pilot_module.interdiction_factors(pilot, rows, 6, ["Cuba"], "2019-06")["Cuba"]
    assert factor == pytest.approx(math.log(0.8) / math.log(0.5))
    monkeypatch.setattr(pilot_module, "SCALE_MONTHS", 3)
    assert pilot_module.scale_ratios(pilot, rows, 6, ["Cuba"], "2019-06")["Cuba"] == pytest.approx(1600 / 600)
    monkeypatch.setattr(pilot_module, "SCALE_MONTHS", 2)
    assert pilot_module.scale_ratios(pilot, rows, 6, ["Cuba"], "2019-06")["Cuba"] == pytest.approx(1200 / 400)


def test_runs_start_history_months_before_the_origin_never_before_the_scenario() -> None:
    from corridor.backtest.run import _run_start
    from corridor.backtest.simulated import run_overrides

    sc = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    late, early = pd.Period("2022-06", freq="M"), pd.Period("2019-03", freq="M")
    assert _run_start(sc, late, {"history_months": 16}) == pd.Timestamp("2021-02-01")
    assert _run_start(sc, early, {"history_months": 16}) == pd.Timestamp("2018-07-01")  # the scenario's start
    assert _run_start(sc, late, {"history_months": None}) is None
    overrides = run_overrides(late, 6, {"inflow_multiplier": 1.1}, pd.Timestamp("2021-02-01"))
    assert overrides == {
        "inflow_multiplier": 1.1,
        "inputs_cutoff": "2022-06-01",
        "horizon.end": "2022-11-30",
        "horizon.start": "2021-02-01",
    }


def test_the_pilot_ratio_scales_every_draw_of_a_demand_scale() -> None:
    from corridor.backtest.pilot import demand_scales, scaled_draws

    sc = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    scales = demand_scales(sc)
    assert scales["Guatemala"] == ["inflows.0.demand.level_persons_per_month"]
    assert scales["Cuba"] == ["inflows.4.upstream_share"]
    draws = scaled_draws(sc, [{"inflow_multiplier": 1.2}], {}, {"Guatemala": 0.5, "Cuba": 3.0})
    assert draws[0]["inflow_multiplier"] == 1.2  # not a demand scale: untouched
    assert draws[0]["inflows.0.demand.level_persons_per_month"] == pytest.approx(0.5 * 30000)
    assert draws[0]["inflows.4.upstream_share"] == pytest.approx(3.0)
    assert draws[0]["inflows.1.demand.level_persons_per_month"] == pytest.approx(30000)  # ratio 1 by default


def test_the_asylum_pilot_scales_every_chance_to_file_by_observed_over_simulated() -> None:
    from corridor.backtest.pilot import application_ratio, refitted_draws, scaled_draws
    from corridor.backtest.simulated import RunValues

    rows = pd.DataFrame(
        {
            "series": ["comar_asylum_applications"] * 2
            + ["mx_irregular_events", "comar_asylum_applications"],
            "breakdown": ["", "", "nationality=Cuba", ""],
        }
    )
    # Two fit rows of COMAR (a half-year and a month), other series ignored, a request row after.
    pilot = RunValues(
        "2022-09",
        -1,
        simulated=np.array([20000.0, 4000.0, 100.0, 5000.0]),
        observed=np.array([58642.0, 9740.0, 900.0, 99999.0]),
        codes=np.zeros(4, dtype=np.int8),
        change=np.zeros(4, dtype=bool),
    )
    ratio = application_ratio(pilot, rows, n_fit=3)
    assert ratio == pytest.approx((58642 + 9740) / 24000)  # the request row is not read
    assert application_ratio(pilot, rows.assign(series="mx_returns"), n_fit=3) == 1.0  # no COMAR row
    sc = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    path = "policy.asylum.application_probability_per_day"
    draw = scaled_draws(sc, [{f"{path}.default": 0.05}], {}, {}, application=2.0)[0]
    assert draw[f"{path}.default"] == pytest.approx(0.1)  # the draw's own value, scaled
    assert draw[f"{path}.Guatemala"] == pytest.approx(0.02)  # the scenario's, scaled
    assert scaled_draws(sc, [{f"{path}.default": 0.8}], {}, {}, application=2.0)[0][f"{path}.default"] == 1.0
    assert f"{path}.default" not in scaled_draws(sc, [{}], {}, {})[0]  # ratio 1: untouched
    applied = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml", draw)
    assert applied.policy.asylum.application_probability_per_day == {"default": 0.1, "Guatemala": 0.02}
    # A backtest's row of fitted values (scores.parquet) gives the draws the backtest ran.
    fitted = {
        "demand_scale_ratios": '{"Guatemala": 0.5}',
        "interdiction_factors": '{"Cuba": 2.0}',
        "application_ratio": 2.0,
        "legal_pathway_uptake": np.nan,
    }
    again = refitted_draws(sc, [{f"{path}.default": 0.05}], fitted)[0]
    assert again[f"{path}.default"] == pytest.approx(0.1)
    assert again["inflows.0.demand.level_persons_per_month"] == pytest.approx(0.5 * 30000)
    assert again["behaviour.interdiction_factor.Cuba"] == pytest.approx(2.0)
    assert "behaviour.legal_pathway_uptake" not in again  # no uptake fitted: the draw's stands
    with_uptake = refitted_draws(sc, [{}], {**fitted, "legal_pathway_uptake": 0.4})[0]
    assert with_uptake["behaviour.legal_pathway_uptake"] == 0.4


def test_a_forecast_file_takes_corridor_rows_and_ets_where_corridor_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from corridor.backtest import origin_forecast
    from corridor.forecast import is_forecast_file

    def row(method: str, breakdown: str, median: float) -> dict[str, object]:
        return {
            "series": "mx_irregular_events",
            "geography": "Mexico",
            "breakdown": breakdown,
            "period_start": pd.Timestamp("2023-12-01"),
            "period_end": pd.Timestamp("2023-12-31"),
            "median": median,
            "q05": median / 2,
            "q95": median * 2,
            "method": method,
        }

    scores = pd.DataFrame(
        [
            row("corridor", "nationality=Guatemala", 10.0),
            row("corridor_anchored", "nationality=Guatemala", 12.0),
            row("ets", "nationality=Guatemala", 99.0),
            row("ets", "nationality=India", 7.0),
            row("persistence", "nationality=India", 5.0),
        ]
    )
    fake = SimpleNamespace(scores=scores, info={"scenario": "x.yaml", "complete": True})
    monkeypatch.setattr(origin_forecast, "run_backtest", lambda *a, **k: fake)
    table = origin_forecast.forecast_at_origin("x.yaml", "2023-12", 1, tmp_path / "f.parquet")
    assert list(table["breakdown"]) == ["nationality=Guatemala", "nationality=India"]
    assert list(table["median"]) == [10.0, 7.0]  # corridor's where it has one, ETS elsewhere
    assert list(table["method"]) == ["corridor", "ets (not simulated)"]
    assert is_forecast_file(tmp_path / "f.parquet")  # with its .json beside it
    anchored = origin_forecast.forecast_at_origin(
        "x.yaml", "2023-12", 1, tmp_path / "a.parquet", method="corridor_anchored"
    )
    assert list(anchored["median"]) == [12.0, 7.0]
    assert list(anchored["method"]) == ["corridor_anchored", "ets (not simulated)"]
    with pytest.raises(BacktestError, match="method: expected"):
        origin_forecast.forecast_at_origin("x.yaml", "2023-12", 1, tmp_path / "b.parquet", method="best")


def test_the_adjusted_forecast_learns_bias_and_spread_from_the_fit_months_only() -> None:
    """corridor_adjusted shifts the kept runs by their mean log error before the origin and
    widens them by its spread; a request's own (future) observation plays no part."""
    from corridor.backtest.simulated import (
        REQUEST_SOURCE,
        Fitted,
        RunValues,
        _adjusted,
        fit_discrepancy,
    )

    months = 6
    rows = pd.DataFrame(
        {
            "series": ["usbp_sw_encounters"] * (months + 1),
            "geography": ["US Southwest land border"] * (months + 1),
            "breakdown": ["citizenship=Honduras"] * (months + 1),
            "source": ["observed.csv"] * months + [REQUEST_SOURCE],
        }
    )
    # Observed twice what the runs simulate, by a factor that alternates 2/e^0.1 and 2*e^0.1.
    factor = 2.0 * np.exp(0.1 * np.array([-1, 1, -1, 1, -1, 1]))
    sim = np.full(months + 1, 1000.0)
    observed = np.append(sim[:months] * factor, 10**9)  # the request's value: huge, unread
    runs = [
        RunValues(
            origin="2019-06",
            draw=d,
            simulated=sim * (1 + 0.001 * d),
            observed=observed,
            codes=np.zeros(months + 1, dtype=np.int8),
            change=np.zeros(months + 1, dtype=bool),
        )
        for d in range(3)
    ]
    fitted = Fitted(distances=np.zeros(3), kept=np.array([0, 1, 2]), fit_rows_compared=months)
    found = fit_discrepancy(rows, runs, fitted)
    key = ("usbp_sw_encounters", "US Southwest land border", "citizenship=Honduras")
    assert found.bias[key] == pytest.approx(np.log(2.0) - np.log(1.001), abs=1e-9)
    assert found.spread[key] == pytest.approx(0.1 * np.sqrt(6 / 5), rel=1e-6)
    draws = _adjusted(np.array([1000.0, 1001.0, 1002.0]), key, 4, found, np.random.default_rng(0))
    assert np.median(draws) == pytest.approx(2000.0, rel=0.05)
    spread = np.std(np.log(draws))
    assert spread == pytest.approx(found.spread[key] * 2.0, rel=0.15)  # sqrt(horizon 4) = 2


def test_the_anchored_forecast_starts_from_the_last_month_before_the_origin() -> None:
    """corridor_anchored multiplies the runs by observed / simulated of the target's last monthly
    fit row, widened by how that ratio moved over the fit months; a yearly row and the request's
    own (future) observation play no part."""
    from corridor.backtest.simulated import (
        REQUEST_SOURCE,
        Fitted,
        RunValues,
        _anchored,
        fit_anchors,
        fit_discrepancy,
    )

    months = pd.period_range("2019-01", periods=6, freq="M")
    starts = [m.start_time for m in months] + [pd.Timestamp("2018-01-01"), pd.Timestamp("2019-07-01")]
    ends = [m.end_time.normalize() for m in months] + [pd.Timestamp("2018-12-31"), pd.Timestamp("2019-07-31")]
    n = len(starts)
    rows = pd.DataFrame(
        {
            "series": ["usbp_sw_encounters"] * n,
            "geography": ["US Southwest land border"] * n,
            "breakdown": ["citizenship=Honduras"] * n,
            "period_start": starts,
            "period_end": ends,
            "source": ["observed.csv"] * (n - 1) + [REQUEST_SOURCE],
        }
    )
    # Observed over simulated grows by e^0.1 a month: 1.1, ..., 1.6 in June; the year is off by 5x.
    log_ratio = 0.1 * np.arange(1, 7)
    sim = np.full(n, 1000.0)
    observed = np.concatenate([1000.0 * np.exp(log_ratio), [5000.0 * 12, 10.0**9]])
    runs = [
        RunValues("2019-07", d, sim.copy(), observed, np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool))
        for d in range(3)
    ]
    fitted = Fitted(distances=np.zeros(3), kept=np.array([0, 1, 2]), fit_rows_compared=n - 1)
    anchors = fit_anchors(rows, runs, fitted)
    key = ("usbp_sw_encounters", "US Southwest land border", "citizenship=Honduras")
    month, log_observed, log_simulated = anchors.last[key]
    assert month == pd.Period("2019-06", freq="M")
    assert log_observed - log_simulated == pytest.approx(0.6)
    # The runs do not change while the observed grow: the runs' change gets no weight, and the
    # observed change is left unexplained (0.1 a month).
    assert anchors.weight["usbp_sw_encounters"][1] == 0.0
    assert anchors.drift[key][1] == pytest.approx(0.1)
    assert anchors.drift[key][3] == pytest.approx(0.3)
    assert 5 not in anchors.drift[key]  # one pair only: too few
    found = fit_discrepancy(rows, runs, fitted)
    draws = _anchored(
        np.full(3, 1000.0), key, pd.Period("2019-09", freq="M"), 3, anchors, found, np.random.default_rng(0)
    )
    assert np.median(draws) == pytest.approx(1000.0 * np.exp(0.6), rel=0.05)
    assert np.std(np.log(draws)) == pytest.approx(0.3, rel=0.15)  # 3 months after June

    # Runs whose log changes are twice the observed ones: weight 1/2, nothing unexplained; the
    # forecast is June's observed value times the square root of the simulated change.
    swing = 0.2 * np.array([0, 1, 0, 2, 1, 3])
    sim2 = np.concatenate([1000.0 * np.exp(swing), [1.0, 1.0]])
    observed2 = np.concatenate([800.0 * np.exp(swing / 2), [1.0, 10.0**9]])
    runs2 = [
        RunValues("2019-07", d, sim2.copy(), observed2, np.zeros(n, dtype=np.int8), np.zeros(n, dtype=bool))
        for d in range(3)
    ]
    anchors2 = fit_anchors(rows, runs2, fitted)
    assert anchors2.weight["usbp_sw_encounters"][1] == pytest.approx(0.5)
    assert anchors2.drift[key][1] == pytest.approx(0.0, abs=1e-12)
    june_sim, june_observed = 1000.0 * np.exp(0.6), 800.0 * np.exp(0.3)
    draws2 = _anchored(
        np.full(3, june_sim * 4.0),
        key,
        pd.Period("2019-07", freq="M"),
        1,
        anchors2,
        found,
        np.random.default_rng(0),
    )
    assert np.median(draws2) == pytest.approx(june_observed * 2.0, rel=1e-9)


def test_a_steady_target_drifts_less_than_a_noisy_one_of_its_series() -> None:
    """The anchored interval of a target follows its own month-to-month drift, shrunk toward
    its series': a steady national total is not given a small nationality's spread."""
    from corridor.backtest.simulated import _DRIFT_PRIOR_PAIRS, Fitted, RunValues, fit_anchors

    months = pd.period_range("2019-01", periods=12, freq="M")
    rows = pd.DataFrame(
        {
            "series": ["usbp_sw_encounters"] * 24,
            "geography": ["US Southwest land border"] * 24,
            "breakdown": [""] * 12 + ["citizenship=Haiti"] * 12,
            "period_start": [m.start_time for m in months] * 2,
            "period_end": [m.end_time.normalize() for m in months] * 2,
            "source": ["observed.csv"] * 24,
        }
    )
    steady = 0.02 * np.array([1, -1] * 6)  # the total: +-2% around the runs
    noisy = 0.5 * np.array([1, -1] * 6)  # Haitians: +-50%
    sim = np.full(24, 1000.0)
    observed = sim * np.exp(np.concatenate([steady, noisy]))
    runs = [
        RunValues("2020-01", d, sim, observed, np.zeros(24, dtype=np.int8), np.zeros(24, dtype=bool))
        for d in range(2)
    ]
    anchors = fit_anchors(rows, runs, Fitted(np.zeros(2), np.array([0, 1]), 24))
    total = anchors.drift[("usbp_sw_encounters", "US Southwest land border", "")][1]
    haiti = anchors.drift[("usbp_sw_encounters", "US Southwest land border", "citizenship=Haiti")][1]
    # Month to month the log ratio moves by 0.04 (total) and 1.0 (Haiti), 11 pairs each; the
    # series' mean square is (0.04^2 + 1) / 2; each target's is shrunk toward it.
    series_ms = (0.04**2 + 1.0) / 2
    k = _DRIFT_PRIOR_PAIRS
    assert total == pytest.approx(np.sqrt((11 * 0.04**2 + k * series_ms) / (11 + k)))
    assert haiti == pytest.approx(np.sqrt((11 * 1.0 + k * series_ms) / (11 + k)))
    assert total < 0.6 < haiti


def test_the_pilot_fits_an_interdiction_factor_from_the_caught_share() -> None:
    from corridor.backtest.pilot import factor_overrides, interdiction_factors, scaled_draws
    from corridor.backtest.simulated import RunValues

    rows = pd.DataFrame(
        {
            "series": ["mx_irregular_events", "usbp_sw_encounters"] * 2 + ["mx_irregular_events"],
            "breakdown": [
                "nationality=Venezuela",
                "citizenship=Venezuela",
                "nationality=Cuba",
                "citizenship=Cuba",
                "nationality=Haiti",
            ],
        }
    )
    pilot = RunValues(
        "2022-06",
        -1,
        # The pilot catches 75% of Venezuelans in Mexico where 40% were; Cubans as observed.
        simulated=np.array([750.0, 250.0, 300.0, 700.0, 50.0]),
        observed=np.array([400.0, 600.0, 3000.0, 7000.0, 80.0]),
        codes=np.zeros(5, dtype=np.int8),
        change=np.zeros(5, dtype=bool),
    )
    factors = interdiction_factors(pilot, rows, n_fit=5, nationalities=["Venezuela", "Cuba", "Haiti"])
    assert factors["Venezuela"] == pytest.approx(math.log(0.6) / math.log(0.25))  # about 0.37: fewer caught
    assert factors["Cuba"] == pytest.approx(1.0)  # the share is right whatever the level
    assert factors["Haiti"] == 1.0  # only one of the two series: unchanged
    sc = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    overrides = factor_overrides(sc, {"Venezuela": 0.5})
    assert overrides == {"behaviour.interdiction_factor.Venezuela": 0.5}
    draw = scaled_draws(sc, [{}], {}, {}, {"Venezuela": 0.5})[0]
    assert draw["behaviour.interdiction_factor.Venezuela"] == 0.5
    assert load_scenario(
        ROOT / "scenarios" / "mexico-2018-2024.yaml", draw
    ).behaviour.interdiction_factor == {
        "default": 1.0,
        "Venezuela": 0.5,
    }


def test_the_pilot_fits_the_pathway_uptake_from_encounters_after_an_opening_against_before() -> None:
    import datetime as dt

    from corridor.backtest.pilot import (
        MAX_UPTAKE,
        pathway_openings,
        pathway_uptake,
        scale_ratios,
        scaled_draws,
    )
    from corridor.backtest.simulated import RunValues

    pathways = load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml")
    openings = pathway_openings(pathways)
    assert openings["Venezuela"] == dt.date(2022, 10, 12)  # the first event that opens it
    assert openings["Cuba"] == dt.date(2023, 1, 5)
    assert pathway_openings(load_scenario(ROOT / "scenarios" / "mexico-2019.yaml")) == {}

    months = ["2022-06-01", "2022-07-01", "2022-08-01", "2022-09-01", "2022-10-01", "2022-11-01"]
    rows = pd.DataFrame(
        {
            "series": ["usbp_sw_encounters"] * 6 + ["mx_irregular_events", "usbp_sw_encounters"],
            "breakdown": ["citizenship=Venezuela"] * 6 + ["nationality=Venezuela", "citizenship=Cuba"],
            "period_start": [*months, "2022-11-01", "2022-11-01"],
        }
    )
    # Venezuelans: twice the pilot's level in the 3 months before October (June is too early),
    # October half open (not read), November a tenth of what that level makes of the pilot's.
    pilot = RunValues(
        "2022-12",
        -1,
        simulated=np.array([1.0, 1000.0, 1000.0, 1000.0, 5000.0, 800.0, 900.0, 700.0]),
        observed=np.array([9e9, 2000.0, 2000.0, 2000.0, 1.0, 160.0, 1.0, 7000.0]),
        codes=np.zeros(8, dtype=np.int8),
        change=np.zeros(8, dtype=bool),
    )
    fitted = pathway_uptake(pilot, rows, n_fit=8, openings=openings, uptake=0.5)
    assert fitted == pytest.approx(1 - 0.1 * 0.5)  # Cubans' pathway has not opened: not read
    assert pathway_uptake(pilot, rows, n_fit=5, openings=openings, uptake=0.5) is None  # no month after
    gone = RunValues(
        "2022-12", -1, pilot.simulated, pilot.observed * np.eye(8)[1:4].sum(axis=0), pilot.codes, pilot.change
    )
    assert pathway_uptake(gone, rows, n_fit=8, openings=openings, uptake=0.5) == MAX_UPTAKE
    # Venezuelans' level is read in the month before their pathway opened (September), not in
    # the last month before the origin (November, both series), where the pathway acted.
    level = scale_ratios(pilot, rows, 8, ["Venezuela"], "2022-12", openings)
    assert level["Venezuela"] == pytest.approx(2.0)
    assert scale_ratios(pilot, rows, 8, ["Venezuela"], "2022-12")["Venezuela"] == pytest.approx(161 / 1700)
    assert scale_ratios(pilot, rows, 8, ["Venezuela"], "2023-03", openings) == {
        "Venezuela": 1.0
    }  # not recent
    draw = scaled_draws(pathways, [{"behaviour.legal_pathway_uptake": 0.3}], {}, {}, uptake=0.9)[0]
    assert (
        load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml", draw).behaviour.legal_pathway_uptake
        == 0.9
    )
    unfitted = scaled_draws(pathways, [{"behaviour.legal_pathway_uptake": 0.3}], {}, {})[0]
    assert unfitted["behaviour.legal_pathway_uptake"] == 0.3  # not fitted: the prior's draw stands


def test_the_uptake_is_read_in_the_months_after_an_opening_and_its_pilots_run_only_where_they_exist() -> None:
    from corridor.backtest.pilot import (
        PATHWAY_RESPONSE_MONTHS,
        measures_uptake,
        pathway_openings,
        pathway_uptake,
    )
    from corridor.backtest.simulated import RunValues

    openings = pathway_openings(load_scenario(ROOT / "scenarios" / "mexico-2018-2024.yaml"))
    assert PATHWAY_RESPONSE_MONTHS == 3  # the figures below assume it
    months = pd.period_range("2022-07", "2023-04", freq="M")  # Venezuelans' opened on 12 October
    rows = pd.DataFrame(
        {
            "series": "usbp_sw_encounters",
            "breakdown": "citizenship=Venezuela",
            "period_start": [m.start_time.strftime("%Y-%m-%d") for m in months],
        }
    )
    # At the pilot's level before; November to January a fifth of it; later (another policy) back.
    observed = np.array([1000.0, 1000.0, 1000.0, 1.0, 200.0, 200.0, 200.0, 1000.0, 1000.0, 1000.0])
    pilot = RunValues(
        "2023-05",
        -1,
        simulated=np.full(10, 1000.0),
        observed=observed,
        codes=np.zeros(10, dtype=np.int8),
        change=np.zeros(10, dtype=bool),
    )
    assert pathway_uptake(pilot, rows, n_fit=10, openings=openings, uptake=0.0) == pytest.approx(0.8)
    assert measures_uptake(rows, 5, openings)  # November is after
    assert not measures_uptake(rows, 4, openings)  # October is the opening's own month
    assert not measures_uptake(rows.iloc[7:], 3, openings)  # nothing before (nor within the window)


def test_one_origins_figure_draws_each_method_and_what_happened() -> None:
    months = pd.to_datetime(["2019-06-01", "2019-07-01"])
    rows = [
        {
            "origin": "2019-06",
            "series": "usbp_sw_encounters",
            "breakdown": "citizenship=Guatemala",
            "period_start": month,
            "method": method,
            "median": 100.0 * (k + 1) + j,
            "q05": 50.0,
            "q95": 500.0,
            "observed": observed,
            "inside": 50.0 <= observed <= 500.0,
        }
        for k, method in enumerate(["corridor", "corridor_combined", "persistence", "ets"])
        for j, (month, observed) in enumerate(zip(months, [120.0, 600.0], strict=True))
    ]
    other = {**rows[0], "breakdown": "citizenship=Honduras", "median": 9e9}  # another target: not drawn
    scores = pd.DataFrame([*rows, other])
    history = pd.Series([80.0, 90.0], index=pd.period_range("2019-04", periods=2, freq="M"))
    origin = pd.Period("2019-06", freq="M")
    fig = origin_figure(scores, origin, "usbp_sw_encounters", "citizenship=Guatemala", history=history)
    named = {trace.name: trace for trace in fig.data if trace.name}
    assert all(9e9 not in list(trace.y) for trace in fig.data)
    bands = [list(trace.y) for trace in fig.data if not trace.name]  # q95 then q05, per method
    assert bands == [[500.0, 500.0], [50.0, 50.0]] * 3
    # corridor_anchored is not in the scores, ets is not asked for: three methods drawn.
    assert [n for n in named if "median" in n] == [
        "corridor (median, 90% band)",
        "corridor_combined (median, 90% band)",
        "persistence (median, 90% band)",
    ]
    assert list(named["corridor_combined (median, 90% band)"].y) == [200.0, 201.0]
    assert list(named["what happened"].y) == [120.0, 600.0]
    assert list(named["known at the origin"].y) == [80.0, 90.0]
    assert "1 of 2 months inside corridor_combined's band" in fig.layout.title.text
    assert origin_figure(scores, "2019-09", "usbp_sw_encounters", "citizenship=Guatemala") is None
