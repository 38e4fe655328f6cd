"""The ABC distance between simulated and observed values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from corridor.evidence.score import UNDEFINED_PENALTY, log_errors, mean_log_error

#: Contribution of a row whose simulated value is undefined (a ``change`` from zero).
NAN_PENALTY = UNDEFINED_PENALTY


# ------------------------------------------------------------------------- distance
def log_ratio_distance(
    sim: npt.NDArray[np.float64],
    obs: npt.NDArray[np.float64],
    kinds: npt.NDArray[np.int8],
    change: npt.NDArray[np.bool_],
) -> float:
    """Mean log error between simulated and observed values: the validation's score.

    Each row's log error is :func:`corridor.evidence.score.log_errors` (floor of one person
    for counts; ``change`` rows as fractions; ``kinds``, codes from
    :func:`~corridor.evidence.score.observation_codes`, make minimum and maximum
    observations one-sided). Undefined errors cost :data:`NAN_PENALTY`. See
    ``docs/evidence.md``, "Scores".
    """
    _, error = log_errors(sim, obs, change, kinds)
    return mean_log_error(error, NAN_PENALTY)


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
