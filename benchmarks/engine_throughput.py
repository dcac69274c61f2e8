"""Items per second of the stages through the local engine and through Ray (extra `ray`).

Critic-Evol (a draft call and a critic call per item) and Commit-Instruct (three turns per seed) talk
to the stub server (`codefavor.testing.stub_server`, its own process) answering every request after
`--latency` seconds; the evidence judge runs hand-written bench tasks (correctness examples in the
sandbox, Bandit, a style pair), both orders. Each stage runs into a fresh run folder on:

  local      the default engine, one batch at a time (batches of `--batch-size`)
  local xW   the default engine with batches W times as large: as many requests in flight as Ray has
  ray W      W Ray workers (actors), each taking batches of `--batch-size`, on a local cluster
             started once (`ray.init(num_cpus=W)`; its start-up time is printed, not counted)

and prints items/s and the ratio to `local`. `ray W` counts everything after `ray.init`, starting the
actors included; `... steady` is the rate once the first wave of batches is back (one batch per Ray worker, one batch
locally; items done since, over the time since; shown when at least another wave followed), which
leaves out starting the actors and their backends (generators only: a worker runs one batch at a
time there, so the waves come back one batch-time apart; the evidence judge runs several at once). With LLM calls that wait on a server, W workers keep W
batches in flight: the point is that nothing serialises (Ray at least matches a local run with as many
requests in flight). The evidence judge is CPU-bound, so on this 2-core machine expect parity at best.

    PYTHONPATH=src python benchmarks/engine_throughput.py                      # 0.5 s latency, 2 workers
    PYTHONPATH=src python benchmarks/engine_throughput.py --items 128 --workers 4 --latency 1
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

F = "`" * 3
REVIEW = (
    "## Reflection\nThe loop builds the string quadratically.\n\n## Verdict\nimprove\n\n## Criterion\n"
    f"The code reverses the string in linear time.\n\n## Revision\n{F}python\ndef rev(s):\n    return s[::-1]\n{F}\n\n"
    "## Feedback\n[DRAFT] prepends in a loop; [REVISION] uses one slice."
)
LOOP = f"{F}python\ndef rev(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out\n{F}"


def critic_evol(url: str, out: Path, n: int, batch: int, engine, ticks: list) -> float:
    """Seconds for `n` items."""
    from codefavor.backends import load_backend
    from codefavor.engines import rebuildable
    from codefavor.generators import critic_evol as ce
    from codefavor.generators.instructions import Seed

    seeds = [Seed(f"item-{k}", f"Write `rev(s)` that reverses a string (variant {k}).") for k in range(n)]
    draft = rebuildable(load_backend, "openai:stub-draft", base_url=url, cache=False)
    critic = rebuildable(load_backend, "openai:stub-critic", base_url=url, cache=False)
    settings = ce.Settings(draft="openai:stub-draft", critic="openai:stub-critic", decontaminate=False)
    checker = rebuildable(ce.exec_checker, enabled=False)
    t = time.perf_counter()
    r = ce.run_critic_evol(
        seeds, out, critic=critic, draft=draft, settings=settings, exec_checker=checker, batch_size=batch,
        engine=engine, progress=lambda st: ticks.append((time.perf_counter(), st.done)),
    )  # fmt: skip
    assert r.funnel["processed"] == n and r.funnel["draft_error"] == r.funnel["critic_error"] == 0, r.funnel
    return time.perf_counter() - t


def commit_instruct(url: str, out: Path, n: int, batch: int, engine, ticks: list) -> float:
    """Seconds for `n` items."""
    from codefavor.backends import load_backend
    from codefavor.engines import rebuildable
    from codefavor.generators import commit_instruct as ci
    from codefavor.generators.mining import CommitSeed

    seeds = [
        CommitSeed(
            repo="example/proj",
            commit=f"{k:040x}",
            path="stats.py",
            message="Fix mean on empty input",
            old_code=f"def mean{k}(xs):\n    return sum(xs) / len(xs)\n",
            new_code=f"def mean{k}(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n",
        )  # fmt: skip
        for k in range(n)
    ]
    backend = rebuildable(load_backend, "openai:stub", base_url=url, cache=False)
    settings = ci.Settings("openai:stub", decontaminate=False)
    t = time.perf_counter()
    r = ci.run_commit_instruct(
        seeds, backend, out, settings=settings, batch_size=batch, engine=engine,
        progress=lambda st: ticks.append((time.perf_counter(), st.done)),
    )  # fmt: skip
    assert r.funnel["processed"] == n and r.funnel["backend_error"] == 0, r.funnel
    return time.perf_counter() - t


def bench_tasks(n: int) -> list:
    from codefavor.records import BenchTask

    sort = (
        f'{F}python\ndef sort_desc(xs):\n    """Sort descending.\n    >>> sort_desc([1, 3, 2])\n    [3, 2, 1]\n'
        f'    >>> sort_desc([])\n    []\n    """\n{F}'
    )
    good, wrong = (
        "def sort_desc(xs):\n    return sorted(xs, reverse=True)",
        "def sort_desc(xs):\n    return sorted(xs)",
    )
    shell = "import subprocess\ndef run(c):\n    return subprocess.check_output(c, shell=True)"
    safe = "import subprocess, shlex\ndef run(c):\n    return subprocess.check_output(shlex.split(c))"
    out = []
    for k in range(n):  # each task its own text, so nothing is shared between them
        kind = k % 3
        if kind == 0:
            t = BenchTask(task_id=f"s{k}", instruction=sort + f"\n# {k}", choices=(good, wrong), gt_choice=0,
                          category="correctness")  # fmt: skip
        elif kind == 1:
            t = BenchTask(task_id=f"r{k}", instruction=f"Run a shell command ({k}).", choices=(shell, safe),
                          gt_choice=1, category="security")  # fmt: skip
        else:
            t = BenchTask(task_id=f"h{k}", instruction=f"Add two numbers ({k}).",
                          choices=("def f(a,b): return a+b", "def f(a, b):\n    return a + b"), gt_choice=1,
                          category="human-preference")  # fmt: skip
        out.append(t)
    return out


