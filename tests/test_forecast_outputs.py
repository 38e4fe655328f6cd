"""Where `corridor forecast` writes: under runs/ by default, never over a file git tracks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from corridor.cli import app
from corridor.errors import OutputError
from corridor.forecast import check_forecast_target
from corridor.outputs import tracked_by_git

from .conftest import base_scenario_data, write_yaml

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def _earlier_forecast(path: Path) -> None:
    pd.DataFrame({"series": ["mx_returns"]}).to_parquet(path)
    path.with_suffix(".json").write_text(json.dumps({"methods": []}))


@needs_git
def test_a_forecast_tracked_by_git_is_replaced_only_with_force(tmp_path: Path) -> None:
    shipped = tmp_path / "forecasts" / "f.parquet"
    shipped.parent.mkdir()
    _earlier_forecast(shipped)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "forecasts")
    _git(tmp_path, "commit", "-q", "-m", "ship a forecast")
    assert tracked_by_git(shipped) and tracked_by_git(shipped.with_suffix(".json"))
    with pytest.raises(OutputError, match=r"tracked by git.*--force"):
        check_forecast_target(shipped)
    check_forecast_target(shipped, force=True)
    # An earlier forecast that is not tracked may be replaced (re-running a command).
    mine = tmp_path / "runs" / "f.parquet"
    mine.parent.mkdir()
    _earlier_forecast(mine)
    assert not tracked_by_git(mine)
    check_forecast_target(mine)
    assert not tracked_by_git(tmp_path / "absent.parquet")


def test_cli_forecast_writes_under_runs_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = write_yaml(tmp_path / "small.yaml", base_scenario_data())
    targets = tmp_path / "targets.csv"
    targets.write_text("series,geography,breakdown\nmx_returns,Mexico,\n")
    monkeypatch.chdir(tmp_path)
    args = ["forecast", str(scenario), "--targets", str(targets), "--start", "2019-03", "--end", "2019-03"]
    result = CliRunner().invoke(app, [*args, "--runs", "2", "--agents", "2000", "--workers", "1"])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "runs").iterdir())
    assert len(written) == 2 and all(p.startswith("runs/") and "-forecast." in p for p in written)
    assert not (tmp_path / "forecasts").exists()
