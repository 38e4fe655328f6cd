"""calibrate(): prepare, open or resume the pyabc database, run ABC-SMC, summarise, check.

Resuming
--------
If the database exists, it must be a pyabc database made for the same problem (the
``calibration_spec.json`` next to it). The run stored in it (one pyabc run id per
database) is continued after its last completed generation, at the weighted median of
that generation's distances (the epsilon an uninterrupted run uses); a run killed in
generation 0 restarts generation 0 under the same run id. The simulations of an
interrupted generation are lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.evidence import ValidationResult, load_mapping, load_observed, validate
from corridor.evidence.plan import ComparisonPlan, plan_comparison, simulated_values
from corridor.evidence.score import observation_codes
from corridor.evidence.validation import _result
from corridor.geography import Network
from corridor.outputs import check_output_folder
from corridor.params.posterior import write_posterior
from corridor.runner.executors import Executor, abc_sampler, make_executor, run_many
from corridor.runner.progress import Progress, as_progress
from corridor.runner.single import simulate
from corridor.scenario import Prior, Scenario, load_scenario
from corridor.scenario.paths import get_path

if TYPE_CHECKING:
    from corridor.calibrate.priors import _Param
from corridor.calibrate.calibrated import write_calibrated_scenario
from corridor.calibrate.distance import LogRatioDistance
from corridor.calibrate.files import (
    _MOVE_AWAY,
    DB_NAME,
    POSTERIOR_NAME,
    PYABC_TABLES,
    SUMMARY_NAME,
    calibration_outputs,
)
from corridor.calibrate.model import _Model, _network
from corridor.calibrate.priors import _params
from corridor.calibrate.result import CalibrationResult, weighted_quantile
from corridor.errors import CalibrationError
from corridor.extras import require


# ------------------------------------------------------------------------ calibrate
def _spec(
    scenario: Scenario,
    params: list[_Param],
    fixed: Mapping[str, Any],
    obs: npt.NDArray[np.float64],
    agents: int,
) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "scenario_sha256": scenario.sha256,
        "priors": {p.path: p.prior.model_dump(exclude_none=True) for p in params},
        "overrides": {k: repr(v) for k, v in fixed.items()},
        "agents": agents,
        "observed_sha256": hashlib.sha256(np.ascontiguousarray(obs).tobytes()).hexdigest(),
        "observations": len(obs),
    }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_database(path: Path) -> dict[int, int | None]:
    """The ABC runs of an existing calibration database: pyabc run id (``abc_smc.id``) -> its
    last completed generation (-1: none yet, killed in generation 0; None: no initial data).

    Read with the ``sqlite3`` module before pyabc opens the file (pyabc would create its
    tables in any SQLite file and then fail with a sqlalchemy error or a ``TypeError``).
    Raises :class:`CalibrationError`, one line naming the file, for an empty file, a file
    that is not SQLite, a SQLite database without pyabc's tables, or a corrupted one.
    """

    def bad(what: str) -> CalibrationError:
        return CalibrationError(f"{path}: {what}; {_MOVE_AWAY}")

    try:
        with path.open("rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise bad(f"cannot read the calibration database ({exc.strerror or exc})") from None
    if not head:
        raise bad("empty file (0 bytes), not a pyabc calibration database")
    if not head.startswith(b"SQLite format 3\x00"):
        raise bad("not an SQLite database, so not a pyabc calibration database")
    try:
        # mode=rw: never create the file; not read-only, so that SQLite can roll back the
        # journal of a transaction a kill interrupted (the database is then consistent).
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
        try:
            tables = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "abc_smc" not in tables:
                raise bad("not a pyabc calibration database (no abc_smc table)")
            missing = [t for t in PYABC_TABLES if t not in tables]
            if missing:
                raise bad(f"not a complete pyabc calibration database (no {', '.join(missing)} table)")
            problems = [" ".join(str(r[0]).split()) for r in con.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise bad(f"corrupted SQLite database ({problems[0]})")
            rows = con.execute(
                "SELECT a.id, MAX(p.t) FROM abc_smc AS a LEFT JOIN populations AS p "
                "ON p.abc_smc_id = a.id GROUP BY a.id ORDER BY a.id"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise bad(f"corrupted SQLite database ({_one_line(exc)})") from None
    return {int(i): (None if t is None else int(t)) for i, t in rows}


def _run_to_continue(path: Path, runs: Mapping[int, int | None]) -> tuple[int, int] | None:
    """The pyabc run id to continue and its last completed generation (None: the database
    holds no run yet).

    calibrate makes one run per database; a database written before resuming kept to one
    run can hold several (each resume of a run killed in generation 0 started another):
    the one with the most completed generations is continued, the first of those on a tie.
    """
    if not runs:
        return None
    last = {i: t for i, t in runs.items() if t is not None}
    broken = sorted(set(runs) - set(last))
    if broken:
        raise CalibrationError(
            f"{path}: pyabc run {broken[0]} has no initial data (not written by a complete "
            f"pyabc run); {_MOVE_AWAY}"
        )
    run_id = max(sorted(last), key=last.__getitem__)
    return run_id, last[run_id]


def _seed_generations(abc: Any, seed: int) -> None:
    """Seed the global random generators at the start of each generation from ``(seed, t)``.

    pyabc's serial sampler draws the parameters (priors, perturbation kernels) from NumPy's
    global generator in this process, and :class:`_Model` draws each simulation's seed from
    it too. Seeding once per generation, not once per call, makes generation ``t`` depend
    on the seed and the stored generation ``t - 1`` only (the kernels are fitted to the
    stored population, also in an uninterrupted run): a run interrupted anywhere and resumed
    reproduces an uninterrupted one. pyabc's ``ABCSMC.run`` calls ``self.run_generation``
    for every generation, so the instance's method is wrapped (no subclass: pyabc is
    imported lazily and its objects must stay picklable).
    """
    run_generation = abc.run_generation

    def seeded_generation(t: int) -> Any:
        state = np.random.SeedSequence([seed, int(t)]).generate_state(4)
        np.random.seed(state)  # noqa: NPY002 (pyabc and the model use the global generator)
        random.seed(int(state[0]))
        return run_generation(t=t)

    abc.run_generation = seeded_generation


@dataclass
class _Problem:
    """What :func:`_prepare` checked and computed: the calibration problem, before ABC."""

    path: Path
    folder: Path
    db_path: Path
    runs: dict[int, int | None] | None
    fixed: dict[str, Any]
    sc: Scenario
    params: list[_Param]
    rules: list[Any]
    obs_table: pd.DataFrame
    net: Network
    plan: ComparisonPlan
    obs: npt.NDArray[np.float64]
    kinds: npt.NDArray[np.int8]
    change: npt.NDArray[np.bool_]
    spec: dict[str, Any]
    spec_path: Path
    model: _Model

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path.resolve()}"


def calibrate(
    scenario_path: str | Path,
    observed: Iterable[str | Path] | None = None,
    *,
    budget: int = 300,
    population_size: int = 50,
    generations: int | None = None,
    agents: int = 20_000,
    priors: Mapping[str, Prior | Mapping[str, Any]] | None = None,
    overrides: Mapping[str, Any] | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    db: str | Path | None = None,
    out_dir: str | Path = "runs/calibration",
    warmup_days: int = 0,
    check_runs: int = 5,
    check_agents: int | None = None,
    mapping: str | Path | None = None,
    on_generation: Callable[[dict[str, Any]], None] | None = None,
    seed: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Fit the priors of a scenario to the observed data with ABC-SMC; write the posterior.

    Parameters
    ----------
    scenario_path : path
        The scenario YAML file (its ``priors:`` section, unless ``priors`` is given).
    observed : paths, optional
        Observed CSVs (default: the shipped ones). Held-out outcomes are always dropped.
    budget : int
        Stop after a generation once this many simulations are in the database (earlier
        sessions included: running again with the same database resumes, see the module doc).
    population_size : int
        Particles per generation.
    generations : int, optional
        Also stop after this many generations in this call.
    agents : int
        About how many agents per simulation.
    priors : mapping, optional
        Dotted path -> :class:`Prior` (or its fields), instead of the scenario's.
    overrides : mapping, optional
        Fixed overrides applied in every simulation.
    scheduler : str or pyabc sampler, optional
        A Dask scheduler address (``tcp://host:8786``), or a pyabc sampler; default local
        cores (``workers`` processes, default all).
    db : path, optional
        The pyabc SQLite database (default ``out_dir/calibration.db``).
    out_dir : path
        Folder for the database, ``posterior.parquet``, the calibrated scenario and checks.
    warmup_days : int
        Observations starting within this many days of the horizon's start are not fitted.
    check_runs : int
        Runs of the posterior predictive check (0: no check), on ``workers`` local processes.
    check_agents : int, optional
        Agents per check run (default ``agents``).
    on_generation : callable, optional
        Called with each generation's record once ABC has finished (a report, not progress).
    seed : int, optional
        Make the calibration reproducible: generation ``t`` seeds NumPy's and Python's
        global generators (the parameter draws of pyabc and the simulations' seeds) from
        ``(seed, t)``, so the same call gives the same posterior, and so does a calibration
        interrupted at any point and resumed with the same seed. Needs ``workers=1`` and no
        ``scheduler`` (parallel workers seed themselves and share the draws by timing).
        Default: not seeded.
    force : bool
        Write into an ``out_dir`` that holds files corridor did not write (they are kept);
        without it such a folder is refused (:class:`corridor.OutputError`) before any work.
    progress : Progress, optional
        Told of the simulations (:mod:`corridor.runner.progress`): the budget, those already
        in the database, each generation's as it ends; then of the check runs.

    Raises
    ------
    CalibrationError
        No priors, no observation inside the horizon, a database made for another problem,
        or a database that is not a readable pyabc database (empty, not SQLite, without
        pyabc's tables, corrupted): one line naming the file.
    ScenarioError, EvidenceError
        An invalid scenario, prior or observed file.
    """
    _check_options(budget, population_size, generations, seed, scheduler, workers)
    started = time.perf_counter()
    problem = _prepare(
        scenario_path, observed, agents, priors, overrides, db, out_dir, warmup_days, mapping, force
    )
    history, resumed = _run_abc(
        problem, budget, population_size, generations, scheduler, workers, seed, progress
    )
    summary, posterior, posterior_path, scenario_out = _summarise(
        problem, history, resumed, seed, (agents, population_size, budget)
    )
    if on_generation is not None:
        for g in summary["generations"]:
            on_generation(g)
    sizes = (check_runs, check_agents if check_agents is not None else agents, warmup_days)
    check_workers = workers if scheduler is None else 1
    written = (summary, posterior, posterior_path, scenario_out)
    return _finish(problem, written, observed, sizes, check_workers, progress, started)


