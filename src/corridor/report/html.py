"""HTML pages: the one page builder and the one palette of corridor's plots.

Every page corridor writes (``compare.html``, ``validation.html``, ``sensitivity.html``) is
built by :func:`page`: a title, an optional heading and introduction, then sections of
text, tables and plotly figures. The page is self-contained: plotly.js is inlined once, with
the first figure. Colours come from :data:`PALETTE` (series), :data:`OUTLINE` (marker
edges) and :data:`HEATMAP_SCALE` only; no other module names a colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Final

from corridor.atomic import write_text_atomically

__all__ = ["HEATMAP_SCALE", "OUTLINE", "PALETTE", "Section", "add_band", "colour", "page", "write_page"]

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
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head><body>"]
    if heading is not None:
        parts.append(f"<h1>{escape(heading)}</h1>")
    if intro:
        parts.append(f"<p>{intro}</p>")
    first = True
    for section in sections:
        if section.heading is not None:
            parts.append(f"<h2>{escape(section.heading)}</h2>")
        parts.append(section.text)
        parts.extend(section.tables)
        for fig in section.figures:
            parts.append(fig.to_html(full_html=False, include_plotlyjs=first))
            first = False
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
