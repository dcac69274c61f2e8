"""Run a judge over CodePrefBench tasks by the benchmark's protocol, resumably.

Protocol: comments and docstrings are stripped from both codes for the three verifiable
categories (code that does not parse stays as is) and kept for human preference; each category has
one fixed criterion sentence. With `both_orders`, every task is judged again with the codes swapped.
Every judgment is appended to `judgments.jsonl` as soon as its batch returns; a restarted run skips
the (task, order) keys already there, so a kill at any moment loses and duplicates nothing.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codefavor import __version__
from codefavor.codetools import strip_comments
from codefavor.errors import CodefavorError
from codefavor.judges import Judge, PairItem, Verdict
from codefavor.prompts import CRITERIA, PROMPT_VERSION
from codefavor.records import VERIFIABLE, BenchTask, JsonlAppender, Judgment, Order, done_ids, read_records

JUDGMENTS = "judgments.jsonl"
MANIFEST = "manifest.json"


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


def _manifest_key(m: dict[str, Any]) -> dict[str, Any]:
    # What must match for a restarted run to continue the same experiment.
    return {k: m.get(k) for k in ("judge", "prompt_version", "data_sha256", "strip_comments")}


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest: dict[str, Any] = {
        "judge": judge.spec,
        "prompt_version": PROMPT_VERSION,
        "data_sha256": data_sha256 or {},
        "strip_comments": protocol.strip_comments,
        "seed": seed,
        "codefavor_version": __version__,
    }
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if _manifest_key(old) != _manifest_key(manifest):
            raise CodefavorError(
                f"{out} holds a run with other settings ({_manifest_key(old)}); "
                "use another --output folder or --overwrite"
            )
        manifest = {**old, **{k: v for k, v in manifest.items() if k != "started_at"}}
    manifest.setdefault("started_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    manifest.update(
        both_orders=protocol.both_orders or manifest.get("both_orders", False),
        split=protocol.split,
        n_tasks=len(tasks),
        finished_at=None,
    )
    _write_json_atomic(manifest_path, manifest)

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
    manifest["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    _write_json_atomic(manifest_path, manifest)
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
