"""Validation: simulated medians and intervals beside every observed value, and scores."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from corridor.geography import Network, load_network
from corridor.metrics import Results
from corridor.outputs import publish_folder
from corridor.runner.executors import Executor, iter_many
from corridor.runner.progress import Progress
from corridor.runner.single import simulate
from corridor.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from corridor.evidence.plan import ComparisonPlan
    from corridor.observations.mapping import Rule
from corridor.evidence.html import _html
from corridor.evidence.plan import plan_comparison, simulated_values
from corridor.evidence.score import OBSERVATION_CODES, inside_interval, log_errors, scores
from corridor.observations.mapping import load_mapping
from corridor.observations.reader import HELD_OUT_FROM, load_observed

_DISPLAY = (
    "series",
    "where",
    "nationalities",
    "period",
    "statistic",
    "observed",
    "sim_median",
    "sim_q05",
    "sim_q95",
    "log_ratio",
    "inside",
)


#: The files ``corridor validate`` writes into its folder (``validation.json`` marks it).
VALIDATION_OUTPUTS = ("validation.csv", "validation_skipped.csv", "validation.json", "validation.html")


def _table(plan: ComparisonPlan, sims: npt.NDArray[np.float64]) -> pd.DataFrame:
    rows = []
    for i, t in enumerate(plan.targets):
        values = sims[i]
        finite = values[np.isfinite(values)]
        if finite.size:
            q05, med, q95 = (float(v) for v in np.quantile(finite, [0.05, 0.5, 0.95]))
        else:
            q05 = med = q95 = float("nan")
        obs = float(t.row["observed"])
        code = OBSERVATION_CODES[str(t.row["observation"])]
        ratio, error = (float(v) for v in log_errors(med, obs, t.statistic == "change", code))
        inside = inside_interval(q05, q95, obs, code)
        rows.append(
            {
                **t.row,
                "sim_median": med,
                "sim_q05": q05,
                "sim_q95": q95,
                "log_ratio": ratio,
                "log_error": error,
                "inside": inside,
            }
        )
    columns = [
        "series",
        "geography",
        "breakdown",
        "nationality",
        "period_start",
        "period_end",
        "period",
        "metric",
        "statistic",
        "observation",
        "where",
        "nationalities",
        "observed",
        "sim_median",
        "sim_q05",
        "sim_q95",
        "log_ratio",
        "log_error",
        "inside",
        "adjustment",
        "unit",
        "note",
        "source",
        "file",
        "line",
        "rule",
    ]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class ValidationResult:
    """Simulated against observed, one row per observed value inside the horizon.

    Attributes
    ----------
    table : DataFrame
        Per observation: the observed row (series, geography, breakdown, period), the
        metric and statistic it is compared with, where (places) and nationalities, the
        observed value (after any subtraction, see ``adjustment``), the simulated median and
        5% / 95% quantiles over runs, ``log_ratio`` = log(sim_median / observed) (values
        floored at 1 person; for ``change``, the log of the ratio of 1 + change), the
        ``log_error`` used in the summary (absolute log ratio; one-sided for minimum and
        maximum counts) and ``inside`` (the 90% interval holds the observed value; for a
        minimum, the interval reaches it).
    skipped : DataFrame
        The observed rows not compared, with the reason.
    simulated : ndarray
        ``(observation, run)``: each run's value for each row of ``table``.
    info : dict
        Scenario, seeds, agents, horizon, files, held-out count.
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    simulated: npt.NDArray[np.float64]
    info: dict[str, Any] = field(default_factory=dict)

    def per_series(self) -> pd.DataFrame:
        """Per series: observations, median absolute log error, share inside the 90% interval."""
        rows = [{"series": s, **scores(g)} for s, g in self.table.groupby("series", sort=True)]
        frame = pd.DataFrame(
            rows, columns=["series", "observations", "median_abs_log_error", "share_inside_90"]
        )
        return frame.set_index("series")

    def summary(self) -> dict[str, Any]:
        """Overall and per-series scores, skipped rows by reason, held-out count, run facts."""
        per = self.per_series()
        return {
            **self.info,
            "overall": scores(self.table),
            "per_series": {
                str(s): {k: (None if pd.isna(v) else v) for k, v in row.items()} for s, row in per.iterrows()
            },
            "skipped_rows": len(self.skipped),
            "skipped_by_reason": {str(k): int(v) for k, v in self.skipped["reason"].value_counts().items()},
        }

    def display(self) -> pd.DataFrame:
        """The table with readable cells, for printing."""
        t = self.table
        fraction = t["statistic"] == "change"

        def num(col: str) -> pd.Series:
            return pd.Series(
                [
                    "" if pd.isna(v) else (f"{v:+.2f}" if frac else f"{v:,.0f}")
                    for v, frac in zip(t[col], fraction, strict=True)
                ],
                index=t.index,
                dtype=object,
            )

        shown = pd.DataFrame(
            {
                "series": t["series"],
                "where": t["where"],
                "nationalities": t["nationalities"].where(t["nationalities"].str.len() <= 30, t["breakdown"]),
                "period": t["period"],
                "statistic": t["statistic"]
                + t["observation"].map({"count": "", "minimum": " (min)", "maximum": " (max)"}),
                "observed": num("observed"),
                "sim_median": num("sim_median"),
                "sim_q05": num("sim_q05"),
                "sim_q95": num("sim_q95"),
                "log_ratio": t["log_ratio"].map(lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
                "inside": t["inside"].map({True: "yes", False: "no"}),
            },
            columns=list(_DISPLAY),
        )
        return shown

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML page: scores, then per series the observed values
        against the simulated median and 5-95% band over time."""
        return _html(self, Path(path))

    def write(self, out_dir: str | Path, *, force: bool = False) -> dict[str, Path]:
        """Write ``validation.csv`` (the table), ``validation_skipped.csv``,
        ``validation.json`` (summary) and ``validation.html`` into ``out_dir``.

        Published as one folder (:func:`corridor.outputs.publish_folder`): a folder holding
        files corridor did not write is refused (:class:`OutputError`) unless ``force``; then
        the files are written beside them, and they are kept."""
        names = dict(zip(("csv", "skipped", "json", "html"), VALIDATION_OUTPUTS, strict=True))

        def fill(folder: Path) -> None:
            (folder / names["csv"]).write_text(self.table.to_csv(index=False), encoding="utf-8")
            (folder / names["skipped"]).write_text(self.skipped.to_csv(index=False), encoding="utf-8")
            self.to_html(folder / names["html"])
            summary = json.dumps(self.summary(), indent=2, default=str) + "\n"
            (folder / names["json"]).write_text(summary, encoding="utf-8")

        dest = publish_folder(out_dir, fill, VALIDATION_OUTPUTS, "validation.json", force=force)
        return {key: dest / name for key, name in names.items()}


def compare_observed(
    observations: pd.DataFrame,
    runs: Sequence[Results],
    *,
    network: Network | None = None,
    mapping: Sequence[Rule] | None = None,
    warmup_days: int = 0,
    info: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Compare observations (a :func:`load_observed` table) with runs of one scenario.

    All runs must share dates, places and nationalities (seeds of one scenario).
    """
    if not runs:
        raise ValueError("compare_observed needs at least one run")
    net = network if network is not None else load_network()
    rules = list(mapping) if mapping is not None else load_mapping()
    plan = plan_comparison(observations, runs[0], net, rules, warmup_days)
    sims = (
        np.column_stack([simulated_values(r, plan) for r in runs])
        if plan.targets
        else np.empty((0, len(runs)))
    )
    return _result(plan, sims, observations, runs[0], dict(info or {}))


def _result(
    plan: ComparisonPlan,
    sims: npt.NDArray[np.float64],
    observations: pd.DataFrame,
    first: Results,
    info: dict[str, Any],
) -> ValidationResult:
    facts = {
        "horizon": [f"{first.dates[0]:%Y-%m-%d}", f"{first.dates[-1]:%Y-%m-%d}"],
        "runs": int(sims.shape[1]),
        "observed_rows": len(observations),
        "held_out_rows": int(observations.attrs.get("held_out_rows", 0)),
        "held_out_from": observations.attrs.get("held_out_from", str(HELD_OUT_FROM.date())),
        "files": observations.attrs.get("files", []),
        **info,
    }
    return ValidationResult(_table(plan, sims), plan.skipped, sims, facts)


def _simulated_column(
    setup: tuple[Scenario, int | None, float | None, Network, ComparisonPlan], seed: int
) -> npt.NDArray[np.float64]:
    """One run of a validation (a task of :func:`corridor.runner.run_many`): its simulated
    value of every planned target."""
    sc, agents, scale, net, plan = setup
    return simulated_values(simulate(sc, seed=seed, agents=agents, scale=scale, network=net), plan)


def validate(
    scenario: Scenario | str | Path,
    *,
    runs: int = 5,
    observed: Iterable[str | Path] | None = None,
    agents: int | None = None,
    seeds: Sequence[int] | None = None,
    scale: float | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    include_held_out: bool = False,
    held_out_from: pd.Timestamp | str | date = HELD_OUT_FROM,
    warmup_days: int = 0,
    mapping: str | Path | Sequence[Rule] | None = None,
    network: Network | None = None,
    on_run: Callable[[int], None] | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> ValidationResult:
    """Run a scenario over several seeds and compare it with every observed value in its horizon.

    Parameters
    ----------
    scenario : Scenario or path
    runs : int
        Number of seeds (0, 1, ..., runs - 1) when ``seeds`` is not given.
    observed : paths, optional
        Observed CSVs (default: the shipped ones); see :func:`load_observed`.
    agents, scale, overrides :
        As for :func:`corridor.simulate`.
    include_held_out : bool
        Also compare held-out outcomes (periods ending on or after ``held_out_from``).
        Off by default: keep it off when fitting or validating the 2023-24 scenario.
    warmup_days : int
        Skip observations that start within this many days of the horizon's start (the
        model starts empty).
    mapping : path or rules, optional
        The observed-to-simulated mapping (default: the shipped one).
    on_run : callable, optional
        Called with each seed once its run is compared.
    executor : Executor, optional
        Where the runs after the first go (default: this process, one after the other; see
        :mod:`corridor.runner.executors`). The first run, which plans the comparison, runs here.
    progress : Progress, optional
        Told of the runs (:mod:`corridor.runner.progress`).
    """
    seed_list = list(seeds) if seeds is not None else list(range(runs))
    if not seed_list:
        raise ValueError("validate needs at least one run")
    rules = load_mapping(mapping) if mapping is None or isinstance(mapping, str | Path) else list(mapping)
    obs = load_observed(
        observed, include_held_out=include_held_out, held_out_from=held_out_from, mapping=rules
    )
    net = network if network is not None else load_network()
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario file; pass its path")
        sc = scenario
    else:
        sc = load_scenario(scenario, overrides)
    first = simulate(sc, seed=seed_list[0], agents=agents, scale=scale, network=net)
    plan = plan_comparison(obs, first, net, rules, warmup_days)
    agents_used = first.info.get("agents")
    columns: dict[int, npt.NDArray[np.float64]] = {0: simulated_values(first, plan)}
    if on_run is not None:
        on_run(seed_list[0])
    work = partial(_simulated_column, (sc, agents, scale, net, plan))
    stream = iter_many(
        work, seed_list[1:], executor=executor, progress=progress, description=f"validate {sc.name}", done=1
    )
    try:
        for finished in stream:
            if finished.error is not None:
                raise finished.error
            assert finished.value is not None
            columns[finished.index + 1] = finished.value
            if on_run is not None:
                on_run(seed_list[finished.index + 1])
    finally:
        stream.close()
    ordered = [columns[i] for i in range(len(seed_list))]
    sims = np.column_stack(ordered) if plan.targets else np.empty((0, len(seed_list)))
    info = {
        "scenario": sc.name,
        "seeds": seed_list,
        "agents": agents_used,
        "scale_persons_per_agent": first.scale,
        "include_held_out": include_held_out,
        "warmup_days": warmup_days,
    }
    return _result(plan, sims, obs, first, info)
