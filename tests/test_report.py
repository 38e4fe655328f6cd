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
    # A reader sees what was compared, how, and the sign convention before the plots.
    intro = html.split("<h1>", 1)[1].split("window.PlotlyConfig", 1)[0]
    assert intro.startswith("Comparing base and other")
    assert "run 2 times, with seeds 1 to 2" in intro and "<b>other minus base</b>" in intro
    assert "Difference from base over the horizon (median over seeds; whiskers: range of 2 runs)" in html
    assert "By month (median over seeds; band: range of 2 runs" in html
    assert html.count("window.PlotlyConfig") == 1  # plotly.js inlined once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compare.html"]


def _synthetic_comparison(n_seeds: int) -> Comparison:
    """Two scenarios over ``n_seeds`` seeds, deaths known: "other" has 10 more per seed and seed."""
    seeds = range(n_seeds)
    index = pd.MultiIndex.from_product([["base", "other"], seeds], names=["scenario", "seed"])
    deaths = [100.0 + s for s in seeds] + [100.0 + s + 10.0 * (s + 1) for s in seeds]
    totals = pd.DataFrame({"deaths": deaths, "arrivals": 5000.0}, index=index)
    return Comparison(totals=totals, monthly=pd.DataFrame(), scenarios=["base", "other"])


@pytest.mark.parametrize("n_seeds", [1, 3, 20])
def test_comparison_summary_says_what_its_interval_is(n_seeds: int) -> None:
    summary = _synthetic_comparison(n_seeds).summary().set_index(["scenario", "outcome"])
    assert list(summary.columns) == [
        "median",
        "low",
        "high",
        "diff_median",
        "diff_low",
        "diff_high",
        "interval",
    ]
    base = 100.0 + np.arange(n_seeds)
    diff = 10.0 * (np.arange(n_seeds) + 1)
    row = summary.loc[("other", "deaths")]
    if n_seeds < 20:  # few seeds: their range, and the label says so
        assert row["interval"] == f"range of {n_seeds} run{'s' if n_seeds > 1 else ''}"
        assert (row["low"], row["high"]) == ((base + diff).min(), (base + diff).max())
        assert (row["diff_low"], row["diff_high"]) == (diff.min(), diff.max())
    else:
        assert row["interval"] == f"5-95% over {n_seeds} runs"
        assert row["diff_low"] == pytest.approx(np.quantile(diff, 0.05))
        assert row["diff_high"] == pytest.approx(np.quantile(diff, 0.95))
        assert diff.min() < row["diff_low"] < row["diff_high"] < diff.max()
    assert row["diff_median"] == pytest.approx(np.median(diff))
    assert summary.loc[("base", "deaths"), "median"] == pytest.approx(np.median(base))
    assert summary.loc[("base", "deaths"), ["diff_low", "diff_high"]].tolist() == [0.0, 0.0]


def test_comparison_shows_a_short_summary_in_a_notebook() -> None:
    html = _synthetic_comparison(3)._repr_html_()
    assert len(html) < 3000
    assert "2 scenarios</b> over the same 3 seeds" in html
    # The reference's median deaths (101) and the other's paired difference (median +20).
    assert "<td>deaths</td><td>101</td><td>+20</td>" in html
    assert "other minus base" in html and "<td>5,000</td><td>+0</td>" in html


