"""Turn validated answers into proposals to store: evidence grounded, value checked in quote.

Every engine (Ollama, rules, imported) goes through :func:`ground_proposals`, so grounding
means the same for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from extraction.answers import FieldProposal
from extraction.evidence.grounding import Level, ground
from extraction.evidence.normalize import value_in_quote
from extraction.fields import Status, field_spec
from storage.runs import NewProposal

INSTRUCTION_NOTE = "the paper has text addressed to a language model"
"""Noted on every proposal of such a paper; "accept grounded" leaves them alone."""

_ADDRESSES_A_MODEL = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
    r"(?:previous|prior|above|earlier|preceding|other|system)\s+"
    r"(?:instructions?|prompts?|directions|rules|messages?)"
    r"|\b(?:you\s+are|act\s+as)\s+(?:an?\s+|the\s+)?"
    r"(?:ai|assistant|chatbot|llm|(?:large\s+)?language\s+model)\b",
    re.IGNORECASE,
)
# Papers about language models discuss "system prompts" and quote prompts such as "You are a
# helpful assistant"; neither is matched, and none of the 28 corpus papers is flagged.
_CUES = ("ignore", "disregard", "forget", "override", "you are", "act as")
"""Cheap substring test first: the pattern runs only on the few pages holding a cue."""


def needs_hand_check(note: str | None) -> bool:
    """Whether a proposal's note says to check it by hand (its paper talks to the model).

    The note is the only place this is stored: ``proposals`` has no column for it.
    """
    return note is not None and INSTRUCTION_NOTE in note


def pages_addressing_a_model(pages: Sequence[str]) -> list[int]:
    """Pages (1-based) with text that talks to a language model: "ignore previous
    instructions", "you are an AI assistant" — a sign of prompt injection."""
    found = []
    for number, text in enumerate(pages, start=1):
        lowered = text.lower()
        if any(cue in lowered for cue in _CUES) and _ADDRESSES_A_MODEL.search(text):
            found.append(number)
    return found


def ground_proposals(answers: Iterable[FieldProposal], pages: Sequence[str]) -> list[NewProposal]:
    """Locate each answer's quote in ``pages`` and check the value is in it.

    A paper with text addressed to a language model gets every proposal noted, so each is
    checked by hand: the model may have followed the paper rather than the prompt.
    """
    injected = pages_addressing_a_model(pages)
    warning = None
    if injected:
        listed = ", ".join(map(str, injected[:5]))
        warning = f"{INSTRUCTION_NOTE} (page {listed}): check by hand"
    proposals = []
    for answer in answers:
        if answer.status == Status.NOT_REPORTED:
            proposals.append(NewProposal(field=answer.field, status=answer.status, note=warning))
            continue
        found = ground(answer.quote, answer.page, pages)
        page = found.page
        notes = []
        if page is not None and not 1 <= page <= len(pages):
            notes.append(f"claimed page {page} is not in the paper ({len(pages)} pages)")
            page = None
        if answer.quote is None:
            notes.append("no quote given")
        elif found.level is Level.UNGROUNDED:
            notes.append("quote not found in the paper")
        elif answer.page is not None and found.page != answer.page:
            notes.append(f"page corrected from {answer.page}")
        elif answer.page is None:
            notes.append("page found by search")
        if warning:
            notes.append(warning)
        proposals.append(
            NewProposal(
                field=answer.field,
                status=answer.status,
                value=answer.value,
                page=page,
                quote=answer.quote,
                grounding=found.level.value,
                char_start=found.start,
                char_end=found.end,
                value_in_quote=value_in_quote(field_spec(answer.field), answer.value, answer.quote),
                note="; ".join(notes) or None,
            )
        )
    return proposals
