"""A whole Flee 3.1 / FabFlee conflict: network, registration data, corrections, conflicts.csv.

The layout is FabFlee's::

    input_csv/    locations.csv routes.csv closures.csv sim_period.csv
                  conflicts.csv (optional) registration_corrections.csv (optional)
    source_data/  data_layout.csv and the registration count files it names
    simsetting.yml

The registration data are read as Flee 3.1's ``flee/datamanager/DataTable.py`` and
``handle_refugee_data.py`` read them (``DataTable``, ``ConvertCsvFileToNumPyTable``,
``AddCSVTables``, ``get_interpolated_data``, ``correctLevel1Registrations``); conflicts.csv as
``InputGeography.ReadConflictInputCSV``. Where Flee would crash or exit, a
:class:`FleeInputError` names the file and line.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from corridor.errors import FleeInputError
from corridor.flee.network import FleeNetwork, load_flee_network
from corridor.flee.settings import FleeSettings, read_simsetting

__all__ = ["FleeConflict", "RegistrationData", "load_flee_conflict", "read_registration_data"]


@dataclass(frozen=True, eq=False)
class RegistrationData:
    """Registration counts by name (``total`` and each camp), as Flee's ``DataTable`` holds them.

    Each table is (entries, 2): day offset from the start date, count (divided by ``hasten``).
    """

    names: list[str]
    tables: list[npt.NDArray[np.float64]]
    start_date: dt.date

    def table(self, name: str) -> npt.NDArray[np.float64]:
        """The table of ``name``; FleeInputError if data_layout.csv does not name it."""
        try:
            return self.tables[self.names.index(name)]
        except ValueError:
            raise FleeInputError(
                f"data_layout.csv has no entry {name!r} (it names {', '.join(self.names)})"
            ) from None

    def series(self, name: str, days: int) -> npt.NDArray[np.int64]:
        """Flee's ``get_field(name, day)`` for day = 0 .. days - 1 (linear interpolation, truncated).

        Before the first entry: the first count; after the last: the last count; in between
        ``int(old + (day - old_day) / (day_i - old_day) * (count_i - old))``, computed in Flee's order.
        """
        t = self.table(name)
        d, v = t[:, 0], t[:, 1]
        day = np.arange(days, dtype=np.float64)
        i = np.searchsorted(d, day, side="right")  # first entry with a later day
        inner = (i > 0) & (i < d.size)
        j = np.clip(i, 1, max(d.size - 1, 1))
        old, old_day = v[j - 1], d[j - 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = (day - old_day) / (d[j] - old_day)
            mid = old + frac * (v[j] - old)
        out = np.where(i == 0, v[0], np.where(i >= d.size, v[-1], np.where(inner, mid, v[0])))
        out = np.where(day <= d[0], v[0], out)
        return np.trunc(out).astype(np.int64)


@dataclass(frozen=True, eq=False)
class FleeConflict:
    """Everything ``corridor flee run`` needs: network, settings, registration data, conflicts.

    Attributes
    ----------
    network : FleeNetwork
        The input_csv network (populations and capacities divided by ``hasten``, as Flee does).
    settings : FleeSettings
    data : RegistrationData
    conflicts : dict of str to ndarray, or None
        conflicts.csv: per location named in its header, the intensity on each day (row order).
    days : int
        Days to simulate (sim_period.csv ``Length``).
    start_date : date
    """

    network: FleeNetwork
    settings: FleeSettings
    data: RegistrationData
    conflicts: dict[str, npt.NDArray[np.float64]] | None
    days: int
    start_date: dt.date
    camps: list[int] = field(default_factory=list)


def _date(path: Path, line: int, text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise FleeInputError(f"{path.name} line {line}: {text!r} is not a date (YYYY-MM-DD)") from None


def _count_table(path: Path, start: dt.date, hasten: int) -> npt.NDArray[np.float64]:
    """Flee's ``ConvertCsvFileToNumPyTable``: rows ``date,count`` as (day offset, count / hasten)."""
    if not path.is_file():
        raise FleeInputError(f"missing registration data file {path}")
    rows: list[tuple[float, float]] = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if len(row) < 2 or not row[0] or row[0].lstrip().startswith("#") or row[1].strip() == "":
                continue
            if n == 1 and row[0].strip() in ("DateTime", "Date"):
                continue  # Flee skips a first line that starts with these names
            day = (_date(path, n, row[0]) - start).days
            try:
                count = float(row[1])
            except ValueError:
                raise FleeInputError(f"{path.name} line {n}: count {row[1]!r} is not a number") from None
            if not math.isfinite(count) or count != int(count) or count < 0:
                raise FleeInputError(f"{path.name} line {n}: count {row[1]!r} is not a whole number >= 0")
            rows.append((float(day), count / hasten))
    if not rows:
        raise FleeInputError(f"{path.name}: no registration counts")
    table = np.array(rows, dtype=np.float64)
    if np.any(np.diff(table[:, 0]) < 0):
        raise FleeInputError(f"{path.name}: dates must be in increasing order")
    return table


