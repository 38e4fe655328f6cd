"""Reading a scenario: YAML with a line map, variants (``base:``) and overrides."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from corridor.errors import ScenarioError, TextFileError, excerpt
from corridor.scenario.paths import apply_overrides, normalise_overrides, reindex_event_paths
from corridor.scenario.problems import _clean_loc, _line_of, _loc_to_path
from corridor.scenario.schema import Scenario
from corridor.textfile import read_text
from corridor.yamltext import MAX_YAML_BYTES, parse_yaml_text

# --------------------------------------------------------------------------- loading


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Read, override and validate a scenario YAML file.

    Parameters
    ----------
    path : path
        The YAML file.
    overrides : mapping or list of str, optional
        ``{"policy.bus_south_share": 0.5}`` or ``["policy.bus_south_share=0.5"]``.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Listing every problem with its YAML path, line and what was expected.
    """
    file = Path(path)
    text, root, data = _read_yaml(file)
    digest = hashlib.sha256(text.encode())
    folder = file.resolve().parent
    if "base" in data:
        data, base_file, base_text = _apply_variant(file, data)
        digest.update(base_text.encode())
        folder = base_file.parent  # the base's data files are relative to it
        root = None  # line numbers would point into two files; paths still name the field

    pairs = normalise_overrides(overrides)
    data = apply_overrides(data, pairs)
    for key in sorted(pairs):
        digest.update(f"\n{key}={pairs[key]!r}".encode())
    data["base_dir"] = folder
    data["sha256"] = digest.hexdigest()
    return validate_data(data, root=root, source=str(file), overridden=set(pairs))


def _read_yaml(
    file: Path, field: str = "", source: Path | None = None
) -> tuple[str, yaml.Node | None, dict[str, Any]]:
    """Text, node tree and data of a YAML mapping file, or a ScenarioError naming the file.

    ``field`` and ``source`` name where the file was referred to (``base`` of a variant).
    """
    where = f"{field}: {file}" if field else ""
    try:
        text = read_text(file, MAX_YAML_BYTES, "a YAML scenario", "UTF-8 YAML text")
    except TextFileError as exc:  # the message names the file
        raise ScenarioError([(field, None, str(exc))], str(source or file)) from None
    try:
        root, data = parse_yaml_text(text)
    except ValueError as exc:
        line = exc.args[1] if len(exc.args) > 1 and not field else None
        raise ScenarioError([(where, line, str(exc.args[0]))], str(source or file)) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            [(where, None if field else 1, "expected a mapping of scenario sections at the top level")],
            str(source or file),
        )
    return text, root, data


#: Keys of a variant file (one with ``base:``); everything else must be a scenario field.
VARIANT_KEYS = ("base", "changes", "drop_events", "add_events")


def _apply_variant(file: Path, variant: dict[str, Any]) -> tuple[dict[str, Any], Path, str]:
    """Merge a variant file into its base: ``changes`` (dotted paths), dropped and added events.

    A variant names its ``base`` scenario (a path relative to the variant), and may replace
    top-level fields such as ``name`` and ``description``. Used for counterfactuals.
    """
    name = variant["base"]
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError([("base", None, "expected the path of a scenario file (.yaml)")], str(file))
    base_file = (file.parent / name).resolve()
    # Check that it is a scenario before reading it, and never quote its content: an error
    # about a file that is not a scenario must not print that file's lines.
    if base_file.suffix.lower() not in (".yaml", ".yml"):
        raise ScenarioError([("base", None, f"{base_file}: not a .yaml or .yml scenario file")], str(file))
    if not base_file.exists():
        raise ScenarioError([("base", None, f"no such scenario file {base_file}")], str(file))
    base_text, _, base = _read_yaml(base_file, "base", file)
    if "base" in base:
        raise ScenarioError([("base", None, "a base scenario cannot itself have a base")], str(file))
    sections = {f.alias or n for n, f in Scenario.model_fields.items() if not f.exclude}
    strangers = [k for k in base if k not in sections and k != "base"]
    missing = [k for k in ("name", "horizon", "inflows") if k not in base]
    if strangers or missing:
        raise ScenarioError(
            [
                (
                    "base",
                    None,
                    f"{base_file} is not a corridor scenario ("
                    + (f"{len(strangers)} top-level keys are not scenario sections" if strangers else "")
                    + ("; " if strangers and missing else "")
                    + (f"no {', '.join(missing)}" if missing else "")
                    + ")",
                )
            ],
            str(file),
        )
    changes = variant.get("changes") or {}
    drop = variant.get("drop_events") or []
    add = variant.get("add_events") or []
    if not isinstance(changes, dict):
        raise ScenarioError([("changes", None, "expected a mapping of dotted.path: value")], str(file))
    if not isinstance(drop, list) or not isinstance(add, list):
        raise ScenarioError([("drop_events", None, "expected lists of event names / events")], str(file))
    events = list(base.get("events") or [])
    names = [e.get("name") for e in events if isinstance(e, dict)]
    unknown = [d for d in drop if d not in names]
    if unknown:
        raise ScenarioError(
            [
                (f"drop_events.{drop.index(u)}", None, f"no event named {u!r} in {base_file.name}")
                for u in unknown
            ],
            str(file),
        )
    merged = {k: v for k, v in base.items() if k != "events"}
    kept = [i for i, e in enumerate(events) if e.get("name") not in drop]
    merged["events"] = [events[i] for i in kept] + add
    reindex_event_paths(merged, kept)  # the base's priors and reasons follow their events
    merged.update({k: v for k, v in variant.items() if k not in VARIANT_KEYS})
    return apply_overrides(merged, {str(k): v for k, v in changes.items()}), base_file, base_text


def validate_data(
    data: Mapping[str, Any],
    root: yaml.Node | None = None,
    source: str = "",
    overridden: set[str] | None = None,
) -> Scenario:
    """Validate raw scenario data (a dict as read from YAML) into a Scenario."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(err["loc"])
            # Keys are quoted short: a key may be anything (a line of a file that is no scenario).
            dotted = _loc_to_path([p if isinstance(p, int) or len(p) <= 40 else excerpt(p) for p in loc])
            line = (
                None if overridden and any(dotted.startswith(o) for o in overridden) else _line_of(root, loc)
            )
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see docs/scenarios.md for the fields)"
            elif err["type"] == "missing":
                msg = "required field missing"
            inp = err.get("input")
            if err["type"] not in ("missing", "extra_forbidden") and not isinstance(inp, dict | list):
                msg += f" (got {excerpt(inp, 60)})"
            problems.append((dotted, line, msg))
        raise ScenarioError(problems, source) from None
