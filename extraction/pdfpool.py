"""A pool of worker processes that read PDFs, with a time and memory limit per file.

PyMuPDF is not thread-safe and a hostile PDF can make MuPDF loop, allocate without bound or
crash. Each worker reads one file at a time; a worker that runs past the time limit is
killed and replaced, one that dies is replaced, and either way that file gets one clear
error while the others go on.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from extraction.pdftext import PdfError, PdfText, read_pdf

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 2048


def _limit_memory(megabytes: int) -> None:
    try:
        import resource
    except ImportError:  # not on Windows; the time limit still applies
        return
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(conn: Connection, memory_mb: int) -> None:
    """Worker loop: receive a path, send back ``("ok", PdfText)`` or ``("error", reason)``."""
    _limit_memory(memory_mb)
    while True:
        try:
            path = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if path is None:
            return
        try:
            conn.send(("ok", read_pdf(Path(path))))
        except PdfError as exc:
            conn.send(("error", str(exc)))
        except MemoryError:
            conn.send(("error", f"needs more than the {memory_mb} MB memory limit to read"))
            return  # the heap may be fragmented beyond use; the pool starts a fresh worker
        except OSError as exc:
            conn.send(("error", f"cannot read the file ({exc.strerror or exc})"))
        except Exception as exc:  # a hostile file must cost one error, never the run
            conn.send(("error", f"unreadable PDF ({type(exc).__name__}: {exc})"[:300]))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    path: Path | None = None
    deadline: float = 0.0


@dataclass
class PdfPool:
    """Read PDFs in ``processes`` worker processes; use as a context manager."""

    processes: int = 1
    timeout: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    _workers: list[_Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        # spawn, not fork: the caller may have threads (a TUI, an SQLite connection), and
        # forking those is unsafe.
        self._context = multiprocessing.get_context("spawn")

    def __enter__(self) -> PdfPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(child, self.memory_mb), daemon=True, name="goldsmith-pdf"
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
        """Yield ``(path, PdfText)`` or ``(path, reason it failed)``, in completion order."""
        pending = deque(paths)
        wanted = min(self.processes, len(pending))
        idle = [w for w in self._workers if w.path is None]
        while len(idle) < wanted:
            idle.append(self._start_worker())
        busy: dict[Connection, _Worker] = {}

        def assign(worker: _Worker) -> None:
            worker.path = pending.popleft()
            worker.deadline = time.monotonic() + self.timeout
            worker.conn.send(str(worker.path))
            busy[worker.conn] = worker

        while pending or busy:
            while pending and idle:
                assign(idle.pop())
            next_deadline = min(w.deadline for w in busy.values())
            ready = wait(list(busy), timeout=max(0.0, next_deadline - time.monotonic()))
            finished: list[tuple[Path, PdfText | str]] = []
            for conn in ready:
                worker = busy.pop(conn)  # type: ignore[call-overload]
                path, worker.path = worker.path, None
                assert path is not None
                try:
                    status, payload = worker.conn.recv()
                except (EOFError, OSError):
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
                if pending:
                    assign(worker)
                else:
                    idle.append(worker)
                finished.append((path, payload))
            now = time.monotonic()
            for conn, worker in list(busy.items()):
                if worker.deadline <= now:
                    del busy[conn]
                    path = worker.path
                    assert path is not None
                    self._retire(worker)
                    idle.append(self._start_worker())
                    finished.append(
                        (path, f"reading took longer than the {self.timeout:g} s limit")
                    )
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
