"""LocalServer on tiny stand-in commands (no model): waits for health, stops the whole process
group, reports an early exit or a timeout with the log's tail, and leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from codefavor.backends.local_server import (
    LocalServer,
    find_llama_server,
    free_port,
    llama_cpp_command,
    llama_cpp_server,
    native_server_command,
)
from codefavor.errors import CodefavorError

# A server that answers /health only after a delay, starts a grandchild, and records its pid.
SERVER = textwrap.dedent(
    """
    import http.server, subprocess, sys, time, signal
    port, delay, pidfile, ignore_term = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    if ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(pidfile, "w").write(str(child.pid))
    print("starting", flush=True)
    time.sleep(delay)
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "server.py"
    path.write_text(SERVER)
    return path


def _server(script, tmp_path, delay="0.3", ignore_term="0", **kw):
    cmd = [sys.executable, str(script), "{port}", delay, str(tmp_path / "child.pid"), ignore_term]
    return LocalServer(cmd, "http://127.0.0.1:{port}/health", "http://127.0.0.1:{port}/v1", **kw)


def test_starts_waits_for_health_and_stops_the_whole_group(script, tmp_path):
    srv = _server(script, tmp_path)
    assert "{port}" not in " ".join(srv.command) and str(srv.port) in srv.command
    with srv:
        assert srv.running and srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert httpx.get(srv.health_url).status_code == 200
        leader = srv.proc.pid
        child = int((tmp_path / "child.pid").read_text())
        assert _alive(child)
    assert not srv.running
    assert _wait_dead(leader) and _wait_dead(child)  # the grandchild went with its group
    srv.stop()  # twice is fine


def test_a_server_ignoring_sigterm_is_killed(script, tmp_path):
    srv = _server(script, tmp_path, ignore_term="1", stop_timeout_s=0.5)
    srv.start()
    child = int((tmp_path / "child.pid").read_text())
    srv.stop()
    assert _wait_dead(child)


def test_an_early_exit_is_reported_with_the_log_tail_without_waiting(tmp_path):
    cmd = [sys.executable, "-c", "import sys; print('no such model file'); sys.exit(3)"]
    srv = LocalServer(cmd, "http://127.0.0.1:{port}/health", startup_timeout_s=60)
    t0 = time.monotonic()
    with pytest.raises(CodefavorError, match="exited with code 3.*no such model file") as err:
        srv.start()
    assert time.monotonic() - t0 < 30
    assert "\n" not in str(err.value)
    assert not srv.running


def test_a_server_that_never_gets_healthy_times_out_and_is_stopped(script, tmp_path):
    log = tmp_path / "server.log"
    srv = _server(script, tmp_path, delay="600", startup_timeout_s=1.5, log_path=log)
    with pytest.raises(CodefavorError, match="did not answer .* within 2 s.*starting"):
        srv.start()
    child = int((tmp_path / "child.pid").read_text())
    assert _wait_dead(child) and not srv.running
    assert log.read_text().startswith("starting")  # a log the caller named is kept


def test_a_missing_program_is_one_line(tmp_path):
    with pytest.raises(CodefavorError, match="cannot run"):
        LocalServer(["/nonexistent/server-binary"], "http://127.0.0.1:{port}/").start()


def test_a_string_command_is_split_and_the_port_can_be_given():
    port = free_port()
    srv = LocalServer("prog --port {port} --name 'a b'", "http://127.0.0.1:{port}/", port=port)
    assert srv.command == ["prog", "--port", str(port), "--name", "a b"]


def test_llama_cpp_command_line():
    cmd = llama_cpp_command("m.gguf", port=8123, n_threads=2, logits_all=True, model_alias="qwen", python="py")
    assert cmd[:3] == ["py", "-m", "llama_cpp.server"]
    line = " ".join(cmd)
    for part in ("--model m.gguf", "--host 127.0.0.1", "--port 8123", "--n_ctx 4096", "--n_threads 2"):
        assert part in line
    assert "--logits_all true" in line and "--model_alias qwen" in line
    assert "--logits_all" not in " ".join(llama_cpp_command("m.gguf"))


@pytest.mark.parametrize(
    ("kv_type", "python_server", "native"),
    [
        ("f32", ["--type_k", "0", "--type_v", "0"], ["--cache-type-k", "f32", "--cache-type-v", "f32"]),
        ("q8_0", ["--type_k", "8", "--type_v", "8"], ["--cache-type-k", "q8_0", "--cache-type-v", "q8_0"]),
    ],
)
def test_kv_cache_type_reaches_both_servers(kv_type, python_server, native):
    py = llama_cpp_command("m.gguf", kv_type=kv_type, python="py")
    nat = native_server_command("/x/llama-server", "m.gguf", kv_type=kv_type)
    assert " ".join(python_server) in " ".join(py) and " ".join(native) in " ".join(nat)
    assert "--type_k" not in llama_cpp_command("m.gguf", python="py")
    with pytest.raises(CodefavorError, match="unknown KV cache type"):
        llama_cpp_command("m.gguf", kv_type="f8")


def test_a_scoring_server_keeps_its_kv_cache_in_f32(tmp_path, monkeypatch):
    """Label probabilities served must be the ones hf-cls computes in float32: f16 keys and values
    move them by up to ~1e-3, enough to flip a decision at the tie band's edge."""
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    scoring = " ".join(llama_cpp_server(gguf, logits_all=True).command)
    chat = " ".join(llama_cpp_server(gguf).command)
    assert "--type_k 0 --type_v 0" in scoring and "--type_k" not in chat
    assert "--type_k 1" in " ".join(llama_cpp_server(gguf, logits_all=True, kv_type="f16").command)


def test_native_server_command_gives_each_slot_its_context():
    cmd = native_server_command(
        "/x/llama-server", "m.gguf", port=8123, n_ctx=2048, n_threads=1, parallel=4, model_alias="qwen"
    )
    line = " ".join(cmd)
    assert cmd[0] == "/x/llama-server"
    for part in ("-m m.gguf", "--host 127.0.0.1", "--port 8123", "-c 8192", "-np 4", "-t 1", "--alias qwen"):
        assert part in line


def test_parallel_slots_use_llama_server_and_a_missing_one_is_one_line(tmp_path, monkeypatch):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    srv = llama_cpp_server(gguf, parallel=3, binary=str(fake), n_ctx=1024)
    assert srv.command[0] == str(fake) and "-np" in srv.command and srv.health_url.endswith("/health")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(CodefavorError, match="make llama-server"):
        find_llama_server()
    assert find_llama_server(str(fake)) == str(fake)


def test_the_server_is_killed_when_its_parent_dies(tmp_path):
    """kill -9 of the process that started a server must not leave the server behind (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux-only")
    pidfile = tmp_path / "srv.pid"
    parent = textwrap.dedent(
        f"""
        import sys, time
        from codefavor.backends.local_server import LocalServer
        srv = LocalServer([sys.executable, "-c", "import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); time.sleep(600)"],
                          "http://127.0.0.1:{{port}}/", startup_timeout_s=600)
        srv.start()
        """
    )
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the stand-in server did not start"
        time.sleep(0.05)
    server_pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_dead(server_pid)
