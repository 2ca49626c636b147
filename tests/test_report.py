"""The corpus report: one self-contained HTML file (no script, nothing fetched), charts with
the same figures in tables beside them, and every text from the database escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from extraction.gold.report import rate_text
from storage import metadata as metadata_store
from storage import open_database
from tests import synthetic
from tests.test_estimate import DB_PAPERS, DB_SEED, estimate_template, sampled  # noqa: F401
from tests.test_gold import run

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def reviewed(estimate_template: tuple[Path, list[str]], tmp_path: Path) -> Path:  # noqa: F811
    path = tmp_path / "corpus.db"
    shutil.copyfile(estimate_template[0], path)
    ids = estimate_template[1]
    corpus = synthetic.make(DB_SEED, DB_PAPERS)
    db = open_database(path)
    metadata_store.set_values(db, [(ids[0], {"venue": HOSTILE})])
    db.close()
    assert run(path, "sample", "pilot", "--size", "120", "--strata", "venue", "--seed", "8")[0] == 0
    synthetic.record_gold(path, corpus, ids, sampled(path, "pilot"))
    return path


def test_report_is_self_contained_and_matches_the_estimate(reviewed: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, stdout, err = run(reviewed, "report", str(out))
    assert code == 0, err
    assert "run model, sample pilot (120 gold papers), by venue, year" in stdout
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<script" not in page.lower()
    # Nothing to fetch: the only URLs are the SVG namespace's (an identifier, never loaded).
    assert re.findall(r"(?:https?:)?//[\w.-]+", page) == ["http://www.w3.org"] * len(
        re.findall(r"<svg\b", page)
    )
    assert HOSTILE not in page and "&lt;img src=x" in page
    # Charts, each with a table beside it holding the same figures as estimate --json.
    assert page.count("<svg") >= 5 and page.count("<table>") >= page.count("<svg")
    figures = json.loads(
        run(reviewed, "estimate", "--run", "model", "--sample", "pilot", "--json")[1]
    )
    disclosure = figures["fields"][synthetic.FIELD]["disclosure"]
    assert f"<td>{rate_text(disclosure['corrected'], disclosure['ci95'])}</td>" in page
    accuracy = figures["fields"][synthetic.FIELD]["accuracy"]
    assert f"<td>{rate_text(accuracy['estimate'], accuracy['ci95'])}</td>" in page
    for section in ("disclosure", "accuracy", "errors", "means", "by-venue", "by-year", "method"):
        assert f'id="{section}"' in page
    assert out.stat().st_mode & 0o044, "readable by others, like any file the user writes"


def test_report_errors(estimate_template: tuple[Path, list[str]], tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "corpus.db"
    shutil.copyfile(estimate_template[0], path)
    code, _, err = run(path, "report", str(tmp_path / "r.html"))
    assert code == 2 and "no gold sample yet" in err
    assert run(path, "sample", "s", "--size", "20", "--seed", "1")[0] == 0
    code, _, err = run(path, "report", str(tmp_path / "r.html"), "--by", "domain")
    assert code == 2 and "no metadata column 'domain'" in err
    assert not (tmp_path / "r.html").exists()
