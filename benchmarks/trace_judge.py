"""A model judge with and without execution traces, on the human-preference category of CodePrefBench.

    python benchmarks/trace_judge.py --data ../shared/data/codeprefbench            # hf-cls on SmolLM2-135M
    python benchmarks/trace_judge.py --fallback hf-cls:PATH --limit 60 --seed 0     # a seeded sample

`evidence+SPEC` against `evidence+traces+SPEC` on the same tasks with one loaded model: the human-
preference category has no evidence source, so every task goes to the model; with traces, the model
also reads what running the two codes on the instruction's own examples produced
(`correctness.execution_traces`). Tasks whose instruction gives no runnable example get the same
prompt in both arms, so their verdict is the same (a deterministic model): those are judged once and
counted in both. The classifier averages both orders itself; a generative fallback is run in both
orders (AB and BA) and scored per order. Accuracy per task (1 right, 0 wrong, 0.5 undecided, mean
over orders), and a paired test (`benchmark.stats.paired_bootstrap`, sign test) of with minus without.
"""

from __future__ import annotations

import argparse
import json
import random
import time


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fallback", default=None, help="model judge spec (default: hf-cls on the SmolLM2 GGUF)")
    ap.add_argument("--base-url", default=None, help="for a gen:openai: fallback")
    ap.add_argument("--data", default=None, help="CodePrefBench folder")
    ap.add_argument("--limit", type=int, default=None, help="a seeded sample of this many tasks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    from codefavor.benchmark.data import load_tasks
    from codefavor.benchmark.runner import BenchProtocol, present
    from codefavor.benchmark.stats import paired_bootstrap
    from codefavor.evidence import EvidenceOptions
    from codefavor.judges import load_judge
    from codefavor.judges.evidence import EvidenceJudge
    from codefavor.models import smollm2_gguf_path

    tasks = load_tasks(("human-preference",), args.data)
    if args.limit:
        tasks = random.Random(args.seed).sample(sorted(tasks, key=lambda t: t.id), min(args.limit, len(tasks)))
    spec = args.fallback or f"hf-cls:{smollm2_gguf_path()}"
    opts = {"device": args.device} if spec.startswith("hf-") else {"base_url": args.base_url, "max_in_flight": 1}
    t0 = time.perf_counter()
    model = load_judge(spec, **opts)
    load_s = time.perf_counter() - t0
    both = getattr(model, "both_orders", False)
    orders = ("AB",) if both else ("AB", "BA")
    plain = EvidenceJudge(model, f"evidence+{spec}")
    traced = EvidenceJudge(model, f"evidence+traces+{spec}", EvidenceOptions(), traces=True)

    items = [(t, o, present(t, o, BenchProtocol())) for t in tasks for o in orders]
    t0 = time.perf_counter()
    traces = traced._traces([it for _, _, it in items])
    trace_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    v_plain = plain.judge([it for _, _, it in items])
    plain_s = time.perf_counter() - t0
    with_idx = [k for k, tr in enumerate(traces) if tr is not None]
    t0 = time.perf_counter()
    # the traced arm: only prompts that differ are judged again (the rest are the same prompt)
    v_traced = list(v_plain)
    redo = traced.judge([items[k][2] for k in with_idx]) if with_idx else []
    traced_s = time.perf_counter() - t0
    for k, v in zip(with_idx, redo, strict=True):
        v_traced[k] = v

    def score(v, task, order) -> float:
        if v.decision == "undecided":
            return 0.5
        picked = (0 if v.decision == "A" else 1) if order == "AB" else (1 if v.decision == "A" else 0)
        return float(picked == task.gt_choice)

    per_task: dict[str, list[list[float]]] = {}
    for (task, order, _), vp, vt in zip(items, v_plain, v_traced, strict=True):
        s = per_task.setdefault(task.id, [[], []])
        s[0].append(score(vp, task, order))
        s[1].append(score(vt, task, order))
    ids = sorted(per_task)
    acc_plain = [sum(per_task[i][0]) / len(per_task[i][0]) for i in ids]
    acc_traced = [sum(per_task[i][1]) / len(per_task[i][1]) for i in ids]
    traced_tasks = {items[k][0].id for k in with_idx}
    sub = [n for n, i in enumerate(ids) if i in traced_tasks]
    paired = paired_bootstrap(acc_traced, acc_plain)
    paired_sub = paired_bootstrap([acc_traced[n] for n in sub], [acc_plain[n] for n in sub])
    result = {
        "fallback": spec,
        "tasks": len(ids),
        "orders": list(orders),
        "tasks_with_a_trace": len(traced_tasks),
        "accuracy_without": sum(acc_plain) / len(ids),
        "accuracy_with": sum(acc_traced) / len(ids),
        "difference": paired.diff.point,
        "ci95": [paired.diff.low, paired.diff.high],
        "p_bootstrap": paired.p_bootstrap,
        "tasks_better_with": paired.better_1,
        "tasks_better_without": paired.better_2,
        "p_sign": paired.p_sign,
        "traced_subset": {
            "n": len(sub),
            "accuracy_without": sum(acc_plain[n] for n in sub) / len(sub) if sub else None,
            "accuracy_with": sum(acc_traced[n] for n in sub) / len(sub) if sub else None,
            "p_bootstrap": paired_sub.p_bootstrap,
            "p_sign": paired_sub.p_sign,
        },
        "seconds": {"load": round(load_s, 1), "traces": round(trace_s, 1), "without": round(plain_s, 1)},
    }
    result["seconds"]["with_rejudged"] = round(traced_s, 1)
    print(f"{spec} on {len(ids)} human-preference tasks ({len(traced_tasks)} with a trace), orders {orders}")
    print(f"accuracy without traces {result['accuracy_without']:.3f}, with {result['accuracy_with']:.3f}")
    print(
        f"with - without: {paired.diff.point:+.3f} [{paired.diff.low:+.3f}, {paired.diff.high:+.3f}], "
        f"p={paired.p_bootstrap:.3f} (bootstrap), tasks better/worse {paired.better_1}/{paired.better_2}, "
        f"sign p={paired.p_sign:.3f}"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
