"""Legal pathways (``policy.legal_pathways``, ``behaviour.legal_pathway_uptake``): people who
take a pathway that an irregular crossing forfeits neither set out nor cross (docs/model.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.errors import ScenarioError
from corridor.testing import assert_identity

from .test_demand import demand_data, scenario

LAG_DAYS = 5
UPTAKE = 0.6


def pathway_data(opens: str | None, uptake: float = UPTAKE, **top: Any) -> dict[str, Any]:
    """The small demand scenario (Hondurans latent, Cubans from Honduras' counts, observed through
    March 2019), with a pathway for Hondurans and Cubans opening on ``opens``."""
    data = demand_data(demand_response={"elasticity": 0.0, "lag_days": LAG_DAYS}, **top)
    data["behaviour"]["legal_pathway_uptake"] = uptake
    if opens is not None:
        data["events"] = [{"date": opens, "name": "parole", "set": {"legal_pathways": ["Honduras", "Cuba"]}}]
    return data


def arrivals_by_nationality(network: corridor.Network, data: dict[str, Any]) -> pd.DataFrame:
    t = corridor.compile_timeline(scenario(data), network)
    return pd.DataFrame(t.arrivals_persons.sum(axis=2), columns=t.nationalities)


def test_a_pathway_cuts_its_nationalities_arrivals_after_the_lag_and_past_the_data(
    network: corridor.Network,
) -> None:
    plain = arrivals_by_nationality(network, pathway_data(None))
    # Opening on 28 March (day 27): it acts from day 32 (2 April), after the last observed month.
    late = arrivals_by_nationality(network, pathway_data("2019-03-28"))
    acts = 27 + LAG_DAYS
    for nationality in ("Honduras", "Cuba"):  # latent, and upstream past the data
        np.testing.assert_array_equal(late[nationality][:acts], plain[nationality][:acts])
        np.testing.assert_allclose(late[nationality][acts:], plain[nationality][acts:] * (1 - UPTAKE))
    pd.testing.assert_frame_equal(
        late.drop(columns=["Honduras", "Cuba"]), plain.drop(columns=["Honduras", "Cuba"])
    )

    # Opening on 11 March: Hondurans (latent) fall from day 15; the Cubans' March count is
    # observed (their response is in it) and April continues it, so they do not move.
    early = arrivals_by_nationality(network, pathway_data("2019-03-11"))
    np.testing.assert_allclose(
        early["Honduras"][10 + LAG_DAYS :], plain["Honduras"][10 + LAG_DAYS :] * (1 - UPTAKE)
    )
    assert (plain["Cuba"] > 0).all()
    np.testing.assert_array_equal(early["Cuba"], plain["Cuba"])


def test_no_uptake_changes_nothing(network: corridor.Network) -> None:
    """An open pathway acts only through the uptake (it fails if the share ignored it)."""
    plain, opened = pathway_data(None, uptake=0.0), pathway_data("2019-03-11", uptake=0.0)

    def run(data: dict[str, Any]) -> pd.DataFrame:
        return corridor.simulate(scenario(data), seed=2, agents=3000, network=network).to_frame()

    pd.testing.assert_frame_equal(run(plain), run(opened))


def test_people_with_an_open_pathway_stop_crossing_between_ports(
    run_small: Callable[..., corridor.Results], scenario_data: dict[str, Any]
) -> None:
    # Deterrence's lag beyond the horizon: arrivals are the same, only crossings can change.
    scenario_data["demand_response"] = {"elasticity": 0.0, "lag_days": 365}
    scenario_data["behaviour"]["legal_pathway_uptake"] = 1.0
    opened = copy.deepcopy(scenario_data)
    opens = 20
    opened["events"] = [{"date": "2019-03-21", "name": "parole", "set": {"legal_pathways": ["Honduras"]}}]
    before, after = run_small(scenario_data), run_small(opened)
    assert_identity(after)
    frame = {name: r.to_frame() for name, r in (("before", before), ("after", after))}

    def encounters(name: str, nationality: str, late: bool) -> float:
        f = frame[name]
        rows = f[(f["metric"] == "us_encounters") & (f["nationality"] == nationality)]
        day = (pd.to_datetime(rows["date"]) - pd.Timestamp("2019-03-01")).dt.days
        return float(rows.loc[(day >= opens) == late, "value"].sum())

    assert encounters("before", "Honduras", late=True) > 0
    assert encounters("after", "Honduras", late=True) == 0  # uptake 1: no one crosses
    assert encounters("after", "Honduras", late=False) == encounters("before", "Honduras", late=False)
    assert encounters("after", "Guatemala", late=True) > 0
    # They wait at their border city instead.
    waiting = {
        name: f[(f["metric"] == "present") & (f["nationality"] == "Honduras")] for name, f in frame.items()
    }
    assert waiting["after"]["value"].iloc[-1] > waiting["before"]["value"].iloc[-1]


def test_an_unknown_nationality_in_legal_pathways_is_refused(network: corridor.Network) -> None:
    data = pathway_data(None)
    data["events"] = [{"date": "2019-03-11", "name": "parole", "set": {"legal_pathways": ["Atlantis"]}}]
    with pytest.raises(ScenarioError, match=r"events\.0\.set\.legal_pathways.*Atlantis"):
        corridor.compile_timeline(scenario(data), network)
