"""The monthly gdidata series (``data/observed/gdidata.csv``): shipped and read by default,
the held-out rule on them, and how the mapping compares them with a run."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridor
import corridor.evidence as ev
from corridor.metrics import EXTRA_STOCKS, FLOWS, PLACE_SERIES, STOCKS, Results
from corridor.observations.mapping import find_rule
from corridor.packagedata import package_data
from tests.test_evidence import row, write_csv

GDIDATA = package_data("observed", "gdidata.csv")
#: The nationalities of gdidata's by-nationality rows (its .md), ``Other`` = total minus them.
LISTED = (
    "Guatemala",
    "Honduras",
    "El Salvador",
    "Nicaragua",
    "Cuba",
    "Haiti",
    "Venezuela",
    "Ecuador",
    "Colombia",
    "Brazil",
    "Chile",
    "China",
    "Dominican Republic",
    "Guinea",
    "India",
    "Peru",
)


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    """Every shipped observed row, held-out ones included (there are none in gdidata.csv)."""
    return ev.load_observed(include_held_out=True)


# ----------------------------------------------------------------------------- shipped
def test_gdidata_is_shipped_and_read_by_default(shipped: pd.DataFrame) -> None:
    assert GDIDATA.is_file()
    assert [p.name for p in ev.observed_files()] == ["observed.csv", "reported_in_press.csv", "gdidata.csv"]
    # the three files load together: no duplicate, no contradiction (load_observed raises)
    default = ev.load_observed()
    assert set(default["file"]) == {"observed.csv", "reported_in_press.csv", "gdidata.csv"}
    gdi = shipped[shipped["file"] == "gdidata.csv"]
    with GDIDATA.open(encoding="utf-8") as f:
        assert len(gdi) == sum(1 for _ in csv.DictReader(f))
    assert gdi["source"].str.contains("gdidata").all()
    assert set(gdi["series"]) == {
        "mx_irregular_events",
        "mx_returns",
        "darien_crossings",
        "hn_irregular_entries",
        "gt_returns_received",
        "mmp_dead_missing_central_american_route",
        "mmp_dead_missing_us_mexico_border",
    }


def test_rows_another_file_also_has_carry_the_other_value(shipped: pd.DataFrame) -> None:
    """gdidata.md: a period observed.csv has with another value is kept as a row of its own
    source, and its note gives the other value; nothing repeats observed.csv."""
    key = ["series", "geography", "breakdown", "period_start", "period_end"]
    both = shipped[shipped.duplicated(key, keep=False)]
    gdi = both[both["file"] == "gdidata.csv"]
    assert len(gdi) > 0
    for _, r in gdi.iterrows():
        same = both[(both[key] == r[key]).all(axis=1) & (both["file"] != "gdidata.csv")]
        assert len(same) == 1 and same["source"].iloc[0] != r["source"]
        assert same["value"].iloc[0] != r["value"]
        assert f"observed.csv has {same['value'].iloc[0]:,.0f}" in r["note"]


def test_monthly_upm_events_by_nationality_2018_to_2023(shipped: pd.DataFrame) -> None:
    upm = shipped[(shipped["series"] == "mx_irregular_events") & (shipped["file"] == "gdidata.csv")]
    months = pd.date_range("2018-01-01", "2023-11-01", freq="MS")
    assert len(months) == 71
    by_nat = upm[upm["breakdown"].str.startswith("nationality=")]
    for nat in (*LISTED, "Other"):
        rows = by_nat[by_nat["nationality"] == nat]
        assert list(rows["period_start"].sort_values()) == list(months), nat
        assert (rows["period_end"] == rows["period_start"] + pd.offsets.MonthEnd(0)).all()
    totals = upm[upm["breakdown"] == ""].set_index("period_start")["value"].sort_index()
    assert list(totals.index) == list(months)
    # the nationalities (Other = the rest) add up to the month's total
    assert np.allclose(by_nat.groupby("period_start")["value"].sum().sort_index(), totals)
    assert totals["2019-06-01"] > 0 and by_nat["value"].ge(0).all()


# ---------------------------------------------------------------------------- held out
def test_upstream_inflows_after_the_cutoff_are_given_whole(shipped: pd.DataFrame) -> None:
    default = ev.load_observed()
    late = default[default["period_end"] >= ev.HELD_OUT_FROM]
    counts = late["series"].value_counts()
    assert counts["darien_crossings"] > 0 and counts["hn_irregular_entries"] > 0
    assert late[late["series"] == "hn_irregular_entries"]["period_end"].max() >= pd.Timestamp("2025-01-01")
    # no gdidata row of any other series is withheld, and none was dropped
    gdi_late = shipped[(shipped["file"] == "gdidata.csv") & (shipped["period_end"] >= ev.HELD_OUT_FROM)]
    assert set(gdi_late["series"]) == {"darien_crossings", "hn_irregular_entries"}
    assert len(default[default["file"] == "gdidata.csv"]) == len(shipped[shipped["file"] == "gdidata.csv"])


def test_held_out_rule_on_the_new_series(tmp_path: Path) -> None:
    before, after = ("2023-11-01", "2023-11-30"), ("2023-12-01", "2023-12-31")
    rows = [
        row("mx_irregular_events", "Mexico", *before, 1, "nationality=Honduras"),  # kept
        row("darien_crossings", "Panama - Darien Gap", "2024-01-01", "2024-01-31", 2),  # input: kept
        row("hn_irregular_entries", "Honduras", *after, 3, "nationality=Cuba"),  # input: kept
        row("hn_irregular_entries", "Honduras", "2025-04-01", "2025-04-30", 4),  # input: kept
        row("mx_irregular_events", "Mexico", *after, 10, "nationality=Honduras"),
        row("mx_irregular_events", "Mexico", *after, 11, "nationality=Brazil"),
        row("mx_returns", "Mexico", *after, 12, "type=deportation"),
        row("mx_returns", "Mexico", "2023-11-01", "2023-12-01", 13, "nationality=Guatemala"),
        row("gt_returns_received", "Guatemala", *after, 14, "from=Mexico"),
        row("gt_returns_received", "Guatemala", *after, 15, "from=United States"),
        row("gt_returns_received", "Guatemala", *after, 16),
        row("mmp_dead_missing_us_mexico_border", "US-Mexico border", *after, 17),
        row("mmp_dead_missing_central_american_route", "Americas", *after, 18, "country_of_incident=Panama"),
    ]
    path = write_csv(tmp_path / "late.csv", rows)
    kept = ev.load_observed([path])
    assert sorted(kept["value"]) == [1, 2, 3, 4]
    assert kept.attrs["held_out_rows"] == 9
    assert len(ev.load_observed([path], include_held_out=True)) == len(rows)
    # the outcome series are held out by name, whatever the mapping does with them ...
    skip_all = [ev.Rule(series=".*", breakdown=".*", skip="test")]
    assert sorted(ev.load_observed([path], mapping=skip_all)["value"]) == [1, 2, 3, 4]
    # ... and the upstream inputs never are, even under a mapping that compares them
    compare_all = [ev.Rule(series=".*", breakdown=".*", metric="arrivals", statistic="sum")]
    assert sorted(ev.load_observed([path], mapping=compare_all)["value"]) == [1, 2, 3, 4]
    assert {"darien_crossings", "hn_irregular_entries"} <= ev.INPUT_SERIES
    assert not ev.INPUT_SERIES & ev.HELD_OUT_SERIES


# ------------------------------------------------------------------------------ mapping
@pytest.mark.parametrize(
    ("series", "breakdown", "metric", "skip"),
    [
        ("mx_irregular_events", "", "interdictions", None),
        ("mx_irregular_events", "nationality=Honduras", "interdictions", None),
        ("mx_returns", "", "deportations", None),
        ("mx_returns", "nationality=Cuba", "deportations", None),
        ("mx_returns", "type=assisted return of children", None, "split"),
        ("gt_returns_received", "from=Mexico", "deportations", None),
        ("gt_returns_received", "from=United States", "us_removed", None),
        ("gt_returns_received", "", None, "from=Mexico and from=United States"),
        ("mmp_dead_missing_us_mexico_border", "", "deaths", None),
        ("mmp_dead_missing_us_mexico_border", "country_of_incident=Mexico", None, "side of the boundary"),
        ("mmp_dead_missing_central_american_route", "country_of_incident=Mexico", "deaths", None),
        (
            "mmp_dead_missing_central_american_route",
            "country_of_incident=United States",
            None,
            "US incidents",
        ),
        ("mmp_dead_missing_central_american_route", "country_of_incident=Panama", None, "outside"),
        ("mmp_dead_missing_central_american_route", "", None, "outside"),
        ("darien_crossings", "nationality=Haiti", None, "upstream inflow"),
        ("hn_irregular_entries", "", None, "upstream inflow"),
        ("hn_irregular_entries", "nationality=Cuba", None, "upstream inflow"),
    ],
)
def test_every_new_series_has_a_rule(
    series: str, breakdown: str, metric: str | None, skip: str | None
) -> None:
    geography = {"gt_returns_received": "Guatemala", "hn_irregular_entries": "Honduras"}.get(series, "Mexico")
    rule = find_rule(ev.load_mapping(), series, geography, breakdown)
    assert rule is not None
    assert rule.metric == metric
    if skip is None:
        assert rule.skip is None
    else:
        assert rule.skip is not None and skip in rule.skip
    if series.startswith("mmp_") and metric is not None:
        assert rule.observation == "minimum"  # IOM counts are minimums


def _mexico_places(results: Results, network: corridor.Network) -> list[str]:
    """Every simulated place but the US ports (docs/evidence.md, 'Geography')."""
    country = dict(zip(network.place_names, network.place_country, strict=True))
    return [
        p
        for p, kind in zip(results.places, results.place_kinds, strict=True)
        if kind != "us_port_of_entry" and country[p] != "US"
    ]


def _month(
    shipped: pd.DataFrame, res: Results, network: corridor.Network, month: str
) -> tuple[ev.ValidationResult, pd.DataFrame, Callable[..., float]]:
    """The shipped gdidata rows of one month compared with ``res``; the rows; and
    ``simulated(metric, nationalities, places=Mexico)``, the month's sum computed directly."""
    start = pd.Timestamp(month)
    end = start + pd.offsets.MonthEnd(0)
    rows = shipped[
        (shipped["file"] == "gdidata.csv")
        & (shipped["period_start"] == start)
        & (shipped["period_end"] == end)
    ].reset_index(drop=True)
    assert len(rows) > 0
    mexico = _mexico_places(res, network)

    def simulated(metric: str, nationalities: list[str] | None, places: list[str] | None = None) -> float:
        return ev.aggregate(
            res, metric, "sum", start, end, places=places or mexico, nationalities=nationalities
        )

    return ev.compare_observed(rows, [res], network=network), rows, simulated


