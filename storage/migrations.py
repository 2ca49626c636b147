"""Schema migrations, applied in order when a database is opened.

Each migration runs in one transaction with the record of it having been applied, so a
database is never left half-upgraded. Never edit a migration that has shipped: add a new one.
The public tables and columns (``docs/data.md``) are never renamed.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("goldsmith")


def known_migrations() -> list[str]:
    """The names of every migration this goldsmith knows, in the order they apply."""
    return [migration.name for migration in MIGRATIONS._migrations]


def run_script(db: Database, script: str) -> None:
    """Run several SQL statements inside the current transaction.

    ``executescript`` would commit the open transaction first, which would let a failed
    migration leave half a schema behind; statements are split and run one by one instead.
    """
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement.strip()[:60]}")


@MIGRATIONS()
def m001_core_tables(db: Database) -> None:
    """The public tables, with the constraints that keep them honest."""
    run_script(
        db,
        """
        CREATE TABLE papers (
            id TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            file TEXT NOT NULL,
            path TEXT,
            title TEXT,
            pages INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            bytes INTEGER,
            title_source TEXT
        );
        CREATE TABLE ingest_errors (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX ingest_errors_path ON ingest_errors(path);
        CREATE TABLE pages (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            page INTEGER NOT NULL CHECK (page >= 1),
            text TEXT NOT NULL,
            PRIMARY KEY (paper_id, page)
        );
        -- Contentless: the index holds a normalised copy of each page (ligatures expanded,
        -- line-end hyphens joined) keyed by pages.rowid, without storing the text twice.
        CREATE VIRTUAL TABLE pages_fts USING fts5(
            search_text, content='', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            engine TEXT NOT NULL CHECK (engine IN ('ollama', 'rules', 'import')),
            model TEXT,
            host TEXT,
            schema_version INTEGER NOT NULL,
            options TEXT NOT NULL DEFAULT '{}',
            started_at TEXT NOT NULL,
            finished_at TEXT
        );
        CREATE TABLE proposals (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            paper_id TEXT NOT NULL REFERENCES papers(id),
            field TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('reported', 'not_reported', 'ambiguous')),
            value TEXT,
            page INTEGER,
            quote TEXT,
            grounding TEXT CHECK (grounding IN ('exact', 'normalized', 'fuzzy', 'ungrounded')),
            char_start INTEGER,
            char_end INTEGER,
            value_in_quote INTEGER,
            UNIQUE (run_id, paper_id, field)
        );
        CREATE INDEX proposals_paper ON proposals(paper_id, run_id);
        CREATE TABLE decisions (
            uuid TEXT PRIMARY KEY,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            field TEXT NOT NULL,
            annotator TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('annotator', 'adjudicator')),
            verdict TEXT NOT NULL CHECK (
                verdict IN ('accepted', 'corrected', 'not_reported', 'ambiguous', 'undone')
            ),
            value TEXT,
            page INTEGER,
            quote TEXT,
            proposal_id INTEGER REFERENCES proposals(id),
            comment TEXT,
            decided_at TEXT NOT NULL,
            status TEXT CHECK (status IN ('reported', 'not_reported', 'ambiguous')),
            undoes TEXT REFERENCES decisions(uuid),
            batch TEXT
        );
        CREATE INDEX decisions_paper_field ON decisions(paper_id, field);
        CREATE INDEX decisions_annotator ON decisions(annotator, decided_at);
        CREATE INDEX decisions_undoes ON decisions(undoes);
        -- Append-only: a decision is never changed or removed, only followed by another.
        CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        """,
    )


@MIGRATIONS()
def m002_decision_state(db: Database) -> None:
    """Each annotator's current decision per (paper, field), derived from the decision log.

    The log stays the source of truth; this table is what the review queue, progress counts
    and the gold set read, so none of them replays the log. Rebuilt here from any decisions an
    older database already holds.
    """
    run_script(
        db,
        """
        CREATE TABLE decision_state (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            field TEXT NOT NULL,
            annotator TEXT NOT NULL,
            role TEXT NOT NULL,
            decision_uuid TEXT NOT NULL REFERENCES decisions(uuid),
            verdict TEXT NOT NULL,
            status TEXT,
            value TEXT,
            decided_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, field, annotator, role)
        );
        CREATE INDEX decision_state_annotator ON decision_state(annotator, role, paper_id);
        INSERT INTO decision_state
            (paper_id, field, annotator, role, decision_uuid, verdict, status, value, decided_at)
        SELECT paper_id, field, annotator, role, uuid, verdict, status, value, decided_at
        FROM (
            SELECT d.*, ROW_NUMBER() OVER (
                PARTITION BY paper_id, field, annotator, role
                ORDER BY decided_at DESC, rowid DESC
            ) AS rn
            FROM decisions d
            WHERE verdict != 'undone'
              AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.uuid)
        )
        WHERE rn = 1;
        """,
    )


@MIGRATIONS()
def m003_run_papers(db: Database) -> None:
    """Which papers a run has done (or failed on, and why), for resuming and for honesty.

    Also a free-text ``note`` on proposals (e.g. "page corrected from 5") and run-level
    ``notes`` (e.g. prompts truncated by the model server).
    """
    run_script(
        db,
        """
        CREATE TABLE run_papers (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            paper_id TEXT NOT NULL REFERENCES papers(id),
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            prompt_tokens INTEGER,
            prompt_eval_count INTEGER,
            truncated INTEGER NOT NULL DEFAULT 0,
            seconds REAL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (run_id, paper_id)
        );
        ALTER TABLE proposals ADD COLUMN note TEXT;
        ALTER TABLE runs ADD COLUMN notes TEXT;
        """,
    )


@MIGRATIONS()
def m004_comments(db: Database) -> None:
    """Annotators' comments on a field (``c`` in review); append-only like decisions."""
    run_script(
        db,
        """
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            field TEXT NOT NULL,
            annotator TEXT NOT NULL,
            comment TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX comments_paper ON comments(paper_id, annotator);
        CREATE TRIGGER comments_no_update BEFORE UPDATE ON comments
        BEGIN SELECT RAISE(ABORT, 'comments are append-only'); END;
        CREATE TRIGGER comments_no_delete BEFORE DELETE ON comments
        BEGIN SELECT RAISE(ABORT, 'comments are append-only'); END;
        """,
    )


