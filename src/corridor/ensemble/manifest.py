"""The ensemble's ``manifest.json``: writing, reading, and the resume check."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from corridor.atomic import write_atomically
from corridor.scenario import Scenario

if TYPE_CHECKING:
    pass
from corridor.errors import EnsembleError

#: ``format`` field of ``manifest.json``; bumped when the layout changes.
MANIFEST_FORMAT = "corridor-ensemble/1"


# --------------------------------------------------------------------------- manifest
def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (dates become ISO strings, tuples lists)."""
    return json.loads(json.dumps(value, default=_json_default, sort_keys=True))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _content_sha256(scenario: Scenario) -> str:
    """Digest of the validated scenario (after variants and overrides), whatever their spelling."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


def _write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, default=_json_default) + "\n"
    write_atomically(out_dir / "manifest.json", lambda fh: fh.write(text.encode()))


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    file = out_dir / "manifest.json"
    if not file.exists():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EnsembleError(f"{file} is not readable JSON ({exc}); use another output folder") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise EnsembleError(f"{file} is not a {MANIFEST_FORMAT} manifest; use another output folder")
    return manifest


def _check_resume(out_dir: Path, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Refuse to resume ``out_dir`` unless the new request extends the ensemble it holds."""
    problems = []
    if old["scenario"]["content_sha256"] != new["scenario"]["content_sha256"]:
        problems.append(
            f"scenario: it holds {old['scenario']['name']!r} ({old['scenario']['path']}, "
            f"sha256 {old['scenario']['sha256'][:12]}), not this one "
            f"({new['scenario']['path']}, sha256 {new['scenario']['sha256'][:12]})"
        )
    for key in ("agents", "scale", "overrides"):
        if old["options"].get(key) != new["options"].get(key):
            problems.append(
                f"{key}: it was run with {old['options'].get(key)!r}, not {new['options'].get(key)!r}"
            )
    old_post, new_post = old.get("posterior"), new.get("posterior")
    if (old_post is None) != (new_post is None):
        problems.append(f"posterior: it was run {'with' if old_post else 'without'} one")
    elif old_post is not None and new_post is not None:
        for key in ("sha256", "sampling"):
            if old_post[key] != new_post[key]:
                problems.append(f"posterior {key}: {old_post[key]!r} then, {new_post[key]!r} now")
    old_runs, new_runs = old["runs"], new["runs"]
    if len(new_runs) < len(old_runs):
        problems.append(f"runs: it holds {len(old_runs)} runs; ask for at least as many (or another folder)")
    for before, now in zip(old_runs, new_runs, strict=False):
        if (before["seed"], before["draw"]) != (now["seed"], now["draw"]):
            problems.append(
                f"run {before['run']}: it was seed {before['seed']}, draw {before['draw']}; "
                f"now seed {now['seed']}, draw {now['draw']}"
            )
            break
    if problems:
        raise EnsembleError(
            f"{out_dir} holds another ensemble; use another output folder (--out) or the same options.\n"
            + "\n".join(f"  {p}" for p in problems)
        )
