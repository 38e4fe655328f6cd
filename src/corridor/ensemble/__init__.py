"""Ensembles: many runs of one scenario, over seeds and parameter draws, and their quantiles.

:func:`run_ensemble` is ``corridor ensemble``::

    import corridor
    ens = corridor.run_ensemble("scenarios/mexico-2019.yaml", "runs/2019-ensemble", runs=100,
                                agents=50_000, workers=8)
    ens.summary()          # median, 50% and 90% bands per metric, date and place
    ens.totals()           # the same over all places
    ens.main_outcomes()    # totals over the horizon and peaks, median and interval across runs
    ens.read_runs()        # every run's tidy table, with a ``run`` column

Each run is one (seed, parameter draw) pair and one call of :func:`corridor.simulate` in a
worker process (a local process pool, or the workers of a Dask cluster). Its tidy table is
written as soon as it finishes, atomically, to ``OUT/runs/run=<id>/part.parquet`` (a Parquet
dataset partitioned Hive-style by run): a run killed half-way leaves no file, never half a
file, and a run is never written twice. Re-running the same command resumes: runs whose
partition exists are skipped. ``OUT/manifest.json`` describes the ensemble (scenario digest,
options, the seed and overrides of every run) and guards a folder against being resumed with
another scenario or other options. ``OUT/summary.parquet`` holds the quantiles across runs
per place, ``OUT/totals.parquet`` those of the totals over all places (apart, so that no sum
counts twice); :meth:`EnsembleResult.main_outcomes` the main outcomes with their interval.
``docs/cluster.md`` shows how to run an ensemble on a Dask cluster.

A run is computed holding an exclusive lock on ``OUT/runs/run=<id>/.run.lock``: a run that
another live process is computing is waited for, not computed again. ``OUT/.ensemble.lock``
keeps two ensembles from writing one folder at once. Local workers die with the process
that started them (:mod:`corridor.runner.workers`).
"""

from __future__ import annotations

from corridor.ensemble.manifest import MANIFEST_FORMAT
from corridor.ensemble.run import EnsembleResult, run_ensemble
from corridor.ensemble.runs import ENSEMBLE_LOCK, RUN_LOCK, RunSpec
from corridor.ensemble.summary import QUANTILES, TOTALS_NAME, interval_columns, summarize_ensemble
from corridor.errors import EnsembleError, RunError
from corridor.params.posterior import Posterior, read_posterior

__all__ = [
    "ENSEMBLE_LOCK",
    "MANIFEST_FORMAT",
    "QUANTILES",
    "RUN_LOCK",
    "TOTALS_NAME",
    "EnsembleError",
    "EnsembleResult",
    "Posterior",
    "RunError",
    "RunSpec",
    "interval_columns",
    "read_posterior",
    "run_ensemble",
    "summarize_ensemble",
]
