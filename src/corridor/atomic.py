"""Atomic writes: a reader sees the old file or the whole new one, never a partial file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import IO


@cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the platform allows."""
    with contextlib.suppress(OSError):  # not every platform/filesystem opens folders
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_shareable(path: Path, *, folder: bool = False) -> None:
    """Give a temporary file (or folder) the permissions the umask gives new files.

    ``mkstemp`` and ``mkdtemp`` make them private; published outputs should not be.
    """
    path.chmod((0o777 if folder else 0o666) & ~_umask())


def write_atomically(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file object)`` on a temporary file next to ``target``, then rename it over ``target``.

    The temporary name starts with a dot, so that Parquet readers of the folder skip it.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        make_shareable(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    data = text.encode("utf-8")
    write_atomically(target, lambda fh: fh.write(data))
