"""The map of the corridor: places sized and coloured by a stock or flow, month by month.

:func:`corridor_map_figure` draws it as an ordinary plotly figure on longitude/latitude
axes over the base map shipped with corridor (:func:`load_basemap`: Natural Earth country
outlines and US state borders, see ``corridor/data/basemap/README.md``). It uses no plotly
``geo`` trace and no tile server, because those fetch their outlines or tiles from the
network: the figure works offline, in a saved page as in a notebook.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from corridor.errors import InputError
from corridor.packagedata import package_data
from corridor.report.html import BORDER, LAND, MAP_SCALE, OUTLINE, SEA, colour

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from corridor.geography import Network

__all__ = ["MAP_METRICS", "Basemap", "MapMetric", "corridor_map_figure", "load_basemap"]


@dataclass(frozen=True)
class MapMetric:
    """How the map shows one metric: a plain label, its unit and what a month's value is."""

    label: str
    unit: str
    month_value: str


#: The metrics the report offers on its map, in the order of its dropdown. A stock is shown
#: at the last day of each month; a flow as the month's total.
MAP_METRICS: Mapping[str, MapMetric] = {
    "stranded": MapMetric("stranded (same state for 7+ days)", "persons", "at the end of the month"),
    "waiting": MapMetric("waiting, free, at the place", "persons", "at the end of the month"),
    "unsheltered": MapMetric("waiting beyond the shelter places", "persons", "at the end of the month"),
    "detained": MapMetric("detained", "persons", "at the end of the month"),
    "detained_over_capacity": MapMetric(
        "detained beyond the stations' capacity", "persons", "at the end of the month"
    ),
    "border_waiting": MapMetric("waiting at the US border", "persons", "at the end of the month"),
    "interdictions": MapMetric("caught (interdictions)", "persons", "in the month"),
    "deaths": MapMetric("dead or missing", "persons", "in the month"),
}

#: Colour of each route mode's lines (indices into the report palette).
_MODE_COLOUR = {"road": 7, "rail": 5, "sea": 0, "trek": 2}
#: Widths (pixels) of the routes' use classes: unused, light, medium, heavy.
_ROUTE_WIDTHS = (0.6, 1.5, 3.0, 5.5)
#: Marker sizes (pixels): every place is drawn at least this big ...
_MIN_SIZE = 5.0
#: ... and the place with the largest value at this size (area proportional to the value).
_MAX_SIZE = 42.0
#: How many places are named on the map (those with the largest values of the first metric).
_LABELLED = 12


@dataclass(frozen=True)
class Basemap:
    """Outlines to draw under the map, in degrees.

    Attributes
    ----------
    box : tuple of float
        ``(lon_min, lat_min, lon_max, lat_max)`` the outlines were clipped to.
    countries : list of (str, list of ndarray)
        Country name and its rings, each an ``(n, 2)`` array of lon, lat.
    state_borders : list of ndarray
        Lines between two US states, each ``(n, 2)``.
    """

    box: tuple[float, float, float, float]
    countries: list[tuple[str, list[np.ndarray]]]
    state_borders: list[np.ndarray]


@lru_cache(maxsize=1)
def load_basemap() -> Basemap:
    """The shipped base map (``corridor/data/basemap/corridor.json``), read once."""
    raw = json.loads(package_data("basemap", "corridor.json").read_text())

    def pairs(flat: Sequence[float]) -> np.ndarray:
        return np.asarray(flat, dtype=np.float64).reshape(-1, 2)

    return Basemap(
        box=tuple(raw["box"]),
        countries=[(c["name"], [pairs(r) for r in c["rings"]]) for c in raw["countries"]],
        state_borders=[pairs(line) for line in raw["state_borders"]],
    )


def _joined(lines: Sequence[np.ndarray]) -> tuple[list[float | None], list[float | None]]:
    """One trace's x and y for many lines: the lines separated by gaps (None)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for line in lines:
        xs.extend(line[:, 0].tolist())
        ys.extend(line[:, 1].tolist())
        xs.append(None)
        ys.append(None)
    return xs, ys


def _add_basemap(fig: go.Figure, basemap: Basemap) -> None:
    x, y = _joined([ring for _, rings in basemap.countries for ring in rings])
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        fill="toself",
        fillcolor=LAND,
        line={"color": BORDER, "width": 0.8},
        hoverinfo="skip",
        showlegend=False,
        name="countries",
    )
    x, y = _joined(basemap.state_borders)
    fig.add_scatter(
        x=x,
        y=y,
        mode="lines",
        line={"color": BORDER, "width": 0.4, "dash": "dot"},
        hoverinfo="skip",
        showlegend=False,
        name="US states",
    )


def _route_use_classes(values: np.ndarray) -> np.ndarray:
    """Width class of each route: 0 unused, then thirds of the used routes' range (log scale)."""
    classes = np.zeros(values.size, dtype=np.int64)
    used = values > 0
    if used.any():
        logs = np.log10(values[used])
        lo, hi = logs.min(), logs.max()
        span = hi - lo if hi > lo else 1.0
        classes[used] = 1 + np.minimum(((logs - lo) / span * 3).astype(np.int64), 2)
    return classes


