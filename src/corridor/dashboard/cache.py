"""The dashboard's runs: each parameter set simulated once, through :func:`corridor.simulate`.

A run is named by :func:`~corridor.dashboard.levers.levers_key` (the scenario's digest, the
levers that differ from its defaults, the seed and the agents). :class:`RunCache` keeps the
last runs' :class:`~corridor.dashboard.figures.RunView` (monthly tables, not daily arrays),
so moving a lever back, or asking again for the unchanged scenario, costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corridor.dashboard.figures import RunView, run_view
from corridor.dashboard.levers import apply_levers, levers_key
from corridor.runner.single import simulate
from corridor.scenario import Scenario, load_scenario

__all__ = ["CachedRun", "RunCache", "ScenarioCache"]


class ScenarioCache:
    """Validated scenarios by file, read again when the file changes (its modification time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[Path, tuple[float, Scenario]] = {}

    def get(self, path: str | Path) -> Scenario:
        """The scenario of ``path`` (a ScenarioError if it does not load)."""
        file = Path(path).resolve()
        stamp = file.stat().st_mtime if file.exists() else -1.0
        with self._lock:
            hit = self._loaded.get(file)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        scenario = load_scenario(file)
        with self._lock:
            self._loaded[file] = (stamp, scenario)
        return scenario


@dataclass(frozen=True)
class CachedRun:
    """A run of the dashboard: its key, the edited scenario, what is shown, and whether it was cached."""

    key: str
    scenario: Scenario
    view: RunView
    cached: bool
    seconds: float


class RunCache:
    """Runs keyed by parameter set, the ``max_runs`` most recent kept.

    Runs are made one at a time (a lock), so that two clicks on "run" for the same levers
    simulate once, and the two cores of a small machine are not split between runs.
    """

    def __init__(self, max_runs: int = 32) -> None:
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, RunView] = OrderedDict()
        self.simulated = 0  #: runs simulated (not served from the cache), for tests and logs

    def __len__(self) -> int:
        return len(self._runs)

    def run(self, scenario: Scenario, levers: Mapping[str, Any], *, seed: int, agents: int) -> CachedRun:
        """The run of ``scenario`` with ``levers``, simulated now or taken from the cache.

        Parameters
        ----------
        scenario : Scenario
            The unchanged scenario.
        levers : mapping
            Lever values (see :data:`corridor.dashboard.levers.LEVERS`).
        seed, agents : int
            As for :func:`corridor.simulate`.

        Raises
        ------
        ScenarioError
            Bad lever values, an edited scenario that does not validate, or bad run options.
        """
        start = time.perf_counter()
        key = levers_key(scenario, levers, seed=seed, agents=agents)
        edited = apply_levers(scenario, levers)
        with self._lock:
            view = self._runs.get(key)
            cached = view is not None
            if view is None:
                results = simulate(edited, seed=seed, agents=agents)
                view = run_view(results, edited.horizon.spin_up_days)
                self.simulated += 1
            self._runs[key] = view
            self._runs.move_to_end(key)
            while len(self._runs) > self.max_runs:
                self._runs.popitem(last=False)
        return CachedRun(key, edited, view, cached, time.perf_counter() - start)