def _finish(
    problem: _Problem,
    written: tuple[dict[str, Any], pd.DataFrame, Path, Path],
    observed: Iterable[str | Path] | None,
    sizes: tuple[int, int, int],
    workers: int | None,
    progress: Progress | None,
    started: float,
) -> CalibrationResult:
    """Run the checks (``sizes``: runs, agents, warm-up days) on ``workers`` local processes,
    write the summary, and return the result."""
    summary, posterior, posterior_path, scenario_out = written
    check_runs, n_agents, _ = sizes
    validation = predictive = None
    if check_runs > 0:
        with make_executor(workers) as executor:
            validation, predictive = _check(
                problem, scenario_out, posterior, observed, sizes, executor, progress
            )
        summary["check"] = {
            "calibrated_scenario": validation.summary()["overall"],
            "posterior_draws": predictive.summary()["overall"],
            "runs": check_runs,
            "agents": n_agents,
        }
    summary["wall_seconds"] = time.perf_counter() - started
    summary_path = problem.folder / SUMMARY_NAME
    write_text_atomically(summary_path, json.dumps(summary, indent=2, default=str) + "\n")
    return CalibrationResult(
        posterior=posterior,
        posterior_path=posterior_path,
        scenario_path=scenario_out,
        db_path=problem.db_path,
        summary_path=summary_path,
        summary=summary,
        validation=validation,
        predictive=predictive,
    )


