"""Extraction runs, the papers each has done, and their proposals."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.db import now, write
from storage.errors import GoldsmithError
from storage.models import decode_json, encode_json

ENGINES = ("ollama", "openai", "rules", "import")


class RunConflict(GoldsmithError, ValueError):
    """A run name is reused with different settings (which would mix results)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One extraction run: an engine, a model and its options, over some papers."""

    id: int
    name: str
    engine: str
    model: str | None
    host: str | None
    schema_version: int
    options: dict[str, Any]
    started_at: str
    finished_at: str | None
    notes: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Run:
        return cls(
            id=row["id"],
            name=row["name"],
            engine=row["engine"],
            model=row["model"],
            host=row["host"],
            schema_version=row["schema_version"],
            options=json.loads(row["options"] or "{}"),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            notes=row.get("notes"),
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    """What a run proposed for one field of one paper, with its grounded evidence."""

    id: int
    run_id: int
    paper_id: str
    field: str
    status: str
    value: Any
    page: int | None
    quote: str | None
    grounding: str | None
    char_start: int | None
    char_end: int | None
    value_in_quote: bool | None
    note: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Proposal:
        in_quote = row["value_in_quote"]
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            paper_id=row["paper_id"],
            field=row["field"],
            status=row["status"],
            value=decode_json(row["value"]),
            page=row["page"],
            quote=row["quote"],
            grounding=row["grounding"],
            char_start=row["char_start"],
            char_end=row["char_end"],
            value_in_quote=None if in_quote is None else bool(in_quote),
            note=row.get("note"),
        )

    @property
    def is_grounded(self) -> bool:
        """Evidence was found in the paper (or there is none to find: not reported)."""
        return self.status == "not_reported" or self.grounding in ("exact", "normalized", "fuzzy")


@dataclass(frozen=True, slots=True)
class NewProposal:
    """A proposal to store (grounding already done)."""

    field: str
    status: str
    value: Any = None
    page: int | None = None
    quote: str | None = None
    grounding: str | None = None
    char_start: int | None = None
    char_end: int | None = None
    value_in_quote: bool | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PaperOutcome:
    """How a run fared on one paper."""

    status: str
    """``done`` or ``failed``."""
    error: str | None = None
    attempts: int = 1
    prompt_tokens: int | None = None
    prompt_eval_count: int | None = None
    answer_tokens: int | None = None
    truncated: bool = False
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class FieldAttempts:
    """How asking a model for one field of one paper went (``field_attempts``)."""

    field: str
    attempts: int
    """Model calls that asked for the field."""
    history: tuple[str | None, ...] = ()
    """Each call's problem with the field, in order; None for the call that answered it."""
    problem: str | None = None
    """Why no valid answer was stored; None when one was."""


def get_run(db: Database, name: str) -> Run | None:
    rows = list(db.query("SELECT * FROM runs WHERE name = ?", [name]))
    return Run.from_row(rows[0]) if rows else None


