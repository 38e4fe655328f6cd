"""Scenario files: the pydantic models, YAML loading with clear errors, and overrides.

A scenario is a YAML file with a horizon, inflows, behaviour and hazard parameters, the
initial state of the policy instruments and a dated list of events that change them.
:func:`load_scenario` validates it and returns a :class:`Scenario`; every error names the
YAML path of the offending field, its line in the file where there is one, and what was
expected. Unknown keys are errors: a typo is never silently ignored.

:mod:`corridor.timeline` turns a Scenario into per-day arrays for the engine.
"""

from __future__ import annotations

from corridor.errors import ScenarioError
from corridor.scenario.base import RouteRef
from corridor.scenario.instruments import Policy
from corridor.scenario.loading import load_scenario
from corridor.scenario.paths import apply_overrides, parse_override
from corridor.scenario.schema import Behaviour, Event, Hazards, Inflow, Population, Prior, Scenario

__all__ = [
    "Behaviour",
    "Event",
    "Hazards",
    "Inflow",
    "Policy",
    "Population",
    "Prior",
    "RouteRef",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "load_scenario",
    "parse_override",
]
