"""What every language-model engine shares: the settings, one call's request and reply, and
asking about a paper — bounded answers, salvage, retries for only what is missing.

A paper is asked about in at most :data:`MAX_CALLS` model calls:

1. one call for every field, the schema bounding the answer and ``num_predict`` derived from
   that bound, so a complete answer always fits;
2. whatever came back is salvaged: every field that is complete and valid is kept, even from
   an answer cut off mid-way (the longest valid JSON prefix);
3. the next call asks only for the fields still missing or invalid (a schema and prompt of
   just those, their problems listed); after a cut-off answer they are split in two groups,
   each its own call;
4. a field whose answer comes back the same as before is not asked again (it will not change).

Every field's attempts and final problem are recorded. A server that reads far fewer prompt
tokens than were sent truncated the prompt; that is recorded too.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from extraction import defaults
from extraction.answers import FieldProposal, longest_answer, response_schema, salvage
from extraction.answers import validate_answer as validate_fields
from extraction.engines.base import BackendUnavailable, EngineOptions, PaperAnswer, RunPlan
from extraction.engines.prompt import paper_prompt, prompt_examples, system_prompt
from extraction.engines.selection import DEFAULT_TOKEN_BUDGET, estimate_tokens, select_passages
from extraction.fields import FIELDS, FieldSpec
from storage.models import Paper
from storage.runs import FieldAttempts

MAX_CALLS = 3
"""Model calls per paper at most: the whole answer, then what is still missing (twice)."""
TRUNCATION_RATIO = 0.5
"""A prompt counted at less than this share of its estimated size was cut by the server."""
CONTEXT_PAGES = 9999
"""Pages assumed when sizing the context for the run (a page number is at most 4 digits)."""
RUN_COMPARED_OPTIONS = ("temperature", "seed", "num_ctx", "num_predict", "token_budget", "fields")


class TransientError(Exception):
    """One call failed in a way another call may not (a timeout, a server error, a reply
    that is not what the API promises). The message names the host and says what happened."""


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def describe_body(content_type: str | None, text: str) -> str | None:
    """What a reply body that is not a JSON object is, in a few words for an error line
    ("an HTML page ('Sign in')", "not JSON ('Service Unavailable')"); None for a JSON object.

    A proxy's login or error page and a server that is not the API answer this way; saying
    so names the likely cause better than the parser's complaint.
    """
    stripped = text.strip()
    kind = (content_type or "").split(";")[0].strip().lower()
    if not stripped:
        return "an empty reply"
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        data = None
    else:
        if isinstance(data, dict):
            return None
        return f"JSON that is not an object ({_excerpt(stripped)})"
    if "html" in kind or stripped.startswith("<"):
        found = _TITLE.search(stripped)
        heading = next((part for part in found.groups() if part), "") if found else ""
        shown = _excerpt(_TAG.sub(" ", heading or stripped))
        return f"an HTML page, not JSON ({shown})"
    return f"not JSON ({kind or 'no content type'}: {_excerpt(stripped)})"


def _excerpt(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One call: the messages, the JSON schema the answer must follow, and its length."""

    system: str
    user: str
    schema: dict[str, Any]
    num_predict: int
    """Most answer tokens (``num_predict``, ``max_tokens``)."""


@dataclass(frozen=True, slots=True)
class ModelReply:
    """What came back from one call."""

    content: str
    cut_off: bool
    """The server stopped at the length limit (``done_reason``/``finish_reason`` length)."""
    prompt_tokens: int | None = None
    """Prompt tokens the server counted."""
    answer_tokens: int | None = None


