"""Candidate mentions per field, finding words in a paper, and the quotes annotators choose."""

from __future__ import annotations

from pathlib import Path

import pytest

from extraction.evidence.mentions import IndexedPaper
from extraction.evidence.quotes import QuoteProblem, one_line, sentence_around

PAGES = [
    "A Paper\nAda Lovelace\nUniversity of Example, ada@example.edu\nAbstract: widgets.",
    "3 Setup\nWe trained on 16 NVIDIA V100 GPUs (32GB) for 3 days on AWS, about 1,152 GPU-\n"
    "hours; the total compute was 3.1e21 FLOPs.",
    "Acknowledgements\nThis work was supported by the National Science Foundation under grant "
    "123 and by a gift from Example Labs. Querying the OpenAI API cost $1,200.",
]


def texts(paper: IndexedPaper, field: str) -> list[tuple[int, str]]:
    return [(m.page, m.text) for m in paper.mentions(field)]


def test_each_field_has_its_candidate_mentions_with_offsets_into_the_page() -> None:
    paper = IndexedPaper(PAGES)
    assert texts(paper, "accelerator_type") == [(2, "NVIDIA V100"), (2, "GPUs")]
    assert (2, "16 NVIDIA V100 GPUs") in texts(paper, "accelerator_count")
    assert (2, "32GB") in texts(paper, "accelerator_memory_gb")
    assert (2, "3 days") in texts(paper, "training_time_hours")
    assert texts(paper, "gpu_hours") == [(2, "GPUhours")]
    assert (2, "3.1e21") in texts(paper, "training_compute_flop")
    assert texts(paper, "compute_provider") == [(2, "AWS")]
    assert {"supported by", "National Science Foundation", "grant"} <= {
        text for _, text in texts(paper, "funding_sources")
    }
    assert texts(paper, "funding_types") == texts(paper, "funding_sources")
    assert (1, "University") in texts(paper, "research_setting")
    assert (3, "$1,200") in texts(paper, "api_cost_usd")
    for field in ("accelerator_count", "gpu_hours", "api_cost_usd"):
        for m in paper.mentions(field):
            assert one_line(PAGES[m.page - 1][m.start : m.end]) == m.text


def test_a_paper_stating_no_compute_has_no_mentions_of_it() -> None:
    paper = IndexedPaper(
        [
            "A Theory\nAlan Turing\nWe prove three theorems. No experiments. Links carry "
            "160 GB/s, or 50 GB per second."  # bandwidths, not memory
        ]
    )
    for field in (
        "accelerator_type",
        "accelerator_count",
        "accelerator_memory_gb",
        "gpu_hours",
        "compute_provider",
    ):
        assert paper.mentions(field) == (), field


def test_find_ignores_case_spacing_and_hyphenation() -> None:
    paper = IndexedPaper(PAGES)
    found = paper.find("gpu-hours")
    assert [(m.page, m.text) for m in found] == [(2, "GPUhours")]
    assert [m.page for m in paper.find("NATIONAL   science")] == [3]
    assert paper.find("  ") == []


def test_a_quote_is_located_exactly_or_normalized_never_fuzzily() -> None:
    paper = IndexedPaper(PAGES)
    exact = paper.locate("16 NVIDIA V100 GPUs (32GB)", 2)
    assert (exact.page, exact.grounding) == (2, "exact")
    assert PAGES[1][exact.start : exact.end] == exact.quote
    # Another page corrects the page; case and the line-end hyphen do not matter.
    moved = paper.locate("about 1,152 gpu-hours", 3)
    assert (moved.page, moved.grounding, moved.quote) == (
        2,
        "normalized",
        "about 1,152 GPU-\nhours",
    )
    with pytest.raises(QuoteProblem, match="not found"):
        paper.locate("We trained on 32 NVIDIA V100 GPUs", 2)
    with pytest.raises(QuoteProblem, match="too short"):
        paper.locate("16", 2)


def test_the_sentence_around_a_match_skips_headings_and_footnote_marks() -> None:
    text = "B Compute\nAll runs used 8 GPUs (see below).12 Each run took\n2 days. Done."
    start = text.index("8 GPUs")
    left, right = sentence_around(text, start, start + 6)
    assert text[left:right] == "All runs used 8 GPUs (see below)."
    start = text.index("2 days")
    left, right = sentence_around(text, start, start + 6)
    assert text[left:right] == "Each run took\n2 days."


def test_the_passage_around_a_match_in_an_affiliation_block_is_its_line() -> None:
    """No full stops in a title page's header: short lines end the passage, not the limit."""
    text = (
        "Scaling Widget Models\nAda Lovelace\nCharles Babbage\nExample Research\n"
        "ada@example.com\nAbstract\nWe train widget models of up to 540B parameters on a\n"
        "cluster of accelerators and report how their quality scales with compute and data\n"
        "for every size we trained, from the smallest to the largest of them all.\n"
    )
    start = text.index("Example Research")
    left, right = sentence_around(text, start, start + 16)
    assert text[left:right] == "Charles Babbage\nExample Research"  # was: to "…and data"
    start = text.index("540B")  # body text runs on from line to line
    left, right = sentence_around(text, start, start + 4)
    assert text[left:right].startswith("We train widget models") and right > text.index("size")


@pytest.mark.corpus
def test_the_real_bert_paper_points_at_its_tpu_chips(corpus: Path) -> None:
    from extraction.pdf.text import read_pdf

    pages = read_pdf(corpus / "bert_2019.pdf").texts
    paper = IndexedPaper(pages)
    assert (13, "64 TPU chips") in texts(paper, "accelerator_count")
    assert {m.page for m in paper.mentions("compute_provider")} >= {13}
    assert [m.page for m in paper.find("TPU chips")] == [13, 13]
    found = paper.find("64 TPU chips")[0]
    left, right = sentence_around(pages[12], found.start, found.end)
    assert one_line(pages[12][left:right]) == (
        "Training of BERTLARGE was performed on 16 Cloud TPUs (64 TPU chips total)."
    )
