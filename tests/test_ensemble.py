"""corridor ensemble: partitioned, atomic, resumable runs; quantile summary; Dask with a worker killed.

Every ensemble here is the shipped 2019 scenario cut to January-February, with 2,000 agents
(a fraction of a second per run), but those of ``corridor ensemble`` killed with ``kill -9``
(20,000 agents, January-June: a second or so per run, so that the kill finds runs going).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.ensemble import ENSEMBLE_LOCK, RUN_LOCK, EnsembleResult, run_ensemble, summarize_ensemble
from corridor.errors import EnsembleError

from .test_workers import descendants, kill_all, wait_for, wait_gone

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "scenarios" / "mexico-2019.yaml"
SHORT = {"horizon.end": "2019-02-28"}
AGENTS = 2000


def ensemble(out: Path, runs: int, **options: Any) -> EnsembleResult:
    options.setdefault("agents", AGENTS)
    options.setdefault("overrides", SHORT)
    options.setdefault("progress", False)
    options.setdefault("workers", 1)
    return run_ensemble(SCENARIO, out, runs, **options)


def serial(seed: int, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """The tidy table of one run in this process, as a partition should hold it."""
    results = corridor.simulate(SCENARIO, seed=seed, agents=AGENTS, overrides={**SHORT, **(overrides or {})})
    return results.to_frame()


def assert_same_table(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Value-level equality of two tidy tables (``assert_frame_equal`` is slow on categoricals)."""
    assert list(got.columns) == list(expected.columns)
    assert list(got.dtypes) == list(expected.dtypes)
    for col in got.select_dtypes("category"):
        assert list(got[col].cat.categories) == list(expected[col].cat.categories), col
    assert got.equals(expected)


def partitions(out: Path) -> list[Path]:
    return sorted((out / "runs").rglob("*.parquet"))


def leftovers(out: Path) -> list[Path]:
    """Temporary files (of a killed writer) that were not cleaned up (lock files stay, empty or not)."""
    return [p for p in out.rglob("*") if p.name.startswith(".") and p.name not in (ENSEMBLE_LOCK, RUN_LOCK)]


def written_by(out: Path, run: int) -> int:
    """Pid of the process that wrote run ``run``'s partition (from its facts)."""
    meta = pq.read_schema(out / "runs" / f"run={run}" / "part.parquet").metadata
    return int(json.loads(meta[b"corridor"])["written_by"]["pid"])


