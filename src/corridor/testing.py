"""Invariants of a run, as library functions (like :mod:`xarray.testing`).

corridor keeps books: every person who arrives is, each day, in exactly one state or has
left through a counted exit. These functions check that, for a whole run and for each
phase of a day, and are what corridor's own tests use:

* :func:`identity_gaps` / :func:`assert_identity`: the people identity of a run's
  :class:`~corridor.metrics.Results`: present = cumulative arrivals - cumulative exits, and
  the state stocks add up to the engine's own count of present agents.
* :func:`snapshot` and :func:`phase_gaps` / :func:`assert_phase_balanced`: one phase moves
  people between states without creating or losing anyone, and the flows it records match
  the state changes it made (the general rules, plus each phase's own equations in
  :data:`PHASE_RULES`).
* :func:`step_checked`: one day of the engine, exactly as :func:`corridor.engine.core.step`
  runs it (same draws, same results), with every phase checked.

All counts are in agents (integers), so every check is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from corridor.engine.phases import PHASES
from corridor.engine.population import PRESENT_STATES, State
from corridor.engine.state import Simulation
from corridor.metrics import EXIT_FLOWS, FLOWS, Results

__all__ = [
    "PHASE_RULES",
    "PhaseRule",
    "Snapshot",
    "assert_identity",
    "assert_phase_balanced",
    "identity_gaps",
    "phase_gaps",
    "snapshot",
    "step_checked",
]

#: States of people in the system at some moment of a day (``CAUGHT`` lasts until detention).
_IN_SYSTEM = np.zeros(max(State) + 1, dtype=bool)
_IN_SYSTEM[[*PRESENT_STATES, State.CAUGHT]] = True
_OUTSIDE = (State.NOT_ARRIVED, State.AWAY)
_EXITS = [FLOWS.index(f) for f in EXIT_FLOWS]
_DEATH_MODES = [i for i, f in enumerate(FLOWS) if f.startswith("deaths_")]


# --------------------------------------------------------------------------- run identity


def identity_gaps(results: Results) -> dict[str, Any]:
    """The people identity of a run, in persons: the largest daily gaps and whether both hold.

    ``present`` must equal cumulative ``arrivals`` minus cumulative ``exits`` every day, and the
    six state stocks must add up to the engine's independent count of present agents. (This
    is :meth:`Results.identity_check <corridor.metrics.Results.identity_check>`.)
    """
    return results.identity_check()


def assert_identity(results: Results) -> None:
    """Raise :class:`AssertionError` (with the gaps) unless the people identity holds."""
    gaps = identity_gaps(results)
    if not gaps["holds"]:
        raise AssertionError(f"the people identity does not hold: {gaps}")


# --------------------------------------------------------------------------- per phase


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What a phase check needs of a simulation at one moment of day ``day`` (agents)."""

    day: int
    state: npt.NDArray[np.int8]  #: per row, its state
    papers: int  #: rows holding valid papers today
    flows: npt.NDArray[np.int64]  #: per flow, the count recorded so far today

    def count(self, state: State) -> int:
        """Rows in ``state``."""
        return int(np.count_nonzero(self.state == state))

    def flow(self, name: str) -> int:
        """Flow ``name`` recorded so far today."""
        return int(self.flows[FLOWS.index(name)])


def snapshot(sim: Simulation, day: int) -> Snapshot:
    """Take a :class:`Snapshot` of ``sim`` (copies; no random draws)."""
    pop = sim.pop
    return Snapshot(
        day=day,
        state=pop.state.copy(),
        papers=int(np.count_nonzero(pop.papers_until > day)),
        flows=sim.recorder.flows[day].sum(axis=(1, 2), dtype=np.int64),
    )


@dataclass(frozen=True)
class PhaseRule:
    """One phase's own equation: the change in ``state`` (or in papers held, ``state=None``)
    during the phase equals the sum of the ``plus`` flows minus the ``minus`` flows it records."""

    state: State | None
    plus: tuple[str, ...] = ()
    minus: tuple[str, ...] = ()


