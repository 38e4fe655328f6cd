"""pyabc's model: one simulation with the drawn parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from corridor.errors import ScenarioError
from corridor.evidence.plan import ComparisonPlan, simulated_values
from corridor.geography import Network, load_network
from corridor.runner.single import simulate
from corridor.runner.workers import die_with_parent
from corridor.scenario import Scenario, apply_overrides, load_scenario
from corridor.scenario.loading import validate_data

if TYPE_CHECKING:
    from corridor.calibrate.priors import _Param
from corridor.errors import CalibrationError

# ---------------------------------------------------------------------------- model
_NETWORK: Network | None = None


def _network() -> Network:
    global _NETWORK
    if _NETWORK is None:
        _NETWORK = load_network()
    return _NETWORK


class _Model:
    """pyabc model: simulate with the drawn overrides, return the simulated value per target."""

    def __init__(
        self,
        scenario: str,
        params: list[_Param],
        fixed: Mapping[str, Any],
        agents: int,
        plan: ComparisonPlan,
        places: list[str],
        n_days: int,
        nationalities: list[str],
    ) -> None:
        self.scenario = scenario
        self.params = params
        self.fixed = dict(fixed)
        self.agents = agents
        self.plan = plan
        self.places = places
        self.n_days = n_days
        self.nationalities = nationalities
        self._data: dict[str, Any] | None = None

    def _scenario(self, drawn: Mapping[str, float]) -> Scenario:
        """The scenario with the drawn values (the file is read once per process)."""
        if self._data is None:
            base = load_scenario(self.scenario, self.fixed)
            self._data = {**base.model_dump(by_alias=True, exclude={"priors"}), "base_dir": base.base_dir}
        return validate_data(apply_overrides(self._data, drawn), source=self.scenario, overridden=set(drawn))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_data": None}

    def __call__(self, par: Mapping[str, float]) -> dict[str, npt.NDArray[np.float64]]:
        die_with_parent()  # pyabc's worker processes must not outlive a killed calibration
        drawn = {p.path: p.value(float(par[p.name])) for p in self.params}
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc seeds each worker's global state)
        try:
            sc = self._scenario(drawn)
            res = simulate(sc, seed=seed, agents=self.agents, network=_network())
        except ScenarioError:  # a draw outside the parameter's valid range
            return {"y": np.full(len(self.plan.targets), np.nan)}
        if (
            list(res.places) != self.places
            or len(res.dates) != self.n_days
            or (list(res.nationalities) != self.nationalities)
        ):
            raise CalibrationError(
                f"a draw of {sorted(par)} changed the simulated places, days or nationalities; "
                "calibrate parameters, not the structure of the scenario"
            )
        return {"y": simulated_values(res, self.plan)}
