"""What a backtest's fit gave the parameters (corridor.backtest.posteriors)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from corridor.backtest.pilot import UPTAKE_PATH
from corridor.backtest.posteriors import fitted_parameters
from corridor.calibrate.priors import prior_sample
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
    draws = prior_sample(scenario.priors, 8, seed=3)
    scores = pd.DataFrame(
        [
            _fit_row("2019-06", [0, 1, 2], {"Guatemala": 2.0}, 1.0, np.nan),
            {"origin": "2019-06", "method": "persistence"},  # rows without a fit are ignored
            _fit_row("2023-05", [3, 4, 5, 6], {}, 2.0, 0.9),
        ]
    )
    table = fitted_parameters(scores, scenario, draws).set_index(["origin", "parameter"])

    june = table.loc[("2019-06", ELASTICITY)]
    values = [draws[i][ELASTICITY] for i in (0, 1, 2)]
    assert june["fitted_by"] == "abc" and june["n"] == 3
    assert june[["median", "q05", "q95"]].tolist() == pytest.approx(np.quantile(values, [0.5, 0.05, 0.95]))
    everyone = [d[ELASTICITY] for d in draws]
    assert june["prior_q95"] == pytest.approx(np.quantile(everyone, 0.95))
    assert table.loc[("2019-06", UPTAKE_PATH), "fitted_by"] == "abc"  # no pilot there
    assert table.loc[("2019-06", "demand_scale_ratios.Guatemala"), "median"] == 2.0
    assert ("2019-06", "legal_pathway_uptake") not in table.index

    # Where a pilot replaced or scaled the drawn values, the table gives the values that ran.
    may = table.loc["2023-05"]
    assert may.loc[UPTAKE_PATH, "fitted_by"] == "abc+pilot"
    assert may.loc[UPTAKE_PATH, ["median", "q05", "q95"]].tolist() == [0.9, 0.9, 0.9]
    ran = [min(draws[i][APPLICATION] * 2.0, 1.0) for i in (3, 4, 5, 6)]
    assert may.loc[APPLICATION, "fitted_by"] == "abc+pilot"
    assert may.loc[APPLICATION, "median"] == pytest.approx(np.median(ran))
    assert may.loc["application_ratio", ["fitted_by", "median"]].tolist() == ["pilot", 2.0]
    assert may.loc["legal_pathway_uptake", "median"] == 0.9
    assert np.isnan(may.loc["legal_pathway_uptake", "q05"])  # a pilot fits a point
