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

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence

sys.path.insert(0, str(Path(__file__).parent))


def main(argv: list[str] | None = None) -> None:
    from efficiency_coverage import accepted_problems, problem_args

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    problem_args(ap)
    args = ap.parse_args(argv)
    items = accepted_problems(args, ap)
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
