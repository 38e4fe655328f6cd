"""Which locations lie within a distance of others: the camp-reach table of the Flee kernel.

A few lines of Python (Dijkstra with a heap, stopping at the distance limit) instead of
``scipy.sparse.csgraph.dijkstra``: Flee's networks are small, and importing scipy's sparse
stack cost 0.35-0.55 s CPU, more than the rest of ``corridor flee run``'s start-up.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt

__all__ = ["adjacency_km", "within_km"]


def adjacency_km(
    n_places: int, l_from: npt.NDArray[np.intp], l_to: npt.NDArray[np.intp], l_km: npt.NDArray[np.float64]
) -> list[dict[int, float]]:
    """Per location, its out-neighbours and km: the graph ``scipy.sparse.csr_matrix`` would hold.

    Links between the same two locations add up, as duplicate entries of a sparse matrix do,
    so that the distances are those the kernel used when it called scipy's ``dijkstra``.

    Parameters
    ----------
    n_places : int
        Number of locations.
    l_from, l_to : ndarray of int
        Start and end location of each (one-way) link.
    l_km : ndarray of float
        Length of each link in km.

    Returns
    -------
    list of dict
        ``adjacency[a][b]``: km from location ``a`` to its neighbour ``b``.
    """
    adjacency: list[dict[int, float]] = [{} for _ in range(n_places)]
    for a, b, km in zip(l_from.tolist(), l_to.tolist(), l_km.tolist(), strict=True):
        adjacency[a][b] = adjacency[a].get(b, 0.0) + km
    return adjacency


def within_km(adjacency: list[dict[int, float]], sources: list[int], limit_km: float) -> list[int]:
    """Locations less than ``limit_km`` from the nearest of ``sources`` (Dijkstra, stopping at the limit).

    The same result as ``scipy.sparse.csgraph.dijkstra(graph, indices=sources, min_only=True,
    limit=limit_km) < limit_km``: distances are summed from the source along the path in the
    same order.

    Parameters
    ----------
    adjacency : list of dict
        From :func:`adjacency_km`.
    sources : list of int
        Locations at distance 0.
    limit_km : float
        Distance limit (exclusive) in km.

    Returns
    -------
    list of int
        The locations within the limit, sorted.
    """
    best: dict[int, float] = {}
    heap = [(0.0, s) for s in sources]
    heapq.heapify(heap)
    while heap:
        d, u = heapq.heappop(heap)
        if u in best:
            continue
        best[u] = d
        for v, km in adjacency[u].items():
            nd = d + km
            if nd < limit_km and v not in best:
                heapq.heappush(heap, (nd, v))
    return sorted(u for u, d in best.items() if d < limit_km)