def run_by_id(db: Database, run_id: int) -> Run | None:
    rows = list(db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    return Run.from_row(rows[0]) if rows else None


def list_runs(db: Database) -> list[Run]:
    """Every run, newest first."""
    return [Run.from_row(r) for r in db.query("SELECT * FROM runs ORDER BY id DESC")]


def latest_run(db: Database) -> Run | None:
    """The most recently started run that has proposals."""
    rows = list(
        db.query(
            "SELECT * FROM runs WHERE EXISTS (SELECT 1 FROM proposals WHERE run_id = runs.id) "
            "ORDER BY id DESC LIMIT 1"
        )
    )
    return Run.from_row(rows[0]) if rows else None


def open_run(
    db: Database,
    *,
    name: str,
    engine: str,
    model: str | None,
    host: str | None,
    schema_version: int,
    options: Mapping[str, Any],
    compare: Iterable[str] = (),
) -> Run:
    """Start a run, or reuse the run called ``name`` (to resume it).

    Reusing is refused when the engine, model or schema version differ, or any option named
    in ``compare`` differs: one run must never mix results made different ways.

    Raises:
        RunConflict: ``name`` exists with other settings.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    with write(db):
        existing = get_run(db, name)
        if existing is not None:
            differences = []
            for label, old, new in (
                ("engine", existing.engine, engine),
                ("model", existing.model, model),
                ("schema version", existing.schema_version, schema_version),
                *((key, existing.options.get(key), options.get(key)) for key in compare),
            ):
                if old != new:
                    differences.append(f"{label} {old!r} (now {new!r})")
            if differences:
                raise RunConflict(
                    f"run {name!r} was made with "
                    + ", ".join(differences)
                    + "; give this run another name with --run"
                )
            return existing
        db.execute(
            "INSERT INTO runs (name, engine, model, host, schema_version, options, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, engine, model, host, schema_version, json.dumps(dict(options)), now()],
        )
    run = get_run(db, name)
    assert run is not None
    return run


def finish_run(db: Database, run_id: int, notes: str | None = None) -> None:
    """Mark a run finished (it can still be resumed to add papers)."""
    with write(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, notes = coalesce(?, notes) WHERE id = ?",
            [now(), notes, run_id],
        )


def done_papers(db: Database, run_id: int) -> set[str]:
    """Papers this run has finished (failed ones are tried again when the run resumes)."""
    return {
        row[0]
        for row in db.execute(
            "SELECT paper_id FROM run_papers WHERE run_id = ? AND status = 'done'", [run_id]
        )
    }


def save_paper(
    db: Database,
    run_id: int,
    paper_id: str,
    proposals: Sequence[NewProposal],
    outcome: PaperOutcome,
    fields: Sequence[FieldAttempts] = (),
) -> None:
    """Store a run's proposals for one paper, how it went and how each field was asked for,
    in one transaction.

    Proposals the run made for this paper before (an earlier failed attempt) are replaced.
    """
    with write(db):
        db.execute("DELETE FROM proposals WHERE run_id = ? AND paper_id = ?", [run_id, paper_id])
        db.execute(
            "DELETE FROM field_attempts WHERE run_id = ? AND paper_id = ?", [run_id, paper_id]
        )
        db.conn.executemany(
            "INSERT INTO field_attempts (run_id, paper_id, field, attempts, history, problem) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, paper_id, f.field, f.attempts, json.dumps(list(f.history)), f.problem)
                for f in fields
            ],
        )
        db.conn.executemany(
            "INSERT INTO proposals (run_id, paper_id, field, status, value, page, quote, "
            "grounding, char_start, char_end, value_in_quote, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    paper_id,
                    p.field,
                    p.status,
                    encode_json(p.value),
                    p.page,
                    p.quote,
                    p.grounding,
                    p.char_start,
                    p.char_end,
                    None if p.value_in_quote is None else int(p.value_in_quote),
                    p.note,
                )
                for p in proposals
            ],
        )
        db.execute(
            "INSERT OR REPLACE INTO run_papers (run_id, paper_id, status, error, attempts, "
            "prompt_tokens, prompt_eval_count, answer_tokens, truncated, seconds, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                paper_id,
                outcome.status,
                outcome.error,
                outcome.attempts,
                outcome.prompt_tokens,
                outcome.prompt_eval_count,
                outcome.answer_tokens,
                int(outcome.truncated),
                outcome.seconds,
                now(),
            ],
        )


def proposals_for(db: Database, paper_id: str, run_id: int) -> dict[str, Proposal]:
    """A run's proposals for one paper, by field."""
    return {
        row["field"]: Proposal.from_row(row)
        for row in db.query(
            "SELECT * FROM proposals WHERE paper_id = ? AND run_id = ?", [paper_id, run_id]
        )
    }


def field_attempts(db: Database, run_id: int, paper_id: str) -> dict[str, FieldAttempts]:
    """How each field of one paper was asked for in a run, by field."""
    return {
        row[0]: FieldAttempts(row[0], row[1], tuple(json.loads(row[2])), row[3])
        for row in db.execute(
            "SELECT field, attempts, history, problem FROM field_attempts "
            "WHERE run_id = ? AND paper_id = ?",
            [run_id, paper_id],
        )
    }


def proposal(db: Database, proposal_id: int) -> Proposal | None:
    rows = list(db.query("SELECT * FROM proposals WHERE id = ?", [proposal_id]))
    return Proposal.from_row(rows[0]) if rows else None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Counts over one run."""

    papers_done: int
    papers_failed: int
    truncated: int
    proposals: int
    by_grounding: dict[str, int]


def summarize(db: Database, run_id: int) -> RunSummary:
    counts = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM run_papers WHERE run_id = ? GROUP BY status", [run_id]
        ).fetchall()
    )
    truncated = db.execute(
        "SELECT COUNT(*) FROM run_papers WHERE run_id = ? AND truncated", [run_id]
    ).fetchone()[0]
    grounding = dict(
        db.execute(
            "SELECT coalesce(grounding, 'none'), COUNT(*) FROM proposals WHERE run_id = ? "
            "AND status != 'not_reported' GROUP BY 1",
            [run_id],
        ).fetchall()
    )
    total = db.execute("SELECT COUNT(*) FROM proposals WHERE run_id = ?", [run_id]).fetchone()[0]
    return RunSummary(
        papers_done=counts.get("done", 0),
        papers_failed=counts.get("failed", 0),
        truncated=truncated,
        proposals=total,
        by_grounding=grounding,
    )


def failures(db: Database, run_id: int) -> list[tuple[str, str]]:
    """``(paper_id, error)`` for every paper the run failed on."""
    return [
        (row[0], row[1] or "")
        for row in db.execute(
            "SELECT paper_id, error FROM run_papers WHERE run_id = ? AND status = 'failed'",
            [run_id],
        )
    ]
