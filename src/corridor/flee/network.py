"""Flee 3.1's input files (locations, routes, closures, conflicts), read as Flee reads them."""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from corridor.errors import FleeInputError
from corridor.geography import TRAVEL_MODES, Network
from corridor.packagedata import package_data

LOCATION_KINDS: tuple[str, ...] = ("conflict_zone", "town", "camp", "idpcamp", "forwarding_hub", "marker")
#: Closure types Flee 3.1 knows (``Ecosystem.enact_border_closures``).
CLOSURE_TYPES: tuple[str, ...] = (
    "country",
    "location",
    "link",
    "camp",
    "idpcamp",
    "remove_forced_redirection",
)
_LOCATION_COLUMNS: tuple[str, ...] = (
    "name",
    "region",
    "country",
    "gps_x",
    "gps_y",
    "location_type",
    "conflict_date",
    "pop/cap",
)
_ROUTE_COLUMNS: tuple[str, ...] = ("name1", "name2", "distance", "forced_redirection")
_CLOSURE_COLUMNS: tuple[str, ...] = ("closure_type", "name1", "name2", "closure_start", "closure_end")
#: Link attributes (extra routes.csv columns) that Flee 3.1's movement reads.
LINK_ATTRIBUTES: tuple[str, ...] = ("max_move_speed", "walk_probability")


@dataclass(frozen=True)
class Closure:
    """One row of closures.csv: ``kind`` between ``name1`` and ``name2`` on days [start, end).

    ``end`` is -1 for a closure that never lifts.
    """

    kind: str
    name1: str
    name2: str
    start: int
    end: int


@dataclass(frozen=True, eq=False)
class FleeNetwork:
    """A Flee network as a corridor :class:`~corridor.geography.Network` plus Flee's own fields.

    Attributes
    ----------
    network : Network
        Places (Flee locations, in file order), routes (``road``, undirected, file order) and
        one ``foot`` link per direction of each route. ``place_state`` holds Flee's region,
        ``place_kind`` the kind below; ``lat``/``lon`` hold columns 4 and 5 as given.
    kind : ndarray of str
        Per location, one of ``LOCATION_KINDS`` (after Flee's rule that a conflict zone with a
        conflict date after day 0 starts as a town).
    location_type : list of str
        The ``location_type`` cells as written.
    conflict_date : ndarray of int64
        Per location, the conflict date (-1 where blank).
    population : ndarray of int64
        ``pop/cap`` of towns and conflict zones (0 for camps).
    capacity : ndarray of int64
        ``pop/cap`` of camps, -1 elsewhere. A camp with capacity below 1 is unlimited (Flee).
    foreign : ndarray of bool
        Location lies in another country than the first location (Flee's home country).
    forced_redirection : ndarray of int8
        Per route, 0, 1 or 2 (Flee 3.1's serial movement does not read it).
    link_speed_km : ndarray of float64
        Per directed link, the ``max_move_speed`` route attribute (NaN: the global setting).
    link_walk_probability : ndarray of float64
        Per directed link, the ``walk_probability`` route attribute (0 where absent).
    route_attributes : list of dict
        Per route, all custom attribute cells by column name.
    location_attributes : list of dict
        Per location, all custom attribute cells by column name.
    closures : list of Closure
    start_date : date or None
        From sim_period.csv.
    length_days : int or None
        From sim_period.csv.
    source : Path
        The folder read.
    """

    network: Network
    kind: npt.NDArray[np.str_]
    location_type: list[str]
    conflict_date: npt.NDArray[np.int64]
    population: npt.NDArray[np.int64]
    capacity: npt.NDArray[np.int64]
    foreign: npt.NDArray[np.bool_]
    forced_redirection: npt.NDArray[np.int8]
    link_speed_km: npt.NDArray[np.float64]
    link_walk_probability: npt.NDArray[np.float64]
    route_attributes: list[dict[str, str]] = field(default_factory=list)
    location_attributes: list[dict[str, str]] = field(default_factory=list)
    closures: list[Closure] = field(default_factory=list)
    start_date: dt.date | None = None
    length_days: int | None = None
    source: Path = Path()

    @property
    def names(self) -> list[str]:
        """Location names, in file order."""
        return self.network.place_names

    @property
    def camps(self) -> npt.NDArray[np.intp]:
        """Ids of the camps (IDP camps included)."""
        return np.flatnonzero(np.isin(self.kind, ("camp", "idpcamp")))