@MIGRATIONS()
def m005_decision_provenance(db: Database) -> None:
    """Who a decision speaks for, and whether it was made blind.

    ``on_behalf_of``: the annotators an imported gold value came from (``import-gold``), so
    the gold set keeps its authors while ``annotator`` records who loaded it. ``blind``: the
    model's proposal was hidden when the decision was made (``review --blind``).
    """
    run_script(
        db,
        """
        ALTER TABLE decisions ADD COLUMN on_behalf_of TEXT;
        ALTER TABLE decisions ADD COLUMN blind INTEGER NOT NULL DEFAULT 0;
        """,
    )


@MIGRATIONS()
def m006_queue_filter_indexes(db: Database) -> None:
    """Indexes that let the sparse queue filters (flagged, ungrounded evidence) find their few
    papers directly instead of checking every paper (400 ms a key press on 100,000 papers)."""
    run_script(
        db,
        """
        CREATE INDEX decision_state_verdict ON decision_state(annotator, role, verdict, paper_id);
        CREATE INDEX comments_annotator ON comments(annotator, paper_id);
        CREATE INDEX proposals_grounding ON proposals(run_id, grounding, paper_id);
        """,
    )


@MIGRATIONS()
def m007_decision_state_evidence(db: Database) -> None:
    """The evidence and provenance of each current decision, beside it in ``decision_state``:
    reading the gold set then needs no join to the log (1.8 s of 2.7 s on 100,000 papers)."""
    run_script(
        db,
        """
        ALTER TABLE decision_state ADD COLUMN page INTEGER;
        ALTER TABLE decision_state ADD COLUMN quote TEXT;
        ALTER TABLE decision_state ADD COLUMN proposal_id INTEGER;
        ALTER TABLE decision_state ADD COLUMN on_behalf_of TEXT;
        UPDATE decision_state SET
            page = (SELECT page FROM decisions WHERE uuid = decision_uuid),
            quote = (SELECT quote FROM decisions WHERE uuid = decision_uuid),
            proposal_id = (SELECT proposal_id FROM decisions WHERE uuid = decision_uuid),
            on_behalf_of = (SELECT on_behalf_of FROM decisions WHERE uuid = decision_uuid);
        """,
    )


@MIGRATIONS()
def m011_papers_file_index(db: Database) -> None:
    """Papers by file name, then id: the stable order every export writes them in (the same
    in every database, unlike the order of ingest), and the lookup of a paper by file name."""
    db.execute("CREATE INDEX papers_file ON papers(file, id)")


