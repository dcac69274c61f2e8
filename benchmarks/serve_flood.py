"""Memory of a real `codefavor serve` under request floods it must refuse: RSS before and after.

Each scenario starts its own `codefavor serve --judge shorter --token T` on 127.0.0.1 (free port),
reads the server process's resident memory (`VmRSS`) once it is idle, sends `--posts` large POSTs to
/v1/judge from `--clients` threads over raw sockets (so nothing buffers on the client side), waits
a second, and reads `VmRSS` again and the peak (`VmHWM`). The bodies are valid judge requests (one
long candidate), so a server that reads and parses them before refusing pays for all of it.

Scenarios:
- `unauth`: no token, 3 MB bodies with Content-Length (401 expected, the body never read);
- `unauth-chunked`: no token, 3 MB chunked bodies (no length to check up front);
- `too-large`: the token, 5 MB bodies with Content-Length over the 4 MiB limit (413 from the header);
- `busy`: the token, 3 MB bodies while `--max-concurrent 2` slots are held by two slow judge requests
  (a `gen:openai:stub` judge over the stub server with 120 s latency): 429 before the body.

`--src DIR` runs the server from another checkout's `src` (PYTHONPATH), to measure an older version
the same way:

    PYTHONPATH=src python benchmarks/serve_flood.py
    git archive 7a2fc76 src | tar -x -C /tmp/old && PYTHONPATH=src python benchmarks/serve_flood.py --src /tmp/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from codefavor.testing import start_serve, stub_server

TOKEN = "flood-benchmark-token"


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def busy(url: str) -> int:
    """Requests in progress, from /health (old versions answer it without the token too)."""
    health = url.removesuffix("/v1") + "/health"
    r = httpx.get(health, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    return int(r.json().get("busy", -1))


def judge_body(size: int) -> bytes:
    head = b'{"instruction": "Add two numbers.", "b": "def add(a, b): return a + b", "a": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def post(url: str, body: bytes, token: str | None, chunked: bool, timeout: float = 60.0) -> str:
    """One raw HTTP/1.1 POST to /v1/judge; the status code as text, or what went wrong."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    lines = ["POST /v1/judge HTTP/1.1", f"Host: {host}", "Content-Type: application/json", "Connection: close"]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            step = 64 * 1024
            try:
                for i in range(0, len(body), step):
                    piece = body[i : i + step]
                    s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    s.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered and closed early: its answer is still there to read
            data = b""
            while b"\r\n" not in data:
                got = s.recv(4096)
                if not got:
                    return "closed"
                data += got
            return data.split(b" ", 2)[1].decode()
    except (OSError, IndexError) as e:
        return type(e).__name__


def scenario(name: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    size = int((5 if name == "too-large" else 3) * 1e6)
    token = None if name.startswith("unauth") else TOKEN
    extra: list[str] = []
    stub = None
    if name == "busy":
        stub, stub_url = stub_server.start(["--latency", "120", "--reply", "VERDICT: Candidate A is better."])
        extra = ["--judge", "gen:openai:stub", "--base-url", stub_url, "--max-concurrent", "2"]
    proc, url = start_serve(None, env, "--judge", "shorter", "--token", TOKEN, *extra)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # versions that print the address before listening
            try:
                busy(url)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        if name == "busy":  # two slow judge requests hold both slots for the whole flood
            slow = json.dumps({"instruction": "x", "a": "a", "b": "b", "judge": "gen:openai:stub"}).encode()
            for _ in range(2):
                threading.Thread(target=post, args=(url, slow, TOKEN, False, 300), daemon=True).start()
            deadline = time.monotonic() + 30
            while busy(url) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
        time.sleep(0.5)
        before, _ = rss_kib(proc.pid)
        body = judge_body(size)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            codes = Counter(pool.map(lambda _: post(url, body, token, name == "unauth-chunked"), range(args.posts)))
        wall = time.perf_counter() - t0
        held = busy(url) if name == "busy" else None
        time.sleep(1.0)
        after, peak = rss_kib(proc.pid)
    finally:
        for p in (proc, stub):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    return {
        "scenario": name,
        "posts": args.posts,
        "MB_each": size / 1e6,
        "answers": dict(codes),
        "rss_before_MiB": round(before / 1024, 1),
        "rss_after_MiB": round(after / 1024, 1),
        "growth_MiB": round((after - before) / 1024, 1),
        "peak_MiB": round(peak / 1024, 1),
        "wall_s": round(wall, 2),
        "busy_after": held,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--clients", type=int, default=32, help="posts in flight at once")
    ap.add_argument("--scenario", action="append", choices=["unauth", "unauth-chunked", "too-large", "busy"])
    ap.add_argument("--src", help="run the server from this src folder (another checkout) instead")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    path = [args.src] if args.src else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, *sys.path])}
    rows = [scenario(n, args, env) for n in args.scenario or ["unauth", "unauth-chunked", "too-large", "busy"]]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"codefavor serve from {args.src or 'this checkout'}; load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'scenario':16} {'answers':28} {'RSS before':>11} {'after':>8} {'growth':>8} {'peak':>8} {'wall s':>7}  slots held"
    )
    for r in rows:
        answers = ", ".join(f"{k} x{v}" for k, v in sorted(r["answers"].items()))  # type: ignore[union-attr]
        print(
            f"{r['scenario']:16} {answers:28} {r['rss_before_MiB']:>9} Mi {r['rss_after_MiB']:>6} Mi "
            f"{r['growth_MiB']:>6} Mi {r['peak_MiB']:>6} Mi {r['wall_s']:>7}  {r['busy_after'] if r['busy_after'] is not None else '-'}"
        )


if __name__ == "__main__":
    main()
