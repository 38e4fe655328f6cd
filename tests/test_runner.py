"""corridor.runner's many runs: executors, run_many, errors from workers, progress."""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path

import pytest

import corridor
from corridor.errors import CorridorError, RunError, ScenarioError
from corridor.report import outcome_totals
from corridor.runner import (
    Finished,
    ProcessExecutor,
    SerialExecutor,
    iter_many,
    make_executor,
    run_many,
)
from corridor.runner.executors import WORKER_DIED
from corridor.runner.progress import NO_PROGRESS, Progress, ProgressCallback, as_progress

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "mexico-2019.yaml"
SHORT = {"horizon.end": "2019-01-31"}


# --------------------------------------------------------------------------- tasks (top level: pickled)
def square_after(item: tuple[int, float]) -> tuple[int, int]:
    """(the worker's pid, the square of the item's number), after sleeping the item's delay."""
    x, delay = item
    time.sleep(delay)
    return os.getpid(), x * x


def totals(seed: int) -> list[float]:
    """The main outcomes of a short run."""
    res = corridor.simulate(SCENARIO, seed=seed, agents=1000, overrides=SHORT)
    return list(outcome_totals(res).to_numpy())


def explode_on_three(x: int) -> int:
    if x == 3:
        raise ZeroDivisionError(f"no good: {x}")
    return x


def bad_scenario(x: int) -> int:
    raise ScenarioError([("policy.nope", None, "not a field")])


def die_once(marker_dir: str, x: int) -> int:
    """Kill the worker process the first time item 1 runs; return ``x`` otherwise."""
    marker = Path(marker_dir) / f"died-{x}"
    if x == 1 and not marker.exists():
        marker.write_text("")
        os._exit(9)
    return x


def die_always(x: int) -> int:
    os._exit(9)


