"""Property-based tests of the observed-data reader (:func:`corridor.evidence.load_observed`).

A small valid observed CSV is mutated into malformed files of several kinds (bad
encodings and compression, negative and non-finite values, values that are not numbers,
duplicated and contradicting rows, missing columns, broken dates, truncated lines and
unclosed quotes, random bytes). Every one must raise an :class:`EvidenceError` whose
message is one line naming the file, a line number and what was expected, quickly and in
little memory; through the CLI (``corridor validate --observed FILE``) it must exit with
code 2 before any simulation, print the message and no traceback, and write nothing.

Deterministic (``derandomize=True``); run with ``--hypothesis-show-statistics`` to see how
many examples of each kind were tried (``event`` labels).
"""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import lzma
import math
import os
import re
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import corridor.evidence as ev
import corridor.observations as obs
from corridor.cli import app

from .conftest import SHIPPED_SCENARIO

HEADER = (
    "series",
    "geography",
    "period_start",
    "period_end",
    "value",
    "unit",
    "breakdown",
    "source_title",
    "source_url",
    "note",
)
#: The valid base file: no quotes and no commas inside fields, so that the field layout
#: of every line is known (``line.split(",")``).
ROWS: tuple[tuple[str, ...], ...] = (
    (
        "usbp_sw_encounters",
        "US Southwest land border",
        "2019-01-01",
        "2019-01-31",
        "47980",
        "encounters (events)",
        "",
        "DHS OHSS encounters",
        "https://example.org/usbp",
        "rounded to 10",
    ),
    (
        "usbp_sw_encounters",
        "US Southwest land border",
        "2019-01-01",
        "2019-01-31",
        "12050",
        "encounters (events)",
        "citizenship=Mexico",
        "DHS OHSS encounters",
        "https://example.org/usbp",
        "",
    ),
    (
        "mx_irregular_events",
        "Mexico - Chiapas",
        "2019-02-01",
        "2019-02-28",
        "9000.5",
        "events",
        "state=Chiapas",
        "UPM bulletin",
        "",
        "monthly",
    ),
    (
        "us_crossings_change",
        "US-Mexico border",
        "2019-05-01",
        "2019-08-31",
        "-0.80",
        "fraction",
        "nationality=Guatemala",
        "press report",
        "",
        "fall May to August",
    ),
    (
        "darien_crossings",
        "Panama - Darien Gap",
        "2019-01-01",
        "2019-12-31",
        "22102",
        "persons",
        "",
        "SNM Panama",
        "https://example.org/snm",
        "",
    ),
    (
        "metering_waitlist",
        "Tijuana",
        "",
        "",
        "3000",
        "asylum seekers on waitlists",
        "",
        "press",
        "",
        "undated",
    ),
)
COUNT_ROWS = (0, 1, 2, 4, 5)  # rows whose value is a count (row 3 is a relative change)
DATED_ROWS = (0, 1, 2, 3, 4)
COL = {name: i for i, name in enumerate(HEADER)}
RULES = ev.load_mapping()

SETTINGS = settings(
    max_examples=40,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SPLICE_SETTINGS = settings(SETTINGS, max_examples=60)
CLI_SETTINGS = settings(SETTINGS, max_examples=40)
PEAK_BYTES = 100 * 2**20
#: What the reader accepts as a value and a date (docs/evidence.md), stated independently.
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def render(rows: list[list[str]], header: list[str] | None = None, newline: str = "\n") -> str:
    lines = [",".join(header if header is not None else HEADER), *(",".join(r) for r in rows)]
    return newline.join(lines) + newline


def base_rows() -> list[list[str]]:
    return [list(r) for r in ROWS]


@dataclass(frozen=True)
class Case:
    """A malformed file: its bytes, its kind and a pattern its error message must match."""

    kind: str
    data: bytes
    expect: str


# ------------------------------------------------------------------------ strategies
#: Text for a field: printable, one line, no CSV syntax (commas, quotes) nor control characters.
field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=',"\n\r\x85'),
    max_size=12,
)
newlines = st.sampled_from(["\n", "\r\n"])


