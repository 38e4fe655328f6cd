"""Random draws shared by a group.

Members of a family or travel group who are together should decide, be caught and be
released together. Drawing one uniform per group and gathering it would cost an array the
size of all groups each time; instead a counter-based hash (SplitMix64's finaliser) maps
(group id, key) to a uniform in [0, 1). The key is drawn from the run's Generator for each
use, so every draw still derives from the one seed and a run is reproducible bit for bit.

Both functions run dozens of times a day on arrays of a few dozen elements, so their cost
is NumPy's per-call overhead, not the arithmetic: they use as few NumPy calls as they can
(in-place operations, constants built once), and give the same bits as the plain formulas.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["group_uniform", "new_key"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30, _SHIFT_27, _SHIFT_31, _SHIFT_11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53: 53 random bits to a double in [0, 1)
_EMPTY = np.empty(0, dtype=np.float64)


def new_key(rng: np.random.Generator) -> np.uint64:
    """A fresh 64-bit key from the run's generator.

    The key is ``rng.integers(0, 2**63, dtype=np.int64)``. With NumPy's default bit
    generator (PCG64) that draw is exactly one raw 64-bit output shifted right by one bit
    (Lemire's bounded method with a range of 2**63 never rejects), so it is taken from the
    bit generator directly: the same number and the same state afterwards, at a third of
    the cost. Other bit generators go through ``integers``.
    """
    bits = rng.bit_generator
    if type(bits) is np.random.PCG64:
        return np.uint64(bits.random_raw() >> 1)
    return np.uint64(rng.integers(0, 2**63, dtype=np.int64))


def group_uniform(groups: npt.NDArray[np.integer], key: np.uint64) -> npt.NDArray[np.float64]:
    """One uniform in [0, 1) per element, equal for equal group ids under the same key."""
    if groups.size == 0:
        return _EMPTY.copy()
    # Unsigned array arithmetic wraps modulo 2**64 without a warning (only NumPy scalars
    # warn), which is the hash's arithmetic.
    x = groups.astype(np.uint64)
    x *= _GOLDEN
    x += key
    shifted = np.empty_like(x)
    x ^= np.right_shift(x, _SHIFT_30, out=shifted)
    x *= _M1
    x ^= np.right_shift(x, _SHIFT_27, out=shifted)
    x *= _M2
    x ^= np.right_shift(x, _SHIFT_31, out=shifted)
    x >>= _SHIFT_11
    out = x.astype(np.float64)
    out *= _TO_UNIT
    return out
