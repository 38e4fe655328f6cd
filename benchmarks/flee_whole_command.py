"""The whole command of each engine, as a user runs it: start-up, reading, the loop, out.csv.

    python benchmarks/flee_whole_command.py [--conflict tests/data/flee-conflict-300]
        [--repeats 3] [--flee-python /tmp/flee-venv/bin/python] [--label after]
        [--kernel vectorised compiled compiled-jit compiled-cold]

Runs, in fresh processes and alternating engines:

* ``corridor flee run INPUT_CSV SOURCE_DATA SIM_PERIOD SIMSETTING --out DIR --seed S --kernel K``:
  the console script of corridor's environment (``--corridor``, default the ``corridor``
  beside this interpreter), once per ``--kernel``: ``vectorised`` (engine ``corridor``),
  ``compiled`` (the day built ahead of time, engine ``corridor-compiled``: its cache, and
  numba's, in a folder warmed by one untimed run first), ``compiled-jit`` (the day compiled by
  numba at run time, as on a machine where the build ahead of time failed: numba's cache warm)
  and ``compiled-cold`` (an empty cache each run, so building the day is timed);
* Flee 3.1's whole run: a script doing what Flee's ``runscripts/run.py`` does (imports,
  reading the folder, the day loop, writing out.csv; ``FLEE_SCRIPT`` of
  ``benchmarks/flee_per_day.py``) with ``--flee-python`` (a Python with ``flee==3.1``, never
  corridor's environment).

Both engines run as a default Python does: bytecode is written on the first import and read
after (``PYTHONDONTWRITEBYTECODE``, set on some machines, this one included, is removed from the
children's environment), and each engine has one untimed warm-up run first, so that neither
compiles its modules' source in a timed run (Flee's modules were compiled by ``pip install``;
corridor's, in an editable install, would otherwise be compiled at every run: about 0.1 s).

Each run is timed from outside: **CPU** is the child's user + system time
(``resource.getrusage(RUSAGE_CHILDREN)`` before and after), **wall** the elapsed time; both
include interpreter start-up and imports. Repeat ``r`` uses seed ``r`` in both engines. The
table gives medians, the loop's own CPU time as each engine reports it (so the rest is
start-up, reading and writing), the agents on the last day and both ARDs (Flee's formula,
``corridor.flee.flee_ard``, on each out.csv) so that the reader sees equal work. One JSON line
per run is appended to ``benchmarks/results/flee_whole_command.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from flee_per_day import FLEE_SCRIPT  # noqa: E402

from corridor.flee.ahead import extension_path  # noqa: E402
from corridor.flee.run import flee_ard  # noqa: E402
from corridor.provenance import machine, versions  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "flee_whole_command.jsonl"
#: --kernel choice -> engine name in the records
KERNEL_ENGINES = {
    "vectorised": "corridor",
    "compiled": "corridor-compiled",
    "compiled-jit": "corridor-compiled-jit",
    "compiled-cold": "corridor-compiled-cold",
}
_LOOP = re.compile(r"loop ([0-9.]+) s CPU")


def _paths(folder: Path) -> list[str]:
    return [
        str(folder / "input_csv"),
        str(folder / "source_data"),
        str(folder / "input_csv" / "sim_period.csv"),
        str(folder / "simsetting.yml"),
    ]


def _with_bytecode(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` as a default Python has it: bytecode written and read."""
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``argv`` to the end; return it, the child's CPU seconds (user + sys) and wall seconds."""
    env = _with_bytecode(os.environ if env is None else env)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc, cpu, wall


def run_corridor(
    corridor: str,
    folder: Path,
    seed: int,
    out: Path,
    kernel: str = "vectorised",
    cache: Path | None = None,
) -> dict[str, Any]:
    """``corridor flee run`` on ``folder`` with ``kernel``; out.csv in ``out``; ``cache``: the
    folder of numba's cache and of the day built ahead of time."""
    argv = [
        corridor,
        "flee",
        "run",
        *_paths(folder),
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--kernel",
        kernel,
    ]
    env = (
        None
        if cache is None
        else {**os.environ, "NUMBA_CACHE_DIR": str(cache), "CORRIDOR_CACHE_DIR": str(cache)}
    )
    proc, cpu, wall = _timed(argv, env)
    loop = _LOOP.search(proc.stdout)
    return {"cpu_seconds": cpu, "wall_seconds": wall, "loop_cpu_seconds": float(loop[1]) if loop else None}


