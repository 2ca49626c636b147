"""The OpenAI-compatible engine: any server speaking the OpenAI chat API, through the official
``openai`` client — vLLM, SGLang, llama.cpp's server, llama-cpp-python's, LM Studio, OpenAI.

Each call is ``/v1/chat/completions`` with ``temperature`` 0, a fixed ``seed``, ``max_tokens``
from the schema's bound and the bounded schema as ``response_format``. Servers differ in the
form they take, so at start each one is probed (one token) with, in order:
``{"type": "json_schema", "json_schema": {..., "strict": true}}`` (OpenAI, vLLM, SGLang,
llama.cpp, LM Studio), ``json_schema`` without ``strict`` (a server refusing a keyword under
strict mode) and ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server, which
takes nothing else); the first it accepts is used for the run. Rate limits (429) and server
errors (5xx) are retried with exponential backoff, as the server's ``Retry-After`` says when
it says (``MAX_RETRIES``); a call that times out is not (the next attempt is the retry).

The API key comes from ``$OPENAI_API_KEY`` (local servers need none); it is sent only as the
client's bearer token, never stored in the database or printed.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any, cast
from urllib.parse import urlsplit

import openai

from extraction.answers import response_schema
from extraction.engines.base import (
    BackendUnavailable,
    EngineOptionError,
    EngineOptions,
    ModelMissing,
    RunPlan,
)
from extraction.engines.model import (
    ModelEngine,
    ModelReply,
    ModelRequest,
    ModelSettings,
    TransientError,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_RETRIES = 4
"""Retries of a call the server refused for now (429, 409, 5xx), with backoff."""
MAX_BACKOFF_S = 60.0
PROBE = "Answer with a JSON object."

# What a reply that is not the API's (a proxy's HTML page, a 200 with garbage) raises when
# read: the client builds its objects leniently, so a field that is not there fails on use.
_UNEXPECTED = (
    openai.APIResponseValidationError,
    AttributeError,
    IndexError,
    KeyError,
    TypeError,
    ValueError,
)


def _first_line(text: object, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


def _backoff(headers: Any, retry: int) -> float:
    """Seconds to wait before retry number ``retry``: what the server asks (``Retry-After``,
    or ``retry-after-ms``), else exponential with jitter."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            asked = float(headers.get(name)) * scale
        except (TypeError, ValueError):
            continue
        if 0 <= asked <= MAX_BACKOFF_S:
            return asked
    return min(0.5 * 2**retry, 8.0) * (0.75 + 0.25 * random.random())


