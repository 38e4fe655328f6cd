"""The dashboard's policy levers: what each one changes in a scenario, and the edited scenario as YAML.

A lever is a number a user sets on the page. :func:`apply_levers` turns a scenario and lever
values into a new, validated :class:`~corridor.scenario.Scenario` (the scenario's data are
dumped, edited and validated again: the YAML text is never edited). Two kinds of lever:

- *multipliers* (enforcement intensity, COMAR capacity) scale a field at the start *and* in
  every scheduled change of it, so the timing of the scenario's events is kept;
- *held values* (busing-south share, CBP One appointments a day, days the humanitarian visa
  window stays open) replace the field for the whole horizon: the scheduled changes of that
  field are dropped (the visa window is rescheduled to open on its first scheduled day).

A lever left at its default (the scenario's own value) changes nothing, so the defaults give
the unchanged scenario exactly.

This module does not import Dash: it is the part of the dashboard that tests and notebooks
can use without the ``dashboard`` extra.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from corridor.errors import ScenarioError
from corridor.scenario import Scenario
from corridor.scenario.loading import validate_data
from corridor.scenario.paths import reindex_event_paths

__all__ = [
    "LEVERS",
    "Lever",
    "apply_levers",
    "default_levers",
    "lever_changes",
    "levers_key",
    "scenario_yaml",
]

#: The source named by the events and provenance entries a lever writes.
LEVER_SOURCE = "set with corridor dashboard"


@dataclass(frozen=True)
class Lever:
    """One policy lever of the dashboard.

    Attributes
    ----------
    key : str
        Identifier (also the id of its input on the page).
    label : str
        What the page calls it.
    unit : str
        Unit of the number the user gives.
    kind : {"multiplier", "held"}
        Scales a field at the start and in its scheduled changes, or holds it for the horizon.
    field : str
        Dotted path inside ``policy`` of the field it changes.
    low, high, step : float
        Range and step offered on the page (values outside it are refused with a message).
    help : str
        One sentence for the page: what the lever does to the scenario.
    """

    key: str
    label: str
    unit: str
    kind: Literal["multiplier", "held"]
    field: str
    low: float
    high: float
    step: float
    help: str


LEVERS: tuple[Lever, ...] = (
    Lever(
        "enforcement",
        "Enforcement intensity",
        "times the scenario's values",
        "multiplier",
        "checkpoint_intensity",
        0.0,
        5.0,
        0.1,
        "Multiplies the checkpoint and raid intensity of every Mexican state, at the start and in "
        "each scheduled change (e.g. the June 2019 deployment).",
    ),
    Lever(
        "bus_south",
        "Busing-south share",
        "share of detention outcomes",
        "held",
        "bus_south_share",
        0.0,
        1.0,
        0.05,
        "Share of detained people bused back to southern Mexico instead of deported or released; "
        "held for the whole horizon.",
    ),
    Lever(
        "cbp_one",
        "CBP One appointments",
        "persons a day",
        "held",
        "cbp_one.appointments_per_day",
        0.0,
        5000.0,
        50.0,
        "National CBP One appointments a day, held for the whole horizon (nobody books one "
        "where the scenario's CBP One uptake is 0, as before 2023).",
    ),
    Lever(
        "comar",
        "COMAR capacity",
        "times the scenario's values",
        "multiplier",
        "asylum.offices",
        0.0,
        10.0,
        0.1,
        "Multiplies the asylum decisions a day of every COMAR office, at the start and in each "
        "scheduled change.",
    ),
    Lever(
        "visa_days",
        "Humanitarian visa window",
        "days open",
        "held",
        "visas.window_open",
        0.0,
        366.0,
        1.0,
        "Days the humanitarian visitor cards are issued, from the first day the scenario opens "
        "them (or its first day).",
    ),
)

_BY_KEY = {lever.key: lever for lever in LEVERS}


# ------------------------------------------------------------------------------- defaults
def _visa_window(scenario: Scenario) -> tuple[dt.date, int]:
    """First day the visa window is open and how many days it stays open, as scheduled.

    A scenario that never opens it gives (its first day, 0).
    """
    start, end = scenario.horizon.start, scenario.horizon.end
    changes = sorted(
        (max(e.date, start), bool(e.set["visas.window_open"]))
        for e in scenario.applied_events
        if "visas.window_open" in e.set
    )
    is_open = scenario.policy.visas.window_open
    opened: dt.date | None = start if is_open else None
    for day, value in changes:
        if value and opened is None:
            opened = day
        elif not value and opened is not None:
            return opened, (day - opened).days
    if opened is None:
        return start, 0
    return opened, (end - opened).days + 1


def default_levers(scenario: Scenario) -> dict[str, float]:
    """The lever values that leave ``scenario`` unchanged (its own starting values).

    Multipliers are 1; held values are the field's value on the first day; the visa window
    is the length of its first scheduled opening (0 where it never opens).
    """
    policy = scenario.policy
    return {
        "enforcement": 1.0,
        "bus_south": float(policy.bus_south_share),
        "cbp_one": float(policy.cbp_one.appointments_per_day),
        "comar": 1.0,
        "visa_days": float(_visa_window(scenario)[1]),
    }


def _checked(values: Mapping[str, Any], defaults: Mapping[str, float]) -> dict[str, float]:
    """Lever values as floats, each a finite number within its lever's range, or a ScenarioError."""
    unknown = sorted(set(values) - set(_BY_KEY))
    problems = [(f"levers.{k}", None, "not a lever of the dashboard") for k in unknown]
    out: dict[str, float] = {}
    for lever in LEVERS:
        raw = values.get(lever.key, defaults[lever.key])
        where = f"levers.{lever.key}"
        if raw is None or raw == "" or isinstance(raw, bool):
            problems.append((where, None, f"{lever.label}: give a number ({lever.unit})"))
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            problems.append((where, None, f"{lever.label}: expected a number ({lever.unit}), got {raw!r}"))
            continue
        if not math.isfinite(number) or not lever.low <= number <= lever.high:
            problems.append(
                (
                    where,
                    None,
                    f"{lever.label} must be between {lever.low:g} and {lever.high:g} "
                    f"({lever.unit}); got {number:g}",
                )
            )
            continue
        if lever.key == "visa_days" and number != round(number):
            problems.append((where, None, f"{lever.label}: a whole number of days, got {number:g}"))
            continue
        out[lever.key] = number
    if problems:
        raise ScenarioError(problems, what="dashboard levers")
    return out


