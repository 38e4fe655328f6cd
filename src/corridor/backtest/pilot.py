"""The demand scale at an origin, from one pilot run and the months before the origin.

A scenario whose inflows are demand (``derived: latent``, a level in persons per month, or
``derived: upstream_entries``, a share of Honduras' entries) has one scale per nationality
that no prior can pin down with a few dozen draws. Outcomes scale about linearly with the
demand that produces them, so at each origin corridor runs the scenario once at the priors'
medians (the **pilot**), and sets each nationality's scale to the pilot's times the ratio of
what was observed to what the pilot simulated, over that nationality's rows of the fit
months (Mexico's events and US encounters of the nationality, months before the origin
only). The prior draws then vary around the adjusted scale. This is calibration on the data
before the origin, as the rejection step is; it reads nothing at or after it.

How a nationality's people split between Mexico's events and US encounters is set by how often
they are caught on the way, which differs by nationality (who pays for transport, travels with
papers or with smugglers) and which no prior pins down either. So a first pilot also fits each
nationality's ``behaviour.interdiction_factor`` (:func:`interdiction_factors`): the factor on the
checkpoint hazard that turns the pilot's caught share, Mexico's events / (Mexico's events + US
encounters), into the observed one, taking the share as 1 - exp(-hazard). A second pilot, with
those factors, gives the demand scales.

How often people waiting at a town with a COMAR office file for asylum is a third quantity no
prior pins down (its prior spans a factor of 40, and COMAR's one monthly total weighs little in
the rejection distance among a hundred nationality rows). A last pilot, with the factors and the
scales, fits it the same way (:func:`application_ratio`): every nationality's
``policy.asylum.application_probability_per_day`` times observed / simulated COMAR applications
over the fit months.

A scenario with legal pathways (docs/model.md, "Legal pathways") has one more such quantity, the
share who take an open pathway instead of the corridor (``behaviour.legal_pathway_uptake``). It
can be read only from months when a pathway was open: at an origin whose fit months hold a
pathway's opening, first pilots fit it (:func:`pathway_uptake`) from the US encounters of the
nationalities it opened to, in the months after the opening against the months before it. The
uptake is one number for every pathway, so the response of the first nationality offered one
(Venezuelans, October 2022) is what the backtest forecasts for the next (Cubans, Haitians and
Nicaraguans, January 2023): an assumption, stated in the pathways scenario. At an origin whose
fit months hold no opening, the priors keep it. For a nationality whose pathway opened in the
:data:`PATHWAY_REFERENCE_MONTHS` before the origin, the demand scale and the interdiction factor
are read in the months before the opening, not the last ones: there the pathway did not act yet
(in the last months it did, and the scale and the catch would take up what the uptake explains).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from corridor.backtest.simulated import RunValues
from corridor.calibrate.priors import prior_quantiles
from corridor.observations.resolve import _nationality_label
from corridor.scenario import Scenario
from corridor.scenario.paths import get_path

#: Series whose nationality rows measure a nationality's demand scale.
SCALE_SERIES = ("mx_irregular_events", "usbp_sw_encounters")
#: The adjustment of one pilot is bounded: at most this factor either way.
MAX_RATIO = 50.0
#: The scale is fitted to the last months before the origin: the level it forecasts from (the
#: last month, as persistence's; 3 months lagged behind trends: docs/backtest.md).
SCALE_MONTHS = 1
#: The interdiction factors are fitted to the caught share of these last months.
CATCH_MONTHS = 1
#: A fitted interdiction factor is at most this factor either way from the pilot's.
MAX_FACTOR = 10.0
#: Caught shares are taken within these bounds (a share of 0 or 1 has no finite hazard).
_SHARE_BOUNDS = (0.02, 0.98)
#: The dotted path of a nationality's interdiction factor.
FACTOR_PATH = "behaviour.interdiction_factor.{}"
#: The series that measures how often people file for asylum in Mexico (a national total).
ASYLUM_SERIES = "comar_asylum_applications"
#: The dotted path of the daily chance to file for asylum (keyed by nationality).
APPLICATION_PATH = "policy.asylum.application_probability_per_day"
#: The dotted path of the share who take an open legal pathway instead of the corridor.
UPTAKE_PATH = "behaviour.legal_pathway_uptake"
#: The series a legal pathway empties: crossings into the US between ports.
PATHWAY_SERIES = "usbp_sw_encounters"
#: Months before a pathway opens whose observed / simulated ratio is the reference level.
PATHWAY_REFERENCE_MONTHS = 3
#: Whole months from a pathway's opening whose encounters measure its uptake: the response to
#: the opening, not to later policies (Title 42's end in May 2023 raised the same encounters).
PATHWAY_RESPONSE_MONTHS = 3
#: A fitted uptake is at most this: some cross whatever is offered (and 1 has no ratio to fit).
MAX_UPTAKE = 0.99


def demand_scales(scenario: Scenario) -> dict[str, list[str]]:
    """Nationality -> the dotted paths of its demand scales, one per demand-rule inflow (a
    nationality arriving by two routes, by air and overland, has two; one ratio scales both)."""
    out: dict[str, list[str]] = {}
    for i, inflow in enumerate(scenario.inflows):
        rule = getattr(inflow, "derived", None)
        if rule == "latent":
            out.setdefault(inflow.nationality, []).append(f"inflows.{i}.demand.level_persons_per_month")
        elif rule == "upstream_entries":
            out.setdefault(inflow.nationality, []).append(f"inflows.{i}.upstream_share")
    return out


def pilot_draw(scenario: Scenario) -> dict[str, float]:
    """The priors' medians, as overrides."""
    return {path: prior_quantiles(prior, [0.5])[0] for path, prior in scenario.priors.items()}


