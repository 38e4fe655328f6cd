"""A Flee 3.1 conflict run with corridor's kernel: daily spawning, conflicts, closures, out.csv.

:func:`run_flee_conflict` follows the day loop of Flee's ``runscripts/run.py``:

1. camps start with their day-0 registration counts (``spawning.add_initial_refugees``, when
   ``insert_day0``);
2. each day ``t``: new conflict zones from conflicts.csv (``InputGeography.AddNewConflictZones``),
   then the day's new people (``spawning.spawn_daily_displaced``), then closures and the day's
   movement (``Ecosystem.enact_border_closures``, ``Ecosystem.evolve``);
3. one out.csv row per day: per camp the simulated count, the registration count and the
   relative error, then the totals (columns as run.py writes them).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from corridor.atomic import write_text_atomically
from corridor.errors import FleeInputError
from corridor.flee.conflict import FleeConflict
from corridor.flee.kernel import _Kernel
from corridor.flee.rules import FleeRules

__all__ = [
    "KERNELS",
    "FleeConflictRun",
    "flee_ard",
    "out_csv_text",
    "resolve_kernel",
    "run_flee_conflict",
    "write_out_csv",
]

#: The Flee kernels: NumPy over all agents at once, or numba agent by agent (corridor[fast]),
#: or "auto": compiled when numba is installed.
KERNELS = ("vectorised", "compiled", "auto")
KernelChoice = Literal["vectorised", "compiled", "auto"]

#: Flee's ``postprocessing/analysis.py`` rounds every error to this many digits.
_ROUND = 4
_TOTAL_COLUMNS = (
    "Total error",
    "refugees in camps (UNHCR)",
    "total refugees (simulation)",
    "raw UNHCR refugee count",
    "refugees in camps (simulation)",
    "refugee_debt",
)


@dataclass(eq=False)
class FleeConflictRun:
    """A conflict run: per day and camp, simulated and registered counts, and the totals."""

    camps: list[str]
    dates: list[str]
    sim: npt.NDArray[np.int64]  #: (day, camp) people at the camp at the end of the day
    data: npt.NDArray[np.int64]  #: (day, camp) registration count (interpolated, Flee's get_field)
    agents: npt.NDArray[np.int64]  #: (day,) people in the simulation
    raw: npt.NDArray[np.int64]  #: (day,) registration total so far (Flee's refugees_raw)
    debt: npt.NDArray[np.int64]  #: (day,) Flee's refugee_debt
    spawned: npt.NDArray[np.int64]  #: (day,) people spawned that day
    spawned_at: npt.NDArray[np.int64]  #: (day, location) people spawned at each location that day
    loop_wall_seconds: float
    loop_cpu_seconds: float
    setup_seconds: float
    kernel: str = "vectorised"  #: the kernel that ran: "vectorised" or "compiled"


def resolve_kernel(kernel: str) -> str:
    """The kernel to run for a choice of :data:`KERNELS`: "vectorised" or "compiled".

    "auto" is "compiled" when the day built ahead of time is there or numba imports (the
    ``fast`` extra), and "vectorised" otherwise; "compiled" with neither is an error. The day
    built ahead of time needs no numba: then numba is not imported (about 0.5 s).
    """
    if kernel not in KERNELS:
        raise FleeInputError(f"kernel: {kernel!r} is not one of {', '.join(KERNELS)}")
    if kernel == "vectorised":
        return kernel  # without importing numba (about 0.5 s)
    from corridor.flee.ahead import NEEDS_NUMBA, load_flee_day

    if load_flee_day() is not None:
        return "compiled"
    try:
        import numba  # noqa: F401
    except ImportError as e:
        if kernel == "auto":
            return "vectorised"
        raise FleeInputError(f"{NEEDS_NUMBA}: {e}") from None
    return "compiled"


def _new_kernel(kind: str, conflict: FleeConflict, rules: FleeRules, rng: np.random.Generator) -> _Kernel:
    """An empty kernel of ``kind`` ("vectorised" or "compiled") for ``conflict``."""
    fnet = conflict.network
    if kind == "compiled":
        from corridor.flee.compiled import CompiledKernel  # numba only if the day is not built

        return CompiledKernel(fnet, 0, rules, fnet.capacity, rng)
    return _Kernel(fnet, 0, rules, fnet.capacity, rng)


def _spawn_weights(
    k: _Kernel, pop: npt.NDArray[np.float64], conflict: FleeConflict, day: int
) -> npt.NDArray[np.float64]:
    """Flee's ``refresh_spawn_weights`` on ``day``: population x intensity x decay, conflict zones only."""
    w = np.zeros(k.n_places)
    for i in np.flatnonzero(k.conflict > 0):
        mult = float(k.conflict[i])
        if conflict.settings.conflict_spawn_decay:
            mult *= conflict.settings.decay(day - int(k.time_of_conflict[i]))
        w[i] = pop[i] * mult
    return w


