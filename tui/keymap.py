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


class KeymapError(ValueError):
    """The keymap file cannot be used; the message names the file and the reason."""


def keymap_path() -> Path:
    explicit = os.environ.get("GOLDSMITH_KEYMAP")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "goldsmith" / "keymap.toml"


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The keymap (empty when there is no file)."""
    path = path or keymap_path()
    if not path.is_file():
        if os.environ.get("GOLDSMITH_KEYMAP"):
            raise KeymapError(f"{path}: no such keymap file")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise KeymapError(f"{path}: not a valid keymap ({exc})") from None
    keymap = {}
    for binding_id, keys in data.items():
        if not isinstance(keys, str) or not keys.strip():
            raise KeymapError(f'{path}: {binding_id} must be a string of keys, like "y"')
        keymap[binding_id] = keys.strip()
    return keymap
