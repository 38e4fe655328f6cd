"""The compiled (numba) Flee kernel: Flee 3.1's day agent by agent (corridor.flee.compiled)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from typer.testing import CliRunner

pytest.importorskip("numba")

from corridor.cli import app
from corridor.errors import FleeInputError
from corridor.flee import FleeNetwork, load_flee_conflict, load_flee_network
from corridor.flee.compiled import CompiledKernel
from corridor.flee.conflict import FleeConflict
from corridor.flee.rules import FleeRules
from corridor.flee.run import flee_ard, out_csv_text, resolve_kernel, run_flee_conflict, write_out_csv
from tests.test_flee import _write as write_flee_folder

MINI = Path(__file__).parent / "data" / "flee-conflict-mini"


@pytest.fixture(scope="module")
def mini() -> FleeConflict:
    i = MINI / "input_csv"
    return load_flee_conflict(i, MINI / "source_data", i / "sim_period.csv", MINI / "simsetting.yml")


def _write(folder: Path, locations: str, routes: str, closures: str = "") -> FleeNetwork:
    return load_flee_network(write_flee_folder(folder, locations, routes, closures))


@dataclass
class _Days:
    counts: npt.NDArray[np.int64]  # (day, location) at a location at the end of the day
    on_links: npt.NDArray[np.int64]  # (day,)
    kernel: CompiledKernel


def _movement(fnet: FleeNetwork, n: int, days: int, seed: int = 0, rules: FleeRules | None = None) -> _Days:
    """``n`` people at the day-0 conflict zones, ``days`` days of the compiled kernel; checks each day."""
    k = CompiledKernel(fnet, n, rules or FleeRules(), fnet.capacity, np.random.default_rng(seed))
    counts = np.zeros((days, fnet.network.n_places), dtype=np.int64)
    on_links = np.zeros(days, dtype=np.int64)
    for d in range(days):
        k.day(d)
        counts[d], on_links[d] = k.count, k.n_on_links
        # Every person is at one location or on one link, and the counters agree with them.
        at = k.agent_link < 0
        assert np.array_equal(np.bincount(k.place[at], minlength=k.n_places), k.count)
        ends = k.l_to[k.agent_link[~at]]
        assert np.array_equal(np.bincount(ends, minlength=k.n_places), k.on_way)
        assert k.count.sum() + k.n_on_links == n
    return _Days(counts, on_links, k)


def _filling(tmp_path: Path) -> FleeNetwork:
    return _write(
        tmp_path / "fill",
        "A,R,X,0,0,conflict_zone,0,1000\nB,R,X,0,0,town,,100\nC,R,X,0,0,camp,,300\n"
        "D,R,X,0,0,town,,100\nE,R,X,0,0,camp,,600\n",
        "A,B,120\nB,C,80\nB,D,200\nD,E,150\nA,D,300\n",
    )


def test_people_conserved_and_long_links(tmp_path: Path) -> None:
    r = _movement(_filling(tmp_path), 3_000, 30, seed=4)
    assert (r.counts >= 0).all()
    f = _write(tmp_path / "long", "S,R,X,0,0,conflict_zone,0,1\nT,R,X,0,0,camp,,\n", "S,T,1000\n")
    long = _movement(f, 5_000, 4)
    # 360 km a day: on the link after days 0 and 1, arrived on day 2 (1080 > 1000 km).
    assert long.on_links[:2].tolist() == [5_000, 5_000] and long.counts[2, 1] > 4_980


def test_same_seed_same_run_other_seed_another(mini: FleeConflict) -> None:
    a = out_csv_text(run_flee_conflict(mini, seed=5, days=40, kernel="compiled"))
    b = out_csv_text(run_flee_conflict(mini, seed=5, days=40, kernel="compiled"))
    c = out_csv_text(run_flee_conflict(mini, seed=6, days=40, kernel="compiled"))
    assert a == b and a != c


def test_route_choice_as_flee(tmp_path: Path) -> None:
    """From a conflict zone (move chance 1) to two camps: P(X) = (1/110) / (1/110 + 1/310)."""
    f = _write(
        tmp_path / "w",
        "S,R,X,0,0,conflict_zone,0,1\nX,R,X,0,0,camp,,\nY,R,X,0,0,camp,,\n",
        "S,X,100\nS,Y,300\n",
    )
    r = _movement(f, 40_000, 1, seed=2)
    assert r.counts[0, 1] / 40_000 == pytest.approx((1 / 110) / (1 / 110 + 1 / 310), abs=0.01)


def test_camp_capacity_rule(tmp_path: Path) -> None:
    f = _filling(tmp_path)
    camps = f.camps
    r = _movement(f, 2_000, 40, seed=1)
    # Flee's rule: nobody sets off toward a camp over 95% full (multiplier below 0.5); agent by
    # agent, each departure sees the camp exactly as it is then.
    fill = r.kernel.fill_at_departure[camps]
    assert np.nanmax(fill[np.isfinite(fill)]) <= 0.95 + 1e-9
    assert (r.counts[:, camps] > 0.95 * f.capacity[camps]).any()  # the camps do fill
    # As in Flee, a camp overshoots by the people already on their way: on this network Flee
    # 3.1's largest end-of-day counts are 481 in C (capacity 300) and 624 in E (600), docs/flee.md.
    peak = r.counts[:, camps].max(axis=0)
    assert 350 <= peak[0] <= 560 and 560 <= peak[1] <= 700
    # corridor's hard bound: never above capacity.
    h = _movement(f, 2_000, 40, seed=1, rules=FleeRules(hard_capacity=True))
    assert (h.kernel.peak[camps] <= f.capacity[camps]).all()


def test_closures_act_on_their_days(tmp_path: Path) -> None:
    locations = "S,R,X,0,0,conflict_zone,0,1\nX,R,X,0,0,camp,,\nY,R,X,0,0,camp,,\n"
    # X closed on days [0, 3): everyone goes to Y; from day 3 on X takes people again.
    f = _write(tmp_path / "c", locations, "S,X,100\nS,Y,300\n", closures="location,X,,0,3\n")
    k = CompiledKernel(f, 0, FleeRules(), f.capacity, np.random.default_rng(0))
    for d in range(6):
        k.add_agents(np.zeros(1_000, dtype=np.intp))  # 1,000 new people at S every day
        k.day(d)
        if d < 3:
            assert k.count[1] == 0
    assert k.count[1] > 1_500
    # A camp closure makes the camp a town (move chance 0.3) from its day: X empties into Y.
    g = _write(tmp_path / "camp", locations, "S,X,100\nS,Y,300\n", closures="camp,X,,5,-1\n")
    r = _movement(g, 1_000, 40)
    assert r.counts[4, 1] > 600 and r.counts[-1, 1] < 50 and r.counts[-1, 2] > 900


def test_conflict_zone_starting_later(mini: FleeConflict) -> None:
    """A2 becomes a conflict zone on day 20 (conflicts.csv): spawns and departures from then on."""
    r = run_flee_conflict(mini, seed=0, days=40, kernel="compiled")
    a2 = mini.network.names.index("A2")
    assert r.spawned_at[:20, a2].sum() == 0 and r.spawned_at[20:, a2].sum() > 0


def test_ard_as_the_vectorised_kernel(mini: FleeConflict, tmp_path: Path) -> None:
    """Over 3 seeds each, the compiled kernel's ARD equals the vectorised one's within the spread."""
    ards: dict[str, list[float]] = {}
    for kernel in ("vectorised", "compiled"):
        for seed in range(3):
            run = run_flee_conflict(mini, seed=seed, kernel=kernel)
            assert run.kernel == kernel
            ards.setdefault(kernel, []).append(
                flee_ard(write_out_csv(run, tmp_path / f"{kernel}{seed}"))["rescaled"]
            )
    spread = max(statistics.stdev(v) for v in ards.values())
    gap = abs(statistics.mean(ards["compiled"]) - statistics.mean(ards["vectorised"]))
    assert gap < 3 * spread + 0.005, ards


def test_avoid_short_stints_and_link_speeds(mini: FleeConflict) -> None:
    """The mini conflict's settings turn avoid_short_stints on; off, fewer people leave towns."""
    assert mini.settings.rules.avoid_short_stints
    on = run_flee_conflict(mini, seed=1, days=60, kernel="compiled")
    plain = replace(mini.settings, rules=replace(mini.settings.rules, avoid_short_stints=False))
    off = run_flee_conflict(replace(mini, settings=plain), seed=1, days=60, kernel="compiled")
    assert on.sim[-1].sum() > off.sim[-1].sum()


