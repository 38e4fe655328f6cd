"""Demand without outcomes: upstream entries, latent demand, deterrence (docs/model.md, "Demand")."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.errors import ScenarioError
from corridor.observations import inflows
from corridor.observations.inflows import derive_inflows, latent_demand, series_cutoff
from corridor.observations.reader import INPUT_SERIES, load_observed
from corridor.scenario.loading import validate_data
from corridor.scenario.schema import Demand
from corridor.timeline import enforcement_index

from .conftest import base_scenario_data

#: The small scenario's horizon is March 2019 to 9 April 2019; the cut-off falls between.
CUTOFF = "2019-04-01"
HN = "hn_irregular_entries"
LATENT_HONDURAS = {"level_persons_per_month": 9000.0, "trend_per_year": 0.2, "seasonal_amplitude": 0.25}


def demand_data(cutoff: str | None = CUTOFF, **top: Any) -> dict[str, Any]:
    """The small scenario with outcome-free inflows: CA-4 nationals latent, the others upstream."""
    data = base_scenario_data()
    honduras, guatemala, cuba = data["inflows"]
    for inflow in data["inflows"]:
        del inflow["persons_per_day"]
    honduras.update(derived="latent", demand=dict(LATENT_HONDURAS))
    guatemala.update(derived="latent", demand={"level_persons_per_month": 6000.0})
    cuba.update(derived="upstream_entries", upstream_share=0.8)
    data["inflows"] += [
        {"nationality": "Venezuela", "entry": {"Ciudad Tecun Uman": 1.0}, "derived": "upstream_entries"},
        {
            "nationality": "Other",
            "entry": {"Ciudad Tecun Uman": 0.9, "Ocos": 0.1},
            "derived": "upstream_entries",
        },
    ]
    data["inputs_cutoff"] = cutoff
    data.update(top)
    return data


def scenario(data: dict[str, Any]) -> corridor.Scenario:
    return validate_data(data)


def hn_value(observed: pd.DataFrame, breakdown: str, month: str) -> float:
    """Honduras' registered irregular entries of one month, read straight from the rows."""
    rows = observed[
        (observed["series"] == HN)
        & (observed["breakdown"].fillna("") == breakdown)
        & (observed["period_start"] == pd.Timestamp(f"{month}-01"))
    ]
    assert len(rows) >= 1, (breakdown, month)
    return float(rows["value"].max())


def poisoned(observed: pd.DataFrame, cutoff: str, factor: float = 7.0) -> pd.DataFrame:
    """``observed`` with every value of a period ending on or after ``cutoff`` multiplied."""
    out = observed.copy()
    late = out["period_end"] >= pd.Timestamp(cutoff)
    out.loc[late, "value"] = out.loc[late, "value"] * factor
    return out


def table(sc: corridor.Scenario, observed: pd.DataFrame) -> pd.DataFrame:
    return derive_inflows(sc, observed).set_index(["nationality", "month"])


# ------------------------------------------------------------------------- upstream entries
def test_upstream_entries_are_share_times_honduras_entries_before_the_cutoff() -> None:
    observed = load_observed()
    got = table(scenario(demand_data()), observed)
    cuba_march = hn_value(observed, "nationality=Cuba", "2019-03")
    assert cuba_march > 0
    assert got.loc[("Cuba", "2019-03"), "persons"] == pytest.approx(0.8 * cuba_march)
    assert got.loc[("Cuba", "2019-03"), "basis"] == "data"
    assert got.loc[("Venezuela", "2019-03"), "persons"] == pytest.approx(
        hn_value(observed, "nationality=Venezuela", "2019-03")
    )
    # Other: Honduras' total minus every other nationality the scenario lists (latent ones too).
    listed = ("Honduras", "Guatemala", "Cuba", "Venezuela")
    residual = hn_value(observed, "", "2019-03") - sum(
        hn_value(observed, f"nationality={n}", "2019-03") for n in listed
    )
    assert got.loc[("Other", "2019-03"), "persons"] == pytest.approx(residual)
    # April ends after the cut-off: the last month before it (persistence).
    last = 0.8 * hn_value(observed, "nationality=Cuba", "2019-03")
    assert got.loc[("Cuba", "2019-04"), "persons"] == pytest.approx(last)
    assert got.loc[("Cuba", "2019-04"), "basis"] == "last upstream count (2019-03)"


