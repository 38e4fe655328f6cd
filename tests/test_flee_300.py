"""The 300-day synthetic conflict (tests/data/flee-conflict-300): its generator, loading, a whole run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from corridor.flee.conflict import FleeConflict
from corridor.flee.reach import adjacency_km, within_km
from corridor.flee.run import FleeConflictRun, flee_ard, run_flee_conflict, write_out_csv
from tests.test_flee_conflict import _load

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "tests" / "data" / "flee-conflict-300"


def _generator() -> ModuleType:
    path = ROOT / "benchmarks" / "make_flee_conflict_300.py"
    spec = importlib.util.spec_from_file_location("make_flee_conflict_300", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def conflict() -> FleeConflict:
    return _load(FOLDER)


@pytest.fixture(scope="module")
def run(conflict: FleeConflict) -> FleeConflictRun:
    return run_flee_conflict(conflict, seed=0)


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    written = _generator().write_conflict(tmp_path)
    committed = sorted(p.relative_to(FOLDER) for p in FOLDER.rglob("*") if p.is_file())
    # Every data file byte for byte, and no committed data file the generator does not write.
    assert {p.relative_to(tmp_path) for p in written} == set(committed) - {Path("README.md")}
    for p in written:
        rel = p.relative_to(tmp_path)
        assert p.read_bytes() == (FOLDER / rel).read_bytes(), f"{rel} differs from the generator's"


def test_loads_as_a_300_day_conflict(conflict: FleeConflict) -> None:
    names = conflict.network.names
    assert conflict.days == 300 and conflict.start_date.isoformat() == "2020-01-01"
    assert [names[c] for c in conflict.camps] == ["C1", "C2", "C3", "C4"]
    assert conflict.conflicts is not None and sorted(conflict.conflicts) == ["A1", "A2", "A3", "A4"]
    a4 = conflict.conflicts["A4"]
    assert a4[:150].sum() == 0 and (a4[150:] == 1).all()  # the second zone starts on day 150
    assert conflict.network.kind[names.index("A4")] == "town"  # a town until its conflict date
    kinds = sorted((c.kind, c.start, c.end) for c in conflict.network.closures)
    assert kinds == [("camp", 0, 150), ("camp", 30, 60), ("link", 0, 10)]
    # The level-1 correction rescales C1's counts before 2020-02-10 to join that day's count.
    c1 = conflict.data.series("C1", 300)
    assert c1[40] == 1368 and c1[0] == int(123 * (1368 / 444))  # Flee truncates


def test_whole_run(conflict: FleeConflict, run: FleeConflictRun, tmp_path: Path) -> None:
    total = conflict.data.series("total", 300)
    assert run.agents[-1] == 15_066  # about 15,000 people on the last day (the benchmark's size)
    assert run.raw.tolist() == total.tolist()
    # The verification exercise (day 250) lowers the total: Flee's refugee debt, then no spawning.
    assert run.debt[:241].max() == 0 and run.debt[260] > 0 and run.spawned[250:].sum() == 0
    names = conflict.network.names
    a2, a4 = names.index("A2"), names.index("A4")
    assert run.spawned_at[:150, a4].sum() == 0 and run.spawned_at[150:, a4].sum() > 0
    assert run.spawned_at[220:, a2].sum() == 0 and run.spawned_at[150:220, a2].sum() > 0
    c4 = run.camps.index("C4")
    # C4 is closed (a town) until day 150, then fills with the second wave up to its capacity.
    assert run.sim[:150, c4].max() < 200 and run.sim[299, c4] > 1_500
    ard = flee_ard(write_out_csv(run, tmp_path))
    assert ard["days"] == 300 and 0.1 < ard["rescaled"] < 0.3


def test_camp_reach_matches_scipy_dijkstra() -> None:
    """The kernel's small Dijkstra gives scipy's ``dijkstra(...) < limit`` (duplicate links summed)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(2, 25))
        m = int(rng.integers(1, 3 * n))
        a, b = rng.integers(0, n, m), rng.integers(0, n, m)
        keep = a != b
        a, b = a[keep], b[keep]
        km = rng.choice([40.0, 60.0, 80.5, 100.0, 150.0, 210.0], a.size)
        l_from, l_to, l_km = np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([km, km])
        adjacency = adjacency_km(n, l_from, l_to, l_km)
        graph = csr_matrix((l_km, (l_from, l_to)), shape=(n, n))
        for limit in (50.0, 120.0, 200.0, 1e9):
            sources = sorted({int(x) for x in rng.integers(0, n, int(rng.integers(1, 4)))})
            d = dijkstra(graph, indices=sources, min_only=True, limit=limit)
            assert within_km(adjacency, sources, limit) == np.flatnonzero(d < limit).tolist()