def bundled_flee_corridor() -> Path:
    """The synthetic corridor network in Flee's format that ships with corridor (see its README)."""
    return package_data("flee_corridor")


# --------------------------------------------------------------------------- parsing


@dataclass
class _Row:
    line: int
    cells: list[str]


def _read_rows(path: Path, n_columns: int) -> tuple[list[_Row], list[str]]:
    """Data rows of a Flee CSV (with physical line numbers) and the extra column names.

    Flee treats empty lines and lines whose first cell starts with ``#`` as headers or
    comments; a header with more than ``n_columns`` cells names the custom columns.
    """
    rows: list[_Row] = []
    extra: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            for cells in reader:
                if not cells or all(c.strip() == "" for c in cells):
                    continue
                if cells[0].lstrip().startswith("#"):
                    if len(cells) > n_columns and not rows:
                        extra = [c.strip() for c in cells[n_columns:]]
                    continue
                rows.append(_Row(reader.line_num, [c.strip() for c in cells]))
    except UnicodeDecodeError as exc:
        raise FleeInputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise FleeInputError(f"{path.name}: not a CSV file ({exc})") from None
    return rows, extra


def _where(path: Path, row: _Row, column: str) -> str:
    return f"{path.name} line {row.line} column {column!r}"


def _require(path: Path, row: _Row, columns: tuple[str, ...], n_required: int) -> None:
    if len(row.cells) < n_required:
        missing = ", ".join(repr(c) for c in columns[len(row.cells) : n_required])
        raise FleeInputError(
            f"{path.name} line {row.line}: {len(row.cells)} column(s), expected at least {n_required} "
            f"({', '.join(columns[:n_required])}); missing {missing}"
        )