def _recent(
    pilot: RunValues, fit: pd.DataFrame, series: tuple[str, ...], origin: str | None, months: int
) -> np.ndarray:
    """Which of the fit rows ``fit`` belong to ``series``, have an observed and a simulated value
    and (with ``origin``, YYYY-MM) fall in the ``months`` months before the origin."""
    n_fit = len(fit)
    usable: np.ndarray = fit["series"].isin(series).to_numpy() & np.isfinite(pilot.observed[:n_fit])
    usable &= np.isfinite(pilot.simulated[:n_fit])
    if origin is not None:
        since = (pd.Period(origin, freq="M") - months).start_time
        usable &= (pd.to_datetime(fit["period_start"]) >= since).to_numpy()
    return usable


def _months_before(starts: np.ndarray, opened: dt.date, months: int) -> np.ndarray:
    """Which rows (``starts``: their periods' first days) fall in the ``months`` whole calendar
    months before the month of ``opened``."""
    month = pd.Period(opened, freq="M")
    since, until = (np.datetime64(m.start_time) for m in (month - months, month))
    return np.asarray((starts >= since) & (starts < until))


def _fit_sums(
    pilot: RunValues,
    rows: pd.DataFrame,
    n_fit: int,
    origin: str | None,
    months: int,
    openings: Mapping[str, dt.date] | None = None,
) -> pd.DataFrame:
    """Observed and simulated sums of the fit rows of :data:`SCALE_SERIES` by nationality label
    and series; with ``origin`` (YYYY-MM), only rows of the ``months`` months before it, or before
    the month a legal pathway opened to the nationality (``openings``) if that is one of the
    :data:`PATHWAY_REFERENCE_MONTHS` before the origin: its level and caught share are read where
    the pathway did not act yet (its uptake is read after: :func:`pathway_uptake`)."""
    fit = rows.iloc[:n_fit]
    labels = fit["breakdown"].map(_nationality_label).to_numpy()
    usable = _recent(pilot, fit, SCALE_SERIES, origin, months)
    at = None if origin is None else pd.Period(origin, freq="M")
    recent = {
        nationality: opened
        for nationality, opened in (openings or {}).items()
        if at is not None and at - PATHWAY_REFERENCE_MONTHS <= pd.Period(opened, freq="M") < at
    }
    if recent:
        every = _recent(pilot, fit, SCALE_SERIES, None, 0)
        starts = pd.to_datetime(fit["period_start"]).to_numpy()
        for nationality, opened in recent.items():
            mine = labels == nationality
            usable[mine] = (every & _months_before(starts, opened, months))[mine]
    frame = pd.DataFrame(
        {
            "nationality": labels[usable],
            "series": fit["series"].to_numpy()[usable],
            "observed": pilot.observed[:n_fit][usable],
            "simulated": pilot.simulated[:n_fit][usable],
        }
    )
    return frame.groupby(["nationality", "series"])[["observed", "simulated"]].sum()


