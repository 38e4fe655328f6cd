"""What the report reads from a run or an ensemble folder: per run, a small digest.

A run folder (``corridor run``) holds one tidy table (``daily.parquet``); an ensemble folder
(``corridor ensemble``) holds one per run (``runs/run=<id>/part.parquet``). Each table is
condensed by :func:`digest` into the figures the report shows (daily totals, monthly values
by place, the stranded at the peak), so that an ensemble is read one run at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.errors import InputError

__all__ = [
    "CHART_METRICS",
    "MAP_STOCKS",
    "RunDigest",
    "RunSet",
    "digest",
    "kind_of",
    "month_values",
    "read_runset",
]

#: The metric the report computes itself: persons held beyond the detention stations'
#: capacity, per place and day (held minus capacity where positive).
OVER_CAPACITY = "detained_over_capacity"
#: Stocks the map shows (at the end of each month), per place.
MAP_STOCKS: tuple[str, ...] = (
    "stranded",
    "waiting",
    "unsheltered",
    "detained",
    OVER_CAPACITY,
    "border_waiting",
)
#: Flows the map shows (each month's total), per place.
MAP_FLOWS: tuple[str, ...] = ("interdictions", "deaths")
#: The monthly charts of the report: metric and plain title, in the order shown.
CHART_METRICS: tuple[tuple[str, str], ...] = (
    ("arrivals", "Arrivals (entries; re-entries counted again)"),
    ("interdictions", "Caught (interdictions; a person caught twice counts twice)"),
    ("detentions", "Admitted to detention"),
    ("deportations", "Deported"),
    ("bused_south", "Bused back to southern Mexico"),
    ("us_encounters", "US Border Patrol encounters"),
    ("deaths", "Dead or missing"),
    ("stranded", "Stranded (same state for 7 days or more)"),
    ("unsheltered", "Waiting without a shelter place"),
    ("detained", "Detained"),
    (OVER_CAPACITY, "Detained beyond the stations' capacity"),
    ("asylum_pending", "Asylum claims waiting for a decision"),
    ("border_waiting", "Waiting at the US border"),
)
#: Death flows by how people travelled (``deaths`` is their sum).
DEATHS_BY_MODE: tuple[tuple[str, str], ...] = (
    ("deaths_foot", "on foot"),
    ("deaths_bus", "on buses and roads"),
    ("deaths_rail", "on freight trains"),
    ("deaths_sea", "at sea"),
    ("deaths_trek", "on jungle and desert treks"),
    ("deaths_river", "crossing into the US"),
)
_FLOWS_READ = (
    "arrivals",
    "interdictions",
    "detentions",
    "deportations",
    "bused_south",
    "us_encounters",
    "us_admitted_port",
    "deaths",
    *(m for m, _ in DEATHS_BY_MODE),
)
_STOCKS_READ = (
    "stranded",
    "waiting",
    "unsheltered",
    "detained",
    "border_waiting",
    "asylum_pending",
    "detention_capacity",
)


def kind_of(metric: str) -> str:
    """``flow`` or ``stock`` (capacities count as stocks): how a month's value is taken.

    The kinds come from :func:`corridor.metrics.metric_kind`; the report's own
    ``detained_over_capacity`` is a stock.
    """
    from corridor.metrics import metric_kind

    if metric == OVER_CAPACITY:
        return "stock"
    kind = metric_kind(metric)
    return "flow" if kind == "flow" else "stock"


@dataclass(frozen=True)
class RunDigest:
    """One run, condensed.

    Attributes
    ----------
    daily : DataFrame
        Date index, one column per metric read: the total over places and nationalities.
    month_place : DataFrame
        Index (month, place) with month the first day of the month, one column per map
        metric: stocks at the month's last day, flows summed over the month.
    stranded_places : Series
        Stranded persons per place on the day stranded peaked over the period after spin-up.
    """

    daily: pd.DataFrame
    month_place: pd.DataFrame
    stranded_places: pd.Series


def month_values(daily: pd.DataFrame) -> pd.DataFrame:
    """Monthly values of daily totals: flows summed over the month, stocks at its last day.

    The index is the first day of each month (a Timestamp, so plots get real dates).
    """
    month = pd.DatetimeIndex(daily.index).to_period("M").to_timestamp()
    grouped = daily.groupby(month)
    cols = {m: (grouped[m].sum() if kind_of(m) == "flow" else grouped[m].last()) for m in daily.columns}
    out = pd.DataFrame(cols)
    out.index.name = "month"
    return out


def digest(
    frame: pd.DataFrame, dates: pd.DatetimeIndex, places: Sequence[str], spin_up_days: int
) -> RunDigest:
    """Condense one run's tidy table (``date, metric, place, value`` at least).

    Parameters
    ----------
    frame : DataFrame
        The tidy table of :meth:`corridor.Results.to_frame` (absent rows are zeros).
    dates : DatetimeIndex
        Every day of the horizon.
    places : sequence of str
        Every place of the network.
    spin_up_days : int
        Days at the start left out of the peak of the stranded.
    """
    wanted = frame[frame["metric"].isin([*_FLOWS_READ, *_STOCKS_READ])]
    per_place = (
        wanted.assign(metric=wanted["metric"].astype(str), place=wanted["place"].astype(str))
        .groupby(["metric", "date", "place"], observed=True)["value"]
        .sum()
    )

    def dense(metric: str) -> pd.DataFrame:
        """Date x place values of a metric (zeros where absent)."""
        if metric in per_place.index.get_level_values(0):
            table = per_place.xs(metric, level="metric").unstack("place")
        else:
            table = pd.DataFrame(index=dates[:0])
        table.index = pd.DatetimeIndex(table.index)
        return table.reindex(index=dates, columns=list(places)).fillna(0.0)

    tables = {m: dense(m) for m in (*_FLOWS_READ, *_STOCKS_READ)}
    tables[OVER_CAPACITY] = (tables["detained"] - tables["detention_capacity"]).clip(lower=0.0)
    daily = pd.DataFrame({m: t.sum(axis=1) for m, t in tables.items() if m != "detention_capacity"})
    month = dates.to_period("M").to_timestamp()
    parts = {}
    for m in (*MAP_STOCKS, *MAP_FLOWS):
        grouped = tables[m].groupby(month)
        parts[m] = (grouped.sum() if m in MAP_FLOWS else grouped.last()).stack()
    month_place = pd.DataFrame(parts)
    month_place.index.names = ["month", "place"]
    after = tables["stranded"].iloc[spin_up_days:].sum(axis=1).to_numpy()
    peak_day = spin_up_days + int(np.argmax(after)) if after.size else len(dates) - 1
    return RunDigest(daily=daily, month_place=month_place, stranded_places=tables["stranded"].iloc[peak_day])


@dataclass(frozen=True)
class RunSet:
    """The runs behind a report: one (a run folder) or several (an ensemble folder).

    Attributes
    ----------
    kind : str
        ``"run"`` or ``"ensemble"``.
    scenario : str
        The scenario's name.
    scenario_path : str or None
        The scenario file the runs were made from, as recorded.
    dates : DatetimeIndex
    spin_up_days : int
    digests : list of RunDigest
    seeds : list of int
    agents : list of int or None
        Agents per run where recorded.
    scale : float or None
        Persons per agent (of the first run) where recorded.
    route_use : DataFrame or None
        ``from, to, mode, value``: people who travelled each route over the horizon (a run's
        ``routes.csv``, both directions and every travel mode); None where not recorded.
    """

    kind: str
    scenario: str
    scenario_path: str | None
    dates: pd.DatetimeIndex
    spin_up_days: int
    digests: list[RunDigest]
    seeds: list[int]
    agents: list[int | None] = field(default_factory=list)
    scale: float | None = None
    route_use: pd.DataFrame | None = None

    @property
    def n_runs(self) -> int:
        """How many runs."""
        return len(self.digests)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable as JSON ({exc}); expected the file corridor wrote") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=["date", "metric", "place", "value"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a corridor tidy table ({exc})") from None


def _spin_up_of(scenario_path: str | None) -> int:
    """The scenario's spin-up days, read from its file if it is still there (else 0)."""
    if not scenario_path or not Path(scenario_path).is_file():
        return 0
    from corridor.scenario import load_scenario

    try:
        return int(load_scenario(scenario_path).horizon.spin_up_days)
    except InputError:
        return 0


