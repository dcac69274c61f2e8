"""The Label Studio round trip against a real server: start `label-studio` on 127.0.0.1 (a free port,
a temporary data dir), create a project from our settings, import our export, add three annotators,
post their annotations (one skipped), export, and import the export into codefavor.

Slow (the first start migrates a fresh database: minutes on 2 cores). The server lives in its own
venv (requirements-labelstudio.txt): $CODEFAVOR_LABEL_STUDIO names its `label-studio` executable,
else .venv-labelstudio/bin/label-studio or `label-studio` on PATH; the test skips without one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from codefavor.benchmark import stats
from codefavor.benchmark.runner import run_bench
from codefavor.judges import load_judge
from codefavor.labelstudio import export_tasks, import_export, read_items
from codefavor.records import BenchTask, PreferencePair, read_records, write_records

pytestmark = [pytest.mark.slow, pytest.mark.integration]
httpx = pytest.importorskip("httpx")
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "c0defa40c0defa40c0defa40c0defa40c0defa40"


def _executable() -> str | None:
    for cand in (os.environ.get("CODEFAVOR_LABEL_STUDIO"), str(ROOT / ".venv-labelstudio" / "bin" / "label-studio")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return shutil.which("label-studio")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = _executable()
    if exe is None:
        pytest.skip("label-studio is not installed (see requirements-labelstudio.txt)")
    data = tmp_path_factory.mktemp("label-studio")
    port = _free_port()
    env = {
        **os.environ,
        "HOME": str(data),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "LATEST_VERSION_CHECK": "false",  # no call to the package index at start
        "COLLECT_ANALYTICS": "false",
        "CONVERTER_DOWNLOAD_RESOURCES": "false",
    }
    cmd = [
        exe,
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "-p",
        str(port),
        "--data-dir",
        str(data),
        "--username",
        "admin@example.com",
        "--password",
        "codefavor-test-1",
        "--user-token",
        TOKEN,
        "--enable-legacy-api-token",
    ]
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=data)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 900
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"label-studio exited: {(data / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise AssertionError("label-studio did not become healthy in 15 minutes")
            time.sleep(2)
        with httpx.Client(base_url=base, headers={"Authorization": f"Token {TOKEN}"}, timeout=120) as client:
            yield client
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


# Per task: (annotator's label, ...) with None for Label Studio's skip button.
VOTES = [("A", "A", "A"), ("B", "tie", "B"), ("A", "B", None), ("tie", "tie", "A")]


def _ok(r):
    assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:500]}"
    return r.json()


def test_round_trip_through_a_real_server(server, tmp_path):
    tasks = [
        BenchTask(
            task_id=f"H/{i}",
            instruction=f"Return the {i}th square.",
            category="human-preference",
            gt_choice=gt,
            choices=(f"def f(n):\n    return n * n + {i}\n", f"def f(n):\n    return n ** 2 + {i}\n"),
        )
        for i, gt in enumerate([0, 1, 0, 1])
    ]
    write_records(tmp_path / "tasks.jsonl", tasks)
    paths = export_tasks(read_items(tmp_path / "tasks.jsonl"), tmp_path / "ls.json", annotators=3)
    project = _ok(server.post("/api/projects", json=json.loads(paths["project"].read_text())))
    assert project["maximum_annotations"] == 3
    _ok(server.post(f"/api/projects/{project['id']}/import", json=json.loads(paths["tasks"].read_text())))
    users = [
        _ok(server.post("/api/users/", json={"email": f"dev{n}@example.com", "username": f"dev{n}"}))["id"]
        for n in range(3)
    ]
    listed = _ok(server.get("/api/tasks", params={"project": project["id"], "page_size": 100}))
    ls_tasks = sorted(listed["tasks"] if isinstance(listed, dict) else listed, key=lambda t: t["id"])
    assert [t["data"]["cf_ref"] for t in ls_tasks] == [t.id for t in tasks]
    for k, (t, votes) in enumerate(zip(ls_tasks, VOTES, strict=True)):
        for n, (user, label) in enumerate(zip(users, votes, strict=True)):
            body = {"lead_time": 60.0 * (k + 1) + 30.0 * n, "completed_by": user, "result": []}
            if label is None:
                body["was_cancelled"] = True
            else:
                body["result"] = [
                    {"from_name": "preference", "to_name": "code_a", "type": "choices", "value": {"choices": [label]}}
                ]
            _ok(server.post(f"/api/tasks/{t['id']}/annotations/", json=body))
    export = server.get(f"/api/projects/{project['id']}/export", params={"exportType": "JSON"})
    (tmp_path / "export.json").write_bytes(export.content)

    s = import_export(tmp_path / "export.json", tmp_path / "imported")
    assert (s["tasks"], s["annotations"], s["annotators"]) == (4, 12, 3)
    assert s["labels"] == {"A": 5, "B": 3, "tie": 3, "skip": 1}
    units = [[v for v in vs if v is not None] for vs in VOTES]
    assert s["agreement"]["krippendorff_alpha"] == pytest.approx(stats.krippendorff_alpha(units))
    assert s["person_minutes_per_task"] == pytest.approx(9.0)  # 3(k + 1) + 1.5 minutes, k = 0..3
    # Decided: A (right), B (right), none (conflict), A (wrong): (2 + 0.5) / 4.
    hp = s["by_category"]["human-preference"]
    assert (hp["accuracy"], hp["unsolved_rate"]) == (62.5, 37.5)
    bench = list(read_records(tmp_path / "imported" / "bench-tasks.jsonl", BenchTask))
    assert [b.gt_choice for b in bench] == [0, 1, 0] and all(b.category == "human-preference" for b in bench)
    pairs = list(read_records(tmp_path / "imported" / "pairs.jsonl", PreferencePair))
    assert pairs[0].chosen == tasks[0].choices[0] and pairs[1].chosen == tasks[1].choices[1]
    judged = run_bench(load_judge("shorter"), bench, tmp_path / "bench")
    assert len(judged) == 3
