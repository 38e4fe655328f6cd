"""ScenarioError: every problem of a scenario, each with its YAML path and line."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


class ScenarioError(ValueError):
    """A scenario could not be loaded or compiled.

    Attributes
    ----------
    problems : list of (path, line, message)
        ``path`` is the dotted YAML path (``policy.checkpoint_intensity.Chiapas``),
        ``line`` the 1-based line in the file or None.
    """

    def __init__(
        self, problems: Sequence[tuple[str, int | None, str]], source: str = "", what: str = "scenario"
    ) -> None:
        self.problems = list(problems)
        self.source = source
        self.what = what
        super().__init__(self._format())

    def _format(self) -> str:
        head = f"invalid {self.what} {self.source}" if self.source else f"invalid {self.what}"
        shown = [_where(path, line) + msg for path, line, msg in self.problems[:_MAX_PROBLEMS_SHOWN]]
        if len(self.problems) == 1:
            return f"{head}: {shown[0]}"
        lines = [f"{head}: {len(self.problems)} problems", *(f"  {line}" for line in shown)]
        if len(self.problems) > _MAX_PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(self.problems) - _MAX_PROBLEMS_SHOWN} more")
        return "\n".join(lines)


def _where(path: str, line: int | None) -> str:
    if not path:
        return f"line {line}: " if line else ""
    return path + (f" (line {line})" if line else "") + ": "


#: Problems an error lists (a file that is not a scenario would otherwise be echoed line by line).
_MAX_PROBLEMS_SHOWN = 12


def excerpt(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: what error messages quote of an input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "...'"


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
