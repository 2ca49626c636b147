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
import dataclasses
import os
import random
from typing import Any
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
    describe_body,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_RETRIES = 4
"""Retries of a call the server refused for now (429, 409, 5xx), with backoff."""
MAX_BACKOFF_S = 60.0
PROBE = "Answer with a JSON object."


class _Unexpected(Exception):
    """A reply that is not the API's; the message says what it is instead."""


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


def _body(response: Any) -> dict[str, Any]:
    """The JSON object a reply carries.

    Raises:
        _Unexpected: It carries something else (a proxy's HTML page, garbage).
    """
    problem = describe_body(response.headers.get("content-type"), response.text)
    if problem is not None:
        raise _Unexpected(problem)
    data: dict[str, Any] = response.json()
    return data


def _choice(body: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """A chat completion's answer text, whether it was cut off, and its usage.

    Raises:
        _Unexpected: The object is not a chat completion.
    """
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(first, dict) or not isinstance(message, dict):
        raise _Unexpected("JSON without choices[0].message: not a chat completion")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise _Unexpected(f"a message content that is not text ({type(content).__name__})")
    usage = body.get("usage")
    return (
        content or "",
        first.get("finish_reason") == "length",
        usage if isinstance(usage, dict) else {},
    )


def _count(usage: dict[str, Any], name: str) -> int | None:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OpenAIClient:
    """One OpenAI-compatible server."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._key = os.environ.get("OPENAI_API_KEY") or None
        self.client = openai.AsyncOpenAI(
            base_url=base_url,
            # Local servers take any key; the client insists on one.
            api_key=self._key or "not-needed",
            timeout=timeout,
            # The client would retry a timed-out call too, waiting the whole timeout each
            # time; refusals are retried in _create() instead, timeouts by the next attempt.
            max_retries=0,
        )
        self.response_format: dict[str, Any] | None = None

    def _said(self, text: object, limit: int = 200) -> str:
        """What a server said, for a message: one line, cut, and never the key (a proxy may
        echo the request's headers in its error page)."""
        line = " ".join(str(text).split())
        if self._key:
            line = line.replace(self._key, "[OPENAI_API_KEY]")
        return line[:limit]

    def _status(self, exc: openai.APIStatusError) -> str:
        """An error status's reason: the API's message, or what the body is instead."""
        response = exc.response
        problem = describe_body(response.headers.get("content-type"), response.text)
        if problem is not None and problem != "an empty reply":
            return self._said(problem)
        message = exc.message
        prefix = f"Error code: {exc.status_code} - "
        return self._said(message.removeprefix(prefix) if message else "no reason given")

    def _fatal(self, exc: Exception, model: str, path: str = "/models") -> BackendUnavailable:
        """The error that stops the run, for a failure that no retry will fix."""
        url = self.base_url
        if isinstance(exc, _Unexpected):
            return BackendUnavailable(
                f"unexpected reply from {url} to {path}: {self._said(exc)} — is --base-url an "
                "OpenAI-compatible API (a proxy or login page in the way)?"
            )
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
        if _out_of_quota(exc):
            return BackendUnavailable(
                f"the account behind OPENAI_API_KEY has no quota left at {url} (429 "
                "insufficient_quota) — add credit or use another key"
            )
        if isinstance(exc, openai.APIStatusError):
            return BackendUnavailable(
                f"the server at {url} answered {exc.status_code} to {path}: {self._status(exc)}"
            )
        return BackendUnavailable(
            f"unexpected reply from {url} to {path} ({type(exc).__name__}: {self._said(exc)})"
            " — is it an OpenAI-compatible server?"
        )

    async def check(self, model: str) -> tuple[int | None, list[str]]:
        """Reach the server, check it serves ``model``, and find the ``response_format`` it
        takes (one-token probes with the real schema)."""
        try:
            listing = _body((await self.client.models.with_raw_response.list()).http_response)
        except openai.NotFoundError:
            listing = {}  # no model listing here; the probe below still finds a wrong name
        except (openai.OpenAIError, _Unexpected, ValueError) as exc:
            raise self._fatal(exc, model) from None
        entries = listing.get("data")
        if listing and not isinstance(entries, list):
            raise self._fatal(_Unexpected("JSON without a model list ('data')"), model)
        served = [e["id"] for e in entries or [] if isinstance(e, dict) and "id" in e]
        if served and model not in served:
            listed = ", ".join(map(self._said, served[:8])) + (", …" if len(served) > 8 else "")
            raise BackendUnavailable(
                f"model {model} is not served at {self.base_url} — it serves {listed}; "
                "pass one with --model"
            )
        schema = response_schema()
        refusals = []
        probing = self.client.with_options(timeout=min(self.timeout, 120.0))
        for form in _formats(schema):
            try:
                raw = await self._create(
                    probing,
                    model=model,
                    messages=[{"role": "user", "content": PROBE}],
                    response_format=form,
                    max_tokens=1,
                    temperature=0,
                    # A server refusing a form may say so with a 500 (llama-cpp-python answers
                    # a response_format it does not know with 500, not 400 or 422): one retry.
                    retries_5xx=1,
                )
                _choice(_body(raw.http_response))
            except (
                openai.AuthenticationError,
                openai.PermissionDeniedError,
                openai.NotFoundError,
                openai.RateLimitError,
            ) as exc:
                raise self._fatal(exc, model, "/chat/completions") from None
            except openai.APIStatusError as exc:
                refusals.append(f"{form['type']}: {exc.status_code} {self._status(exc)[:120]}")
                continue
            except (openai.OpenAIError, _Unexpected, ValueError) as exc:
                raise self._fatal(exc, model, "/chat/completions") from None
            self.response_format = form
            return None, []
        raise BackendUnavailable(
            f"the server at {self.base_url} takes no JSON-schema response_format "
            f"({'; '.join(refusals)})"
        )

    async def complete(self, request: ModelRequest, settings: ModelSettings) -> ModelReply:
        assert self.response_format is not None, "check() first"
        try:
            raw = await self._create(
                self.client,
                model=settings.model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                response_format=_with_schema(self.response_format, request.schema),
                temperature=0,
                seed=settings.seed,
                max_tokens=request.num_predict,
            )
            content, cut_off, usage = _choice(_body(raw.http_response))
        except openai.APITimeoutError:
            raise TransientError(f"no answer within {settings.timeout:g} s") from None
        except (
            openai.APIConnectionError,
            openai.AuthenticationError,
            openai.PermissionDeniedError,
            openai.NotFoundError,
        ) as exc:
            raise self._fatal(exc, settings.model, "/chat/completions") from None
        except openai.APIStatusError as exc:
            if _out_of_quota(exc):
                raise self._fatal(exc, settings.model, "/chat/completions") from None
            raise TransientError(
                f"{'rate limited' if exc.status_code == 429 else 'server error'} "
                f"{exc.status_code} at {self.base_url}: {self._status(exc)}"
            ) from None
        except (openai.OpenAIError, _Unexpected, ValueError) as exc:
            raise TransientError(
                f"unexpected reply from {self.base_url} to /chat/completions: "
                f"{self._said(exc, 160)}"
            ) from None
        return ModelReply(
            content=content,
            cut_off=cut_off,
            prompt_tokens=_count(usage, "prompt_tokens"),
            answer_tokens=_count(usage, "completion_tokens"),
        )

    @staticmethod
    async def _create(
        client: openai.AsyncOpenAI, *, retries_5xx: int = MAX_RETRIES, **request: Any
    ) -> Any:
        """One chat completion, retried with backoff while the server refuses it for now
        (429, 409, 5xx); its raw reply, which :func:`_body` reads."""
        for retry in range(MAX_RETRIES + 1):
            try:
                return await client.chat.completions.with_raw_response.create(**request)
            except (openai.RateLimitError, openai.ConflictError, openai.InternalServerError) as exc:
                limit = retries_5xx if isinstance(exc, openai.InternalServerError) else MAX_RETRIES
                if retry >= limit or _out_of_quota(exc):
                    raise
                await asyncio.sleep(_backoff(exc.response.headers, retry))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.client.close()


def _out_of_quota(exc: Exception) -> bool:
    """OpenAI's 429 for an account without credit: waiting will not help."""
    return isinstance(exc, openai.RateLimitError) and exc.code == "insufficient_quota"


class OpenAIEngine(ModelEngine):
    """The OpenAI chat API on one or more base URLs."""

    name = "openai"

    def __init__(self, settings: ModelSettings) -> None:
        super().__init__(settings, lambda url: OpenAIClient(url, settings.timeout))

    def plan(self) -> RunPlan:
        plan = super().plan()
        # The server sizes its own context; num_ctx is Ollama's alone.
        options = {key: value for key, value in plan.options.items() if key != "num_ctx"}
        return dataclasses.replace(
            plan,
            options=options,
            truncation_fix="start the server with a longer context (vLLM --max-model-len, "
            "llama.cpp -c, Ollama's OLLAMA_CONTEXT_LENGTH, or use --engine ollama, which sets "
            "it per request) or lower --token-budget",
        )


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
