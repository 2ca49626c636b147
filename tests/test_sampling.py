"""Gold samples: reproducible random (stratified) draws with their design stored, growth that
keeps the earlier papers first, annotator shares with overlap, and review in sample order."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from fractions import Fraction
from itertools import combinations
from pathlib import Path

import pytest

from extraction.fields import FIELD_NAMES
from extraction.gold.sampling import allocate, assignees, key
from storage import open_database
from storage import samples as sample_store
from storage.decisions import NewDecision, record
from storage.queue import QueueFilter, QueueScope, count, page_after, papers_done, start_row
from tests import synthetic
from tests.test_gold import run

PAPERS = 240


@pytest.fixture(scope="session")
def corpus_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("synthetic") / "corpus.db"
    ids = synthetic.write_db(path, synthetic.make(5, PAPERS), 5)
    return path, ids


@pytest.fixture
def corpus_db(corpus_template: tuple[Path, list[str]], tmp_path: Path) -> Path:
    path = tmp_path / "corpus.db"
    shutil.copyfile(corpus_template[0], path)
    return path


def sample_rows(db_path: Path, name: str) -> list[tuple[int, str, str, float, str]]:
    db = open_database(db_path)
    try:
        return [
            tuple(row)  # type: ignore[misc]
            for row in db.execute(
                "SELECT sp.position, sp.paper_id, sp.stratum, sp.inclusion_probability, "
                "sp.annotators FROM sample_papers sp JOIN samples s ON s.id = sp.sample_id "
                "WHERE s.name = ? ORDER BY sp.position",
                [name],
            )
        ]
    finally:
        db.close()


def test_same_seed_and_papers_give_the_same_sample(corpus_db: Path, tmp_path: Path) -> None:
    assert run(corpus_db, "sample", "a", "--size", "30", "--seed", "11")[0] == 0
    assert run(corpus_db, "sample", "b", "--size", "30", "--seed", "11")[0] == 0
    assert run(corpus_db, "sample", "c", "--size", "30", "--seed", "12")[0] == 0
    first = [row[1] for row in sample_rows(corpus_db, "a")]
    assert first == [row[1] for row in sample_rows(corpus_db, "b")]
    assert set(first) != {row[1] for row in sample_rows(corpus_db, "c")}
    # Another database holding the same papers, added in the opposite order: same sample.
    reversed_db = tmp_path / "reversed.db"
    source = open_database(corpus_db)
    target = open_database(reversed_db)
    papers = list(source.query("SELECT * FROM papers ORDER BY rowid DESC"))
    with target.conn:
        for row in papers:
            target.execute(
                "INSERT INTO papers (id, sha256, file, path, title, pages, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [row[k] for k in ("id", "sha256", "file", "path", "title", "pages", "added_at")],
            )
    source.close()
    target.close()
    assert run(reversed_db, "sample", "a", "--size", "30", "--seed", "11")[0] == 0
    assert [row[1] for row in sample_rows(reversed_db, "a")] == first
    # The key is a hash of seed and paper id, so it is the same everywhere.
    assert key(11, first[0]) == key(11, first[0]) and key(11, first[0]) != key(12, first[0])


def test_stratified_design_is_stored(corpus_db: Path) -> None:
    code, out, err = run(
        corpus_db,
        "sample",
        "s",
        "--size",
        "60",
        "--strata",
        "venue",
        "--strata",
        "run:accelerator_count",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    design = json.loads(out)
    assert design["strata_by"] == ["venue", "run:accelerator_count"]
    assert design["size"] == 60 and design["frame_papers"] == PAPERS
    strata = {s["stratum"]: s for s in design["strata"]}
    assert set(strata) == {
        f"{v} | {s}" for v in synthetic.VENUES for s in ("reported", "not_reported")
    }
    assert sum(s["papers"] for s in strata.values()) == PAPERS
    for s in strata.values():
        # Proportional allocation (largest remainder), at least two per stratum.
        assert abs(s["sample"] - 60 * s["papers"] / PAPERS) < 1 or s["sample"] == 2
        assert s["inclusion_probability"] == pytest.approx(s["sample"] / s["papers"])
    rows = sample_rows(corpus_db, "s")
    assert [r[0] for r in rows] == list(range(1, 61))
    by_stratum = Counter(r[2] for r in rows)
    assert by_stratum == {name: s["sample"] for name, s in strata.items()}
    for _, _, stratum, probability, _ in rows:
        assert probability == pytest.approx(strata[stratum]["inclusion_probability"])
    db = open_database(corpus_db)
    sample = sample_store.get_sample(db, "s")
    assert sample is not None
    frame = sample_store.frame(db, sample.id)
    # Every paper's stratum is what its metadata and the run's proposal say.
    venue = dict(db.execute("SELECT paper_id, value FROM paper_metadata WHERE name = 'venue'"))
    proposed = dict(
        db.execute("SELECT paper_id, status FROM proposals WHERE field = 'accelerator_count'")
    )
    db.close()
    assert len(frame) == PAPERS
    assert all(stratum == f"{venue[p]} | {proposed[p]}" for p, stratum in frame)
    # Interleaved: the first 20 papers hold every stratum with two or more sampled.
    first = Counter(r[2] for r in rows[:20])
    assert all(first[name] >= 1 for name, s in strata.items() if s["sample"] >= 4)


def test_a_sample_grows_with_the_earlier_papers_first(corpus_db: Path) -> None:
    assert run(corpus_db, "sample", "g", "--size", "40", "--strata", "venue", "--seed", "9")[0] == 0
    before = sample_rows(corpus_db, "g")
    code, out, _ = run(corpus_db, "sample", "g", "--size", "100")
    assert code == 0 and "grew by 60 to 100" in out
    after = sample_rows(corpus_db, "g")
    assert [r[:3] for r in after[:40]] == [r[:3] for r in before]
    assert [r[0] for r in after] == list(range(1, 101))
    assert len({r[1] for r in after}) == 100
    counts = Counter(r[2] for r in after)
    db = open_database(corpus_db)
    sizes = {
        s.stratum: s for s in sample_store.strata_sizes(db, sample_store.get_sample(db, "g").id)
    }  # type: ignore[union-attr]
    db.close()
    for _, _, stratum, probability, _ in after:
        assert probability == pytest.approx(counts[stratum] / sizes[stratum].population)
    # Within a stratum, the grown sample is the next papers in key order (an SRS at each size).
    assert (
        run(corpus_db, "sample", "direct", "--size", "100", "--strata", "venue", "--seed", "9")[0]
        == 0
    )
    assert {r[1] for r in sample_rows(corpus_db, "direct")} == {r[1] for r in after}
    for args, message in (
        (["--size", "50"], "a sample only grows"),
        (["--size", "120", "--seed", "10"], "was drawn with seed 9"),
        (["--size", "120", "--strata", "year"], "a grown sample keeps its design"),
    ):
        code, _, err = run(corpus_db, "sample", "g", *args)
        assert code == 2 and message in err


def test_design_errors_are_one_line(corpus_db: Path) -> None:
    for args, message in (
        (["--size", "5", "--strata", "venue", "--strata", "year"], "too small for 15 strata"),
        (
            ["--size", "10", "--strata", "domain"],
            "no metadata column 'domain' (columns: venue, year)",
        ),
        (["--size", "10", "--strata", "run:gpu_count"], "no field 'gpu_count'"),
        (["--size", "10000"], f"more than the {PAPERS} papers"),
        (["--size", "10", "--annotators", "a", "--overlap", "0.5"], "at least two --annotators"),
        (["--size", "10", "--annotators", "a,a"], "a name is given twice"),
    ):
        code, out, err = run(corpus_db, "sample", "bad", *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert message in err, err


def test_annotator_shares_and_overlap(corpus_db: Path) -> None:
    code, out, err = run(
        corpus_db,
        "sample",
        "team",
        "--size",
        "90",
        "--seed",
        "1",
        "--annotators",
        "alice,bob,carol",
        "--overlap",
        "0.2",
    )
    assert code == 0, err
    assert "annotators: alice 36, bob 36, carol 36; 18 papers double-annotated" in out
    rows = sample_rows(corpus_db, "team")
    assigned = [tuple(r[4].split("; ")) for r in rows]
    assert sum(len(a) == 2 for a in assigned) == 18
    assert all(len(set(a)) == len(a) for a in assigned)
    pairs = Counter(frozenset(a) for a in assigned if len(a) == 2)
    assert set(pairs) == {frozenset(p) for p in combinations(("alice", "bob", "carol"), 2)}
    # Spread evenly: one double in every five papers.
    doubles = [i for i, a in enumerate(assigned) if len(a) == 2]
    assert all(b - a == 5 for a, b in zip(doubles, doubles[1:], strict=False))
    assert assignees(4, ("a", "b"), Fraction(1, 5)) == ("a", "b")
    assert assignees(5, ("a", "b"), Fraction(1, 5)) == ("b",)


def test_allocation_keeps_two_per_stratum() -> None:
    assert allocate({"big": 1000, "small": 3, "one": 1}, 20, {}) == {
        "big": 17,
        "small": 2,
        "one": 1,
    }
    assert allocate({"a": 50, "b": 50}, 11, {"a": 8, "b": 2}) == {"a": 8, "b": 3}


def test_review_queue_follows_the_sample(corpus_db: Path) -> None:
    assert (
        run(
            corpus_db,
            "sample",
            "q",
            "--size",
            "30",
            "--seed",
            "4",
            "--annotators",
            "alice,bob",
            "--overlap",
            "0.1",
        )[0]
        == 0
    )
    rows = sample_rows(corpus_db, "q")
    alices = [r[1] for r in rows if "alice" in r[4].split("; ")]
    db = open_database(corpus_db)
    sample = sample_store.get_sample(db, "q")
    assert sample is not None
    fields = ("accelerator_count",)
    scope = QueueScope("alice", fields, sample_id=sample.id, share="alice")
    queue = page_after(db, scope, None, 100)
    assert [r.paper_id for r in queue] == alices, "exactly alice's share, in sample order"
    assert [r.rowid for r in queue] == [r[0] for r in rows if "alice" in r[4].split("; ")]
    assert count(db, scope) == len(alices)
    whole = QueueScope("judge", fields, role="adjudicator", sample_id=sample.id)
    assert [r.paper_id for r in page_after(db, whole, None, 100)] == [r[1] for r in rows]
    # Alice decides her first two papers: the queue opens on the third, progress counts two.
    for paper in alices[:2]:
        record(
            db,
            [NewDecision(paper, "accelerator_count", "not_reported", "not_reported")],
            annotator="alice",
        )
    assert papers_done(db, scope) == 2
    start = start_row(db, scope)
    assert start is not None and start.paper_id == alices[2]
    undecided = scope.with_filter(QueueFilter.UNDECIDED)
    assert [r.paper_id for r in page_after(db, undecided, None, 100)] == alices[2:]
    db.close()


async def test_review_app_opens_on_the_sample(corpus_db: Path) -> None:
    from tui.app import SetupError, make_app

    assert (
        run(corpus_db, "sample", "app", "--size", "12", "--seed", "2", "--annotators", "alice,bob")[
            0
        ]
        == 0
    )
    rows = sample_rows(corpus_db, "app")
    app = make_app(corpus_db, "bob", sample="app")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.view is not None  # type: ignore[attr-defined]
        assert screen.view.paper.id == rows[1][1]  # type: ignore[attr-defined]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.view.paper.id == rows[3][1]  # type: ignore[attr-defined]
        assert screen.papers_total == 6  # type: ignore[attr-defined]
    with pytest.raises(SetupError, match="assigns no papers to 'carol'"):
        make_app(corpus_db, "carol", sample="app")
    with pytest.raises(SetupError, match="no sample named 'nope'"):
        make_app(corpus_db, "bob", sample="nope")


def test_papers_sample_lists_progress(corpus_db: Path) -> None:
    assert (
        run(corpus_db, "sample", "p", "--size", "8", "--seed", "6", "--annotators", "a,b")[0] == 0
    )
    rows = sample_rows(corpus_db, "p")
    db = open_database(corpus_db)
    record(
        db,
        [NewDecision(rows[0][1], name, "not_reported", "not_reported") for name in FIELD_NAMES],
        annotator="a",
    )
    db.close()
    code, out, err = run(corpus_db, "papers", "--sample", "p")
    header, *lines = out.splitlines()
    assert header.split("\t")[:6] == [
        "position",
        "stratum",
        "inclusion",
        "annotators",
        "id",
        "status",
    ]
    assert [line.split("\t")[4] for line in lines] == [r[1] for r in rows]
    assert lines[0].split("\t")[5] == "done" and lines[1].split("\t")[5] == "new"
    assert lines[0].split("\t")[3] == "a" and lines[1].split("\t")[3] == "b"
    assert "sample p: 8 papers; 7 new, 0 in progress, 0 needs adjudication, 1 done" in err
    code, out, _ = run(corpus_db, "papers", "--sample", "p", "--status", "done", "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == [rows[0][1]]
    assert records[0]["sample"] == {
        "name": "p",
        "position": 1,
        "stratum": "all",
        "inclusion_probability": pytest.approx(8 / PAPERS),
        "assigned": ["a"],
    }
    code, _, err = run(corpus_db, "papers", "--sample", "nope")
    assert code == 2 and "no sample named 'nope'" in err
