"""`goldsmith extract --engine ollama` against a fake Ollama speaking real HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from extraction.answers import longest_answer, response_schema
from extraction.fields import FIELD_NAMES, FIELDS
from storage import open_database
from storage import papers as paper_store
from storage import runs as run_store
from tests.fake_ollama import FakeOllama, Reply, answer, asked_fields, paper_text, reported
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


def schema_nodes(schema: Any) -> list[dict[str, Any]]:
    """Every sub-schema of ``schema``."""
    if isinstance(schema, list):
        return [node for item in schema for node in schema_nodes(item)]
    if not isinstance(schema, dict):
        return []
    nodes = [schema]
    for key in ("properties",):
        for member in schema.get(key, {}).values():
            nodes.extend(schema_nodes(member))
    nodes.extend(schema_nodes(schema.get("anyOf", [])))
    if "items" in schema:
        nodes.extend(schema_nodes(schema["items"]))
    return nodes


def fields_of(db_path: Path, paper: str = "gpu_paper.pdf") -> dict[str, run_store.FieldAttempts]:
    db = open_database(db_path)
    found = paper_store.resolve_paper(db, paper)
    run = run_store.latest_run(db) or run_store.list_runs(db)[0]
    assert found is not None
    return run_store.field_attempts(db, run.id, found.id)


def test_requests_carry_the_bounded_schema_and_fixed_options(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = only_gpu_paper
    code, out, err = extract(papers_db, fake_ollama)
    assert code == 0, err
    assert len(fake_ollama.chats) == 3
    contexts = set()
    for body in fake_ollama.chats:
        pages = 3 if "A100" in paper_text(body) else 2
        assert body["format"] == response_schema(FIELDS, pages)
        for node in schema_nodes(body["format"]):
            assert not {"$ref", "$defs", "pattern", "multipleOf", "uniqueItems"} & set(node)
            assert not isinstance(node.get("type"), list), "nullable is anyOf, never a type list"
            if node.get("type") == "string" and "enum" not in node:
                assert node["maxLength"] <= 200
            if node.get("type") == "array":
                assert node["maxItems"] <= 8
            if node.get("type") == "object":
                assert node["additionalProperties"] is False
        page = body["format"]["properties"]["gpu_hours"]["anyOf"][0]["properties"]["page"]
        assert (page["minimum"], page["maximum"], page["enum"]) == (
            1,
            pages,
            [*range(1, pages + 1)],
        )
        assert set(body["format"]["properties"]) == set(FIELD_NAMES)
        assert body["options"]["temperature"] == 0
        assert body["options"]["seed"] == 42
        assert body["options"]["num_predict"] == longest_answer(body["format"])
        contexts.add(body["options"]["num_ctx"])
        assert body["stream"] is False
        assert all(name in body["messages"][1]["content"] for name in FIELD_NAMES)
    assert len(contexts) == 1 and contexts.pop() >= 8192, "num_ctx is explicit and constant"
    options = fake_ollama.chats[0]["options"]
    assert options["num_ctx"] >= options["num_predict"] + 6000, "the passages and the answer fit"
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
    attempts = run_store.field_attempts(db, run.id, paper.id)
    assert {name: (a.attempts, a.history, a.problem) for name, a in attempts.items()} == {
        name: (1, (None,), None) for name in FIELD_NAMES
    }


def test_invalid_json_is_asked_again_with_the_error(papers_db: Path, fake_ollama) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        if n == 1:
            return Reply(content="Sure! Here are the fields you asked for.")
        return Reply.json(GOOD)

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert len(fake_ollama.chats) == 2
    retry = fake_ollama.chats[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user"], "no bad answer fed back"
    assert "not JSON" in retry[1]["content"]
    db = open_database(papers_db)
    row = db.execute("SELECT attempts, status FROM run_papers").fetchone()
    assert row == (2, "done")


def test_only_the_invalid_field_is_asked_again(papers_db: Path, fake_ollama) -> None:
    bad = dict(GOOD, accelerator_count=reported("lots", 2, "trained on 8 NVIDIA A100 GPUs"))

    def reply(body: dict[str, Any], n: int) -> Reply:
        if n == 1:
            return Reply.json(bad)
        return Reply.json({"accelerator_count": GOOD["accelerator_count"]})

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0 and len(fake_ollama.chats) == 2
    retry = fake_ollama.chats[1]
    assert asked_fields(retry) == ["accelerator_count"]
    assert retry["format"] == response_schema([FIELDS[1]], 3)
    feedback = retry["messages"][1]["content"]
    assert "accelerator_count" in feedback and "lots" in feedback
    assert "- gpu_hours (" not in feedback, "the prompt describes only the field asked for"
    assert retry["options"]["num_predict"] == longest_answer(retry["format"])
    assert retry["options"]["num_ctx"] == fake_ollama.chats[0]["options"]["num_ctx"]
    db = open_database(papers_db)
    value = db.execute("SELECT value FROM proposals WHERE field = 'accelerator_count'").fetchone()
    assert json.loads(value[0]) == 8
    count = fields_of(papers_db)["accelerator_count"]
    assert count.attempts == 2 and count.problem is None
    assert count.history[1] is None and "lots" in (count.history[0] or "")


def test_a_cut_off_answer_keeps_its_complete_fields_and_splits_the_rest(
    papers_db: Path, fake_ollama
) -> None:
    whole = json.dumps(GOOD)
    third = whole.index('"accelerator_memory_gb"')
    cut = whole[: third + 60]  # two complete fields, then the third broken off

    def reply(body: dict[str, Any], n: int) -> Reply:
        if n == 1:
            return Reply(content=cut, done_reason="length")
        return Reply.json({name: GOOD[name] for name in asked_fields(body)})

    fake_ollama.reply = reply
    code, _, err = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0, err
    assert len(fake_ollama.chats) == 3
    groups = [asked_fields(body) for body in fake_ollama.chats[1:]]
    rest = list(FIELD_NAMES[2:])
    assert groups[0] + groups[1] == rest and abs(len(groups[0]) - len(groups[1])) <= 1
    assert all("cut off" in body["messages"][1]["content"] for body in fake_ollama.chats[1:])
    db = open_database(papers_db)
    assert {row[0] for row in db.execute("SELECT field FROM proposals")} == set(FIELD_NAMES)
    attempts = fields_of(papers_db)
    assert attempts["accelerator_type"].attempts == 1, "salvaged from the cut-off answer"
    assert attempts["gpu_hours"].history == ("the answer was cut off before this field", None)


def test_a_field_answered_the_same_twice_is_not_asked_again(papers_db: Path, fake_ollama) -> None:
    bad = dict(GOOD, accelerator_count=reported(-5, 2, "trained on 8 NVIDIA A100 GPUs"))
    fake_ollama.reply = lambda body, n: Reply.json(bad)
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert len(fake_ollama.chats) == 2, "the same answer again: it will not change"
    db = open_database(papers_db)
    fields = {row[0] for row in db.execute("SELECT field FROM proposals")}
    assert "accelerator_count" not in fields and len(fields) == len(FIELD_NAMES) - 1
    status, error = db.execute("SELECT status, error FROM run_papers").fetchone()
    assert status == "done" and "accelerator_count" in error and "minimum" in error
    count = fields_of(papers_db)["accelerator_count"]
    assert count.attempts == 2 and "minimum" in (count.problem or "")
    assert "same answer twice" in (count.problem or "")


async def test_review_shows_why_the_model_gave_no_answer(papers_db: Path, fake_ollama) -> None:
    from tests.test_review_app import open_on
    from tui.app import make_app
    from tui.widgets.fields import FieldTable

    bad = dict(GOOD, accelerator_count=reported(-5, 2, "trained on 8 NVIDIA A100 GPUs"))
    fake_ollama.reply = lambda body, n: Reply.json(bad)
    # extract runs its own event loop: off this test's loop
    code, _, _ = await asyncio.to_thread(
        extract, papers_db, fake_ollama, "--paper", "gpu_paper.pdf"
    )
    assert code == 0
    app = make_app(papers_db, "alice")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_on(pilot, papers_db, "gpu_paper.pdf")
        screen.query_one(FieldTable).move_cursor(row=FIELD_NAMES.index("accelerator_count"))
        await pilot.pause()
        panel = str(screen.query_one("#evidence").render())
        assert "No proposal: the model gave no valid answer" in panel
        assert "minimum" in panel and "same answer twice" in panel
        assert screen.current is not None and screen.current.proposal_text == "failed"


def test_the_same_wrong_value_with_another_quote_is_the_same_answer(
    papers_db: Path, fake_ollama
) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        wrong = reported(3.14e23, 2, f"quote number {n}")  # the prompt's FLOP example as hours
        return Reply.json(dict(GOOD, training_time_hours=wrong))

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0 and len(fake_ollama.chats) == 2
    hours = fields_of(papers_db)["training_time_hours"]
    assert hours.attempts == 2 and "same answer twice" in (hours.problem or "")


def test_fields_that_never_validate_are_left_out_after_three_calls(
    papers_db: Path, fake_ollama
) -> None:
    def reply(body: dict[str, Any], n: int) -> Reply:
        wrong = reported(-n, 2, "trained on 8 NVIDIA A100 GPUs")  # a new wrong answer each time
        return Reply.json(dict(GOOD, accelerator_count=wrong))

    fake_ollama.reply = reply
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "gpu_paper.pdf")
    assert code == 0
    assert len(fake_ollama.chats) == 3, "never more than three calls for a paper"
    count = fields_of(papers_db)["accelerator_count"]
    assert count.attempts == 3 and len(count.history) == 3 and "minimum" in (count.problem or "")


def test_an_ungrounded_value_copied_from_the_prompt_is_marked(papers_db: Path, fake_ollama) -> None:
    copied = answer(
        accelerator_type=reported("NVIDIA A100 80GB", 1, "NVIDIA A100 80GB, Google TPU v4"),
        accelerator_count=reported(8, 2, "We prove three theorems about widgets."),
        gpu_hours=reported(2.788, 1, "the training took long"),  # of '2.788M H800 GPU hours'
    )
    fake_ollama.reply = lambda body, n: Reply.json(copied)
    code, _, _ = extract(papers_db, fake_ollama, "--paper", "no_compute.pdf")
    assert code == 0
    db = open_database(papers_db)
    rows = dict(db.execute("SELECT field, note FROM proposals WHERE note IS NOT NULL"))
    assert "copied from the prompt ('nvidia a100 80gb')" in rows["accelerator_type"]
    assert "copied from the prompt ('2.788')" in rows["gpu_hours"]
    assert "accelerator_count" not in rows, "a grounded quote is the paper talking"


def test_a_show_reply_without_model_info_is_a_warning(papers_db: Path, fake_ollama) -> None:
    fake_ollama.show_model_info = False
    code, _, err = extract(papers_db, fake_ollama, "--paper", "no_compute.pdf")
    assert code == 0
    assert f"Ollama at {fake_ollama.url} did not report llama3.1:8b's context length" in err
    assert "Traceback" not in err


def test_a_host_that_is_not_ollama_exits_3_naming_it(papers_db: Path, fake_ollama) -> None:
    fake_ollama.tags_reply = "<html><body>502 Bad Gateway</body></html>"
    result = CliRunner().invoke(cli, ["--db", str(papers_db), "extract", "--host", fake_ollama.url])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: unexpected reply from Ollama at {fake_ollama.url} to /api/tags: an HTML page, "
        "not JSON ('502 Bad Gateway') — is it an Ollama server?"
    ]


def test_a_host_answering_404_to_the_model_list_is_not_told_to_pull(
    papers_db: Path, fake_ollama
) -> None:
    fake_ollama.tags_status = 404
    code, _, err = extract(papers_db, fake_ollama)
    assert code == 3 and "ollama pull" not in err
    assert err.strip() == (
        f"error: Ollama at {fake_ollama.url} answered 404 to /api/tags — is it an Ollama server? "
        "(check --host)"
    )


def test_garbage_in_a_chat_reply_fails_the_paper_naming_the_host(
    papers_db: Path, fake_ollama
) -> None:
    fake_ollama.reply = lambda body, n: Reply(raw="<html>login required</html>")
    result = CliRunner().invoke(
        cli,
        ["--db", str(papers_db), "extract", "--host", fake_ollama.url, "--paper", "no_compute.pdf"],
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: no_compute.pdf: no usable answer after 3 attempts")
    assert (
        f"unexpected reply from Ollama at {fake_ollama.url} to /api/chat: an HTML page, not JSON "
        "('login required')" in line
    )


def test_a_chat_reply_without_the_message_says_so(papers_db: Path, fake_ollama) -> None:
    fake_ollama.reply = lambda body, n: Reply(raw='{"weird": 1}')
    code, _, err = extract(papers_db, fake_ollama, "--paper", "no_compute.pdf")
    assert code == 1 and "Traceback" not in err
    assert "to /api/chat: JSON without Ollama's fields (message: field required)" in err


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
