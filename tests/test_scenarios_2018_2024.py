"""scenarios/mexico-2018-2024.yaml: the continuous 2018-2024 scenario and its policy timeline.

Each check reads the compiled timeline (``policy_on(day)``) on the dates the timeline says a
policy changed, and the day before, so that a moved or dropped event is caught.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.scenario.paths import MISSING, get_path
from corridor.testing import assert_identity
from corridor.timeline import US_OUTCOMES, PolicyArrays, Timeline, compile_timeline, day_index
from tests.conftest import REPO

SCENARIO = REPO / "scenarios" / "mexico-2018-2024.yaml"
NATIONALITIES = [
    "Guatemala",
    "Honduras",
    "El Salvador",
    "Nicaragua",
    "Cuba",
    "Venezuela",
    "Ecuador",
    "Colombia",
    "Haiti",
    "Other",
]
#: Shipped data files a source may name instead of an address (their rows carry the titles).
DATA_FILES = ("reported_in_press.csv", "observed.csv", "facilities.csv")


@pytest.fixture(scope="module")
def scenario() -> corridor.Scenario:
    return corridor.load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def timeline(scenario: corridor.Scenario, network: corridor.Network) -> Timeline:
    return compile_timeline(scenario, network)


def on(timeline: Timeline, date: str) -> PolicyArrays:
    return timeline.policy_on(day_index(timeline, date))


def expelled_share(timeline: Timeline, date: str, nationality: str) -> float:
    cdf = on(timeline, date).us_outcome_cdf[timeline.nationalities.index(nationality)]
    k = US_OUTCOMES.index("expelled")
    return float(cdf[k] - cdf[k - 1])


def mpp_cities(timeline: Timeline, date: str) -> set[str]:
    mask = on(timeline, date).mpp_city
    return {timeline.network.place_names[i] for i in np.flatnonzero(mask)}


def open_offices(timeline: Timeline, date: str) -> list[str]:
    p = on(timeline, date)
    day = day_index(timeline, date)
    names = timeline.network.place_names
    return [
        names[int(place)]
        for place, (opens, closes) in zip(p.asylum_office_place, p.asylum_office_days, strict=True)
        if opens <= day < closes
    ]


# --------------------------------------------------------------------------- the file


def test_loads_with_the_horizon_spin_up_and_nationalities(scenario: corridor.Scenario) -> None:
    assert scenario.name == "mexico-2018-2024"
    assert scenario.horizon.start == dt.date(2018, 7, 1)
    assert scenario.horizon.end == dt.date(2024, 6, 30)
    assert scenario.horizon.spin_up_days == 92
    # The spin-up ends with September 2018: October 2018 is the first day compared with data.
    assert scenario.horizon.start + dt.timedelta(days=92) == dt.date(2018, 10, 1)
    assert scenario.nationalities == NATIONALITIES
    # Demand, never an outcome: latent for those who enter Mexico directly (overland from
    # Central America, or by air to Mexico City), upstream counts for those coming overland from
    # further south.
    ca4 = {"Guatemala", "Honduras", "El Salvador", "Nicaragua"}
    for i in scenario.inflows:
        by_air = set(i.entry) == {"Mexico City"}
        assert i.derived == ("latent" if i.nationality in ca4 or by_air else "upstream_entries")
    air = {i.nationality: i.until for i in scenario.inflows if set(i.entry) == {"Mexico City"}}
    # Mexico's visa requirements closed the air route (provenance inflows.10.until, 11.until).
    assert air == {"Venezuela": dt.date(2022, 1, 20), "Ecuador": dt.date(2021, 9, 3), "Colombia": None}


def test_entry_weights_and_priors_are_those_of_the_one_year_scenarios(scenario: corridor.Scenario) -> None:
    later = corridor.load_scenario(REPO / "scenarios" / "mexico-2023-24.yaml")
    first = corridor.load_scenario(REPO / "scenarios" / "mexico-2019.yaml")
    overland = [i for i in scenario.inflows if set(i.entry) != {"Mexico City"}]
    assert [i.entry for i in overland] == [i.entry for i in later.inflows]
    new_priors = (
        "demand_response.elasticity",
        "behaviour.expelled_retry_probability",
        "behaviour.legal_pathway_uptake",
        "events.29.set.cbp_one.uptake.default",  # CBP One's waiting after the May 2023 rule
    )
    assert {k: v for k, v in scenario.priors.items() if k not in new_priors} == first.priors
    assert scenario.population == first.population
    # Only the way back after busing south, the retries after a Title 42 expulsion and the
    # legal pathways' uptake (which mexico-2019 predates) are new (containment, docs/model.md).
    same = {"rest_days_after_bus_south": 0, "expelled_retry_probability": 1.0, "legal_pathway_uptake": 0.0}
    assert scenario.behaviour.model_copy(update=same) == first.behaviour
    assert scenario.hazards == first.hazards


def test_every_event_and_caravan_has_a_source(scenario: corridor.Scenario) -> None:
    for what in (*scenario.events, *scenario.caravans):
        assert what.source, what.name
        assert "http" in what.source or any(f in what.source for f in DATA_FILES), what.name


def test_events_and_caravans_are_in_date_order_within_the_horizon(scenario: corridor.Scenario) -> None:
    for items in (scenario.events, scenario.caravans):
        dates = [x.date for x in items]
        assert dates == sorted(dates)
        assert all(scenario.horizon.start <= d <= scenario.horizon.end for d in dates)
    # No caravan is lost in the spin-up.
    assert min(c.date for c in scenario.caravans) >= dt.date(2018, 10, 1)


def test_provenance_paths_exist_and_event_entries_name_their_event(scenario: corridor.Scenario) -> None:
    data: Any = scenario.model_dump(by_alias=True)
    for path in scenario.provenance:
        assert get_path(data, path) is not MISSING, path
    for path, entry in scenario.provenance.items():
        parts = path.split(".")
        if parts[0] == "events":  # text starts with the event's name: an index that drifts is caught
            text = entry.assumption or entry.source or ""
            assert text.startswith(scenario.events[int(parts[1])].name), path
    # Every event that sets a number other than a date-sourced one has its reasoning.
    for i in (6, 7, 11, 14, 16, 17, 19, 20, 24, 25, 26, 27, 29, 30, 33, 34):
        assert scenario.provenance_of(f"events.{i}.set") is not None, i


def test_a_variant_that_drops_events_keeps_priors_and_reasons_on_their_events() -> None:
    # The no-deal counterfactual drops the June 2019 events: the prior on what the end of Title
    # 42 sets, and every event's reason, move with their events instead of naming others.
    base = corridor.load_scenario(SCENARIO)
    variant = corridor.load_scenario(REPO / "scenarios" / "counterfactuals" / "mexico-2018-2024-no-deal.yaml")
    assert len(variant.events) < len(base.events)
    data = variant.model_dump(by_alias=True)
    for key in (*variant.priors, *variant.provenance):
        assert get_path(data, key) is not MISSING, key
    (uptake,) = [k for k in variant.priors if k.endswith("cbp_one.uptake.default")]
    assert variant.events[int(uptake.split(".")[1])].name.startswith("Title 42 ends")
    for key, entry in variant.provenance.items():
        if key.startswith("events."):
            event = variant.events[int(key.split(".")[1])]
            assert (entry.assumption or entry.source or "").startswith(event.name), key


def test_the_required_caravans_are_there(scenario: corridor.Scenario) -> None:
    months = {(c.date.year, c.date.month) for c in scenario.caravans}
    for month in ((2018, 10), (2019, 1), (2020, 1), (2021, 10), (2021, 11), (2022, 6), (2023, 12), (2024, 3)):
        assert month in months, month
    assert all(c.size_persons >= 1000 for c in scenario.caravans)


# --------------------------------------------------------------------------- the timeline


def test_visa_window_of_january_2019(timeline: Timeline) -> None:
    assert not on(timeline, "2019-01-16").policy.visas.window_open
    assert on(timeline, "2019-01-17").policy.visas.window_open
    assert on(timeline, "2019-01-31").policy.visas.window_open
    assert not on(timeline, "2019-02-01").policy.visas.window_open


def test_mpp_rolls_out_city_by_city(timeline: Timeline) -> None:
    assert mpp_cities(timeline, "2019-01-24") == set()
    assert mpp_cities(timeline, "2019-01-25") == {"Tijuana"}
    assert "Mexicali" in mpp_cities(timeline, "2019-03-12")
    assert "Ciudad Juarez" in mpp_cities(timeline, "2019-03-16")
    assert "Nuevo Laredo" not in mpp_cities(timeline, "2019-07-08")
    assert "Nuevo Laredo" in mpp_cities(timeline, "2019-07-09")
    assert "Matamoros" in mpp_cities(timeline, "2019-07-19")
    assert "Piedras Negras" in mpp_cities(timeline, "2019-10-28")
    assert len(mpp_cities(timeline, "2020-01-02")) == 7


def test_no_mpp_enrolment_between_the_wind_down_and_the_restart(timeline: Timeline) -> None:
    assert mpp_cities(timeline, "2021-01-20")
    first, last = day_index(timeline, "2021-01-21"), day_index(timeline, "2021-12-05")
    assert not any(timeline.policy_on(d).mpp_city.any() for d in range(first, last + 1))
    assert all(
        timeline.policy_on(d).policy.mpp.relief_share == 1.0
        for d in range(day_index(timeline, "2021-02-19"), last + 1)
    )
    assert mpp_cities(timeline, "2021-12-06") == {"Ciudad Juarez"}
    assert mpp_cities(timeline, "2022-01-19") == {"Ciudad Juarez", "Tijuana", "Matamoros"}
    # And none after its end.
    assert mpp_cities(timeline, "2022-08-07")
    assert not any(
        timeline.policy_on(d).mpp_city.any()
        for d in range(day_index(timeline, "2022-08-08"), timeline.n_days)
    )


def test_june_2019_deal(timeline: Timeline) -> None:
    before, after = on(timeline, "2019-06-09").policy, on(timeline, "2019-06-10").policy
    assert before.checkpoint_intensity["Chiapas"] == 3.0 and after.checkpoint_intensity["Chiapas"] == 6.0
    assert before.raid_probability_per_day == 0.001 and after.raid_probability_per_day == 0.002
    assert on(timeline, "2019-06-06").policy.us_outcome_shares["default"]["mpp"] == 0.15
    assert on(timeline, "2019-06-07").policy.us_outcome_shares["default"]["mpp"] == 0.35


def test_title_42_from_march_2020_to_may_2023(timeline: Timeline) -> None:
    assert expelled_share(timeline, "2020-03-20", "Honduras") == 0.0
    assert expelled_share(timeline, "2020-03-21", "Honduras") > 0.5
    assert expelled_share(timeline, "2021-06-15", "Honduras") > 0.5
    assert expelled_share(timeline, "2023-05-11", "Honduras") > 0.5
    for nationality in NATIONALITIES:
        assert expelled_share(timeline, "2023-05-12", nationality) == 0.0
        assert expelled_share(timeline, "2023-06-15", nationality) == 0.0
    # Extended to Venezuelans in October 2022 and to Cubans, Haitians and Nicaraguans in January 2023.
    assert expelled_share(timeline, "2022-10-11", "Venezuela") < expelled_share(
        timeline, "2022-10-12", "Venezuela"
    )
    assert expelled_share(timeline, "2023-01-04", "Cuba") < expelled_share(timeline, "2023-01-05", "Cuba")


def test_metering_until_march_2020(timeline: Timeline) -> None:
    tijuana = timeline.network.place_id("Tijuana")
    assert on(timeline, "2018-07-01").metering_intake[tijuana] == 42
    assert on(timeline, "2019-06-01").metering_intake[tijuana] == 24
    assert on(timeline, "2019-07-01").metering_intake[tijuana] == 5
    assert on(timeline, "2020-03-20").metering_intake.sum() > 0
    first = day_index(timeline, "2020-03-21")
    assert not any(timeline.policy_on(d).metering_intake.any() for d in range(first, timeline.n_days))
    # The lists stay, frozen, until CBP One appointments replace them (January 2023).
    for date in ("2020-03-21", "2021-06-01", "2022-12-31"):
        assert on(timeline, date).metering_list[tijuana]
    assert not on(timeline, "2023-02-01").metering_list.any()
    assert not on(timeline, "2018-07-01").metering_list[timeline.network.place_id("Tapachula")]


def test_the_people_identity_holds_through_the_busing_of_december_2023() -> None:
    # The scenario's heaviest containment: busing south and an interdiction surge from 28
    # December 2023, detention overflow, transfers and CBP One appointments, all at once.
    window = {"horizon.start": "2023-11-15", "horizon.end": "2024-01-31", "horizon.spin_up_days": 30}
    results = corridor.simulate(SCENARIO, agents=3000, overrides=window)
    assert_identity(results)
    surge = results.dates.get_loc(pd.Timestamp("2023-12-28"))
    for flow in ("bused_south", "detention_transfers", "detention_overflow_released", "cbp_one_bookings"):
        assert results.total(flow)[surge:].sum() > 0, flow  # each mechanism acted in the window
    before = results.total("bused_south")[:surge].sum() / surge
    after = results.total("bused_south")[surge:].sum() / (len(results.dates) - surge)
    assert after > 2 * before  # busing south as the main detention outcome from that day


def test_metering_lists_stay_frozen_when_ports_stop_processing() -> None:
    window = {"horizon.start": "2020-02-01", "horizon.end": "2020-04-15", "horizon.spin_up_days": 30}
    results = corridor.simulate(SCENARIO, agents=3000, overrides=window)
    day = {d: results.dates.get_loc(pd.Timestamp(d)) for d in ("2020-03-20", "2020-03-21", "2020-04-15")}
    listed = results.stock("metering_waitlist").sum(axis=(1, 2))
    waiting = results.stock("border_waiting").sum(axis=(1, 2))
    assert listed[day["2020-03-20"]] > 0
    # Before CBP One everyone waiting at the border is on a list, metered or frozen.
    np.testing.assert_allclose(listed, waiting)
    # Frozen: nobody joins and nobody is let in, so the list only shrinks (people give up).
    after = listed[day["2020-03-21"] : day["2020-04-15"] + 1]
    assert after[-1] > 0 and np.all(np.diff(after) <= 1e-9)
    assert results.total("us_admitted_port")[day["2020-03-21"] :].sum() == 0


def test_cbp_one(timeline: Timeline) -> None:
    assert on(timeline, "2023-01-11").policy.cbp_one.appointments_per_day == 0
    assert not on(timeline, "2023-01-11").policy.cbp_one.north_of_19th_only
    assert on(timeline, "2023-01-12").policy.cbp_one.appointments_per_day > 0
    assert on(timeline, "2023-01-12").policy.cbp_one.north_of_19th_only
    assert on(timeline, "2023-05-12").policy.cbp_one.appointments_per_day == 1000
    assert on(timeline, "2023-06-01").policy.cbp_one.appointments_per_day == 1250
    assert on(timeline, "2023-06-30").policy.cbp_one.appointments_per_day == 1450
    # The end of Title 42 sets the default share waiting for an appointment (a prior in the
    # backtest) and keeps the Central Americans' own.
    uptake = {"default": 0.5, "Guatemala": 0.2, "Honduras": 0.3, "El Salvador": 0.3}
    assert on(timeline, "2023-05-12").policy.cbp_one.uptake == uptake
    assert on(timeline, "2024-06-30").policy.cbp_one.north_of_19th_only


def test_comar_offices_open_as_dated(timeline: Timeline) -> None:
    assert sorted(open_offices(timeline, "2019-01-01")) == [
        "Acayucan",
        "Mexico City",
        "Tapachula",
        "Tenosique",
    ]
    assert "Tijuana" in open_offices(timeline, "2019-07-01")
    assert "Guadalajara" not in open_offices(timeline, "2021-06-24")
    assert "Guadalajara" in open_offices(timeline, "2021-06-25")
    later = corridor.load_scenario(REPO / "scenarios" / "mexico-2023-24.yaml")
    assert set(open_offices(timeline, "2023-07-01")) == {o.place for o in later.policy.asylum.offices}
    assert len(open_offices(timeline, "2023-07-01")) == 7  # the 2019 Tijuana office closed when it moved


def test_from_july_2023_the_policy_is_that_of_mexico_2023_24(
    timeline: Timeline, network: corridor.Network
) -> None:
    later = compile_timeline(corridor.load_scenario(REPO / "scenarios" / "mexico-2023-24.yaml"), network)
    fields = (
        "interdiction_per_100km",
        "checkpoint_intensity",
        "raid_probability_per_day",
        "detention_mean_stay_days",
        "deportation_share",
        "bus_south_share",
        "bus_south_places",
        "us_apprehension_probability",
        "us_outcome_shares",
        "closed_routes",
        "cbp_one",
        "caravans",
    )
    for date in ("2023-07-01", "2023-12-27", "2023-12-28", "2024-06-30"):
        ours, theirs = on(timeline, date).policy, on(later, date).policy
        for field in fields:
            assert getattr(ours, field) == getattr(theirs, field), (date, field)


def test_late_2023_containment(timeline: Timeline) -> None:
    before, after = on(timeline, "2023-12-27").policy, on(timeline, "2023-12-28").policy
    assert after.checkpoint_intensity["Chiapas"] == 2 * before.checkpoint_intensity["Chiapas"]
    assert after.raid_probability_per_day == 2 * before.raid_probability_per_day
    assert (before.bus_south_share, after.bus_south_share) == (0.3, 0.8)


def test_a_later_policy_changes_nothing_before_its_date() -> None:
    # Busing south from 28 December 2023 lowers later arrivals (deterrence); before that day
    # the run with it and the run without it must be the same, re-entries included.
    window = {"horizon.start": "2023-09-01", "horizon.end": "2024-03-31", "horizon.spin_up_days": 30}
    runs = [
        corridor.simulate(path, scale=100.0, overrides=window)
        for path in (
            SCENARIO,
            REPO / "scenarios" / "counterfactuals" / "mexico-2018-2024-no-busing-2024.yaml",
        )
    ]
    policy_day = runs[0].dates.get_loc(pd.Timestamp("2023-12-28"))
    for metric in ("arrivals", "interdictions", "us_encounters"):
        with_policy, without = (r.total(metric) for r in runs)
        np.testing.assert_array_equal(with_policy[:policy_day], without[:policy_day], err_msg=metric)
    assert not np.array_equal(runs[0].total("bused_south"), runs[1].total("bused_south"))


def test_a_policy_frozen_from_a_day_changes_nothing_before_it() -> None:
    # policy_frozen_from drops the busing and the interdiction surge of 28 December 2023: the
    # same run until that day (at the same scale), fewer bused south after it.
    window = {"horizon.start": "2023-09-01", "horizon.end": "2024-03-31", "horizon.spin_up_days": 30}
    runs = [
        corridor.simulate(SCENARIO, scale=100.0, overrides={**window, **frozen})
        for frozen in ({}, {"policy_frozen_from": "2023-12-28"})
    ]
    day = runs[0].dates.get_loc(pd.Timestamp("2023-12-28"))
    for metric in ("arrivals", "interdictions", "us_encounters", "bused_south"):
        with_policy, frozen = (r.total(metric) for r in runs)
        np.testing.assert_array_equal(with_policy[:day], frozen[:day], err_msg=metric)
    assert runs[0].total("bused_south")[day:].sum() > runs[1].total("bused_south")[day:].sum()