def _add_routes(fig: go.Figure, network: Network, route_use: pd.DataFrame | None) -> None:
    names = network.place_names
    modes = np.asarray(network.route_mode)
    use = np.zeros(modes.size)
    if route_use is not None:
        missing = {"from", "to", "mode", "value"} - set(route_use.columns)
        if missing:
            raise InputError(f"route_use: missing column(s) {', '.join(sorted(missing))}")
        key = {
            (frozenset((names[a], names[b])), m): k
            for k, (a, b, m) in enumerate(zip(network.route_from, network.route_to, modes, strict=True))
        }
        for a, b, mode, value in route_use[["from", "to", "mode", "value"]].itertuples(
            index=False, name=None
        ):
            k = key.get((frozenset((str(a), str(b))), str(mode)))
            if k is not None:
                use[k] += float(value)
    classes = _route_use_classes(use) if route_use is not None else np.ones(modes.size, dtype=np.int64)
    for mode in ("road", "rail", "sea", "trek"):
        first = True
        for width_class in range(len(_ROUTE_WIDTHS)):
            sel = np.flatnonzero((modes == mode) & (classes == width_class))
            if sel.size == 0:
                continue
            lines = [
                np.array(
                    [
                        [network.lon[network.route_from[k]], network.lat[network.route_from[k]]],
                        [network.lon[network.route_to[k]], network.lat[network.route_to[k]]],
                    ]
                )
                for k in sel
            ]
            x, y = _joined(lines)
            fig.add_scatter(
                x=x,
                y=y,
                mode="lines",
                line={"color": colour(_MODE_COLOUR[mode]), "width": _ROUTE_WIDTHS[width_class]},
                opacity=0.75,
                hoverinfo="skip",
                name=f"{mode} routes",
                legendgroup=f"route-{mode}",
                showlegend=first,
            )
            first = False


def _values_by_month(
    frame: pd.DataFrame, places: Sequence[str]
) -> tuple[list[pd.Timestamp], dict[str, np.ndarray]]:
    """Months, and per metric a ``(month, place)`` array (0 where the frame has no row)."""
    months = sorted(pd.to_datetime(frame["month"]).unique())
    index = pd.MultiIndex.from_product([months, list(places)], names=["month", "place"])
    out: dict[str, np.ndarray] = {}
    for metric, part in frame.groupby("metric", sort=False):
        series = part.assign(month=pd.to_datetime(part["month"])).groupby(["month", "place"])["value"].sum()
        values = series.reindex(index, fill_value=0.0).to_numpy(dtype=np.float64)
        out[str(metric)] = np.nan_to_num(values.reshape(len(months), len(places)))
    return [pd.Timestamp(m) for m in months], out


def _sizes(values: np.ndarray, top: float) -> np.ndarray:
    """Marker diameters: area proportional to the value, every place at least visible."""
    if top <= 0:
        return np.full(values.shape, _MIN_SIZE)
    return _MIN_SIZE + (_MAX_SIZE - _MIN_SIZE) * np.sqrt(np.clip(values, 0, None) / top)


def _describe(metric: str) -> MapMetric:
    return MAP_METRICS.get(metric, MapMetric(metric.replace("_", " "), "persons", "in the month"))


def _hover(places: Sequence[str], detail: Sequence[str], values: np.ndarray, info: MapMetric) -> list[str]:
    return [
        f"<b>{p}</b> ({d})<br>{v:,.0f} {info.unit} {info.label} {info.month_value}"
        for p, d, v in zip(places, detail, values, strict=True)
    ]


