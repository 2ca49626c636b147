"""Reading files written by others: UTF-8 only, with a clear word about anything else."""

from __future__ import annotations

import codecs
from pathlib import Path


class EncodingProblem(ValueError):
    """The bytes are not UTF-8 text; ``line`` is where the problem is (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class UnreadableFile(ValueError):
    """A file to import cannot be read as UTF-8 text; the message says where and why."""


def read_utf8(path: Path, unit: str = "line") -> str:
    """The text of ``path``, which must be UTF-8.

    Args:
        unit: What the file's lines are called in messages ("line", or "row" for CSV).

    Raises:
        UnreadableFile: It cannot be read, or is not UTF-8 ("row 3: not UTF-8 text ...").
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read the file ({exc.strerror or exc})") from None
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