def scale_ratios(
    pilot: RunValues,
    rows: pd.DataFrame,
    n_fit: int,
    nationalities: list[str],
    origin: str | None = None,
    openings: Mapping[str, dt.date] | None = None,
) -> dict[str, float]:
    """Observed / simulated over each nationality's fit rows of :data:`SCALE_SERIES` (1 without
    rows); with ``origin`` (YYYY-MM), only rows of the :data:`SCALE_MONTHS` months before it (or
    before a legal pathway's recent opening: :func:`_fit_sums`)."""
    sums = _fit_sums(pilot, rows, n_fit, origin, SCALE_MONTHS, openings).groupby(level=0).sum()
    by_nationality = dict(zip(sums.index, sums.to_numpy(dtype=float), strict=True))
    out = {}
    for nationality in nationalities:
        if nationality not in by_nationality:
            out[nationality] = 1.0
            continue
        observed, simulated = by_nationality[nationality]
        out[nationality] = float(np.clip(max(observed, 1.0) / max(simulated, 1.0), 1 / MAX_RATIO, MAX_RATIO))
    return out


def interdiction_factors(
    pilot: RunValues,
    rows: pd.DataFrame,
    n_fit: int,
    nationalities: list[str],
    origin: str | None = None,
    openings: Mapping[str, dt.date] | None = None,
) -> dict[str, float]:
    """Per nationality, the factor on its checkpoint hazard that moves the pilot's caught share
    to the observed one over the fit rows of :data:`SCALE_SERIES` (with ``origin``, YYYY-MM, only
    those of the :data:`CATCH_MONTHS` months before it, or before a legal pathway's recent
    opening: :func:`_fit_sums`).

    The caught share is Mexico's events / (Mexico's events + US encounters) and is taken as
    1 - exp(-hazard), so the factor is log(1 - observed share) / log(1 - simulated share), with
    shares within 2-98% and the factor within :data:`MAX_FACTOR` either way. A nationality
    without both series in the fit months gets 1.
    """
    sums = _fit_sums(pilot, rows, n_fit, origin, CATCH_MONTHS, openings)
    by_key = dict(zip(sums.index, sums.to_numpy(dtype=float), strict=True))
    low, high = _SHARE_BOUNDS
    out = {}
    for nationality in nationalities:
        pair = [(nationality, series) for series in SCALE_SERIES]
        if not all(key in by_key for key in pair):
            out[nationality] = 1.0
            continue
        (mx_obs, mx_sim), (us_obs, us_sim) = (by_key[key] for key in pair)
        if min(mx_obs + us_obs, mx_sim + us_sim) <= 0:
            out[nationality] = 1.0
            continue
        observed = float(np.clip(mx_obs / (mx_obs + us_obs), low, high))
        simulated = float(np.clip(mx_sim / (mx_sim + us_sim), low, high))
        factor = np.log1p(-observed) / np.log1p(-simulated)
        out[nationality] = float(np.clip(factor, 1 / MAX_FACTOR, MAX_FACTOR))
    return out


