"""Flee 3.1's ``simsetting.yml``, read as ``SimulationSettings.ReadFromYML`` reads it.

Every key Flee 3.1 reads is known here. Keys that change what corridor's kernel does are
applied; keys that only change Flee's diagnostics are accepted and ignored; keys Flee 3.1 knows
but corridor does not implement are an error when set to anything but Flee's default (a result
that silently differs from Flee's is worse than none). Keys Flee 3.1 does not read at all are
ignored by Flee too: they are returned as warnings, which ``corridor flee run`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corridor.errors import FleeInputError
from corridor.flee.rules import FleeRules
from corridor.yamltext import MAX_YAML_BYTES, parse_yaml_text

__all__ = ["FleeSettings", "read_simsetting"]

#: move_rules key -> FleeRules field (Flee 3.1 defaults are FleeRules' defaults).
_MOVE_FIELDS: dict[str, str] = {
    "max_move_speed": "max_move_speed_km",
    "max_walk_speed": "max_walk_speed_km",
    "foreign_weight": "foreign_weight",
    "camp_weight": "camp_weight",
    "conflict_weight": "conflict_weight",
    "conflict_movechance": "conflict_move_chance",
    "camp_movechance": "camp_move_chance",
    "idpcamp_movechance": "idpcamp_move_chance",
    "default_movechance": "default_move_chance",
    "awareness_level": "awareness_level",
    "capacity_buffer": "capacity_buffer",
    "avoid_short_stints": "avoid_short_stints",
    "softening": "distance_softening_km",
    "weight_softening": "weight_softening",
    "weight_power": "weight_power",
    "distance_power": "distance_power",
}
#: move_rules keys Flee 3.1 reads but its serial movement never uses (or only with other
#: unsupported options): accepted, no effect, as in Flee.
_MOVE_NO_EFFECT = {
    "max_crossing_speed",
    "home_distance_power",
    "pop_power_for_loc_weight",
    "movechance_pop_base",
}
#: Flee 3.1 options corridor does not implement, with Flee's default: any other value is refused.
_MOVE_UNSUPPORTED: dict[str, Any] = {
    "start_on_foot": False,
    "use_v1_rules": False,
    "stay_close_to_home": False,
    "use_pop_for_loc_weight": False,
    "movechance_pop_scale_factor": 0.0,
    "ChildrenAvoidHazards": False,
    "BoysTakeRisk": False,
    "MatchCampEthnicity": False,
    "MatchTownEthnicity": False,
    "MatchConflictEthnicity": False,
}
_SPAWN_KNOWN = {"take_from_population", "insert_day0", "conflict_spawn_decay"}
_SPAWN_UNSUPPORTED: dict[str, Any] = {
    "conflict_zone_spawning_only": True,
    "flood_zone_spawning_only": False,
    "camps_are_sicks": False,  # sic: Flee 3.1 reads this spelling (``camps_are_sinks`` is ignored)
    "read_from_agents_csv_file": False,
    "conflict_driven_spawning": None,
    "flood_driven_spawning": None,
}
_LOG_LEVELS = {"agent", "link", "camp", "init", "conflict", "idp_totals"}
_TOP_NO_EFFECT = {"number_of_steps", "conflict_input_file", "log_levels"}


@dataclass(frozen=True)
class FleeSettings:
    """What ``simsetting.yml`` sets: movement rules, spawning rules and the scale-down factor.

    Attributes
    ----------
    rules : FleeRules
        The movement rules (``move_rules``).
    take_from_population : bool
        ``spawn_rules.take_from_population``: each spawned person lowers the zone's population
        (its spawn weight).
    insert_day0 : bool
        ``spawn_rules.insert_day0``: camps start with their day-0 registration counts.
    conflict_spawn_decay : tuple of float or None
        ``spawn_rules.conflict_spawn_decay``: multiplier of a zone's spawn weight and conflict
        intensity per 30 days since its conflict began (the last value holds after that).
    hasten : int
        ``optimisations.hasten``: populations, capacities and registration counts are divided by it.
    warnings : list of str
        Keys Flee 3.1 does not read (so neither does corridor), one line each.
    """

    rules: FleeRules = field(default_factory=FleeRules)
    take_from_population: bool = False
    insert_day0: bool = True
    conflict_spawn_decay: tuple[float, ...] | None = None
    hasten: int = 1
    warnings: list[str] = field(default_factory=list)

    def decay(self, days_since_conflict: int) -> float:
        """Flee's ``get_conflict_decay``: the multiplier ``days_since_conflict`` days into a conflict."""
        if not self.conflict_spawn_decay:
            return 1.0
        i = min(int(days_since_conflict / 30), len(self.conflict_spawn_decay) - 1)
        return self.conflict_spawn_decay[i]


