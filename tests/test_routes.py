"""People and deaths by route and travel mode: they add up to the tidy table's flows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import corridor
from corridor.geography import TRAVEL_MODES


def test_routes_add_up_to_the_flows_by_mode(shipped_run: dict[str, Any]) -> None:
    results = shipped_run["results"]
    routes = results.routes()
    assert list(routes.columns) == [
        "route", "from", "to", "route_mode", "travel_mode", "trips", "deaths", "deaths_per_1000_trips",
    ]  # fmt: skip
    by_mode = routes.groupby("travel_mode")[["trips", "deaths"]].sum()
    for mode in TRAVEL_MODES:
        trips = by_mode["trips"].get(mode, 0.0)
        assert trips == pytest.approx(results.total(f"trips_{mode}").sum()), mode
        assert by_mode["deaths"].get(mode, 0.0) == pytest.approx(results.total(f"deaths_{mode}").sum()), mode
    # Every death but those crossing into the US between ports is on a route.
    on_routes = routes["deaths"].sum() + results.total("deaths_river").sum()
    assert on_routes == pytest.approx(results.total("deaths").sum())
    assert (routes["trips"] > 0).any() and set(routes["route_mode"]) <= {"road", "rail", "sea", "trek"}
    # Roads are walked or taken by bus; the other routes keep their own mode.
    assert set(routes.loc[routes["route_mode"] == "road", "travel_mode"]) <= {"foot", "bus"}
    assert (routes.loc[routes["route_mode"] == "rail", "travel_mode"] == "rail").all()


def test_a_period_and_the_run_folder(shipped_run: dict[str, Any], tmp_path: Path) -> None:
    results = shipped_run["results"]
    june = results.routes("2019-06-01", "2019-06-30")
    days = (results.dates >= "2019-06-01") & (results.dates <= "2019-06-30")
    assert june["trips"].sum() == pytest.approx(
        sum(results.total(f"trips_{m}")[days].sum() for m in TRAVEL_MODES)
    )
    written = pd.read_csv(corridor.write_run(results, tmp_path / "run") / "routes.csv")
    assert written["trips"].sum() == pytest.approx(results.routes()["trips"].sum(), rel=1e-5)
