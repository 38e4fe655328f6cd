"""The shipped geography and the checks load_network makes on malformed data."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

import corridor
from corridor.errors import GeographyError
from corridor.geography import EDGE_MODES, TRAVEL_MODES

from .conftest import GEOGRAPHY_DIR


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def geo_copy(tmp_path: Path) -> Callable[[str, Callable[[list[dict[str, str]]], None]], Path]:
    """Copy the shipped geography to a temporary folder and edit one of its files."""

    def _edit(file: str, change: Callable[[list[dict[str, str]]], None]) -> Path:
        folder = tmp_path / "geography"
        if not folder.exists():
            shutil.copytree(GEOGRAPHY_DIR, folder)
        header, rows = read_rows(folder / file)
        change(rows)
        write_rows(folder / file, header, rows)
        return folder

    return _edit


# --------------------------------------------------------------------------- shipped data


def test_shipped_network_sizes_match_the_data_files(network: corridor.Network) -> None:
    _, places = read_rows(GEOGRAPHY_DIR / "places.csv")
    _, routes = read_rows(GEOGRAPHY_DIR / "routes.csv")
    assert network.n_places == 69 == len(places)
    assert network.place_names == [r["name"] for r in places]
    assert len(set(network.place_names)) == 69
    assert network.route_from.size == len(routes)
    for arr in (network.place_state, network.place_country, network.place_kind, network.lat, network.lon):
        assert arr.shape == (69,)


def test_shipped_routes_form_one_connected_network(network: corridor.Network) -> None:
    n = network.n_places
    graph = coo_matrix(
        (np.ones(network.route_from.size), (network.route_from, network.route_to)), shape=(n, n)
    )
    n_components, labels = connected_components(graph, directed=False)
    assert n_components == 1, {
        int(c): [network.place_names[i] for i in np.flatnonzero(labels == c)] for c in np.unique(labels)
    }


def test_every_place_has_a_route(network: corridor.Network) -> None:
    touched = np.union1d(network.route_from, network.route_to)
    assert touched.size == network.n_places


def test_links_are_both_directions_of_each_route_per_travel_mode(network: corridor.Network) -> None:
    per_edge_mode = {"road": ("foot", "bus"), "rail": ("rail",), "sea": ("sea",), "trek": ("trek",)}
    assert set(network.route_mode) <= set(EDGE_MODES)
    for rid in range(network.route_from.size):
        links = np.flatnonzero(network.link_route == rid)
        mode = str(network.route_mode[rid])
        a, b = int(network.route_from[rid]), int(network.route_to[rid])
        expected = {(x, y, TRAVEL_MODES.index(m)) for m in per_edge_mode[mode] for x, y in ((a, b), (b, a))}
        got = {(int(network.link_from[k]), int(network.link_to[k]), int(network.link_mode[k])) for k in links}
        assert got == expected, (rid, mode)
        assert links.size == len(expected)
        np.testing.assert_allclose(network.link_distance_km[links], network.route_distance_km[rid], rtol=1e-6)
    assert (network.route_distance_km > 0).all()
    assert network.route_from.size + (network.route_mode == "road").sum() == network.n_links // 2


def test_place_attributes_are_sane(network: corridor.Network) -> None:
    assert set(network.place_country) <= {"GT", "BZ", "MX", "US"}
    assert ((network.lat > 10) & (network.lat < 35)).all()
    assert ((network.lon > -120) & (network.lon < -85)).all()
    assert network.places_of_kind("northern_border_city").size == 9
    assert (network.place_country[network.places_of_kind("us_port_of_entry")] == "US").all()
    assert (network.place_country[network.places_of_kind("northern_border_city")] == "MX").all()


def test_north_of_19th_agrees_with_the_data_column(network: corridor.Network) -> None:
    _, places = read_rows(GEOGRAPHY_DIR / "places.csv")
    stated = np.array([r["north_of_19th_parallel"].strip().lower() == "true" for r in places])
    np.testing.assert_array_equal(network.north_of_19th, stated)
    assert network.north_of_19th[network.place_id("Mexico City")]
    assert not network.north_of_19th[network.place_id("Tapachula")]


def test_detention_facilities(network: corridor.Network) -> None:
    assert network.detention_place.size == len(network.detention_name) == network.detention_capacity_data.size
    # Facilities are addressed by name in scenarios: names must be unique.
    assert len(set(network.detention_name)) == len(network.detention_name)
    cap = network.detention_capacity_data
    assert (cap[np.isfinite(cap)] >= 0).all()
    assert np.isnan(cap).any(), "some stations have no stated capacity (detention_capacity_unknown)"
    siglo = network.detention_name.index("Estacion Migratoria Siglo XXI")
    assert network.place_names[network.detention_place[siglo]] == "Tapachula"
    assert cap[siglo] == 960
    assert (network.shelter_capacity >= 0).all()


def test_place_lookup(network: corridor.Network) -> None:
    assert network.place_names[network.place_id("Tapachula")] == "Tapachula"
    assert network.has_place("Reynosa") and not network.has_place("Reynoza")
    with pytest.raises(GeographyError, match=r"Reynoza.*did you mean.*Reynosa"):
        network.place_id("Reynoza")


def test_find_routes_is_symmetric_and_filters_by_mode(network: corridor.Network) -> None:
    both = network.find_routes("Ciudad Tecun Uman", "Ciudad Hidalgo")
    assert len(both) == 2
    assert sorted(network.find_routes("Ciudad Hidalgo", "Ciudad Tecun Uman")) == sorted(both)
    (road,) = network.find_routes("Ciudad Hidalgo", "Ciudad Tecun Uman", "road")
    assert network.route_mode[road] == "road"
    assert network.find_routes("Ciudad Hidalgo", "Arriaga", "rail")
    assert network.find_routes("Ciudad Hidalgo", "Arriaga", "sea") == []


def test_load_network_from_a_copy_equals_the_default(tmp_path: Path, network: corridor.Network) -> None:
    folder = tmp_path / "geo"
    shutil.copytree(GEOGRAPHY_DIR, folder)
    copy = corridor.load_network(folder)
    assert copy.place_names == network.place_names
    np.testing.assert_array_equal(copy.link_from, network.link_from)
    np.testing.assert_array_equal(copy.link_distance_km, network.link_distance_km)


# --------------------------------------------------------------------------- malformed data


def _row_of(rows: list[dict[str, str]], **match: str) -> int:
    """Index of the first row matching, and its line in the file (header is line 1)."""
    for i, r in enumerate(rows):
        if all(r[k] == v for k, v in match.items()):
            return i
    raise AssertionError(match)


def test_unknown_place_in_routes(geo_copy) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[7]["to"] = "Atlantis"

    folder = geo_copy("routes.csv", change)
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "routes.csv" in msg and "row 9" in msg and "'to'" in msg and "Atlantis" in msg


@pytest.mark.parametrize("value", ["", "   "])
def test_blank_latitude(geo_copy, value: str) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[_row_of(rows, name="Tapachula")]["lat"] = value

    folder = geo_copy("places.csv", change)
    _, rows = read_rows(folder / "places.csv")
    line = _row_of(rows, name="Tapachula") + 2
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "places.csv" in msg and f"row {line}" in msg and "'lat'" in msg


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("lat", "abc", ["'lat'", "not a number"]),
        ("lon", "nan", ["'lon'", "finite"]),
        ("lat", "95", ["out of range"]),
        ("kind", "village", ["'kind'", "village"]),
    ],
)
def test_bad_place_values(geo_copy, column: str, value: str, words: list[str]) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[3][column] = value

    folder = geo_copy("places.csv", change)
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "places.csv" in msg and "row 5" in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("distance", ["-5", "0", "0.0", "", "far"])
def test_non_positive_or_missing_distance(geo_copy, distance: str) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[10]["distance_km"] = distance

    folder = geo_copy("routes.csv", change)
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "routes.csv" in msg and "row 12" in msg and "'distance_km'" in msg


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("mode", "plane", ["'mode'", "plane"]), ("from", "Narnia", ["'from'", "Narnia"])],
)
def test_bad_route_values(geo_copy, column: str, value: str, words: list[str]) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[0][column] = value

    folder = geo_copy("routes.csv", change)
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "routes.csv" in msg and "row 2" in msg
    for w in words:
        assert w in msg


def test_route_from_a_place_to_itself(geo_copy) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[4]["to"] = rows[4]["from"]

    with pytest.raises(GeographyError, match=r"routes\.csv row 6.*itself"):
        corridor.load_network(geo_copy("routes.csv", change))


def duplicate_tapachula(rows: list[dict[str, str]]) -> None:
    rows.insert(20, dict(rows[_row_of(rows, name="Tapachula")]))


def test_duplicate_place_names_file_row_and_place(geo_copy) -> None:
    folder = geo_copy("places.csv", duplicate_tapachula)
    with pytest.raises(GeographyError) as info:
        corridor.load_network(folder)
    msg = str(info.value)
    assert "places.csv" in msg and "row 22" in msg and "Tapachula" in msg and "duplicate" in msg


def test_duplicate_place_error_names_the_column(geo_copy) -> None:
    with pytest.raises(GeographyError) as info:
        corridor.load_network(geo_copy("places.csv", duplicate_tapachula))
    assert "'name'" in str(info.value)


def test_negative_facility_capacity(geo_copy) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[1]["capacity"] = "-3"

    with pytest.raises(GeographyError, match=r"facilities\.csv row 3 column 'capacity'"):
        corridor.load_network(geo_copy("facilities.csv", change))


def test_facility_at_unknown_place(geo_copy) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[0]["place"] = "Atlantis"

    with pytest.raises(GeographyError, match=r"facilities\.csv row 2 column 'place'.*Atlantis"):
        corridor.load_network(geo_copy("facilities.csv", change))


def test_missing_file_and_missing_column(tmp_path: Path) -> None:
    folder = tmp_path / "geo"
    shutil.copytree(GEOGRAPHY_DIR, folder)
    (folder / "facilities.csv").unlink()
    with pytest.raises(GeographyError, match=r"facilities\.csv"):
        corridor.load_network(folder)

    shutil.copy(GEOGRAPHY_DIR / "facilities.csv", folder / "facilities.csv")
    header, rows = read_rows(folder / "routes.csv")
    header.remove("distance_km")
    for r in rows:
        del r["distance_km"]
    write_rows(folder / "routes.csv", header, rows)
    with pytest.raises(GeographyError, match=r"routes\.csv.*distance_km"):
        corridor.load_network(folder)
