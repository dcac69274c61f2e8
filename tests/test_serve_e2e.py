"""End to end: `codefavor serve` with the session's tiny model, then `codefavor bench --judge
gen:openai:tiny --base-url ...` against it. Every judgment ends judged or recorded as failed; a second
run, with the server gone, is served entirely from the response cache; a run killed with SIGKILL
resumes without losing or duplicating a judgment. Two concurrent clients of `serve --judge evidence`,
one of them hostile: nothing of the other's requests reaches the hostile one."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
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
    # One cached reply per answered judgment, plus one for each one-letter follow-up it needed.
    n_followups = sum("followup_reply" in j.get("details", {}) for j in js)
    assert n_answered > 0 and len(ResponseCache(tmp_path / "cache.sqlite")) == n_answered + n_followups

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


# -- two clients, one hostile ---------------------------------------------------------------------

# Looks for the other client's secret wherever a forked child could find it (its objects, its stack,
# the heap it inherited, probed page by page through a pipe so unmapped pages fail instead of
# crashing) and reports what it found through the only channel out: an error in the verdict details.
# "PROBE" is always in the report, so the test can tell the probe ran.
HOSTILE = """
def add(a, b):
    import ctypes, gc, os, re, sys
    pat = re.compile("SECRET" + "_A_" + "[0-9a-f]{16}")
    bpat = re.compile(pat.pattern.encode())
    found = set()

    def look(x, depth=0):
        t = type(x)
        if t is str:
            found.update(pat.findall(x))
        elif t in (bytes, bytearray):
            found.update(s.decode() for s in bpat.findall(x))
        elif depth < 3 and t is dict:
            for v in list(x.values()):
                look(v, depth + 1)
        elif depth < 3 and t in (list, tuple):
            for v in list(x):
                look(v, depth + 1)

    for o in gc.get_objects():
        look(o, 2)
    f = sys._getframe()
    while f is not None:
        look(dict(f.f_locals))
        f = f.f_back
    r, w = os.pipe()
    step = 65536
    for base in {id(gc) & ~(step - 1), id(found) & ~(step - 1), id(sys.modules) & ~(step - 1)}:
        for k in range(-256, 256):
            try:
                os.write(w, (ctypes.c_char * step).from_address(base + k * step))
            except (OSError, ValueError):
                continue
            found.update(s.decode() for s in bpat.findall(os.read(r, step)))
    raise ValueError("PROBE " + " ".join(sorted(found))[:400])
"""


def test_two_concurrent_clients_one_hostile_see_only_their_own_data(tmp_path):
    """Client A judges pairs that hold its secret; client B, at the same time, sends a candidate that
    hunts for it. Nothing of A's requests may reach B's responses, and each A answer is A's own."""
    token = "e2e-token"
    env = env_with(tmp_path / "cache.sqlite")
    server, url = start_serve(None, env, "--judge", "evidence", "--token", token, "--max-concurrent", "16")
    auth = {"Authorization": f"Bearer {token}"}
    secret = f"SECRET_A_{secrets.token_hex(8)}"
    honest = "def add(a, b):\n    return a + b\n"
    victim = f'KEY = "{secret}"\n\ndef add(a, b):\n    import time\n    time.sleep(0.3)\n    return a + b\n'
    a_seen: list[tuple[int, dict]] = []
    b_seen: list[str] = []
    until = time.monotonic() + 10

    def client_a(n: int) -> None:
        k = 0
        while time.monotonic() < until:
            k += 1
            x, y = n * 1000 + k, 7
            pair = {
                "instruction": f"Add two numbers ({secret}).\n>>> add({x}, {y})\n{x + y}",
                "a": victim,
                "b": honest,
            }
            r = httpx.post(url + "/judge", json=pair, headers=auth, timeout=60)
            a_seen.append((x, r.json()))

    def client_b() -> None:
        while time.monotonic() < until:
            pair = {"instruction": "Add two numbers.\n>>> add(2, 3)\n5", "a": HOSTILE, "b": honest}
            r = httpx.post(url + "/judge", json=pair, headers=auth, timeout=60)
            b_seen.append(r.text)

    try:
        threads = [threading.Thread(target=client_a, args=(n,)) for n in range(2)]
        threads.append(threading.Thread(target=client_b))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        stop(server)
    assert b_seen and a_seen
    assert any("PROBE" in text for text in b_seen), b_seen[:1]  # the hostile code ran and could report
    for x, body in a_seen:  # A's answers are about A's own request
        assert body["decision"] in ("A", "B"), body
        assert f"add({x}, 7)" in json.dumps(body), body
    leaked = [text for text in b_seen if secret[len("SECRET_A_") :] in text]
    assert not leaked, f"{len(leaked)} of {len(b_seen)} hostile answers held client A's secret: {leaked[0][:300]}"