def corridor_map_figure(
    monthly_by_place: pd.DataFrame,
    metric: str,
    network: Network | None = None,
    route_use: pd.DataFrame | None = None,
    *,
    spin_up_months: Sequence[pd.Timestamp] = (),
    height: int = 860,
    label: str = "",
    scale_max: Mapping[str, float] | None = None,
) -> go.Figure:
    """A map of the corridor with a month slider: each place sized and coloured by a metric.

    Every place of ``network`` that has coordinates is drawn (a small grey-edged dot where
    the metric is zero), over the shipped base map, with the routes drawn by mode. The
    figure uses plain x/y axes (longitude, latitude; equal scale at the corridor's mean
    latitude), so it needs no network access.

    Parameters
    ----------
    monthly_by_place : DataFrame
        Tidy: columns ``month`` (Timestamp or anything :func:`pandas.to_datetime` reads),
        ``place`` (a place name of the network), ``value`` (persons), and optionally
        ``metric``. With a ``metric`` column holding several metrics, a dropdown on the map
        switches between them; rows of a month and place that are absent count as zero.
    metric : str
        The metric shown first (a value of the ``metric`` column; without that column, the
        name of the metric the values are). Labels and units come from :data:`MAP_METRICS`.
    network : Network, optional
        The places and routes; default the geography shipped with corridor.
    route_use : DataFrame, optional
        Columns ``from``, ``to``, ``mode``, ``value``: how many persons used each route
        (over the whole horizon). Routes are then drawn wider the more they were used (three
        classes on a log scale; unused routes thin). Without it all routes have one width.
    spin_up_months : sequence of Timestamp
        Months of the scenario's spin-up (the model filling up from empty): named so on
        the slider.
    height : int
        Figure height in pixels.
    label : str
        Put before the title (a scenario's name, when a page has several maps).
    scale_max : mapping of str to float, optional
        Per metric, the value drawn at the largest size and darkest colour (default: the
        largest value in the frame); give several maps the same to compare them by eye.

    Returns
    -------
    plotly.graph_objects.Figure
        With one frame per month (``frame.name`` is ``"YYYY-MM"``) and a slider over them,
        opening on the month when ``metric``, summed over places, is largest.
        The places of metric ``m`` are the trace named ``m``; ``customdata`` holds the
        place names.

    Raises
    ------
    InputError
        A column is missing, ``metric`` is not among the frame's metrics, or a place is not
        in the network.
    """
    import plotly.graph_objects as go

    from corridor.geography import load_network

    net = network if network is not None else load_network()
    frame, metrics = _checked(monthly_by_place, metric, net)
    data = _map_data(frame, metrics, net, scale_max or {})
    fig = go.Figure()
    basemap = load_basemap()
    _add_basemap(fig, basemap)
    _add_routes(fig, net, route_use)
    first_marker = len(fig.data)
    _add_places(fig, data)
    spin_up = {pd.Timestamp(m).to_period("M") for m in spin_up_months}
    _add_controls(fig, data, first_marker, spin_up, label)
    x0, y0, x1, y1 = _extent(data.lon, data.lat, basemap.box)
    fig.update_layout(
        height=height,
        title={"text": _title(metric, label)},
        plot_bgcolor=SEA,
        margin={"l": 40, "r": 20, "t": 140, "b": 40},
        legend={"orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"},
    )
    # Equal ground distances: a degree of longitude is cos(latitude) of a degree of latitude.
    fig.update_xaxes(
        range=[x0, x1],
        showgrid=False,
        zeroline=False,
        title_text="longitude",
        scaleanchor="y",
        scaleratio=math.cos(math.radians((y0 + y1) / 2)),
        constrain="domain",
    )
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, title_text="latitude")
    return fig


def _checked(monthly_by_place: pd.DataFrame, metric: str, net: Network) -> tuple[pd.DataFrame, list[str]]:
    """The frame with a ``metric`` column, and its metrics with ``metric`` first; or InputError."""
    missing = {"month", "place", "value"} - set(monthly_by_place.columns)
    if missing:
        raise InputError(f"monthly_by_place: missing column(s) {', '.join(sorted(missing))}")
    frame = (
        monthly_by_place if "metric" in monthly_by_place.columns else monthly_by_place.assign(metric=metric)
    )
    metrics = [str(m) for m in pd.unique(frame["metric"])]
    if metric not in metrics:
        raise InputError(f"metric {metric!r}: not in monthly_by_place (it has {', '.join(metrics)})")
    unknown = sorted(set(frame["place"].astype(str)) - set(net.place_names))
    if unknown:
        raise InputError(f"monthly_by_place: unknown place(s) {', '.join(unknown[:5])}")
    return frame, [metric, *[m for m in metrics if m != metric]]


@dataclass(frozen=True)
class _MapData:
    """The places drawn and their values: ``values[metric][month, place]``."""

    metrics: list[str]
    months: list[pd.Timestamp]
    values: dict[str, np.ndarray]
    places: list[str]
    lon: np.ndarray
    lat: np.ndarray
    detail: list[str]
    start: int
    scale_max: Mapping[str, float]

    def top(self, metric: str) -> float:
        """The scale's top: ``scale_max`` if given, else the largest value over months and places."""
        return float(self.scale_max.get(metric, self.values[metric].max(initial=0.0)))

    def trace(self, metric: str, month: int) -> dict[str, Any]:
        """What changes on the map from month to month: sizes, colours and hover texts."""
        v = self.values[metric][month]
        return {
            "marker": {"size": _sizes(v, self.top(metric)).tolist(), "color": v.tolist()},
            "hovertext": _hover(self.places, self.detail, v, _describe(metric)),
        }