def test_runs_are_partitioned_and_summarised(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    result = ensemble(out, 4, workers=2, first_seed=10)

    assert result.computed == (0, 1, 2, 3) and result.skipped == ()
    assert [p.relative_to(out).as_posix() for p in partitions(out)] == [
        f"runs/run={i}/part.parquet" for i in range(4)
    ]
    assert not leftovers(out)
    assert [r["seed"] for r in result.manifest["runs"]] == [10, 11, 12, 13]
    assert result.manifest["complete"] is True
    assert result.manifest["scenario"]["sha256"] == corridor.load_scenario(SCENARIO, SHORT).sha256

    everything = result.read_runs()
    assert sorted(everything["run"].unique()) == [0, 1, 2, 3]
    assert_same_table(result.read_run(2), serial(12))

    summary = result.summary()
    assert set(summary.columns) >= {
        "date",
        "metric",
        "place",
        "runs",
        "mean",
        "q05",
        "q25",
        "median",
        "q75",
        "q95",
    }
    q = summary[["q05", "q25", "median", "q75", "q95"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-9), "quantiles out of order"
    assert (summary["runs"] == 4).all()
    assert not summary.duplicated(["date", "metric", "place"]).any()

    # Per-place rows and totals over places are in two files: a sum over either counts once.
    assert "all" not in set(summary["place"].astype(str))
    assert set(summary["kind"].astype(str)) <= {"flow", "stock", "capacity", "ratio", "mean"}
    totals = result.totals()
    assert "place" not in totals.columns and not totals.duplicated(["date", "metric"]).any()
    assert {"flow", "stock", "capacity"} == set(totals["kind"].astype(str))
    per_day = summary[summary["metric"] == "arrivals"].groupby("date")["mean"].sum()
    arrivals_total = totals[totals["metric"] == "arrivals"].set_index("date")["mean"]
    np.testing.assert_allclose(per_day.reindex(arrivals_total.index, fill_value=0), arrivals_total)
    assert (totals["min"] <= totals["q05"] + 1e-9).all() and (totals["q95"] <= totals["max"] + 1e-9).all()
    # Every metric has a total on every day, zero all run long or not.
    assert len(totals) == totals["metric"].nunique() * 59

    # The main outcomes, with the range of the 4 runs (too few for a 5-95% interval).
    outcomes = result.main_outcomes().set_index("metric")
    assert (outcomes["interval"] == "range of 4 runs").all()
    per_run = everything[everything["metric"] == "deaths"].groupby("run")["value"].sum()
    assert outcomes.loc["deaths", "low"] == pytest.approx(per_run.reindex(range(4), fill_value=0).min())
    assert outcomes.loc["deaths", "high"] == pytest.approx(per_run.reindex(range(4), fill_value=0).max())
    html = result._repr_html_()
    assert len(html) < 3000 and "range of 4 runs" in html and "deaths" in html

    # The total over places: its median is close to a single run.
    total = totals[totals["metric"] == "arrivals"]
    assert len(total) == 59
    one_run = corridor.simulate(SCENARIO, seed=10, agents=AGENTS, overrides=SHORT).total("arrivals").sum()
    assert total["median"].sum() == pytest.approx(one_run, rel=0.03)
    run0 = everything[(everything["run"] == 0) & (everything["metric"] == "arrivals")]
    assert run0["value"].sum() == pytest.approx(
        serial(10).query("metric == 'arrivals'")["value"].sum(), rel=1e-12
    )


def test_missing_rows_count_as_zero_in_the_quantiles(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    result = ensemble(out, 3)
    runs = result.read_runs()
    summary = result.summary()
    # A (metric, date, place) some runs have and others lack: its q05 must be 0 (2 of 3 runs at most).
    per_key = (
        runs.groupby(["metric", "date", "place"], observed=True)["run"].nunique().rename("n").reset_index()
    )
    partial = per_key[per_key["n"] == 1].head(20)
    assert len(partial), "expected keys present in one run only"
    merged = partial.merge(summary, on=["metric", "date", "place"])
    assert len(merged) == len(partial)
    assert (merged["q05"] == 0).all() and (merged["median"] == 0).all() and (merged["q95"] > 0).all()

    # Summarised in slabs (a small memory budget: each slab reads every run again), the same table.
    summarize_ensemble(out, memory_bytes=3 * 8 * 20_000)
    assert_same_table(pd.read_parquet(out / "summary.parquet"), summary)


def test_resume_recomputes_only_missing_runs_and_refuses_another_ensemble(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    first = ensemble(out, 3)
    tables = {run: first.read_run(run) for run in range(3)}
    stamps = {p: p.stat().st_mtime_ns for p in partitions(out)}
    summary = first.summary()
    time.sleep(0.01)

    first.partition(1).unlink()
    (out / "runs" / "run=1" / ".part.parquet.dead.tmp").write_bytes(b"half a file from a killed run")
    again = ensemble(out, 3, overrides=["horizon.end=2019-02-28"])  # same options, spelt as --set

    assert again.computed == (1,) and again.skipped == (0, 2)
    for path, stamp in stamps.items():
        if "run=1" not in str(path):
            assert path.stat().st_mtime_ns == stamp, f"{path} was rewritten"
    assert not leftovers(out)
    for run, table in tables.items():
        assert_same_table(again.read_run(run), table)
    assert_same_table(again.summary(), summary)
    assert again.manifest["created"] == first.manifest["created"]

    # More runs extend the ensemble; fewer, or other options, are refused.
    more = ensemble(out, 4)
    assert more.computed == (3,) and more.skipped == (0, 1, 2)
    with pytest.raises(EnsembleError, match="at least as many"):
        ensemble(out, 2)
    with pytest.raises(EnsembleError, match="agents"):
        ensemble(out, 4, agents=3000)
    with pytest.raises(EnsembleError, match="run 0"):
        ensemble(out, 4, first_seed=5)

    # Another scenario file (same options) into the same folder.
    other_dir = tmp_path / "other"
    shutil.copytree(SCENARIO.parent, other_dir)
    other = other_dir / SCENARIO.name
    text = other.read_text()
    assert "inflow_multiplier: 1.0" in text
    other.write_text(text.replace("inflow_multiplier: 1.0", "inflow_multiplier: 1.2"))
    with pytest.raises(EnsembleError, match="scenario"):
        run_ensemble(other, out, 4, agents=AGENTS, overrides=SHORT, progress=False, workers=1)
    assert len(partitions(out)) == 4

    # A folder with other things in it, and no manifest, is not used (a lock file or not).
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(EnsembleError, match="no ensemble manifest"):
        ensemble(foreign, 2)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    (foreign / ENSEMBLE_LOCK).write_text("")
    with pytest.raises(EnsembleError, match="no ensemble manifest"):
        ensemble(foreign, 2)
    # One holding only a lock (an ensemble killed before it wrote its manifest) is.
    (foreign / "notes.txt").unlink()
    assert ensemble(foreign, 1).computed == (0,)


def test_posterior_draws_are_applied_per_run(tmp_path: Path) -> None:
    draws = tmp_path / "posterior.csv"
    pd.DataFrame({"behaviour.settle_share": [0.1, 0.9], "weight": [0.0, 1.0]}).to_csv(draws, index=False)

    cycled = ensemble(tmp_path / "cycle", 3, posterior=draws, posterior_sampling="cycle")
    assert [r["draw"] for r in cycled.manifest["runs"]] == [0, 1, 0]
    assert cycled.manifest["runs"][1]["overrides"] == {**SHORT, "behaviour.settle_share": 0.9}
    assert_same_table(cycled.read_run(1), serial(1, {"behaviour.settle_share": 0.9}))

    weighted = ensemble(tmp_path / "weighted", 3, posterior=draws)  # a weight column: weighted by default
    assert weighted.manifest["posterior"]["sampling"] == "weighted"
    assert [r["draw"] for r in weighted.manifest["runs"]] == [1, 1, 1]

    # Only the first draw is validated up front; a bad later draw fails its run only.
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"behaviour.settle_share": [0.5, 7.0]}).to_csv(bad, index=False)
    with pytest.raises(EnsembleError, match=r"(?s)1 of 2 runs failed.*run 1 .*settle_share"):
        ensemble(tmp_path / "bad", 2, posterior=bad)
    assert [p.parent.name for p in partitions(tmp_path / "bad")] == ["run=0"]
    assert not (tmp_path / "bad" / "summary.parquet").exists()

    bad_first = tmp_path / "bad_first.csv"
    pd.DataFrame({"behaviour.settle_share": [7.0, 0.5]}).to_csv(bad_first, index=False)
    with pytest.raises(corridor.ScenarioError, match="settle_share"):
        ensemble(tmp_path / "never", 2, posterior=bad_first)
    assert not (tmp_path / "never").exists()


def test_invalid_input_is_refused_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "ens"
    with pytest.raises(corridor.ScenarioError, match="nope"):
        ensemble(out, 2, overrides={**SHORT, "policy.nope": 1})
    with pytest.raises(corridor.ScenarioError, match="agents or scale"):
        ensemble(out, 2, scale=50.0)
    with pytest.raises(EnsembleError, match="runs"):
        ensemble(out, 0)
    with pytest.raises(EnsembleError, match="seeds"):
        ensemble(out, 2, seeds=[1])
    assert not out.exists()


def test_cli_ensemble(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["ensemble", str(SCENARIO), "--runs", "2", "--out", str(out), "--agents", str(AGENTS)]
    ok = runner.invoke(app, [*args, "--set", "horizon.end=2019-02-28", "--workers", "1", "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert len(partitions(out)) == 2 and (out / "summary.parquet").exists()

    bad = runner.invoke(app, [*args, "--set", "policy.nope=1"])
    assert bad.exit_code == 2 and "nope" in bad.output
    other = runner.invoke(app, [*args, "--set", "horizon.end=2019-03-31"])
    assert other.exit_code == 2 and "holds another ensemble" in " ".join(other.output.split())
    zero = runner.invoke(app, ["ensemble", str(SCENARIO), "--runs", "0"])
    assert zero.exit_code == 2


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [child for child, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_local_worker_killed_mid_ensemble(tmp_path: Path) -> None:
    out = tmp_path / "local"
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = ensemble(out, 8, workers=2)
        except BaseException as exc:  # surfaced below
            box["error"] = exc

    before = set(_descendants(os.getpid()))
    thread = threading.Thread(target=go)
    thread.start()
    deadline = time.monotonic() + 60
    while not partitions(out) and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = [p for p in _descendants(os.getpid()) if p not in before]
    assert len(workers) >= 2, workers  # the forkserver and its pool processes
    os.kill(workers[-1], signal.SIGKILL)
    thread.join(timeout=120)
    assert "error" not in box, box.get("error")
    assert [p.parent.name for p in partitions(out)] == sorted(f"run={i}" for i in range(8))
    assert not leftovers(out)
    for run in (0, 7):
        assert_same_table(box["result"].read_run(run), serial(run))


def test_dask_worker_killed_mid_ensemble(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    runs = 8
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        box: dict[str, Any] = {}

        def go() -> None:
            try:
                box["result"] = run_ensemble(
                    SCENARIO,
                    out,
                    runs,
                    agents=AGENTS,
                    overrides=SHORT,
                    scheduler=cluster.scheduler_address,
                    progress=False,
                )
            except BaseException as exc:  # surfaced below
                box["error"] = exc

        thread = threading.Thread(target=go)
        thread.start()
        deadline = time.monotonic() + 60
        while not partitions(out) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert partitions(out), "no run finished"
        busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
        victim = pids[busy[0]] if busy else next(iter(pids.values()))  # one computing a run
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert "error" not in box, box.get("error")

    result: EnsembleResult = box["result"]
    assert len(partitions(out)) == runs
    assert [p.parent.name for p in partitions(out)] == sorted(f"run={i}" for i in range(runs))
    assert not leftovers(out)
    assert len(result.computed) + len(result.skipped) == runs
    for run in range(runs):
        assert_same_table(result.read_run(run), serial(run))


# --------------------------------------------------------------------------- kill -9 and locks
KILL_AGENTS = 20_000
KILL_SET = {"horizon.end": "2019-06-30"}


def cli_ensemble(out: Path, runs: int, log: Path) -> subprocess.Popen[bytes]:
    """``corridor ensemble`` in a process of its own, 2 workers."""
    args = ["ensemble", str(SCENARIO), "--runs", str(runs), "--workers", "2", "--agents", str(KILL_AGENTS)]
    args += [*(f"--set={k}={v}" for k, v in KILL_SET.items()), "--out", str(out), "--quiet"]
    with log.open("wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "corridor.cli", *args], stdout=fh, stderr=fh)


def pool_workers(proc: subprocess.Popen[bytes]) -> list[Any]:
    """The pool's workers: the children of its forkserver (grandchildren of ``proc``)."""
    return [p for p in descendants(proc.pid) if p.ppid() != proc.pid]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process tree")
def test_kill9_of_the_parent_ends_its_workers_and_a_resume_computes_each_run_once(tmp_path: Path) -> None:
    out, log, runs = tmp_path / "killed", tmp_path / "cli.log", 8
    proc = cli_ensemble(out, runs, log)
    tree: list[Any] = []
    try:
        wait_for(
            lambda: proc.poll() is None and len(pool_workers(proc)) >= 2 and partitions(out),
            f"a run written by corridor ensemble ({log.read_text(errors='replace')[-500:]})",
        )
        tree = descendants(proc.pid)  # resource tracker, forkserver, 2 workers
        old_workers = {p.pid for p in pool_workers(proc)}
        proc.send_signal(signal.SIGKILL)  # the parent, and only it
        proc.wait()
        box: dict[str, Any] = {}

        def resume() -> None:  # at once, as a user would
            try:
                box["result"] = run_ensemble(
                    SCENARIO, out, runs, agents=KILL_AGENTS, overrides=KILL_SET, workers=2, progress=False
                )
            except BaseException as exc:  # surfaced below
                box["error"] = exc

        thread = threading.Thread(target=resume)
        thread.start()
        wait_gone(tree)  # within seconds (typically 0.2-0.6 s)
        thread.join(timeout=120)
    finally:
        kill_all(tree)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    result: EnsembleResult = box["result"]

    # Every run written, and computed once: by the killed ensemble (skipped now), or by the resume.
    assert [p.parent.name for p in partitions(out)] == sorted(f"run={i}" for i in range(runs))
    assert set(result.computed).isdisjoint(result.skipped)
    assert set(result.computed) | set(result.skipped) == set(range(runs))
    assert result.computed and result.skipped
    pids = {o.run: o.pid for o in result.outcomes if o.computed}
    for run in range(runs):
        if run in result.computed:
            assert written_by(out, run) == pids[run] and pids[run] not in old_workers, run
        else:
            assert written_by(out, run) in old_workers, run
    assert not leftovers(out)
    assert result.manifest["complete"] is True


def test_a_second_ensemble_on_a_folder_being_written_is_refused(tmp_path: Path) -> None:
    out, log = tmp_path / "busy", tmp_path / "cli.log"
    proc = cli_ensemble(out, 8, log)
    tree: list[Any] = []
    try:
        wait_for(
            lambda: proc.poll() is None and (out / "manifest.json").exists(),
            f"corridor ensemble to start ({log.read_text(errors='replace')[-500:]})",
        )
        with pytest.raises(EnsembleError) as refused:
            run_ensemble(SCENARIO, out, 8, agents=KILL_AGENTS, overrides=KILL_SET, workers=1, progress=False)
        message = str(refused.value)
        assert f"is being written by another corridor process (pid {proc.pid})" in message
        assert "\n" not in message
        # Whatever the options: the folder is busy, that is all one can say.
        other = ["ensemble", str(SCENARIO), "--runs", "2", "--agents", str(AGENTS), "--out", str(out)]
        cli = CliRunner().invoke(app, [*other, "--quiet"])
        assert cli.exit_code == 2 and f"pid {proc.pid}" in " ".join(cli.output.split()), cli.output
        assert proc.poll() is None  # the first one runs on
        tree = descendants(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        kill_all(tree)


def _waiting_on_lock(lock: Path) -> bool:
    """Whether a process waits for the flock of ``lock`` (Linux /proc/locks lists waiters as '->')."""
    inode = f":{lock.stat().st_ino} "
    return any("->" in line and inode in line for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks")
def test_a_resume_waits_for_a_run_another_process_is_computing(tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "ens"
    first = ensemble(out, 3)
    writer = written_by(out, 1)
    # Run 1 is "being computed" by another live process (this one holds its lock; its
    # partition, set aside, is what that process will rename into place).
    aside = tmp_path / "run1.parquet"
    first.partition(1).rename(aside)
    lock = out / "runs" / "run=1" / RUN_LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        box: dict[str, Any] = {}

        def resume() -> None:
            try:
                box["result"] = ensemble(out, 3)
            except BaseException as exc:  # surfaced below
                box["error"] = exc

        thread = threading.Thread(target=resume)
        thread.start()
        wait_for(lambda: _waiting_on_lock(lock) or not thread.is_alive(), "the resume's worker to wait")
        assert thread.is_alive(), box.get("error")
        aside.rename(first.partition(1))
    finally:
        os.close(fd)  # the other process is done: its lock goes
    thread.join(timeout=60)
    assert "error" not in box, box.get("error")
    again: EnsembleResult = box["result"]
    assert again.computed == () and again.skipped == (0, 1, 2)
    assert written_by(out, 1) == writer
    assert not leftovers(out)
