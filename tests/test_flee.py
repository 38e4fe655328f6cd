"""Flee input format and the movement-only kernel with Flee 3.1's rules (corridor.flee)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corridor.cli import app
from corridor.errors import FleeInputError
from corridor.flee import FleeNetwork, bundled_flee_corridor, load_flee_network
from corridor.flee.kernel import FleeRules, run_flee_movement

DATA = Path(__file__).parent / "data" / "flee-corridor"
FILES = ("locations.csv", "routes.csv", "closures.csv", "sim_period.csv")


@pytest.fixture(scope="module")
def corridor_net() -> FleeNetwork:
    return load_flee_network(DATA)


def _copy(tmp_path: Path) -> Path:
    out = tmp_path / "net"
    out.mkdir()
    for name in FILES:
        shutil.copy(DATA / name, out / name)
        (out / name).chmod(0o644)
    return out


def _write(folder: Path, locations: str, routes: str, closures: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "locations.csv").write_text(
        "#name,region,country,gps_x,gps_y,location_type,conflict_date,pop/cap\n" + locations
    )
    (folder / "routes.csv").write_text("#name1,name2,distance,forced_redirection\n" + routes)
    if closures:
        (folder / "closures.csv").write_text(
            "#closure_type,name1,name2,closure_start,closure_end\n" + closures
        )
    return folder


# ------------------------------------------------------------------ import


def test_imports_the_shared_corridor(corridor_net: FleeNetwork) -> None:
    f = corridor_net
    net = f.network
    assert net.n_places == 30 and net.route_from.size == 33 and net.n_links == 66
    assert f.names[0] == "SRC" and f.kind[0] == "conflict_zone"
    assert (f.kind == "town").sum() == 25
    assert [f.names[i] for i in f.camps] == ["C1", "C2", "C3", "C4"]
    assert f.capacity[f.camps].tolist() == [2000] * 4
    assert (f.capacity[f.kind != "camp"] == -1).all()
    assert f.population[0] == 1_000_000
    assert set(net.route_mode) == {"road"} and set(net.link_mode) == {0}  # TRAVEL_MODES[0] == "foot"
    i = net.find_routes("T20", "C1")
    assert len(i) == 1 and net.route_distance_km[i[0]] == pytest.approx(215.3)
    assert str(f.start_date) == "2020-01-01" and f.length_days == 100
    assert f.closures == []
    assert not f.foreign.any()


def test_bundled_copy_is_the_shared_network() -> None:
    for name in FILES:
        assert (bundled_flee_corridor() / name).read_bytes() == (DATA / name).read_bytes()


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "routes.csv",
            "T20,C1,215.3,0",
            "T20,C9,215.3,0",
            "routes.csv line 31 column 'name2': unknown location 'C9'",
        ),
        ("routes.csv", "T01,T02,229.0,0", "T01,T02,-229.0,0", "routes.csv line 3 column 'distance': -229.0"),
        ("routes.csv", "T01,T02,229.0,0", "T01,T02,zero,0", "column 'distance': 'zero' is not a number"),
        ("routes.csv", "T01,T02,229.0,0", "T01,T02", "routes.csv line 3: 2 column(s), expected at least 3"),
        ("routes.csv", "T01,T02,229.0,0", "T01,T01,229.0,0", "routes.csv line 3: route from 'T01' to itself"),
        ("routes.csv", "T01,T02,229.0,0", "T01,T02,229.0,7", "column 'forced_redirection': 7"),
        (
            "locations.csv",
            "T03,R,CORR,3.0,0.0,town,0,33112",
            "T03,R,CORR,3.0,0.0,town,0",
            "locations.csv line 5: 7 column(s), expected at least 8",
        ),
        (
            "locations.csv",
            "T03,R,CORR,3.0,0.0,town,0,33112",
            "T03,R,CORR,3.0,0.0,village,0,33112",
            "'village'",
        ),
        ("locations.csv", "T03,R,CORR,3.0,0.0,town,0,33112", "T02,R,CORR,3.0,0.0,town,0,33112", "duplicate"),
        (
            "locations.csv",
            "C1,R,CORR,26.0,0.0,camp,0,2000",
            "C1,R,CORR,26.0,0.0,camp,0,-5",
            "column 'pop/cap'",
        ),
        ("locations.csv", "C1,R,CORR,26.0,0.0,camp,0,2000", "C1,R,CORR,26.0,0.0,camp,0,2e3x", "'2e3x'"),
        ("locations.csv", "#name,region", "name,region", "looks like a header"),
        ("sim_period.csv", "StartDate,2020-01-01", "StartDate,2020-13-01", "is not a date"),
    ],
)
def test_bad_input_names_file_line_and_column(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    folder = _copy(tmp_path)
    path = folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(FleeInputError) as exc:
        load_flee_network(folder)
    assert message in str(exc.value)


def test_bad_closures_and_missing_files(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "closures.csv").write_text(
        "#closure_type,name1,name2,closure_start,closure_end\nwall,T01,T02,5,9\n"
    )
    with pytest.raises(FleeInputError, match=r"closures\.csv line 2 column 'closure_type'"):
        load_flee_network(folder)
    (folder / "closures.csv").write_text("link,T01,XX,5,9\n")
    with pytest.raises(FleeInputError, match=r"closures\.csv line 1 column 'name2': unknown location 'XX'"):
        load_flee_network(folder)
    (folder / "routes.csv").unlink()
    with pytest.raises(FleeInputError, match="missing Flee input file"):
        load_flee_network(folder)


def test_flee_reading_rules(tmp_path: Path) -> None:
    """Substring location types, late conflicts start as towns, blank pop/cap, extra columns."""
    folder = _write(
        tmp_path / "n",
        "A,R,X,,,conflict,0,500\nB,R,X,1,2,conflict_zone,30,100\nC,R,Y,0,0,IDP camp,,\n"
        "D,R,X,0,0,forwarding_hub,,\nE,R,X,0,0,default,,\n",
        "A,B,10\nB,C,20,\nC,D,30,2\nD,E,40,0\n",
    )
    (folder / "routes.csv").write_text(
        "#name1,name2,distance,forced_redirection,max_move_speed\nA,B,10,0,200\nB,C,20,,\nC,D,30,2,\nD,E,40,0,\n"
    )
    f = load_flee_network(folder)
    assert f.kind.tolist() == ["conflict_zone", "town", "idpcamp", "forwarding_hub", "town"]
    assert f.capacity[2] == 0  # blank: unlimited
    assert f.foreign.tolist() == [False, False, True, False, False]
    assert f.forced_redirection.tolist() == [0, 0, 2, 0]
    assert f.link_speed_km[:2].tolist() == [200.0, 200.0] and np.isnan(f.link_speed_km[2:]).all()
    assert f.route_attributes[0] == {"max_move_speed": "200"}
    assert f.start_date is None and f.length_days is None


# ------------------------------------------------------------------ movement


def test_people_are_conserved_and_runs_reproduce(corridor_net: FleeNetwork) -> None:
    n = 5_000
    a = run_flee_movement(corridor_net, n, 100, seed=3)
    assert (a.daily_counts.sum(axis=1) + a.daily_in_transit == n).all()
    assert (a.daily_counts >= 0).all()
    assert np.array_equal(np.bincount(a.place[a.link < 0], minlength=30), a.final_counts)
    assert a.agent_steps == n * 100
    b = run_flee_movement(corridor_net, n, 100, seed=3)
    assert np.array_equal(a.daily_counts, b.daily_counts) and np.array_equal(a.place, b.place)


def test_after_100_days_as_in_flee(corridor_net: FleeNetwork) -> None:
    """Flee 3.1 itself leaves ~1% in camps after 100 days here (benchmarks/results); so does the kernel."""
    r = run_flee_movement(corridor_net, 10_000, 100, seed=0)
    share = r.final_counts[corridor_net.camps].sum() / 10_000
    assert 0.003 < share < 0.03
    assert r.final_counts[0] < 100  # the conflict zone empties (move chance 1)
    assert r.final_in_transit == 0  # every link is shorter than a day's 360 km


def test_people_end_up_mostly_in_camps(corridor_net: FleeNetwork) -> None:
    """Given time (1,000 days: Flee's awareness-1 random walk is slow), camps hold most people."""
    n = 1_000
    cap = np.where(corridor_net.capacity > 0, 0.8 * n / 4, -1).astype(np.int64)
    r = run_flee_movement(corridor_net, n, 1_000, seed=0, capacity=cap)
    assert r.final_counts[corridor_net.camps].sum() / n > 0.6
    # Camps fill to where Flee stops admitting (95% of capacity), not beyond it by much.
    assert (r.final_counts[corridor_net.camps] <= cap[corridor_net.camps]).all()


def _filling_network(tmp_path: Path) -> FleeNetwork:
    return load_flee_network(
        _write(
            tmp_path / "fill",
            "A,R,X,0,0,conflict_zone,0,1000\nB,R,X,0,0,town,,100\nC,R,X,0,0,camp,,300\n"
            "D,R,X,0,0,town,,100\nE,R,X,0,0,camp,,600\n",
            "A,B,120\nB,C,80\nB,D,200\nD,E,150\nA,D,300\n",
        )
    )


def test_camp_capacity_rules(tmp_path: Path) -> None:
    f = _filling_network(tmp_path)
    camps = f.camps
    # Flee's rule: nobody sets off toward a camp over 95% full (its multiplier below 0.5) ...
    r = run_flee_movement(f, 2_000, 40, seed=1)
    assert np.nanmax(r.fill_at_departure[camps]) <= 0.95 + 1e-9
    assert (r.daily_counts[:, camps] > 0.95 * f.capacity[camps]).any()  # the camps do fill
    # ... so, as in Flee, a camp can overshoot by those already on their way.
    assert (r.peak_occupancy[camps] > f.capacity[camps]).any()
    # corridor's hard bound: occupancy never above capacity, at any step.
    h = run_flee_movement(f, 2_000, 40, seed=1, rules=FleeRules(hard_capacity=True))
    assert (h.peak_occupancy[camps] <= f.capacity[camps]).all()
    assert (h.daily_counts[:, camps] <= f.capacity[camps]).all()
    assert (h.daily_counts.sum(axis=1) + h.daily_in_transit == 2_000).all()


def test_route_weights_and_move_chances(tmp_path: Path) -> None:
    """From a conflict zone (move chance 1) to two camps: P(X) = (1/110) / (1/110 + 1/310)."""
    f = load_flee_network(
        _write(
            tmp_path / "w",
            "S,R,X,0,0,conflict_zone,0,1\nX,R,X,0,0,camp,,\nY,R,X,0,0,camp,,\n",
            "S,X,100\nS,Y,300\n",
        )
    )
    r = run_flee_movement(f, 40_000, 1, seed=2)
    # Only camp leavers (chance 0.001) come back to S; from Y that is 600 km, a day's travel.
    assert r.final_counts[0] < 40
    p = (1 / 110) / (1 / 110 + 1 / 310)
    assert r.final_counts[1] / 40_000 == pytest.approx(p, abs=0.01)


def test_long_links_carry_people_over_days(tmp_path: Path) -> None:
    f = load_flee_network(
        _write(tmp_path / "long", "S,R,X,0,0,conflict_zone,0,1\nT,R,X,0,0,camp,,\n", "S,T,1000\n")
    )
    r = run_flee_movement(f, 10_000, 4, seed=0)
    # 360 km a day: on the link after days 0 and 1 (720 km), arrived on day 2 (1080 > 1000);
    # from then on only camp leavers (chance 0.001 a day) are on the link.
    assert r.daily_in_transit[:2].tolist() == [10_000, 10_000]
    assert r.daily_counts[:2].sum() == 0
    assert r.daily_in_transit[2] < 40 and r.daily_counts[2, 1] > 9_960


def test_closures(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "c",
        "S,R,X,0,0,conflict_zone,0,1\nX,R,X,0,0,camp,,\nY,R,X,0,0,camp,,\n",
        "S,X,100\nS,Y,300\n",
        closures="link,S,X,0,-1\n",
    )
    r = run_flee_movement(load_flee_network(folder), 1_000, 3, seed=0)
    assert r.final_counts.tolist() == [0, 0, 1_000]
    # A camp closure makes the camp a town (move chance 0.3) for good: X empties into camp Y.
    (folder / "closures.csv").write_text("camp,X,,0,-1\n")
    closed = run_flee_movement(load_flee_network(folder), 1_000, 40, seed=0).final_counts
    (folder / "closures.csv").write_text("camp,X,,30,-1\n")  # not yet in force during 3 days
    still_camp = run_flee_movement(load_flee_network(folder), 1_000, 3, seed=0).final_counts
    assert closed[1] < 50 and closed[2] > 900
    assert still_camp[1] > 600


def test_cli_bench_prints_one_json_line() -> None:
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "flee-network",
            "--flee-input",
            str(DATA),
            "--agents",
            "2000",
            "--days",
            "10",
            "--capacities-for",
            "10000",
        ],
    )
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1
    rec = json.loads(lines[0])
    for key in (
        "machine",
        "versions",
        "n_agents",
        "days",
        "wall_seconds",
        "agent_steps",
        "agent_steps_per_s",
        "peak_rss_bytes",
    ):
        assert key in rec
    assert rec["n_agents"] == 2000 and rec["days"] == 10 and rec["agent_steps"] == 20_000
    assert rec["camp_capacity"] == {"C1": 400, "C2": 400, "C3": 400, "C4": 400}


def test_cli_bench_reports_bad_input(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "routes.csv").write_text("SRC,NOWHERE,10,0\n")
    res = CliRunner().invoke(app, ["bench", "flee-network", "--flee-input", str(folder), "--agents", "10"])
    assert res.exit_code == 2
    assert "unknown location 'NOWHERE'" in res.output
