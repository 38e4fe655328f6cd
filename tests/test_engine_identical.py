"""The engine's fast paths give exactly what the plain formulas give.

The engine is tuned for few NumPy calls a day (see docs in :mod:`corridor.engine.phases.move` and
``benchmarks/engine_per_day.py``); each shortcut must keep every random draw and every count
bit for bit. These tests pin the shortcuts against the plain versions they replaced. The
whole-run check (SHA-256 of every output of five runs against the code before a change) is
``benchmarks/engine_identical.py``: too slow for the suite.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from corridor.engine.queues import admit
from corridor.engine.randomness import group_uniform, new_key
from corridor.engine.routing import build_route_tables, choice_row, choose_links, choose_links_at
from corridor.engine.state import Simulation
from corridor.geography import TRAVEL_MODES
from corridor.metrics import FLOWS
from corridor.scenario.loading import validate_data
from corridor.timeline import compile_timeline

from .test_phases import tiny_data, tiny_network


def _plain_group_uniform(groups: npt.NDArray[np.integer], key: np.uint64) -> npt.NDArray[np.float64]:
    """SplitMix64's finaliser as first written (before the in-place version)."""
    with np.errstate(over="ignore"):
        x = groups.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.Philox, np.random.MT19937, np.random.SFC64])
def test_new_key_is_the_integers_draw_and_leaves_the_same_state(bits: type[np.random.BitGenerator]) -> None:
    fast, plain = np.random.Generator(bits(7)), np.random.Generator(bits(7))
    for i in range(2000):
        assert new_key(fast) == np.uint64(plain.integers(0, 2**63, dtype=np.int64)), i
        if i % 7 == 0:  # interleave other draws: the streams must stay in step
            assert fast.random() == plain.random()
            assert np.array_equal(fast.random(5), plain.random(5))
    assert np.array_equal(fast.integers(0, 2**62, 100), plain.integers(0, 2**62, 100))  # same state after


@pytest.mark.parametrize("n", [0, 1, 37, 5000])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_group_uniform_matches_the_plain_formula(n: int, dtype: type[np.integer]) -> None:
    rng = np.random.default_rng(n)
    groups = rng.integers(0, 2**31 - 1, n).astype(dtype)
    key = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
    got = group_uniform(groups, key)
    assert got.dtype == np.float64 and got.shape == (n,)
    assert np.array_equal(got, _plain_group_uniform(groups, key))


def test_draws_of_no_one_leave_the_generator_alone() -> None:
    """The phases skip draws for empty arrays; that is only safe because they draw nothing."""
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    rng.random(0)
    rng.exponential(2.0, 0)
    served = admit(np.array([2, 1]), server=np.empty(0, dtype=np.intp), rng=rng)
    assert rng.bit_generator.state == before
    assert served.queue.size == served.served.size == served.server.size == 0


def test_count_by_kind_is_one_add_per_kind() -> None:
    t = compile_timeline(validate_data(tiny_data()), tiny_network())
    a, b = Simulation.create(t, 1.0, seed=1), Simulation.create(t, 1.0, seed=1)
    rng = np.random.default_rng(5)
    n = 300
    mode = rng.integers(0, len(TRAVEL_MODES), n)
    place = rng.integers(0, t.network.n_places, n).astype(np.int16)
    nationality = rng.integers(0, len(t.nationalities), n).astype(np.int8)
    flows = np.array([FLOWS.index(f"trips_{m}") for m in TRAVEL_MODES], dtype=np.intp)
    a.count_by_kind(4, flows, mode, place, nationality)
    for m, name in enumerate(TRAVEL_MODES):
        b.recorder.add(4, f"trips_{name}", place[mode == m], nationality[mode == m])
    assert np.array_equal(a.recorder.flows, b.recorder.flows)
    assert a.recorder.flows.sum() == n


def test_route_choice_matches_the_plain_count() -> None:
    """The fast choice (first cdf entry above u) is the plain one (count of entries <= u)."""
    t = compile_timeline(validate_data(tiny_data()), tiny_network())
    tables = build_route_tables(t, t.segments[0])
    assert np.all(np.diff(tables.cdf_rows, axis=1) >= 0), "the fast choice needs rows that never decrease"
    rng = np.random.default_rng(11)
    n = 5000
    destination = rng.integers(0, t.destinations.size, n).astype(np.int8)
    bus = rng.random(n) < 0.5
    place = rng.integers(0, t.network.n_places, n).astype(np.int16)
    u = rng.random(n)
    # As first written: gather each traveller's cdf row, count the entries at or below u.
    k_max = tables.out_links.shape[1]
    rows = tables.cdf[destination, bus.astype(np.intp), place]
    k = np.minimum((u[:, None] >= rows).sum(axis=1), k_max - 1)
    has = tables.has_option[destination, bus.astype(np.intp), place]
    plain = np.where(has, tables.out_links[place, k], -1).astype(np.int16)

    assert np.array_equal(choose_links(tables, destination, bus, place, u), plain)
    # The move phase computes the row of place 0 once a day and adds the place per hop.
    fast = choose_links_at(tables, choice_row(tables, destination, bus) + place, place, u)
    assert np.array_equal(fast, plain) and fast.dtype == np.int16
    assert (plain >= 0).any() and (plain == -1).any()


def test_segments_with_the_same_links_share_their_tables() -> None:
    t = compile_timeline(validate_data(tiny_data()), tiny_network())
    sim = Simulation.create(t, 1.0, seed=1)
    policy = t.segments[0]
    assert sim._tables_for(policy) is sim._tables_for(policy)
    closed = type(policy)(**{**vars(policy), "link_open": ~policy.link_open})
    assert sim._tables_for(closed)[0] is not sim._tables_for(policy)[0]
