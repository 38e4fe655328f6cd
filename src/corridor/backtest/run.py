"""``run_backtest``: forecast every origin from what was known before it, score, resume.

For each origin T (a month) the backtest reads the observations whose period ends before T
(:func:`~corridor.backtest.origins.known_before`), makes corridor's forecast
(:mod:`corridor.backtest.simulated`: prior draws run with inputs cut at T, the closest to
the last ``fit_months`` months kept) and the baselines' (:mod:`corridor.backtest.baselines`)
for the months T..T+H-1, and only then reads what happened in those months to score them
(:mod:`corridor.backtest.scores`). Each finished origin is written at once to
``origins/origin=YYYY-MM.parquet``; run again with the same folder, a backtest computes only
the origins missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.atomic import write_atomically, write_text_atomically
from corridor.backtest.baselines import METHODS, baseline_forecasts
from corridor.backtest.combined import COMBINED, combined_forecasts
from corridor.backtest.origins import (
    OriginTargets,
    check_origins,
    known_before,
    monthly_histories,
    origin_targets,
)
from corridor.backtest.parts import policy_regressors
from corridor.backtest.pilot import (
    UPTAKE_PATH,
    application_ratio,
    demand_scales,
    factor_overrides,
    interdiction_factors,
    measures_uptake,
    pathway_openings,
    pathway_uptake,
    pilot_draw,
    scale_ratios,
    scaled_draws,
)
from corridor.backtest.posteriors import fitted_parameters
from corridor.backtest.scorecard import write_scorecard
from corridor.backtest.scores import score_forecasts, summarise_scores
from corridor.backtest.simulated import (
    ADJUSTED,
    ANCHORED,
    RunTask,
    RunValues,
    corridor_forecast,
    fit_anchors,
    fit_rows,
    request_rows,
    run_overrides,
    select_runs,
    simulate_task,
    task_rows,
)
from corridor.calibrate.priors import prior_sample
from corridor.errors import BacktestError, CorridorError, RunError
from corridor.evidence import Rule, load_mapping, load_observed
from corridor.observations.reader import monthly_rows
from corridor.outputs import check_output_folder
from corridor.provenance import portable_paths, versions
from corridor.runner.executors import Executor, iter_many, make_executor, run_many
from corridor.runner.progress import Progress
from corridor.scenario import Scenario, load_scenario

#: What a backtest folder holds; ``backtest.json`` marks it.
BACKTEST_OUTPUTS = (
    "backtest.json",
    "origins",
    "scores.parquet",
    "summary.csv",
    "parameters.csv",
    "scorecard.html",
)
#: Keys of the score rows that identify a forecast target across methods.
ROW_KEYS = ("origin", "horizon", "series", "geography", "breakdown", "period_start")
#: The observed files' contents, by name: what a resume compares (not where a checkout keeps them).
_FILES_SHA256 = "observed_files_sha256"
#: Options that must match for a folder to be resumed.
_RESUME_KEYS = (
    "scenario_sha256",
    "horizons",
    "draws",
    "keep",
    "fit_months",
    "history_months",
    "agents",
    "seed",
    _FILES_SHA256,
    "methods",
)


@dataclass(frozen=True)
class BacktestResult:
    """A finished backtest.

    Attributes
    ----------
    scores : DataFrame
        One row per origin, target month, series, breakdown and method (see docs/backtest.md).
    summary : DataFrame
        Per method and horizon: median |log error|, coverage, CRPS, skill against persistence.
    out_dir : Path
    info : dict
        The options, versions, compute (runs, wall time, cores).
    computed : tuple of str
        The origins computed by this call (the others were read from the folder).
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    out_dir: Path
    info: dict[str, Any]
    computed: tuple[str, ...] = field(default=())


@dataclass
class _Origin:
    """The work of one origin while its runs come in."""

    targets: OriginTargets
    known: pd.DataFrame
    rows: pd.DataFrame
    n_fit: int
    runs: list[RunValues] = field(default_factory=list)


