"""Terminal output for the command line: plain, safe, and quiet when not on a terminal.

Everything printed here may come from strangers (file names, PDF titles, model output), so
it is never parsed as Rich markup and control characters are shown escaped, never sent to
the terminal (where an ANSI sequence could recolour, retitle or clear it).
"""

from __future__ import annotations

import sys
import unicodedata

import click
from rich.console import Console
from rich.text import Text

stderr = Console(stderr=True, highlight=False, markup=False, emoji=False)
stdout = Console(highlight=False, markup=False, emoji=False)


def printable(text: object) -> str:
    """``text`` with control and format characters replaced by visible escapes."""
    out = []
    for char in str(text):
        if char == "\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co"):
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}")
    return "".join(out)


class _Pictures(dict[int, str]):
    """``str.translate`` table: each control or format character to one visible symbol."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        category = unicodedata.category(char)
        if char in "\n\t" or category not in ("Cc", "Cf", "Co", "Cs"):
            shown = char
        elif codepoint < 0x20:
            shown = chr(0x2400 + codepoint)  # ␀ … ␟ (␛ for ESC)
        elif codepoint == 0x7F:
            shown = "␡"
        elif char == "\u00ad":
            shown = "-"
        else:
            shown = "\ufffd"
        self[codepoint] = shown
        return shown


_PICTURES = _Pictures()


def visible_controls(text: str) -> str:
    """``text`` with every control or format character (escape sequences, bidi overrides)
    replaced by one visible symbol, so offsets into it stay the same."""
    return text.translate(_PICTURES)


def safe_text(text: object, style: str = "") -> Text:
    """A Rich ``Text`` that shows ``text`` literally (no markup), control characters escaped."""
    return Text(printable(text), style=style)


def error(subject: object, reason: object) -> None:
    """Print ``error: SUBJECT: reason`` on stderr."""
    click.echo(f"error: {printable(subject)}: {printable(reason)}", err=True)


def warning(subject: object, reason: object) -> None:
    """Print ``warning: SUBJECT: reason`` on stderr."""
    click.echo(f"warning: {printable(subject)}: {printable(reason)}", err=True)


def json_text(value: object, indent: int | None = None) -> str:
    """``value`` as JSON, readable (not ASCII-escaped) yet safe to print: control, bidi and
    other invisible characters are written as ``\\uXXXX`` escapes, as ESC always is."""
    import json

    from extraction.safe_text import json_escape

    return json_escape(json.dumps(value, ensure_ascii=False, indent=indent))


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
