"""SALib's design and indices: run_sensitivity and SensitivityResult."""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from corridor.report import MAIN_OUTCOMES
from corridor.runner.executors import make_executor
from corridor.runner.progress import Progress, ProgressCallback
from corridor.scenario import load_scenario

if TYPE_CHECKING:
    from corridor.sensitivity.parameters import Parameter
from corridor.errors import SensitivityError
from corridor.sensitivity.evaluation import DEFAULT_AGENTS, _evaluate_all
from corridor.sensitivity.parameters import _fixed, check_parameters, default_parameters, parameter_overrides

#: Morris grid levels (SALib's default).
NUM_LEVELS = 4
Method = Literal["morris", "sobol"]
# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class SensitivityResult:
    """What :func:`run_sensitivity` found.

    Attributes
    ----------
    method : "morris" or "sobol"
    parameters : list of Parameter
    samples : DataFrame
        One row per evaluation: the drawn value of each parameter (columns named by
        ``Parameter.path``), then each outcome.
    baseline : Series
        The outcomes of the scenario as is (same seed and agents).
    indices : DataFrame
        One row per (outcome, parameter): ``rank`` (1 = moves the outcome most), ``score``
        (see the module doc), and the method's indices (Morris ``mu``, ``mu_star``,
        ``mu_star_conf``, ``sigma``, ``mu_star_rel``; Sobol ``S1``, ``S1_conf``, ``ST``,
        ``ST_conf``), with the outcome's ``baseline`` and ``std`` over the sample.
    info : dict
        Scenario, seed, agents, evaluations, wall seconds, the options.
    """

    method: Method
    parameters: list[Parameter]
    samples: pd.DataFrame
    baseline: pd.Series
    indices: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def outcomes(self) -> list[str]:
        """The outcomes analysed, in report order."""
        return list(self.baseline.index)

    def scores(self) -> pd.DataFrame:
        """Scores as parameter (rows, most influential overall first) x outcome (columns)."""
        table = self.indices.pivot(index="parameter", columns="outcome", values="score")
        table = table.loc[:, self.outcomes]
        order = table.max(axis=1).sort_values(ascending=False, kind="stable").index
        return table.loc[order]

    def top(self, n: int = 3) -> pd.DataFrame:
        """Per outcome, its ``n`` highest-scoring parameters (rows: outcome, rank)."""
        best = self.indices[self.indices["rank"] <= n]
        return (
            best.set_index(["outcome", "rank"])
            .loc[self.outcomes]
            .sort_index(level="rank", sort_remaining=False)
        )

    def ranking_table(self, n: int = 3) -> pd.DataFrame:
        """Outcome (rows) x rank (columns 1..n): ``parameter (score)``, for printing.

        A ``~`` after the score marks a Morris effect within seed noise; outcomes constant
        over the sample read ``(constant)``.
        """
        n = min(n, len(self.parameters))
        constant = set(self.constant_outcomes())
        rows: dict[str, list[str]] = {}
        for outcome in self.outcomes:
            if outcome in constant:
                rows[outcome] = ["(constant)"] + [""] * (n - 1)
                continue
            part = self.indices[self.indices.outcome == outcome].sort_values("rank").head(n)
            cells = []
            for _, r in part.iterrows():
                noisy = "above_noise" in r and not bool(r["above_noise"]) and pd.notna(r["mu_star_noise"])
                cells.append(f"{r['parameter']} ({r['score']:.2f}{'~' if noisy else ''})")
            rows[outcome] = cells + [""] * (n - len(cells))
        table = pd.DataFrame.from_dict(rows, orient="index", columns=[str(k) for k in range(1, n + 1)])
        table.index.name = "outcome"
        return table

    def constant_outcomes(self) -> list[str]:
        """Outcomes that did not change over the sample (scored 0 for every parameter)."""
        return [o for o in self.outcomes if not self.samples[o].std() > 0]


def _problem(parameters: Sequence[Parameter]) -> dict[str, Any]:
    return {
        "num_vars": len(parameters),
        "names": [p.path for p in parameters],
        "bounds": [[p.low, p.high] for p in parameters],
    }


