"""The calibrated scenario: the base scenario with the posterior medians, and their provenance."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from corridor.atomic import write_text_atomically
from corridor.calibrate.result import _sig
from corridor.errors import CalibrationError
from corridor.scenario import load_scenario


# -------------------------------------------------------------- calibrated scenario
def write_calibrated_scenario(
    original: str | Path,
    medians: Mapping[str, float],
    posterior_path: str | Path,
    out: str | Path,
    note: str = "",
) -> Path:
    """Write a variant of ``original`` that sets ``medians`` (``base:`` + ``changes:``).

    The variant names the posterior file in its header comment and description, so that
    ``corridor ensemble <variant> --posterior <file>`` runs draws from it; its provenance
    states where the calibrated values come from. If ``original`` is itself a variant, the
    new one keeps its base and adds the medians to its changes.
    """
    original = Path(original).resolve()
    target = Path(out).resolve()
    raw = yaml.safe_load(original.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise CalibrationError(f"{original}: not a scenario mapping")
    if "base" in raw:
        base_file = (original.parent / str(raw["base"])).resolve()
        base_raw = yaml.safe_load(base_file.read_text(encoding="utf-8"))
        data: dict[str, Any] = dict(raw)
        changes = dict(raw.get("changes") or {})
        provenance = dict(raw.get("provenance") or base_raw.get("provenance") or {})
    else:
        base_file = original
        data = {}
        changes = {}
        provenance = dict(raw.get("provenance") or {})
    post = Path(posterior_path).resolve()
    post_rel = os.path.relpath(post, target.parent)
    name = f"{raw.get('name') or base_raw.get('name', 'scenario')}-calibrated"
    data["base"] = os.path.relpath(base_file, target.parent)
    data["name"] = name
    data["description"] = (
        f"{original.name} with its calibrated parameters at their posterior medians "
        f"(corridor calibrate; posterior draws: {post_rel}). {note}".strip()
    )
    changes.update({k: _sig(float(v), 6) for k, v in medians.items()})
    data["changes"] = changes
    for path in medians:
        provenance[path] = {
            "source": f"posterior median of corridor calibrate (ABC-SMC) against the observed data "
            f"before the held-out cut-off; draws in {post_rel}"
        }
    data["provenance"] = provenance
    ordered: dict[str, Any] = {k: data[k] for k in ("base", "name", "description", "changes") if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    header = (
        f"# Calibrated variant of {original.name}, written by corridor calibrate.\n"
        f"# Posterior draws: {post_rel} (columns: dotted paths + weight).\n"
        f"# Ensemble over the posterior: corridor ensemble {target.name} --posterior {post_rel} --runs N\n"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, header + yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True))
    load_scenario(target)  # the variant must load
    return target
