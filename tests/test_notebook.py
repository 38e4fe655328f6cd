"""Notebook summaries: short, with the main figures; the tutorial runs end to end."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.forecast import FORECAST_COLUMNS, ForecastResult
from corridor.notebook import comparison_html

LIMIT = 3000


def test_results_html_is_short_and_says_the_main_figures(base_results: corridor.Results) -> None:
    html = base_results._repr_html_()
    assert len(html) < LIMIT
    assert len(repr(base_results)) < 200 and "persons per agent" in repr(base_results)
    deaths = base_results.total("deaths").sum()
    assert f"{deaths:,.0f}" in html and "deaths" in html
    peak = base_results.total("detained")
    assert f"{peak.max():,.0f}" in html
    assert f"{base_results.dates[int(np.argmax(peak))]:%Y-%m-%d}" in html
    assert "re-entries" in html and "holds" in html and "persons" in html


def test_forecast_html_is_short_and_shows_the_interval() -> None:
    months = pd.period_range("2024-01", "2024-12", freq="M")
    table = pd.DataFrame(
        {
            "series": "mx_returns",
            "geography": "Mexico",
            "breakdown": "",
            "period_start": months.start_time,
            "period_end": months.end_time.normalize(),
            "median": np.arange(1000.0, 13000.0, 1000.0),
            "q05": 500.0,
            "q95": 20000.0,
        }
    )
    table = table.reindex(columns=list(FORECAST_COLUMNS))
    big = pd.concat([table] * 20, ignore_index=True)
    result = ForecastResult(big, pd.DataFrame(), np.zeros((len(big), 2)), {"scenario": "s", "runs": 2})
    html = result._repr_html_()
    assert len(html) < LIMIT
    assert "2024-01" in html and "1,000" in html and "500 to 20,000" in html
    assert f"{len(big) - 12} more rows" in html


def test_comparison_html_gives_paired_differences() -> None:
    summary = pd.DataFrame(
        [
            {"scenario": "actual", "outcome": "deaths", "median": 100.0, "diff_median": 0.0},
            {"scenario": "no-deal", "outcome": "deaths", "median": 80.0, "diff_median": -20.0},
        ]
    )
    html = comparison_html(summary, ["actual", "no-deal"], seeds=3)
    assert len(html) < LIMIT
    assert "no-deal minus actual" in html and "-20" in html and "100" in html and "3 seeds" in html


@pytest.mark.parametrize("n", [0, 1])
def test_results_html_lists_warnings(base_results: corridor.Results, n: int) -> None:
    import dataclasses

    info = {**base_results.info, "warnings": ["too coarse"] * n}
    html = dataclasses.replace(base_results, info=info)._repr_html_()
    assert ("warning: too coarse" in html) == bool(n)


TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def test_tutorial_runs_and_answers_its_questions() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(TUTORIAL, as_version=4)
    # Committed without outputs: the repository holds the code, the test runs it.
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    started = time.perf_counter()
    nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(TUTORIAL.parents[1])}},
    ).execute()
    seconds = time.perf_counter() - started
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for answer in (
        "Peak stranded in Tapachula",
        "beyond capacity",
        "deal changed it by",
        "mean wait",
        "deaths",
    ):
        assert answer in text, answer
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert html and all(len(h) < 20_000 for h in html)
    assert seconds < 180, f"the tutorial took {seconds:.0f} s"