def _partition(out_dir: Path, label: str) -> Path:
    return out_dir / "origins" / f"origin={label}.parquet"


def run_backtest(
    scenario: str | Path,
    origins: Sequence[pd.Period],
    out_dir: str | Path,
    *,
    horizons: int = 6,
    draws: int = 40,
    keep: int = 10,
    fit_months: int = 12,
    history_months: int | None = None,
    agents: int | None = 20_000,
    seed: int = 0,
    observed: Iterable[str | Path] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    force: bool = False,
) -> BacktestResult:
    """Backtest a scenario: forecast from every origin, beside the baselines, and score.

    Parameters
    ----------
    scenario : path
        A scenario with ``priors:`` and inputs it can derive at a cut-off (``derived``
        inflows); its horizon must cover every origin's forecast months.
    origins : sequence of Period
        Origin months (see :func:`~corridor.backtest.origins.parse_origins`).
    out_dir : path
        The backtest folder (new, empty, or an earlier backtest with the same options,
        which is resumed).
    horizons : int
        Months forecast from each origin (h = 1 is the origin month).
    draws, keep : int
        Prior draws simulated at each origin, and how many of the closest are kept.
    history_months : int, optional
        Start each run this many months before its origin (the scenario's spin-up first),
        instead of at the scenario's start: shorter runs, and a demand level that is the
        level of the years around the origin. Default: the scenario's start.
    fit_months : int
        The months before an origin the runs are scored on.
    agents : int, optional
        Agents per run (as for :func:`corridor.simulate`).
    seed : int
        Seeds the prior draws (the same at every origin), the runs (seed + draw) and the
        baselines' draws.
    observed : paths, optional
        Observed files (default: the shipped ones); held-out rows are never read.
    workers, scheduler :
        Local processes (default: every core), or a Dask scheduler.
    progress : Progress, optional
        Told of every run.
    force : bool
        Write into a folder holding other files (kept).

    Raises
    ------
    BacktestError
        Bad options, an origin outside the horizon, a folder holding a backtest with other
        options, or runs that failed (the finished origins are kept; run again to resume).
    """
    started = time.perf_counter()
    _check_sizes(horizons, draws, keep, fit_months)
    path = Path(scenario).resolve()
    sc = _checked_scenario(path, origins, horizons, history_months, fit_months)
    target = Path(out_dir)
    check_output_folder(target, BACKTEST_OUTPUTS, "backtest.json", force=force, what="--out")

    rules = tuple(load_mapping())
    observations = load_observed(observed, mapping=rules)  # held-out rows dropped, always
    options: dict[str, int | None] = {
        "horizons": horizons,
        "draws": draws,
        "keep": keep,
        "fit_months": fit_months,
        "history_months": history_months,
    }
    info = _info(path, sc, origins, options, agents, seed, observations)
    _start_folder(target, info)
    labels = [f"{o:%Y-%m}" for o in origins]
    todo = [o for o, label in zip(origins, labels, strict=True) if not _partition(target, label).exists()]
    computing = time.perf_counter()
    computed, runs = _compute(path, todo, observations, rules, info, target, workers, scheduler, progress)
    _record_compute(info, computed, runs, workers, time.perf_counter() - computing)

    scores = _gather(target, labels, seed)
    summary = summarise_scores(scores, ("method", "horizon"), row_keys=ROW_KEYS)
    write_atomically(target / "scores.parquet", lambda fh: scores.to_parquet(fh, index=False))
    write_text_atomically(target / "summary.csv", summary.to_csv(index=False))
    parameters = fitted_parameters(scores, sc, prior_sample(sc.priors, draws, seed=seed))
    write_text_atomically(target / "parameters.csv", parameters.to_csv(index=False))
    info["complete"] = True
    info["wall_seconds_last_call"] = round(time.perf_counter() - started, 1)
    write_scorecard(scores, summary, info, target / "scorecard.html", parameters)
    _write_info(target, info)
    return BacktestResult(scores, summary, target, info, computed)


