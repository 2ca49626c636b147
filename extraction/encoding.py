"""Reading files written by others: UTF-8 only, with a clear word about anything else."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from storage.errors import GoldsmithError


class EncodingProblem(ValueError):
    """The bytes are not UTF-8 text; ``line`` is where the problem is (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class UnreadableFile(ValueError):
    """A file to import is not UTF-8 text; the message says where ("row 3: ...") and why."""


class FileRefused(GoldsmithError):
    """A file to import cannot be read at all — not a regular file, too large, or unreadable
    — so there is nothing to check line by line; the message names the file and the reason."""


MAX_IMPORT_BYTES = 512 * 2**20
"""Largest file read whole for an import: every line is checked before anything is written,
so the whole file is held in memory (a gold set or a run of 100,000 papers is far smaller)."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words ("a named pipe (FIFO)")."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def read_bounded(path: Path, max_bytes: int = MAX_IMPORT_BYTES) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    A FIFO would block forever and ``/dev/zero`` never ends, so anything but a regular file
    is refused before a byte is read; the file is opened without blocking and checked again
    (it could have been swapped after the first look), and never more than ``max_bytes + 1``
    bytes are read, even from a file that grows.

    Raises:
        FileRefused: Not a regular file, too large, or unreadable; the message says which.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path}: not a regular file ({file_kind(info.st_mode)})")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path}: not a regular file ({file_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            raise FileRefused(f"{path}: {_too_large(info.st_size, max_bytes)}")
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise FileRefused(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise FileRefused(f"{path}: {_too_large(len(data), max_bytes)}")
    return data


def _too_large(size: int, limit: int) -> str:
    return (
        f"the file is {size / 2**20:,.0f} MB; goldsmith reads at most {limit // 2**20:,} MB "
        "for one import"
    )


def read_utf8(path: Path, unit: str = "line", max_bytes: int = MAX_IMPORT_BYTES) -> str:
    """The text of ``path``, which must be a regular file of UTF-8 text.

    Args:
        unit: What the file's lines are called in messages ("line", or "row" for CSV).
        max_bytes: The largest file accepted (see :func:`read_bounded`).

    Raises:
        FileRefused: It cannot be read, is not a regular file, or is too large.
        UnreadableFile: It is not UTF-8 ("row 3: not UTF-8 text ...").
    """
    data = read_bounded(path, max_bytes)
    try:
        return decode_utf8(data)
    except EncodingProblem as exc:
        raise UnreadableFile(f"{unit} {exc.line}: {exc}") from None


def decode_utf8(data: bytes) -> str:
    """``data`` as UTF-8 text (a byte-order mark is allowed and dropped).

    Raises:
        EncodingProblem: UTF-16 or UTF-32 text (saved as "Unicode" by some spreadsheets),
            or bytes that are not UTF-8, with the line they are on.
    """
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise EncodingProblem(f"the file is {name} text; re-save it as UTF-8", 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EncodingProblem(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); re-save it as UTF-8", line
        ) from None
