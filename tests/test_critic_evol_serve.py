"""Critic-Evol end to end against a real local server: `codefavor serve` with the session's tiny model,
and `codefavor generate critic-evol --draft openai:tiny --critic openai:tiny --base-url ...`. The tiny
model writes noise, so most drafts are rejected by sanitizing; what is checked is the plumbing: every
instruction ends with exactly one outcome, none lost or repeated, also after a SIGKILL and restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from codefavor.generators.critic_evol import TERMINAL_STATUSES
from codefavor.testing import start_serve, stop_serve

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "critic_evol_instructions.jsonl"


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    tiny_model_dir = request.getfixturevalue("tiny_model_dir")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "CODEFAVOR_CACHE": str(tmp_path_factory.mktemp("cache") / "responses.sqlite"),
    }
    proc, url = start_serve(tiny_model_dir, env, "--model-name", "tiny")
    yield url, env
    stop_serve(proc)


def generate_cmd(url: str, inp: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "codefavor",
        "generate",
        "critic-evol",
        "--input",
        str(inp),
        "--draft",
        "openai:tiny",
        "--critic",
        "openai:tiny",
        "--base-url",
        url,
        "--output",
        str(out),
        "--shots",
        "1",
        "--draft-max-tokens",
        "48",
        "--critic-max-tokens",
        "48",
        "--no-decontam",
        "--json",
        *extra,
    ]


def outcome_ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "outcomes.jsonl").read_text().splitlines()]


def test_run_against_a_tiny_model_counts_every_item(server, tmp_path):
    url, env = server
    done = subprocess.run(
        generate_cmd(url, DATA, tmp_path / "run"), env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "same model" in done.stderr  # one model in both roles is allowed, with a warning
    funnel = json.loads(done.stdout)
    assert (funnel["seeds"], funnel["processed"], funnel["pending"]) == (8, 8, 0)
    assert sum(funnel[k] for k in TERMINAL_STATUSES) == 8
    assert funnel["draft_error"] == 0 and funnel["critic_error"] == 0, funnel["reasons"]
    assert funnel["drafts_generated"] == 6 and funnel["drafts_given"] == 2
    assert funnel["critiqued"] >= 1  # ce-03's given response has code, so the critic sees it
    assert sorted(outcome_ids(tmp_path / "run")) == [f"ce-0{i}" for i in range(1, 9)]
    critic_turns = [
        c
        for line in (tmp_path / "run" / "outcomes.jsonl").read_text().splitlines()
        for c in json.loads(line)["conversations"]
        if c["role"] == "critic"
    ]
    assert critic_turns and all(
        c["model"] == "openai:tiny" and c["usage"]["completion_tokens"] > 0 for c in critic_turns
    )


@pytest.mark.slow  # ~45 s on 2 shared cores; the default suite has the same check with scripted backends
def test_sigkill_against_the_server_then_restart(server, tmp_path):
    url, env = server
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    inp = tmp_path / "many.jsonl"
    with inp.open("w") as f:
        for k in range(4):
            for r in rows:
                f.write(
                    json.dumps({**r, "id": f"{r['id']}-{k}", "instruction": f"{r['instruction']} (variant {k})"})
                    + "\n"
                )
    out = tmp_path / "run"
    cmd = generate_cmd(url, inp, out, "--batch-size", "2")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outcomes = out / "outcomes.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if outcomes.exists() and len(outcomes.read_text().splitlines()) >= 6:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(outcome_ids(out))
    assert 0 < before < 32, before
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    funnel = json.loads(done.stdout)
    assert (funnel["processed"], funnel["pending"]) == (32, 0)
    counts = Counter(outcome_ids(out))
    assert len(counts) == 32 and set(counts.values()) == {1}  # each item exactly once
    drafted = Counter(json.loads(line)["id"] for line in (out / "drafts.jsonl").read_text().splitlines())
    assert set(drafted.values()) <= {1}  # no item drafted twice
