"""Random draws shared by a group.

Members of a family or travel group who are together should decide, be caught and be
released together. Drawing one uniform per group and gathering it would cost an array the
size of all groups each time; instead a counter-based hash (SplitMix64's finaliser) maps
(group id, key) to a uniform in [0, 1). The key is drawn from the run's Generator for each
use, so every draw still derives from the one seed and a run is reproducible bit for bit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["group_uniform", "new_key"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def new_key(rng: np.random.Generator) -> np.uint64:
    """A fresh 64-bit key from the run's generator."""
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))


def group_uniform(groups: npt.NDArray[np.integer], key: np.uint64) -> npt.NDArray[np.float64]:
    """One uniform in [0, 1) per element, equal for equal group ids under the same key."""
    with np.errstate(over="ignore"):
        x = groups.astype(np.uint64) * _GOLDEN + key
        x ^= x >> np.uint64(30)
        x *= _M1
        x ^= x >> np.uint64(27)
        x *= _M2
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
