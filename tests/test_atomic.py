"""Atomic writes (corridor.atomic) and folder publishing (corridor.outputs.publish_folder)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from corridor import atomic
from corridor.atomic import write_atomically, write_text_atomically
from corridor.outputs import publish_folder


class Boom(RuntimeError):
    pass


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _set_umask(mask: int) -> int:
    old = os.umask(mask)
    atomic._umask.cache_clear()  # it is read once per process
    return old


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = _set_umask(0o022)
    try:
        yield None
    finally:
        _set_umask(old)


def test_write_that_raises_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    def half(fh: IO[bytes]) -> None:
        fh.write(b"new, half written")
        raise Boom("disk on fire")

    with pytest.raises(Boom):
        write_atomically(target, half)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write_text_atomically(target, "ünïcode\n")
    assert target.read_text(encoding="utf-8") == "ünïcode\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_new_file_has_the_umask_permissions(tmp_path: Path, umask_022: None) -> None:
    # mkstemp makes private (0600) files; the published one must be 0666 & ~umask.
    target = tmp_path / "shared.txt"
    write_text_atomically(target, "x")
    assert _mode(target) == 0o644
    _set_umask(0o027)
    write_text_atomically(target, "y")
    assert _mode(target) == 0o640


OWNED = ("a.txt", "b.txt", "marker.json")


def _writer(files: dict[str, str]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        for name, text in files.items():
            (folder / name).write_text(text)

    return write


def test_published_folder_replaces_the_old_one_whole(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out"
    publish_folder(out, _writer({"a.txt": "1", "b.txt": "1", "marker.json": "{}"}), OWNED, "marker.json")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "marker.json"]
    assert _mode(out) == 0o755
    publish_folder(out, _writer({"a.txt": "2", "marker.json": "{}"}), OWNED, "marker.json")
    # The old output is gone whole: b.txt (not in the new one) is not left behind.
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "marker.json"]
    assert (out / "a.txt").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_publish_that_raises_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish_folder(out, _writer({"a.txt": "1", "marker.json": "{}"}), OWNED, "marker.json")

    def half(folder: Path) -> None:
        (folder / "a.txt").write_text("2")
        raise Boom("killed")

    with pytest.raises(Boom):
        publish_folder(out, half, OWNED, "marker.json")
    assert (out / "a.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
