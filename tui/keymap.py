"""The user's keymap: remap any review key by its binding id.

A TOML file of ``"binding id" = "keys"``, e.g.::

    "goldsmith.accept" = "y"
    "goldsmith.not_reported" = "x,delete"

read from ``$GOLDSMITH_KEYMAP`` or ``$XDG_CONFIG_HOME/goldsmith/keymap.toml``
(``~/.config/goldsmith/keymap.toml``). Binding ids are listed by ``goldsmith review --keys``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from textual.binding import Binding

from storage.errors import GoldsmithError

MAX_KEYMAP_BYTES = 1 << 20


class KeymapError(GoldsmithError, ValueError):
    """The keymap file cannot be used; the message names the file and the reason."""


def keymap_path() -> Path:
    explicit = os.environ.get("GOLDSMITH_KEYMAP")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "goldsmith" / "keymap.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The keymap (empty when there is no file)."""
    from extraction.encoding import FileRefused, UnreadableFile, read_utf8

    path = path or keymap_path()
    if not path.exists() and not path.is_symlink():
        if os.environ.get("GOLDSMITH_KEYMAP"):
            raise KeymapError(f"{path}: no such keymap file")
        return {}
    try:
        # Only a regular file, and not much of it: /dev/zero or a FIFO would never end.
        text = read_utf8(path, max_bytes=MAX_KEYMAP_BYTES)
    except FileRefused as exc:
        raise KeymapError(str(exc)) from None
    except UnreadableFile as exc:
        raise KeymapError(f"{path}: not a valid keymap ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"{path}: not a valid keymap ({exc})") from None
    keymap = {}
    for binding_id, keys in data.items():
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f'{path}: {binding_id} must be a string of keys, like "y"')
        keymap[binding_id] = keys.strip()
    return keymap


def binding_scopes() -> list[tuple[str, list[Binding]]]:
    """The groups of bindings that are active together (a screen, the focused widget and the
    app), in which two actions on one key clash."""
    from tui.app import GoldsmithApp
    from tui.screens.editor import ValueEditor
    from tui.screens.help import HelpScreen
    from tui.screens.prompt import PagePrompt, TextPrompt
    from tui.screens.report import ReportScreen
    from tui.screens.review import ReviewScreen
    from tui.screens.score import ErrorsScreen, ScoreScreen
    from tui.screens.search import SearchScreen
    from tui.widgets.paper_text import FindBar
    from tui.widgets.queue import PaperQueue

    def bindings(*owners: Any) -> list[Binding]:
        found = []
        for owner in owners:
            found += [b for b in owner.BINDINGS if isinstance(b, Binding)]
        return found

    app = GoldsmithApp
    scopes = [
        ("review", bindings(ReviewScreen, app)),
        ("review, queue focused", bindings(PaperQueue, ReviewScreen, app)),
        ("review, find bar focused", bindings(FindBar, ReviewScreen, app)),
    ]
    for screen in (
        ValueEditor,
        HelpScreen,
        TextPrompt,
        PagePrompt,
        ReportScreen,
        ScoreScreen,
        ErrorsScreen,
        SearchScreen,
    ):
        scopes.append((screen.__name__, bindings(screen, app)))
    return scopes


def _keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def keymap_problems(
    keymap: dict[str, str], scopes: list[tuple[str, list[Binding]]] | None = None
) -> list[str]:
    """One line for each binding id the keymap names that does not exist, and for each key
    the keymap gives an action that another action active at the same time already has (the
    keymap's wins, so the other would silently lose its key)."""
    import difflib

    scopes = binding_scopes() if scopes is None else scopes
    known = {b.id for _, group in scopes for b in group if b.id}
    problems = []
    for binding_id in keymap:
        if binding_id not in known:
            close = difflib.get_close_matches(binding_id, sorted(known), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(
                f"keymap: unknown binding id {binding_id!r}, ignored "
                f"({hint}goldsmith review --list-keys lists them)"
            )
    reported: set[tuple[str, frozenset[str]]] = set()
    for _, group in scopes:
        default: dict[str, set[str]] = {}
        effective: dict[str, set[str]] = {}
        for binding in group:
            if not binding.id:
                continue
            for key in _keys(binding.key):
                default.setdefault(key, set()).add(binding.id)
            for key in _keys(keymap.get(binding.id, binding.key)):
                effective.setdefault(key, set()).add(binding.id)
        for key, ids in effective.items():
            remapped = sorted(i for i in ids if i in keymap)
            if len(ids) < 2 or not remapped or ids <= default.get(key, set()):
                continue
            if (key, frozenset(ids)) in reported:
                continue
            reported.add((key, frozenset(ids)))
            others = sorted(ids - set(remapped))
            if others:
                problems.append(
                    f"keymap: {key!r} for {', '.join(remapped)} takes it from "
                    f"{', '.join(others)}, which is left without that key"
                )
            else:
                problems.append(f"keymap: {key!r} is given to {' and '.join(remapped)} at once")
    return problems