def evidence(out: Path, n: int, engine, ticks: list) -> float:
    """Seconds for `n` tasks, both orders."""
    from codefavor.benchmark.runner import BenchProtocol, run_bench
    from codefavor.engines import rebuildable
    from codefavor.judges import load_judge

    tasks = bench_tasks(n)
    judge = rebuildable(load_judge, "evidence")
    t = time.perf_counter()
    js = run_bench(
        judge, tasks, out, protocol=BenchProtocol(both_orders=True), engine=engine,
        progress=lambda done, _: ticks.append((time.perf_counter(), done / 2)),
    )  # fmt: skip
    assert len(js) == 2 * n and all(j.error is None for j in js)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=64, help="items per generator run")
    p.add_argument("--tasks", type=int, default=150, help="bench tasks for the evidence judge (x2 orders, 64 a batch)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()

    import ray

    from codefavor.engines import EngineSpec
    from codefavor.testing import stub_server

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    w, bs = a.workers, a.batch_size
    engines = [("local", EngineSpec(), bs), (f"local x{w}", EngineSpec(), bs * w), (f"ray {w}", None, bs)]
    ci_stub, ci_url = stub_server.start(["--latency", str(a.latency), "--reply", "YES"])
    ce_stub, ce_url = stub_server.start(["--latency", str(a.latency), "--reply", REVIEW])
    t = time.perf_counter()
    src = str(Path(__file__).resolve().parents[1] / "src")  # the workers import codefavor from here too
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False)
    print(f"ray.init(num_cpus={w}): {time.perf_counter() - t:.1f} s (not counted); load {os.getloadavg()[0]:.1f}")
    results: dict[str, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for stage, run, n, unit in (
                ("critic-evol", lambda o, e, b, t: critic_evol(ce_url, o, a.items, b, e, t), a.items, "items/s"),
                (
                    "commit-instruct",
                    lambda o, e, b, t: commit_instruct(ci_url, o, a.items, b, e, t),
                    a.items,
                    "items/s",
                ),
                ("evidence judge", lambda o, e, b, t: evidence(o, a.tasks, e, t), a.tasks, "tasks/s"),
            ):
                row: dict[str, float] = {}
                for name, engine, b in engines:
                    if stage == "evidence judge" and name.startswith("local x"):
                        continue  # the judge picks its own batch size
                    ticks: list[tuple[float, float]] = []
                    folder = Path(tmp) / f"{stage}-{name}".replace(" ", "_")
                    row[name] = n / run(folder, engine or EngineSpec("ray", workers=w), b, ticks)
                    # Once the first wave of batches is back (one per Ray worker, one locally): the rate
                    # with everything started, shown when at least another wave followed.
                    # Not for the judge: it runs several batches at once per worker, so work behind
                    # the first wave has already started and the figure would overstate.
                    first_wave = (w if engine is None else 1) * b
                    first = next((t for t in ticks if t[1] >= first_wave), ticks[-1])
                    last = ticks[-1]
                    if stage != "evidence judge" and last[0] > first[0] and last[1] - first[1] >= first_wave:
                        row[f"{name} steady"] = (last[1] - first[1]) / (last[0] - first[0])
                results[stage] = row
                base = row["local"]
                cells = ", ".join(f"{k} {v:.2f} {unit} ({v / base:.2f}x)" for k, v in row.items())
                print(f"{stage}: {cells}", flush=True)
    finally:
        ray.shutdown()
        for proc in (ci_stub, ce_stub):
            proc.terminate()
            proc.wait()
    print(json.dumps({"latency_s": a.latency, "batch_size": bs, "workers": w, "items": a.items, "tasks": a.tasks,
                      "load_after": round(os.getloadavg()[0], 1), "results": results}))  # fmt: skip


if __name__ == "__main__":
    main()
