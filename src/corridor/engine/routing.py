"""Route choice and nearest facilities, recomputed whenever the policy changes.

People head for a northern border city (their destination). For each destination and
for each kind of traveller (with or without access to buses) a generalised cost-to-go is
computed with Dijkstra over the open links:

    link cost = w_time * days of travel + w_risk * deaths per 1000 + w_enforcement * P(caught)

At a place, a traveller considers the links that bring them strictly closer to their goal
and picks one with logit probabilities on the excess cost over the best path
(``exp(-excess / temperature)``). Strict descent rules out cycles. Raising enforcement on a
mode raises its cost, which moves people toward the other modes: that is how checkpoints
push people onto trek and sea routes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

from corridor.geography import TRAVEL_MODES
from corridor.timeline import PolicyArrays, Timeline

__all__ = ["RouteTables", "build_route_tables", "choice_row", "choose_links", "choose_links_at"]

_BUS = TRAVEL_MODES.index("bus")
_MIN_COST = 1e-6


@dataclass(frozen=True, eq=False)
class RouteTables:
    """Choice tables for one policy segment."""

    out_links: npt.NDArray[np.int16]  #: (place, K) outgoing links, -1 padded
    cdf: npt.NDArray[np.float64]  #: (destination, bus access, place, K) cumulative choice probabilities
    has_option: npt.NDArray[np.bool_]  #: (destination, bus access, place)
    cost_to_go: npt.NDArray[np.float64]  #: (destination, bus access, place)
    #: (place, F): open detention facilities within transfer reach, nearest first by road or
    #: rail; column 0 is the nearest (however far), -1 pads
    facilities_by_distance: npt.NDArray[np.int16]
    #: ``cdf`` as rows (destination, bus access, place flattened: :func:`choice_row`) with one
    #: more column of 2.0 that no uniform reaches, for :func:`choose_links_at`
    cdf_rows: npt.NDArray[np.float64]


def _link_costs(timeline: Timeline, policy: PolicyArrays) -> npt.NDArray[np.float64]:
    net, b = timeline.network, timeline.scenario.behaviour
    dist = net.link_distance_km.astype(np.float64)
    days = dist / timeline.speed_km_per_day[net.link_mode]
    deaths_per_1000 = 1000.0 * -np.expm1(-timeline.link_death_hazard_per_km * dist)
    p_caught = -np.expm1(-policy.link_interdiction_hazard_per_km * dist)
    cost = (
        b.route_distance_weight * days
        + b.route_risk_weight * deaths_per_1000
        + b.route_enforcement_weight * p_caught
    )
    return np.maximum(cost, _MIN_COST)


def _facilities_by_distance(timeline: Timeline, policy: PolicyArrays) -> npt.NDArray[np.int16]:
    """For each place, the open detention facilities by road or rail distance, nearest first.

    The nearest reachable facility is always listed (people are taken there however far it
    is); the others only within ``policy.detention_transfer_max_km``.
    """
    net = timeline.network
    n = net.n_places
    open_fac = np.flatnonzero(policy.detention_capacity_persons > 0)
    if open_fac.size == 0:
        return np.full((n, 1), -1, dtype=np.int16)
    km = np.full((n, n), np.inf)
    land = np.isin(net.route_mode, ("road", "rail"))
    np.minimum.at(km, (net.route_from[land], net.route_to[land]), net.route_distance_km[land])
    np.minimum.at(km, (net.route_to[land], net.route_from[land]), net.route_distance_km[land])
    dist = dijkstra(csgraph_from_dense(km, null_value=np.inf), indices=net.detention_place[open_fac]).T
    order = np.argsort(dist, axis=1, kind="stable")  # (place, open facility)
    ranked_km = np.take_along_axis(dist, order, axis=1)
    reach = policy.detention_transfer_max_km
    usable = np.isfinite(ranked_km) & (ranked_km <= reach) & (reach > 0)
    usable[:, 0] = np.isfinite(ranked_km[:, 0])
    out = np.where(usable, open_fac[order], -1)
    width = max(int(usable.sum(axis=1).max()), 1)
    return out[:, :width].astype(np.int16)


def build_route_tables(timeline: Timeline, policy: PolicyArrays) -> RouteTables:
    """Choice tables for all destinations and traveller kinds under ``policy``.

    Reads, of the policy, only ``link_open``, ``link_interdiction_hazard_per_km``,
    ``detention_capacity_persons`` and ``detention_transfer_max_km``: a run builds the
    tables once per distinct set of these (:meth:`corridor.engine.state.Simulation.set_policy`),
    so a new policy input read here must be added to that key too.
    """
    net = timeline.network
    n_places, n_dest = net.n_places, timeline.destinations.size
    cost = _link_costs(timeline, policy)
    temperature = timeline.scenario.behaviour.route_choice_temperature

    order = np.argsort(net.link_from, kind="stable")
    degree = np.bincount(net.link_from, minlength=n_places)
    k_max = int(degree.max())
    out_links = np.full((n_places, k_max), -1, dtype=np.int16)
    slot = np.arange(order.size) - np.repeat(np.cumsum(degree) - degree, degree)
    out_links[net.link_from[order], slot] = order

    cdf = np.ones((n_dest, 2, n_places, k_max))
    has_option = np.zeros((n_dest, 2, n_places), dtype=bool)
    cost_to_go = np.zeros((n_dest, 2, n_places))
    valid = out_links >= 0
    safe_links = np.where(valid, out_links, 0)
    for bus in (0, 1):
        usable = policy.link_open & ((net.link_mode != _BUS) | bool(bus))
        w = np.full((n_places, n_places), np.inf)
        np.minimum.at(w, (net.link_to[usable], net.link_from[usable]), cost[usable])  # reversed
        togo = dijkstra(csgraph_from_dense(w, null_value=np.inf), indices=timeline.destinations)
        for d in range(n_dest):
            c = togo[d]
            cost_to_go[d, bus] = c
            head = c[net.link_to[safe_links]]
            descend = valid & usable[safe_links] & np.isfinite(head) & (head < c[:, None] - 1e-9)
            with np.errstate(invalid="ignore"):  # inf - inf where no way on: masked out
                excess = np.where(descend, cost[safe_links] + head - c[:, None], np.inf)
            base = np.min(excess, axis=1, keepdims=True)
            weight = np.where(
                descend, np.exp(-(excess - np.where(np.isfinite(base), base, 0)) / temperature), 0.0
            )
            total = weight.sum(axis=1, keepdims=True)
            ok = total[:, 0] > 0
            # Zero-weight slots (padding, excluded links) repeat the running total, so a
            # uniform in [0, 1) never lands on them.
            cum = np.cumsum(weight, axis=1) / np.where(total > 0, total, 1.0)
            cum[ok[:, None] & (cum >= cum[:, -1:] - 1e-12)] = 1.0  # no rounding gap at the top
            cdf[d, bus] = cum
            has_option[d, bus] = ok
    return RouteTables(
        out_links=out_links,
        cdf=cdf,
        cdf_rows=np.concatenate([cdf.reshape(-1, k_max), np.full((cdf.size // k_max, 1), 2.0)], axis=1),
        has_option=has_option,
        cost_to_go=cost_to_go,
        facilities_by_distance=_facilities_by_distance(timeline, policy),
    )


def choice_row(
    tables: RouteTables,
    destination: npt.NDArray[np.integer],
    bus_access: npt.NDArray[np.bool_],
    place: npt.NDArray[np.integer] | int = 0,
) -> npt.NDArray[np.intp]:
    """Row of each traveller in the flattened (destination, bus access, place) choice tables.

    With ``place`` 0 it is the row of place 0, to which a caller adds the place later
    (the move phase: destination and bus access are fixed for the day, the place is not).
    """
    n_places = tables.out_links.shape[0]
    return (destination.astype(np.intp) * 2 + bus_access) * n_places + place


def choose_links_at(
    tables: RouteTables, row: npt.NDArray[np.intp], place: npt.NDArray[np.integer], u: npt.NDArray[np.float64]
) -> npt.NDArray[np.int16]:
    """:func:`choose_links` for travellers at ``place`` given their :func:`choice_row`."""
    k_max = tables.out_links.shape[1]
    # The choice is the number of cumulative probabilities at or below u. Each row of the
    # cdf never decreases (a cumulative sum of weights >= 0 over a positive total, its top
    # set to 1), so those entries are a prefix and their number is the first entry above
    # u: an argmin over the row, which the sentinel column (2.0) makes always exist. It is
    # twice as fast as summing the row and gives the same k.
    above = u[:, None] < np.take(tables.cdf_rows, row, axis=0)
    k = np.argmax(above, axis=1)
    np.minimum(k, k_max - 1, out=k)
    link = tables.out_links[place, k]
    link[~tables.has_option.reshape(-1)[row]] = -1
    return link


def choose_links(
    tables: RouteTables,
    destination: npt.NDArray[np.integer],
    bus_access: npt.NDArray[np.bool_],
    place: npt.NDArray[np.integer],
    u: npt.NDArray[np.float64],
) -> npt.NDArray[np.int16]:
    """Pick a link for each traveller from uniforms ``u``; -1 where there is no way on."""
    # One flat row index into the (destination, bus access, place) tables instead of three
    # index arrays: the same rows, fewer NumPy calls.
    return choose_links_at(tables, choice_row(tables, destination, bus_access, place), place, u)
