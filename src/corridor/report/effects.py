"""What each policy did: a page of the paired differences between a scenario and its
counterfactuals, month by month, over a posterior.

``scenarios/counterfactuals/policy_effects.py`` runs them and writes ``policy_effects.csv``
(one row per policy and month: :data:`EFFECT_COLUMNS`); :func:`policy_effects_page` draws that
table for a reader without code: per policy, a sentence with the largest month's effect, the
simulated US encounters with and without the policy, and their difference with its interval.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.errors import OutputError
from corridor.report.figures import interval_label, persons
from corridor.report.html import OUTLINE, Section, add_band, colour, write_page

__all__ = ["EFFECT_COLUMNS", "policy_effects_page", "read_policy_effects"]

#: The columns of ``policy_effects.csv``.
EFFECT_COLUMNS = (
    "policy",
    "month",
    "fitted_at_origin",
    "us_encounters_with",
    "us_encounters_without",
    "difference_median",
    "difference_q05",
    "difference_q95",
    "draws",
    "seeds",
)


def read_policy_effects(path: str | Path) -> pd.DataFrame:
    """Read a ``policy_effects.csv``, checking its columns (one-line :class:`OutputError`)."""
    try:
        effects = pd.read_csv(path, dtype={"month": str, "fitted_at_origin": str})
    except (OSError, ValueError) as exc:
        raise OutputError(f"{path}: cannot read the policy effects ({exc})") from None
    missing = [c for c in EFFECT_COLUMNS if c not in effects.columns]
    if missing:
        raise OutputError(f"{path}: not a policy_effects.csv (no column {', '.join(missing)})")
    return effects


def _signed(value: float) -> str:
    """A change in persons for a sentence, with its sign."""
    return ("+" if value > 0 else "") + persons(float(value))


def _sentence(rows: pd.DataFrame) -> str:
    """The largest month's effect, and the months whose interval excludes 0, in words."""
    largest = rows.iloc[int(rows["difference_median"].abs().to_numpy().argmax())]
    month = pd.Period(str(largest["month"]), freq="M").strftime("%B %Y")
    without = float(largest["us_encounters_without"])
    share = (
        f", {abs(largest['difference_median']) / without:.0%} of the {persons(without)} "
        "the runs give without it"
    )
    clear = rows[(rows["difference_q95"] < 0) | (rows["difference_q05"] > 0)]
    if clear.empty:
        told = "In no month does the interval exclude 0: the runs cannot tell the policy's effect from noise."
    else:
        first = pd.Period(str(clear["month"].iloc[0]), freq="M").strftime("%B %Y")
        months = "1 month" if len(clear) == 1 else f"{len(clear)} months"
        told = f"The interval excludes 0 in {months}, the first {first}."
    return (
        f"Largest monthly effect on US Border Patrol encounters: {_signed(largest['difference_median'])} "
        f"in {month} ({_label(rows)}: "
        f"{_signed(largest['difference_q05'])} to {_signed(largest['difference_q95'])}"
        f"{share if without > 0 else ''}). {told}"
    )


def _levels_figure(rows: pd.DataFrame, policy: str, observed: pd.Series | None) -> Any:
    import plotly.graph_objects as go

    x = pd.PeriodIndex(rows["month"], freq="M").to_timestamp()
    fig = go.Figure()
    fig.add_scatter(
        x=x, y=rows["us_encounters_with"], name="with the policy (median)", line={"color": colour(0)}
    )
    fig.add_scatter(
        x=x,
        y=rows["us_encounters_without"],
        name="without it (median)",
        line={"color": colour(1), "dash": "dash"},
    )
    if observed is not None:
        first, last = x.min().to_period("M"), x.max().to_period("M")
        seen = observed[(observed.index >= first) & (observed.index <= last)]
        fig.add_scatter(
            x=pd.PeriodIndex(seen.index, freq="M").to_timestamp(),
            y=seen.to_numpy(),
            mode="markers",
            name="observed (the nationalities simulated)",
            marker={"symbol": "circle-open", "color": OUTLINE, "size": 7},
        )
    return _titled(fig, f"{policy}: simulated US Border Patrol encounters a month", 360)


