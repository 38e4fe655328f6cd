"""The main outcomes of a run: by month, and over the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from corridor.metrics import Results

#: Places whose stranded and unsheltered people the reports single out.
SOUTH = ("Tapachula",)
NORTH_KIND = "northern_border_city"

#: (name, metric, how): flows are summed over the period; stocks are taken at its end.
MAIN_OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("arrivals", "arrivals", "flow"),
    ("detentions", "detentions", "flow"),
    ("interdictions", "interdictions", "flow"),
    ("deportations", "deportations", "flow"),
    ("bused_south", "bused_south", "flow"),
    ("us_encounters", "us_encounters", "flow"),
    ("us_admitted_port", "us_admitted_port", "flow"),
    ("mpp_returns", "mpp_returns", "flow"),
    ("asylum_applications", "asylum_applications", "flow"),
    ("asylum_pending", "asylum_pending", "stock"),
    ("visas_issued", "visas_issued", "flow"),
    ("stranded_tapachula", "stranded", "stock:south"),
    ("unsheltered_tapachula", "unsheltered", "stock:south"),
    ("stranded_north", "stranded", "stock:north"),
    ("unsheltered_north", "unsheltered", "stock:north"),
    ("deaths", "deaths", "flow"),
)
#: Plain names of the main outcomes, for pages.
OUTCOME_LABELS: dict[str, str] = {
    "arrivals": "Arrivals (re-entries counted again)",
    "detentions": "Admitted to detention",
    "interdictions": "Caught (interdictions)",
    "deportations": "Deported",
    "bused_south": "Bused back to southern Mexico",
    "us_encounters": "US Border Patrol encounters",
    "us_admitted_port": "Let in at US ports of entry",
    "mpp_returns": "Returned to Mexico under Remain in Mexico",
    "asylum_applications": "Asylum claims filed",
    "asylum_pending": "Asylum claims waiting",
    "visas_issued": "Humanitarian visas issued",
    "stranded_tapachula": "Stranded in Tapachula",
    "unsheltered_tapachula": "Without shelter in Tapachula",
    "stranded_north": "Stranded in the northern border cities",
    "unsheltered_north": "Without shelter in the northern border cities",
    "deaths": "Dead or missing",
}


def _place_mask(results: Results, where: str) -> np.ndarray:
    if where == "south":
        return np.isin(results.places, SOUTH)
    return np.asarray(results.place_kinds) == NORTH_KIND


def _daily(results: Results, metric: str, how: str) -> np.ndarray:
    """Per day: the metric summed over the places ``how`` selects and over nationalities."""
    arr = results.values(metric)
    if arr.ndim == 3:
        arr = arr.sum(axis=2)
    if ":" in how:
        arr = arr[:, _place_mask(results, how.split(":", 1)[1])]
    return np.nansum(arr, axis=1)


def monthly_outcomes(results: Results) -> pd.DataFrame:
    """Main outcomes by calendar month: flows summed over the month, stocks at its last day."""
    months = results.dates.to_period("M")
    cols: dict[str, pd.Series] = {}
    for name, metric, how in MAIN_OUTCOMES:
        series = pd.Series(_daily(results, metric, how), index=months)
        grouped = series.groupby(level=0)
        cols[name] = grouped.sum() if how == "flow" else grouped.last()
    frame = pd.DataFrame(cols)
    frame.index.name = "month"
    return frame


def outcome_totals(results: Results) -> pd.Series:
    """Main outcomes over the whole horizon: flows summed, stocks at the last day."""
    return pd.Series(
        {
            name: float(
                _daily(results, metric, how).sum() if how == "flow" else _daily(results, metric, how)[-1]
            )
            for name, metric, how in MAIN_OUTCOMES
        }
    )
