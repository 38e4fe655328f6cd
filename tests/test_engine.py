"""The engine: the accounting identity, the overflow rule, reproducibility, events, closed
routes, and parameters moving outcomes the right way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corridor
from corridor.engine import core
from corridor.engine.population import State
from corridor.testing import assert_identity

from .conftest import (
    COUNTED,
    EXIT_FLOWS,
    N_DAYS,
    RATES,
    STATE_STOCKS,
    base_scenario_data,
    documented_metrics,
    links_of,
    on_links,
    uniform_detention_capacity,
    us_outcome_keys,
)

Run = Callable[..., corridor.Results]
#: The state behind each state stock (docs/metrics.md, engine/population.py).
STATE_OF_STOCK = {
    "in_transit": State.IN_TRANSIT,
    "waiting": State.WAITING,
    "detained": State.DETAINED,
    "asylum_pending": State.ASYLUM_PENDING,
    "border_waiting": State.BORDER_WAITING,
    "mpp_waiting": State.MPP_WAITING,
}


# --------------------------------------------------------------------------- helpers


def metrics_documented() -> list[str]:
    return [m for names in documented_metrics().values() for m in names]


def daily_totals(frame: pd.DataFrame, metric: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Per day, ``metric`` summed over places and nationalities, from the tidy table (0 where absent)."""
    rows = frame[frame["metric"] == metric]
    by_day = rows.groupby("date", observed=True)["value"].sum()
    return by_day.reindex(pd.DatetimeIndex(dates).astype(by_day.index.dtype), fill_value=0.0).to_numpy()


def cube(frame: pd.DataFrame, metric: str, results: corridor.Results) -> np.ndarray:
    """``metric`` as a dense (date, place, nationality) array rebuilt from the tidy table."""
    out = np.zeros((len(results.dates), len(results.places), len(results.nationalities)))
    rows = frame[(frame["metric"] == metric) & frame["place"].notna()]  # not a zero-all-run-long row
    d = pd.DatetimeIndex(results.dates).get_indexer(pd.DatetimeIndex(rows["date"]))
    p = pd.Index(results.places).get_indexer(rows["place"].astype(str))
    n = pd.Index(results.nationalities).get_indexer(rows["nationality"].astype(str))
    assert (d >= 0).all() and (p >= 0).all() and (n >= 0).all()
    np.add.at(out, (d, p, n), rows["value"].to_numpy())
    return out


def detained_and_capacity(results: corridor.Results) -> tuple[np.ndarray, np.ndarray]:
    """Per (date, place): persons detained and detention capacity (persons)."""
    ds = results.to_xarray()
    held = ds["detained"].sum("nationality").transpose("date", "place").to_numpy()
    cap = ds["detention_capacity"].transpose("date", "place").to_numpy()
    return held, cap


def check_books(results: corridor.Results) -> None:
    """The accounting identity and the stocks, checked from the outputs (not the engine's own check)."""
    ident = results.identity_check()
    assert ident["holds"], ident
    assert ident["max_abs_gap_present_vs_arrivals_minus_exits"] == 0
    assert ident["max_abs_gap_states_vs_present"] == 0
    assert ident["days_checked"] == len(results.dates)

    frame = results.to_frame()
    dates = results.dates
    tol = dict(rtol=1e-9, atol=1e-6 * max(results.scale, 1.0))
    present = daily_totals(frame, "present", dates)
    arrivals = daily_totals(frame, "arrivals", dates)
    exits = sum(daily_totals(frame, f, dates) for f in EXIT_FLOWS)
    np.testing.assert_allclose(present, np.cumsum(arrivals) - np.cumsum(exits), **tol)
    np.testing.assert_allclose(daily_totals(frame, "exits", dates), exits, **tol)
    # Deaths by mode, where documented, add up to deaths.
    by_mode = [m for m in metrics_documented() if m.startswith("deaths_")]
    if by_mode:
        np.testing.assert_allclose(
            sum(daily_totals(frame, m, dates) for m in by_mode), daily_totals(frame, "deaths", dates), **tol
        )
    np.testing.assert_allclose(results.total("present"), present, **tol)
    np.testing.assert_allclose(
        results.total("present"),
        np.cumsum(results.total("arrivals")) - np.cumsum(results.total("exits")),
        **tol,
    )
    # The six state stocks add up to present for every date, place and nationality.
    parts = sum(cube(frame, s, results) for s in STATE_STOCKS)
    np.testing.assert_allclose(parts, cube(frame, "present", results), **tol)
    # Nothing negative; every count a whole number of agents.
    assert (frame["value"] >= 0).all()
    agents = frame.loc[frame["metric"].isin(COUNTED), "value"].to_numpy() / results.scale
    np.testing.assert_allclose(agents, np.round(agents), atol=1e-6)


