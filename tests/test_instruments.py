"""The policy instruments: COMAR asylum, visas, metering, CBP One, MPP, expulsions, caravans,
busing south, dangerous routes and shelters. Each test checks a rule the instrument must
keep, or that its parameter moves an outcome the right way."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import corridor
from corridor.engine.core import Simulation, step
from corridor.engine.population import State
from corridor.scenario.loading import validate_data
from corridor.testing import assert_identity
from corridor.timeline import compile_timeline
from tests.conftest import base_scenario_data

RunSmall = Callable[..., corridor.Results]


def _stepper(data: dict[str, Any], network: corridor.Network, scale: float, seed: int = 3) -> Simulation:
    timeline = compile_timeline(validate_data(copy.deepcopy(data)), network)
    return Simulation.create(timeline, scale, seed)


def _max_per_day(results: corridor.Results, flow: str, place: str | None = None) -> float:
    arr = results.flow(flow).sum(axis=2)
    if place is not None:
        arr = arr[:, results.places.index(place)]
        return float(arr.max())
    return float(arr.sum(axis=1).max())


def _quota_bound(persons_per_day: float, scale: float) -> float:
    """The most persons a quota can let through in a day: whole agents, stochastic rounding."""
    return math.ceil(persons_per_day / scale) * scale


# ----------------------------------------------------------------------------- asylum


def with_asylum(data: dict[str, Any], decisions: float = 6.0, apply: float = 0.3) -> dict[str, Any]:
    data["policy"]["asylum"] = {
        "offices": [
            {"place": "Tapachula", "decisions_per_day": decisions},
            {"place": "Mexico City", "decisions_per_day": decisions},
        ],
        "application_probability_per_day": {"default": apply},
        "recognition_share": {"default": 0.5},
        "abandonment_probability_per_day": 0.0,
        "settle_after_recognition_share": 0.5,
    }
    return data


def test_asylum_applicants_stay_in_the_state_where_they_filed(network: corridor.Network) -> None:
    data = with_asylum(base_scenario_data())
    sim = _stepper(data, network, scale=5.0)
    before: dict[int, str] = {}
    moved = 0
    ever_pending = 0
    for day in range(sim.timeline.n_days):
        step(sim, day)
        rows = np.flatnonzero(sim.pop.state == State.ASYLUM_PENDING)
        ever_pending = max(ever_pending, rows.size)
        now = dict(zip(rows.tolist(), network.place_state[sim.pop.place[rows]].tolist(), strict=True))
        # Pending yesterday and today (the same claim): the same state.
        moved += sum(1 for r, st in now.items() if r in before and before[r] != st)
        before = now
        # Pending people are at an office's place, and hold an office.
        assert np.all(sim.pop.office[rows] >= 0)
    assert ever_pending > 50, "the test needs applicants"
    assert moved == 0


def test_asylum_decisions_never_exceed_office_capacity(run_small: RunSmall) -> None:
    data = with_asylum(base_scenario_data(), decisions=4.0)
    res = run_small(data, agents=4000)
    scale = res.scale
    assert res.total("asylum_decisions").sum() > 0
    for office in ("Tapachula", "Mexico City"):
        assert _max_per_day(res, "asylum_decisions", office) <= _quota_bound(4.0, scale) + 1e-9
    waits = res.per_place("asylum_wait_days")
    assert np.nanmin(waits) >= 0


def test_more_decisions_shorten_the_asylum_queue(run_small: RunSmall) -> None:
    slow = run_small(with_asylum(base_scenario_data(), decisions=2.0), agents=4000)
    fast = run_small(with_asylum(base_scenario_data(), decisions=60.0), agents=4000)
    assert fast.total("asylum_pending")[-1] < slow.total("asylum_pending")[-1]
    assert fast.total("asylum_decisions").sum() > slow.total("asylum_decisions").sum()


def test_an_office_takes_no_applications_before_it_opens(run_small: RunSmall) -> None:
    data = with_asylum(base_scenario_data())
    data["policy"]["asylum"]["offices"] = [
        {"place": "Tapachula", "opens": "2019-03-21", "decisions_per_day": 5}
    ]
    res = run_small(data)
    daily = res.flow("asylum_applications").sum(axis=(1, 2))
    assert daily[:20].sum() == 0
    assert daily[20:].sum() > 0


# ----------------------------------------------------------------------------- visas


def with_visas(data: dict[str, Any], per_day: float = 50.0) -> dict[str, Any]:
    data["policy"]["visas"] = {
        "window_open": True,
        "places": ["Ciudad Hidalgo", "Tapachula"],
        "issued_per_day": per_day,
        "processing_days": 3,
        "validity_days": 365,
        "uptake": {"default": 0.8},
    }
    return data


def test_visas_respect_the_daily_capacity_and_protect_holders(network: corridor.Network) -> None:
    data = with_visas(base_scenario_data(), per_day=40.0)
    data["policy"]["raid_probability_per_day"] = 0.05  # raids everywhere: holders must be spared
    sim = _stepper(data, network, scale=2.0)
    holders_caught = 0
    for day in range(sim.timeline.n_days):
        step(sim, day)
        detained = sim.pop.state == State.DETAINED
        holders_caught += int(np.sum(detained & (sim.pop.since == day) & (sim.pop.papers_until > day)))
    res = sim.results()
    assert res.total("visas_issued").sum() > 0
    assert res.total("visas_issued").max() <= _quota_bound(40.0, 2.0)
    assert holders_caught == 0


def test_no_visas_while_the_window_is_closed(run_small: RunSmall) -> None:
    data = with_visas(base_scenario_data())
    data["events"] = [{"date": "2019-03-15", "name": "close", "set": {"visas.window_open": False}}]
    res = run_small(data)
    daily = res.total("visas_issued")
    assert daily[:14].sum() > 0
    assert daily[14:].sum() == 0


# ----------------------------------------------------------------------------- US side


def with_border(data: dict[str, Any]) -> dict[str, Any]:
    data["horizon"]["end"] = "2019-05-09"  # 70 days: time to reach the north
    data["behaviour"]["move_on_probability_per_day"] = 0.9
    data["behaviour"]["continue_probability"] = 0.9
    data["population"]["bus_access_share"] = {"default": 1.0}
    return data


def test_metering_intake_is_never_exceeded(run_small: RunSmall) -> None:
    data = with_border(base_scenario_data())
    data["policy"]["metering"] = {
        "daily_intake": {"Reynosa": 10, "Tijuana": 5, "Ciudad Juarez": 8},
        "join_share": {"default": 0.9},
        "abandon_probability_per_day": 0.0,
    }
    res = run_small(data, agents=4000)
    assert res.total("us_admitted_port").sum() > 0
    assert res.total("metering_waitlist").max() > 0
    for city, quota in (("Reynosa", 10), ("Tijuana", 5), ("Ciudad Juarez", 8)):
        assert _max_per_day(res, "us_admitted_port", city) <= _quota_bound(quota, res.scale) + 1e-9


def with_cbp_one(data: dict[str, Any], north_only: bool) -> dict[str, Any]:
    data = with_border(data)
    data["policy"]["cbp_one"] = {
        "appointments_per_day": 200,
        "uptake": {"default": 1.0},
        "north_of_19th_only": north_only,
    }
    return data


def test_cbp_one_never_books_south_of_the_19th_parallel_once_required(
    run_small: RunSmall, network: corridor.Network
) -> None:
    data = with_cbp_one(base_scenario_data(), north_only=False)
    data["events"] = [{"date": "2019-03-21", "name": "geofence", "set": {"cbp_one.north_of_19th_only": True}}]
    res = run_small(data, agents=4000)
    bookings = res.flow("cbp_one_bookings").sum(axis=2)
    south = ~network.north_of_19th
    assert bookings[:20, south].sum() > 0, (
        "before the rule people book from the south (else the test is void)"
    )
    assert bookings[20:, south].sum() == 0
    assert bookings[20:, ~south].sum() > 0
    assert res.total("cbp_one_bookings").max() <= _quota_bound(200, res.scale) + 1e-9


def test_mpp_returns_only_in_mpp_cities_and_people_wait_there(run_small: RunSmall) -> None:
    data = with_border(base_scenario_data())
    data["policy"]["us_outcome_shares"] = {"default": {"released": 0.2, "mpp": 0.8}}
    data["policy"]["mpp"] = {
        "cities": ["Tijuana"],
        "hearing_delay_days": 200,
        "abandon_probability_per_day": 0.0,
    }
    res = run_small(data, agents=4000)
    returns = res.flow("mpp_returns").sum(axis=(0, 2))
    tijuana = res.places.index("Tijuana")
    assert returns[tijuana] > 0
    assert returns.sum() == returns[tijuana]
    waiting = res.stock("mpp_waiting")[-1].sum(axis=1)
    assert waiting[tijuana] == waiting.sum() > 0
    # Elsewhere the MPP share becomes release.
    assert res.flow("us_released").sum(axis=(0, 2))[res.places.index("Reynosa")] > 0


@pytest.mark.usefixtures("checked_phases")
def test_expelled_people_stay_and_try_again(run_small: RunSmall) -> None:
    data = with_border(base_scenario_data())
    data["policy"]["us_outcome_shares"] = {"default": {"expelled": 0.9, "released": 0.1}}
    res = run_small(data, agents=4000)
    expelled = res.total("us_expelled").sum()
    assert expelled > 0
    # Quick re-attempts: encounters outnumber the distinct people who reached the border.
    assert res.total("us_encounters").sum() > 1.5 * (
        res.total("us_released").sum() + res.total("us_evaded").sum()
    )
    assert_identity(res)


@pytest.mark.usefixtures("checked_phases")
def test_expelled_people_who_do_not_try_again_go_home(run_small: RunSmall) -> None:
    """With ``expelled_retry_probability`` below 1, the expelled who do not stay go home (some come
    back later): fewer repeat encounters per person who reached the border, about as the share says."""
    data = with_border(base_scenario_data())
    data["policy"]["us_outcome_shares"] = {"default": {"expelled": 0.9, "released": 0.1}}
    data["policy"]["us_apprehension_probability"] = 1.0
    data["behaviour"]["reentry_probability"] = {"default": 0.0}
    per_person = {}
    for retry in (1.0, 0.5):
        data["behaviour"]["expelled_retry_probability"] = retry
        res = run_small(data, agents=4000)
        assert_identity(res)
        first_tries = res.total("us_released").sum() + res.total("returned_home").sum()
        per_person[retry] = res.total("us_encounters").sum() / first_tries
        if retry == 1.0:
            went_home = res.total("returned_home").sum()
        else:
            assert res.total("returned_home").sum() > went_home + 0.3 * res.total("us_expelled").sum()
    # Each encounter is followed by another with 0.9 x retry (everyone met): 1 / (1 - 0.45) = 1.8
    # encounters per person at 0.5, against up to 10 at 1 (less the few who give up).
    assert per_person[0.5] == pytest.approx(1 / (1 - 0.45), rel=0.15)
    assert per_person[1.0] > 2 * per_person[0.5]


def test_river_crossing_deaths_follow_their_probability(run_small: RunSmall) -> None:
    data = with_border(base_scenario_data())
    data["hazards"]["river_crossing_death_probability"] = 1.0
    res = run_small(data, agents=4000)
    assert res.total("deaths_river").sum() > 0
    assert res.total("us_encounters").sum() == 0
    assert res.total("us_evaded").sum() == 0


# ----------------------------------------------------------------------------- detention


def test_bus_south_share_of_one_gives_zero_deportations(run_small: RunSmall) -> None:
    data = base_scenario_data()
    data["policy"]["bus_south_share"] = 1.0
    data["policy"]["deportation_share"] = {"default": 1.0}
    data["policy"]["raid_probability_per_day"] = 0.02
    res = run_small(data)
    assert res.total("bused_south").sum() > 0
    assert res.total("deportations").sum() == 0
    # Bused people are let go in the south, and try again.
    assert res.flow("arrivals").sum() > 0


def test_busing_south_strands_people_in_the_south(run_small: RunSmall) -> None:
    base = base_scenario_data()
    base["policy"]["raid_probability_per_day"] = 0.01
    bus = copy.deepcopy(base)
    bus["policy"]["bus_south_share"] = 1.0
    tap = lambda r: r.stock("waiting").sum(axis=2)[:, r.places.index("Tapachula")].mean()  # noqa: E731
    assert tap(run_small(bus)) > tap(run_small(base))


# ----------------------------------------------------------------------------- caravans


def with_caravan(data: dict[str, Any], dispersal: float = 0.0) -> dict[str, Any]:
    data["behaviour"]["move_on_probability_per_day"] = 0.05  # people pile up in the south
    data["caravans"] = [
        {"date": "2019-03-15", "name": "test", "place": "Ciudad Hidalgo", "size_persons": 2000}
    ]
    data["policy"]["caravans"] = {"dispersal_probability_per_day": dispersal, "target": "Mexico City"}
    return data


def test_caravan_members_move_together_until_dispersed(network: corridor.Network) -> None:
    sim = _stepper(with_caravan(base_scenario_data()), network, scale=2.0)
    checked = 0
    for day in range(sim.timeline.n_days):
        step(sim, day)
        members = np.flatnonzero(sim.pop.caravan >= 0)
        for cid in np.unique(sim.pop.caravan[members]):
            rows = members[sim.pop.caravan[members] == cid]
            assert np.unique(sim.pop.place[rows]).size == 1
            assert np.unique(sim.pop.link[rows]).size == 1
            assert np.unique(sim.pop.progress_km[rows]).size == 1
            checked += rows.size
    assert checked > 0
    assert sim.caravans and sim.caravans[0].place != network.place_id("Ciudad Hidalgo"), "it must have walked"
    res = sim.results()
    assert res.total("in_caravan").max() > 0
    assert res.total("caravan_joined").sum() > 0


def test_caravans_walk_at_caravan_speed(network: corridor.Network) -> None:
    data = with_caravan(base_scenario_data())
    data["policy"]["caravans"]["speed_km_per_day"] = 20.0
    sim = _stepper(data, network, scale=2.0)
    start = sim.timeline.caravans[0].day
    for day in range(start + 11):
        step(sim, day)
    # 10 days of marching at 20 km a day: at most 200 km from the start, as the crow flies.
    net = network
    start_place, now = net.place_id("Ciudad Hidalgo"), sim.caravans[0].place
    assert now != start_place
    lat0, lon0 = math.radians(net.lat[start_place]), math.radians(net.lon[start_place])
    lat1, lon1 = math.radians(net.lat[now]), math.radians(net.lon[now])
    walked = 6371 * math.acos(
        min(1.0, math.sin(lat0) * math.sin(lat1) + math.cos(lat0) * math.cos(lat1) * math.cos(lon1 - lon0))
    )
    assert walked <= 200.0 + 1e-6


@pytest.mark.usefixtures("checked_phases")
def test_dispersal_breaks_caravans_into_detentions_and_scattered_people(run_small: RunSmall) -> None:
    res = run_small(with_caravan(base_scenario_data(), dispersal=1.0), agents=4000)
    assert res.total("caravan_dispersed").sum() > 0
    assert res.total("in_caravan")[-1] == 0
    assert_identity(res)


# ----------------------------------------------------------------------------- routes and deaths


def test_enforcement_on_roads_and_rail_pushes_people_to_sea_and_trek(network: corridor.Network) -> None:
    def sea_trek_use(interdiction: dict[str, float]) -> tuple[float, float]:
        data = base_scenario_data()
        data["inflows"][2]["entry"] = {"Ocos": 0.5, "Ciudad Tecun Uman": 0.5}
        data["policy"]["interdiction_per_100km"] = interdiction
        data["policy"]["raid_probability_per_day"] = 0.0
        sim = _stepper(data, network, scale=3.0)
        used = 0
        total = 0
        for day in range(sim.timeline.n_days):
            step(sim, day)
            moving = sim.pop.link[sim.pop.state == State.IN_TRANSIT]
            modes = network.link_mode[moving[moving >= 0]]
            used += int(np.isin(modes, (3, 4)).sum())  # sea, trek
            total += modes.size
        res = sim.results()
        return used / total, float(res.total("deaths").sum())

    low = {"foot": 0.0005, "bus": 0.002, "rail": 0.001, "sea": 0.0007, "trek": 0.0003}
    high = {"foot": 0.05, "bus": 0.2, "rail": 0.1, "sea": 0.0007, "trek": 0.0003}
    share_low, _ = sea_trek_use(low)
    share_high, _ = sea_trek_use(high)
    assert share_high > share_low


# ----------------------------------------------------------------------------- shelters, overcrowding


def test_unsheltered_is_waiting_beyond_shelter_places(run_small: RunSmall) -> None:
    data = base_scenario_data()
    data["policy"]["shelter_capacity"] = {"Tapachula": 100}
    res = run_small(data)
    tap = res.places.index("Tapachula")
    waiting = res.stock("waiting").sum(axis=2)[:, tap]
    np.testing.assert_allclose(res.per_place("unsheltered")[:, tap], np.maximum(waiting - 100, 0))
    assert res.per_place("shelter_capacity")[0, tap] == 100


def test_overcrowding_is_held_over_capacity(run_small: RunSmall) -> None:
    data = base_scenario_data()
    data["policy"]["raid_probability_per_day"] = 0.05
    res = run_small(data)
    ratio = res.per_place("detention_overcrowding")
    cap = res.per_place("detention_capacity")
    held = res.stock("detained").sum(axis=2)
    ok = cap > 0
    np.testing.assert_allclose(ratio[ok], held[ok] / cap[ok])
    assert np.nanmax(ratio) <= 4.0 + res.scale / cap[ok].min()


# ----------------------------------------------------------------------------- all together


@pytest.mark.usefixtures("checked_phases")
@pytest.mark.parametrize("seed", [1, 2])
def test_identity_holds_with_every_instrument_on(run_small: RunSmall, seed: int) -> None:
    data = with_caravan(with_visas(with_asylum(with_border(base_scenario_data()))), dispersal=0.05)
    data["policy"]["metering"] = {
        "daily_intake": {"Reynosa": 10},
        "join_share": {"default": 0.5},
        "abandon_probability_per_day": 0.02,
    }
    data["policy"]["cbp_one"] = {
        "appointments_per_day": 50,
        "uptake": {"default": 0.5},
        "north_of_19th_only": True,
    }
    data["policy"]["mpp"] = {
        "cities": ["Tijuana", "Ciudad Juarez"],
        "hearing_delay_days": 20,
        "relief_share": 0.1,
        "abandon_probability_per_day": 0.01,
    }
    data["policy"]["us_outcome_shares"] = {
        "default": {"released": 0.3, "removed": 0.3, "expelled": 0.2, "mpp": 0.2}
    }
    data["policy"]["bus_south_share"] = 0.5
    data["hazards"]["river_crossing_death_probability"] = 0.01
    res = run_small(data, seed=seed, agents=4000)
    assert_identity(res)
    for name in (
        "present",
        "in_transit",
        "waiting",
        "detained",
        "asylum_pending",
        "border_waiting",
        "mpp_waiting",
    ):
        assert res.stock(name).min() >= 0
    # Every instrument did something.
    for flow in (
        "asylum_applications",
        "visas_issued",
        "us_admitted_port",
        "cbp_one_bookings",
        "mpp_returns",
        "us_expelled",
        "bused_south",
        "caravan_joined",
    ):
        assert res.total(flow).sum() > 0, flow


def test_shipped_scenarios_and_counterfactuals_load(network: corridor.Network) -> None:
    from tests.conftest import REPO

    paths = sorted((REPO / "scenarios").rglob("*.yaml"))
    assert len(paths) >= 6
    for path in paths:
        compile_timeline(corridor.load_scenario(path), network)


def test_variant_changes_only_what_it_says(tmp_path: Any) -> None:
    from tests.conftest import SHIPPED_SCENARIO

    variant = tmp_path / "v.yaml"
    variant.write_text(
        f"base: {SHIPPED_SCENARIO}\nname: v\nchanges:\n  policy.bus_south_share: 0.5\n"
        "drop_events: [Humanitarian visitor cards cancelled]\n"
    )
    base = corridor.load_scenario(SHIPPED_SCENARIO)
    v = corridor.load_scenario(variant)
    assert v.name == "v" and v.policy.bus_south_share == 0.5
    assert len(v.events) == len(base.events) - 1
    assert v.inflows == base.inflows
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {SHIPPED_SCENARIO}\ndrop_events: [No such event]\n")
    with pytest.raises(corridor.ScenarioError, match=r"drop_events\.0"):
        corridor.load_scenario(bad)
