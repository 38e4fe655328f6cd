"""Atomic writes: a reader sees the old file (or folder) or the whole new one, never a partial one.

The one owner of corridor's write discipline: temporary names next to the target (a dot
first, ``.tmp`` last), the umask's permissions, ``fsync`` of the data and of the folder
entry, and the rename. Files: :func:`write_atomically`, :func:`write_text_atomically`.
Folders: :func:`temporary_folder`, :func:`fsync_tree` and :func:`replace_folder`, which
:func:`corridor.outputs.publish_folder` combines.
"""

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


def temporary_folder(home: Path, name: str) -> Path:
    """A new empty folder in ``home`` named ``.<name>.<random>.tmp``, with the umask's permissions."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=home))
    make_shareable(tmp, folder=True)
    return tmp


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder`` and the folders' entries to disk (before a rename
    publishes them, so that a crash cannot leave published but empty files)."""
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        if path.is_symlink():
            continue
        if path.is_dir():
            fsync_dir(path)
        elif path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fsync_dir(folder)


def replace_folder(tmp: Path, dest: Path) -> Path | None:
    """Rename the folder ``tmp`` to ``dest``; an existing ``dest`` is first renamed away.

    Returns
    -------
    Path or None
        Where the previous ``dest`` now is (``.<name>.old-<pid>.tmp`` beside it), for the
        caller to remove what it owns there; None if there was none.
    """
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}.tmp")
        dest.rename(old)
    try:
        tmp.rename(dest)
    except BaseException:
        if old is not None:
            old.rename(dest)  # put the previous output back
        raise
    fsync_dir(dest.parent)
    return old


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    data = text.encode("utf-8")
    write_atomically(target, lambda fh: fh.write(data))