def check_overflow_rule(results: corridor.Results, ratio: float) -> None:
    held, cap = detained_and_capacity(results)
    assert (held >= 0).all()
    over = held > ratio * cap + results.scale + 1e-9
    assert not over.any(), [
        (str(results.dates[d].date()), results.places[p], held[d, p], cap[d, p])
        for d, p in zip(*np.nonzero(over), strict=True)
    ][:10]
    # Everyone caught is either admitted or turned away, the same day.
    np.testing.assert_allclose(
        results.total("interdictions"),
        results.total("detentions") + results.total("detention_overflow_released"),
    )


# --------------------------------------------------------------------------- 1, 2: identity and overflow rule


probability = st.floats(0.0, 1.0)


@st.composite
def random_scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    data = base_scenario_data()
    days = draw(st.integers(15, 45))
    data["horizon"]["end"] = str(
        (pd.Timestamp(data["horizon"]["start"]) + pd.Timedelta(days=days - 1)).date()
    )
    for inflow in data["inflows"]:
        inflow["persons_per_day"] = draw(st.sampled_from([0.0, 3.0, 50.0, 400.0]))
    if sum(i["persons_per_day"] for i in data["inflows"]) == 0:
        data["inflows"][0]["persons_per_day"] = 100.0
    pol = data["policy"]
    pol["checkpoint_intensity"] = {"default": draw(st.floats(0, 5)), "Chiapas": draw(st.floats(0, 20))}
    pol["raid_probability_per_day"] = draw(st.floats(0, 0.05))
    pol["interdiction_per_100km"] = {
        m: draw(st.floats(0, 0.05)) for m in ("foot", "bus", "rail", "sea", "trek")
    }
    pol.update(uniform_detention_capacity_data(draw(st.sampled_from([0.0, 1.0, 5.0, 40.0, 500.0]))))
    pol["detention_overflow_max_ratio"] = draw(st.floats(1.0, 5.0))
    pol["detention_mean_stay_days"] = draw(st.floats(0.5, 20))
    pol["deportation_share"] = {"default": draw(probability), "Cuba": draw(probability)}
    pol["bus_south_share"] = draw(probability)
    pol["bus_south_places"] = draw(
        st.sampled_from([{"Tapachula": 1.0}, {"Tapachula": 1.0, "Tenosique": 2.0}])
    )
    pol["us_apprehension_probability"] = draw(probability)
    keys = us_outcome_keys()
    weights = {k: draw(st.sampled_from([0.0, 0.2, 1.0])) for k in keys}
    if sum(weights.values()) == 0:
        weights[keys[0]] = 1.0
    pol["us_outcome_shares"] = {"default": weights}
    beh = data["behaviour"]
    beh["give_up_probability_per_day"] = draw(st.sampled_from([0.0, 0.01, 0.2, 1.0]))
    beh["give_up_growth_per_attempt"] = draw(st.floats(0, 2))
    beh["settle_share"] = draw(probability)
    beh["reentry_probability"] = {"default": draw(probability)}
    beh["reentry_delay_days"] = draw(st.integers(1, 15))
    beh["border_crossing_probability_per_day"] = draw(probability)
    beh["continue_probability"] = draw(probability)
    beh["rest_days_after_arrival"] = draw(st.integers(0, 3))
    data["population"]["group_size_mean"] = draw(st.floats(1.0, 6.0))
    data["population"]["bus_access_share"] = {"default": draw(probability)}
    if draw(st.booleans()):
        add_instruments(draw, data)
    if draw(st.booleans()):
        data["events"] = [
            {
                "date": str((pd.Timestamp(data["horizon"]["start"]) + pd.Timedelta(days=days // 2)).date()),
                "name": "crackdown",
                "set": {
                    "checkpoint_intensity.default": draw(st.floats(0, 10)),
                    "bus_south_share": draw(probability),
                },
            }
        ]
    options = {"seed": draw(st.integers(0, 2**32 - 1)), "agents": draw(st.integers(200, 3000))}
    return data, options


def add_instruments(draw: st.DrawFn, data: dict[str, Any]) -> None:
    """COMAR offices, visas, metering, CBP One, MPP, a caravan and river deaths, at drawn intensities."""
    pol = data["policy"]
    pol["asylum"] = {
        "offices": [
            {"place": "Tapachula", "decisions_per_day": draw(st.sampled_from([0.0, 5.0, 100.0]))},
            {"place": "Tenosique", "decisions_per_day": 20.0, "opens": "2019-03-10"},
        ],
        "application_probability_per_day": {"default": draw(probability)},
        "recognition_share": {"default": draw(probability)},
        "abandonment_probability_per_day": draw(st.floats(0, 0.2)),
        "settle_after_recognition_share": draw(probability),
    }
    pol["visas"] = {
        "window_open": draw(st.booleans()),
        "places": ["Ciudad Hidalgo", "Tapachula"],
        "issued_per_day": draw(st.sampled_from([0.0, 30.0, 500.0])),
        "processing_days": draw(st.integers(0, 5)),
        "uptake": {"default": draw(probability)},
    }
    pol["metering"] = {
        "daily_intake": {"Reynosa": draw(st.sampled_from([0.0, 5.0, 50.0])), "Tijuana": 10.0},
        "join_share": {"default": draw(probability)},
        "abandon_probability_per_day": draw(st.floats(0, 0.3)),
    }
    pol["cbp_one"] = {
        "appointments_per_day": draw(st.sampled_from([0.0, 20.0, 300.0])),
        "uptake": {"default": draw(probability)},
        "north_of_19th_only": draw(st.booleans()),
    }
    pol["mpp"] = {
        "cities": ["Ciudad Juarez", "Tijuana"],
        "hearing_delay_days": draw(st.floats(1, 30)),
        "relief_share": draw(probability),
        "abandon_probability_per_day": draw(st.floats(0, 0.2)),
    }
    pol["caravans"] = {
        "dispersal_probability_per_day": draw(st.floats(0, 0.3)),
        "dispersal_detention_share": draw(probability),
        "interdiction_factor": draw(probability),
        "target": "Mexico City",
    }
    data["caravans"] = [
        {
            "date": "2019-03-05",
            "name": "drawn",
            "place": "Ciudad Hidalgo",
            "size_persons": draw(st.floats(1, 3000)),
        }
    ]
    data["hazards"]["river_crossing_death_probability"] = draw(st.floats(0, 0.2))
    data["population"]["bus_access_share"] = {"default": draw(st.floats(0.5, 1.0))}


_NETWORK = corridor.load_network()


def uniform_detention_capacity_data(persons: float) -> dict[str, Any]:
    return uniform_detention_capacity(_NETWORK, persons)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_scenarios())
def test_accounting_identity_and_overflow_rule_over_random_scenarios(
    run_small: Run, drawn: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    data, options = drawn
    results = run_small(data, **options)
    check_books(results)
    check_overflow_rule(results, data["policy"]["detention_overflow_max_ratio"])


def heavy_reentry() -> dict[str, Any]:
    """Everyone caught is deported and comes straight back: rows leave and re-enter the index daily."""
    data = base_scenario_data()
    data["behaviour"]["reentry_probability"] = {"default": 1.0}
    data["behaviour"]["reentry_delay_days"] = 1
    data["policy"]["deportation_share"] = {"default": 1.0}
    data["policy"]["raid_probability_per_day"] = 0.05
    return data


def busy_raids() -> dict[str, Any]:
    data = base_scenario_data()
    data["policy"]["raid_probability_per_day"] = 0.02
    return data


@pytest.mark.parametrize("make", [busy_raids, heavy_reentry])
def test_stocks_match_an_independent_count_of_agents(
    run_small: Run, watch_days, network: corridor.Network, make: Callable[[], dict[str, Any]]
) -> None:
    def inspect(sim: core.Simulation, day: int) -> dict[str, Any]:
        pop = sim.pop
        state = pop.state
        transit = state == State.IN_TRANSIT
        detained = state == State.DETAINED
        # Consistency of each agent's attributes with its state.
        assert (pop.link[transit] >= 0).all()
        assert (network.link_from[pop.link[transit]] == pop.place[transit]).all()
        assert (network.place_country[network.link_to[pop.link[transit]]] != "US").all()
        assert (pop.progress_km[transit] < network.link_distance_km[pop.link[transit]]).all()
        assert (pop.link[~transit] == -1).all()
        assert (pop.facility[detained] >= 0).all() and (pop.facility[~detained] == -1).all()
        assert (network.detention_place[pop.facility[detained]] == pop.place[detained]).all()
        np.testing.assert_array_equal(
            np.bincount(pop.facility[detained], minlength=sim.occupancy.size), sim.occupancy
        )
        counts = {name: int((state == s).sum()) for name, s in STATE_OF_STOCK.items()}
        counts["present"] = int(np.isin(state, list(STATE_OF_STOCK.values())).sum())
        return counts

    log = watch_days(inspect)
    results = run_small(make(), seed=5, agents=2000)
    assert len(log.days) == N_DAYS
    for stock in (*STATE_OF_STOCK, "present"):
        counted = np.array([d[stock] for d in log.days]) * results.scale
        np.testing.assert_allclose(results.total(stock), counted, err_msg=stock)
    assert results.total("detained").max() > 0 and results.total("in_transit").max() > 0
    check_books(results)


def test_zero_detention_capacity_turns_everyone_away(run_small: Run, network: corridor.Network) -> None:
    data = base_scenario_data()
    data["policy"].update(uniform_detention_capacity(network, 0))
    results = run_small(data)
    caught = results.total("interdictions")
    assert caught.sum() > 0
    np.testing.assert_array_equal(results.total("detentions"), 0)
    np.testing.assert_array_equal(results.total("detained"), 0)
    np.testing.assert_array_equal(results.total("deportations"), 0)
    np.testing.assert_allclose(results.total("detention_overflow_released"), caught)
    np.testing.assert_array_equal(results.total("detention_capacity"), 0)
    check_books(results)


def test_tiny_capacity_overflows_and_is_counted(run_small: Run, network: corridor.Network) -> None:
    data = base_scenario_data()
    data["policy"].update(uniform_detention_capacity(network, 2))
    data["policy"]["detention_overflow_max_ratio"] = 1.5
    data["policy"]["raid_probability_per_day"] = 0.01
    results = run_small(data, scale=1.0)  # one agent per person: the rule is exact
    released = results.total("detention_overflow_released")
    assert released.sum() > 0
    assert results.total("detentions").sum() > 0
    check_overflow_rule(results, 1.5)
    held, _ = detained_and_capacity(results)
    # Three persons per facility at most (floor(1.5 * 2)).
    n_fac = np.bincount(network.detention_place, minlength=network.n_places)
    assert (held <= 3 * n_fac[None, :]).all()
    assert held.max() == 3  # the stations fill up to the rule
    check_books(results)


def test_overflow_rule_holds_after_a_capacity_cut(run_small: Run, network: corridor.Network) -> None:
    data = base_scenario_data()
    cut = {"detention_capacity_unknown": 1}
    cut |= {
        f"detention_capacity.{k}": 1 for k in uniform_detention_capacity(network, 1)["detention_capacity"]
    }
    data["events"] = [{"date": "2019-03-21", "name": "stations cut to 1 place", "set": cut}]
    results = run_small(data)
    check_overflow_rule(results, data["policy"]["detention_overflow_max_ratio"])


def caravan_catches(how: str, network: corridor.Network) -> dict[str, Any]:
    """A caravan whose members are caught in the caravan phase: by dispersal, or on the march."""
    data = base_scenario_data()
    data["horizon"]["end"] = "2019-03-20"
    data["caravans"] = [{"date": "2019-03-05", "name": "c", "place": "Ciudad Hidalgo", "size_persons": 400}]
    data["policy"]["checkpoint_intensity"] = {"default": 5.0, "Chiapas": 30.0}
    if how == "dispersal":
        data["policy"]["caravans"] = {"dispersal_probability_per_day": 1.0, "dispersal_detention_share": 1.0}
    else:
        data["policy"]["caravans"] = {"dispersal_probability_per_day": 0.0, "interdiction_factor": 1.0}
    return data


@pytest.mark.parametrize("how", ["dispersal", "march"])
def test_people_caught_with_a_caravan_are_not_also_free_the_same_day(
    run_small: Run, network: corridor.Network, how: str
) -> None:
    data = caravan_catches(how, network)
    data["behaviour"]["give_up_probability_per_day"] = 0.5
    data["policy"].update(uniform_detention_capacity(network, 0))
    results = run_small(data, seed=0, scale=4.0)
    assert results.total("caravan_joined").sum() > 0 and results.total("interdictions").sum() > 0
    assert results.identity_check()["holds"], results.identity_check()


def test_a_person_caught_twice_in_a_day_takes_one_detention_place(
    run_small: Run, watch_days, network: corridor.Network
) -> None:
    def inspect(sim: core.Simulation, day: int) -> bool:
        held = sim.pop.state == State.DETAINED
        return bool(
            np.array_equal(np.bincount(sim.pop.facility[held], minlength=sim.occupancy.size), sim.occupancy)
        )

    log = watch_days(inspect)
    data = caravan_catches("dispersal", network)
    data["behaviour"].update(
        give_up_probability_per_day=0.0, move_on_probability_per_day=1.0, rest_days_after_arrival=0
    )
    run_small(data, seed=0, scale=4.0)
    assert all(log.days), f"occupancy != people held on days {[d for d, ok in enumerate(log.days) if not ok]}"


# --------------------------------------------------------------------------- 3: reproducibility


def same_results(a: corridor.Results, b: corridor.Results) -> bool:
    return (
        np.array_equal(a.flows, b.flows)
        and np.array_equal(a.stocks, b.stocks)
        and np.array_equal(a.present_agents, b.present_agents)
    )


def test_same_seed_same_results(run_small: Run, base_results: corridor.Results) -> None:
    again = run_small(base_scenario_data())
    assert same_results(again, base_results)
    pd.testing.assert_frame_equal(again.to_frame(), base_results.to_frame())
    assert again.scale == base_results.scale


def test_different_seed_different_results(run_small: Run, base_results: corridor.Results) -> None:
    other = run_small(base_scenario_data(), seed=2)
    assert not same_results(other, base_results)
    assert not np.array_equal(other.total("interdictions"), base_results.total("interdictions"))
    # ... but about the same people arrive (the inflow is the same).
    assert other.total("arrivals").sum() == pytest.approx(base_results.total("arrivals").sum(), rel=0.1)


# ------------------------------------------------------------- 4: events change nothing before their date


D = 20  # 2019-03-21 in the small scenario


def with_event(date_day: int, changes: dict[str, Any], data: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(data) if data is not None else base_scenario_data()
    date = (pd.Timestamp(data["horizon"]["start"]) + pd.Timedelta(days=date_day)).date()
    data["events"] = [*data.get("events", []), {"date": str(date), "name": "change", "set": changes}]
    return data


@pytest.mark.parametrize(
    "changes",
    [
        {"checkpoint_intensity.default": 4.0, "checkpoint_intensity.Chiapas": 8.0},
        {"raid_probability_per_day": 0.05},
    ],
    ids=["checkpoints", "raids"],
)
def test_event_changes_nothing_before_its_date_and_something_after(
    run_small: Run, base_results: corridor.Results, changes: dict[str, Any]
) -> None:
    after = run_small(with_event(D, changes))
    a, b = base_results, after
    # Bit-identical before the event: the random stream is shared and nothing before D differs.
    np.testing.assert_array_equal(a.flows[:D], b.flows[:D])
    np.testing.assert_array_equal(a.stocks[:D], b.stocks[:D])
    np.testing.assert_array_equal(a.present_agents[:D], b.present_agents[:D])
    assert not np.array_equal(a.flows[D], b.flows[D]) or not np.array_equal(a.stocks[D], b.stocks[D])
    before_total, after_total = a.total("interdictions")[D:].sum(), b.total("interdictions")[D:].sum()
    assert after_total > 1.5 * before_total
    check_books(after)


def test_an_event_that_changes_nothing_changes_no_result(
    run_small: Run, base_results: corridor.Results
) -> None:
    # A new policy segment with the same values: route tables are rebuilt, no random draw moves.
    same = run_small(with_event(D, {"bus_south_share": 0.0, "checkpoint_intensity.Chiapas": 3.0}))
    assert same_results(same, base_results)


# --------------------------------------------------------------------------- 5: closed routes


CLOSED = ("Ciudad Hidalgo", "Arriaga", "rail")  # open in the small scenario and used a lot


def close_from(day: int) -> dict[str, Any]:
    data = base_scenario_data()
    date = (pd.Timestamp(data["horizon"]["start"]) + pd.Timedelta(days=day)).date()
    a, b, mode = CLOSED
    data["events"] = [
        {"date": str(date), "name": "closure", "close_routes": [{"from": a, "to": b, "mode": mode}]}
    ]
    return data


def usage_of_closed_links(watch_days, network: corridor.Network):
    links = links_of(network, *CLOSED)

    def inspect(sim: core.Simulation, day: int) -> tuple[int, int]:
        rows = on_links(sim, links)
        entered_today_or_later = int((sim.pop.since[rows] >= day).sum())
        return rows.size, entered_today_or_later

    return watch_days(inspect)


def test_nobody_sets_off_on_a_route_after_it_closes(
    run_small: Run, watch_days, network: corridor.Network
) -> None:
    log = usage_of_closed_links(watch_days, network)
    run_small(close_from(D))
    on_link = np.array([d[0] for d in log.days])
    new = np.array([d[1] for d in log.days])
    assert on_link[:D].sum() > 0, "the route is used before it closes (else the test shows nothing)"
    assert new[D:].sum() == 0, f"set off on a closed route on days {np.flatnonzero(new[D:]) + D}"
    # Within a few days (320 km of rail at 100 km/day) nobody is left on it.
    assert on_link[D + 4 :].sum() == 0


def test_nobody_is_on_a_route_after_it_closes(run_small: Run, watch_days, network: corridor.Network) -> None:
    log = usage_of_closed_links(watch_days, network)
    run_small(close_from(D))
    on_link = np.array([d[0] for d in log.days])
    assert on_link[:D].sum() > 0
    assert on_link[D:].sum() == 0, f"agents on the closed route on days {np.flatnonzero(on_link[D:]) + D}"


def test_a_route_closed_from_the_start_is_never_used(
    run_small: Run, watch_days, network: corridor.Network
) -> None:
    log = usage_of_closed_links(watch_days, network)
    data = base_scenario_data()
    a, b, mode = CLOSED
    data["policy"]["closed_routes"] = [{"from": a, "to": b, "mode": mode}]
    results = run_small(data)
    assert sum(d[0] for d in log.days) == 0
    check_books(results)


def test_shipped_scenario_never_uses_the_closed_coastal_railway(shipped_run: dict[str, Any]) -> None:
    net, usage = shipped_run["network"], shipped_run["link_agent_days"]
    closed = links_of(net, "Ciudad Hidalgo", "Arriaga", "rail")
    assert usage[closed].sum() == 0
    # The next railway north is used: the count would show traffic on the closed one.
    assert usage[links_of(net, "Arriaga", "Ixtepec", "rail")].sum() > 0
    t = shipped_run["timeline"]
    assert not any(t.policy_on(d).link_open[closed].any() for d in range(t.n_days))


def test_shipped_scenario_books_balance(shipped_run: dict[str, Any]) -> None:
    results, timeline = shipped_run["results"], shipped_run["timeline"]
    check_books(results)
    check_overflow_rule(results, min(seg.detention_overflow_max_ratio for seg in timeline.segments))
    assert 4000 <= results.info["agents"] <= 6000
    # The June 10 joint declaration: more interdictions per arrival after it than before.
    june10 = results.dates.get_loc(pd.Timestamp("2019-06-10"))
    caught, arrived = results.total("interdictions"), results.total("arrivals")
    before = caught[:june10].sum() / arrived[:june10].sum()
    after = caught[june10:].sum() / arrived[june10:].sum()
    assert after > before


# ------------------------------------------------------------- 9: parameters move outcomes the right way


def total(results: corridor.Results, name: str) -> float:
    return float(results.total(name).sum())


def mean_total(run_small: Run, data: dict[str, Any], name: str, seeds: tuple[int, ...] = (1, 2)) -> float:
    return float(np.mean([total(run_small(data, seed=s), name) for s in seeds]))


def test_bus_south_everyone_not_deported(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["bus_south_share"] = 1.0
    data["policy"]["deportation_share"] = {"default": 0.0}
    results = run_small(data)
    assert total(results, "deportations") == 0
    assert total(results, "released") == 0
    assert total(results, "bused_south") > 0
    check_books(results)


def test_deport_everyone(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["deportation_share"] = {"default": 1.0}
    data["policy"]["bus_south_share"] = 0.0
    results = run_small(data)
    assert total(results, "deportations") > 0
    assert total(results, "released") == total(results, "bused_south") == 0


def test_bused_south_people_are_let_go_at_the_bus_south_place(
    run_small: Run, watch_days, network: corridor.Network
) -> None:
    tenosique = network.place_id("Tenosique")
    held: dict[str, np.ndarray] = {"rows": np.empty(0, dtype=np.intp)}

    def inspect(sim: core.Simulation, day: int) -> tuple[int, int]:
        pop = sim.pop
        was = held["rows"]
        left = was[pop.state[was] != State.DETAINED]  # left detention today
        held["rows"] = np.flatnonzero(pop.state == State.DETAINED)
        ok = (pop.place[left] == tenosique) & (pop.state[left] == State.WAITING)
        return left.size, int(ok.sum())

    log = watch_days(inspect)
    data = base_scenario_data()
    data["policy"].update(
        bus_south_share=1.0, deportation_share={"default": 0.0}, bus_south_places={"Tenosique": 1}
    )
    results = run_small(data)
    left = np.array([d[0] for d in log.days])
    at_tenosique = np.array([d[1] for d in log.days])
    assert left.sum() > 0
    np.testing.assert_array_equal(at_tenosique, left)  # everyone who left detention is let go there
    np.testing.assert_allclose(results.total("bused_south"), left * results.scale)
    # bused_south is counted where they were held, not where they are let go.
    bused = results.to_xarray()["bused_south"].sum(("date", "nationality"))
    assert float(bused.sel(place="Tenosique")) < float(bused.sum())


def test_more_checkpoints_more_interdictions(run_small: Run) -> None:
    low = base_scenario_data()
    high = base_scenario_data()
    high["policy"]["checkpoint_intensity"] = {"default": 3.0, "Chiapas": 9.0}
    assert mean_total(run_small, high, "interdictions") > 1.5 * mean_total(run_small, low, "interdictions")


def test_no_checkpoints_no_raids_no_interdictions(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["checkpoint_intensity"] = {"default": 0.0}
    results = run_small(data)
    for name in ("interdictions", "detentions", "detained", "deportations", "detention_overflow_released"):
        assert total(results, name) == 0, name


def test_no_apprehension_no_encounters(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["us_apprehension_probability"] = 0.0
    results = run_small(data)
    assert total(results, "us_encounters") == 0
    assert total(results, "us_released") == total(results, "us_removed") == 0
    assert total(results, "us_evaded") > 0


def test_certain_apprehension_and_release(run_small: Run) -> None:
    data = base_scenario_data()
    data["policy"]["us_apprehension_probability"] = 1.0
    data["policy"]["us_outcome_shares"] = {"default": {"released": 1.0}}
    results = run_small(data)
    assert total(results, "us_evaded") == 0
    assert total(results, "us_encounters") > 0
    assert total(results, "us_removed") == 0
    np.testing.assert_allclose(results.total("us_released"), results.total("us_encounters"))


def test_nobody_crosses_when_crossing_probability_is_zero(run_small: Run) -> None:
    data = base_scenario_data()
    data["behaviour"]["border_crossing_probability_per_day"] = 0.0
    results = run_small(data)
    assert total(results, "us_encounters") == total(results, "us_evaded") == 0
    # They wait at their border city instead.
    waiting = results.to_xarray()["waiting"].isel(date=-1).sum("nationality")
    assert float(waiting.sel(place=["Reynosa", "Ciudad Juarez", "Tijuana"]).sum()) > 0


def test_inflow_multiplier_doubles_arrivals(run_small: Run) -> None:
    once = base_scenario_data()
    twice = base_scenario_data()
    twice["inflow_multiplier"] = 2.0
    a, b = run_small(once, scale=10.0), run_small(twice, scale=10.0)
    assert total(b, "arrivals") / total(a, "arrivals") == pytest.approx(2.0, rel=0.05)
    # With a number of agents instead, the scale doubles and so do the persons.
    c, d = run_small(once, agents=2000), run_small(twice, agents=2000)
    assert d.scale == pytest.approx(2 * c.scale)
    assert total(d, "arrivals") / total(c, "arrivals") == pytest.approx(2.0, rel=0.05)


def test_first_arrivals_follow_the_inflows(run_small: Run) -> None:
    data = base_scenario_data()
    data["behaviour"]["reentry_probability"] = {"default": 0.0}
    results = run_small(data, scale=5.0)
    expected = sum(RATES.values()) * N_DAYS
    assert total(results, "arrivals") == pytest.approx(expected, rel=0.02)
    assert total(results, "arrivals") == results.info["agents"] * 5.0  # nobody re-enters
    by_nat = results.to_xarray()["arrivals"].sum(("date", "place"))
    for nat, rate in RATES.items():
        assert float(by_nat.sel(nationality=nat)) == pytest.approx(rate * N_DAYS, rel=0.05)


def test_deported_people_come_back(run_small: Run) -> None:
    results = run_small(heavy_reentry(), scale=5.0)
    first = results.info["agents"] * 5.0
    assert total(results, "arrivals") > first + 0.5 * total(results, "deportations")


def test_no_hazard_no_deaths_and_no_giving_up(run_small: Run) -> None:
    data = base_scenario_data()
    data["hazards"]["death_per_1000km"] = {m: 0.0 for m in ("foot", "bus", "rail", "sea", "trek")}
    data["behaviour"]["give_up_probability_per_day"] = 0.0
    results = run_small(data)
    assert total(results, "deaths") == total(results, "settled") == total(results, "returned_home") == 0
    data["hazards"]["death_per_1000km"]["trek"] = 0.5
    data["hazards"]["death_per_1000km"]["foot"] = 0.5
    assert total(run_small(data), "deaths") > 0


def test_everyone_gives_up_at_once(run_small: Run) -> None:
    data = base_scenario_data()
    data["behaviour"]["give_up_probability_per_day"] = 1.0
    data["behaviour"]["settle_share"] = 1.0
    results = run_small(data)
    np.testing.assert_array_equal(results.total("present"), 0)
    np.testing.assert_allclose(results.total("settled"), results.total("arrivals"))
    assert total(results, "returned_home") == 0
    assert total(results, "arrivals") > 0


def test_agents_and_scale_options(run_small: Run) -> None:
    data = base_scenario_data()
    by_agents = run_small(data, agents=1000)
    assert by_agents.info["agents"] == pytest.approx(1000, rel=0.1)
    assert by_agents.scale == pytest.approx(sum(RATES.values()) * N_DAYS / 1000)
    by_scale = run_small(data, scale=4.0)
    assert by_scale.scale == 4.0 and by_scale.info["scale_persons_per_agent"] == 4.0
    frame = by_scale.to_frame()
    values = frame.loc[frame["metric"].isin(COUNTED), "value"].to_numpy()
    assert values.size and (values % 4.0 == 0).all()


@pytest.mark.usefixtures("checked_phases")
def test_every_phase_keeps_the_books(run_small: Run, base_results: corridor.Results) -> None:
    """Each phase of each day moves people between states without creating or losing anyone,
    and records the flows that match (corridor.testing); the checks change no result."""
    checked = run_small(base_scenario_data())
    assert_identity(checked)
    assert np.array_equal(checked.flows, base_results.flows)
    assert np.array_equal(checked.stocks, base_results.stocks)