@MIGRATIONS()
def m011_pages_fts_external_content(db: Database) -> None:
    """``pages_fts`` becomes an external-content index of ``pages`` (``content="pages"``), so
    sqlite-utils (``sqlite-utils search``) and Datasette (its search box) find it as the
    full-text index of ``pages``; a contentless index is invisible to both.

    The index still holds the normalised copy of each page (ligatures expanded, line-end
    hyphens joined), inserted by ``storage.papers.add_paper``, while reading a column of
    ``pages_fts`` returns the raw text from ``pages``: nothing is stored twice. The normaliser
    lives in ``extraction/``, which storage may not import, so the existing index is carried
    over from its own tokens: an ``fts5vocab`` instance table lists every token of every page
    with its position, and the tokens of a page, joined by spaces, index to exactly the same
    terms (a page without a token stays indexed, empty). A page the old index lacks is indexed
    from its raw text.
    """
    run_script(
        db,
        """
        ALTER TABLE pages_fts RENAME TO pages_fts_contentless;
        CREATE VIRTUAL TABLE pages_fts USING fts5(
            text, content="pages", content_rowid="rowid",
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE VIRTUAL TABLE temp.pages_fts_tokens
            USING fts5vocab(main, pages_fts_contentless, instance);
        """,
    )
    rows = db.conn.execute('SELECT doc, term FROM temp.pages_fts_tokens ORDER BY doc, "offset"')
    page: int | None = None
    tokens: list[str] = []
    batch: list[tuple[int, str]] = []

    def flush() -> None:
        db.conn.executemany("INSERT INTO pages_fts (rowid, text) VALUES (?, ?)", batch)
        batch.clear()

    for doc, term in rows:
        if doc != page:
            if page is not None:
                batch.append((page, " ".join(tokens)))
                if len(batch) >= 1000:
                    flush()
            page, tokens = doc, []
        tokens.append(term)
    if page is not None:
        batch.append((page, " ".join(tokens)))
    flush()
    run_script(
        db,
        """
        INSERT INTO pages_fts (rowid, text)
            SELECT id, '' FROM pages_fts_contentless_docsize
            WHERE id NOT IN (SELECT id FROM pages_fts_docsize);
        INSERT INTO pages_fts (rowid, text)
            SELECT rowid, text FROM pages
            WHERE rowid NOT IN (SELECT id FROM pages_fts_docsize);
        DROP TABLE temp.pages_fts_tokens;
        DROP TABLE pages_fts_contentless;
        """,
    )


@MIGRATIONS()
def m010_metadata_and_samples(db: Database) -> None:
    """Paper metadata imported by the user, and gold-set samples with their design.

    ``paper_metadata``: one row per paper and column (``venue``, ``year``, any other), values
    as text. ``samples``: each sample's design (seed, size, strata, annotators, overlap).
    ``sample_frame``: every paper of the corpus when the sample was drawn, with its stratum
    (the population its estimates are about). ``sample_strata``: papers and sample size per
    stratum. ``sample_papers``: the sample, in review order, with each paper's stratum,
    inclusion probability and assigned annotators; ``sample_assignments``: the same
    assignments one row per annotator, for each annotator's queue.
    """
    run_script(
        db,
        """
        CREATE TABLE paper_metadata (
            paper_id TEXT NOT NULL REFERENCES papers(id),
            name TEXT NOT NULL,
            value TEXT NOT NULL,
            source TEXT,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (paper_id, name)
        );
        CREATE INDEX paper_metadata_name ON paper_metadata(name, value);
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            seed INTEGER NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            strata TEXT NOT NULL DEFAULT '[]',
            run_id INTEGER REFERENCES runs(id),
            annotators TEXT NOT NULL DEFAULT '[]',
            overlap REAL NOT NULL DEFAULT 0 CHECK (overlap >= 0 AND overlap <= 1),
            frame_papers INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE sample_frame (
            sample_id INTEGER NOT NULL REFERENCES samples(id),
            paper_id TEXT NOT NULL REFERENCES papers(id),
            stratum TEXT NOT NULL,
            PRIMARY KEY (sample_id, paper_id)
        ) WITHOUT ROWID;
        CREATE TABLE sample_strata (
            sample_id INTEGER NOT NULL REFERENCES samples(id),
            stratum TEXT NOT NULL,
            population INTEGER NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY (sample_id, stratum)
        );
        CREATE TABLE sample_papers (
            sample_id INTEGER NOT NULL REFERENCES samples(id),
            paper_id TEXT NOT NULL REFERENCES papers(id),
            position INTEGER NOT NULL CHECK (position >= 1),
            stratum TEXT NOT NULL,
            inclusion_probability REAL NOT NULL,
            annotators TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            PRIMARY KEY (sample_id, paper_id),
            UNIQUE (sample_id, position)
        );
        CREATE TABLE sample_assignments (
            sample_id INTEGER NOT NULL REFERENCES samples(id),
            annotator TEXT NOT NULL,
            position INTEGER NOT NULL,
            paper_id TEXT NOT NULL REFERENCES papers(id),
            PRIMARY KEY (sample_id, annotator, position)
        );
        """,
    )


