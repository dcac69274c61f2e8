"""Wall time and per-signal counts of a judge (default: the default evidence judge) on CodePrefBench.

Runs the benchmark through the same runner as `codefavor bench` (fresh run folder, sandbox server
start included) and prints the wall time, each category's accuracy and, per signal, how many tasks
it decided and how many of those were right. The target: the whole benchmark (1,364 tasks) with the
default judge in at most 30 s on the shared 2-core machine.

Measured (2026-11-26, load average 4-5 from other jobs): all 19.3 s (correctness 87.3, efficiency
94.0, security 99.0); test 10.7 s (87.6, 92.2, 99.0); dev 8.8 s (87.1, 95.6, 99.1). `time codefavor
bench` on all tasks: 16.5-17.4 s. After the evidence redesign (one Evidence record, one entry-point
rule, timing through Sandbox.run_harness), load average 8-12: test 29 s (87.6, 92.7-93.2, 99.0);
dev 26 s (87.1, 96.2-96.9, 99.1); the same commands on the code before it, same load: test 35 s
(87.6, 94.3, 99.0), dev 32 s (87.1, 96.9, 99.1).

    PYTHONPATH=src CODEFAVOR_DATA=../shared/data/codeprefbench python benchmarks/evidence_speed.py --split test
    python benchmarks/evidence_speed.py --split dev --judge evidence+none
"""

from __future__ import annotations

import argparse
import tempfile
import time


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="all", choices=["dev", "test", "all"])
    ap.add_argument("--judge", default=None, help="judge spec (default: codefavor's DEFAULT_JUDGE)")
    ap.add_argument("--data", default=None, help="folder with the CodePrefBench files")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from codefavor.benchmark.data import load_tasks
    from codefavor.benchmark.report import summarize
    from codefavor.benchmark.runner import BenchProtocol, run_bench
    from codefavor.judges import DEFAULT_JUDGE, load_judge

    tasks = load_tasks(data_dir=args.data, split=args.split)
    judge = load_judge(args.judge or DEFAULT_JUDGE)
    with tempfile.TemporaryDirectory() as out:
        judgments = run_bench(judge, tasks, out, protocol=BenchProtocol(split=args.split))
    wall = time.perf_counter() - t0
    summary = summarize(tasks, judgments)
    print(f"judge {judge.spec}  split {args.split}  tasks {len(tasks)}  wall {wall:.1f} s")
    print(f"{'category':18s} {'n':>5s} {'accuracy':>9s}   signal: decided/right (of judgments)")
    for cat, c in summary["categories"].items():
        sigs = "  ".join(
            f"{s}: {v.get('decided', 0)}/{v.get('right', 0)} ({v.get('seen', 0)})" for s, v in c["signals"].items()
        )
        print(f"{cat:18s} {c['n']:5d} {c['accuracy']:9.1f}   {sigs}")
    print(f"Avg (correctness, efficiency, security): {summary['avg']:.1f}")


if __name__ == "__main__":
    main()
