"""simulate() and write_run(): options, daily.parquet and run.json, atomic output."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import corridor
import corridor.runner.single as run_module
from corridor.errors import ScenarioError
from corridor.scenario.loading import validate_data

from .conftest import base_scenario_data

TIDY_COLUMNS = ["date", "metric", "kind", "place", "nationality", "value"]


@pytest.fixture(scope="module")
def file_results(tmp_path_factory: pytest.TempPathFactory, network: corridor.Network) -> corridor.Results:
    """The small scenario run from a YAML file (so it has a sha256), seed 7."""
    from .conftest import write_yaml

    path = write_yaml(tmp_path_factory.mktemp("scenario") / "small.yaml", base_scenario_data())
    return corridor.simulate(path, seed=7, agents=2000, network=network)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- simulate


def test_simulate_from_a_path_with_overrides(scenario_file: Path, network: corridor.Network) -> None:
    results = corridor.simulate(
        scenario_file,
        seed=3,
        agents=1500,
        overrides={"policy.us_apprehension_probability": 0.0, "horizon.end": "2019-03-25"},
        network=network,
    )
    assert len(results.dates) == 25
    assert results.total("us_encounters").sum() == 0
    info = results.info
    assert info["seed"] == 3 and info["scenario"] == "small" and info["days"] == 25
    assert info["scenario_sha256"] != hashlib.sha256(scenario_file.read_bytes()).hexdigest()
    assert info["agents"] == pytest.approx(1500, rel=0.1)
    assert info["wall_seconds"] > 0 and info["peak_rss_bytes"] > 10_000_000


def test_simulate_rejects_overrides_with_a_scenario_object(network: corridor.Network) -> None:
    sc = validate_data(base_scenario_data())
    with pytest.raises(ScenarioError, match="overrides"):
        corridor.simulate(sc, overrides={"policy.bus_south_share": 1.0}, network=network)


@pytest.mark.parametrize(
    "options",
    [{"agents": 100, "scale": 2.0}, {"scale": 0.0}, {"scale": -1.0}, {"agents": 0}],
    ids=["both", "zero-scale", "negative-scale", "zero-agents"],
)
def test_bad_size_options(network: corridor.Network, options: dict[str, Any]) -> None:
    sc = validate_data(base_scenario_data())
    with pytest.raises(ScenarioError):
        corridor.simulate(sc, network=network, **options)


def test_simulate_uses_the_shipped_network_by_default(file_results: corridor.Results) -> None:
    assert len(file_results.places) == 69


# --------------------------------------------------------------------------- write_run


def test_write_run_outputs(tmp_path: Path, file_results: corridor.Results) -> None:
    options = {"seed": 7, "agents": 2000, "set": ["a=1"]}
    out = corridor.write_run(file_results, tmp_path / "out" / "run1", options)
    assert out == (tmp_path / "out" / "run1").resolve()
    assert sorted(p.name for p in out.iterdir()) == ["daily.parquet", "metrics.csv", "routes.csv", "run.json"]

    table = pq.read_table(out / "daily.parquet")
    assert table.column_names == TIDY_COLUMNS
    assert pa.types.is_timestamp(table.schema.field("date").type)
    assert table.schema.field("value").type == pa.float64()
    frame = pd.read_parquet(out / "daily.parquet")
    assert list(frame.columns) == TIDY_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert frame["value"].dtype == np.float64
    expected = file_results.to_frame()
    assert len(frame) == len(expected)
    assert set(frame["metric"].astype(str)) == set(expected["metric"].astype(str))
    sums = frame.groupby(frame["metric"].astype(str))["value"].sum()
    for name in ("arrivals", "present", "exits", "detention_capacity"):
        assert sums[name] == pytest.approx(file_results.total(name).sum())
    assert pd.DatetimeIndex(frame["date"]).min() == file_results.dates[0]

    meta = json.loads((out / "run.json").read_text())
    assert meta["versions"]["corridor"] == corridor.__version__
    assert meta["scenario_sha256"] == file_results.info["scenario_sha256"]
    assert isinstance(meta["scenario_sha256"], str) and len(meta["scenario_sha256"]) == 64
    assert meta["seed"] == 7
    assert meta["options"] == options
    assert meta["wall_seconds"] > 0
    assert meta["peak_rss_bytes"] > 0
    assert meta["identity_check"]["holds"] is True
    assert meta["identity_check"]["days_checked"] == len(file_results.dates)
    assert meta["outputs"]["daily.parquet"]["rows"] == len(frame)
    assert meta["scale_persons_per_agent"] == pytest.approx(file_results.scale)


def test_same_seed_gives_a_byte_identical_parquet(
    tmp_path: Path, scenario_file: Path, network: corridor.Network
) -> None:
    digests = []
    for i, seed in enumerate((11, 11, 12)):
        results = corridor.simulate(scenario_file, seed=seed, agents=1500, network=network)
        out = corridor.write_run(results, tmp_path / f"run{i}", {"seed": seed})
        digests.append(sha(out / "daily.parquet"))
    assert digests[0] == digests[1]
    assert digests[2] != digests[0]


def test_write_run_replaces_previous_output_and_leaves_no_temporaries(
    tmp_path: Path, file_results: corridor.Results
) -> None:
    target = tmp_path / "out"
    corridor.write_run(file_results, target, extra={"monthly.csv": lambda p: p.write_text("old")})
    assert sorted(p.name for p in target.iterdir()) == [
        "daily.parquet",
        "metrics.csv",
        "monthly.csv",
        "routes.csv",
        "run.json",
    ]
    corridor.write_run(file_results, target)
    # The earlier run's monthly.csv belonged to it: a rerun without it leaves none behind.
    assert sorted(p.name for p in target.iterdir()) == [
        "daily.parquet",
        "metrics.csv",
        "routes.csv",
        "run.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_run_refuses_a_folder_holding_other_files(
    tmp_path: Path, file_results: corridor.Results
) -> None:
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    with pytest.raises(corridor.OutputError, match=r"thesis.tex.*nothing was changed"):
        corridor.write_run(file_results, target)
    assert sorted(p.name for p in target.iterdir()) == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]
    # A folder of run-like names without the run.json marker is not recognised as a run either.
    lookalike = tmp_path / "lookalike"
    lookalike.mkdir()
    (lookalike / "daily.parquet").write_text("someone else's table")
    with pytest.raises(corridor.OutputError, match=r"holds no run\.json"):
        corridor.write_run(file_results, lookalike)
    assert (lookalike / "daily.parquet").read_text() == "someone else's table"


def test_write_run_with_force_writes_beside_other_files_and_keeps_them(
    tmp_path: Path, file_results: corridor.Results
) -> None:
    target = tmp_path / "project"
    (target / "src").mkdir(parents=True)
    (target / "README.md").write_text("mine")
    (target / "src" / "code.py").write_text("x = 1")
    out = corridor.write_run(file_results, target, force=True)
    assert out == target.resolve()
    assert sorted(p.name for p in target.iterdir()) == [
        "README.md",
        "daily.parquet",
        "metrics.csv",
        "routes.csv",
        "run.json",
        "src",
    ]
    assert (target / "README.md").read_text() == "mine"
    assert (target / "src" / "code.py").read_text() == "x = 1"
    corridor.write_run(file_results, target, force=True)  # again: still nothing of theirs touched
    assert sorted(p.name for p in target.iterdir()) == [
        "README.md",
        "daily.parquet",
        "metrics.csv",
        "routes.csv",
        "run.json",
        "src",
    ]


def test_write_run_into_the_current_folder_never_renames_it(
    tmp_path: Path, file_results: corridor.Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    inode = here.stat().st_ino
    corridor.write_run(file_results, ".")
    corridor.write_run(file_results, ".")
    assert here.stat().st_ino == inode  # the same folder, not a replacement
    assert Path.cwd().resolve() == here.resolve()
    assert sorted(p.name for p in here.iterdir()) == [
        "daily.parquet",
        "metrics.csv",
        "routes.csv",
        "run.json",
    ]


def test_interrupted_write_keeps_the_previous_output(
    tmp_path: Path, file_results: corridor.Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    corridor.write_run(file_results, target, {"first": True})
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(run_module.pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        corridor.write_run(file_results, target, {"first": False})
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    fresh = tmp_path / "never"
    with pytest.raises(OSError, match="disk full"):
        corridor.write_run(file_results, fresh)
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------- the shipped scenario


def test_shipped_scenario_writes_a_valid_run(tmp_path: Path, shipped_run: dict[str, Any]) -> None:
    results = shipped_run["results"]
    out = corridor.write_run(results, tmp_path / "mexico-2019")
    meta = json.loads((out / "run.json").read_text())
    assert meta["identity_check"]["holds"] is True
    assert meta["scenario"] == "mexico-2019"
    assert meta["days"] == 365
    frame = pd.read_parquet(out / "daily.parquet")
    assert set(frame["nationality"].astype(str)) <= {*results.nationalities, "all"}
    assert len(results.nationalities) == 10
    june = frame[(frame["metric"] == "arrivals") & (pd.DatetimeIndex(frame["date"]).month == 6)]
    assert june["value"].sum() > 0
