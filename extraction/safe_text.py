"""Text that reaches a terminal or a file: one rule for what is refused, one for escaping.

Whatever a stranger wrote — a cell of an imported CSV, a line of imported proposals, a
model's quote, an annotator or run name — may end up printed on someone's terminal or in an
exported file. So every such text is checked the same way when it comes in
(:func:`unsafe_character`): refused are control characters (NUL, ESC and the escape
sequences it starts, which can retitle, recolour or clear a terminal; C1 controls such as
CSI), bidi controls (U+202A–U+202E, U+2066–U+2069 and the marks U+200E, U+200F, U+061C,
which make text display in another order than it is stored: "Trojan Source") and lone
surrogates (not text at all: they cannot be written as UTF-8). Tab, line feed and carriage
return are ordinary whitespace.

Text that is stored as found (a PDF's title and page text) is escaped on the way out
instead: :func:`json_escape` for JSON, :func:`visible` for cells that are only displayed.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LIST_SEPARATOR = ";"
"""Separates names in a list cell (``annotators``): never part of a name."""
MAX_NAME = 100
"""Characters allowed in an annotator or run name."""


def unsafe_character(text: str) -> str | None:
    """Why ``text`` may not be stored as it is ("contains the control character U+001B"), or
    None when it may."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if char in _BIDI:
        return f"contains the bidi control character {code} (it reorders text on screen)"
    if "\ud800" <= char <= "\udfff":
        return lone_surrogate(char)
    return f"contains the control character {code}"


def line_problem(text: str) -> str | None:
    """What :func:`unsafe_character` refuses, and tabs and line breaks too: for text shown
    as one cell of a table or used as a group's name (metadata)."""
    if unsafe := unsafe_character(text):
        return unsafe
    found = next((c for c in text if c in "\t\n\r"), None)
    return None if found is None else f"contains the control character U+{ord(found):04X}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """Why ``text`` is not text at all (it holds a lone surrogate: bytes that were not
    UTF-8, such as a command-line argument ``$'\\xff'``), or None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"contains a lone surrogate U+{ord(found.group()):04X} (not a character; not valid UTF-8)"
    )


def name_problem(name: str, what: str = "a name") -> str | None:
    """Why ``name`` cannot be an annotator (or run) name, or None.

    A name is shown in tables and exported in the ``annotators`` cell, whose names are
    separated by ``;``: a name holding ``;`` would come back as two people.
    """
    if not name.strip():
        return f"{what} cannot be empty"
    if problem := unsafe_character(name):
        return problem
    if LIST_SEPARATOR in name:
        return f"{LIST_SEPARATOR!r} separates names in a list, so it cannot be part of {what}"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    return None


def split_names(cell: str) -> tuple[list[str], str | None]:
    """The names of a ``;``-separated cell, and the first problem with any of them."""
    if problem := unsafe_character(cell):
        return [], problem
    names = [name.strip() for name in cell.split(LIST_SEPARATOR) if name.strip()]
    for name in names:
        if len(name) > MAX_NAME:
            return [], f"the name {name[:20]!r}… is longer than {MAX_NAME} characters"
    return names, None


_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _needs_escape(char: str) -> bool:
    return unicodedata.category(char) in _ESCAPED_CATEGORIES


def json_escape(line: str) -> str:
    """A JSON text (``json.dumps(..., ensure_ascii=False)``) with every control, format,
    private-use and line-separator character written as its ``\\uXXXX`` escape.

    Lossless (JSON readers decode the escapes back), and nothing invisible or
    terminal-controlling reaches the screen when the JSON is printed. Only strings can
    hold such characters, so escaping them in place keeps the JSON valid.
    """
    if line.isascii() and "\x7f" not in line:
        return line  # json.dumps already escapes the ASCII control characters but DEL
    out = []
    for char in line:
        if ord(char) < 0x7F or not _needs_escape(char):
            out.append(char)
        elif ord(char) > 0xFFFF:
            # Outside the basic plane JSON escapes a character as a surrogate pair.
            code = ord(char) - 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


def visible(text: str) -> str:
    """``text`` with each character :func:`unsafe_character` refuses replaced by U+FFFD, for
    cells that are only displayed (a PDF's title or file name in an export)."""
    return _UNSAFE.sub("\ufffd", text)