def _check_options(
    budget: int,
    population_size: int,
    generations: int | None,
    seed: int | None,
    scheduler: Any,
    workers: int | None,
) -> None:
    """Refuse options calibrate cannot use (before anything is read)."""
    if budget < 1 or population_size < 2:
        raise CalibrationError("budget must be >= 1 and population_size >= 2")
    if generations is not None and generations < 1:
        raise CalibrationError("generations must be >= 1")
    if seed is not None:
        if seed < 0:
            raise CalibrationError(f"seed must be >= 0, not {seed}")
        if scheduler is not None or workers != 1:
            raise CalibrationError(
                "a seed makes a calibration reproducible on one worker only (parallel workers "
                "seed themselves): use workers=1 (--workers 1) and no scheduler"
            )


def _prepare(
    scenario_path: str | Path,
    observed: Iterable[str | Path] | None,
    agents: int,
    priors: Mapping[str, Prior | Mapping[str, Any]] | None,
    overrides: Mapping[str, Any] | None,
    db: str | Path | None,
    out_dir: str | Path,
    warmup_days: int,
    mapping: str | Path | None,
    force: bool,
) -> _Problem:
    """Check the database, scenario, priors, output folder and observations; plan the fit."""
    require("pyabc", "calibration", CalibrationError)  # an extra: say so before anything
    folder = Path(out_dir)
    db_path = Path(db) if db is not None else folder / DB_NAME
    # Checked first (cheap), so that a database calibrate cannot use fails before any work.
    runs = _check_database(db_path) if os.path.lexists(db_path) else None
    path = Path(scenario_path).resolve()
    fixed = dict(overrides or {})
    sc = load_scenario(path, fixed)
    params = _params(priors if priors is not None else sc.priors)
    if not params:
        raise CalibrationError(
            f"{path}: no priors to calibrate (add a 'priors:' section, docs/calibration.md)"
        )
    check_output_folder(
        folder, calibration_outputs(sc.name, db_path), db_path.stem + "_spec.json", force=force, what="--out"
    )
    if priors is not None:  # check given priors as the scenario checks its own
        load_scenario(
            path, {**fixed, "priors": {p.path: p.prior.model_dump(exclude_none=True) for p in params}}
        )
    clash = sorted(set(fixed) & {p.path for p in params})
    if clash:
        raise CalibrationError(f"overrides and priors both set {', '.join(clash)}")

    rules = load_mapping(mapping)
    obs_table = load_observed(observed, mapping=rules)  # held-out rows dropped, always
    net = _network()
    first = simulate(sc, seed=0, agents=agents, network=net)
    plan = plan_comparison(obs_table, first, net, rules, warmup_days)
    if not plan.targets:
        raise CalibrationError(f"{sc.name}: no observed value inside the horizon to fit")
    obs = np.array([float(t.row["observed"]) for t in plan.targets])
    kinds = observation_codes(t.row["observation"] for t in plan.targets)
    change = np.array([t.statistic == "change" for t in plan.targets], dtype=bool)

    folder.mkdir(parents=True, exist_ok=True)
    model = _Model(
        str(path),
        params,
        fixed,
        agents,
        plan,
        list(first.places),
        len(first.dates),
        list(first.nationalities),
    )
    return _Problem(
        path=path,
        folder=folder,
        db_path=db_path,
        runs=runs,
        fixed=fixed,
        sc=sc,
        params=params,
        rules=rules,
        obs_table=obs_table,
        net=net,
        plan=plan,
        obs=obs,
        kinds=kinds,
        change=change,
        spec=_spec(sc, params, fixed, obs, agents),
        spec_path=db_path.with_name(db_path.stem + "_spec.json"),
        model=model,
    )


