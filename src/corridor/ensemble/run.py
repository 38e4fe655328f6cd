"""run_ensemble: plan the runs, resume what is done, execute the rest, summarise."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.geography import load_network
from corridor.provenance import versions
from corridor.runner.single import choose_scale
from corridor.scenario import load_scenario
from corridor.scenario.paths import normalise_overrides
from corridor.timeline import compile_timeline

if TYPE_CHECKING:
    from distributed import Client

    from corridor.ensemble.runs import RunOutcome
    from corridor.params.posterior import Posterior, PosteriorSampling
    from corridor.runner.executors import Executor
    from corridor.scenario import Scenario
from corridor.ensemble.execution import _describe_failure, _remove_temporary_files, _run
from corridor.ensemble.manifest import (
    MANIFEST_FORMAT,
    _check_resume,
    _content_sha256,
    _jsonable,
    _now,
    _read_manifest,
    _write_manifest,
)
from corridor.ensemble.runs import ENSEMBLE_LOCK, RunSpec, _ensemble_lock
from corridor.ensemble.summary import QUANTILES, TOTALS_NAME, interval_columns, summarize_ensemble
from corridor.errors import EnsembleError
from corridor.notebook import HEADLINE_OUTCOMES
from corridor.params.posterior import _draw_of, read_posterior
from corridor.runner.executors import DaskExecutor, ProcessExecutor
from corridor.runner.progress import Progress, as_progress


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class EnsembleResult:
    """A finished ensemble, on disk.

    Attributes
    ----------
    out_dir : Path
        The ensemble's folder: ``manifest.json``, ``runs/run=<id>/part.parquet``, ``summary.parquet``.
    manifest : dict
        The contents of ``manifest.json``.
    computed, skipped : tuple of int
        Runs computed by this call, and runs found already written (resumed).
    wall_seconds : float
        Wall time of this call.
    """

    out_dir: Path
    manifest: dict[str, Any]
    computed: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    wall_seconds: float = 0.0
    outcomes: tuple[RunOutcome, ...] = field(default=(), repr=False)

    @property
    def runs_dir(self) -> Path:
        """The partitioned dataset: one ``run=<id>/part.parquet`` per run."""
        return self.out_dir / "runs"

    @property
    def summary_path(self) -> Path:
        """``summary.parquet``: quantiles across runs per metric, date and place."""
        return self.out_dir / "summary.parquet"

    @property
    def n_runs(self) -> int:
        """Number of runs of the ensemble."""
        return len(self.manifest["runs"])

    def partition(self, run: int) -> Path:
        """The Parquet file of run ``run``."""
        return self.runs_dir / f"run={run}" / "part.parquet"

    @property
    def totals_path(self) -> Path:
        """``totals.parquet``: quantiles across runs per metric and date, over all places."""
        return self.out_dir / TOTALS_NAME

    def summary(self) -> pd.DataFrame:
        """The quantile summary per place (see :func:`summarize_ensemble`)."""
        return pd.read_parquet(self.summary_path)

    def totals(self) -> pd.DataFrame:
        """The quantile summary of the totals over all places (see :func:`summarize_ensemble`)."""
        return pd.read_parquet(self.totals_path)

    def main_outcomes(self) -> pd.DataFrame:
        """The main outcomes, each a number per run, and their spread across runs.

        Flows are totalled over the horizon, stocks taken on their peak day (over all places
        and nationalities), in each run; then the median and an interval across runs:
        ``q05``-``q95`` with at least 20 runs, else the range of the runs (``interval``
        says which, see :func:`corridor.ensemble.summary.interval_columns`).

        Returns
        -------
        DataFrame
            One row per outcome: ``outcome, metric, measure, median, low, high, interval``
            (persons).
        """
        names = sorted({metric for _, metric, _ in HEADLINE_OUTCOMES})
        per_run = []
        for spec in self.manifest["runs"]:
            frame = pd.read_parquet(self.partition(int(spec["run"])), columns=["date", "metric", "value"])
            frame = frame[frame["metric"].isin(names)]
            daily = frame.groupby(["metric", "date"], observed=True)["value"].sum()
            row = {}
            for outcome, metric, measure in HEADLINE_OUTCOMES:
                series = daily[metric] if metric in daily.index.get_level_values(0) else pd.Series([0.0])
                row[outcome] = float(series.sum() if measure == "total" else series.max())
            per_run.append(row)
        table = pd.DataFrame(per_run)
        low_col, high_col, label = interval_columns(len(table))
        bounds = {"q05": 0.05, "q95": 0.95}
        rows = []
        for outcome, metric, measure in HEADLINE_OUTCOMES:
            values = table[outcome].to_numpy()
            low = values.min() if low_col == "min" else np.quantile(values, bounds[low_col])
            high = values.max() if high_col == "max" else np.quantile(values, bounds[high_col])
            rows.append(
                {
                    "outcome": outcome,
                    "metric": metric,
                    "measure": "total over the horizon" if measure == "total" else "on the peak day",
                    "median": float(np.median(values)),
                    "low": float(low),
                    "high": float(high),
                    "interval": label,
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """A short summary for notebooks: the main outcomes and where the files are."""
        from corridor.notebook import ensemble_html

        return ensemble_html(self)

    def read_run(self, run: int) -> pd.DataFrame:
        """The tidy table of one run, as :meth:`corridor.Results.to_frame` returned it."""
        return pd.read_parquet(self.partition(run))

    def read_runs(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All runs' tidy tables in one frame, with an integer ``run`` column (memory: all runs)."""
        frame = pd.read_parquet(self.runs_dir, columns=None if columns is None else [*columns, "run"])
        frame["run"] = frame["run"].astype(np.int64)
        return frame