def _border(res: Results) -> list[str]:
    return [p for p, k in zip(res.places, res.place_kinds, strict=True) if k == "northern_border_city"]


def test_a_nationality_row_compares_with_that_nationality_only(
    base_results: Results, network: corridor.Network, shipped: pd.DataFrame
) -> None:
    """The shipped rows of March 2019 against a small run of Honduras, Guatemala and Cuba."""
    res = base_results
    assert set(res.nationalities) == {"Honduras", "Guatemala", "Cuba"}
    result, march, simulated = _month(shipped, res, network, "2019-03-01")
    table = result.table.set_index(["series", "breakdown"])
    total = table.loc[("mx_irregular_events", ""), "sim_median"]
    assert total == simulated("interdictions", None) > 0
    by_nat = {
        n: table.loc[("mx_irregular_events", f"nationality={n}"), "sim_median"] for n in res.nationalities
    }
    for nat, value in by_nat.items():
        assert value == simulated("interdictions", [nat])
        assert table.loc[("mx_irregular_events", f"nationality={nat}"), "nationalities"] == nat
    assert 0 < by_nat["Honduras"] < total  # not compared with everyone
    assert sum(by_nat.values()) == pytest.approx(total)
    assert table.loc[("mx_returns", "nationality=Cuba"), "sim_median"] == simulated("deportations", ["Cuba"])
    deaths = table.loc[("mmp_dead_missing_us_mexico_border", "")]
    assert deaths["metric"] == "deaths" and deaths["observation"] == "minimum"
    assert deaths["sim_median"] == simulated("deaths", None, _border(res))
    in_mexico = table.loc[("mmp_dead_missing_central_american_route", "country_of_incident=Mexico")]
    assert in_mexico["metric"] == "deaths" and in_mexico["sim_median"] == simulated("deaths", None)

    skipped = result.skipped.set_index(["series", "breakdown"])["reason"]
    for nat in ("Brazil", "China", "Peru"):
        assert skipped[("mx_irregular_events", f"nationality={nat}")] == (
            f"nationality {nat!r} is not simulated separately in this scenario"
        )
        assert "not simulated" in skipped[("mx_returns", f"nationality={nat}")]
    assert "'Other'" in skipped[("mx_irregular_events", "nationality=Other")]
    assert "split" in skipped[("mx_returns", "type=deportation")]
    assert (
        "side of the boundary" in skipped[("mmp_dead_missing_us_mexico_border", "country_of_incident=Mexico")]
    )
    # every row of the month is either compared or skipped with a reason
    assert len(result.table) + len(result.skipped) == len(march)
    assert (result.skipped["reason"].str.len() > 0).all()


