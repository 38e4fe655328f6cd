"""calibrate(): prepare, open or resume the pyabc database, run ABC-SMC, summarise, check."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.evidence import ValidationResult, compare_observed, load_mapping, load_observed, validate
from corridor.evidence.plan import plan_comparison
from corridor.geography import Network
from corridor.outputs import check_output_folder
from corridor.runner.single import simulate
from corridor.scenario import Prior, Scenario, load_scenario

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


def _sampler(scheduler: Any, workers: int | None) -> tuple[Any, Any]:
    """A pyabc sampler and the Dask client to close (or None)."""
    import pyabc

    if scheduler is None and workers == 1:  # in this process (reproducible with a seed)
        return pyabc.sampler.SingleCoreSampler(), None
    if scheduler is None:
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers), None
    if not isinstance(scheduler, str):
        return scheduler, None  # a pyabc sampler object
    from distributed import Client

    try:
        client = Client(scheduler, timeout=30)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise CalibrationError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    return pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1), client


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
        sessions included: running again with the same database resumes, see below).
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
        Runs of the posterior predictive check (0: no check).
    check_agents : int, optional
        Agents per check run (default ``agents``).
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

    Resuming
    --------
    If the database exists, it must be a pyabc database made for the same problem (the
    ``calibration_spec.json`` next to it). The run stored in it (one pyabc run id per
    database) is continued after its last completed generation, at the weighted median of
    that generation's distances (the epsilon an uninterrupted run uses); a run killed in
    generation 0 restarts generation 0 under the same run id. The simulations of an
    interrupted generation are lost.

    Raises
    ------
    CalibrationError
        No priors, no observation inside the horizon, a database made for another problem,
        or a database that is not a readable pyabc database (empty, not SQLite, without
        pyabc's tables, corrupted): one line naming the file.
    ScenarioError, EvidenceError
        An invalid scenario, prior or observed file.
    """
    import pyabc

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
    folder = Path(out_dir)
    db_path = Path(db) if db is not None else folder / DB_NAME
    # Checked first (cheap), so that a database calibrate cannot use fails before any work.
    runs = _check_database(db_path) if os.path.lexists(db_path) else None
    started = time.perf_counter()
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
    kind_code = {"count": 0, "minimum": 1, "maximum": 2}
    kinds = np.array([kind_code[str(t.row["observation"])] for t in plan.targets], dtype=np.int8)
    change = np.array([t.statistic == "change" for t in plan.targets], dtype=bool)

    folder.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{db_path.resolve()}"
    spec = _spec(sc, params, fixed, obs, agents)
    spec_path = db_path.with_name(db_path.stem + "_spec.json")

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
    prior = pyabc.Distribution(**{p.name: p.rv() for p in params})

    run_id: int | None = None
    start_t = 0  # the first generation of this call
    if runs is not None:  # an existing database: made for this problem?
        old = json.loads(spec_path.read_text()) if spec_path.is_file() else None
        if old != spec:
            changed = sorted(k for k in spec if old is None or old.get(k) != spec[k])
            raise CalibrationError(
                f"{db_path} holds a calibration of another problem "
                f"({', '.join(changed) or 'no spec file'} differ): "
                "use another --out or delete the database"
            )
        stored = _run_to_continue(db_path, runs)
        if stored is not None:
            run_id, start_t = stored[0], stored[1] + 1
    # Epsilon: pyabc's MedianEpsilon given a number as its initial epsilon uses that number
    # for the first generation of *every* run() call, so with initial_epsilon=inf a resumed
    # calibration accepted every draw of its first generation (no selection). Continuing
    # after stored generation t - 1, "from_sample" makes pyabc compute eps(t) at the start
    # of run() from the stored population t - 1 (ABCSMC._initialize_dist_eps_acc: its
    # weighted median distance, what an uninterrupted run computes after generation t - 1);
    # a new run, or one killed in generation 0, starts at inf (generation 0 takes the prior).
    sampler, client = _sampler(scheduler, workers)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    # A seeded calibration reseeds the global generators: the caller's state is put back.
    saved_rng = (np.random.get_state(), random.getstate()) if seed is not None else None  # noqa: NPY002
    try:
        from sqlalchemy.exc import SQLAlchemyError

        abc = pyabc.ABCSMC(
            model,
            prior,
            LogRatioDistance(kinds, change),
            population_size=population_size,
            eps=pyabc.MedianEpsilon(initial_epsilon="from_sample" if start_t > 0 else np.inf),
            sampler=sampler,
        )
        if seed is not None:
            _seed_generations(abc, seed)
        if run_id is None:  # a new run (in a new database, or one that holds no run)
            if runs is None:
                write_text_atomically(spec_path, json.dumps(spec, indent=2) + "\n")
            try:
                history = abc.new(db_url, {"y": obs})
            except SQLAlchemyError as exc:
                raise CalibrationError(f"{db_path}: cannot create the database ({_one_line(exc)})") from None
        else:
            # Continue the stored run, never a new one in the same database. A run killed in
            # generation 0 has only pyabc's initial data (t = -1): ABCSMC.load + run() samples
            # generation 0 under the same id, as an uninterrupted run does (same seed, same draws).
            try:
                history = abc.load(db_url, abc_id=run_id)
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
        resumed = run_id is not None
        done = int(history.total_nr_simulations or 0)
        if done < budget:
            try:
                with np.errstate(invalid="ignore"):  # pyabc subtracts the infinite first epsilon
                    abc.run(
                        max_total_nr_simulations=budget,
                        max_nr_populations=generations if generations is not None else np.inf,
                    )
            except SQLAlchemyError as exc:
                raise CalibrationError(
                    f"{db_path}: database error while calibrating ({_one_line(exc)})"
                ) from None
    finally:
        if client is not None:
            client.close()
        if saved_rng is not None:
            np.random.set_state(saved_rng[0])  # noqa: NPY002
            random.setstate(saved_rng[1])

    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = pd.DataFrame({p.path: [p.value(float(v)) for v in frame[p.name]] for p in params})
    posterior["weight"] = np.asarray(weights, dtype=float) / float(np.sum(weights))
    posterior_path = folder / POSTERIOR_NAME
    posterior.to_parquet(posterior_path, index=False)

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
        path, medians, posterior_path, scenario_out, note=f"Fitted to {len(obs)} observed values."
    )
    summary: dict[str, Any] = {
        "scenario": str(path),
        "calibrated_scenario": str(scenario_out),
        "posterior": str(posterior_path),
        "database": str(db_path),
        "observations": len(obs),
        "held_out_rows_not_read": int(obs_table.attrs.get("held_out_rows", 0)),
        "held_out_from": obs_table.attrs.get("held_out_from"),
        "skipped_rows": len(plan.skipped),
        "agents": agents,
        "population_size": population_size,
        "budget": budget,
        "total_simulations": int(history.total_nr_simulations),
        "generations": gens,
        "final_epsilon": gens[-1]["epsilon"] if gens else None,
        "resumed": resumed,
        "abc_id": int(history.id),
        "seed": seed,
        "parameters": per_param,
        "wall_seconds": None,
    }
    if on_generation is not None:
        for g in gens:
            on_generation(g)

    validation = predictive = None
    if check_runs > 0:
        n_agents = check_agents if check_agents is not None else agents
        validation = validate(
            scenario_out,
            runs=check_runs,
            observed=observed,
            agents=n_agents,
            warmup_days=warmup_days,
            network=net,
            mapping=rules,
        )
        validation.write(folder / "validation")
        predictive = _predictive(
            path, posterior, fixed, check_runs, n_agents, obs_table, rules, warmup_days, net, sc.name
        )
        predictive.write(folder / "predictive")
        summary["check"] = {
            "calibrated_scenario": validation.summary()["overall"],
            "posterior_draws": predictive.summary()["overall"],
            "runs": check_runs,
            "agents": n_agents,
        }
    summary["wall_seconds"] = time.perf_counter() - started
    summary_path = folder / SUMMARY_NAME
    write_text_atomically(summary_path, json.dumps(summary, indent=2, default=str) + "\n")
    return CalibrationResult(
        posterior=posterior,
        posterior_path=posterior_path,
        scenario_path=scenario_out,
        db_path=db_path,
        summary_path=summary_path,
        summary=summary,
        validation=validation,
        predictive=predictive,
    )


def _current_value(sc: Scenario, path: str) -> float | None:
    node: Any = sc.model_dump(by_alias=True)
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return float(node) if isinstance(node, int | float) else None


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
) -> ValidationResult:
    """Posterior predictive check: ``runs`` runs, each with a draw resampled by weight."""
    rng = np.random.default_rng(20240601)
    w = posterior["weight"].to_numpy(dtype=float)
    rows = rng.choice(len(posterior), size=runs, p=w / w.sum())
    columns = [c for c in posterior.columns if c != "weight"]
    results = []
    for seed, row in enumerate(rows):
        draw = {c: float(posterior[c].iloc[int(row)]) for c in columns}
        results.append(simulate(path, seed=seed, agents=agents, overrides={**fixed, **draw}, network=net))
    info = {"scenario": f"{name} (posterior draws)", "seeds": list(range(runs)), "agents": agents}
    return compare_observed(
        obs_table, results, network=net, mapping=rules, warmup_days=warmup_days, info=info
    )
