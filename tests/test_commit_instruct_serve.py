"""Commit-Instruct end to end against a local OpenAI-compatible server running a tiny random model:
its garbage answers must all end as counted rejections, one outcome per seed."""

from __future__ import annotations

import json
import os
import sys

import pytest

from codefavor.cli import main
from codefavor.generators.commit_instruct import TERMINAL_STATUSES
from codefavor.generators.mining import CommitSeed
from codefavor.records import write_records
from codefavor.testing import start_serve, stop_serve

pytestmark = pytest.mark.integration


UNPARSEABLE = {"naive-syntax", "improved-syntax", "identical-codes", "feedback-untagged"}


def test_tiny_model_garbage_ends_as_counted_rejections(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    seeds = [
        CommitSeed(
            repo="example/proj",
            commit=f"{i:040x}",
            path="util.py",
            message=f"Guard helper {i} against empty input",
            old_code=f"def h{i}(xs):\n    return xs[0]\n",
            new_code=f"def h{i}(xs):\n    return xs[0] if xs else None\n",
        )
        for i in range(4)
    ]
    write_records(tmp_path / "seeds.jsonl", seeds)
    server, url = start_serve(tiny_model_dir, env, "--model-name", "tiny", "--max-tokens", "48")
    try:
        args = ["generate", "commit-instruct", "--input", str(tmp_path / "seeds.jsonl"), "--backend", "openai:tiny"]
        args += ["--base-url", url, "--output", str(tmp_path / "out"), "--no-decontam", "--json", "--max-tokens", "48"]
        main(args)
    finally:
        stop_serve(server)
    funnel = json.loads(capsys.readouterr().out)
    assert funnel["seeds"] == funnel["processed"] == 4
    assert sum(funnel[s] for s in TERMINAL_STATUSES) == 4
    reasons = funnel["reasons"].get("unparseable", {})
    assert all(r in UNPARSEABLE or r.startswith("missing-") for r in reasons), reasons
    outcomes = [json.loads(x) for x in (tmp_path / "out" / "outcomes.jsonl").read_text().splitlines()]
    assert sorted(o["id"] for o in outcomes) == sorted(s.id for s in seeds)
    assert all(o["messages"][0]["role"] == "user" for o in outcomes)  # each outcome holds its dialogue
