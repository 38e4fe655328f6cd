"""Compile a Scenario against a Network into the arrays the engine reads each day.

Policies change only on event dates, so the timeline holds one :class:`PolicyArrays` per
*segment* (a run of days with the same policy) and ``segment_of_day`` maps each day to its
segment; :meth:`Timeline.policy_series` gives per-day views for inspection. Arrivals come
from the inflows (listed, or derived by a rule in :mod:`corridor.observations.inflows`), times
deterrence's daily multiplier, a function of the policy timeline (docs/model.md, "Demand").
Everything a scenario names (places, states, nationalities, facilities, routes, event fields)
is checked here against the network, and problems are reported as :class:`ScenarioError`
with the YAML path of the field.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import ValidationError

from corridor.errors import GeographyError, ScenarioError
from corridor.geography import TRAVEL_MODES, Network
from corridor.observations.inflows import derive_inflows
from corridor.pathways import (
    lagged_pathway_share,
    legal_pathway_share,
    pathway_factor,
    pathway_lag_days,
    pathway_net_days,
)
from corridor.scenario import Policy, RouteRef, Scenario, apply_overrides
from corridor.scenario.base import DEFAULT
from corridor.scenario.inflow_file import read_monthly_inflow

__all__ = ["US_OUTCOMES", "PolicyArrays", "Timeline", "compile_timeline", "enforcement_index"]

#: Order of the columns of ``PolicyArrays.us_outcome_cdf``.
US_OUTCOMES: tuple[str, ...] = ("released", "removed", "expelled", "mpp")

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PolicyArrays:
    """The policy in force during one segment of days, as arrays.

    Probabilities are per day or per traversal of a whole link, as named.
    """

    link_open: npt.NDArray[np.bool_]  #: per link
    link_interdiction_hazard_per_km: F64  #: per link; p = 1 - exp(-h * km)
    raid_probability: F64  #: per place, per day, for free people waiting there
    detention_capacity_persons: F64  #: per detention facility (0 = closed)
    detention_overflow_max_ratio: float
    detention_exit_probability: float  #: per detained person per day
    deportation_share: F64  #: per nationality
    bus_south_share: float
    bus_south_place: npt.NDArray[np.int16]  #: candidate places
    bus_south_cdf: F64  #: cumulative weights over ``bus_south_place``
    bus_south_seats_per_day: float | None  #: persons/day nationwide; None: unlimited
    overflow_bus_south_share: float  #: of the caught beyond every station's room in reach
    detention_transfer_max_km: float  #: farthest transfer to a station with room (0: none)
    us_apprehension_probability: float
    us_outcome_cdf: F64  #: (nationality, len(US_OUTCOMES)) cumulative shares
    shelter_capacity: F64  #: per place, persons
    asylum_office_place: npt.NDArray[np.int16]  #: per office
    asylum_office_days: npt.NDArray[np.int64]  #: (office, 2): first open day index, first closed day index
    asylum_decisions_per_day: F64  #: per office, persons
    asylum_application_probability: F64  #: per nationality
    asylum_recognition_share: F64  #: per nationality
    visa_place: npt.NDArray[np.bool_]  #: per place: cards issued there
    visa_uptake: F64  #: per nationality
    metering_intake: F64  #: per place, persons/day
    #: per place: the port keeps a metering list, metering today or frozen since metering stopped
    #: there (ports stopped processing but the lists stayed) while no CBP One appointments run
    metering_list: npt.NDArray[np.bool_]
    metering_join_share: F64  #: per nationality
    cbp_one_uptake: F64  #: per nationality
    #: per nationality: share who take an open legal pathway instead of the corridor (0: none open)
    legal_pathway_share: F64
    #: per nationality: the first day whose arrivals are net of the open pathway's takers (-1:
    #: none open; :func:`corridor.pathways.pathway_net_days`); set by :func:`compile_timeline`
    #: once the segments' days are known
    legal_pathway_net_day: npt.NDArray[np.int64]
    mpp_city: npt.NDArray[np.bool_]  #: per place
    caravan_formation_place: npt.NDArray[np.bool_]  #: per place
    caravan_target: int  #: place id
    policy: Policy  #: the validated model (scalar parameters are read from it)


@dataclass(frozen=True)
class ScheduledCaravan:
    """A caravan of the scenario, compiled."""

    day: int  #: day index it sets off (may be < 0 or beyond the horizon: then it never runs)
    name: str
    place: int
    size_persons: float
    target: int


@dataclass(frozen=True, eq=False)
class Timeline:
    """Per-day inputs of one scenario on one network."""

    scenario: Scenario
    network: Network
    dates: pd.DatetimeIndex
    nationalities: list[str]
    arrivals_persons: F64  #: (day, nationality, place) persons entering
    #: (month, nationality, place) cumulative entry shares for re-entries in each calendar month
    #: of the horizon, from the arrivals before it (:func:`_entry_cdf`)
    entry_cdf: F64
    entry_month_of_day: npt.NDArray[np.int16]  #: per day: its row of ``entry_cdf``
    segments: list[PolicyArrays]
    segment_of_day: npt.NDArray[np.int16]
    event_days: list[tuple[int, str]]  #: (day index, event name), events applied inside the horizon
    destinations: npt.NDArray[np.int16]  #: northern border cities people aim for
    destination_cdf: F64
    bus_access_share: F64  #: per nationality
    reentry_probability: F64  #: per nationality
    interdiction_factor: F64  #: per nationality: multiplier of checkpoint hazard and raid rate
    speed_km_per_day: F64  #: per travel mode
    link_death_hazard_per_km: F64  #: per link
    minor_share: float
    caravans: list[ScheduledCaravan]  #: in date order
    enforcement_index: F64  #: per day: the enforcement index of the day's policy (docs/model.md, "Demand")
    demand_factor: F64  #: per day: deterrence's multiplier of the day's arrivals (1: none)

    @property
    def n_days(self) -> int:
        """Number of days simulated."""
        return len(self.dates)

    def policy_on(self, day: int) -> PolicyArrays:
        """The policy in force on day index ``day``."""
        return self.segments[int(self.segment_of_day[day])]

    def policy_series(self) -> pd.DataFrame:
        """Scalar policy parameters per day, one column each (for plots and checks)."""
        rows = []
        for seg in self.segment_of_day:
            p = self.segments[int(seg)]
            rows.append(
                {
                    "detention_capacity": p.detention_capacity_persons.sum(),
                    "detention_overflow_max_ratio": p.detention_overflow_max_ratio,
                    "bus_south_share": p.bus_south_share,
                    "us_apprehension_probability": p.us_apprehension_probability,
                    "mean_checkpoint_hazard_per_100km": 100 * p.link_interdiction_hazard_per_km.mean(),
                    "open_links": int(p.link_open.sum()),
                }
            )
        return pd.DataFrame(rows, index=self.dates)


# --------------------------------------------------------------------------- helpers


def _keyed(mapping: Mapping[str, float], keys: list[str], field: str, what: str) -> F64:
    """Expand a keyed parameter (with optional default) to an array over ``keys``."""
    unknown = [k for k in mapping if k != DEFAULT and k not in keys]
    if unknown:
        raise ScenarioError(
            [
                (f"{field}.{k}", None, f"unknown {what} (expected one of {', '.join(keys)} or 'default')")
                for k in unknown
            ]
        )
    out = np.empty(len(keys))
    for i, k in enumerate(keys):
        if k in mapping:
            out[i] = mapping[k]
        elif DEFAULT in mapping:
            out[i] = mapping[DEFAULT]
        else:
            raise ScenarioError([(field, None, f"no value for {what} {k!r} and no 'default'")])
    return out


def _weights(mapping: Mapping[Any, float], keys: tuple[str, ...]) -> F64:
    """Array over ``keys`` from a key -> value mapping (missing keys get 0)."""
    return np.array([mapping.get(k, 0.0) for k in keys], dtype=np.float64)


def by_mode(mapping: Mapping[Any, float]) -> F64:
    """Array over ``TRAVEL_MODES`` from a mode -> value mapping (missing modes get 0)."""
    return _weights(mapping, TRAVEL_MODES)


def _place(net: Network, name: str, field: str, kinds: tuple[str, ...] | None = None) -> int:
    """Place id of ``name``, or a ScenarioError naming ``field`` (and the kinds expected)."""
    if not net.has_place(name):
        raise ScenarioError([(field, None, _unknown_place(net, name))])
    pid = net.place_id(name)
    if kinds is not None and net.place_kind[pid] not in kinds:
        expected = ", ".join(kinds)
        raise ScenarioError(
            [(field, None, f"place of kind {net.place_kind[pid]!r}; expected one of {expected}")]
        )
    return pid


def _place_weights(
    net: Network, weights: Mapping[str, float], field: str, kinds: tuple[str, ...] | None = None
) -> tuple[npt.NDArray[np.int16], F64]:
    """Place ids and cumulative normalised weights of a place -> weight mapping."""
    ids = [_place(net, name, f"{field}.{name}", kinds) for name in weights]
    arr = np.asarray(list(weights.values()), dtype=np.float64)
    return np.asarray(ids, dtype=np.int16), np.cumsum(arr) / arr.sum()


def _top_at_one(cdf: F64) -> F64:
    """``cdf`` (cumulative shares along its last axis) with its top value, wherever reached,
    exactly 1: rounding can leave it just below, and a uniform in the gap would pick no
    place (an index past the end). No uniform below the top changes its pick."""
    cdf[cdf >= cdf[..., -1:]] = 1.0
    return cdf


def _place_mask(
    net: Network, names: list[str], field: str, kinds: tuple[str, ...] | None = None
) -> npt.NDArray[np.bool_]:
    """Per place, whether it is one of ``names``."""
    mask = np.zeros(net.n_places, dtype=bool)
    for i, name in enumerate(names):
        mask[_place(net, name, f"{field}.{i}", kinds)] = True
    return mask


def _unknown_place(net: Network, name: str) -> str:
    try:
        net.place_id(name)
    except GeographyError as exc:
        return str(exc.args[0])
    return ""


def _route_links(net: Network, ref: RouteRef, field: str) -> npt.NDArray[np.intp]:
    for end, label in ((ref.from_, "from"), (ref.to, "to")):
        if not net.has_place(end):
            raise ScenarioError([(f"{field}.{label}", None, _unknown_place(net, end))])
    routes = net.find_routes(ref.from_, ref.to, ref.mode)
    if not routes:
        mode = f" by {ref.mode}" if ref.mode else ""
        raise ScenarioError([(field, None, f"no route{mode} between {ref.from_!r} and {ref.to!r}")])
    return np.flatnonzero(np.isin(net.link_route, routes))


def _daily_inflow(scenario: Scenario, index: int, dates: pd.DatetimeIndex, derived: pd.DataFrame) -> F64:
    """Persons per day over the horizon for inflow number ``index`` (``derived``: the
    :func:`~corridor.observations.inflows.derive_inflows` table, which holds every derived rule:
    upstream entries, latent demand, US encounters)."""
    inflow = scenario.inflows[index]
    per_day = _per_day(scenario, index, dates, derived)
    if inflow.until is not None:  # a dated end, e.g. a visa requirement closing a route
        per_day[dates.date > inflow.until] = 0.0
    return per_day


def _per_day(scenario: Scenario, index: int, dates: pd.DatetimeIndex, derived: pd.DataFrame) -> F64:
    """Persons per day of inflow ``index`` from its rate, before its ``until``."""
    inflow = scenario.inflows[index]
    if inflow.persons_per_day is not None:
        return np.full(len(dates), inflow.persons_per_day)
    if inflow.monthly_persons is not None:
        monthly = dict(inflow.monthly_persons)
    elif inflow.derived is not None:
        rows = derived[derived["inflow"] == index]
        monthly = dict(zip(rows["month"], rows["persons"].astype(float), strict=True))
    else:
        assert inflow.file is not None
        monthly = read_monthly_inflow(scenario, index, inflow.file)
    month_keys = dates.strftime("%Y-%m")
    days_in_month = np.array([calendar.monthrange(d.year, d.month)[1] for d in dates])
    per_day: F64 = np.array([monthly.get(k, 0.0) for k in month_keys]) / days_in_month
    return per_day


# --------------------------------------------------------------------------- policy


def _policy_arrays(
    policy: Policy, scenario: Scenario, net: Network, nats: list[str], field: str
) -> PolicyArrays:
    """The arrays of one policy segment: one small builder per instrument."""
    link_hazard, raid = _enforcement(policy, net, field)
    bus_place, bus_cdf = _place_weights(net, policy.bus_south_places, f"{field}.bus_south_places")
    bus_cdf = _top_at_one(bus_cdf)  # drawn from with searchsorted: no index past the end
    return PolicyArrays(
        link_open=_link_open(policy, net, field),
        link_interdiction_hazard_per_km=link_hazard,
        raid_probability=raid,
        detention_capacity_persons=_detention_capacity(policy, net, field),
        detention_overflow_max_ratio=policy.detention_overflow_max_ratio,
        detention_exit_probability=float(1.0 - np.exp(-1.0 / policy.detention_mean_stay_days)),
        deportation_share=_keyed(policy.deportation_share, nats, f"{field}.deportation_share", "nationality"),
        bus_south_share=policy.bus_south_share,
        bus_south_place=bus_place,
        bus_south_cdf=bus_cdf,
        bus_south_seats_per_day=policy.bus_south_seats_per_day,
        overflow_bus_south_share=policy.overflow_bus_south_share,
        detention_transfer_max_km=policy.detention_transfer_max_km,
        us_apprehension_probability=policy.us_apprehension_probability,
        us_outcome_cdf=_us_outcome_cdf(policy, nats, field),
        shelter_capacity=_shelter_capacity(policy, net, field),
        **_asylum_arrays(policy, scenario, net, nats, field),
        visa_place=_place_mask(net, policy.visas.places, f"{field}.visas.places"),
        visa_uptake=_keyed(policy.visas.uptake, nats, f"{field}.visas.uptake", "nationality"),
        metering_intake=(intake := _metering_intake(policy, net, field)),
        metering_list=intake > 0,
        metering_join_share=_keyed(
            policy.metering.join_share, nats, f"{field}.metering.join_share", "nationality"
        ),
        cbp_one_uptake=_keyed(policy.cbp_one.uptake, nats, f"{field}.cbp_one.uptake", "nationality"),
        legal_pathway_share=(pathway_share := legal_pathway_share(policy, scenario, nats, field)),
        legal_pathway_net_day=np.where(pathway_share > 0, 0, -1),
        mpp_city=_place_mask(net, policy.mpp.cities, f"{field}.mpp.cities", ("northern_border_city",)),
        caravan_formation_place=_place_mask(
            net, policy.caravans.formation_places, f"{field}.caravans.formation_places"
        ),
        caravan_target=_place(net, policy.caravans.target, f"{field}.caravans.target"),
        policy=policy,
    )


def _mx_states(net: Network) -> list[str]:
    """The Mexican states of the network's places, sorted."""
    return sorted({str(s) for s, c in zip(net.place_state, net.place_country, strict=True) if c == "MX"})


