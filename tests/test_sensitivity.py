"""Sensitivity analysis: parameters and their overrides, the ranking on a tiny setting, the CLI.

The tiny setting is the shipped 2019 scenario cut to January-February with 2,000 agents and
the humanitarian visa window kept closed (its opening event emptied), so that the visa
capacity provably changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from corridor.cli import app
from corridor.errors import SensitivityError
from corridor.scenario import load_scenario
from corridor.sensitivity import (
    Parameter,
    SensitivityResult,
    check_parameters,
    default_parameters,
    parameter_overrides,
    parse_param,
    run_sensitivity,
)
from corridor.sensitivity.parameters import is_assumed

from .conftest import SHIPPED_SCENARIO

TINY: dict[str, Any] = {"horizon.end": "2019-02-28", "events.0.set": {}}
TINY_SET = ["--set", "horizon.end=2019-02-28", "--set", "events.0.set={}"]
INFLOW = "inflow_multiplier"
APPREHENSION = "policy.us_apprehension_probability"
VISAS = "policy.visas.issued_per_day"


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- parameters


def test_parse_param() -> None:
    assert parse_param("policy.us_apprehension_probability=0.4:1") == Parameter(APPREHENSION, 0.4, 1.0)
    p = parse_param("policy.interdiction_per_100km*=0.5:2")
    assert p.is_multiplier and p.target == "policy.interdiction_per_100km"
    assert parse_param("a.b=1:2").high == 2.0  # not YAML's sexagesimal 1:2 = 62
    for bad in ("a.b", "a.b=2", "a.b=x:y", "a.b=2:1", "a*b=1:2", "=1:2", "a..b=0:1"):
        with pytest.raises(SensitivityError, match="--param"):
            parse_param(bad)


def test_default_parameters_are_the_assumed_scalars() -> None:
    sc = load_scenario(SHIPPED_SCENARIO)
    params = {p.path: p for p in default_parameters(sc)}
    for path in (
        INFLOW,
        "behaviour.move_on_probability_per_day",
        "behaviour.continue_probability",
        "behaviour.give_up_probability_per_day",
        "behaviour.border_crossing_probability_per_day",
        "behaviour.route_enforcement_weight",
        "policy.detention_mean_stay_days",
        APPREHENSION,
        "policy.asylum.application_probability_per_day.default",
        "policy.metering.join_share.default",
        "policy.interdiction_per_100km*",
        "hazards.death_per_1000km*",
    ):
        assert path in params, path
    assert (params[INFLOW].low, params[INFLOW].high) == (0.5, 2.0)
    assert (params[APPREHENSION].low, params[APPREHENSION].high) == (0.4, 1.0)  # clipped at 1
    # The June deal sets the raid rate: it becomes a multiplier so that value scales too.
    assert "policy.raid_probability_per_day*" in params
    assert "policy.raid_probability_per_day" not in params
    # Sourced values are not varied; a block's source naming a field as an assumption is.
    assert not is_assumed(sc, "policy.detention_capacity_unknown")
    assert not is_assumed(sc, "hazards.river_crossing_death_probability")
    assert is_assumed(sc, "policy.metering.join_share.default")
    check_parameters(SHIPPED_SCENARIO, list(params.values()))  # all valid at both ends


def test_multipliers_scale_the_scenario_and_the_events_that_set_it() -> None:
    sc = load_scenario(SHIPPED_SCENARIO)
    params = [
        parse_param("policy.interdiction_per_100km*=0.5:2"),
        parse_param("policy.raid_probability_per_day*=0.5:2"),
    ]
    overrides = parameter_overrides(sc, params, [2.0, 0.5])
    scaled = load_scenario(SHIPPED_SCENARIO, overrides)
    for mode, h in sc.policy.interdiction_per_100km.items():
        assert scaled.policy.interdiction_per_100km[mode] == pytest.approx(2 * h)
    assert scaled.policy.raid_probability_per_day == pytest.approx(sc.policy.raid_probability_per_day / 2)
    deal = next(i for i, e in enumerate(sc.events) if "raid_probability_per_day" in e.set)
    assert scaled.events[deal].set["raid_probability_per_day"] == pytest.approx(
        sc.events[deal].set["raid_probability_per_day"] / 2
    )
    # The deal's other changes are left as they were.
    assert (
        scaled.events[deal].set["checkpoint_intensity.Chiapas"]
        == sc.events[deal].set["checkpoint_intensity.Chiapas"]
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("policy.nope=0:1", ["policy.nope", "unknown key"]),
        ("behaviour.continue_probability=0.5:1.5", ["continue_probability", "high = 1.5"]),
        ("policy.interdiction_per_100km=0:1", ["several values", "policy.interdiction_per_100km*"]),
        ("policy.nothing*=0.5:2", ["no number", "policy.nothing"]),
    ],
)
def test_check_parameters_names_the_bad_one(text: str, words: list[str]) -> None:
    with pytest.raises(SensitivityError) as info:
        check_parameters(SHIPPED_SCENARIO, [parse_param(INFLOW + "=0.5:2"), parse_param(text)])
    for w in words:
        assert w in str(info.value)
    assert INFLOW not in str(info.value)  # the good one is not blamed


# --------------------------------------------------------------------------- the ranking


@pytest.fixture(scope="module")
def morris() -> SensitivityResult:
    params = [
        parse_param(f"{INFLOW}=0.9:1.1"),
        parse_param(f"{APPREHENSION}=0.4:1"),
        parse_param(f"{VISAS}=400:1600"),
    ]
    return run_sensitivity(SHIPPED_SCENARIO, params, trajectories=3, agents=2000, workers=1, overrides=TINY)


def test_morris_ranks_the_obvious_drivers_first(morris: SensitivityResult) -> None:
    assert len(morris.samples) == 3 * (3 + 1)
    assert len(morris.indices) == 3 * len(morris.outcomes)
    idx = morris.indices.set_index(["outcome", "parameter"])
    first = morris.indices[morris.indices["rank"] == 1].set_index("outcome")["parameter"]
    assert first["arrivals"] == INFLOW
    assert first["us_encounters"] == APPREHENSION
    assert idx.loc[("arrivals", INFLOW), "score"] == pytest.approx(1.0, abs=0.15)  # drives it alone
    assert idx.loc[("us_encounters", APPREHENSION), "above_noise"]
    # More apprehension, more encounters: the elementary effects are positive.
    assert idx.loc[("us_encounters", APPREHENSION), "mu"] > 0


def test_a_parameter_without_effect_scores_zero(morris: SensitivityResult) -> None:
    visas = morris.indices[morris.indices.parameter == VISAS]
    assert (visas["mu_star"] == 0).all() and (visas["score"] == 0).all()
    assert "visas_issued" in morris.constant_outcomes()
    assert morris.scores().index[-1] == VISAS


def test_ranking_table(morris: SensitivityResult) -> None:
    table = morris.ranking_table(2)
    assert list(table.columns) == ["1", "2"]
    assert table.loc["arrivals", "1"].startswith(INFLOW)
    assert table.loc["visas_issued", "1"] == "(constant)"


def test_sobol_apportions_variance() -> None:
    params = [parse_param(f"{INFLOW}=0.5:2"), parse_param(f"{VISAS}=400:1600")]
    result = run_sensitivity(
        SHIPPED_SCENARIO,
        params,
        method="sobol",
        trajectories=4,
        agents=1000,
        workers=1,
        replicates=0,
        overrides={**TINY, "horizon.end": "2019-01-31"},
    )
    assert len(result.samples) == 4 * (2 + 2)
    idx = result.indices.set_index(["outcome", "parameter"])
    assert {"S1", "ST", "ST_conf"} <= set(result.indices.columns)
    # (N = 4 gives rough indices; the order and the zero are what a test can rely on.)
    assert idx.loc[("arrivals", INFLOW), "rank"] == 1 and idx.loc[("arrivals", INFLOW), "ST"] > 0.2
    assert idx.loc[("arrivals", VISAS), "ST"] == 0


# --------------------------------------------------------------------------- the command


def test_cli_writes_outputs(tmp_path: Path) -> None:
    out = tmp_path / "sens"
    args = ["sensitivity", str(SHIPPED_SCENARIO), "--agents", "2000", "--trajectories", "2"]
    args += [*TINY_SET, "--param", f"{INFLOW}=0.5:2", "--param", f"{APPREHENSION}=0.4:1"]
    result = CliRunner().invoke(app, [*args, "--workers", "2", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "Top parameters per outcome" in text and INFLOW in text
    assert sorted(p.name for p in out.iterdir()) == [
        "samples.csv",
        "sensitivity.csv",
        "sensitivity.html",
        "sensitivity.json",
    ]
    table = pd.read_csv(out / "sensitivity.csv")
    assert {"outcome", "rank", "parameter", "score", "mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    assert table.groupby("outcome").size().eq(2).all()
    arrivals = table[(table.outcome == "arrivals") & (table["rank"] == 1)]
    assert arrivals.parameter.tolist() == [INFLOW]
    html = (out / "sensitivity.html").read_text()
    assert "plotly" in html.lower() and "heatmap" in html and len(html) > 1_000_000  # plotly.js inlined
    meta = json.loads((out / "sensitivity.json").read_text())
    assert meta["method"] == "morris" and meta["evaluations"] == 2 * 3 + 3
    assert len(pd.read_csv(out / "samples.csv")) == 2 * 3


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("policy.nope=0:1", ["policy.nope", "unknown key"]),
        ("inflow_multiplier=2", ["low:high"]),
        ("behaviour.continue_probability=0.5:1.5", ["continue_probability", "less than or equal to 1"]),
    ],
)
def test_cli_bad_param_exits_2(tmp_path: Path, param: str, words: list[str]) -> None:
    out = tmp_path / "sens"
    result = CliRunner().invoke(
        app, ["sensitivity", str(SHIPPED_SCENARIO), "--param", param, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    err = flat(result.stderr)
    assert "error" in err
    for w in words:
        assert w in err, (w, err)
    assert not out.exists()
