"""The ABC distance between simulated and observed values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Contribution of a row whose simulated value is undefined (a ``change`` from zero).
NAN_PENALTY = 5.0


# ------------------------------------------------------------------------- distance
def log_ratio_distance(
    sim: npt.NDArray[np.float64],
    obs: npt.NDArray[np.float64],
    kinds: npt.NDArray[np.int8],
    change: npt.NDArray[np.bool_],
) -> float:
    """Mean absolute log ratio between simulated and observed values.

    Counts: ``|log(sim + 1) - log(obs + 1)|``; ``change`` rows (fractions):
    ``|log((1 + sim) / (1 + obs))|``. ``kinds`` 1 (minimum counts) and 2 (maximum counts)
    are one-sided, as in :mod:`corridor.evidence`: only too few (too many) is an error.
    Undefined values cost :data:`NAN_PENALTY`.
    """
    sim = np.asarray(sim, dtype=float)
    obs = np.asarray(obs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.log1p(np.maximum(sim, 0.0)) - np.log1p(np.maximum(obs, 0.0))
        fractions = np.log((1.0 + sim) / (1.0 + obs))
    ratio = np.where(change, fractions, counts)
    error = np.where(
        kinds == 1, np.maximum(-ratio, 0.0), np.where(kinds == 2, np.maximum(ratio, 0.0), np.abs(ratio))
    )
    error = np.where(np.isfinite(error), error, NAN_PENALTY)
    return float(error.mean()) if error.size else 0.0


class LogRatioDistance:
    """pyabc distance (wrapped as a function distance): :func:`log_ratio_distance` on the
    summary statistic ``y``; a draw that gave no valid scenario is infinitely far."""

    def __init__(self, kinds: npt.NDArray[np.int8], change: npt.NDArray[np.bool_]) -> None:
        self.kinds = np.asarray(kinds, dtype=np.int8)
        self.change = np.asarray(change, dtype=bool)

    def __call__(
        self, x: dict[str, Any], x_0: dict[str, Any], t: int | None = None, par: dict[str, Any] | None = None
    ) -> float:
        sim = np.asarray(x["y"], dtype=float)
        if sim.shape != self.kinds.shape or not np.isfinite(sim).any():
            return float("inf")  # the draw gave no valid scenario
        return log_ratio_distance(sim, np.asarray(x_0["y"], dtype=float), self.kinds, self.change)
