"""Observed CSV files: the reader, its checks, and the held-out rule."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from corridor.textfile import shown

if TYPE_CHECKING:
    from corridor.observations.mapping import Rule
from corridor.errors import EvidenceError
from corridor.observations.mapping import _read_text, find_rule, load_mapping
from corridor.observations.resolve import _nationality_label, _norm, parse_breakdown
from corridor.packagedata import package_data

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
        # gdidata.csv: Guatemala's receptions of returned Guatemalans, IOM Missing Migrants
        "gt_returns_received",
        "mmp_dead_missing_central_american_route",
        "mmp_dead_missing_us_mexico_border",
    }
)
#: Upstream inflows, scenario inputs: never held out, whatever a mapping does with them
#: (the observed README: they are given whole).
INPUT_SERIES: frozenset[str] = frozenset({"darien_crossings", "hn_irregular_entries"})
#: The observed CSVs shipped in ``corridor/data/observed``, read by default.
SHIPPED_FILES: tuple[str, ...] = ("observed.csv", "reported_in_press.csv", "gdidata.csv")


#: Names for the whole of Mexico and for the US border (northern border cities) in the data.
# ------------------------------------------------------------------------ observations
def observed_files() -> list[Path]:
    """The observed CSVs shipped with the package."""
    return [package_data("observed", name) for name in SHIPPED_FILES]


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


def _records(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank CSV records of ``text``, each with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1  # the first line of the next record
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            span = f"line {line}" if reader.line_num <= line else f"lines {line}-{reader.line_num}"
            hint = " (a double quote left open?)" if "end of data" in str(exc) else ""
            raise EvidenceError(
                f"{name} {span}: {exc}{hint}; expected CSV fields separated by commas, "
                "quoted with double quotes"
            ) from None
        if any(f.strip() for f in fields):
            yield line, fields


def _check_header(name: str, line: int, header: list[str]) -> None:
    """Raise unless the header has the required columns, a source column, and no column twice."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise EvidenceError(
            f"{name} line {line}: missing column(s) {', '.join(map(repr, missing))}; "
            f"expected {_EXPECTED_HEADER}"
        )
    if "source_title" not in header and "source_url" not in header:
        raise EvidenceError(
            f"{name} line {line}: needs a 'source_title' or 'source_url' column; expected {_EXPECTED_HEADER}"
        )
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise EvidenceError(
            f"{name} line {line}: column(s) {', '.join(map(repr, twice))} given twice; "
            "expected each column once"
        )


def _cells(name: str, line: int, fields: list[str], header: list[str], header_line: int) -> dict[str, str]:
    """A record's stripped cells by column (unnamed columns dropped), once it has one per column."""
    if len(fields) != len(header):
        hint = " (a truncated line?)" if len(fields) < len(header) else ""
        raise EvidenceError(
            f"{name} line {line}: {len(fields)} fields where the header (line {header_line}) has "
            f"{len(header)} columns{hint}; expected {len(header)} fields, one per column"
        )
    return {k: v.strip() for k, v in zip(header, fields, strict=True) if k}


def _check_text(name: str, line: int, row: Mapping[str, str]) -> None:
    """Raise for a cell of :data:`_ONE_LINE` with a line break or of :data:`_NON_BLANK` left blank."""
    for column in _ONE_LINE:
        cell = row.get(column, "")
        if _LINE_BREAK.search(cell):
            raise EvidenceError(
                f"{name} line {line}, column {column!r}: {cell!r} has a line break; expected one line of text"
            )
    for column in _NON_BLANK:
        if not row[column]:
            raise EvidenceError(
                f"{name} line {line}, column {column!r}: empty; expected "
                + ("a number" if column == "value" else "a name")
            )


def _parse_period(
    name: str, line: int, row: Mapping[str, str]
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """A row's period: both dates or neither, the end not before the start."""
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
    return start, end


def _observation(
    path: Path, name: str, line: int, row: Mapping[str, str], rules: Sequence[Rule]
) -> dict[str, Any]:
    """One data row of ``path`` (``name`` in messages), checked, as a row of :func:`_read_rows`."""
    _check_text(name, line, row)
    start, end = _parse_period(name, line, row)
    title, url = row.get("source_title", ""), row.get("source_url", "")
    if not title and not url:
        raise EvidenceError(
            f"{name} line {line}, column 'source_title': no source for this value; "
            "expected a source_title or source_url"
        )
    breakdown = row.get("breakdown", "")
    rule = find_rule(rules, row["series"], row["geography"], breakdown)
    statistic = rule.statistic if rule is not None and rule.statistic else ""
    relative = statistic == "change" or row["unit"].casefold() in _CHANGE_UNITS
    value = _parse_value(f"{name} line {line}, column 'value'", row["value"], relative)
    return {
        "series": row["series"],
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


def _read_rows(path: Path, rules: Sequence[Rule]) -> list[dict[str, Any]]:
    """The rows of one observed CSV, checked (an EvidenceError names file, line and column).

    Besides the :data:`COLUMNS`, each row has ``_shown`` (the file as named in messages) and
    ``_value`` (the value as written), for :func:`_check_duplicates`.
    """
    name = shown(path)
    text = _read_text(path)
    if not text.strip():
        raise EvidenceError(f"{name} line 1: the file is empty; expected {_EXPECTED_HEADER}")
    header: list[str] | None = None
    header_line = 1
    rows: list[dict[str, Any]] = []
    for line, fields in _records(name, text):
        if header is None:
            header, header_line = [h.strip() for h in fields], line
            _check_header(name, line, header)
            continue
        row = _cells(name, line, fields, header, header_line)
        rows.append(_observation(path, name, line, row, rules))
    if header is None:
        raise EvidenceError(f"{name} line 1: the file is empty; expected {_EXPECTED_HEADER}")
    if not rows:
        raise EvidenceError(f"{name}: a header and no rows; expected at least one observed value")
    return rows


def monthly_rows(observed: pd.DataFrame) -> pd.DataFrame:
    """The rows of an observations table whose period is exactly one calendar month, with
    their ``month`` (a monthly ``Period``) added."""
    start, end = pd.to_datetime(observed["period_start"]), pd.to_datetime(observed["period_end"])
    whole = (start.dt.day == 1) & (end == start + pd.offsets.MonthEnd(0))
    rows = observed.loc[whole.to_numpy()].copy()
    rows["month"] = pd.to_datetime(rows["period_start"]).dt.to_period("M")
    return rows


def held_out_series(rules: Sequence[Rule] | None = None) -> Callable[[str], bool]:
    """A predicate: whether a series is held out (listed, or compared by the mapping), never
    for the upstream inputs of :data:`INPUT_SERIES`."""
    mapped = [r for r in (rules if rules is not None else load_mapping()) if r.metric is not None]

    def held(series: str) -> bool:
        if series in INPUT_SERIES:
            return False
        return series in HELD_OUT_SERIES or any(re.fullmatch(r.series, series) for r in mapped)

    return held


def held_out_mask(
    frame: pd.DataFrame,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    rules: Sequence[Rule] | None = None,
) -> pd.Series:
    """Rows of an observations table that are held out: a held-out series (not an upstream
    input of :data:`INPUT_SERIES`) whose period ends on or after ``held_out_from``."""
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
        ``observed.csv``, ``reported_in_press.csv`` and ``gdidata.csv`` (:data:`SHIPPED_FILES`).
    include_held_out : bool
        Keep the held-out rows (outcomes for periods ending on or after ``held_out_from``;
        the upstream inputs of :data:`INPUT_SERIES` are never held out).
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
