"""Aggregation of a run to observed statistics, and the plan of what to compare."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.errors import EvidenceError
from corridor.geography import Network
from corridor.metrics import Results

if TYPE_CHECKING:
    from corridor.observations.mapping import Rule, Statistic
from corridor.observations.mapping import find_rule
from corridor.observations.resolve import _Places, _resolve_nationalities, _resolve_places, _Skip


def _daily(
    values: npt.NDArray[np.float64], places: npt.NDArray[np.intp], nats: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Per day, a (date, place, nationality) array summed over the given places and nationalities."""
    return values[:, places][:, :, nats].sum(axis=(1, 2))


def _day(dates: pd.DatetimeIndex, when: pd.Timestamp) -> int:
    """Index of day ``when`` in the run's consecutive daily ``dates``."""
    i = int((pd.Timestamp(when).normalize() - dates[0]).days)
    if not 0 <= i < len(dates):
        raise EvidenceError(
            f"{when:%Y-%m-%d} is outside the run ({dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d})"
        )
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
        raise EvidenceError(f"period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})")
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
    raise EvidenceError(f"unknown statistic {statistic!r}")


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
    """Decide, for every observed row, what it is compared with, or why it is skipped.

    Periods starting inside the first ``warmup_days`` days, or inside the scenario's spin-up
    (``horizon.spin_up_days``, read from the run), are skipped."""
    warmup_days = max(warmup_days, int(first.info.get("spin_up_days", 0)))
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
    """The simulated value of every target, for one run.

    Most targets are the months of a few series (one metric over the same places and
    nationalities), so each series' daily values are summed once and every month read from them
    (inside calibration this was a quarter of a simulation's cost at 2x10^4 agents).
    """
    values: dict[str, npt.NDArray[np.float64]] = {}
    series: dict[tuple[str, bytes, bytes], npt.NDArray[np.float64]] = {}
    out = np.empty(len(plan.targets))
    for i, t in enumerate(plan.targets):
        key = (t.metric, t.places.tobytes(), t.nationalities.tobytes())
        if key not in series:
            if t.metric not in values:
                values[t.metric] = results.values(t.metric)
            series[key] = _daily(values[t.metric], t.places, t.nationalities)
        out[i] = _statistic(series[key], results.dates, t.statistic, t.start, t.end)
    return out
