"""What a backtest's fit gave the parameters (corridor.backtest.posteriors)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from corridor.backtest.pilot import UPTAKE_PATH
from corridor.backtest.posteriors import fitted_parameters, kept_draws, origin_fit
from corridor.calibrate.priors import prior_sample
from corridor.errors import BacktestError
from corridor.scenario import Scenario, load_scenario
from tests.conftest import REPO

ELASTICITY = "demand_response.elasticity"
APPLICATION = "policy.asylum.application_probability_per_day.default"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(REPO / "scenarios" / "mexico-2018-2024.yaml")


def _fit_row(
    origin: str, kept: list[int], ratios: dict[str, float], application: float, uptake: float
) -> dict[str, object]:
    return {
        "origin": origin,
        "method": "corridor",
        "kept_draws": json.dumps(kept),
        "demand_scale_ratios": json.dumps(ratios),
        "interdiction_factors": json.dumps({}),
        "application_ratio": application,
        "legal_pathway_uptake": uptake,
    }


def test_the_kept_draws_as_they_ran_beside_the_prior_and_the_pilots_values(scenario: Scenario) -> None:
    draws = prior_sample(scenario.priors, 24, seed=3)
    scores = pd.DataFrame(
        [
            _fit_row("2019-06", [0, 1, 2], {"Guatemala": 2.0, "Haiti": 1.0}, 1.0, np.nan),
            {"origin": "2019-06", "method": "persistence"},  # rows without a fit are ignored
            _fit_row("2023-05", list(range(3, 23)), {}, 2.0, 0.9),
        ]
    )
    table = fitted_parameters(scores, scenario, draws).set_index(["origin", "parameter"])

    june = table.loc[("2019-06", ELASTICITY)]
    values = [draws[i][ELASTICITY] for i in (0, 1, 2)]
    # Three kept draws: their range, not a 5-95% interpolated between them.
    assert june["fitted_by"] == "abc" and june["interval"] == "range of 3 draws"
    assert june[["median", "low", "high"]].tolist() == pytest.approx(
        [np.median(values), min(values), max(values)]
    )
    everyone = [d[ELASTICITY] for d in draws]
    assert june["prior_interval"] == "5-95% over 24 draws"
    assert june["prior_high"] == pytest.approx(np.quantile(everyone, 0.95))
    assert table.loc[("2019-06", UPTAKE_PATH), "fitted_by"] == "abc"  # no pilot there
    assert table.loc[("2019-06", "demand_scale_ratios.Guatemala"), "median"] == 2.0
    # A pilot that found nothing to fit (exactly 1, the scenario's value) or did not run is no row.
    for absent in ("demand_scale_ratios.Haiti", "application_ratio", "legal_pathway_uptake"):
        assert ("2019-06", absent) not in table.index

    # Where a pilot replaced or scaled the drawn values, the table gives the values that ran.
    may = table.loc["2023-05"]
    assert may.loc[UPTAKE_PATH, "fitted_by"] == "abc+pilot"
    assert may.loc[UPTAKE_PATH, ["median", "low", "high"]].tolist() == [0.9, 0.9, 0.9]
    ran = [min(draws[i][APPLICATION] * 2.0, 1.0) for i in range(3, 23)]
    assert may.loc[APPLICATION, "fitted_by"] == "abc+pilot"
    assert may.loc[APPLICATION, "median"] == pytest.approx(np.median(ran))
    assert may.loc[APPLICATION, "interval"] == "5-95% over 20 draws"
    assert may.loc["application_ratio", ["fitted_by", "median"]].tolist() == ["pilot", 2.0]
    assert may.loc["legal_pathway_uptake", "median"] == 0.9
    assert np.isnan(may.loc["legal_pathway_uptake", "low"])  # a pilot fits a point


def test_the_kept_draws_of_an_origin_are_those_the_backtest_ran(scenario: Scenario) -> None:
    draws = prior_sample(scenario.priors, 8, seed=3)
    scores = pd.DataFrame([_fit_row("2023-05", [5, 1, 4], {}, 1.0, 0.9)])
    positions, ran = kept_draws(origin_fit(scores, "2023-05"), scenario, draws, limit=2)
    assert positions == [5, 1]
    assert [d[UPTAKE_PATH] for d in ran] == [0.9, 0.9]
    assert [d[ELASTICITY] for d in ran] == [draws[5][ELASTICITY], draws[1][ELASTICITY]]
    with pytest.raises(BacktestError, match="no origin 2019-06"):
        origin_fit(scores, "2019-06")
