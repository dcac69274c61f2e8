"""End to end: `codefavor serve` with the session's tiny model, then `codefavor bench --judge
gen:openai:tiny --base-url ...` against it. Every judgment ends judged or recorded as failed; a second
run, with the server gone, is served entirely from the response cache; a run killed with SIGKILL
resumes without losing or duplicating a judgment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codefavor.backends.cache import ResponseCache

pytestmark = pytest.mark.integration

CATEGORIES = 4


from codefavor.testing import start_serve  # noqa: E402
from codefavor.testing import stop_serve as stop  # noqa: E402


def env_with(cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "CODEFAVOR_CACHE": str(cache)}


def bench_cmd(url: str, bench_dir: str, out: Path, limit: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "codefavor",
        "bench",
        "--judge",
        "gen:openai:tiny",
        "--base-url",
        url,
        "--data",
        bench_dir,
        "--limit",
        str(limit),
        "--output",
        str(out),
        "--json",
        *extra,
    ]


def judgments(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "judgments.jsonl").read_text().splitlines()]


def test_bench_against_served_tiny_model(tiny_model_dir, bench_dir, tmp_path):
    env = env_with(tmp_path / "cache.sqlite")
    server, url = start_serve(tiny_model_dir, env, "--max-tokens", "24")
    try:
        run = subprocess.run(
            bench_cmd(url, bench_dir, tmp_path / "run1", 3), env=env, capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, run.stderr
    finally:
        stop(server)
    summary = json.loads(run.stdout)
    js = judgments(tmp_path / "run1")
    assert len(js) == 3 * CATEGORIES and len({(j["task_id"], j["order"]) for j in js}) == len(js)
    for j in js:  # judged (a reply was parsed) or failed (the reason is recorded)
        assert j["decision"] in ("A", "B", "undecided")
        assert ("raw_output" in j) != ("error" in j), j
    for c in summary["categories"].values():
        assert c["judged"] == 3 and c["missing"] == 0
    assert sum(c["failed"] for c in summary["categories"].values()) == sum("error" in j for j in js)
    n_answered = sum("error" not in j for j in js)
    assert n_answered > 0 and len(ResponseCache(tmp_path / "cache.sqlite")) == n_answered

    # The server is gone: a second run must come entirely from the cache (failures are retried, and fail).
    again = subprocess.run(
        bench_cmd(url, bench_dir, tmp_path / "run2", 3), env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr
    js2 = judgments(tmp_path / "run2")
    replayed = [j for j in js2 if "error" not in j]
    assert len(replayed) == n_answered and all(j["details"]["cached"] for j in replayed)
    first = {(j["task_id"], j["order"]): (j["decision"], j.get("raw_output")) for j in js if "error" not in j}
    assert {(j["task_id"], j["order"]): (j["decision"], j.get("raw_output")) for j in replayed} == first


@pytest.mark.slow
def test_killed_bench_resumes_from_run_folder_and_cache(tiny_model_dir, bench_dir, tmp_path):
    env = env_with(tmp_path / "cache.sqlite")
    server, url = start_serve(tiny_model_dir, env, "--max-tokens", "64", "--batch-size", "2")
    out = tmp_path / "run"
    limit = 8
    try:
        # Small judge batches so the run folder fills while we watch; kill it mid-way with SIGKILL.
        proc = subprocess.Popen(
            bench_cmd(url, bench_dir, out, limit, "--both-orders"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        cache = tmp_path / "cache.sqlite"
        while time.monotonic() < deadline and proc.poll() is None:
            if cache.exists() and len(ResponseCache(cache)) >= 6:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cached_at_kill = len(ResponseCache(cache))
        assert cached_at_kill >= 6
        resumed = subprocess.run(
            bench_cmd(url, bench_dir, out, limit, "--both-orders"),
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert resumed.returncode == 0, resumed.stderr
    finally:
        stop(server)
    js = judgments(out)
    keys = [(j["task_id"], j["order"]) for j in js]
    assert len(keys) == len(set(keys)) == limit * CATEGORIES * 2  # complete, nothing duplicated
    cached = sum(bool((j.get("details") or {}).get("cached")) for j in js)
    assert cached >= cached_at_kill  # calls finished before the kill were replayed, not redone