def test_upstream_entries_read_nothing_at_or_after_the_cutoff() -> None:
    observed = load_observed()
    sc = scenario(demand_data())
    honest = derive_inflows(sc, observed)
    pd.testing.assert_frame_equal(honest, derive_inflows(sc, poisoned(observed, CUTOFF)))
    # The poison would show if read: a later cut-off reads April, and differs poisoned.
    later = scenario(demand_data(cutoff="2019-05-01"))
    assert not derive_inflows(later, observed)["persons"].equals(
        derive_inflows(later, poisoned(observed, CUTOFF))["persons"]
    )


def test_upstream_known_until_reads_later_upstream_months_only() -> None:
    observed = load_observed()
    data = demand_data(upstream_known_until="2019-05-01")
    data["inflows"].append(
        {"nationality": "Haiti", "entry": {"Ciudad Tecun Uman": 1.0}, "derived": "us_encounters_next_month"}
    )
    sc = scenario(data)
    assert series_cutoff(sc, HN) == pd.Timestamp("2019-05-01")
    assert series_cutoff(sc, "usbp_sw_encounters") == pd.Timestamp(CUTOFF)
    assert {HN, "darien_crossings"} == INPUT_SERIES
    got = table(sc, observed)
    assert got.loc[("Cuba", "2019-04"), "persons"] == pytest.approx(
        0.8 * hn_value(observed, "nationality=Cuba", "2019-04")
    )
    assert got.loc[("Cuba", "2019-04"), "basis"] == "data"
    # April is read although it ends after the inputs cut-off: poisoned there, it is 7 times larger.
    poisoned_april = table(sc, poisoned(observed, CUTOFF)).loc[("Cuba", "2019-04"), "persons"]
    assert poisoned_april == pytest.approx(7 * got.loc[("Cuba", "2019-04"), "persons"])
    # Nothing from May on is read, and the outcome rule still stops at the inputs cut-off.
    pd.testing.assert_frame_equal(
        derive_inflows(sc, observed), derive_inflows(sc, poisoned(observed, "2019-05-01"))
    )
    without = data | {"upstream_known_until": None}
    haiti = got.loc["Haiti", "persons"]
    pd.testing.assert_series_equal(haiti, table(scenario(without), observed).loc["Haiti", "persons"])


# ---------------------------------------------------------------------------- latent demand
def test_latent_demand_follows_its_formula() -> None:
    demand = Demand(
        level_persons_per_month=1000, trend_per_year=0.12, seasonal_amplitude=0.3, seasonal_peak_month=4
    )
    months = pd.period_range("2019-03", "2020-04", freq="M")
    got = latent_demand(demand, pd.Timestamp("2019-03-10").date(), months)
    assert got[pd.Period("2019-03", "M")] == pytest.approx(1000 * (1 + 0.3 * math.cos(2 * math.pi * -1 / 12)))
    assert got[pd.Period("2019-04", "M")] == pytest.approx(1000 * math.exp(0.01) * 1.3)  # the peak
    assert got[pd.Period("2019-10", "M")] == pytest.approx(1000 * math.exp(0.12 * 7 / 12) * 0.7)  # the trough
    assert got[pd.Period("2020-04", "M")] == pytest.approx(1000 * math.exp(0.12 * 13 / 12) * 1.3)
    flat = latent_demand(Demand(level_persons_per_month=500), pd.Timestamp("2019-03-01").date(), months)
    assert (flat == 500).all()


