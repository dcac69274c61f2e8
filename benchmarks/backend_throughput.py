"""Requests per second of the OpenAI-compatible backend against a local server with fixed latency.

Starts the stub server (`codefavor.testing.stub_server`, its own process) answering every request
after `--latency` seconds, then for each in-flight bound k sends `--waves` x k requests through
`OpenAIBackend(max_in_flight=k, cache=False)` and compares the achieved rate with the ideal k /
latency. One warm-up batch per level opens the connections first (a long run pays that once).
Target: >= 90% of ideal up to 128 in flight on a 2-core machine.

`--baseline` also measures a bare asyncio HTTP/1.1 client (k keep-alive sockets, no library, no
retries, no JSON parsing of replies) against the same server: the most this machine allows at its
current load, to tell client overhead from a busy machine. The load average is printed too.

    PYTHONPATH=src python benchmarks/backend_throughput.py --baseline      # 1..256 in flight, 0.5 s latency
    PYTHONPATH=src python benchmarks/backend_throughput.py --latency 1 --waves 8 --levels 1,16,128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

from codefavor.backends import Sampling
from codefavor.backends.openai import OpenAIBackend
from codefavor.testing import stub_server


def measure(url: str, in_flight: int, waves: int) -> tuple[int, float, float]:
    backend = OpenAIBackend("stub", base_url=url, max_in_flight=in_flight, cache=False, timeout=60)
    try:
        sampling = Sampling(max_tokens=16)
        backend.generate([[{"role": "user", "content": f"warm {i}"}] for i in range(in_flight)], sampling)
        n = waves * in_flight
        convs = [[{"role": "user", "content": f"request {i}"}] for i in range(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        gens = backend.generate(convs, sampling)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        backend.close()
    failed = [g.error for g in gens if g.error]
    if failed:
        raise RuntimeError(f"{len(failed)} requests failed, e.g. {failed[0]}")
    return n, elapsed, cpu


def measure_raw(url: str, in_flight: int, waves: int) -> float:
    """Seconds for waves x in_flight requests over in_flight bare keep-alive sockets."""
    parts = urlsplit(url)
    path = parts.path + "/chat/completions"

    async def worker(n: int) -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for i in range(n):
            body = json.dumps({"model": "stub", "messages": [{"role": "user", "content": f"raw {i}"}]}).encode()
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            headers = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(h.split(b":")[1]) for h in headers.split(b"\r\n") if h.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
        writer.close()

    async def run() -> float:
        await asyncio.gather(*(worker(1) for _ in range(in_flight)))  # warm-up, like the backend's
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(waves) for _ in range(in_flight)))
        return time.perf_counter() - t0

    return asyncio.run(run())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--latency", type=float, default=0.5, help="server latency per request, seconds")
    p.add_argument("--waves", type=int, default=10, help="requests per level = waves x in-flight")
    p.add_argument("--levels", default="1,2,4,8,16,32,64,128,256")
    p.add_argument("--baseline", action="store_true", help="also measure a bare-socket client")
    a = p.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    proc, url = stub_server.start(["--latency", str(a.latency)])
    rows = []
    try:
        print(f"server latency {a.latency:g} s, {a.waves} waves per level, {os.cpu_count()} CPUs, stub at {url}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        head = f"{'in flight':>9} {'requests':>8} {'seconds':>8} {'req/s':>8} {'ideal':>8} {'% ideal':>8} {'CPU ms/req':>10}"
        print(head + (f" {'bare socket % ideal':>20}" if a.baseline else ""))
        for k in levels:
            n, elapsed, cpu = measure(url, k, a.waves)
            rps, ideal = n / elapsed, k / a.latency
            rows.append((k, rps / ideal))
            line = f"{k:>9} {n:>8} {elapsed:>8.2f} {rps:>8.1f} {ideal:>8.1f} {100 * rps / ideal:>7.1f}% {1000 * cpu / n:>10.2f}"
            if a.baseline:
                line += f" {100 * (n / measure_raw(url, k, a.waves)) / ideal:>19.1f}%"
            print(line, flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        proc.terminate()
        proc.wait()
    worst = min((r for k, r in rows if k <= 128), default=None)
    if worst is not None:
        verdict = "meets" if worst >= 0.9 else "MISSES"
        print(f"worst up to 128 in flight: {100 * worst:.1f}% of ideal ({verdict} the 90% target)")


if __name__ == "__main__":
    main()