def test_an_unsimulated_group_is_skipped_not_compared_with_everyone(
    tmp_path: Path, network: corridor.Network
) -> None:
    """A run that simulates only 'Other' (and Honduras): Brazil and China rows are skipped
    with their reason, not compared with the simulated 'Other' or with everyone."""
    dates = pd.date_range("2019-03-01", periods=31, freq="D")
    places = ["Tapachula", "Reynosa"]
    nats = ["Honduras", "Other"]
    flows = np.zeros((31, len(FLOWS), 2, 2), dtype=np.int32)
    flows[:, FLOWS.index("interdictions"), 0, :] = [1, 5]
    res = Results(
        dates=dates,
        places=places,
        nationalities=nats,
        scale=1.0,
        flows=flows,
        stocks=np.zeros((31, len(STOCKS), 2, 2), dtype=np.int32),
        extra_stocks=np.zeros((31, len(EXTRA_STOCKS), 2, 2), dtype=np.int32),
        present_agents=np.zeros(31, dtype=np.int64),
        place_series=np.zeros((31, len(PLACE_SERIES), 2)),
        place_kinds=["border_town", "northern_border_city"],
        info={"agents": 1, "scenario": "hand"},
    )
    march = ("2019-03-01", "2019-03-31")
    rows = [
        row("mx_irregular_events", "Mexico", *march, 40, "nationality=Honduras"),
        row("mx_irregular_events", "Mexico", *march, 50, "nationality=Brazil"),
        row("mx_irregular_events", "Mexico", *march, 60, "nationality=China"),
        row("mx_irregular_events", "Mexico", *march, 70, "nationality=Other"),
        row("mx_irregular_events", "Mexico", *march, 220),
    ]
    obs = ev.load_observed([write_csv(tmp_path / "o.csv", rows)])
    result = ev.compare_observed(obs, [res], network=network)
    compared = result.table.set_index("breakdown")["sim_median"]
    assert compared.to_dict() == {"nationality=Honduras": 31, "": 31 * 6}
    reasons = result.skipped.set_index("breakdown")["reason"]
    assert (
        reasons["nationality=Brazil"] == "nationality 'Brazil' is not simulated separately in this scenario"
    )
    assert reasons["nationality=China"] == "nationality 'China' is not simulated separately in this scenario"
    assert "'Other'" in reasons["nationality=Other"]


