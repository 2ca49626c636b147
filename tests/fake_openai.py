"""A stand-in for an OpenAI-compatible server: a real HTTP server on 127.0.0.1 answering
``/v1/models`` and ``/v1/chat/completions`` as the OpenAI API does, so the official client is
exercised over real HTTP. It can behave as llama-cpp-python's server does (refusing
``json_schema``), refuse the key, or answer with errors and garbage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fake_ollama import answer

MODEL = "Qwen/Qwen2.5-7B-Instruct"


@dataclass
class Completion:
    """What the fake sends back for one chat request."""

    content: str = ""
    status: int = 200
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    raw: str | None = None
    """A raw 200 body instead of a chat completion."""
    delay: float = 0.0
    message: str = "server overloaded"
    """The error message of a reply with another status."""
    code: str | None = None
    """The error code of a reply with another status (OpenAI's ``insufficient_quota``)."""

    @classmethod
    def json(cls, data: Any, **kwargs: Any) -> Completion:
        return cls(content=json.dumps(data), **kwargs)


@dataclass
class FakeOpenAI:
    """Records every chat request; ``reply`` decides each answer from the request body."""

    server: HTTPServer
    models: tuple[str, ...] = (MODEL,)
    key: str | None = None
    """When set, requests must carry it as the bearer token (else 401)."""
    models_reply: str | None = None
    """A raw body for /v1/models instead of the model list (e.g. a proxy's HTML page)."""
    takes_json_schema: bool = True
    """False: refuse ``response_format`` ``json_schema`` as llama-cpp-python's server does
    (with a 500 carrying its validation error)."""
    reply: Callable[[dict[str, Any], int], Completion] = lambda body, n: Completion.json(answer())
    chats: list[dict[str, Any]] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1"

    def install(self) -> FakeOpenAI:
        self.server.expect_request("/v1/models", method="GET").respond_with_handler(self._models)
        self.server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(
            self._chat
        )
        return self

    def _refused(self, request: Request) -> Response | None:
        self.headers.append(dict(request.headers))
        if self.key is not None and request.headers.get("Authorization") != f"Bearer {self.key}":
            error = {"error": {"message": "Incorrect API key provided", "type": "invalid_key"}}
            return Response(json.dumps(error), status=401, content_type="application/json")
        return None

    def _models(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        if self.models_reply is not None:
            kind = "text/html" if self.models_reply.startswith("<") else "text/plain"
            return Response(self.models_reply, content_type=kind)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "me"} for m in self.models]
        return Response(
            json.dumps({"object": "list", "data": data}), content_type="application/json"
        )

    def _chat(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        body = json.loads(request.data)
        form = body.get("response_format", {})
        if not self.takes_json_schema and form.get("type") != "json_object":
            detail = [
                {
                    "loc": ["body", "response_format", "type"],
                    "msg": "Input should be 'text' or 'json_object'",
                    "type": "literal_error",
                }
            ]
            return Response(
                json.dumps({"detail": detail}), status=422, content_type="application/json"
            )
        if body["model"] not in self.models:
            error = {"error": {"message": f"The model `{body['model']}` does not exist"}}
            return Response(json.dumps(error), status=404, content_type="application/json")
        if body.get("max_tokens") == 1:
            with self.lock:
                self.probes.append(body)
            completion = Completion(content="{")
        else:
            with self.lock:
                self.chats.append(body)
                number = len(self.chats)
            completion = self.reply(body, number)
        if completion.delay:
            time.sleep(completion.delay)
        if completion.status != 200:
            error = json.dumps({"error": {"message": completion.message, "code": completion.code}})
            # A short Retry-After keeps the client's backoff quick in tests.
            return Response(
                error,
                status=completion.status,
                content_type="application/json",
                headers={"retry-after-ms": "5"},
            )
        if completion.raw is not None:
            return Response(completion.raw, content_type="text/html")
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.content},
                    "finish_reason": completion.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": completion.prompt_tokens or prompt,
                "completion_tokens": 100,
                "total_tokens": prompt + 100,
            },
        }
        return Response(json.dumps(payload), content_type="application/json")


def response_schema_of(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a chat request sent, whichever form its ``response_format`` took."""
    form = body["response_format"]
    return form["schema"] if form["type"] == "json_object" else form["json_schema"]["schema"]
