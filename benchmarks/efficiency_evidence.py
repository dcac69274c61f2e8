"""Efficiency evidence alone on CodePrefBench's efficiency category: accuracy, decided count, precision, wall time.

Each task is judged once in the benchmark's order with comments stripped (the protocol), by timing
both candidates on the instruction's scaled-up examples in the sandbox, through the evidence
judge's hook (several tasks at once, as `codefavor bench` does). Accuracy counts an undecided task
as half (the benchmark's rule); precision is over the decided tasks only. The rules were tuned on
the dev split; report the test split. `--set KNOB=VALUE` overrides an `EfficiencyConfig` knob.

Measured (2026-11-26, load average 4, defaults): dev 96.2 (150 of 160 decided, precision 99.3,
4.2 s); test 91.9 (181 of 192 decided, precision 94.5, 5.0 s).

    PYTHONPATH=src python benchmarks/efficiency_evidence.py --split test
    PYTHONPATH=src python benchmarks/efficiency_evidence.py --split dev --split test --raw runs/eff-raw.jsonl
    PYTHONPATH=src python benchmarks/efficiency_evidence.py --split dev --set decisive_ratio=2 --set max_rounds=3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from codefavor.benchmark.data import load_tasks
    from codefavor.benchmark.runner import present
    from codefavor.evidence import EvidenceOptions
    from codefavor.evidence.efficiency import EfficiencyConfig, efficiency_evidence
    from codefavor.evidence.sandbox import default_sandbox

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", action="append", choices=["dev", "test", "all"], help="repeatable; default test")
    ap.add_argument("--data", default=None, help="folder with the CodePrefBench files (default: $CODEFAVOR_DATA)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N tasks of each split")
    ap.add_argument("--raw", type=Path, default=None, help="write one JSON line per task (decision and measurements)")
    ap.add_argument("--set", action="append", default=[], metavar="KNOB=VALUE", help="override a config knob")
    args = ap.parse_args(argv)

    config = EfficiencyConfig()
    for kv in args.set:
        knob, _, value = kv.partition("=")
        old = getattr(config, knob)
        new = tuple(int(x) for x in value.split(",")) if isinstance(old, tuple) else type(old)(value)
        config = dataclasses.replace(config, **{knob: new})
    default_sandbox().run("pass", [])  # the pool's start is not part of the figures
    raw = open(args.raw, "w", encoding="utf-8") if args.raw else None
    for split in args.split or ["test"]:
        tasks = load_tasks(("efficiency",), args.data, split=split)[: args.limit]
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        items = [present(t, "AB") for t in tasks]
        evs = efficiency_evidence(
            [(i.instruction, i.a, i.b) for i in items], EvidenceOptions(efficiency_config=config)
        )
        wall = time.perf_counter() - t0
        right = decided = undecided = 0
        reasons: Counter[str] = Counter()
        for task, ev in zip(tasks, evs, strict=True):
            truth = "AB"[task.gt_choice]
            measured = ev.details["efficiency"]
            reasons[measured["reason"]] += 1
            if ev.decision == "undecided":
                undecided += 1
            else:
                decided += 1
                right += ev.decision == truth
            if raw:
                row = {"split": split, "task": task.id, "task_id": task.task_id, "truth": truth,
                       "decision": ev.decision, **measured}  # fmt: skip
                raw.write(json.dumps(row) + "\n")
        n = len(tasks)
        accuracy = 100 * (right + 0.5 * undecided) / max(n, 1)
        precision = 100 * right / max(decided, 1)
        print(
            f"{split}: tasks {n}  accuracy {accuracy:.1f}  decided {decided} ({100 * decided / max(n, 1):.0f}%)  "
            f"precision {precision:.1f}  wall {wall:.1f} s ({wall / max(n, 1):.3f} s/task)  "
            f"load {load0:.1f} -> {os.getloadavg()[0]:.1f}"
        )
        print(f"  reasons: {dict(reasons.most_common())}")
    if raw:
        raw.close()


if __name__ == "__main__":
    main()
