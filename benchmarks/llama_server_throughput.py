"""Throughput of llama-cpp-python's server (one request at a time) vs llama.cpp's own `llama-server`
with parallel slots, on the same real prompts, both on the same number of threads.

The prompts are the critic requests of a Critic-Evol run (`outcomes.jsonl` of a recipe's generate
stage, e.g. results/cpu-real-small/generate-critic-evol/), sent with the same sampling to both
servers in one run, so the two figures share the machine's load. Prints completion tokens/s, wall
seconds and the ratio.

    python benchmarks/llama_server_throughput.py --model qwen2.5-coder-0.5b-gguf \
        --outcomes results/cpu-real-small/generate-critic-evol/outcomes.jsonl --requests 6 --parallel 3
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from codefavor.backends.local_server import llama_cpp_server


def prompts(path: Path, role: str, n: int) -> list[list[dict]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for conv in json.loads(line).get("conversations", []):
            if conv.get("role") == role and conv.get("reply"):
                out.append(conv["messages"])
        if len(out) >= n:
            break
    return out[:n]


def drive(base_url: str, batch: list[list[dict]], concurrency: int, max_tokens: int) -> dict:
    def one(messages: list[dict]) -> int:
        body = {"model": "m", "messages": messages, "max_tokens": max_tokens, "temperature": 0.0}
        r = httpx.post(f"{base_url}/chat/completions", json=body, timeout=3600)
        r.raise_for_status()
        return int(r.json()["usage"]["completion_tokens"])

    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        tokens = sum(pool.map(one, batch))
    wall = time.monotonic() - t0
    return {
        "requests": len(batch),
        "completion_tokens": tokens,
        "wall_s": round(wall, 1),
        "tok_s": round(tokens / wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b-gguf")
    ap.add_argument(
        "--outcomes", type=Path, default=Path("results/cpu-real-small/generate-critic-evol/outcomes.jsonl")
    )
    ap.add_argument("--role", default="critic")
    ap.add_argument("--requests", type=int, default=6)
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--max-tokens", type=int, default=192)
    a = ap.parse_args()
    batch = prompts(a.outcomes, a.role, a.requests)
    rows = {}
    for name, parallel in (("llama-cpp-python", 1), (f"llama-server x{a.parallel}", a.parallel)):
        with llama_cpp_server(a.model, n_ctx=a.n_ctx, n_threads=a.threads, parallel=parallel) as srv:
            rows[name] = drive(srv.base_url, batch, parallel, a.max_tokens)
        print(name, rows[name], flush=True)
    one, many = rows.values()
    print(f"ratio (tokens/s, slots vs one at a time): {many['tok_s'] / one['tok_s']:.2f}x")


if __name__ == "__main__":
    main()
