"""A stand-in for Ollama: a real HTTP server on 127.0.0.1 answering /api/tags, /api/show and
/api/chat as Ollama does, so the official client is exercised over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from extraction.fields import FIELD_NAMES

MODEL = "llama3.1:8b"


def answer(**fields: dict[str, Any]) -> dict[str, Any]:
    """A complete answer: every field not reported, except those given."""
    full: dict[str, Any] = {
        name: {"status": "not_reported", "value": None, "page": None, "quote": None}
        for name in FIELD_NAMES
    }
    full.update(fields)
    return full


def reported(value: Any, page: int, quote: str) -> dict[str, Any]:
    return {"status": "reported", "value": value, "page": page, "quote": quote}


@dataclass
class Reply:
    """What the fake sends back for one chat request."""

    content: str = ""
    status: int = 200
    done_reason: str = "stop"
    prompt_eval_count: int | None = None
    delay: float = 0.0
    raw: str | None = None
    """A raw 200 body instead of Ollama's reply (garbage from a broken proxy)."""

    @classmethod
    def json(cls, data: Any, **kwargs: Any) -> Reply:
        return cls(content=json.dumps(data), **kwargs)


@dataclass
class FakeOllama:
    """Records every chat request; ``reply`` decides each answer from the request body."""

    server: HTTPServer
    models: tuple[str, ...] = (MODEL,)
    context_length: int = 131072
    show_model_info: bool = True
    """False: /api/show answers without ``model_info`` (as some servers and proxies do)."""
    tags_reply: str | None = None
    """A raw body for /api/tags instead of the model list (e.g. a proxy's HTML page)."""
    tags_status: int = 200
    """Another status for /api/tags (e.g. 404 from a server that is not Ollama)."""
    reply: Callable[[dict[str, Any], int], Reply] = lambda body, n: Reply.json(answer())
    chats: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def install(self) -> FakeOllama:
        self.server.expect_request("/api/tags", method="GET").respond_with_handler(self._tags)
        self.server.expect_request("/api/show", method="POST").respond_with_handler(self._show)
        self.server.expect_request("/api/chat", method="POST").respond_with_handler(self._chat)
        return self

    def _tags(self, request: Request) -> Response:
        if self.tags_reply is not None or self.tags_status != 200:
            return Response(self.tags_reply or "", self.tags_status, content_type="text/html")
        models = [
            {"name": m, "model": m, "modified_at": "2025-01-01T00:00:00Z", "size": 1, "digest": "x"}
            for m in self.models
        ]
        return Response(json.dumps({"models": models}), content_type="application/json")

    def _show(self, request: Request) -> Response:
        model = json.loads(request.data)["model"]
        if model not in self.models:
            body = json.dumps({"error": f"model '{model}' not found"})
            return Response(body, status=404, content_type="application/json")
        info = {"general.architecture": "llama", "llama.context_length": self.context_length}
        shown = {"model_info": info} if self.show_model_info else {"license": "MIT"}
        return Response(json.dumps(shown), content_type="application/json")

    def _chat(self, request: Request) -> Response:
        body = json.loads(request.data)
        with self.lock:
            self.chats.append(body)
            number = len(self.chats)
        if body["model"] not in self.models:
            error = json.dumps({"error": f"model '{body['model']}' not found"})
            return Response(error, status=404, content_type="application/json")
        reply = self.reply(body, number)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status != 200:
            error = json.dumps({"error": "server overloaded"})
            return Response(error, status=reply.status, content_type="application/json")
        if reply.raw is not None:
            return Response(reply.raw, content_type="text/html")
        payload = {
            "model": body["model"],
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": reply.content},
            "done": True,
            "done_reason": reply.done_reason,
            "prompt_eval_count": reply.prompt_eval_count
            if reply.prompt_eval_count is not None
            else sum(len(m["content"]) for m in body["messages"]) // 4,
            "eval_count": 100,
        }
        return Response(json.dumps(payload), content_type="application/json")


def paper_text(body: dict[str, Any]) -> str:
    """The paper passages a chat request carried (without the fields asked for)."""
    user = body["messages"][1]["content"]
    return user[user.index("<paper>") : user.index("</paper>") + len("</paper>")]


def asked_fields(body: dict[str, Any]) -> list[str]:
    """The fields a chat request asked for (the properties of the schema it sent)."""
    return list(body["format"]["properties"])
