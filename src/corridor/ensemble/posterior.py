"""The posterior file, re-exported: its format is owned by :mod:`corridor.params.posterior`."""

from __future__ import annotations

from corridor.params.posterior import WEIGHT_COLUMN as WEIGHT_COLUMN
from corridor.params.posterior import Posterior as Posterior
from corridor.params.posterior import PosteriorSampling as PosteriorSampling
from corridor.params.posterior import read_posterior as read_posterior

__all__ = ["WEIGHT_COLUMN", "Posterior", "PosteriorSampling", "read_posterior"]