def _float(path: Path, row: _Row, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FleeInputError(f"{_where(path, row, column)}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FleeInputError(f"{_where(path, row, column)}: {text!r} is not a finite number")
    return value


def _int(path: Path, row: _Row, column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    value = _float(path, row, column, text)
    if value != int(value):
        raise FleeInputError(f"{_where(path, row, column)}: {text!r} is not a whole number")
    return int(value)


def _kind(location_type: str) -> str | None:
    """Flee 3.1's reading of ``location_type`` (``flee.Location.__init__``), by substring."""
    t = location_type.lower()
    if "camp" in t:
        return "idpcamp" if "idp" in t else "camp"
    if "conflict" in t:
        return "conflict_zone"
    if "forward" in t:
        return "forwarding_hub"
    if "marker" in t:
        return "marker"
    if "default" in t or "town" in t:
        return "town"
    return None


def _read_sim_period(path: Path) -> tuple[dt.date | None, int | None]:
    start: dt.date | None = None
    length: int | None = None
    rows, _ = _read_rows(path, 2)
    for row in rows:
        key = row.cells[0].lower()
        if key not in ("startdate", "length"):
            continue
        if len(row.cells) < 2 or not row.cells[1]:
            raise FleeInputError(f"{path.name} line {row.line}: {row.cells[0]} has no value")
        if key == "startdate":
            try:
                start = dt.date.fromisoformat(row.cells[1])
            except ValueError:
                raise FleeInputError(
                    f"{_where(path, row, 'StartDate')}: {row.cells[1]!r} is not a date (YYYY-MM-DD)"
                ) from None
        else:
            length = _int(path, row, "Length", row.cells[1])
            if length < 0:
                raise FleeInputError(f"{_where(path, row, 'Length')}: {length} (expected >= 0 days)")
    return start, length


def load_flee_network(directory: str | Path) -> FleeNetwork:
    """Read a network in Flee's input format.

    Parameters
    ----------
    directory : path
        A folder with ``locations.csv`` and ``routes.csv``, and optionally ``closures.csv``
        and ``sim_period.csv``.

    Returns
    -------
    FleeNetwork

    Raises
    ------
    FleeInputError
        On a missing file or column, a duplicate or empty location name, an unknown location
        type, a number that does not parse, a negative population or capacity, a route to an
        unknown location or from a location to itself, a distance that is not > 0 km, a
        forced_redirection other than 0, 1 or 2, or a closure of an unknown type or place.
    """
    folder = Path(directory)
    loc_path, route_path = folder / "locations.csv", folder / "routes.csv"
    closure_path, period_path = folder / "closures.csv", folder / "sim_period.csv"
    for p in (loc_path, route_path):
        if not p.is_file():
            raise FleeInputError(f"missing Flee input file {p}")

    # locations.csv
    loc_rows, loc_extra = _read_rows(loc_path, len(_LOCATION_COLUMNS))
    if not loc_rows:
        raise FleeInputError(f"{loc_path.name}: no locations")
    names: list[str] = []
    index: dict[str, int] = {}
    region, country, kinds, types = [], [], [], []
    gps_x, gps_y, conflict_date, pop_cap = [], [], [], []
    loc_attrs: list[dict[str, str]] = []
    for row in loc_rows:
        _require(loc_path, row, _LOCATION_COLUMNS, len(_LOCATION_COLUMNS))
        c = row.cells
        name = c[0]
        if not name:
            raise FleeInputError(f"{_where(loc_path, row, 'name')}: empty")
        if name in index:
            raise FleeInputError(
                f"{_where(loc_path, row, 'name')}: duplicate location {name!r} "
                f"(first on line {loc_rows[index[name]].line})"
            )
        kind = _kind(c[5])
        if kind is None:
            if c[5].lower() in ("location_type", "type"):
                raise FleeInputError(
                    f"{loc_path.name} line {row.line}: looks like a header; Flee header lines start with '#'"
                )
            raise FleeInputError(
                f"{_where(loc_path, row, 'location_type')}: {c[5]!r} is not a Flee location type "
                "(conflict_zone, town, camp, idpcamp, forwarding_hub, marker)"
            )
        date = -1
        if c[6]:
            date = _int(loc_path, row, "conflict_date", c[6])
        elif kind == "conflict_zone":
            raise FleeInputError(f"{_where(loc_path, row, 'conflict_date')}: a conflict zone needs a day")
        if kind == "conflict_zone" and date > 0:
            kind = "town"  # Flee 3.1: a conflict that starts later makes a town at first
        pc = _int(loc_path, row, "pop/cap", c[7]) if c[7] else 0
        if pc < 0:
            raise FleeInputError(f"{_where(loc_path, row, 'pop/cap')}: {pc} (expected >= 0)")
        index[name] = len(names)
        names.append(name)
        region.append(c[1])
        country.append(c[2] or "unknown")
        kinds.append(kind)
        types.append(c[5])
        gps_x.append(_float(loc_path, row, "gps_x", c[3]) if c[3] else 0.0)
        gps_y.append(_float(loc_path, row, "gps_y", c[4]) if c[4] else 0.0)
        conflict_date.append(date)
        pop_cap.append(pc)
        loc_attrs.append(
            {loc_extra[i] if i < len(loc_extra) else f"column_{9 + i}": v for i, v in enumerate(c[8:])}
        )
    kind_a = np.array(kinds)
    is_camp = np.isin(kind_a, ("camp", "idpcamp"))
    pop_cap_a = np.asarray(pop_cap, dtype=np.int64)

    # routes.csv
    route_rows, route_extra = _read_rows(route_path, len(_ROUTE_COLUMNS))
    if not route_rows:
        raise FleeInputError(f"{route_path.name}: no routes")
    r_from, r_to, r_dist, r_forced = [], [], [], []
    r_attrs: list[dict[str, str]] = []
    for row in route_rows:
        _require(route_path, row, _ROUTE_COLUMNS, 3)
        c = row.cells
        for col, name in (("name1", c[0]), ("name2", c[1])):
            if name not in index:
                raise FleeInputError(
                    f"{_where(route_path, row, col)}: unknown location {name!r} (not in {loc_path.name})"
                )
        if c[0] == c[1]:
            raise FleeInputError(f"{route_path.name} line {row.line}: route from {c[0]!r} to itself")
        d = _float(route_path, row, "distance", c[2])
        if d <= 0:
            raise FleeInputError(f"{_where(route_path, row, 'distance')}: {c[2]} (expected > 0 km)")
        forced = _int(route_path, row, "forced_redirection", c[3]) if len(c) > 3 and c[3] else 0
        if forced not in (0, 1, 2):
            raise FleeInputError(
                f"{_where(route_path, row, 'forced_redirection')}: {forced} (expected 0, 1 or 2)"
            )
        attrs = {
            route_extra[i] if i < len(route_extra) else f"column_{5 + i}": v for i, v in enumerate(c[4:])
        }
        for key in LINK_ATTRIBUTES:
            if attrs.get(key, ""):
                value = _float(route_path, row, key, attrs[key])
                if value < 0 or (key == "walk_probability" and value > 1):
                    raise FleeInputError(f"{_where(route_path, row, key)}: {value} out of range")
        r_from.append(index[c[0]])
        r_to.append(index[c[1]])
        r_dist.append(d)
        r_forced.append(forced)
        r_attrs.append(attrs)

    # closures.csv and sim_period.csv (optional)
    closures: list[Closure] = []
    if closure_path.is_file():
        rows, _ = _read_rows(closure_path, len(_CLOSURE_COLUMNS))
        countries = set(country)
        for row in rows:
            _require(closure_path, row, _CLOSURE_COLUMNS, len(_CLOSURE_COLUMNS))
            c = row.cells
            if c[0] not in CLOSURE_TYPES:
                raise FleeInputError(
                    f"{_where(closure_path, row, 'closure_type')}: {c[0]!r} is not one of "
                    f"{', '.join(CLOSURE_TYPES)}"
                )
            need_two = c[0] in ("country", "link", "remove_forced_redirection")
            for col, name in (("name1", c[1]), ("name2", c[2])):
                if col == "name2" and not need_two:
                    continue
                known = countries if c[0] == "country" else index
                if name not in known:
                    what = "country" if c[0] == "country" else "location"
                    raise FleeInputError(f"{_where(closure_path, row, col)}: unknown {what} {name!r}")
            start = _int(closure_path, row, "closure_start", c[3])
            end = _int(closure_path, row, "closure_end", c[4])
            closures.append(Closure(c[0], c[1], c[2], start, end))
    start_date, length = _read_sim_period(period_path) if period_path.is_file() else (None, None)

    # Directed links: one per direction of each route, walked.
    n_routes = len(r_from)
    foot = TRAVEL_MODES.index("foot")
    link_from = np.empty(2 * n_routes, dtype=np.int16)
    link_to = np.empty(2 * n_routes, dtype=np.int16)
    link_from[0::2], link_to[0::2] = r_from, r_to
    link_from[1::2], link_to[1::2] = r_to, r_from
    link_route = np.repeat(np.arange(n_routes, dtype=np.int16), 2)
    speed = np.array([float(a["max_move_speed"]) if a.get("max_move_speed") else math.nan for a in r_attrs])
    walk = np.array([float(a["walk_probability"]) if a.get("walk_probability") else 0.0 for a in r_attrs])

    lat = np.asarray(gps_x, dtype=np.float64)
    network = Network(
        place_names=names,
        place_state=np.array(region),
        place_country=np.array(country),
        place_kind=kind_a,
        lat=lat,
        lon=np.asarray(gps_y, dtype=np.float64),
        north_of_19th=np.zeros(len(names), dtype=bool),
        route_from=np.asarray(r_from, dtype=np.int16),
        route_to=np.asarray(r_to, dtype=np.int16),
        route_mode=np.full(n_routes, "road"),
        route_distance_km=np.asarray(r_dist, dtype=np.float64),
        link_from=link_from,
        link_to=link_to,
        link_route=link_route,
        link_mode=np.full(2 * n_routes, foot, dtype=np.int8),
        link_distance_km=np.repeat(np.asarray(r_dist, dtype=np.float32), 2),
        detention_place=np.empty(0, dtype=np.int16),
        detention_name=[],
        detention_capacity_data=np.empty(0, dtype=np.float64),
        shelter_capacity=np.zeros(len(names)),
        comar_places=[],
    )
    if len(names) > np.iinfo(np.int16).max or n_routes > np.iinfo(np.int16).max // 2:
        raise FleeInputError(f"{folder}: more than 32767 locations or 16383 routes are not supported")
    return FleeNetwork(
        network=network,
        kind=kind_a,
        location_type=types,
        conflict_date=np.asarray(conflict_date, dtype=np.int64),
        population=np.where(is_camp, 0, pop_cap_a),
        capacity=np.where(is_camp, pop_cap_a, -1),
        foreign=np.array([c != country[0] for c in country]),
        forced_redirection=np.asarray(r_forced, dtype=np.int8),
        link_speed_km=np.repeat(speed, 2),
        link_walk_probability=np.repeat(walk, 2),
        route_attributes=r_attrs,
        location_attributes=loc_attrs,
        closures=closures,
        start_date=start_date,
        length_days=length,
        source=folder,
    )