def _spawn(
    k: _Kernel, pop: npt.NDArray[np.float64], conflict: FleeConflict, t: int, new: int, changed: bool
) -> npt.NDArray[np.int64]:
    """Add ``new`` people at the conflict zones on day ``t``; return how many at each location."""
    # Flee spawns from weights last refreshed the day before, unless a zone changed today.
    w = _spawn_weights(k, pop, conflict, t if (changed or t == 0) else t - 1)
    if w.sum() <= 0:
        raise FleeInputError(f"day {t}: {new} people to spawn but no conflict zone with a population")
    per: npt.NDArray[np.int64] = k.rng.multinomial(new, w / w.sum())
    if conflict.settings.take_from_population:
        if np.any(per > pop):
            raise FleeInputError(
                f"day {t}: more people spawned than the conflict zones' population (Flee asserts too)"
            )
        pop -= per
    # Flee adds them one by one, each at a random zone: a random order.
    k.add_agents(k.rng.permutation(np.repeat(np.arange(k.n_places), per)))
    return per


def _conflict_events(k: _Kernel, conflict: FleeConflict, index: dict[str, int], t: int) -> bool:
    """Flee's ``AddNewConflictZones`` with a conflicts.csv; True if a zone was added or removed."""
    if conflict.conflicts is None:
        return False
    changed = False
    for name, v in conflict.conflicts.items():
        i = index[name]
        if v[t] > 0.000001 and (t == 0 or v[t - 1] < 0.000001):
            k.add_conflict_zone(i, float(v[t]), t)
            changed = True
        # Flee 3.1 removes a zone only if its value the day before was exactly 1.
        if v[t] < 0.000001 and t > 0 and v[t - 1] == 1:
            k.remove_conflict_zone(i)
            changed = True
    if changed:
        k.update_locations(t)
    return changed


def run_flee_conflict(
    conflict: FleeConflict,
    *,
    seed: int = 0,
    days: int | None = None,
    link_closures: bool = False,
    kernel: KernelChoice | str = "vectorised",
    on_day: Callable[[int], None] | None = None,
) -> FleeConflictRun:
    """Run a Flee conflict with corridor's kernel, day by day as Flee's run.py does.

    Parameters
    ----------
    conflict : FleeConflict
        From :func:`corridor.flee.load_flee_conflict`.
    seed : int
        Seed of the run's ``numpy.random.Generator``.
    days : int, optional
        Days to simulate (default: sim_period.csv ``Length``).
    link_closures : bool
        Apply the ``link`` closures of closures.csv. Off by default because Flee 3.1 never
        applies them (a bug; see docs/flee.md), so that the results are Flee 3.1's.
    kernel : {"vectorised", "compiled", "auto"}
        The NumPy kernel, the numba one (Flee's agent-by-agent order; needs numba), or the
        numba one when numba is installed. The run's ``kernel`` says which ran.
    on_day : callable, optional
        Called with each day index after it is simulated.

    Returns
    -------
    FleeConflictRun
    """
    t_setup = time.perf_counter()
    fnet, settings = conflict.network, conflict.settings
    n_days = conflict.days if days is None else days
    if conflict.conflicts is not None and n_days > min(v.size for v in conflict.conflicts.values()):
        raise FleeInputError(f"conflicts.csv has fewer rows than the {n_days} days to simulate")
    rng = np.random.default_rng(seed)
    rules = replace(settings.rules, link_closures=link_closures)
    kind = resolve_kernel(kernel)
    k = _new_kernel(kind, conflict, rules, rng)
    if settings.conflict_spawn_decay:
        k.decay = settings.decay
        k.update_locations(0)
    index = {n: i for i, n in enumerate(fnet.names)}
    camps = conflict.camps
    data = conflict.data
    camp_data = (
        np.stack([data.series(fnet.names[c], n_days) for c in camps], axis=1)
        if camps
        else np.zeros((n_days, 0), dtype=np.int64)
    )
    total = data.series("total", n_days)
    if settings.insert_day0:
        for j, c in enumerate(camps):
            k.add_agents(np.full(int(camp_data[0, j]) if n_days else 0, c, dtype=np.intp))
    pop = fnet.population.astype(np.float64)
    sim = np.zeros((n_days, len(camps)), dtype=np.int64)
    agents, raw_out, debt_out, spawned = (np.zeros(n_days, dtype=np.int64) for _ in range(4))
    spawned_at = np.zeros((n_days, k.n_places), dtype=np.int64)
    setup = time.perf_counter() - t_setup

    debt = raw = 0
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for t in range(n_days):
        changed = _conflict_events(k, conflict, index, t)
        # Flee's spawn_daily_displaced: the day's rise in the total, less any debt from a fall.
        diff = int(total[0]) if t == 0 else int(total[t] - total[t - 1])
        new = diff - debt
        raw += diff
        if settings.insert_day0 and t == 0:
            new = 0
        if new < 0:
            debt, new = -new, 0
        elif debt > 0:
            debt = 0
        if new > 0:
            spawned_at[t] = _spawn(k, pop, conflict, t, new, changed)
        k.day(t)
        sim[t] = k.count[camps]
        agents[t], raw_out[t], debt_out[t], spawned[t] = k.place.size, raw, debt, new
        if on_day is not None:
            on_day(t)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    start = conflict.start_date
    return FleeConflictRun(
        camps=[fnet.names[c] for c in camps],
        dates=[(start + dt.timedelta(days=t)).isoformat() for t in range(n_days)],
        sim=sim,
        data=camp_data,
        agents=agents,
        raw=raw_out,
        debt=debt_out,
        spawned=spawned,
        spawned_at=spawned_at,
        loop_wall_seconds=wall,
        loop_cpu_seconds=cpu,
        setup_seconds=setup,
        kernel=kind,
    )


