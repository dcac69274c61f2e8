"""Run a judge over CodePrefBench tasks by the benchmark's protocol, resumably.

Protocol: comments and docstrings are stripped from both codes for the three verifiable
categories (code that does not parse stays as is) and kept for human preference; each category has
one fixed criterion sentence. With `both_orders`, every task is judged again with the codes swapped.
Every judgment is appended to `judgments.jsonl` as soon as its batch returns; a restarted run skips
the (task, order) keys already there, so a kill at any moment loses and duplicates nothing. The folder
follows `codefavor.run_folder`: its settings (judge, prompt version, data checksums, comment
stripping) are compared whole on restart; the split, the task count and the orders are info. A run
over more categories than before extends the folder (the checksums of the categories both runs
read must agree; the new ones are added), so `bench --category X` and then a full `bench` share one.
`evaluate` is the whole `codefavor bench`: load and limit the tasks, run, summarize, write the summaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codefavor.benchmark.importers import Columns, Digest
from codefavor.codetools import strip_comments
from codefavor.engines import LOCAL, EngineSpec, built, map_batches
from codefavor.errors import CodefavorError
from codefavor.judges import Judge, PairItem, Verdict
from codefavor.perturb import STEPS as PERTURB_KINDS
from codefavor.perturb import perturb, seed_for
from codefavor.prompts import CRITERIA, PROMPT_VERSION
from codefavor.records import (
    CATEGORIES,
    VERIFIABLE,
    BenchTask,
    Category,
    JsonlAppender,
    Judgment,
    Order,
    done_ids,
    read_records,
)
from codefavor.run_folder import (
    close_run,
    open_run,
    read_manifest,
    save_manifest,
    write_json_atomic,
    write_text_atomic,
)

JUDGMENTS = "judgments.jsonl"
SPLITS = ("dev", "test", "all")


@dataclass(frozen=True)
class BenchProtocol:
    """How the benchmark presents its tasks: orders, comment stripping, and the split judged."""

    both_orders: bool = False
    strip_comments: bool = True  # for the verifiable categories; human preference always keeps them
    split: str = "all"
    perturb: tuple[str, ...] = ()  # semantics-preserving edits (`codefavor.perturb`) after the stripping

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise CodefavorError(f"`split` {self.split!r}: expected dev, test or all")
        bad = [k for k in self.perturb if k not in PERTURB_KINDS]
        if bad:
            raise CodefavorError(f"`perturb` {','.join(bad)!r}: expected some of {', '.join(PERTURB_KINDS)}")


def present(task: BenchTask, order: Order, protocol: BenchProtocol = BenchProtocol()) -> PairItem:
    """The judge's view of a task in one order, with the protocol's comment stripping applied."""
    codes = list(task.choices)
    if protocol.strip_comments and task.category in VERIFIABLE:
        codes = [strip_comments(c) for c in codes]
    if protocol.perturb:  # seeded by task and position: both orders see the same edited codes
        codes = [perturb(c, protocol.perturb, seed_for(f"{task.id}:{i}")) for i, c in enumerate(codes)]
    a, b = (codes[0], codes[1]) if order == "AB" else (codes[1], codes[0])
    return PairItem(
        instruction=task.instruction, a=a, b=b, criterion=CRITERIA[task.category], category=task.category, id=task.id
    )


def limit_per_category(tasks: Sequence[BenchTask], limit: int | None) -> list[BenchTask]:
    """The first `limit` tasks of each category, in file order (all of them when `limit` is None)."""
    if limit is None:
        return list(tasks)
    if limit < 1:
        raise CodefavorError(f"`limit` {limit}: expected at least 1 task per category (or no limit for all)")
    seen: dict[str, int] = {}
    kept = []
    for t in tasks:
        if seen.get(t.category, 0) < limit:
            kept.append(t)
            seen[t.category] = seen.get(t.category, 0) + 1
    return kept


@dataclass(frozen=True)
class JudgeStage:
    """A judge over bench tasks as a stage (`codefavor.engines`): (task, order) -> verdict, the task
    presented by the protocol where it runs; the judge (or its recipe) built there."""

    judge: Any
    protocol: BenchProtocol = BenchProtocol()

    def setup(self) -> Callable[[list[tuple[BenchTask, Order]]], list[Verdict]]:
        judge = built(self.judge)
        return lambda rows: judge.judge([present(t, o, self.protocol) for t, o in rows])


def _failed(row: tuple[BenchTask, Order], why: str) -> Verdict:
    """The verdict of a task a remote engine could not judge: undecided, with why."""
    return Verdict(decision="undecided", error=why)


def run_bench(
    judge: Judge,
    tasks: Sequence[BenchTask],
    out_dir: str | Path,
    *,
    protocol: BenchProtocol = BenchProtocol(),
    data_sha256: dict[str, str] | None = None,
    data_read: dict[str, Any] | None = None,
    seed: int = 0,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    engine: EngineSpec = LOCAL,
) -> list[Judgment]:
    """Judge every (task, order) not yet in `out_dir`, appending as it goes; return this run's
    judgments for `tasks` (old and new), one per (task, order). `engine` says where the judge runs.

    `on_start(total, already_done)` and `progress(done_now, newly_judged)` let a caller draw a bar.
    """
    out = Path(out_dir)
    # What must match for a restarted run to continue the same experiment; the seed is recorded only.
    settings = {
        "judge": judge.spec,
        "prompt_version": PROMPT_VERSION,
        "data_sha256": dict(data_sha256 or {}),
        "strip_comments": protocol.strip_comments,
    }
    if protocol.perturb:
        settings["perturb"] = list(protocol.perturb)
    settings = _extend_folder(out, settings, overwrite)
    info: dict[str, Any] = {"seed": seed, "split": protocol.split, "n_tasks": len(tasks)}
    if data_read is not None:  # the user's files actually read: sha256 and rows of each, and overall
        info["data"] = data_read
    manifest = open_run(out, "bench", settings, info, overwrite=overwrite)
    # Orders only grow: a run that judged both orders once keeps saying so.
    manifest["info"]["both_orders"] = protocol.both_orders or manifest["info"].get("both_orders", False)
    if data_read is not None:
        manifest["info"]["data"] = data_read
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
    # still written batch by batch, in order, here, whatever engine judged them.
    in_flight = max(1, int(getattr(judge, "concurrent_batches", 1)))
    chunks = (todo[i : i + bs] for i in range(0, len(todo), bs))
    stage = JudgeStage(judge, protocol)
    with JsonlAppender(jpath) as sink:
        done = 0
        for chunk, verdicts in map_batches(engine, stage, chunks, failed=_failed, in_flight=in_flight):
            if len(verdicts) != len(chunk):
                raise RuntimeError(f"judge {judge.spec!r} returned {len(verdicts)} verdicts for {len(chunk)} items")
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
    close_run(out, manifest, finished=True)
    return load_judgments(out, tasks, orders, judge.spec)


def _extend_folder(out: Path, settings: dict[str, Any], overwrite: bool) -> dict[str, Any]:
    """The settings of this invocation, with the data checksums of a run already in `out` merged in
    when that run is the same experiment over other categories: every other setting equal and the
    checksums agreeing on each category both read. The folder's manifest then records the union, so
    the whole-settings comparison of `open_run` accepts it; anything else is left to that comparison."""
    old = None if overwrite else read_manifest(out)
    if old is None or old.get("kind") != "bench":
        return settings
    before = old.get("settings", {})
    others = {k: v for k, v in settings.items() if k != "data_sha256"}
    old_shas, new_shas = before.get("data_sha256"), settings["data_sha256"]
    if {k: v for k, v in before.items() if k != "data_sha256"} != others or not isinstance(old_shas, dict):
        return settings
    if any(old_shas.get(c, sha) != sha for c, sha in new_shas.items()):
        return settings
    merged = {**old_shas, **new_shas}
    if merged != old_shas:
        old["settings"] = {**before, "data_sha256": merged}
        save_manifest(out, old)
    return {**settings, "data_sha256": merged}


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


@dataclass
class BenchResult:
    """What `evaluate` returns: the summary (also in RUN/summary.json), the run folder, the tasks judged."""

    summary: dict[str, Any]
    out: Path
    tasks: list[BenchTask]


def perturbed_output(out: Path, kinds: Sequence[str]) -> Path:
    """The run folder of a perturbed run beside `out`: OUT+perturb-rename-comments..."""
    return out.with_name(f"{out.name}+perturb-{'-'.join(kinds)}")


def default_output(judge_spec: str) -> Path:
    """The run folder of a judge when none is given: runs/bench/<the spec as a file name>."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", judge_spec).strip("_")[:80] or "run"
    return Path("runs") / "bench" / slug