def _map_data(
    frame: pd.DataFrame, metrics: list[str], net: Network, scale_max: Mapping[str, float]
) -> _MapData:
    places = list(net.place_names)
    has_coords = np.isfinite(net.lat) & np.isfinite(net.lon)
    shown = [p for p, ok in zip(places, has_coords, strict=True) if ok]
    months, values = _values_by_month(frame, shown)
    if not months:
        raise InputError("monthly_by_place: no rows")
    pos = np.array([places.index(p) for p in shown])
    detail = [f"{s}, {c}" for s, c in zip(net.place_state[pos], net.place_country[pos], strict=True)]
    # Open on the month the first metric peaks (summed over places): where the story is.
    start = int(np.argmax(values[metrics[0]].sum(axis=1)))
    return _MapData(metrics, months, values, shown, net.lon[pos], net.lat[pos], detail, start, scale_max)


def _add_places(fig: go.Figure, data: _MapData) -> None:
    """One marker trace per metric (the first visible), then the names of the main places."""
    for k, m in enumerate(data.metrics):
        info = _describe(m)
        fig.add_scatter(
            x=data.lon,
            y=data.lat,
            mode="markers",
            name=m,
            customdata=data.places,
            visible=k == 0,
            showlegend=False,
            marker={
                "cmin": 0.0,
                "cmax": max(data.top(m), 1.0),
                "colorscale": MAP_SCALE,
                "line": {"color": OUTLINE, "width": 0.6},
                "opacity": 0.85,
                "colorbar": {"title": {"text": f"{info.unit}<br>{info.month_value}"}, "thickness": 14},
            },
            hoverinfo="text",
        )
        fig.data[-1].update(data.trace(m, data.start))
    # Name the places that matter most for the first metric (largest peak), to orient a reader.
    peak = data.values[data.metrics[0]].max(axis=0)
    named = np.argsort(-peak)[: min(_LABELLED, int((peak > 0).sum()))]
    # Invisible markers as big as the place's largest circle push each name clear of it.
    largest = _sizes(peak, data.top(data.metrics[0]))[named]
    fig.add_scatter(
        x=data.lon[named],
        y=data.lat[named],
        mode="markers+text",
        marker={"size": largest, "opacity": 0},
        text=[data.places[i] for i in named],
        textposition="middle right",
        textfont={"size": 11},
        hoverinfo="skip",
        showlegend=False,
        name="place names",
    )


def _add_controls(
    fig: go.Figure, data: _MapData, first_marker: int, spin_up: set[pd.Period], label: str = ""
) -> None:
    """Frames and the month slider; the dropdown of metrics when there are several."""
    import plotly.graph_objects as go

    n = len(data.metrics)
    labels = [f"{m:%Y-%m}" for m in data.months]
    fig.frames = [
        go.Frame(
            name=label,
            data=[data.trace(m, t) for m in data.metrics],
            traces=list(range(first_marker, first_marker + n)),
        )
        for t, label in enumerate(labels)
    ]
    steps = [
        {
            "label": label + (" (spin-up)" if data.months[t].to_period("M") in spin_up else ""),
            "method": "animate",
            "args": [[label], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}],
        }
        for t, label in enumerate(labels)
    ]
    buttons = [
        {
            "label": _describe(m).label,
            "method": "update",
            "args": [
                {"visible": [True] * first_marker + [j == k for j in range(n)] + [True]},
                {"title.text": _title(m, label)},
            ],
        }
        for k, m in enumerate(data.metrics)
    ]
    menu = {
        "type": "dropdown",
        "buttons": buttons,
        "x": 0.0,
        "xanchor": "left",
        "y": 1.0,
        "yanchor": "bottom",
        "showactive": True,
        "active": 0,
    }
    fig.update_layout(
        sliders=[
            {"active": data.start, "currentvalue": {"prefix": "month: "}, "pad": {"t": 40}, "steps": steps}
        ],
        updatemenus=[menu] if n > 1 else [],
    )


def _title(metric: str, label: str = "") -> str:
    info = _describe(metric)
    return (
        (f"<b>{label}</b>: " if label else "")
        + f"People {info.label}, by place<br><span style='font-size:12px'>{info.unit} {info.month_value}; "
        "the slider under the map changes the month, the menu above it the figure</span>"
    )


def _extent(
    lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float], margin: float = 1.5
) -> tuple[float, float, float, float]:
    """The places' extent plus a margin, within the base map's box."""
    return (
        max(float(lon.min()) - margin, box[0]),
        max(float(lat.min()) - margin, box[1]),
        min(float(lon.max()) + margin, box[2]),
        min(float(lat.max()) + margin, box[3]),
    )
