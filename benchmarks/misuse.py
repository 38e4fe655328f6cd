"""Misuse battery: the ``corridor`` CLI tried by a careless or hostile user, from outside.

Every case is one ``corridor ...`` command run as a subprocess, in a fresh temporary folder
laid out like a user's project (sentinel files ``README.md``, ``thesis.tex``,
``src/code.py``, a ``thesis/`` folder, a home-like folder that ``HOME`` points at, and a
copy of ``scenarios/``), under a memory cap (``RLIMIT_AS``) and a timeout. The cases are
generated from the shipped ``scenarios/mexico-2019.yaml`` by mutation: output folders and
scenario names that point at user files, hostile YAML (alias bombs, deep nesting, recursive
aliases, huge or binary files, odd encodings, special files, Python tags), every numeric
field set to nonsense, broken inflow files and horizons, nonsense options, ``base:``
pointing at system or foreign files, broken ``--observed`` files for ``validate``, nonsense
options of the other commands, and legitimate control cases. Runs that simulate use
``--agents 2000`` (``--runs 1`` / ``--seeds 1``). Usage::

    python benchmarks/misuse.py [--quick] [--jobs 2] [--results benchmarks/results/misuse.jsonl]
        [--timeout 30] [--mem-gib 3] [--all-values] [--filter REGEX] [--list] [--keep]

The full battery (about 550 cases) takes about 9 minutes on 2 cores; ``--quick`` runs about
60 of them. Every numeric field gets ``.nan`` and ``-1`` and two of the other bad values in
rotation (``--all-values``: all eight on every field, about 780 cases). The memory cap of 3 GiB
of address space is several times what ``corridor run scenarios/mexico-2019.yaml --agents
2000`` needs (it also runs under 1 GiB).

Classes (one per case):

- ``clean``: exit code 2 and a one-line message (a stderr line starting with ``error:``, or a
  click usage error), no ``Traceback`` in the output.
- ``traceback``: a ``Traceback`` in stdout or stderr, or exit code 1 (an uncaught exception).
- ``hang``: still running at the timeout (the process group is killed).
- ``killed``: negative return code (a signal: the memory cap, a segfault...).
- ``accepted``: exit 0 for a nonsense case that should have been refused.
- ``ok``: exit 0 for a case that may legitimately succeed.
- ``other``: anything else (exit 2 without a message, another exit code).

Flags (any class):

- ``lost``: a file that existed before the case (sentinels, the scenario copies, files in an
  ``--out`` folder) is missing or no longer byte-identical afterwards.
- ``partial``: the command did not succeed yet left new files or folders in the case folder.
- ``leaked``: a line of a file that must not be shown (``/etc/passwd`` as ``base:``)
  appears in the output.

Each case expects ``refuse`` (nonsense: only ``clean`` is right), ``succeed`` (a control:
only ``ok`` is right) or ``either`` (``ok`` or ``clean`` are both right). One JSON line per
case goes to ``--results``; the summary at the end lists the cases whose outcome is wrong.
The battery never stops on a case's failure (a harness error is recorded as class
``harness-error``). Temporary folders are removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import math
import os
import random
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASE_SCENARIO = SCENARIOS / "mexico-2019.yaml"
OBSERVED = ROOT / "src" / "corridor" / "data" / "observed" / "observed.csv"
AGENTS = "2000"

#: Placeholders in a case's argv, replaced by absolute paths of the case folder.
#: {W}: the working folder (cwd); {R}: the case root (parent of the working folder);
#: {H}: the home-like folder (HOME); {S}: the working copy of scenarios/.
Setup = Callable[[Path], None]

SENTINELS: dict[str, bytes] = {
    "README.md": b"# My project\n\nNotes I care about.\n",
    "thesis.tex": b"\\documentclass{article}\n\\begin{document}Chapter 1\\end{document}\n",
    "src/code.py": b"print('my code')\n",
}
THESIS_FOLDER: dict[str, bytes] = {
    "thesis.tex": b"\\documentclass{book}\n% two years of work\n",
    "chapters/intro.tex": b"\\chapter{Introduction}\n",
    "figures/fig1.pdf": bytes(range(256)) * 8,
    "refs.bib": b"@article{a, title={A}}\n",
}
HOME_FILES: dict[str, bytes] = {
    ".bashrc": b"export PATH=$HOME/bin:$PATH\n",
    ".ssh/known_hosts": b"example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE\n",
    "Documents/thesis.tex": b"\\documentclass{article}\n% home copy\n",
    "src/code.py": b"print('home code')\n",
}


@dataclass
class Case:
    """One command to try. ``argv`` follows ``corridor``; placeholders as documented above."""

    name: str
    group: str
    argv: list[str]
    expect: str = "refuse"  # refuse | succeed | either
    setup: Setup | None = None
    secret_file: str | None = None  # lines of this file must not appear in the output
    note: str = ""


@dataclass
class Outcome:
    case: Case
    command: str
    cls: str
    rc: int | None
    seconds: float
    stderr_first: str
    message: str
    lost: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    leaked: bool = False

    @property
    def wrong(self) -> bool:
        """The outcome is a bug: a wrong class for the expectation, or a flag raised."""
        good = {"refuse": {"clean"}, "succeed": {"ok"}, "either": {"clean", "ok"}}[self.case.expect]
        return self.cls not in good or bool(self.lost) or bool(self.partial) or self.leaked

    def record(self) -> dict[str, Any]:
        return {
            "case": self.case.name,
            "group": self.case.group,
            "expect": self.case.expect,
            "command": self.command,
            "class": self.cls,
            "rc": self.rc,
            "seconds": round(self.seconds, 2),
            "stderr_first": self.stderr_first,
            "message": self.message,
            "lost": self.lost,
            "partial": self.partial,
            "leaked": self.leaked,
            "wrong": self.wrong,
        }


# --------------------------------------------------------------------------- helpers


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)


def base_data() -> dict[str, Any]:
    with BASE_SCENARIO.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def scenario_file(name: str, data: Any | None = None, text: str | bytes | None = None) -> Setup:
    """Setup writing a scenario into the working copy of scenarios/ (its inputs/ resolve)."""

    def setup(w: Path) -> None:
        content: str | bytes = text if text is not None else dump(data)
        write(w / "scenarios" / name, content)

    return setup


def mutated(path: list[str | int], value: Any) -> dict[str, Any]:
    """The base scenario with the node at ``path`` (keys or list indices) replaced by value."""
    data = base_data()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def run_args(*extra: str, scenario: str = "{S}/mexico-2019.yaml") -> list[str]:
    return ["run", scenario, "--agents", AGENTS, *extra]


def validate_args(*extra: str, scenario: str = "{S}/mexico-2019.yaml") -> list[str]:
    return ["validate", scenario, "--runs", "1", "--agents", AGENTS, *extra]


def both(*setups: Setup | None) -> Setup:
    def setup(w: Path) -> None:
        for s in setups:
            if s is not None:
                s(w)

    return setup


def make_fifo(rel: str) -> Setup:
    def setup(w: Path) -> None:
        (w / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(w / rel)

    return setup


def make_dir(rel: str) -> Setup:
    def setup(w: Path) -> None:
        (w / rel).mkdir(parents=True, exist_ok=True)
        write(w / rel / "inside.txt", "a file in a folder\n")

    return setup


def make_symlink(rel: str, target: str) -> Setup:
    def setup(w: Path) -> None:
        (w / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, w / rel)

    return setup


def text_file(rel: str, data: bytes | str) -> Setup:
    def setup(w: Path) -> None:
        write(w / rel, data)

    return setup


def billion_laughs(levels: int = 9, width: int = 9, prefix: str = "a") -> list[str]:
    """Anchor lines ``a0: &a0 [lol, ...]``, ``a1: &a1 [*a0, ...]``...: width**levels leaves."""
    lines = [f"{prefix}0: &{prefix}0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        refs = ", ".join([f"*{prefix}{i - 1}"] * width)
        lines.append(f"{prefix}{i}: &{prefix}{i} [{refs}]")
    return lines


def flow_laughs(levels: int = 9, width: int = 9) -> str:
    """A billion-laughs list in flow style, short enough for one --set value."""
    parts = ["&l0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        parts.append(f"&l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]")
    return "[" + ", ".join(parts) + "]"


# --------------------------------------------------------------------------- case groups


def out_cases() -> Iterator[Case]:
    """--out into folders holding user files, with and without --force."""
    targets = {
        "cwd": "{W}",
        "dot": ".",
        "thesis-folder": "thesis",
        "home": "{H}",
        "parent": "..",
        "tilde-literal": "~",
    }
    for label, target in targets.items():
        expect = "either" if label == "tilde-literal" else "refuse"
        yield Case(f"out/run-{label}", "out", run_args("--out", target), expect=expect)
        yield Case(f"out/run-{label}-force", "out", run_args("--out", target, "--force"), expect="succeed")
    yield Case("out/run-onto-file", "out", run_args("--out", "README.md"))
    yield Case("out/run-onto-file-force", "out", run_args("--out", "README.md", "--force"))
    yield Case("out/run-under-file", "out", run_args("--out", "README.md/run"))
    yield Case("out/run-root", "out", run_args("--out", "/"))
    yield Case("out/run-dev-null", "out", run_args("--out", "/dev/null"))
    yield Case("out/run-empty-string", "out", run_args("--out", ""))
    yield Case(
        "out/run-fifo", "out", run_args("--out", "pipe"), setup=make_fifo("pipe"), note="--out names a FIFO"
    )
    yield Case("out/validate-cwd", "out", validate_args("--out", "."))
    yield Case(
        "out/validate-thesis-force", "out", validate_args("--out", "thesis", "--force"), expect="either"
    )
    yield Case("out/validate-home", "out", validate_args("--out", "{H}"))
    yield Case(
        "out/compare-cwd",
        "out",
        [
            "compare",
            "{S}/mexico-2019.yaml",
            "{S}/mexico-2019.yaml",
            "--seeds",
            "1",
            "--agents",
            AGENTS,
            "--out",
            ".",
        ],
    )
    yield Case(
        "out/compare-thesis-force",
        "out",
        [
            "compare",
            "{S}/mexico-2019.yaml",
            "{S}/counterfactuals/mexico-2019-no-deal.yaml",
            "--seeds",
            "1",
            "--agents",
            AGENTS,
            "--out",
            "thesis",
            "--force",
        ],
        expect="succeed",
    )
    yield Case(
        "out/ensemble-cwd",
        "out",
        [
            "ensemble",
            "{S}/mexico-2019.yaml",
            "--runs",
            "1",
            "--agents",
            AGENTS,
            "--workers",
            "1",
            "--out",
            ".",
        ],
    )
    yield Case(
        "out/sensitivity-home",
        "out",
        ["sensitivity", "{S}/mexico-2019.yaml", "--agents", AGENTS, "--workers", "1", "--out", "{H}"],
    )
    yield Case(
        "out/calibrate-cwd",
        "out",
        [
            "calibrate",
            "{S}/mexico-2019.yaml",
            "--budget",
            "4",
            "--population",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
            "--out",
            ".",
        ],
    )


def name_cases() -> Iterator[Case]:
    """Scenario ``name:`` that is a path, via the file and via --set."""
    names = {
        "absolute": "{R}/outside/abs",
        "dotdot2": "../..",
        "dotdot": "..",
        "dot": ".",
        "slash": "a/b",
        "empty": "",
        "backslash": "a\\b",
        "newline": "a\nb",
        "nul": "a\x00b",
        "long": "n" * 300,
        "tilde": "~",
        "etc": "/etc",
    }
    for label, value in names.items():

        def setup(w: Path, value: str = value) -> None:
            data = base_data()
            data["name"] = value.replace("{R}", str(w.parent))
            write(w / "scenarios" / "named.yaml", dump(data))

        yield Case(f"name/file-{label}", "name", run_args(scenario="{S}/named.yaml"), setup=setup)
        if "\x00" not in value:
            yield Case(f"name/set-{label}", "name", run_args("--set", f"name={value}"))
    yield Case("name/set-list", "name", run_args("--set", "name=[a, b]"))
    yield Case("name/set-number", "name", run_args("--set", "name=7"), expect="either")
    yield Case("name/set-null", "name", run_args("--set", "name=null"))
    yield Case("name/file-absolute-validate", "name", validate_args("--set", "name=/tmp"))


def yaml_cases() -> Iterator[Case]:
    """Hostile or broken scenario files."""
    text = BASE_SCENARIO.read_text(encoding="utf-8")
    laughs = "\n".join(billion_laughs())
    yield Case(
        "yaml/laughs-top",
        "yaml",
        run_args(scenario="{S}/bomb.yaml"),
        setup=scenario_file("bomb.yaml", text=text + "\n" + laughs + "\nlaughs: *a8\n"),
    )
    yield Case(
        "yaml/laughs-top-only",
        "yaml",
        run_args(scenario="{S}/bomb.yaml"),
        setup=scenario_file("bomb.yaml", text=laughs + "\n"),
    )
    inner = "\n".join("      " + line for line in billion_laughs())
    ev = text.replace(
        "    set:\n      visas.window_open: true\n",
        "    set:\n" + inner + "\n      visas.window_open: *a8\n",
        1,
    )
    yield Case(
        "yaml/laughs-events-set",
        "yaml",
        run_args(scenario="{S}/bomb.yaml"),
        setup=scenario_file("bomb.yaml", text=ev),
    )
    desc = text.replace("description: >-", "description: *a8\nold_description: >-", 1)
    yield Case(
        "yaml/laughs-description",
        "yaml",
        run_args(scenario="{S}/bomb.yaml"),
        setup=scenario_file("bomb.yaml", text=laughs + "\n" + desc),
    )
    for target in ("description", "events.0.set.visas.window_open", "policy.bus_south_share", "laughs"):
        yield Case(f"yaml/laughs-set-{target}", "yaml", run_args("--set", f"{target}={flow_laughs()}"))
    yield Case("yaml/laughs-set-validate", "yaml", validate_args("--set", f"description={flow_laughs()}"))
    deep = "[" * 900 + "]" * 900
    yield Case(
        "yaml/nest-900-description",
        "yaml",
        run_args(scenario="{S}/deep.yaml"),
        setup=scenario_file("deep.yaml", text=text + "\ndeep: " + deep + "\n"),
    )
    block = "".join(" " * i + "k:\n" for i in range(900)) + " " * 900 + "k: 1\n"
    yield Case(
        "yaml/nest-900-block",
        "yaml",
        run_args(scenario="{S}/deep.yaml"),
        setup=scenario_file(
            "deep.yaml", text=text + "\ndeep:\n" + "".join(" " + ln for ln in block.splitlines(True))
        ),
    )
    yield Case("yaml/nest-900-set", "yaml", run_args("--set", f"description={deep}"))
    yield Case("yaml/nest-5000-set", "yaml", run_args("--set", "description=" + "[" * 3000 + "]" * 3000))
    yield Case(
        "yaml/recursive-alias",
        "yaml",
        run_args(scenario="{S}/rec.yaml"),
        setup=scenario_file("rec.yaml", text=text + "\nloop: &loop [*loop]\n"),
    )
    yield Case(
        "yaml/recursive-alias-description",
        "yaml",
        run_args(scenario="{S}/rec.yaml"),
        setup=scenario_file(
            "rec.yaml", text=text.replace("description: >-", "description: &d [*d]\nold_description: >-", 1)
        ),
    )
    yield Case(
        "yaml/recursive-alias-map",
        "yaml",
        run_args(scenario="{S}/rec.yaml"),
        setup=scenario_file(
            "rec.yaml", text=text.replace("population:\n", "population: &p\n  self: *p\n", 1)
        ),
    )
    yield Case("yaml/recursive-alias-set", "yaml", run_args("--set", "description=&x [*x]"))

    def big(w: Path) -> None:
        path = w / "scenarios" / "big.yaml"
        with path.open("w", encoding="utf-8") as f:
            f.write(text.replace("description: >-", "old_description: >-", 1))
            f.write("\ndescription: '")
            chunk = "x" * (1 << 20)
            for _ in range(50):
                f.write(chunk)
            f.write("'\n")

    yield Case("yaml/50MB", "yaml", run_args(scenario="{S}/big.yaml"), setup=big)

    def big_comment(w: Path) -> None:
        path = w / "scenarios" / "big.yaml"
        with path.open("w", encoding="utf-8") as f:
            f.write(text)
            line = "# " + "y" * 1000 + "\n"
            for _ in range(50 * 1024):
                f.write(line)

    yield Case("yaml/50MB-comments", "yaml", run_args(scenario="{S}/big.yaml"), setup=big_comment)
    junk = random.Random(7).randbytes(8192)
    yield Case(
        "yaml/binary-junk",
        "yaml",
        run_args(scenario="{S}/junk.yaml"),
        setup=scenario_file("junk.yaml", text=junk),
    )
    yield Case(
        "yaml/binary-nul",
        "yaml",
        run_args(scenario="{S}/nul.yaml"),
        setup=scenario_file("nul.yaml", text=text.encode()[:500] + b"\x00\x00" + text.encode()[500:]),
    )
    latin = text.replace(
        "Central American and extra-continental migration",
        "Central American (via Tecún Umán) and extra-continental migration",
        1,
    )
    yield Case(
        "yaml/latin-1",
        "yaml",
        run_args(scenario="{S}/latin1.yaml"),
        expect="either",
        setup=scenario_file("latin1.yaml", text=latin.encode("latin-1")),
    )
    yield Case(
        "yaml/utf-8-accents",
        "yaml",
        run_args(scenario="{S}/utf8.yaml"),
        expect="succeed",
        setup=scenario_file("utf8.yaml", text=latin),
    )
    yield Case(
        "yaml/utf-8-bom",
        "yaml",
        run_args(scenario="{S}/bom.yaml"),
        expect="either",
        setup=scenario_file("bom.yaml", text=b"\xef\xbb\xbf" + latin.encode()),
    )
    yield Case(
        "yaml/utf-16",
        "yaml",
        run_args(scenario="{S}/utf16.yaml"),
        expect="either",
        setup=scenario_file("utf16.yaml", text=latin.encode("utf-16")),
    )
    yield Case(
        "yaml/utf-16-le-nobom",
        "yaml",
        run_args(scenario="{S}/utf16.yaml"),
        expect="either",
        setup=scenario_file("utf16.yaml", text=latin.encode("utf-16-le")),
    )
    yield Case(
        "yaml/gzip",
        "yaml",
        run_args(scenario="{S}/mexico-2019.yaml.gz"),
        expect="either",
        setup=scenario_file("mexico-2019.yaml.gz", text=gzip.compress(text.encode(), mtime=0)),
    )
    yield Case(
        "yaml/gzip-as-yaml",
        "yaml",
        run_args(scenario="{S}/gz.yaml"),
        expect="either",
        setup=scenario_file("gz.yaml", text=gzip.compress(text.encode(), mtime=0)),
    )
    yield Case(
        "yaml/empty", "yaml", run_args(scenario="{S}/empty.yaml"), setup=scenario_file("empty.yaml", text="")
    )
    yield Case(
        "yaml/whitespace",
        "yaml",
        run_args(scenario="{S}/ws.yaml"),
        setup=scenario_file("ws.yaml", text="\n  \n# only a comment\n"),
    )
    yield Case(
        "yaml/null-doc",
        "yaml",
        run_args(scenario="{S}/null.yaml"),
        setup=scenario_file("null.yaml", text="~\n"),
    )
    yield Case(
        "yaml/scalar-doc",
        "yaml",
        run_args(scenario="{S}/scalar.yaml"),
        setup=scenario_file("scalar.yaml", text="hello\n"),
    )
    yield Case(
        "yaml/list-top",
        "yaml",
        run_args(scenario="{S}/list.yaml"),
        setup=scenario_file("list.yaml", data=[base_data()]),
    )
    yield Case(
        "yaml/two-documents",
        "yaml",
        run_args(scenario="{S}/two.yaml"),
        setup=scenario_file("two.yaml", text=text + "\n---\nname: second\n"),
    )
    yield Case(
        "yaml/duplicate-key",
        "yaml",
        run_args(scenario="{S}/dup.yaml"),
        setup=scenario_file("dup.yaml", text=text + "\ninflow_multiplier: 50.0\n"),
    )
    yield Case(
        "yaml/syntax-error",
        "yaml",
        run_args(scenario="{S}/bad.yaml"),
        setup=scenario_file("bad.yaml", text=text.replace("policy:\n", "policy: [\n", 1)),
    )
    yield Case(
        "yaml/tab-indent",
        "yaml",
        run_args(scenario="{S}/tab.yaml"),
        setup=scenario_file("tab.yaml", text=text.replace("\n  minor_share", "\n\tminor_share", 1)),
    )
    yield Case("yaml/folder", "yaml", run_args(scenario="{S}"))
    yield Case(
        "yaml/folder-named-yaml", "yaml", run_args(scenario="{W}/dir.yaml"), setup=make_dir("dir.yaml")
    )
    yield Case("yaml/dev-zero", "yaml", run_args(scenario="/dev/zero"))
    yield Case("yaml/dev-urandom", "yaml", run_args(scenario="/dev/urandom"))
    yield Case("yaml/dev-null", "yaml", run_args(scenario="/dev/null"))
    yield Case("yaml/fifo", "yaml", run_args(scenario="{W}/pipe.yaml"), setup=make_fifo("pipe.yaml"))
    yield Case(
        "yaml/symlink-dev-zero",
        "yaml",
        run_args(scenario="{W}/zero.yaml"),
        setup=make_symlink("zero.yaml", "/dev/zero"),
    )
    yield Case("yaml/missing", "yaml", run_args(scenario="{W}/nope.yaml"))
    yield Case("yaml/stdin-dash", "yaml", run_args(scenario="-"))
    for label, tag in {
        "object-apply": "!!python/object/apply:os.system ['touch {W}/pwned']",
        "object-new": "!!python/object/new:os.system ['touch {W}/pwned']",
        "name": "!!python/name:os.system",
        "object": "!!python/object:argparse.Namespace {a: 1}",
        "custom-tag": "!include /etc/passwd",
    }.items():

        def setup(w: Path, tag: str = tag) -> None:
            body = text.replace(
                "description: >-", "description: " + tag.replace("{W}", str(w)) + "\nold_description: >-", 1
            )
            write(w / "scenarios" / "tag.yaml", body)

        yield Case(f"yaml/tag-{label}", "yaml", run_args(scenario="{S}/tag.yaml"), setup=setup)
    yield Case(
        "yaml/tag-set",
        "yaml",
        run_args("--set", "description=!!python/object/apply:os.system ['touch pwned']"),
    )


def is_share(path: list[str]) -> bool:
    joined = ".".join(path)
    return any(w in joined for w in ("probability", "share", "uptake", "us_outcome_shares"))


def numeric_paths(data: Any, path: list[str] | None = None) -> Iterator[list[str]]:
    """Dotted paths of the scenario's numbers; one key per map of numbers (the 'default' if any)."""
    path = path or []
    if isinstance(data, dict):
        leaves = [k for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        keyed = len(leaves) == len(data) and len(data) > 1 and path and path[-1] not in ("default",)
        if keyed and not (path and path[0] == "priors"):
            key = "default" if "default" in data else leaves[0]
            yield [*path, str(key)]
            return
        for k, v in data.items():
            if path[:1] == ["events"] or path[:1] == ["priors"] or path[:1] == ["provenance"]:
                continue
            yield from numeric_paths(v, [*path, str(k)])
    elif isinstance(data, list):
        items = data[:1] if path and path[-1] in ("inflows", "offices") else data
        for i, v in enumerate(items):
            yield from numeric_paths(v, [*path, str(i)])
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path


BAD_VALUES: dict[str, tuple[str, Any]] = {
    # label: (--set text, value written into the file)
    "inf": (".inf", math.inf),
    "neg-inf": ("-.inf", -math.inf),
    "nan": (".nan", math.nan),
    "minus-1": ("-1", -1),
    "huge": ("1.0e+300", 1.0e300),
    "string": ("abc", "abc"),
    "list": ("[1, 2]", [1, 2]),
    "null": ("null", None),
}


#: Values every field gets; the other BAD_VALUES rotate over the fields, two per field
#: (all of them with --all-values).
ALWAYS = ("nan", "minus-1")
ALL_VALUES = False


def values_for(index: int) -> list[str]:
    if ALL_VALUES:
        return list(BAD_VALUES)
    rest = [v for v in BAD_VALUES if v not in ALWAYS]
    return [*ALWAYS, rest[(2 * index) % len(rest)], rest[(2 * index + 1) % len(rest)]]


def value_cases() -> Iterator[Case]:
    """Every numeric field set to nonsense, one at a time (--set; events and priors via the file)."""
    data = base_data()
    for index, path in enumerate(numeric_paths(data)):
        dotted = ".".join(path)
        for label in values_for(index):
            raw = BAD_VALUES[label][0]
            expect = "refuse"
            if label == "huge" and not is_share(path):
                expect = "either"  # an absurd capacity or delay may be accepted, but must not crash
            yield Case(
                f"value/{dotted}={label}", "value", run_args("--set", f"{dotted}={raw}"), expect=expect
            )
    # keys holding dots (events' set:, priors) cannot be reached by --set: mutate the file
    file_paths: list[tuple[str, list[str | int]]] = [
        (
            "events.5.set[metering.daily_intake.Tijuana]",
            ["events", 5, "set", "metering.daily_intake.Tijuana"],
        ),
        ("events.8.set[raid_probability_per_day]", ["events", 8, "set", "raid_probability_per_day"]),
        ("events.0.date", ["events", 0, "date"]),
        ("priors[inflow_multiplier].sd", ["priors", "inflow_multiplier", "sd"]),
        ("priors[policy.raid_probability_per_day].low", ["priors", "policy.raid_probability_per_day", "low"]),
    ]
    for index, (label, path) in enumerate(file_paths):
        for vlabel in values_for(index):
            value = BAD_VALUES[vlabel][1]
            expect = "refuse"
            if vlabel == "huge" and "raid" not in label:
                expect = "either"
            if vlabel == "minus-1" and label.startswith("priors[inflow_multiplier]") and path[-1] == "mean":
                expect = "either"
            yield Case(
                f"value-file/{label}={vlabel}",
                "value",
                run_args(scenario="{S}/mutated.yaml"),
                expect=expect,
                setup=scenario_file("mutated.yaml", mutated(path, value)),
            )
    # the whole-section and type confusions
    for dotted, raw in {
        "policy": "3",
        "population": "null",
        "inflows": "[]",
        "inflows.0": "abc",
        "events": "{a: 1}",
        "horizon": "[2019, 2020]",
        "behaviour.speed_km_per_day": "{foot: 25}",
        "policy.asylum.offices": "[]",
        "policy.closed_routes.0.mode": "teleport",
        "policy.detention_capacity.Nowhere": "10",
        "population.destination_weights": "{Atlantis: 1.0}",
        "inflows.0.entry": "{Atlantis: 1.0}",
        "inflows.1.entry": "{}",
        "inflows.0.nationality": "''",
        "policy.visas.window_open": "maybe",
        "inflows.12.file": "x.csv",
        "events.99.date": "2019-01-01",
        "events.-1.date": "2019-01-01",
        "unknown_field": "1",
        "policy.unknown": "1",
    }.items():
        expect = "either" if dotted == "policy.asylum.offices" else "refuse"  # no COMAR: a counterfactual
        yield Case(f"value/{dotted}={raw}", "value", run_args("--set", f"{dotted}={raw}"), expect=expect)
    for bad in ("noequals", "=1", ".a=1", "a..b=1", "policy.=1", "inflow_multiplier=" + "9" * 20000):
        yield Case(f"value/set-syntax-{bad[:20]}", "value", run_args("--set", bad))
    yield Case(
        "value/set-int-overflow",
        "value",
        run_args("--set", "behaviour.rest_days_after_arrival=" + "9" * 400),
        expect="either",  # a huge count, like the "huge" values
    )
    yield Case(
        "value/set-hex",
        "value",
        run_args("--set", "policy.detention_capacity_unknown=0xffffffffffffffff"),
        expect="either",  # a huge count, like the "huge" values
    )
    yield Case("value/set-bool-as-number", "value", run_args("--set", "inflow_multiplier=true"))
    yield Case(
        "value/all-shares-zero",
        "value",
        run_args("--set", "policy.us_outcome_shares.default={released: 0, removed: 0, expelled: 0, mpp: 0}"),
    )
    yield Case(
        "value/shares-not-summing",
        "value",
        run_args(
            "--set", "policy.us_outcome_shares.default={released: 0.9, removed: 0.9, expelled: 0, mpp: 0}"
        ),
        expect="either",
    )


def inflow_cases() -> Iterator[Case]:
    """Broken inflow files and months, and horizons."""
    csv_head = "month,nationality,persons,basis\n"
    nats = [inf["nationality"] for inf in base_data()["inflows"]]

    def csv_rows(value: str, month: str = "2019-03") -> str:
        rows = [f"2019-{m:02d},{n},1000,x\n" for m in range(1, 13) for n in nats if f"2019-{m:02d}" != month]
        rows += [f"{month},{n},{value},x\n" for n in nats]
        return csv_head + "".join(rows)

    for label, value in {
        "nan": "nan",
        "NaN": "NaN",
        "inf": "inf",
        "neg-inf": "-inf",
        "negative": "-5",
        "text": "many",
        "empty": "",
        "huge": "1e308",
        "overflow": "1e999",
    }.items():
        expect = "either" if label == "huge" else "refuse"
        yield Case(
            f"inflow/csv-persons-{label}",
            "inflow",
            run_args("--set", "inflows.0.file=bad.csv"),
            expect=expect,
            setup=text_file("scenarios/bad.csv", csv_rows(value)),
        )
    for label, body in {
        "month-13": csv_rows("100", month="2019-13"),
        "month-00": csv_rows("100", month="2019-00"),
        "month-text": csv_rows("100", month="March"),
        "missing-column": "month,nationality\n2019-01,Guatemala\n",
        "header-only": csv_head,
        "empty": "",
        "binary": random.Random(3).randbytes(2000),
        "duplicate-month": csv_head + "2019-01,Guatemala,100,x\n2019-01,Guatemala,900,y\n",
        "latin-1": (csv_head + "2019-01,Guatemala,100,Tecún Umán\n").encode("latin-1"),
        "ragged": csv_head + "2019-01,Guatemala,100,x,extra,extra\n2019-02\n",
    }.items():
        expect = "either" if label == "latin-1" else "refuse"
        yield Case(
            f"inflow/csv-{label}",
            "inflow",
            run_args("--set", "inflows.0.file=bad.csv"),
            expect=expect,
            setup=text_file("scenarios/bad.csv", body),
        )
    yield Case(
        "inflow/csv-gzip",
        "inflow",
        run_args("--set", "inflows.0.file=bad.csv.gz"),
        expect="either",
        setup=text_file(
            "scenarios/bad.csv.gz",
            gzip.compress((SCENARIOS / "inputs" / "mexico-2019-inflows.csv").read_bytes(), mtime=0),
        ),
    )

    def big_csv(w: Path) -> None:
        with (w / "scenarios" / "big.csv").open("w") as f:
            f.write(csv_head)
            row = "2019-01,Guatemala,1," + "z" * 1000 + "\n"
            for _ in range(60 * 1024):
                f.write(row)

    yield Case("inflow/csv-60MB", "inflow", run_args("--set", "inflows.0.file=big.csv"), setup=big_csv)
    yield Case("inflow/file-dev-zero", "inflow", run_args("--set", "inflows.0.file=/dev/zero"))
    yield Case("inflow/file-dev-urandom", "inflow", run_args("--set", "inflows.0.file=/dev/urandom"))
    yield Case(
        "inflow/file-fifo",
        "inflow",
        run_args("--set", "inflows.0.file=pipe.csv"),
        setup=make_fifo("scenarios/pipe.csv"),
    )
    yield Case("inflow/file-folder", "inflow", run_args("--set", "inflows.0.file=inputs"))
    yield Case("inflow/file-missing", "inflow", run_args("--set", "inflows.0.file=nope.csv"))
    yield Case(
        "inflow/file-etc-passwd",
        "inflow",
        run_args("--set", "inflows.0.file=/etc/passwd"),
        secret_file="/etc/passwd",
    )
    yield Case("inflow/file-empty-string", "inflow", run_args("--set", "inflows.0.file="))
    yield Case("inflow/file-list", "inflow", run_args("--set", "inflows.0.file=[a.csv, b.csv]"))
    yield Case("inflow/file-and-rate", "inflow", run_args("--set", "inflows.0.persons_per_day=10"))
    yield Case("inflow/no-rate", "inflow", run_args("--set", "inflows.0.file=null"))
    monthly = ["--set", "inflows.0.file=null", "--set"]
    for label, value in {
        "month-13": "{2019-13: 100}",
        "month-00": "{2019-00: 100}",
        "negative": "{2019-03: -5}",
        "nan": "{2019-03: .nan}",
        "inf": "{2019-03: .inf}",
        "text": "{2019-03: lots}",
        "date-key": "{2019-03-01: 100}",
        "list": "[100, 200]",
    }.items():
        yield Case(
            f"inflow/monthly-{label}", "inflow", run_args(*monthly, f"inflows.0.monthly_persons={value}")
        )
    yield Case(
        "inflow/monthly-valid",
        "inflow",
        run_args(*monthly, "inflows.0.monthly_persons={2019-03: 5000}"),
        expect="succeed",
    )
    for label, value in {"nan": ".nan", "inf": ".inf", "negative": "-3", "huge": "1.0e+12"}.items():
        yield Case(
            f"inflow/per-day-{label}",
            "inflow",
            run_args("--set", "inflows.0.file=null", "--set", f"inflows.0.persons_per_day={value}"),
            expect="either" if label == "huge" else "refuse",
        )
    # horizons
    yield Case(
        "horizon/no-inflow-data",
        "horizon",
        run_args("--set", "horizon.start=2030-01-01", "--set", "horizon.end=2030-12-31"),
    )
    yield Case(
        "horizon/end-before-start",
        "horizon",
        run_args("--set", "horizon.start=2019-12-31", "--set", "horizon.end=2019-01-01"),
    )
    yield Case("horizon/one-day", "horizon", run_args("--set", "horizon.end=2019-01-01"), expect="either")
    yield Case("horizon/100-years", "horizon", run_args("--set", "horizon.end=2118-12-31"), expect="either")
    yield Case("horizon/10000-years", "horizon", run_args("--set", "horizon.end=9999-12-31"), expect="either")
    for label, value in {
        "feb-30": "2019-02-30",
        "month-13": "2019-13-01",
        "text": "soon",
        "number": "2019",
        "year-0": "0000-01-01",
        "datetime": "2019-01-01T00:00:00",
        "null": "null",
        "list": "[2019-01-01]",
    }.items():
        expect = "either" if label == "datetime" else "refuse"
        yield Case(
            f"horizon/start-{label}", "horizon", run_args("--set", f"horizon.start={value}"), expect=expect
        )
    yield Case(
        "horizon/event-outside", "horizon", run_args("--set", "events.0.date=1999-01-01"), expect="either"
    )
    yield Case("horizon/event-bad-date", "horizon", run_args("--set", "events.0.date=2019-02-30"))
    yield Case("horizon/event-unknown-field", "horizon", run_args("--set", "events.0.set={nosuch.field: 1}"))
    yield Case(
        "horizon/event-nan", "horizon", run_args("--set", "events.0.set={policy.bus_south_share: .nan}")
    )


def option_cases() -> Iterator[Case]:
    """Nonsense options of run."""
    for label, extra in {
        "seed-minus-1": ["--seed", "-1"],
        "seed-huge": ["--seed", str(2**70)],
        "seed-text": ["--seed", "abc"],
        "agents-0": ["--agents", "0"],
        "agents-minus-1": ["--agents", "-1"],
        "agents-1e9": ["--agents", "1000000000"],
        "agents-1e18": ["--agents", str(10**18)],
        "agents-text": ["--agents", "lots"],
        "scale-inf": ["--scale", "inf"],
        "scale-nan": ["--scale", "nan"],
        "scale-0": ["--scale", "0"],
        "scale-minus-1": ["--scale", "-1"],
        "scale-tiny": ["--scale", "1e-9"],
        "scale-huge": ["--scale", "1e300"],
        "agents-and-scale": ["--scale", "100"],
        "unknown-option": ["--frobnicate"],
        "set-without-value": ["--set"],
    }.items():
        argv = ["run", "{S}/mexico-2019.yaml", *extra] if label != "agents-and-scale" else run_args(*extra)
        if label.startswith(("seed", "unknown", "set-")):
            argv = run_args(*extra)
        # numpy seeds any non-negative integer
        yield Case(f"option/{label}", "option", argv, expect="either" if label == "seed-huge" else "refuse")
    yield Case(
        "option/scale-huge-agents",
        "option",
        ["run", "{S}/mexico-2019.yaml", "--scale", "1e6"],
        expect="either",
    )
    yield Case("option/no-scenario", "option", ["run"])
    yield Case("option/two-scenarios", "option", ["run", "{S}/mexico-2019.yaml", "{S}/mexico-2019.yaml"])
    yield Case("option/no-command", "option", ["frobnicate"])


def base_cases() -> Iterator[Case]:
    """``base:`` pointing at system files, foreign files, itself."""

    def variant(base: str, extra: str = "") -> str:
        return f"base: {base}\nname: variant\ndescription: a variant\n{extra}"

    def through_variant(name: str, base: str, *setups: Setup, extra: str = "", **kw: Any) -> Case:
        """Run scenarios/v.yaml, a variant of ``base``, after ``setups`` have made its files."""
        return Case(
            f"base/{name}",
            "base",
            run_args(scenario="{S}/v.yaml"),
            setup=both(*setups, scenario_file("v.yaml", text=variant(base, extra))),
            **kw,
        )

    passwd = {"secret_file": "/etc/passwd"}
    yield through_variant("etc-passwd", "/etc/passwd", **passwd)
    yield through_variant(
        "etc-passwd-symlink-yaml",
        "passwd.yaml",
        make_symlink("scenarios/passwd.yaml", "/etc/passwd"),
        **passwd,
    )
    yield through_variant("etc-passwd-dotdot", "../../../../../../../../etc/passwd", **passwd)
    yield Case("base/etc-passwd-as-scenario", "base", run_args(scenario="/etc/passwd"), **passwd)
    yield Case("base/etc-passwd-as-observed", "base", validate_args("--observed", "/etc/passwd"), **passwd)
    yield through_variant("dev-zero-yaml", "zero.yaml", make_symlink("scenarios/zero.yaml", "/dev/zero"))
    yield through_variant("fifo-yaml", "pipe.yaml", make_fifo("scenarios/pipe.yaml"))
    yield through_variant(
        "non-yaml", "notes.yaml", text_file("scenarios/notes.yaml", "this: is: not: [yaml\n\x00\x01")
    )
    yield through_variant("csv", "inputs/mexico-2019-inflows.csv")
    yield through_variant(
        "not-a-scenario", "other.yaml", text_file("scenarios/other.yaml", "foo: 1\nbar: [1, 2]\n")
    )
    yield through_variant("list-yaml", "other.yaml", text_file("scenarios/other.yaml", "- 1\n- 2\n"))
    yield through_variant("itself", "v.yaml")
    yield through_variant("cycle", "w.yaml", text_file("scenarios/w.yaml", variant("v.yaml")))
    yield through_variant("missing", "nope.yaml")
    yield through_variant("folder", "d.yaml", make_dir("scenarios/d.yaml"))
    yield through_variant("list", "[mexico-2019.yaml]")
    yield through_variant("null", "null")
    yield through_variant("empty-file", "e.yaml", text_file("scenarios/e.yaml", ""))
    laughs = "\n".join(billion_laughs()) + "\nname: *a8\n"
    yield through_variant("laughs", "b.yaml", text_file("scenarios/b.yaml", laughs))
    shipped = "mexico-2019.yaml"
    yield through_variant("drop-missing-event", shipped, extra="drop_events: [No such event]\n")
    yield through_variant("changes-unknown", shipped, extra="changes: {policy.nosuch: 1}\n")
    yield through_variant("changes-nan", shipped, extra="changes: {policy.bus_south_share: .nan}\n")
    yield through_variant("changes-list", shipped, extra="changes: [1, 2]\n")
    yield through_variant(
        "valid-variant", shipped, extra="changes: {policy.bus_south_share: 0.3}\n", expect="succeed"
    )


def observed_rows() -> tuple[str, list[str]]:
    """Header and the shipped observed rows of March-May 2019 (usbp encounters)."""
    lines = OBSERVED.read_text(encoding="utf-8").splitlines()
    rows = [ln for ln in lines[1:] if ln.startswith("usbp_sw_encounters,US Southwest land border,2019-0")]
    return lines[0], rows[:40]


def to_csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def observed_cases() -> Iterator[Case]:
    """validate --observed with broken files."""
    header, rows = observed_rows()
    good = header + "\n" + "\n".join(rows) + "\n"
    cols = header.split(",")
    vi = cols.index("value")

    def with_value(value: str, only_first: bool = True) -> str:
        out = []
        for i, ln in enumerate(rows):
            parts = ln.split(",")
            if i == 0 or not only_first:
                parts[vi] = value
            out.append(",".join(parts))
        return header + "\n" + "\n".join(out) + "\n"

    def obs(
        label: str,
        body: bytes | str | None,
        expect: str = "refuse",
        name: str = "obs.csv",
        setup: Setup | None = None,
    ) -> Case:
        s = setup if setup is not None else text_file(name, body if body is not None else "")
        return Case(
            f"observed/{label}", "observed", validate_args("--observed", name), expect=expect, setup=s
        )

    yield obs("valid", good, expect="succeed")
    yield Case(  # the shipped rows again: refusing them as duplicates is right too
        "observed/overlaps-shipped",
        "observed",
        validate_args("--observed", "shipped", "--observed", "obs.csv"),
        expect="either",
        setup=text_file("obs.csv", good),
    )
    own = header + "\n" + rows[0].replace("usbp_sw_encounters,", "my_own_series,", 1) + "\n"
    yield Case(  # a series of the user's own (skipped as "no mapping") added to the shipped files
        "observed/valid-plus-shipped",
        "observed",
        validate_args("--observed", "shipped", "--observed", "obs.csv"),
        expect="succeed",
        setup=text_file("obs.csv", own),
    )
    latin = good.replace("Known Homeland Security", "Known Homeland Security (Tecún Umán)", 1)
    yield obs("latin-1", latin.encode("latin-1"), expect="either")
    yield obs("utf-16", latin.encode("utf-16"), expect="either")
    yield obs("negative", with_value("-100"))
    yield obs("negative-all", with_value("-100", only_first=False))
    yield obs("nan", with_value("nan"))
    yield obs("NaN-all", with_value("NaN", only_first=False))
    yield obs("inf", with_value("inf"))
    yield obs("huge", with_value("1e308"), expect="either")
    yield obs("empty-value", with_value(""))
    yield obs("text-value", with_value("many"))
    yield obs("duplicated-rows", header + "\n" + "\n".join(rows + rows) + "\n", expect="either")
    first = next(csv.reader([rows[0]]))
    yield obs("contradicting-rows", good + to_csv([[*first[:vi], "1", *first[vi + 1 :]]]))
    table = list(csv.reader([header, *rows[:3]]))
    for col in ("value", "series", "period_end", "source_title"):
        i = cols.index(col)
        body = to_csv([[p for j, p in enumerate(r) if j != i] for r in table])
        # source_url stands in for source_title (docs/evidence.md)
        yield obs(f"missing-column-{col}", body, expect="either" if col == "source_title" else "refuse")
    yield obs("header-only", header + "\n")
    yield obs("empty", "")
    yield obs("binary", random.Random(5).randbytes(4000))
    yield obs("gzip", gzip.compress(good.encode(), mtime=0), expect="either", name="obs.csv.gz")
    yield obs("gzip-as-csv", gzip.compress(good.encode(), mtime=0), expect="either")
    yield obs("folder", None, setup=make_dir("obsdir"), name="obsdir")
    yield obs("missing", None, setup=lambda w: None, name="nope.csv")
    yield obs("fifo", None, setup=make_fifo("pipe.csv"), name="pipe.csv")
    yield Case("observed/dev-zero", "observed", validate_args("--observed", "/dev/zero"))
    yield obs("period-reversed", good.replace("2019-03-01,2019-03-31", "2019-03-31,2019-03-01", 1))
    yield obs("date-month-13", good.replace("2019-03-01,2019-03-31", "2019-13-01,2019-13-31", 1))
    yield obs(
        "no-source",
        header + "\n" + to_csv([[*first[: cols.index("source_title")], "", "", ""]]),
    )
    yield obs("quote-unclosed", good.replace('"DHS', '"DHS\n', 1) + '"unterminated\n')
    yield obs("semicolon-separated", good.replace(",", ";"))
    yield obs(
        "only-held-out",
        header + "\n" + rows[0].replace("2019-03-01,2019-03-31", "2024-01-01,2024-01-31") + "\n",
        expect="either",
    )

    def big(w: Path) -> None:
        with (w / "obs.csv").open("w", encoding="utf-8") as f:
            f.write(header + "\n")
            for _ in range(1 + (60 << 20) // (len(rows[0]) + 1)):
                f.write(rows[0] + "\n")

    yield obs("60MB", None, setup=big, expect="either")
    yield Case("observed/warmup-minus-1", "observed", validate_args("--warmup-days", "-1"))
    yield Case("observed/held-out-bad-date", "observed", validate_args("--held-out-from", "2019-13-01"))
    yield Case("observed/runs-0", "observed", ["validate", "{S}/mexico-2019.yaml", "--runs", "0"])


def command_cases() -> Iterator[Case]:
    """Nonsense options of compare, ensemble, calibrate, forecast, sensitivity."""
    s = "{S}/mexico-2019.yaml"
    targets = "{S}/../targets.csv"
    tsetup = text_file(
        "targets.csv", "series,geography,breakdown\nusbp_sw_encounters,US Southwest land border,\n"
    )
    yield Case("command/compare-seeds-0", "command", ["compare", s, s, "--seeds", "0"])
    yield Case("command/compare-none", "command", ["compare"])
    yield Case("command/compare-missing", "command", ["compare", s, "{W}/nope.yaml", "--seeds", "1"])
    yield Case(
        "command/compare-bomb",
        "command",
        ["compare", s, "{S}/bomb.yaml", "--seeds", "1"],
        setup=scenario_file("bomb.yaml", text="\n".join(billion_laughs()) + "\n"),
    )
    yield Case("command/ensemble-runs-0", "command", ["ensemble", s, "--runs", "0"])
    yield Case("command/ensemble-workers-0", "command", ["ensemble", s, "--runs", "1", "--workers", "0"])
    yield Case(
        "command/ensemble-scale-nan",
        "command",
        ["ensemble", s, "--runs", "1", "--scale", "nan", "--workers", "1"],
    )
    yield Case(
        "command/ensemble-posterior-dev-zero",
        "command",
        ["ensemble", s, "--runs", "1", "--agents", AGENTS, "--workers", "1", "--posterior", "/dev/zero"],
    )
    yield Case(
        "command/ensemble-posterior-text",
        "command",
        ["ensemble", s, "--runs", "1", "--agents", AGENTS, "--workers", "1", "--posterior", "{W}/README.md"],
    )
    yield Case(
        "command/ensemble-scheduler-bogus",
        "command",
        ["ensemble", s, "--runs", "1", "--agents", AGENTS, "--scheduler", "tcp://256.0.0.1:0"],
    )
    yield Case("command/calibrate-budget-0", "command", ["calibrate", s, "--budget", "0"])
    yield Case(
        "command/calibrate-population-1", "command", ["calibrate", s, "--budget", "4", "--population", "1"]
    )
    yield Case(
        "command/calibrate-no-priors",
        "command",
        [
            "calibrate",
            "{S}/np.yaml",
            "--budget",
            "4",
            "--population",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
        ],
        setup=scenario_file("np.yaml", {k: v for k, v in base_data().items() if k != "priors"}),
    )
    yield Case(
        "command/forecast-end-before-start",
        "command",
        [
            "forecast",
            s,
            "--targets",
            targets,
            "--start",
            "2019-06",
            "--end",
            "2019-01",
            "--runs",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
        ],
        setup=tsetup,
    )
    yield Case(
        "command/forecast-targets-dev-zero",
        "command",
        [
            "forecast",
            s,
            "--targets",
            "/dev/zero",
            "--start",
            "2019-01",
            "--end",
            "2019-02",
            "--runs",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
        ],
    )
    yield Case(
        "command/forecast-targets-missing",
        "command",
        ["forecast", s, "--targets", "{W}/nope.csv", "--start", "2019-01", "--end", "2019-02"],
    )
    yield Case(
        "command/forecast-posterior-text",
        "command",
        [
            "forecast",
            s,
            "--targets",
            targets,
            "--start",
            "2019-01",
            "--end",
            "2019-02",
            "--runs",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
            "--posterior",
            "{W}/README.md",
        ],
        setup=tsetup,
    )
    yield Case(
        "command/forecast-out-onto-thesis",
        "command",
        [
            "forecast",
            s,
            "--targets",
            targets,
            "--start",
            "2019-01",
            "--end",
            "2019-02",
            "--runs",
            "2",
            "--agents",
            AGENTS,
            "--workers",
            "1",
            "--out",
            "{W}/thesis.tex",
        ],
        setup=tsetup,
    )
    yield Case(
        "command/forecast-month-13",
        "command",
        ["forecast", s, "--targets", targets, "--start", "2019-13", "--end", "2019-14"],
        setup=tsetup,
    )
    yield Case(
        "command/sensitivity-method-bogus",
        "command",
        ["sensitivity", s, "--method", "bogus", "--agents", AGENTS, "--workers", "1"],
    )


def control_cases() -> Iterator[Case]:
    """Legitimate commands that must succeed."""
    for path in [
        "mexico-2019.yaml",
        "mexico-2023-24.yaml",
        *sorted(f"counterfactuals/{p.name}" for p in (SCENARIOS / "counterfactuals").glob("*.yaml")),
    ]:
        yield Case(
            f"control/run-{Path(path).stem}", "control", run_args(scenario=f"{{S}}/{path}"), expect="succeed"
        )
    yield Case(
        "control/run-out-new-nested",
        "control",
        run_args("--out", "results/a/b", "--seed", "3"),
        expect="succeed",
    )
    yield Case(
        "control/run-out-empty-folder",
        "control",
        run_args("--out", "empty"),
        expect="succeed",
        setup=lambda w: (w / "empty").mkdir(),
    )
    yield Case(
        "control/run-scale", "control", ["run", "{S}/mexico-2019.yaml", "--scale", "400"], expect="succeed"
    )
    yield Case(
        "control/run-set",
        "control",
        run_args(
            "--set",
            "policy.bus_south_share=0.5",
            "--set",
            "behaviour.reentry_delay_days=30",
            "--monthly",
            "--quiet",
        ),
        expect="succeed",
    )
    yield Case("control/validate", "control", validate_args(), expect="succeed")
    yield Case(
        "control/compare",
        "control",
        [
            "compare",
            "{S}/mexico-2019.yaml",
            "{S}/counterfactuals/mexico-2019-no-deal.yaml",
            "--seeds",
            "1",
            "--agents",
            AGENTS,
            "--out",
            "cmp",
        ],
        expect="succeed",
    )
    yield Case("control/version", "control", ["--version"], expect="succeed")


GROUPS: list[Callable[[], Iterator[Case]]] = [
    control_cases,
    out_cases,
    name_cases,
    yaml_cases,
    value_cases,
    inflow_cases,
    option_cases,
    base_cases,
    observed_cases,
    command_cases,
]


def all_cases() -> list[Case]:
    cases: list[Case] = []
    seen: set[str] = set()
    for group in GROUPS:
        for case in group():
            name = case.name
            n = 2
            while case.name in seen:  # keep names unique
                case.name = f"{name}#{n}"
                n += 1
            seen.add(case.name)
            cases.append(case)
    return cases


def quick_subset(cases: list[Case], per_group: int = 5) -> list[Case]:
    """Every control, and up to ``per_group`` evenly spaced cases of each other group."""
    chosen: list[Case] = []
    groups: dict[str, list[Case]] = {}
    for c in cases:
        groups.setdefault(c.group, []).append(c)
    for g, members in groups.items():
        if g == "control":
            chosen.extend(members)
            continue
        k = min(per_group, len(members))
        chosen.extend(members[round(i * (len(members) - 1) / max(k - 1, 1))] for i in range(k))
    return chosen


# --------------------------------------------------------------------------- running


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content digest (files), 'link:target', 'dir', or the kind of special file."""
    snap: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            p = Path(dirpath) / d
            snap[str(p.relative_to(root))] = f"link:{os.readlink(p)}" if p.is_symlink() else "dir"
        for f in filenames:
            p = Path(dirpath) / f
            rel = str(p.relative_to(root))
            try:
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    snap[rel] = f"link:{os.readlink(p)}"
                elif stat.S_ISREG(st.st_mode):
                    h = hashlib.sha256()
                    with p.open("rb") as fh:
                        for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                            h.update(chunk)
                    snap[rel] = h.hexdigest()
                else:
                    snap[rel] = "special"
            except OSError as exc:
                snap[rel] = f"unreadable:{exc.errno}"
    return snap


def prepare(case_dir: Path) -> tuple[Path, Path]:
    """Lay out the case folder; return (root, work). root is what the checks watch."""
    root = case_dir / "root"
    work = root / "work"
    for base in (root, work):
        for rel, data in SENTINELS.items():
            write(base / rel, data)
    for rel, data in THESIS_FOLDER.items():
        write(work / "thesis" / rel, data)
    for rel, data in HOME_FILES.items():
        write(root / "home" / rel, data)
    (root / "outside").mkdir()
    shutil.copytree(SCENARIOS, work / "scenarios", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for d in ("tmp", "cache", "mpl"):
        (case_dir / "env" / d).mkdir(parents=True)
    return root, work


def corridor_command() -> list[str]:
    script = Path(sys.executable).parent / "corridor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "corridor.cli"]


def error_message(stderr: str) -> str:
    """The error line: 'error: ...', or the text of a click usage-error box."""
    lines = [ln.rstrip() for ln in stderr.splitlines()]
    for ln in lines:
        if ln.strip().startswith("error:"):
            return ln.strip()
    box = [ln.strip(" │|╭╮╰╯─") for ln in lines if ln.strip().startswith(("│", "|"))]
    if box:
        return " ".join(b for b in box if b)
    for ln in lines:
        if ln.startswith("Error:"):
            return ln
    return ""


def classify(case: Case, rc: int | None, stdout: str, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return "hang"
    assert rc is not None
    if rc < 0:
        return "killed"
    if "Traceback" in stdout or "Traceback" in stderr or rc == 1:
        return "traceback"
    if rc == 0:
        return "ok" if case.expect in ("succeed", "either") else "accepted"
    if rc == 2:
        usage = "Usage:" in stderr or re.search(r"^\s*╭─+ Error ─", stderr, re.M) is not None
        if usage or any(ln.strip().startswith("error:") for ln in stderr.splitlines()):
            return "clean"
    return "other"


def leaked(secret_file: str, text: str) -> bool:
    try:
        lines = Path(secret_file).read_text(errors="replace").splitlines()
    except OSError:
        return False
    probes = {ln.strip()[:16] for ln in lines if len(ln.strip()) >= 12}
    return any(p in text for p in probes)


def run_case(case: Case, tmp: Path, timeout: float, mem_bytes: int, keep: bool) -> Outcome:
    case_dir = Path(tempfile.mkdtemp(prefix="case-", dir=tmp))
    command = "corridor " + shlex.join(case.argv)
    try:
        root, work = prepare(case_dir)
        if case.setup is not None:
            case.setup(work)
        subs = {"{W}": str(work), "{R}": str(root), "{H}": str(root / "home"), "{S}": str(work / "scenarios")}

        def fill(arg: str) -> str:
            for k, v in subs.items():
                arg = arg.replace(k, v)
            return arg

        argv = [fill(a) for a in case.argv]
        before = snapshot(root)
        env = dict(os.environ)
        env.update(
            HOME=str(root / "home"),
            TMPDIR=str(case_dir / "env" / "tmp"),
            XDG_CACHE_HOME=str(case_dir / "env" / "cache"),
            MPLCONFIGDIR=str(case_dir / "env" / "mpl"),
            COLUMNS="200",
            NO_COLOR="1",
            PYTHONDONTWRITEBYTECODE="1",
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
        )

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        start = time.perf_counter()
        proc = subprocess.Popen(
            corridor_command() + argv,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=limit,
            start_new_session=True,
        )
        timed_out = False
        try:
            out_b, err_b = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)
            out_b, err_b = proc.communicate()
        seconds = time.perf_counter() - start
        with _suppress():  # stray grandchildren (workers) of a finished command
            os.killpg(proc.pid, signal.SIGKILL)
        stdout = out_b.decode("utf-8", "replace")
        stderr = err_b.decode("utf-8", "replace")
        rc = None if timed_out else proc.returncode
        cls = classify(case, rc, stdout, stderr, timed_out)
        after = snapshot(root)
        lost = sorted(p for p, d in before.items() if after.get(p) != d)
        partial = sorted(p for p in after if p not in before) if rc != 0 else []
        first = next((ln.strip() for ln in stderr.splitlines() if ln.strip()), "")
        message = error_message(stderr) if cls != "traceback" else _traceback_line(stdout + "\n" + stderr)
        shown = stdout + stderr
        for k, v in subs.items():
            command = command.replace(k, v)
            command = command.replace(
                v, {"{W}": "$WORK", "{R}": "$ROOT", "{H}": "$HOME", "{S}": "$WORK/scenarios"}[k]
            )
        return Outcome(
            case,
            command,
            cls,
            rc,
            seconds,
            _short(first),
            _short(message or first),
            lost,
            partial[:20],
            leaked(case.secret_file, shown) if case.secret_file else False,
        )
    except Exception as exc:  # the battery goes on
        return Outcome(case, command, "harness-error", None, 0.0, _short(f"{type(exc).__name__}: {exc}"), "")
    finally:
        if not keep:
            shutil.rmtree(case_dir, ignore_errors=True)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], OSError)  # type: ignore[arg-type]


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _traceback_line(text: str) -> str:
    """The exception line of a traceback (plain or rich): the last 'SomethingError: ...' line."""
    found = ""
    for ln in text.splitlines():
        s = ln.strip(" │|╭╮╰╯─")
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b:?", s):
            found = s
    return found or next((ln.strip() for ln in text.splitlines() if ln.strip()), "")


def summarise(outcomes: list[Outcome], wall: float) -> str:
    counts = Counter(o.cls for o in outcomes)
    lines = [
        f"cases tried: {len(outcomes)} in {wall:.0f} s",
        "  "
        + ", ".join(
            f"{k} {counts.get(k, 0)}"
            for k in ("clean", "ok", "traceback", "hang", "killed", "accepted", "other", "harness-error")
        ),
        f"  lost {sum(bool(o.lost) for o in outcomes)}, partial {sum(bool(o.partial) for o in outcomes)}, "
        f"leaked {sum(o.leaked for o in outcomes)}",
    ]
    wrong = sorted((o for o in outcomes if o.wrong), key=lambda o: (o.case.group, o.case.name))
    nonsense = [o for o in wrong if o.case.expect != "succeed"]
    controls = [o for o in wrong if o.case.expect == "succeed"]
    lines.append(f"\nnon-clean nonsense cases ({len(nonsense)}):")
    for o in nonsense:
        flags = "".join(
            f" [{f}]" for f, on in (("lost", o.lost), ("partial", o.partial), ("leaked", o.leaked)) if on
        )
        lines.append(f"  {o.cls:<10} {o.case.name}{flags}: {o.message or o.stderr_first}")
        if o.partial:
            lines.append(f"             new files: {', '.join(o.partial[:5])}")
        if o.lost:
            lines.append(f"             lost: {', '.join(o.lost[:5])}")
    lines.append(f"\ncontrol (legitimate) cases not ok ({len(controls)}):")
    for o in controls:
        flags = "".join(f" [{f}]" for f, on in (("lost", o.lost), ("partial", o.partial)) if on)
        lines.append(f"  {o.cls:<10} {o.case.name}{flags}: {o.message or o.stderr_first}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "misuse.jsonl")
    parser.add_argument("--quick", action="store_true", help="a subset of about 60 cases")
    parser.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per case (default 30)")
    parser.add_argument("--mem-gib", type=float, default=3.0, help="RLIMIT_AS per command (default 3 GiB)")
    parser.add_argument("--filter", help="only cases whose name matches this regular expression")
    parser.add_argument(
        "--all-values", action="store_true", help="every bad value on every numeric field (slower)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--keep", action="store_true", help="keep the temporary case folders")
    args = parser.parse_args(argv)
    global ALL_VALUES
    ALL_VALUES = args.all_values

    cases = all_cases()
    if args.quick:
        cases = quick_subset(cases)
    if args.filter:
        cases = [c for c in cases if re.search(args.filter, c.name)]
    if args.list:
        for c in cases:
            print(f"{c.expect:<8} {c.name}")
        print(f"{len(cases)} cases")
        return 0

    args.results.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="corridor-misuse-"))
    mem = int(args.mem_gib * (1 << 30))
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    print(
        f"{len(cases)} cases, {args.jobs} jobs, timeout {args.timeout:g} s, memory cap {args.mem_gib:g} GiB; "
        f"results to {args.results}",
        file=sys.stderr,
    )
    try:
        with args.results.open("w", encoding="utf-8") as results, ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run_case, c, tmp, args.timeout, mem, args.keep): c for c in cases}
            for fut in as_completed(futures):
                case = futures[fut]
                try:
                    o = fut.result()
                except Exception as exc:  # pragma: no cover - run_case catches everything
                    o = Outcome(case, shlex.join(case.argv), "harness-error", None, 0.0, str(exc), "")
                with lock:
                    outcomes.append(o)
                    results.write(json.dumps(o.record(), ensure_ascii=False) + "\n")
                    results.flush()
                    mark = "!" if o.wrong else " "
                    print(
                        f"[{len(outcomes):>4}/{len(cases)}]{mark}{o.cls:<10} {o.seconds:5.1f}s {case.name}",
                        file=sys.stderr,
                    )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    wall = time.perf_counter() - start
    print(summarise(outcomes, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
