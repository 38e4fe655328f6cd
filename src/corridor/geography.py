"""The corridor's geography: places, routes and facilities as arrays.

The data ship with the package (``corridor/data/geography``, sources in its README and
in every row). :func:`load_network` reads and checks them and returns a :class:`Network`,
a plain value holding NumPy arrays that the engine indexes by integer place and link ids.

A *route* is an undirected edge of the data (``from, to, mode, distance_km``). The engine
moves people along *links*: one directed link per direction and per travel mode a route
allows (a road can be walked or ridden by bus; rail, sea and trek routes have one mode).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from corridor.errors import GeographyError
from corridor.packagedata import package_data

__all__ = [
    "EDGE_MODES",
    "TRAVEL_MODES",
    "GeographyError",
    "Network",
    "build_network",
    "load_network",
]

#: Route modes in the data.
EDGE_MODES: tuple[str, ...] = ("road", "rail", "sea", "trek")
#: How people travel; a road route gives a ``foot`` and a ``bus`` link.
TRAVEL_MODES: tuple[str, ...] = ("foot", "bus", "rail", "sea", "trek")
_TRAVEL_BY_EDGE: dict[str, tuple[str, ...]] = {
    "road": ("foot", "bus"),
    "rail": ("rail",),
    "sea": ("sea",),
    "trek": ("trek",),
}
PLACE_KINDS: tuple[str, ...] = (
    "origin_crossing",
    "border_town",
    "transit_city",
    "rail_hub",
    "northern_border_city",
    "us_port_of_entry",
)


@dataclass(frozen=True, eq=False)
class Network:
    """Places, directed travel links and facilities, as arrays indexed by integer ids.

    Attributes
    ----------
    place_names : list of str
        Place id -> name (unique).
    place_state, place_country, place_kind : ndarray of str
        Per place: state or department, ISO country code, kind (see ``PLACE_KINDS``).
    lat, lon : ndarray of float64
        Coordinates in degrees (WGS84).
    north_of_19th : ndarray of bool
        Whether the place lies at or north of the 19th parallel (CBP One booking rule).
    route_from, route_to : ndarray of int16
        Undirected routes of the data, by place id.
    route_mode : ndarray of str
        Route mode, one of ``EDGE_MODES``.
    route_distance_km : ndarray of float64
        Route length in km.
    link_from, link_to, link_route : ndarray of int16
        Directed links: origin and destination place ids, and the route they belong to.
    link_mode : ndarray of int8
        Travel mode index into ``TRAVEL_MODES``.
    link_distance_km : ndarray of float32
        Link length in km (that of its route).
    detention_place : ndarray of int16
        Detention facilities (INM stations and provisional stays), place id of each.
    detention_name : list of str
        Facility names.
    detention_capacity_data : ndarray of float64
        Capacity in persons as the data state it; NaN where no source gives one.
    shelter_capacity : ndarray of float64
        Per place, the summed shelter places stated by sources (0 where none).
    comar_places : list of str
        Places with a COMAR asylum office in the data.
    """

    place_names: list[str]
    place_state: npt.NDArray[np.str_]
    place_country: npt.NDArray[np.str_]
    place_kind: npt.NDArray[np.str_]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    north_of_19th: npt.NDArray[np.bool_]
    route_from: npt.NDArray[np.int16]
    route_to: npt.NDArray[np.int16]
    route_mode: npt.NDArray[np.str_]
    route_distance_km: npt.NDArray[np.float64]
    link_from: npt.NDArray[np.int16]
    link_to: npt.NDArray[np.int16]
    link_route: npt.NDArray[np.int16]
    link_mode: npt.NDArray[np.int8]
    link_distance_km: npt.NDArray[np.float32]
    detention_place: npt.NDArray[np.int16]
    detention_name: list[str]
    detention_capacity_data: npt.NDArray[np.float64]
    shelter_capacity: npt.NDArray[np.float64]
    comar_places: list[str]
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({name: i for i, name in enumerate(self.place_names)})

    @property
    def n_places(self) -> int:
        """Number of places."""
        return len(self.place_names)

    @property
    def n_links(self) -> int:
        """Number of directed travel links."""
        return int(self.link_from.size)

    def place_id(self, name: str) -> int:
        """Integer id of the place called ``name``.

        Raises
        ------
        GeographyError
            If no place has that name; the message lists close names.
        """
        try:
            return self._index[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self.place_names, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise GeographyError(f"unknown place {name!r}{hint}") from None

    def has_place(self, name: str) -> bool:
        """Whether a place called ``name`` exists."""
        return name in self._index

    def find_routes(self, a: str, b: str, mode: str | None = None) -> list[int]:
        """Ids of the undirected routes between places ``a`` and ``b`` (optionally of one mode)."""
        ia, ib = self.place_id(a), self.place_id(b)
        hit = ((self.route_from == ia) & (self.route_to == ib)) | (
            (self.route_from == ib) & (self.route_to == ia)
        )
        if mode is not None:
            hit &= self.route_mode == mode
        return [int(i) for i in np.flatnonzero(hit)]

    def places_of_kind(self, *kinds: str) -> npt.NDArray[np.intp]:
        """Ids of the places of the given kinds."""
        return np.flatnonzero(np.isin(self.place_kind, kinds))


def _data_dir() -> Path:
    return package_data("geography")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _number(path: Path, row: int, column: str, text: str, *, allow_blank: bool = False) -> float:
    """Parse a number from a CSV cell, or raise a GeographyError naming the cell."""
    where = f"{path.name} row {row} column {column!r}"
    if text.strip() == "":
        if allow_blank:
            return math.nan
        raise GeographyError(f"{where}: value missing (expected a number)")
    try:
        value = float(text)
    except ValueError:
        raise GeographyError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise GeographyError(f"{where}: {text!r} is not a finite number")
    return value


def _require_columns(path: Path, rows: list[dict[str, str]], columns: Iterable[str]) -> None:
    present = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in present]
    if not rows:
        raise GeographyError(f"{path.name}: no rows")
    if missing:
        raise GeographyError(f"{path.name}: missing column(s) {', '.join(missing)}")


def load_network(directory: str | Path | None = None) -> Network:
    """Load and check places, routes and facilities.

    Parameters
    ----------
    directory : path, optional
        A folder holding ``places.csv``, ``routes.csv`` and ``facilities.csv`` in the
        package's format. Defaults to the geography shipped with corridor.

    Returns
    -------
    Network

    Raises
    ------
    GeographyError
        On a duplicate or unknown place, missing or out-of-range coordinates, a
        non-positive or missing distance, an unknown mode or kind, or a negative capacity.
    """
    folder = Path(directory) if directory is not None else _data_dir()
    places_path, routes_path = folder / "places.csv", folder / "routes.csv"
    facilities_path = folder / "facilities.csv"
    for p in (places_path, routes_path, facilities_path):
        if not p.is_file():
            raise GeographyError(f"missing geography file {p}")
    return build_network(
        _read_csv(places_path),
        _read_csv(routes_path),
        _read_csv(facilities_path),
        files=(places_path, routes_path, facilities_path),
    )


def build_network(
    places: list[dict[str, str]],
    routes: list[dict[str, str]],
    facilities: list[dict[str, str]],
    files: tuple[Path, Path, Path] = (Path("places.csv"), Path("routes.csv"), Path("facilities.csv")),
) -> Network:
    """Check rows of the three geography tables (as :class:`csv.DictReader` gives them) and
    build the :class:`Network`; ``files`` name the tables in error messages.

    This is how a test builds a tiny world in code: three places and two routes are a few
    dictionaries. Values are strings, as in the CSV files.

    Raises
    ------
    GeographyError
        As :func:`load_network`.
    """
    places_path, routes_path, facilities_path = files
    names, lat, lon = _check_places(places_path, places)
    index = {n: i for i, n in enumerate(names)}
    r_from, r_to, r_mode, r_dist = _check_routes(routes_path, routes, index, places_path.name)
    l_from, l_to, l_route, l_mode, l_dist = _directed_links(r_from, r_to, r_mode, r_dist)
    det_place, det_name, det_cap, shelter, comar = _check_facilities(facilities_path, facilities, index)
    lat_a = np.asarray(lat)
    return Network(
        place_names=names,
        place_state=np.array([r["state"] for r in places]),
        place_country=np.array([r["country"] for r in places]),
        place_kind=np.array([r["kind"] for r in places]),
        lat=lat_a,
        lon=np.asarray(lon),
        north_of_19th=lat_a >= 19.0,
        route_from=np.asarray(r_from, dtype=np.int16),
        route_to=np.asarray(r_to, dtype=np.int16),
        route_mode=np.asarray(r_mode),
        route_distance_km=np.asarray(r_dist),
        link_from=np.asarray(l_from, dtype=np.int16),
        link_to=np.asarray(l_to, dtype=np.int16),
        link_route=np.asarray(l_route, dtype=np.int16),
        link_mode=np.asarray(l_mode, dtype=np.int8),
        link_distance_km=np.asarray(l_dist, dtype=np.float32),
        detention_place=np.asarray(det_place, dtype=np.int16),
        detention_name=det_name,
        detention_capacity_data=np.asarray(det_cap, dtype=np.float64),
        shelter_capacity=shelter,
        comar_places=comar,
    )


def _check_places(path: Path, places: list[dict[str, str]]) -> tuple[list[str], list[float], list[float]]:
    """Names and coordinates of the places table, checked."""
    _require_columns(path, places, ("name", "state", "country", "lat", "lon", "kind"))
    names: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    seen: set[str] = set()
    for row_no, r in enumerate(places, start=2):
        name = r["name"].strip()
        if not name:
            raise GeographyError(f"{path.name} row {row_no} column 'name': empty")
        if name in seen:
            raise GeographyError(f"{path.name} row {row_no} column 'name': duplicate place {name!r}")
        if r["kind"] not in PLACE_KINDS:
            raise GeographyError(
                f"{path.name} row {row_no} column 'kind': {r['kind']!r} is not one of "
                f"{', '.join(PLACE_KINDS)}"
            )
        la = _number(path, row_no, "lat", r["lat"])
        lo = _number(path, row_no, "lon", r["lon"])
        if not (-90 <= la <= 90 and -180 <= lo <= 180):
            raise GeographyError(f"{path.name} row {row_no} ({name}): coordinates {la}, {lo} out of range")
        seen.add(name)
        names.append(name)
        lat.append(la)
        lon.append(lo)
    return names, lat, lon


def _check_routes(
    path: Path, routes: list[dict[str, str]], index: dict[str, int], places_file: str
) -> tuple[list[int], list[int], list[str], list[float]]:
    """Undirected routes (from, to, mode, km) of the routes table, checked."""
    _require_columns(path, routes, ("from", "to", "mode", "distance_km"))
    r_from: list[int] = []
    r_to: list[int] = []
    r_mode: list[str] = []
    r_dist: list[float] = []
    for row_no, r in enumerate(routes, start=2):
        for col in ("from", "to"):
            if r[col] not in index:
                raise GeographyError(
                    f"{path.name} row {row_no} column {col!r}: unknown place {r[col]!r} "
                    f"(not in {places_file})"
                )
        if r["from"] == r["to"]:
            raise GeographyError(f"{path.name} row {row_no}: route from a place to itself")
        if r["mode"] not in EDGE_MODES:
            raise GeographyError(
                f"{path.name} row {row_no} column 'mode': {r['mode']!r} is not one of {', '.join(EDGE_MODES)}"
            )
        d = _number(path, row_no, "distance_km", r["distance_km"])
        if d <= 0:
            raise GeographyError(f"{path.name} row {row_no} column 'distance_km': {d} (expected > 0 km)")
        r_from.append(index[r["from"]])
        r_to.append(index[r["to"]])
        r_mode.append(r["mode"])
        r_dist.append(d)
    return r_from, r_to, r_mode, r_dist


def _directed_links(
    r_from: list[int], r_to: list[int], r_mode: list[str], r_dist: list[float]
) -> tuple[list[int], list[int], list[int], list[int], list[float]]:
    """One directed link per direction and travel mode of each route: from, to, route, mode, km."""
    l_from: list[int] = []
    l_to: list[int] = []
    l_route: list[int] = []
    l_mode: list[int] = []
    l_dist: list[float] = []
    for rid, (a, b, m, d) in enumerate(zip(r_from, r_to, r_mode, r_dist, strict=True)):
        for travel in _TRAVEL_BY_EDGE[m]:
            for x, y in ((a, b), (b, a)):
                l_from.append(x)
                l_to.append(y)
                l_route.append(rid)
                l_mode.append(TRAVEL_MODES.index(travel))
                l_dist.append(d)
    return l_from, l_to, l_route, l_mode, l_dist


def _check_facilities(
    path: Path, facilities: list[dict[str, str]], index: dict[str, int]
) -> tuple[list[int], list[str], list[float], npt.NDArray[np.float64], list[str]]:
    """Detention facilities (place, name, capacity), shelter places per place and COMAR offices."""
    _require_columns(path, facilities, ("place", "facility_type", "name", "capacity"))
    det_place: list[int] = []
    det_name: list[str] = []
    det_cap: list[float] = []
    shelter = np.zeros(len(index))
    comar: list[str] = []
    for row_no, r in enumerate(facilities, start=2):
        if r["place"] not in index:
            raise GeographyError(f"{path.name} row {row_no} column 'place': unknown place {r['place']!r}")
        cap = _number(path, row_no, "capacity", r["capacity"], allow_blank=True)
        if cap < 0:
            raise GeographyError(f"{path.name} row {row_no} column 'capacity': {cap} (expected >= 0)")
        kind = r["facility_type"]
        if kind in ("inm_detention_station", "inm_provisional_stay"):
            det_place.append(index[r["place"]])
            det_name.append(r["name"])
            det_cap.append(cap)
        elif kind == "shelter" and not math.isnan(cap):
            shelter[index[r["place"]]] += cap
        elif kind == "comar_office":
            comar.append(r["place"])
    return det_place, det_name, det_cap, shelter, comar
