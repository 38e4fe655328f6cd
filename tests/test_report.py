"""Reports: monthly outcomes, the HTML pages, and the one palette (corridor.report)."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
import corridor.evidence as ev
from corridor.report import MAIN_OUTCOMES, Comparison, comparison_html, monthly_outcomes, outcome_totals
from corridor.report.html import PALETTE, Section, colour, page

from .conftest import base_scenario_data

PACKAGE = Path(corridor.__file__).resolve().parent


def _daily(res: corridor.Results, metric: str, how: str) -> np.ndarray:
    arr = res.values(metric).astype(float)
    if arr.ndim == 3:
        arr = arr.sum(axis=2)
    if how.endswith(":south"):
        arr = arr[:, np.asarray(res.places) == "Tapachula"]
    elif how.endswith(":north"):
        arr = arr[:, np.asarray(res.place_kinds) == "northern_border_city"]
    return np.nansum(arr, axis=1)


def test_monthly_outcomes_sum_flows_and_take_stocks_at_month_end(base_results: corridor.Results) -> None:
    res = base_results
    table = monthly_outcomes(res)
    months = res.dates.to_period("M")
    assert list(table.index) == list(months.unique())
    assert list(table.columns) == [name for name, _, _ in MAIN_OUTCOMES]
    assert len(table) == 2  # the small scenario: 1 March to 9 April
    for name, metric, how in MAIN_OUTCOMES:
        daily = _daily(res, metric, how)
        for month in table.index:
            days = np.flatnonzero(months == month)
            expected = daily[days].sum() if how == "flow" else daily[days[-1]]
            assert table.loc[month, name] == pytest.approx(expected), (name, month)
    # Something happened, and the totals agree with the months.
    assert table["arrivals"].sum() > 0
    totals = outcome_totals(res)
    for name, _, how in MAIN_OUTCOMES:
        whole = table[name].sum() if how == "flow" else table[name].iloc[-1]
        assert totals[name] == pytest.approx(whole)


def _comparison(runs: list[tuple[str, int, corridor.Results]]) -> Comparison:
    totals, monthly = [], []
    for name, seed, res in runs:
        totals.append(outcome_totals(res).rename((name, seed)))
        m = monthly_outcomes(res)
        m.index = pd.MultiIndex.from_product([[name], [seed], m.index], names=["scenario", "seed", "month"])
        monthly.append(m)
    t = pd.DataFrame(totals)
    t.index = pd.MultiIndex.from_tuples(t.index, names=["scenario", "seed"])
    return Comparison(
        totals=t, monthly=pd.concat(monthly), scenarios=list(dict.fromkeys(n for n, _, _ in runs))
    )


def test_comparison_page(tmp_path: Path, run_small: Callable[..., corridor.Results]) -> None:
    data = base_scenario_data()
    runs = [
        (name, seed, run_small(data, seed=seed, agents=1000)) for name in ("base", "other") for seed in (1, 2)
    ]
    out = comparison_html(_comparison(runs), tmp_path / "compare.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<title>corridor compare</title>" in html
    assert "Difference from base (median over seeds, 5-95% range)" in html
    # A reader sees what was compared, and over how many paired seeds, before the plots.
    intro = html.split("<h1>", 1)[1].split("window.PlotlyConfig", 1)[0]
    assert intro.startswith("corridor compare: base vs ") and "same 2 seeds" in intro
    assert "Main outcomes by month (median, 5-95% band over seeds)" in html
    assert html.count("window.PlotlyConfig") == 1  # plotly.js inlined once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compare.html"]


def _write_observed(path: Path, rows: list[dict[str, Any]]) -> Path:
    header = [
        "series",
        "geography",
        "period_start",
        "period_end",
        "value",
        "unit",
        "breakdown",
        "source_title",
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow({"unit": "persons", "breakdown": "", "source_title": "test fixture", **r})
    return path


def test_validation_page(tmp_path: Path, base_results: corridor.Results) -> None:
    res = base_results
    d0, d1 = res.dates[5], res.dates[34]
    span = {"period_start": f"{d0:%Y-%m-%d}", "period_end": f"{d1:%Y-%m-%d}"}
    rows = [
        {"series": "mx_irregular_events", "geography": "Mexico", "value": 1000, **span},
        {"series": "mx_returns", "geography": "Mexico", "value": 10, **span},
        {"series": "mx_returns", "geography": "Atlantis", "value": 10, **span},  # skipped
    ]
    obs = ev.load_observed([_write_observed(tmp_path / "obs.csv", rows)])
    result = ev.compare_observed(obs, [res])
    html = result.to_html(tmp_path / "validation.html").read_text(encoding="utf-8")
    assert "<title>corridor validation</title>" in html and "<h1>corridor validation: " in html
    for heading in ("<h2>Per series</h2>", "<h2>Skipped observed rows</h2>"):
        assert heading in html
    assert "observed values compared; median absolute log error" in html
    assert "mx_irregular_events (interdictions): median |log error|" in html
    assert "mx_returns" in html
    assert "Atlantis" in html.split("<h2>Skipped observed rows</h2>")[1]  # the reason it was skipped
    assert html.count("window.PlotlyConfig") == 1
    # The order of the page: intro, per-series table, figures, skipped rows.
    assert html.index("<h2>Per series</h2>") < html.index("window.PlotlyConfig") < html.index("<h2>Skipped")


def test_page_builder_escapes_titles_and_orders_sections() -> None:
    html = page(
        "a <b> & c",
        [Section("First", text="<p>one</p>", tables=["<table></table>"]), Section("Second")],
        heading="H & I",
        intro="intro",
    )
    assert "<title>a &lt;b&gt; &amp; c</title>" in html and "<h1>H &amp; I</h1><p>intro</p>" in html
    assert html.index("<h2>First</h2><p>one</p><table></table>") < html.index("<h2>Second</h2>")
    assert "plotly" not in html.lower()  # no figure, no plotly.js
    assert colour(0) == PALETTE[0] and colour(len(PALETTE)) == PALETTE[0]


HEX_COLOUR = re.compile(r"""["']#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})["']|\brgba?\(""")


def test_the_palette_module_is_the_only_one_defining_colours() -> None:
    owner = PACKAGE / "report" / "html.py"
    assert HEX_COLOUR.search(owner.read_text(encoding="utf-8"))  # the check finds what it looks for
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != owner
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if HEX_COLOUR.search(line) or re.search(r"""colou?r(scale)?["']?\s*[:=]\s*["'][a-zA-Z]""", line)
    ]
    assert not offenders, "colours named outside corridor/report/html.py:\n" + "\n".join(offenders)
