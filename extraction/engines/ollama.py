"""The Ollama engine: a local model proposes fields, through the official ``ollama`` client.

Each call goes to ``/api/chat`` with the answer's bounded JSON schema as ``format``,
``temperature`` 0, a fixed ``seed``, ``num_ctx`` constant for the run (a different one makes
Ollama reload the model) and ``num_predict`` from the schema's bound. Asking, salvaging and
retrying are shared with every model engine (:mod:`extraction.engines.model`). Ollama's
native API is used rather than its ``/v1``: only the native one takes ``num_ctx`` per request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import pydantic

from extraction import defaults
from extraction.engines.base import BackendUnavailable, EngineOptions, ModelMissing
from extraction.engines.model import (
    ModelEngine,
    ModelReply,
    ModelRequest,
    ModelSettings,
    TransientError,
    describe_body,
)

DEFAULT_HOST = defaults.OLLAMA_HOST
DEFAULT_MODEL = defaults.OLLAMA_MODEL
DEFAULT_SEED = defaults.SEED
DEFAULT_TIMEOUT_S = defaults.REQUEST_TIMEOUT_S

OllamaSettings = ModelSettings
"""The Ollama engine's settings (those of every model engine)."""

# What a reply that is not Ollama's (a proxy's HTML page, a 200 with garbage) raises in the
# client: its JSON parsing, or pydantic checking the fields.
_UNEXPECTED = (json.JSONDecodeError, pydantic.ValidationError, ValueError, TypeError, KeyError)


class OllamaClient:
    """One Ollama server."""

    def __init__(self, host: str, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        self._bodies: dict[str, tuple[str | None, str]] = {}
        """The last reply's content type and text per API path, to say what an unexpected
        reply was (the client only says that it could not parse it)."""
        self.client = ollama.AsyncClient(
            host=host,
            timeout=httpx.Timeout(timeout, connect=10.0),
            event_hooks={"response": [self._remember]},
        )

    async def _remember(self, response: httpx.Response) -> None:
        await response.aread()
        kind = response.headers.get("content-type")
        self._bodies[response.request.url.path] = (kind, response.text[:4000])

    def _unexpected(self, path: str, exc: Exception) -> str:
        """One line on a reply to ``path`` that is not Ollama's."""
        kind, text = self._bodies.get(path, (None, ""))
        what = describe_body(kind, text)
        if what is None and isinstance(exc, pydantic.ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the reply"
            what = f"JSON without Ollama's fields ({where}: {first['msg'].lower()})"
        if what is None:
            what = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
        return f"unexpected reply from Ollama at {self.host} to {path}: {what}"

    def _refusal(self, exc: ollama.ResponseError) -> str:
        """An error status's reason: Ollama's message, or what the body is instead."""
        what = describe_body("", exc.error) if exc.error.lstrip().startswith("<") else None
        return " ".join((what or exc.error).split())[:200]

    def _unreachable(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"cannot reach Ollama at {self.host} — start it with 'ollama serve'"
        )

    async def check(self, model: str) -> tuple[int | None, list[str]]:
        """Fail early, with the fix, when Ollama is not running or the model is not pulled.

        Returns:
            The model's trained context length when the server reports it, and warnings.
        """
        path = "/api/tags"
        try:
            await self.client.list()
            path = "/api/show"
            shown = await self.client.show(model)
        except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
            raise self._unreachable() from None
        except httpx.TimeoutException:
            raise BackendUnavailable(f"Ollama at {self.host} did not answer in time") from None
        except ollama.ResponseError as exc:
            if exc.status_code == 404 and path == "/api/show":
                raise BackendUnavailable(
                    f"model {model} is not available at {self.host} — pull it with "
                    f"'ollama pull {model}'"
                ) from None
            hint = " — is it an Ollama server? (check --host)" if path == "/api/tags" else ""
            reason = self._refusal(exc)
            raise BackendUnavailable(
                f"Ollama at {self.host} answered {exc.status_code} to {path}"
                f"{': ' + reason if reason else ''}{hint}"
            ) from None
        except pydantic.ValidationError as exc:
            if path == "/api/tags":
                raise BackendUnavailable(
                    self._unexpected(path, exc) + " — is it an Ollama server?"
                ) from None
            # /api/show answered, so the model is there; it only did not say its context.
            return None, [
                f"Ollama at {self.host} did not report {model}'s context length "
                "(its /api/show reply has no model_info)"
            ]
        except _UNEXPECTED as exc:
            raise BackendUnavailable(
                self._unexpected(path, exc) + " — is it an Ollama server?"
            ) from None
        info = shown.modelinfo or {}
        lengths = [
            v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)
        ]
        return (lengths[0] if lengths else None), []

    async def complete(self, request: ModelRequest, settings: ModelSettings) -> ModelReply:
        try:
            response = await self.client.chat(
                model=settings.model,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": request.user},
                ],
                format=request.schema,
                options=self.options(settings, request.num_predict),
                stream=False,
            )
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise ModelMissing(
                    f"model {settings.model} is not available at {self.host} — pull it with "
                    f"'ollama pull {settings.model}'"
                ) from None
            raise TransientError(
                f"server error {exc.status_code} at {self.host}: {self._refusal(exc)}"
            ) from None
        except (ConnectionError, httpx.ConnectError):
            raise self._unreachable() from None
        except httpx.TimeoutException:
            raise TransientError(f"no answer within {settings.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise TransientError(f"connection to {self.host} failed: {exc}") from None
        except _UNEXPECTED as exc:
            raise TransientError(self._unexpected("/api/chat", exc)) from None
        return ModelReply(
            content=response.message.content or "",
            cut_off=response.done_reason == "length",
            prompt_tokens=response.prompt_eval_count,
            answer_tokens=response.eval_count,
        )

    @staticmethod
    def options(settings: ModelSettings, num_predict: int) -> dict[str, Any]:
        """The ``options`` of a request."""
        return {
            "temperature": 0,
            "seed": settings.seed,
            "num_ctx": settings.context_size(),
            "num_predict": num_predict,
        }

    async def close(self) -> None:
        await self.client.close()


class OllamaEngine(ModelEngine):
    """Ollama's native API on one or more hosts."""

    name = "ollama"

    def __init__(self, settings: ModelSettings) -> None:
        super().__init__(settings, lambda host: OllamaClient(host, settings.timeout))


def host_url(host: str) -> str:
    """``host`` as a URL with scheme and port ("localhost" -> "http://localhost:11434")."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    if ":" not in rest.split("/")[0]:
        rest = rest.split("/")[0] + ":11434" + rest[len(rest.split("/")[0]) :]
    return f"{scheme}://{rest}"


def make_engine(options: EngineOptions) -> OllamaEngine:
    """The engine for ``--engine ollama``: ``--host`` (else ``$OLLAMA_HOST``), ``--model``."""
    import os

    hosts = options.hosts or (os.environ.get("OLLAMA_HOST") or DEFAULT_HOST,)
    urls = tuple(dict.fromkeys(host_url(host) for host in hosts))
    return OllamaEngine(ModelSettings.from_options(options, options.model or DEFAULT_MODEL, urls))
