"""The ``goldsmith`` command line: one module per group of commands, all on one click group."""

from tui.cli import corpus, extract, gold, papers, review  # noqa: F401  (each registers its commands)
from tui.cli.base import cli


def main() -> None:
    """Entry point of the ``goldsmith`` command."""
    cli(prog_name="goldsmith")


__all__ = ["cli", "main"]