class ModelClient(Protocol):
    """A connection to one model server (one host)."""

    async def check(self, model: str) -> tuple[int | None, list[str]]:
        """Make sure the server can be used with ``model``.

        Returns:
            The model's trained context length if the server says it, and warnings.

        Raises:
            BackendUnavailable: Not reachable, key refused, or no such model; with the fix.
        """
        ...

    async def complete(self, request: ModelRequest, settings: ModelSettings) -> ModelReply:
        """Make one call.

        Raises:
            TransientError: This call failed; another may not.
            ModelMissing: The server no longer has the model.
            BackendUnavailable: The server cannot be reached any more.
        """
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Everything that decides what a run asks of the model (recorded on the run)."""

    model: str = defaults.OLLAMA_MODEL
    hosts: tuple[str, ...] = (defaults.OLLAMA_HOST,)
    concurrency: int = 2
    token_budget: int = DEFAULT_TOKEN_BUDGET
    num_predict: int = 0
    """0: each call's limit is the longest answer its schema allows."""
    seed: int = defaults.SEED
    timeout: float = defaults.REQUEST_TIMEOUT_S
    num_ctx: int = 0
    """0: derived from the token budget, the prompt and the longest answer."""
    fields: tuple[FieldSpec, ...] = FIELDS

    @classmethod
    def from_options(
        cls, options: EngineOptions, model: str, hosts: tuple[str, ...]
    ) -> ModelSettings:
        return cls(
            model=model,
            hosts=hosts,
            concurrency=options.concurrency,
            token_budget=options.token_budget,
            num_predict=options.num_predict,
            seed=options.seed,
            timeout=options.timeout,
            num_ctx=options.num_ctx,
            fields=options.fields,
        )

    def answer_tokens(self, schema: Mapping[str, Any]) -> int:
        """The call's ``num_predict``: the longest answer ``schema`` allows, at one token per
        character (a token is at least one), unless the user set a limit."""
        return self.num_predict or longest_answer(schema)

    def context_size(self) -> int:
        """``num_ctx``: room for the prompt, the passages and the longest answer, in 1k steps."""
        if self.num_ctx:
            return self.num_ctx
        fields_text = paper_prompt([], self.fields)
        answer = self.answer_tokens(response_schema(self.fields, CONTEXT_PAGES))
        needed = estimate_tokens(system_prompt() + fields_text) + self.token_budget + answer
        needed = int(needed * 1.2)  # the estimate is rough; truncation is worse than waste
        return -(-needed // 1024) * 1024

    def recorded(self) -> dict[str, Any]:
        """What the run records as its options."""
        return {
            "temperature": 0,
            "seed": self.seed,
            "num_ctx": self.context_size(),
            "num_predict": self.num_predict,
            "token_budget": self.token_budget,
            "concurrency": self.concurrency,
            "hosts": list(self.hosts),
            "fields": [spec.name for spec in self.fields],
        }


class ModelEngine:
    """An engine that asks a language model on one or more servers (see the module docstring).

    Subclasses name the engine and say how to connect to one host.
    """

    name = ""
    """``runs.engine``."""
    prompt_examples = prompt_examples()

    def __init__(self, settings: ModelSettings, connect: Callable[[str], ModelClient]) -> None:
        self.settings = settings
        self._connect = connect
        self.clients: dict[str, ModelClient] = {}

    def plan(self) -> RunPlan:
        return RunPlan(
            engine=self.name,
            default_name=f"{self.name}-{self.settings.model}",
            model=self.settings.model,
            host=",".join(self.settings.hosts),
            options=self.settings.recorded(),
            compare=RUN_COMPARED_OPTIONS,
            truncation_fix="raise --num-ctx or lower --token-budget",
        )

    def lanes(self) -> list[str]:
        concurrency = max(1, self.settings.concurrency)
        return [host for host in self.clients for _ in range(concurrency)]

    async def start(self) -> list[str]:
        """Check every host; hosts that cannot be used are left out with a warning.

        Raises:
            BackendUnavailable: No host can be used.
        """
        warnings: list[str] = []
        failures: list[str] = []
        for host in self.settings.hosts:
            client = self._connect(host)
            try:
                trained, notes = await client.check(self.settings.model)
            except BackendUnavailable as exc:
                failures.append(str(exc))
                await client.close()
                continue
            self.clients[host] = client
            warnings.extend(notes)
            if trained is not None and self.settings.context_size() > trained:
                warnings.append(
                    f"num_ctx {self.settings.context_size()} is beyond what "
                    f"{self.settings.model} was trained on ({trained}) at {host}: answers may "
                    "degrade; lower --token-budget"
                )
        if not self.clients:
            raise BackendUnavailable(failures[0] if len(failures) == 1 else "; ".join(failures))
        warnings.extend(f"not using {message}" for message in failures)
        return warnings

    async def propose(self, paper: Paper, pages: Sequence[str], lane: str) -> PaperAnswer:
        return await ask_paper(self.clients[lane], self.settings, pages)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


@dataclass
class _FieldLog:
    attempts: int = 0
    history: list[str | None] = field(default_factory=list)
    last_answer: Any = None


def _halves(group: Sequence[FieldSpec]) -> list[tuple[FieldSpec, ...]]:
    middle = (len(group) + 1) // 2
    return [tuple(group[:middle]), tuple(group[middle:])]


async def ask_paper(
    client: ModelClient, settings: ModelSettings, pages: Sequence[str]
) -> PaperAnswer:
    """Ask the model about one paper (see the module docstring); never raises for bad answers.

    Raises:
        ModelMissing: The server no longer has the model: the run cannot go on.
        BackendUnavailable: The server cannot be reached.
    """
    started = time.perf_counter()
    result = PaperAnswer(attempts=0)
    passages = select_passages(pages, settings.token_budget)
    system = system_prompt()
    logs = {spec.name: _FieldLog() for spec in settings.fields}
    best: dict[str, FieldProposal] = {}
    settled: set[str] = set()
    """Fields not to ask again: answered, or the same wrong answer twice."""
    problems: dict[str, str] = {}
    queue: deque[tuple[FieldSpec, ...]] = deque([tuple(settings.fields)])
    request_problem: str | None = None
    while queue and result.attempts < MAX_CALLS:
        group = tuple(spec for spec in queue.popleft() if spec.name not in settled)
        if not group:
            continue
        asked = {spec.name: problems[spec.name] for spec in group if spec.name in problems}
        schema = response_schema(group, len(pages))
        user = paper_prompt(passages, group, asked)
        request = ModelRequest(system, user, schema, settings.answer_tokens(schema))
        estimate = estimate_tokens(system) + estimate_tokens(user)
        result.attempts += 1
        result.prompt_tokens += estimate
        for spec in group:
            logs[spec.name].attempts += 1
        try:
            reply = await client.complete(request, settings)
        except TransientError as exc:
            request_problem = str(exc)[:300]
            for spec in group:
                logs[spec.name].history.append(f"request failed: {request_problem}")
            queue.appendleft(group)
            if result.attempts < MAX_CALLS:
                await asyncio.sleep(min(2.0 ** (result.attempts - 1), 10))  # let it recover
            continue
        if reply.prompt_tokens is not None:
            result.prompt_eval_count = (result.prompt_eval_count or 0) + reply.prompt_tokens
            # Only the first call is judged: later ones share its start, which a server that
            # keeps its cache does not count again.
            if result.attempts == 1 and reply.prompt_tokens < TRUNCATION_RATIO * estimate:
                result.truncated = True
        if reply.answer_tokens is not None:
            result.answer_tokens = (result.answer_tokens or 0) + reply.answer_tokens
        read = salvage(reply.content)
        # An object begun and not finished was cut off, whatever the server says.
        cut_off = reply.cut_off or (read.data is not None and not read.complete)
        data = read.data or {}
        valid, invalid = validate_fields(data, group, len(pages))
        retry: list[FieldSpec] = []
        for spec in group:
            log = logs[spec.name]
            if spec.name in valid:
                best[spec.name] = valid[spec.name]
                settled.add(spec.name)
                problems.pop(spec.name, None)
                log.history.append(None)
                continue
            if spec.name in data:
                problem = invalid[spec.name]
            elif cut_off:
                problem = "the answer was cut off before this field"
            else:
                problem = read.problem or "missing from the answer"
            log.history.append(problem)
            # The same status and value with the same problem is the same answer, whatever
            # the quote says: asked again, a deterministic model gives it a third time.
            raw = data.get(spec.name)
            answer = (
                (raw.get("status"), json.dumps(raw.get("value"), sort_keys=True), problem)
                if isinstance(raw, dict)
                else None
                if raw is None
                else (repr(raw)[:1000], problem)
            )
            if answer is not None and answer == log.last_answer:
                problems[spec.name] = f"{problem} (the same answer twice: not asked again)"
                settled.add(spec.name)
                continue
            log.last_answer = answer
            problems[spec.name] = problem
            retry.append(spec)
        if retry:
            queue.extend(_halves(retry) if cut_off and len(retry) > 1 else [tuple(retry)])
    for spec in settings.fields:
        if spec.name not in best and spec.name not in problems:
            problems[spec.name] = (
                f"request failed: {request_problem}"
                if request_problem
                else ("not asked: no model calls left")
            )
    result.answers = [best[spec.name] for spec in settings.fields if spec.name in best]
    result.problems = {name: problem for name, problem in problems.items() if name not in best}
    result.fields = [
        FieldAttempts(
            spec.name,
            logs[spec.name].attempts,
            tuple(logs[spec.name].history),
            result.problems.get(spec.name),
        )
        for spec in settings.fields
    ]
    if not best:
        reasons = "; ".join(f"{k}: {v}" for k, v in result.problems.items()) or "no answer"
        if len(set(result.problems.values())) == 1 and len(result.problems) > 1:
            reasons = f"every field: {next(iter(result.problems.values()))}"
        if request_problem and all(p.startswith("request failed") for p in problems.values()):
            reasons = f"request: {request_problem}"
        result.error = f"no usable answer after {result.attempts} attempts ({reasons})"[:500]
    result.seconds = time.perf_counter() - started
    return result
