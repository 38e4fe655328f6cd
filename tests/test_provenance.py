"""Facts recorded beside results (corridor.provenance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.provenance import portable_path, portable_paths


def test_a_record_names_paths_inside_the_working_folder_relatively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo" / "scenarios").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "repo" / "data").symlink_to(tmp_path / "data")
    monkeypatch.chdir(tmp_path / "repo")
    assert portable_path(tmp_path / "repo" / "scenarios" / "x.yaml") == "scenarios/x.yaml"
    assert portable_path("scenarios/../scenarios/x.yaml") == "scenarios/x.yaml"
    assert portable_path("data/observed.csv") == "data/observed.csv"  # a link inside is kept
    outside = tmp_path / "elsewhere" / "y.csv"
    assert portable_path(outside) == str(outside)  # outside: absolute, not ../
    record = {"scenario": str(tmp_path / "repo" / "s.yaml"), "observed_files": [str(outside)], "seed": 1}
    assert portable_paths(record) == {"scenario": "s.yaml", "observed_files": [str(outside)], "seed": 1}
