"""The posterior file (corridor.params.posterior): one owner for writing and reading it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import corridor.ensemble
from corridor.errors import CorridorError, EnsembleError
from corridor.params import WEIGHT_COLUMN, read_posterior, write_posterior


def _draws() -> pd.DataFrame:
    return pd.DataFrame(
        {"inflow_multiplier": [0.8, 1.0, 1.3], "behaviour.continue_probability": [0.2, 0.25, 0.3]}
    )


@pytest.mark.parametrize("name", ["posterior.parquet", "posterior.csv"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = write_posterior(tmp_path / name, _draws(), weights=[1.0, 2.0, 1.0])
    post = read_posterior(path)
    assert post.columns == ["inflow_multiplier", "behaviour.continue_probability"]
    assert len(post) == 3
    assert post.draws[2] == {"inflow_multiplier": 1.3, "behaviour.continue_probability": 0.3}
    assert all(type(v) is float for d in post.draws for v in d.values())  # plain Python values
    assert post.weights is not None and list(post.weights) == [1.0, 2.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_weights_from_the_weight_column_and_none(tmp_path: Path) -> None:
    frame = _draws().assign(**{WEIGHT_COLUMN: [0.25, 0.25, 0.5]})
    post = read_posterior(write_posterior(tmp_path / "w.parquet", frame))
    assert post.weights is not None and post.weights.sum() == pytest.approx(1.0)
    assert WEIGHT_COLUMN not in post.columns
    unweighted = read_posterior(write_posterior(tmp_path / "u.parquet", _draws()))
    assert unweighted.weights is None


def test_ensemble_reexports_the_same_reader() -> None:
    assert corridor.ensemble.read_posterior is read_posterior
    from corridor.params import Posterior

    assert corridor.ensemble.Posterior is Posterior


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"inflow_multiplier": [1.0, np.nan]}), "draw 1 has no value"),
        (pd.DataFrame({"a..b": [1.0]}), "not a dotted scenario path"),
        (pd.DataFrame({"horizon.end": ["2019-05-01"]}), "share the horizon"),
        (pd.DataFrame({WEIGHT_COLUMN: [1.0]}), "no parameter columns"),
        (pd.DataFrame({"x": [1.0, 2.0], WEIGHT_COLUMN: [-1.0, 2.0]}), "non-negative"),
        (pd.DataFrame({"x": [1.0, 2.0], WEIGHT_COLUMN: [0.0, 0.0]}), "not all zero"),
        (pd.DataFrame({"x": pd.Series([], dtype=float)}), "no draws"),
    ],
)
def test_malformed_posterior_is_refused(tmp_path: Path, frame: pd.DataFrame, match: str) -> None:
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)  # written around write_posterior, as another tool might
    with pytest.raises(CorridorError, match=match):
        read_posterior(path)
    with pytest.raises(EnsembleError, match=match):  # and never written by corridor
        write_posterior(tmp_path / "again.parquet", frame)
    assert not (tmp_path / "again.parquet").exists()


def test_unreadable_and_wrong_kind_of_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a posterior")
    with pytest.raises(CorridorError, match=r"expected a \.parquet or \.csv file"):
        read_posterior(text)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"\x00\x01 not parquet")
    with pytest.raises(CorridorError, match="cannot read posterior"):
        read_posterior(garbage)
    with pytest.raises(CorridorError, match="cannot read posterior"):
        read_posterior(tmp_path / "missing.parquet")
