"""The generator run: one engine around a per-item function, over one run-folder layout.

Both generators are a pure-ish function from a batch of seeds to one `Outcome` per seed
(`commit_instruct.converse`, `critic_evol.evolve`), wrapped in a picklable stage: it reads nothing of
the run folder, so any engine of `codefavor.engines` can map it (in this process, or on Ray workers).
This module is what makes such a stage a resumable run; results are written here, in the driver, as
each batch comes back, whatever engine ran it (files after `codefavor.run_folder`):

  manifest.json    kind, settings (compared whole on restart), info; the layout format is checked
  outcomes.jsonl   one line per seed attempt: id, attempt, status, reason, what the work recorded
                   (conversations, checks) and the pair when kept. The line is the commit point.
  pairs.jsonl      the kept `PreferencePair`s, derived from outcomes.jsonl: written after each
                   outcome, and healed from it on restart when a kill fell between the two writes
  funnel.json      counts per stage over the selected seeds, rewritten at the end of every run

A seed is done when it has an outcome; with `retry_errors` (the default) a seed whose last outcome
is a backend error runs again and its new line supersedes the old. Seeds are taken in source order,
deduplicated by id, and `limit` counts the first N of them, finished ones included. A pair whose id
was already kept (the same change from two forks) is recorded as a duplicate, not kept twice.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from codefavor.engines import LOCAL, EngineSpec, Inline, Stage, map_batches
from codefavor.errors import DataError
from codefavor.generators.inputs import check_limit
from codefavor.records import JsonlAppender, PreferencePair, iter_json, repair_tail, write_records
from codefavor.run_folder import close_run, open_run, write_json_atomic

OUTCOMES, PAIRS, FUNNEL = "outcomes.jsonl", "pairs.jsonl", "funnel.json"
KEPT, DUPLICATE = "kept", "duplicate"
RETRY_ERRORS = True  # backend failures are usually transient: a rerun retries them unless told not to


class Item(Protocol):
    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Outcome:
    """The fate of one seed: a terminal `status`, why, the pair when kept, and what the work recorded."""

    id: str
    status: str
    reason: str = ""
    pair: PreferencePair | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def line(self, attempt: int) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "attempt": attempt, "status": self.status, "reason": self.reason}
        out.update(self.details)
        if self.pair is not None:
            out["pair"] = json.loads(self.pair.to_json())
        return out


@dataclass(frozen=True)
class GeneratorSpec:
    """What the engine needs to know of a generator's outcomes."""

    kind: str  # the manifest kind and the pairs' `source`
    statuses: tuple[str, ...]  # every terminal status, "kept" and "duplicate" included
    errors: tuple[str, ...]  # backend failures: redone on resume with retry_errors
    explained: tuple[str, ...] = ()  # statuses whose reasons the funnel groups
    extra_fields: tuple[str, ...] = ()  # outcome fields the funnel reads besides status and reason


@dataclass
class RunProgress:
    """Where a run stands, after each batch: `done` counts selected seeds with an outcome."""

    total: int | None  # seeds to select, when known up front
    selected: int = 0
    done: int = 0
    new: Counter[str] = field(default_factory=Counter)  # outcomes written by this run, by status


@dataclass
class RunResult:
    """What a run returns: the funnel over its selected seeds, where it wrote, and warnings to show."""

    funnel: dict[str, Any]
    out_dir: Path
    warnings: list[str] = field(default_factory=list)


Funnel = Callable[[Sequence[str], Mapping[str, dict[str, Any]]], dict[str, Any]]