#: Each phase's own equations, by phase function name.
PHASE_RULES: dict[str, tuple[PhaseRule, ...]] = {
    "arrivals": (PhaseRule(State.WAITING, plus=("arrivals",)),),
    "caravans": (PhaseRule(State.ASYLUM_PENDING, minus=("asylum_abandoned",)),),
    "detention": (
        PhaseRule(State.CAUGHT, minus=("interdictions",)),
        PhaseRule(State.DETAINED, plus=("detentions",), minus=("deportations", "bused_south", "released")),
    ),
    "asylum": (
        PhaseRule(
            State.ASYLUM_PENDING,
            plus=("asylum_applications",),
            minus=("asylum_abandoned", "asylum_decisions"),
        ),
    ),
    "visas": (PhaseRule(None, plus=("visas_issued",)),),
}


def phase_gaps(before: Snapshot, after: Snapshot, phase: str = "") -> list[str]:
    """Every way the change from ``before`` to ``after`` breaks the books (empty: none).

    General rules, for any phase: nobody leaves ``GONE``; the people who enter the system
    are the ``arrivals`` recorded, those who leave it are the ``exits`` recorded; ``deaths``
    are the sum of the deaths by mode; the count in the system changes by arrivals minus
    exits. Then the equations of ``PHASE_RULES[phase]``, if any.
    """
    gaps: list[str] = []
    d = after.flows - before.flows
    if (d < 0).any():
        gaps.append("a flow went down")
    was_in, is_in = _IN_SYSTEM[before.state], _IN_SYSTEM[after.state]
    if ((before.state == State.GONE) & (after.state != State.GONE)).any():
        gaps.append("someone came back from GONE")
    entered = int(np.count_nonzero(~was_in & is_in))
    left = int(np.count_nonzero(was_in & ~is_in))
    arrivals, exits = int(d[FLOWS.index("arrivals")]), int(d[_EXITS].sum())
    if entered != arrivals:
        gaps.append(f"{entered} entered the system but {arrivals} arrivals were recorded")
    if left != exits:
        gaps.append(f"{left} left the system but {exits} exits were recorded")
    came_in_wrong = ~was_in & is_in & ~np.isin(before.state, _OUTSIDE)
    if came_in_wrong.any():
        gaps.append("someone entered the system from a state other than not arrived or away")
    deaths = int(d[FLOWS.index("deaths")])
    if deaths != int(d[_DEATH_MODES].sum()):
        gaps.append(f"{deaths} deaths but {int(d[_DEATH_MODES].sum())} deaths by mode")
    for rule in PHASE_RULES.get(phase, ()):
        if rule.state is None:
            change, what = after.papers - before.papers, "papers held"
        else:
            change, what = after.count(rule.state) - before.count(rule.state), rule.state.name
        expected = sum(int(d[FLOWS.index(f)]) for f in rule.plus) - sum(
            int(d[FLOWS.index(f)]) for f in rule.minus
        )
        if change != expected:
            gaps.append(f"{phase}: {what} changed by {change}, its flows say {expected}")
    return gaps


def assert_phase_balanced(before: Snapshot, after: Snapshot, phase: str = "") -> None:
    """Raise :class:`AssertionError` listing the gaps unless :func:`phase_gaps` finds none."""
    gaps = phase_gaps(before, after, phase)
    if gaps:
        raise AssertionError(f"phase {phase or '?'} on day {after.day}: " + "; ".join(gaps))


def step_checked(sim: Simulation, day: int) -> None:
    """Simulate day ``day`` as :func:`corridor.engine.core.step` does, checking every phase.

    The checks make no random draws, so a run stepped with this gives the same results.
    """
    sim.set_policy(day)
    for phase in PHASES:
        before = snapshot(sim, day)
        phase(sim, day)
        assert_phase_balanced(before, snapshot(sim, day), phase.__name__)
    sim.record(day)
