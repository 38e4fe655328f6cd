"""HTML pages: the one page builder and the one palette of corridor's plots.

Every page corridor writes (``compare.html``, ``validation.html``, ``sensitivity.html``) is
built by :func:`page`: a title, an optional heading and introduction, then sections of
text, tables and plotly figures. The page is self-contained: plotly.js is inlined once, with
the first figure. Colours come from :data:`PALETTE` (series), :data:`OUTLINE` (marker
edges), :data:`HEATMAP_SCALE`, the map's :data:`LAND`, :data:`SEA`, :data:`BORDER` and
:data:`MAP_SCALE`, and the dashboard's :data:`UNCHANGED_RUN`, :data:`EDITED_RUN`,
:data:`DIFFERENCE_MORE`, :data:`DIFFERENCE_FEWER` and plot furniture (:data:`BACKGROUND`,
:data:`AXIS`, :data:`GRID`, :data:`ZERO_LINE`, :data:`SHADE`) only; no other module names a
colour. The dashboard's page (not its figures) is styled by dashboard/assets/corridor.css.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from corridor.atomic import write_text_atomically

__all__ = [
    "AXIS",
    "BACKGROUND",
    "BORDER",
    "DIFFERENCE_FEWER",
    "DIFFERENCE_MORE",
    "EDITED_RUN",
    "GRID",
    "HEATMAP_SCALE",
    "LAND",
    "MAP_SCALE",
    "OUTLINE",
    "PALETTE",
    "SEA",
    "SHADE",
    "UNCHANGED_RUN",
    "ZERO_LINE",
    "Section",
    "add_band",
    "colour",
    "page",
    "write_page",
]

#: Colours of successive series (scenarios, groups of observations): plotly's "D3" set.
PALETTE: Final[tuple[str, ...]] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: Edge of markers drawn over a band (observed values).
OUTLINE: Final = "black"
#: Colour scale of heatmaps (plotly's name).
HEATMAP_SCALE: Final = "Blues"
#: The base map: land, sea (the plot's background) and borders.
LAND: Final = "#f2efe9"
SEA: Final = "#dbe9f4"
BORDER: Final = "#9a9a9a"
#: The pages' style sheet: readable text width, plain tables with a header row; numbers go in
#: cells of class ``n`` (right-aligned).
STYLE: Final = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "max-width:1240px;margin:1.5em auto;padding:0 1em;line-height:1.45;color:#222}"
    "h1{font-size:1.7em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:0.8em 0;font-size:0.92em}"
    "th,td{padding:4px 9px;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3;font-weight:600}th.n{text-align:right}td.n{text-align:right;white-space:nowrap}"
    "tr:hover td{background:#fafafa}.note{color:#666;font-size:0.92em}.sources{overflow-wrap:anywhere}"
)
#: Colour scale of the places on the map (plotly's name): light for few people, dark for many.
MAP_SCALE: Final = "YlOrRd"
#: The dashboard's two runs: the unchanged scenario in grey, the one with the user's levers in
#: blue (also the colour of its Run button, in dashboard/assets/corridor.css).
UNCHANGED_RUN: Final = "#8c8c8c"
EDITED_RUN: Final = "#1f5fa8"
#: Differences by sign: orange for more people, purple for fewer; not red and green, since
#: more is not always worse. dashboard/assets/corridor.css colours the totals' differences
#: with the same two (tests/test_dashboard.py checks that they agree).
DIFFERENCE_MORE: Final = "#d95f02"
DIFFERENCE_FEWER: Final = "#5e3c99"
#: Plot furniture of the dashboard's charts: background, axis lines, grid lines, the zero line
#: of difference charts, and the shade over spin-up months.
BACKGROUND: Final = "white"
AXIS: Final = "#bbb"
GRID: Final = "#eee"
ZERO_LINE: Final = "#666"
SHADE: Final = "#f0f0f0"


def colour(k: int) -> str:
    """The colour of the ``k``-th series (the palette repeats)."""
    return PALETTE[k % len(PALETTE)]


@dataclass(frozen=True)
class Section:
    """A part of a page: an optional heading, then HTML text, tables (HTML) and figures."""

    heading: str | None = None
    text: str = ""
    tables: Sequence[str] = ()
    figures: Sequence[Any] = field(default_factory=tuple)


def page(title: str, sections: Sequence[Section], *, heading: str | None = None, intro: str = "") -> str:
    """A self-contained HTML page.

    Parameters
    ----------
    title : str
        The page's ``<title>`` (plain text).
    sections : sequence of Section
        In order; plotly.js is inlined with the first figure of the page.
    heading : str, optional
        An ``<h1>`` (plain text).
    intro : str
        HTML of an introductory paragraph (``<p>`` added).
    """
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>"
    ]
    if heading is not None:
        parts.append(f"<h1>{escape(heading)}</h1>")
    if intro:
        parts.append(f"<p>{intro}</p>")
    n_figures = 0
    for section in sections:
        if section.heading is not None:
            parts.append(f"<h2>{escape(section.heading)}</h2>")
        parts.append(section.text)
        parts.extend(section.tables)
        for fig in section.figures:
            # auto_play off: a figure with frames (the map's months) opens on its chosen month.
            # A numbered id, not plotly's random one: the same results give the same page, byte for byte.
            html = fig.to_html(
                full_html=False,
                include_plotlyjs=n_figures == 0,
                auto_play=False,
                div_id=f"figure-{n_figures}",
            )
            parts.append(html)
            n_figures += 1
    parts.append("</body></html>")
    return "".join(parts)


def write_page(
    path: str | Path, title: str, sections: Sequence[Section], *, heading: str | None = None, intro: str = ""
) -> Path:
    """Write :func:`page` to ``path`` atomically (its folder is created); return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out, page(title, sections, heading=heading, intro=intro))
    return out


def add_band(
    fig: Any,
    x: Any,
    low: Any,
    high: Any,
    *,
    colour: str,
    group: str,
    opacity: float | None = None,
    hover: bool = True,
    row: int | None = None,
    col: int | None = None,
) -> None:
    """Add a shaded band between ``low`` and ``high`` (a 5-95% interval) to a plotly figure.

    Two traces without legend entries, in ``group`` (the legend group of the series'
    median line, so that hiding the series hides its band).
    """
    grid = {} if row is None else {"row": row, "col": col}
    skip = {} if hover else {"hoverinfo": "skip"}
    fig.add_scatter(
        x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, legendgroup=group, **skip, **grid
    )
    shade = {} if opacity is None else {"opacity": opacity}
    fig.add_scatter(
        x=x,
        y=low,
        mode="lines",
        line={"width": 0, "color": colour},
        fill="tonexty",
        showlegend=False,
        legendgroup=group,
        **shade,
        **skip,
        **grid,
    )
