"""Batch jobs (`backends/batch.py`) against the stub's files/batches endpoints in its own process:
round trips, a kill -9 after submit and a rerun (no second create), a kill between create and its
journal line, partially failed and expired batches, bounded retries, the offline path through a
`vllm run-batch`-style output file, and `bench --batch` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from codefavor.backends import Sampling, load_backend
from codefavor.backends.batch import JOURNAL, RESULTS, BatchJobs, collect_file, parse_output_line
from codefavor.backends.cache import cache_key
from codefavor.errors import CodefavorError
from codefavor.records import BenchTask, write_records

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def batch_stats(url: str) -> dict:
    return httpx.get(url.removesuffix("/v1") + "/stats", timeout=10).json()["batches"]


def convs(n: int, mark: dict[int, str] | None = None) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"question {i}{(mark or {}).get(i, '')}"}] for i in range(n)]


def backend(url: str, folder: Path, **kw):
    return load_backend(
        "openai:stub", base_url=url, api_key="x", cache=False, batch=str(folder), batch_poll=0.02, **kw
    )


def test_a_batch_round_trip_answers_in_order_with_one_create(stub, tmp_path):
    url = stub("--batch-polls", "3")
    gens = backend(url, tmp_path / "b").generate(convs(7) + convs(1), Sampling())  # a duplicate: asked once
    assert [g.text for g in gens] == [f"echo: question {i}" for i in range(7)] + ["echo: question 0"]
    assert all(g.error is None for g in gens)
    s = batch_stats(url)
    assert s["creates"] == 1 and sorted(s["submitted"].values()) == [1] * 7
    line = json.loads((tmp_path / "b" / "inputs").glob("*.jsonl").__next__().read_text().splitlines()[0])
    assert set(line) == {"custom_id", "method", "url", "body"} and line["url"] == "/v1/chat/completions"
    assert line["body"]["model"] == "stub" and len(line["custom_id"]) == 64  # the content-hash cache key


def test_answers_are_read_back_without_a_new_job(stub, tmp_path):
    url = stub()
    backend(url, tmp_path / "b").generate(convs(3), Sampling())
    gens = backend(url, tmp_path / "b").generate(convs(3), Sampling())
    assert [g.text for g in gens] == [f"echo: question {i}" for i in range(3)]
    assert batch_stats(url)["creates"] == 1


def test_a_job_killed_after_submit_resumes_without_a_second_create(stub, tmp_path):
    url = stub("--batch-polls", "1000000")  # in progress until we say so
    folder = tmp_path / "b"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {SRC!r})
        from codefavor.backends import Sampling, load_backend
        b = load_backend("openai:stub", base_url={url!r}, api_key="x", cache=False, batch={str(folder)!r},
                         batch_poll=0.02)
        b.generate([[{{"role": "user", "content": f"question {{i}}"}}] for i in range(5)], Sampling())
        print("FINISHED")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and '"submitted"' not in _read(folder / JOURNAL):
        time.sleep(0.05)
    time.sleep(0.2)  # a few polls of an in-progress batch
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert "FINISHED" not in out and batch_stats(url)["creates"] == 1
    # Let the server finish the batch, then rerun: the job is collected, not submitted again.
    httpx.post(url.removesuffix("/v1") + "/reset-polls", timeout=10)
    gens = backend(url, folder).generate(convs(5), Sampling())
    assert [g.text for g in gens] == [f"echo: question {i}" for i in range(5)]
    s = batch_stats(url)
    assert s["creates"] == 1 and sorted(s["submitted"].values()) == [1] * 5


def test_a_kill_between_create_and_its_journal_line_finds_the_batch(stub, tmp_path):
    url = stub()
    folder = tmp_path / "b"
    jobs = BatchJobs(folder, base_url=url, api_key="x", poll_s=0.02, log=lambda _: None)
    requests = {f"id{i}": {"model": "stub", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(3)}
    jid = jobs._prepare(sorted(requests), requests)
    with (folder / "inputs" / f"{jid}.jsonl").open("rb") as f:
        file_id = jobs.client.files.create(file=f, purpose="batch").id
    jobs._event(event="uploaded", job=jid, file_id=file_id)
    jobs.client.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"codefavor_job": jid},
    )  # fmt: skip  (the process "dies" here, before the submitted event)
    got = BatchJobs(folder, base_url=url, api_key="x", poll_s=0.02, log=lambda _: None).run(requests)
    assert {c: g.text for c, g in got.items()} == {f"id{i}": f"echo: q{i}" for i in range(3)}
    assert batch_stats(url)["creates"] == 1


def test_partially_failed_lines_are_resubmitted_alone(stub, tmp_path):
    url = stub("--batch-mode", "partial")
    gens = backend(url, tmp_path / "b").generate(convs(6), Sampling())
    assert [g.text for g in gens] == [f"echo: question {i}" for i in range(6)]
    s = batch_stats(url)
    assert s["creates"] == 2 and sorted(s["submitted"].values()) == [1, 1, 1, 2, 2, 2]


def test_an_expired_batch_keeps_what_finished_and_resubmits_the_rest(stub, tmp_path):
    url = stub("--batch-mode", "expired")
    gens = backend(url, tmp_path / "b").generate(convs(6), Sampling())
    assert [g.text for g in gens] == [f"echo: question {i}" for i in range(6)]
    s = batch_stats(url)
    assert s["creates"] == 2 and sorted(s["submitted"].values()) == [1, 1, 1, 2, 2, 2]
    statuses = [e.get("status") for e in map(json.loads, _read(tmp_path / "b" / JOURNAL).splitlines())]
    assert [x for x in statuses if x] == ["expired", "completed"]


def test_a_line_that_always_fails_is_retried_a_bounded_number_of_times_then_recorded(stub, tmp_path):
    url = stub()
    gens = backend(url, tmp_path / "b", batch_rounds=2).generate(convs(3, {1: " [batchfail]"}), Sampling())
    assert [g.error is None for g in gens] == [True, False, True]
    assert "injected failure" in gens[1].error and gens[1].text == ""
    assert batch_stats(url)["creates"] == 2
    rows = [json.loads(x) for x in _read(tmp_path / "b" / RESULTS).splitlines()]
    assert sum("error" in r for r in rows) == 2  # each failure recorded


def test_offline_writes_the_file_then_collects_a_run_batch_output(tmp_path):
    folder = tmp_path / "b"
    b = backend("http://127.0.0.1:9/v1", folder, batch_offline=True)
    with pytest.raises(CodefavorError, match="vllm run-batch -i .*inputs/.*jsonl"):
        b.generate(convs(3), Sampling())
    (infile,) = (folder / "inputs").glob("*.jsonl")
    # What `vllm run-batch -i infile -o out` writes: one line per request, any order, one failed.
    lines = [json.loads(x) for x in infile.read_text().splitlines()]
    out = tmp_path / "out.jsonl"
    rows = []
    for i, line in enumerate(reversed(lines)):
        text = "answer to " + line["body"]["messages"][-1]["content"]
        ok = {"status_code": 200, "request_id": f"r{i}", "body": {"choices": [{"message": {"content": text}}]}}
        rows.append({"id": f"v{i}", "custom_id": line["custom_id"], "response": ok, "error": None})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert collect_file(out, folder) == {"answers": 3, "failures": 0}
    gens = backend("http://127.0.0.1:9/v1", folder, batch_offline=True).generate(convs(3), Sampling())
    assert [g.text for g in gens] == [f"answer to question {i}" for i in range(3)]


def test_collect_names_the_bad_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text('{"custom_id": "a", "response": {"status_code": 200, "body": {}}}\n{"response": {}}\n')
    with pytest.raises(CodefavorError, match=r"out.jsonl:2: custom_id"):
        collect_file(out, tmp_path / "b")


def test_output_lines_parse_without_raising():
    assert (
        parse_output_line(
            {"custom_id": "x", "response": {"status_code": 429, "body": {"error": {"message": "slow"}}}}
        )[1].error
        == "batch: HTTP 429: slow"
    )
    assert parse_output_line({"custom_id": "x", "error": {"code": "batch_expired", "message": "late"}})[1].error == (
        "batch: batch_expired: late"
    )
    assert parse_output_line({"custom_id": "x", "response": {"status_code": 200, "body": "junk"}})[1].error
    assert parse_output_line({})[0] == ""


def test_custom_id_is_the_cache_key(stub, tmp_path):
    url = stub()
    c = convs(1)[0]
    backend(url, tmp_path / "b").generate([c], Sampling())
    (cid,) = batch_stats(url)["submitted"]
    assert cid == cache_key("openai", url, "stub", c, Sampling())


def test_bench_with_batch_from_the_command_line(stub, tmp_path):
    url = stub("--batch-polls", "2", "--reply", "VERDICT: Candidate A is better.")
    tasks = tmp_path / "tasks.jsonl"
    write_records(tasks, [BenchTask(task_id=f"t{i}", instruction=f"task {i}", choices=("a", "bb"), gt_choice=0,
                                    category="correctness") for i in range(4)])  # fmt: skip
    cmd = [sys.executable, "-m", "codefavor", "bench", "--data", str(tasks), "--judge", "gen:openai:m", "--base-url",
           url, "--api-key", "x", "--no-cache", "--output", str(tmp_path / "run"), "--batch", "--batch-poll", "0.02",
           "--json"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["categories"]["correctness"]["accuracy"] == 100.0
    assert batch_stats(url)["creates"] == 1 and (tmp_path / "run" / "batch" / JOURNAL).exists()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)  # a rerun: nothing new
    assert r.returncode == 0 and batch_stats(url)["creates"] == 1


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_critic_evol_with_batch_from_the_command_line(stub, tmp_path):
    from codefavor.cli import main

    url = stub("--batch-polls", "1")
    data = Path(__file__).parent / "data" / "critic_evol_instructions.jsonl"
    args = ["generate", "critic-evol", "--input", str(data), "--critic", "openai:critic", "--draft", "openai:draft",
            "--base-url", url, "--api-key", "x", "--no-cache", "--no-decontam", "--no-exec", "--output",
            str(tmp_path / "ce"), "--batch", "--batch-poll", "0.02", "--batch-size", "100", "--json"]  # fmt: skip
    main(args)
    funnel = json.loads((tmp_path / "ce" / "funnel.json").read_text())
    creates = batch_stats(url)["creates"]
    assert creates == 2 and funnel["seeds"] == funnel["processed"]  # one job for the drafts, one for the reviews
    main(args)  # a rerun: every seed has its outcome, nothing is submitted
    assert batch_stats(url)["creates"] == creates


def test_batch_collect_from_the_command_line(tmp_path, capsys):
    from codefavor.cli import main

    out = tmp_path / "out.jsonl"
    ok = {"status_code": 200, "body": {"choices": [{"message": {"content": "hi"}}]}}
    out.write_text(json.dumps({"custom_id": "c1", "response": ok, "error": None}) + "\n")
    main(["batch", "collect", str(out), "--into", str(tmp_path / "b")])
    assert "1 answers, 0 failures" in capsys.readouterr().out
    assert BatchJobs(tmp_path / "b", base_url="x").results()["c1"].text == "hi"