def test_guatemalans_returned_from_mexico_and_the_us(
    base_results: Results, network: corridor.Network, shipped: pd.DataFrame
) -> None:
    """IGM's receptions (from 2020) against the small run moved to March 2020."""
    dates = pd.date_range("2020-03-01", periods=len(base_results.dates), freq="D")
    res = Results(**{**base_results.__dict__, "dates": dates})
    result, _, simulated = _month(shipped, res, network, "2020-03-01")
    table = result.table.set_index(["series", "breakdown"])
    gt_mexico = table.loc[("gt_returns_received", "from=Mexico")]
    assert gt_mexico["metric"] == "deportations" and gt_mexico["nationalities"] == "Guatemala"
    assert gt_mexico["sim_median"] == simulated("deportations", ["Guatemala"]) > 0
    assert gt_mexico["sim_median"] < simulated("deportations", None)
    gt_us = table.loc[("gt_returns_received", "from=United States")]
    assert gt_us["metric"] == "us_removed" and gt_us["observation"] == "maximum"
    assert gt_us["nationalities"] == "Guatemala"
    assert gt_us["sim_median"] == simulated("us_removed", ["Guatemala"], _border(res))
    # the observed count is an upper bound: simulating fewer removals is no error
    assert 0 < gt_us["sim_median"] < gt_us["observed"]
    assert gt_us["log_error"] == 0 and gt_us["inside"]
    skipped = result.skipped.set_index(["series", "breakdown"])["reason"]
    assert "from=Mexico and from=United States" in skipped[("gt_returns_received", "")]
