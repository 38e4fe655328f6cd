"""Reading a small text input (a scenario, an inflow CSV, observed data, the evidence mapping).

One owner for what every reader of user files must refuse before parsing: anything but a
regular file (a folder, a FIFO that would block, ``/dev/zero`` that never ends), a file over
the caller's size limit (refused unread; at most the limit plus one byte is ever read),
compressed files and workbooks, other encodings than UTF-8, and binary bytes. Each refusal is
a :class:`TextFileError` whose message is one line naming the file, the line and byte where
it helps, and what was expected; callers turn it into their own error.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from corridor.errors import TextFileError

__all__ = ["TextFileError", "decode", "read_bytes", "read_text", "shown"]


#: Signatures of files that are not text, and what they are.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed (decompress it first, e.g. with gunzip)"),
    (b"\xfd7zXZ\x00", "xz-compressed (decompress it first, e.g. with unxz)"),
    (b"BZh", "bzip2-compressed (decompress it first, e.g. with bunzip2)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed (decompress it first, e.g. with unzstd)"),
    (b"PK\x03\x04", "a ZIP archive or an .xlsx workbook (export the sheet as CSV)"),
    (b"\xd0\xcf\x11\xe0", "an .xls workbook or other OLE document (export the sheet as CSV)"),
    (b"%PDF", "a PDF document"),
)
#: Byte-order marks of text in other encodings than UTF-8 (UTF-32 first: FF FE 00 00 starts
#: with the UTF-16 LE mark).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
#: Control characters no text input contains (tab, line feed and carriage return allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def shown(path: Path | str) -> str:
    """A path as it appears in messages: as given, or escaped if it has unprintable characters."""
    text = str(path)
    return text if text.isprintable() else ascii(text)


def _where(data: bytes, offset: int) -> str:
    """``line L, byte B`` (both from 1) of a byte offset into a file."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte {offset - line_start + 1}"


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(max_bytes: int) -> str:
    return f"{max_bytes // 2**20} MB" if max_bytes % 2**20 == 0 else f"{max_bytes:,} bytes"


def read_bytes(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    The file is opened without blocking (a FIFO does not wait for a writer) and checked
    before anything is read: folders, pipes, devices and sockets are refused, and so is a
    file over the limit; at most the limit plus one byte is ever read (a file that grows).
    ``what`` names the file expected, in messages ("an observed CSV file").
    """
    name = shown(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise TextFileError(
            f"{name}: no such file; expected {what} (cannot read a file that is not there)"
        ) from None
    except IsADirectoryError:
        raise TextFileError(f"{name}: is a folder, not a file; expected {what}") from None
    except OSError as exc:
        raise TextFileError(f"{name}: cannot open ({exc.strerror}); expected {what}") from None
    except ValueError as exc:  # a NUL character in the path
        raise TextFileError(f"{name}: not a usable path ({exc}); expected {what}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TextFileError(
                f"{name}: is {_file_kind(info.st_mode)}; only regular files are read, expected {what}"
            )
        too_big = (
            f"{name}: is larger than {_size(max_bytes)}; refused unread, expected {what} of at most that size"
        )
        if info.st_size > max_bytes:
            raise TextFileError(too_big)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise TextFileError(too_big)
    except OSError as exc:
        raise TextFileError(f"{name}: cannot read ({exc.strerror}); expected {what}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def decode(name: str, data: bytes, what: str = "UTF-8 text") -> str:
    """UTF-8 text of a file's bytes (a UTF-8 byte-order mark is dropped), or a TextFileError
    saying what the bytes are instead: compressed, a workbook, UTF-16, binary, not UTF-8."""
    for magic, kind in _MAGIC:
        if data.startswith(magic) and (magic != b"BZh" or re.match(rb"BZh[1-9]1AY&SY", data)):
            raise TextFileError(
                f"{name} line 1, byte 1: the file is {kind}: it starts with bytes "
                f"{magic.hex(' ')}; expected {what}"
            )
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            raise TextFileError(
                f"{name} line 1, byte 1: the file is {encoding} text (byte-order mark {bom.hex(' ')}); "
                f"expected {what}: save it as UTF-8"
            )
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        guess = "UTF-16 text without a byte-order mark" if data.count(b"\x00") * 4 >= len(data) else "binary"
        raise TextFileError(f"{name} {_where(data, nul)}: a NUL byte (is the file {guess}?); expected {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.end]
        hint = ""
        if all(b >= 0x80 for b in bad):
            try:
                hint = f" ({bad.decode('cp1252')!r} in Latin-1/Windows-1252: save the file as UTF-8)"
            except UnicodeDecodeError:
                hint = ""
        raise TextFileError(
            f"{name} {_where(data, exc.start)}: byte {bad.hex(' ')} is not valid UTF-8 ({exc.reason})"
            f"{hint}; expected {what}"
        ) from None
    control = _CONTROL.search(text)
    if control is not None:
        offset = len(text[: control.start()].encode("utf-8"))
        raise TextFileError(
            f"{name} {_where(data, offset)}: control character U+{ord(control.group()):04X} "
            f"(binary data?); expected {what}"
        )
    return text


def read_text(path: Path, max_bytes: int, what: str, text: str = "UTF-8 text") -> str:
    """:func:`read_bytes` then :func:`decode`: the text of a regular UTF-8 file, or TextFileError."""
    return decode(shown(path), read_bytes(path, max_bytes, what), text)
