"""Draw the issue's two regime changes from the committed backtest, against what happened.

    python backtests/regime_changes.py [BACKTEST_FOLDER]

writes ``regime-changes.html`` into the folder (default ``backtests/mexico-2018-2024``): from
origin June 2019 (the deal with Mexico signed that month), Guatemalan, Honduran and Salvadoran
US Border Patrol encounters; from origin May 2023 (Title 42 ended on 11 May), the US total. Each
figure draws corridor's raw, anchored and combined forecasts and persistence (median, 90% band),
the 12 months known at the origin, and what happened. Only the backtest's own scores and the
shipped observations before each origin are read (a backtest run with other ``--observed``
files would have known other months); months held out are not in the scores.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from corridor.backtest.origins import known_before, monthly_histories
from corridor.backtest.scorecard import origin_figure
from corridor.observations.reader import load_observed
from corridor.report.html import Section, write_page

#: (origin, series, breakdowns, what changed)
REGIME_CHANGES = (
    (
        "2019-06",
        "usbp_sw_encounters",
        ("citizenship=Guatemala", "citizenship=Honduras", "citizenship=El Salvador"),
        "The June 2019 US-Mexico joint declaration (7 June) and the National Guard's deployment: "
        "forecast from what was known before June 2019, the policy dates known.",
    ),
    (
        "2023-05",
        "usbp_sw_encounters",
        ("",),
        "Title 42 expulsions ended on 11 May 2023: forecast from what was known before May 2023.",
    ),
)
KNOWN_MONTHS = 12


def main(folder: Path) -> Path:
    scores = pd.read_parquet(folder / "scores.parquet")
    observed = load_observed()
    sections = []
    for origin, series, breakdowns, what in REGIME_CHANGES:
        period = pd.Period(origin, freq="M")
        histories = monthly_histories(known_before(observed, period))
        figures = []
        for breakdown in breakdowns:
            history = histories.get((series, "US Southwest land border", breakdown))
            known = None if history is None else history[history.index >= period - KNOWN_MONTHS]
            fig = origin_figure(scores, origin, series, breakdown, history=known)
            if fig is None:
                raise SystemExit(f"{folder}: no forecast of {series} {breakdown!r} at origin {origin}")
            figures.append(fig)
        sections.append(Section(f"Origin {origin}", f"<p>{what}</p>", (), figures))
    intro = (
        f"From <code>{folder}/scores.parquet</code> (docs/backtest.md). Lines: medians; bands: 90% "
        "intervals; dotted: the months known at the origin; circles: what happened, read only to score."
    )
    return write_page(
        folder / "regime-changes.html",
        "corridor: two regime changes",
        sections,
        heading="Two regime changes",
        intro=intro,
    )


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "backtests/mexico-2018-2024")))
