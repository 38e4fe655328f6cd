"""Each phase of the day on a tiny world built in code, with exact expectations.

The world (as Flee's tests build three places with ``addLocation``/``linkUp``)::

    A (GT entry) --road 10 km-- B (station, COMAR) --road 100 km-- C --road 100 km-- D (border city)
                                 \\--------------------trek 300 km------------------/

One agent is one person (scale 1), hazards are off unless a test turns them on, and each
test puts a few people in the state it needs, runs one phase, and checks the phase's
result and its books with :mod:`corridor.testing`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from corridor.engine.core import Simulation, run_engine, step
from corridor.engine.phases import arrivals, asylum, border, caravans, detention, move, visas
from corridor.engine.population import State
from corridor.geography import TRAVEL_MODES, Network, build_network
from corridor.scenario.loading import validate_data
from corridor.testing import assert_identity, assert_phase_balanced, snapshot, step_checked
from corridor.timeline import compile_timeline

from .conftest import base_scenario_data


def _place(name: str, kind: str, lat: float, country: str = "MX", state: str = "Chiapas") -> dict[str, str]:
    return {"name": name, "state": state, "country": country, "lat": str(lat), "lon": "-92", "kind": kind}


def _route(a: str, b: str, mode: str, km: float) -> dict[str, str]:
    return {"from": a, "to": b, "mode": mode, "distance_km": str(km)}


def tiny_network(station_capacity: float = 10.0) -> Network:
    """Four places, four routes, a detention station and a COMAR office at B."""
    places = [
        _place("A", "origin_crossing", 14.7, country="GT", state="San Marcos"),
        _place("B", "transit_city", 15.0),
        _place("C", "transit_city", 17.0, state="Oaxaca"),
        _place("D", "northern_border_city", 25.0, state="Tamaulipas"),
    ]
    routes = [
        _route("A", "B", "road", 10),
        _route("B", "C", "road", 100),
        _route("C", "D", "road", 100),
        _route("B", "D", "trek", 300),
    ]
    facilities = [
        {
            "place": "B",
            "facility_type": "inm_detention_station",
            "name": "Station B",
            "capacity": str(station_capacity),
        },
        {"place": "B", "facility_type": "comar_office", "name": "COMAR B", "capacity": ""},
    ]
    return build_network(places, routes, facilities)


def tiny_data() -> dict[str, Any]:
    """The small test scenario moved onto the tiny world, with every hazard off."""
    d = base_scenario_data()
    d["inflows"] = [{"nationality": "Honduras", "entry": {"A": 1.0}, "persons_per_day": 20.0}]
    d["population"]["destination_weights"] = {"D": 1.0}
    d["population"]["bus_access_share"] = {"default": 0.0}
    d["population"]["group_size_mean"] = 1.0
    b = d["behaviour"]
    b.update(
        give_up_probability_per_day=0.0, continue_probability=0.0, border_crossing_probability_per_day=0.0
    )
    d["hazards"]["death_per_1000km"] = dict.fromkeys(TRAVEL_MODES, 0.0)
    p = d["policy"]
    p["interdiction_per_100km"] = dict.fromkeys(TRAVEL_MODES, 0.0)
    p["checkpoint_intensity"] = {"default": 1.0}
    p["raid_probability_per_day"] = 0.0
    p["detention_capacity_unknown"] = 10
    p["detention_overflow_max_ratio"] = 1.0
    p["bus_south_places"] = {"B": 1.0}
    p["caravans"] = {"target": "C"}
    return d


def tiny_sim(data: dict[str, Any] | None = None, seed: int = 1, network: Network | None = None) -> Simulation:
    """A simulation of the tiny world at one person per agent, with day 0's policy in force."""
    scenario = validate_data(copy.deepcopy(data if data is not None else tiny_data()))
    sim = Simulation.create(compile_timeline(scenario, network or tiny_network()), 1.0, seed)
    sim.set_policy(0)
    return sim


def put(sim: Simulation, n: int, place: str, state: State, since: int = 0) -> np.ndarray:
    """Take ``n`` people who have not arrived yet and put them at ``place`` in ``state``."""
    pop = sim.pop
    free = np.flatnonzero(pop.state == State.NOT_ARRIVED)[::-1][:n]
    assert free.size == n, "the tiny world has too few people for this test"
    rows = np.sort(free)
    sim.admit_rows(rows)
    pop.state[rows] = state
    pop.since[rows] = since
    pop.place[rows] = sim.timeline.network.place_id(place)
    return rows


