"""Opening a PDF at a page in the user's viewer (``o`` in review)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

VIEWER_VARIABLE = "GOLDSMITH_PDF_VIEWER"


class ViewerSetting(ValueError):
    """``$GOLDSMITH_PDF_VIEWER`` cannot be used; the message says why."""


def viewer_command(path: str, page: int) -> list[str] | None:
    """The command that opens ``path`` at ``page``, or ``None`` when there is no viewer.

    ``$GOLDSMITH_PDF_VIEWER`` is a command line; ``{file}`` and ``{page}`` in it are replaced
    (e.g. ``zathura --page={page} {file}`` or ``evince -i {page} {file}``); without ``{file}``
    the path is added at the end. Else ``xdg-open`` (or ``open`` on macOS), which cannot
    choose the page.

    Raises:
        ViewerSetting: The variable is not a valid command line (an unbalanced quote).
    """
    template = os.environ.get(VIEWER_VARIABLE, "").strip()
    if template:
        try:
            words = shlex.split(template)
        except ValueError as exc:  # an unbalanced quote: "No closing quotation"
            raise ViewerSetting(
                f"{VIEWER_VARIABLE} is not a command line ({str(exc).lower()}): {template}"
            ) from None
        if not words:
            raise ViewerSetting(f"{VIEWER_VARIABLE} names no command: {template}")
        command = [w.replace("{file}", path).replace("{page}", str(page)) for w in words]
        if not any("{file}" in w for w in words):
            command.append(path)
        return command
    for opener in ("xdg-open", "open"):
        found = shutil.which(opener)
        if found:
            return [found, path]
    return None


def open_pdf(path: str | None, page: int) -> tuple[str, bool]:
    """Start the viewer (without waiting); returns a message for the user and success."""
    if not path or not Path(path).is_file():
        return f"The PDF is no longer at {path}; ingest it again from its new place.", False
    try:
        command = viewer_command(path, page)
    except ViewerSetting as exc:
        return f"{exc}; fix it (e.g. 'zathura --page={{page}} {{file}}')", False
    if command is None:
        return (
            f"No PDF viewer: set {VIEWER_VARIABLE}, e.g. 'zathura --page={{page}} {{file}}' "
            f"(the PDF is {path}, page {page})",
            False,
        )
    try:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the command
        return f"Could not start {command[0]}: {getattr(exc, 'strerror', None) or exc}", False
    return f"Opened page {page} of {Path(path).name} with {Path(command[0]).name}", True
