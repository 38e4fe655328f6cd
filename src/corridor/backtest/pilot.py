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
"""

from __future__ import annotations

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
#: The scale is fitted to the last months before the origin: the level it forecasts from.
SCALE_MONTHS = 3


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


def scale_ratios(
    pilot: RunValues, rows: pd.DataFrame, n_fit: int, nationalities: list[str], origin: str | None = None
) -> dict[str, float]:
    """Observed / simulated over each nationality's fit rows of :data:`SCALE_SERIES` (1 without
    rows); with ``origin`` (YYYY-MM), only rows of the :data:`SCALE_MONTHS` months before it."""
    fit = rows.iloc[:n_fit]
    labels = fit["breakdown"].map(_nationality_label).to_numpy()
    usable = fit["series"].isin(SCALE_SERIES).to_numpy() & np.isfinite(pilot.observed[:n_fit])
    usable &= np.isfinite(pilot.simulated[:n_fit])
    if origin is not None:
        since = (pd.Period(origin, freq="M") - SCALE_MONTHS).start_time
        usable &= (pd.to_datetime(fit["period_start"]) >= since).to_numpy()
    out = {}
    for nationality in nationalities:
        mine = usable & (labels == nationality)
        if not mine.any():
            out[nationality] = 1.0
            continue
        observed = float(pilot.observed[:n_fit][mine].sum())
        simulated = max(float(pilot.simulated[:n_fit][mine].sum()), 1.0)
        out[nationality] = float(np.clip(max(observed, 1.0) / simulated, 1 / MAX_RATIO, MAX_RATIO))
    return out


def scaled_draws(
    scenario: Scenario, draws: list[dict[str, float]], pilot: Mapping[str, float], ratios: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Each draw with every demand scale multiplied by its nationality's ratio (the draw's own
    value where the priors vary it, else the pilot's or the scenario's)."""
    data = scenario.model_dump(by_alias=True)
    out = []
    for draw in draws:
        changed = dict(draw)
        for nationality, paths in demand_scales(scenario).items():
            for path in paths:
                base = draw.get(path, pilot.get(path, get_path(data, path)))
                changed[path] = float(base) * ratios.get(nationality, 1.0)
        out.append(changed)
    return out
