"""Writing a file the user named: whole or not at all, and with the permissions they expect.

:class:`OutputFile` writes into a temporary file beside the target and renames it over the
target only when everything was written, so an interrupted or failed export never leaves
half a file, nor replaces a good one. Along the way:

- the temporary file (``.TARGET.goldsmith-PID-XXXXXX``) is removed on any error, Ctrl+C or
  SIGTERM; one left by a process killed outright (SIGKILL, a power cut) is removed by the
  next export to the same file, once no process of that id is running;
- a new file gets the mode the user's umask gives (0644 usually); a file replaced keeps its
  mode, so teammates who could read it still can;
- the data is flushed to disk (``fsync``) before the rename, and the folder after it, so a
  power cut leaves either the old file or the new one;
- a target that is not a regular file (``/dev/stdout``, a pipe) is written in place: a
  rename would replace the device or pipe itself.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TextIO

from storage.errors import GoldsmithError


class OutputError(GoldsmithError):
    """The output file cannot be written; the message names it and says why."""


def os_reason(exc: OSError) -> str:
    """What went wrong with a file, in a few words ("disk full", "permission denied")."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full (free some space, then try again)"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.EFBIG:
        return "file too large for this file system or limit"
    return (exc.strerror or str(exc)).lower()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, but belongs to someone else
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the block (they are delivered when it ends)."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputFile:
    """A text file that replaces ``target`` only when :meth:`commit` is called.

    Use as a context manager; leaving the block without :meth:`commit` (an exception, Ctrl+C,
    SIGTERM) discards what was written and leaves ``target`` as it was.

    Raises:
        OutputError: The folder does not exist or the file cannot be written (the reason
            says which: "disk full", "permission denied"...).
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.in_place = False
        self.handle: TextIO = io.StringIO()
        self._fd = -1
        self._named: Path | None = None
        self._previous_sigterm: object = None

    def __enter__(self) -> OutputFile:
        folder = self.target.parent
        if not folder.is_dir():
            raise OutputError(f"{self.target}: no such folder {folder}")
        try:
            info = self.target.stat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise OutputError(f"{self.target}: {os_reason(exc)}") from None
        if info is not None and not stat.S_ISREG(info.st_mode):
            try:
                self.handle = open(self.target, "w", encoding="utf-8", newline="")
            except OSError as exc:
                raise OutputError(f"{self.target}: {os_reason(exc)}") from None
            self.in_place = True
            return self
        self._catch_sigterm()
        try:
            # Ctrl+C between creating the file and remembering its name would leave it
            # behind: signals wait until it is remembered (and are then delivered here).
            with _signals_held():
                self._fd = self._open_temporary(folder)
            mode = stat.S_IMODE(info.st_mode) if info else 0o666 & ~_current_umask()
            os.fchmod(self._fd, mode)
            if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):  # only root (or a group member) may
                    os.fchown(self._fd, info.st_uid, info.st_gid)
            self.handle = os.fdopen(self._fd, "w", encoding="utf-8", newline="")
        except BaseException as exc:
            self._release()
            if isinstance(exc, OSError):
                raise OutputError(f"{self.target}: {os_reason(exc)}") from None
            raise
        return self

    def _open_temporary(self, folder: Path) -> int:
        # (A nameless O_TMPFILE file linked in at the end would survive SIGKILL too, but
        # linking it through /proc fails in containers and sandboxes: EXDEV.)
        prefix = f".{self.target.name}.goldsmith-"
        self._remove_abandoned(folder, prefix)
        fd, name = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", dir=folder)
        self._named = Path(name)
        return fd

    @staticmethod
    def _remove_abandoned(folder: Path, prefix: str) -> None:
        """Remove temporary files of earlier exports to this target whose process is gone."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if not entry.name.startswith(prefix):
                    continue
                pid = entry.name[len(prefix) :].split("-", 1)[0]
                if not pid.isdigit() or _running(int(pid)):
                    continue
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)

    def _catch_sigterm(self) -> None:
        """SIGTERM (``kill``, ``timeout``) unwinds like Ctrl+C, so the temporary file goes."""

        def stop(signum: int, frame: FrameType | None) -> None:
            raise SystemExit(128 + signum)

        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            self._previous_sigterm = signal.signal(signal.SIGTERM, stop)

    def commit(self) -> None:
        """Flush everything to disk and put the file in the target's place."""
        try:
            self.handle.flush()
            if self.in_place:
                self.handle.close()
                return
            os.fsync(self._fd)
            assert self._named is not None
            os.replace(self._named, self.target)
            self._named = None
            self.handle.close()
            self._fd = -1
            self._sync_folder()
        except OSError as exc:
            raise OutputError(f"{self.target}: {os_reason(exc)}") from None

    def _sync_folder(self) -> None:
        fd = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _discard(self) -> None:
        if not isinstance(self.handle, io.StringIO):
            # The handle owns the descriptor: closing it closes the descriptor even when the
            # last flush fails (a full disk), so the number must not be closed again.
            self._fd = -1
            with contextlib.suppress(OSError, ValueError):
                self.handle.close()
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self._named is not None:
            with contextlib.suppress(OSError):
                self._named.unlink()
            self._named = None

    def _release(self) -> None:
        self._discard()
        if self._previous_sigterm is not None:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGTERM, self._previous_sigterm)  # type: ignore[arg-type]
            self._previous_sigterm = None

    def __exit__(self, *exc_info: object) -> None:
        self._release()
        error = exc_info[1]
        if isinstance(error, OSError) and not isinstance(error, BrokenPipeError):
            raise OutputError(f"{self.target}: {os_reason(error)}") from None