def _titled(fig: Any, title: str, height: int) -> Any:
    fig.update_layout(title=title, yaxis_title="encounters a month", height=height, margin={"t": 50})
    return fig


def _label(rows: pd.DataFrame) -> str:
    """What the interval is: 5-95% over the paired runs, or their range when few."""
    return interval_label(int(rows["draws"].iloc[0] * rows["seeds"].iloc[0]))


def _difference_figure(rows: pd.DataFrame, policy: str) -> Any:
    import plotly.graph_objects as go

    x = pd.PeriodIndex(rows["month"], freq="M").to_timestamp()
    fig = go.Figure()
    add_band(fig, x, rows["difference_q05"], rows["difference_q95"], colour=colour(0), group="d", opacity=0.3)
    fig.add_scatter(
        x=x,
        y=rows["difference_median"],
        name=f"with minus without (median; band: {_label(rows)})",
        line={"color": colour(0)},
        legendgroup="d",
    )
    fig.add_hline(y=0, line={"color": OUTLINE, "width": 1})
    return _titled(fig, f"{policy}: what it changed (below 0: encounters it removed)", 320)


def _first_changed(rows: pd.DataFrame) -> int:
    """The position of the first month where the two runs differ (the table starts there)."""
    changed = rows[["difference_median", "difference_q05", "difference_q95"]].ne(0).any(axis=1)
    return int(changed.to_numpy().argmax()) if changed.any() else len(rows)


def _table(rows: pd.DataFrame) -> str:
    label = _label(rows)
    rows = rows.iloc[_first_changed(rows) :]
    shown = pd.DataFrame(
        {
            "month": rows["month"],
            "with": rows["us_encounters_with"].round(-2),
            "without": rows["us_encounters_without"].round(-2),
            "difference (median)": rows["difference_median"].round(-2),
            f"low ({label})": rows["difference_q05"].round(-2),
            "high": rows["difference_q95"].round(-2),
        }
    )
    return shown.to_html(index=False, float_format=lambda v: f"{v:,.0f}", border=0)


def policy_effects_page(
    effects: pd.DataFrame,
    path: str | Path,
    *,
    observed: pd.Series | None = None,
    note: str = "",
) -> Path:
    """Write the page of what each policy did (atomically) and return its path.

    Parameters
    ----------
    effects : DataFrame
        :data:`EFFECT_COLUMNS`, as :func:`read_policy_effects` reads them; one section per
        policy, in the order of the table.
    path : path
        The page (``policy-effects.html``).
    observed : Series, optional
        Observed monthly US encounters of the nationalities simulated, by month
        (``Period``), drawn beside the runs for scale (months held out must not be in it).
    note : str
        HTML added to the introduction (what the runs were, where the model's errors are).
    """
    sections = []
    for policy, rows in effects.groupby("policy", sort=False):
        rows = rows.sort_values("month").reset_index(drop=True)
        origin, draws, seeds = (rows[c].iloc[0] for c in ("fitted_at_origin", "draws", "seeds"))
        first = _first_changed(rows)
        same = (
            f"Until {escape(str(rows['month'].iloc[first - 1]))} the two are the same to the person "
            "(the same random numbers), so the table starts at the first month they differ. "
            if 0 < first < len(rows)
            else ""
        )
        text = (
            f"<p>{escape(_sentence(rows))}</p><p>Runs from {escape(str(rows['month'].iloc[0]))} to "
            f"{escape(str(rows['month'].iloc[-1]))} with the posterior the backtest kept at origin "
            f"{escape(str(origin))} ({int(draws)} draws x {int(seeds)} seeds). {same}The runs start with "
            "nobody on the way, so their first months are below what was observed.</p>"
        )
        sections.append(
            Section(
                str(policy),
                text,
                [_table(rows)],
                [_levels_figure(rows, str(policy), observed), _difference_figure(rows, str(policy))],
            )
        )
    intro = (
        "What the model says each policy did to the number of US Border Patrol encounters of the "
        "nationalities it simulates (everyone but Mexican nationals): each month, the runs with the "
        "policy minus the same runs without it. The interval is over the parameters the backtest "
        f"kept and the seeds. These are the model's answers, not measurements. {note}"
    )
    title = "corridor: what each policy did"
    return write_page(path, title, sections, heading="What each policy did", intro=intro)