def evaluate(
    judge: Judge,
    *,
    categories: Sequence[str] | None = None,
    data: str | Path | None = None,
    limit: int | None = None,
    protocol: BenchProtocol = BenchProtocol(),
    output: str | Path | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    tasks_files: Sequence[str | Path] = (),
    columns: Columns | None = None,
    perturb: Sequence[str] = (),
    engine: EngineSpec = LOCAL,
) -> BenchResult:
    """Evaluate `judge` on CodePrefBench (or the user's data at `data`) by the benchmark's protocol,
    resumably: the first `limit` tasks of each category, judged into `output` (default
    `default_output(judge.spec)`), then `summary.json` and `summary.md` written beside the judgments."""
    from codefavor.benchmark import data as bench_data
    from codefavor.benchmark.report import robustness, summarize, to_markdown
    from codefavor.judges.evidence import sharing_measurements

    cats = tuple(categories or CATEGORIES)
    for c in cats:
        if c not in CATEGORIES:
            raise CodefavorError(f"`category` {c!r}: expected one of {', '.join(CATEGORIES)}")
    limit_per_category([], limit)  # a bad limit fails before any data is read
    if perturb:  # bad kinds fail before any data is read; the comparison needs both orders
        protocol = BenchProtocol(True, protocol.strip_comments, protocol.split)
        BenchProtocol(perturb=tuple(perturb))
    chosen: tuple[Category, ...] = cats  # type: ignore[assignment]
    user = [Path(f) for f in tasks_files]
    if data is not None and not bench_data.is_release(data):
        user.insert(0, Path(data))
    loaded: list[BenchTask] = []
    shas: dict[str, str] = {}
    digest = Digest()
    release = data is not None and bench_data.is_release(data) or (data is None and not user)
    if release:
        loaded += bench_data.load_tasks(chosen, data, split=protocol.split)
        shas.update({c: bench_data.FILES[c][1] for c in chosen})
    for src in user:  # the user's own files: what was read is what the run folder records
        loaded += bench_data.load_user_tasks(src, chosen, protocol.split, columns, digest)
    if user:
        shas["user-data"] = digest.sha256
    tasks = limit_per_category(loaded, limit)
    out = Path(output) if output is not None else default_output(judge.spec)
    # one measurement per program for the whole run: both orders and the edited codes read it
    judge = sharing_measurements(judge)
    judgments = run_bench(
        judge, tasks, out, protocol=protocol, data_sha256=shas, overwrite=overwrite, progress=progress,
        on_start=on_start, data_read=digest.as_dict() if user else None, engine=engine,
    )  # fmt: skip
    summary = summarize(tasks, judgments)
    dataset = " + ".join(["CodePrefBench"] * release + ["user data"] * bool(user))  # the tables' titles
    summary.update(judge=judge.spec, split=protocol.split, both_orders=protocol.both_orders, run_dir=str(out),
                   dataset=dataset)  # fmt: skip
    if perturb:
        # The same tasks, both orders, edited without changing their meaning: a sibling run folder
        # (resumable like this one), compared judgment by judgment with this run's.
        edited = BenchProtocol(True, protocol.strip_comments, protocol.split, tuple(perturb))
        pout = perturbed_output(out, edited.perturb)
        pjudgments = run_bench(judge, tasks, pout, protocol=edited, data_sha256=shas, overwrite=overwrite,
                               progress=progress, on_start=on_start, data_read=digest.as_dict() if user else None,
                               engine=engine)  # fmt: skip
        summary["perturb"] = {"kinds": list(edited.perturb), "run_dir": str(pout),
                              "categories": robustness(tasks, judgments, pjudgments)}  # fmt: skip
    write_json_atomic(out / "summary.json", summary)
    title = f"{dataset}: {judge.spec} ({protocol.split})"
    write_text_atomic(out / "summary.md", to_markdown(summary, title) + "\n")
    return BenchResult(summary, out, tasks)
