"""The command line as a new user reads it: --help in words, compare --set, ensemble's result."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from corridor.cli import app

from .conftest import base_scenario_data, write_yaml

runner = CliRunner()
COMMANDS = [
    [],
    ["run"],
    ["compare"],
    ["validate"],
    ["ensemble"],
    ["calibrate"],
    ["forecast"],
    ["backtest"],
    ["sensitivity"],
]
#: What typer shows by default for Python types: a flag's <bool>, <list[Path]>, <%Y-%m-%d>.
PYTHON_TYPES = re.compile(r"<(bool|list\[|path>|%|int|float|str>)|\{[a-z_]+\}|\d\d:\d\d:\d\d")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "corridor")
def test_help_names_values_in_words(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert not PYTHON_TYPES.search(result.output), PYTHON_TYPES.search(result.output)


def test_help_shows_value_names_and_plain_dates() -> None:
    text = runner.invoke(app, ["forecast", "--help"], env={"COLUMNS": "160"}).output
    assert "YYYY-MM[-DD]" in text and "forecast [OPTIONS] SCENARIO " in text
    text = runner.invoke(app, ["compare", "--help"], env={"COLUMNS": "160"}).output
    assert "PATH=VALUE" in text and "SCENARIOS..." in text
    text = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "160"}).output
    assert "2023-12-01" in text and "YYYY-MM-DD" in text


def test_compare_set_overrides_every_scenario(scenario_file: Path, tmp_path: Path) -> None:
    other = write_yaml(tmp_path / "other.yaml", {**base_scenario_data(), "name": "other"})
    out = tmp_path / "cmp"
    args = ["compare", str(scenario_file), str(other), "--seeds", "2", "--agents", "1500"]
    result = runner.invoke(app, [*args, "--set", "horizon.end=2019-03-20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    monthly = pd.read_csv(out / "compare_monthly.csv")
    assert monthly["month"].max() == "2019-03"
    bad = runner.invoke(app, [*args, "--set", "horizon.nope=1", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "horizon.nope" in bad.output
    assert not (tmp_path / "bad").exists()