def _stored_run(problem: _Problem) -> tuple[int | None, int]:
    """The pyabc run id to continue (None: a new run) and the first generation of this call."""
    if problem.runs is None:
        return None, 0
    spec, spec_path, db_path = problem.spec, problem.spec_path, problem.db_path
    # An existing database: made for this problem?
    old = json.loads(spec_path.read_text()) if spec_path.is_file() else None
    if old != spec:
        changed = sorted(k for k in spec if old is None or old.get(k) != spec[k])
        raise CalibrationError(
            f"{db_path} holds a calibration of another problem "
            f"({', '.join(changed) or 'no spec file'} differ): "
            "use another --out or delete the database"
        )
    stored = _run_to_continue(db_path, problem.runs)
    if stored is None:
        return None, 0
    return stored[0], stored[1] + 1


def _open_session(abc: Any, problem: _Problem, run_id: int | None) -> Any:
    """Start a new pyabc run, or load the stored one: pyabc's History of it."""
    from sqlalchemy.exc import SQLAlchemyError

    db_path, obs = problem.db_path, problem.obs
    if run_id is None:  # a new run (in a new database, or one that holds no run)
        if problem.runs is None:
            write_text_atomically(problem.spec_path, json.dumps(problem.spec, indent=2) + "\n")
        try:
            return abc.new(problem.db_url, {"y": obs})
        except SQLAlchemyError as exc:
            raise CalibrationError(f"{db_path}: cannot create the database ({_one_line(exc)})") from None
    # Continue the stored run, never a new one in the same database. A run killed in
    # generation 0 has only pyabc's initial data (t = -1): ABCSMC.load + run() samples
    # generation 0 under the same id, as an uninterrupted run does (same seed, same draws).
    try:
        history = abc.load(problem.db_url, abc_id=run_id)
        stored_t = int(history.max_t)
        stored_obs = np.asarray(abc.x_0["y"], dtype=float)
        if stored_t >= 0:  # the population pyabc reads to fit its kernels and epsilon
            history.get_population(t=stored_t)
    except Exception as exc:  # anything pyabc raises reading it: the file is unusable
        raise CalibrationError(
            f"{db_path}: pyabc cannot read run {run_id} of the calibration database "
            f"({_one_line(exc)}); {_MOVE_AWAY}"
        ) from None
    if stored_obs.shape != obs.shape or not np.array_equal(stored_obs, obs):
        raise CalibrationError(
            f"{db_path} holds a calibration of another problem (its observed values "
            "differ): use another --out or delete the database"
        )
    return history


