"""Flee 3.1 conflicts with corridor's Flee kernel: inputs, daily spawning, closures, out.csv, ARD."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from corridor.cli import app
from corridor.errors import FleeInputError
from corridor.flee.conflict import FleeConflict, load_flee_conflict
from corridor.flee.run import FleeConflictRun, flee_ard, out_csv_text, run_flee_conflict, write_out_csv
from corridor.flee.settings import read_simsetting

MINI = Path(__file__).parent / "data" / "flee-conflict-mini"


def _load(folder: Path = MINI) -> FleeConflict:
    return load_flee_conflict(
        folder / "input_csv",
        folder / "source_data",
        folder / "input_csv" / "sim_period.csv",
        folder / "simsetting.yml",
    )


@pytest.fixture(scope="module")
def mini() -> FleeConflict:
    return _load()


@pytest.fixture(scope="module")
def mini_run(mini: FleeConflict) -> FleeConflictRun:
    return run_flee_conflict(mini, seed=3)


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "mini"
    shutil.copytree(MINI, dest)
    for f in dest.rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)
    return dest


def test_reads_the_conflict_folder(mini: FleeConflict) -> None:
    s = mini.settings
    assert s.rules.max_move_speed_km == 200.0 and s.rules.camp_weight == 2.0
    assert s.rules.conflict_weight == 0.25 and s.rules.avoid_short_stints
    assert s.conflict_spawn_decay == (1.0, 0.8, 0.6) and s.insert_day0 and s.hasten == 1
    assert s.decay(0) == 1.0 and s.decay(30) == 0.8 and s.decay(500) == 0.6
    assert [mini.network.names[c] for c in mini.camps] == ["C1", "C2", "C3"]
    assert mini.days == 90 and mini.start_date.isoformat() == "2020-01-01"
    assert mini.conflicts is not None and sorted(mini.conflicts) == ["A1", "A2", "A3"]
    # A2 is a conflict zone from day 20 in locations.csv: a town until then (Flee's rule).
    assert mini.network.kind[mini.network.names.index("A2")] == "town"
    # registration_corrections.csv: C1's counts before 2020-02-10 (1800) are scaled by 1800/900.
    c1 = mini.data.series("C1", 90)
    assert c1[0] == 600 and c1[20] == 1800 and c1[40] == 1800 and c1[89] == 4166
    # Flee's interpolation: int(old + (day - old_day) / (new_day - old_day) * (new - old)).
    total = mini.data.series("total", 90)
    assert total[0] == 600 and total[10] == 1300 and total[20] == 2000 and total[89] == 8933
    assert mini.data.series("C3", 200)[-1] == 2000  # after the last entry: the last count


def test_spawning_follows_the_registration_total(mini: FleeConflict, mini_run: FleeConflictRun) -> None:
    total = mini.data.series("total", 90)
    day0_camps = 600 + 200 + 100
    # Camps start at their day-0 counts; from day 1, each day adds the day's rise in the total.
    assert mini_run.agents.tolist() == (day0_camps + total - total[0]).tolist()
    assert mini_run.raw.tolist() == total.tolist()
    assert mini_run.spawned[0] == 0 and mini_run.spawned.sum() == total[-1] - total[0]
    assert (mini_run.debt == 0).all()


def test_later_conflict_zones_spawn_only_while_in_conflict(
    mini: FleeConflict, mini_run: FleeConflictRun
) -> None:
    names = mini.network.names
    at = mini_run.spawned_at
    a1, a2, a3 = (names.index(n) for n in ("A1", "A2", "A3"))
    assert at[1:, a1].min() > 0
    assert at[:20, a2].sum() == 0 and at[20:, a2].sum() > 0  # conflicts.csv starts A2 on day 20
    assert at[:40, a3].sum() == 0 and at[70:, a3].sum() == 0  # A3 from day 40, removed on day 70
    assert at[40:70, a3].sum() > 0
    others = [i for i in range(len(names)) if i not in (a1, a2, a3)]
    assert at[:, others].sum() == 0


def test_debt_when_the_total_falls(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "source_data" / "refugees.csv").write_text("2020-01-01,600\n2020-01-11,400\n2020-01-21,700\n")
    r = run_flee_conflict(_load(folder), seed=0, days=25)
    # Flee's refugee_debt: a fall is paid back before anyone new is spawned.
    assert r.spawned[:11].sum() == 0 and r.debt[10] == 200
    assert r.agents[-1] == 900 + 100
    assert r.raw.tolist()[:3] == [600, 580, 560]


def test_camp_closure_acts_on_its_dates(tmp_path: Path, mini_run: FleeConflictRun) -> None:
    c2 = mini_run.camps.index("C2")
    folder = _copy(tmp_path)
    (folder / "input_csv" / "closures.csv").write_text(
        "#closure_type,name1,name2,closure_start,closure_end\n"
    )
    open_run = run_flee_conflict(_load(folder), seed=3)
    # Same run up to day 29 apart from randomness; while closed (days 30-59) C2 is a town with
    # move chance 0.3 and empties; from day 60 it is a camp again and fills.
    closed, kept = mini_run.sim[:, c2], open_run.sim[:, c2]
    assert closed[29] > 0.7 * kept[29]
    assert closed[45] < 0.1 * kept[45] and closed[59] < 0.1 * kept[59]
    assert closed[89] > 5 * closed[59]


def test_closure_kinds_act_as_in_flee(tmp_path: Path, mini_run: FleeConflictRun) -> None:
    folder = _copy(tmp_path)
    (folder / "input_csv" / "closures.csv").write_text(
        "#closure_type,name1,name2,closure_start,closure_end\n"
        "country,Aland,Bland,0,-1\nremove_forced_redirection,T3,C2,0,-1\nidpcamp,C3,,0,-1\n"
    )
    r = run_flee_conflict(_load(folder), seed=1, days=40)
    # The border closed for good: nobody new reaches the camps in Bland (C1 and C2 keep their
    # day-0 people, bar the few who move between them); C3, a town now (move chance 0.3, no camp
    # weight), holds far fewer than as an IDP camp.
    assert r.sim[-1, 0] + r.sim[-1, 1] <= 800
    assert r.sim[39, 2] < 0.6 * mini_run.sim[39, 2]


def test_out_csv_has_flee_columns(tmp_path: Path, mini_run: FleeConflictRun) -> None:
    path = write_out_csv(mini_run, tmp_path / "out")
    lines = path.read_text().splitlines()
    assert lines[0] == (
        "Day,Date,C1 sim,C1 data,C1 error,C2 sim,C2 data,C2 error,C3 sim,C3 data,C3 error,Total error,"
        "refugees in camps (UNHCR),total refugees (simulation),raw UNHCR refugee count,"
        "refugees in camps (simulation),refugee_debt"
    )
    assert len(lines) == 91 and lines[1].startswith("0,2020-01-01,")
    last = lines[-1].split(",")
    assert last[0] == "89" and last[1] == "2020-03-30"
    sim = [int(last[i]) for i in (2, 5, 8)]
    assert int(last[15]) == sum(sim) and int(last[12]) == 4166 + 2780 + 1986 and int(last[14]) == 8933
    assert [f.name for f in path.parent.iterdir()] == ["out.csv"]  # no temporary file left


def test_ard_formula_by_hand(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text(
        "Day,Date,A sim,A data,A error,B sim,B data,B error,Total error,refugees in camps (UNHCR),"
        "total refugees (simulation),raw UNHCR refugee count,refugees in camps (simulation),refugee_debt\n"
        "0,d,10,20,0.5,30,20,0.5,0,40,50,40,40,0\n"
        "1,d,0,0,0,0,0,0,0,0,5,0,0,0\n"
    )
    # Day 0: normal (|10-20| + |30-20|) / 40 = 0.5; rescaled: S = D = 40, so the same 0.5.
    # Day 1: nothing registered, nothing in camps: 0 / max(0, 1) = 0.  Mean over days: 0.25.
    assert flee_ard(out) == {"rescaled": 0.25, "normal": 0.25, "days": 2}
    out.write_text(
        "Day,Date,A sim,A data,A error,Total error,refugees in camps (UNHCR),total refugees (simulation),"
        "raw UNHCR refugee count,refugees in camps (simulation),refugee_debt\n"
        "0,d,30,20,0.5,0,20,30,20,30,0\n"
    )
    # normal |30 - 20| / 20 = 0.5; rescaled: 30 * 20 / 30 = 20, |20 - 20| / 20 = 0.
    assert flee_ard(out) == {"rescaled": 0.0, "normal": 0.5, "days": 1}


def test_ard_of_a_run_matches_its_out_csv(tmp_path: Path, mini_run: FleeConflictRun) -> None:
    path = write_out_csv(mini_run, tmp_path)
    d = np.maximum(mini_run.data.sum(axis=1), 1)
    normal = float(np.mean(np.abs(mini_run.sim - mini_run.data).sum(axis=1) / d))
    assert flee_ard(path)["normal"] == pytest.approx(normal, rel=1e-9)
    assert out_csv_text(mini_run) == path.read_text()


def test_settings(tmp_path: Path) -> None:
    yml = tmp_path / "s.yml"
    yml.write_text("move_rules:\n  max_move_speed: 100\n  fixed_routes: true\nnew_section: 1\n")
    s = read_simsetting(yml)
    assert s.rules.max_move_speed_km == 100 and s.rules.default_move_chance == 0.3
    assert len(s.warnings) == 2 and "move_rules.fixed_routes" in s.warnings[1]
    yml.write_text("move_rules:\n  start_on_foot: true\n")
    with pytest.raises(FleeInputError, match=r"start_on_foot = True is not supported"):
        read_simsetting(yml)
    yml.write_text("move_rules:\n  awareness_level: 2\n")
    with pytest.raises(FleeInputError, match=r"awareness_level"):
        read_simsetting(yml)
    yml.write_text("move_rules:\n  camp_weight: lots\n")
    with pytest.raises(FleeInputError, match=r"camp_weight = 'lots' is not a number"):
        read_simsetting(yml)
    yml.write_text("spawn_rules:\n  insert_day0: 'no'\n")
    with pytest.raises(FleeInputError, match=r"expected true or false"):
        read_simsetting(yml)


def test_hasten_scales_everything_down(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "simsetting.yml").read_text().replace("hasten: 1", "hasten: 10")
    (folder / "simsetting.yml").write_text(text)
    c = _load(folder)
    assert c.data.series("total", 90)[-1] == 893 and c.data.series("C1", 1)[0] == 60
    assert c.network.capacity[c.network.names.index("C1")] == 600
    r = run_flee_conflict(c, seed=0)
    assert r.agents[-1] == 60 + 20 + 10 + 893 - 60


def test_bad_conflict_inputs(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "input_csv" / "registration_corrections.csv").write_text("C1,2020-02-11\n")
    with pytest.raises(
        FleeInputError, match=r"registration_corrections\.csv line 1: C1 has no entry on 2020-02-11"
    ):
        _load(folder)
    (folder / "input_csv" / "registration_corrections.csv").write_text("C9,2020-02-10\n")
    with pytest.raises(FleeInputError, match=r"'C9' is not in data_layout\.csv"):
        _load(folder)
    (folder / "input_csv" / "registration_corrections.csv").unlink()
    (folder / "source_data" / "data_layout.csv").write_text("total,refugees.csv\nC1,C1.csv\nC2,C2.csv\n")
    with pytest.raises(FleeInputError, match=r"no entry 'C3'"):
        _load(folder)
    (folder / "source_data" / "data_layout.csv").write_text(
        "total,refugees.csv\nC1,C1.csv\nC2,C2.csv\nC3,C3.csv\n"
    )
    (folder / "source_data" / "C2.csv").write_text("2020-01-01,200\n2020-13-01,5\n")
    with pytest.raises(FleeInputError, match=r"C2\.csv line 2: '2020-13-01' is not a date"):
        _load(folder)
    shutil.copy(MINI / "source_data" / "C2.csv", folder / "source_data" / "C2.csv")
    (folder / "input_csv" / "conflicts.csv").write_text("#Day,A1,Z9\n0,1,0\n")
    with pytest.raises(FleeInputError, match=r"'Z9' is not a location"):
        _load(folder)
    (folder / "input_csv" / "conflicts.csv").write_text("#Day,A1\n0,1\n")
    with pytest.raises(FleeInputError, match=r"A1 has 1 day"):
        _load(folder)


def test_cli_flee_run_and_validate(tmp_path: Path) -> None:
    i = MINI / "input_csv"
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "flee",
            "run",
            str(i),
            str(MINI / "source_data"),
            str(i / "sim_period.csv"),
            str(MINI / "simsetting.yml"),
            "--out",
            str(tmp_path / "o"),
            "--days",
            "20",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "ARD rescaled" in res.output and (tmp_path / "o" / "out.csv").is_file()
    res = runner.invoke(app, ["flee", "validate", str(tmp_path / "o" / "out.csv")])
    assert res.exit_code == 0 and '"rescaled"' in res.output and '"days": 20' in res.output
    res = runner.invoke(app, ["flee", "validate", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2 and "missing" in res.output
    res = runner.invoke(
        app, ["flee", "run", str(i), str(tmp_path), str(i / "sim_period.csv"), str(MINI / "simsetting.yml")]
    )
    assert res.exit_code == 2 and "data_layout.csv" in res.output


def test_avoid_short_stints(tmp_path: Path) -> None:
    from corridor.flee import load_flee_network
    from corridor.flee.kernel import run_flee_movement
    from corridor.flee.rules import FleeRules

    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "locations.csv").write_text(
        "#name,region,country,gps_x,gps_y,location_type,conflict_date,pop/cap\n"
        "S,R,A,0,0,conflict_zone,0,1\nT,R,A,0,0,town,,1\nX,R,A,0,0,camp,,\n"
    )
    (folder / "routes.csv").write_text("#name1,name2,distance\nS,T,10\nT,X,500\n")
    net = load_flee_network(folder)
    # Everyone walks 10 km to T on day 0 with most of the day left. Flee's rule: travelled under
    # half a day's speed over two days -> leave a town for sure; without it, stay with 0.7.
    plain = run_flee_movement(net, 2_000, 1, seed=0, rules=FleeRules(max_move_speed_km=200))
    stints = run_flee_movement(
        net, 2_000, 1, seed=0, rules=FleeRules(max_move_speed_km=200, avoid_short_stints=True)
    )
    assert plain.final_counts[1] > 1_000
    # (they bounce S-T-S until a day's 200 km are used up, ending at S, or set off toward X)
    assert stints.final_counts[1] == 0 and stints.final_in_transit > plain.final_in_transit


def test_kernel_refuses_an_unknown_closure_kind(mini: FleeConflict) -> None:
    import dataclasses

    from corridor.flee.kernel import run_flee_movement
    from corridor.flee.network import Closure

    bogus = dataclasses.replace(mini.network, closures=[Closure("bogus", "A1", "", 0, -1)])
    with pytest.raises(FleeInputError, match="unknown closure type 'bogus'"):
        run_flee_movement(bogus, 10, 1)
