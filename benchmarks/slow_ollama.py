"""A local stand-in for Ollama that takes a fixed time per chat request (stdlib only).

Used by the throughput benchmark: with the model's time fixed, papers per second measure
how well goldsmith keeps requests in flight.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from extraction.fields import FIELD_NAMES

MODEL = "llama3.1:8b"
NOT_REPORTED = {
    name: {"status": "not_reported", "value": None, "page": None, "quote": None}
    for name in FIELD_NAMES
}


class SlowOllama:
    """Serve /api/tags, /api/show and /api/chat on 127.0.0.1, each chat taking ``delay`` s."""

    def __init__(self, delay: float = 0.2) -> None:
        self.delay = delay
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, payload: Any, status: int = 200) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._send({"models": [{"name": MODEL, "model": MODEL}]})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/api/show":
                    self._send({"model_info": {"llama.context_length": 131072}})
                    return
                owner.requests += 1
                time.sleep(owner.delay)
                self._send(
                    {
                        "model": MODEL,
                        "message": {"role": "assistant", "content": json.dumps(NOT_REPORTED)},
                        "done": True,
                        "done_reason": "stop",
                        "prompt_eval_count": 5000,
                    }
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> SlowOllama:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        time.sleep(0)