def run_flee(python: str, script: Path, folder: Path, seed: int, out: Path) -> dict[str, Any]:
    """Flee 3.1's whole run (``FLEE_SCRIPT``) on ``folder``; out.csv in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [python, str(script), *_paths(folder), str(out / "out.csv"), str(seed)]
    proc, cpu, wall = _timed(argv)
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"cpu_seconds": cpu, "wall_seconds": wall, "loop_cpu_seconds": inner["loop_cpu_seconds"]}


def _fail_build(cache: Path) -> None:
    """Mark the build ahead of time as failed in ``cache`` (so numba compiles the day at run time)."""
    os.environ["CORRIDOR_CACHE_DIR"] = str(cache)
    try:
        failed = extension_path().with_suffix(".failed")
    finally:
        del os.environ["CORRIDOR_CACHE_DIR"]
    failed.parent.mkdir(parents=True, exist_ok=True)
    failed.write_text("benchmark: the day compiled by numba at run time\n")


def _last_day_agents(out_csv: Path) -> int:
    header, *rows = out_csv.read_text().splitlines()
    col = header.split(",").index("total refugees (simulation)")
    return int(rows[-1].split(",")[col])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conflict", type=Path, default=ROOT / "tests" / "data" / "flee-conflict-300")
    ap.add_argument("--repeats", type=int, default=3, help="runs per engine (seeds 0 .. repeats - 1)")
    ap.add_argument("--corridor", default=str(Path(sys.executable).parent / "corridor"))
    ap.add_argument("--flee-python", help="a Python with flee==3.1 (a separate venv); omit: corridor only")
    ap.add_argument("--label", default="after", help="which corridor this measures (before/after)")
    ap.add_argument(
        "--kernel",
        nargs="+",
        default=["vectorised"],
        choices=list(KERNEL_ENGINES),
        help="corridor's Flee kernel(s); compiled: built ahead of time, compiled-jit: numba at run time "
        "(cache warm), compiled-cold: an empty cache each run",
    )
    args = ap.parse_args()
    folder = args.conflict.resolve()
    engines = [KERNEL_ENGINES[k] for k in args.kernel] + (["flee"] if args.flee_python else [])
    flee_version = None
    if args.flee_python:
        flee_version = subprocess.run(
            [args.flee_python, "-c", "import importlib.metadata as m; print(m.version('flee'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "run_flee.py"
        script.write_text(FLEE_SCRIPT)
        warm_cache, jit_cache = tmp / "cache", tmp / "jit-cache"
        # One untimed run per engine: bytecode written (and for "compiled", the day built).
        if args.kernel:  # corridor's bytecode, whatever the kernel (compiled-cold included)
            run_corridor(args.corridor, folder, 0, tmp / "warm-up-vectorised")
        if args.flee_python:
            run_flee(args.flee_python, script, folder, 0, tmp / "warm-up-flee")
        if "compiled" in args.kernel:
            run_corridor(args.corridor, folder, 0, tmp / "warm-up", "compiled", warm_cache)
        if (
            "compiled-jit" in args.kernel
        ):  # a failed build remembered, then one untimed run fills numba's cache
            _fail_build(jit_cache)
            run_corridor(args.corridor, folder, 0, tmp / "warm-up-jit", "compiled", jit_cache)
        for seed in range(args.repeats):
            for engine in engines:  # alternating, so that a change in the machine's load hits both
                out = tmp / f"{engine}-{seed}"
                load = os.getloadavg()[0]
                if engine == "corridor":
                    rec = run_corridor(args.corridor, folder, seed, out)
                elif engine == "corridor-compiled":
                    rec = run_corridor(args.corridor, folder, seed, out, "compiled", warm_cache)
                elif engine == "corridor-compiled-jit":
                    rec = run_corridor(args.corridor, folder, seed, out, "compiled", jit_cache)
                elif engine == "corridor-compiled-cold":
                    cold = tmp / f"cache-cold-{seed}"  # empty: the day is built in this run
                    rec = run_corridor(args.corridor, folder, seed, out, "compiled", cold)
                else:
                    rec = run_flee(args.flee_python, script, folder, seed, out)
                out_csv = out / "out.csv"
                rec.update(
                    bench="flee-whole-command",
                    engine=engine,
                    label=f"flee-{flee_version}" if engine == "flee" else args.label,
                    conflict=folder.name,
                    seed=seed,
                    days=len(out_csv.read_text().splitlines()) - 1,
                    agents=_last_day_agents(out_csv),
                    ard=flee_ard(out_csv),
                    load_average_1min_before=load,
                    bytecode="written and read",  # PYTHONDONTWRITEBYTECODE removed (see above)
                    machine=machine(),
                    versions=versions(),
                )
                records.append(rec)
                brief = ("engine", "seed", "cpu_seconds", "wall_seconds", "loop_cpu_seconds", "agents")
                print(json.dumps({k: rec[k] for k in brief}), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    _table(records, engines)


def _table(records: list[dict[str, Any]], engines: list[str]) -> None:
    med: dict[str, dict[str, float]] = {}
    print(
        "\n| engine | runs | agents (last day) | days | CPU s, whole command (median) | wall s (median) "
        "| loop CPU s (median) | ARD rescaled | ARD normal |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for engine in engines:
        rs = [r for r in records if r["engine"] == engine]
        med[engine] = {k: statistics.median(r[k] for r in rs) for k in ("cpu_seconds", "wall_seconds")}
        loops = [r["loop_cpu_seconds"] for r in rs if r["loop_cpu_seconds"] is not None]
        resc = [r["ard"]["rescaled"] for r in rs]
        print(
            f"| {engine} | {len(rs)} | {statistics.mean(r['agents'] for r in rs):,.0f} | {rs[0]['days']} "
            f"| {med[engine]['cpu_seconds']:.2f} ({min(r['cpu_seconds'] for r in rs):.2f}-"
            f"{max(r['cpu_seconds'] for r in rs):.2f}) | {med[engine]['wall_seconds']:.2f} "
            f"| {statistics.median(loops) if loops else float('nan'):.2f} "
            f"| {statistics.mean(resc):.4f} +- {statistics.pstdev(resc):.4f} "
            f"| {statistics.mean(r['ard']['normal'] for r in rs):.4f} |"
        )
    for engine in (e for e in engines if e != "flee" and "flee" in med):
        cpu = med["flee"]["cpu_seconds"] / med[engine]["cpu_seconds"]
        wall = med["flee"]["wall_seconds"] / med[engine]["wall_seconds"]
        print(f"\nFlee / {engine}, whole command: {cpu:.1f}x CPU, {wall:.1f}x wall (medians)")


if __name__ == "__main__":
    main()