def run_items(
    spec: GeneratorSpec,
    items: Iterable[Item],
    out_dir: str | Path,
    process: Stage | Callable[[list[Any]], list[Any]],
    *,
    settings: dict[str, Any],
    funnel: Funnel,
    info: dict[str, Any] | None = None,
    batch_size: int = 32,
    limit: int | None = None,
    retry_errors: bool = RETRY_ERRORS,
    overwrite: bool = False,
    warnings: Sequence[str] = (),
    progress: Callable[[RunProgress], None] | None = None,
    engine: EngineSpec = LOCAL,
    prepare: Callable[[list[Any]], list[Any]] | None = None,
    receive: Callable[[list[Any], list[Any]], list[Outcome]] | None = None,
    failed: Callable[[Any, str], Any] | None = None,
) -> RunResult:
    """Run `process` over every selected seed without an outcome in `out_dir`; return the funnel.

    `process` is a stage (`codefavor.engines`) or a plain batch function (this process only); the
    `engine` maps it. `prepare` turns a batch of seeds into the rows sent (default: the seeds),
    `receive` the results of a batch into its outcomes (default: the results are the outcomes), both
    in this process, around the engine; `failed(row, why)` is the result of a row the engine could not
    run (default: the seed's last error status, so a rerun retries it)."""
    check_limit(limit)
    out = Path(out_dir)
    run_info = {**(info or {}), "limit": limit, "batch_size": batch_size, "retry_errors": retry_errors}
    if not engine.in_process:
        run_info["engine"] = {"name": engine.name, "address": engine.address, "workers": engine.workers}
    manifest = open_run(out, spec.kind, settings, run_info, overwrite=overwrite)
    log = _OutcomeLog(out, spec)
    known = len(items) if isinstance(items, Sequence) else None
    state = RunProgress(total=known if limit is None or known is None else min(known, limit))
    selected: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    bs = max(1, batch_size)
    stage = process if hasattr(process, "setup") else Inline(process)  # type: ignore[arg-type]

    def batches() -> Iterator[list[Any]]:
        """The seeds to do, a batch at a time, pulled by the engine when it has room."""
        nonlocal duplicates
        batch: list[Any] = []
        for item in [] if limit == 0 else items:
            if item.id in seen:
                duplicates += 1  # e.g. the same commit reached from two forks or revisions
                continue
            seen.add(item.id)
            selected.append(item.id)
            state.selected += 1
            if log.finished(item.id, retry_errors):
                state.done += 1
            else:
                batch.append(item)
                if len(batch) >= bs:
                    yield batch
                    batch = []
            if limit is not None and len(selected) >= limit:
                break  # before pulling the next seed, so a lazy source (mining) stops here too
        if batch:
            yield batch

    def rows() -> Iterator[list[Any]]:
        for batch in batches():
            pending.append(batch)
            yield prepare(batch) if prepare else batch

    def crashed(row: Any, why: str) -> Outcome:
        return Outcome(row.id, spec.errors[-1], why, details={"engine_error": why})

    pending: deque[list[Any]] = deque()  # the seeds behind each batch of rows, oldest first
    with JsonlAppender(out / OUTCOMES) as outcomes, JsonlAppender(out / PAIRS) as pairs:
        for _, results in map_batches(engine, stage, rows(), failed=failed or crashed):
            batch = pending.popleft()
            got = receive(batch, results) if receive else results
            if len(got) != len(batch):
                raise RuntimeError(f"{spec.kind}: {len(got)} outcomes for {len(batch)} seeds")
            for item, outcome in zip(batch, got, strict=True):
                assert outcome.id == item.id and outcome.status in spec.statuses, outcome
                state.new[log.commit(outcome, outcomes, pairs)] += 1
                state.done += 1
            if progress:
                progress(state)
        if progress:
            progress(state)  # also when nothing was left to do: the bar learns how far the folder is
    result = funnel(selected, log.latest)
    result["this_run"] = {
        "seeds_taken": len(selected),
        "already_done": len(selected) - sum(state.new.values()),
        "duplicates": duplicates,
        "new_outcomes": dict(state.new),
        "pairs_healed": log.healed,
    }
    result["warnings"] = list(warnings)
    write_json_atomic(out / FUNNEL, result)
    close_run(out, manifest, finished=result.get("pending") == 0, n_selected=len(selected))
    return RunResult(result, out, list(warnings))


class _OutcomeLog:
    """The outcomes of a run folder as the engine needs them: the last one per seed (slim) and the
    kept pair ids; opening it heals pairs.jsonl from the outcome lines."""

    def __init__(self, out: Path, spec: GeneratorSpec):
        self.spec = spec
        self.latest: dict[str, dict[str, Any]] = {}
        self.attempts: Counter[str] = Counter()
        kept: dict[str, dict[str, Any]] = {}  # pair id -> pair, in commit order
        path = out / OUTCOMES
        if path.exists():
            repair_tail(path)
            keep = ("status", "reason", *spec.extra_fields)
            for o in iter_json(path):
                sid = str(o["id"])
                self.attempts[sid] += 1
                self.latest[sid] = {k: o[k] for k in keep if k in o}
                if o["status"] == KEPT:
                    kept[o["pair"]["id"]] = o["pair"]
        self.pair_ids = set(kept)
        self.healed = _heal_pairs(out / PAIRS, kept)

    def finished(self, sid: str, retry_errors: bool) -> bool:
        o = self.latest.get(sid)
        return o is not None and not (retry_errors and o["status"] in self.spec.errors)

    def commit(self, outcome: Outcome, outcomes: JsonlAppender, pairs: JsonlAppender) -> str:
        """Write one outcome (the commit point), then its pair; return the status written."""
        if outcome.status == KEPT and outcome.pair is not None and outcome.pair.id in self.pair_ids:
            outcome = replace(outcome, status=DUPLICATE, reason=f"pair {outcome.pair.id} already kept", pair=None)
        self.attempts[outcome.id] += 1
        outcomes.write(outcome.line(self.attempts[outcome.id]))
        if outcome.status == KEPT and outcome.pair is not None:
            pairs.write(outcome.pair)
            self.pair_ids.add(outcome.pair.id)
        self.latest[outcome.id] = {"status": outcome.status, "reason": outcome.reason} | {
            k: outcome.details[k] for k in self.spec.extra_fields if k in outcome.details
        }
        return outcome.status


