"""Shared fixtures: a small valid scenario (as a dict, to tweak), YAML writing, runs.

The scenarios built here are deliberately small (40 days, three nationalities at a few
hundred persons a day, a few thousand agents) so that a run takes a fraction of a second.
The shipped ``scenarios/mexico-2019.yaml`` is run once per session, with 5,000 agents.
"""

from __future__ import annotations

import copy
import os
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import corridor
from corridor.engine import core
from corridor.engine.population import State
from corridor.scenario import Policy
from corridor.scenario.loading import validate_data
from corridor.testing import step_checked

REPO = Path(__file__).resolve().parents[1]
SHIPPED_SCENARIO = REPO / "scenarios" / "mexico-2019.yaml"
GEOGRAPHY_DIR = Path(corridor.__file__).resolve().parent / "data" / "geography"

#: The six state stocks whose sum is ``present`` (docs/metrics.md).
STATE_STOCKS = ("in_transit", "waiting", "detained", "asylum_pending", "border_waiting", "mpp_waiting")
METRICS_DOC = REPO / "docs" / "metrics.md"


def documented_metrics() -> dict[str, list[str]]:
    """Metric names in the tables of docs/metrics.md, by section title (not the table of columns)."""
    out: dict[str, list[str]] = {}
    for section in re.split(r"^## ", METRICS_DOC.read_text(), flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        names: list[str] = []
        for row in re.findall(r"^\|([^|]*)\|", section, flags=re.M):
            names += re.findall(r"`([a-z_0-9]+)`", row)
        if names:
            out[title] = names
    return out


def documented_exit_flows() -> tuple[str, ...]:
    """The flows whose sum is ``exits``, as docs/metrics.md defines it."""
    row = re.search(r"^\| `exits` \|([^|]*)\|", METRICS_DOC.read_text(), flags=re.M)
    assert row, "docs/metrics.md defines exits"
    names = tuple(re.findall(r"`([a-z_]+)`", row.group(1)))
    assert "deportations" in names and "deaths" in names
    return names


#: The exit flows whose sum is ``exits`` (docs/metrics.md).
EXIT_FLOWS = documented_exit_flows()
#: Metrics that count persons, in whole agents (the others are capacities and ratios).
COUNTED = (
    "present",
    *STATE_STOCKS,
    "arrivals",
    "interdictions",
    "detentions",
    "detention_overflow_released",
    "detention_overflow_bused_south",
    "detention_transfers",
    "bused_south",
    "released",
    "us_encounters",
    *EXIT_FLOWS,
    "exits",
)
#: Days of the small scenario and its first day.
START = "2019-03-01"
N_DAYS = 40
#: Persons per day of each inflow of the small scenario.
RATES = {"Honduras": 300.0, "Guatemala": 200.0, "Cuba": 100.0}


def base_scenario_data() -> dict[str, Any]:
    """A valid small scenario as raw data (the structure of mexico-2019.yaml, constant inflows)."""
    return {
        "name": "small",
        "description": "A small test scenario: 40 days, three nationalities, constant inflows.",
        "horizon": {"start": START, "end": "2019-04-09"},
        "inflows": [
            {
                "nationality": "Honduras",
                "entry": {"Ciudad Tecun Uman": 0.7, "El Ceibo (GT side)": 0.3},
                "persons_per_day": RATES["Honduras"],
            },
            {
                "nationality": "Guatemala",
                "entry": {"La Mesilla": 0.5, "Ciudad Tecun Uman": 0.5},
                "persons_per_day": RATES["Guatemala"],
            },
            {"nationality": "Cuba", "entry": {"Ciudad Tecun Uman": 1.0}, "persons_per_day": RATES["Cuba"]},
        ],
        "population": {
            "minor_share": 0.3,
            "group_size_mean": 2.0,
            "bus_access_share": {"default": 0.3, "Cuba": 0.7},
            "destination_weights": {"Reynosa": 0.4, "Ciudad Juarez": 0.3, "Tijuana": 0.3},
        },
        "behaviour": {
            "speed_km_per_day": {"foot": 25, "bus": 450, "rail": 100, "sea": 150, "trek": 15},
            "route_distance_weight": 1.0,
            "route_risk_weight": 1.0,
            "route_enforcement_weight": 10.0,
            "route_choice_temperature": 1.0,
            "move_on_probability_per_day": 0.5,
            "continue_probability": 0.5,
            "rest_days_after_arrival": 1,
            "give_up_probability_per_day": 0.002,
            "give_up_growth_per_attempt": 0.5,
            "settle_share": 0.5,
            "reentry_probability": {"default": 0.3},
            "reentry_delay_days": 10,
            "border_crossing_probability_per_day": 0.3,
        },
        "hazards": {
            "death_per_1000km": {"foot": 0.0001, "bus": 0.00005, "rail": 0.0005, "sea": 0.002, "trek": 0.001}
        },
        "policy": {
            "interdiction_per_100km": {
                "foot": 0.0015,
                "bus": 0.007,
                "rail": 0.0035,
                "sea": 0.0007,
                "trek": 0.0003,
            },
            "checkpoint_intensity": {"default": 1.0, "Chiapas": 3.0},
            "raid_probability_per_day": 0.001,
            "detention_capacity_unknown": 64,
            "detention_overflow_max_ratio": 4.0,
            "detention_mean_stay_days": 5,
            "deportation_share": {"default": 0.5},
            "bus_south_share": 0.0,
            "bus_south_places": {"Tapachula": 1.0},
            "us_apprehension_probability": 0.8,
            "us_outcome_shares": {"default": {"released": 0.6, "removed": 0.4}},
        },
        "events": [],
    }


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set ``a.b.0.c`` in nested raw data (in place; list items by index); returns ``data``."""
    parts = dotted.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
    return data


def us_outcome_keys() -> list[str]:
    """US encounter outcomes that both the schema accepts and the timeline compiles.

    (The outcome names are being reworked; tests that draw outcome shares use the ones
    both sides know, so they test the engine, not the rename.)
    """
    from corridor.timeline import US_OUTCOMES

    inner = typing.get_args(Policy.model_fields["us_outcome_shares"].annotation)[1]
    literal = typing.get_args(inner)[0]
    accepted = set(typing.get_args(literal))
    return [k for k in US_OUTCOMES if k in accepted]


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    """Write raw scenario data as a YAML file; returns the path."""
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def stated_detention_facilities(network: corridor.Network) -> list[str]:
    """Detention facilities whose capacity the data state (the others take the 'unknown' value)."""
    return [
        n
        for n, c in zip(network.detention_name, network.detention_capacity_data, strict=True)
        if np.isfinite(c)
    ]


def uniform_detention_capacity(network: corridor.Network, persons: float) -> dict[str, Any]:
    """Policy fields giving every detention facility the same capacity."""
    return {
        "detention_capacity_unknown": persons,
        "detention_capacity": dict.fromkeys(stated_detention_facilities(network), persons),
    }


@pytest.fixture(scope="session", autouse=True)
def _flee_day_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The compiled Flee day is built once per test session, in a folder of its own (not the
    package's ``__pycache__``, where a leftover could change what the tests see)."""
    before = os.environ.get("CORRIDOR_CACHE_DIR")
    os.environ["CORRIDOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("corridor-cache"))
    yield
    if before is None:
        del os.environ["CORRIDOR_CACHE_DIR"]
    else:
        os.environ["CORRIDOR_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def network() -> corridor.Network:
    return corridor.load_network()


@pytest.fixture
def scenario_data() -> dict[str, Any]:
    """A fresh copy of the small scenario's raw data, to tweak."""
    return base_scenario_data()


@pytest.fixture(scope="session")
def run_small(network: corridor.Network) -> Callable[..., corridor.Results]:
    """``simulate(data, seed=1, agents=3000, **options)``: validate raw data and run it."""

    def _run(
        data: dict[str, Any], seed: int = 1, agents: int | None = 3000, **options: Any
    ) -> corridor.Results:
        scenario = validate_data(copy.deepcopy(data))
        if "scale" in options:
            agents = None
        return corridor.simulate(scenario, seed=seed, agents=agents, network=network, **options)

    return _run


@pytest.fixture(scope="session")
def base_results(run_small: Callable[..., corridor.Results]) -> corridor.Results:
    """The small scenario, seed 1, 3000 agents (shared: do not mutate)."""
    return run_small(base_scenario_data())


@pytest.fixture
def scenario_file(tmp_path: Path, scenario_data: dict[str, Any]) -> Path:
    """The small scenario written as YAML in a temporary folder."""
    return write_yaml(tmp_path / "small.yaml", scenario_data)


class DayLog:
    """What a per-day inspector saw: ``days[d]`` is the inspector's value for day ``d``."""

    def __init__(self) -> None:
        self.days: list[Any] = []


@pytest.fixture
def watch_days(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[core.Simulation, int], Any]], DayLog]:
    """Run an inspector ``f(sim, day)`` at the end of every simulated day (after recording).

    It wraps ``Simulation.record``, the last step of each day in ``run_engine``, so the real
    day loop runs unchanged.
    """

    def _watch(inspect: Callable[[core.Simulation, int], Any]) -> DayLog:
        log = DayLog()
        original = core.Simulation.record

        def record(self: core.Simulation, day: int) -> None:
            original(self, day)
            log.days.append(inspect(self, day))

        monkeypatch.setattr(core.Simulation, "record", record)
        return log

    return _watch


@pytest.fixture
def checked_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the books of every phase of every simulated day (:func:`corridor.testing.step_checked`).

    It replaces the day loop's ``step`` with the checked one, which makes the same draws, so
    runs give the same results; a phase that breaks the books raises ``AssertionError``.
    """
    monkeypatch.setattr(core, "step", step_checked)


def links_of(network: corridor.Network, a: str, b: str, mode: str | None) -> np.ndarray:
    """Directed link ids of the route(s) between places ``a`` and ``b``."""
    routes = network.find_routes(a, b, mode)
    assert routes, f"no {mode} route {a} - {b} in the network"
    return np.flatnonzero(np.isin(network.link_route, routes))


def on_links(sim: core.Simulation, links: np.ndarray) -> np.ndarray:
    """Rows of agents in transit on one of ``links`` at this moment."""
    pop = sim.pop
    return np.flatnonzero((pop.state == State.IN_TRANSIT) & np.isin(pop.link, links))


@pytest.fixture(scope="session")
def shipped_run() -> Iterator[dict[str, Any]]:
    """The shipped mexico-2019 scenario, seed 1, 5000 agents, with per-day link usage.

    Yields ``{"results", "timeline", "link_agent_days"}`` where ``link_agent_days[l]`` counts
    the agent-days spent in transit on link ``l``.
    """
    scenario = corridor.load_scenario(SHIPPED_SCENARIO)
    network = corridor.load_network()
    usage = np.zeros(network.n_links, dtype=np.int64)
    original = core.Simulation.record

    def record(self: core.Simulation, day: int) -> None:
        original(self, day)
        pop = self.pop
        np.add.at(usage, pop.link[pop.state == State.IN_TRANSIT].astype(np.intp), 1)

    core.Simulation.record = record  # type: ignore[method-assign]
    try:
        results = corridor.simulate(scenario, seed=1, agents=5000, network=network)
    finally:
        core.Simulation.record = original  # type: ignore[method-assign]
    yield {
        "results": results,
        "timeline": corridor.compile_timeline(scenario, network),
        "network": network,
        "link_agent_days": usage,
    }
