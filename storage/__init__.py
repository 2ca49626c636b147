"""goldsmith's SQLite store: the public tables (docs/data.md), migrations, and dataclasses.

This package never imports ``textual``, ``tui`` or ``extraction`` (an import-linter contract in
``pyproject.toml`` and a test enforce it), so scripts and notebooks can use it without the TUI.
"""

from storage.db import DatabaseError, default_db_path, now, open_database, write
from storage.models import IngestError, Paper, PaperProgress

__all__ = [
    "DatabaseError",
    "IngestError",
    "Paper",
    "PaperProgress",
    "default_db_path",
    "now",
    "open_database",
    "write",
]