def _report_generations(abc: Any, history: Any, progress: Progress) -> None:
    """Advance ``progress`` by each generation's simulations as the generation ends (wraps
    the instance's ``run_generation``, as :func:`_seed_generations` does)."""
    run_generation = abc.run_generation

    def reporting_generation(t: int) -> Any:
        before = int(history.total_nr_simulations or 0)
        out = run_generation(t=t)
        progress.advance(max(0, int(history.total_nr_simulations or 0) - before))
        return out

    abc.run_generation = reporting_generation


def _run_abc(
    problem: _Problem,
    budget: int,
    population_size: int,
    generations: int | None,
    scheduler: Any,
    workers: int | None,
    seed: int | None,
    progress: Progress | None,
) -> tuple[Any, bool]:
    """Open or resume the pyabc run and run ABC-SMC up to the budget: (History, resumed)."""
    import pyabc
    from sqlalchemy.exc import SQLAlchemyError

    run_id, start_t = _stored_run(problem)
    prior = pyabc.Distribution(**{p.name: p.rv() for p in problem.params})
    # Epsilon: pyabc's MedianEpsilon given a number as its initial epsilon uses that number
    # for the first generation of *every* run() call, so with initial_epsilon=inf a resumed
    # calibration accepted every draw of its first generation (no selection). Continuing
    # after stored generation t - 1, "from_sample" makes pyabc compute eps(t) at the start
    # of run() from the stored population t - 1 (ABCSMC._initialize_dist_eps_acc: its
    # weighted median distance, what an uninterrupted run computes after generation t - 1);
    # a new run, or one killed in generation 0, starts at inf (generation 0 takes the prior).
    sampler, client = abc_sampler(workers, scheduler)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    # A seeded calibration reseeds the global generators: the caller's state is put back.
    saved_rng = (np.random.get_state(), random.getstate()) if seed is not None else None  # noqa: NPY002
    bar = as_progress(progress)
    try:
        abc = pyabc.ABCSMC(
            problem.model,
            prior,
            LogRatioDistance(problem.kinds, problem.change),
            population_size=population_size,
            eps=pyabc.MedianEpsilon(initial_epsilon="from_sample" if start_t > 0 else np.inf),
            sampler=sampler,
        )
        if seed is not None:
            _seed_generations(abc, seed)
        history = _open_session(abc, problem, run_id)
        done = int(history.total_nr_simulations or 0)
        if done < budget:
            _report_generations(abc, history, bar)
            bar.start(f"calibrating {problem.sc.name}", budget, done)
            try:
                with np.errstate(invalid="ignore"):  # pyabc subtracts the infinite first epsilon
                    abc.run(
                        max_total_nr_simulations=budget,
                        max_nr_populations=generations if generations is not None else np.inf,
                    )
            except SQLAlchemyError as exc:
                raise CalibrationError(
                    f"{problem.db_path}: database error while calibrating ({_one_line(exc)})"
                ) from None
            finally:
                bar.finish()
    finally:
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]
        if saved_rng is not None:
            np.random.set_state(saved_rng[0])  # noqa: NPY002
            random.setstate(saved_rng[1])
    return history, run_id is not None


