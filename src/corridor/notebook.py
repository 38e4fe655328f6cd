"""Short HTML summaries of results for notebooks (the ``_repr_html_`` of each result type).

A notebook shows an object's ``_repr_html_``; a result's is a small table of its main
figures, each with its unit and whether it is a total over the horizon or a peak, not a dump
of its arrays. Every function here returns a fragment of a few thousand characters at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

# The result types are not imported, not even for annotations: each of their modules imports
# this one (for its ``_repr_html_``), and the import graph must stay free of cycles.

__all__ = ["HEADLINE_OUTCOMES", "comparison_html", "ensemble_html", "forecast_html", "results_html"]


#: The headline outcomes of a run or an ensemble, as printed and shown in notebooks:
#: (label, metric, measure) with measure ``total`` (a flow summed over the horizon) or
#: ``peak`` (a stock on its peak day). One list for ``corridor ensemble``'s table and the
#: ``_repr_html_`` of results and ensembles.
HEADLINE_OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("arrivals (re-entries counted again)", "arrivals", "total"),
    ("interdictions (a person caught twice counts twice)", "interdictions", "total"),
    ("detentions", "detentions", "total"),
    ("deportations", "deportations", "total"),
    ("bused south", "bused_south", "total"),
    ("asylum applications", "asylum_applications", "total"),
    ("US encounters", "us_encounters", "total"),
    ("deaths", "deaths", "total"),
    ("present", "present", "peak"),
    ("detained", "detained", "peak"),
    ("stranded", "stranded", "peak"),
    ("asylum pending", "asylum_pending", "peak"),
    ("unsheltered", "unsheltered", "peak"),
)
#: One style for every summary table: numbers right-aligned, labels (the first two columns) left.
_STYLE = (
    "<style>.corridor-summary td,.corridor-summary th{padding:1px 6px;text-align:right}"
    ".corridor-summary td:nth-child(-n+2),.corridor-summary th:nth-child(-n+2){text-align:left}</style>"
)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A compact HTML table with the shared style."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(f"<{tag}>{escape(v)}</{tag}>" for v in values)

    body = "".join(f"<tr>{cells('td', r)}</tr>" for r in rows)
    return f'{_STYLE}<table class="corridor-summary"><tr>{cells("th", header)}</tr>{body}</table>'


def _n(value: Any) -> str:
    """A count of persons with thousands separators; ``n/a`` for a missing value."""
    number = float(value)
    return "n/a" if not np.isfinite(number) else f"{number:,.0f}"


def _warnings(lines: Iterable[str]) -> str:
    return "".join(f'<p style="color:#a04000">warning: {escape(w)}</p>' for w in lines)


def results_html(results: Any) -> str:
    """One run: scenario, dates, scale, the identity check and its main outcomes."""
    info = results.info
    dates = results.dates
    rows = []
    for label, metric, measure in HEADLINE_OUTCOMES:
        daily = results.total(metric)
        if measure == "total":
            rows.append((label, "total", _n(float(daily.sum())), ""))
        else:
            day = int(np.argmax(daily)) if daily.size else 0
            when = f"{dates[day]:%Y-%m-%d}" if daily.size else ""
            rows.append((label, "peak day", _n(float(daily.max(initial=0))), when))
    holds = results.identity_check()["holds"]
    scale = info.get("scale_persons_per_agent", results.scale)
    head = (
        f"<b>{escape(str(info.get('scenario', 'run')))}</b>: {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}, "
        f"seed {escape(str(info.get('seed', '?')))}, {info.get('agents', 0):,} agents x {scale:.3g} persons; "
        f"accounting identity {'holds' if holds else 'BROKEN'}"
    )
    note = (
        "<p>Persons. Totals are flows summed over the horizon; a peak is a stock's highest "
        "end-of-day count. <code>.to_frame()</code>, <code>.to_xarray()</code>, "
        "<code>.summary()</code> give the rest.</p>"
    )
    table = _table(("outcome", "measure", "persons", "date"), rows)
    return f"<div><p>{head}</p>{table}{note}{_warnings(info.get('warnings', []))}</div>"


def ensemble_html(ensemble: Any) -> str:
    """An ensemble: scenario, runs, and the main outcomes with their interval across runs."""
    outcomes = ensemble.main_outcomes()
    label = str(outcomes["interval"].iloc[0]) if len(outcomes) else ""
    rows = [
        (str(r["outcome"]), str(r["measure"]), _n(r["median"]), f"{_n(r['low'])} to {_n(r['high'])}")
        for r in outcomes.to_dict("records")
    ]
    name = ensemble.manifest.get("scenario", {}).get("name", "ensemble")
    head = (
        f"<b>{escape(str(name))}</b>: {ensemble.n_runs} runs in <code>{escape(str(ensemble.out_dir))}</code>"
    )
    table = _table(("outcome", "measure", "median", label), rows)
    note = (
        "<p>Persons, each outcome a number per run. <code>.totals()</code>, "
        "<code>.summary()</code> per day.</p>"
    )
    return f"<div><p>{head}</p>{table}{note}</div>"


def forecast_html(result: Any, max_rows: int = 12) -> str:
    """A forecast: scenario and runs, and the first ``max_rows`` forecast months."""
    table = result.table
    rows = [
        (
            f"{r['series']} {r['geography']} {r['breakdown'] or 'total'}",
            f"{pd.Timestamp(r['period_start']):%Y-%m}",
            _n(r["median"]),
            f"{_n(r['q05'])} to {_n(r['q95'])}",
        )
        for r in table.head(max_rows).to_dict("records")
    ]
    more = (
        f"<p>{len(table) - max_rows} more rows in <code>.table</code>.</p>" if len(table) > max_rows else ""
    )
    info = result.info
    head = (
        f"<b>forecast of {escape(str(info.get('scenario', '')))}</b>: {len(table)} series-months, "
        f"{escape(str(info.get('runs', '?')))} runs"
    )
    body = _table(("series", "month", "median", "90% interval"), rows)
    return f"<div><p>{head}</p>{body}{more}</div>"


def comparison_html(summary: pd.DataFrame, scenarios: Sequence[str], seeds: int) -> str:
    """A comparison: per outcome, the reference scenario's median and each other's paired
    difference from it (``summary`` as :meth:`corridor.report.Comparison.summary` gives it)."""
    ref, others = scenarios[0], list(scenarios[1:])
    wide: dict[str, dict[str, Any]] = {}
    for r in summary.to_dict("records"):
        cell = wide.setdefault(str(r["outcome"]), {})
        cell[str(r["scenario"])] = r["median"] if r["scenario"] == ref else r["diff_median"]
    rows = [
        (outcome, _n(v.get(ref, np.nan)), *(f"{v.get(o, np.nan):+,.0f}" for o in others))
        for outcome, v in wide.items()
    ]
    header = ("outcome (persons)", ref, *(f"{o} minus {ref}" for o in others))
    head = (
        f"<b>{len(scenarios)} scenarios</b> over the same {seeds} seeds: medians over seeds, "
        "and the median of the paired differences (the same seed in both scenarios)"
    )
    return f"<div><p>{head}</p>{_table(header, rows)}</div>"
