"""The README's queries of daily.parquet are right: flows summed, stocks never summed over days.

The SQL and pandas examples are taken from README.md as written, pointed at a run written
by :func:`corridor.write_run`, and their numbers checked against :class:`corridor.Results`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.metrics import KINDS, metric_kind, metric_table

duckdb = pytest.importorskip("duckdb")

README = Path(__file__).resolve().parents[1] / "README.md"
SHOWN_PATH = "runs/mexico-2019/daily.parquet"


def _blocks(language: str) -> list[str]:
    """Fenced code blocks of README.md in ``language`` that read the shown daily.parquet."""
    text = README.read_text()
    return [b for b in re.findall(rf"```{language}\n(.*?)```", text, flags=re.S) if SHOWN_PATH in b]


@pytest.fixture(scope="module")
def run_dir(base_results: corridor.Results, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corridor.write_run(base_results, tmp_path_factory.mktemp("readme") / "run")


def _queries(run_dir: Path) -> list[str]:
    (block,) = _blocks("sql")
    sql = block.replace(SHOWN_PATH, str(run_dir / "daily.parquet"))
    return [q for q in sql.split(";") if "SELECT" in q]


def test_the_run_ships_a_table_of_metric_kinds(run_dir: Path, base_results: corridor.Results) -> None:
    table = pd.read_csv(run_dir / "metrics.csv")
    assert list(table.columns) == ["metric", "kind", "unit", "description"]
    assert table["metric"].tolist() == base_results.metric_names()
    assert set(table["kind"]) == set(KINDS)
    assert table["description"].notna().all() and table["description"].str.len().min() > 10
    kinds = dict(zip(table["metric"], table["kind"], strict=True))
    assert kinds["present"] == "stock" and kinds["arrivals"] == "flow"
    assert kinds["detention_capacity"] == "capacity"
    assert kinds["detention_overcrowding"] == "ratio" and kinds["asylum_wait_days"] == "mean"
    # Every row of the tidy table carries the kind of its metric.
    daily = pd.read_parquet(run_dir / "daily.parquet")
    assert (daily["kind"].astype(str) == daily["metric"].astype(str).map(kinds)).all()
    assert metric_table().equals(table.fillna(""))


def test_readme_sql_sums_flows_and_takes_stocks_on_one_day(
    run_dir: Path, base_results: corridor.Results
) -> None:
    flows_q, stocks_q, month_end_q = _queries(run_dir)
    flows = duckdb.sql(flows_q).df().set_index("metric")["persons"]
    assert set(flows.index) == {m for m in base_results.metric_names() if metric_kind(m) == "flow"}
    for name, value in flows.items():
        assert value == pytest.approx(base_results.total(name).sum(), abs=1e-6), name
    assert flows["arrivals"] > 0

    peaks = duckdb.sql(stocks_q).df().set_index("metric")["peak"]
    assert "present" in peaks.index and "detention_capacity" not in peaks.index
    for name, value in peaks.items():
        assert value == pytest.approx(base_results.total(name).max(), abs=1e-6), name
    # The wrong answer, the sum over days of a stock, is far larger: not what is computed.
    present = base_results.total("present")
    assert peaks["present"] < present.sum() / 5
    assert peaks["present"] <= flows["arrivals"]

    stranded = duckdb.sql(month_end_q).df()
    ends = [i for i, d in enumerate(base_results.dates) if d.is_month_end]
    assert ends, "the test scenario covers a month's end"
    expected = base_results.stock("stranded").sum(axis=2)
    for _, row in stranded.iterrows():
        day = base_results.dates.get_loc(pd.Timestamp(row["date"]))
        assert day in ends
        place = base_results.places.index(row["place"])
        assert row["stranded"] == pytest.approx(expected[day, place])
    shown = {(pd.Timestamp(d), p) for d, p in zip(stranded["date"], stranded["place"], strict=True)}
    for day in ends:
        for place in np.flatnonzero(expected[day]):
            assert (base_results.dates[day], base_results.places[place]) in shown


def test_readme_pandas_example_agrees(run_dir: Path, base_results: corridor.Results) -> None:
    (block,) = _blocks("python")
    scope: dict[str, object] = {}
    exec(block.replace(SHOWN_PATH, str(run_dir / "daily.parquet")), scope)
    flows, peaks = scope["flows"], scope["peaks"]
    assert isinstance(flows, pd.Series) and isinstance(peaks, pd.Series)
    assert flows["deaths"] == pytest.approx(base_results.total("deaths").sum())
    assert peaks["detained"] == pytest.approx(base_results.total("detained").max())
    assert "present" not in flows.index


def test_metrics_zero_all_run_long_are_present(base_results: corridor.Results) -> None:
    frame = base_results.to_frame()
    assert set(frame["metric"].astype(str)) == set(base_results.metric_names())
    for name in base_results.metric_names():
        if np.nansum(np.abs(base_results.values(name))) == 0:
            rows = frame[frame["metric"] == name]
            assert len(rows) == len(base_results.dates), name
            assert (rows["value"] == 0).all() and rows["place"].isna().all()
            assert (rows["nationality"] == "all").all()
