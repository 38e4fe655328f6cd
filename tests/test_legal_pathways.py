"""Legal pathways (``policy.legal_pathways``, ``behaviour.legal_pathway_uptake``): people who
take a pathway that an irregular crossing forfeits neither set out nor cross (docs/model.md)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
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


OPENS_DAY = 20  # 2019-03-21


def late_encounters(results: corridor.Results, nationality: str, late: bool = True) -> float:
    """US encounters of ``nationality`` from the day the pathway opens (``late``) or before it."""
    f = results.to_frame()
    rows = f[(f["metric"] == "us_encounters") & (f["nationality"] == nationality)]
    day = (pd.to_datetime(rows["date"]) - pd.Timestamp("2019-03-01")).dt.days
    return float(rows.loc[(day >= OPENS_DAY) == late, "value"].sum())


def with_pathway(data: dict[str, Any], uptake: float, lag_days: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``data`` without and with a pathway for Hondurans opening on day ``OPENS_DAY``."""
    data["demand_response"] = {"elasticity": 0.0, "lag_days": lag_days}
    data["behaviour"]["legal_pathway_uptake"] = uptake
    opened = copy.deepcopy(data)
    opened["events"] = [{"date": "2019-03-21", "name": "parole", "set": {"legal_pathways": ["Honduras"]}}]
    return data, opened


@pytest.mark.parametrize("lag_days", [0, 5])
def test_with_full_uptake_no_one_of_the_nationality_crosses_once_it_opens(
    run_small: Callable[..., corridor.Results], scenario_data: dict[str, Any], lag_days: int
) -> None:
    # With a lag, those who enter in the lag_days after the opening are not cut from the
    # arrivals: they decide at the border, as those who entered before it do.
    plain, opened = with_pathway(scenario_data, uptake=1.0, lag_days=lag_days)
    # One scale for both (not a number of agents: the pathway run has fewer persons).
    before, after = run_small(plain, scale=20.0), run_small(opened, scale=20.0)
    assert_identity(after)
    assert late_encounters(before, "Honduras") > 0
    assert late_encounters(after, "Honduras") == 0  # those in Mexico wait; no one new sets out
    assert late_encounters(after, "Honduras", late=False) == late_encounters(before, "Honduras", late=False)
    assert late_encounters(after, "Guatemala") > 0
    # They wait at their border city instead.
    present = {
        name: r.to_frame().query("metric == 'present' and nationality == 'Honduras'")["value"].iloc[-1]
        for name, r in (("before", before), ("after", after))
    }
    assert present["after"] > present["before"]


def test_a_share_of_those_already_in_mexico_stop_crossing_for_good(
    run_small: Callable[..., corridor.Results], scenario_data: dict[str, Any]
) -> None:
    # Deterrence's lag beyond the horizon: arrivals are the same (none is cut), so everyone of
    # the nationality may take it at the border, a lasting decision per group.
    plain, opened = with_pathway(scenario_data, uptake=0.5, lag_days=365)
    seeds = (1, 2, 3)
    before = sum(late_encounters(run_small(plain, seed=s), "Honduras") for s in seeds)
    after = sum(late_encounters(run_small(opened, seed=s), "Honduras") for s in seeds)
    assert 0.2 * before < after < 0.95 * before


def test_an_unknown_nationality_in_legal_pathways_is_refused(network: corridor.Network) -> None:
    data = pathway_data(None)
    data["events"] = [{"date": "2019-03-11", "name": "parole", "set": {"legal_pathways": ["Atlantis"]}}]
    with pytest.raises(ScenarioError, match=r"events\.0\.set\.legal_pathways.*Atlantis"):
        corridor.compile_timeline(scenario(data), network)


def test_arrivals_are_net_of_a_pathways_takers_from_its_lag_after_the_opening() -> None:
    from corridor.pathways import lagged_pathway_share, pathway_net_days

    # Segments from days 0, 10, 20 and 30: nationality 0 open from day 0 on; nationality 1 open
    # in the segments from 10 and 20 (one spell), shut from 30; nationality 2 never.
    by_segment = np.array([[0.5, 0, 0], [0.5, 0.5, 0], [0.5, 0.5, 0], [0.5, 0, 0]])
    starts = [0, 10, 20, 30]
    net = pathway_net_days(by_segment, starts, lag_days=np.array([7, 7, 7]))
    np.testing.assert_array_equal(net[:, 0], [0, 0, 0, 0])  # open from day 0: cut from day 0
    np.testing.assert_array_equal(net[:, 1], [-1, 17, 17, -1])  # the spell's opening + lag
    np.testing.assert_array_equal(net[:, 2], [-1, -1, -1, -1])
    # The same day the timeline's arrivals start to be cut.
    segment_of_day = np.repeat(np.arange(4), 10).astype(np.int16)
    share = lagged_pathway_share(by_segment, segment_of_day, lag_days=np.array([7, 7, 7]))
    assert share is not None
    assert share[16, 1] == 0 and share[17, 1] == 0.5 and share[0, 0] == 0.5
    # A nationality counted upstream (at the Darien) learns as late, and travels 14 days more.
    late = np.array([7, 21, 7])
    net = pathway_net_days(by_segment, starts, lag_days=late)
    np.testing.assert_array_equal(net[:, 1], [-1, 31, 31, -1])
    share = lagged_pathway_share(by_segment, segment_of_day, lag_days=late)
    assert share is not None
    assert share[30, 1] == 0 and share[31, 1] == 0.5 and share[17, 0] == 0.5


def test_those_counted_at_the_darien_learn_of_a_pathway_a_journey_later() -> None:
    from corridor.pathways import pathway_lag_days

    sc = corridor.load_scenario(Path(__file__).parents[1] / "scenarios" / "mexico-2018-2024.yaml")
    lags = dict(zip(sc.nationalities, pathway_lag_days(sc, sc.nationalities), strict=True))
    news = sc.demand_response.lag_days
    assert lags["Venezuela"] == lags["Haiti"] == news + round(sc.darien_lag_days)
    assert lags["Cuba"] == lags["Nicaragua"] == news  # Honduras' count alone; latent