def application_ratio(pilot: RunValues, rows: pd.DataFrame, n_fit: int) -> float:
    """Observed / simulated COMAR applications (:data:`ASYLUM_SERIES`) over all the fit rows,
    within :data:`MAX_FACTOR` either way; 1 without such rows.

    All of them, not only the last months': COMAR's counts are sparse (years, half-years, a few
    months), so the last months before an origin rarely hold one."""
    usable = _recent(pilot, rows.iloc[:n_fit], (ASYLUM_SERIES,), origin=None, months=0)
    if not usable.any():
        return 1.0
    observed = float(pilot.observed[:n_fit][usable].sum())
    simulated = float(pilot.simulated[:n_fit][usable].sum())
    return float(np.clip(max(observed, 1.0) / max(simulated, 1.0), 1 / MAX_FACTOR, MAX_FACTOR))


def pathway_openings(scenario: Scenario) -> dict[str, dt.date]:
    """Nationality -> the date of the first event that opens a legal pathway to it (``set:
    legal_pathways``); one open from the start (``policy.legal_pathways``) has no months before
    its opening to compare with, and is left out."""
    out: dict[str, dt.date] = {}
    for event in sorted(scenario.applied_events, key=lambda e: e.date):
        for nationality in event.set.get("legal_pathways") or ():
            out.setdefault(str(nationality), event.date)
    return {n: d for n, d in out.items() if n not in scenario.policy.legal_pathways}


