"""The one error score of simulated against observed values (``docs/evidence.md``, "Scores").

Validation (:class:`~corridor.evidence.ValidationResult`) and calibration (the ABC distance,
:func:`corridor.calibrate.log_ratio_distance`) both score a simulated value ``sim`` against
an observed value ``obs`` with :func:`log_errors`:

- the **log ratio** is ``log(max(sim, 1) / max(obs, 1))`` for counts (values are floored at
  one person, so that zeros stay finite), and ``log((1 + sim) / (1 + obs))`` for ``change``
  statistics (fractions; undefined where either ``1 + x`` is not positive);
- the **log error** is ``|log ratio|`` for an exact observation (``count``); a ``minimum``
  is missed only from below (``max(-ratio, 0)``), a ``maximum`` only from above
  (``max(ratio, 0)``);
- an **undefined** value (a non-finite ``sim`` or ``obs``, an undefined change) has an
  undefined (NaN) error. Validation leaves it out of the median (:func:`scores`);
  calibration counts it as :data:`UNDEFINED_PENALTY` (:func:`mean_log_error`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "COUNT",
    "FLOOR",
    "MAXIMUM",
    "MINIMUM",
    "OBSERVATION_CODES",
    "UNDEFINED_PENALTY",
    "inside_interval",
    "log_errors",
    "log_ratio",
    "mean_log_error",
    "observation_codes",
    "one_sided_error",
    "scores",
]

#: Counts below one person are floored at one in log ratios (keeps them finite).
FLOOR: Final = 1.0
#: What an undefined error costs in the calibration distance (a log error of 5 is a factor
#: of about 150: worse than any defined miss one can expect).
UNDEFINED_PENALTY: Final = 5.0

#: Codes of the kinds of observation (``observation`` column of the observed data).
COUNT: Final = 0
MINIMUM: Final = 1
MAXIMUM: Final = 2
OBSERVATION_CODES: Final[dict[str, int]] = {"count": COUNT, "minimum": MINIMUM, "maximum": MAXIMUM}

FloatArray = npt.NDArray[np.float64]


def observation_codes(observations: Iterable[str]) -> npt.NDArray[np.int8]:
    """The codes (:data:`COUNT`, :data:`MINIMUM`, :data:`MAXIMUM`) of observation kinds."""
    return np.array([OBSERVATION_CODES[str(o)] for o in observations], dtype=np.int8)


def log_ratio(sim: npt.ArrayLike, obs: npt.ArrayLike, change: npt.ArrayLike) -> FloatArray:
    """The log ratio of simulated to observed values (NaN where undefined; see the module)."""
    s = np.asarray(sim, dtype=np.float64)
    o = np.asarray(obs, dtype=np.float64)
    is_change = np.asarray(change, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        counts = np.log(np.maximum(s, FLOOR) / np.maximum(o, FLOOR))
        a, b = 1.0 + s, 1.0 + o
        fractions = np.where((a > 0) & (b > 0), np.log(a / b), np.nan)
    ratio = np.where(is_change, fractions, counts)
    return np.where(np.isfinite(s) & np.isfinite(o) & np.isfinite(ratio), ratio, np.nan)


def one_sided_error(ratio: npt.ArrayLike, codes: npt.ArrayLike) -> FloatArray:
    """The log error of a log ratio: absolute, or one-sided for minimum and maximum."""
    r = np.asarray(ratio, dtype=np.float64)
    c = np.asarray(codes)
    with np.errstate(invalid="ignore"):
        low = np.where(np.isfinite(r), np.maximum(-r, 0.0), np.nan)
        high = np.where(np.isfinite(r), np.maximum(r, 0.0), np.nan)
    return np.where(c == MINIMUM, low, np.where(c == MAXIMUM, high, np.abs(r)))


def log_errors(
    sim: npt.ArrayLike, obs: npt.ArrayLike, change: npt.ArrayLike, codes: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """``(log ratio, log error)`` of simulated against observed values, element by element.

    Parameters
    ----------
    sim, obs : array-like of float
        Simulated and observed values.
    change : array-like of bool
        Which values are ``change`` statistics (fractions) rather than counts.
    codes : array-like of int
        The kind of each observation (:func:`observation_codes`).
    """
    ratio = log_ratio(sim, obs, change)
    return ratio, one_sided_error(ratio, codes)


def mean_log_error(errors: npt.ArrayLike, penalty: float = UNDEFINED_PENALTY) -> float:
    """The mean log error, an undefined error counting as ``penalty`` (0 for no values)."""
    e = np.asarray(errors, dtype=np.float64)
    e = np.where(np.isfinite(e), e, penalty)
    return float(e.mean()) if e.size else 0.0


def inside_interval(q05: float, q95: float, obs: float, code: int) -> bool:
    """Whether the simulated 90% interval holds the observed value (reaches it, for a
    minimum or maximum)."""
    if code == MINIMUM:
        return bool(q95 >= obs)
    if code == MAXIMUM:
        return bool(q05 <= obs)
    return bool(q05 <= obs <= q95)


def scores(frame: pd.DataFrame) -> dict[str, Any]:
    """The summary scores of compared rows (``log_error`` and ``inside`` columns): their
    number, the median of the defined log errors and the share inside the 90% interval."""
    err = frame["log_error"].to_numpy(dtype=float)
    finite = err[np.isfinite(err)]
    return {
        "observations": len(frame),
        "median_abs_log_error": float(np.median(finite)) if finite.size else None,
        "share_inside_90": float(frame["inside"].mean()) if len(frame) else None,
    }
