"""Render time and size of `codefavor report` for whole-benchmark runs (targets: < 5 s, < 5 MB).

Times the command end to end in a fresh process (interpreter start, imports, reading the run
folders and the benchmark, bootstrap, figures, compression, writing): once with an empty cache
(the compressed plotly.js is made once per plotly version), then `--repeat` times; prints each
time, the page size, and both as shares of the targets. Without run folders it first makes one
whole-benchmark run with both orders (2,728 judgments) of `--judge` (default: the default judge)
in a temporary folder, which takes about 30-60 s on 2 cores.

    python benchmarks/report_speed.py --data ../shared/data/codeprefbench
    python benchmarks/report_speed.py --data ../shared/data/codeprefbench runs/bench/evidence runs/bench/shorter
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S, TARGET_MB = 5.0, 5.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", help="bench run folders (default: make one)")
    ap.add_argument("--data", default=None, help="folder with the CodePrefBench files")
    ap.add_argument("--judge", default=None, help="judge of the run made when no folder is given")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    exe = shutil.which("codefavor", path=os.path.dirname(sys.executable)) or "codefavor"
    data = ["--data", args.data] if args.data else []
    tmp = Path(tempfile.mkdtemp(prefix="report-speed-"))
    try:
        runs = list(args.runs)
        if not runs:
            run = tmp / "run"
            t0 = time.perf_counter()
            cmd = [exe, "bench", "--both-orders", "--output", str(run), "--json", *data]
            subprocess.run(
                cmd + (["--judge", args.judge] if args.judge else []), check=True, stdout=subprocess.DEVNULL
            )
            print(f"made a both-orders run in {time.perf_counter() - t0:.1f} s: {run}")
            runs = [str(run)]
        from codefavor.benchmark.analysis import load_runs

        loaded = load_runs(runs, data_dir=args.data)
        n = sum(len(r.judgments) for r in loaded)
        print(
            f"runs: {', '.join(r.name for r in loaded)}; {n} judgments of {len({t.id for r in loaded for t in r.tasks})} tasks"
        )
        out = tmp / "report.html"
        # An empty library cache: the first render also compresses plotly.js (once per plotly version).
        env = {**os.environ, "CODEFAVOR_REPORT_CACHE": str(tmp / "cache")}
        times, cpu = [], []
        for _ in range(1 + args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            cmd = [exe, "report", *runs, "--output", str(out), *data]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        size_mb = out.stat().st_size / 1e6
        cold, warm = times[0], times[1:]
        print(
            f"render (codefavor report, fresh process): cold cache {cold:.2f} s, then "
            + ", ".join(f"{t:.2f}" for t in warm)
        )
        # On a shared machine the wall time includes waiting for a core; CPU time is the work itself.
        print("CPU time (user + sys) of the same renders: " + ", ".join(f"{c:.2f}" for c in cpu) + " s")
        print(
            f"as a share of the {TARGET_S:.0f} s target: cold {cold / TARGET_S:.2f}, best {min(warm) / TARGET_S:.2f}, "
            f"worst {max(warm) / TARGET_S:.2f}"
        )
        print(f"page {size_mb:.2f} MB = {size_mb / TARGET_MB:.2f} of the {TARGET_MB:.0f} MB target")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