def _record_compute(
    info: dict[str, Any], computed: Sequence[str], runs: int, workers: int | None, seconds: float
) -> None:
    """Record this call's cost in ``info``: ``compute_last_call`` (kept by a call that computes
    nothing), and ``compute_calls``, every call that computed origins, so that a resumed folder
    keeps its whole cost."""
    if computed or "compute_last_call" not in info:
        info["compute_last_call"] = {
            "origins": len(computed),
            "simulations": runs,  # the pilots included
            "workers": workers if workers is not None else os.cpu_count(),
            "wall_seconds": round(seconds, 1),
        }
    if computed:
        call = {**info["compute_last_call"], "computed": list(computed), "date": date.today().isoformat()}
        info["compute_calls"] = [*info.get("compute_calls", []), call]


def _gather(target: Path, labels: Sequence[str], seed: int) -> pd.DataFrame:
    """Every origin's part, then the forecasts combined across origins (each origin with the
    record of the origins before it), which the parts do not hold."""
    scores = pd.concat([pd.read_parquet(_partition(target, label)) for label in labels], ignore_index=True)
    return pd.concat([scores, combined_forecasts(scores, seed=seed)], ignore_index=True)


def _info(
    path: Path,
    sc: Scenario,
    origins: Sequence[pd.Period],
    options: dict[str, int | None],
    agents: int | None,
    seed: int,
    observations: pd.DataFrame,
) -> dict[str, Any]:
    """What ``backtest.json`` records: the options (a resume must match them) and versions."""
    known = sc.upstream_known_until
    return {
        "scenario": str(path),
        "scenario_sha256": sc.sha256,
        # Where it lies past the first origin, upstream counts of months forecast were read: the
        # scorecard and the command then say that this is a diagnostic, not a forecast.
        "upstream_known_until": known.isoformat() if known is not None else None,
        "origins": [f"{o:%Y-%m}" for o in origins],
        **options,
        "agents": agents,
        "seed": seed,
        "observed_files": observations.attrs.get("files", []),
        _FILES_SHA256: _files_sha256(observations.attrs.get("files", [])),
        "held_out_from": observations.attrs.get("held_out_from"),
        "methods": ["corridor", ADJUSTED, ANCHORED, *METHODS],  # in each origin's part
        "methods_across_origins": [COMBINED],  # from the parts, when the scores are gathered
        "fit": "ABC rejection: the `keep` of `draws` Latin-hypercube prior draws closest to the "
        "observations of the `fit_months` months before the origin (mean log error)",
        "versions": versions(),
    }


def _checked_scenario(
    path: Path, origins: Sequence[pd.Period], horizons: int, history_months: int | None, fit_months: int
) -> Scenario:
    """The scenario, checked for a backtest: priors to fit, origins inside its horizon."""
    sc = load_scenario(path)
    if not sc.priors:
        raise BacktestError(f"{path.name}: no priors: section; a backtest fits the scenario's priors")
    spin_up_end = pd.Timestamp(sc.horizon.start) + pd.Timedelta(days=sc.horizon.spin_up_days)
    check_origins(origins, spin_up_end, pd.Timestamp(sc.horizon.end), horizons)
    if history_months is not None:
        _check_history(sc, history_months, fit_months)
    return sc


def _run_start(sc: Scenario, origin: pd.Period, info: dict[str, Any]) -> pd.Timestamp | None:
    """Where runs at ``origin`` start: ``history_months`` before it, never before the scenario."""
    months = info.get("history_months")
    if months is None:
        return None
    return max((origin - int(months)).start_time, pd.Timestamp(sc.horizon.start))


