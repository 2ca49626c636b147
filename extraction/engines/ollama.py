"""The Ollama engine: a local model proposes fields, through the official ``ollama`` client.

Each paper's selected passages go to ``/api/chat`` with the answer's JSON schema as
``format``, ``temperature`` 0, a fixed ``seed``, and ``num_ctx``/``num_predict`` constant for
the run. An answer that is not JSON, fails validation or was cut off (``done_reason`` is
``length``) is asked for again, up to twice, with the problems fed back; fields that still fail
are left out and the reason recorded. A prompt the server silently truncated (its
``prompt_eval_count`` far below the prompt's size) is recorded too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama

from extraction import defaults
from extraction.answers import FieldProposal, ollama_format, validate_answer
from extraction.engines.prompt import feedback_prompt, paper_prompt, system_prompt
from extraction.engines.selection import DEFAULT_TOKEN_BUDGET, estimate_tokens, select_passages
from extraction.fields import FIELDS, FieldSpec

DEFAULT_HOST = defaults.OLLAMA_HOST
DEFAULT_MODEL = defaults.OLLAMA_MODEL
DEFAULT_SEED = defaults.SEED
DEFAULT_NUM_PREDICT = defaults.NUM_PREDICT
DEFAULT_TIMEOUT_S = defaults.REQUEST_TIMEOUT_S
MAX_RETRIES = 2
TRUNCATION_RATIO = 0.5
"""A prompt counted at less than this share of its estimated size was cut by the server."""


class BackendUnavailable(Exception):
    """Ollama cannot be used at all: not running, or the model is missing.

    The message names the host and the command that fixes it.
    """


@dataclass(frozen=True, slots=True)
class OllamaSettings:
    """Everything that decides what a run asks of the model (recorded on the run)."""

    model: str = DEFAULT_MODEL
    hosts: tuple[str, ...] = (DEFAULT_HOST,)
    concurrency: int = 2
    token_budget: int = DEFAULT_TOKEN_BUDGET
    num_predict: int = DEFAULT_NUM_PREDICT
    seed: int = DEFAULT_SEED
    timeout: float = DEFAULT_TIMEOUT_S
    num_ctx: int = 0
    """0: derived from the token budget, the system prompt and ``num_predict``."""
    fields: tuple[FieldSpec, ...] = FIELDS

    def context_size(self) -> int:
        """``num_ctx``: room for the system prompt, the passages and the answer, in 1k steps."""
        if self.num_ctx:
            return self.num_ctx
        needed = estimate_tokens(system_prompt(self.fields)) + self.token_budget + self.num_predict
        needed = int(needed * 1.2)  # the estimate is rough; truncation is worse than waste
        return -(-needed // 1024) * 1024

    def options(self) -> dict[str, Any]:
        """The ``options`` sent with every request."""
        return {
            "temperature": 0,
            "seed": self.seed,
            "num_ctx": self.context_size(),
            "num_predict": self.num_predict,
        }

    def recorded(self) -> dict[str, Any]:
        """What the run records as its options."""
        return {
            **self.options(),
            "token_budget": self.token_budget,
            "concurrency": self.concurrency,
            "hosts": list(self.hosts),
            "fields": [spec.name for spec in self.fields],
        }


@dataclass
class PaperAnswer:
    """What the model answered for one paper, after retries."""

    answers: list[FieldProposal] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    prompt_tokens: int = 0
    prompt_eval_count: int | None = None
    truncated: bool = False
    error: str | None = None
    """Set when no usable answer came back at all."""
    seconds: float = 0.0


def make_client(host: str, timeout: float) -> ollama.AsyncClient:
    return ollama.AsyncClient(host=host, timeout=httpx.Timeout(timeout, connect=10.0))


async def check_backend(client: ollama.AsyncClient, host: str, model: str) -> int | None:
    """Fail early, with the fix, when Ollama is not running or the model is not pulled.

    Returns:
        The model's trained context length when the server reports it, else ``None``.

    Raises:
        BackendUnavailable: The host cannot be reached or lacks the model.
    """
    try:
        await client.list()
        shown = await client.show(model)
    except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
        raise BackendUnavailable(
            f"cannot reach Ollama at {host} — start it with 'ollama serve'"
        ) from None
    except httpx.TimeoutException:
        raise BackendUnavailable(f"Ollama at {host} did not answer in time") from None
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            raise BackendUnavailable(
                f"model {model} is not available at {host} — pull it with 'ollama pull {model}'"
            ) from None
        raise BackendUnavailable(
            f"Ollama at {host} answered {exc.status_code}: {exc.error}"
        ) from None
    info = shown.modelinfo or {}
    lengths = [v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)]
    return lengths[0] if lengths else None


class ModelMissing(BackendUnavailable):
    """The server answered 404 for the model during the run."""


async def ask_paper(
    client: ollama.AsyncClient, settings: OllamaSettings, pages: Sequence[str]
) -> PaperAnswer:
    """Ask the model about one paper, retrying with feedback; never raises for bad answers.

    Raises:
        ModelMissing: The server no longer has the model (404): the run cannot go on.
        BackendUnavailable: The server cannot be reached.
    """
    started = time.perf_counter()
    result = PaperAnswer()
    passages = select_passages(pages, settings.token_budget)
    system = system_prompt(settings.fields)
    user = paper_prompt(passages)
    result.prompt_tokens = estimate_tokens(system) + estimate_tokens(user)
    messages: list[dict[str, str]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    schema = ollama_format(settings.fields)
    best: dict[str, FieldProposal] = {}
    problems: dict[str, str] = {}
    for attempt in range(1 + MAX_RETRIES):
        result.attempts = attempt + 1
        try:
            response = await client.chat(
                model=settings.model,
                messages=messages,
                format=schema,
                options=settings.options(),
                stream=False,
            )
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise ModelMissing(
                    f"model {settings.model} is not available — pull it with "
                    f"'ollama pull {settings.model}'"
                ) from None
            problems = {"request": f"server error {exc.status_code}: {exc.error}"[:300]}
            if attempt < MAX_RETRIES:
                await asyncio.sleep(min(2.0**attempt, 10))  # an overloaded server needs a moment
            continue
        except (ConnectionError, httpx.ConnectError):
            raise BackendUnavailable("cannot reach Ollama — start it with 'ollama serve'") from None
        except httpx.TimeoutException:
            problems = {"request": f"no answer within {settings.timeout:g} s"}
            continue
        if response.prompt_eval_count is not None:
            result.prompt_eval_count = response.prompt_eval_count
            if response.prompt_eval_count < TRUNCATION_RATIO * result.prompt_tokens:
                result.truncated = True
        content = response.message.content or ""
        if response.done_reason == "length":
            problems = {"answer": "cut off before the end (too long): keep quotes short"}
        else:
            try:
                data = json.loads(content)
            except json.JSONDecodeError as exc:
                problems = {"answer": f"not valid JSON ({exc.msg} at character {exc.pos})"}
            except RecursionError:
                problems = {"answer": "not usable JSON (nested too deeply)"}
            else:
                valid, problems = validate_answer(data, settings.fields)
                best.update(valid)
                if not problems:
                    break
        if attempt < MAX_RETRIES:
            messages = [
                *messages[:2],
                {"role": "assistant", "content": content[:8000]},
                {"role": "user", "content": feedback_prompt(problems)},
            ]
    result.answers = [best[spec.name] for spec in settings.fields if spec.name in best]
    result.problems = {k: v for k, v in problems.items() if k not in best}
    if not best:
        reasons = "; ".join(f"{k}: {v}" for k, v in problems.items()) or "no answer"
        result.error = f"no usable answer after {result.attempts} attempts ({reasons})"[:500]
    result.seconds = time.perf_counter() - started
    return result