def test_kernel_choice_and_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_kernel("auto") == "compiled" and resolve_kernel("vectorised") == "vectorised"
    with pytest.raises(FleeInputError, match="kernel"):
        resolve_kernel("fast")
    i = MINI / "input_csv"
    args = [
        "flee",
        "run",
        str(i),
        str(MINI / "source_data"),
        str(i / "sim_period.csv"),
        str(MINI / "simsetting.yml"),
    ]
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--days", "10", "--kernel", "compiled"])
    assert res.exit_code == 0, res.output
    assert "compiled kernel" in res.output
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"  # one thread: its pool would only cost CPU
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--days", "2"])
    assert res.exit_code == 0 and os.environ["OPENBLAS_NUM_THREADS"] == "4"  # the user's stands
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--kernel", "numba"])
    assert res.exit_code == 2 and "kernel" in res.output


def test_numba_is_imported_only_when_chosen(tmp_path: Path) -> None:
    code = "import sys, corridor, corridor.flee, corridor.cli; assert 'numba' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    # Without numba (nor the day built ahead of time), "auto" is the vectorised kernel and
    # "compiled" says what to install.
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from corridor.flee.run import resolve_kernel\n"
        "assert resolve_kernel('auto') == 'vectorised'\n"
        "try:\n    resolve_kernel('compiled')\nexcept Exception as e:\n    print(e)\n"
    )
    env = {**os.environ, "CORRIDOR_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    assert "pip install 'corridor[fast]'" in done.stdout


def _one_day_in_a_new_process(kernel_options: str, then: str) -> None:
    """Make a CompiledKernel (``kernel_options`` after its rng) for 50 people of the mini
    conflict in a fresh interpreter, run a day, check conservation, then run ``then``."""
    code = (
        "import sys, numpy as np\n"
        "from corridor.flee import load_flee_conflict\n"
        "from corridor.flee.compiled import CompiledKernel\n"
        "from corridor.flee.rules import FleeRules\n"
        f"m = {str(MINI)!r}\n"
        "i = m + '/input_csv'\n"
        "c = load_flee_conflict(i, m + '/source_data', i + '/sim_period.csv', m + '/simsetting.yml')\n"
        "k = CompiledKernel(c.network, 50, FleeRules(), c.network.capacity, np.random.default_rng(0)"
        f"{kernel_options})\n"
        "k.day(0)\n"
        "assert k.count.sum() + k.n_on_links == 50\n" + then
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loading_numbas_kernel_does_not_import_scipy_linalg() -> None:
    # numba's BLAS check would import all of scipy.linalg (a third of the command's start-up);
    # it is hidden while the kernel loads, and importable as usual afterwards.
    _one_day_in_a_new_process(
        ", ahead_of_time=False",
        "assert 'numba' in sys.modules\n"
        "assert 'scipy.linalg' not in sys.modules, 'scipy.linalg imported'\n"
        "import scipy.linalg\n"
        "assert scipy.linalg.norm([3.0, 4.0]) == 5.0\n",
    )


def _days_of(fnet: FleeNetwork, ahead_of_time: bool, days: int = 40) -> npt.NDArray[np.int64]:
    k = CompiledKernel(fnet, 500, FleeRules(), fnet.capacity, np.random.default_rng(7), ahead_of_time)
    counts = []
    for d in range(days):
        k.day(d)
        counts.append(np.concatenate([k.count, k.on_way]))
    return np.array(counts)


def test_the_day_built_ahead_of_time_runs_as_numbas_without_numba(tmp_path: Path) -> None:
    from corridor.flee.ahead import load_flee_day

    fnet = _filling(tmp_path)  # capped camps filling: the route-weight cache is exercised
    built = _days_of(fnet, ahead_of_time=True)
    assert load_flee_day() is not None  # built on first use (a C compiler is here)
    assert np.array_equal(built, _days_of(fnet, ahead_of_time=False))
    _one_day_in_a_new_process("", "assert 'numba' not in sys.modules, 'numba imported'\n")


def test_a_failed_build_is_remembered_and_numba_compiles_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corridor.flee import ahead, day

    monkeypatch.setenv("CORRIDOR_CACHE_DIR", str(tmp_path / "cache"))
    # Without numba's pycc (a later numba): nothing built, nothing remembered, numba's day.
    monkeypatch.setitem(sys.modules, "numba.pycc", None)
    assert ahead.build_flee_day() is None
    assert not (tmp_path / "cache").exists()
    assert ahead.flee_day_function() is day.flee_day
    monkeypatch.delitem(sys.modules, "numba.pycc")
    # A build that fails (no C compiler, say) is remembered, and not tried again.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation
        import numba.pycc

    def no_compiler(*args: object, **kwargs: object) -> None:
        raise OSError("no C compiler")

    monkeypatch.setattr(numba.pycc.CC, "compile", no_compiler)
    assert ahead.build_flee_day() is None
    failed = ahead.extension_path().with_suffix(".failed")
    assert "no C compiler" in failed.read_text(encoding="utf-8")
    monkeypatch.undo()
    monkeypatch.setenv("CORRIDOR_CACHE_DIR", str(tmp_path / "cache"))
    assert ahead.build_flee_day() is None  # not tried again for this source
    assert ahead.flee_day_function() is day.flee_day
    assert not ahead.extension_path().exists() and list((tmp_path / "cache").iterdir()) == [failed]


def test_the_built_day_is_given_arrays_of_its_types_only(mini: FleeConflict) -> None:
    k = CompiledKernel(mini.network, 20, FleeRules(), mini.network.capacity, np.random.default_rng(0))
    k.cap = k.cap.astype(np.int32)  # the built day would read int32 as int64: a crash, not an error
    with pytest.raises(TypeError, match=r"tuple 1: .*'int32\[1d\]'\), expected 1-d"):
        k.day(0)
    k.cap = np.zeros((k.cap.size, 1), dtype=np.int64)  # the right type, two dimensions
    with pytest.raises(TypeError, match=r"tuple 1: .*'int64\[2d\]'\)"):
        k.day(0)
