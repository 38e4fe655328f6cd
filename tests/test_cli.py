"""The ``corridor`` command: a run writes its outputs; a bad scenario exits 2 and writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app

from .conftest import set_path, write_yaml

runner = CliRunner()
SMALL = ["--agents", "1500", "--quiet"]


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flat(text: str) -> str:
    """Rich wraps long lines: compare with whitespace collapsed."""
    return " ".join(text.split())


def test_run_writes_outputs(tmp_path: Path, scenario_file: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", scenario_file, "--out", out, "--seed", "4", *SMALL)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # --quiet
    assert sorted(p.name for p in out.iterdir()) == ["daily.parquet", "metrics.csv", "routes.csv", "run.json"]
    meta = json.loads((out / "run.json").read_text())
    assert meta["seed"] == 4
    assert meta["options"]["agents"] == 1500 and meta["options"]["scenario_path"] == str(scenario_file)
    assert meta["identity_check"]["holds"] is True
    frame = pd.read_parquet(out / "daily.parquet")
    assert list(frame.columns) == ["date", "metric", "kind", "place", "nationality", "value"]


def test_run_prints_a_summary(tmp_path: Path, scenario_file: Path) -> None:
    result = invoke("run", scenario_file, "--out", tmp_path / "o", "--scale", "20")
    assert result.exit_code == 0, result.output
    text = flat(result.stdout)
    assert "arrivals" in text and "holds" in text and "daily.parquet" in text


def test_same_seed_twice_gives_byte_identical_parquet(tmp_path: Path, scenario_file: Path) -> None:
    for name, seed in (("a", "9"), ("b", "9"), ("c", "10")):
        result = invoke("run", scenario_file, "--out", tmp_path / name, "--seed", seed, *SMALL)
        assert result.exit_code == 0, result.output
    a, b, c = (sha(tmp_path / n / "daily.parquet") for n in "abc")
    assert a == b
    assert c != a


def test_set_overrides_reach_the_run(tmp_path: Path, scenario_file: Path) -> None:
    out = tmp_path / "o"
    sets = ["--set", "policy.us_apprehension_probability=0", "--set", "horizon.end=2019-03-20"]
    result = invoke("run", scenario_file, "--out", out, *sets, *SMALL)
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "daily.parquet")
    assert pd.DatetimeIndex(frame["date"]).max() == pd.Timestamp("2019-03-20")
    # No encounters: the metric is present, zero every day.
    assert (frame.loc[frame["metric"] == "us_encounters", "value"] == 0).all()
    meta = json.loads((out / "run.json").read_text())
    assert meta["options"]["set"] == ["policy.us_apprehension_probability=0", "horizon.end=2019-03-20"]
    plain = corridor.load_scenario(scenario_file)
    assert meta["scenario_sha256"] != plain.sha256


def test_default_output_folder_is_runs_slash_name(
    tmp_path: Path, scenario_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", scenario_file, *SMALL)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "small" / "daily.parquet").is_file()


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert corridor.__version__ in result.stdout


# ----------------------------------------------------------------- bad scenarios: exit 2, nothing written


def typo(data: dict[str, Any]) -> None:
    data["policy"]["raid_probabilty_per_day"] = data["policy"].pop("raid_probability_per_day")


def bad_event_path(data: dict[str, Any]) -> None:
    data["events"] = [
        {"date": "2019-03-05", "name": "ok", "set": {"bus_south_share": 0.5}},
        {"date": "2019-03-10", "name": "typo", "set": {"checkpoint_intensty.Chiapas": 6}},
    ]


BAD = {
    "unknown-key": (typo, [], ["policy.raid_probabilty_per_day", "line", "unknown key"]),
    "wrong-type": (
        lambda d: set_path(d, "policy.detention_mean_stay_days", "long"),
        [],
        ["policy.detention_mean_stay_days"],
    ),
    "negative": (lambda d: set_path(d, "inflows.1.persons_per_day", -3), [], ["inflows.1.persons_per_day"]),
    "unknown-entry-place": (
        lambda d: set_path(d, "inflows.0.entry", {"Tapachla": 1.0}),
        [],
        ["inflows.0.entry.Tapachla", "Tapachula"],
    ),
    "unknown-nationality": (
        lambda d: set_path(d, "policy.deportation_share", {"default": 0.5, "Hondurass": 1.0}),
        [],
        ["policy.deportation_share.Hondurass"],
    ),
    "bad-event-path": (bad_event_path, [], ["events.1.set.checkpoint_intensty"]),
    "end-before-start": (
        lambda d: set_path(d, "horizon", {"start": "2019-03-10", "end": "2019-03-01"}),
        [],
        ["horizon", "before start"],
    ),
    "set-typo": (
        lambda d: None,
        ["--set", "policy.bus_south_shar=0.5"],
        ["policy.bus_south_shar", "unknown key"],
    ),
    "set-bad-value": (lambda d: None, ["--set", "policy.bus_south_share=2"], ["policy.bus_south_share"]),
    "set-malformed": (lambda d: None, ["--set", "policy.bus_south_share"], ["dotted.path=value"]),
    "agents-and-scale": (lambda d: None, ["--scale", "3"], ["agents or scale"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_scenario_exits_2_names_the_field_and_writes_nothing(
    tmp_path: Path, scenario_data: dict[str, Any], case: str
) -> None:
    change, extra, words = BAD[case]
    change(scenario_data)
    path = write_yaml(tmp_path / "bad.yaml", scenario_data)
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out, "--agents", "500", *extra)
    assert result.exit_code == 2, result.output
    err = flat(result.stderr)
    assert "error" in err
    for w in words:
        assert w in err, (w, err)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_missing_scenario_file_exits_2(tmp_path: Path) -> None:
    result = invoke("run", tmp_path / "nope.yaml", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "cannot read" in flat(result.stderr)
    assert not (tmp_path / "out").exists()


def test_bad_scenario_through_the_real_entry_point(tmp_path: Path, scenario_data: dict[str, Any]) -> None:
    """The installed script path: a separate process, the real stderr, the real exit code."""
    typo(scenario_data)
    path = write_yaml(tmp_path / "bad.yaml", scenario_data)
    out = tmp_path / "out"
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        [sys.executable, "-m", "corridor.cli", "run", str(path), "--out", str(out), "--agents", "500"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "policy.raid_probabilty_per_day" in flat(proc.stderr)
    assert not out.exists()
    assert not (tmp_path / "runs").exists()