def read_runset(folder: Path) -> RunSet:
    """Read a run folder (``run.json``) or an ensemble folder (``manifest.json``).

    Raises
    ------
    InputError
        The folder holds neither, or its files are not corridor's.
    """
    from corridor.geography import load_network

    places = load_network().place_names
    if (folder / "run.json").is_file():
        meta = _read_json(folder / "run.json")
        table = _read_table(folder / "daily.parquet")
        dates = _horizon_dates(table, meta.get("days"))
        spin = int(meta.get("spin_up_days") or 0)
        options = meta.get("options") or {}
        return RunSet(
            kind="run",
            scenario=str(meta.get("scenario", folder.name)),
            scenario_path=options.get("scenario_path"),
            dates=dates,
            spin_up_days=spin,
            digests=[digest(table, dates, places, spin)],
            seeds=[int(meta.get("seed", 0))],
            agents=[meta.get("agents")],
            scale=meta.get("scale_persons_per_agent"),
            route_use=_route_use(folder / "routes.csv"),
        )
    if (folder / "manifest.json").is_file():
        manifest = _read_json(folder / "manifest.json")
        scenario = manifest.get("scenario") or {}
        horizon = scenario.get("horizon") or {}
        runs = manifest.get("runs") or []
        if not runs:
            raise InputError(f"{folder / 'manifest.json'}: lists no runs")
        dates = pd.date_range(horizon["start"], horizon["end"], freq="D")
        spin = _spin_up_of(scenario.get("path"))
        digests, seeds = [], []
        for spec in runs:
            part = folder / str(spec.get("partition", f"runs/run={spec['run']}/part.parquet"))
            if not part.is_file():
                continue  # an unfinished run of an interrupted ensemble: report the others
            digests.append(digest(_read_table(part), dates, places, spin))
            seeds.append(int(spec.get("seed", spec["run"])))
        if not digests:
            raise InputError(f"{folder}: the ensemble has no finished run yet")
        options = manifest.get("options") or {}
        return RunSet(
            kind="ensemble",
            scenario=str(scenario.get("name", folder.name)),
            scenario_path=scenario.get("path"),
            dates=dates,
            spin_up_days=spin,
            digests=digests,
            seeds=seeds,
            agents=[options.get("agents")] * len(digests),
        )
    raise InputError(
        f"{folder}: holds no run.json, manifest.json or compare_summary.csv; expected a folder "
        "written by corridor run, corridor ensemble or corridor compare"
    )


def _route_use(path: Path) -> pd.DataFrame | None:
    """People per route over the horizon from a run's ``routes.csv`` (None if absent or unreadable)."""
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
        use = table.groupby(["from", "to", "route_mode"])["trips"].sum()
    except (ValueError, KeyError, OSError):  # an older or foreign file: draw routes without use
        return None
    return pd.DataFrame(
        {
            "from": use.index.get_level_values("from"),
            "to": use.index.get_level_values("to"),
            "mode": use.index.get_level_values("route_mode"),
            "value": use.to_numpy(),
        }
    )


def _horizon_dates(table: pd.DataFrame, days: Any) -> pd.DatetimeIndex:
    start = pd.Timestamp(table["date"].min()).normalize()
    n = int(days) if days else int((pd.Timestamp(table["date"].max()) - start).days) + 1
    return pd.date_range(start, periods=n, freq="D")


def stacked(values: Sequence[pd.Series | pd.DataFrame]) -> np.ndarray:
    """Runs stacked on a first axis (for quantiles across runs)."""
    return np.stack([np.asarray(v, dtype=np.float64) for v in values])
