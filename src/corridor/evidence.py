"""Evidence: observed figures, how they map onto simulated metrics, and validation.

The observed data ship with the package (``corridor/data/observed``: ``observed.csv`` and
``reported_in_press.csv``, one sourced value a row). :func:`load_observed` reads them, or
any CSV in the same format, checks the file (a regular file of UTF-8 text, at most
:data:`MAX_FILE_BYTES`), every row and that no observation comes twice (errors are one-line
:class:`EvidenceError` messages naming the file, line and column) and returns one table in
the format of :data:`COLUMNS`. The mapping from observed series to
simulated metrics is data (``corridor/data/evidence/mapping.yaml``, read by
:func:`load_mapping`); :func:`aggregate` applies one aggregation rule to a run, and
:func:`validate` runs a scenario over several seeds and compares every observed value
inside the horizon with the simulated median and 5-95% interval. ``docs/evidence.md``
documents the format, the mapping and the observation model.

Held out: enforcement and asylum outcomes for periods ending on or after
:data:`HELD_OUT_FROM` are withheld to test forecasts of the 2023-24 scenario. They are
dropped when the files are read unless ``include_held_out=True`` is asked for explicitly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.atomic import write_text_atomically
from corridor.geography import Network, load_network
from corridor.metrics import EXTRA_STOCKS, FLOWS, STOCKS, Results
from corridor.outputs import check_output_folder
from corridor.run import simulate
from corridor.scenario import Scenario, load_scenario
from corridor.textfile import TextFileError, read_text, shown

__all__ = [
    "COLUMNS",
    "HELD_OUT_FROM",
    "HELD_OUT_SERIES",
    "EvidenceError",
    "Rule",
    "ValidationResult",
    "aggregate",
    "compare_observed",
    "held_out_mask",
    "load_mapping",
    "load_observed",
    "observed_files",
    "validate",
]

Statistic = Literal["sum", "rate", "end", "mean", "change"]
Observation = Literal["count", "minimum", "maximum"]

#: Columns of the table :func:`load_observed` returns.
COLUMNS: tuple[str, ...] = (
    "series",
    "geography",
    "breakdown",
    "nationality",
    "period_start",
    "period_end",
    "value",
    "unit",
    "statistic",
    "source",
    "note",
    "file",
    "line",
)
#: Columns an observed CSV must have (plus ``source_title`` or ``source_url``).
REQUIRED_COLUMNS: tuple[str, ...] = ("series", "geography", "period_start", "period_end", "value", "unit")
#: Periods ending on or after this day are held out for the listed series.
HELD_OUT_FROM = pd.Timestamp("2023-12-01")
#: Enforcement and asylum outcomes (and other outcomes) withheld from fitting and validation
#: for periods ending on or after :data:`HELD_OUT_FROM`. Every series the mapping compares
#: with a simulated metric is held out too, whatever its name.
HELD_OUT_SERIES: frozenset[str] = frozenset(
    {
        # US encounters
        "usbp_sw_encounters",
        "cbp_sw_encounters",
        "usbp_sw_encounters_cbp_unrounded",
        "ofo_sw_inadmissibles",
        "us_border_arrivals",
        "us_crossings_change",
        # Mexico's detentions / events and returns
        "mx_irregular_events",
        "mx_detentions",
        "mx_returns",
        "mx_deportations",
        "mx_inm_located_irregular",
        "mx_detained_in_stations",
        "mx_land_deportations_to_guatemala",
        # asylum
        "comar_asylum_applications",
        "comar_applications",
        # deaths
        "migrant_deaths_disappearances",
        "migrant_deaths_disappearances_northamerica_region",
        "migrant_bodies_recovered_grupos_beta",
        "deaths_sea_route",
        # occupancy
        "occupancy_inm_station",
        "occupancy_shelter",
        "detention_occupancy",
        # other US-side outcomes
        "mpp_returns_to_mexico",
        "mpp_returns",
        "mpp_enrollments",
        "mpp_uscis_fear_referrals",
        "metering_waitlist",
        "metering_admissions",
        "cbp_one_appointments_scheduled",
        "cbp_one_processed",
    }
)

#: Names for the whole of Mexico and for the US border (northern border cities) in the data.
_MEXICO_NAMES = frozenset({"mexico"})
_US_BORDER_NAMES = frozenset(
    {
        "us southwest land border",
        "us southwest land border (mexican border cities)",
        "mexico northern border",
        "us-mexico border",
    }
)
#: Two-letter codes used in breakdowns such as ``nationality=GT+HN+SV+NI``.
NATIONALITY_CODES: dict[str, str] = {
    "GT": "Guatemala",
    "HN": "Honduras",
    "SV": "El Salvador",
    "NI": "Nicaragua",
    "CU": "Cuba",
    "VE": "Venezuela",
    "EC": "Ecuador",
    "CO": "Colombia",
    "HT": "Haiti",
    "MX": "Mexico",
}
_FLOW_METRICS = frozenset({*FLOWS, "exits"})
_STOCK_METRICS = frozenset({"present", *STOCKS, *EXTRA_STOCKS})
#: Values below one person are floored at one in log ratios (keeps them finite).
_FLOOR = 1.0
_DISPLAY = (
    "series",
    "where",
    "nationalities",
    "period",
    "statistic",
    "observed",
    "sim_median",
    "sim_q05",
    "sim_q95",
    "log_ratio",
    "inside",
)


#: The files ``corridor validate`` writes into its folder (``validation.json`` marks it).
VALIDATION_OUTPUTS = ("validation.csv", "validation_skipped.csv", "validation.json", "validation.html")


class EvidenceError(ValueError):
    """An observed-data or mapping file is malformed; the message names file, line and column."""


# ----------------------------------------------------------------------------- mapping
class Rule(BaseModel):
    """One row of the mapping: which observed rows it takes, and how they compare.

    ``series``, ``geography`` and ``breakdown`` are regular expressions matched against
    the whole text of the row's fields. A rule either compares (``metric`` and
    ``statistic``) or skips (``skip`` gives the reason).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    series: str
    geography: str = ".*"
    breakdown: str = ""
    metric: str | None = None
    statistic: Statistic | None = None
    where: Literal["row", "mexico", "us_border"] = "row"
    nationalities: tuple[str, ...] | None = None
    subtract: str | None = None
    observation: Observation = "count"
    counts: Literal["events", "persons"] | None = None
    skip: str | None = None
    note: str = ""
    index: int = Field(default=0, exclude=True)

    @field_validator("series", "geography", "breakdown")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.metric is None) == (self.skip is None):
            raise ValueError("give either metric (with statistic) or skip (the reason)")
        if self.metric is None:
            return self
        if self.statistic is None:
            raise ValueError(f"metric {self.metric!r} needs a statistic")
        if self.metric in _FLOW_METRICS:
            if self.statistic not in ("sum", "rate", "change"):
                raise ValueError(f"{self.metric} is a flow: statistic must be sum, rate or change")
        elif self.metric in _STOCK_METRICS:
            if self.statistic not in ("end", "mean", "change"):
                raise ValueError(f"{self.metric} is a stock: statistic must be end, mean or change")
        else:
            raise ValueError(f"unknown metric {self.metric!r} (see docs/metrics.md)")
        return self

    def matches(self, series: str, geography: str, breakdown: str) -> bool:
        """Whether the rule takes an observed row with these fields."""
        return (
            re.fullmatch(self.series, series) is not None
            and re.fullmatch(self.geography, geography) is not None
            and re.fullmatch(self.breakdown, breakdown) is not None
        )


