"""Capacity-limited queues: who among the people waiting is served today.

Four phases share one rule: asylum offices decide at most their daily decisions (oldest
cases first), metered ports let in at most their daily intake (oldest names first), the
humanitarian visa office issues at most its national daily number (longest waiting first),
and detention stations admit the caught up to their room (in random order). Each is a call
to :func:`admit`:

* the **servers** (offices, ports, facilities; or one national queue) each serve at most
  their **capacity** today, in agents (:func:`daily_capacity` rounds a capacity in persons to
  agents at random, without bias);
* everyone waiting at a server is ranked by the **order rule**: sort keys (e.g. the day they
  began waiting, then the row, for oldest first), or a uniform drawn per person from the
  run's generator for a random order;
* the first ``capacity`` of each server's line are served.

The function is pure apart from the draws it is asked to make, which come in a fixed order
(one ``rng.random(n)`` call for ``n`` people waiting), so a phase that uses it makes the same
draws as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corridor.engine.population import stochastic_round
from corridor.errors import InputError

__all__ = ["Served", "admit", "daily_capacity", "rank_within"]


@dataclass(frozen=True, eq=False)
class Served:
    """The outcome of one day at a set of queues.

    ``queue`` lists the positions (into the arrays given to :func:`admit`) in the order they
    were considered: by server, then by the order rule. ``served`` is aligned with ``queue``.
    """

    queue: npt.NDArray[np.intp]  #: positions of the people waiting, server by server, in order
    served: npt.NDArray[np.bool_]  #: per entry of ``queue``: served today
    server: npt.NDArray[np.int64]  #: per entry of ``queue``: its server (0 with a single queue)

    def take(self, rows: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """``rows`` (aligned with the input) split into (served, not served), each in queue order."""
        ordered = rows[self.queue]
        return ordered[self.served], ordered[~self.served]


def rank_within(keys: npt.NDArray[np.integer]) -> npt.NDArray[np.intp]:
    """For sorted ``keys``, each element's rank among the elements with the same key (0, 1, ...)."""
    first = np.searchsorted(keys, keys, side="left")
    return np.arange(keys.size) - first


def daily_capacity(persons: npt.ArrayLike, scale: float, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """A capacity in persons a day, as whole agents: ``persons / scale`` rounded up or down at
    random (one draw per server) so that the expectation is exact."""
    return stochastic_round(np.asarray(persons, dtype=np.float64) / scale, rng)


def admit(
    capacity: npt.ArrayLike,
    *,
    server: npt.NDArray[np.integer] | None = None,
    by: Sequence[npt.NDArray[np.generic]] = (),
    rng: np.random.Generator | None = None,
) -> Served:
    """Who among the people waiting is served today.

    Parameters
    ----------
    capacity : int or array of int
        How many each server serves today: one number per server, or a single number with
        one queue (``server`` None). Negative capacities serve nobody.
    server : array of int, optional
        Per person waiting, the index of the server they wait at. People at a server outside
        ``0 .. len(capacity) - 1`` (such as -1: none) are never served. None: one queue.
    by : sequence of arrays
        The order rule: sort keys per person, most significant first, e.g.
        ``(since, rows)`` for oldest first (then by row). The sort is stable, so people
        equal on every key keep the order they were given in.
    rng : numpy.random.Generator, optional
        For a random order: one uniform is drawn per person waiting (after the ``by`` keys,
        as the least significant key). Without it the order is ``by`` alone.

    Returns
    -------
    Served
        The queue order and who in it is served.
    """
    cap = np.atleast_1d(np.asarray(capacity, dtype=np.int64))
    keys = list(by)
    if server is not None:
        n = int(server.size)
    elif keys:
        n = int(keys[0].size)
    else:
        raise InputError("admit() needs the servers or an order key of the people waiting")
    if n == 0:  # no one waiting (a common day): nothing to sort, and rng.random(0) draws nothing
        return Served(
            queue=np.empty(0, dtype=np.intp),
            served=np.empty(0, dtype=bool),
            server=np.empty(0, dtype=np.int64),
        )
    if rng is not None:
        keys.append(rng.random(n))
    if server is None:
        queue = np.lexsort(tuple(reversed(keys))) if keys else np.arange(n)
        at = np.zeros(n, dtype=np.int64)
        rank = np.arange(n)
        return Served(queue=queue.astype(np.intp), served=rank < cap[0], server=at)
    queue = np.lexsort((*reversed(keys), server))
    at = server[queue].astype(np.int64)
    rank = rank_within(at)
    known = (at >= 0) & (at < cap.size)
    limit = np.where(known, cap[np.where(known, at, 0)], 0)
    return Served(queue=queue.astype(np.intp), served=known & (rank < limit), server=at)
