"""The sensitivity folder: tables, the page, and sensitivity.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.outputs import publish_folder
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

    Published as one folder (:func:`corridor.outputs.publish_folder`): a folder holding files
    corridor did not write is refused (:class:`OutputError`) unless ``force``; then the files
    are written beside them, and they are kept."""
    names = dict(zip(("csv", "samples", "html", "json"), SENSITIVITY_OUTPUTS, strict=True))

    def fill(folder: Path) -> None:
        (folder / names["csv"]).write_text(result.indices.to_csv(index=False), encoding="utf-8")
        (folder / names["samples"]).write_text(result.samples.to_csv(index_label="run"), encoding="utf-8")
        sensitivity_html(result, folder / names["html"])
        meta = {**copy.deepcopy(result.info), "baseline": result.baseline.to_dict()}
        (folder / names["json"]).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")

    dest = publish_folder(out_dir, fill, SENSITIVITY_OUTPUTS, "sensitivity.json", force=force)
    return {key: dest / name for key, name in names.items()}