def run_phase(sim: Simulation, phase: Any, day: int = 0) -> None:
    """Run one phase and check its books."""
    before = snapshot(sim, day)
    phase(sim, day)
    assert_phase_balanced(before, snapshot(sim, day), phase.__name__)


def flow(sim: Simulation, name: str, day: int = 0) -> int:
    return int(sim.recorder.flows[day, sim.recorder._flow_index[name]].sum())


def at(sim: Simulation, rows: np.ndarray, place: str) -> np.ndarray:
    return sim.pop.place[rows] == sim.timeline.network.place_id(place)


# --------------------------------------------------------------------------- the world


def test_the_tiny_world_is_as_built() -> None:
    net = tiny_network()
    assert net.place_names == ["A", "B", "C", "D"]
    # A road gives a foot and a bus link each way; a trek route one trek link each way.
    assert net.n_links == 3 * 4 + 2
    assert list(net.detention_place) == [net.place_id("B")]
    assert net.comar_places == ["B"]


def test_a_whole_run_on_the_tiny_world_keeps_its_books(monkeypatch: pytest.MonkeyPatch) -> None:
    data = tiny_data()
    data["policy"]["interdiction_per_100km"] = dict.fromkeys(TRAVEL_MODES, 0.5)
    data["behaviour"]["border_crossing_probability_per_day"] = 0.3
    scenario = validate_data(data)
    timeline = compile_timeline(scenario, tiny_network())
    plain, _ = run_engine(timeline, 1.0, 5)
    monkeypatch.setattr("corridor.engine.core.step", step_checked)
    checked, _ = run_engine(timeline, 1.0, 5)
    assert_identity(checked)
    # The checks make no draws: the same results.
    assert np.array_equal(plain.flows, checked.flows) and np.array_equal(plain.stocks, checked.stocks)
    assert checked.flow("detentions").sum() > 0 and checked.flow("us_encounters").sum() > 0


# --------------------------------------------------------------------------- arrivals


def test_arrivals_enter_waiting_at_the_entry_place() -> None:
    sim = tiny_sim()
    pop = sim.pop
    first = np.arange(pop.arrival_offsets[0], pop.arrival_offsets[1])
    assert first.size == 20
    run_phase(sim, arrivals)
    assert np.all(pop.state[first] == State.WAITING)
    assert np.all(at(sim, first, "A"))
    assert flow(sim, "arrivals") == 20
    assert np.array_equal(sim.rows(State.WAITING), first)


# --------------------------------------------------------------------------- move


def _on_link(sim: Simulation, rows: np.ndarray, a: str, b: str, mode: str) -> None:
    net = sim.timeline.network
    link = np.flatnonzero(
        (net.link_from == net.place_id(a))
        & (net.link_to == net.place_id(b))
        & (net.link_mode == TRAVEL_MODES.index(mode))
    )
    assert link.size == 1
    sim.pop.link[rows] = link[0]
    sim.pop.progress_km[rows] = 0.0


def test_move_advances_along_the_route_at_mode_speed() -> None:
    sim = tiny_sim()
    walk_short = put(sim, 3, "A", State.IN_TRANSIT)  # 10 km on foot: there today
    walk_long = put(sim, 4, "B", State.IN_TRANSIT)  # 100 km on foot at 25 km a day
    bus = put(sim, 2, "B", State.IN_TRANSIT)  # 100 km by bus at 450 km a day
    _on_link(sim, walk_short, "A", "B", "foot")
    _on_link(sim, walk_long, "B", "C", "foot")
    _on_link(sim, bus, "B", "C", "bus")
    run_phase(sim, move)
    pop = sim.pop
    assert np.all(pop.state[walk_short] == State.WAITING) and np.all(at(sim, walk_short, "B"))
    assert np.all(pop.state[bus] == State.WAITING) and np.all(at(sim, bus, "C"))
    assert np.all(pop.link[walk_short] == -1) and np.all(pop.link[bus] == -1)
    # Still on the road, counted at the place last left, a day's walk further.
    assert np.all(pop.state[walk_long] == State.IN_TRANSIT) and np.all(at(sim, walk_long, "B"))
    assert np.allclose(pop.progress_km[walk_long], 25.0)
    run_phase(sim, move, day=1)
    assert np.allclose(pop.progress_km[walk_long], 50.0)


