"""The posterior file (``posterior.parquet``): its one owner.

A posterior file holds parameter draws: one row per draw, one column per dotted scenario
path (as for ``--set``), and an optional ``weight`` column of non-negative relative weights.
:func:`write_posterior` writes one atomically (``corridor calibrate``); :func:`read_posterior`
reads and checks one (``corridor ensemble`` and ``corridor forecast``); :func:`_draw_of`
chooses the draw of each run of an ensemble.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from corridor.atomic import write_atomically
from corridor.errors import EnsembleError

#: Column of a posterior file holding the relative weight of each draw.
WEIGHT_COLUMN = "weight"
#: Entropy mixed into the generator of weighted posterior resampling, so that it is
#: independent of the simulation's own generator seeded with the same seed.
_DRAW_STREAM = 0x636F7272_69646F72  # "corridor"

PosteriorSampling = Literal["cycle", "weighted"]


# --------------------------------------------------------------------------- posterior
@dataclass(frozen=True, eq=False)
class Posterior:
    """Parameter draws read from a file: one row per draw, one column per dotted scenario path.

    Attributes
    ----------
    path : Path
        The file read.
    sha256 : str
        Digest of the file's bytes.
    columns : list of str
        Dotted scenario paths (``behaviour.settle_share``), the override of each draw.
    draws : list of dict
        Per draw, ``{path: value}`` with plain Python values.
    weights : ndarray or None
        Relative weight of each draw, from the optional ``weight`` column.
    """

    path: Path
    sha256: str
    columns: list[str]
    draws: list[dict[str, Any]]
    weights: npt.NDArray[np.float64] | None

    def __len__(self) -> int:
        return len(self.draws)


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as a plain Python value (JSON- and pydantic-friendly)."""
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _checked(frame: pd.DataFrame, file: Path) -> tuple[list[str], npt.NDArray[np.float64] | None]:
    """The parameter columns and weights of a posterior table, or :class:`EnsembleError`."""
    columns = [str(c) for c in frame.columns if str(c) != WEIGHT_COLUMN]
    if not columns:
        raise EnsembleError(f"posterior {file}: no parameter columns (dotted scenario paths)")
    if frame.empty:
        raise EnsembleError(f"posterior {file}: no draws (rows)")
    for col in columns:
        if not col or any(not part for part in col.split(".")):
            raise EnsembleError(f"posterior {file}: column {col!r} is not a dotted scenario path")
        if col.split(".")[0] == "horizon":
            raise EnsembleError(
                f"posterior {file}: column {col!r}: the runs of an ensemble share the horizon"
            )
    empty = frame[columns].isna()
    if empty.to_numpy().any():
        row, col = np.argwhere(empty.to_numpy())[0]
        raise EnsembleError(f"posterior {file}: draw {row} has no value for {columns[col]!r}")
    weights: npt.NDArray[np.float64] | None = None
    if WEIGHT_COLUMN in frame.columns:
        try:
            weights = frame[WEIGHT_COLUMN].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise EnsembleError(f"posterior {file}: column 'weight' is not numeric") from None
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not weights.sum() > 0:
            raise EnsembleError(f"posterior {file}: weights must be finite, non-negative and not all zero")
    return columns, weights


def read_posterior(path: str | Path) -> Posterior:
    """Read parameter draws from a Parquet or CSV file.

    Parameters
    ----------
    path : path
        ``.parquet`` / ``.pq`` (Parquet) or ``.csv``. Every column but ``weight`` is a dotted
        scenario path (as for ``--set``); each row is one draw. ``weight`` (optional) holds
        non-negative relative weights.

    Returns
    -------
    Posterior

    Raises
    ------
    EnsembleError
        If the file cannot be read, has no draws or parameters, holds empty cells, or bad weights.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
        if file.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        elif file.suffix.lower() == ".csv":
            frame = pd.read_csv(file)
        else:
            raise EnsembleError(f"posterior {file}: expected a .parquet or .csv file")
    except (OSError, ValueError, pa.ArrowException) as exc:
        if isinstance(exc, EnsembleError):
            raise
        raise EnsembleError(f"cannot read posterior {file}: {exc}") from None
    columns, weights = _checked(frame, file)
    draws = [
        {col: _plain(value) for col, value in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False, name=None)
    ]
    return Posterior(
        path=file.resolve(),
        sha256=hashlib.sha256(data).hexdigest(),
        columns=columns,
        draws=draws,
        weights=weights,
    )


def write_posterior(path: str | Path, draws: pd.DataFrame, weights: npt.ArrayLike | None = None) -> Path:
    """Write parameter draws as a posterior file, atomically (see :func:`read_posterior`).

    Parameters
    ----------
    path : path
        ``.parquet`` / ``.pq`` (Parquet) or ``.csv``.
    draws : DataFrame
        One row per draw, one column per dotted scenario path; a ``weight`` column is used
        when ``weights`` is not given.
    weights : array-like, optional
        Relative weight of each draw (written as given).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    EnsembleError
        If the draws would not read back: no draws or parameters, empty cells, bad weights,
        a column that is not a dotted path, or another file type.
    """
    file = Path(path)
    frame = draws.reset_index(drop=True).copy()
    frame.columns = [str(c) for c in frame.columns]
    if weights is not None:
        frame[WEIGHT_COLUMN] = np.asarray(weights, dtype=np.float64)
    columns, w = _checked(frame, file)
    frame = frame[columns] if w is None else frame[columns].assign(**{WEIGHT_COLUMN: w})
    suffix = file.suffix.lower()
    if suffix in (".parquet", ".pq"):
        write_atomically(file, lambda fh: frame.to_parquet(fh, index=False))
    elif suffix == ".csv":
        data = frame.to_csv(index=False).encode("utf-8")
        write_atomically(file, lambda fh: fh.write(data))
    else:
        raise EnsembleError(f"posterior {file}: expected a .parquet or .csv file")
    return file


def _draw_of(
    run: int, seed: int, n_draws: int, sampling: PosteriorSampling, cdf: npt.NDArray[np.float64]
) -> int:
    """Index of the posterior draw used by ``run`` (see :func:`run_ensemble`)."""
    if sampling == "cycle":
        return run % n_draws
    u = np.random.default_rng([_DRAW_STREAM, seed, run]).random()
    return min(int(np.searchsorted(cdf, u * cdf[-1], side="right")), n_draws - 1)