# --------------------------------------------------------------------------- API
def _normalise_overrides(overrides: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    if isinstance(overrides, str):
        raise EnsembleError("overrides: give a mapping or a list of 'dotted.path=value' strings")
    return normalise_overrides(overrides)


def run_ensemble(
    scenario_path: str | Path,
    out_dir: str | Path,
    runs: int,
    *,
    first_seed: int = 0,
    seeds: Sequence[int] | None = None,
    agents: int | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    posterior: str | Path | Posterior | None = None,
    posterior_sampling: PosteriorSampling | None = None,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    progress: Progress | bool | None = None,
    executor: Executor | None = None,
) -> EnsembleResult:
    """Run a scenario many times, write each run as it finishes, then the quantiles across runs.

    Parameters
    ----------
    scenario_path : path
        Scenario YAML file. With a ``scheduler``, the workers must see it (and ``out_dir``)
        at the same absolute path: a shared filesystem.
    out_dir : path
        Output folder: ``manifest.json``, ``runs/run=<id>/part.parquet``, ``summary.parquet``.
        If it already holds this ensemble, finished runs are kept and only missing ones run
        (resume); if it holds another ensemble, or other files, :class:`EnsembleError`.
    runs : int
        Number of runs, ``>= 1``. Resuming with more runs than before extends the ensemble.
    first_seed : int
        Run ``i`` has seed ``first_seed + i`` ...
    seeds : sequence of int, optional
        ... unless the seeds are given, one per run.
    agents, scale : optional
        As for :func:`corridor.simulate` (about how many agents, or persons per agent).
    overrides : mapping or list of "path=value", optional
        Applied to every run.
    posterior : path or Posterior, optional
        Parameter draws: a Parquet or CSV file, one column per dotted scenario path, one row
        per draw, and an optional ``weight`` column (see :func:`read_posterior`). Each run
        applies one draw as overrides. Without it, runs differ by seed only.
    posterior_sampling : {"cycle", "weighted"}, optional
        Which draw a run uses. ``"cycle"``: run ``i`` uses draw ``i mod n_draws`` (the default
        without a ``weight`` column). ``"weighted"``: each run draws one row with probability
        proportional to its weight, using a generator seeded with (a fixed stream key, the
        run's seed, the run id), so a run's draw never depends on the other runs (the default
        with a ``weight`` column).
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``); ignored with a ``scheduler``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a connected Client: one task per
        run is submitted to the cluster (``pure=False``, retried twice; a run whose worker
        dies is rescheduled by Dask).
    progress : Progress, optional
        Told of the runs (:mod:`corridor.runner.progress`); a bool (the old form) means none.
    executor : Executor, optional
        Where the runs go, instead of ``workers``/``scheduler`` (:mod:`corridor.runner`).

    Returns
    -------
    EnsembleResult

    Raises
    ------
    ScenarioError
        If the scenario (with the overrides, and the first posterior draw) is invalid:
        checked once, in this process, before any run starts.
    EnsembleError
        Bad options, a folder holding another ensemble, or runs that failed (the runs that
        finished are kept: call again to retry the others).

    Notes
    -----
    Every run writes its tidy table (:meth:`corridor.Results.to_frame`, unchanged, with the
    run's facts in the Parquet metadata under ``corridor``) to ``runs/run=<id>/part.parquet``
    through a temporary file and one rename: a worker killed mid-run leaves no partition,
    and the run is computed again (by Dask at once, by the local pool after rebuilding it,
    or on resume). Runs are never written twice. Only small records come back to this
    process; the summary reads the partitions from disk (see :func:`summarize_ensemble`).
    """
    started = time.perf_counter()
    scenario_file, target = Path(scenario_path).resolve(), Path(out_dir).resolve()
    seed_list = _seeds(runs, first_seed, seeds, workers)
    base = _normalise_overrides(overrides)
    # Validate everything once, here, before any worker starts.
    scenario, post, sampling, cdf = _check_inputs(
        scenario_file, base, agents, scale, posterior, posterior_sampling
    )
    specs = [
        _spec_of(run, seed, base, post, sampling, cdf, str(scenario_file), agents, scale, target)
        for run, seed in enumerate(seed_list)
    ]
    manifest = _manifest(scenario_file, scenario, specs, agents, scale, base, post, sampling)
    bar = as_progress(progress)
    if executor is None and scheduler is not None:
        with DaskExecutor(scheduler, error=EnsembleError) as dask:
            return _execute(specs, target, manifest, scenario.name, dask, bar, started)
    pool = executor if executor is not None else ProcessExecutor(workers, preload=["corridor.ensemble"])
    return _execute(specs, target, manifest, scenario.name, pool, bar, started)


def _spec_of(
    run: int,
    seed: int,
    base: dict[str, Any],
    post: Posterior | None,
    sampling: PosteriorSampling | None,
    cdf: np.ndarray,
    scenario_file: str,
    agents: int | None,
    scale: float | None,
    target: Path,
) -> RunSpec:
    """Run ``run``: its seed, its posterior draw and every override."""
    draw = None if post is None or sampling is None else _draw_of(run, seed, len(post), sampling, cdf)
    return RunSpec(
        run=run,
        seed=seed,
        draw=draw,
        overrides={**base, **(post.draws[draw] if post is not None and draw is not None else {})},
        scenario_path=scenario_file,
        agents=agents,
        scale=scale,
        partition=str(target / "runs" / f"run={run}" / "part.parquet"),
    )


def _seeds(runs: int, first_seed: int, seeds: Sequence[int] | None, workers: int | None) -> list[int]:
    """The seed of every run, checked (and the number of workers)."""
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        raise EnsembleError(f"runs must be a whole number >= 1 (got {runs!r})")
    if seeds is not None:
        seed_list = [int(s) for s in seeds]
        if len(seed_list) != runs:
            raise EnsembleError(f"seeds: {len(seed_list)} given for {runs} runs")
    else:
        seed_list = [first_seed + i for i in range(runs)]
    if any(s < 0 for s in seed_list):
        raise EnsembleError("seeds must be >= 0")
    if workers is not None and workers < 1:
        raise EnsembleError(f"workers must be >= 1 (got {workers})")
    return seed_list


def _check_inputs(
    scenario_file: Path,
    base: dict[str, Any],
    agents: int | None,
    scale: float | None,
    posterior: str | Path | Posterior | None,
    posterior_sampling: PosteriorSampling | None,
) -> tuple[Scenario, Posterior | None, PosteriorSampling | None, np.ndarray]:
    """The scenario, the posterior, its sampling and the CDF of its weights, all checked
    (the scenario with the first draw too) before any run starts."""
    scenario = load_scenario(scenario_file, base)
    network = load_network()
    choose_scale(compile_timeline(scenario, network), agents, scale)
    post = read_posterior(posterior) if isinstance(posterior, str | Path) else posterior
    sampling: PosteriorSampling | None = None
    cdf = np.ones(1)
    if post is not None:
        clash = sorted(set(post.columns) & set(base))
        if clash:
            raise EnsembleError(
                f"overrides and posterior both set {', '.join(clash)}: give each in one place"
            )
        sampling = posterior_sampling or ("weighted" if post.weights is not None else "cycle")
        if sampling == "weighted":
            if post.weights is None:
                raise EnsembleError(f"posterior {post.path}: weighted sampling needs a 'weight' column")
            cdf = np.cumsum(post.weights)
        compile_timeline(load_scenario(scenario_file, {**base, **post.draws[0]}), network)
    elif posterior_sampling is not None:
        raise EnsembleError("posterior_sampling needs a posterior")
    return scenario, post, sampling, cdf


def _manifest(
    scenario_file: Path,
    scenario: Scenario,
    specs: list[RunSpec],
    agents: int | None,
    scale: float | None,
    base: dict[str, Any],
    post: Posterior | None,
    sampling: PosteriorSampling | None,
) -> dict[str, Any]:
    """The ensemble's ``manifest.json``, before any run."""
    return {
        "format": MANIFEST_FORMAT,
        "scenario": {
            "path": str(scenario_file),
            "name": scenario.name,
            "sha256": scenario.sha256,
            "content_sha256": _content_sha256(scenario),
            "horizon": {"start": scenario.horizon.start.isoformat(), "end": scenario.horizon.end.isoformat()},
        },
        "options": {"agents": agents, "scale": scale, "overrides": _jsonable(base)},
        "posterior": None
        if post is None
        else {
            "path": str(post.path),
            "sha256": post.sha256,
            "draws": len(post),
            "columns": post.columns,
            "weighted": post.weights is not None,
            "sampling": sampling,
        },
        "runs": [s.describe() for s in specs],
        "versions": versions(),
        "created": _now(),
        "updated": _now(),
        "complete": False,
        "summary": None,
    }


def _execute(
    specs: list[RunSpec],
    target: Path,
    manifest: dict[str, Any],
    name: str,
    executor: Executor,
    progress: Progress,
    started: float,
) -> EnsembleResult:
    """Check or start the folder, run what is missing, summarise (the body of :func:`run_ensemble`).

    All of it holds the folder's ``.ensemble.lock``: a second ensemble on the folder is refused.
    """
    _refuse_foreign(target)  # before putting a lock file in someone else's folder
    target.mkdir(parents=True, exist_ok=True)
    with _ensemble_lock(target):
        return _execute_locked(specs, target, manifest, name, executor, progress, started)


def _refuse_foreign(target: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None for a new folder; refuse a folder holding other files."""
    old = _read_manifest(target) if target.exists() else None
    if old is None and target.exists() and any(p.name != ENSEMBLE_LOCK for p in target.iterdir()):
        raise EnsembleError(
            f"{target} exists and holds no ensemble manifest; use a new or empty output folder"
        )
    return old


def _execute_locked(
    specs: list[RunSpec],
    target: Path,
    manifest: dict[str, Any],
    name: str,
    executor: Executor,
    progress: Progress,
    started: float,
) -> EnsembleResult:
    old = _refuse_foreign(target)
    if old is not None:
        _check_resume(target, old, manifest)
        manifest["created"] = old.get("created", manifest["created"])
    _write_manifest(target, manifest)  # first: a folder with other files and no manifest is foreign
    (target / "runs").mkdir(exist_ok=True)

    done = [s.run for s in specs if Path(s.partition).exists()]
    todo = [s for s in specs if not Path(s.partition).exists()]
    _remove_temporary_files(todo)  # of runs killed earlier
    outcomes, failed = _run(todo, executor, progress, name, len(done))
    if failed:
        lines = [
            f"  run {run} (seed {specs[run].seed}): {_describe_failure(exc)}"
            for run, exc in sorted(failed.items())
        ]
        raise EnsembleError(
            f"{len(failed)} of {len(specs)} runs failed; the {len(specs) - len(failed)} others are written. "
            "Run the same command again to retry the failed runs.\n" + "\n".join(lines)
        )

    _remove_temporary_files(specs)  # of workers killed while writing, their runs since redone
    summary = summarize_ensemble(target, runs=[s.run for s in specs])
    manifest["complete"] = True
    manifest["updated"] = _now()
    manifest["summary"] = {
        "path": summary.name,
        "totals_path": TOTALS_NAME,
        "runs": len(specs),
        "quantiles": QUANTILES,
        "method": "numpy.quantile, linear; a run's missing rows count as 0",
    }
    _write_manifest(target, manifest)
    computed = tuple(sorted(o.run for o in outcomes if o.computed))
    return EnsembleResult(
        out_dir=target,
        manifest=manifest,
        computed=computed,
        skipped=tuple(sorted(set(done) | {o.run for o in outcomes if not o.computed})),
        wall_seconds=time.perf_counter() - started,
        outcomes=tuple(sorted(outcomes, key=lambda o: o.run)),
    )
