"""What differs between two scenarios: changed fields and events, in words a reader can check.

:func:`describe_comparison` condenses the scenarios of a comparison into plain data (names,
files, descriptions, dated events, and per scenario its differences from the reference)
that the comparison page shows and ``compare.json`` keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corridor.scenario import Scenario

__all__ = ["describe_comparison", "scenario_differences"]

#: Fields that name or document a scenario rather than change what it simulates.
_NOT_COMPARED = {"name", "description", "provenance", "priors", "base_dir"}
#: How many differences of one list (inflows, caravans) are listed before they are counted.
_LIST_LIMIT = 12


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _walk(path: str, a: Any, b: Any, out: list[tuple[str, str, str]]) -> None:
    """Append ``(dotted field, reference value, other value)`` for every leaf that differs."""
    if a == b:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            _walk(f"{path}.{key}" if path else str(key), a.get(key), b.get(key), out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(f"{path}[{k}]", x, y, out)
        return
    out.append((path, _short(a), _short(b)))


def _event_key(event: Mapping[str, Any]) -> tuple[str, str]:
    return (str(event["date"]), str(event["name"]))


def scenario_differences(reference: Scenario, other: Scenario) -> list[tuple[str, str, str]]:
    """The differences of ``other`` from ``reference``, as ``(what, reference, other)`` rows.

    Events are matched by date and name: an event only one scenario has is listed as
    ``event dropped`` or ``event added``; a matched event whose changes differ, field by field.
    Every other field is compared leaf by leaf (dotted paths, ``inflows[3].persons``).
    """
    a = reference.model_dump(mode="json", exclude=_NOT_COMPARED)
    b = other.model_dump(mode="json", exclude=_NOT_COMPARED)
    out: list[tuple[str, str, str]] = []
    events_a = {_event_key(e): e for e in a.pop("events", [])}
    events_b = {_event_key(e): e for e in b.pop("events", [])}
    for key in sorted(set(events_a) | set(events_b)):
        date, name = key
        if key not in events_b:
            out.append((f"event dropped ({date})", name, "-"))
        elif key not in events_a:
            out.append((f"event added ({date})", "-", name))
        else:
            changed: list[tuple[str, str, str]] = []
            _walk("", events_a[key], events_b[key], changed)
            out.extend((f"event {date} {name}: {field}", x, y) for field, x, y in changed)
    rows: list[tuple[str, str, str]] = []
    _walk("", a, b, rows)
    by_list: dict[str, int] = {}
    for field, x, y in rows:
        head = field.split("[", 1)[0] if "[" in field else ""
        if head:
            by_list[head] = by_list.get(head, 0) + 1
            if by_list[head] > _LIST_LIMIT:
                continue
        out.append((field, x, y))
    for head, n in by_list.items():
        if n > _LIST_LIMIT:
            out.append((f"{head} (more)", "", f"{n - _LIST_LIMIT} more differences not listed"))
    return out


def describe_comparison(
    scenarios: Sequence[Scenario],
    files: Sequence[str],
    seeds: Sequence[int],
    agents: int | None,
    scale: float | None,
) -> dict[str, Any]:
    """Plain data about a comparison's scenarios (JSON-ready), the first being the reference.

    Returns
    -------
    dict
        ``scenarios``: name, file, description, events (date, name) of each; ``seeds``;
        ``agents``; ``scale``; ``differences``: per other scenario, rows of
        :func:`scenario_differences`.
    """
    reference = scenarios[0]
    return {
        "scenarios": [
            {
                "name": sc.name,
                "file": str(path),
                "description": sc.description,
                "events": [{"date": e.date.isoformat(), "name": e.name} for e in sc.applied_events],
            }
            for sc, path in zip(scenarios, files, strict=True)
        ],
        "seeds": [int(s) for s in seeds],
        "agents": agents,
        "scale": scale,
        "differences": {
            sc.name: [list(row) for row in scenario_differences(reference, sc)] for sc in scenarios[1:]
        },
    }