def _enforcement(
    policy: Policy, net: Network, field: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Checkpoint hazard per link and km, and raid probability per place."""
    mx_states = _mx_states(net)
    intensity_by_state = _keyed(
        policy.checkpoint_intensity, mx_states, f"{field}.checkpoint_intensity", "Mexican state"
    )
    state_index = {s: i for i, s in enumerate(mx_states)}
    place_intensity = np.array(
        [
            intensity_by_state[state_index[str(s)]] if c == "MX" else 0.0
            for s, c in zip(net.place_state, net.place_country, strict=True)
        ]
    )
    mode_hazard = by_mode(policy.interdiction_per_100km) / 100.0
    link_hazard = mode_hazard[net.link_mode] * place_intensity[net.link_to]
    raid = np.clip(policy.raid_probability_per_day * place_intensity, 0.0, 1.0)
    return link_hazard, raid


def _link_open(policy: Policy, net: Network, field: str) -> npt.NDArray[np.bool_]:
    """Per link, whether it is open (links into the US are crossed in the border phase)."""
    link_open = net.place_country[net.link_to] != "US"
    for i, ref in enumerate(policy.closed_routes):
        link_open[_route_links(net, ref, f"{field}.closed_routes.{i}")] = False
    return link_open


def _detention_capacity(policy: Policy, net: Network, field: str) -> npt.NDArray[np.float64]:
    """Capacity in persons per detention facility: the data, the scenario's unknown value, overrides."""
    capacity = net.detention_capacity_data.copy()
    capacity[np.isnan(capacity)] = policy.detention_capacity_unknown
    for name, value in policy.detention_capacity.items():
        hits = [i for i, n in enumerate(net.detention_name) if n == name]
        if not hits:
            raise ScenarioError(
                [
                    (
                        f"{field}.detention_capacity.{name}",
                        None,
                        "unknown detention facility (expected one of: " + "; ".join(net.detention_name) + ")",
                    )
                ]
            )
        capacity[hits] = value
    return capacity


def _us_outcome_cdf(policy: Policy, nats: list[str], field: str) -> npt.NDArray[np.float64]:
    """Per nationality, the cumulative shares of the US encounter outcomes."""
    outcome = np.zeros((len(nats), len(US_OUTCOMES)))
    shares = policy.us_outcome_shares
    unknown = [k for k in shares if k != DEFAULT and k not in nats]
    if unknown:
        raise ScenarioError(
            [(f"{field}.us_outcome_shares.{k}", None, "unknown nationality") for k in unknown]
        )
    for i, nat in enumerate(nats):
        row = shares.get(nat, shares.get(DEFAULT))
        if row is None:
            raise ScenarioError(
                [(f"{field}.us_outcome_shares", None, f"no entry for {nat!r} and no 'default'")]
            )
        w = _weights(row, US_OUTCOMES)
        if w.sum() <= 0:
            raise ScenarioError([(f"{field}.us_outcome_shares.{nat}", None, "weights must not all be zero")])
        outcome[i] = np.cumsum(w) / w.sum()
    return outcome


def _shelter_capacity(policy: Policy, net: Network, field: str) -> npt.NDArray[np.float64]:
    """Shelter places per place: the data, with the scenario's overrides."""
    shelter = net.shelter_capacity.copy()
    for name, value in policy.shelter_capacity.items():
        shelter[_place(net, name, f"{field}.shelter_capacity.{name}")] = value
    return shelter


def _asylum_arrays(
    policy: Policy, scenario: Scenario, net: Network, nats: list[str], field: str
) -> dict[str, Any]:
    """The asylum fields of :class:`PolicyArrays`: offices (place, open days, capacity) and shares."""
    start = scenario.horizon.start
    offices = policy.asylum.offices
    office_days = np.array(
        [
            [
                (o.opens - start).days if o.opens is not None else -(2**31),
                (o.closes - start).days if o.closes is not None else 2**31,
            ]
            for o in offices
        ],
        dtype=np.int64,
    ).reshape(len(offices), 2)
    return {
        "asylum_office_place": np.array(
            [_place(net, o.place, f"{field}.asylum.offices.{i}.place") for i, o in enumerate(offices)],
            dtype=np.int16,
        ),
        "asylum_office_days": office_days,
        "asylum_decisions_per_day": np.array([o.decisions_per_day for o in offices], dtype=np.float64),
        "asylum_application_probability": _keyed(
            policy.asylum.application_probability_per_day,
            nats,
            f"{field}.asylum.application_probability_per_day",
            "nationality",
        ),
        "asylum_recognition_share": _keyed(
            policy.asylum.recognition_share, nats, f"{field}.asylum.recognition_share", "nationality"
        ),
    }


def _metering_intake(policy: Policy, net: Network, field: str) -> npt.NDArray[np.float64]:
    """Per place, the metered port's daily intake in persons (0: no metering)."""
    metering = np.zeros(net.n_places)
    for name, value in policy.metering.daily_intake.items():
        metering[_place(net, name, f"{field}.metering.daily_intake.{name}", ("northern_border_city",))] = (
            value
        )
    return metering


def _with_frozen_lists(arrays: PolicyArrays, metered: npt.NDArray[np.bool_]) -> PolicyArrays:
    """``arrays`` with the lists of ports that metered before (``metered``) kept, frozen, while
    no CBP One appointments run: when ports stopped processing asylum seekers in March 2020,
    the names stayed on the lists (Strauss Center, Metering Update August 2020)."""
    if arrays.policy.cbp_one.appointments_per_day > 0:
        return arrays
    return replace(arrays, metering_list=arrays.metering_list | metered)


def _apply_event(base: dict[str, Any], event_index: int, scenario: Scenario, net: Network) -> Policy:
    """Apply event ``event_index`` to raw policy data ``base`` (in place) and validate it."""
    event = scenario.events[event_index]
    field = f"events.{event_index}"
    try:
        updated = apply_overrides(base, dict(event.set))
    except ScenarioError as exc:
        raise ScenarioError([(f"{field}.set.{p}", line, m) for p, line, m in exc.problems]) from None
    closed = [dict(r) for r in updated.get("closed_routes", [])]
    for i, ref in enumerate(event.close_routes):
        _route_links(net, ref, f"{field}.close_routes.{i}")  # checked under its own path
        item = ref.model_dump(by_alias=True)
        if item not in closed:
            closed.append(item)
    for i, ref in enumerate(event.reopen_routes):
        # A reopening names routes in either direction; it must match something closed.
        links = set(_route_links(net, ref, f"{field}.reopen_routes.{i}").tolist())
        keep = [
            c
            for c in closed
            if not links.issuperset(_route_links(net, RouteRef.model_validate(c), "").tolist())
        ]
        if len(keep) == len(closed):
            raise ScenarioError(
                [
                    (
                        f"{field}.reopen_routes.{i}",
                        None,
                        f"no closed route between {ref.from_!r} and {ref.to!r} to reopen",
                    )
                ]
            )
        closed = keep
    updated["closed_routes"] = closed
    base.clear()
    base.update(updated)
    try:
        return Policy.model_validate(base)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            msg = "unknown policy field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append((f"{field}.set.{loc}", None, msg))
        raise ScenarioError(problems) from None


# --------------------------------------------------------------------------- demand


def _arrivals(
    scenario: Scenario, net: Network, dates: pd.DatetimeIndex, nats: list[str], pathway: F64 | None = None
) -> F64:
    """Persons entering per (day, nationality, entry place), every inflow times inflow_multiplier.

    ``pathway`` (per day and nationality, already lagged; None: none open) is the share taking
    a legal pathway instead (:func:`corridor.pathways.pathway_factor`)."""
    arrivals = np.zeros((len(dates), len(nats), net.n_places))
    derived = derive_inflows(scenario)  # read once, whatever the number of derived inflows
    month_keys = dates.strftime("%Y-%m")
    for i, inflow in enumerate(scenario.inflows):
        ids, cdf = _place_weights(net, inflow.entry, f"inflows.{i}.entry")
        shares = np.diff(np.concatenate([[0.0], cdf]))
        daily = _daily_inflow(scenario, i, dates, derived)
        nat = nats.index(inflow.nationality)
        if pathway is not None:
            rows = derived[(derived["inflow"] == i) & (derived["basis"] == "data")]
            daily = daily * pathway_factor(pathway[:, nat], np.isin(month_keys, rows["month"]))
        arrivals[:, nat, ids] += daily[:, None] * shares[None, :]
    arrivals *= scenario.inflow_multiplier
    return arrivals


#: Re-entrants come in through the entry places of their nationality's arrivals of these last days.
REENTRY_WINDOW_DAYS = 91


def _entry_cdf(arrivals: F64, dates: pd.DatetimeIndex) -> tuple[F64, npt.NDArray[np.int16]]:
    """Per calendar month of the horizon and nationality, the cumulative shares of the entry
    places re-entrants use, and each day's month row.

    The shares are those of the nationality's arrivals in the :data:`REENTRY_WINDOW_DAYS` days
    before the month (all days before it if none, the first day's in the first month, any place
    if none at all). Only earlier days are read, so that a policy acting later (deterrence
    changes later arrivals) cannot change who re-enters where before it.
    """
    starts = np.union1d([0], np.flatnonzero(np.asarray(dates.day == 1)))  # first day of each month
    month_of_day = np.searchsorted(starts, np.arange(dates.size), side="right") - 1
    cumulative = np.cumsum(arrivals, axis=0)  # (day, nationality, place): arrivals up to the day
    out = np.empty((starts.size, *arrivals.shape[1:]))
    for m, start in enumerate(starts):
        if start == 0:
            totals = arrivals[0].copy()
        else:
            before = cumulative[start - 1]
            window = before - (
                cumulative[start - 1 - REENTRY_WINDOW_DAYS] if start > REENTRY_WINDOW_DAYS else 0.0
            )
            empty = window.sum(axis=1) == 0
            totals = np.where(empty[:, None], before, window)
        totals[totals.sum(axis=1) == 0] = 1.0  # a nationality with no arrivals: any place
        out[m] = _top_at_one(np.cumsum(totals, axis=1) / totals.sum(axis=1, keepdims=True))
    return out, month_of_day.astype(np.int16)


def enforcement_index(policy: Policy, net: Network, fields: list[str]) -> float:
    """The enforcement index of one policy, a pure function of it (no outcome is read).

    Parameters
    ----------
    policy : Policy
        The policy in force on a day.
    net : Network
        The network, whose Mexican states the checkpoint intensity is averaged over.
    fields : list of str
        The factors multiplied (``demand_response.index``): ``checkpoint_intensity``, the mean
        over the Mexican states of the checkpoint intensity (it scales both the checkpoint hazard
        and the raid rate); ``bus_south_share``, 1 + the share of detention outcomes that are
        busing south.

    Returns
    -------
    float
        The product of the factors (1 for none).
    """
    index = 1.0
    if "checkpoint_intensity" in fields:
        states = _mx_states(net)
        intensity = _keyed(
            policy.checkpoint_intensity, states, "policy.checkpoint_intensity", "Mexican state"
        )
        index *= float(intensity.mean())
    if "bus_south_share" in fields:
        index *= 1.0 + policy.bus_south_share
    return index


def _deterrence(
    scenario: Scenario, net: Network, segments: list[PolicyArrays], segment_of_day: npt.NDArray[np.int16]
) -> tuple[F64, F64]:
    """Per day: the enforcement index, and deterrence's multiplier of the day's arrivals,
    (index(day - lag_days) / index(first day)) ** -elasticity; days before the horizon have
    the first day's index.

    A constant elasticity: the index is a product of factors in arbitrary units, so only its
    ratio to the first day's has a meaning; raising one factor by a share has the same effect
    whatever the others are, and the multiplier approaches 0 only as the index grows without
    bound (a difference in an exponential, corridor's form to the tenth session, took arrivals
    to under 1% for the index of late 2023).
    """
    response = scenario.demand_response
    per_segment = np.array([enforcement_index(p.policy, net, list(response.index)) for p in segments])
    index = per_segment[segment_of_day.astype(np.intp)]
    if response.elasticity == 0:
        return index, np.ones(len(index))
    if (index <= 0).any():
        # A ratio to 0, or of 0, has no meaning: no deterrence can be read off a policy without
        # checkpoints or busing.
        day = scenario.horizon.start + dt.timedelta(days=int(np.flatnonzero(index <= 0)[0]))
        raise ScenarioError(
            [
                (
                    "demand_response.elasticity",
                    None,
                    f"deterrence needs an enforcement index above 0 on every day, but the policy of "
                    f"{day.isoformat()} gives 0 (every Mexican state's checkpoint_intensity 0); set the "
                    "elasticity to 0 or choose other `demand_response.index` factors",
                )
            ]
        )
    lagged = index[np.maximum(np.arange(len(index)) - response.lag_days, 0)]
    return index, (lagged / index[0]) ** -response.elasticity


# --------------------------------------------------------------------------- compile


def _policy_segments(
    scenario: Scenario, net: Network, nats: list[str], n_days: int
) -> tuple[list[PolicyArrays], list[int], list[tuple[int, str]]]:
    """The policy segments (the initial policy, then one per event date: events before the
    horizon take effect on day 0, events after it, or on or after ``policy_frozen_from``, are
    dropped), their first day indices, and the (day index, name) of the events applied."""
    raw = scenario.policy.model_dump(by_alias=True)
    segments = [_policy_arrays(scenario.policy, scenario, net, nats, "policy")]
    segment_start = [0]
    event_days: list[tuple[int, str]] = []
    order = sorted(range(len(scenario.events)), key=lambda k: scenario.events[k].date)
    metered = segments[0].metering_list.copy()  # ports that have metered so far
    for k in order:
        event = scenario.events[k]
        # Every event is validated, even one past the horizon: its errors are still errors.
        arrays = _policy_arrays(_apply_event(raw, k, scenario, net), scenario, net, nats, f"events.{k}.set")
        arrays = _with_frozen_lists(arrays, metered)
        metered |= arrays.metering_intake > 0
        day = max((event.date - scenario.horizon.start).days, 0)
        if day >= n_days or not scenario.event_applies(event):
            continue
        if day == segment_start[-1]:
            segments[-1] = arrays
        else:
            segments.append(arrays)
            segment_start.append(day)
        if day > 0:
            event_days.append((day, event.name))
    return segments, segment_start, event_days


def compile_timeline(scenario: Scenario, network: Network) -> Timeline:
    """Turn a scenario into per-day arrays on ``network``.

    Raises
    ------
    ScenarioError
        When the scenario names a place, state, nationality, facility, route or policy
        field the network or the schema does not have.
    """
    net = network
    dates = pd.date_range(scenario.horizon.start, scenario.horizon.end, freq="D")
    nats = scenario.nationalities
    n_days = len(dates)

    segments, segment_start, event_days = _policy_segments(scenario, net, nats, n_days)
    segment_of_day = (np.searchsorted(segment_start, np.arange(n_days), side="right") - 1).astype(np.int16)

    # Legal pathways: their takers do not set out, learnt with deterrence's lag (plus the way
    # from an upstream count to Mexico).
    by_segment = np.stack([p.legal_pathway_share for p in segments])
    lag_days = pathway_lag_days(scenario, nats)
    net_days = pathway_net_days(by_segment, segment_start, lag_days)
    segments = [replace(p, legal_pathway_net_day=d) for p, d in zip(segments, net_days, strict=True)]
    pathway = lagged_pathway_share(by_segment, segment_of_day, lag_days)
    arrivals = _arrivals(scenario, net, dates, nats, pathway)

    # Deterrence: fewer set out, a lag after enforcement rises (elasticity 0: arrivals untouched).
    index, demand_factor = _deterrence(scenario, net, segments, segment_of_day)
    if scenario.demand_response.elasticity != 0:
        arrivals *= demand_factor[:, None, None]
    entry_cdf, entry_month_of_day = _entry_cdf(arrivals, dates)

    dest_ids, dest_cdf = _place_weights(
        net,
        scenario.population.destination_weights,
        "population.destination_weights",
        kinds=("northern_border_city",),
    )
    death = by_mode(scenario.hazards.death_per_1000km) / 1000.0
    speeds = scenario.behaviour.speed_km_per_day
    missing = [m for m in TRAVEL_MODES if m not in speeds]
    if missing:
        raise ScenarioError([("behaviour.speed_km_per_day", None, f"missing mode(s) {', '.join(missing)}")])

    caravans = []
    for i, c in enumerate(scenario.caravans):
        target = c.target if c.target is not None else scenario.policy.caravans.target
        caravans.append(
            ScheduledCaravan(
                day=(c.date - scenario.horizon.start).days,
                name=c.name,
                place=_place(net, c.place, f"caravans.{i}.place"),
                size_persons=c.size_persons,
                target=_place(net, target, f"caravans.{i}.target"),
            )
        )
    caravans.sort(key=lambda c: c.day)

    return Timeline(
        scenario=scenario,
        network=net,
        dates=dates,
        nationalities=nats,
        arrivals_persons=arrivals,
        entry_cdf=entry_cdf,
        entry_month_of_day=entry_month_of_day,
        segments=segments,
        segment_of_day=segment_of_day,
        event_days=event_days,
        destinations=dest_ids,
        destination_cdf=dest_cdf,
        bus_access_share=_keyed(
            scenario.population.bus_access_share, nats, "population.bus_access_share", "nationality"
        ),
        reentry_probability=_keyed(
            scenario.behaviour.reentry_probability, nats, "behaviour.reentry_probability", "nationality"
        ),
        interdiction_factor=_keyed(
            scenario.behaviour.interdiction_factor, nats, "behaviour.interdiction_factor", "nationality"
        ),
        speed_km_per_day=by_mode(speeds),
        link_death_hazard_per_km=death[net.link_mode],
        minor_share=scenario.population.minor_share,
        caravans=caravans,
        enforcement_index=index,
        demand_factor=demand_factor,
    )


def day_index(timeline: Timeline, date: dt.date | str) -> int:
    """Index of ``date`` in the timeline's horizon."""
    return int((pd.Timestamp(date) - timeline.dates[0]).days)
