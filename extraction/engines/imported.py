"""Importing proposals made by any other extractor (e.g. a GPT-4o run) from JSON Lines.

One object per paper and field (``docs/data.md``, "Proposals JSON Lines")::

    {"paper": "<id, sha256 or file name>", "field": "accelerator_count", "status": "reported",
     "value": 8, "evidence": {"page": 6, "quote": "trained on 8 A100 GPUs"}}

Every line is checked first; every bad line is reported with its number, and nothing is
imported unless all lines are good. Imported proposals are grounded like any other.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from extraction.answers import FieldProposal, validate_field
from extraction.encoding import UnreadableFile, read_utf8
from extraction.engines.base import PaperAnswer, RunPlan
from extraction.engines.run import PaperDone, extract, open_engine_run
from extraction.evidence.normalize import ValueProblem
from extraction.fields import FIELD_NAMES, field_spec
from extraction.safe_text import lone_surrogate
from storage import papers as paper_store
from storage import runs as run_store
from storage.db import write
from storage.errors import GoldsmithError
from storage.models import Paper
from storage.runs import Run

MAX_LINE = 1_000_000
"""Characters allowed on one line; a longer one is reported, not parsed."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    run: Run
    papers: int
    proposals: int
    ungrounded: int


class ImportRejected(GoldsmithError):
    """The file has problems; nothing was imported. ``problems`` lists them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s), the first: {problems[0] if problems else 'none'}"
        )
        self.problems = problems


def read_lines(path: Path) -> list[str]:
    """The file's lines, decoded as UTF-8 (a BOM is allowed).

    Raises:
        ImportRejected: The file cannot be read or is not UTF-8 text.
    """
    try:
        return read_utf8(path).splitlines()
    except UnreadableFile as exc:
        raise ImportRejected([str(exc)]) from None


def parse_proposals(
    db: Database, lines: list[str]
) -> tuple[dict[str, list[FieldProposal]], list[str]]:
    """Check every line; return the proposals by paper id, and every problem found."""
    by_paper: dict[str, list[FieldProposal]] = {}
    seen: dict[tuple[str, str], int] = {}
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            problems.append(f"line {number}: longer than {MAX_LINE} characters")
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg}, column {exc.colno})")
            continue
        except RecursionError:
            problems.append(f"line {number}: not usable JSON (nested too deeply)")
            continue
        except ValueError:
            # Python refuses to read an integer of more than 4,300 digits (a quadratic-time
            # conversion): no field holds such a number.
            limit = sys.get_int_max_str_digits()
            problems.append(
                f"line {number}: not usable JSON (a number with more than {limit} digits)"
            )
            continue
        problem, paper_id, proposal = _check(db, record)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        assert paper_id is not None and proposal is not None
        key = (paper_id, proposal.field)
        if key in seen:
            problems.append(f"line {number}: duplicate of line {seen[key]} (same paper and field)")
            continue
        seen[key] = number
        by_paper.setdefault(paper_id, []).append(proposal)
    if not by_paper and not problems:
        problems.append("no proposals in the file")
    return by_paper, problems


def _check(db: Database, record: Any) -> tuple[str | None, str | None, FieldProposal | None]:
    if not isinstance(record, dict):
        return "expected a JSON object", None, None
    missing = [key for key in ("paper", "field", "status") if key not in record]
    if missing:
        return f"missing {', '.join(missing)}", None, None
    reference, name = record["paper"], record["field"]
    if not isinstance(reference, str) or not isinstance(name, str):
        return "paper and field must be strings", None, None
    if problem := lone_surrogate(reference):
        return f"paper: {problem}", None, None  # SQLite cannot even look it up
    try:
        paper = paper_store.resolve_paper(db, reference)
    except paper_store.AmbiguousPaperReference as exc:
        return f"{exc}; use its id or sha256", None, None
    if paper is None:
        return f"unknown paper {reference[:80]!r}", None, None
    if name not in FIELD_NAMES:
        return f"unknown field {name[:80]!r} (fields: {', '.join(FIELD_NAMES)})", None, None
    evidence = record.get("evidence") or {}
    if not isinstance(evidence, dict):
        return "evidence must be an object with page and quote", None, None
    answer = {
        "status": record["status"],
        "value": record.get("value"),
        "page": evidence.get("page"),
        "quote": evidence.get("quote"),
    }
    try:
        proposal = validate_field(field_spec(name), answer)
    except ValueProblem as exc:
        return f"{name}: {exc}", None, None
    return None, paper.id, proposal


class ImportedEngine:
    """A file's proposals as an engine: each paper gets what the file says about it."""

    prompt_examples: tuple[str, ...] = ()

    def __init__(self, source: str, by_paper: dict[str, list[FieldProposal]]) -> None:
        self.source = source
        self.by_paper = by_paper

    def plan(self) -> RunPlan:
        return RunPlan("import", "import", None, None, {"source": self.source})

    def lanes(self) -> list[str]:
        return ["file"]

    async def start(self) -> list[str]:
        return []

    async def propose(self, paper: Paper, pages: Sequence[str], lane: str) -> PaperAnswer:
        return PaperAnswer(answers=self.by_paper[paper.id])

    async def close(self) -> None:
        return None


def import_proposals(db: Database, path: Path, run_name: str) -> ImportResult:
    """Import ``path`` as run ``run_name`` (which must not exist yet).

    Raises:
        ImportRejected: Any line is bad, or the run name is taken; nothing is imported.
    """
    lines = read_lines(path)
    by_paper, problems = parse_proposals(db, lines)
    if problems:
        raise ImportRejected(problems)
    if run_store.get_run(db, run_name) is not None:
        raise ImportRejected([f"run {run_name!r} exists already; choose another --run name"])
    engine = ImportedEngine(str(path.name), by_paper)
    papers = [paper_store.get_paper(db, paper_id) for paper_id in by_paper]
    finished: list[PaperDone] = []
    with write(db):
        run = open_engine_run(db, run_name, engine)
        extract(db, run, engine, [paper for paper in papers if paper], finished.append)
        failed = [done for done in finished if done.outcome.status != "done"]
        if failed:  # the whole file or nothing: the transaction is rolled back
            raise ImportRejected([f"{failed[0].paper.file}: {failed[0].outcome.error}"])
        run_store.finish_run(db, run.id)
    total = sum(done.proposals for done in finished)
    ungrounded = sum(done.ungrounded for done in finished)
    return ImportResult(run=run, papers=len(by_paper), proposals=total, ungrounded=ungrounded)
