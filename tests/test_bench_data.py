"""CodePrefBench loader: checksums, resolution order, download over a local HTTP server, offline
errors, the dev/test split, and the real files' counts."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import json
import socket
import threading

import pytest

from codefavor.benchmark import data as bd
from codefavor.errors import CodefavorError

ROWS = [
    {"task_id": f"Toy/{i}", "instruction": f"task {i}", "choices": [f"a{i}", f"bb{i}"], "gt_choice": i % 2}
    for i in range(10)
]


def _make_fake_files(folder):
    """Hand-made stand-ins for the four files, returning their sha256 per category."""
    folder.mkdir(parents=True, exist_ok=True)
    shas = {}
    for cat, (name, _) in bd.FILES.items():
        raw = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
        blob = gzip.compress(raw, mtime=0)
        (folder / name).write_bytes(blob)
        shas[cat] = hashlib.sha256(blob).hexdigest()
    return shas


@pytest.fixture
def fake_pins(monkeypatch, tmp_path):
    src = tmp_path / "served"
    shas = _make_fake_files(src)
    monkeypatch.setattr(bd, "FILES", {c: (n, shas[c]) for c, (n, _) in bd.FILES.items()})
    monkeypatch.setattr(bd, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.delenv("CODEFAVOR_DATA", raising=False)
    return src


@pytest.fixture
def http_server(fake_pins):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(fake_pins))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_verifies_and_caches(http_server, tmp_path):
    path = bd.resolve_file("security", base_url=http_server)
    assert path == tmp_path / "cache" / "security-alignment.jsonl.gz"
    assert not list(path.parent.glob("*.part"))  # the temp file was renamed into place
    # second resolution uses the cache (the server could be gone)
    assert bd.resolve_file("security", base_url="http://127.0.0.1:9") == path
    tasks = bd.load_tasks(["security"])
    assert len(tasks) == 10 and tasks[0].category == "security"


def test_download_rejects_wrong_checksum(http_server, monkeypatch, tmp_path):
    monkeypatch.setattr(bd, "FILES", {**bd.FILES, "efficiency": (bd.FILES["efficiency"][0], "0" * 64)})
    with pytest.raises(CodefavorError, match="sha256 does not match"):
        bd.resolve_file("efficiency", base_url=http_server)
    assert not (tmp_path / "cache" / "efficiency-alignment.jsonl.gz").exists()
    assert not list((tmp_path / "cache").glob("*.part"))


def test_offline_gives_one_clear_line(fake_pins):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CodefavorError, match="could not download .*pass `data`") as ei:
        bd.resolve_file("correctness", base_url=f"http://127.0.0.1:{port}")
    assert "\n" not in str(ei.value)


def test_resolution_order(fake_pins, monkeypatch, tmp_path):
    # --data wins, then $CODEFAVOR_DATA; a corrupted file is refused, not used
    assert bd.resolve_file("correctness", fake_pins).parent == fake_pins
    monkeypatch.setenv("CODEFAVOR_DATA", str(fake_pins))
    assert bd.resolve_file("correctness", allow_download=False).parent == fake_pins
    (fake_pins / "correctness-alignment.jsonl.gz").write_bytes(b"tampered")
    with pytest.raises(CodefavorError, match="does not match the pinned"):
        bd.resolve_file("correctness", allow_download=False)
    with pytest.raises(CodefavorError, match="not found"):
        bd.resolve_file("correctness", tmp_path / "empty")


def test_split_is_deterministic_and_balanced():
    ids = [f"Task/{i}" for i in range(2000)]
    splits = [bd.split_of(i) for i in ids]
    assert splits == [bd.split_of(i) for i in ids]
    assert 900 < splits.count("dev") < 1100


def test_real_files(bench_dir):
    tasks = bd.load_tasks(data_dir=bench_dir)
    counts = {c: sum(t.category == c for t in tasks) for c in bd.FILES}
    assert counts == {"correctness": 660, "efficiency": 352, "security": 207, "human-preference": 145}
    assert len(tasks) == 1364 and len({t.id for t in tasks}) == 1364
    dev = bd.load_tasks(data_dir=bench_dir, split="dev")
    test = bd.load_tasks(data_dir=bench_dir, split="test")
    assert len(dev) + len(test) == 1364 and not {t.id for t in dev} & {t.id for t in test}
    # pairs of the same seed task never straddle the split
    assert not {t.task_id for t in dev} & {t.task_id for t in test}
