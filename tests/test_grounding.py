"""Grounding quotes in page text: exact, normalised, fuzzy, ungrounded; offsets; pages."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from extraction.evidence.grounding import Level, ground

# Page text as PyMuPDF returns it from real papers of the corpus.
BELLE_P1 = (
    "extensive experiments and achieved encouraging re-\nsults.\nIn comparison to full-parameter\n"
    "ﬁne-tuning, LoRA-based tuning demon-\nstrates salient beneﬁts in terms of train-\ning costs.\n"
    "In this study, we undertook"
)
WAV2VEC_P4 = (
    "Crops are batched together to not exceed 1.4m samples per GPU and we train on\na total of "
    "64 V100 GPUs for 1.6 days [38]; the total batch size is 1.6h."
)
PALM_P1 = (
    "We trained PaLM on 6144 TPU v4 chips using Pathways, a new ML system which enables highly "
    "eﬃcient training across multiple TPU Pods."
)
PAGES = ["Title page, nothing relevant here.", BELLE_P1, "Another page.", WAV2VEC_P4, PALM_P1]


def located(quote: str, page: int | None) -> tuple[str, int | None, str | None]:
    found = ground(quote, page, PAGES)
    text = None
    if found.start is not None and found.page is not None:
        text = PAGES[found.page - 1][found.start : found.end]
    return found.level.value, found.page, text


def test_an_exact_quote() -> None:
    assert located("64 V100 GPUs for 1.6 days", 4) == ("exact", 4, "64 V100 GPUs for 1.6 days")


def test_line_breaks_and_hyphenation_ground_normalised() -> None:
    level, page, text = located("we train on a total of 64 V100 GPUs", 4)
    assert (level, page, text) == ("normalized", 4, "we train on\na total of 64 V100 GPUs")
    level, page, text = located("salient benefits in terms of training costs", 2)
    assert level == "normalized" and text == "salient beneﬁts in terms of train-\ning costs"


def test_ligatures_and_case_ground_normalised() -> None:
    level, _, text = located("FINE-TUNING, LORA-BASED TUNING DEMONSTRATES", 2)
    assert level == "normalized" and text == "ﬁne-tuning, LoRA-based tuning demon-\nstrates"
    assert located("enables highly efficient training", 5)[0] == "normalized"


def test_a_quote_found_on_another_page_corrects_the_page() -> None:
    level, page, _ = located("We trained PaLM on 6144 TPU v4 chips", 1)
    assert (level, page) == ("exact", 5)


def test_a_paraphrase_grounds_fuzzy_within_the_thresholds() -> None:
    level, page, text = located("we train on 64 V100 GPUs for 1.6 days", 3)
    assert (level, page) == ("fuzzy", 4)
    assert text is not None and text.startswith("we train on") and text.endswith("1.6 days")


def test_invented_quotes_are_ungrounded() -> None:
    assert located("trained on 10000 H100 GPUs for a year", 4) == ("ungrounded", 4, None)
    assert located("", 4) == ("ungrounded", 4, None)
    assert located("V100 GPUs", 2)[0] == "exact"
    # Too short to trust a fuzzy match.
    assert located("64 H100 GPUs", 4)[0] == "ungrounded"
    # The words match, a number does not: the quote misstates the paper.
    assert located("we train on a total of 128 V100 GPUs for 1.6 days", 4)[0] == "ungrounded"


def test_fuzzy_needs_density_not_just_scattered_words() -> None:
    # Every word of the quote is on the page, but spread over it: not evidence.
    filler = " ".join(["widget"] * 30)
    page = f"alpha {filler} beta {filler} gamma {filler} delta {filler} epsilon"
    assert ground("alpha beta gamma delta epsilon", 1, [page]).level is Level.UNGROUNDED
    assert ground("alpha widget beta gamma delta", 1, [page]).level is Level.UNGROUNDED


@given(st.data())
def test_any_passage_of_a_page_grounds_exactly_where_it_is(data: st.DataObject) -> None:
    page = data.draw(st.integers(min_value=1, max_value=len(PAGES)))
    text = PAGES[page - 1]
    start = data.draw(st.integers(min_value=0, max_value=len(text) - 5))
    end = data.draw(st.integers(min_value=start + 5, max_value=len(text)))
    quote = text[start:end]
    assume(quote.strip() == quote and quote)
    found = ground(quote, page, PAGES)
    assert found.level is Level.EXACT
    assert PAGES[found.page - 1][found.start : found.end] == quote  # type: ignore[index,operator]


@given(st.data())
def test_reformatted_passages_ground_normalised(data: st.DataObject) -> None:
    text = PAGES[3]
    words = text.split()
    start = data.draw(st.integers(min_value=0, max_value=len(words) - 4))
    length = data.draw(st.integers(min_value=4, max_value=len(words) - start))
    quote = " ".join(words[start : start + length]).upper()
    found = ground(quote, 4, PAGES)
    assert found.level in (Level.EXACT, Level.NORMALIZED)
    assert found.page == 4