def test_compare_command_with_one_seed_writes_its_page_and_labels_the_range(
    tmp_path: Path, scenario_file: Path
) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    from .conftest import write_yaml

    other = base_scenario_data()
    other["name"] = "other"
    other["inflow_multiplier"] = 1.5
    other_file = write_yaml(tmp_path / "other.yaml", other)
    out = tmp_path / "cmp"
    args = [
        "compare",
        str(scenario_file),
        str(other_file),
        "--seeds",
        "1",
        "--agents",
        "600",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "median [min, max] over 1 seed (range of 1 run):" in result.output
    assert "[5%, 95%]" not in result.output
    summary = pd.read_csv(out / "compare_summary.csv")
    assert set(summary["interval"]) == {"range of 1 run"}
    # One seed: the interval is that seed's value at both ends.
    assert (summary["low"] == summary["median"]).all() and (summary["high"] == summary["median"]).all()
    arrivals = summary.set_index(["scenario", "outcome"]).loc[("other", "arrivals")]
    assert arrivals["diff_median"] > 0  # half as many again come in
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "whiskers: range of 1 run)" in page


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
    assert "<title>corridor validation</title>" in html and " matches the observations</h1>" in html
    for heading in ("<h2>Summary</h2>", "<h2>Per series</h2>", "<h2>Observed rows not compared</h2>"):
        assert heading in html
    assert "observed values. The simulated median is typically off by a factor of" in html
    assert "mx_irregular_events (compared with interdictions): typically off by a factor of" in html
    # The biggest series first: 1,000 interdictions before 10 deportations, in the table and the charts.
    table = html.split("<h2>Per series</h2>", 1)[1]
    assert table.index("mx_irregular_events") < table.index("mx_returns")
    assert "Atlantis" in html.split("<h2>Observed rows not compared</h2>")[1]  # the reason it was skipped
    assert '"tickformat":"%b %Y"' in html  # dates on the time axes, never a time of day
    assert html.count("window.PlotlyConfig") == 1
    # The order of the page: intro, per-series table, figures, skipped rows.
    assert (
        html.index("<h2>Per series</h2>")
        < html.index("window.PlotlyConfig")
        < html.index("<h2>Observed rows not")
    )


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


def test_compare_refuses_two_scenarios_of_one_name_in_one_line(tmp_path: Path, scenario_file: Path) -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    out = tmp_path / "cmp"
    args = ["compare", str(scenario_file), str(scenario_file), "--seeds", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "own name" in result.output and "Traceback" not in result.output
    assert not out.exists()  # refused before any run or output


def test_overrides_follow_the_first_scenarios_events_into_a_counterfactual() -> None:
    from corridor.report.comparison import follow_events

    first = ["A", "B", "C", "B"]
    dropped_a = ["B", "C", "B"]  # a counterfactual without A
    overrides = {
        "events.2.set.raid_probability_per_day": 0.1,  # C
        "events.3.set.bus_south_share": 0.5,  # the second B
        "events.0.set.bus_south_share": 0.9,  # A: not in the counterfactual
        "policy.raid_probability_per_day": 0.01,
    }
    assert follow_events(overrides, first, dropped_a) == {
        "events.1.set.raid_probability_per_day": 0.1,
        "events.2.set.bus_south_share": 0.5,
        "policy.raid_probability_per_day": 0.01,
    }
    assert follow_events(overrides, first, first) == overrides


def test_compare_applies_an_event_override_to_the_same_event_in_a_counterfactual(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from corridor.report import comparison

    data = base_scenario_data()
    data["events"] = [
        {"date": "2019-03-05", "name": "Raids", "set": {"raid_probability_per_day": 0.01}},
        {"date": "2019-03-20", "name": "Checkpoints", "set": {"checkpoint_intensity.Chiapas": 4.0}},
    ]
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data))
    variant = tmp_path / "no-raids.yaml"
    variant.write_text(f"base: {base}\nname: no-raids\ndrop_events: [Raids]\n")
    planned: list[Any] = []

    def capture(work: Any, runs: Any, **_: Any) -> Any:
        planned.extend(runs)
        raise RuntimeError("planned")

    monkeypatch.setattr(comparison, "run_many", capture)
    with pytest.raises(RuntimeError, match="planned"):
        comparison.compare(
            [base, variant], seeds=[0], overrides={"events.1.set.checkpoint_intensity.Chiapas": 6.0}
        )
    assert [(Path(path).name, overrides) for path, _seed, overrides in planned] == [
        ("base.yaml", {"events.1.set.checkpoint_intensity.Chiapas": 6.0}),
        ("no-raids.yaml", {"events.0.set.checkpoint_intensity.Chiapas": 6.0}),  # the same event
    ]
