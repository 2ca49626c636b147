"""The gold set as files: CSV (wide and long) and JSON Lines out, wide CSV back in.

Wide CSV (default): one row per paper whose every field is final — ``paper_id, file,
title``, then ``<field>, <field>_status`` per field in schema order (lists joined by ``; ``,
empty value when not reported), the derived columns, ``annotators``, then the paper's
metadata (``meta_venue``…: :mod:`extraction.gold.paper_metadata`). Long CSV: one row per
paper and field. JSON Lines: the proposals format, so a gold set can be imported
as a run. Cells a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``,
tab or CR) are prefixed with ``'``; numbers stay numbers. CSV lines end with CRLF (RFC 4180), so
a line break or carriage return inside a cell is always quoted.

Papers are written in the stable order (``storage.papers.STABLE_ORDER``: file name, then paper
id), fields in schema order, so the same gold set gives the same bytes in every database.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlite_utils import Database

from extraction.encoding import UnreadableFile, read_utf8
from extraction.evidence.normalize import ValueProblem, normalize_value
from extraction.fields import FIELDS, FieldSpec, Kind, Status
from extraction.gold.derived import DEFAULT_UTILIZATION, DERIVED_COLUMNS, derive
from extraction.gold.paper_metadata import PREFIX as METADATA_PREFIX
from extraction.gold.paper_metadata import PaperMetadata, header_columns, value_problem
from extraction.safe_text import json_escape, split_names, unsafe_character, visible
from storage import decisions as decision_store
from storage import metadata as metadata_store
from storage import papers as paper_store
from storage import runs as run_store
from storage.db import write
from storage.decisions import NewDecision
from storage.errors import GoldsmithError
from storage.gold import GoldPaper, Judgement, iter_gold
from storage.metadata import MetadataImport
from storage.models import Paper
from storage.queue import all_comments

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_UNREAD = GoldPaper(Paper("", "", "", None, None, 0, ""))
"""Stands for a paper nobody has decided (counted as left out, never written)."""
LONG_COLUMNS = (
    "paper_id",
    "file",
    "title",
    "field",
    "status",
    "value",
    "evidence_page",
    "evidence_quote",
    "verdict",
    "proposed_value",
    "run",
    "annotator",
    "decided_at",
    "evidence_grounding",
    "comments",
)
"""``evidence_grounding``: how the answer's quote matched its page (``exact``, ``normalized``…),
``no quote`` when the value was saved without one on purpose; ``comments``: every comment on
the field (``c``, and the reason given with an ambiguous mark), as ``annotator: text``."""


def wide_columns(fields: Sequence[FieldSpec] = FIELDS) -> list[str]:
    columns = ["paper_id", "file", "title"]
    for spec in fields:
        columns += [spec.name, f"{spec.name}_status"]
    return [*columns, *DERIVED_COLUMNS, "annotators"]


def neutralize(cell: str) -> str:
    """A text cell a spreadsheet will show, never run: a leading formula character (or a
    leading ``'``, so the rule can be undone exactly) gets a ``'`` in front."""
    if cell and (cell[0] in DANGEROUS or cell[0] == "'"):
        return "'" + cell
    return cell


def shown(text: str) -> str:
    """A cell that is only displayed (a PDF's title or file name, a quote from its text, a
    list of names): control and bidi characters become U+FFFD, then formula-neutralised."""
    return neutralize(visible(text))


def unneutralize(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def number_cell(value: float | int) -> str:
    """A number as the shortest text that reads back exactly ("72", "38.4", "3.14e+23")."""
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int) or (
        math.isfinite(value) and value == int(value) and abs(value) < 1e15
    ):
        return str(int(value))
    return repr(float(value))


def value_cell(spec: FieldSpec, value: Any) -> str:
    """A canonical value as one CSV cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralize("; ".join(str(item) for item in value))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and spec.is_numeric:
        return number_cell(value)
    return neutralize(str(value))


def _derived_cell(value: float | None) -> str:
    return "" if value is None else number_cell(value)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    exported: int
    left_out: int


def _gold_papers(
    db: Database, include_partial: bool, evidence: bool = True
) -> Iterator[tuple[GoldPaper, bool]]:
    """Papers with whether to export them. Without --include-partial only papers someone has
    decided are read (no other paper can be final); the rest are counted, not read."""
    names = [spec.name for spec in FIELDS]
    if include_partial:
        for gold in iter_gold(db, names, evidence=evidence):
            yield gold, True
        return
    seen = 0
    for gold in iter_gold(db, names, only_decided=True, evidence=evidence):
        seen += 1
        yield gold, gold.complete
    total = int(db.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    for _ in range(total - seen):
        yield _UNREAD, False


def export_wide(
    db: Database,
    out: TextIO,
    *,
    include_partial: bool = False,
    utilization: float = DEFAULT_UTILIZATION,
) -> ExportSummary:
    writer = csv.writer(out, lineterminator="\r\n")
    metadata = PaperMetadata(db)
    writer.writerow(wide_columns() + metadata.columns)
    exported = left_out = 0
    for gold, wanted in _gold_papers(db, include_partial, evidence=False):
        if not wanted:
            left_out += 1
            continue
        exported += 1
        paper = gold.paper
        row = [paper.id, shown(paper.file), shown(paper.title or "")]
        reported: dict[str, Any] = {}
        for spec in FIELDS:
            field = gold.fields[spec.name]
            if not field.final:
                row += ["", ""]
                continue
            if field.status == Status.REPORTED:
                reported[spec.name] = field.value
            row += [value_cell(spec, field.value), field.status or ""]
        derived = derive(reported, utilization)
        row += [_derived_cell(v) for v in derived.as_row().values()]
        row.append(shown("; ".join(gold.decided_by)))
        writer.writerow(row + metadata.cells(paper.id))
    return ExportSummary(exported, left_out)


def export_long(db: Database, out: TextIO, *, include_partial: bool = False) -> ExportSummary:
    writer = csv.writer(out, lineterminator="\r\n")
    metadata = PaperMetadata(db)
    writer.writerow([*LONG_COLUMNS, *metadata.columns])
    proposals: dict[int, tuple[Any, str]] = {}
    runs = {run.id: run.name for run in run_store.list_runs(db)}
    exported = left_out = 0
    for gold, wanted in _gold_papers(db, include_partial):
        if not wanted:
            left_out += 1
            continue
        exported += 1
        paper = gold.paper
        comments = all_comments(db, paper.id)
        paper_cells = metadata.cells(paper.id)
        for spec in FIELDS:
            field = gold.fields[spec.name]
            chosen = field.chosen
            proposed, run_name = "", ""
            if chosen is not None and chosen.proposal_id is not None:
                if chosen.proposal_id not in proposals:
                    p = run_store.proposal(db, chosen.proposal_id)
                    proposals[chosen.proposal_id] = (
                        (
                            value_cell(spec, p.value) if p.status == Status.REPORTED else p.status,
                            runs.get(p.run_id, ""),
                        )
                        if p
                        else ("", "")
                    )
                proposed, run_name = proposals[chosen.proposal_id]
            writer.writerow(
                [
                    paper.id,
                    shown(paper.file),
                    shown(paper.title or ""),
                    spec.name,
                    field.status if field.final else "",
                    value_cell(spec, field.value) if field.final else "",
                    chosen.page if chosen and chosen.page is not None and field.final else "",
                    shown(chosen.quote or "") if chosen and field.final else "",
                    chosen.verdict if chosen and field.final else (field.reason or ""),
                    proposed,
                    neutralize(run_name),
                    shown("; ".join(field.decided_by)),
                    chosen.decided_at if chosen and field.final else "",
                    _evidence_grounding(chosen) if chosen and field.final else "",
                    neutralize(
                        " | ".join(f"{c.annotator}: {c.text}" for c in comments.get(spec.name, ()))
                    ),
                    *paper_cells,
                ]
            )
    return ExportSummary(exported, left_out)


def _evidence_grounding(chosen: Judgement) -> str:
    if chosen.no_quote:
        return "no quote"
    return chosen.grounding or ""


def export_jsonl(db: Database, out: TextIO, *, include_partial: bool = False) -> ExportSummary:
    """The gold set in the proposals format: one object per paper and final field."""
    exported = left_out = 0
    for gold, wanted in _gold_papers(db, include_partial):
        if not wanted:
            left_out += 1
            continue
        exported += 1
        for spec in FIELDS:
            field = gold.fields[spec.name]
            if not field.final or field.chosen is None:
                continue
            record: dict[str, Any] = {
                "paper": gold.paper.id,
                "field": spec.name,
                "status": field.status,
            }
            if field.status != Status.NOT_REPORTED:
                record["value"] = field.value
                record["evidence"] = {"page": field.chosen.page, "quote": field.chosen.quote}
            out.write(json_escape(json.dumps(record, ensure_ascii=False)) + "\n")
    return ExportSummary(exported, 0 if include_partial else left_out)


def export_run_jsonl(db: Database, out: TextIO, run_name: str) -> ExportSummary:
    """A run's proposals in the proposals format."""
    run = run_store.get_run(db, run_name)
    if run is None:
        raise LookupError(f"no run named {run_name!r}")
    papers = 0
    for paper in paper_store.iter_papers(db, stable_order=True):
        found = run_store.proposals_for(db, paper.id, run.id)
        if not found:
            continue
        papers += 1
        for spec in FIELDS:
            p = found.get(spec.name)
            if p is None:
                continue
            record: dict[str, Any] = {"paper": paper.id, "field": spec.name, "status": p.status}
            if p.status != Status.NOT_REPORTED:
                record["value"] = p.value
                record["evidence"] = {"page": p.page, "quote": p.quote}
            out.write(json_escape(json.dumps(record, ensure_ascii=False)) + "\n")
    return ExportSummary(papers, 0)


# --- import-gold -----------------------------------------------------------------------------

MAX_CELL = 100_000


class GoldRejected(GoldsmithError):
    """The file has problems (``problems``); nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s), the first: {problems[0] if problems else 'none'}"
        )
        self.problems = problems


@dataclass(frozen=True, slots=True)
class GoldRow:
    """One paper's row of a gold CSV, checked: its decisions and its metadata cells."""

    paper_id: str
    decisions: list[NewDecision]
    metadata: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class GoldImport:
    papers: int
    decisions: int
    metadata: MetadataImport | None = None


def _read_rows(path: Path) -> list[list[str]]:
    try:
        text = read_utf8(path, "row")
    except UnreadableFile as exc:
        raise GoldRejected([str(exc)]) from None
    # No cell is longer than the file; parse_gold names the row and column of a long one.
    limit = csv.field_size_limit(max(len(text), MAX_CELL) + 1)
    rows: list[list[str]] = []
    try:
        rows.extend(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise GoldRejected([f"row {len(rows) + 1}: not readable as CSV ({exc})"]) from None
    finally:
        csv.field_size_limit(limit)
    return rows


def _some(names: list[str], shown: int = 10) -> str:
    """The first few names, and how many more there are (a header may be huge)."""
    listed = ", ".join(name[:40] for name in names[:shown])
    return listed if len(names) <= shown else f"{listed} and {len(names) - shown:,} more"


def parse_gold(db: Database, path: Path) -> tuple[list[GoldRow], list[str]]:
    """Check every cell of a wide gold CSV; what it holds per paper, and problems."""
    rows = _read_rows(path)
    if not rows:
        return [], ["the file is empty"]
    header, body = rows[0], rows[1:]
    problems: list[str] = []
    # Every check of the header is one pass over it: a hostile file may have 100,000 columns.
    position = {name: index for index, name in enumerate(header)}
    counts = Counter(header)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        problems.append(f"row 1: column(s) named twice: {_some(duplicated)}")
    if "paper_id" not in position:
        return [], problems + ["row 1: no paper_id column (is this a wide gold export?)"]
    known = set(wide_columns())
    metadata_columns, metadata_problems = header_columns(header)
    problems += metadata_problems
    unknown = [
        name for name in counts if name not in known and not name.startswith(METADATA_PREFIX)
    ]
    if unknown:
        problems.append(f"row 1: unknown column(s): {_some(unknown)}")
    specs = [spec for spec in FIELDS if spec.name in position or f"{spec.name}_status" in position]
    for spec in specs:
        for column in (spec.name, f"{spec.name}_status"):
            if column not in position:
                problems.append(f"row 1: column {column} is missing (it comes in pairs)")
    if not specs:
        problems.append("row 1: no field columns")
    if problems:
        return [], problems
    seen: dict[str, int] = {}
    result: list[GoldRow] = []
    for number, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"row {number}: {len(row)} cells, the header has {len(header)}")
            continue
        too_long = [header[i] for i, cell in enumerate(row) if len(cell) > MAX_CELL]
        if too_long:
            problems.append(
                f"row {number}, column {too_long[0]}: longer than {MAX_CELL} characters"
            )
            continue
        # Every cell, even one this import leaves out (file, title, derived columns): a file
        # with terminal controls in it is not a gold set to trust.
        unsafe = next(
            (
                (header[i], problem)
                for i, cell in enumerate(row)
                if (problem := unsafe_character(cell))
            ),
            None,
        )
        if unsafe:
            problems.append(f"row {number}, column {unsafe[0]}: {unsafe[1]}")
            continue
        paper_id = row[position["paper_id"]].strip()
        paper = paper_store.get_paper(db, paper_id.lower())
        if paper is None:
            problems.append(
                f"row {number}, column paper_id: no paper {paper_id[:40]!r} in this database"
            )
            continue
        if paper.id in seen:
            problems.append(f"row {number}, column paper_id: same paper as row {seen[paper.id]}")
            continue
        seen[paper.id] = number
        decisions: list[NewDecision] = []
        authors = None
        if "annotators" in position:
            names, problem = split_names(unneutralize(row[position["annotators"]]))
            if problem:
                problems.append(f"row {number}, column annotators: {problem}")
                continue
            authors = "; ".join(names) or None
        for spec in specs:
            status = row[position[f"{spec.name}_status"]].strip()
            cell = unneutralize(row[position[spec.name]])
            try:
                decision = _decision(paper.id, spec, status, cell, authors)
            except ValueProblem as exc:
                column = spec.name if status == Status.REPORTED else f"{spec.name}_status"
                problems.append(f"row {number}, column {column}: {exc}")
                continue
            if decision is not None:
                decisions.append(decision)
        metadata: dict[str, str | None] = {}
        for index, name in metadata_columns.items():
            value = unneutralize(row[index].strip())
            if problem := value_problem(value):
                problems.append(f"row {number}, column {header[index]}: {problem}")
            elif value:
                metadata[name] = value  # an empty cell leaves the paper's own value alone
        result.append(GoldRow(paper.id, decisions, metadata))
    if not result and not problems:
        problems.append("no rows")
    return result, problems


def _decision(
    paper_id: str, spec: FieldSpec, status: str, cell: str, authors: str | None
) -> NewDecision | None:
    if status == "":
        if cell.strip():
            raise ValueProblem("a value without a status")
        return None
    if status not in (s.value for s in Status):
        raise ValueProblem(f"unknown status {status[:40]!r} (reported, not_reported, ambiguous)")
    if status == Status.NOT_REPORTED:
        if cell.strip():
            raise ValueProblem("not_reported, yet a value is given")
        return NewDecision(
            paper_id, spec.name, "not_reported", Status.NOT_REPORTED, on_behalf_of=authors
        )
    if status == Status.AMBIGUOUS:
        value = normalize_value(spec, _list_cell(spec, cell)) if cell.strip() else None
        return NewDecision(
            paper_id,
            spec.name,
            "ambiguous",
            Status.AMBIGUOUS,
            value=value,
            comment="imported",
            on_behalf_of=authors,
        )
    if not cell.strip():
        raise ValueProblem("reported, but the value is empty")
    return NewDecision(
        paper_id,
        spec.name,
        "corrected",
        Status.REPORTED,
        value=normalize_value(spec, _list_cell(spec, cell)),
        on_behalf_of=authors,
    )


def _list_cell(spec: FieldSpec, cell: str) -> Any:
    if spec.kind in (Kind.TEXT_LIST, Kind.CHOICE_LIST):
        return [item for item in cell.split(";") if item.strip()]
    return cell


def import_gold(db: Database, path: Path, annotator: str) -> GoldImport:
    """Load a wide gold CSV as final decisions loaded by ``annotator`` (all or nothing).

    Imported values are recorded as adjudicated (the gold set they come from is final), so
    they set the gold value and do not count as a second annotator in agreement figures. A
    row's ``annotators`` cell is kept as whose judgement each value is, so exporting again
    gives back the same file.

    Raises:
        GoldRejected: Any cell is bad; every problem is listed and nothing is imported.
    """
    papers, problems = parse_gold(db, path)
    if problems:
        raise GoldRejected(problems)
    total = 0
    metadata = None
    with write(db):
        for row in papers:
            if row.decisions:
                decision_store.record(db, row.decisions, annotator=annotator, role="adjudicator")
                total += len(row.decisions)
        carried = [(row.paper_id, row.metadata) for row in papers if row.metadata]
        if carried:
            metadata = metadata_store.set_values(db, carried, source=path.name)
    return GoldImport(papers=len(papers), decisions=total, metadata=metadata)
