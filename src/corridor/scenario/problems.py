"""ScenarioError: every problem of a scenario, each with its YAML path and line."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def _loc_to_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(p) for p in loc)


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the YAML node at ``loc``, or of its deepest existing ancestor."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if pair is None:
                return line
            # Point at the key's own line (its value may start on the next one).
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _clean_loc(loc: Sequence[int | str]) -> list[int | str]:
    # pydantic puts validator names such as 'function-after[...]' or union tags in loc.
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("float", "int", "str")))]
