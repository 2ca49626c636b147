"""goldsmith's SQLite store: the public tables (docs/data.md), migrations, and dataclasses.

This package never imports ``textual``, ``tui`` or ``extraction`` (an import-linter contract in
``pyproject.toml`` and a test enforce it), so scripts and notebooks can use it without the TUI.
"""

from storage.db import (
    Access,
    DatabaseError,
    LogReplaced,
    default_db_path,
    now,
    open_database,
    write,
)
from storage.errors import GoldsmithError
from storage.models import IngestError, Paper, PaperProgress

__all__ = [
    "Access",
    "DatabaseError",
    "GoldsmithError",
    "IngestError",
    "LogReplaced",
    "Paper",
    "PaperProgress",
    "default_db_path",
    "now",
    "open_database",
    "write",
]
