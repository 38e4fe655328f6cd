"""Check that the engine's results are byte-identical to a reference (a speed-up must not
change a single count).

Each case is one ``corridor.simulate`` run; its digest is a SHA-256 per field of the
:class:`corridor.Results` (arrays by dtype, shape and bytes; tables by their columns and
pandas' row hashes), plus the run facts that follow from the draws (agents, agent-steps).
Usage, with the code before the change exported to /tmp/before (``git archive HEAD``)::

    PYTHONPATH=/tmp/before/src python benchmarks/engine_identical.py \
        --scenarios /tmp/before/scenarios --save /tmp/engine_reference.json
    python benchmarks/engine_identical.py --scenarios /tmp/before/scenarios \
        --check /tmp/engine_reference.json

Which code runs is whichever ``corridor`` Python imports (``PYTHONPATH`` first). The
scenario files are read from ``--scenarios`` so that edits to ``scenarios/`` made meanwhile
do not show up as differences. ``--check`` exits 1 naming each case and field that differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: (scenario file name, seed, agents): the cases compared.
CASES: tuple[tuple[str, int, int], ...] = (
    ("mexico-2019.yaml", 1, 20_000),
    ("mexico-2019.yaml", 2, 20_000),
    ("mexico-2019.yaml", 3, 3_000),
    ("mexico-2018-2024.yaml", 1, 20_000),
    ("mexico-2023-24.yaml", 1, 20_000),
)

#: Run facts that depend only on the draws (not on the clock or the machine).
_INFO_KEYS = ("agents", "agent_steps", "days", "scale_persons_per_agent")


def _sha(value: Any) -> str:
    """A SHA-256 of one Results field, computed the same way on every machine."""
    h = hashlib.sha256()
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, pd.DatetimeIndex):
        h.update(value.asi8.tobytes())
    elif isinstance(value, pd.DataFrame):
        h.update(json.dumps([str(c) for c in value.columns]).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif value is None or isinstance(value, int | float | str | list):
        h.update(json.dumps(value).encode())
    else:
        raise TypeError(f"no digest rule for {type(value).__name__}")
    return h.hexdigest()


def digest(results: Any) -> dict[str, str]:
    """SHA-256 of every field of ``results`` (a corridor.Results) and of its draw-dependent facts."""
    out = {}
    for f in dataclasses.fields(results):
        if f.name == "info":
            continue
        out[f.name] = _sha(getattr(results, f.name))
    out["info"] = _sha([results.info.get(k) for k in _INFO_KEYS])
    return out


def run_cases(scenarios: Path) -> dict[str, dict[str, str]]:
    """Digests of every case in :data:`CASES`, keyed ``scenario:seed:agents``."""
    import corridor

    print(f"corridor from {Path(corridor.__file__).parent}", file=sys.stderr)
    out = {}
    for name, seed, agents in CASES:
        start = time.perf_counter()
        results = corridor.simulate(scenarios / name, seed=seed, agents=agents)
        key = f"{name}:{seed}:{agents}"
        out[key] = digest(results)
        print(f"{key}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, default=Path("scenarios"), help="Folder of the scenarios.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="Write the digests to this JSON file.")
    group.add_argument("--check", type=Path, help="Compare with the digests in this JSON file.")
    args = parser.parse_args()
    got = run_cases(args.scenarios)
    if args.save is not None:
        args.save.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"saved {len(got)} cases to {args.save}")
        return 0
    want = json.loads(args.check.read_text())
    bad = [
        f"{case}: {field}"
        for case in sorted(set(want) | set(got))
        for field in sorted(set(want.get(case, {})) | set(got.get(case, {})))
        if want.get(case, {}).get(field) != got.get(case, {}).get(field)
    ]
    for line in bad:
        print(f"DIFFERS {line}")
    print("identical" if not bad else f"{len(bad)} fields differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
