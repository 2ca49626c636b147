"""`goldsmith extract --engine openai` against a fake OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from extraction.answers import longest_answer, response_schema
from extraction.fields import FIELD_NAMES, FIELDS
from storage import open_database
from storage import runs as run_store
from tests.fake_ollama import answer, reported
from tests.fake_openai import MODEL, Completion, FakeOpenAI, response_schema_of
from tui.cli import cli

KEY = "sk-test-0123456789abcdef"
GOOD = answer(
    accelerator_type=reported("NVIDIA A100", 2, "trained on 8 NVIDIA A100 GPUs for 3 days"),
    accelerator_count=reported(8, 2, "All models were trained on 8 NVIDIA A100 GPUs"),
)


@pytest.fixture
def fake_openai(ollama_server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fake OpenAI-compatible server (on the session's test HTTP server)."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ollama_server.clear()
    yield FakeOpenAI(ollama_server, key=KEY).install()
    ollama_server.clear()


def extract(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["--db", str(db), "extract", "--engine", "openai", *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def paper_of(body: dict[str, Any]) -> str:
    user = body["messages"][1]["content"]
    return user[user.index("<paper>") : user.index("</paper>")]


def test_requests_carry_the_bounded_schema_as_json_schema(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion.json(
        GOOD if "A100" in paper_of(body) else answer()
    )
    code, out, err = extract(papers_db, "--base-url", fake_openai.url, "--model", MODEL)
    assert code == 0, err
    assert out.startswith(f"run openai-{MODEL}: 3 papers done, 0 failed, 0 already done")
    assert len(fake_openai.probes) == 1, "one probe per server finds the response_format it takes"
    assert len(fake_openai.chats) == 3
    for body in fake_openai.chats:
        form = body["response_format"]
        assert form["type"] == "json_schema" and form["json_schema"]["strict"] is True
        pages = 3 if "A100" in paper_of(body) else 2
        assert form["json_schema"]["schema"] == response_schema(FIELDS, pages)
        assert body["temperature"] == 0 and body["seed"] == 42
        assert body["max_tokens"] == longest_answer(form["json_schema"]["schema"])
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in fake_openai.headers)
    db = open_database(papers_db)
    run = run_store.get_run(db, f"openai-{MODEL}")
    assert run and run.engine == "openai" and run.model == MODEL and run.host == fake_openai.url
    assert "num_ctx" not in run.options
    count = db.execute(
        "SELECT value, grounding FROM proposals WHERE field = 'accelerator_count' AND value = '8'"
    ).fetchone()
    assert count == ("8", "exact")
    db.close()
    wal = Path(f"{papers_db}-wal")  # gone when the last connection closed
    stored = papers_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert KEY.encode() not in stored and KEY not in out + err, "the key is never stored or shown"


def test_a_server_taking_only_json_object_gets_the_schema_that_way(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.takes_json_schema = False  # llama-cpp-python's server
    code, _, err = extract(papers_db, "--base-url", fake_openai.url, "--model", MODEL)
    assert code == 0, err
    assert [p["response_format"]["type"] for p in fake_openai.probes] == ["json_object"]
    for body in fake_openai.chats:
        assert body["response_format"]["type"] == "json_object"
        assert response_schema_of(body)["properties"].keys() == set(FIELD_NAMES)


def test_several_base_urls_share_the_papers(papers_db: Path, fake_openai: FakeOpenAI) -> None:
    second_server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    second_server.start()
    try:
        second = FakeOpenAI(second_server, key=KEY).install()
        code, _, err = extract(
            papers_db,
            *("--base-url", fake_openai.url, "--base-url", second.url),
            *("--model", MODEL, "--concurrency", "1"),
        )
        assert code == 0, err
        assert fake_openai.chats and second.chats
        assert len(fake_openai.chats) + len(second.chats) == 3
    finally:
        second_server.stop()


def test_the_base_url_comes_from_the_environment(
    papers_db: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url)
    code, _, err = extract(papers_db, "--model", MODEL, "--paper", "no_compute.pdf")
    assert code == 0, err
    assert len(fake_openai.chats) == 1


def test_unreachable_server_exits_3_naming_it(papers_db: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    code, _, err = extract(papers_db, "--base-url", url, "--model", MODEL)
    assert code == 3
    assert err.strip().startswith(f"error: cannot reach an OpenAI-compatible server at {url}")
    assert len(err.strip().splitlines()) == 1


def test_a_rejected_key_exits_3_with_the_fix(
    papers_db: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    code, _, err = extract(papers_db, "--base-url", fake_openai.url, "--model", MODEL)
    assert code == 3
    assert err.strip() == (
        f"error: the server at {fake_openai.url} rejected the API key (401) — set "
        "OPENAI_API_KEY to a key it accepts"
    )
    assert "sk-wrong" not in err and fake_openai.chats == []


def test_an_unknown_model_exits_3_listing_what_is_served(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    code, _, err = extract(papers_db, "--base-url", fake_openai.url, "--model", "gpt-5")
    assert code == 3
    assert err.strip() == (
        f"error: model gpt-5 is not served at {fake_openai.url} — it serves {MODEL}; pass one "
        "with --model"
    )


def test_model_is_required(papers_db: Path) -> None:
    code, _, err = extract(papers_db, "--base-url", "http://127.0.0.1:9/v1")
    assert code == 2 and "--engine openai needs --model" in err


def test_rate_limits_are_retried_with_backoff(papers_db: Path, fake_openai: FakeOpenAI) -> None:
    def reply(body: dict[str, Any], n: int) -> Completion:
        return Completion(status=429) if n <= 2 else Completion.json(GOOD)

    fake_openai.reply = reply
    code, _, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "gpu_paper.pdf"
    )
    assert code == 0, err
    assert len(fake_openai.chats) == 3, "two refusals, retried with backoff, then the answer"
    db = open_database(papers_db)
    assert db.execute("SELECT status, attempts FROM run_papers").fetchone() == ("done", 1)


def test_server_errors_that_persist_fail_the_paper_naming_the_host(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion(status=503)
    code, out, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "tpu_paper.pdf"
    )
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: tpu_paper.pdf: no usable answer after 3 attempts")
    assert f"server error 503 at {fake_openai.url}: server overloaded" in line
    assert len(fake_openai.chats) == 3 * 5, "each of 3 attempts retried 4 times with backoff"


def test_a_call_that_times_out_is_not_retried_within_the_attempt(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion.json(answer(), delay=0.6)
    code, _, err = extract(
        papers_db,
        "--base-url",
        fake_openai.url,
        "--model",
        MODEL,
        "--paper",
        "no_compute.pdf",
        "--timeout",
        "0.3",
    )
    assert code == 1 and "no answer within 0.3 s" in err
    assert len(fake_openai.chats) == 3, "one call per attempt: a timeout is not retried at once"


def test_garbage_in_a_reply_fails_the_paper_naming_the_host(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion(raw="<html><h1>Bad gateway</h1></html>")
    result = CliRunner().invoke(
        cli,
        ["--db", str(papers_db), "extract", "--engine", "openai", "--base-url", fake_openai.url]
        + ["--model", MODEL, "--paper", "no_compute.pdf"],
    )
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: no_compute.pdf: no usable answer after 3 attempts")
    assert (
        f"unexpected reply from {fake_openai.url} to /chat/completions: an HTML page, not JSON "
        "('Bad gateway')" in line
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("<html><head><title>Sign in</title></head><body>proxy</body></html>", "an HTML page"),
        ("Service Unavailable", "not JSON (text/plain: 'Service Unavailable')"),
        ('{"object": "list"}', "JSON without a model list ('data')"),
    ],
)
def test_a_base_url_that_is_not_the_api_exits_3_saying_what_answered(
    papers_db: Path, fake_openai: FakeOpenAI, body: str, said: str
) -> None:
    fake_openai.models_reply = body
    code, _, err = extract(papers_db, "--base-url", fake_openai.url, "--model", MODEL)
    assert code == 3 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: unexpected reply from {fake_openai.url} to /models: {said}")
    assert "is --base-url an OpenAI-compatible API" in err and fake_openai.chats == []


def test_the_key_is_never_shown_or_stored_even_when_the_server_echoes_it(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    echo = f"upstream refused: Authorization: Bearer {KEY}"
    fake_openai.reply = lambda body, n: Completion(status=502, message=echo)
    code, out, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "tpu_paper.pdf"
    )
    assert code == 1 and "upstream refused: Authorization: Bearer [OPENAI_API_KEY]" in err
    db = open_database(papers_db)
    assert "[OPENAI_API_KEY]" in db.execute("SELECT error FROM run_papers").fetchone()[0]
    db.close()
    wal = Path(f"{papers_db}-wal")
    stored = papers_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert KEY.encode() not in stored and KEY not in out + err


def test_an_account_out_of_quota_exits_3_at_once(papers_db: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = lambda body, n: Completion(
        status=429, message="You exceeded your current quota", code="insufficient_quota"
    )
    code, _, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--concurrency", "1"
    )
    assert code == 3 and len(fake_openai.chats) == 1, "waiting will not bring credit back"
    assert err.strip() == (
        f"error: the account behind OPENAI_API_KEY has no quota left at {fake_openai.url} "
        "(429 insufficient_quota) — add credit or use another key"
    )


def test_a_cut_off_answer_is_salvaged_and_the_rest_asked_in_two_groups(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    whole = json.dumps(GOOD)
    cut = whole[: whole.index('"accelerator_memory_gb"') + 40]

    def reply(body: dict[str, Any], n: int) -> Completion:
        if n == 1:
            return Completion(content=cut, finish_reason="length")
        asked = response_schema_of(body)["properties"]
        return Completion.json({name: GOOD[name] for name in asked})

    fake_openai.reply = reply
    code, _, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "gpu_paper.pdf"
    )
    assert code == 0, err
    asked = [list(response_schema_of(body)["properties"]) for body in fake_openai.chats]
    assert asked[0] == list(FIELD_NAMES) and asked[1] + asked[2] == list(FIELD_NAMES[2:])
    db = open_database(papers_db)
    assert db.execute("SELECT COUNT(*) FROM proposals").fetchone()[0] == len(FIELD_NAMES)


def test_resuming_makes_no_call(papers_db: Path, fake_openai: FakeOpenAI) -> None:
    args = ("--base-url", fake_openai.url, "--model", MODEL, "--run", "r")
    assert extract(papers_db, *args)[0] == 0
    calls = len(fake_openai.chats) + len(fake_openai.probes)
    code, out, _ = extract(papers_db, *args)
    assert code == 0 and "0 papers done, 0 failed, 3 already done" in out
    assert len(fake_openai.chats) + len(fake_openai.probes) == calls


def test_truncated_prompts_name_the_fix_on_the_server(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion.json(answer(), prompt_tokens=20)
    code, _, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "gpu_paper.pdf"
    )
    assert code == 0, err
    assert "1 prompt(s) were truncated by the server: start the server with a longer context" in err
    assert "--num-ctx" not in err, "--num-ctx is Ollama's; it changes nothing here"


def test_a_paper_whose_every_answer_is_empty_says_it_once(
    papers_db: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = lambda body, n: Completion(content="")
    code, _, err = extract(
        papers_db, "--base-url", fake_openai.url, "--model", MODEL, "--paper", "tpu_paper.pdf"
    )
    assert code == 1 and len(fake_openai.chats) == 3
    assert err.strip().splitlines()[-1] == (
        "error: tpu_paper.pdf: no usable answer after 3 attempts (every field: not JSON (no "
        "object in the answer))"
    )
