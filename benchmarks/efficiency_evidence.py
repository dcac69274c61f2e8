"""Efficiency evidence alone on CodePrefBench's efficiency category: accuracy, decided count, precision, wall time.

Each task is judged once in the benchmark's order with comments stripped (the protocol), by timing
both candidates on the instruction's scaled-up examples in the sandbox. Accuracy counts an
undecided task as half (the benchmark's rule); precision is over the decided tasks only.
The rules were tuned on the dev split; report the test split.

    PYTHONPATH=src python benchmarks/efficiency_evidence.py --split test
    PYTHONPATH=src python benchmarks/efficiency_evidence.py --split dev --split test --raw runs/eff-raw.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from codefavor.benchmark.data import load_tasks
    from codefavor.benchmark.runner import present
    from codefavor.evidence.efficiency import EfficiencyConfig, compare_efficiency, sandbox_runner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", action="append", choices=["dev", "test", "all"], help="repeatable; default test")
    ap.add_argument("--data", default=None, help="folder with the CodePrefBench files (default: $CODEFAVOR_DATA)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N tasks of each split")
    ap.add_argument("--raw", type=Path, default=None, help="write one JSON line per task (decision and measurements)")
    args = ap.parse_args(argv)

    config = EfficiencyConfig()
    runner = sandbox_runner()
    raw = open(args.raw, "w", encoding="utf-8") if args.raw else None
    for split in args.split or ["test"]:
        tasks = load_tasks(("efficiency",), args.data, split=split)[: args.limit]
        t0 = time.perf_counter()
        right = decided = undecided = 0
        reasons: Counter[str] = Counter()
        for task in tasks:
            item = present(task, "AB")
            t1 = time.perf_counter()
            ev = compare_efficiency(item.instruction, item.a, item.b, config, runner)
            truth = "AB"[task.gt_choice]
            reasons[ev.reason] += 1
            if ev.decision == "undecided":
                undecided += 1
            else:
                decided += 1
                right += ev.decision == truth
            if raw:
                row = {"split": split, "task": task.id, "task_id": task.task_id, "truth": truth, **ev.to_dict()}
                raw.write(json.dumps({**row, "wall_s": round(time.perf_counter() - t1, 3)}) + "\n")
                raw.flush()
        wall = time.perf_counter() - t0
        n = len(tasks)
        accuracy = 100 * (right + 0.5 * undecided) / max(n, 1)
        precision = 100 * right / max(decided, 1)
        print(
            f"{split}: tasks {n}  accuracy {accuracy:.1f}  decided {decided} ({100 * decided / max(n, 1):.0f}%)  "
            f"precision {precision:.1f}  wall {wall:.0f} s ({wall / max(n, 1):.2f} s/task)"
        )
        print(f"  reasons: {dict(reasons.most_common())}")
    if raw:
        raw.close()


if __name__ == "__main__":
    main()
