"""Items/s of a batch-file round trip (`--batch`: write the file, upload, create, poll, download,
parse, record) against direct chat calls, both against the stub server with `--latency` seconds per
chat answer (0.5 s; its batches finish on the first poll, so the batch figure is our client-side
cost, not a provider's queue time, which is minutes to hours).

    PYTHONPATH=src nice -n 10 python benchmarks/batch_roundtrip.py --items 2000 --in-flight 64

Prints JSON: items/s of each, their ratio, and the CPU seconds per item of each in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from codefavor.backends import Sampling
from codefavor.backends.openai import OpenAIBackend
from codefavor.testing import stub_server


def run(backend: OpenAIBackend, n: int, tag: str) -> tuple[float, float]:
    convs = [[{"role": "user", "content": f"{tag} request {i}: " + "some text " * 20}] for i in range(n)]
    t0, c0 = time.perf_counter(), time.process_time()
    gens = backend.generate(convs, Sampling(max_tokens=64))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert all(g.error is None for g in gens), [g.error for g in gens if g.error][:3]
    return elapsed, cpu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=2000)
    p.add_argument("--in-flight", type=int, default=64, help="direct calls open at once")
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--poll", type=float, default=0.5, help="seconds between batch polls")
    a = p.parse_args()
    proc, url = stub_server.start(["--latency", str(a.latency)])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            direct = OpenAIBackend("stub", base_url=url, cache=False, max_in_flight=a.in_flight, timeout=60)
            d_s, d_cpu = run(direct, a.items, "direct")
            direct.close()
            batched = OpenAIBackend(
                "stub", base_url=url, api_key="x", cache=False, batch=os.path.join(tmp, "batch"), batch_poll=a.poll
            )
            batched.batch.log = lambda _: None
            b_s, b_cpu = run(batched, a.items, "batch")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = {
        "items": a.items,
        "latency_s": a.latency,
        "direct_in_flight": a.in_flight,
        "direct_items_per_s": round(a.items / d_s, 1),
        "batch_items_per_s": round(a.items / b_s, 1),
        "batch_over_direct": round(d_s / b_s, 2),
        "direct_cpu_ms_per_item": round(1000 * d_cpu / a.items, 3),
        "batch_cpu_ms_per_item": round(1000 * b_cpu / a.items, 3),
        "loadavg": os.getloadavg()[0],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
