"""corridor ensemble: partitioned, atomic, resumable runs; quantile summary; Dask with a worker killed.

Every ensemble here is the shipped 2019 scenario cut to January-February, with 2,000 agents
(a fraction of a second per run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.ensemble import EnsembleError, EnsembleResult, run_ensemble, summarize_ensemble

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
    """Temporary files (of a killed writer) that were not cleaned up."""
    return [p for p in out.rglob("*") if p.name.startswith(".")]


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

    # 'all' places is the sum over places, and the median is close to a single run.
    arrivals = summary[summary["metric"] == "arrivals"]
    total = arrivals[arrivals["place"] == "all"]
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

    # A folder with other things in it, and no manifest, is not used.
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(EnsembleError, match="no ensemble manifest"):
        ensemble(foreign, 2)


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