def _check_history(sc: Scenario, history_months: int, fit_months: int) -> None:
    spin_up_months = -(-sc.horizon.spin_up_days // 28)
    if history_months < fit_months + spin_up_months:
        raise BacktestError(
            f"--history-months {history_months} leaves less than the {fit_months} fit months after the "
            f"scenario's spin-up ({sc.horizon.spin_up_days} days); give at least "
            f"{fit_months + spin_up_months}"
        )


def _check_sizes(horizons: int, draws: int, keep: int, fit_months: int) -> None:
    for name, value, least in (("horizons", horizons, 1), ("draws", draws, 2), ("fit_months", fit_months, 1)):
        if value < least:
            raise BacktestError(f"--{name.replace('_', '-')} must be at least {least} (got {value})")
    if not 1 <= keep <= draws:
        raise BacktestError(f"--keep must be between 1 and --draws ({draws}); got {keep}")


def _write_info(target: Path, info: dict[str, Any]) -> None:
    record = portable_paths(info)  # the runs keep the absolute paths; the record names them portably
    write_text_atomically(target / "backtest.json", json.dumps(record, indent=1, default=str) + "\n")


def _start_folder(target: Path, info: dict[str, Any]) -> None:
    """Start the folder, or check that it holds a backtest with the same options."""
    marker = target / "backtest.json"
    if marker.is_file():
        try:
            old = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BacktestError(f"{marker}: unreadable ({exc}); use a new folder") from None
        legacy = _FILES_SHA256 not in old and _same_names(old, info)
        unchecked = {_FILES_SHA256} if legacy else set()
        differ = [k for k in _RESUME_KEYS if k not in unchecked and old.get(k) != info.get(k)]
        if differ:
            raise BacktestError(
                f"{target} holds a backtest with other {', '.join(differ)}; use a new folder to change them"
            )
        if legacy:  # its origins read files of these names; what they held then is not known
            del info[_FILES_SHA256]
        info["created"] = old.get("created")
        for key in ("compute_last_call", "compute_calls"):  # kept by a call that computes nothing
            if key in old:
                info[key] = old[key]
    else:
        info["created"] = date.today().isoformat()
    info["complete"] = False
    (target / "origins").mkdir(parents=True, exist_ok=True)
    _write_info(target, info)


def _same_names(old: dict[str, Any], info: dict[str, Any]) -> bool:
    """A folder made before the files' digests were recorded names its observed files by the
    paths they had then: the same names, in order, are all such a folder can be checked by."""
    names = [Path(f).name for f in info.get("observed_files", [])]
    return [Path(f).name for f in old.get("observed_files", [])] == names


def _files_sha256(files: Sequence[str | Path]) -> dict[str, str]:
    """Each file's SHA-256 by its name (a name met again gets ``#2``, ``#3``...)."""
    out: dict[str, str] = {}
    for f in files:
        name, k = Path(f).name, 1
        while (key := name if k == 1 else f"{name}#{k}") in out:
            k += 1
        out[key] = hashlib.sha256(Path(f).read_bytes()).hexdigest()
    return out


def _prepare(
    origin: pd.Period, observations: pd.DataFrame, rules: Sequence[Rule], horizons: int, fit_months: int
) -> _Origin:
    known = known_before(observations, origin)
    targets = origin_targets(monthly_histories(known), origin, horizons)
    fit = fit_rows(known, origin, fit_months)
    rows = task_rows(fit, request_rows(targets.requests, rules))
    return _Origin(targets, known, rows, len(fit))


def _compute(
    scenario: Path,
    origins: Sequence[pd.Period],
    observations: pd.DataFrame,
    rules: tuple[Rule, ...],
    info: dict[str, Any],
    target: Path,
    workers: int | None,
    scheduler: Any,
    progress: Progress | None,
) -> tuple[tuple[str, ...], int]:
    """Run every origin's simulations, finishing (and writing) each origin as its runs end;
    return the origins written and the simulations run (pilots included)."""
    if not origins:
        return (), 0
    draws, horizons, seed = int(info["draws"]), int(info["horizons"]), int(info["seed"])
    sc = load_scenario(scenario)
    prior = prior_sample(sc.priors, draws, seed=seed)
    work: dict[str, _Origin] = {}
    for origin in origins:
        work[f"{origin:%Y-%m}"] = _prepare(origin, observations, rules, horizons, int(info["fit_months"]))
    failed: list[str] = []
    done: list[str] = []
    with make_executor(workers, scheduler, preload=["corridor.backtest.simulated"]) as executor:
        ratios, factors, application, uptakes, n_pilots = _pilot_ratios(
            sc, scenario, origins, work, info, rules, executor, progress
        )
        tasks = [
            RunTask(
                str(scenario),
                label,
                i,
                seed + i,
                info["agents"],
                run_overrides(
                    entry.targets.origin, horizons, draw, _run_start(sc, entry.targets.origin, info)
                ),
                entry.rows,
                rules,
            )
            for label, entry in work.items()
            for i, draw in enumerate(
                scaled_draws(
                    sc,
                    prior,
                    pilot_draw(sc),
                    ratios.get(label, {}),
                    factors.get(label, {}),
                    application.get(label, 1.0),
                    uptakes.get(label),
                )
            )
        ]
        for finished in iter_many(
            simulate_task, tasks, executor=executor, progress=progress, description="backtest"
        ):
            task = tasks[finished.index]
            if finished.error is not None:
                if isinstance(finished.error, CorridorError) and not isinstance(finished.error, RunError):
                    raise finished.error  # an invalid scenario or override: every run would fail
                failed.append(f"origin {task.origin}, draw {task.draw}: {finished.error}")
                continue
            entry = work[task.origin]
            entry.runs.append(finished.value)  # type: ignore[arg-type]
            if len(entry.runs) == draws:
                scored = _finish_origin(entry, observations, rules, info)
                scored["demand_scale_ratios"] = json.dumps(ratios.get(task.origin, {}), sort_keys=True)
                scored["interdiction_factors"] = json.dumps(factors.get(task.origin, {}), sort_keys=True)
                scored["application_ratio"] = application.get(task.origin, 1.0)
                fitted_uptake = uptakes.get(task.origin)
                scored["legal_pathway_uptake"] = np.nan if fitted_uptake is None else fitted_uptake
                write_atomically(_partition(target, task.origin), partial(_to_parquet, scored))
                done.append(task.origin)
    if failed:
        raise BacktestError(
            f"{len(failed)} runs failed; the {len(done)} finished origins are written, run the same command "
            "again to compute the rest. First: " + failed[0]
        )
    return tuple(sorted(done)), n_pilots + len(tasks)


#: Pilot rounds fitting the interdiction factors (then one pilot fits the demand scales, and one
#: the daily chance to file for asylum):
#: one round leaves the caught share about halfway (people released are caught again, so
#: Mexico's events grow faster than the hazard); a second one reaches it within seed noise.
CATCH_ROUNDS = 2
#: Pilot rounds fitting the legal-pathway uptake, where a pathway opened in the fit months
#: (before the catch rounds: the caught share after an opening depends on who is left):
#: encounters are not linear in 1 - uptake (:func:`corridor.backtest.pilot.pathway_uptake`).
UPTAKE_ROUNDS = 2


def _pilot_ratios(
    sc: Scenario,
    scenario: Path,
    origins: Sequence[pd.Period],
    work: dict[str, _Origin],
    info: dict[str, Any],
    rules: tuple[Rule, ...],
    executor: Executor,
    progress: Progress | None,
) -> tuple[
    dict[str, dict[str, float]], dict[str, dict[str, float]], dict[str, float], dict[str, float | None], int
]:
    """Per origin: where a legal pathway opened in the fit months, the uptake from
    :data:`UPTAKE_ROUNDS` pilot runs; each nationality's interdiction factor from
    :data:`CATCH_ROUNDS` pilot runs at the priors' medians (and that uptake), then each demand
    scale's observed/simulated ratio from one more pilot with those factors, then the ratio of the
    daily chance to file for asylum from a last pilot with the factors and scales
    (:mod:`corridor.backtest.pilot`); nothing for a scenario without demand rules. Last, the
    number of pilot runs."""
    scales = demand_scales(sc)
    if not scales:
        return {}, {}, {}, {}, 0
    horizons, seed = int(info["horizons"]), int(info["seed"])
    labels = [(o, f"{o:%Y-%m}") for o in origins]
    medians = pilot_draw(sc)
    pilots = {label: dict(medians) for _, label in labels}
    uptakes: dict[str, float | None] = {label: None for _, label in labels}
    ran: list[int] = []

    def run_pilots(
        overrides: dict[str, dict[str, Any]], description: str, at: list[tuple[pd.Period, str]] = labels
    ) -> list[Any]:
        tasks = [
            RunTask(
                str(scenario),
                label,
                -1,
                seed,
                info["agents"],
                run_overrides(o, horizons, overrides[label], _run_start(sc, o, info)),
                work[label].rows,
                rules,
            )
            for o, label in at
        ]
        ran.append(len(tasks))
        return run_many(simulate_task, tasks, executor=executor, progress=progress, description=description)

    openings = pathway_openings(sc)
    # The uptake pilots run only where the fit months straddle an opening (elsewhere: nothing to fit).
    measured = [
        (o, label) for o, label in labels if measures_uptake(work[label].rows, work[label].n_fit, openings)
    ]

    def fit(runs: list[Any], how: Any) -> dict[str, dict[str, float]]:
        return {
            label: how(run, work[label].rows, work[label].n_fit, list(scales), label, openings)
            for (_, label), run in zip(labels, runs, strict=True)
        }

    for _ in range(UPTAKE_ROUNDS if measured else 0):
        runs = run_pilots(pilots, "pilots (pathways)", measured)
        for (_, label), run in zip(measured, runs, strict=True):
            entry, used = work[label], pilots[label].get(UPTAKE_PATH, sc.behaviour.legal_pathway_uptake)
            fitted_uptake = pathway_uptake(run, entry.rows, entry.n_fit, openings, used)
            if fitted_uptake is not None:
                uptakes[label] = fitted_uptake
                pilots[label] = {**pilots[label], UPTAKE_PATH: fitted_uptake}
    factors: dict[str, dict[str, float]] = {label: {} for _, label in labels}
    for _ in range(CATCH_ROUNDS):  # the caught share is not linear in the factor: refit once more
        with_factors = {
            label: {**pilots[label], **factor_overrides(sc, factors[label])} for _, label in labels
        }
        fitted = fit(run_pilots(with_factors, "pilots (catch)"), interdiction_factors)
        factors = {
            label: {n: factors[label].get(n, 1.0) * f for n, f in fitted[label].items()}
            for _, label in labels
        }
    with_factors = {label: {**pilots[label], **factor_overrides(sc, factors[label])} for _, label in labels}
    ratios = fit(run_pilots(with_factors, "pilots (scale)"), scale_ratios)
    scaled = {
        label: scaled_draws(sc, [pilots[label]], pilots[label], ratios[label], factors[label])[0]
        for _, label in labels
    }
    asylum_runs = run_pilots(scaled, "pilots (asylum)")
    application = {
        label: application_ratio(run, work[label].rows, work[label].n_fit)
        for (_, label), run in zip(labels, asylum_runs, strict=True)
    }
    return ratios, factors, application, uptakes, sum(ran)


def _to_parquet(frame: pd.DataFrame, fh: Any) -> None:
    frame.to_parquet(fh, index=False)


@lru_cache(maxsize=4)
def _policy_regressors(scenario: str, sha256: str | None) -> pd.DataFrame:
    """The scenario's policy regressors over its horizon and the year before it (the observed
    histories start earlier): computed once per backtest (``sha256`` keys the cache to the
    file's content). Read only, shared by every origin."""
    return policy_regressors(scenario)


def _finish_origin(
    entry: _Origin, observations: pd.DataFrame, rules: Sequence[Rule], info: dict[str, Any]
) -> pd.DataFrame:
    """Forecast an origin by every method, then score against what happened (read only here)."""
    origin = entry.targets.origin
    horizons, seed = int(info["horizons"]), int(info["seed"])
    rng = np.random.default_rng([seed, origin.ordinal])
    histories = monthly_histories(entry.known)
    fitted = select_runs(entry.runs, entry.n_fit, int(info["keep"]))
    regressors = _policy_regressors(str(info["scenario"]), info.get("scenario_sha256"))
    tables, draws = [], []
    table, sample = corridor_forecast(
        entry.targets.requests, entry.rows, entry.runs, fitted, histories, rules, rng, regressors
    )
    tables.append(table)
    draws.append(sample)
    for key, history in histories.items():
        made = baseline_forecasts(history, origin, horizons, rng)
        base = made.table.rename(columns={"fallback": "how"})
        base["series"], base["geography"], base["breakdown"] = key
        base["period_start"] = [t.start_time.normalize() for t in base["target"]]
        base["period_end"] = [t.end_time.normalize() for t in base["target"]]
        base["how"] = np.where(base["how"] == "", base["method"], "fell back to " + base["how"].astype(str))
        tables.append(base.drop(columns=["target", "origin", "interval"]))
        draws.append(made.draws)
    forecasts = pd.concat(tables, ignore_index=True)
    forecasts["origin"] = f"{origin:%Y-%m}"
    forecasts["observed"] = _what_happened(forecasts, observations, origin, horizons)
    scored = score_forecasts(forecasts, np.vstack(draws))
    scored["fit_distance_kept"] = float(np.median(fitted.distances[fitted.kept]))
    scored["fit_rows"] = fitted.fit_rows_compared
    scored["kept_draws"] = json.dumps([int(d) for d in fitted.kept])  # the posterior: prior_sample rows
    weights = fit_anchors(entry.rows, entry.runs, fitted).weight
    scored["anchor_weights"] = json.dumps(
        {series: {str(h): round(w, 4) for h, w in sorted(by.items())} for series, by in weights.items()},
        sort_keys=True,
    )
    return _ordered(scored)


def _what_happened(
    forecasts: pd.DataFrame, observations: pd.DataFrame, origin: pd.Period, horizons: int
) -> np.ndarray:
    """The observed value of every forecast row's target month (NaN where none): read after
    the forecasts are made, and only for scoring."""
    last = origin + (horizons - 1)
    rows = monthly_rows(observations)
    rows = rows[(rows["month"] >= origin) & (rows["month"] <= last)]
    truth = rows.groupby(["series", "geography", "breakdown", "month"])["value"].last()
    keys = zip(
        forecasts["series"],
        forecasts["geography"],
        forecasts["breakdown"],
        pd.to_datetime(forecasts["period_start"]).dt.to_period("M"),
        strict=True,
    )
    return np.array([float(truth.get(k, np.nan)) for k in keys])


#: Column order of the score rows.
SCORE_ORDER = (
    "origin",
    "horizon",
    "series",
    "geography",
    "breakdown",
    "period_start",
    "period_end",
    "observed",
    "method",
    "median",
    "q05",
    "q95",
    "how",
)


def _ordered(scored: pd.DataFrame) -> pd.DataFrame:
    first = [c for c in SCORE_ORDER if c in scored.columns]
    rest = [c for c in scored.columns if c not in first]
    out = scored[first + rest].copy()
    out["horizon"] = out["horizon"].astype(int)
    return out