def _package_data(*parts: str) -> Path:
    return Path(str(resources.files("corridor").joinpath("data", *parts)))


def load_mapping(path: str | Path | None = None) -> list[Rule]:
    """Read the mapping from observed series to simulated metrics (default: the shipped one).

    Raises
    ------
    EvidenceError
        The file is not a YAML list of valid rules; the message names the rule and field.
    """
    file = Path(path) if path is not None else _package_data("evidence", "mapping.yaml")
    text = _read_text(file, "a YAML mapping file", "UTF-8 YAML text")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EvidenceError(
            f"{shown(file)}: {' '.join(str(exc).split())}; expected a YAML list of rules"
        ) from None
    if not isinstance(raw, list):
        raise EvidenceError(f"{file}: the mapping must be a YAML list of rules")
    rules = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise EvidenceError(f"{file}: rule {i + 1} is not a mapping of fields")
        try:
            rules.append(Rule.model_validate({**item, "index": i}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors()
            )
            raise EvidenceError(f"{file}: rule {i + 1} (series {item.get('series')!r}): {problems}") from None
    return rules


def find_rule(rules: Sequence[Rule], series: str, geography: str, breakdown: str) -> Rule | None:
    """The first rule that takes an observed row with these fields, or None."""
    for rule in rules:
        if rule.matches(series, geography, breakdown):
            return rule
    return None


# ------------------------------------------------------------------------ observations
def observed_files() -> list[Path]:
    """The observed CSVs shipped with the package."""
    return [_package_data("observed", name) for name in ("observed.csv", "reported_in_press.csv")]


def parse_breakdown(text: str) -> tuple[dict[str, str], list[str]]:
    """Split a breakdown (``state=Chiapas; nationality=Cuba``) into key=value pairs and
    qualifiers without ``=`` (``cumulative``, ``all cities (12)``)."""
    dims: dict[str, str] = {}
    qualifiers: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            dims[key.strip().lower()] = value.strip()
        else:
            qualifiers.append(part)
    return dims, qualifiers


def _nationality_label(breakdown: str) -> str:
    dims, _ = parse_breakdown(breakdown)
    return dims.get("citizenship") or dims.get("nationality") or "all"


#: Observed (and mapping) files larger than this are refused unread; the shipped ones are
#: about half a megabyte.
MAX_FILE_BYTES = 100 * 1024 * 1024
_LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
#: A plain decimal number: no thousands separators, underscores, hex, words.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIRST_YEAR, _LAST_YEAR = 1900, 2100
#: Units of relative changes, the only values that may be negative (besides rows a rule
#: compares with statistic ``change``).
_CHANGE_UNITS = frozenset({"fraction"})
#: Fields that must not be blank on any row.
_NON_BLANK = ("series", "geography", "value", "unit")
#: Fields that must hold one line of printable text.
_ONE_LINE = ("series", "geography", "breakdown", "unit", "period_start", "period_end", "value")
_EXPECTED_HEADER = (
    "a header line with the columns series, geography, period_start, period_end, value, unit "
    "and source_title or source_url"
)


def _read_text(path: Path, what: str = "an observed CSV file", text: str = "UTF-8 text") -> str:
    """The text of a regular UTF-8 file of at most :data:`MAX_FILE_BYTES` (see
    :mod:`corridor.textfile`), or an EvidenceError naming it."""
    try:
        return read_text(path, MAX_FILE_BYTES, what, text)
    except TextFileError as exc:
        raise EvidenceError(str(exc)) from None


def _parse_date(file: str, line: int, column: str, text: str) -> pd.Timestamp | None:
    text = text.strip()
    if not text:
        return None
    where = f"{file} line {line}, column {column!r}"
    if _DATE.fullmatch(text) is None:
        raise EvidenceError(f"{where}: {text!r} is not a date; expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise EvidenceError(f"{where}: {text!r} is not a calendar date; expected YYYY-MM-DD") from None
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise EvidenceError(
            f"{where}: {text} is out of range; expected a date from {_FIRST_YEAR} to {_LAST_YEAR}"
        )
    return pd.Timestamp(day)


def _parse_value(where: str, text: str, relative: bool) -> float:
    """A row's value: a finite number, zero or more unless the row is a relative change
    (then -1 or more: a fall cannot exceed 100%)."""
    shown = repr(text)
    if not text:
        raise EvidenceError(f"{where}: empty; expected a number")
    if text.lower() in _NOT_FINITE:
        raise EvidenceError(f"{where}: {shown} is not a finite number; expected a number such as 1234")
    if _NUMBER.fullmatch(text) is None:
        hint = (
            " without thousands separators"
            if re.fullmatch(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?", text)
            else ""
        )
        raise EvidenceError(
            f"{where}: {shown} is not a number; expected a plain decimal number{hint} such as 1234 "
            "or 0.25 (no words, units or blanks for unknown values: leave the row out)"
        )
    value = float(text) + 0.0  # -0 -> 0
    if not math.isfinite(value):
        raise EvidenceError(f"{where}: {shown} is out of range (overflows); expected a finite number")
    if relative and value < -1:
        raise EvidenceError(
            f"{where}: {shown} is below -1 (a fall of more than 100%); "
            "expected a relative change of -1 or more"
        )
    if not relative and value < 0:
        raise EvidenceError(
            f"{where}: {shown} is negative; expected a count of zero or more (only relative changes, "
            "unit 'fraction' or a rule with statistic 'change', may be negative)"
        )
    return value


def _duplicate_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What makes two observed rows the same observation: series, geography, breakdown,
    period and source (releases that disagree are kept as rows of different sources).
    Text is compared as the mapping reads it (case, accents and spacing aside)."""
    dims, qualifiers = parse_breakdown(row["breakdown"])
    return (
        row["series"],
        _norm(row["geography"]),
        tuple(sorted((key, _norm(value)) for key, value in dims.items())),
        tuple(sorted(_norm(q) for q in qualifiers)),
        row["period_start"],
        row["period_end"],
        " ".join(row["source"].split()),
    )


def _check_duplicates(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise for rows that repeat an earlier one (same :func:`_duplicate_key`): identical
    values are duplicates, different ones contradictions; the message lists the first few."""
    seen: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    problems: list[str] = []
    for row in rows:
        key = _duplicate_key(row)
        first = seen.setdefault(key, row)
        if first is row:
            continue
        here = f"{row['_shown']} line {row['line']}"
        there = f"line {first['line']}"
        if first["_shown"] != row["_shown"]:
            there = f"{first['_shown']} {there}"
        if row["value"] == first["value"]:
            problems.append(f"{here}: duplicate of {there}")
        else:
            problems.append(
                f"{here}, column 'value': contradicts {there} (value {row['_value']} vs {first['_value']})"
            )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise EvidenceError(
            f"{'; '.join(problems[:3])}{more}: same series, geography, breakdown, period and source; "
            "expected each observation once"
        )


def _read_rows(path: Path, rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """The rows of one observed CSV, checked (an EvidenceError names file, line and column).

    Besides the :data:`COLUMNS`, each row has ``_shown`` (the file as named in messages) and
    ``_value`` (the value as written), for :func:`_check_duplicates`.
    """
    name = shown(path)
    text = _read_text(path)
    if not text.strip():
        raise EvidenceError(f"{name} line 1: the file is empty; expected {_EXPECTED_HEADER}")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_line = 1
    rows: list[dict[str, Any]] = []
    while True:
        line = reader.line_num + 1  # the first line of the next record
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            span = f"line {line}" if reader.line_num <= line else f"lines {line}-{reader.line_num}"
            hint = " (a double quote left open?)" if "end of data" in str(exc) else ""
            raise EvidenceError(
                f"{name} {span}: {exc}{hint}; expected CSV fields separated by commas, "
                "quoted with double quotes"
            ) from None
        if not any(f.strip() for f in fields):  # a blank line
            continue
        if header is None:
            header, header_line = [h.strip() for h in fields], line
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise EvidenceError(
                    f"{name} line {line}: missing column(s) {', '.join(map(repr, missing))}; "
                    f"expected {_EXPECTED_HEADER}"
                )
            if "source_title" not in header and "source_url" not in header:
                raise EvidenceError(
                    f"{name} line {line}: needs a 'source_title' or 'source_url' column; "
                    f"expected {_EXPECTED_HEADER}"
                )
            twice = sorted({h for h in header if h and header.count(h) > 1})
            if twice:
                raise EvidenceError(
                    f"{name} line {line}: column(s) {', '.join(map(repr, twice))} given twice; "
                    "expected each column once"
                )
            continue
        if len(fields) != len(header):
            hint = " (a truncated line?)" if len(fields) < len(header) else ""
            raise EvidenceError(
                f"{name} line {line}: {len(fields)} fields where the header (line {header_line}) has "
                f"{len(header)} columns{hint}; expected {len(header)} fields, one per column"
            )
        row = {k: v.strip() for k, v in zip(header, fields, strict=True) if k}
        for column in _ONE_LINE:
            cell = row.get(column, "")
            if _LINE_BREAK.search(cell):
                raise EvidenceError(
                    f"{name} line {line}, column {column!r}: {cell!r} has a line break; "
                    "expected one line of text"
                )
        for column in _NON_BLANK:
            if not row[column]:
                raise EvidenceError(
                    f"{name} line {line}, column {column!r}: empty; expected "
                    + ("a number" if column == "value" else "a name")
                )
        series = row["series"]
        start = _parse_date(name, line, "period_start", row["period_start"])
        end = _parse_date(name, line, "period_end", row["period_end"])
        if (start is None) != (end is None):
            column = "period_start" if start is None else "period_end"
            other = "period_end" if start is None else "period_start"
            raise EvidenceError(
                f"{name} line {line}, column {column!r}: give both period dates or neither; "
                f"expected a date (YYYY-MM-DD) here, as {other} has one"
            )
        if start is not None and end is not None and end < start:
            raise EvidenceError(
                f"{name} line {line}, column 'period_end': {row['period_end']} is before "
                f"period_start {row['period_start']}; expected a period ending on or after its start"
            )
        title, url = row.get("source_title", ""), row.get("source_url", "")
        if not title and not url:
            raise EvidenceError(
                f"{name} line {line}, column 'source_title': no source for this value; "
                "expected a source_title or source_url"
            )
        breakdown = row.get("breakdown", "")
        rule = find_rule(rules, series, row["geography"], breakdown)
        statistic = rule.statistic if rule is not None and rule.statistic else ""
        relative = statistic == "change" or row["unit"].casefold() in _CHANGE_UNITS
        value = _parse_value(f"{name} line {line}, column 'value'", row["value"], relative)
        rows.append(
            {
                "series": series,
                "geography": row["geography"],
                "breakdown": breakdown,
                "nationality": _nationality_label(breakdown),
                "period_start": start,
                "period_end": end,
                "value": value,
                "unit": row["unit"],
                "statistic": statistic,
                "source": " ".join(p for p in (title, f"<{url}>" if url else "") if p),
                "note": row.get("note", ""),
                "file": path.name,
                "line": line,
                "_shown": name,
                "_value": row["value"],
            }
        )
    if header is None:
        raise EvidenceError(f"{name} line 1: the file is empty; expected {_EXPECTED_HEADER}")
    if not rows:
        raise EvidenceError(f"{name}: a header and no rows; expected at least one observed value")
    return rows


def held_out_series(rules: Sequence[Rule] | None = None) -> Callable[[str], bool]:
    """A predicate: whether a series is held out (listed, or compared by the mapping)."""
    mapped = [r for r in (rules if rules is not None else load_mapping()) if r.metric is not None]

    def held(series: str) -> bool:
        return series in HELD_OUT_SERIES or any(re.fullmatch(r.series, series) for r in mapped)

    return held


def held_out_mask(
    frame: pd.DataFrame,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    rules: Sequence[Rule] | None = None,
) -> pd.Series:
    """Rows of an observations table that are held out: a held-out series whose period ends
    on or after ``held_out_from``."""
    cutoff = pd.Timestamp(held_out_from)
    held = held_out_series(rules)
    series_held = frame["series"].map(held).astype(bool)
    ends = pd.to_datetime(frame["period_end"])
    return series_held & (ends >= cutoff).fillna(False).astype(bool)


def load_observed(
    files: Iterable[str | Path] | None = None,
    *,
    include_held_out: bool = False,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    mapping: Sequence[Rule] | None = None,
) -> pd.DataFrame:
    """Read observed CSVs into one table (columns :data:`COLUMNS`).

    Parameters
    ----------
    files : paths, optional
        CSVs in the format of the shipped ones (columns series, geography, period_start,
        period_end, value, unit, breakdown, source_title, source_url, note; ``breakdown``
        and ``note`` optional, one of the source columns required). Default: the shipped
        ``observed.csv`` and ``reported_in_press.csv``.
    include_held_out : bool
        Keep the held-out rows (outcomes for periods ending on or after ``held_out_from``).
        Off by default: they are dropped as the files are read, and only their number is
        kept, in ``frame.attrs["held_out_rows"]``.
    held_out_from : date
        The cut-off of the held-out rule.
    mapping : rules, optional
        Fills the ``statistic`` column (default: the shipped mapping).

    Raises
    ------
    EvidenceError
        A file is missing, not a regular file of UTF-8 text, over :data:`MAX_FILE_BYTES` or
        malformed, or an observation comes twice (see docs/evidence.md); the message is one
        line naming the file, line and column and what was expected.
    """
    rules = list(mapping) if mapping is not None else load_mapping()
    if isinstance(files, str | Path):
        files = [files]
    paths = [Path(f) for f in files] if files is not None else observed_files()
    if not paths:
        raise EvidenceError("no observed files given")
    rows: list[dict[str, Any]] = []
    given: dict[Path, int] = {}
    for i, path in enumerate(paths):
        try:
            same = path.resolve()
        except (OSError, RuntimeError, ValueError):
            same = path
        if same in given:
            raise EvidenceError(
                f"{shown(path)}: given twice (files {given[same] + 1} and {i + 1}); expected each file once"
            )
        given[same] = i
        rows += _read_rows(path, rules)
    _check_duplicates(rows)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    frame["value"] = frame["value"].astype(float)
    frame["line"] = frame["line"].astype(int)
    held = held_out_mask(frame, held_out_from, rules)
    n_held = int(held.sum())
    if not include_held_out:
        frame = frame.loc[~held].reset_index(drop=True)
    frame.attrs["held_out_rows"] = 0 if include_held_out else n_held
    frame.attrs["held_out_from"] = str(pd.Timestamp(held_out_from).date())
    frame.attrs["files"] = [str(p) for p in paths]
    return frame


# ------------------------------------------------------------------------- aggregation
def _norm(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().split())


@dataclass(frozen=True)
class _Places:
    """Per simulated place: name, kind, state, country (from the run and the network)."""

    names: list[str]
    kinds: npt.NDArray[np.str_]
    states: npt.NDArray[np.str_]
    countries: npt.NDArray[np.str_]
    known_states: frozenset[str] = frozenset()  #: normalised Mexican states of the network
    known_places: frozenset[str] = frozenset()  #: normalised place names of the network

    @classmethod
    def of(cls, results: Results, network: Network) -> _Places:
        index = {n: i for i, n in enumerate(network.place_names)}
        ids = [index.get(p) for p in results.places]
        kinds = list(results.place_kinds) or [
            str(network.place_kind[i]) if i is not None else "" for i in ids
        ]
        mx_states = [
            str(s) for s, c in zip(network.place_state, network.place_country, strict=True) if c == "MX"
        ]
        return cls(
            names=list(results.places),
            kinds=np.array(kinds, dtype=str),
            states=np.array([str(network.place_state[i]) if i is not None else "" for i in ids], dtype=str),
            countries=np.array(
                [str(network.place_country[i]) if i is not None else "" for i in ids], dtype=str
            ),
            known_states=frozenset(_norm(s) for s in mx_states),
            known_places=frozenset(_norm(n) for n in network.place_names),
        )

    def mexico(self) -> npt.NDArray[np.intp]:
        # Every place but the US ports: people caught on the first leg of the road are
        # attributed to the Guatemalan or Belizean crossing they last left.
        return np.flatnonzero((self.kinds != "us_port_of_entry") & (self.countries != "US"))

    def us_border(self) -> npt.NDArray[np.intp]:
        return np.flatnonzero(self.kinds == "northern_border_city")

    def _place(self, key: str, name: str) -> tuple[npt.NDArray[np.intp], str] | None:
        for i, place in enumerate(self.names):
            if _norm(place) == key:
                return np.array([i], dtype=np.intp), place
        if key in self.known_places:  # a place of the network that this run lacks
            return np.array([], dtype=np.intp), name
        return None

    def _state(self, key: str, name: str) -> tuple[npt.NDArray[np.intp], str] | None:
        states = np.array([_norm(s) for s in self.states], dtype=str)
        hit = np.flatnonzero((states == key) & (self.countries != "US"))
        if hit.size:
            return hit, f"state {self.states[hit[0]]}"
        if key in self.known_states:  # a state of the network with no place in this run
            return np.array([], dtype=np.intp), f"state {name}"
        return None

    def lookup(self, name: str, state_first: bool = False) -> tuple[npt.NDArray[np.intp], str] | None:
        """The places ``name`` denotes: all of Mexico, the US border, a place or a Mexican
        state (a state first when ``state_first``: ``Oaxaca`` is both); None if unknown."""
        key = _norm(name)
        if not key:
            return None
        if key in _MEXICO_NAMES:
            return self.mexico(), "Mexico"
        if key in _US_BORDER_NAMES:
            return self.us_border(), "US border (northern border cities)"
        order = (self._state, self._place) if state_first else (self._place, self._state)
        for find in order:
            found = find(key, name.strip())
            if found is not None:
                return found
        return None


class _Skip(Exception):
    """An observed row that cannot be compared (the message is the reason)."""


def _geography_candidates(geography: str) -> list[tuple[str, bool]]:
    """Names to try for a geography text, each with whether a state comes first."""
    text = geography.strip()
    out = [(text, False)]
    if text.lower().startswith("mexico - "):
        out.append((text[len("mexico - ") :], True))  # "Mexico - Chiapas": a state or an office
    out += [(text.split(sep)[0], False) for sep in ("(", ",", "/")]
    return [(c.strip(), first) for c, first in out if c.strip()]


def _resolve_places(
    rule: Rule, geography: str, breakdown: str, places: _Places
) -> tuple[npt.NDArray[np.intp], str]:
    if rule.where == "mexico":
        found: tuple[npt.NDArray[np.intp], str] | None = (places.mexico(), "Mexico")
    elif rule.where == "us_border":
        found = (places.us_border(), "US border (northern border cities)")
    else:
        dims, _ = parse_breakdown(breakdown)
        named = [(dims[k], k == "state") for k in ("city", "place", "office", "state") if k in dims]
        found = None
        for candidate, state_first in named or _geography_candidates(geography):
            found = places.lookup(candidate, state_first)
            if found is not None:
                break
        if found is None:
            what = named[0][0] if named else geography
            raise _Skip(f"geography {what!r} is not a simulated place, Mexican state or border")
    assert found is not None
    idx, label = found
    if idx.size == 0:
        raise _Skip(f"no simulated place in {label}")
    return idx, label


def _resolve_nationalities(
    rule: Rule, breakdown: str, simulated: Sequence[str]
) -> tuple[npt.NDArray[np.intp], str]:
    index = {n: i for i, n in enumerate(simulated)}
    if rule.nationalities is not None:
        missing = [n for n in rule.nationalities if n not in index]
        if missing:
            raise _Skip(f"nationality {missing[0]!r} is not simulated in this scenario")
        return np.array([index[n] for n in rule.nationalities], dtype=np.intp), "+".join(rule.nationalities)
    label = _nationality_label(breakdown)
    if label == "all":
        return np.arange(len(simulated), dtype=np.intp), "all"
    other = re.fullmatch(r"other \(not ([A-Za-z/ ]+)\)", label, flags=re.I)
    if other:
        excluded = {NATIONALITY_CODES.get(c.strip().upper(), c.strip()) for c in other.group(1).split("/")}
        kept = [i for i, n in enumerate(simulated) if n not in excluded]
        if not kept:
            raise _Skip(f"no simulated nationality in {label!r}")
        return np.array(kept, dtype=np.intp), label
    if _norm(label) == "other":
        raise _Skip("an observed 'Other' groups different nationalities than the simulated 'Other'")
    names = [NATIONALITY_CODES.get(p.strip().upper(), p.strip()) for p in label.split("+")]
    for n in names:
        if n == "Mexico":
            raise _Skip("Mexican nationals are not simulated")
        if n not in index:
            raise _Skip(f"nationality {n!r} is not simulated separately in this scenario")
    return np.array([index[n] for n in names], dtype=np.intp), "+".join(names)


def _daily(
    values: npt.NDArray[np.float64], places: npt.NDArray[np.intp], nats: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Per day, a (date, place, nationality) array summed over the given places and nationalities."""
    return values[:, places][:, :, nats].sum(axis=(1, 2))


def _day(dates: pd.DatetimeIndex, when: pd.Timestamp) -> int:
    """Index of day ``when`` in the run's consecutive daily ``dates``."""
    i = int((pd.Timestamp(when).normalize() - dates[0]).days)
    if not 0 <= i < len(dates):
        raise ValueError(f"{when:%Y-%m-%d} is outside the run ({dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d})")
    return i


def _statistic(
    daily: npt.NDArray[np.float64],
    dates: pd.DatetimeIndex,
    statistic: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> float:
    d0, d1 = _day(dates, start), _day(dates, end)
    if d1 < d0:
        raise ValueError(f"period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
    window = daily[d0 : d1 + 1]
    if statistic == "sum":
        return float(window.sum())
    if statistic == "rate" or statistic == "mean":
        return float(window.mean())
    if statistic == "end":
        return float(daily[d1])
    if statistic == "change":
        first_end = min(end, start + pd.offsets.MonthEnd(0))
        month_start = end if end.day == 1 else end - pd.offsets.MonthBegin(1)
        last_start = max(start, month_start)
        first = daily[d0 : _day(dates, first_end) + 1].mean()
        last = daily[_day(dates, last_start) : d1 + 1].mean()
        return float(last / first - 1.0) if first > 0 else float("nan")
    raise ValueError(f"unknown statistic {statistic!r}")


def aggregate(
    results: Results,
    metric: str,
    statistic: Statistic,
    start: str | date | pd.Timestamp,
    end: str | date | pd.Timestamp,
    *,
    places: Sequence[str] | None = None,
    nationalities: Sequence[str] | None = None,
) -> float:
    """One number from a run: ``metric`` over ``places`` and ``nationalities`` (default all),
    by ``statistic`` over the days ``start`` to ``end`` (both included).

    ``sum`` and ``rate``: a flow summed, or its mean per day; ``end``: a stock at the end
    of ``end``; ``mean``: a stock averaged over the days; ``change``: the relative change of
    the mean daily value between the first and the last calendar month of the period.
    """
    p = (
        np.arange(len(results.places))
        if places is None
        else np.array([results.places.index(x) for x in places])
    )
    n = (
        np.arange(len(results.nationalities))
        if nationalities is None
        else np.array([results.nationalities.index(x) for x in nationalities])
    )
    daily = _daily(results.values(metric), p.astype(np.intp), n.astype(np.intp))
    return _statistic(daily, results.dates, statistic, pd.Timestamp(start), pd.Timestamp(end))


# -------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class _Target:
    row: dict[str, Any]
    metric: str
    statistic: str
    start: pd.Timestamp
    end: pd.Timestamp
    places: npt.NDArray[np.intp]
    nationalities: npt.NDArray[np.intp]


@dataclass(frozen=True)
class ComparisonPlan:
    """What every observed value is compared with (``targets``), and what is skipped and why.

    Built once per scenario by :func:`plan_comparison`; :func:`simulated_values` then reads
    the simulated value of every target from one run (validate and calibrate share it).
    """

    targets: list[_Target]
    skipped: pd.DataFrame


def _period(start: Any, end: Any) -> str:
    if pd.isna(start) or pd.isna(end):
        return ""
    s, e = pd.Timestamp(start), pd.Timestamp(end)
    return f"{s:%Y-%m-%d}" if s == e else f"{s:%Y-%m-%d}..{e:%Y-%m-%d}"


def plan_comparison(
    observations: pd.DataFrame,
    first: Results,
    network: Network,
    rules: Sequence[Rule],
    warmup_days: int = 0,
) -> ComparisonPlan:
    """Decide, for every observed row, what it is compared with, or why it is skipped."""
    places = _Places.of(first, network)
    dates = first.dates
    horizon_start, horizon_end = dates[0], dates[-1]
    compare_from = horizon_start + pd.Timedelta(days=warmup_days)
    records = observations.to_dict("records")
    by_key: dict[tuple[Any, ...], float] = {}
    for rec in records:
        key = (rec["series"], rec["geography"], rec["period_start"], rec["period_end"], rec["breakdown"])
        by_key.setdefault((*key, rec["file"]), float(rec["value"]))
        by_key.setdefault(key, float(rec["value"]))
    targets: list[_Target] = []
    skipped: list[dict[str, Any]] = []
    for rec in records:
        base = {
            k: rec[k]
            for k in ("series", "geography", "breakdown", "period_start", "period_end", "file", "line")
        }
        try:
            rule = find_rule(rules, rec["series"], rec["geography"], rec["breakdown"])
            if rule is None:
                raise _Skip("no mapping for this series (add a rule to the mapping)")
            if rule.skip is not None:
                raise _Skip(rule.skip)
            assert rule.metric is not None and rule.statistic is not None
            start, end = rec["period_start"], rec["period_end"]
            if pd.isna(start) or pd.isna(end):
                raise _Skip("no period")
            start, end = pd.Timestamp(start), pd.Timestamp(end)
            if rule.statistic == "end":
                if not horizon_start <= end <= horizon_end:
                    raise _Skip("period end outside the simulated horizon")
            elif start < horizon_start or end > horizon_end:
                raise _Skip("period partly or wholly outside the simulated horizon")
            if (start if rule.statistic != "end" else end) < compare_from:
                raise _Skip(f"inside the first {warmup_days} days of the run (warm-up)")
            nat_idx, nat_label = _resolve_nationalities(rule, rec["breakdown"], first.nationalities)
            place_idx, where = _resolve_places(rule, rec["geography"], rec["breakdown"], places)
            observed = float(rec["value"])
            adjustment = ""
            if rule.subtract is not None:
                key = (rec["series"], rec["geography"], start, end, rule.subtract)
                minus = by_key.get((*key, rec["file"]), by_key.get(key))
                if minus is None:
                    raise _Skip(f"no {rule.subtract!r} row for the same period to subtract")
                adjustment = f"{observed:,.0f} minus {rule.subtract} {minus:,.0f}"
                observed -= minus
        except _Skip as why:
            skipped.append({**base, "reason": str(why)})
            continue
        row = {
            **base,
            "nationality": rec["nationality"],
            "metric": rule.metric,
            "statistic": rule.statistic,
            "observation": rule.observation,
            "where": where,
            "nationalities": nat_label,
            "period": _period(start, end),
            "observed": observed,
            "adjustment": adjustment,
            "unit": rec["unit"],
            "note": rec["note"],
            "source": rec["source"],
            "rule": rule.index + 1,
        }
        targets.append(_Target(row, rule.metric, rule.statistic, start, end, place_idx, nat_idx))
    skipped_frame = pd.DataFrame(
        skipped,
        columns=["series", "geography", "breakdown", "period_start", "period_end", "file", "line", "reason"],
    )
    return ComparisonPlan(targets, skipped_frame)


def simulated_values(results: Results, plan: ComparisonPlan) -> npt.NDArray[np.float64]:
    """The simulated value of every target, for one run."""
    cache: dict[str, npt.NDArray[np.float64]] = {}
    out = np.empty(len(plan.targets))
    for i, t in enumerate(plan.targets):
        if t.metric not in cache:
            cache[t.metric] = results.values(t.metric)
        daily = _daily(cache[t.metric], t.places, t.nationalities)
        out[i] = _statistic(daily, results.dates, t.statistic, t.start, t.end)
    return out


def _log_ratio(sim: float, obs: float, statistic: str) -> float:
    if not (math.isfinite(sim) and math.isfinite(obs)):
        return float("nan")
    if statistic == "change":
        a, b = 1.0 + sim, 1.0 + obs
        return math.log(a / b) if a > 0 and b > 0 else float("nan")
    return math.log(max(sim, _FLOOR) / max(obs, _FLOOR))


def _table(plan: ComparisonPlan, sims: npt.NDArray[np.float64]) -> pd.DataFrame:
    rows = []
    for i, t in enumerate(plan.targets):
        values = sims[i]
        finite = values[np.isfinite(values)]
        if finite.size:
            q05, med, q95 = (float(v) for v in np.quantile(finite, [0.05, 0.5, 0.95]))
        else:
            q05 = med = q95 = float("nan")
        obs = float(t.row["observed"])
        ratio = _log_ratio(med, obs, t.statistic)
        kind = t.row["observation"]
        if kind == "minimum":
            error = max(-ratio, 0.0) if math.isfinite(ratio) else float("nan")
            inside = bool(q95 >= obs)
        elif kind == "maximum":
            error = max(ratio, 0.0) if math.isfinite(ratio) else float("nan")
            inside = bool(q05 <= obs)
        else:
            error = abs(ratio)
            inside = bool(q05 <= obs <= q95)
        rows.append(
            {
                **t.row,
                "sim_median": med,
                "sim_q05": q05,
                "sim_q95": q95,
                "log_ratio": ratio,
                "log_error": error,
                "inside": inside,
            }
        )
    columns = [
        "series",
        "geography",
        "breakdown",
        "nationality",
        "period_start",
        "period_end",
        "period",
        "metric",
        "statistic",
        "observation",
        "where",
        "nationalities",
        "observed",
        "sim_median",
        "sim_q05",
        "sim_q95",
        "log_ratio",
        "log_error",
        "inside",
        "adjustment",
        "unit",
        "note",
        "source",
        "file",
        "line",
        "rule",
    ]
    return pd.DataFrame(rows, columns=columns)


def _scores(frame: pd.DataFrame) -> dict[str, Any]:
    err = frame["log_error"].to_numpy(dtype=float)
    finite = err[np.isfinite(err)]
    return {
        "observations": len(frame),
        "median_abs_log_error": float(np.median(finite)) if finite.size else None,
        "share_inside_90": float(frame["inside"].mean()) if len(frame) else None,
    }


@dataclass(frozen=True)
class ValidationResult:
    """Simulated against observed, one row per observed value inside the horizon.

    Attributes
    ----------
    table : DataFrame
        Per observation: the observed row (series, geography, breakdown, period), the
        metric and statistic it is compared with, where (places) and nationalities, the
        observed value (after any subtraction, see ``adjustment``), the simulated median and
        5% / 95% quantiles over runs, ``log_ratio`` = log(sim_median / observed) (values
        floored at 1 person; for ``change``, the log of the ratio of 1 + change), the
        ``log_error`` used in the summary (absolute log ratio; one-sided for minimum and
        maximum counts) and ``inside`` (the 90% interval holds the observed value; for a
        minimum, the interval reaches it).
    skipped : DataFrame
        The observed rows not compared, with the reason.
    simulated : ndarray
        ``(observation, run)``: each run's value for each row of ``table``.
    info : dict
        Scenario, seeds, agents, horizon, files, held-out count.
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    simulated: npt.NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    def per_series(self) -> pd.DataFrame:
        """Per series: observations, median absolute log error, share inside the 90% interval."""
        rows = [{"series": s, **_scores(g)} for s, g in self.table.groupby("series", sort=True)]
        frame = pd.DataFrame(
            rows, columns=["series", "observations", "median_abs_log_error", "share_inside_90"]
        )
        return frame.set_index("series")

    def summary(self) -> dict[str, Any]:
        """Overall and per-series scores, skipped rows by reason, held-out count, run facts."""
        per = self.per_series()
        return {
            **self.info,
            "overall": _scores(self.table),
            "per_series": {
                str(s): {k: (None if pd.isna(v) else v) for k, v in row.items()} for s, row in per.iterrows()
            },
            "skipped_rows": len(self.skipped),
            "skipped_by_reason": {str(k): int(v) for k, v in self.skipped["reason"].value_counts().items()},
        }

    def display(self) -> pd.DataFrame:
        """The table with readable cells, for printing."""
        t = self.table
        fraction = t["statistic"] == "change"

        def num(col: str) -> pd.Series:
            return pd.Series(
                [
                    "" if pd.isna(v) else (f"{v:+.2f}" if frac else f"{v:,.0f}")
                    for v, frac in zip(t[col], fraction, strict=True)
                ],
                index=t.index,
                dtype=object,
            )

        shown = pd.DataFrame(
            {
                "series": t["series"],
                "where": t["where"],
                "nationalities": t["nationalities"].where(t["nationalities"].str.len() <= 30, t["breakdown"]),
                "period": t["period"],
                "statistic": t["statistic"]
                + t["observation"].map({"count": "", "minimum": " (min)", "maximum": " (max)"}),
                "observed": num("observed"),
                "sim_median": num("sim_median"),
                "sim_q05": num("sim_q05"),
                "sim_q95": num("sim_q95"),
                "log_ratio": t["log_ratio"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
                "inside": t["inside"].map({True: "yes", False: "no"}),
            },
            columns=list(_DISPLAY),
        )
        return shown

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML page: scores, then per series the observed values
        against the simulated median and 5-95% band over time."""
        return _html(self, Path(path))

    def write(self, out_dir: str | Path, *, force: bool = False) -> dict[str, Path]:
        """Write ``validation.csv`` (the table), ``validation_skipped.csv``,
        ``validation.json`` (summary) and ``validation.html`` into ``out_dir``.

        A folder holding files corridor did not write is refused (:class:`OutputError`)
        unless ``force``; then the files are written beside them, and they are kept."""
        folder = Path(out_dir)
        check_output_folder(folder, VALIDATION_OUTPUTS, "validation.json", force=force, what="--out")
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "csv": folder / "validation.csv",
            "skipped": folder / "validation_skipped.csv",
            "json": folder / "validation.json",
            "html": folder / "validation.html",
        }
        write_text_atomically(paths["csv"], self.table.to_csv(index=False))
        write_text_atomically(paths["skipped"], self.skipped.to_csv(index=False))
        write_text_atomically(paths["json"], json.dumps(self.summary(), indent=2, default=str) + "\n")
        self.to_html(paths["html"])
        return paths


def compare_observed(
    observations: pd.DataFrame,
    runs: Sequence[Results],
    *,
    network: Network | None = None,
    mapping: Sequence[Rule] | None = None,
    warmup_days: int = 0,
    info: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Compare observations (a :func:`load_observed` table) with runs of one scenario.

    All runs must share dates, places and nationalities (seeds of one scenario).
    """
    if not runs:
        raise ValueError("compare_observed needs at least one run")
    net = network if network is not None else load_network()
    rules = list(mapping) if mapping is not None else load_mapping()
    plan = plan_comparison(observations, runs[0], net, rules, warmup_days)
    sims = (
        np.column_stack([simulated_values(r, plan) for r in runs])
        if plan.targets
        else np.empty((0, len(runs)))
    )
    return _result(plan, sims, observations, runs[0], dict(info or {}))


def _result(
    plan: ComparisonPlan,
    sims: npt.NDArray[np.float64],
    observations: pd.DataFrame,
    first: Results,
    info: dict[str, Any],
) -> ValidationResult:
    facts = {
        "horizon": [f"{first.dates[0]:%Y-%m-%d}", f"{first.dates[-1]:%Y-%m-%d}"],
        "runs": int(sims.shape[1]),
        "observed_rows": len(observations),
        "held_out_rows": int(observations.attrs.get("held_out_rows", 0)),
        "held_out_from": observations.attrs.get("held_out_from", str(HELD_OUT_FROM.date())),
        "files": observations.attrs.get("files", []),
        **info,
    }
    return ValidationResult(_table(plan, sims), plan.skipped, sims, facts)


def validate(
    scenario: Scenario | str | Path,
    *,
    runs: int = 5,
    observed: Iterable[str | Path] | None = None,
    agents: int | None = None,
    seeds: Sequence[int] | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    include_held_out: bool = False,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    warmup_days: int = 0,
    mapping: str | Path | Sequence[Rule] | None = None,
    network: Network | None = None,
    on_run: Callable[[int], None] | None = None,
) -> ValidationResult:
    """Run a scenario over several seeds and compare it with every observed value in its horizon.

    Parameters
    ----------
    scenario : Scenario or path
    runs : int
        Number of seeds (0, 1, ..., runs - 1) when ``seeds`` is not given.
    observed : paths, optional
        Observed CSVs (default: the shipped ones); see :func:`load_observed`.
    agents, scale, overrides :
        As for :func:`corridor.simulate`.
    include_held_out : bool
        Also compare held-out outcomes (periods ending on or after ``held_out_from``).
        Off by default: keep it off when fitting or validating the 2023-24 scenario.
    warmup_days : int
        Skip observations that start within this many days of the horizon's start (the
        model starts empty).
    mapping : path or rules, optional
        The observed-to-simulated mapping (default: the shipped one).
    on_run : callable, optional
        Called with each seed once its run is compared (progress).
    """
    seed_list = list(seeds) if seeds is not None else list(range(runs))
    if not seed_list:
        raise ValueError("validate needs at least one run")
    rules = load_mapping(mapping) if mapping is None or isinstance(mapping, str | Path) else list(mapping)
    obs = load_observed(
        observed, include_held_out=include_held_out, held_out_from=held_out_from, mapping=rules
    )
    net = network if network is not None else load_network()
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario file; pass its path")
        sc = scenario
    else:
        sc = load_scenario(scenario, overrides)
    plan: ComparisonPlan | None = None
    columns = []
    first: Results | None = None
    agents_used = None
    for seed in seed_list:
        res = simulate(sc, seed=seed, agents=agents, scale=scale, network=net)
        if plan is None:
            plan, first = plan_comparison(obs, res, net, rules, warmup_days), res
            agents_used = res.info.get("agents")
        columns.append(simulated_values(res, plan))
        if on_run is not None:
            on_run(seed)
    assert plan is not None and first is not None
    sims = np.column_stack(columns) if plan.targets else np.empty((0, len(seed_list)))
    info = {
        "scenario": sc.name,
        "seeds": seed_list,
        "agents": agents_used,
        "scale_persons_per_agent": first.scale,
        "include_held_out": include_held_out,
        "warmup_days": warmup_days,
    }
    return _result(plan, sims, obs, first, info)


# ------------------------------------------------------------------------------- HTML
def _group_label(row: pd.Series) -> str:
    days = (pd.Timestamp(row["period_end"]) - pd.Timestamp(row["period_start"])).days + 1
    span = "monthly" if 28 <= days <= 31 else ("annual" if 365 <= days <= 366 else f"{days}-day")
    nat = row["nationalities"] if len(str(row["nationalities"])) <= 30 else str(row["breakdown"])
    return f"{row['where']} | {nat} | {span} {row['statistic']}"


def _html(result: ValidationResult, path: Path) -> Path:
    import plotly.graph_objects as go

    table = result.table
    summary = result.summary()
    figs = []
    palette = [
        "#1f77b4",
        "#d62728",
        "#2ca02c",
        "#9467bd",
        "#ff7f0e",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    for series, rows in table.groupby("series", sort=True):
        fig = go.Figure()
        labels = rows.apply(_group_label, axis=1)
        for k, (label, group) in enumerate(rows.groupby(labels, sort=True)):
            g = group.sort_values("period_end")
            x = pd.to_datetime(g["period_end"])
            color = palette[k % len(palette)]
            hover = [f"{p}<br>{b}" for p, b in zip(g["period"], g["breakdown"], strict=True)]
            if len(g) > 1:
                fig.add_scatter(
                    x=x,
                    y=g["sim_q95"],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    legendgroup=str(label),
                    hoverinfo="skip",
                )
                fig.add_scatter(
                    x=x,
                    y=g["sim_q05"],
                    mode="lines",
                    line={"width": 0, "color": color},
                    fill="tonexty",
                    opacity=0.2,
                    showlegend=False,
                    legendgroup=str(label),
                    hoverinfo="skip",
                )
            fig.add_scatter(
                x=x,
                y=g["sim_median"],
                mode="lines+markers" if len(g) > 1 else "markers",
                line={"color": color},
                name=f"simulated: {label}",
                legendgroup=str(label),
                text=hover,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": g["sim_q95"] - g["sim_median"],
                    "arrayminus": g["sim_median"] - g["sim_q05"],
                    "visible": len(g) == 1,
                },
            )
            fig.add_scatter(
                x=x,
                y=g["observed"],
                mode="markers",
                marker={
                    "symbol": "diamond",
                    "size": 9,
                    "color": color,
                    "line": {"width": 1, "color": "black"},
                },
                name=f"observed: {label}",
                legendgroup=str(label),
                text=hover,
            )
        scores = summary["per_series"].get(str(series), {})
        err = scores.get("median_abs_log_error")
        inside = scores.get("share_inside_90")
        fig.update_layout(
            title=(
                f"{series} ({rows['metric'].iloc[0]}): median |log error| "
                f"{'n/a' if err is None else f'{err:.2f}'}, inside 90% band "
                f"{'n/a' if inside is None else f'{inside:.0%}'} of {len(rows)}"
            ),
            xaxis_title="period end",
            yaxis_title="change" if (rows["statistic"] == "change").all() else "persons / events",
            height=480,
        )
        figs.append(fig)
    overall = summary["overall"]
    err_all, inside_all = overall["median_abs_log_error"], overall["share_inside_90"]
    head = (
        f"<h1>corridor validation: {summary.get('scenario', '')}</h1>"
        f"<p>{summary['runs']} runs (seeds {summary.get('seeds', '')}), about "
        f"{summary.get('agents', '')} agents, horizon {summary['horizon'][0]} to {summary['horizon'][1]}. "
        f"{overall['observations']} observed values compared; median absolute log error "
        f"{'n/a' if err_all is None else f'{err_all:.2f}'}, "
        f"share inside the simulated 90% interval "
        f"{'n/a' if inside_all is None else f'{inside_all:.0%}'}. "
        f"{summary['skipped_rows']} rows skipped; {summary['held_out_rows']} held-out rows not read "
        f"(periods ending on or after {summary['held_out_from']}).</p>"
    )
    per = result.per_series().to_html(float_format=lambda v: f"{v:.2f}", na_rep="")
    skipped = (
        result.skipped.groupby("reason")
        .size()
        .rename("rows")
        .sort_values(ascending=False)
        .to_frame()
        .to_html()
        if len(result.skipped)
        else ""
    )
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(
        path,
        "<!doctype html><html><head><meta charset='utf-8'><title>corridor validation</title></head><body>"
        + head
        + "<h2>Per series</h2>"
        + per
        + "".join(parts)
        + "<h2>Skipped observed rows</h2>"
        + skipped
        + "</body></html>",
    )
    return path