def test_move_with_certain_interdiction_catches_everyone_on_the_way() -> None:
    data = tiny_data()
    data["policy"]["interdiction_per_100km"] = dict.fromkeys(TRAVEL_MODES, 1e6)
    sim = tiny_sim(data)
    rows = put(sim, 5, "B", State.IN_TRANSIT)
    _on_link(sim, rows, "B", "C", "foot")
    run_phase(sim, move)
    assert np.all(sim.pop.state[rows] == State.CAUGHT) and np.all(at(sim, rows, "B"))
    run_phase(sim, detention)
    assert flow(sim, "interdictions") == 5


# --------------------------------------------------------------------------- detention


def test_detention_holds_at_most_capacity_and_releases_after_the_stay() -> None:
    data = tiny_data()
    data["policy"]["detention_mean_stay_days"] = 1e-3  # everyone leaves the day after
    data["policy"]["deportation_share"] = {"default": 0.0}
    sim = tiny_sim(data)
    rows = put(sim, 15, "C", State.WAITING)
    sim.catch(rows, 0)
    run_phase(sim, detention)
    pop = sim.pop
    held = rows[pop.state[rows] == State.DETAINED]
    assert held.size == 10 == flow(sim, "detentions")  # capacity 10, overflow ratio 1
    assert flow(sim, "detention_overflow_released") == 5
    assert np.all(at(sim, held, "B")) and list(sim.occupancy) == [10]
    # Today's admissions stay the night; the next day's outcomes release them (no deportations).
    run_phase(sim, detention, day=1)
    assert np.all(pop.state[held] == State.WAITING) and np.all(at(sim, held, "B"))
    assert flow(sim, "released", day=1) == 10 and list(sim.occupancy) == [0]
    assert np.all(pop.attempts[held] == 1)


def test_a_capacity_cut_releases_those_held_beyond_it() -> None:
    sim = tiny_sim()
    rows = put(sim, 8, "C", State.WAITING)
    sim.catch(rows, 0)
    run_phase(sim, detention)
    assert list(sim.occupancy) == [8]
    data = tiny_data()
    data["policy"]["detention_capacity"] = {"Station B": 3}
    data["policy"]["detention_mean_stay_days"] = 1e9  # nobody leaves on their own
    cut = tiny_sim(data)
    cut.pop, cut.active, cut.occupancy = sim.pop, sim.active, sim.occupancy
    run_phase(cut, detention, day=1)
    assert list(cut.occupancy) == [3]
    assert np.count_nonzero(cut.pop.state[rows] == State.DETAINED) == 3
    assert flow(cut, "released", day=1) == 5


# --------------------------------------------------------------------------- asylum


def with_office(decisions: float) -> dict[str, Any]:
    data = tiny_data()
    data["policy"]["asylum"] = {
        "offices": [{"place": "B", "decisions_per_day": decisions}],
        "application_probability_per_day": {"default": 1.0},
        "recognition_share": {"default": 0.0},
        "abandonment_probability_per_day": 0.0,
        "settle_after_recognition_share": 0.0,
    }
    return data


def test_asylum_serves_at_most_the_office_decisions_a_day_oldest_first() -> None:
    sim = tiny_sim(with_office(decisions=3))
    rows = put(sim, 10, "B", State.WAITING)
    elsewhere = put(sim, 4, "C", State.WAITING)
    run_phase(sim, asylum)
    pop = sim.pop
    assert flow(sim, "asylum_applications") == 10 and flow(sim, "asylum_decisions") == 0
    assert np.all(pop.state[rows] == State.ASYLUM_PENDING) and np.all(pop.office[rows] == 0)
    assert np.all(pop.state[elsewhere] == State.WAITING)  # no office at C
    # Make the last three the oldest cases: they are decided first.
    pop.since[rows] = 1
    pop.since[rows[-3:]] = 0
    run_phase(sim, asylum, day=2)
    assert flow(sim, "asylum_decisions", day=2) == 3
    # The three decided (rejected) file again at once: a new claim, dated today.
    assert list(pop.since[rows[-3:]]) == [2, 2, 2] and np.all(pop.attempts[rows[-3:]] == 1)
    assert np.all(pop.since[rows[:-3]] == 1) and np.all(pop.attempts[rows[:-3]] == 0)
    assert np.all(pop.state[rows] == State.ASYLUM_PENDING)


