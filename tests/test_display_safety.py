"""Display safety: titles, file names and page text are data. Rich/Textual markup, ANSI
escape sequences and control characters in them show literally, in the app and on the
command line, and are never styled, executed or sent to the terminal."""

from __future__ import annotations

import html
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner
from rich.text import Text

from extraction.evidence.textnorm import normalize
from storage import open_database
from storage.papers import NewPage, add_paper
from tests.conftest import REPO
from tui.app import make_app
from tui.cli import cli
from tui.screens.review import ReviewScreen
from tui.widgets.paper_text import PaperText
from tui.widgets.queue import PaperQueue

TITLE = (
    "[@click=app.quit]Quit[/] [link=https://e.example]x[/link] [/] "
    "\x1b[31mRed\x1b]0;pwned\x07 \u202eevil"
)
PAGE = "Intro [@click=app.quit]click[/] \x1b[2Jcleared [link=x]l[/link] \x00nul \u202ertl end"
FILE = "evil\x1b[31m[bold].pdf"


def escaped(text: str) -> str:
    """How the app and the command line write control characters: as visible escapes."""
    return (
        text.replace("\x1b", "\\x1b")
        .replace("\x07", "\\x07")
        .replace("\x00", "\\x00")
        .replace("\u202e", "\\u202e")
    )


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.db"
    db = open_database(path)
    add_paper(
        db,
        sha256="ab" * 32,
        file=FILE,
        path=None,
        title=TITLE,
        pages=[NewPage(PAGE, normalize(PAGE))],
    )
    db.close()
    return path


def screen_text(app) -> str:  # noqa: ANN001
    """Every character on the app's screen, read from a screenshot."""
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg.split("</style>", 1)[1])).replace("\xa0", " ")


async def test_the_app_shows_hostile_text_literally(hostile_db: Path) -> None:
    app = make_app(hostile_db, "alice")
    async with app.run_test(size=(200, 45)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        title = screen.query_one("#review").border_title
        # Textual keeps border titles as markup; ours is escaped, so it reads back as itself.
        assert title is not None and Text.from_markup(str(title)).plain == escaped(TITLE)
        assert not Text.from_markup(str(title)).spans, "no style or link read from the title"
        shown = screen_text(app)
        assert escaped(TITLE)[:60] in shown
        assert "\x1b" not in shown and "\x00" not in shown and "\u202e" not in shown
        text = screen.query_one(PaperText)
        assert "Intro [@click=app.quit]click[/] ␛[2Jcleared" in text.text
        assert "␀nul" in text.text and "\u202e" not in text.text
        assert "Intro [@click=app.quit]click[/] ␛[2Jcleared" in shown
        assert "[@click=app.quit]Q" in str(screen.query_one(PaperQueue).render())

        # Clicking where the markup shows runs nothing.
        region = screen.query_one("#review").region
        await pilot.click(offset=(region.x + 5, region.y))
        await pilot.click(PaperText, offset=(10, 1))
        await pilot.pause()
        assert app.is_running and app.screen is screen


def test_papers_on_a_pipe_and_as_json(hostile_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(hostile_db), "papers"])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and escaped(TITLE) in result.stdout
    result = CliRunner().invoke(cli, ["--db", str(hostile_db), "papers", "--json"])
    record = json.loads(result.stdout)
    assert record["title"] == TITLE and record["file"] == FILE, "JSON keeps the data exact"
    assert "\x1b" not in result.stdout, "JSON escapes control characters"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_papers_on_a_terminal(hostile_db: Path) -> None:
    """On a terminal the table is styled by goldsmith, never by the title."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "--db", str(hostile_db), "papers"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "300", "TERM": "xterm"},
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=30) == 0
    text = output.decode()
    sequences = re.findall(r"\x1b[^a-zA-Z]*[a-zA-Z]?", text)
    assert all(re.fullmatch(r"\x1b\[[0-9;]*m", s) for s in sequences), sequences
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "[@click=app.quit]Quit[/] [link=https://e.example]x[/link]" in plain
    assert "\\x1b[31mRed\\x1b]0;pwned\\x07" in plain


def test_ingest_output_escapes_file_names_and_titles(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    markup_title = "[@click=app.quit]Quit[/] [bold]B"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), markup_title, fontsize=20)
    doc.set_metadata({"title": markup_title})
    doc.save(folder / FILE)
    (folder / "bad\x1b[2J.pdf").write_bytes(b"not a pdf")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "i.db"), "ingest", str(folder)])
    assert result.exit_code == 1
    output = result.stdout + result.stderr
    assert "\x1b" not in output
    assert escaped("bad\x1b[2J.pdf") in result.stderr
    db = open_database(tmp_path / "i.db")
    stored = db.execute("SELECT file, title FROM papers").fetchone()
    assert stored == (FILE, markup_title), "stored exactly; escaped only when shown"
