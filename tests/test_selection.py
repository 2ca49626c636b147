"""Page selection keeps compute passages and their pages, within the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction.engines.selection import estimate_tokens, select_passages

FILLER = (
    "We study the representational geometry of attention heads across many layers and tasks. "
    "The results are consistent with prior analyses of the loss landscape.\n"
)


def long_paper() -> list[str]:
    pages = [FILLER * 8 for _ in range(40)]
    pages[0] = "A Long Paper\nJane Doe, Example University\n" + FILLER * 6
    pages[22] = (
        FILLER * 3
        + ("5 Implementation details\nWe trained all models on 16 NVIDIA V100 GPUs for 5 days.\n")
        + FILLER * 3
    )
    pages[35] = FILLER * 2 + "Acknowledgements\nThis work was funded by DARPA grant 7.\n"
    return pages


def test_compute_passages_are_selected_with_their_pages() -> None:
    passages = select_passages(long_paper(), token_budget=1500)
    pages = [p.page for p in passages]
    assert pages == sorted(pages)
    assert 1 in pages, "the first page (authors, affiliations) is always in"
    hardware = [p for p in passages if "16 NVIDIA V100 GPUs for 5 days" in p.text]
    assert hardware and hardware[0].page == 23
    assert any("funded by DARPA" in p.text and p.page == 36 for p in passages)


def test_the_budget_is_respected() -> None:
    for budget in (500, 1500, 4000):
        passages = select_passages(long_paper(), token_budget=budget)
        assert estimate_tokens("".join(p.text for p in passages)) <= budget + 300


def test_a_paper_with_nothing_about_compute_gives_little_text() -> None:
    pages = [FILLER * 8 for _ in range(20)]
    passages = select_passages(pages, token_budget=6000)
    assert estimate_tokens("".join(p.text for p in passages)) < 600


def test_empty_paper() -> None:
    assert select_passages([]) == []
    assert select_passages([""]) == []


@pytest.mark.corpus
def test_the_hardware_statements_of_real_papers_are_selected(corpus: Path, tmp_path: Path) -> None:
    from extraction.pdf.ingest import find_pdfs, ingest
    from storage import open_database

    expected = {
        "belle_lora_vs_full_2023.pdf": "A100-40GB",
        "clip4clip_2021.pdf": "Tesla V100",
        "collas23_bhagat.pdf": "RTX 6000",
        "collas23_linderman.pdf": "RTX A5000",
        "collas23_srinivasan.pdf": "RTX A6000",
        "coordinate_attention_2021.pdf": "four NVIDIA GPUs",
        "deepseek_v3_2024.pdf": "2.788M H800 GPU hours",
        "opt_2022.pdf": "992 80GB A100",
        "palm_2022.pdf": "6144 TPU v4",
        "vit_2021.pdf": "TPUv3",
        "wav2vec2_2020.pdf": "64 V100 GPUs",
    }
    db = open_database(tmp_path / "c.db")
    paths, _ = find_pdfs([corpus])
    list(ingest(db, [p for p in paths if p.name in expected]))
    full = selected = 0
    for name, phrase in expected.items():
        paper_id = db.execute("SELECT id FROM papers WHERE file = ?", [name]).fetchone()[0]
        pages = [
            r[0]
            for r in db.execute(
                "SELECT text FROM pages WHERE paper_id = ? ORDER BY page", [paper_id]
            )
        ]
        passages = select_passages(pages)
        joined = " ".join(" ".join(p.text.split()) for p in passages)
        assert phrase in joined, name
        full += estimate_tokens("".join(pages))
        selected += estimate_tokens("".join(p.text for p in passages))
    assert selected / full < 0.3
