"""Prompt and generation speed of the real small models through llama.cpp's server, to size recipes.

For each model: start `llama_cpp.server` (`codefavor.backends.local_server`), then per round send
(1) a ~1,000-token prompt with max_tokens=1 (prompt tokens/s; a fresh first line defeats the server's
prefix cache), (2) a short prompt asking for a long answer with max_tokens=256 (generation tokens/s,
after subtracting the prompt's share). Prints the median of the rounds and the load average, since
the machine is shared. Needs `make real-models`.

    nice -n 15 python benchmarks/real_model_throughput.py --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from codefavor.backends import Sampling, load_backend
from codefavor.backends.local_server import llama_cpp_server

MODELS = {"smollm2-135m": "smollm2-gguf", "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-gguf"}
LONG_ANSWER = (
    "Write a Python module implementing a singly linked list class with append, prepend, insert, remove, "
    "find, reverse, __len__, __iter__ and __repr__, each with a docstring. Then explain every method."
)


def _code_text(chars: int) -> str:
    """Our own source as prompt filler (about 3.5 characters a token)."""
    src = Path(__file__).resolve().parents[1] / "src" / "codefavor"
    text = ""
    for f in sorted(src.rglob("*.py")):
        text += f.read_text()
        if len(text) >= chars:
            break
    return text[:chars]


def measure(alias: str, threads: int, rounds: int, nice: int) -> dict:
    filler = _code_text(3600)
    with llama_cpp_server(alias, n_ctx=4096, n_threads=threads, model_alias="m", nice=nice) as srv:
        be = load_backend("openai:m", base_url=srv.base_url, cache=False, max_in_flight=1, timeout=1800)
        be.generate([[{"role": "user", "content": "hi"}]], Sampling(max_tokens=4))  # warm up
        pp, tg = [], []
        for i in range(rounds):
            msg = f"Request {i} at {time.time()}.\nSummarise this code:\n{filler}"
            [g] = be.generate([[{"role": "user", "content": msg}]], Sampling(max_tokens=1))
            assert g.error is None, g.error
            pp_rate = g.prompt_tokens / g.latency_s
            pp.append((pp_rate, g.prompt_tokens, g.latency_s))
            [g] = be.generate([[{"role": "user", "content": f"({i}) {LONG_ANSWER}"}]], Sampling(max_tokens=256))
            assert g.error is None, g.error
            gen_s = g.latency_s - g.prompt_tokens / pp_rate
            tg.append((g.completion_tokens / gen_s, g.completion_tokens, g.latency_s))
        return {
            "startup_s": round(srv.startup_s or 0, 2),
            "prompt_tok_s": round(statistics.median(r for r, _, _ in pp), 1),
            "prompt_tokens": pp[0][1],
            "gen_tok_s": round(statistics.median(r for r, _, _ in tg), 1),
            "gen_tokens": statistics.median(n for _, n, _ in tg),
            "gen_request_s": round(statistics.median(s for _, _, s in tg), 2),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nice", type=int, default=15)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = {"threads": args.threads, "load_before": os.getloadavg()[0]}
    for name, alias in MODELS.items():
        out[name] = measure(alias, args.threads, args.rounds, args.nice)
    out["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"llama.cpp server, {args.threads} threads, nice {args.nice}; load average {out['load_before']:.1f}")
    print(f"{'model':<22}{'startup s':>10}{'prompt tok/s':>14}{'gen tok/s':>11}{'256-tok reply s':>17}")
    for name in MODELS:
        r = out[name]
        print(f"{name:<22}{r['startup_s']:>10}{r['prompt_tok_s']:>14}{r['gen_tok_s']:>11}{r['gen_request_s']:>17}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
