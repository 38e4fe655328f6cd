"""Monthly outcomes by place as an HXL-tagged CSV, the form of datasets on HDX.

The Humanitarian Data Exchange (https://data.humdata.org) and its tools (Quick Charts, HXL
Proxy) read a CSV whose second row holds HXL hashtags (https://hxlstandard.org), one per
column: ``#date``, ``#adm1+name``, ``#loc+name``, ``#geo+lat`` ... A run's
``daily.parquet`` becomes one row per month and place: flows summed over the month, stocks
on the month's last simulated day, in persons.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from corridor.atomic import write_text_atomically
from corridor.errors import InputError
from corridor.geography import Network, load_network
from corridor.metrics import metric_kind
from corridor.outputs import check_output_file

__all__ = ["HXL_COLUMNS", "HXL_NAME", "hxl_table", "hxl_text", "write_hxl"]

#: File name of the export in a run folder.
HXL_NAME = "monthly_by_place_hxl.csv"

#: (column, HXL hashtag, metric or None for a place attribute): the columns of the export.
HXL_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("month", "#date", None),
    ("country", "#country+code", None),
    ("state", "#adm1+name", None),
    ("place", "#loc+name", None),
    ("place_kind", "#loc+type", None),
    ("lat", "#geo+lat", None),
    ("lon", "#geo+lon", None),
    ("stranded", "#affected+stranded", "stranded"),
    ("unsheltered", "#affected+unsheltered", "unsheltered"),
    ("detained", "#affected+detained", "detained"),
    ("detention_capacity", "#capacity+detention", "detention_capacity"),
    ("asylum_pending", "#affected+asylum+pending", "asylum_pending"),
    ("border_waiting", "#affected+border+waiting", "border_waiting"),
    ("arrivals", "#affected+arrived", "arrivals"),
    ("interdictions", "#affected+interdicted", "interdictions"),
    ("detentions", "#affected+detentions", "detentions"),
    ("deportations", "#affected+deported", "deportations"),
    ("bused_south", "#affected+bused_south", "bused_south"),
    ("asylum_applications", "#affected+asylum+applied", "asylum_applications"),
    ("us_encounters", "#affected+us_encounters", "us_encounters"),
    ("deaths", "#affected+dead", "deaths"),
)


def hxl_table(daily: pd.DataFrame, network: Network | None = None) -> pd.DataFrame:
    """Monthly outcomes by place from a run's tidy table (``daily.parquet``).

    Parameters
    ----------
    daily : DataFrame
        A tidy table as :meth:`corridor.Results.to_frame` gives it.
    network : Network, optional
        The geography of the places (default the shipped one).

    Returns
    -------
    DataFrame
        One row per month and place (every place, every month of the run), the columns of
        :data:`HXL_COLUMNS`: flows summed over the month, stocks and capacities on its last
        simulated day, in persons (rounded to whole persons).
    """
    net = network or load_network()
    if daily.empty:
        raise InputError("daily.parquet: no rows; expected a run's tidy table")
    dates = pd.DatetimeIndex(daily["date"])
    days = pd.date_range(dates.min(), dates.max(), freq="D")
    months = days.to_period("M")
    last_days = pd.Series(days, index=months).groupby(level=0).max()
    metrics = [m for _, _, m in HXL_COLUMNS if m is not None]
    rows = daily[daily["metric"].isin(metrics) & daily["place"].notna()]
    rows = rows.assign(month=pd.DatetimeIndex(rows["date"]).to_period("M"))
    grid = pd.MultiIndex.from_product([last_days.index, net.place_names], names=["month", "place"])
    out = pd.DataFrame(index=grid)
    for column, _, metric in HXL_COLUMNS:
        if metric is None:
            continue
        these = rows[rows["metric"] == metric]
        if metric_kind(metric) == "flow":
            picked = these
        else:  # a stock or capacity: its value on the month's last simulated day
            picked = these[pd.DatetimeIndex(these["date"]).isin(last_days.to_numpy())]
        values = picked.groupby(["month", picked["place"].astype(str)])["value"].sum()
        out[column] = values.reindex(grid, fill_value=0.0).round().astype("int64").to_numpy()
    place = pd.Index(net.place_names).get_indexer(out.index.get_level_values("place"))
    out.insert(0, "lon", net.lon[place])
    out.insert(0, "lat", net.lat[place])
    out.insert(0, "place_kind", net.place_kind[place])
    out.insert(0, "state", net.place_state[place])
    out.insert(0, "country", net.place_country[place])
    out = out.reset_index()
    out["month"] = out["month"].astype(str)
    return out[[c for c, _, _ in HXL_COLUMNS]]


def hxl_text(table: pd.DataFrame) -> str:
    """The CSV text: a header row, the HXL hashtag row, then the rows of ``table``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c for c, _, _ in HXL_COLUMNS])
    writer.writerow([tag for _, tag, _ in HXL_COLUMNS])
    writer.writerows(table[[c for c, _, _ in HXL_COLUMNS]].itertuples(index=False, name=None))
    return buffer.getvalue()


def _is_export(path: Path) -> bool:
    """Whether ``path`` is an export this module wrote (its first two rows are ours)."""
    try:
        with path.open(encoding="utf-8") as fh:
            head = [fh.readline(), fh.readline()]
    except (OSError, UnicodeDecodeError):
        return False
    return head == [
        ",".join(c for c, _, _ in HXL_COLUMNS) + "\n",
        ",".join(t for _, t, _ in HXL_COLUMNS) + "\n",
    ]


def write_hxl(run_dir: str | Path, out: str | Path | None = None, *, force: bool = False) -> Path:
    """Write the HXL export of the run in ``run_dir`` (default ``RUN_DIR/``:data:`HXL_NAME`).

    An existing file is replaced only if it is an earlier export (and not tracked by git),
    unless ``force``.

    Raises
    ------
    InputError
        ``run_dir`` holds no run (no ``run.json`` and ``daily.parquet``).
    OutputError
        ``out`` exists and is not an earlier export (and ``force`` is off).
    """
    folder = Path(run_dir)
    if not (folder / "run.json").is_file() or not (folder / "daily.parquet").is_file():
        raise InputError(f"{folder}: holds no run.json and daily.parquet; expected a folder of corridor run")
    target = Path(out) if out is not None else folder / HXL_NAME
    check_output_file(target, recognised=_is_export, force=force)
    table = hxl_table(pd.read_parquet(folder / "daily.parquet"))
    write_text_atomically(target, hxl_text(table))
    return target