def _add_tables(t1: npt.NDArray[np.float64], t2: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Flee's ``AddCSVTables`` (a layout row naming several files), ported step for step."""
    out: list[list[float]] = []
    offset = 0
    last_c2 = np.zeros(2)
    for c2 in t2:
        while c2[0] > t1[offset][0]:
            out.append([t1[offset][0], last_c2[1] + t1[offset][1]])
            if offset < len(t1) - 1:
                offset += 1
            else:
                break
        if c2[0] == t1[offset][0]:
            out.append([c2[0], c2[1] + t1[offset][1]])
            if offset < len(t1) - 1:
                offset += 1
            last_c2 = c2
            continue
        if c2[0] < t1[offset][0]:
            out.append([c2[0], c2[1] + t1[offset][1]])
            last_c2 = c2
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def read_registration_data(source_data: str | Path, start_date: dt.date, hasten: int = 1) -> RegistrationData:
    """Read ``data_layout.csv`` and the count files it names (Flee's ``DataTable``, csvformat generic).

    Each layout row is ``name,file[,file...]``; the counts of further files are added to the
    first as Flee's ``AddCSVTables`` adds them. Counts are divided by ``hasten``.
    """
    folder = Path(source_data)
    layout = folder / "data_layout.csv"
    if not layout.is_file():
        raise FleeInputError(f"missing {layout}")
    names: list[str] = []
    tables: list[npt.NDArray[np.float64]] = []
    with layout.open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if len(row) < 2 or row[0].lstrip().startswith("#"):
                continue
            name = row[0].strip()
            if not name or not row[1].strip():
                raise FleeInputError(f"data_layout.csv line {n}: expected name,file")
            if name in names:
                raise FleeInputError(f"data_layout.csv line {n}: {name!r} given twice")
            table = _count_table(folder / row[1].strip(), start_date, hasten)
            for extra in row[2:]:
                if extra.strip():
                    table = _add_tables(table, _count_table(folder / extra.strip(), start_date, hasten))
            names.append(name)
            tables.append(table)
    if "total" not in names:
        raise FleeInputError(
            "data_layout.csv: no 'total' entry (the registration total that drives spawning)"
        )
    return RegistrationData(names, tables, start_date)


def _apply_corrections(path: Path, data: RegistrationData) -> None:
    """Flee's ``ReadL1Corrections``: ``name,date`` rows rescale the counts before that date.

    The counts before the entry dated ``date`` are multiplied by (count on ``date``) / (count
    of the entry before it), so that level-1 registrations join level-2 ones without a jump.
    """
    with path.open(newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if len(row) < 2 or row[0].lstrip().startswith("#"):
                continue
            name = row[0].strip()
            if name not in data.names:
                raise FleeInputError(f"{path.name} line {n}: {name!r} is not in data_layout.csv")
            table = data.tables[data.names.index(name)]
            day = (_date(path, n, row[1]) - data.start_date).days
            hits = np.flatnonzero(table[:, 0].astype(np.int64) == day)
            if hits.size == 0 or hits[0] == 0:
                # Flee 3.1 crashes here (UnboundLocalError).
                raise FleeInputError(
                    f"{path.name} line {n}: {name} has no entry on {row[1].strip()} after its first one"
                )
            for i in hits:
                table[:i, 1] *= table[i, 1] / table[i - 1, 1]


def _read_conflicts(path: Path, names: list[str], days: int) -> dict[str, npt.NDArray[np.float64]]:
    """conflicts.csv as Flee's ``ReadConflictInputCSV``: header ``day,loc1,loc2,...``; row k = day k."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.reader(f)]
    if not rows:
        raise FleeInputError(f"{path.name}: empty")
    header = [h.strip() for h in rows[0]]
    columns = [(i, h) for i, h in enumerate(header) if i > 0 and h]
    for _, h in columns:
        if h not in names:
            raise FleeInputError(f"{path.name} line 1: {h!r} is not a location of locations.csv")
    values: dict[str, list[float]] = {h: [] for _, h in columns}
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        for i, h in columns:
            cell = row[i].strip() if i < len(row) else ""
            try:
                values[h].append(float(cell))
            except ValueError:
                raise FleeInputError(f"{path.name} line {n} column {h!r}: {cell!r} is not a number") from None
    out = {h: np.asarray(v, dtype=np.float64) for h, v in values.items()}
    for h, v in out.items():
        if v.size < days:
            raise FleeInputError(f"{path.name}: {h} has {v.size} day(s) of data; the run needs {days}")
    return out


def load_flee_conflict(
    input_csv: str | Path,
    source_data: str | Path,
    sim_period: str | Path | None = None,
    simsetting: str | Path | None = None,
) -> FleeConflict:
    """Read a Flee 3.1 / FabFlee conflict as Flee's ``runscripts/run.py`` does.

    Parameters
    ----------
    input_csv : path
        locations.csv, routes.csv, closures.csv (and optionally conflicts.csv and
        registration_corrections.csv).
    source_data : path
        data_layout.csv and the count files it names.
    sim_period : path, optional
        ``StartDate`` and ``Length`` (default: input_csv/sim_period.csv).
    simsetting : path, optional
        Flee's settings (default: Flee 3.1's code defaults).

    Returns
    -------
    FleeConflict
    """
    folder = Path(input_csv)
    settings = read_simsetting(simsetting) if simsetting is not None else FleeSettings()
    fnet = load_flee_network(folder, sim_period=sim_period)
    start_date, n_days = fnet.start_date, fnet.length_days
    if start_date is None or n_days is None:
        raise FleeInputError(f"{sim_period or folder / 'sim_period.csv'}: needs StartDate and Length")
    if settings.hasten > 1:
        fnet = fnet.scaled_down(settings.hasten)
    data = read_registration_data(source_data, start_date, settings.hasten)
    corrections = folder / "registration_corrections.csv"
    if corrections.is_file():
        _apply_corrections(corrections, data)
    camps = [int(i) for i in fnet.camps]
    for i in camps:
        data.table(fnet.names[i])  # Flee exits when a camp has no registration data
    conflicts_path = folder / "conflicts.csv"
    conflicts = _read_conflicts(conflicts_path, fnet.names, n_days) if conflicts_path.is_file() else None
    return FleeConflict(
        network=fnet,
        settings=settings,
        data=data,
        conflicts=conflicts,
        days=n_days,
        start_date=start_date,
        camps=camps,
    )
