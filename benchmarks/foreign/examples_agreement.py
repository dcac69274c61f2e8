"""Whether accepted code passes the examples the correctness evidence reads from its statement: each
problem's chosen (accepted) code against itself plus a harmless line, judged as the judge judges.
A failure there is a misread example, an answer the statement accepts in another form, or an object
the calls cannot build: each is a pair the `examples` signal could decide wrongly.

    python benchmarks/foreign/examples_agreement.py DATA_DIR [--split dev] [--limit N] [-v]
    python benchmarks/foreign/examples_agreement.py --leetcode [--mirror PATH] [--split dev] [--limit 400] [--seed 1] [-v]

DATA_DIR holds a set's {dev,test}.jsonl (a DebugBench problem counted once); `--leetcode` reads
every problem of a doocs/leetcode mirror (as `efficiency_coverage.py --leetcode`). Runs in the sandbox.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from codefavor.benchmark.data import load_tasks
from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence

sys.path.insert(0, str(Path(__file__).parent))


def main(argv: list[str] | None = None) -> None:
    from efficiency_coverage import leetcode_problems

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, nargs="?", help="a folder with the set's dev.jsonl / test.jsonl")
    ap.add_argument("--leetcode", action="store_true", help="every problem of a doocs/leetcode mirror instead")
    ap.add_argument("--mirror", type=Path, help="the doocs/leetcode mirror (default: the fetched one)")
    ap.add_argument("--seed", type=int, default=1, help="the order --leetcode draws its problems in")
    ap.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many problems (0: all)")
    ap.add_argument("-v", action="store_true", help="list each problem whose accepted code fails, with why")
    args = ap.parse_args(argv)
    if args.leetcode == (args.data is not None):
        ap.error("give one of DATA_DIR and --leetcode")
    if args.data is not None and not args.data.is_dir():
        ap.error(f"{args.data}: not a folder")
    items: list[tuple[str, str, str]] = []
    if args.leetcode:
        from common import mirror_path

        mirror = args.mirror or mirror_path("doocs/leetcode")
        if not mirror.exists():
            ap.error(f"{mirror}: no doocs/leetcode mirror (fetch it, or give --mirror)")
        source = leetcode_problems(mirror, args.split, args.seed)
    else:
        seen: set[str] = set()

        def rows():
            for t in load_tasks(data_dir=args.data, split=args.split):
                problem = t.task_id.split("/")[2] if t.task_id.startswith("debugbench/") else t.task_id
                if problem not in seen:
                    seen.add(problem)
                    yield t.task_id, t.instruction, t.choices[t.gt_choice]

        source = rows()
    for item in source:
        items.append(item)
        if args.limit and len(items) >= args.limit:
            break
    evs = correctness_evidence([(ins, code, code + "\n_unused = 0\n") for _, ins, code in items], EvidenceOptions())
    counts: Counter[str] = Counter()
    for (name, _, _), ev in zip(items, evs, strict=True):
        a = ev.details.get("a") or {}
        if not a.get("total"):
            counts["no-checks"] += 1
        elif a.get("passed", 0) < a["total"] or a.get("load_error"):
            counts["fails"] += 1
            if args.v:
                first = (a.get("failed") or [{}])[0]
                print(
                    f"{name}: {a.get('passed', 0)}/{a['total']}: {a.get('load_error') or first.get('reason', '')}"[
                        :240
                    ]
                )
        else:
            counts["passes"] += 1
    print(f"{len(items)} problems: {dict(counts.most_common())}")


if __name__ == "__main__":
    main()
