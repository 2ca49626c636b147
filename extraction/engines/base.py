"""The one small shape every engine has, and what an engine hands back for a paper.

An engine proposes fields for papers. :mod:`extraction.engines.run` drives any engine the same
way — which papers, how many at once, grounding every quote, storing each paper as it is done,
resuming — so an engine is only what differs: what it records on the run, how many papers it
can work on at once ("lanes": a model server's hosts times its concurrency), and how it
proposes for one paper. A new engine is one module defining an :class:`Engine` and a
``make_engine(EngineOptions)`` function, plus its name in the command line's choice list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from extraction import defaults
from extraction.answers import FieldProposal
from extraction.fields import FIELDS, FieldSpec
from storage.errors import GoldsmithError
from storage.models import Paper
from storage.runs import FieldAttempts


class BackendUnavailable(GoldsmithError):
    """The engine cannot be used at all: its server is not running, refuses the key, or lacks
    the model. The message names the host and the command or setting that fixes it."""


class EngineOptionError(GoldsmithError, ValueError):
    """The options given cannot make the engine; the message says which option to give."""


class ModelMissing(BackendUnavailable):
    """The server stopped serving the model during the run."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """What the command line lets a user choose; each engine takes the options it uses."""

    model: str | None = None
    hosts: tuple[str, ...] = ()
    """Server URLs (``--host`` for Ollama, ``--base-url`` for OpenAI-compatible servers)."""
    concurrency: int = 2
    token_budget: int = defaults.TOKEN_BUDGET
    num_ctx: int = 0
    num_predict: int = 0
    seed: int = defaults.SEED
    timeout: float = defaults.REQUEST_TIMEOUT_S
    fields: tuple[FieldSpec, ...] = FIELDS


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What a run made by an engine records, and what must match to resume it."""

    engine: str
    """``runs.engine``."""
    default_name: str
    model: str | None
    host: str | None
    options: dict[str, Any]
    compare: tuple[str, ...] = ()
    """Options that must be equal for a run to be resumed (one run never mixes settings)."""
    truncation_fix: str = "lower --token-budget"
    """What to do when the server truncated prompts (said after the run)."""


@dataclass
class PaperAnswer:
    """What an engine proposed for one paper, and how it went."""

    answers: list[FieldProposal] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    """Fields asked for but not answered validly, with the final reason."""
    fields: list[FieldAttempts] = field(default_factory=list)
    """How each field was asked for (model engines)."""
    attempts: int = 1
    """Model calls made for the paper."""
    prompt_tokens: int = 0
    """Estimated prompt tokens, summed over the calls."""
    prompt_eval_count: int | None = None
    """Prompt tokens the server counted, summed over the calls."""
    answer_tokens: int | None = None
    """Answer tokens the server counted, summed over the calls."""
    truncated: bool = False
    """The server counted far fewer prompt tokens than were sent: it cut the prompt."""
    error: str | None = None
    """Set when no usable answer came back at all (the paper failed)."""
    seconds: float = 0.0


class Engine(Protocol):
    """Proposes fields for papers (see the module docstring)."""

    prompt_examples: tuple[str, ...]
    """Example values the engine's prompt shows; an ungrounded answer repeating one is marked
    as copied from the prompt. Empty for engines without a prompt."""

    def plan(self) -> RunPlan:
        """What a run of this engine records."""
        ...

    def lanes(self) -> Sequence[str]:
        """One entry per paper that may be in progress at once (a host, repeated)."""
        ...

    async def start(self) -> list[str]:
        """Get ready (reach the servers); return warnings for the user.

        Raises:
            BackendUnavailable: The engine cannot be used at all.
        """
        ...

    async def propose(self, paper: Paper, pages: Sequence[str], lane: str) -> PaperAnswer:
        """Propose fields for one paper; bad answers are reported in the result, not raised.

        Raises:
            BackendUnavailable: The engine can no longer be used (the run stops).
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