def lever_changes(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, float]:
    """The levers of ``values`` that differ from the scenario's defaults, checked.

    Raises
    ------
    ScenarioError
        A lever that is not a number within its range, or an unknown lever.
    """
    defaults = default_levers(scenario)
    checked = _checked(values, defaults)
    return {k: v for k, v in checked.items() if not math.isclose(v, defaults[k], rel_tol=0, abs_tol=1e-12)}


def levers_key(scenario: Scenario, values: Mapping[str, Any], *, seed: int, agents: int) -> str:
    """A digest naming one run of the dashboard: scenario, changed levers, seed and agents.

    Levers at their defaults do not enter it, so the unchanged scenario has one key however
    its levers were reached.
    """
    changed = lever_changes(scenario, values)
    text = json.dumps(
        {
            "scenario": scenario.sha256 or scenario.model_dump_json(),
            "levers": dict(sorted(changed.items())),
            "seed": seed,
            "agents": agents,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------- editing
def _scale(value: Any, factor: float) -> Any:
    """``value`` with every number in it (not booleans, dates or names) times ``factor``, as floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value) * factor
    if isinstance(value, dict):
        return {k: _scale(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [_scale(v, factor) for v in value]
    return value


def _under(path: str, field: str) -> bool:
    return path == field or path.startswith(field + ".")


def _scale_offices(value: Any, factor: float) -> Any:
    """Offices (or one office, or its decisions a day) with ``decisions_per_day`` scaled."""
    if isinstance(value, list):
        return [_scale_offices(v, factor) for v in value]
    if isinstance(value, dict):
        return {k: (_scale(v, factor) if k == "decisions_per_day" else v) for k, v in value.items()}
    return _scale(value, factor)


def _multiply(data: dict[str, Any], field: str, factor: float) -> None:
    """Scale ``policy.<field>`` at the start and in every event that sets it (or under it)."""
    policy = data["policy"]
    head, _, rest = field.partition(".")
    scale = _scale_offices if field == "asylum.offices" else _scale
    if rest:
        policy[head][rest] = scale(policy[head][rest], factor)
    else:
        policy[head] = scale(policy[head], factor)
    for event in data["events"]:
        event["set"] = {
            path: (scale(value, factor) if _under(path, field) else value)
            for path, value in event["set"].items()
        }


def _hold(data: dict[str, Any], field: str, value: Any) -> None:
    """Set ``policy.<field>`` from the start and drop the scheduled changes of it.

    An event left with nothing to set, no routes to close or open, is dropped.
    """
    node = data["policy"]
    parts = field.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    kept = []
    for i, event in enumerate(data["events"]):
        event["set"] = {p: v for p, v in event["set"].items() if not _under(p, field)}
        if event["set"] or event["close_routes"] or event["reopen_routes"]:
            kept.append(i)
    data["events"] = [data["events"][i] for i in kept]
    reindex_event_paths(data, kept)  # priors and reasons follow their events


def _reschedule_visas(data: dict[str, Any], scenario: Scenario, days: int) -> None:
    """Open the humanitarian visa window for ``days`` days from its first scheduled day."""
    opens, _ = _visa_window(scenario)
    start, end = scenario.horizon.start, scenario.horizon.end
    _hold(data, "visas.window_open", days > 0 and opens <= start)
    if days <= 0:
        return
    closes = opens + dt.timedelta(days=days)
    if opens > start:
        data["events"].append(
            {
                "date": opens,
                "name": "Humanitarian visitor cards issued (dashboard lever)",
                "source": LEVER_SOURCE,
                "set": {"visas.window_open": True},
                "close_routes": [],
                "reopen_routes": [],
            }
        )
    if closes <= end:
        data["events"].append(
            {
                "date": closes,
                "name": f"Humanitarian visitor cards stop after {days} days (dashboard lever)",
                "source": LEVER_SOURCE,
                "set": {"visas.window_open": False},
                "close_routes": [],
                "reopen_routes": [],
            }
        )


def apply_levers(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A copy of ``scenario`` with the levers of ``values`` applied, validated.

    Parameters
    ----------
    scenario : Scenario
        The unchanged scenario (as :func:`corridor.load_scenario` gives it).
    values : mapping of lever key to number
        Lever values (see :data:`LEVERS`); a lever not given, or at its default, changes
        nothing.

    Returns
    -------
    Scenario
        ``scenario`` itself where no lever changes it; otherwise a new scenario named
        ``<name>-dashboard``, with a provenance entry for each changed field and a digest
        (``sha256``) that covers the changes.

    Raises
    ------
    ScenarioError
        A lever value that is not a number in its range, or an edited scenario that does not
        validate (naming the field and what was expected).
    """
    changed = lever_changes(scenario, values)
    if not changed:
        return scenario
    data: dict[str, Any] = scenario.model_dump(by_alias=True)
    for key, number in changed.items():
        lever = _BY_KEY[key]
        if key == "visa_days":
            _reschedule_visas(data, scenario, round(number))
        elif lever.kind == "multiplier":
            _multiply(data, lever.field, number)
        else:
            _hold(data, lever.field, number)
        data["provenance"][f"policy.{lever.field}"] = {
            "assumption": f"{LEVER_SOURCE}: {lever.label} = {number:g} ({lever.unit})"
        }
    data["events"].sort(key=lambda e: e["date"])
    base_name = scenario.name.removesuffix("-dashboard")
    data["name"] = f"{base_name}-dashboard"[:100]
    summary = ", ".join(f"{_BY_KEY[k].label} {v:g}" for k, v in changed.items())
    data["description"] = f"{scenario.description.strip()} Edited in corridor dashboard: {summary}.".strip()
    data["base_dir"] = scenario.base_dir
    digest = hashlib.sha256((scenario.sha256 or "").encode())
    digest.update(json.dumps(dict(sorted(changed.items()))).encode())
    data["sha256"] = digest.hexdigest()
    return validate_data(data, source=f"{scenario.name} with the dashboard's levers")


# ------------------------------------------------------------------------------- YAML
def _plain(value: Any) -> Any:
    """Scenario data as YAML's plain types: dates stay dates, paths become text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def scenario_yaml(scenario: Scenario, header: str = "") -> str:
    """The whole scenario as YAML text that :func:`corridor.load_scenario` reads back.

    Inflow files are written as absolute paths (the text may be saved anywhere), fields at
    their defaults are left out, and ``header`` (lines of text) is written first as
    comments.

    Parameters
    ----------
    scenario : Scenario
    header : str
        Comment lines to put first (without the ``#``).

    Returns
    -------
    str
    """
    data = scenario.model_dump(by_alias=True, exclude_defaults=True)
    # exclude_defaults would drop fields of nested models that equal their defaults but are
    # required at the top level (name, horizon, ...): they are always written.
    for name in ("name", "horizon", "inflows", "population", "behaviour", "hazards", "policy"):
        data.setdefault(name, scenario.model_dump(by_alias=True)[name])
    base = scenario.base_dir
    for inflow in data.get("inflows", []):
        if inflow.get("file") and base is not None and not Path(inflow["file"]).is_absolute():
            inflow["file"] = str((Path(base) / inflow["file"]).resolve())
    order = ["name", "description", *[k for k in data if k not in ("name", "description")]]
    ordered = {k: _plain(data[k]) for k in order if k in data}
    comments = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return comments + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)