def _formats(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``response_format`` forms tried, most widely taken first."""
    named = {"name": "compute_disclosures", "schema": schema}
    return [
        {"type": "json_schema", "json_schema": {**named, "strict": True}},
        {"type": "json_schema", "json_schema": named},
        {"type": "json_object", "schema": schema},
    ]


def _with_schema(form: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if form["type"] == "json_object":
        return {**form, "schema": schema}
    return {**form, "json_schema": {**form["json_schema"], "schema": schema}}


class OpenAIClient:
    """One OpenAI-compatible server."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.client = openai.AsyncOpenAI(
            base_url=base_url,
            # Local servers take any key; the client insists on one.
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
            timeout=timeout,
            # The client would retry a timed-out call too, waiting the whole timeout each
            # time; refusals are retried in complete() instead, timeouts by the next attempt.
            max_retries=0,
        )
        self.response_format: dict[str, Any] | None = None

    def _fatal(self, exc: Exception, model: str) -> BackendUnavailable:
        """The error that stops the run, for a failure that no retry will fix."""
        url = self.base_url
        if isinstance(exc, openai.APIConnectionError) and not isinstance(
            exc, openai.APITimeoutError
        ):
            return BackendUnavailable(
                f"cannot reach an OpenAI-compatible server at {url} — start it (e.g. "
                f"'vllm serve {model}' or 'python -m llama_cpp.server --model FILE') or fix "
                "--base-url"
            )
        if isinstance(exc, openai.APITimeoutError):
            return BackendUnavailable(f"the server at {url} did not answer in time")
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return BackendUnavailable(
                f"the server at {url} rejected the API key ({exc.status_code}) — set "
                "OPENAI_API_KEY to a key it accepts"
            )
        if isinstance(exc, openai.NotFoundError):
            return ModelMissing(
                f"model {model} is not served at {url} (404) — check --model, and that "
                "--base-url ends in /v1"
            )
        if isinstance(exc, openai.APIStatusError):
            return BackendUnavailable(
                f"the server at {url} answered {exc.status_code}: {_first_line(exc.message)}"
            )
        return BackendUnavailable(
            f"unexpected reply from {url} ({type(exc).__name__}: {_first_line(exc)}) — is it "
            "an OpenAI-compatible server?"
        )

    async def check(self, model: str) -> tuple[int | None, list[str]]:
        """Reach the server, check it serves ``model``, and find the ``response_format`` it
        takes (one-token probes with the real schema)."""
        try:
            page = await self.client.models.list()
            served = [entry.id for entry in page.data]
        except openai.NotFoundError:
            served = []  # no model listing here; the probe below still finds a wrong name
        except (openai.OpenAIError, *_UNEXPECTED) as exc:
            raise self._fatal(exc, model) from None
        if served and model not in served:
            listed = ", ".join(served[:8]) + (", …" if len(served) > 8 else "")
            raise BackendUnavailable(
                f"model {model} is not served at {self.base_url} — it serves {listed}; "
                "pass one with --model"
            )
        schema = response_schema()
        refusals = []
        # One retry at most: a server refusing a form may say so with a 500 (llama-cpp-python
        # answers a response_format it does not know with 500, not 400 or 422).
        probing = self.client.with_options(max_retries=1, timeout=min(self.timeout, 120.0))
        for form in _formats(schema):
            try:
                await probing.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": PROBE}],
                    response_format=cast(Any, form),
                    max_tokens=1,
                    temperature=0,
                )
            except (
                openai.AuthenticationError,
                openai.PermissionDeniedError,
                openai.NotFoundError,
                openai.RateLimitError,
            ) as exc:
                raise self._fatal(exc, model) from None
            except openai.APIStatusError as exc:
                refusals.append(
                    f"{form['type']}: {exc.status_code} {_first_line(exc.message, 120)}"
                )
                continue
            except (openai.OpenAIError, *_UNEXPECTED) as exc:
                raise self._fatal(exc, model) from None
            self.response_format = form
            return None, []
        raise BackendUnavailable(
            f"the server at {self.base_url} takes no JSON-schema response_format "
            f"({'; '.join(refusals)})"
        )

    async def complete(self, request: ModelRequest, settings: ModelSettings) -> ModelReply:
        assert self.response_format is not None, "check() first"
        try:
            response = await self._create(request, settings)
            choice = response.choices[0]
            content = choice.message.content or ""
            cut_off = choice.finish_reason == "length"
            usage = response.usage
        except openai.APITimeoutError:
            raise TransientError(f"no answer within {settings.timeout:g} s") from None
        except (
            openai.APIConnectionError,
            openai.AuthenticationError,
            openai.PermissionDeniedError,
            openai.NotFoundError,
        ) as exc:
            raise self._fatal(exc, settings.model) from None
        except openai.APIStatusError as exc:
            raise TransientError(
                f"server error {exc.status_code} at {self.base_url}: {_first_line(exc.message)}"
            ) from None
        except (openai.OpenAIError, *_UNEXPECTED) as exc:
            raise TransientError(
                f"unexpected reply from {self.base_url} ({type(exc).__name__}: "
                f"{_first_line(exc, 120)})"
            ) from None
        if not isinstance(content, str):
            raise TransientError(f"unexpected reply from {self.base_url} (no message content)")
        return ModelReply(
            content=content,
            cut_off=cut_off,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            answer_tokens=getattr(usage, "completion_tokens", None),
        )

    async def _create(self, request: ModelRequest, settings: ModelSettings) -> Any:
        """One chat completion, retried with backoff while the server refuses it for now."""
        for retry in range(MAX_RETRIES + 1):
            try:
                return await self.client.chat.completions.create(
                    model=settings.model,
                    messages=[
                        {"role": "system", "content": request.system},
                        {"role": "user", "content": request.user},
                    ],
                    response_format=cast(
                        Any, _with_schema(self.response_format or {}, request.schema)
                    ),
                    temperature=0,
                    seed=settings.seed,
                    max_tokens=request.num_predict,
                )
            except (openai.RateLimitError, openai.ConflictError, openai.InternalServerError) as exc:
                if retry == MAX_RETRIES:
                    raise
                await asyncio.sleep(_backoff(exc.response.headers, retry))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.client.close()


class OpenAIEngine(ModelEngine):
    """The OpenAI chat API on one or more base URLs."""

    name = "openai"

    def __init__(self, settings: ModelSettings) -> None:
        super().__init__(settings, lambda url: OpenAIClient(url, settings.timeout))

    def plan(self) -> RunPlan:
        plan = super().plan()
        # The server sizes its own context; num_ctx is Ollama's alone.
        options = {key: value for key, value in plan.options.items() if key != "num_ctx"}
        return RunPlan(plan.engine, plan.default_name, plan.model, plan.host, options, plan.compare)


def base_url(url: str) -> str:
    """``url`` with a scheme, and ``/v1`` when it names only a host ("localhost:8000" ->
    "http://localhost:8000/v1")."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not urlsplit(url).path:
        url += "/v1"
    return url


def make_engine(options: EngineOptions) -> OpenAIEngine:
    """The engine for ``--engine openai``: ``--base-url`` (else ``$OPENAI_BASE_URL``, else
    OpenAI's API) and ``--model``, which is required."""
    if not options.model:
        raise EngineOptionError("--engine openai needs --model (the name the server serves)")
    urls = options.hosts or (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,)
    hosts = tuple(dict.fromkeys(base_url(url) for url in urls))
    return OpenAIEngine(ModelSettings.from_options(options, options.model, hosts))
