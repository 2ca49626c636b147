"""`goldsmith extract --engine ollama` against a fake Ollama speaking real HTTP."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from extraction.answers import ollama_format
from extraction.fields import FIELD_NAMES
from storage import open_database
from storage import papers as paper_store
from storage import runs as run_store
from tests.fake_ollama import FakeOllama, Reply, answer, paper_text, reported
from tui.cli import cli

GOOD = answer(
    accelerator_type=reported("NVIDIA A100", 2, "trained on 8 NVIDIA A100 GPUs for 3 days"),
    accelerator_count=reported(8, 2, "All models were trained on 8 NVIDIA A100 GPUs"),
    training_time_hours=reported("3 days", 2, "trained on 8 NVIDIA A100 GPUs for 3 days"),
    gpu_hours=reported(576, 2, "In total the training used 576 GPU hours."),
    funding_sources=reported(
        ["National Science Foundation"], 3, "supported by the National Science Foundation"
    ),
    research_setting=reported("academia", 1, "Department of Computing, Example University"),
)


def extract(db: Path, fake: FakeOllama | None, *args: str) -> tuple[int, str, str]:
    host = ["--host", fake.url] if fake else []
    result = CliRunner().invoke(
        cli, ["--db", str(db), "extract", *host, *args], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def only_gpu_paper(body: dict[str, Any], n: int) -> Reply:
    return Reply.json(GOOD if "A100" in paper_text(body) else answer())


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


def test_requests_carry_the_schema_and_fixed_options(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = only_gpu_paper
    code, out, err = extract(papers_db, fake_ollama)
    assert code == 0, err
    assert len(fake_ollama.chats) == 3
    contexts = set()
    for body in fake_ollama.chats:
        assert body["format"] == ollama_format()
        assert not keys_anywhere(body["format"]) & {"$ref", "$defs", "pattern", "anyOf"}
        assert set(body["format"]["properties"]) == set(FIELD_NAMES)
        assert body["options"]["temperature"] == 0
        assert body["options"]["seed"] == 42
        assert body["options"]["num_predict"] == 2048
        contexts.add(body["options"]["num_ctx"])
        assert body["stream"] is False
        system = body["messages"][0]["content"]
        assert all(name in system for name in FIELD_NAMES)
    assert len(contexts) == 1 and contexts.pop() >= 8192, "num_ctx is explicit and constant"
    gpu = next(b for b in fake_ollama.chats if "A100" in paper_text(b))
    assert "[page 2]" in paper_text(gpu) and "[page 1]" in paper_text(gpu)


def test_proposals_are_stored_grounded_and_normalised(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = only_gpu_paper
    code, out, _ = extract(papers_db, fake_ollama, "--run", "llama")
    assert code == 0
    assert out.startswith("run llama: 3 papers done, 0 failed, 0 already done")
    db = open_database(papers_db)
    paper = paper_store.resolve_paper(db, "gpu_paper.pdf")
    run = run_store.get_run(db, "llama")
    assert paper and run and run.engine == "ollama" and run.model == "llama3.1:8b"
    assert run.options["temperature"] == 0 and run.schema_version == 1
    proposals = run_store.proposals_for(db, paper.id, run.id)
    assert set(proposals) == set(FIELD_NAMES)
    count = proposals["accelerator_count"]
    assert (count.status, count.value, count.page, count.grounding) == ("reported", 8, 2, "exact")
    page = paper_store.page_text(db, paper.id, 2)
    assert page and page[count.char_start : count.char_end] == count.quote
    assert count.value_in_quote is True
    assert proposals["training_time_hours"].value == 72.0
    assert proposals["accelerator_type"].value == "NVIDIA A100"
    assert proposals["gpu_hours"].value_in_quote is True
    assert proposals["api_cost_usd"].status == "not_reported"
    assert proposals["funding_sources"].page == 3


def test_invalid_json_is_asked_again_with_the_error(papers_db: Path, fake_ollama) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if "A100" not in paper_text(body):
            return Reply.json(answer())
        if len(body["messages"]) == 2:
            return Reply(content='{"accelerator_type": {"status": "reported", "val')
        return Reply.json(GOOD)

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert len(fake_ollama.chats) == 2
    retry = fake_ollama.chats[1]["messages"]
    assert retry[2]["role"] == "assistant" and retry[2]["content"].startswith('{"accel')
    assert "not valid JSON" in retry[3]["content"]
    db = open_database(papers_db)
    row = db.execute("SELECT attempts, status FROM run_papers").fetchone()
    assert row == (2, "done")


def test_an_invalid_field_is_fed_back_by_name(papers_db: Path, fake_ollama) -> None:
    bad = dict(GOOD, accelerator_count=reported("lots", 2, "trained on 8 NVIDIA A100 GPUs"))

    def reply(body: dict[str, Any], n: int) -> Reply:
        return Reply.json(bad if len(body["messages"]) == 2 else GOOD)

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    feedback = fake_ollama.chats[1]["messages"][3]["content"]
    assert "accelerator_count" in feedback and "lots" in feedback
    db = open_database(papers_db)
    value = db.execute("SELECT value FROM proposals WHERE field = 'accelerator_count'").fetchone()[
        0
    ]
    assert json.loads(value) == 8


def test_a_cut_off_answer_is_asked_again(papers_db: Path, fake_ollama) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if len(body["messages"]) == 2:
            return Reply(content='{"accelerator_type": {"sta', done_reason="length")
        return Reply.json(GOOD)

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert "cut off" in fake_ollama.chats[1]["messages"][3]["content"]


def test_fields_that_never_validate_are_left_out_and_recorded(papers_db: Path, fake_ollama) -> None:
    bad = dict(GOOD, accelerator_count=reported(-5, 2, "trained on 8 NVIDIA A100 GPUs"))
    fake_ollama.reply = lambda body, n: Reply.json(bad)
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert len(fake_ollama.chats) == 3, "the first try and two retries"
    db = open_database(papers_db)
    fields = {row[0] for row in db.execute("SELECT field FROM proposals")}
    assert "accelerator_count" not in fields and len(fields) == len(FIELD_NAMES) - 1
    status, error = db.execute("SELECT status, error FROM run_papers").fetchone()
    assert status == "done" and "accelerator_count" in error and "minimum" in error


def test_model_not_pulled_exits_3_with_the_pull_command(papers_db: Path, fake_ollama) -> None:
    code, _, err = extract(papers_db, fake_ollama, "--model", "qwen2.5:7b")
    assert code == 3
    assert err.strip() == (
        f"error: model qwen2.5:7b is not available at {fake_ollama.url} — "
        "pull it with 'ollama pull qwen2.5:7b'"
    )
    assert fake_ollama.chats == []


def test_model_vanishing_mid_run_exits_3(papers_db: Path, fake_ollama) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        fake_ollama.models = ()  # deleted while the run goes on
        return Reply.json(answer())

    fake_ollama.reply = reply
    code, _, err = extract(papers_db, fake_ollama, "--concurrency", "1")
    assert code == 3 and "ollama pull llama3.1:8b" in err


def test_ollama_not_running_exits_3_naming_the_url(papers_db: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = CliRunner().invoke(cli, ["--db", str(papers_db), "extract", "--host", url])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"error: cannot reach Ollama at {url} — start it with 'ollama serve'"
    )


def test_a_paper_whose_calls_keep_failing_is_recorded_and_the_run_goes_on(
    papers_db: Path, fake_ollama
) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if "TPU" in paper_text(body):
            return Reply(status=503)
        return Reply.json(GOOD if "A100" in paper_text(body) else answer())

    fake_ollama.reply = reply
    code, out, err = extract(papers_db, fake_ollama, "--run", "r")
    assert code == 1
    assert "error: tpu_paper.pdf: no usable answer after 3 attempts" in err
    assert "503" in err
    assert out.startswith("run r: 2 papers done, 1 failed")
    db = open_database(papers_db)
    failed = run_store.failures(db, run_store.get_run(db, "r").id)  # type: ignore[union-attr]
    assert len(failed) == 1 and "503" in failed[0][1]
    # Resuming retries only the failed paper.
    before = len(fake_ollama.chats)
    fake_ollama.reply = lambda body, n: Reply.json(answer())
    code, out, _ = extract(papers_db, fake_ollama, "--run", "r")
    assert code == 0 and out.startswith("run r: 1 papers done, 0 failed, 2 already done")
    assert len(fake_ollama.chats) == before + 1


def test_a_model_that_does_not_answer_in_time_fails_the_paper(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = lambda body, n: Reply.json(answer(), delay=0.6)
    code, _, err = extract(papers_db, fake_ollama, "--timeout", "0.2", "--paper", "no_compute.pdf")
    assert code == 1
    assert "no answer within 0.2 s" in err


def test_silent_truncation_is_detected_and_recorded(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = lambda body, n: Reply.json(answer(), prompt_eval_count=50)
    code, _, err = extract(papers_db, fake_ollama, "--run", "t")
    assert code == 0
    assert "3 prompt(s) were truncated by the server" in err
    db = open_database(papers_db)
    run = run_store.get_run(db, "t")
    assert run and run.notes and "truncated" in run.notes
    assert db.execute("SELECT SUM(truncated) FROM run_papers").fetchone()[0] == 3


def test_resuming_a_run_skips_papers_already_done(papers_db: Path, fake_ollama) -> None:
    code, _, _ = extract(papers_db, fake_ollama, "--run", "x", "--limit", "2")
    assert code == 0 and len(fake_ollama.chats) == 2
    code, out, _ = extract(papers_db, fake_ollama, "--run", "x")
    assert code == 0 and len(fake_ollama.chats) == 3
    assert out.startswith("run x: 1 papers done, 0 failed, 2 already done")
    code, out, _ = extract(papers_db, fake_ollama, "--run", "x")
    assert len(fake_ollama.chats) == 3 and "0 papers done, 0 failed, 3 already done" in out


def test_reusing_a_run_name_with_another_model_is_refused(papers_db: Path, fake_ollama) -> None:
    fake_ollama.models = ("llama3.1:8b", "qwen2.5:7b")
    extract(papers_db, fake_ollama, "--run", "x", "--limit", "1")
    code, _, err = extract(papers_db, fake_ollama, "--run", "x", "--model", "qwen2.5:7b")
    assert code == 2 and "model 'llama3.1:8b'" in err and "another name" in err


def test_several_hosts_share_the_papers(papers_db: Path, fake_ollama, tmp_path: Path) -> None:
    from pytest_httpserver import HTTPServer

    second_server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    second_server.start()
    try:
        second = FakeOllama(second_server).install()
        fake_ollama.reply = second.reply = lambda body, n: Reply.json(answer(), delay=0.2)
        result = CliRunner().invoke(
            cli,
            [
                "--db",
                str(papers_db),
                "extract",
                "--host",
                fake_ollama.url,
                "--host",
                second.url,
                "--concurrency",
                "1",
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert len(fake_ollama.chats) >= 1 and len(second.chats) >= 1
        assert len(fake_ollama.chats) + len(second.chats) == 3
    finally:
        second_server.stop()
