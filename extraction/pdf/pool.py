"""A pool of worker processes that read PDFs, with a time and memory limit per file.

PyMuPDF is not thread-safe and a hostile PDF can make MuPDF loop, allocate without bound or
crash. Each worker reads one file at a time; a worker that runs past the time limit is
killed and replaced, one that dies is replaced, and either way that file gets one clear
error while the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from extraction import defaults
from extraction.pdf.text import PdfError, PdfOutOfMemory, PdfText, read_pdf

DEFAULT_TIMEOUT_S = defaults.PDF_TIMEOUT_S
DEFAULT_MEMORY_MB = defaults.PDF_MEMORY_MB
STARTUP_TIMEOUT_S = 60.0
"""How long a new worker may take to start before its first file counts as timed out."""
_PR_SET_PDEATHSIG = 1


def _limit_memory(megabytes: int) -> None:
    """Allow this worker ``megabytes`` more address space than it has now.

    The limit is relative because a forked worker starts with its parent's address space,
    which may already be larger than the budget for reading one PDF.
    """
    try:
        import resource
    except ImportError:  # not on Windows; the time limit still applies
        return
    in_use = 0
    try:
        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        pass
    limit = in_use + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent(parent_pid: int) -> None:
    """End this worker when the process that started it ends, however it ends.

    A killed parent (SIGKILL, the OOM killer) closes nothing, and a forked worker holds
    copies of the pipes, so it would never see end-of-file and would linger, perhaps still
    deep in a hostile PDF. On Linux the kernel sends the worker SIGKILL when the parent dies;
    elsewhere workers are spawned and see end-of-file on their pipe.
    """
    if sys.platform == "linux":
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(0)


def _serve(conn: Connection, memory_mb: int, parent_pid: int) -> None:
    """Worker loop: receive a path, send back ``("ok", PdfText)`` or ``("error", reason)``."""
    _die_with_parent(parent_pid)
    _limit_memory(memory_mb)
    conn.send(("ready", None))  # the time limit counts from here, not from start-up
    while True:
        try:
            path = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if path is None:
            return
        try:
            conn.send(("ok", read_pdf(Path(path))))
        except (PdfOutOfMemory, MemoryError):
            conn.send(("error", f"needs more than the {memory_mb} MB memory limit to read"))
            return  # the heap may be fragmented beyond use; the pool starts a fresh worker
        except PdfError as exc:
            conn.send(("error", str(exc)))
        except OSError as exc:
            conn.send(("error", f"cannot read the file ({exc.strerror or exc})"))
        except Exception as exc:  # a hostile file must cost one error, never the run
            conn.send(("error", f"unreadable PDF ({type(exc).__name__}: {exc})"[:300]))


def start_method() -> str:
    """``fork`` on Linux when this process runs no other thread, else ``spawn``.

    Fork starts a worker in milliseconds where spawn takes a tenth of a second (a new
    interpreter importing PyMuPDF). It is only safe without other threads, which might hold
    locks the child would inherit; the child only reads PDFs and leaves through ``os._exit``,
    never touching the parent's SQLite connection.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    path: Path | None = None
    deadline: float = 0.0
    ready: bool = False
    """Started up: a worker's start (a new interpreter under spawn) is not reading time."""


@dataclass
class PdfPool:
    """Read PDFs in ``processes`` worker processes; use as a context manager."""

    processes: int = 1
    timeout: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    _workers: list[_Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Typed as the spawn context: fork and spawn contexts offer the same API.
        self._context: SpawnContext = multiprocessing.get_context(start_method())  # type: ignore[assignment]

    def __enter__(self) -> PdfPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child, self.memory_mb, os.getpid()),
            daemon=True,
            name="goldsmith-pdf",
        )
        process.start()
        child.close()
        worker = _Worker(process=process, conn=parent)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        self._workers.remove(worker)

    def read(self, paths: Iterable[Path]) -> Iterator[tuple[Path, PdfText | str]]:
        """Yield ``(path, PdfText)`` or ``(path, reason it failed)``, in completion order.

        Paths are taken from ``paths`` only as workers become free, and workers are started
        only when needed, so work the caller does in that iterator (hashing each file,
        skipping those already stored) overlaps worker start-up and reading.
        """
        source = iter(paths)
        idle = [w for w in self._workers if w.path is None]
        busy: dict[Connection, _Worker] = {}

        def assign(worker: _Worker, path: Path) -> None:
            worker.path = path
            allowance = 0.0 if worker.ready else STARTUP_TIMEOUT_S
            worker.deadline = time.monotonic() + self.timeout + allowance
            worker.conn.send(str(path))
            busy[worker.conn] = worker

        def fill() -> None:
            """Give every free worker a file, starting workers up to ``processes``."""
            while idle or len(self._workers) < self.processes:
                # Start the worker before asking for the file: its start-up then overlaps
                # whatever the caller does to produce the next path.
                worker = idle.pop() if idle else self._start_worker()
                path = next(source, None)
                if path is None:
                    idle.append(worker)
                    return
                assign(worker, path)

        fill()
        while busy:
            next_deadline = min(w.deadline for w in busy.values())
            ready = wait(list(busy), timeout=max(0.0, next_deadline - time.monotonic()))
            finished: list[tuple[Path, PdfText | str]] = []
            for conn in ready:
                worker = busy.pop(conn)  # type: ignore[call-overload]
                try:
                    status, payload = worker.conn.recv()
                except (EOFError, OSError):
                    status, payload = "crashed", None
                if status == "ready":  # started: its file's time limit begins now
                    worker.ready = True
                    worker.deadline = time.monotonic() + self.timeout
                    busy[worker.conn] = worker
                    continue
                path, worker.path = worker.path, None
                assert path is not None
                if status == "crashed":
                    code = worker.process.exitcode
                    self._retire(worker)
                    worker = self._start_worker()
                    payload = f"the PDF reader crashed on this file (exit code {code})"
                else:
                    if not worker.process.is_alive() or (status == "error" and "memory" in payload):
                        self._retire(worker)
                        worker = self._start_worker()
                # Hand out the next file before the caller spends time storing this one, so
                # reading and writing overlap.
                idle.append(worker)
                fill()
                finished.append((path, payload))
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if worker.deadline <= now:
                    del busy[conn]
                    path = worker.path
                    assert path is not None
                    self._retire(worker)
                    finished.append(
                        (path, f"reading took longer than the {self.timeout:g} s limit")
                    )
            fill()
            yield from finished

    def close(self) -> None:
        """Stop every worker (killing any still busy)."""
        for worker in list(self._workers):
            if worker.path is None and worker.process.is_alive():
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            worker.process.join(0.5 if worker.path is None else 0)
            self._retire(worker)
