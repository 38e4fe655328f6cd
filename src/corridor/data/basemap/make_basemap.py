"""Make ``corridor.json``, the report's base map, from two npm TopoJSON packages (run once).

Usage (from the repository root; ``npm pack`` only downloads the package tarballs)::

    cd /tmp && npm pack world-atlas@2.0.2 us-atlas@3.0.1
    mkdir -p world us && tar xzf world-atlas-2.0.2.tgz -C world && tar xzf us-atlas-3.0.1.tgz -C us
    python src/corridor/data/basemap/make_basemap.py /tmp/world/package/countries-50m.json \\
        /tmp/us/package/states-10m.json src/corridor/data/basemap/corridor.json

It decodes the TopoJSON (quantised, delta-coded arcs), keeps the country polygons and the
US state borders that fall in the corridor's box (:data:`BOX`), clips the polygons to the box
(Sutherland-Hodgman), simplifies every line (Douglas-Peucker, :data:`TOLERANCE_DEG`) and
rounds coordinates to :data:`DECIMALS` places. Standard library only; not imported by corridor.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: (lon_min, lat_min, lon_max, lat_max), degrees: the corridor from Panama to California.
BOX = (-120.0, 4.0, -74.0, 36.0)
#: Douglas-Peucker tolerance, degrees (about 1 km): finer than a screen pixel at full width.
TOLERANCE_DEG = 0.01
#: Decimal places kept (0.001 degree is about 100 m).
DECIMALS = 3

Point = tuple[float, float]


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Absolute lon/lat of every arc of a quantised TopoJSON topology."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def arc_points(arcs: list[list[Point]], index: int) -> list[Point]:
    """The points of arc ``index`` (a negative ``~i`` is arc ``i`` reversed)."""
    return arcs[index] if index >= 0 else arcs[~index][::-1]


def rings(arcs: list[list[Point]], geometry: dict[str, Any]) -> list[list[Point]]:
    """The rings (outer and holes alike) of a Polygon or MultiPolygon geometry."""
    polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry.get("arcs", [])
    out = []
    for polygon in polygons:
        for ring in polygon:
            points: list[Point] = []
            for index in ring:
                part = arc_points(arcs, index)
                points.extend(part if not points else part[1:])  # arcs share their end points
            out.append(points)
    return out


def clip_ring(ring: list[Point], box: tuple[float, float, float, float]) -> list[Point]:
    """Sutherland-Hodgman: the part of polygon ``ring`` inside ``box``."""
    x0, y0, x1, y1 = box
    points = ring
    # Each edge of the box: the coordinate it bounds (0 lon, 1 lat), its value, and the side kept.
    for axis, bound, keep_above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        if not points:
            break

        def inside(p: Point, axis: int = axis, bound: float = bound, keep_above: bool = keep_above) -> bool:
            return p[axis] >= bound if keep_above else p[axis] <= bound

        kept: list[Point] = []
        prev = points[-1]
        for cur in points:
            if inside(cur):
                if not inside(prev):
                    kept.append(_cross(prev, cur, axis, bound))
                kept.append(cur)
            elif inside(prev):
                kept.append(_cross(prev, cur, axis, bound))
            prev = cur
        points = kept
    return points


def _cross(a: Point, b: Point, axis: int, bound: float) -> Point:
    """Where segment a-b crosses the line ``coordinate[axis] == bound``."""
    t = (bound - a[axis]) / (b[axis] - a[axis])
    other = 1 - axis
    value = a[other] + t * (b[other] - a[other])
    return (bound, value) if axis == 0 else (value, bound)


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker simplification (iterative), keeping both ends."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (ax, ay), (bx, by) = points[i], points[j]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5
        best, where = 0.0, -1
        for k in range(i + 1, j):
            px, py = points[k]
            d = (
                abs(dy * (px - ax) - dx * (py - ay)) / norm
                if norm
                else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            )
            if d > best:
                best, where = d, k
        if best > tolerance:
            keep[where] = True
            stack.extend([(i, where), (where, j)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def _inside(p: Point) -> bool:
    return BOX[0] <= p[0] <= BOX[2] and BOX[1] <= p[1] <= BOX[3]


def split_to_box(line: list[Point]) -> list[list[Point]]:
    """The pieces of an open line that lie in the box (each piece keeps one point beyond it)."""
    pieces: list[list[Point]] = []
    current: list[Point] = []
    for k, p in enumerate(line):
        near = _inside(p) or (k > 0 and _inside(line[k - 1])) or (k + 1 < len(line) and _inside(line[k + 1]))
        if near:
            current.append(p)
        elif current:
            pieces.append(current)
            current = []
    if len(current) > 1:
        pieces.append(current)
    return [piece for piece in pieces if len(piece) > 1]


def _flat(points: list[Point]) -> list[float]:
    return [round(v, DECIMALS) for p in points for v in p]


def countries(topology: dict[str, Any]) -> list[dict[str, Any]]:
    """Country polygons clipped to the box: name and rings as flat [lon, lat, lon, lat, ...]."""
    arcs = decode_arcs(topology)
    out = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        kept = []
        for ring in rings(arcs, geometry):
            clipped = simplify(clip_ring(ring, BOX), TOLERANCE_DEG)
            if len(clipped) >= 4:
                kept.append(_flat(clipped))
        if kept:
            out.append({"name": geometry["properties"]["name"], "rings": kept})
    return sorted(out, key=lambda c: c["name"])


def state_borders(topology: dict[str, Any]) -> list[list[float]]:
    """Borders between two US states (arcs used by two state polygons), in the box."""
    arcs = decode_arcs(topology)
    users: dict[int, int] = {}
    for geometry in topology["objects"]["states"]["geometries"]:
        polygons = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry.get("arcs", [])
        for polygon in polygons:
            for ring in polygon:
                for index in ring:
                    arc = index if index >= 0 else ~index
                    users[arc] = users.get(arc, 0) + 1
    out = []
    for arc, n in sorted(users.items()):
        if n < 2:  # a coast or the national border: drawn with the countries
            continue
        for piece in split_to_box(arcs[arc]):
            out.append(_flat(simplify(piece, TOLERANCE_DEG)))
    return out


def main(countries_path: str, states_path: str, out_path: str) -> None:
    """Write the base map JSON."""
    world = json.loads(Path(countries_path).read_text())
    us = json.loads(Path(states_path).read_text())
    basemap = {
        "box": list(BOX),
        "countries": countries(world),
        "state_borders": state_borders(us),
        "source": {
            "countries": "Natural Earth 1:50m Admin 0 countries 4.1.0, via npm world-atlas 2.0.2",
            "state_borders": "US Census Bureau cartographic state boundaries 2017, via npm us-atlas 3.0.1",
        },
    }
    Path(out_path).write_text(json.dumps(basemap, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
