"""Flee 3.1's input files (locations, routes, closures, conflicts), read as Flee reads them."""

from __future__ import annotations

import csv
import datetime as dt
import math
from dataclasses import dataclass, field, replace
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

    def scaled_down(self, factor: int) -> FleeNetwork:
        """This network with populations and capacities divided by ``factor`` (Flee's ``hasten``).

        Flee 3.1 (``StoreInputGeographyInEcosystem``) divides ``pop/cap`` by
        ``PopulationScaleDownFactor`` with integer division, for camps and other locations alike.
        """
        return replace(
            self,
            population=self.population // factor,
            capacity=np.where(self.capacity >= 0, self.capacity // factor, self.capacity),
        )


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


@dataclass
class _Locations:
    """locations.csv, column by column, in file order."""

    names: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    region: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    gps_x: list[float] = field(default_factory=list)
    gps_y: list[float] = field(default_factory=list)
    conflict_date: list[int] = field(default_factory=list)
    pop_cap: list[int] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Routes:
    """routes.csv, column by column, in file order (ends as location ids)."""

    route_from: list[int] = field(default_factory=list)
    route_to: list[int] = field(default_factory=list)
    distance: list[float] = field(default_factory=list)
    forced: list[int] = field(default_factory=list)
    attributes: list[dict[str, str]] = field(default_factory=list)


def _kind_and_conflict_date(path: Path, row: _Row) -> tuple[str, int]:
    """A location row's kind (after Flee's late-conflict rule) and conflict date (-1: blank)."""
    c = row.cells
    kind = _kind(c[5])
    if kind is None:
        if c[5].lower() in ("location_type", "type"):
            raise FleeInputError(
                f"{path.name} line {row.line}: looks like a header; Flee header lines start with '#'"
            )
        raise FleeInputError(
            f"{_where(path, row, 'location_type')}: {c[5]!r} is not a Flee location type "
            "(conflict_zone, town, camp, idpcamp, forwarding_hub, marker)"
        )
    date = -1
    if c[6]:
        date = _int(path, row, "conflict_date", c[6])
    elif kind == "conflict_zone":
        raise FleeInputError(f"{_where(path, row, 'conflict_date')}: a conflict zone needs a day")
    if kind == "conflict_zone" and date > 0:
        kind = "town"  # Flee 3.1: a conflict that starts later makes a town at first
    return kind, date


def _read_locations(path: Path) -> _Locations:
    """locations.csv, checked: names unique and not empty, types known, numbers valid."""
    rows, extra = _read_rows(path, len(_LOCATION_COLUMNS))
    if not rows:
        raise FleeInputError(f"{path.name}: no locations")
    locations = _Locations()
    for row in rows:
        _require(path, row, _LOCATION_COLUMNS, len(_LOCATION_COLUMNS))
        c = row.cells
        name = c[0]
        if not name:
            raise FleeInputError(f"{_where(path, row, 'name')}: empty")
        if name in locations.index:
            raise FleeInputError(
                f"{_where(path, row, 'name')}: duplicate location {name!r} "
                f"(first on line {rows[locations.index[name]].line})"
            )
        kind, date = _kind_and_conflict_date(path, row)
        pc = _int(path, row, "pop/cap", c[7]) if c[7] else 0
        if pc < 0:
            raise FleeInputError(f"{_where(path, row, 'pop/cap')}: {pc} (expected >= 0)")
        locations.index[name] = len(locations.names)
        locations.names.append(name)
        locations.region.append(c[1])
        locations.country.append(c[2] or "unknown")
        locations.kinds.append(kind)
        locations.types.append(c[5])
        locations.gps_x.append(_float(path, row, "gps_x", c[3]) if c[3] else 0.0)
        locations.gps_y.append(_float(path, row, "gps_y", c[4]) if c[4] else 0.0)
        locations.conflict_date.append(date)
        locations.pop_cap.append(pc)
        locations.attributes.append(
            {extra[i] if i < len(extra) else f"column_{9 + i}": v for i, v in enumerate(c[8:])}
        )
    return locations


def _route_attributes(path: Path, row: _Row, extra: list[str]) -> dict[str, str]:
    """A route row's custom attribute cells by column name, the link attributes range-checked."""
    attrs = {extra[i] if i < len(extra) else f"column_{5 + i}": v for i, v in enumerate(row.cells[4:])}
    for key in LINK_ATTRIBUTES:
        if attrs.get(key, ""):
            value = _float(path, row, key, attrs[key])
            if value < 0 or (key == "walk_probability" and value > 1):
                raise FleeInputError(f"{_where(path, row, key)}: {value} out of range")
    return attrs


def _read_routes(path: Path, locations_file: str, index: dict[str, int]) -> _Routes:
    """routes.csv, checked against the location ids in ``index`` (read from ``locations_file``)."""
    rows, extra = _read_rows(path, len(_ROUTE_COLUMNS))
    if not rows:
        raise FleeInputError(f"{path.name}: no routes")
    routes = _Routes()
    for row in rows:
        _require(path, row, _ROUTE_COLUMNS, 3)
        c = row.cells
        for col, name in (("name1", c[0]), ("name2", c[1])):
            if name not in index:
                raise FleeInputError(
                    f"{_where(path, row, col)}: unknown location {name!r} (not in {locations_file})"
                )
        if c[0] == c[1]:
            raise FleeInputError(f"{path.name} line {row.line}: route from {c[0]!r} to itself")
        d = _float(path, row, "distance", c[2])
        if d <= 0:
            raise FleeInputError(f"{_where(path, row, 'distance')}: {c[2]} (expected > 0 km)")
        forced = _int(path, row, "forced_redirection", c[3]) if len(c) > 3 and c[3] else 0
        if forced not in (0, 1, 2):
            raise FleeInputError(f"{_where(path, row, 'forced_redirection')}: {forced} (expected 0, 1 or 2)")
        attrs = _route_attributes(path, row, extra)
        routes.route_from.append(index[c[0]])
        routes.route_to.append(index[c[1]])
        routes.distance.append(d)
        routes.forced.append(forced)
        routes.attributes.append(attrs)
    return routes


def _read_closures(path: Path, index: dict[str, int], countries: set[str]) -> list[Closure]:
    """closures.csv, checked: known closure types, and known countries or locations."""
    closures: list[Closure] = []
    rows, _ = _read_rows(path, len(_CLOSURE_COLUMNS))
    for row in rows:
        _require(path, row, _CLOSURE_COLUMNS, len(_CLOSURE_COLUMNS))
        c = row.cells
        if c[0] not in CLOSURE_TYPES:
            raise FleeInputError(
                f"{_where(path, row, 'closure_type')}: {c[0]!r} is not one of {', '.join(CLOSURE_TYPES)}"
            )
        need_two = c[0] in ("country", "link", "remove_forced_redirection")
        for col, name in (("name1", c[1]), ("name2", c[2])):
            if col == "name2" and not need_two:
                continue
            known = countries if c[0] == "country" else index
            if name not in known:
                what = "country" if c[0] == "country" else "location"
                raise FleeInputError(f"{_where(path, row, col)}: unknown {what} {name!r}")
        start = _int(path, row, "closure_start", c[3])
        end = _int(path, row, "closure_end", c[4])
        closures.append(Closure(c[0], c[1], c[2], start, end))
    return closures


def _build_network(locations: _Locations, routes: _Routes, kind: npt.NDArray[np.str_]) -> Network:
    """The corridor Network: Flee's locations and routes, and one walked link per route direction."""
    n_places, n_routes = len(locations.names), len(routes.distance)
    link_from = np.empty(2 * n_routes, dtype=np.int16)
    link_to = np.empty(2 * n_routes, dtype=np.int16)
    link_from[0::2], link_to[0::2] = routes.route_from, routes.route_to
    link_from[1::2], link_to[1::2] = routes.route_to, routes.route_from
    return Network(
        place_names=locations.names,
        place_state=np.array(locations.region),
        place_country=np.array(locations.country),
        place_kind=kind,
        lat=np.asarray(locations.gps_x, dtype=np.float64),
        lon=np.asarray(locations.gps_y, dtype=np.float64),
        north_of_19th=np.zeros(n_places, dtype=bool),
        route_from=np.asarray(routes.route_from, dtype=np.int16),
        route_to=np.asarray(routes.route_to, dtype=np.int16),
        route_mode=np.full(n_routes, "road"),
        route_distance_km=np.asarray(routes.distance, dtype=np.float64),
        link_from=link_from,
        link_to=link_to,
        link_route=np.repeat(np.arange(n_routes, dtype=np.int16), 2),
        link_mode=np.full(2 * n_routes, TRAVEL_MODES.index("foot"), dtype=np.int8),
        link_distance_km=np.repeat(np.asarray(routes.distance, dtype=np.float32), 2),
        detention_place=np.empty(0, dtype=np.int16),
        detention_name=[],
        detention_capacity_data=np.empty(0, dtype=np.float64),
        shelter_capacity=np.zeros(n_places),
        comar_places=[],
    )


def _per_link(routes: _Routes, key: str, missing: float) -> npt.NDArray[np.float64]:
    """A numeric route attribute for each directed link (``missing`` where blank or absent)."""
    per_route = np.array([float(a[key]) if a.get(key) else missing for a in routes.attributes])
    return np.repeat(per_route, 2)


def load_flee_network(directory: str | Path, sim_period: str | Path | None = None) -> FleeNetwork:
    """Read a network in Flee's input format.

    Parameters
    ----------
    directory : path
        A folder with ``locations.csv`` and ``routes.csv``, and optionally ``closures.csv``
        and ``sim_period.csv``.
    sim_period : path, optional
        The sim_period.csv to read instead of the folder's.

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
    closure_path = folder / "closures.csv"
    period_path = Path(sim_period) if sim_period is not None else folder / "sim_period.csv"
    if sim_period is not None and not period_path.is_file():
        raise FleeInputError(f"missing Flee input file {period_path}")
    for p in (loc_path, route_path):
        if not p.is_file():
            raise FleeInputError(f"missing Flee input file {p}")
    locations = _read_locations(loc_path)
    kind = np.array(locations.kinds)
    is_camp = np.isin(kind, ("camp", "idpcamp"))
    pop_cap = np.asarray(locations.pop_cap, dtype=np.int64)
    routes = _read_routes(route_path, loc_path.name, locations.index)
    closures: list[Closure] = []
    if closure_path.is_file():
        closures = _read_closures(closure_path, locations.index, set(locations.country))
    start_date, length = _read_sim_period(period_path) if period_path.is_file() else (None, None)
    network = _build_network(locations, routes, kind)
    if len(locations.names) > np.iinfo(np.int16).max or len(routes.distance) > np.iinfo(np.int16).max // 2:
        raise FleeInputError(f"{folder}: more than 32767 locations or 16383 routes are not supported")
    country = locations.country
    return FleeNetwork(
        network=network,
        kind=kind,
        location_type=locations.types,
        conflict_date=np.asarray(locations.conflict_date, dtype=np.int64),
        population=np.where(is_camp, 0, pop_cap),
        capacity=np.where(is_camp, pop_cap, -1),
        foreign=np.array([c != country[0] for c in country]),
        forced_redirection=np.asarray(routes.forced, dtype=np.int8),
        link_speed_km=_per_link(routes, "max_move_speed", math.nan),
        link_walk_probability=_per_link(routes, "walk_probability", 0.0),
        route_attributes=routes.attributes,
        location_attributes=locations.attributes,
        closures=closures,
        start_date=start_date,
        length_days=length,
        source=folder,
    )
