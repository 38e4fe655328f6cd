"""Guarded YAML parsing: size, aliases, nesting and duplicate keys checked first."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

import yaml

from corridor.errors import excerpt

#: Limits on a YAML document, checked before anything is built from it, so that a malformed or
#: hostile file fails at once with a clear error instead of exhausting memory: the shipped
#: scenarios are under 20 KB with under 1,000 nodes and 7 levels of nesting.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 40


def _check_unique_keys(node: yaml.MappingNode) -> None:
    """A key given twice in one mapping is an error: YAML readers would keep the last silently."""
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode):
            line = key.start_mark.line + 1
            if key.value in seen:
                raise ValueError(
                    f"key {excerpt(key.value)} given twice (lines {seen[key.value]} and {line})", line
                )
            seen[key.value] = line


def _node_shape(root: yaml.Node) -> tuple[int, int]:
    """(nodes, depth) of a composed YAML tree with every alias expanded, without expanding it.

    Aliases make the tree a graph whose expansion can be exponentially large (the "billion
    laughs"); sizes are summed over the graph with memoisation, iteratively (no recursion),
    and the count stops growing past the limit. A recursive alias, or a key given twice in
    one mapping, raises ValueError.
    """
    size: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in size and not expanded:
            continue
        children: list[yaml.Node]
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not expanded:
            if key in on_path:
                raise ValueError("a recursive alias (a value that contains itself)")
            if isinstance(node, yaml.MappingNode):
                _check_unique_keys(node)
            on_path.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in size)
            continue
        on_path.discard(key)
        total = 1 + sum(size[id(c)][0] for c in children)
        depth = 1 + max((size[id(c)][1] for c in children), default=0)
        size[key] = (min(total, MAX_YAML_NODES + 1), depth)
    return size[id(root)]


def _yaml_problem(exc: yaml.YAMLError) -> ValueError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ValueError(f"not valid YAML: {problem}", mark.line + 1 if mark else None)


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the parser's events, before the (recursive) composer sees it."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep", line)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc) from None


def parse_yaml_text(text: str) -> tuple[yaml.Node | None, Any]:
    """Node tree and data of a YAML text, refusing documents past the size limits.

    The data are a fresh copy at every call (callers change them); the parse is kept for the
    last few texts, since a backtest or an ensemble loads the same scenario in every run and
    PyYAML takes about a second for the largest shipped scenario. Errors are not kept.

    Raises
    ------
    ValueError
        With a message saying what is wrong and, for a syntax error, the 1-based line as
        ``args[1]`` (or None).
    """
    root, data = _parse(text)
    return root, copy.deepcopy(data)


@lru_cache(maxsize=8)
def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """:func:`parse_yaml_text` without the copy (the node tree is only read)."""
    _check_nesting(text)
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()  # _check_nesting bounds its recursion
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc) from None
        if root is None:
            return None, None
        nodes, depth = _node_shape(root)
        if nodes > MAX_YAML_NODES:
            raise ValueError(
                f"expands to more than {MAX_YAML_NODES:,} values (aliases repeated within aliases?); "
                "a scenario is far smaller",
                None,
            )
        if depth > MAX_YAML_DEPTH:
            raise ValueError(f"nested more than {MAX_YAML_DEPTH} levels deep", None)
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise _yaml_problem(exc) from None
        return root, data
    finally:
        loader.dispose()
