"""Origins and targets of a backtest: which months are forecast from which, and what is known.

An **origin** T is a month. A forecast made at T knows the observations whose period ends
before T's first day, and nothing else. It forecasts each **target** series for the months
T, T+1, ..., T+H-1: horizon h = 1 is the origin month itself, the first month with no data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from corridor.errors import BacktestError
from corridor.observations.reader import monthly_rows
from corridor.observations.resolve import parse_breakdown

#: Target series of a backtest: (series, geography, breakdown keys forecast beside the total).
#: US Border Patrol encounters by every citizenship in the data; Mexico's events by every
#: nationality; Mexico's returns and COMAR applications as totals.
TARGET_SERIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("usbp_sw_encounters", "US Southwest land border", ("citizenship",)),
    ("mx_irregular_events", "Mexico", ("nationality",)),
    ("mx_returns", "Mexico", ()),
    ("comar_asylum_applications", "Mexico", ()),
)
#: Columns that name a target (with ``period_start``/``period_end`` a target month).
TARGET_KEY: tuple[str, ...] = ("series", "geography", "breakdown")

_ORIGINS = re.compile(r"^([0-9]{4}-[0-9]{2})(?::([0-9]{4}-[0-9]{2})(?::([0-9]+))?)?$")


def parse_origins(text: str) -> list[pd.Period]:
    """Origins from ``START:END[:STEP]`` (months ``YYYY-MM``, step in months, default 1),
    both ends included when the steps reach them; or several such ranges and single months
    separated by commas (``2019-03:2023-11:3,2023-05``: a regular grid and the month a policy
    changed), in any order; returned sorted, without repeats.

    Raises
    ------
    BacktestError
        A part not of that form, a month 13, an end before the start, or a step below 1.
    """
    months: set[pd.Period] = set()
    for part in text.split(","):
        months.update(_parse_range(part.strip()))
    return sorted(months)


def _parse_range(part: str) -> list[pd.Period]:
    """One comma-separated part of ``--origins``: errors quote the part."""
    match = _ORIGINS.match(part)
    if match is None:
        raise BacktestError(
            f"--origins {part!r}: expected START:END[:STEP] or a month YYYY-MM, several separated by "
            "commas, e.g. 2019-03:2023-11:3,2023-05"
        )
    try:
        start = pd.Period(match[1], freq="M")
        end = pd.Period(match[2], freq="M") if match[2] else start
    except ValueError:
        raise BacktestError(f"--origins {part!r}: a month is not a calendar month (YYYY-MM, 01-12)") from None
    step = int(match[3] or 1)
    if step < 1:
        raise BacktestError(f"--origins {part!r}: the step must be at least 1 month")
    if end < start:
        raise BacktestError(f"--origins {part!r}: the end {end} is before the start {start}")
    return list(pd.period_range(start, end, freq="M")[::step])


def known_before(observed: pd.DataFrame, origin: pd.Period) -> pd.DataFrame:
    """The observations a forecast made at ``origin`` may read: periods ending before it."""
    return observed[pd.to_datetime(observed["period_end"]) < origin.start_time].reset_index(drop=True)


def is_target(series: str, geography: str, breakdown: str) -> bool:
    """Whether a (series, geography, breakdown) is one of :data:`TARGET_SERIES`."""
    for name, geo, keys in TARGET_SERIES:
        if series == name and geography == geo:
            dims, qualifiers = parse_breakdown(breakdown)
            return not qualifiers and (not dims or (len(dims) == 1 and next(iter(dims)) in keys))
    return False


def monthly_histories(known: pd.DataFrame) -> dict[tuple[str, str, str], pd.Series]:
    """Every target's monthly history in ``known``: a Series of values by month (``Period``).

    Where two releases give a month, the later row read is kept (the shipped files list
    revisions after the first release)."""
    rows = monthly_rows(known)
    out: dict[tuple[str, str, str], pd.Series] = {}
    for key, group in rows.groupby(list(TARGET_KEY), sort=True):
        series, geography, breakdown = (str(k) for k in key)
        if not is_target(series, geography, breakdown):
            continue
        values = pd.Series(group["value"].to_numpy(dtype=float), index=pd.PeriodIndex(group["month"]))
        out[(series, geography, breakdown)] = values.groupby(level=0).last().sort_index()
    return out


@dataclass(frozen=True)
class OriginTargets:
    """What is forecast from one origin: a request per target and month."""

    origin: pd.Period
    requests: pd.DataFrame  #: columns series, geography, breakdown, period_start, period_end, horizon

    @property
    def label(self) -> str:
        """The origin as ``YYYY-MM``."""
        return f"{self.origin:%Y-%m}"


def origin_targets(
    histories: dict[tuple[str, str, str], pd.Series], origin: pd.Period, horizons: int
) -> OriginTargets:
    """Requests for every target with a history before ``origin``, months h = 1..``horizons``."""
    if horizons < 1:
        raise BacktestError(f"--horizons must be at least 1 (got {horizons})")
    rows = []
    for (series, geography, breakdown), history in histories.items():
        if history.empty:
            continue
        for h in range(1, horizons + 1):
            month = origin + (h - 1)
            rows.append(
                {
                    "series": series,
                    "geography": geography,
                    "breakdown": breakdown,
                    "period_start": month.start_time.normalize(),
                    "period_end": month.end_time.normalize(),
                    "horizon": h,
                }
            )
    columns = [*TARGET_KEY, "period_start", "period_end", "horizon"]
    return OriginTargets(origin, pd.DataFrame(rows, columns=columns))


def check_origins(
    origins: Sequence[pd.Period], horizon_start: pd.Timestamp, horizon_end: pd.Timestamp, horizons: int
) -> None:
    """Refuse origins whose forecast months leave the scenario's horizon."""
    for origin in origins:
        last = origin + (horizons - 1)
        if origin.start_time < horizon_start or last.end_time.normalize() > horizon_end:
            raise BacktestError(
                f"origin {origin} with {horizons} horizons needs {origin}..{last}, outside the scenario's "
                f"horizon {horizon_start:%Y-%m-%d}..{horizon_end:%Y-%m-%d}"
            )


def upstream_read_past_origins(info: Mapping[str, Any]) -> str | None:
    """Whether a backtest's scenario read upstream inflows of its first origin's month or later.

    Parameters
    ----------
    info : mapping
        The backtest's ``backtest.json``: its ``origins`` (YYYY-MM) and the scenario's
        ``upstream_known_until`` (upstream periods ending before that day are read; None or
        absent: cut at each origin like the other inputs).

    Returns
    -------
    str or None
        ``upstream_known_until`` where it lies after the first origin's month, so that upstream
        counts of months forecast were read (a diagnostic of the model given demand, not a
        forecast); else None.
    """
    known = info.get("upstream_known_until")
    if known is None:
        return None
    first = pd.Period(str(info["origins"][0]), freq="M")
    return str(known) if pd.Timestamp(str(known)) > first.end_time else None
