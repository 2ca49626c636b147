"""Hostile PDFs: ingest never crashes or hangs, each bad file gets one clear error, good files
land. The fuzz corpus is built here; ingest runs as the real command, in its own process."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pymupdf
from sqlite_utils import Database

from tests.conftest import REPO, write_pdf


def raw_pdf(objects: list[bytes]) -> bytes:
    """A minimal PDF from object bodies (object 1 is the catalog), with a correct xref."""
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def build_corpus(folder: Path) -> tuple[dict[str, Path], dict[str, str | None]]:
    """The files, and for each the error expected (None: ingested; "any": either is fine)."""
    folder.mkdir()
    good = write_pdf(folder / "good.pdf", ["A good paper trained on 8 GPUs for 3 days."])
    data = good.read_bytes()
    files: dict[str, bytes | Path] = {"good.pdf": good}
    expected: dict[str, str | None] = {"good.pdf": None}
    write_pdf(folder / "second.pdf", ["Another good paper."])
    files["second.pdf"], expected["second.pdf"] = folder / "second.pdf", None
    for share in (25, 50, 75):
        files[f"truncated_{share}.pdf"] = data[: len(data) * share // 100]
        expected[f"truncated_{share}.pdf"] = "any"
    for seed in range(4):
        rng = random.Random(seed)
        flipped = bytearray(data)
        for _ in range(60):
            flipped[rng.randrange(200, len(flipped))] ^= 0xFF
        files[f"flipped_{seed}.pdf"], expected[f"flipped_{seed}.pdf"] = bytes(flipped), "any"
    files["random.pdf"], expected["random.pdf"] = (
        os.urandom(20_000).replace(b"%PDF", b"%PDX"),
        "not a PDF",
    )
    files["zero_pages.pdf"] = raw_pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )
    expected["zero_pages.pdf"] = "has no pages"
    nested = b"[" * 200_000 + b"]" * 200_000
    files["deeply_nested.pdf"] = raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /X " + nested + b" >>",
        ]
    )
    expected["deeply_nested.pdf"] = "malformed PDF"
    doc = pymupdf.open()
    for number in range(3000):
        doc.new_page(width=200, height=200).insert_text((20, 20), f"page {number}")
    doc.save(folder / "thousands.pdf")
    files["thousands.pdf"], expected["thousands.pdf"] = folder / "thousands.pdf", None
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "seed")
    doc.update_stream(
        page.get_contents()[0],
        b"BT /helv 1 Tf 72 700 Td " + (b"(" + b"word " * 20 + b") Tj 0 -0.01 Td ") * 60_000 + b"ET",
    )
    doc.save(folder / "huge_page.pdf", deflate=True)  # 6 million characters: ~600 MB to read
    files["huge_page.pdf"], expected["huge_page.pdf"] = folder / "huge_page.pdf", "memory"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A paper with JavaScript and an attachment.")
    doc.embfile_add("payload.exe", b"MZ\x90\x00 not to be run", filename="payload.exe")
    action = doc.get_new_xref()
    doc.update_object(action, "<< /S /JavaScript /JS (app.alert('pwned')) >>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{action} 0 R")
    doc.save(folder / "javascript.pdf")
    files["javascript.pdf"], expected["javascript.pdf"] = folder / "javascript.pdf", None
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    doc.save(
        folder / "encrypted.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o"
    )
    files["encrypted.pdf"], expected["encrypted.pdf"] = folder / "encrypted.pdf", "encrypted"
    files["image.pdf"] = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
    expected["image.pdf"] = "not a PDF"
    paths = {}
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        paths[name] = path
    renamed = folder / "paper_saved_as.txt"  # a good PDF with the wrong extension
    renamed.write_bytes(
        write_pdf(folder / "tmp.pdf", ["Saved with the wrong extension."]).read_bytes()
    )
    (folder / "tmp.pdf").unlink()
    paths["paper_saved_as.txt"], expected["paper_saved_as.txt"] = renamed, None
    return paths, expected


def test_the_fuzz_corpus(tmp_path: Path) -> None:
    paths, expected = build_corpus(tmp_path / "fuzz")
    db_path = tmp_path / "fuzz.db"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "--db",
            str(db_path),
            "ingest",
            "--jobs",
            "2",
            "--timeout",
            "30",
            "--max-memory",
            "300",
            str(tmp_path / "fuzz"),
            str(paths["paper_saved_as.txt"]),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert time.monotonic() - started < 180, "no file may hang ingest"
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert not [
        line
        for line in result.stderr.splitlines()
        if line and not line.startswith(("error: ", "warning: "))
    ], result.stderr
    db = Database(db_path)
    stored = {row[0] for row in db.execute("SELECT file FROM papers")}
    for name, path in paths.items():
        lines = [line for line in errors if line.startswith(f"error: {path}: ")]
        want = expected[name]
        if want is None:
            assert name in stored and not lines, (name, lines)
        elif want == "any":
            assert (name in stored) != bool(lines), (name, lines)
            assert len(lines) <= 1
        else:
            assert len(lines) == 1 and want in lines[0], (name, lines)
            assert name not in stored
    assert len(errors) == sum(1 for name in paths if name not in stored)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    page_counts_differ = db.execute(
        "SELECT COUNT(*) FROM papers"
        " WHERE pages != (SELECT COUNT(*) FROM pages WHERE paper_id = papers.id)"
    ).fetchone()[0]
    assert page_counts_differ == 0
    recorded = {Path(row[0]).name for row in db.execute("SELECT path FROM ingest_errors")}
    assert recorded == {name for name in paths if name not in stored}
    assert db.execute("SELECT pages FROM papers WHERE file = 'thousands.pdf'").fetchone()[0] == 3000