@st.composite
def bad_encoding(draw: st.DrawFn) -> Case:
    rows = base_rows()
    text = render(rows, newline=draw(newlines))
    how = draw(st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "packed"]))
    if how in ("latin-1", "cp1252"):
        accented = draw(st.text(alphabet="éñüçàÁÑ¿¡°ÉÓú", min_size=1, max_size=4))
        r, c = draw(st.sampled_from([(2, COL["geography"]), (0, COL["note"]), (5, COL["geography"])]))
        rows[r][c] = rows[r][c][:3] + accented + rows[r][c][3:]
        event(f"encoding: {how}")
        return Case("encoding", render(rows).encode(how), r"is not valid UTF-8")
    if how.startswith("utf-"):
        event(f"encoding: {how}")
        return Case("encoding", text.encode(how), r"UTF-16|UTF-32|NUL byte")
    packer = draw(st.sampled_from(["gzip", "bz2", "xz", "zip"]))
    event(f"encoding: {packer}")
    raw = text.encode()
    packed: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
        "zip": zip_bytes,
    }
    return Case("encoding", packed[packer](raw), r"compressed|ZIP archive")


def zip_bytes(raw: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("observed.csv", raw)
    return buffer.getvalue()


def _with_value(draw: st.DrawFn, row: int, value: str) -> tuple[bytes, int]:
    rows = base_rows()
    rows[row][COL["value"]] = value
    return render(rows, newline=draw(newlines)).encode(), row + 2


@st.composite
def negative_value(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        row = draw(st.sampled_from(COUNT_ROWS))
        number = draw(
            st.one_of(
                st.integers(max_value=-1, min_value=-(10**12)).map(str),
                st.floats(max_value=-1e-9, min_value=-1e300, allow_nan=False).map(repr),
            )
        )
        event("negative: count")
        data, line = _with_value(draw, row, number)
        return Case("negative", data, rf"line {line}, column 'value': .* is negative")
    change = draw(st.floats(max_value=-1.0001, min_value=-1e300, allow_nan=False).map(repr))
    event("negative: relative change below -1")
    data, line = _with_value(draw, 3, change)
    return Case("negative", data, rf"line {line}, column 'value': .* is below -1")


@st.composite
def non_finite_value(draw: st.DrawFn) -> Case:
    word = draw(
        st.sampled_from(["nan", "NaN", "inf", "Inf", "infinity", "Infinity", "1e400", "1E309", "9e99999"])
    )
    sign = draw(st.sampled_from(["", "+", "-"]))
    event(f"non-finite: {word}")
    data, line = _with_value(draw, draw(st.sampled_from(COUNT_ROWS)), sign + word)
    return Case("non_finite", data, rf"line {line}, column 'value': .*(not a finite number|out of range)")


@st.composite
def not_a_number(draw: st.DrawFn) -> Case:
    text = draw(
        st.one_of(
            st.sampled_from(
                ["", "unknown", "n/a", "NA", "-", "?", "12k", "1_000", "0x10", "1.2.3", "١٢", "½"]
            ),
            field_text,
        )
    )
    stripped = text.strip()
    assume(NUMBER.fullmatch(stripped) is None and NOT_FINITE.fullmatch(stripped) is None)
    event("not a number: " + ("blank" if not stripped else "text"))
    data, line = _with_value(draw, draw(st.sampled_from(COUNT_ROWS)), text)
    return Case("not_a_number", data, rf"line {line}, column 'value': .*(empty|not a number)")


@st.composite
def duplicated_row(draw: st.DrawFn) -> Case:
    rows = base_rows()
    source = draw(st.integers(0, len(rows) - 1))
    copy = list(rows[source])
    contradict = draw(st.booleans())
    if contradict:
        old = float(copy[COL["value"]])
        low = -1.0 if source == 3 else 0.0
        new = draw(
            st.one_of(
                st.integers(0, 10**7).map(float),
                st.floats(min_value=low, max_value=1e9, allow_nan=False),
            ).filter(lambda v: v != old)
        )
        copy[COL["value"]] = repr(new)
    elif draw(st.booleans()):
        copy[COL["value"]] = (
            copy[COL["value"]] + ".0" if "." not in copy[COL["value"]] else copy[COL["value"]]
        )
    if draw(st.booleans()):  # the same place and breakdown, spelt differently
        copy[COL["geography"]] = "  " + copy[COL["geography"]].upper() + " "
        copy[COL["breakdown"]] = copy[COL["breakdown"]].replace("=", " = ")
    if draw(st.booleans()):  # another note does not make another observation
        copy[COL["note"]] = "copied"
    at = draw(st.integers(0, len(rows)))
    rows.insert(at, copy)
    original = source + (1 if at <= source else 0)
    first, second = sorted((original + 2, at + 2))
    event("duplicate: " + ("contradiction" if contradict else "same value"))
    data = render(rows, newline=draw(newlines)).encode()
    if contradict:
        return Case("duplicate", data, rf"line {second}, column 'value': contradicts line {first} \(value ")
    return Case("duplicate", data, rf"line {second}: duplicate of line {first}\b")


@st.composite
def missing_column(draw: st.DrawFn) -> Case:
    header = list(HEADER)
    rows = base_rows()
    how = draw(st.sampled_from(["drop", "rename", "drop_sources", "no_header"]))
    event(f"missing column: {how}")
    if how == "no_header":
        return Case("missing_column", render(rows[1:], header=rows[0]).encode(), r"line 1: missing column")
    if how == "drop_sources":
        drop = [COL["source_title"], COL["source_url"]]
        expect = r"line 1: needs a 'source_title' or 'source_url' column"
    else:
        drop = [COL[draw(st.sampled_from(obs.reader.REQUIRED_COLUMNS))]]
        expect = r"line 1: missing column"
    if how == "rename":
        header[drop[0]] = draw(st.sampled_from(["Value", "vaule", "", " series_", "period start", "units"]))
        assume(header[drop[0]].strip() not in HEADER)
    else:
        header = [h for i, h in enumerate(header) if i not in drop]
        if draw(st.booleans()):
            rows = [[f for i, f in enumerate(r) if i not in drop] for r in rows]
    return Case("missing_column", render(rows, header=header).encode(), expect)


@st.composite
def broken_date(draw: st.DrawFn) -> Case:
    rows = base_rows()
    row = draw(st.sampled_from(DATED_ROWS))
    line = row + 2
    how = draw(st.sampled_from(["format", "impossible", "range", "text", "before", "one_blank"]))
    event(f"date: {how}")
    column = draw(st.sampled_from(["period_start", "period_end"]))
    expect = rf"line {line}, column '{column}': "
    if how == "before":
        start, end = rows[row][COL["period_start"]], rows[row][COL["period_end"]]
        rows[row][COL["period_start"]], rows[row][COL["period_end"]] = end, start
        expect = rf"line {line}, column 'period_end': .* is before period_start"
    elif how == "one_blank":
        rows[row][COL[column]] = ""
        expect += "give both period dates or neither"
    else:
        choices = {
            "format": [
                "2019/01/31",
                "31/01/2019",
                "01-31-2019",
                "20190131",
                "2019-1-31",
                "2019-01",
                "Jan 2019",
            ],
            "impossible": ["2019-02-30", "2019-13-01", "2019-00-10", "2019-04-31", "2019-01-00"],
            "range": ["0001-01-01", "1677-09-21", "2262-04-12", "9999-12-31", "1899-12-31"],
        }
        if how == "text":
            value = draw(field_text)
            assume(value.strip() and ISO_DATE.fullmatch(value.strip()) is None)
        else:
            value = draw(st.sampled_from(choices[how]))
        rows[row][COL[column]] = value
    return Case("broken_date", render(rows, newline=draw(newlines)).encode(), expect)


@st.composite
def truncated_line(draw: st.DrawFn) -> Case:
    rows = base_rows()
    newline = draw(newlines)
    text = render(rows, newline=newline)
    lines = text.split(newline)
    target = draw(st.integers(1, len(rows)))  # index into lines (0 is the header)
    how = draw(st.sampled_from(["end_of_file", "lost_tail", "open_quote"]))
    event(f"truncated: {how}")
    line = target + 1
    if how == "open_quote":
        # a double quote opening a field that never closes: the rest of the file is swallowed
        starts = [0] + [i + 1 for i, ch in enumerate(lines[target]) if ch == ","]
        at = draw(st.sampled_from(starts))
        lines[target] = lines[target][:at] + '"' + lines[target][at:]
        return Case("truncated", newline.join(lines).encode(), rf"lines? {line}\b.*double quote left open")
    # cut after the first character (the line is not blank) and before the last field starts
    cut = draw(st.integers(1, lines[target].rindex(",")))
    lines[target] = lines[target][:cut]
    if how == "end_of_file":
        lines = lines[: target + 1]
    expect = rf"line {line}: \d+ fields where the header \(line 1\) has 10 columns \(a truncated line\?\)"
    return Case("truncated", newline.join(lines).encode(), expect)


@st.composite
def random_bytes(draw: st.DrawFn) -> Case:
    how = draw(st.sampled_from(["whole_file", "spliced"]))
    event(f"random bytes: {how}")
    if how == "whole_file":
        return Case("random_bytes", draw(st.binary(max_size=600)), r"line \d+")
    base = render(base_rows()).encode()
    junk = bytearray(draw(st.binary(max_size=40)))
    poison = draw(st.sampled_from([b"\x00", b"\xf8", b"\xfe", b"\xff", b"\xc0", b"\x80"]))
    if poison in (b"\xc0", b"\x80"):
        junk = bytearray()  # alone after ASCII: always invalid UTF-8
    junk.insert(draw(st.integers(0, len(junk))), poison[0])
    at = draw(st.integers(1, len(base)))  # not at 0: the base is ASCII before the poison
    return Case("random_bytes", base[:at] + bytes(junk) + base[at:], r"line \d+, byte \d+")


STRATEGIES: dict[str, st.SearchStrategy[Case]] = {
    "encoding": bad_encoding(),
    "negative": negative_value(),
    "non_finite": non_finite_value(),
    "not_a_number": not_a_number(),
    "duplicate": duplicated_row(),
    "missing_column": missing_column(),
    "broken_date": broken_date(),
    "truncated": truncated_line(),
    "random_bytes": random_bytes(),
}
any_case = st.one_of(*STRATEGIES.values())


# -------------------------------------------------------------------------- fixtures
_names = itertools.count()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("observed-inputs")


def write_case(folder: Path, case: Case) -> Path:
    path = folder / f"{case.kind}-{next(_names)}.csv"
    path.write_bytes(case.data)
    return path


def load_error(path: Path, **kwargs: Any) -> str:
    """The message of the EvidenceError loading ``path`` raises (any other exception fails)."""
    with pytest.raises(ev.EvidenceError) as info:
        ev.load_observed([path], **kwargs)
    return str(info.value)


def assert_one_line_naming(message: str, path: Path) -> None:
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(str(path)), message
    assert re.search(r"\blines? \d+\b", message), message
    assert "expected" in message, message
    assert "Traceback" not in message


# ----------------------------------------------------------------------------- tests
def test_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "base.csv"
    path.write_text(render(base_rows()), encoding="utf-8")
    frame = ev.load_observed([path], mapping=RULES, include_held_out=True)
    assert len(frame) == len(ROWS)
    assert frame["value"].tolist() == [float(r[COL["value"]]) for r in ROWS]


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
@SETTINGS
@given(data=st.data())
def test_malformed_file_raises_one_line_error(inputs: Path, kind: str, data: st.DataObject) -> None:
    case = data.draw(STRATEGIES[kind])
    path = write_case(inputs, case)
    tracemalloc.start()
    try:
        message = load_error(path, mapping=RULES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_one_line_naming(message, path)
    assert re.search(case.expect, message), (case.expect, message)
    assert peak < PEAK_BYTES, peak


@SPLICE_SETTINGS
@given(
    junk=st.binary(max_size=60),
    at=st.integers(0, 10**6),
    drop=st.integers(0, 30),
)
def test_any_splice_loads_or_raises_evidence_error(inputs: Path, junk: bytes, at: int, drop: int) -> None:
    """Random bytes anywhere (which may leave a valid file): a table or an EvidenceError, nothing else."""
    base = render(base_rows()).encode()
    at %= len(base) + 1
    path = write_case(inputs, Case("splice", base[:at] + junk + base[at + drop :], ""))
    try:
        frame = ev.load_observed([path], mapping=RULES, include_held_out=True)
    except ev.EvidenceError as exc:
        event("splice: error")
        assert_one_line_naming(str(exc), path)
    else:
        event("splice: still valid")
        assert list(frame.columns) == list(ev.COLUMNS)
        assert frame["value"].map(math.isfinite).all()
        count = ~(frame["unit"].str.casefold().eq("fraction") | frame["statistic"].eq("change"))
        assert (frame.loc[count, "value"] >= 0).all() and (frame["value"] >= -1).all()
        keys = frame[["series", "geography", "breakdown", "period_start", "period_end", "source"]]
        assert not keys.astype(str).duplicated().any()


def _no_simulation(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("validate simulated before reading the observed data")


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for the working directories of the CLI runs; no simulation allowed meanwhile."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ev.validation, "simulate", _no_simulation)
        yield tmp_path_factory.mktemp("cli-cwd")


@CLI_SETTINGS
@given(case=any_case)
def test_cli_validate_exits_2_before_simulating(inputs: Path, cli_env: Path, case: Case) -> None:
    path = write_case(inputs, case)
    message = load_error(path)
    cwd = cli_env / f"run-{next(_names)}"
    cwd.mkdir()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["validate", str(SHIPPED_SCENARIO), "--observed", str(path)])
    finally:
        os.chdir(before)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.output == f"error: {message}\n"  # one line, as the library raised it
    assert list(cwd.iterdir()) == [], "validate wrote files"