def _sample(method: Method, problem: dict[str, Any], n: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return np.asarray(morris_sample.sample(problem, n, num_levels=NUM_LEVELS, seed=seed), dtype=float)
    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "N should be a power of 2": documented
        return np.asarray(sobol_sample.sample(problem, n, calc_second_order=False, seed=seed), dtype=float)


def _analyse(
    method: Method, problem: dict[str, Any], x: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    k = problem["num_vars"]
    if not np.std(y) > 0:
        zeros = np.zeros(k)
        if method == "morris":
            return {"mu": zeros, "mu_star": zeros, "mu_star_conf": zeros, "sigma": zeros}
        return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method == "morris":
            from SALib.analyze import morris as morris_analyze

            res = morris_analyze.analyze(problem, x, y, num_levels=NUM_LEVELS, seed=seed)
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        else:
            from SALib.analyze import sobol as sobol_analyze

            res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
    return {key: np.nan_to_num(np.asarray(res[key], dtype=float)) for key in keys}


def _indices(
    method: Method,
    parameters: Sequence[Parameter],
    x: np.ndarray,
    y: pd.DataFrame,
    baseline: pd.Series,
    seed_sd: pd.Series,
    seed: int,
) -> pd.DataFrame:
    problem = _problem(parameters)
    bounds = np.asarray(problem["bounds"], dtype=float)
    unit_sd = np.std((x - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0]), axis=0, ddof=1)
    frames = []
    for outcome in y.columns:
        values = y[outcome].to_numpy(dtype=float)
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        stats = _analyse(method, problem, x, values, seed)
        frame = pd.DataFrame({"outcome": outcome, "parameter": problem["names"], **stats})
        base = float(baseline[outcome])
        noise = float(seed_sd[outcome])
        if method == "morris":
            frame["score"] = frame["mu_star"] * unit_sd / std if std > 0 else 0.0
            frame["mu_star_rel"] = frame["mu_star"] / abs(base) if base != 0 else np.nan
            frame["mu_star_noise"] = 2.0 * noise / (math.sqrt(math.pi) * _morris_delta())
            frame["above_noise"] = frame["mu_star"] > frame["mu_star_noise"]
        else:
            frame["score"] = frame["ST"].clip(lower=0.0)
        frame["baseline"] = base
        frame["std"] = std
        frame["seed_sd"] = noise
        frame["rank"] = frame["score"].rank(ascending=False, method="first").astype(int)
        frames.append(frame.sort_values("rank"))
    table = pd.concat(frames, ignore_index=True)
    first = ["outcome", "rank", "parameter", "score"]
    return table[first + [c for c in table.columns if c not in first]]


def _morris_delta() -> float:
    """Morris' step on the unit grid (SALib's): ``p / (2 (p - 1))`` for ``p`` levels."""
    return NUM_LEVELS / (2.0 * (NUM_LEVELS - 1))


def evaluations_needed(method: str, n_parameters: int, trajectories: int, replicates: int = 2) -> int:
    """Model runs of an analysis: Morris ``R (k + 1)`` or Sobol ``N (k + 2)``, plus the baseline
    and its ``replicates``."""
    return trajectories * (n_parameters + (1 if method == "morris" else 2)) + 1 + replicates


def _check_options(method: str, replicates: int, trajectories: int) -> Method:
    """The method, once the options are checked."""
    if method not in ("morris", "sobol"):
        raise SensitivityError(f"unknown method {method!r}: morris or sobol")
    if replicates < 0:
        raise SensitivityError(f"replicates must be >= 0 (got {replicates})")
    if trajectories < 2:
        raise SensitivityError(f"need at least 2 trajectories / base samples (got {trajectories})")
    return "morris" if method == "morris" else "sobol"


def run_sensitivity(
    scenario: str | Path,
    parameters: Sequence[Parameter] | None = None,
    *,
    method: str = "morris",
    trajectories: int = 6,
    agents: int | None = DEFAULT_AGENTS,
    seed: int = 0,
    workers: int | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    replicates: int = 2,
    on_evaluation: Callable[[int, int], None] | None = None,
    progress: Progress | None = None,
    scheduler: Any = None,
) -> SensitivityResult:
    """Screen (Morris) or apportion (Sobol) the influence of uncertain parameters on the outcomes.

    Parameters
    ----------
    scenario : path
        The scenario YAML file.
    parameters : list of Parameter, optional
        What to vary; default :func:`default_parameters` of the scenario.
    method : "morris" or "sobol"
        Morris elementary effects (``trajectories`` R trajectories, ``R (k + 1)`` runs for k
        parameters) or Sobol indices (Saltelli sampling with base sample ``N = trajectories``,
        best a power of 2; first and total order, ``N (k + 2)`` runs).
    trajectories : int
        Morris trajectories, or Sobol base samples.
    agents : int, optional
        About how many agents per run.
    seed : int
        The seed of every run (common random numbers) and of the sampling.
    workers : int, optional
        Local worker processes (default: CPU count; 1 runs in this process).
    overrides : mapping or list of "path=value", optional
        Fixed changes to the scenario for every run (``horizon.end`` for a shorter horizon).
    replicates : int
        Runs of the baseline with other seeds (``seed + 1``...), to measure seed noise
        (``seed_sd``, ``mu_star_noise``); 0 skips them.
    on_evaluation : callable, optional
        Called with (runs done, runs in all) after each run (the older form of ``progress``).
    progress : Progress, optional
        Told of the runs in all and of each that finishes (:mod:`corridor.runner.progress`).
    scheduler : str or distributed.Client, optional
        A Dask scheduler to run the evaluations on, instead of local ``workers``.

    Returns
    -------
    SensitivityResult
    """
    how = _check_options(method, replicates, trajectories)
    fixed = _fixed(overrides)
    base = load_scenario(scenario, fixed)
    params = list(parameters) if parameters is not None else default_parameters(base)
    base = check_parameters(scenario, params, fixed)

    start = time.perf_counter()
    problem = _problem(params)
    x = _sample(how, problem, trajectories, seed)
    path = str(Path(scenario).resolve())
    tasks = [(path, fixed, seed + i, agents) for i in range(replicates + 1)] + [
        (path, {**fixed, **parameter_overrides(base, params, row)}, seed, agents) for row in x
    ]
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers < 1:
        raise SensitivityError(f"workers must be >= 1 (got {n_workers})")
    if progress is None and on_evaluation is not None:
        progress = ProgressCallback(on_evaluation)
    with make_executor(min(n_workers, len(tasks)), scheduler, preload=["corridor.sensitivity"]) as executor:
        outputs = _evaluate_all(tasks, executor, progress)
    names = [name for name, _, _ in MAIN_OUTCOMES]
    baseline = pd.Series(outputs[0], index=names, name="baseline")
    replicated = pd.DataFrame(outputs[: replicates + 1], columns=names)
    seed_sd = replicated.std(ddof=1) if replicates > 0 else pd.Series(np.nan, index=names)
    y = pd.DataFrame(outputs[replicates + 1 :], columns=names)
    indices = _indices(how, params, x, y, baseline, seed_sd, seed)
    samples = pd.concat([pd.DataFrame(x, columns=[p.path for p in params]), y], axis=1)
    info = {
        "scenario": base.name,
        "scenario_path": str(scenario),
        "scenario_sha256": base.sha256,
        "method": how,
        "trajectories": trajectories,
        "num_levels": NUM_LEVELS if how == "morris" else None,
        "replicate_seeds": [seed + i for i in range(1, replicates + 1)],
        "agents": agents,
        "seed": seed,
        "workers": n_workers,
        "overrides": {k: str(v) for k, v in fixed.items()},
        "parameters": [{"path": p.path, "low": p.low, "high": p.high} for p in params],
        "evaluations": len(tasks),
        "wall_seconds": time.perf_counter() - start,
        "score": "mu_star * sd(parameter, unit scale) / sd(outcome)" if how == "morris" else "ST",
    }
    return SensitivityResult(how, params, samples, baseline, indices, info)
