"""The HXL export: a header row, a row of HXL hashtags, then months x places that add up."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import OutputError
from corridor.hdx import HXL_COLUMNS, HXL_NAME, write_hxl

#: An HXL hashtag with attributes (hxlstandard.org): #tag+attribute+attribute.
HASHTAG = re.compile(r"^#[a-z][a-z0-9_]*(\+[a-z][a-z0-9_]*)*$")


@pytest.fixture(scope="module")
def export(base_results: corridor.Results, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = corridor.write_run(base_results, tmp_path_factory.mktemp("hxl") / "run")
    result = CliRunner().invoke(app, ["export-hxl", str(run)])
    assert result.exit_code == 0, result.output
    return run / HXL_NAME


def test_second_row_is_hxl_hashtags_matching_the_columns(export: Path) -> None:
    with export.open(encoding="utf-8") as fh:
        header, tags, first = next(csv.reader(fh)), next(csv.reader(fh)), next(csv.reader(fh))
    assert header == [c for c, _, _ in HXL_COLUMNS] and len(tags) == len(header) == len(first)
    assert all(HASHTAG.match(t) for t in tags), tags
    expected = {
        "month": "#date",
        "state": "#adm1+name",
        "place": "#loc+name",
        "lat": "#geo+lat",
        "lon": "#geo+lon",
        "stranded": "#affected+stranded",
        "detained": "#affected+detained",
        "deaths": "#affected+dead",
    }
    assert {h: t for h, t in zip(header, tags, strict=True) if h in expected} == expected
    assert re.match(r"^\d{4}-\d{2}$", first[0])


def test_rows_add_up_to_the_run(
    export: Path, base_results: corridor.Results, network: corridor.Network
) -> None:
    table = pd.read_csv(export, skiprows=[1])
    months = base_results.dates.to_period("M").unique()
    assert len(table) == len(months) * len(network.place_names)
    assert not table.duplicated(["month", "place"]).any()
    # Flows: month totals add up to the horizon's total (rounded per cell to whole persons).
    for column in ("arrivals", "interdictions", "deaths"):
        total = base_results.total(column).sum()
        assert table[column].sum() == pytest.approx(total, abs=len(table))
    # Stocks: the month's last simulated day, at each place.
    stranded = base_results.stock("stranded").sum(axis=2)
    for month in months:
        last = int(np.flatnonzero(base_results.dates.to_period("M") == month)[-1])
        rows = table[table["month"] == str(month)].set_index("place")["stranded"]
        expected = pd.Series(np.rint(stranded[last]), index=base_results.places)
        assert (rows.reindex(expected.index) == expected).all()
    tapachula = table[table["place"] == "Tapachula"].iloc[0]
    assert tapachula["state"] == "Chiapas" and tapachula["lat"] == pytest.approx(14.9054, abs=0.01)


def test_export_replaces_only_its_own_file(export: Path, tmp_path: Path) -> None:
    from corridor.runner.single import RUN_OUTPUTS

    assert HXL_NAME in RUN_OUTPUTS  # the run folder stays corridor's after an export
    write_hxl(export.parent)  # an earlier export: replaced
    mine = tmp_path / "mine.csv"
    mine.write_text("my,own\n1,2\n")
    with pytest.raises(OutputError, match="not a corridor output"):
        write_hxl(export.parent, mine)
    assert mine.read_text() == "my,own\n1,2\n"
    bad = CliRunner().invoke(app, ["export-hxl", str(tmp_path)])
    assert bad.exit_code == 2 and "run.json" in bad.output
