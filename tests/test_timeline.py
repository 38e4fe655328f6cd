"""Compiling a scenario against the network: arrivals, policy segments, events, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.errors import ScenarioError
from corridor.geography import TRAVEL_MODES
from corridor.scenario import load_scenario
from corridor.scenario.loading import validate_data
from corridor.timeline import day_index

from .conftest import N_DAYS, RATES, links_of, set_path, uniform_detention_capacity, write_yaml


def compile_data(data: dict[str, Any], network: corridor.Network) -> corridor.Timeline:
    return corridor.compile_timeline(validate_data(data), network)


def compile_error(data: dict[str, Any], network: corridor.Network) -> dict[str, tuple[int | None, str]]:
    with pytest.raises(ScenarioError) as info:
        compile_data(data, network)
    return {path: (line, msg) for path, line, msg in info.value.problems}


# --------------------------------------------------------------------------- arrivals


def test_constant_inflows_split_over_entry_places(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    t = compile_data(scenario_data, network)
    assert t.n_days == N_DAYS
    assert t.dates[0] == pd.Timestamp("2019-03-01") and t.dates[-1] == pd.Timestamp("2019-04-09")
    assert t.nationalities == ["Honduras", "Guatemala", "Cuba"]
    assert t.arrivals_persons.shape == (N_DAYS, 3, network.n_places)
    per_day = t.arrivals_persons.sum(axis=2)
    np.testing.assert_allclose(
        per_day, np.tile([RATES["Honduras"], RATES["Guatemala"], RATES["Cuba"]], (N_DAYS, 1))
    )
    honduras = t.arrivals_persons[0, 0]
    assert honduras[network.place_id("Ciudad Tecun Uman")] == pytest.approx(0.7 * RATES["Honduras"])
    assert honduras[network.place_id("El Ceibo (GT side)")] == pytest.approx(0.3 * RATES["Honduras"])
    assert np.count_nonzero(honduras) == 2
    # Re-entries use the nationality's entry shares.
    cdf = t.entry_cdf[t.entry_month_of_day[0], 0]
    assert cdf[-1] == pytest.approx(1.0) and (np.diff(cdf) >= 0).all()


def test_reentry_places_read_only_the_arrivals_before_the_month() -> None:
    from corridor.timeline import REENTRY_WINDOW_DAYS, _entry_cdf

    dates = pd.date_range("2021-01-01", "2021-12-31")
    arrivals = np.zeros((dates.size, 1, 3))
    arrivals[:, 0, 0] = 10.0  # everyone at place 0 ...
    june = dates.get_loc(pd.Timestamp("2021-06-01"))
    arrivals[june:, 0, 0], arrivals[june:, 0, 2] = 0.0, 5.0  # ... until a route shifts to place 2 in June
    cdf, month_of_day = _entry_cdf(arrivals, dates)
    assert cdf.shape == (12, 1, 3) and month_of_day[june] == 5 and month_of_day[june - 1] == 4
    np.testing.assert_allclose(cdf[:6, 0], [[1.0, 1.0, 1.0]] * 6)  # January-June: place 0 only
    np.testing.assert_allclose(cdf[6, 0], [610 / 760, 610 / 760, 1.0])  # July: April-May at 0, June at 2
    assert REENTRY_WINDOW_DAYS <= 91 and cdf[9, 0, 0] == 0.0  # October: the window holds place 2 only
    changed = arrivals.copy()
    changed[dates.get_loc(pd.Timestamp("2021-09-15")) :, 0, 1] = 100.0  # a later change of routes ...
    np.testing.assert_array_equal(_entry_cdf(changed, dates)[0][:9], cdf[:9])  # ... leaves the months before


def test_entry_weights_are_normalised(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    scenario_data["inflows"][1]["entry"] = {"La Mesilla": 3, "Ciudad Tecun Uman": 1}
    t = compile_data(scenario_data, network)
    g = t.arrivals_persons[5, 1]
    assert g[network.place_id("La Mesilla")] == pytest.approx(150.0)
    assert g[network.place_id("Ciudad Tecun Uman")] == pytest.approx(50.0)


def test_inflow_multiplier_scales_arrivals(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    base = compile_data(scenario_data, network).arrivals_persons
    scenario_data["inflow_multiplier"] = 2.5
    np.testing.assert_allclose(compile_data(scenario_data, network).arrivals_persons, 2.5 * base)


def test_monthly_persons_spread_evenly_over_the_days_of_each_month(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    inflow = scenario_data["inflows"][2]
    del inflow["persons_per_day"]
    inflow["monthly_persons"] = {"2019-03": 3100, "2019-05": 999}
    t = compile_data(scenario_data, network)
    cuba = t.arrivals_persons[:, 2].sum(axis=1)
    march = t.dates.month == 3
    np.testing.assert_allclose(cuba[march], 100.0)
    np.testing.assert_allclose(cuba[~march], 0.0)  # April is not listed: no arrivals


def test_inflow_from_file_relative_to_the_scenario(
    tmp_path: Path, scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "flows.csv").write_text(
        "month,nationality,persons\n2019-03,Cuba,620\n2019-04,Cuba,300\n2019-04,Cuba,300\n2019-03,Haiti,9999\n"
    )
    inflow = scenario_data["inflows"][2]
    del inflow["persons_per_day"]
    inflow["file"] = "inputs/flows.csv"
    t = corridor.compile_timeline(load_scenario(write_yaml(tmp_path / "s.yaml", scenario_data)), network)
    cuba = t.arrivals_persons[:, 2].sum(axis=1)
    np.testing.assert_allclose(cuba[t.dates.month == 3], 20.0)
    np.testing.assert_allclose(cuba[t.dates.month == 4], 20.0)  # 600 over April's 30 days


def test_inflow_file_problems_name_the_inflow(
    tmp_path: Path, scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    inflow = scenario_data["inflows"][2]
    del inflow["persons_per_day"]
    inflow["file"] = "missing.csv"
    with pytest.raises(ScenarioError) as info:
        corridor.compile_timeline(load_scenario(write_yaml(tmp_path / "s.yaml", scenario_data)), network)
    assert info.value.problems[0][0] == "inflows.2.file"
    (tmp_path / "missing.csv").write_text("month,nationality,persons\n2019-03,Haiti,10\n")
    with pytest.raises(ScenarioError, match="no rows for nationality 'Cuba'"):
        corridor.compile_timeline(load_scenario(tmp_path / "s.yaml"), network)
    (tmp_path / "missing.csv").write_text("month,nationality,persons\n2019-03,Cuba,lots\n")
    with pytest.raises(ScenarioError, match="line 2"):
        corridor.compile_timeline(load_scenario(tmp_path / "s.yaml"), network)


# ------------------------------------------------------------------ names checked against the network


def test_unknown_entry_place(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    scenario_data["inflows"][1]["entry"] = {"La Mesila": 1.0}
    found = compile_error(scenario_data, network)
    assert "inflows.1.entry.La Mesila" in found
    assert "La Mesilla" in found["inflows.1.entry.La Mesila"][1]  # a suggestion


def test_unknown_nationality_in_deportation_share(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["policy"]["deportation_share"] = {"default": 0.5, "Hondura": 0.9}
    found = compile_error(scenario_data, network)
    assert "policy.deportation_share.Hondura" in found
    assert "Honduras" in found["policy.deportation_share.Hondura"][1]


def test_keyed_parameter_without_default_must_cover_every_nationality(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["policy"]["deportation_share"] = {"Honduras": 0.9, "Guatemala": 0.9}
    found = compile_error(scenario_data, network)
    assert "Cuba" in found["policy.deportation_share"][1]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (
            "policy.checkpoint_intensity",
            {"default": 1.0, "Chiapaz": 2.0},
            "policy.checkpoint_intensity.Chiapaz",
        ),
        ("policy.detention_capacity", {"Estacion Nowhere": 5}, "policy.detention_capacity.Estacion Nowhere"),
        ("policy.bus_south_places", {"Tapachul": 1}, "policy.bus_south_places.Tapachul"),
        ("policy.us_outcome_shares", {"Narnia": {"released": 1.0}}, "policy.us_outcome_shares.Narnia"),
        ("policy.us_outcome_shares", {"Cuba": {"released": 1.0}}, "policy.us_outcome_shares"),
        ("policy.us_outcome_shares", {"default": {"released": 0.0}}, "policy.us_outcome_shares.Honduras"),
        ("population.bus_access_share", {"Cubaa": 0.5, "default": 0.1}, "population.bus_access_share.Cubaa"),
        ("population.destination_weights", {"Tapachula": 1.0}, "population.destination_weights.Tapachula"),
        ("behaviour.reentry_probability", {"Cuba": 0.5}, "behaviour.reentry_probability"),
        ("behaviour.speed_km_per_day", {"foot": 25, "bus": 450}, "behaviour.speed_km_per_day"),
    ],
)
def test_names_are_checked_against_the_network_and_nationalities(
    scenario_data: dict[str, Any], network: corridor.Network, path: str, value: Any, where: str
) -> None:
    set_path(scenario_data, path, value)
    assert where in compile_error(scenario_data, network)


def test_closed_route_that_does_not_exist(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    scenario_data["policy"]["closed_routes"] = [{"from": "Ciudad Hidalgo", "to": "Tapachula", "mode": "rail"}]
    found = compile_error(scenario_data, network)
    assert "policy.closed_routes.0" in found
    assert "no route by rail" in found["policy.closed_routes.0"][1]
    scenario_data["policy"]["closed_routes"] = [{"from": "Ciudad Hidalgo", "to": "Tapachul"}]
    assert "policy.closed_routes.0.to" in compile_error(scenario_data, network)


# --------------------------------------------------------------------------- policy arrays


def test_checkpoint_hazard_and_raids_follow_the_documented_formula(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    t = compile_data(scenario_data, network)
    p = t.policy_on(0)
    per_100 = scenario_data["policy"]["interdiction_per_100km"]
    for link in range(network.n_links):
        to = network.link_to[link]
        mode = TRAVEL_MODES[network.link_mode[link]]
        country, state = network.place_country[to], network.place_state[to]
        intensity = (3.0 if state == "Chiapas" else 1.0) if country == "MX" else 0.0
        assert p.link_interdiction_hazard_per_km[link] == pytest.approx(per_100[mode] / 100 * intensity)
        # Links into the US are left to the border phase.
        assert p.link_open[link] == (country != "US")
    tapachula, reynosa = network.place_id("Tapachula"), network.place_id("Reynosa")
    assert p.raid_probability[tapachula] == pytest.approx(0.003)
    assert p.raid_probability[reynosa] == pytest.approx(0.001)
    assert p.raid_probability[network.place_id("Ciudad Tecun Uman")] == 0.0
    assert p.raid_probability[network.place_id("El Paso")] == 0.0
    assert p.detention_exit_probability == pytest.approx(1 - np.exp(-1 / 5))


def test_detention_capacity_defaults_and_overrides(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["policy"]["detention_capacity"] = {"Estacion Migratoria Siglo XXI": 10}
    cap = compile_data(scenario_data, network).policy_on(0).detention_capacity_persons
    data = network.detention_capacity_data
    siglo = network.detention_name.index("Estacion Migratoria Siglo XXI")
    assert cap[siglo] == 10
    unknown = np.isnan(data)
    np.testing.assert_array_equal(cap[unknown], 64)
    others = ~unknown & (np.arange(cap.size) != siglo)
    np.testing.assert_array_equal(cap[others], data[others])


def test_us_outcome_cdf(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    scenario_data["policy"]["us_outcome_shares"] = {
        "default": {"released": 3, "removed": 1},
        "Cuba": {"released": 1},
    }
    cdf = compile_data(scenario_data, network).policy_on(0).us_outcome_cdf
    np.testing.assert_allclose(cdf[0][:2], [0.75, 1.0])
    np.testing.assert_allclose(cdf[2][:1], [1.0])
    np.testing.assert_allclose(cdf[:, -1], 1.0)


# --------------------------------------------------------------------------- events


def event(date: str, name: str = "e", **fields: Any) -> dict[str, Any]:
    return {"date": date, "name": name, **fields}


def test_policy_series_changes_on_the_event_date(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [
        event("2019-03-21", set={"bus_south_share": 0.8, "us_apprehension_probability": 0.5}),
        event("2019-04-01", set={"checkpoint_intensity.Chiapas": 6.0}),
    ]
    t = compile_data(scenario_data, network)
    s = t.policy_series()
    assert list(s.index) == list(t.dates)
    d1, d2 = day_index(t, "2019-03-21"), day_index(t, dt.date(2019, 4, 1))
    assert (d1, d2) == (20, 31)
    assert (s["bus_south_share"].iloc[:d1] == 0.0).all() and (s["bus_south_share"].iloc[d1:] == 0.8).all()
    assert (s["us_apprehension_probability"].iloc[:d1] == 0.8).all()
    assert (s["us_apprehension_probability"].iloc[d1:] == 0.5).all()
    hazard = s["mean_checkpoint_hazard_per_100km"]
    assert hazard.iloc[:d2].nunique() == 1 and hazard.iloc[d2:].nunique() == 1
    assert hazard.iloc[d2] > hazard.iloc[d2 - 1]
    assert t.event_days == [(20, "e"), (31, "e")]
    assert len(t.segments) == 3
    np.testing.assert_array_equal(np.unique(t.segment_of_day), [0, 1, 2])
    # Events accumulate: the second keeps the first's changes.
    assert t.policy_on(d2).bus_south_share == 0.8
    assert t.policy_on(d2 - 1).policy.checkpoint_intensity["Chiapas"] == 3.0
    assert t.policy_on(d2).policy.checkpoint_intensity["Chiapas"] == 6.0


def test_events_before_the_horizon_apply_from_day_0(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [
        event("2018-06-01", set={"bus_south_share": 0.4}),
        event("2019-01-01", set={"bus_south_share": 0.6, "raid_probability_per_day": 0.01}),
    ]
    t = compile_data(scenario_data, network)
    assert len(t.segments) == 1
    assert t.event_days == []
    s = t.policy_series()
    assert (s["bus_south_share"] == 0.6).all()
    assert t.policy_on(0).raid_probability[network.place_id("Reynosa")] == pytest.approx(0.01)


def test_event_on_the_first_day(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    scenario_data["events"] = [event("2019-03-01", set={"bus_south_share": 0.3})]
    t = compile_data(scenario_data, network)
    assert (t.policy_series()["bus_south_share"] == 0.3).all()


def test_events_apply_in_date_order_then_file_order(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [
        event("2019-03-25", "late", set={"bus_south_share": 0.9}),
        event("2019-03-11", "first", set={"bus_south_share": 0.2}),
        event("2019-03-11", "second", set={"bus_south_share": 0.3}),
    ]
    t = compile_data(scenario_data, network)
    s = t.policy_series()["bus_south_share"]
    assert (s.iloc[:10] == 0.0).all()
    assert (s.iloc[10:24] == 0.3).all()
    assert (s.iloc[24:] == 0.9).all()


def test_events_after_the_horizon_are_dropped_but_validated(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [event("2020-01-01", set={"bus_south_share": 1.0})]
    t = compile_data(scenario_data, network)
    assert len(t.segments) == 1 and (t.policy_series()["bus_south_share"] == 0.0).all()
    scenario_data["events"] = [event("2020-01-01", set={"bus_south_share": 7})]
    assert "events.0.set.bus_south_share" in compile_error(scenario_data, network)


def test_policy_frozen_from_drops_the_events_on_and_after_it_but_validates_them(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [
        event("2019-03-11", "before", set={"bus_south_share": 0.2}),
        event("2019-03-21", "on", set={"bus_south_share": 0.5}),
        event("2019-03-25", "after", set={"bus_south_share": 0.9}),
    ]
    scenario_data["policy_frozen_from"] = "2019-03-21"
    t = compile_data(scenario_data, network)
    s = t.policy_series()["bus_south_share"]
    assert (s.iloc[:10] == 0.0).all() and (s.iloc[10:] == 0.2).all()  # as it stood the day before
    assert t.event_days == [(10, "before")]
    scenario_data["events"][2]["set"] = {"bus_south_share": 7}
    assert "events.2.set.bus_south_share" in compile_error(scenario_data, network)


def test_policy_frozen_before_the_horizon_keeps_only_the_earlier_events_from_day_0(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["events"] = [
        event("2018-06-01", "early", set={"bus_south_share": 0.4}),
        event("2018-12-01", "later", set={"bus_south_share": 0.6}),
        event("2019-03-11", "inside", set={"bus_south_share": 0.9}),
    ]
    scenario_data["policy_frozen_from"] = "2018-09-01"
    t = compile_data(scenario_data, network)
    assert len(t.segments) == 1 and t.event_days == []
    assert (t.policy_series()["bus_south_share"] == 0.4).all()
    assert [e.name for e in t.scenario.applied_events] == ["early"]


def test_bad_event_set_path_names_the_event(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    # The bad event is the second in the file but the first in date order.
    scenario_data["events"] = [
        event("2019-03-30", set={"bus_south_share": 0.5}),
        event("2019-03-10", set={"checkpoint_intensty.Chiapas": 6.0}),
    ]
    found = compile_error(scenario_data, network)
    assert any(p.startswith("events.1.set.checkpoint_intensty") for p in found), found
    assert "unknown" in next(iter(found.values()))[1]


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"raid_probability_per_day": 3}, "events.0.set.raid_probability_per_day"),
        ({"checkpoint_intensity.Chiapaz": 3}, "events.0.set.checkpoint_intensity.Chiapaz"),
        ({"deportation_share.Narnia": 0.3}, "events.0.set.deportation_share.Narnia"),
        ({"bus_south_share.x": 0.3}, "events.0.set.bus_south_share.x"),
    ],
)
def test_bad_event_values_name_the_event(
    scenario_data: dict[str, Any], network: corridor.Network, changes: dict[str, Any], where: str
) -> None:
    scenario_data["events"] = [event("2019-03-10", set=changes)]
    assert where in compile_error(scenario_data, network)


def test_close_and_reopen_routes(scenario_data: dict[str, Any], network: corridor.Network) -> None:
    rail = {"from": "Ciudad Hidalgo", "to": "Arriaga", "mode": "rail"}
    scenario_data["events"] = [
        event("2019-03-11", close_routes=[rail]),
        event("2019-03-21", reopen_routes=[rail]),
    ]
    t = compile_data(scenario_data, network)
    links = links_of(network, "Ciudad Hidalgo", "Arriaga", "rail")
    assert links.size == 2
    open_ = np.array([t.policy_on(d).link_open[links].all() for d in range(t.n_days)])
    shut = np.array([not t.policy_on(d).link_open[links].any() for d in range(t.n_days)])
    assert open_[:10].all() and shut[10:20].all() and open_[20:].all()
    s = t.policy_series()["open_links"]
    assert s.iloc[10] == s.iloc[0] - links.size
    assert s.iloc[20] == s.iloc[0]


def reopen_scenario(data: dict[str, Any], reopen: dict[str, Any]) -> dict[str, Any]:
    data["policy"]["closed_routes"] = [{"from": "Ciudad Hidalgo", "to": "Arriaga", "mode": "rail"}]
    data["events"] = [event("2019-03-21", reopen_routes=[reopen])]
    return data


def test_reopening_a_route_named_the_other_way_round(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    data = reopen_scenario(scenario_data, {"from": "Arriaga", "to": "Ciudad Hidalgo", "mode": "rail"})
    t = compile_data(data, network)
    links = links_of(network, "Ciudad Hidalgo", "Arriaga", "rail")
    assert not t.policy_on(0).link_open[links].any()
    assert t.policy_on(25).link_open[links].all()


def test_reopening_an_unknown_route_is_an_error(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    data = reopen_scenario(scenario_data, {"from": "Ciudad Hidalgo", "to": "Ariaga", "mode": "rail"})
    found = compile_error(data, network)
    assert any(p.startswith("events.0.reopen_routes.0") for p in found), found


def test_route_closed_without_mode_closes_every_mode(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["policy"]["closed_routes"] = [{"from": "Ciudad Tecun Uman", "to": "Ciudad Hidalgo"}]
    t = compile_data(scenario_data, network)
    links = links_of(network, "Ciudad Tecun Uman", "Ciudad Hidalgo", None)
    assert links.size == 6  # road (foot, bus) and trek, both ways
    assert not t.policy_on(0).link_open[links].any()


def test_bad_place_in_event_close_routes_names_the_event_field(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    scenario_data["policy"]["closed_routes"] = [{"from": "Ciudad Hidalgo", "to": "Arriaga", "mode": "rail"}]
    scenario_data["events"] = [
        event("2019-03-10", close_routes=[{"from": "Ciudad Hidalgo", "to": "Atlantis"}])
    ]
    found = compile_error(scenario_data, network)
    assert "events.0.close_routes.0.to" in found, found


def test_capacity_changes_show_in_the_series(
    scenario_data: dict[str, Any], network: corridor.Network
) -> None:
    # Event set paths are dotted: one per facility.
    flat = {"detention_capacity_unknown": 0}
    flat |= {
        f"detention_capacity.{k}": 0 for k in uniform_detention_capacity(network, 0)["detention_capacity"]
    }
    scenario_data["events"] = [event("2019-03-16", set=flat)]
    t = compile_data(scenario_data, network)
    cap = t.policy_series()["detention_capacity"]
    assert (cap.iloc[:15] > 0).all() and (cap.iloc[15:] == 0).all()
    assert (t.policy_on(20).detention_capacity_persons == 0).all()


def test_cumulative_shares_topped_at_one_pick_no_place_past_the_end() -> None:
    from corridor.timeline import _top_at_one

    # A top just below 1 (rounding) and a trailing place of weight 0, in rows of a 2-D table.
    raw = np.array([[0.25, 1.0 - 2**-53, 1.0 - 2**-53], [0.5, 0.75, 1.0]])
    topped = _top_at_one(raw.copy())
    assert topped.tolist() == [[0.25, 1.0, 1.0], [0.5, 0.75, 1.0]]
    for row_raw, row in zip(raw, topped, strict=True):
        for u in np.linspace(0.0, 1.0 - 2**-53, 1001):
            pick = int(np.searchsorted(row, u, side="right"))
            assert pick < row.size and row[pick] > 0  # never past the end
            if u < row_raw[-1]:
                assert pick == int(
                    np.searchsorted(row_raw, u, side="right")
                )  # picks unchanged below the old top
    gap = 1.0 - 2**-53  # a uniform in the rounding gap: the last place with weight, not past the end
    assert int(np.searchsorted(topped[0], gap, side="right")) == 1