def _summarise(
    problem: _Problem, history: Any, resumed: bool, seed: int | None, sizes: tuple[int, int, int]
) -> tuple[dict[str, Any], pd.DataFrame, Path, Path]:
    """Write the posterior and the calibrated scenario: (summary, posterior, its path, the scenario's)."""
    params, folder, sc, obs_table = problem.params, problem.folder, problem.sc, problem.obs_table
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({p.path: [p.value(float(v)) for v in frame[p.name]] for p in params})
    posterior["weight"] = np.asarray(weights, dtype=float) / float(np.sum(weights))
    posterior_path = folder / POSTERIOR_NAME
    write_posterior(posterior_path, posterior)

    pops = history.get_all_populations()
    gens = [
        {
            "t": int(r.t),
            "epsilon": float(r.epsilon),
            "simulations": int(r.samples),
            "particles": int(r.particles),
        }
        for r in pops.itertuples()
        if int(r.t) >= 0
    ]
    qs = (0.05, 0.5, 0.95)
    per_param = {}
    medians = {}
    for p in params:
        q05, med, q95 = weighted_quantile(posterior[p.path], posterior["weight"], qs)
        medians[p.path] = float(med)
        current = _current_value(sc, p.path)
        pq05, pmed, pq95 = p.quantiles(qs)
        per_param[p.path] = {
            "prior": p.prior.model_dump(exclude_none=True),
            "prior_q05": pq05,
            "prior_median": pmed,
            "prior_q95": pq95,
            "scenario_value": current,
            "posterior_q05": float(q05),
            "posterior_median": float(med),
            "posterior_q95": float(q95),
            "interval_ratio": float((q95 - q05) / (pq95 - pq05)) if pq95 > pq05 else None,
        }
    scenario_out = folder / f"{sc.name}-calibrated.yaml"
    write_calibrated_scenario(
        problem.path,
        medians,
        posterior_path,
        scenario_out,
        note=f"Fitted to {len(problem.obs)} observed values.",
    )
    summary: dict[str, Any] = {
        "scenario": str(problem.path),
        "calibrated_scenario": str(scenario_out),
        "posterior": str(posterior_path),
        "database": str(problem.db_path),
        "observations": len(problem.obs),
        "held_out_rows_not_read": int(obs_table.attrs.get("held_out_rows", 0)),
        "held_out_from": obs_table.attrs.get("held_out_from"),
        "skipped_rows": len(problem.plan.skipped),
        "agents": sizes[0],
        "population_size": sizes[1],
        "budget": sizes[2],
        "total_simulations": int(history.total_nr_simulations),
        "generations": gens,
        "final_epsilon": gens[-1]["epsilon"] if gens else None,
        "resumed": resumed,
        "abc_id": int(history.id),
        "seed": seed,
        "parameters": per_param,
        "wall_seconds": None,
    }
    return summary, posterior, posterior_path, scenario_out


