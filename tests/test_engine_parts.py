"""The engine's building blocks on their own: route choice, group random draws, the
capacity-limited queue."""

from __future__ import annotations

import numpy as np
import pytest

from corridor.engine.queues import admit, daily_capacity, rank_within
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.routing import build_route_tables, choose_links
from corridor.errors import InputError
from corridor.geography import TRAVEL_MODES
from corridor.scenario.loading import validate_data
from corridor.timeline import Timeline, compile_timeline

from .test_phases import tiny_data, tiny_network

# --------------------------------------------------------------------------- routing


def _timeline(**policy: object) -> Timeline:
    data = tiny_data()
    data["behaviour"]["route_choice_temperature"] = 0.01  # all but deterministic
    data["policy"].update(policy)
    return compile_timeline(validate_data(data), tiny_network())


def _choose(t: Timeline, place: str, bus: bool, n: int = 200) -> set[tuple[str, str, str]]:
    """The (from, to, mode) links chosen at ``place`` toward D by ``n`` travellers."""
    net = t.network
    tables = build_route_tables(t, t.segments[0])
    u = (np.arange(n) + 0.5) / n  # spread over [0, 1)
    link = choose_links(
        tables,
        np.zeros(n, dtype=np.int8),
        np.full(n, bus),
        np.full(n, net.place_id(place), dtype=np.int16),
        u,
    )
    return {
        (net.place_names[net.link_from[k]], net.place_names[net.link_to[k]], TRAVEL_MODES[net.link_mode[k]])
        if k >= 0
        else ("", "", "none")
        for k in link
    }


def test_the_next_hop_lies_on_the_cheapest_path() -> None:
    t = _timeline()
    # Toward D from B: on foot via C (200 km at 25 km/day) beats the 300 km trek (15 km/day).
    assert _choose(t, "B", bus=False) == {("B", "C", "foot")}
    # With bus access, the bus on the same road is faster still.
    assert _choose(t, "B", bus=True) == {("B", "C", "bus")}
    assert _choose(t, "A", bus=False) == {("A", "B", "foot")}
    tables = build_route_tables(t, t.segments[0])
    net = t.network
    togo = tables.cost_to_go[0, 0]
    assert togo[net.place_id("D")] == 0.0
    assert togo[net.place_id("A")] > togo[net.place_id("B")] > togo[net.place_id("C")] > 0


def test_closed_routes_are_avoided() -> None:
    t = _timeline(closed_routes=[{"from": "B", "to": "C", "mode": "road"}])
    assert _choose(t, "B", bus=False) == {("B", "D", "trek")}
    assert _choose(t, "B", bus=True) == {("B", "D", "trek")}


def test_no_way_on_gives_no_link() -> None:
    t = _timeline(closed_routes=[{"from": "B", "to": "C"}, {"from": "B", "to": "D"}])
    assert _choose(t, "B", bus=False) == {("", "", "none")}


def test_route_choice_spreads_with_temperature() -> None:
    data = tiny_data()
    data["behaviour"]["route_choice_temperature"] = 1e6  # any descending link as likely
    t = compile_timeline(validate_data(data), tiny_network())
    assert _choose(t, "B", bus=False) == {("B", "C", "foot"), ("B", "D", "trek")}


def test_nearest_facility_is_the_station() -> None:
    t = _timeline()
    tables = build_route_tables(t, t.segments[0])
    assert list(tables.facilities_by_distance[:, 0]) == [0, 0, 0, 0]
    closed = _timeline(detention_capacity={"Station B": 0})
    assert list(build_route_tables(closed, closed.segments[0]).facilities_by_distance[:, 0]) == [-1] * 4


# --------------------------------------------------------------------------- group draws


def test_group_draws_are_equal_within_a_group_and_reproducible() -> None:
    groups = np.array([3, 3, 7, 7, 7, 9], dtype=np.int32)
    key = new_key(np.random.default_rng(1))
    u = group_uniform(groups, key)
    assert u[0] == u[1] and u[2] == u[3] == u[4]
    assert len({u[0], u[2], u[5]}) == 3
    assert np.array_equal(u, group_uniform(groups, key))
    assert key == new_key(np.random.default_rng(1))  # same seed, same key


def test_group_draws_differ_across_keys_and_are_uniform() -> None:
    rng = np.random.default_rng(2)
    groups = np.arange(100_000, dtype=np.int32)
    a, b = group_uniform(groups, new_key(rng)), group_uniform(groups, new_key(rng))
    assert not np.array_equal(a, b)  # a new key (a new day, a new use) gives new draws
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02
    for u in (a, b):
        assert u.min() >= 0.0 and u.max() < 1.0
        counts = np.histogram(u, bins=10, range=(0, 1))[0]
        assert np.all(np.abs(counts - 10_000) < 500)  # about 5 standard deviations
        assert abs(u.mean() - 0.5) < 0.005


def test_new_key_advances_the_generator() -> None:
    rng = np.random.default_rng(3)
    assert new_key(rng) != new_key(rng)


# --------------------------------------------------------------------------- queues


def test_rank_within() -> None:
    assert list(rank_within(np.array([0, 0, 1, 1, 1, 4]))) == [0, 1, 0, 1, 2, 0]


def test_admit_serves_at_most_capacity_per_server_oldest_first() -> None:
    rows = np.array([10, 11, 12, 13, 14, 15, 16])
    server = np.array([1, 0, 1, 1, 0, -1, 2])
    since = np.array([5, 1, 3, 4, 0, 0, 0])
    line = admit(np.array([1, 2, 0]), server=server, by=(since, rows))
    served, waiting = line.take(rows)
    # Server 0 serves its oldest, server 1 its two oldest, server 2 none; row 15 waits at
    # no server.
    assert list(served) == [14, 12, 13]
    assert sorted(waiting) == [10, 11, 15, 16]
    assert list(line.server[line.served]) == [0, 1, 1]


def test_admit_one_queue_and_ties_broken_by_the_next_key() -> None:
    rows = np.array([4, 2, 9, 1])
    since = np.array([1, 0, 0, 1])
    served, waiting = admit(3, by=(since, rows)).take(rows)
    assert list(served) == [2, 9, 1] and list(waiting) == [4]
    assert admit(0, by=(since,)).take(rows)[0].size == 0
    assert admit(10, by=(since,)).take(rows)[0].size == 4


def test_admit_in_random_order_draws_one_uniform_each_and_is_reproducible() -> None:
    server = np.zeros(1000, dtype=np.int64)
    rows = np.arange(1000)
    a = admit(np.array([100]), server=server, rng=np.random.default_rng(4)).take(rows)[0]
    b = admit(np.array([100]), server=server, rng=np.random.default_rng(4)).take(rows)[0]
    assert np.array_equal(a, b) and a.size == 100
    assert a.mean() == pytest.approx(500, abs=100)  # not the first hundred
    rng = np.random.default_rng(4)
    admit(np.array([100]), server=server, rng=rng)
    reference = np.random.default_rng(4)
    reference.random(1000)
    assert rng.random() == reference.random()  # exactly one draw per person waiting


def test_admit_needs_to_know_who_waits() -> None:
    with pytest.raises(InputError):
        admit(3)


def test_daily_capacity_is_unbiased() -> None:
    rng = np.random.default_rng(5)
    draws = np.array([int(daily_capacity(7.0, 2.0, rng)) for _ in range(4000)])
    assert set(draws) == {3, 4} and draws.mean() == pytest.approx(3.5, abs=0.05)
    assert list(daily_capacity([10.0, 0.0], 5.0, rng)) == [2, 0]
