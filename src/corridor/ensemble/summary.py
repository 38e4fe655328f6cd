"""The ensemble's ``summary.parquet``: quantiles across runs, in slabs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from corridor.atomic import write_atomically
from corridor.ensemble.manifest import _read_manifest
from corridor.errors import EnsembleError
from corridor.metrics import KINDS, metric_kind
from corridor.report.figures import MIN_RUNS_FOR_QUANTILES, interval_label

#: Quantiles of ``summary.parquet``: column name -> probability.
QUANTILES: dict[str, float] = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}


def interval_columns(n_runs: int) -> tuple[str, str, str]:
    """The columns to show as an interval across ``n_runs`` runs, and its label.

    Returns ``("q05", "q95", "5-95% over N runs")`` with at least
    :data:`MIN_RUNS_FOR_QUANTILES` runs, else ``("min", "max", "range of N runs")``.
    """
    label = interval_label(n_runs)
    if n_runs >= MIN_RUNS_FOR_QUANTILES:
        return "q05", "q95", label
    return "min", "max", label


#: Internal label of the keys summed over all places; those rows go to :data:`TOTALS_NAME`.
ALL_PLACES = "all"
#: The file of the quantiles of the totals over all places (no ``place`` column), kept apart
#: from ``summary.parquet`` (one row per place) so that no sum over either counts twice.
TOTALS_NAME = "totals.parquet"
#: Memory for the dense (runs x keys) array of the summary; more runs are summarised in slabs.
_SUMMARY_MEMORY_BYTES = 512 * 2**20


# --------------------------------------------------------------------------- summary
def _iter_slabs(n_keys: int, n_runs: int, memory_bytes: int) -> Iterator[tuple[int, int]]:
    width = max(1, memory_bytes // (8 * max(n_runs, 1)))
    for lo in range(0, n_keys, width):
        yield lo, min(lo + width, n_keys)


@dataclass(frozen=True)
class _Layout:
    """The keys of the summary: (metric, date, place) flattened, the last place being "all"."""

    metrics: list[str]
    places: list[str]
    dates: pd.DatetimeIndex
    start: np.datetime64

    @property
    def n_d(self) -> int:
        return len(self.dates)

    @property
    def n_p(self) -> int:
        return len(self.places) + 1  # the last place index is "all"

    @property
    def n_keys(self) -> int:
        return len(self.metrics) * self.n_d * self.n_p


def _keys_of(file: Path, layout: _Layout) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The keys of a run's rows (each row twice: its place, and "all") and their values."""
    metric_at = {m: i for i, m in enumerate(layout.metrics)}
    place_at = {p: i for i, p in enumerate(layout.places)}
    n_d, n_p = layout.n_d, layout.n_p
    frame = pd.read_parquet(file, columns=["date", "metric", "place", "value"])
    frame = frame[frame["place"].notna()]  # the zero rows of metrics zero all run long
    try:
        m_map = np.array([metric_at[str(c)] for c in frame["metric"].cat.categories], dtype=np.int64)
        p_map = np.array([place_at[str(c)] for c in frame["place"].cat.categories], dtype=np.int64)
    except KeyError as exc:
        raise EnsembleError(f"{file}: {exc.args[0]!r} is not a metric or place of the first run") from None
    m = m_map[frame["metric"].cat.codes.to_numpy()] if len(m_map) else np.zeros(len(frame), np.int64)
    p = p_map[frame["place"].cat.codes.to_numpy()] if len(p_map) else np.zeros(len(frame), np.int64)
    d = (frame["date"].to_numpy().astype("datetime64[D]") - layout.start).astype(np.int64)
    if len(d) and (d.min() < 0 or d.max() >= n_d):
        raise EnsembleError(f"{file}: dates outside the ensemble's horizon")
    base = (m * n_d + d) * n_p
    value = frame["value"].to_numpy(dtype=np.float64)
    return np.concatenate([base + p, base + (n_p - 1)]), np.concatenate([value, value])


