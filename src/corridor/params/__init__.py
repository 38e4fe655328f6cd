"""Uncertain parameters and their distributions.

:mod:`corridor.params.posterior` owns the posterior file (``posterior.parquet``): calibration
writes it with :func:`write_posterior`, ensembles and forecasts read it with
:func:`read_posterior`; no workflow imports another for it.
"""

from __future__ import annotations

from corridor.params.posterior import (
    WEIGHT_COLUMN,
    Posterior,
    PosteriorSampling,
    read_posterior,
    write_posterior,
)

__all__ = ["WEIGHT_COLUMN", "Posterior", "PosteriorSampling", "read_posterior", "write_posterior"]
