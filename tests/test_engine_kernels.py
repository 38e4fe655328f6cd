"""The compiled phases (:mod:`corridor.engine.kernels`) give exactly what the NumPy phases give.

A run's results must not depend on whether numba is installed: each compiled phase draws the
same random numbers in the same order as its NumPy twin and counts the same. These tests run
scenarios both ways (``CORRIDOR_ENGINE``) and compare every output bit for bit; the five
larger runs of ``benchmarks/engine_identical.py`` check the same against saved digests.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.engine.accelerate import ENGINE_VARIABLE, compiled_kernels
from corridor.engine.population import State
from corridor.errors import RunError
from corridor.geography import TRAVEL_MODES
from corridor.metrics import FLOWS
from corridor.timeline import US_OUTCOMES

from .conftest import base_scenario_data, set_path

pytest.importorskip("numba")

from corridor.engine import kernels
from corridor.engine.kernels import common

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def _run_both(monkeypatch: pytest.MonkeyPatch, scenario: Any, **options: Any) -> tuple[Any, Any]:
    monkeypatch.setenv(ENGINE_VARIABLE, "numpy")
    plain = corridor.simulate(scenario, **options)
    monkeypatch.setenv(ENGINE_VARIABLE, "numba")
    compiled = corridor.simulate(scenario, **options)
    assert (plain.info["engine"], compiled.info["engine"]) == ("numpy", "numba")  # both really ran
    return plain, compiled


def _assert_identical(plain: corridor.Results, compiled: corridor.Results) -> None:
    for f in dataclasses.fields(plain):
        a, b = getattr(plain, f.name), getattr(compiled, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b), f.name
        elif isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        elif f.name == "info":
            for key in ("agents", "agent_steps", "days"):
                assert a[key] == b[key], key
        else:
            assert a == b if not isinstance(a, pd.Index) else a.equals(b), f.name


def test_codes_compiled_in_are_the_states_and_outcomes() -> None:
    compiled = {name: getattr(common, name) for name in State.__members__ if hasattr(common, name)}
    assert len(compiled) == len(State) - 1  # all but NOT_ARRIVED
    assert all(code == State[name] for name, code in compiled.items())
    outcomes = [common.RELEASED, common.REMOVED, common.EXPELLED, common.MPP]
    assert outcomes == [US_OUTCOMES.index(o) for o in ("released", "removed", "expelled", "mpp")]


def test_counter_codes_name_their_counters() -> None:
    codes = kernels.codes_of()
    for name in codes._fields:
        if name in FLOWS:
            assert getattr(codes, name) == FLOWS.index(name)
    assert [FLOWS[i] for i in codes.trips_by_mode] == [f"trips_{m}" for m in TRAVEL_MODES]
    assert [FLOWS[i] for i in codes.deaths_by_mode] == [f"deaths_{m}" for m in TRAVEL_MODES]


@pytest.mark.parametrize(
    ("name", "agents", "seed"),
    [("mexico-2019.yaml", 4000, 3), ("mexico-2023-24.yaml", 4000, 5), ("mexico-2018-2024.yaml", 1500, 2)],
)
def test_shipped_scenarios_run_the_same_compiled(
    monkeypatch: pytest.MonkeyPatch, name: str, agents: int, seed: int
) -> None:
    plain, compiled = _run_both(monkeypatch, SCENARIOS / name, agents=agents, seed=seed)
    assert plain.flows.sum() > 0 and plain.flows[:, corridor.metrics.FLOWS.index("deaths")].sum() > 0
    _assert_identical(plain, compiled)


def test_small_scenario_with_many_deaths_catches_and_give_ups_runs_the_same(
    monkeypatch: pytest.MonkeyPatch, network: corridor.Network
) -> None:
    """The branches the shipped scenarios rarely take: deaths and catches on most hops,
    raids, giving up after attempts, going straight on."""
    data = base_scenario_data()
    for path, value in [
        ("behaviour.give_up_probability_per_day", 0.05),
        ("behaviour.continue_probability", 0.9),
        ("hazards.death_per_1000km.foot", 20.0),
        ("hazards.death_per_1000km.bus", 5.0),
        ("policy.raid_probability_per_day", 0.02),
        ("policy.interdiction_per_100km.bus", 0.2),
    ]:
        set_path(data, path, value)
    scenario = corridor.scenario.loading.validate_data(data)
    plain, compiled = _run_both(monkeypatch, scenario, agents=3000, seed=11, network=network)
    flows = corridor.metrics.FLOWS
    for flow in ("interdictions", "deaths_foot", "deaths_bus", "settled", "returned_home", "trips_bus"):
        assert plain.flows[:, flows.index(flow)].sum() > 0, flow
    _assert_identical(plain, compiled)


@pytest.mark.parametrize(
    ("settings", "flows"),
    [
        pytest.param(  # stations overflow; southbound seats run out (oldest first, then at random)
            [
                ("policy.interdiction_per_100km.bus", 0.3),
                ("policy.detention_capacity_unknown", 4),
                ("policy.detention_overflow_max_ratio", 1.0),
                ("policy.bus_south_share", 0.7),
                ("policy.bus_south_seats_per_day", 40.0),
                ("policy.overflow_bus_south_share", 0.8),
                ("policy.bus_south_places", {"Tapachula": 0.5, "Ciudad Hidalgo": 0.3, "Tenosique": 0.2}),
            ],
            ("detention_overflow_released", "detention_overflow_bused_south", "bused_south", "deportations"),
            id="seats-and-overflow",
        ),
        pytest.param(  # expelled to Mexico, every one staying to try again (no draw)
            [
                ("policy.us_outcome_shares", {"default": {"released": 0.2, "removed": 0.3, "expelled": 0.5}}),
                ("behaviour.expelled_retry_probability", 1.0),
            ],
            ("us_expelled", "us_removed", "us_released"),
            id="expelled-all-retry",
        ),
        pytest.param(  # expelled, some going home (drawn) and coming back
            [
                ("policy.us_outcome_shares", {"default": {"released": 0.2, "removed": 0.3, "expelled": 0.5}}),
                ("behaviour.expelled_retry_probability", 0.6),
                ("behaviour.reentry_probability", {"default": 0.9}),
                ("behaviour.reentry_delay_days", 3),
            ],
            ("us_expelled", "returned_home", "arrivals"),
            id="expelled-some-home",
        ),
    ],
)
def test_containment_branches_run_the_same(
    monkeypatch: pytest.MonkeyPatch,
    network: corridor.Network,
    settings: list[tuple[str, Any]],
    flows: tuple[str, ...],
) -> None:
    data = base_scenario_data()
    for path, value in settings:
        set_path(data, path, value)
    scenario = corridor.scenario.loading.validate_data(data)
    plain, compiled = _run_both(monkeypatch, scenario, agents=3000, seed=5, network=network)
    for flow in flows:
        assert plain.flows[:, FLOWS.index(flow)].sum() > 0, flow
    _assert_identical(plain, compiled)


def test_engine_variable_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_VARIABLE, "fortran")
    with pytest.raises(RunError, match="CORRIDOR_ENGINE: expected one of auto, numpy, numba, got 'fortran'"):
        compiled_kernels()
    monkeypatch.setenv(ENGINE_VARIABLE, "numpy")
    assert compiled_kernels() is None
    monkeypatch.setenv(ENGINE_VARIABLE, "auto")
    assert compiled_kernels() is kernels


@pytest.mark.parametrize("n", [0, 1, 513])
def test_compiled_group_uniform_is_the_numpy_one(n: int) -> None:
    from corridor.engine.randomness import group_uniform

    rng = np.random.default_rng(n)
    groups = rng.integers(0, 2**31 - 1, n).astype(np.int32)
    key = np.uint64(rng.integers(0, 2**63, dtype=np.int64))
    got = np.array([kernels.group_uniform_one(g, key) for g in groups])
    assert np.array_equal(got, group_uniform(groups, key))


def test_a_changed_kernel_source_makes_numba_recompile_them_all(tmp_path: Path) -> None:
    """numba checks each cached function against its own file only: a change to any source of
    the package renews every source's modification time, which numba's cache compares."""
    from corridor.engine.kernels import _drop_stale_cache

    sources = [tmp_path / name for name in ("common.py", "travel.py")]
    for source in sources:
        source.write_text("x = 1\n")
        os.utime(source, (1_000_000, 1_000_000))
    assert _drop_stale_cache(tmp_path)  # first look: no record of the sources, so all renewed
    assert all(source.stat().st_mtime > 1_000_000 for source in sources)
    for source in sources:
        os.utime(source, (1_000_000, 1_000_000))
    assert not _drop_stale_cache(tmp_path)  # unchanged: left alone
    assert all(source.stat().st_mtime == 1_000_000 for source in sources)
    sources[0].write_text("x = 2\n")
    os.utime(sources[0], (1_000_000, 1_000_000))
    assert _drop_stale_cache(tmp_path)  # one changed: both renewed
    assert all(source.stat().st_mtime > 1_000_000 for source in sources)


def test_a_first_run_that_compiles_says_so() -> None:
    from types import SimpleNamespace

    from corridor.engine.accelerate import compiles_first

    def fake(renewed: bool, signatures: list[str]) -> Any:
        return SimpleNamespace(CACHE_RENEWED=renewed, move_day=SimpleNamespace(signatures=signatures))

    assert compiles_first(fake(True, []))  # sources new to the cache, nothing run yet
    assert not compiles_first(fake(True, ["(int64,)"]))  # compiled by an earlier run
    assert not compiles_first(fake(False, []))  # loaded from the cache
    assert not compiles_first(None)  # the NumPy phases
