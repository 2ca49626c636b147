"""Turn validated answers into proposals to store: evidence grounded, value checked in quote.

Every engine (Ollama, rules, imported) goes through :func:`ground_proposals`, so grounding
means the same for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from extraction.answers import FieldProposal
from extraction.fields import Status, field_spec
from extraction.grounding import Level, ground
from extraction.normalize import value_in_quote
from storage.runs import NewProposal


def ground_proposals(answers: Iterable[FieldProposal], pages: Sequence[str]) -> list[NewProposal]:
    """Locate each answer's quote in ``pages`` and check the value is in it."""
    proposals = []
    for answer in answers:
        if answer.status == Status.NOT_REPORTED:
            proposals.append(NewProposal(field=answer.field, status=answer.status))
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