def _pathway_windows(
    fit: pd.DataFrame, labels: np.ndarray, starts: np.ndarray, nationality: str, opened: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """Which fit rows (``labels``: their nationality labels, ``starts``: their periods' first
    days) of :data:`PATHWAY_SERIES` of ``nationality`` measure its pathway's uptake (the
    :data:`PATHWAY_RESPONSE_MONTHS` months starting on or after ``opened``), and which give the
    reference level (the :data:`PATHWAY_REFERENCE_MONTHS` whole months before its month)."""
    mine = (fit["series"] == PATHWAY_SERIES).to_numpy() & (labels == nationality)
    first = pd.Period(opened, freq="M") + (0 if opened.day == 1 else 1)
    after = (starts >= np.datetime64(first.start_time)) & (
        starts < np.datetime64((first + PATHWAY_RESPONSE_MONTHS).start_time)
    )
    return mine & after, mine & _months_before(starts, opened, PATHWAY_REFERENCE_MONTHS)


def _labels_and_starts(fit: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The fit rows' nationality labels and their periods' first days."""
    return fit["breakdown"].map(_nationality_label).to_numpy(), pd.to_datetime(fit["period_start"]).to_numpy()


def measures_uptake(rows: pd.DataFrame, n_fit: int, openings: Mapping[str, dt.date]) -> bool:
    """Whether the fit rows hold, for some pathway, both a month of its response window and one
    of its reference months (:func:`_pathway_windows`); else :func:`pathway_uptake` has nothing
    to fit (it may still find nothing, where those rows have no observed value), and its pilots
    need not run."""
    fit = rows.iloc[:n_fit]
    labels, starts = _labels_and_starts(fit)
    windows = (_pathway_windows(fit, labels, starts, n, opened) for n, opened in openings.items())
    return any(after.any() and before.any() for after, before in windows)


def pathway_uptake(
    pilot: RunValues, rows: pd.DataFrame, n_fit: int, openings: Mapping[str, dt.date], uptake: float
) -> float | None:
    """The uptake that brings the pilot's US encounters (:data:`PATHWAY_SERIES`) of the
    nationalities whose pathway opened within the fit rows to what was observed; None where no
    fit row lies on both sides of an opening.

    A nationality's :data:`PATHWAY_RESPONSE_MONTHS` whole months from its opening are compared
    with what the pilot simulated for them times its observed / simulated ratio over the
    :data:`PATHWAY_REFERENCE_MONTHS` months before the opening month (the pilot's level error,
    taken out). Summed over nationalities, observed / expected = ``kept`` / (1 - ``uptake``),
    with ``uptake`` the pilot's, so the fitted uptake is 1 - ``kept``, within 0 and
    :data:`MAX_UPTAKE`. Those who entered after the opening are in the observed upstream
    inflows already, so encounters are not quite linear in 1 - uptake: fit twice.
    """
    fit = rows.iloc[:n_fit]
    usable = _recent(pilot, fit, (PATHWAY_SERIES,), origin=None, months=0)
    labels, starts = _labels_and_starts(fit)
    observed, simulated = pilot.observed[:n_fit], pilot.simulated[:n_fit]
    seen = expected = 0.0
    for nationality, opened in sorted(openings.items()):
        after, before = (usable & w for w in _pathway_windows(fit, labels, starts, nationality, opened))
        if not after.any() or not before.any():
            continue
        level = max(float(observed[before].sum()), 1.0) / max(float(simulated[before].sum()), 1.0)
        seen += float(observed[after].sum())
        expected += float(simulated[after].sum()) * level
    if expected <= 0:
        return None
    kept = seen / expected * (1.0 - uptake)
    return float(np.clip(1.0 - kept, 0.0, MAX_UPTAKE))


def application_paths(scenario: Scenario) -> list[str]:
    """The dotted paths of every nationality's daily chance to file for asylum (``default`` too)."""
    return [f"{APPLICATION_PATH}.{key}" for key in scenario.policy.asylum.application_probability_per_day]


def factor_overrides(scenario: Scenario, factors: Mapping[str, float]) -> dict[str, float]:
    """The overrides that multiply each nationality's interdiction factor by ``factors``."""
    keyed = scenario.behaviour.interdiction_factor
    return {
        FACTOR_PATH.format(nationality): keyed.get(nationality, keyed.get("default", 1.0)) * factor
        for nationality, factor in sorted(factors.items())
    }


def scaled_draws(
    scenario: Scenario,
    draws: list[dict[str, float]],
    pilot: Mapping[str, float],
    ratios: Mapping[str, float],
    factors: Mapping[str, float] | None = None,
    application: float = 1.0,
    uptake: float | None = None,
) -> list[dict[str, Any]]:
    """Each draw with every demand scale multiplied by its nationality's ratio, the interdiction
    factors of :func:`factor_overrides` (``factors``: nationality -> multiplier), every daily
    chance to file for asylum times ``application`` (at most 1) and, unless None, the fitted
    legal-pathway ``uptake`` in place of the draw's. A value multiplied is the draw's own where
    the priors vary it, else the pilot's or the scenario's."""
    data = scenario.model_dump(by_alias=True)
    fitted: dict[str, float] = factor_overrides(scenario, factors or {})
    if uptake is not None:
        fitted[UPTAKE_PATH] = uptake
    scales = demand_scales(scenario)

    def base(draw: Mapping[str, Any], path: str) -> float:
        return float(draw.get(path, pilot.get(path, get_path(data, path))))

    out = []
    for draw in draws:
        changed = {**draw, **fitted}
        for nationality, paths in scales.items():
            for path in paths:
                changed[path] = base(draw, path) * ratios.get(nationality, 1.0)
        if application != 1.0:
            for path in application_paths(scenario):
                changed[path] = min(base(draw, path) * application, 1.0)
        out.append(changed)
    return out


def refitted_draws(
    scenario: Scenario, draws: list[dict[str, float]], fitted: pd.Series | Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``draws`` with what the pilots fitted at one origin of a backtest, as the backtest ran
    them (:func:`scaled_draws`). ``fitted`` is one of that origin's ``corridor`` rows in
    ``scores.parquet`` (the rows that carry the fit), with the columns ``demand_scale_ratios``,
    ``interdiction_factors``, ``application_ratio`` and ``legal_pathway_uptake``."""
    uptake = fitted.get("legal_pathway_uptake")
    return scaled_draws(
        scenario,
        draws,
        pilot_draw(scenario),
        json.loads(fitted["demand_scale_ratios"]),
        json.loads(fitted["interdiction_factors"]),
        float(fitted["application_ratio"]),
        None if uptake is None or pd.isna(uptake) else float(uptake),
    )