class Recorder:
    """A Progress that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[object, ...]]] = []

    def start(self, description: str, total: int, done: int = 0) -> None:
        self.calls.append(("start", (description, total, done)))

    def advance(self, n: int = 1) -> None:
        self.calls.append(("advance", (n,)))

    def finish(self) -> None:
        self.calls.append(("finish", ()))


# --------------------------------------------------------------------------- tests
def test_serial_and_process_executors_give_identical_results() -> None:
    items = [(x, 0.0) for x in range(7)]
    serial = run_many(square_after, items, executor=SerialExecutor())
    with ProcessExecutor(3) as pool:
        parallel = run_many(square_after, items, executor=pool)
    assert [v for _, v in serial] == [v for _, v in parallel] == [x * x for x in range(7)]
    assert {pid for pid, _ in serial} == {os.getpid()}
    assert os.getpid() not in {pid for pid, _ in parallel}

    seeds = [0, 1, 2]
    assert run_many(totals, seeds) == run_many(totals, seeds, executor=ProcessExecutor(2))


def test_results_come_back_in_the_items_order_whatever_the_completion_order() -> None:
    # The first items take longest: with 3 workers they finish last.
    items = [(x, 0.6 - 0.1 * x) for x in range(6)]
    finished = list(iter_many(square_after, items, executor=ProcessExecutor(3)))
    order = [f.index for f in finished]
    assert sorted(order) == list(range(6))
    assert order != list(range(6))  # they did finish out of order
    assert all(f.value is not None and f.value[1] == f.index**2 for f in finished)
    assert [v for _, v in run_many(square_after, items, executor=ProcessExecutor(3))] == [
        x * x for x in range(6)
    ]


@pytest.mark.parametrize("executor", [SerialExecutor(), ProcessExecutor(2)], ids=["serial", "process"])
def test_an_exception_in_a_worker_comes_home_as_a_run_error_with_its_traceback(executor: object) -> None:
    with pytest.raises(RunError, match="ZeroDivisionError: no good: 3") as info:
        run_many(explode_on_three, list(range(6)), executor=executor)  # type: ignore[arg-type]
    assert isinstance(info.value, CorridorError)
    assert "explode_on_three" in info.value.details
    assert "Traceback" in info.value.details
    # An error of corridor's own comes home as it is.
    with pytest.raises(ScenarioError, match=r"policy\.nope"):
        run_many(bad_scenario, [1, 2], executor=executor)  # type: ignore[arg-type]
    # iter_many yields the errors, and the other results.
    got = sorted(iter_many(explode_on_three, list(range(5)), executor=executor), key=lambda f: f.index)  # type: ignore[arg-type]
    assert [f.value for f in got] == [0, 1, 2, None, 4]
    assert isinstance(got[3].error, RunError)


def test_a_worker_process_that_dies_is_survived_by_a_pool_rebuild(tmp_path: Path) -> None:
    started = time.monotonic()
    values = run_many(partial(die_once, str(tmp_path)), list(range(5)), executor=ProcessExecutor(2))
    assert values == list(range(5))
    assert (tmp_path / "died-1").exists()
    assert time.monotonic() - started < 60


def test_a_worker_that_always_dies_ends_in_a_clean_run_error_not_a_hang() -> None:
    started = time.monotonic()
    got = list(iter_many(die_always, [1, 2], executor=ProcessExecutor(2, restarts=1)))
    assert sorted(f.index for f in got) == [0, 1]
    for f in got:
        assert isinstance(f.error, RunError)
        assert str(f.error) == WORKER_DIED
    with pytest.raises(RunError, match="worker process died"):
        run_many(die_always, [1], executor=ProcessExecutor(1, restarts=0))
    assert time.monotonic() - started < 120


@pytest.mark.parametrize("workers", [1, 3])
def test_progress_gets_the_total_and_one_advance_per_item(workers: int) -> None:
    bar = Recorder()
    items = [(x, 0.0) for x in range(5)]
    run_many(
        square_after, items, executor=make_executor(workers), progress=bar, description="squares", done=2
    )
    assert isinstance(bar, Progress)
    assert bar.calls[0] == ("start", ("squares", 7, 2))
    assert bar.calls[-1] == ("finish", ())
    advances = [args[0] for name, args in bar.calls if name == "advance"]
    assert sum(advances) == len(items)  # type: ignore[arg-type]


def test_progress_finishes_when_a_run_fails_and_a_callback_progress_counts() -> None:
    bar = Recorder()
    with pytest.raises(RunError):
        run_many(explode_on_three, [1, 2, 3, 4], progress=bar)
    assert bar.calls[-1] == ("finish", ())
    seen: list[tuple[int, int]] = []
    run_many(
        explode_on_three, [1, 2], progress=ProgressCallback(lambda done, total: seen.append((done, total)))
    )
    assert seen == [(1, 2), (2, 2)]
    assert as_progress(None) is NO_PROGRESS and as_progress(True) is NO_PROGRESS and as_progress(bar) is bar


def test_simulate_reports_its_days_through_the_progress_protocol() -> None:
    bar = Recorder()
    corridor.simulate(SCENARIO, agents=1000, overrides=SHORT, progress=bar)
    name, (description, total, done) = bar.calls[0]
    assert name == "start" and total == 31 and done == 0
    assert "about" in str(description) and "31 days" in str(description)
    assert sum(args[0] for n, args in bar.calls if n == "advance") == 31  # type: ignore[misc]
    assert bar.calls[-1] == ("finish", ())


def test_the_dask_executor_gives_the_same_results_and_run_errors() -> None:
    distributed = pytest.importorskip("distributed")
    from corridor.runner import DaskExecutor

    items = [(x, 0.0) for x in range(5)]
    with (
        distributed.LocalCluster(
            n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        DaskExecutor(cluster.scheduler_address) as dask,
    ):
        assert [v for _, v in run_many(square_after, items, executor=dask)] == [x * x for x in range(5)]
        with pytest.raises(RunError, match="no good") as info:
            run_many(explode_on_three, [1, 3], executor=dask)
        assert "explode_on_three" in info.value.details


def test_finished_records_carry_value_or_error() -> None:
    assert Finished(2, 5).value == 5 and Finished(2, 5).error is None
