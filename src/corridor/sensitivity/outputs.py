"""The sensitivity folder: tables, the page, and sensitivity.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.atomic import write_text_atomically
from corridor.outputs import check_output_folder
from corridor.sensitivity.page import sensitivity_html as sensitivity_html

if TYPE_CHECKING:
    from corridor.sensitivity.analysis import SensitivityResult


#: The files ``corridor sensitivity`` writes into its folder (``sensitivity.json``, last, marks it).
SENSITIVITY_OUTPUTS = ("sensitivity.csv", "samples.csv", "sensitivity.html", "sensitivity.json")


def write_sensitivity(
    result: SensitivityResult, out_dir: str | Path, *, force: bool = False
) -> dict[str, Path]:
    """Write ``sensitivity.csv`` (the ranked indices), ``samples.csv`` (every run's draw and
    outcomes), ``sensitivity.html`` (the heatmap) and ``sensitivity.json`` (the options).

    A folder holding files corridor did not write is refused (:class:`OutputError`) unless
    ``force``; then the files are written beside them, and they are kept."""
    folder = Path(out_dir)
    check_output_folder(folder, SENSITIVITY_OUTPUTS, "sensitivity.json", force=force, what="--out")
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": folder / "sensitivity.csv",
        "samples": folder / "samples.csv",
        "html": folder / "sensitivity.html",
        "json": folder / "sensitivity.json",
    }
    write_text_atomically(paths["csv"], result.indices.to_csv(index=False))
    write_text_atomically(paths["samples"], result.samples.to_csv(index_label="run"))
    sensitivity_html(result, paths["html"])
    meta = {**copy.deepcopy(result.info), "baseline": result.baseline.to_dict()}
    write_text_atomically(paths["json"], json.dumps(meta, indent=2, default=str) + "\n")
    return paths
