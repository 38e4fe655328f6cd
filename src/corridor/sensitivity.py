"""Global sensitivity analysis: which uncertain parameters move which outcomes (SALib).

:func:`run_sensitivity` draws parameter values over their ranges (Morris trajectories by
default, Saltelli samples for Sobol indices), runs the scenario once per draw with the same
seed and a small number of agents, and analyses the main outcomes of each run
(:func:`corridor.report.outcome_totals`: flows over the horizon, stocks at its end)::

    from corridor.sensitivity import parse_param, run_sensitivity, write_sensitivity

    result = run_sensitivity("scenarios/mexico-2019.yaml", trajectories=6, agents=20_000)
    result.scores()                      # parameter x outcome, the ranking score
    write_sensitivity(result, "runs/mexico-2019-sensitivity")

Parameters
    A :class:`Parameter` is a dotted scenario path and a range. A plain path
    (``policy.us_apprehension_probability``) takes the drawn value. A path ending in ``*``
    (``policy.interdiction_per_100km*``) is a multiplier: every number at or under that path is
    multiplied by the drawn factor, in the scenario and in the events that set it later
    (``policy.raid_probability_per_day*`` also scales the June 2019 raid rate). Without
    parameters, :func:`default_parameters` takes the scenario's assumed scalar parameters
    (see :data:`DEFAULT_CANDIDATES`) over x0.5 to x2 their value.

Scores
    Morris: ``score = mu_star * sd(parameter) / sd(outcome)``, both standard deviations over the
    sample, the parameter's on its unit scale (about 0.37 on Morris' 4-level grid).
    ``mu_star`` is the mean absolute elementary effect, in the outcome's units for a move across
    the parameter's whole range; the score turns it into the outcome's change per standard
    deviation of the parameter, in standard deviations of the outcome, so that outcomes of
    different sizes compare: about 1 for a parameter that alone drives the outcome, 0 for none,
    and, when effects are linear and add up, its square is the parameter's share of the
    outcome's variance (a first-order Sobol index). ``mu_star_rel`` is ``mu_star / |baseline|``,
    the baseline being the scenario as is with the same seed. Sobol: ``score = ST``, the
    total-order index (the share of the outcome's variance that goes with the parameter,
    interactions included). Outcomes constant over the sample score 0.

Every evaluation uses the same seed (common random numbers), so differences between runs
come from the parameters and from the different paths random draws take once a parameter
changes a decision; with few agents the latter adds noise to the smaller effects. To tell
such noise from an effect, the baseline is also run with ``replicates`` other seeds:
``seed_sd`` is the outcome's standard deviation over those seeds, and ``mu_star_noise`` the
``mu_star`` that seed noise alone would give a parameter without effect
(``E|e1 - e2| / delta = 2 seed_sd / (sqrt(pi) delta)``, ``delta = 2/3`` on Morris' 4-level
grid); parameters whose ``mu_star`` is below it are not told apart from no effect
(``above_noise`` False). A parameter that changes no decision at all leaves every random
draw as it was and gets exactly 0.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.outputs import check_output_folder
from corridor.report import MAIN_OUTCOMES, outcome_totals
from corridor.run import simulate
from corridor.scenario import Scenario, ScenarioError, load_scenario, parse_override
from corridor.workers import process_pool

__all__ = [
    "DEFAULT_AGENTS",
    "DEFAULT_CANDIDATES",
    "Parameter",
    "SensitivityError",
    "SensitivityResult",
    "check_parameters",
    "default_parameters",
    "evaluations_needed",
    "parameter_overrides",
    "parse_param",
    "run_sensitivity",
    "sensitivity_html",
    "write_sensitivity",
]

#: Agents per evaluation unless told otherwise: many runs, each small.
DEFAULT_AGENTS = 20_000
#: Morris grid levels (SALib's default).
NUM_LEVELS = 4
Method = Literal["morris", "sobol"]
Kind = Literal["probability", "positive", "multiplier"]

#: The candidates of the default parameter set, with how their range is made from the
#: scenario's value ``v``: ``probability``: ``[v/2, min(2v, 1)]``; ``positive``: ``[v/2, 2v]``;
#: ``multiplier``: every number under the path times a factor in ``[0.5, 2]``. A candidate
#: that an event sets later becomes a multiplier (so the event's value scales too; for a
#: probability the factor stops where the largest value reaches 1). Candidates are kept when
#: the scenario's provenance marks them as assumptions (see :func:`is_assumed`) and their
#: value is not 0.
DEFAULT_CANDIDATES: tuple[tuple[str, Kind], ...] = (
    ("inflow_multiplier", "positive"),
    ("behaviour.move_on_probability_per_day", "probability"),
    ("behaviour.continue_probability", "probability"),
    ("behaviour.give_up_probability_per_day", "probability"),
    ("behaviour.border_crossing_probability_per_day", "probability"),
    ("behaviour.route_enforcement_weight", "positive"),
    ("policy.interdiction_per_100km", "multiplier"),  # the checkpoint hazard, all modes together
    ("policy.raid_probability_per_day", "probability"),
    ("policy.detention_mean_stay_days", "positive"),
    ("policy.us_apprehension_probability", "probability"),
    ("policy.asylum.application_probability_per_day.default", "probability"),
    ("policy.metering.join_share.default", "probability"),
    ("hazards.death_per_1000km", "multiplier"),
)


class SensitivityError(ValueError):
    """Parameters or options of a sensitivity analysis that cannot be used."""


@dataclass(frozen=True)
class Parameter:
    """An uncertain input: a dotted scenario path (``*`` at the end: a multiplier) and a range."""

    path: str
    low: float
    high: float

    @property
    def is_multiplier(self) -> bool:
        """Whether the drawn value multiplies the numbers under :attr:`target`."""
        return self.path.endswith("*")

    @property
    def target(self) -> str:
        """The scenario path the parameter acts on (without the ``*``)."""
        return self.path.rstrip("*")

    def __str__(self) -> str:
        return f"{self.path}={self.low:g}:{self.high:g}"


def parse_param(text: str) -> Parameter:
    """Read ``dotted.path=low:high`` (``dotted.path*=low:high`` for a multiplier)."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or any(not part for part in path.rstrip("*").split(".")):
        raise SensitivityError(f"--param {text!r}: expected dotted.path=low:high")
    if "*" in path[:-1]:
        raise SensitivityError(f"--param {text!r}: only one '*', at the end of the path")
    low_text, sep, high_text = raw.partition(":")  # not YAML: it would read 1:2 as 62
    try:
        if not sep:
            raise ValueError
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise SensitivityError(f"--param {text!r}: the range must be low:high, two numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise SensitivityError(f"--param {text!r}: need finite low < high (got {low:g}:{high:g})")
    return Parameter(path, low, high)


# --------------------------------------------------------------------------- scenario values


def _dump(scenario: Scenario) -> dict[str, Any]:
    return scenario.model_dump(mode="json", by_alias=True)


_MISSING = object()


def _lookup(data: Any, path: str) -> Any:
    """The value at a dotted path of dumped scenario data (list items by index), or _MISSING."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scaled(value: Any, factor: float) -> Any:
    """A copy of ``value`` with every number in it multiplied by ``factor`` (ints stay ints)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return round(value * factor)
    if isinstance(value, float):
        return value * factor
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return value


def _numbers(value: Any) -> list[float]:
    if _is_number(value):
        return [float(value)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    if isinstance(value, list):
        return [x for v in value for x in _numbers(v)]
    return []


def _scaled_at(value: Any, sub: str, factor: float) -> Any:
    """A copy of ``value`` with the numbers under the dotted ``sub`` path scaled."""
    if not sub:
        return _scaled(value, factor)
    head, _, rest = sub.partition(".")
    if isinstance(value, dict) and head in value:
        out = dict(value)
        out[head] = _scaled_at(value[head], rest, factor)
        return out
    return value


def _event_sets(data: Mapping[str, Any], target: str) -> list[tuple[int, dict[str, Any]]]:
    """Events whose ``set`` touches ``target`` (a ``policy.`` path): (index, their set)."""
    if not target.startswith("policy."):
        return []
    rel = target.removeprefix("policy.")
    hits = []
    for i, event in enumerate(data.get("events") or []):
        sets = event.get("set") or {}
        if any(k == rel or k.startswith(rel + ".") or rel.startswith(k + ".") for k in sets):
            hits.append((i, sets))
    return hits


def _multiplier_overrides(data: Mapping[str, Any], target: str, factor: float) -> dict[str, Any]:
    """Overrides multiplying every number at or under ``target``, and what events set there."""
    out: dict[str, Any] = {}
    value = _lookup(data, target)
    if value is not _MISSING and _numbers(value):
        out[target] = _scaled(value, factor)
    rel = target.removeprefix("policy.")
    for i, sets in _event_sets(data, target):
        new = {}
        for key, val in sets.items():
            if key == rel or key.startswith(rel + "."):
                new[key] = _scaled(val, factor)
            elif rel.startswith(key + "."):
                new[key] = _scaled_at(val, rel[len(key) + 1 :], factor)
            else:
                new[key] = val
        out[f"events.{i}.set"] = new
    return out


def parameter_overrides(
    scenario: Scenario, parameters: Sequence[Parameter], values: Sequence[float]
) -> dict[str, Any]:
    """Scenario overrides that set ``parameters`` to ``values`` (one draw).

    ``scenario`` is the scenario being varied (loaded with any fixed overrides): multipliers
    scale its numbers. Plain parameters whose scenario value is an integer are rounded.
    """
    data = _dump(scenario)
    out: dict[str, Any] = {}
    for p, v in zip(parameters, values, strict=True):
        if p.is_multiplier:
            out.update(_multiplier_overrides(data, p.target, float(v)))
        else:
            current = _lookup(data, p.path)
            is_int = isinstance(current, int) and not isinstance(current, bool)
            out[p.path] = round(v) if is_int else float(v)
    return out


def is_assumed(scenario: Scenario, path: str) -> bool:
    """Whether the scenario's provenance leaves ``path`` an assumption.

    True when its provenance entry (the path's own or its nearest parent's) is an assumption
    or missing, or when it is a source whose text names the field as an assumption (a block's
    source such as ``policy.metering``'s saying "join_share and abandonment are assumptions").
    """
    entry = scenario.provenance_of(path)
    if entry is None or entry.assumption is not None:
        return True
    text = (entry.source or "").lower()
    names = [p for p in path.split(".") if p != "default" and not p.isdigit()]
    return "assumption" in text and bool(names) and names[-1].lower() in text


def default_parameters(scenario: Scenario) -> list[Parameter]:
    """The default parameter set: :data:`DEFAULT_CANDIDATES` that ``scenario`` assumes."""
    data = _dump(scenario)
    params = []
    for path, kind in DEFAULT_CANDIDATES:
        value = _lookup(data, path)
        if value is _MISSING or not is_assumed(scenario, path):
            continue
        if kind != "multiplier" and _is_number(value) and _event_sets(data, path):
            # An event sets it later: scale the event's value with the initial one.
            values = _numbers(value) + [
                x
                for _, sets in _event_sets(data, path)
                for k, v in sets.items()
                if "policy." + k == path
                for x in _numbers(v)
            ]
            top = max(values)
            high = min(2.0, 1.0 / top) if kind == "probability" and top > 0 else 2.0
            if top > 0 and high > 1.0:
                params.append(Parameter(path + "*", 0.5, high))
            continue
        if kind == "multiplier":
            if any(x > 0 for x in _numbers(value)):
                params.append(Parameter(path + "*", 0.5, 2.0))
            continue
        if not _is_number(value) or value <= 0:
            continue
        v = float(value)
        high = min(2 * v, 1.0) if kind == "probability" else 2 * v
        if high > v / 2:
            params.append(Parameter(path, v / 2, high))
    return params


def _fixed(overrides: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    if overrides is None or isinstance(overrides, Mapping):
        return dict(overrides or {})
    return dict(parse_override(o) for o in overrides)


def check_parameters(
    scenario: str | Path,
    parameters: Sequence[Parameter],
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Check that every parameter is a scenario field and valid at both ends of its range.

    Loads the scenario with all parameters at their low ends, then at their high ends; on a
    failure, parameter by parameter to name the culprits.

    Returns
    -------
    Scenario
        The scenario with the fixed ``overrides`` (the one the parameters vary).

    Raises
    ------
    SensitivityError
        Naming each bad parameter and the scenario's complaint.
    ScenarioError
        When the scenario itself (with the fixed overrides) does not load.
    """
    fixed = _fixed(overrides)
    base = load_scenario(scenario, fixed)
    if not parameters:
        raise SensitivityError("no parameters to vary")
    seen = [p.target for p in parameters]
    dupes = sorted({t for t in seen if seen.count(t) > 1})
    if dupes:
        raise SensitivityError(f"parameter given twice: {', '.join(dupes)}")
    data = _dump(base)
    problems: list[str] = []
    for p in parameters:
        if p.is_multiplier and not (_numbers(_lookup(data, p.target)) or _event_sets(data, p.target)):
            problems.append(
                f"--param {p}: no number at {p.target!r} in the scenario to multiply "
                "(check the spelling; see docs/scenarios.md for the fields)"
            )
        elif not p.is_multiplier and isinstance(_lookup(data, p.path), dict | list):
            problems.append(
                f"--param {p}: {p.path!r} holds several values; name one of them, "
                f"or scale them all with {p.path}*=low:high"
            )
    if problems:
        raise SensitivityError("\n".join(problems))

    def fails(subset: Sequence[Parameter], end: str) -> str | None:
        values = [getattr(p, end) for p in subset]
        try:
            load_scenario(scenario, {**fixed, **parameter_overrides(base, subset, values)})
        except ScenarioError as exc:
            return "; ".join(f"{path}: {msg}" for path, _line, msg in exc.problems)
        return None

    if fails(parameters, "low") is None and fails(parameters, "high") is None:
        return base
    for p in parameters:
        for end in ("low", "high"):
            why = fails([p], end)
            if why is not None:
                problems.append(f"--param {p}: invalid at {end} = {getattr(p, end):g}: {why}")
                break
    raise SensitivityError("\n".join(problems or ["the parameters are invalid together at one end"]))


# --------------------------------------------------------------------------- evaluation


def _evaluate(task: tuple[str, dict[str, Any], int, int | None]) -> list[float]:
    """One model evaluation (in a worker process): the main outcomes of one run."""
    path, overrides, seed, agents = task
    return outcome_totals(simulate(path, seed=seed, agents=agents, overrides=overrides)).tolist()


def _evaluate_all(
    tasks: Sequence[tuple[str, dict[str, Any], int, int | None]],
    workers: int,
    on_evaluation: Callable[[int, int], None] | None,
) -> list[list[float]]:
    results: list[list[float] | None] = [None] * len(tasks)
    done = 0
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            results[i] = _evaluate(task)
            done += 1
            if on_evaluation is not None:
                on_evaluation(done, len(tasks))
    else:
        with process_pool(min(workers, len(tasks)), preload=["corridor.sensitivity"]) as pool:
            futures: dict[Future[list[float]], int] = {
                pool.submit(_evaluate, task): i for i, task in enumerate(tasks)
            }
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    done += 1
                    if on_evaluation is not None:
                        on_evaluation(done, len(tasks))
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return [r for r in results if r is not None]


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
        Called with (runs done, runs in all) after each run (progress bars).

    Returns
    -------
    SensitivityResult
    """
    if method not in ("morris", "sobol"):
        raise SensitivityError(f"unknown method {method!r}: morris or sobol")
    how: Method = "morris" if method == "morris" else "sobol"
    if replicates < 0:
        raise SensitivityError(f"replicates must be >= 0 (got {replicates})")
    if trajectories < 2:
        raise SensitivityError(f"need at least 2 trajectories / base samples (got {trajectories})")
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
    outputs = _evaluate_all(tasks, n_workers, on_evaluation)
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


# --------------------------------------------------------------------------- outputs


def sensitivity_html(result: SensitivityResult, path: str | Path) -> Path:
    """Write a self-contained HTML heatmap of the scores, parameters x outcomes."""
    import plotly.graph_objects as go

    scores = result.scores()
    idx = result.indices.set_index(["parameter", "outcome"])
    hover = []
    for p in scores.index:
        row = []
        for o in scores.columns:
            r = idx.loc[(p, o)]
            if result.method == "morris":
                row.append(
                    f"{p}<br>{o}: rank {r['rank']}, score {r['score']:.2f}<br>"
                    f"mu* {r['mu_star']:,.0f} ± {r['mu_star_conf']:,.0f}, sigma {r['sigma']:,.0f}, "
                    f"mu {r['mu']:,.0f}<br>seed noise: mu* {r['mu_star_noise']:,.0f} "
                    f"(outcome sd over seeds {r['seed_sd']:,.0f})<br>"
                    f"baseline {r['baseline']:,.0f}, std over the sample {r['std']:,.0f}"
                )
            else:
                row.append(
                    f"{p}<br>{o}: rank {r['rank']}<br>ST {r['ST']:.2f} ± {r['ST_conf']:.2f}, "
                    f"S1 {r['S1']:.2f} ± {r['S1_conf']:.2f}<br>baseline {r['baseline']:,.0f}"
                )
        hover.append(row)
    what = (
        "Morris mu* x sd(parameter) / sd(outcome)"
        if result.method == "morris"
        else "Sobol total-order index ST"
    )
    info = result.info
    fig = go.Figure(
        go.Heatmap(
            z=scores.to_numpy(),
            x=list(scores.columns),
            y=list(scores.index),
            text=np.round(scores.to_numpy(), 2),
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale="Blues",
            zmin=0,
            colorbar={"title": "score"},
        )
    )
    fig.update_layout(
        title=(
            f"{info.get('scenario', '')}: which parameters move which outcomes ({what}); "
            f"{info.get('evaluations', '?')} runs of {info.get('agents') or 'default'} agents, seed "
            f"{info.get('seed', '?')}"
        ),
        height=max(400, 40 * len(scores.index) + 250),
        yaxis={"autorange": "reversed"},
        xaxis={"tickangle": -40},
        margin={"l": 320},
    )
    out = Path(path)
    write_text_atomically(out, fig.to_html(full_html=True, include_plotlyjs=True))
    return out


#: The files ``corridor sensitivity`` writes into its folder (``sensitivity.json``, last, marks it).
SENSITIVITY_OUTPUTS = ("sensitivity.csv", "samples.csv", "sensitivity.html", "sensitivity.json")


def write_sensitivity(
    result: SensitivityResult, out_dir: str | Path, *, force: bool = False
) -> dict[str, Path]:
    """Write ``sensitivity.csv`` (the ranked indices), ``samples.csv`` (every run's draw and
    outcomes), ``sensitivity.html`` (the heatmap) and ``sensitivity.json`` (the options).

    A folder holding files corridor did not write is refused (:class:`OutputError`) unless
    ``force``; then the files are written beside them, and they are kept."""
    folder = Path(out_dir)
    check_output_folder(folder, SENSITIVITY_OUTPUTS, "sensitivity.json", force=force, what="--out")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": folder / "sensitivity.csv",
        "samples": folder / "samples.csv",
        "html": folder / "sensitivity.html",
        "json": folder / "sensitivity.json",
    }
    write_text_atomically(paths["csv"], result.indices.to_csv(index=False))
    write_text_atomically(paths["samples"], result.samples.to_csv(index_label="run"))
    sensitivity_html(result, paths["html"])
    meta = {**copy.deepcopy(result.info), "baseline": result.baseline.to_dict()}
    write_text_atomically(paths["json"], json.dumps(meta, indent=2, default=str) + "\n")
    return paths
