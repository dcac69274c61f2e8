"""How much of a set's code the efficiency evidence can time at all, whatever the labels: each
problem's chosen code against itself (plus one harmless module line, so the two are two programs),
measured as the judge measures, and why each silent one is silent (no entry point, a design problem,
every level failed...). A pair of equal codes can only be "no-gap" when it is measured: anything else
is a shape or a statement the ladder cannot grow yet.

    python benchmarks/foreign/efficiency_coverage.py DATA_DIR [--split dev] [--limit N] [-v]

DATA_DIR holds a set's {dev,test}.jsonl (e.g. ~/.cache/codefavor/foreign/debugbench: accepted
`class Solution` code of 17 bug kinds, each problem counted once; elsewhere a task id is a problem).
Runs in the sandbox.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from codefavor.benchmark.data import load_tasks
from codefavor.evidence.efficiency import efficiency_evidence

MEASURED = ("no-gap", "cpu-time", "few-rounds")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a folder with the set's dev.jsonl / test.jsonl")
    ap.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many problems (0: all)")
    ap.add_argument("-v", action="store_true", help="list each problem that is not measured, with why")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        ap.error(f"{args.data}: not a folder")
    seen: set[str] = set()
    pairs, names = [], []
    for t in load_tasks(data_dir=args.data, split=args.split):
        # DebugBench has many rows per problem (debugbench/<bug kind>/<problem>/<n>): count it once
        problem = t.task_id.split("/")[2] if t.task_id.startswith("debugbench/") else t.task_id
        if problem in seen:
            continue
        seen.add(problem)
        code = t.choices[t.gt_choice]
        pairs.append((t.instruction, code, code + "\n_unused = 0\n"))
        names.append(t.task_id)
        if args.limit and len(pairs) >= args.limit:
            break
    reasons: Counter[str] = Counter()
    for name, ev in zip(names, efficiency_evidence(pairs), strict=True):
        e = ev.details.get("efficiency", {})
        why = e.get("reason", "?")
        if why not in MEASURED and e.get("dropped"):
            why += "/" + ",".join(sorted(e["dropped"]))
        reasons[why] += 1
        if args.v and e.get("reason") not in MEASURED:
            print(f"{why:40} {name}")
    measured = sum(n for why, n in reasons.items() if why in MEASURED)
    print(
        f"{len(pairs)} problems, measured {measured} ({100 * measured / max(len(pairs), 1):.1f}%): {dict(reasons.most_common())}"
    )


if __name__ == "__main__":
    main()
