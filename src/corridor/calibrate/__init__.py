"""Calibration: fit a scenario's uncertain parameters to the observed data with ABC-SMC (pyabc).

:func:`calibrate` takes the priors of a scenario (its ``priors:`` section, or given), and
runs approximate Bayesian computation by sequential Monte Carlo (pyabc's ``ABCSMC``):

- **model**: :func:`corridor.simulate` with the drawn values as overrides, a few thousand
  agents, a fresh seed per evaluation (seed noise is part of the likelihood);
- **summary statistics**: the simulated value of every observed row inside the horizon,
  computed exactly as :func:`corridor.evidence.validate` computes it (same mapping, same
  aggregation, same held-out filter: outcomes for periods ending on or after 2023-12-01
  are never read);
- **distance**: the mean absolute log ratio ``|log(sim + 1) - log(obs + 1)|`` over the rows
  (counts of very different sizes weigh alike), one-sided for minimum and maximum counts
  as in evidence; for ``change`` rows ``|log((1 + sim) / (1 + obs))|``;
- **resumable**: every generation is stored in a SQLite database in the output folder;
  running again with the same output folder continues the same ABC run (the same pyabc
  run id) after its last completed generation, at the epsilon an uninterrupted run would
  use (``budget`` counts all simulations in the database, earlier sessions included); a
  database that is not a readable pyabc database is refused (:class:`CalibrationError`);
- **reproducible**: with ``seed`` (and one worker) a calibration gives the same posterior
  however often it was interrupted and resumed;
- **parallel**: local cores by default (pyabc's multicore sampler), or a Dask cluster given
  its scheduler address (pyabc's ``DaskDistributedSampler``).

It writes the posterior (``posterior.parquet``: one row per particle, one column per
dotted parameter path, plus ``weight``, the format :func:`corridor.run_ensemble` reads),
a calibrated scenario (a variant of the original, ``base:`` + ``changes:`` at the
posterior medians, naming the posterior file), ``calibration.json`` (generations,
posterior and prior quantiles) and, as a posterior predictive check, the validation of
the calibrated scenario (``validation/``) and of runs drawn from the posterior
(``predictive/``). See docs/calibration.md.
"""

from __future__ import annotations

from corridor.calibrate.calibrated import write_calibrated_scenario
from corridor.calibrate.distance import LogRatioDistance, log_ratio_distance
from corridor.calibrate.result import CalibrationResult, weighted_quantile
from corridor.calibrate.session import calibrate
from corridor.errors import CalibrationError

__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "LogRatioDistance",
    "calibrate",
    "log_ratio_distance",
    "weighted_quantile",
    "write_calibrated_scenario",
]