def _heal_pairs(path: Path, kept: dict[str, dict[str, Any]]) -> int:
    """Make pairs.jsonl hold exactly the kept pairs; return how many pair lines were written.

    A kill between an outcome line and its pair line leaves pairs missing at the end: they are
    appended. Anything else that does not match (a hand-edited file) is rebuilt from the outcomes.
    """
    present: list[str] = []
    if path.exists():
        repair_tail(path)
        present = [str(p.get("id")) for p in iter_json(path)]
    if present == list(kept)[: len(present)]:
        missing = list(kept.values())[len(present) :]
        if missing:
            with JsonlAppender(path) as sink:
                for p in missing:
                    sink.write(p)
        return len(missing)
    return write_records(path, kept.values())


class CacheFile:
    """A JSONL side file of records by seed id, appended as soon as each is made, so a seed redone
    after a kill (or after a backend error) reuses what it had already paid for (Critic-Evol's drafts).
    Only an index of line offsets stays in memory; the file is opened on first use, once the run
    folder has been checked. The last record of an id wins; records with an `error` are not kept."""

    def __init__(self, path: Path):
        self.path = path
        self._offsets: dict[str, int] | None = None
        self._sink: JsonlAppender | None = None

    def _open(self) -> dict[str, int]:
        offsets: dict[str, int] = {}
        if self.path.exists():
            repair_tail(self.path)
            with open(self.path, "rb") as f:
                pos = 0
                for lineno, line in enumerate(f, start=1):
                    if line.strip():
                        try:
                            offsets[str(json.loads(line)["id"])] = pos  # a later draft supersedes
                        except (ValueError, KeyError, TypeError):
                            raise DataError(str(self.path), lineno, "not a cached record with an id") from None
                    pos += len(line)
        self._sink = JsonlAppender(self.path)
        self._offsets = offsets
        return offsets

    def get(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        offsets = self._offsets if self._offsets is not None else self._open()
        wanted = [i for i in ids if i in offsets]
        out: dict[str, dict[str, Any]] = {}
        if wanted:
            with open(self.path, "rb") as f:
                for sid in wanted:
                    f.seek(offsets[sid])
                    rec = json.loads(f.readline())
                    rec.pop("id", None)
                    out[sid] = rec
        return out

    def add(self, drafts: dict[str, dict[str, Any]]) -> None:
        offsets = self._offsets if self._offsets is not None else self._open()
        assert self._sink is not None
        for sid, rec in drafts.items():
            if rec.get("error") is None:  # a failed call is redone, not reused
                offsets[sid] = self.path.stat().st_size
                self._sink.write({"id": sid, **rec})

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()


def reason_key(reason: str) -> str:
    """Group reasons by kind: drop the specifics (syntax error text, quoted values)."""
    key = reason.split(" (")[0].split(" '")[0]
    for kind in ("unparseable", "unknown verdict", "pair "):
        if kind in key:
            key = key[: key.index(kind) + len(kind)].strip()
    return key[:80]


def count_outcomes(
    spec: GeneratorSpec, ids: Sequence[str], latest: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The funnel every generator shares, over the selected seeds `ids`: how many, how many have an
    outcome, one count per terminal status, and the grouped reasons of the `explained` statuses.
    Also returns those seeds' outcomes, for the generator's own rows."""
    mine = [latest[i] for i in ids if i in latest]
    status = Counter(o["status"] for o in mine)
    f: dict[str, Any] = {"seeds": len(ids), "processed": len(mine), "pending": len(ids) - len(mine)}
    for key in spec.statuses:
        f[key] = status.get(key, 0)
    reasons: dict[str, Counter[str]] = {}
    for o in mine:
        if o["status"] in spec.explained:
            reasons.setdefault(o["status"], Counter())[reason_key(o.get("reason") or "")] += 1
    f["reasons"] = {k: dict(v.most_common()) for k, v in reasons.items()}
    f["keep_rate"] = round(f[KEPT] / f["processed"], 4) if f["processed"] else None
    assert sum(status.values()) == f["processed"], "every processed seed has one status"
    return f, mine


def print_funnel(
    title: str, rows: Sequence[tuple[str, int]], total: int, notes: Sequence[str] = (), console: Any = None
) -> None:
    """A funnel as a rich table: one row per stage with its share of `total`, then notes."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=title)
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("%", justify="right")
    for label, n in rows:
        table.add_row(label, str(n), f"{100.0 * n / (total or 1):.1f}")
    console.print(table)
    for note in notes:
        console.print(note)