# --------------------------------------------------------------------------- border


def test_metering_admits_at_most_the_daily_intake_oldest_names_first() -> None:
    data = tiny_data()
    data["policy"]["metering"] = {
        "daily_intake": {"D": 2},
        "join_share": {"default": 1.0},
        "abandon_probability_per_day": 0.0,
    }
    sim = tiny_sim(data)
    rows = put(sim, 5, "D", State.BORDER_WAITING)
    sim.pop.since[rows] = [4, 3, 2, 1, 0]
    run_phase(sim, border, day=5)
    pop = sim.pop
    assert flow(sim, "us_admitted_port", day=5) == 2
    assert np.all(pop.state[rows[-2:]] == State.GONE)
    assert np.all(pop.state[rows[:-2]] == State.BORDER_WAITING)


def test_border_without_crossing_or_lists_leaves_people_waiting() -> None:
    sim = tiny_sim()
    rows = put(sim, 6, "D", State.WAITING)
    run_phase(sim, border, day=3)
    assert np.all(sim.pop.state[rows] == State.WAITING)
    assert sim.recorder.flows[3].sum() == 0


# --------------------------------------------------------------------------- visas


def test_visas_issue_at_most_the_capacity_longest_waiting_first() -> None:
    data = tiny_data()
    data["policy"]["visas"] = {
        "window_open": True,
        "places": ["B"],
        "issued_per_day": 2,
        "processing_days": 1,
        "uptake": {"default": 1.0},
    }
    sim = tiny_sim(data)
    rows = put(sim, 6, "B", State.WAITING)
    sim.pop.since[rows] = [3, 3, 2, 0, 1, 3]  # on day 3, the last two have not waited a day
    run_phase(sim, visas, day=3)
    assert flow(sim, "visas_issued", day=3) == 2
    papers = sim.pop.papers_until[rows] > 3
    assert list(papers) == [False, False, False, True, True, False]


# --------------------------------------------------------------------------- caravans


def with_caravan(size: float, dispersal: float = 0.0) -> dict[str, Any]:
    data = tiny_data()
    data["caravans"] = [
        {"date": data["horizon"]["start"], "name": "test", "place": "B", "size_persons": size}
    ]
    data["policy"]["caravans"] = {
        "target": "C",
        "speed_km_per_day": 40,
        "dispersal_probability_per_day": dispersal,
        "dispersal_detention_share": 0.0,
    }
    return data


def test_a_scheduled_caravan_forms_walks_and_disbands_at_its_target() -> None:
    sim = tiny_sim(with_caravan(size=5))
    rows = put(sim, 8, "B", State.WAITING)
    run_phase(sim, caravans)
    pop = sim.pop
    members = rows[pop.caravan[rows] >= 0]
    assert members.size == 5 == flow(sim, "caravan_joined")
    assert np.all(pop.state[members] == State.IN_TRANSIT) and np.allclose(pop.progress_km[members], 40)
    run_phase(sim, caravans, day=1)
    assert np.allclose(pop.progress_km[members], 80)
    run_phase(sim, caravans, day=2)  # arrives at C (100 km) and spends the night
    assert np.all(at(sim, members, "C")) and np.all(pop.state[members] == State.WAITING)
    run_phase(sim, caravans, day=3)  # at its target: it disbands
    assert np.all(pop.caravan[members] == -1) and not sim.caravans[0].active


def test_a_caravan_dispersed_on_its_first_day_scatters_its_members() -> None:
    sim = tiny_sim(with_caravan(size=4, dispersal=1.0))
    rows = put(sim, 4, "B", State.WAITING)
    # Formation and dispersal in one phase: the caravan forms, then the Guard breaks it up.
    run_phase(sim, caravans)
    pop = sim.pop
    assert flow(sim, "caravan_joined") == 4 == flow(sim, "caravan_dispersed")
    assert np.all(pop.caravan[rows] == -1) and np.all(pop.state[rows] == State.WAITING)


def test_step_checked_is_step() -> None:
    a, b = tiny_sim(), tiny_sim()
    for day in range(10):
        step(a, day)
        step_checked(b, day)
    assert np.array_equal(a.pop.state, b.pop.state) and np.array_equal(a.recorder.flows, b.recorder.flows)
