"""``corridor report``: the self-contained page with its map, and comparison pages that explain themselves."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import InputError
from corridor.report import Comparison, corridor_map_figure, monthly_outcomes, outcome_totals, write_report
from corridor.report.differences import describe_comparison, scenario_differences
from corridor.report.maps import load_basemap
from corridor.report.pages import comparison_page
from corridor.scenario.loading import validate_data

from .conftest import REPO, base_scenario_data, write_yaml

#: Attributes through which a page loads something.
_LOADING = {"src", "href", "data", "srcset", "poster", "action"}


class _Loads(HTMLParser):
    """Every address an element of a page would load (not text inside scripts)."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.addresses += [v for k, v in attrs if k in _LOADING and v]


def _external(html: str) -> list[str]:
    parser = _Loads()
    parser.feed(html)
    assert parser.scripts > 0  # the parser saw the page's scripts
    return [a for a in parser.addresses if a.startswith(("http:", "https:", "//")) or "://" in a]


def _figure_scripts(html: str) -> list[str]:
    """The scripts that draw the page's figures (not plotly.js, which names every trace type)."""
    return re.findall(
        r'if \(document\.getElementById\("[^"]+"\)\) \{\s*Plotly\.newPlot\((.*?)</script>', html, re.S
    )


def _traces(script: str) -> list[dict[str, Any]]:
    """The traces of a ``Plotly.newPlot("id", [traces], layout, config)`` call."""
    start = script.index("[")
    traces, _ = json.JSONDecoder().raw_decode(script, start)
    return list(traces)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, run_small: Callable[..., corridor.Results]) -> Path:
    folder = tmp_path_factory.mktemp("report") / "run"
    corridor.write_run(run_small(base_scenario_data(), agents=2000), folder, {"scenario_path": "small.yaml"})
    return folder


def test_the_report_is_self_contained_and_says_what_happened(run_dir: Path) -> None:
    page = write_report(run_dir)
    assert page == run_dir / "report.html"
    html = page.read_text(encoding="utf-8")
    assert _external(html) == []  # nothing loaded from an address: works offline
    assert html.count("window.PlotlyConfig") == 1  # plotly.js inlined once
    traces = [t for script in _figure_scripts(html) for t in _traces(script)]
    assert traces and {t["type"] for t in traces} == {"scatter"}  # no geo or tile trace: they load outlines
    # The headline sentences come first, then the map, then the monthly charts.
    assert (
        html.index("<h2>In short</h2>") < html.index("<h2>Where people were") < html.index("Month by month")
    )
    assert "Arrivals count re-entries" in html
    assert "one run (seed 1)" in html and "range of" not in html.split("<h2>Where", 1)[0]
    assert "flow: persons in the month" in html and "stock: persons on the month's last day" in html
    # corridor report owns report.html in a run folder: a new run into it is not refused.
    assert "report.html" in corridor.runner.RUN_OUTPUTS


def test_the_cli_writes_the_report_and_refuses_a_folder_it_did_not_write(
    run_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["report", str(run_dir)], catch_exceptions=False)
    assert done.exit_code == 0 and "report.html" in done.output
    (tmp_path / "notes.txt").write_text("mine")
    refused = runner.invoke(app, ["report", str(tmp_path)])
    assert refused.exit_code == 2
    assert "holds no run.json, manifest.json or compare_summary.csv" in refused.output
    assert not (tmp_path / "report.html").exists()


