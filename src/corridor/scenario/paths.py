"""Dotted paths into a scenario (``policy.asylum.application_probability_per_day.default``,
``events.0.date``): the one owner of reading, setting and scaling them, and of ``--set``
overrides.

A path names mapping keys and list indices, separated by dots. :func:`get_path` reads one
from scenario data (a dump of a :class:`~corridor.scenario.Scenario`, or raw YAML data);
:func:`set_path` and :func:`apply_overrides` set them; :func:`scale_under` scales the numbers
under one (sensitivity multipliers); :func:`parse_override` and :func:`normalise_overrides`
read overrides given as ``a.b=value`` strings or as a mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

from corridor.errors import ScenarioError, excerpt
from corridor.yamltext import parse_yaml_text

__all__ = [
    "MISSING",
    "apply_overrides",
    "event_set_key",
    "get_path",
    "normalise_overrides",
    "parse_override",
    "reindex_event_paths",
    "scale_numbers",
    "scale_under",
    "set_path",
]


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``dotted.path=value``; the value is read as YAML (``3``, ``0.5``, ``[a, b]``, ``true``)."""
    if "=" not in text:
        raise ScenarioError([(text, None, "override must look like dotted.path=value")])
    path, _, raw = text.partition("=")
    path = path.strip()
    if not path or any(not p for p in path.split(".")):
        raise ScenarioError([(text, None, "override path is empty or has an empty segment")])
    if len(raw) > 10_000:
        raise ScenarioError([(path, None, f"override value of {len(raw):,} characters; at most 10,000")])
    try:
        value = parse_yaml_text(raw)[1] if raw.strip() else ""
    except ValueError as exc:
        raise ScenarioError([(path, None, f"override value {excerpt(raw)}: {exc.args[0]}")]) from None
    return path, value


def normalise_overrides(overrides: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    """Overrides as ``{dotted.path: value}``: from a mapping, or ``dotted.path=value`` strings.

    Raises
    ------
    ScenarioError
        A string is malformed (see :func:`parse_override`), or one string is given instead
        of a sequence of them.
    """
    if overrides is None:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    if isinstance(overrides, str):
        raise ScenarioError(
            [(overrides, None, "overrides: give a mapping or a list of 'dotted.path=value' strings")]
        )
    return dict(parse_override(o) for o in overrides)


class _Missing:
    """The type of :data:`MISSING`."""

    def __repr__(self) -> str:
        return "MISSING"


#: Returned by :func:`get_path` (as its default) where a path leads nowhere.
MISSING: Final = _Missing()


def _split(data: Any, path: str) -> list[str]:
    """The parts of ``path`` in ``data``: its dot-separated names, except inside an event's ``set``.

    An event's ``set`` maps policy paths, themselves dotted (``cbp_one.appointments_per_day``),
    to values, or policy fields to nested mappings. After ``events.N.set`` the longest dotted
    prefix of the rest that is a key of that mapping is one part; where none is, the whole rest
    is one (a new policy path, applied after the event's others). Split at every dot instead,
    ``events.29.set.cbp_one.appointments_per_day`` would add a nested ``cbp_one`` mapping that
    replaces the whole instrument (its other fields at their defaults) when the event applies.
    """
    parts = path.split(".")
    if len(parts) < 4 or parts[0] != "events" or parts[2] != "set" or not parts[1].isdigit():
        return parts
    events = data.get("events") if isinstance(data, dict) else None
    index = int(parts[1])
    if not isinstance(events, list) or index >= len(events) or not isinstance(events[index], dict):
        return parts
    changes = events[index].get("set")
    rest = ".".join(parts[3:])
    keys = [str(k) for k in changes] if isinstance(changes, dict) else []
    # The longest key the path runs through (or the whole rest, a new policy path).
    key = max((k for k in keys if rest == k or rest.startswith(k + ".")), key=len, default=rest)
    below = rest[len(key) + 1 :]  # inside a nested mapping under that key
    return [*parts[:3], key, *(below.split(".") if below else [])]


def event_set_key(data: Any, path: str) -> tuple[int, str] | None:
    """For a path into an event's ``set`` (``events.29.set.cbp_one.uptake.default``), the
    event's index and the policy path it names there (as :func:`set_path` would split it:
    the key of the event's ``set`` it runs through, else the whole rest); else None."""
    parts = _split(data, path)
    if len(parts) < 4 or parts[0] != "events" or parts[2] != "set" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[3]


def get_path(data: Any, path: str, default: Any = MISSING) -> Any:
    """The value at a dotted path of scenario data, or ``default`` where there is none.

    Mapping keys by name, list items by index (``events.0.date``); inside an event's ``set``
    the policy path is one key (``events.29.set.cbp_one.appointments_per_day``). A path that
    names a missing key, an index past the end, or a part inside a scalar gives ``default``
    (:data:`MISSING` unless given).
    """
    node = data
    for part in _split(data, path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def set_path(data: Any, path: str, value: Any) -> None:
    """Set the dotted ``path`` of raw scenario data to ``value``, in place.

    A missing mapping key is created (an empty mapping on the way), so that validation
    reports it if the schema has no such field.

    Raises
    ------
    ScenarioError
        A list index that is not one of the list's, or a part inside a scalar value.
    """
    parts = _split(data, path)
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError([(where, None, f"no list item {part!r} (the list has {len(node)})")])
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError([(where, None, "cannot override inside a scalar value")])


def reindex_event_paths(data: dict[str, Any], kept: Sequence[int]) -> None:
    """After events were dropped, move the ``priors`` and ``provenance`` keys that name an event
    (``events.29.set.cbp_one.uptake.default``) to its new index, in place; those of dropped
    events go. ``kept`` holds the old index of each event kept, in their new order.

    Without this a variant that drops an event would leave a prior or a reason on the event that
    took its place in the list.
    """
    new_index = {old: new for new, old in enumerate(kept)}
    for section in ("priors", "provenance"):
        mapping = data.get(section)
        if not isinstance(mapping, dict):
            continue
        moved: dict[str, Any] = {}
        for key, value in mapping.items():
            parts = str(key).split(".")
            if len(parts) > 1 and parts[0] == "events" and parts[1].isdigit():
                if int(parts[1]) not in new_index:
                    continue
                key = ".".join(["events", str(new_index[int(parts[1])]), *parts[2:]])
            moved[key] = value
        data[section] = moved


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of raw scenario data with dotted-path overrides applied (:func:`set_path`)."""
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        set_path(out, path, value)
    return out


def scale_numbers(value: Any, factor: float) -> Any:
    """A copy of ``value`` with every number in it multiplied by ``factor``.

    Integers stay integers (rounded); booleans and other values are kept.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return round(value * factor)
    if isinstance(value, float):
        return value * factor
    if isinstance(value, dict):
        return {k: scale_numbers(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [scale_numbers(v, factor) for v in value]
    return value


def scale_under(value: Any, path: str, factor: float) -> Any:
    """A copy of ``value`` with the numbers at or under the dotted ``path`` (mapping keys)
    scaled by ``factor`` (:func:`scale_numbers`); ``""`` scales them all. A path that leads
    nowhere leaves the value as it is."""
    if not path:
        return scale_numbers(value, factor)
    head, _, rest = path.partition(".")
    if isinstance(value, dict) and head in value:
        out = dict(value)
        out[head] = scale_under(value[head], rest, factor)
        return out
    return value
