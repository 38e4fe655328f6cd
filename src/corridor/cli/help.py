"""How ``corridor --help`` names option values: in a user's words, not Python types.

typer shows each option's Python type: ``<bool>`` beside a flag, ``<list[Path]>``,
``<%Y-%m-%d>``, and ``{scenario}`` for an argument. The command line's commands and groups
use the classes here, which name values ``PATH``, ``N``, ``YYYY-MM-DD``, ``PATH=VALUE``,
show nothing for a flag, and write arguments as ``SCENARIO`` in the usage line.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

from typer.core import TyperCommand, TyperGroup

__all__ = ["PlainHelpCommand", "PlainHelpGroup"]

#: Value names in --help for options whose type says too little (``<list[str]>``).
_NAMED_VALUES = {
    "--observed": "CSV",
    "--set": "PATH=VALUE",
    "--param": "PATH=LOW:HIGH",
    "--origins": "START:END[:STEP],...",
}


def _value_name(param: Any) -> str:
    """What --help shows for ``param``'s value, in a user's words (typer shows Python types:
    ``<bool>`` for a flag, ``<list[Path]>``, ``<%Y-%m-%d>``); empty for a flag."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    for opt in param.opts:
        if opt in _NAMED_VALUES:
            return _NAMED_VALUES[opt]
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return "VALUE"
    annotation = get_args(desc.annotation)[0] if desc.is_list else desc.annotation
    formats = list(desc.parameter_info.formats or [])
    if annotation is datetime:
        return "YYYY-MM[-DD]" if "%Y-%m" in formats else "YYYY-MM-DD"
    if annotation is bool:
        return ""
    names = {int: "N", float: "NUMBER", str: "TEXT"}
    is_path = desc.is_path or (isinstance(annotation, type) and issubclass(annotation, Path))
    name = "PATH" if is_path else names.get(annotation, "VALUE")
    return f"{name}..." if getattr(param, "nargs", 1) != 1 else name


def _name_values(params: Any) -> Any:
    """Tell each of ``params`` how --help should name its value (:func:`_value_name`)."""
    for param in params:
        param.display_type_rich = functools.partial(_shown, _value_name(param))
        if not getattr(param, "opts", [""])[0].startswith("-") and getattr(param, "metavar", "") is None:
            # An argument: SCENARIO in the usage line, not typer's {scenario}.
            param.metavar = str(param.name).upper()
            usage = param.metavar + ("..." if getattr(param, "nargs", 1) != 1 else "")
            param._usage_display_name = functools.partial(str, usage)
    return params


class PlainHelpCommand(TyperCommand):
    """A command whose --help names values in words (:func:`_value_name`), not Python types."""

    def get_params(self, ctx: Any) -> Any:
        """The command's parameters, their values named in words."""
        return _name_values(super().get_params(ctx))


class PlainHelpGroup(TyperGroup):
    """A command group whose own options (--version, --help) show no ``<bool>``."""

    def get_params(self, ctx: Any) -> Any:
        """The group's parameters, their values named in words."""
        return _name_values(super().get_params(ctx))


def _shown(text: str, ctx: Any) -> str:
    return text