def _slab_frame(files: Sequence[Path], layout: _Layout, lo: int, hi: int) -> pd.DataFrame:
    """The summary rows of keys ``lo`` to ``hi`` (those not 0 in every run), totals included."""
    names = list(QUANTILES)
    probs = list(QUANTILES.values())
    n_d, n_p = layout.n_d, layout.n_p
    dense = np.zeros((len(files), hi - lo))
    if hi > lo:
        for i, file in enumerate(files):
            keys, values = _keys_of(file, layout)
            inside = (keys >= lo) & (keys < hi)
            dense[i] = np.bincount(keys[inside] - lo, weights=values[inside], minlength=hi - lo)
    # Rows 0 in every run are left out, but for the totals: every metric on every day.
    is_total = (np.arange(lo, hi) % n_p) == n_p - 1
    keep = np.flatnonzero((dense.max(axis=0, initial=0.0) > 0) | is_total)
    kept = dense[:, keep]
    quant = np.quantile(kept, probs, axis=0) if keep.size else np.zeros((len(probs), 0))
    flat = keep + lo
    metric = flat // (n_p * n_d)
    kinds = pd.Index(KINDS)
    kind_of_metric = np.array([kinds.get_loc(metric_kind(m)) for m in layout.metrics], dtype=np.int64)
    return pd.DataFrame(
        {
            "date": layout.dates.values[(flat // n_p) % n_d].astype("datetime64[ms]"),
            "metric": pd.Categorical.from_codes(metric, pd.Index(layout.metrics)),
            "kind": pd.Categorical.from_codes(kind_of_metric[metric], kinds),
            "place": pd.Categorical.from_codes(flat % n_p, pd.Index([*layout.places, ALL_PLACES])),
            "runs": np.full(keep.size, len(files), dtype=np.int32),
            "mean": kept.mean(axis=0),
            "min": kept.min(axis=0, initial=np.inf) if keep.size else np.zeros(0),
            **{name: quant[j] for j, name in enumerate(names)},
            "max": kept.max(axis=0, initial=-np.inf) if keep.size else np.zeros(0),
        }
    )


def _write_slabs(fh: Any, files: Sequence[Path], layout: _Layout, memory_bytes: int) -> pd.DataFrame:
    """Write the per-place summary to ``fh``, one slab of keys after the other; return the
    rows over all places (small: one per metric and day), for ``totals.parquet``."""
    slabs = list(_iter_slabs(layout.n_keys, len(files), memory_bytes)) or [(0, 0)]
    writer: pq.ParquetWriter | None = None
    totals = []
    try:
        for lo, hi in slabs:
            frame = _slab_frame(files, layout, lo, hi)
            is_total = (frame["place"] == ALL_PLACES).to_numpy()
            # A ratio or a mean summed over places means nothing: no total for them.
            summable = frame["kind"].isin(["flow", "stock", "capacity"]).to_numpy()
            totals.append(frame[is_total & summable].drop(columns="place"))
            per_place = frame[~is_total].copy()
            per_place["place"] = per_place["place"].cat.remove_categories(ALL_PLACES)
            table = pa.Table.from_pandas(per_place, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    return pd.concat(totals, ignore_index=True)


def summarize_ensemble(
    out_dir: str | Path,
    runs: Sequence[int] | None = None,
    *,
    memory_bytes: int = _SUMMARY_MEMORY_BYTES,
) -> Path:
    """Write ``summary.parquet`` (per place) and ``totals.parquet`` (over all places).

    For every run, values are summed over nationalities per (metric, date, place):
    ``summary.parquet``, columns ``date, metric, kind, place, runs, mean, min, q05, q25,
    median, q75, q95, max``; and over places too: ``totals.parquet``, the same columns but
    ``place``, for flows, stocks and capacities (a ratio or a mean summed over places means
    nothing). The two are apart so that a sum over one never counts a person twice. A
    (metric, date, place) a run has no row for counts as 0 in that run (the tidy table
    leaves zeros out). Across runs: ``mean``, ``min``, ``max`` and the quantiles of
    :data:`QUANTILES` (``numpy.quantile``, linear interpolation): the median, the 50% band
    ``q25``-``q75`` and the 90% band ``q05``-``q95``; with fewer than
    :data:`MIN_RUNS_FOR_QUANTILES` runs, the 5% and 95% quantiles are interpolations
    between two runs: show ``min``-``max`` as the range of the runs instead (see
    :func:`interval_columns`). Per-place rows that are 0 in every run are left out;
    ``totals.parquet`` has every metric on every day.

    Parameters
    ----------
    out_dir : path
        An ensemble folder (its ``manifest.json`` gives the horizon and the runs).
    runs : sequence of int, optional
        The runs to summarise (default: all in the manifest; each must be written).
    memory_bytes : int
        Budget of the dense (runs x keys) array; above it, keys are summarised in slabs,
        each reading every partition again.

    Returns
    -------
    Path
        ``summary.parquet``, written atomically.
    """
    folder = Path(out_dir)
    manifest = _read_manifest(folder)
    if manifest is None:
        raise EnsembleError(f"{folder} holds no ensemble (no manifest.json)")
    run_ids = [int(r["run"]) for r in manifest["runs"]] if runs is None else list(runs)
    files = [folder / "runs" / f"run={r}" / "part.parquet" for r in run_ids]
    missing = [r for r, f in zip(run_ids, files, strict=True) if not f.exists()]
    if missing:
        raise EnsembleError(f"runs {missing} of {folder} are not written yet")
    start = np.datetime64(manifest["scenario"]["horizon"]["start"], "D")
    dates = pd.date_range(manifest["scenario"]["horizon"]["start"], manifest["scenario"]["horizon"]["end"])

    # Names come from the first run's categories (complete lists: every metric, every place).
    first = pd.read_parquet(files[0], columns=["metric", "place"])
    layout = _Layout(
        metrics=[str(m) for m in first["metric"].cat.categories],
        places=[str(p) for p in first["place"].cat.categories],
        dates=dates,
        start=start,
    )
    target = folder / "summary.parquet"
    totals: list[pd.DataFrame] = []
    write_atomically(target, lambda fh: totals.append(_write_slabs(fh, files, layout, memory_bytes)))
    (frame,) = totals
    write_atomically(folder / TOTALS_NAME, lambda fh: frame.to_parquet(fh, index=False))
    return target
