"""Output folders: which folders corridor may write into, and publishing one atomically.

Nothing a user wrote is ever deleted or overwritten. A command writes into a folder only
if the folder is new, empty, or holds nothing but that command's own outputs (recognised
by their names and the command's marker file, such as ``run.json``). Any other folder is
refused with :class:`OutputError` unless ``force`` is given; with ``force`` corridor writes
its files beside the others and still deletes nothing it did not write. A single output
file tracked by git (a result shipped in the repository) is replaced only with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Collection
from pathlib import Path

from corridor.atomic import fsync_dir, fsync_tree, replace_folder, temporary_folder
from corridor.errors import OutputError

__all__ = [
    "OutputError",
    "check_output_file",
    "check_output_folder",
    "foreign_entries",
    "publish_folder",
    "tracked_by_git",
]

#: Temporary names corridor's atomic writers use (``.daily.parquet.abc123.tmp``,
#: ``.mexico-2019.x1y2.tmp``); left behind only by a killed writer.
_TEMPORARY = re.compile(r"^\..+\.tmp$")


def _is_temporary(name: str) -> bool:
    return bool(_TEMPORARY.match(name))


def foreign_entries(folder: Path, owned: Collection[str]) -> list[str]:
    """Names in ``folder`` that are neither one of ``owned`` nor a corridor temporary file."""
    return sorted(e.name for e in folder.iterdir() if e.name not in owned and not _is_temporary(e.name))


def _listing(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(n[:40]) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_output_folder(
    folder: str | Path, owned: Collection[str], marker: str, *, force: bool = False, what: str = "output"
) -> bool:
    """Check that corridor may write its ``owned`` files into ``folder``.

    Parameters
    ----------
    folder : path
        The output folder (it need not exist).
    owned : collection of str
        The file and folder names this kind of output consists of.
    marker : str
        The one of them every complete output has (``run.json``): a folder holding only
        owned names but no marker is not recognised as corridor's.
    force : bool
        Allow a folder that holds other files: they are kept, corridor writes beside them.
    what : str
        What the folder is for, in messages (``--out``).

    Returns
    -------
    bool
        True if the folder holds other files (only possible with ``force``).

    Raises
    ------
    OutputError
        The path is not a folder, or holds files corridor did not write and ``force`` is off.
    """
    path = Path(folder)
    if not path.exists():
        if path.is_symlink():
            raise OutputError(f"{what} {path}: a broken symbolic link; remove it or choose another folder")
        return False
    if not path.is_dir():
        raise OutputError(f"{what} {path}: exists and is not a folder; choose a folder")
    entries = list(path.iterdir())
    if not entries:
        return False
    foreign = foreign_entries(path, owned)
    if not foreign and (path / marker).is_file():
        return False
    if force:
        return True
    reason = f"holds {_listing(foreign)}" if foreign else f"holds no {marker}"
    raise OutputError(
        f"{what} {path} {reason}, which corridor did not write; nothing was changed. Choose a new or "
        "empty folder, or pass --force to write beside those files (they are kept)"
    )


def tracked_by_git(path: str | Path) -> bool:
    """Whether the file ``path`` is tracked by git (shipped in the repository it lies in).

    False when it is not, when it is not in a git working tree, or when git is not installed.
    """
    target = Path(path).absolute()
    if not target.is_file():
        return False
    try:
        done = subprocess.run(
            ["git", "-C", str(target.parent), "ls-files", "--error-unmatch", "--", target.name],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def check_output_file(path: str | Path, *, recognised: Callable[[Path], bool], force: bool = False) -> None:
    """Check that corridor may replace the file ``path``: absent, or ``recognised`` as its own
    output and not tracked by git (a shipped result is replaced only with ``force``)."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"--out {target}: is a folder; give a file name")
    if not force and tracked_by_git(target):
        raise OutputError(
            f"--out {target} is tracked by git (shipped with the repository); nothing was changed. "
            "Choose another file name, or pass --force to replace it"
        )
    if target.exists() and not force and not recognised(target):
        raise OutputError(
            f"--out {target} exists and is not a corridor output; nothing was changed. Choose another "
            "file name, or pass --force to replace it"
        )


def _inside_cwd(target: Path) -> bool:
    """Whether ``target`` is the current folder or one of its parents (it must not be renamed)."""
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    return target == cwd or target in cwd.parents


def publish_folder(
    target: str | Path,
    write: Callable[[Path], None],
    owned: Collection[str],
    marker: str,
    *,
    force: bool = False,
) -> Path:
    """Have ``write(folder)`` fill a temporary folder, then publish it as ``target``.

    A reader sees the previous output or the whole new one. A new folder, or one holding
    only corridor's previous output, is replaced in one rename. A folder that holds other
    files (``force``), or the current folder, is never renamed: each file is moved in
    atomically, the marker last, and only owned files the new output lacks are removed.

    Returns
    -------
    Path
        The output folder (resolved).

    Raises
    ------
    OutputError
        As :func:`check_output_folder`, checked before anything is written.
    """
    dest = Path(target).resolve()
    has_foreign = check_output_folder(dest, owned, marker, force=force, what="--out")
    in_place = has_foreign or (dest.exists() and _inside_cwd(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    home = dest if in_place else dest.parent
    tmp = temporary_folder(home, dest.name)
    try:
        write(tmp)
        produced = sorted(p.name for p in tmp.iterdir())
        unowned = [n for n in produced if n not in owned]
        if unowned:  # a programming error: every output file must be declared
            raise OutputError(f"internal: {', '.join(unowned)} not among the declared outputs")
        fsync_tree(tmp)
        if in_place:
            for name in sorted(produced, key=lambda n: n == marker):  # the marker last
                os.replace(tmp / name, dest / name)
            for name in owned:
                if name not in produced and (dest / name).is_file():
                    (dest / name).unlink()
            tmp.rmdir()
            fsync_dir(dest)
        else:
            old = replace_folder(tmp, dest)
            if old is not None:
                _remove_owned(old, owned)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _remove_owned(folder: Path, owned: Collection[str]) -> None:
    """Delete a replaced output: only its owned entries, then the folder if that empties it."""
    for entry in folder.iterdir():
        if entry.name in owned or _is_temporary(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # something appeared there meanwhile: keep it
        folder.rmdir()
