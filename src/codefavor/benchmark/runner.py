"""Run a judge over CodePrefBench tasks by the benchmark's protocol, resumably.

Protocol: comments and docstrings are stripped from both codes for the three verifiable
categories (code that does not parse stays as is) and kept for human preference; each category has
one fixed criterion sentence. With `both_orders`, every task is judged again with the codes swapped.
Every judgment is appended to `judgments.jsonl` as soon as its batch returns; a restarted run skips
the (task, order) keys already there, so a kill at any moment loses and duplicates nothing. The folder
follows `codefavor.run_folder`: its settings (judge, prompt version, data checksums, comment
stripping) are compared whole on restart; the split, the task count and the orders are info.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from codefavor.codetools import strip_comments
from codefavor.judges import Judge, PairItem, Verdict
from codefavor.prompts import CRITERIA, PROMPT_VERSION
from codefavor.records import VERIFIABLE, BenchTask, JsonlAppender, Judgment, Order, done_ids, read_records
from codefavor.run_folder import close_run, open_run, save_manifest

JUDGMENTS = "judgments.jsonl"


@dataclass(frozen=True)
class Protocol:
    both_orders: bool = False
    strip_comments: bool = True  # for the verifiable categories; human preference always keeps them
    split: str = "all"


def present(task: BenchTask, order: Order, protocol: Protocol = Protocol()) -> PairItem:
    """The judge's view of a task in one order, with the protocol's comment stripping applied."""
    codes = list(task.choices)
    if protocol.strip_comments and task.category in VERIFIABLE:
        codes = [strip_comments(c) for c in codes]
    a, b = (codes[0], codes[1]) if order == "AB" else (codes[1], codes[0])
    return PairItem(
        instruction=task.instruction, a=a, b=b, criterion=CRITERIA[task.category], category=task.category, id=task.id
    )


def limit_per_category(tasks: Sequence[BenchTask], limit: int | None) -> list[BenchTask]:
    """The first `limit` tasks of each category, in file order (all of them when `limit` is None)."""
    if limit is None:
        return list(tasks)
    seen: dict[str, int] = {}
    kept = []
    for t in tasks:
        if seen.get(t.category, 0) < limit:
            kept.append(t)
            seen[t.category] = seen.get(t.category, 0) + 1
    return kept


def run_bench(
    judge: Judge,
    tasks: Sequence[BenchTask],
    out_dir: str | Path,
    *,
    protocol: Protocol = Protocol(),
    data_sha256: dict[str, str] | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> list[Judgment]:
    """Judge every (task, order) not yet in `out_dir`, appending as it goes; return this run's
    judgments for `tasks` (old and new), one per (task, order).

    `on_start(total, already_done)` and `progress(done_now, newly_judged)` let a caller draw a bar.
    """
    out = Path(out_dir)
    # What must match for a restarted run to continue the same experiment; the seed is recorded only.
    settings = {
        "judge": judge.spec,
        "prompt_version": PROMPT_VERSION,
        "data_sha256": data_sha256 or {},
        "strip_comments": protocol.strip_comments,
    }
    manifest = open_run(out, "bench", settings, {"seed": seed, "split": protocol.split, "n_tasks": len(tasks)})
    # Orders only grow: a run that judged both orders once keeps saying so.
    manifest["info"]["both_orders"] = protocol.both_orders or manifest["info"].get("both_orders", False)
    save_manifest(out, manifest)

    orders: tuple[Order, ...] = ("AB", "BA") if protocol.both_orders else ("AB",)
    jpath = out / JUDGMENTS
    finished = done_ids(jpath)
    todo = []
    for t in tasks:
        for o in orders:
            key = Judgment(task_id=t.id, order=o, judge=judge.spec, decision="undecided").id
            if key not in finished:
                todo.append((t, o))
    total = len(tasks) * len(orders)
    if on_start:
        on_start(total, total - len(todo))
    bs = max(1, int(getattr(judge, "batch_size", 32)))
    # A judge may take several batches at once (`concurrent_batches`, e.g. the evidence judge, whose
    # work runs in a process pool): a slow item then holds up only its own batch, and results are
    # still written batch by batch, in order.
    in_flight = max(1, int(getattr(judge, "concurrent_batches", 1)))
    chunks = [todo[i : i + bs] for i in range(0, len(todo), bs)]
    pool = ThreadPoolExecutor(max_workers=in_flight) if in_flight > 1 else None
    try:
        with JsonlAppender(jpath) as sink:
            pending: deque[tuple[list[tuple[BenchTask, Order]], Future[list[Verdict]]]] = deque()
            queue = iter(chunks)

            def submit() -> None:
                chunk = next(queue, None)
                if chunk is not None:
                    items = [present(t, o, protocol) for t, o in chunk]
                    if pool is not None:
                        pending.append((chunk, pool.submit(judge.judge, items)))
                        return
                    future: Future[list[Verdict]] = Future()  # one at a time: in this thread
                    try:
                        future.set_result(judge.judge(items))
                    except BaseException as e:  # noqa: BLE001 - re-raised by result() below
                        future.set_exception(e)
                    pending.append((chunk, future))

            for _ in range(in_flight):
                submit()
            done = 0
            while pending:
                chunk, future = pending.popleft()
                verdicts = future.result()
                if len(verdicts) != len(chunk):
                    raise RuntimeError(
                        f"judge {judge.spec!r} returned {len(verdicts)} verdicts for {len(chunk)} items"
                    )
                for (t, o), v in zip(chunk, verdicts, strict=True):
                    sink.write(
                        Judgment(
                            task_id=t.id,
                            order=o,
                            judge=judge.spec,
                            decision=v.decision,
                            prob_a=v.prob_a,
                            signal=v.signal,
                            raw_output=v.raw_output,
                            details=v.details,
                            latency_s=v.latency_s,
                            usage=v.usage,
                            error=v.error,
                        )
                    )
                done += len(chunk)
                if progress:
                    progress(total - len(todo) + done, len(chunk))
                submit()  # after writing: a one-at-a-time judge must not delay the write by a batch
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)  # after an error: queued batches never start
    close_run(out, manifest, finished=True)
    return load_judgments(out, tasks, orders, judge.spec)


def load_judgments(
    out_dir: str | Path, tasks: Sequence[BenchTask], orders: Sequence[Order], judge_spec: str
) -> list[Judgment]:
    """The judgments in a run folder for these tasks and orders (first one wins on duplicates)."""
    wanted = {t.id for t in tasks}
    seen: dict[tuple[str, str], Judgment] = {}
    for j in read_records(Path(out_dir) / JUDGMENTS, Judgment):
        if j.task_id in wanted and j.order in orders and j.judge == judge_spec:
            seen.setdefault((j.task_id, j.order), j)
    return list(seen.values())