def _rel_error(val: int, correct: int) -> float:
    """Flee's ``analysis.rel_error``."""
    if correct < 0.00001:
        return 0.0
    return round(abs(float(val) / float(correct) - 1), _ROUND)


def out_csv_text(run: FleeConflictRun) -> str:
    """Flee's out.csv for ``run``: the header and one row per day, as run.py prints them."""
    header = ["Day", "Date"]
    for c in run.camps:
        header += [f"{c} sim", f"{c} data", f"{c} error"]
    lines = [",".join([*header, *_TOTAL_COLUMNS])]
    # Python ints once, instead of a NumPy scalar per cell (most of the writing time otherwise).
    sim, data = run.sim.tolist(), run.data.tolist()
    agents, raw, debt = run.agents.tolist(), run.raw.tolist(), run.debt.tolist()
    for t, date in enumerate(run.dates):
        cells = [str(t), date]
        abs_errors = []
        for s, d in zip(sim[t], data[t], strict=True):
            cells += [str(s), str(d), str(_rel_error(s, d))]
            abs_errors.append(round(abs(float(s) - float(d)), _ROUND))
        in_camps = sum(sim[t])
        if raw[t] > 0:
            cells += [
                str(float(np.sum(abs_errors)) / float(raw[t])),
                str(sum(data[t])),
                str(agents[t]),
                str(raw[t]),
                str(in_camps),
                str(debt[t]),
            ]
        else:
            cells += ["0.0", "0", str(agents[t]), "0", str(in_camps), "0"]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_out_csv(run: FleeConflictRun, out_dir: str | Path) -> Path:
    """Write ``out_dir/out.csv`` atomically; return its path."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "out.csv"
    write_text_atomically(target, out_csv_text(run))
    return target


def flee_ard(out_csv: str | Path) -> dict[str, float | int]:
    """Flee's averaged relative difference (ARD) of an out.csv, "rescaled" and "normal".

    As Flee 3.1's ``postprocessing/plot_flee_output.py`` (``plot_errors`` and
    ``error_quantification``) computes it: for each day t, with camps c, simulated counts
    s_c, registration counts d_c, D = "refugees in camps (UNHCR)" and S = "refugees in camps
    (simulation)",

        normal(t)   = sum_c round(|s_c - d_c|, 4) / max(D, 1)
        rescaled(t) = sum_c round(|s_c D / S - d_c|, 4) / max(D, 1)   (s_c D / S = 0 when S = 0)

    and the ARD is the mean over days. Camps are the columns whose name contains " sim".

    Returns
    -------
    dict
        ``rescaled``, ``normal`` and ``days``.
    """
    path = Path(out_csv)
    if not path.is_file():
        raise FleeInputError(f"missing {path}")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 2:
        raise FleeInputError(f"{path.name}: no days")
    header = [h.strip() for h in rows[0]]
    need = ("refugees in camps (UNHCR)", "refugees in camps (simulation)")
    for col in need:
        if col not in header:
            raise FleeInputError(f"{path.name}: no column {col!r} (is it Flee's out.csv?)")
    names = [" ".join(h.split()[:-1]) for h in header if " sim" in h and "numAgents" not in h]

    def column(name: str) -> npt.NDArray[np.float64]:
        if name not in header:
            raise FleeInputError(f"{path.name}: no column {name!r}")
        i = header.index(name)
        try:
            return np.array([float(r[i]) for r in rows[1:]], dtype=np.float64)
        except (ValueError, IndexError):
            raise FleeInputError(f"{path.name}: column {name!r} has a value that is not a number") from None

    untot, simtot = column(need[0]), column(need[1])
    normal = np.zeros(untot.size)
    rescaled = np.zeros(untot.size)
    for name in names:
        y1, y2 = column(f"{name} sim"), column(f"{name} data")
        with np.errstate(divide="ignore", invalid="ignore"):
            y1r = np.where(simtot > 0, y1 * untot / simtot, 0.0)
        normal += np.round(np.abs(y1 - y2), _ROUND)
        rescaled += np.round(np.abs(y1r - y2), _ROUND)
    scale = np.maximum(untot, 1.0)
    out_normal, out_rescaled = float(np.mean(normal / scale)), float(np.mean(rescaled / scale))
    if not (math.isfinite(out_normal) and math.isfinite(out_rescaled)):
        raise FleeInputError(f"{path.name}: the ARD is not finite")
    return {"rescaled": out_rescaled, "normal": out_normal, "days": int(untot.size)}