@MIGRATIONS()
def m009_openai_engine_and_field_attempts(db: Database) -> None:
    """Runs may use the ``openai`` engine; each field's attempts and final problem are kept.

    SQLite cannot alter a CHECK constraint, so ``runs`` is made again from its own definition
    (with whatever columns earlier migrations added), every row copied back with its id, and
    its indexes and triggers made again. Foreign keys stay on inside the migration's
    transaction: they are deferred while ``runs`` is briefly absent, and every row of
    ``proposals`` and ``run_papers`` finds its run again before the transaction ends (nothing
    is renamed, which would rewrite their references to the old copy).

    ``field_attempts``: per run, paper and field, how many model calls asked for the field,
    each call's problem in order (``history``, JSON; null for the call that answered it), and
    the final ``problem`` (null when a valid answer was stored). ``run_papers.answer_tokens``:
    the answer tokens the server counted for the paper, beside its prompt tokens.
    """
    old_check = "CHECK (engine IN ('ollama', 'rules', 'import'))"
    new_check = "CHECK (engine IN ('ollama', 'openai', 'rules', 'import'))"
    definition = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    ).fetchone()[0]
    if old_check not in definition:
        raise ValueError("runs has an unexpected definition; cannot widen its engine check")
    dependents = [
        row[0]
        for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name = 'runs' AND sql IS NOT NULL"
        )
    ]
    count = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    db.execute("PRAGMA defer_foreign_keys = ON")
    db.execute("CREATE TEMP TABLE runs_before_m009 AS SELECT * FROM runs")
    db.execute("DROP TABLE runs")
    db.execute(definition.replace(old_check, new_check))
    db.execute("INSERT INTO runs SELECT * FROM temp.runs_before_m009")
    db.execute("DROP TABLE temp.runs_before_m009")
    for statement in dependents:
        db.execute(statement)
    if db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] != count:
        raise ValueError("runs lost rows while being made again")
    dangling = db.execute("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise ValueError(f"foreign keys dangle after runs was made again: {dangling[:3]}")
    run_script(
        db,
        """
        CREATE TABLE field_attempts (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            paper_id TEXT NOT NULL REFERENCES papers(id),
            field TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            history TEXT NOT NULL DEFAULT '[]',
            problem TEXT,
            PRIMARY KEY (run_id, paper_id, field)
        );
        ALTER TABLE run_papers ADD COLUMN answer_tokens INTEGER;
        """,
    )


@MIGRATIONS()
def m008_decision_evidence(db: Database) -> None:
    """The evidence of every human answer, as proposals have it.

    ``grounding`` (``exact`` or ``normalized`` for a quote an annotator chose; a proposal's
    own for an accepted one) with ``char_start``/``char_end`` into the page's stored text;
    ``no_quote`` = 1 when a value was saved without a quote on purpose; ``shown_mentions``
    (JSON) the candidate mentions of the field the annotator was shown when deciding "not
    reported" (``[]``: the paper had none). ``decision_state`` carries ``grounding`` and
    ``no_quote`` beside each current decision, for exports.
    """
    run_script(
        db,
        """
        ALTER TABLE decisions ADD COLUMN grounding TEXT
            CHECK (grounding IN ('exact', 'normalized', 'fuzzy', 'ungrounded'));
        ALTER TABLE decisions ADD COLUMN char_start INTEGER;
        ALTER TABLE decisions ADD COLUMN char_end INTEGER;
        ALTER TABLE decisions ADD COLUMN no_quote INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE decisions ADD COLUMN shown_mentions TEXT;
        ALTER TABLE decision_state ADD COLUMN grounding TEXT;
        ALTER TABLE decision_state ADD COLUMN no_quote INTEGER NOT NULL DEFAULT 0;
        """,
    )