def test_latent_inflows_read_no_data_and_spread_over_the_days(
    network: corridor.Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_data() -> pd.DataFrame:
        raise AssertionError("the latent rule read observed data")

    monkeypatch.setattr(inflows, "_shipped_observations", no_data)
    data = base_scenario_data()
    for inflow in data["inflows"]:
        del inflow["persons_per_day"]
        inflow.update(derived="latent", demand={"level_persons_per_month": 3100.0})
    data["inflows"][0]["demand"] = dict(LATENT_HONDURAS)
    t = corridor.compile_timeline(scenario(data), network)
    per_day = t.arrivals_persons.sum(axis=2)
    march, april = t.dates.month == 3, t.dates.month == 4
    np.testing.assert_allclose(per_day[march, 1], 100.0)
    expected_april = 9000 * math.exp(0.2 / 12) * (1 + 0.25 * math.cos(0.0)) / 30
    np.testing.assert_allclose(per_day[april, 0], expected_april)


# ------------------------------------------------------------- Darien crossings, two routes
def counts_frame(rows: dict[tuple[str, str], float]) -> pd.DataFrame:
    """Observed rows of Venezuelans' upstream counts: (series, YYYY-MM) -> value."""
    geography = {HN: "Honduras", "darien_crossings": "Panama - Darien Gap"}
    out = []
    for (series, month), value in rows.items():
        start = pd.Timestamp(f"{month}-01")
        out.append(
            {
                "series": series,
                "geography": geography[series],
                "breakdown": "nationality=Venezuela",
                "period_start": start,
                "period_end": start + pd.offsets.MonthEnd(0),
                "value": value,
            }
        )
    return pd.DataFrame(out)


def venezuelans_by_two_routes(**overland: Any) -> corridor.Scenario:
    """June-September 2021, Venezuelans overland (upstream counts) and by air (latent, until a
    visa requirement); the other inflows constant."""
    data = base_scenario_data()
    data["horizon"] = {"start": "2021-06-01", "end": "2021-09-30"}
    data["inputs_cutoff"] = "2021-10-01"
    data["inflows"] += [
        {
            "nationality": "Venezuela",
            "entry": {"Ciudad Tecun Uman": 1.0},
            "derived": "upstream_entries",
            "upstream": ["honduras", "darien"],
            **overland,
        },
        {
            "nationality": "Venezuela",
            "entry": {"Mexico City": 1.0},
            "derived": "latent",
            "demand": {"level_persons_per_month": 3000.0},
            "until": "2021-07-20",
        },
    ]
    return scenario(data)


def test_darien_counts_enter_mexico_two_weeks_later_and_the_larger_count_is_taken() -> None:
    sc = venezuelans_by_two_routes(upstream_share=0.5)
    assert sc.darien_lag_days == 14  # the default; the figures below assume it
    observed = counts_frame(
        {
            ("darien_crossings", "2021-05"): 3100.0,  # 100 a day
            ("darien_crossings", "2021-06"): 6000.0,  # 200 a day
            ("darien_crossings", "2021-07"): 0.0,
            ("darien_crossings", "2021-08"): 3100.0,
            (HN, "2021-06"): 100.0,
            (HN, "2021-07"): 5000.0,
            (HN, "2021-08"): 100.0,
            (HN, "2021-09"): 100.0,
        }
    )
    got = derive_inflows(sc, observed)
    overland = got[got["inflow"] == 3].set_index("month")["persons"]
    # June: 1-14 from Darien 18-31 May, 15-30 from 1-16 June; July: Honduras' 5,000 is larger
    # than Darien's 2,800 (17-30 June); August: 1,700 (1-17 August); September: Darien only in
    # part (its September is unknown), so Honduras' 100.
    expected = [14 * 100 + 16 * 200, 5000.0, 17 * 100, 100.0]
    np.testing.assert_allclose(overland.to_numpy(), 0.5 * np.array(expected))
    # The lag is the scenario's: with none, each month takes its own Darien count.
    same_month = derive_inflows(sc.model_copy(update={"darien_lag_days": 0.0}), observed)
    overland = same_month[same_month["inflow"] == 3].set_index("month")["persons"]
    np.testing.assert_allclose(overland.to_numpy(), 0.5 * np.array([6000.0, 5000.0, 3100.0, 100.0]))
    # The air route is a second inflow of the same nationality, kept apart.
    air = got[got["inflow"] == 4]
    assert (air["nationality"] == "Venezuela").all() and (air["persons"] == 3000.0).all()


def test_past_the_data_a_lagged_count_carries_its_last_month_forward_not_the_lagged_mix() -> None:
    sc = venezuelans_by_two_routes(upstream_share=0.5)
    sc = sc.model_copy(update={"inputs_cutoff": dt.date(2021, 9, 1)})
    observed = counts_frame(
        {
            ("darien_crossings", "2021-05"): 3100.0,
            ("darien_crossings", "2021-06"): 6000.0,
            ("darien_crossings", "2021-07"): 0.0,
            ("darien_crossings", "2021-08"): 3100.0,  # 100 a day: the latest count
            (HN, "2021-06"): 100.0,
            (HN, "2021-07"): 5000.0,
            (HN, "2021-08"): 100.0,
        }
    )
    got = derive_inflows(sc, observed)
    overland = got[got["inflow"] == 3].set_index("month")
    # August, the last derived month, is half July's Darien (none) and half August's: 1,700.
    assert overland.loc["2021-08", "persons"] == pytest.approx(0.5 * 1700)
    # September is past the data: August's whole Darien count (the larger), not that mix.
    assert overland.loc["2021-09", "persons"] == pytest.approx(0.5 * 3100)
    assert overland.loc["2021-09", "basis"] == "last upstream count (2021-08)"
    # A count that stops earlier is not carried past a later month of another: Honduras counts
    # September (100), the Darien's last month is August.
    longer = sc.model_copy(
        update={
            "inputs_cutoff": dt.date(2021, 10, 1),
            "horizon": sc.horizon.model_copy(update={"end": dt.date(2021, 10, 31)}),
        }
    )
    later = pd.concat([observed, counts_frame({(HN, "2021-09"): 100.0})], ignore_index=True)
    october = derive_inflows(longer, later).query("inflow == 3").set_index("month").loc["2021-10"]
    assert october["persons"] == pytest.approx(0.5 * 100)
    assert october["basis"] == "last upstream count (2021-09)"


def test_lagged_months_move_persons_without_losing_any() -> None:
    months = pd.period_range("2021-01", "2021-06", freq="M")
    counts = pd.Series(np.arange(1.0, 7.0) * 1000, index=months)
    assert inflows.lagged_months(counts, 0).equals(counts)
    moved = inflows.lagged_months(counts, 10)
    # January is only partly covered (its first ten days would come from December): dropped;
    # February to June wholly covered; July only in part.
    assert list(moved.index.astype(str)) == ["2021-02", "2021-03", "2021-04", "2021-05", "2021-06"]
    # Kept: every person of 22 January to 20 June (January's first 21 days land in the dropped
    # January, June's last ten in July).
    kept = counts.sum() - counts.iloc[0] * 21 / 31 - counts.iloc[-1] * 10 / 30
    assert moved.sum() == pytest.approx(kept)
    assert moved["2021-02"] == pytest.approx(1000 * 10 / 31 + 2000 * 18 / 28)


def test_an_inflow_stops_after_its_until_day(network: corridor.Network) -> None:
    data = base_scenario_data()
    data["inflows"][2]["until"] = "2019-03-20"  # Cubans, 2019-03-01 to 2019-04-09
    t = corridor.compile_timeline(scenario(data), network)
    assert t.scenario.nationalities[2] == "Cuba"
    per_day = t.arrivals_persons.sum(axis=2)  # (day, nationality)
    last = int(np.flatnonzero(t.dates == pd.Timestamp("2019-03-20"))[0])
    assert (per_day[: last + 1, 2] > 0).all() and (per_day[last + 1 :, 2] == 0).all()
    assert (per_day[last + 1 :, :2] > 0).all()  # the others go on


def test_a_nationality_is_derived_from_data_once_but_may_have_a_latent_route_too(
    network: corridor.Network,
) -> None:
    sc = venezuelans_by_two_routes()
    t = corridor.compile_timeline(sc, network)
    assert t.arrivals_persons.sum() > 0
    data = sc.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["inflows"][4] = dict(data["inflows"][3])  # the overland route twice
    assert "derived from data twice" in problems(data, network)["inflows.4.derived"]
    data = demand_data()
    data["inflows"][1]["upstream"] = ["darien"]  # Guatemala is latent
    assert "upstream_entries" in problems(data)["inflows.1.upstream"]


# ------------------------------------------------------------------- no outcome is an input
def outcome_free(observed: pd.DataFrame) -> pd.DataFrame:
    return observed[observed["series"].isin(INPUT_SERIES)].reset_index(drop=True)


def test_an_outcome_free_scenario_runs_the_same_without_any_outcome_series(
    network: corridor.Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = inflows._shipped_observations()
    stripped = outcome_free(shipped)
    assert 0 < len(stripped) < len(shipped) and set(stripped["series"]) == INPUT_SERIES
    data = demand_data(demand_response={"elasticity": 0.4, "lag_days": 5})
    data["events"] = [{"date": "2019-03-15", "name": "surge", "set": {"checkpoint_intensity.Chiapas": 6.0}}]
    sc = scenario(data)

    def run() -> pd.DataFrame:
        return corridor.simulate(sc, seed=3, agents=3000, network=network).to_frame()

    with_outcomes = run()
    monkeypatch.setattr(inflows, "_shipped_observations", lambda: stripped)
    pd.testing.assert_frame_equal(with_outcomes, run())
    # The check can fail: a scenario reading an outcome does not survive without them.
    data["inflows"][2] = {
        "nationality": "Cuba",
        "entry": {"Ciudad Tecun Uman": 1.0},
        "derived": "us_encounters_next_month",
    }
    with pytest.raises(ScenarioError, match=r"inflows\.2\.derived"):
        corridor.compile_timeline(scenario(data), network)


# ------------------------------------------------------------------------------ deterrence
SURGE_DAY = 10  # 2019-03-11


def deterrence_timeline(
    network: corridor.Network, response: dict[str, Any] | None, **event_set: Any
) -> corridor.Timeline:
    data = base_scenario_data()
    data["events"] = [
        {"date": "2019-03-11", "name": "surge", "set": event_set or {"checkpoint_intensity.Chiapas": 6.0}}
    ]
    if response is not None:
        data["demand_response"] = response
    return corridor.compile_timeline(scenario(data), network)


def test_deterrence_lowers_arrivals_lag_days_after_enforcement_rises(network: corridor.Network) -> None:
    plain = deterrence_timeline(network, None)
    t = deterrence_timeline(network, {"elasticity": 0.5, "lag_days": 7})
    n_states = len({s for s, c in zip(network.place_state, network.place_country, strict=True) if c == "MX"})
    jump = (6.0 - 3.0) / n_states  # Chiapas from 3 to 6, the mean over Mexican states
    index = t.enforcement_index
    assert index[SURGE_DAY] - index[SURGE_DAY - 1] == pytest.approx(jump)
    assert index[0] == pytest.approx(
        enforcement_index(t.scenario.policy, network, ["checkpoint_intensity", "bus_south_share"])
    )
    before, after = plain.arrivals_persons.sum(axis=(1, 2)), t.arrivals_persons.sum(axis=(1, 2))
    lagged = SURGE_DAY + 7
    np.testing.assert_array_equal(after[:lagged], before[:lagged])  # not before the lag
    factor = (index[SURGE_DAY] / index[0]) ** -0.5  # a constant elasticity: the index's ratio
    np.testing.assert_allclose(after[lagged:], before[lagged:] * factor)
    assert (after[lagged:] < before[lagged:]).all()
    np.testing.assert_allclose(t.demand_factor[lagged:], factor)


def test_busing_south_enters_the_index_and_elasticity_zero_changes_nothing(network: corridor.Network) -> None:
    plain = deterrence_timeline(network, None, bus_south_share=0.5)
    bus = deterrence_timeline(network, {"elasticity": 1.0, "lag_days": 0}, bus_south_share=0.5)
    assert bus.enforcement_index[SURGE_DAY] / bus.enforcement_index[0] == pytest.approx(1.5)
    assert bus.arrivals_persons[SURGE_DAY].sum() < plain.arrivals_persons[SURGE_DAY].sum()
    # Elasticity 1: an index 1.5 times the first day's, two thirds of the arrivals.
    assert bus.demand_factor[SURGE_DAY] == pytest.approx(1 / 1.5)
    checkpoints_only = deterrence_timeline(
        network, {"elasticity": 1.0, "index": ["checkpoint_intensity"]}, bus_south_share=0.5
    )
    np.testing.assert_array_equal(checkpoints_only.arrivals_persons, plain.arrivals_persons)
    off = deterrence_timeline(network, {"elasticity": 0.0, "lag_days": 0})
    np.testing.assert_array_equal(off.arrivals_persons, deterrence_timeline(network, None).arrivals_persons)
    assert (off.demand_factor == 1).all()


def test_the_same_rise_of_one_factor_deters_the_same_whatever_the_other_factor(
    network: corridor.Network,
) -> None:
    # Busing's factor 1 -> 1.5 on the surge day, with twice the checkpoints or not: the index is
    # in arbitrary units, so only its ratio may matter.
    low = deterrence_timeline(network, {"elasticity": 0.8, "lag_days": 0}, bus_south_share=0.5)
    data = base_scenario_data()
    data["policy"]["checkpoint_intensity"] = {
        k: 2 * v for k, v in data["policy"]["checkpoint_intensity"].items()
    }
    data["events"] = [{"date": "2019-03-11", "name": "surge", "set": {"bus_south_share": 0.5}}]
    data["demand_response"] = {"elasticity": 0.8, "lag_days": 0}
    high = corridor.compile_timeline(scenario(data), network)
    assert high.enforcement_index[0] == pytest.approx(2 * low.enforcement_index[0])
    np.testing.assert_allclose(high.demand_factor, low.demand_factor)
    assert low.demand_factor[SURGE_DAY] == pytest.approx(1.5**-0.8)


@pytest.mark.parametrize(
    ("start", "later", "when"),
    [
        (0.0, 0.0, "2019-03-01"),  # 0 throughout
        (0.0, 2.0, "2019-03-01"),  # 0 on the first day, raised later: no ratio to 0
        (1.0, 0.0, "2019-03-11"),  # raised to a ratio of 0 on a later day
    ],
)
def test_deterrence_with_an_index_of_zero_is_a_scenario_error(
    network: corridor.Network, start: float, later: float, when: str
) -> None:
    data = base_scenario_data()
    data["policy"]["checkpoint_intensity"] = {"default": start}
    data["events"] = [
        {"date": "2019-03-11", "name": "change", "set": {"checkpoint_intensity": {"default": later}}}
    ]
    data["demand_response"] = {"elasticity": 0.5, "index": ["checkpoint_intensity"]}
    found = problems(data, network)
    assert "above 0" in found["demand_response.elasticity"] and when in found["demand_response.elasticity"]
    data["demand_response"] = {"elasticity": 0.0, "index": ["checkpoint_intensity"]}
    corridor.compile_timeline(scenario(data), network)  # no deterrence: no ratio needed


# ---------------------------------------------------------------------------------- errors
def problems(data: dict[str, Any], network: corridor.Network | None = None) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        sc = validate_data(data)
        if network is not None:
            corridor.compile_timeline(sc, network)
    return {path: msg for path, _, msg in info.value.problems}


def test_an_unknown_or_ca4_nationality_of_upstream_entries_is_a_scenario_error(
    network: corridor.Network,
) -> None:
    data = demand_data()
    data["inflows"][3]["nationality"] = "Atlantis"
    found = problems(data, network)
    assert "Atlantis" in found["inflows.3.derived"] and "Venezuela" in found["inflows.3.derived"]
    data = demand_data()
    data["inflows"][0] = {
        "nationality": "Honduras",
        "entry": {"Ciudad Tecun Uman": 1.0},
        "derived": "upstream_entries",
    }
    assert "latent" in problems(data, network)["inflows.0.derived"]


def test_latent_needs_demand_and_rule_fields_go_with_their_rule() -> None:
    data = demand_data()
    del data["inflows"][1]["demand"]
    assert "demand" in problems(data)["inflows.1.demand"]
    data = demand_data()
    data["inflows"][2]["demand"] = {"level_persons_per_month": 10.0}
    assert "latent" in problems(data)["inflows.2.demand"]
    data = demand_data()
    data["inflows"][1]["upstream_share"] = 0.5
    assert "upstream_entries" in problems(data)["inflows.1.upstream_share"]
    data = demand_data()
    data["inflows"][0]["demand"]["seasonal_amplitude"] = 0.95
    assert "inflows.0.demand.seasonal_amplitude" in problems(data)
    data = demand_data(demand_response={"elasticity": -1})
    assert "demand_response.elasticity" in problems(data)


def test_demand_parameters_are_calibratable_by_dotted_path() -> None:
    prior = {"distribution": "uniform", "low": 0.1, "high": 0.9}
    paths = (
        "inflows.0.demand.level_persons_per_month",
        "inflows.0.demand.seasonal_amplitude",
        "inflows.0.demand.seasonal_peak_month",
        "inflows.2.upstream_share",
        "demand_response.elasticity",
    )
    data = demand_data(priors={p: dict(prior, low=1.0, high=3.0) if "peak" in p else prior for p in paths})
    assert set(scenario(data).priors) == set(paths)
    data = demand_data(priors={"inflows.1.upstream_share": prior})  # Guatemala is latent
    (message,) = problems(data).values()
    assert message.startswith("priors.inflows.1.upstream_share") and "upstream_entries" in message
