"""Flee 3.1's movement settings, as corridor's Flee kernel takes them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FleeRules"]


@dataclass(frozen=True)
class FleeRules:
    """Flee 3.1's movement settings (``SimulationSettings.ReadFromYML`` defaults)."""

    max_move_speed_km: float = 360.0
    max_walk_speed_km: float = 35.0
    conflict_move_chance: float = 1.0
    camp_move_chance: float = 0.001
    idpcamp_move_chance: float = 0.1
    default_move_chance: float = 0.3
    forwarding_move_chance: float = 1.0
    conflict_weight: float = 1.0 / 3.16227766017
    camp_weight: float = 1.0
    foreign_weight: float = 1.0
    distance_softening_km: float = 10.0
    weight_softening: float = 0.0
    distance_power: float = 1.0
    weight_power: float = 1.0
    capacity_buffer: float = 0.9
    awareness_level: int = 1
    #: Flee's ``avoid_short_stints`` (off by default, on in FabFlee's settings): someone who
    #: arrives somewhere with less than a day's travel done, and whose travel over the last two
    #: days (``recent_travel_distance``, halved each day) is under half a day's speed, leaves a
    #: town with certainty instead of its move chance.
    avoid_short_stints: bool = False
    #: Apply ``link`` closures of closures.csv. Flee 3.1 itself never does (its
    #: ``_remove_link_1way`` compares names with ``is not``; see docs/flee.md), so
    #: ``corridor flee run`` turns this off by default to give Flee 3.1's results.
    link_closures: bool = True
    #: corridor's option, not Flee's: also refuse a step toward a camp once occupancy + people
    #: already on the way reach capacity, so no camp ever holds more than its capacity. Flee
    #: (and the default here) checks occupancy alone, so a camp can overshoot by the people who
    #: set off toward it before it filled.
    hard_capacity: bool = False
    #: Flee finishes each person's travel (all hops) before the next person's, so later people
    #: see camps filled by earlier ones. When a pass could bring a camp into its capacity
    #: buffer, corridor does the pass in this many batches, in agent order, one after another
    #: (otherwise the order cannot matter and the pass is one batch).
    sequential_batches: int = 64
    #: ... and no more batches than needed for one batch to move the capacity multiplier of a
    #: camp that may fill by at most this much (its band is ``(1 - capacity_buffer) * capacity``
    #: people; the people of a batch who could reach it bound its change).
    max_multiplier_step: float = 0.25
    #: Guard against endless chains of hops within one day (Flee has none).
    max_hops_per_day: int = 10_000
