"""Dotted paths into a scenario: ``--set`` overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corridor.errors import ScenarioError
from corridor.scenario.problems import excerpt
from corridor.scenario.yamltext import parse_yaml_text


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


def apply_overrides(data: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of raw scenario data with dotted-path overrides applied.

    List items are addressed by index (``events.0.date``). A missing mapping key is
    created, so that validation reports it if the schema has no such field.
    """
    import copy

    out = copy.deepcopy(data)
    for path, value in overrides.items():
        parts = path.split(".")
        node: Any = out
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
    return out