def _check(
    problem: _Problem,
    scenario_out: Path,
    posterior: pd.DataFrame,
    observed: Iterable[str | Path] | None,
    sizes: tuple[int, int, int],
    executor: Executor,
    progress: Progress | None,
) -> tuple[ValidationResult, ValidationResult]:
    """The checks: the calibrated scenario against the observations, and the posterior
    predictive check (``sizes``: runs, agents, warm-up days); each written into the output folder."""
    runs, agents, warmup_days = sizes
    validation = validate(
        scenario_out,
        runs=runs,
        observed=observed,
        agents=agents,
        warmup_days=warmup_days,
        network=problem.net,
        mapping=problem.rules,
        executor=executor,
        progress=progress,
    )
    validation.write(problem.folder / "validation")
    predictive = _predictive(
        problem.path,
        posterior,
        problem.fixed,
        runs,
        agents,
        problem.obs_table,
        problem.rules,
        warmup_days,
        problem.net,
        problem.sc.name,
        executor=executor,
        progress=progress,
    )
    predictive.write(problem.folder / "predictive")
    return validation, predictive


def _current_value(sc: Scenario, path: str) -> float | None:
    node = get_path(sc.model_dump(by_alias=True), path, None)
    return float(node) if isinstance(node, int | float) else None


def _predictive_column(
    setup: tuple[Path, Mapping[str, Any], int, Network, ComparisonPlan], run: tuple[int, dict[str, float]]
) -> npt.NDArray[np.float64]:
    """One run of the predictive check (a task of :func:`corridor.runner.run_many`)."""
    path, fixed, agents, net, plan = setup
    seed, draw = run
    res = simulate(path, seed=seed, agents=agents, overrides={**fixed, **draw}, network=net)
    return simulated_values(res, plan)


def _predictive(
    path: Path,
    posterior: pd.DataFrame,
    fixed: Mapping[str, Any],
    runs: int,
    agents: int,
    obs_table: pd.DataFrame,
    rules: list[Any],
    warmup_days: int,
    net: Network,
    name: str,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> ValidationResult:
    """Posterior predictive check: ``runs`` runs, each with a draw resampled by weight.

    The first run (seed 0) is made here and plans the comparison; the others go to
    ``executor``.
    """
    rng = np.random.default_rng(20240601)
    w = posterior["weight"].to_numpy(dtype=float)
    rows = rng.choice(len(posterior), size=runs, p=w / w.sum())
    columns = [c for c in posterior.columns if c != "weight"]
    draws = [{c: float(posterior[c].iloc[int(row)]) for c in columns} for row in rows]
    first = simulate(path, seed=0, agents=agents, overrides={**fixed, **draws[0]}, network=net)
    plan = plan_comparison(obs_table, first, net, rules, warmup_days)
    rest = run_many(
        partial(_predictive_column, (path, fixed, agents, net, plan)),
        [(seed, draws[seed]) for seed in range(1, runs)],
        executor=executor,
        progress=progress,
        description=f"predictive check {name}",
        done=1,
    )
    sims = np.column_stack([simulated_values(first, plan), *rest]) if plan.targets else np.empty((0, runs))
    info = {"scenario": f"{name} (posterior draws)", "seeds": list(range(runs)), "agents": agents}
    return _result(plan, sims, obs_table, first, info)
