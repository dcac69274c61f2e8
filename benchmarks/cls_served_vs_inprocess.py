"""`cls:openai:` through llama.cpp's server vs in-process `hf-cls`, on the same GGUF model: agreement
of decisions on CodePrefBench tasks and pairs/s of both (both orders each).

    PYTHONPATH=src nice -n 10 python benchmarks/cls_served_vs_inprocess.py --n 100 --threads 1

The tasks are the N with the shortest prompts (all four categories, shown as the benchmark shows
them, `present(task, "AB")`), so a run stays minutes on a CPU. `hf-cls` loads the GGUF through
transformers (weights dequantized to float32); llama.cpp's server runs its own quantized kernels
(`--logits_all true`, one prompt per request; the KV cache in f32 as `llama_cpp_server` keeps it for
scoring, `--kv-type f16` for llama.cpp's default), so small probability differences are expected: the
script prints the agreement of the averaged decisions and of each order's own decision, the
disagreeing tasks with both probabilities, and the largest |P(A) difference|. It starts and stops the server itself. Prints JSON (`--json-out FILE` saves it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def pick_tasks(data: str | None, n: int, tokenizer, max_tokens: int):
    from codefavor.benchmark.data import load_tasks
    from codefavor.benchmark.runner import present
    from codefavor.prompts import judge_messages, prompt_ids

    items = []
    for task in load_tasks(data_dir=data):
        item = present(task, "AB")
        ids = prompt_ids(tokenizer, judge_messages(item.instruction, item.a, item.b, item.criterion, "classification"))
        if len(ids) + 8 <= max_tokens:
            items.append((len(ids), task.id, item))
    items.sort(key=lambda x: (x[0], x[1]))
    return [(tid, item) for _, tid, item in items[:n]]


def compare(model: str, n: int, data: str | None, threads: int, n_ctx: int = 2048, kv_type: str = "f32") -> dict:
    import torch

    from codefavor.backends.local_server import llama_cpp_server
    from codefavor.judges import TIE_MARGIN, decide_prob
    from codefavor.judges.classifier import ClassifierJudge
    from codefavor.judges.served_classifier import ServedClassifierJudge
    from codefavor.models import resolve_model_alias

    torch.set_num_threads(threads)
    path = resolve_model_alias(model)
    local = ClassifierJudge(path, device="cpu", dtype="float32", max_batch_size=4)
    picked = pick_tasks(data, n, local.tokenizer, n_ctx)
    items = [it for _, it in picked]

    t0 = time.perf_counter()
    mine = local.judge(items)
    local_s = time.perf_counter() - t0

    with llama_cpp_server(
        path, n_ctx=n_ctx, n_threads=threads, logits_all=True, model_alias="m", kv_type=kv_type
    ) as srv:
        served = ServedClassifierJudge(
            "m", base_url=srv.base_url, api_key="x", tokenizer=path, prompts_per_request=1, max_in_flight=1
        )
        served.judge(items[:1])  # warm-up: the first request pays for allocating the context
        t0 = time.perf_counter()
        theirs = served.judge(items)
        served_s = time.perf_counter() - t0

    same = sum(a.decision == b.decision for a, b in zip(mine, theirs, strict=True))
    # Per order (no averaging): an untrained model's two orders cancel to P(A) within a hair of 0.5,
    # where any numeric difference flips the averaged decision; one order's P(A) is far from 0.5.
    order_pairs = [
        (pa, pb)
        for a, b in zip(mine, theirs, strict=True)
        if a.details and b.details
        for pa, pb in zip(a.details["prob_a_by_order"], b.details["prob_a_by_order"], strict=True)
    ]
    same_order = sum((pa > 0.5) == (pb > 0.5) for pa, pb in order_pairs)
    diffs = [abs((a.prob_a or 0.5) - (b.prob_a or 0.5)) for a, b in zip(mine, theirs, strict=True)]
    # The same averaged probabilities read with no tie band (the side of 0.5 alone decides).
    strict = sum(
        decide_prob(a.prob_a, 0.0) == decide_prob(b.prob_a, 0.0)
        for a, b in zip(mine, theirs, strict=True)
        if a.prob_a is not None and b.prob_a is not None
    )
    disagree = [
        {"task_id": tid, "hf_cls": a.decision, "served": b.decision, "p_hf": a.prob_a, "p_served": b.prob_a,
         "served_error": b.error}
        for (tid, _), a, b in zip(picked, mine, theirs, strict=True) if a.decision != b.decision
    ]  # fmt: skip
    return {
        "model": str(path),
        "tasks": len(items),
        "tie_margin": TIE_MARGIN,
        "agreement": same / max(1, len(items)),
        "same": same,
        "agreement_no_tie_band": strict / max(1, len(items)),
        "undecided_hf_cls": sum(v.decision == "undecided" for v in mine),
        "orders": len(order_pairs),
        "agreement_by_order": same_order / max(1, len(order_pairs)),
        "max_abs_prob_diff_by_order": max((abs(pa - pb) for pa, pb in order_pairs), default=0.0),
        "max_abs_prob_diff": max(diffs) if diffs else 0.0,
        "mean_abs_prob_diff": sum(diffs) / max(1, len(diffs)),
        "undecided_served": sum(v.decision == "undecided" for v in theirs),
        "hf_cls_pairs_per_s": len(items) / local_s,
        "served_pairs_per_s": len(items) / served_s,
        "threads": threads,
        "kv_type": kv_type,
        "disagreements": disagree,
        "per_task": [
            {
                "task_id": tid,
                "hf_cls": a.details and a.details["prob_a_by_order"],
                "served": b.details and b.details["prob_a_by_order"],
            }
            for (tid, _), a, b in zip(picked, mine, theirs, strict=True)
        ],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2-gguf", help="a GGUF path or a codefavor.models alias")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--data", default=os.environ.get("CODEFAVOR_DATA"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument(
        "--kv-type",
        choices=["f32", "f16", "q8_0"],
        default="f32",
        help="the server's KV cache (llama.cpp's own default: f16)",
    )
    p.add_argument("--json-out", type=Path)
    a = p.parse_args()
    out = compare(a.model, a.n, a.data, a.threads, a.n_ctx, a.kv_type)
    text = json.dumps(out, indent=2)
    print(text)
    if a.json_out:
        a.json_out.write_text(text + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
