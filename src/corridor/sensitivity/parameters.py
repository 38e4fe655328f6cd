"""Which parameters vary, over which ranges, and the overrides a sampled point becomes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from corridor.errors import ScenarioError, SensitivityError
from corridor.scenario import Scenario, load_scenario
from corridor.scenario.paths import MISSING, get_path, normalise_overrides, scale_numbers, scale_under

Kind = Literal["probability", "positive", "multiplier"]

#: The candidates of the default parameter set, with how their range is made from the
#: scenario's value ``v``: ``probability``: ``[v/2, min(2v, 1)]``; ``positive``: ``[v/2, 2v]``;
#: ``multiplier``: every number under the path times a factor in ``[0.5, 2]``. A candidate
#: that an event sets later becomes a multiplier (so the event's value scales too; for a
#: probability the factor stops where the largest value reaches 1). Candidates are kept when
#: the scenario's provenance marks them as assumptions (see :func:`is_assumed`) and their
#: value is not 0.
DEFAULT_CANDIDATES: tuple[tuple[str, Kind], ...] = (
    ("inflow_multiplier", "positive"),
    ("behaviour.move_on_probability_per_day", "probability"),
    ("behaviour.continue_probability", "probability"),
    ("behaviour.give_up_probability_per_day", "probability"),
    ("behaviour.border_crossing_probability_per_day", "probability"),
    ("behaviour.route_enforcement_weight", "positive"),
    ("policy.interdiction_per_100km", "multiplier"),  # the checkpoint hazard, all modes together
    ("policy.raid_probability_per_day", "probability"),
    ("policy.detention_mean_stay_days", "positive"),
    ("policy.us_apprehension_probability", "probability"),
    ("policy.asylum.application_probability_per_day.default", "probability"),
    ("policy.metering.join_share.default", "probability"),
    ("hazards.death_per_1000km", "multiplier"),
)


@dataclass(frozen=True)
class Parameter:
    """An uncertain input: a dotted scenario path (``*`` at the end: a multiplier) and a range."""

    path: str
    low: float
    high: float

    @property
    def is_multiplier(self) -> bool:
        """Whether the drawn value multiplies the numbers under :attr:`target`."""
        return self.path.endswith("*")

    @property
    def target(self) -> str:
        """The scenario path the parameter acts on (without the ``*``)."""
        return self.path.rstrip("*")

    def __str__(self) -> str:
        return f"{self.path}={self.low:g}:{self.high:g}"


def parse_param(text: str) -> Parameter:
    """Read ``dotted.path=low:high`` (``dotted.path*=low:high`` for a multiplier)."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or any(not part for part in path.rstrip("*").split(".")):
        raise SensitivityError(f"--param {text!r}: expected dotted.path=low:high")
    if "*" in path[:-1]:
        raise SensitivityError(f"--param {text!r}: only one '*', at the end of the path")
    low_text, sep, high_text = raw.partition(":")  # not YAML: it would read 1:2 as 62
    try:
        if not sep:
            raise ValueError
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise SensitivityError(f"--param {text!r}: the range must be low:high, two numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise SensitivityError(f"--param {text!r}: need finite low < high (got {low:g}:{high:g})")
    return Parameter(path, low, high)


# --------------------------------------------------------------------------- scenario values


def _dump(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="json", by_alias=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(value: Any) -> list[float]:
    if _is_number(value):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return []


def _event_sets(data: Mapping[str, Any], target: str) -> list[tuple[int, dict[str, Any]]]:
    """Events whose ``set`` touches ``target`` (a ``policy.`` path): (index, their set)."""
    if not target.startswith("policy."):
        return []
    rel = target.removeprefix("policy.")
    hits = []
    for i, event in enumerate(data.get("events") or []):
        sets = event.get("set") or {}
        if any(k == rel or k.startswith(rel + ".") or rel.startswith(k + ".") for k in sets):
            hits.append((i, sets))
    return hits


def _multiplier_overrides(data: Mapping[str, Any], target: str, factor: float) -> dict[str, Any]:
    """Overrides multiplying every number at or under ``target``, and what events set there."""
    out: dict[str, Any] = {}
    value = get_path(data, target)
    if value is not MISSING and _numbers(value):
        out[target] = scale_numbers(value, factor)
    rel = target.removeprefix("policy.")
    for i, sets in _event_sets(data, target):
        new = {}
        for key, val in sets.items():
            if key == rel or key.startswith(rel + "."):
                new[key] = scale_numbers(val, factor)
            elif rel.startswith(key + "."):
                new[key] = scale_under(val, rel[len(key) + 1 :], factor)
            else:
                new[key] = val
        out[f"events.{i}.set"] = new
    return out


def parameter_overrides(
    scenario: Scenario, parameters: Sequence[Parameter], values: Sequence[float]
) -> dict[str, Any]:
    """Scenario overrides that set ``parameters`` to ``values`` (one draw).

    ``scenario`` is the scenario being varied (loaded with any fixed overrides): multipliers
    scale its numbers. Plain parameters whose scenario value is an integer are rounded.
    """
    data = _dump(scenario)
    out: dict[str, Any] = {}
    for p, v in zip(parameters, values, strict=True):
        if p.is_multiplier:
            out.update(_multiplier_overrides(data, p.target, float(v)))
        else:
            current = get_path(data, p.path)
            is_int = isinstance(current, int) and not isinstance(current, bool)
            out[p.path] = round(v) if is_int else float(v)
    return out


def is_assumed(scenario: Scenario, path: str) -> bool:
    """Whether the scenario's provenance leaves ``path`` an assumption.

    True when its provenance entry (the path's own or its nearest parent's) is an assumption
    or missing, or when it is a source whose text names the field as an assumption (a block's
    source such as ``policy.metering``'s saying "join_share and abandonment are assumptions").
    """
    entry = scenario.provenance_of(path)
    if entry is None or entry.assumption is not None:
        return True
    text = (entry.source or "").lower()
    names = [p for p in path.split(".") if p != "default" and not p.isdigit()]
    return "assumption" in text and bool(names) and names[-1].lower() in text


def default_parameters(scenario: Scenario) -> list[Parameter]:
    """The default parameter set: :data:`DEFAULT_CANDIDATES` that ``scenario`` assumes."""
    data = _dump(scenario)
    params = []
    for path, kind in DEFAULT_CANDIDATES:
        value = get_path(data, path)
        if value is MISSING or not is_assumed(scenario, path):
            continue
        if kind != "multiplier" and _is_number(value) and _event_sets(data, path):
            # An event sets it later: scale the event's value with the initial one.
            values = _numbers(value) + [
                x
                for _, sets in _event_sets(data, path)
                for k, v in sets.items()
                if "policy." + k == path
                for x in _numbers(v)
            ]
            top = max(values)
            high = min(2.0, 1.0 / top) if kind == "probability" and top > 0 else 2.0
            if top > 0 and high > 1.0:
                params.append(Parameter(path + "*", 0.5, high))
            continue
        if kind == "multiplier":
            if any(x > 0 for x in _numbers(value)):
                params.append(Parameter(path + "*", 0.5, 2.0))
            continue
        if not _is_number(value) or value <= 0:
            continue
        v = float(value)
        high = min(2 * v, 1.0) if kind == "probability" else 2 * v
        if high > v / 2:
            params.append(Parameter(path, v / 2, high))
    return params


#: The fixed overrides of an analysis, as ``{path: value}`` (one normaliser: the scenario's).
_fixed = normalise_overrides


def check_parameters(
    scenario: str | Path,
    parameters: Sequence[Parameter],
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Check that every parameter is a scenario field and valid at both ends of its range.

    Loads the scenario with all parameters at their low ends, then at their high ends; on a
    failure, parameter by parameter to name the culprits.

    Returns
    -------
    Scenario
        The scenario with the fixed ``overrides`` (the one the parameters vary).

    Raises
    ------
    SensitivityError
        Naming each bad parameter and the scenario's complaint.
    ScenarioError
        When the scenario itself (with the fixed overrides) does not load.
    """
    fixed = _fixed(overrides)
    base = load_scenario(scenario, fixed)
    if not parameters:
        raise SensitivityError("no parameters to vary")
    seen = [p.target for p in parameters]
    dupes = sorted({t for t in seen if seen.count(t) > 1})
    if dupes:
        raise SensitivityError(f"parameter given twice: {', '.join(dupes)}")
    data = _dump(base)
    problems: list[str] = []
    for p in parameters:
        if p.is_multiplier and not (_numbers(get_path(data, p.target)) or _event_sets(data, p.target)):
            problems.append(
                f"--param {p}: no number at {p.target!r} in the scenario to multiply "
                "(check the spelling; see docs/scenarios.md for the fields)"
            )
        elif not p.is_multiplier and isinstance(get_path(data, p.path), dict | list):
            problems.append(
                f"--param {p}: {p.path!r} holds several values; name one of them, "
                f"or scale them all with {p.path}*=low:high"
            )
    if problems:
        raise SensitivityError("\n".join(problems))

    def fails(subset: Sequence[Parameter], end: str) -> str | None:
        values = [getattr(p, end) for p in subset]
        try:
            load_scenario(scenario, {**fixed, **parameter_overrides(base, subset, values)})
        except ScenarioError as exc:
            return "; ".join(f"{path}: {msg}" for path, _line, msg in exc.problems)
        return None

    if fails(parameters, "low") is None and fails(parameters, "high") is None:
        return base
    for p in parameters:
        for end in ("low", "high"):
            why = fails([p], end)
            if why is not None:
                problems.append(f"--param {p}: invalid at {end} = {getattr(p, end):g}: {why}")
                break
    raise SensitivityError("\n".join(problems or ["the parameters are invalid together at one end"]))