def _section(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FleeInputError(f"{path.name}: {key!r} must be a mapping of settings")
    return value


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FleeInputError(f"{path.name}: {key} = {value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise FleeInputError(f"{path.name}: {key} = {value!r} is not a number") from None


def _flag(path: Path, key: str, value: Any) -> bool:
    # Flee applies bool() to the YAML value; a string such as "false" would be True there.
    if not isinstance(value, bool):
        raise FleeInputError(f"{path.name}: {key} = {value!r}; expected true or false")
    return value


def _move_rules(path: Path, move: dict[str, Any], warnings: list[str]) -> FleeRules:
    values: dict[str, Any] = {}
    for key, value in move.items():
        name = f"move_rules.{key}"
        if key in _MOVE_FIELDS:
            target = _MOVE_FIELDS[key]
            if target == "avoid_short_stints":
                values[target] = _flag(path, name, value)
            elif target == "awareness_level":
                level = _number(path, name, value)
                if level != 1:
                    raise FleeInputError(
                        f"{path.name}: {name} = {value!r} is not supported (only Flee's default, 1)"
                    )
                values[target] = 1
            else:
                number = _number(path, name, value)
                if number < 0:
                    raise FleeInputError(f"{path.name}: {name} = {value!r}; expected >= 0")
                values[target] = number
        elif key in _MOVE_UNSUPPORTED:
            if value != _MOVE_UNSUPPORTED[key]:
                raise FleeInputError(
                    f"{path.name}: {name} = {value!r} is not supported by corridor's Flee kernel "
                    f"(only Flee's default, {_MOVE_UNSUPPORTED[key]!r})"
                )
        elif key in _MOVE_NO_EFFECT:
            _number(path, name, value)
        else:
            warnings.append(f"{path.name}: {name} is not a Flee 3.1 setting; ignored (as Flee does)")
    rules = FleeRules(**values)
    if not 0 < rules.capacity_buffer < 1:
        raise FleeInputError(
            f"{path.name}: move_rules.capacity_buffer = {rules.capacity_buffer}; expected in (0, 1)"
        )
    if rules.max_move_speed_km <= 0:
        raise FleeInputError(f"{path.name}: move_rules.max_move_speed must be > 0 km")
    return rules


def _decay(path: Path, value: Any) -> tuple[float, ...] | None:
    if value is None:
        return None
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise FleeInputError(f"{path.name}: spawn_rules.conflict_spawn_decay must be a list of numbers")
    return tuple(_number(path, "spawn_rules.conflict_spawn_decay", v) for v in items)


def read_simsetting(path: str | Path) -> FleeSettings:
    """Read a Flee 3.1 ``simsetting.yml``.

    Parameters
    ----------
    path : path
        The settings file. Missing sections and keys take Flee 3.1's defaults.

    Returns
    -------
    FleeSettings

    Raises
    ------
    FleeInputError
        The file is missing or not YAML, a value has the wrong type, or an option corridor does
        not implement is set to anything but Flee's default (the message names the key).
    """
    p = Path(path)
    if not p.is_file():
        raise FleeInputError(f"missing Flee settings file {p}")
    text = p.read_bytes()[: MAX_YAML_BYTES + 1].decode("utf-8", errors="replace")
    try:
        _, data = parse_yaml_text(text)
    except ValueError as exc:
        raise FleeInputError(f"{p.name}: not valid YAML ({exc.args[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FleeInputError(f"{p.name}: expected a mapping of settings at the top level")
    warnings: list[str] = []
    for key in data:
        if key not in {"spawn_rules", "move_rules", "optimisations", "flood_rules", *_TOP_NO_EFFECT}:
            warnings.append(f"{p.name}: {key} is not a Flee 3.1 setting; ignored (as Flee does)")
    if data.get("flood_rules") is not None:
        raise FleeInputError(f"{p.name}: flood_rules are not supported by corridor's Flee kernel")
    for key in _section(p, data, "log_levels"):
        if key not in _LOG_LEVELS:
            warnings.append(f"{p.name}: log_levels.{key} is not a Flee 3.1 setting; ignored")
    rules = _move_rules(p, _section(p, data, "move_rules"), warnings)
    spawn = _section(p, data, "spawn_rules")
    for key, value in spawn.items():
        if key in _SPAWN_UNSUPPORTED and value != _SPAWN_UNSUPPORTED[key]:
            raise FleeInputError(
                f"{p.name}: spawn_rules.{key} = {value!r} is not supported by corridor's Flee kernel "
                f"(only Flee's default, {_SPAWN_UNSUPPORTED[key]!r})"
            )
        if key not in _SPAWN_KNOWN and key not in _SPAWN_UNSUPPORTED:
            warnings.append(f"{p.name}: spawn_rules.{key} is not a Flee 3.1 setting; ignored (as Flee does)")
    hasten_value = _section(p, data, "optimisations").get("hasten", 1)
    hasten = _number(p, "optimisations.hasten", hasten_value)
    if hasten < 1 or hasten != int(hasten):
        raise FleeInputError(
            f"{p.name}: optimisations.hasten = {hasten_value!r}; expected a whole number >= 1"
        )
    return FleeSettings(
        rules=rules,
        take_from_population=_flag(
            p, "spawn_rules.take_from_population", spawn.get("take_from_population", False)
        ),
        insert_day0=_flag(p, "spawn_rules.insert_day0", spawn.get("insert_day0", True)),
        conflict_spawn_decay=_decay(p, spawn.get("conflict_spawn_decay")),
        hasten=int(hasten),
        warnings=warnings,
    )
