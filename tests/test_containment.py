"""Containment as it works: bus seats south, transfers between stations, holding sites and
the way back. Each test checks a limit the engine must keep or the direction a lever moves
an outcome, with the books checked phase by phase."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import corridor
from corridor.engine import core
from corridor.engine.population import State
from tests.conftest import base_scenario_data, uniform_detention_capacity

Run = Callable[..., corridor.Results]


def _per_day(results: corridor.Results, flow: str) -> np.ndarray:
    """Persons of ``flow`` per day, summed over places and nationalities."""
    return results.flow(flow).sum(axis=(1, 2))


def _seat_bound(persons_per_day: float, scale: float) -> float:
    """The most persons a daily quota lets through: whole agents, rounded at random."""
    return math.ceil(persons_per_day / scale) * scale + 1e-9


def _busing(seats: float | None = None, **extra: Any) -> dict[str, Any]:
    data = base_scenario_data()
    data["policy"].update(bus_south_share=1.0, deportation_share={"default": 0.0}, **extra)
    data["policy"]["checkpoint_intensity"] = {"default": 3.0, "Chiapas": 9.0}
    if seats is not None:
        data["policy"]["bus_south_seats_per_day"] = seats
    return data


@pytest.mark.usefixtures("checked_phases")
def test_bus_seats_are_never_exceeded_and_the_rest_stay_held(run_small: Run) -> None:
    unlimited = run_small(_busing())
    seats = 40.0
    limited = run_small(_busing(seats))
    assert _per_day(limited, "bused_south").max() <= _seat_bound(seats, limited.scale)
    assert _per_day(unlimited, "bused_south").max() > _seat_bound(seats, unlimited.scale)
    # Waiting for a seat lengthens stays: more people held on average, fewer let go south.
    assert limited.total("detained").sum() > 1.5 * unlimited.total("detained").sum()
    assert limited.total("bused_south").sum() < unlimited.total("bused_south").sum()


@pytest.mark.usefixtures("checked_phases")
def test_overflow_busing_shares_the_day_seats(run_small: Run, network: corridor.Network) -> None:
    seats = 60.0
    data = _busing(seats, overflow_bus_south_share=1.0, **uniform_detention_capacity(network, 10))
    results = run_small(data)
    both = _per_day(results, "bused_south") + _per_day(results, "detention_overflow_bused_south")
    assert results.total("detention_overflow_bused_south").sum() > 0
    assert both.max() <= _seat_bound(seats, results.scale)
    # Beyond the seats, the caught with no room are still released on the spot.
    assert results.total("detention_overflow_released").sum() > 0


def test_transfers_fill_stations_within_reach_before_anyone_is_released(
    run_small: Run, network: corridor.Network
) -> None:
    base = _busing()
    base["policy"].update(bus_south_share=0.0, deportation_share={"default": 1.0})
    base["policy"].update(uniform_detention_capacity(network, 20))
    no_transfer = run_small(base)
    far = {**base, "policy": {**base["policy"], "detention_transfer_max_km": 3000.0}}
    transfers = run_small(far)

    assert no_transfer.total("detention_transfers").sum() == 0
    assert transfers.total("detention_transfers").sum() > 0
    assert (
        transfers.total("detention_overflow_released").sum()
        < 0.5 * no_transfer.total("detention_overflow_released").sum()
    )
    # Every station stays within the overflow rule.
    ds = transfers.to_xarray()
    held = ds["detained"].sum("nationality").to_numpy()
    cap = ds["detention_capacity"].to_numpy()
    assert (held <= np.ceil(4.0 * cap / transfers.scale) * transfers.scale + 1e-6).all()


def test_transfers_respect_the_distance_limit(network: corridor.Network) -> None:
    from corridor.engine.routing import build_route_tables
    from corridor.scenario.loading import validate_data
    from corridor.timeline import compile_timeline

    data = base_scenario_data()
    data["policy"]["detention_transfer_max_km"] = 400.0
    timeline = compile_timeline(validate_data(data), network)
    tables = build_route_tables(timeline, timeline.segments[0])
    ranked = tables.facilities_by_distance
    tapachula = network.place_id("Tapachula")
    listed = ranked[tapachula][ranked[tapachula] >= 0]
    assert listed.size >= 2  # Tapachula's own station and at least one within 400 km
    places = network.detention_place[listed]
    names = {network.place_names[p] for p in places}
    assert "Tapachula" in names and "Reynosa" not in names and "Tijuana" not in names


@pytest.mark.usefixtures("checked_phases")
def test_people_bused_south_rest_before_setting_out_again(run_small: Run, watch_days: Any) -> None:
    def inspect(sim: core.Simulation, day: int) -> tuple[int, int]:
        pop = sim.pop
        resting = (pop.state == State.WAITING) & (pop.next_day > day)
        moving_early = (pop.state == State.IN_TRANSIT) & (pop.next_day > day)
        return int(resting.sum()), int(moving_early.sum())

    log = watch_days(inspect)
    data = _busing(bus_south_places={"Tenosique": 1.0})
    data["behaviour"]["rest_days_after_bus_south"] = 12
    run_small(data)
    resting, early = np.array(log.days).T
    assert resting.max() > 0  # people were let go south and rested
    assert early.sum() == 0  # nobody set off again before their rest was over


def test_rest_after_busing_keeps_people_waiting_in_the_south(run_small: Run) -> None:
    drop_off = "Tenosique"
    quick = run_small(_busing(bus_south_places={drop_off: 1.0}))
    slow_data = _busing(bus_south_places={drop_off: 1.0})
    slow_data["behaviour"]["rest_days_after_bus_south"] = 20
    slow = run_small(slow_data)
    at = quick.places.index(drop_off)
    waiting_quick = quick.stock("waiting")[:, at].sum()
    waiting_slow = slow.stock("waiting")[:, at].sum()
    assert waiting_slow > 1.5 * waiting_quick


def test_unset_containment_fields_change_nothing(run_small: Run) -> None:
    """The new levers at their defaults give byte-identical runs (old scenarios unchanged)."""
    plain = run_small(base_scenario_data())
    data = base_scenario_data()
    data["policy"].update(detention_transfer_max_km=0.0, overflow_bus_south_share=0.0)
    data["behaviour"]["rest_days_after_bus_south"] = 0
    same = run_small(data)
    for name in ("detained", "interdictions", "detention_overflow_released", "us_encounters"):
        np.testing.assert_array_equal(plain.total(name), same.total(name))


# ------------------------------------------------------- who is caught: a factor per nationality
def _caught_by_nationality(results: corridor.Results) -> np.ndarray:
    """Interdictions in Mexico per nationality (scenario order), in persons."""
    return results.flow("interdictions").sum(axis=(0, 1))


def test_interdiction_factor_scales_who_is_caught_by_nationality(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["checkpoint_intensity"] = {"default": 3.0, "Chiapas": 9.0}
    plain = run_small(data)
    # The small scenario's nationalities: Honduras, Guatemala, Cuba.
    data["behaviour"]["interdiction_factor"] = {"default": 1.0, "Cuba": 0.0, "Honduras": 3.0}
    changed = run_small(data)
    before, after = _caught_by_nationality(plain), _caught_by_nationality(changed)
    assert before[2] > 0 and after[2] == 0  # no Cuban caught at checkpoints or in raids
    assert after[0] > 1.5 * before[0]  # Hondurans caught more often
    # Fewer Cubans caught: more of them reach the US border.
    cubans_us = [r.flow("us_encounters").sum(axis=(0, 1))[2] for r in (plain, changed)]
    assert cubans_us[1] > cubans_us[0]


def test_interdiction_factor_of_one_changes_nothing(run_small: Run) -> None:
    plain = run_small(base_scenario_data())
    data = base_scenario_data()
    data["behaviour"]["interdiction_factor"] = {"default": 1.0, "Cuba": 1.0}
    same = run_small(data)
    for name in ("interdictions", "detained", "us_encounters"):
        np.testing.assert_array_equal(plain.total(name), same.total(name))
