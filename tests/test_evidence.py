"""Evidence: observed data loading, the mapping's aggregation rules, held-out filter, validate.

Most tests use hand-made Results (3 places, 2 nationalities, 60 days, known values) so the
expected simulated figure is known exactly.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor.evidence as ev
import corridor.observations as obs
from corridor.cli import app
from corridor.metrics import EXTRA_STOCKS, FLOWS, PLACE_SERIES, STOCKS, Results

from .conftest import REPO, SHIPPED_SCENARIO

PLACES = ("Tapachula", "Huixtla", "Reynosa")  # Chiapas, Chiapas, Tamaulipas (northern border city)
NATS = ("Guatemala", "Honduras")
START = pd.Timestamp("2019-01-01")
DAYS = 60  # 2019-01-01 .. 2019-03-01
HEADER = ["series", "geography", "period_start", "period_end", "value", "unit", "breakdown", "source_title"]


def hand_results(
    flows: dict[str, np.ndarray] | None = None,
    stocks: dict[str, np.ndarray] | None = None,
    scale: float = 1.0,
) -> Results:
    """Results with the given (date, place, nationality) agent counts; everything else 0."""
    shape = (DAYS, len(PLACES), len(NATS))
    f = np.zeros((DAYS, len(FLOWS), *shape[1:]), dtype=np.int32)
    s = np.zeros((DAYS, len(STOCKS), *shape[1:]), dtype=np.int32)
    x = np.zeros((DAYS, len(EXTRA_STOCKS), *shape[1:]), dtype=np.int32)
    for name, arr in (flows or {}).items():
        f[:, FLOWS.index(name)] = np.broadcast_to(arr, shape)
    for name, arr in (stocks or {}).items():
        if name in STOCKS:
            s[:, STOCKS.index(name)] = np.broadcast_to(arr, shape)
        else:
            x[:, EXTRA_STOCKS.index(name)] = np.broadcast_to(arr, shape)
    return Results(
        dates=pd.date_range(START, periods=DAYS, freq="D"),
        places=list(PLACES),
        nationalities=list(NATS),
        scale=scale,
        flows=f,
        stocks=s,
        extra_stocks=x,
        present_agents=s.sum(axis=(1, 2, 3)).astype(np.int64),
        place_series=np.zeros((DAYS, len(PLACE_SERIES), len(PLACES))),
        place_kinds=["border_town", "border_town", "northern_border_city"],
        info={"agents": 1, "scenario": "hand"},
    )


def per_cell(values: dict[tuple[str, str], float]) -> np.ndarray:
    """A (place, nationality) array, constant over days, from {(place, nationality): value}."""
    arr = np.zeros((len(PLACES), len(NATS)), dtype=np.int32)
    for (p, n), v in values.items():
        arr[PLACES.index(p), NATS.index(n)] = v
    return arr


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    cols = header or HEADER
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in cols})
    return path


def row(
    series: str, geography: str, start: str, end: str, value: float, breakdown: str = ""
) -> dict[str, Any]:
    return {
        "series": series,
        "geography": geography,
        "period_start": start,
        "period_end": end,
        "value": value,
        "unit": "persons",
        "breakdown": breakdown,
        "source_title": "test fixture",
    }


def compare(tmp_path: Path, rows: list[dict[str, Any]], *runs: Results) -> ev.ValidationResult:
    obs = ev.load_observed([write_csv(tmp_path / "obs.csv", rows)])
    return ev.compare_observed(obs, list(runs))


def only(result: ev.ValidationResult, **match: Any) -> pd.Series:
    t = result.table
    mask = np.ones(len(t), dtype=bool)
    for k, v in match.items():
        mask &= (t[k] == v).to_numpy()
    assert mask.sum() == 1, f"{mask.sum()} rows match {match}:\n{t}"
    return t[mask].iloc[0]


# ----------------------------------------------------------------------- aggregation rules
def test_flow_sum_over_period() -> None:
    # 1 agent per day in every cell, scale 2: 2 persons per cell-day.
    res = hand_results(flows={"interdictions": np.ones((3, 2))}, scale=2.0)
    assert ev.aggregate(res, "interdictions", "sum", "2019-01-10", "2019-01-19") == 10 * 3 * 2 * 2
    assert ev.aggregate(res, "interdictions", "sum", "2019-01-10", "2019-01-10") == 12  # one day
    got = ev.aggregate(res, "interdictions", "sum", "2019-01-01", "2019-01-31", places=["Reynosa"])
    assert got == 31 * 2 * 2
    got = ev.aggregate(
        res,
        "interdictions",
        "sum",
        "2019-02-01",
        "2019-02-28",
        places=["Tapachula"],
        nationalities=["Honduras"],
    )
    assert got == 28 * 2
    assert ev.aggregate(res, "interdictions", "rate", "2019-02-01", "2019-02-28") == 12


def test_stock_at_period_end_and_mean() -> None:
    ramp = np.zeros((DAYS, 3, 2), dtype=np.int32)
    ramp[:, 0, 0] = np.arange(DAYS)  # Tapachula, Guatemala: day index
    res = hand_results(stocks={"detained": ramp})
    assert ev.aggregate(res, "detained", "end", "2019-01-01", "2019-01-31") == 30
    assert ev.aggregate(res, "detained", "mean", "2019-01-01", "2019-01-31") == 15
    assert ev.aggregate(res, "detained", "mean", "2019-02-10", "2019-02-10") == 40


def test_change_between_first_and_last_month() -> None:
    daily = np.zeros((DAYS, 3, 2), dtype=np.int32)
    daily[:31, 2, :] = 4  # January: 4 a day per nationality at Reynosa
    daily[31:59, 2, :] = 1  # February: 1 a day
    res = hand_results(flows={"us_encounters": daily})
    assert ev.aggregate(res, "us_encounters", "change", "2019-01-01", "2019-02-28") == pytest.approx(-0.75)


def test_state_office_and_place_geography(tmp_path: Path) -> None:
    apps = per_cell({("Tapachula", "Guatemala"): 2, ("Huixtla", "Honduras"): 3, ("Reynosa", "Guatemala"): 5})
    res = hand_results(flows={"asylum_applications": apps})
    result = compare(
        tmp_path,
        [
            row(
                "comar_asylum_applications",
                "Mexico - Chiapas",
                "2019-01-01",
                "2019-01-31",
                155,
                "state=Chiapas",
            ),
            row(
                "comar_asylum_applications",
                "Mexico - Tapachula",
                "2019-01-01",
                "2019-01-31",
                62,
                "office=Tapachula",
            ),
            row("comar_asylum_applications", "Mexico", "2019-01-01", "2019-01-10", 100),
            row(
                "comar_asylum_applications", "Mexico", "2019-01-01", "2019-01-10", 20, "nationality=Guatemala"
            ),
            row(
                "occupancy_inm_station",
                "Reynosa, Tamaulipas (Estacion Migratoria)",
                "2019-01-05",
                "2019-01-05",
                1,
            ),
            row(
                "comar_asylum_applications", "Mexico - Oaxaca", "2019-01-01", "2019-01-31", 9, "state=Oaxaca"
            ),
            row("comar_asylum_applications", "Atlantis", "2019-01-01", "2019-01-31", 9),
        ],
        res,
    )
    chiapas = only(result, breakdown="state=Chiapas")
    assert chiapas["where"] == "state Chiapas"
    assert chiapas["sim_median"] == 31 * (2 + 3)  # Reynosa (Tamaulipas) left out
    assert chiapas["log_ratio"] == 0 and chiapas["inside"]
    tapachula = only(result, breakdown="office=Tapachula")
    assert tapachula["where"] == "Tapachula" and tapachula["sim_median"] == 31 * 2
    assert only(result, breakdown="", series="comar_asylum_applications")["sim_median"] == 10 * 10
    assert only(result, breakdown="nationality=Guatemala")["sim_median"] == 10 * (2 + 5)
    assert only(result, series="occupancy_inm_station")["where"] == "Reynosa"
    reasons = " ".join(result.skipped["reason"])
    assert "no simulated place in state Oaxaca" in reasons  # a real state with no place in this run
    assert "'Atlantis' is not a simulated place" in reasons


def test_us_total_minus_mexico(tmp_path: Path) -> None:
    enc = per_cell({("Reynosa", "Guatemala"): 10, ("Reynosa", "Honduras"): 10})  # 20 a day
    res = hand_results(flows={"us_encounters": enc})
    result = compare(
        tmp_path,
        [
            row("usbp_sw_encounters", "US Southwest land border", "2019-01-01", "2019-01-31", 1000),
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                "2019-01-01",
                "2019-01-31",
                380,
                "citizenship=Mexico",
            ),
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                "2019-01-01",
                "2019-01-31",
                310,
                "citizenship=Honduras",
            ),
            row(
                "usbp_sw_encounters", "US Southwest land border", "2019-02-01", "2019-02-28", 999
            ),  # no MX row
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                "2019-01-01",
                "2019-01-31",
                5,
                "citizenship=Senegal",
            ),
        ],
        res,
    )
    total = only(result, breakdown="", period="2019-01-01..2019-01-31")
    assert total["observed"] == 1000 - 380 == 620
    assert total["sim_median"] == 31 * 20 and total["log_error"] == 0
    assert "minus citizenship=Mexico" in total["adjustment"]
    assert total["where"].startswith("US border")
    assert only(result, breakdown="citizenship=Honduras")["sim_median"] == 310
    skipped = result.skipped.set_index("breakdown")["reason"]
    assert "not simulated" in skipped["citizenship=Mexico"]
    assert "not simulated separately" in skipped["citizenship=Senegal"]
    feb = result.skipped[result.skipped["period_start"] == pd.Timestamp("2019-02-01")]
    assert "citizenship=Mexico" in feb["reason"].iloc[0] and "subtract" in feb["reason"].iloc[0]


def test_other_not_listed_and_code_groups(tmp_path: Path) -> None:
    enc = per_cell({("Reynosa", "Guatemala"): 1, ("Reynosa", "Honduras"): 2})
    res = hand_results(flows={"us_encounters": enc, "deportations": enc})
    result = compare(
        tmp_path,
        [
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                "2019-01-01",
                "2019-01-31",
                31,
                "citizenship=Other (not MX/GT/SV)",
            ),
            row(
                "mx_land_deportations_to_guatemala",
                "Mexico-Guatemala border",
                "2019-01-01",
                "2019-01-31",
                93,
                "nationality=GT+HN",
            ),
        ],
        res,
    )
    assert only(result, series="usbp_sw_encounters")["sim_median"] == 31 * 2  # Honduras only
    assert only(result, series="mx_land_deportations_to_guatemala")["sim_median"] == 31 * 3


def test_events_not_persons(tmp_path: Path) -> None:
    # 3 catches a day but only 1 admission to detention: UPM events compare with the catches.
    res = hand_results(
        flows={
            "interdictions": per_cell({("Tapachula", "Honduras"): 3}),
            "detentions": per_cell({("Tapachula", "Honduras"): 1}),
            "deportations": per_cell({("Tapachula", "Honduras"): 1}),
            "bused_south": per_cell({("Tapachula", "Honduras"): 7}),
        }
    )
    result = compare(
        tmp_path,
        [
            row("mx_irregular_events", "Mexico", "2019-01-01", "2019-01-31", 93),
            row("mx_returns", "Mexico", "2019-01-01", "2019-01-31", 31),
        ],
        res,
    )
    events = only(result, series="mx_irregular_events")
    assert events["metric"] == "interdictions" and events["sim_median"] == 93
    returns = only(result, series="mx_returns")
    assert returns["metric"] == "deportations" and returns["sim_median"] == 31  # busing south not added
    rules = {r.series: r for r in ev.load_mapping() if r.metric is not None and r.breakdown == ".*"}
    assert rules["mx_irregular_events"].counts == "events"
    usbp = [r for r in ev.load_mapping() if r.series == "usbp_sw_encounters" and r.metric]
    assert {r.metric for r in usbp} == {"us_encounters"} and {r.counts for r in usbp} == {"events"}


def test_minimum_count_is_one_sided(tmp_path: Path) -> None:
    def deaths(per_day: int) -> Results:
        return hand_results(flows={"deaths": per_cell({("Reynosa", "Guatemala"): per_day})})

    rows = [row("migrant_deaths_disappearances", "US-Mexico border", "2019-01-01", "2019-01-31", 62)]
    above = only(compare(tmp_path, rows, deaths(3)), series="migrant_deaths_disappearances")
    assert above["observation"] == "minimum"
    assert above["sim_median"] == 93 and above["log_ratio"] == pytest.approx(math.log(93 / 62))
    assert above["log_error"] == 0 and above["inside"]  # more than the minimum: consistent
    below = only(compare(tmp_path, rows, deaths(1)), series="migrant_deaths_disappearances")
    assert below["log_error"] == pytest.approx(math.log(2)) and not below["inside"]
    # the same values as an ordinary two-sided count
    count_rows = [row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 62)]
    res = hand_results(flows={"deportations": per_cell({("Reynosa", "Guatemala"): 3})})
    two_sided = only(compare(tmp_path, count_rows, res), series="mx_deportations")
    assert two_sided["log_error"] == pytest.approx(math.log(93 / 62)) and not two_sided["inside"]


def test_interval_and_horizon(tmp_path: Path) -> None:
    runs = [
        hand_results(flows={"deportations": per_cell({("Tapachula", "Guatemala"): k})}) for k in (1, 2, 3)
    ]
    rows = [
        row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 62),
        row("mx_deportations", "Mexico", "2018-12-01", "2019-01-31", 62),  # starts before the run
        row("mx_deportations", "Mexico", "2019-02-01", "2019-03-31", 62),  # ends after it
    ]
    result = compare(tmp_path, rows, *runs)
    r = only(result, series="mx_deportations")
    assert (r["sim_q05"], r["sim_median"], r["sim_q95"]) == pytest.approx((31 * 1.1, 62, 31 * 2.9))
    assert r["inside"] and result.simulated.shape == (1, 3)
    assert list(result.skipped["reason"].str.contains("outside the simulated horizon")) == [True, True]


# ---------------------------------------------------------------------------- validate
def test_validate_on_known_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    res = hand_results(
        flows={
            "us_encounters": rng.integers(0, 9, (DAYS, 3, 2)),
            "interdictions": rng.integers(0, 9, (DAYS, 3, 2)),
        },
        stocks={"metering_waitlist": rng.integers(0, 50, (DAYS, 3, 2))},
        scale=3.0,
    )
    seeds: list[int] = []

    def fake_simulate(scenario: Any, *, seed: int = 0, **_: Any) -> Results:
        seeds.append(seed)
        return res

    monkeypatch.setattr(ev.validation, "simulate", fake_simulate)
    rows = []
    for month_start, month_end in (("2019-01-01", "2019-01-31"), ("2019-02-01", "2019-02-28")):
        enc = ev.aggregate(res, "us_encounters", "sum", month_start, month_end, places=["Reynosa"])
        rows.append(row("usbp_sw_encounters", "US Southwest land border", month_start, month_end, enc + 77))
        rows.append(
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                month_start,
                month_end,
                77,
                "citizenship=Mexico",
            )
        )
        hn = ev.aggregate(
            res,
            "us_encounters",
            "sum",
            month_start,
            month_end,
            places=["Reynosa"],
            nationalities=["Honduras"],
        )
        rows.append(
            row(
                "usbp_sw_encounters",
                "US Southwest land border",
                month_start,
                month_end,
                hn,
                "citizenship=Honduras",
            )
        )
        chis = ev.aggregate(
            res, "interdictions", "sum", month_start, month_end, places=["Tapachula", "Huixtla"]
        )
        rows.append(
            row("mx_irregular_events", "Mexico - Chiapas", month_start, month_end, chis, "state=Chiapas")
        )
        wait = ev.aggregate(res, "metering_waitlist", "mean", month_start, month_end, places=["Reynosa"])
        rows.append(
            row(
                "metering_waitlist",
                "US Southwest land border (Mexican border cities)",
                month_start,
                month_end,
                wait,
                "all cities",
            )
        )
    observed = write_csv(tmp_path / "own.csv", rows)
    result = ev.validate(SHIPPED_SCENARIO, runs=3, observed=[observed], agents=1000)
    assert seeds == [0, 1, 2]
    assert len(result.table) == 8 and result.simulated.shape == (8, 3)
    assert np.allclose(result.table["log_error"], 0) and result.table["inside"].all()
    overall = result.summary()["overall"]
    assert overall == {"observations": 8, "median_abs_log_error": 0.0, "share_inside_90": 1.0}
    assert set(result.per_series().index) == {
        "usbp_sw_encounters",
        "mx_irregular_events",
        "metering_waitlist",
    }
    paths = result.write(tmp_path / "out")
    assert json.loads(paths["json"].read_text())["overall"]["share_inside_90"] == 1.0
    html = paths["html"].read_text()
    assert html.count("window.PlotlyConfig") == 1 and "usbp_sw_encounters" in html
    assert len(pd.read_csv(paths["csv"])) == 8


def test_real_run_against_its_own_output(tmp_path: Path, base_results: Results) -> None:
    """A real (small) run compared with observed rows made from its own output: no error."""
    res = base_results
    d0, d1 = res.dates[5], res.dates[34]
    span = (f"{d0:%Y-%m-%d}", f"{d1:%Y-%m-%d}")
    rows = [
        row("mx_irregular_events", "Mexico", *span, ev.aggregate(res, "interdictions", "sum", d0, d1)),
        row("mx_returns", "Mexico", *span, ev.aggregate(res, "deportations", "sum", d0, d1)),
        row(
            "mpp_returns_to_mexico",
            "Mexico northern border",
            *span,
            ev.aggregate(res, "mpp_returns", "sum", d0, d1) or 0,
        ),
    ]
    result = compare(tmp_path, rows, res)
    assert len(result.table) == 3
    assert np.allclose(result.table["log_error"], 0) and result.table["inside"].all()


def test_cli_validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = hand_results(flows={"deportations": per_cell({("Tapachula", "Guatemala"): 2})})
    monkeypatch.setattr(ev.validation, "simulate", lambda *a, **k: res)
    observed = write_csv(
        tmp_path / "o.csv", [row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 62)]
    )
    out = tmp_path / "val"
    result = CliRunner().invoke(
        app,
        ["validate", str(SHIPPED_SCENARIO), "--observed", str(observed), "--runs", "2", "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "mx_deportations" in text and "Overall: 1 observations" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "validation.csv",
        "validation.html",
        "validation.json",
        "validation_skipped.csv",
    ]
    bad = write_csv(
        tmp_path / "bad.csv", [row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", "lots")]
    )
    failed = CliRunner().invoke(app, ["validate", str(SHIPPED_SCENARIO), "--observed", str(bad)])
    assert failed.exit_code == 2 and "bad.csv line 2, column 'value'" in " ".join(failed.output.split())


# ----------------------------------------------------------------------------- loading
def test_shipped_files_load() -> None:
    obs = ev.load_observed()
    assert list(obs.columns) == list(ev.COLUMNS)
    assert set(obs["file"]) == {"observed.csv", "reported_in_press.csv", "gdidata.csv"}
    assert (obs["source"].str.len() > 0).all()
    mapped = obs[obs["statistic"] != ""]
    assert {"usbp_sw_encounters", "mx_irregular_events", "comar_asylum_applications"} <= set(mapped["series"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": "12k"}, r"bad\.csv line 3, column 'value': '12k' is not a number"),
        ({"period_end": "2019/02/01"}, r"bad\.csv line 3, column 'period_end': '2019/02/01' is not a date"),
        ({"period_end": "2018-12-01"}, r"bad\.csv line 3, column 'period_end': 2018-12-01 is before"),
        ({"period_start": ""}, r"bad\.csv line 3, column 'period_start': give both period dates"),
        ({"source_title": ""}, r"bad\.csv line 3, column 'source_title': no source"),
        ({"series": ""}, r"bad\.csv line 3, column 'series': empty"),
        ({"geography": ""}, r"bad\.csv line 3, column 'geography': empty; expected a name"),
        ({"unit": ""}, r"bad\.csv line 3, column 'unit': empty; expected a name"),
        ({"value": ""}, r"bad\.csv line 3, column 'value': empty; expected a number"),
        ({"value": "unknown"}, r"bad\.csv line 3, column 'value': 'unknown' is not a number; expected"),
        ({"value": "1,234"}, r"column 'value': '1,234' is not a number; expected .*without thousands"),
        ({"value": "-5"}, r"bad\.csv line 3, column 'value': '-5' is negative; expected a count"),
        ({"value": "nan"}, r"bad\.csv line 3, column 'value': 'nan' is not a finite number"),
        ({"value": "-Infinity"}, r"bad\.csv line 3, column 'value': '-Infinity' is not a finite number"),
        ({"value": "1e400"}, r"bad\.csv line 3, column 'value': '1e400' is out of range"),
        ({"period_end": "2019-02-30"}, r"column 'period_end': '2019-02-30' is not a calendar date"),
        ({"period_end": "20190201"}, r"column 'period_end': '20190201' is not a date; expected YYYY-MM-DD"),
        ({"period_start": "0001-01-01"}, r"column 'period_start': 0001-01-01 is out of range"),
        ({"geography": "Mex\nico"}, r"bad\.csv line 3, column 'geography': 'Mex\\nico' has a line break"),
    ],
)
def test_loading_errors_name_file_line_column(tmp_path: Path, change: dict[str, str], message: str) -> None:
    good = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 5)
    path = write_csv(tmp_path / "bad.csv", [good, {**good, **change}])
    with pytest.raises(ev.EvidenceError, match=message):
        ev.load_observed([path])


def test_loading_errors_for_columns_and_files(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "cols.csv", [], header=["series", "geography", "period_start", "value", "source_url"]
    )
    with pytest.raises(ev.EvidenceError, match=r"cols\.csv line 1: missing column\(s\) 'period_end', 'unit'"):
        ev.load_observed([path])
    path = write_csv(tmp_path / "nosrc.csv", [], header=HEADER[:-1])
    with pytest.raises(ev.EvidenceError, match=r"nosrc\.csv line 1: needs a 'source_title' or 'source_url'"):
        ev.load_observed([path])
    with pytest.raises(ev.EvidenceError, match=r"missing\.csv: no such file"):
        ev.load_observed([tmp_path / "missing.csv"])


def one_line_error(path: Path | list[Path], **kwargs: Any) -> str:
    """The EvidenceError message of loading ``path``: one line (any other exception fails)."""
    with pytest.raises(ev.EvidenceError) as info:
        ev.load_observed(path if isinstance(path, list) else [path], **kwargs)
    message = str(info.value)
    assert "\n" not in message and "expected" in message, message
    return message


def test_negative_values_rejected_except_relative_changes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "neg.csv", [row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", -5)])
    assert one_line_error(path) == (
        f"{path} line 2, column 'value': '-5' is negative; expected a count of zero or more (only "
        "relative changes, unit 'fraction' or a rule with statistic 'change', may be negative)"
    )
    change = row(
        "us_crossings_change", "US-Mexico border", "2019-05-01", "2019-08-31", -0.8, "nationality=Cuba"
    )
    assert ev.load_observed([write_csv(tmp_path / "c.csv", [change])])["value"].tolist() == [-0.8]
    fraction = {**row("inm_budget_change", "Mexico", "2019-01-01", "2019-12-31", -0.23), "unit": "fraction"}
    assert ev.load_observed([write_csv(tmp_path / "f.csv", [fraction])])["value"].tolist() == [-0.23]
    path = write_csv(tmp_path / "fall.csv", [{**change, "value": "-1.5"}])
    assert "'-1.5' is below -1 (a fall of more than 100%)" in one_line_error(path)
    assert ev.load_observed([write_csv(tmp_path / "z.csv", [{**fraction, "value": "-0"}])])["value"][0] == 0


def test_duplicates_and_contradictions_name_both_lines(tmp_path: Path) -> None:
    a = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 5)
    b = row("mx_deportations", "Mexico", "2019-02-01", "2019-02-28", 7)
    path = write_csv(tmp_path / "dup.csv", [a, b, a])
    assert one_line_error(path) == (
        f"{path} line 4: duplicate of line 2: same series, geography, breakdown, period and source; "
        "expected each observation once"
    )
    path = write_csv(tmp_path / "contra.csv", [a, b, {**a, "value": "6"}])
    assert one_line_error(path).startswith(
        f"{path} line 4, column 'value': contradicts line 2 (value 6 vs 5): same series"
    )
    # spelt differently, the same observation: case, accents, spacing, breakdown order
    c = row("usbp_sw_encounters", "México", "2019-01-01", "2019-01-31", 5, "citizenship=Honduras; age=adult")
    d = {**c, "geography": " mexico ", "breakdown": "age = adult;citizenship=Honduras", "value": "5.0"}
    assert "line 3: duplicate of line 2" in one_line_error(write_csv(tmp_path / "spelt.csv", [c, d]))
    # across files; every problem counted, the first three shown
    other = write_csv(tmp_path / "other.csv", [b, a])
    message = one_line_error([write_csv(tmp_path / "first.csv", [a, b]), other])
    assert message.startswith(f"{other} line 2: duplicate of {tmp_path / 'first.csv'} line 3; {other} line 3")
    rows = [row("mx_deportations", "Mexico", f"2019-{m:02d}-01", f"2019-{m:02d}-28", m) for m in range(1, 7)]
    assert "(and 2 more)" in one_line_error(write_csv(tmp_path / "many.csv", rows + rows[:5]))
    # another source, breakdown, unit-less difference of period: other observations
    e = {**a, "source_title": "another release", "value": "6"}
    f = {**a, "breakdown": "citizenship=Honduras"}
    g = {**a, "period_end": "2019-01-30"}
    assert len(ev.load_observed([write_csv(tmp_path / "ok.csv", [a, e, f, g])])) == 4


def test_shipped_releases_that_disagree_are_kept_as_rows_of_their_sources() -> None:
    obs = ev.load_observed(include_held_out=True)
    key = ["series", "geography", "breakdown", "period_start", "period_end"]
    pairs = obs[obs.duplicated(key, keep=False)]
    # the shipped data hold a few such pairs (revised releases), each of two sources: 12 rows
    # within observed.csv, and 19 gdidata.csv rows for which observed.csv has another value
    assert 0 < len(pairs) <= 60
    assert (pairs.groupby(key, dropna=False)["source"].nunique() == 2).all()
    darien = obs[
        (obs["series"] == "darien_crossings")
        & (obs["period_start"] == "2020-01-01")
        & (obs["period_end"] == "2020-12-31")  # the two annual counts (gdidata.csv's are monthly)
    ]
    assert sorted(darien["value"]) == [6465, 8594]
    assert not obs.duplicated([*key, "source"]).any()


def test_latin1_file_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = row("mx_deportations", "México", "2019-01-01", "2019-01-31", 5)
    path = tmp_path / "latin1.csv"
    write_csv(path, [good])
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    expected = (
        f"{path} line 2, byte 18: byte e9 is not valid UTF-8 (invalid continuation byte) ('é' in "
        "Latin-1/Windows-1252: save the file as UTF-8); expected UTF-8 text"
    )
    assert one_line_error(path) == expected

    def no_simulation(*args: Any, **kwargs: Any) -> Results:
        raise AssertionError("simulated before reading the observed data")

    monkeypatch.setattr(ev.validation, "simulate", no_simulation)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, ["validate", str(SHIPPED_SCENARIO), "--observed", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert " ".join(result.output.split()) == " ".join(f"error: {expected}".split())
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize(
    ("encode", "message"),
    [
        (lambda t: t.encode("utf-16"), r"line 1, byte 1: the file is UTF-16 \(little-endian\) text"),
        (lambda t: t.encode("utf-16-be"), r"line 1, byte 1: a NUL byte \(is the file UTF-16 text without a"),
        (lambda t: t.encode("utf-32"), r"the file is UTF-32 \(little-endian\) text"),
        (lambda t: gzip.compress(t.encode()), r"line 1, byte 1: the file is gzip-compressed .*bytes 1f 8b"),
        (lambda t: b"\xef\xbb\xbf" + t.encode(), None),  # a UTF-8 byte-order mark is fine
        (lambda t: bytes(range(256)) * 4, r"line 1, byte 1: a NUL byte \(is the file binary\?\)"),
        (lambda t: t.replace("Mexico", "Mex\x07ico").encode(), r"line 2, byte 20: control character U\+0007"),
        (lambda t: t.encode()[:-20] + b"\xe2\x82", r"line 2, byte \d+: byte e2 82 is not valid UTF-8"),
    ],
)
def test_encodings_and_binary_files(tmp_path: Path, encode: Any, message: str | None) -> None:
    good = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 5)
    text = write_csv(tmp_path / "text.csv", [good]).read_text(encoding="utf-8")
    path = tmp_path / "other.csv"
    path.write_bytes(encode(text))
    if message is None:
        assert len(ev.load_observed([path])) == 1
        return
    error = one_line_error(path)
    assert error.startswith(str(path)) and re.search(message, error), error


def test_csv_structure_errors(tmp_path: Path) -> None:
    good = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 5)
    text = write_csv(tmp_path / "t.csv", [good]).read_text()
    cases = {
        text + "mx_deportations,Mexico,2019-0": r"line 3: 3 fields where the header \(line 1\) has 8 columns "
        r"\(a truncated line\?\); expected 8 fields",
        text + text.splitlines()[1] + ",extra\n": r"line 3: 9 fields where the header \(line 1\) has 8",
        text
        + 'mx_deportations,"Mexico,2019-02-01\nx\n': r"lines 3-4: unexpected end of data \(a double quote",
        text.replace("unit,", "unit,unit,", 1): r"line 1: column\(s\) 'unit' given twice",
        "": r"line 1: the file is empty; expected a header line",
        "\n \n": r"line 1: the file is empty",
        text + ",,,,,,,\n\n": None,  # blank lines are skipped
    }
    for i, (content, message) in enumerate(cases.items()):
        path = tmp_path / f"s{i}.csv"
        path.write_text(content, encoding="utf-8")
        if message is None:
            assert len(ev.load_observed([path])) == 1
        else:
            assert re.search(message, one_line_error(path)), (content, one_line_error(path))


def test_only_regular_files_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert one_line_error(folder) == (
        f"{folder}: is a folder; only regular files are read, expected an observed CSV file"
    )
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    messages: list[str] = []
    reader = threading.Thread(target=lambda: messages.append(one_line_error(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    assert messages == [
        f"{fifo}: is a named pipe (FIFO); only regular files are read, expected an observed CSV file"
    ]
    if Path("/dev/zero").exists():
        assert "/dev/zero: is a character device; only regular files" in one_line_error(Path("/dev/zero"))
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(obs.mapping.MAX_FILE_BYTES + 1)  # sparse: nothing is read
    assert one_line_error(huge) == (
        f"{huge}: is larger than 100 MB; refused unread, expected an observed CSV file of at most that size"
    )
    small = write_csv(
        tmp_path / "small.csv", [row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", 5)]
    )
    monkeypatch.setattr(obs.mapping, "MAX_FILE_BYTES", 40)
    assert "is larger than" in one_line_error(small)
    monkeypatch.undo()
    assert "no such file; expected an observed CSV file" in one_line_error(tmp_path / "missing.csv")
    message = one_line_error([small, tmp_path / "." / "small.csv"])
    assert message == f"{tmp_path / 'small.csv'}: given twice (files 1 and 2); expected each file once"
    assert len(ev.load_observed(small)) == 1  # one path, not an iterable of paths


def test_mapping_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_bytes("- {series: a, skip: café}\n".encode("latin-1"))
    with pytest.raises(ev.EvidenceError, match=r"m\.yaml line 1, byte 24: byte e9 is not valid UTF-8"):
        ev.load_mapping(bad)
    bad.write_text("- {series: a, skip: [x}\n")
    with pytest.raises(ev.EvidenceError) as info:
        ev.load_mapping(bad)
    assert "\n" not in str(info.value) and "line 1" in str(info.value)


def test_cli_error_is_one_plain_line(tmp_path: Path) -> None:
    bad = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", "[/x] [bold]")
    path = write_csv(tmp_path / ("long-name-" * 6 + ".csv"), [bad])
    message = one_line_error(path)
    result = CliRunner().invoke(app, ["validate", str(SHIPPED_SCENARIO), "--observed", str(path)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert result.output == f"error: {message}\n"


def test_cli_error_keeps_emoji_codes(tmp_path: Path) -> None:
    bad = row("mx_deportations", "Mexico", "2019-01-01", "2019-01-31", ":smile:")
    path = write_csv(tmp_path / "emoji.csv", [bad])
    message = one_line_error(path)
    result = CliRunner().invoke(app, ["validate", str(SHIPPED_SCENARIO), "--observed", str(path)])
    assert result.output == f"error: {message}\n"


def test_mapping_errors_name_the_rule(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("- {series: a, metric: detained, statistic: sum}\n")
    with pytest.raises(ev.EvidenceError, match=r"rule 1 \(series 'a'\).*stock: statistic must be end, mean"):
        ev.load_mapping(bad)
    bad.write_text("- {series: a, skip: x}\n- {series: b, metric: nonsense, statistic: sum}\n")
    with pytest.raises(ev.EvidenceError, match=r"rule 2 .*unknown metric 'nonsense'"):
        ev.load_mapping(bad)


def test_mapping_is_documented() -> None:
    doc = (REPO / "docs" / "evidence.md").read_text()
    for rule in ev.load_mapping():
        for name in re.findall(r"[a-z_]{4,}", rule.series):
            if name.endswith("_"):
                continue
            assert name in doc, f"series {name} of the mapping is not in docs/evidence.md"


# --------------------------------------------------------------------------- held out
def test_held_out_filter(tmp_path: Path) -> None:
    rows = [
        row("usbp_sw_encounters", "US Southwest land border", "2023-11-01", "2023-11-30", 1),
        row("usbp_sw_encounters", "US Southwest land border", "2023-12-01", "2023-12-31", 2),
        row("mx_irregular_events", "Mexico", "2023-06-01", "2024-01-31", 3),
        row("comar_asylum_applications", "Mexico", "2024-01-01", "2024-01-31", 4),
        row("migrant_deaths_disappearances", "US-Mexico border", "2024-01-01", "2024-06-30", 5),
        row("occupancy_inm_station", "Tapachula", "2023-12-01", "2023-12-01", 6),
        row("mx_returns", "Mexico", "2024-02-01", "2024-02-29", 7),
        row("darien_crossings", "Panama - Darien Gap", "2024-01-01", "2024-01-31", 8),  # an input: kept
        row("cbp_one_appointments_per_day", "US ports", "2024-03-01", "2024-03-31", 9),  # an input: kept
    ]
    path = write_csv(tmp_path / "h.csv", rows)
    kept = ev.load_observed([path])
    assert sorted(kept["value"]) == [1, 8, 9]
    assert kept.attrs["held_out_rows"] == 6
    everything = ev.load_observed([path], include_held_out=True)
    assert len(everything) == 9 and everything.attrs["held_out_rows"] == 0
    later = ev.load_observed([path], held_out_from="2024-02-01")
    assert sorted(later["value"]) == [1, 2, 3, 4, 6, 8, 9]


def test_held_out_covers_series_the_mapping_compares(tmp_path: Path) -> None:
    mapping = [
        *ev.load_mapping(),
        ev.Rule(series="my_outcome", breakdown=".*", metric="detained", statistic="mean"),
    ]
    path = write_csv(tmp_path / "u.csv", [row("my_outcome", "Tapachula", "2024-01-01", "2024-01-31", 1)])
    assert len(ev.load_observed([path], mapping=mapping)) == 0
    assert len(ev.load_observed([path])) == 1  # unmapped, not a listed outcome: kept


def test_shipped_data_filtered_by_default() -> None:
    obs = ev.load_observed()
    assert not ev.held_out_mask(obs).any()
    held = obs["series"].isin(ev.HELD_OUT_SERIES)
    assert not (held & (obs["period_end"] >= ev.HELD_OUT_FROM)).any()


def test_validate_keeps_held_out_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    res = hand_results(flows={"deportations": per_cell({("Tapachula", "Guatemala"): 2})})
    shifted = Results(**{**res.__dict__, "dates": pd.date_range("2023-11-01", periods=DAYS, freq="D")})
    monkeypatch.setattr(ev.validation, "simulate", lambda *a, **k: shifted)
    rows = [
        row("mx_deportations", "Mexico", "2023-11-01", "2023-11-30", 60),
        row("mx_deportations", "Mexico", "2023-12-01", "2023-12-31", 62),
    ]
    observed = write_csv(tmp_path / "o.csv", rows)
    result = ev.validate(SHIPPED_SCENARIO, runs=1, observed=[observed])
    assert list(result.table["period"]) == ["2023-11-01..2023-11-30"]
    assert result.summary()["held_out_rows"] == 1