def test_run_with_report_writes_the_page_and_a_new_run_removes_it(
    scenario_file: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    args = ["run", str(scenario_file), "--agents", "500", "--out", str(out), "--quiet"]
    assert runner.invoke(app, [*args, "--report"], catch_exceptions=False).exit_code == 0
    assert "What happened in small" in (out / "report.html").read_text(encoding="utf-8")
    assert runner.invoke(app, args, catch_exceptions=False).exit_code == 0
    assert not (out / "report.html").exists()  # a report of the old run would mislead


def _months_frame(network: corridor.Network, months: int = 3) -> pd.DataFrame:
    rows = [
        {"month": m, "place": p, "metric": metric, "value": float(k * (i + 1))}
        for i, m in enumerate(pd.date_range("2019-01-01", periods=months, freq="MS"))
        for k, p in enumerate(network.place_names[:10])
        for metric in ("stranded", "deaths")
    ]
    return pd.DataFrame(rows)


def test_the_map_draws_every_place_with_coordinates(network: corridor.Network) -> None:
    use = pd.DataFrame(
        {
            "from": [network.place_names[int(network.route_from[0])]],
            "to": [network.place_names[int(network.route_to[0])]],
        }
    ).assign(mode=str(network.route_mode[0]), value=500.0)
    fig = corridor_map_figure(_months_frame(network), "stranded", network, route_use=use)
    spec = json.loads(fig.to_json())
    traces = {t.name: t for t in fig.data}
    with_coords = [
        p for p, a, b in zip(network.place_names, network.lat, network.lon, strict=True) if np.isfinite(a + b)
    ]
    for metric in ("stranded", "deaths"):
        places = traces[metric]
        assert list(places.customdata) == with_coords  # every place, even those with no value
        lon = dict(zip(network.place_names, network.lon, strict=True))
        assert list(places.x) == pytest.approx([lon[p] for p in with_coords])
        assert min(places.marker.size) > 0  # places without people are drawn, small
    # The map opens on the month the first metric peaks (the last here), and a slider has every month.
    assert [f["name"] for f in spec["frames"]] == ["2019-01", "2019-02", "2019-03"]
    assert spec["layout"]["sliders"][0]["active"] == 2
    assert [b["label"] for b in spec["layout"]["updatemenus"][0]["buttons"]][1] == "dead or missing"
    assert max(traces["stranded"].marker.color) == pytest.approx(27.0)  # 10th place x month 3
    # No geo trace: plain axes with equal ground scale, over the shipped outlines.
    assert {t.type for t in fig.data} == {"scatter"}
    assert spec["layout"]["xaxis"]["scaleanchor"] == "y"
    widths = {t.line.width for t in fig.data if str(t.name).endswith("routes")}
    assert len(widths) >= 2  # the used route is drawn wider than the unused ones


def test_the_map_names_a_bad_input(network: corridor.Network) -> None:
    frame = _months_frame(network)
    with pytest.raises(InputError, match="metric 'detained': not in monthly_by_place"):
        corridor_map_figure(frame, "detained", network)
    with pytest.raises(InputError, match="unknown place"):
        corridor_map_figure(frame.assign(place="Atlantis"), "stranded", network)


def test_the_base_map_is_small_and_covers_the_corridor() -> None:
    basemap = load_basemap()
    names = {n for n, _ in basemap.countries}
    assert {"Mexico", "United States of America", "Guatemala", "Belize", "Honduras", "El Salvador"} <= names
    lon0, lat0, lon1, lat1 = basemap.box
    for _, rings in basemap.countries:
        for ring in rings:
            assert ring[:, 0].min() >= lon0 - 1e-9 and ring[:, 0].max() <= lon1 + 1e-9
            assert ring[:, 1].min() >= lat0 - 1e-9 and ring[:, 1].max() <= lat1 + 1e-9
    assert basemap.state_borders
    path = Path(corridor.__file__).parent / "data" / "basemap"
    assert (path / "corridor.json").stat().st_size < 300_000
    assert "public domain" in (path / "README.md").read_text(encoding="utf-8")


def _comparison(run_small: Callable[..., corridor.Results]) -> Comparison:
    base = base_scenario_data()
    other = base_scenario_data()
    other["name"] = "other"
    other["policy"]["bus_south_share"] = 0.5
    models = [validate_data(base), validate_data(other)]
    totals, monthly = [], []
    for data, model in zip((base, other), models, strict=True):
        for seed in (1, 2):
            res = run_small(data, seed=seed, agents=1000)
            totals.append(outcome_totals(res).rename((model.name, seed)))
            m = monthly_outcomes(res)
            m.index = pd.MultiIndex.from_product(
                [[model.name], [seed], m.index], names=["scenario", "seed", "month"]
            )
            monthly.append(m)
    t = pd.DataFrame(totals)
    t.index = pd.MultiIndex.from_tuples(t.index, names=["scenario", "seed"])
    about = describe_comparison(models, ["base.yaml", "other.yaml"], [1, 2], 1000, None)
    return Comparison(totals=t, monthly=pd.concat(monthly), scenarios=[m.name for m in models], about=about)


def test_the_comparison_page_names_what_differs_and_the_sign_convention(
    run_small: Callable[..., corridor.Results],
) -> None:
    comparison = _comparison(run_small)
    ref = comparison.scenarios[0]
    html = comparison_page(comparison)
    assert "policy.bus_south_share" in html  # the changed field, with both values
    differs = html.split("What differs from the reference", 1)[1]
    assert "0.5" in differs.split("</table>", 1)[0]
    assert (
        f"Sign convention</b>: a difference is the scenario minus the reference, <b>other minus {ref}</b>"
        in html
    )
    assert "seeds 1 to 2 with about 1,000 agents per run" in html
    assert "range of 2 runs" in html and "5-95%" not in html  # two seeds: a range, not quantiles
    # One panel per outcome, each on its own y axis.
    n = len(comparison.totals.columns)
    assert f'"yaxis{n}"' in html and f'"yaxis{2 * n}"' not in html.split("By month", 1)[0]
    assert _external(html) == []


def test_scenario_differences_list_dropped_and_added_events() -> None:
    base = base_scenario_data()
    base.setdefault("events", []).append({"date": "2019-03-10", "name": "checkpoints doubled", "set": {}})
    other = base_scenario_data()
    other["events"] = [e for e in other.get("events", []) if e["name"] != "checkpoints doubled"]
    other["events"].append({"date": "2019-03-20", "name": "visas open", "set": {}})
    rows = scenario_differences(validate_data(base), validate_data(other))
    assert ("event dropped (2019-03-10)", "checkpoints doubled", "-") in rows
    assert ("event added (2019-03-20)", "-", "visas open") in rows


def test_the_report_of_a_comparison_folder(
    tmp_path: Path, run_small: Callable[..., corridor.Results]
) -> None:
    comparison = _comparison(run_small)
    folder = tmp_path / "compare"
    folder.mkdir()
    monthly = comparison.monthly.reset_index().assign(month=lambda d: d.month.astype(str))
    (folder / "compare_monthly.csv").write_text(monthly.to_csv(index=False))
    (folder / "compare.json").write_text(json.dumps(comparison.about))
    (folder / "compare_summary.csv").write_text(comparison.summary().to_csv(index=False))
    html = write_report(folder).read_text(encoding="utf-8")
    assert "other minus small" in html and "policy.bus_south_share" in html
    rebuilt = Comparison.from_monthly(pd.read_csv(folder / "compare_monthly.csv"))
    assert rebuilt.totals.to_numpy() == pytest.approx(
        comparison.totals.to_numpy()
    )  # totals follow from months


def test_a_scenario_file_round_trip_keeps_no_difference(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "a.yaml", base_scenario_data())
    a, b = corridor.load_scenario(path), corridor.load_scenario(path)
    assert scenario_differences(a, b) == []
    about: dict[str, Any] = describe_comparison([a, b], [str(path)] * 2, [0], None, None)
    assert about["differences"] == {a.name: []}


def test_compare_keeps_the_maps_figures_and_its_page_draws_one_map_per_scenario(
    scenario_file: Path, tmp_path: Path
) -> None:
    from corridor.report import compare

    other = base_scenario_data()
    other["name"] = "other"
    other_file = write_yaml(tmp_path / "other.yaml", other)
    result = compare([scenario_file, other_file], seeds=(1, 2), agents=600)
    assert result.about["differences"] == {"other": []}  # only the name differs
    by_place = result.by_place
    assert by_place is not None
    assert list(by_place.columns) == ["scenario", "month", "place", "metric", "value"]
    assert set(by_place["scenario"]) == {"small", "other"}
    assert {"stranded", "detained_over_capacity", "deaths"} <= set(by_place["metric"])
    html = comparison_page(result)
    maps = html.split("Where people were, scenario by scenario", 1)[1]
    titles = re.findall(r"\\u003cb\\u003e(\w+)\\u003c\\u002fb\\u003e: People", maps)  # as plotly escapes them
    assert titles[:1] == ["small"] and "other" in titles
    assert maps.count('"name":"place names"') == 2  # two maps
    assert _external(html) == []
    # Read back from a compare folder, the report draws the same maps.
    folder = tmp_path / "cmp"
    folder.mkdir()
    result.monthly.reset_index().assign(month=lambda d: d.month.astype(str)).to_csv(
        folder / "compare_monthly.csv", index=False
    )
    by_place.to_csv(folder / "compare_places.csv", index=False)
    (folder / "compare_summary.csv").write_text(result.summary().to_csv(index=False))
    report = write_report(folder).read_text(encoding="utf-8")
    assert report.count('"name":"place names"') == 2


def test_the_map_draws_routes_wider_the_more_they_were_used(tmp_path: Path) -> None:
    """A run folder's routes.csv sets the routes' widths: the busiest route is drawn widest."""
    from corridor.report.runs import read_runset

    out = tmp_path / "run"
    scenario = corridor.load_scenario(REPO / "scenarios" / "mexico-2019.yaml", ["horizon.end=2019-02-28"])
    corridor.write_run(corridor.simulate(scenario, agents=2000, seed=1), out)
    runs = read_runset(out)
    assert runs.route_use is not None and runs.route_use["value"].sum() > 0
    fig = corridor_map_figure(
        pd.DataFrame({"month": [pd.Timestamp("2019-01-01")], "place": ["Tapachula"], "value": [1.0]}),
        "stranded",
        route_use=runs.route_use,
    )
    widths = {t.line.width for t in fig.data if t.mode == "lines"}
    assert len(widths) >= 2  # used and unused (or busier) routes differ
