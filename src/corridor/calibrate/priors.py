"""Calibrated parameters: dotted path, prior, and pyabc's name and scale for each."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from corridor.scenario import Prior


# ------------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class _Param:
    """A calibrated parameter: its dotted path, prior and pyabc name (``p0``, ``p1``...).

    pyabc samples log-uniform and log-normal priors in the logarithm of the value (its
    perturbation kernels then work on the scale the prior is flat or normal on).
    """

    name: str
    path: str
    prior: Prior

    @property
    def logscale(self) -> bool:
        return self.prior.distribution in ("loguniform", "lognormal")

    def rv(self) -> Any:
        import pyabc

        p = self.prior
        if p.distribution in ("uniform", "loguniform"):
            assert p.low is not None and p.high is not None
            lo, hi = (math.log(p.low), math.log(p.high)) if self.logscale else (p.low, p.high)
            return pyabc.RV("uniform", lo, hi - lo)
        assert p.mean is not None and p.sd is not None
        return pyabc.RV("norm", p.mean, p.sd)

    def value(self, internal: float) -> float:
        """The parameter's value from pyabc's internal coordinate."""
        return float(math.exp(internal)) if self.logscale else float(internal)

    def quantiles(self, qs: Iterable[float]) -> list[float]:
        """Prior quantiles of the value."""
        from scipy import stats

        p = self.prior
        q = np.asarray(list(qs), dtype=float)
        if p.distribution in ("uniform", "loguniform"):
            assert p.low is not None and p.high is not None
            lo, hi = (math.log(p.low), math.log(p.high)) if self.logscale else (p.low, p.high)
            inner = lo + q * (hi - lo)
        else:
            inner = stats.norm.ppf(q, loc=p.mean, scale=p.sd)
        return [self.value(float(v)) for v in inner]


def _params(priors: Mapping[str, Prior | Mapping[str, Any]]) -> list[_Param]:
    out = []
    for i, (path, prior) in enumerate(priors.items()):
        p = prior if isinstance(prior, Prior) else Prior.model_validate(dict(prior))
        out.append(_Param(f"p{i}", str(path), p))
    return out


def prior_sample(
    priors: Mapping[str, Prior | Mapping[str, Any]], n: int, seed: int = 0
) -> list[dict[str, float]]:
    """``n`` draws from the priors, as overrides (dotted path -> value).

    A Latin hypercube over the prior quantiles (scipy's ``qmc.LatinHypercube``, seeded): every
    parameter's prior is covered evenly even with few draws, and the same seed gives the same
    draws (a backtest uses the same draws at every origin).
    """
    from scipy.stats import qmc

    params = _params(priors)
    if n < 1 or not params:
        return [{} for _ in range(max(n, 0))]
    u = qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(seed)).random(n)
    columns = [p.quantiles(u[:, j]) for j, p in enumerate(params)]
    return [{p.path: columns[j][i] for j, p in enumerate(params)} for i in range(n)]


def prior_quantiles(prior: Prior | Mapping[str, Any], qs: Iterable[float]) -> list[float]:
    """Quantiles ``qs`` of one prior distribution (the value, not pyabc's coordinate)."""
    return _params({"value": prior})[0].quantiles(qs)
