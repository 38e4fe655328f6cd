"""Legal pathways: a dated policy opens, for some nationalities, a way to the US that an
irregular crossing forfeits (parole by air); a share of their people take it instead of the
corridor. docs/model.md ("Legal pathways") gives the model; this module computes its numbers
for the timeline: the share per nationality of a policy, per day, and the multiplier of an
inflow's arrivals."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from corridor.errors import ScenarioError
from corridor.observations.inflows import upstream_lag_days
from corridor.scenario import Policy, Scenario

__all__ = [
    "lagged_pathway_share",
    "legal_pathway_share",
    "pathway_factor",
    "pathway_lag_days",
    "pathway_net_days",
]

F64 = npt.NDArray[np.float64]


def legal_pathway_share(policy: Policy, scenario: Scenario, nats: list[str], field: str) -> F64:
    """Per nationality of ``nats``: the share taking an open legal pathway
    (``behaviour.legal_pathway_uptake`` where ``policy.legal_pathways`` lists it, else 0).

    Raises
    ------
    ScenarioError
        ``policy.legal_pathways`` (at ``field``) names a nationality the scenario does not have.
    """
    unknown = [n for n in policy.legal_pathways if n not in nats]
    if unknown:
        raise ScenarioError(
            [
                (
                    f"{field}.legal_pathways",
                    None,
                    f"unknown nationality {n!r} (expected one of {', '.join(nats)})",
                )
                for n in unknown
            ]
        )
    open_ = np.isin(np.asarray(nats, dtype=object), list(policy.legal_pathways))
    return np.where(open_, scenario.behaviour.legal_pathway_uptake, 0.0)


def pathway_lag_days(scenario: Scenario, nats: list[str]) -> npt.NDArray[np.int64]:
    """Per nationality of ``nats``: days from a pathway's opening to the first arrivals in Mexico
    net of its takers. ``demand_response.lag_days`` while the news spreads at home, plus, for a
    nationality whose inflow reads Panama's Darien count, ``darien_lag_days``: people counted at
    the Darien after the news had set out before it (the Darien's Venezuelans fell from 40,593
    in October 2022 to 668 in November, the month the parole opened, while those already past it
    still reached Mexico two weeks later), so they decide at the border, not at home. The lag is
    one per nationality (as the pathway's share is): a nationality with another inflow too (by
    air, latent) has it on that inflow as well, and Honduras' count, when larger in a month, is
    moved with the Darien's lag."""
    travel = dict.fromkeys(nats, 0.0)
    for inflow in scenario.inflows:
        if inflow.derived == "upstream_entries" and inflow.nationality in travel:
            lags = [upstream_lag_days(scenario, count) for count in inflow.upstream]
            travel[inflow.nationality] = max(travel[inflow.nationality], *lags)
    news = scenario.demand_response.lag_days
    return np.array([news + round(travel[n]) for n in nats], dtype=np.int64)


def lagged_pathway_share(
    by_segment: F64, segment_of_day: npt.NDArray[np.int16], lag_days: npt.NDArray[np.int64]
) -> F64 | None:
    """Per day and nationality: the share (``by_segment``: policy segment x nationality) of the
    policy ``lag_days`` (per nationality: :func:`pathway_lag_days`) earlier (days before the
    horizon: the first day's), or None when no segment opens a pathway."""
    if not by_segment.any():
        return None
    day = np.maximum(np.arange(segment_of_day.size)[:, None] - lag_days[None, :], 0)
    return np.asarray(by_segment[segment_of_day[day].astype(np.intp), np.arange(by_segment.shape[1])])


def pathway_factor(share: F64, observed: npt.NDArray[np.bool_]) -> F64:
    """Per day: the multiplier of an inflow's arrivals when ``share`` of its people take a legal
    pathway instead. Days whose count is ``observed`` data keep it (the pathway's effect is in
    the count); days after the last of them are the last observed day's level moved by the
    change of ``1 - share`` since then; the other days take ``1 - share``."""
    kept = 1.0 - share
    factor = kept.copy()
    factor[observed] = 1.0
    if observed.any():
        last = int(np.flatnonzero(observed)[-1])
        after = slice(last + 1, None)
        # A pathway that took everyone by the last observed day: the observed level stands.
        factor[after] = kept[after] / kept[last] if kept[last] > 0 else 1.0
    return factor


def pathway_net_days(
    by_segment: F64, segment_start: list[int], lag_days: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Per policy segment and nationality: the first day whose arrivals are already net of the
    takers of the pathway open in the segment, or -1 where none is open. That is the first day of
    the spell of open pathway (consecutive segments with a share above 0) plus the nationality's
    ``lag_days`` (:func:`pathway_lag_days`), as :func:`lagged_pathway_share` lags the arrivals'
    cut; day 0 for a spell open from day 0 (its arrivals are cut from day 0). Those who entered
    earlier decide at the border instead."""
    out = np.full(by_segment.shape, -1, dtype=np.int64)
    for k, start in enumerate(segment_start):
        before = out[k - 1] if k else np.full(by_segment.shape[1], -1, dtype=np.int64)
        opens = start + lag_days if start > 0 else np.zeros_like(lag_days)
        out[k] = np.where(by_segment[k] > 0, np.where(before >= 0, before, opens), -1)
    return out
