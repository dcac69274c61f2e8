"""Critic-Evol: a weak model drafts, a stronger critic looks for a real weakness and revises.

One story, top to bottom: load instructions (JSONL, Parquet or a `datasets` dataset) -> draft each one
with the weak model unless a response is given -> sanitize the draft to its solution code -> ask the
critic for a reflection and, only when it sees a significant weakness, a criterion, a revision and
feedback -> parse and validate -> optional execution check against examples in the instruction ->
decontaminate against CodePrefBench -> keep (draft = rejected, revision = chosen).

Run folder (everything appended as it happens, so a kill -9 at any moment loses and duplicates nothing):
  manifest.json    the settings; a restart with different settings is refused
  drafts.jsonl     drafts made by the draft model, reused on restart (never drafted twice)
  outcomes.jsonl   one line per instruction: status, reason, the conversations, and the pair when kept
  pairs.jsonl      the kept `PreferencePair`s (rebuilt from outcomes if a kill fell between the writes)
  funnel.json      counts per stage, recomputed from outcomes.jsonl at the end of every run
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from codefavor import __version__
from codefavor.backends import Backend, Generation, Message, Sampling
from codefavor.codetools import strip_comments
from codefavor.errors import CodefavorError, DataError
from codefavor.generators.decontam import Decontaminator
from codefavor.generators.sanitize import sanitize, strip_reasoning
from codefavor.prompts import render, template
from codefavor.records import JsonlAppender, PreferencePair, Provenance, content_id, iter_json, repair_tail

SOURCE = "critic-evol"
EXAMPLES = ("good_enough", "bug_fix", "efficiency", "security", "concise")
MANIFEST, DRAFTS, OUTCOMES, PAIRS, FUNNEL = (
    "manifest.json",
    "drafts.jsonl",
    "outcomes.jsonl",
    "pairs.jsonl",
    "funnel.json",
)

Status = Literal[
    "missing_draft",  # no response in the input and no --draft model
    "draft_error",  # the draft backend failed
    "draft_rejected",  # sanitizing found no usable code in the draft
    "critic_error",  # the critic backend failed
    "good_enough",  # the critic saw no significant weakness (a normal outcome, not a failure)
    "unparseable",  # the critic's answer does not follow the layout (malformed or truncated)
    "invalid",  # parsed, but the revision or feedback fails validation
    "exec_inconsistent",  # --require-exec-consistency: the revision fails examples the draft passes
    "contaminated",  # a code nearly duplicates a CodePrefBench candidate
    "duplicate",  # the same pair was already kept for another instruction
    "kept",
]
ERROR_STATUSES = ("draft_error", "critic_error")


def prompt_version() -> str:
    """Changes whenever any critic template changes, so old and new runs are never mixed."""
    names = ["critic_draft", "critic_review", *(f"critic_example_{e}" for e in EXAMPLES)]
    return "critic-v1-" + content_id(*(template(n) for n in names))[:8]


# ---------------------------------------------------------------------------------------------
# inputs


@dataclass(frozen=True)
class Seed:
    """One instruction to evolve; `response` is an existing first attempt when the input has one."""

    id: str
    instruction: str
    response: str | None = None


def _seed_from(obj: dict[str, Any], where: tuple[str, int], fields: tuple[str, str, str]) -> Seed:
    instr_f, resp_f, id_f = fields
    instruction = obj.get(instr_f)
    if not isinstance(instruction, str) or not instruction.strip():
        raise DataError(where[0], where[1], "missing or empty (expected a non-empty string)", field=instr_f)
    response = obj.get(resp_f)
    if response is not None and not isinstance(response, str):
        raise DataError(where[0], where[1], f"expected a string, got {type(response).__name__}", field=resp_f)
    raw_id = obj.get(id_f)
    sid = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id) else content_id("seed", instruction)
    return Seed(sid, instruction, response if response and response.strip() else None)


def _rows(
    path: Path | None, hf_dataset: str | None, hf_split: str, columns: list[str]
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    if hf_dataset:
        try:
            import datasets
        except ImportError as e:
            raise CodefavorError(
                "--hf-dataset needs 'datasets'; install it with: pip install 'codefavor[data]'"
            ) from e
        try:
            ds = datasets.load_dataset(hf_dataset, split=hf_split)
        except Exception as e:  # the library raises many types (offline, missing split, bad files)
            raise CodefavorError(
                f"--hf-dataset {hf_dataset!r} (split {hf_split!r}) could not be loaded: {e}"
            ) from None
        for i, row in enumerate(ds, start=1):
            yield f"{hf_dataset}[{hf_split}]", i, dict(row)
        return
    assert path is not None
    if not path.exists():
        raise DataError(str(path), None, "no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError for non-parquet files
            raise DataError(str(path), None, f"not a readable Parquet file ({e})") from None
        wanted = [c for c in columns if c in pf.schema_arrow.names]
        row = 0
        for batch in pf.iter_batches(columns=wanted, batch_size=4096):
            for rec in batch.to_pylist():
                row += 1
                yield str(path), row, rec
        return
    for obj in iter_json(path):
        yield str(path), obj.pop("__line__"), obj


def load_seeds(
    path: str | Path | None = None,
    *,
    hf_dataset: str | None = None,
    hf_split: str = "train",
    instruction_field: str = "instruction",
    response_field: str = "response",
    id_field: str = "id",
    stats: Counter[str] | None = None,
) -> list[Seed]:
    """Read instructions; a bad row raises one `DataError` naming file, line (or row) and field.

    Rows repeating an id with the same instruction are skipped and counted in `stats["duplicate_inputs"]`;
    an id reused for a different instruction is an error (resume could not tell the two apart).
    """
    if (path is None) == (hf_dataset is None):
        raise CodefavorError("give exactly one of --input FILE or --hf-dataset NAME")
    fields = (instruction_field, response_field, id_field)
    seeds: list[Seed] = []
    first_seen: dict[str, tuple[int, str]] = {}
    for src, line, obj in _rows(Path(path) if path else None, hf_dataset, hf_split, list(fields)):
        seed = _seed_from(obj, (src, line), fields)
        if seed.id in first_seen:
            prev_line, prev_instr = first_seen[seed.id]
            if prev_instr != seed.instruction:
                raise DataError(src, line, f"duplicate id {seed.id!r} (also on line {prev_line})", field=id_field)
            if stats is not None:
                stats["duplicate_inputs"] += 1
            continue
        first_seen[seed.id] = (line, seed.instruction)
        seeds.append(seed)
    return seeds


def parse_shard(spec: str) -> tuple[int, int]:
    """`"i/n"` -> (i, n) with 0 <= i < n."""
    try:
        i_s, n_s = spec.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise CodefavorError(f"--shard {spec!r}: expected I/N, e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise CodefavorError(f"--shard {spec!r}: need 0 <= I < N")
    return i, n


def select(seeds: Sequence[Seed], shard: tuple[int, int] | None = None, limit: int | None = None) -> list[Seed]:
    """The shard's seeds (by a stable hash of the id, so shards never overlap), then the first `limit`."""
    out = list(seeds)
    if shard is not None:
        i, n = shard
        out = [s for s in out if int(hashlib.sha256(s.id.encode()).hexdigest()[:8], 16) % n == i]
    return out[:limit] if limit is not None else out


# ---------------------------------------------------------------------------------------------
# prompts


def draft_messages(instruction: str) -> list[Message]:
    return [{"role": "user", "content": render("critic_draft", instruction=instruction.strip())}]


def example_order(seed_id: str, shots: int = len(EXAMPLES), seed: int = 0) -> list[str]:
    """The few-shot examples for one item: a deterministic shuffle keyed by the item id, so position
    biases average out across items but a rerun shows each item the same prompt."""
    order = list(EXAMPLES)
    random.Random(f"{seed}:{seed_id}").shuffle(order)
    return order[:shots]


def critic_messages(instruction: str, draft: str, examples: Sequence[str]) -> list[Message]:
    shots = "\n\n".join(template(f"critic_example_{e}").strip() for e in examples)
    text = render("critic_review", examples=shots, instruction=instruction.strip(), draft=draft.strip("\n"))
    return [{"role": "user", "content": text}]


# ---------------------------------------------------------------------------------------------
# parsing the critic (pure; never raises)

_HEADING = re.compile(
    r"^\s*(?P<mark>#{1,6}\s*|\*\*|\[)?\s*(?P<name>reflection|verdict|criterion|criteria|revision|revised code|"
    r"improved code|second attempt|feedback)\s*(?:\*\*|\])?\s*(?P<colon>:)?\s*(?:\*\*)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_SECTION_ALIASES = {
    "criteria": "criterion",
    "revised code": "revision",
    "improved code": "revision",
    "second attempt": "revision",
}
_REJECTED_TAG = re.compile(r"\[\s*(?:draft|attempt[ _-]?1|first[ _]attempt|original)\s*\]", re.IGNORECASE)
_CHOSEN_TAG = re.compile(r"\[\s*(?:revision|revised|attempt[ _-]?2|second[ _]attempt|improved)\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Review:
    """The critic's answer: `verdict` is "improve", "good_enough" or "unparseable" (with `reason`)."""

    verdict: Literal["improve", "good_enough", "unparseable"]
    reason: str = ""
    reflection: str = ""
    criterion: str = ""
    revision: str = ""  # the raw text of the Revision section (fence included)
    feedback: str = ""


def _heading(line: str) -> tuple[str, str] | None:
    """(section name, text after the heading) when `line` is a section heading, else None."""
    m = _HEADING.match(line)
    if m is None:
        return None
    mark, rest = (m.group("mark") or "").strip(), m.group("rest").strip()
    # "## Reflection", "**Verdict:** improve", "[FEEDBACK] ...", "Criterion: ..."; not prose that
    # merely starts with one of the words ("Feedback is welcome").
    if not (m.group("colon") or mark == "[" or (mark and not rest)):
        return None
    name = m.group("name").lower()
    if mark == "[" and name == "revision":
        return None  # "[REVISION]" is the tag the feedback uses for the second attempt
    return _SECTION_ALIASES.get(name, name), rest


def _sections(text: str) -> dict[str, str]:
    """Split the answer on headings outside code fences (a `# feedback` comment in code is not one);
    a heading seen before is read as text of the current section."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = found.setdefault("preamble", [])
    in_fence = False
    for line in text.splitlines():
        head = None if in_fence else _heading(line)
        if head is not None and head[0] not in found:
            name, rest = head
            current = found[name] = [rest] if rest else []
            continue
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in found.items()}


def parse_review(text: str) -> Review:
    """Parse the critic's answer into a `Review`; malformed and truncated answers become "unparseable"."""
    text = strip_reasoning(text or "")
    if not text.strip():
        return Review("unparseable", "empty answer")
    sec = _sections(text)
    # Some models open with their reflection and no heading; accept it when a verdict follows.
    reflection = sec.get("reflection") or (sec.get("preamble", "") if "verdict" in sec else "")
    verdict_text = sec.get("verdict", "").strip().strip("`*").lower()
    has_body = any(k in sec for k in ("criterion", "revision", "feedback"))
    if not reflection:
        return Review("unparseable", "no reflection section")
    if not verdict_text:
        reason = "truncated: no verdict" if not has_body else "no verdict section"
        return Review("unparseable", reason, reflection)
    first = verdict_text.splitlines()[0]
    improve = any(w in first for w in ("improve", "not good", "needs", "revise"))
    good = not improve and ("good enough" in first or "no change" in first or first.startswith("good"))
    if good and not has_body:
        return Review("good_enough", "", reflection)
    if good:
        return Review("unparseable", "verdict is good enough but a revision follows", reflection)
    if not improve:
        return Review("unparseable", f"unknown verdict {first[:40]!r}", reflection)
    missing = [k for k in ("criterion", "revision", "feedback") if not sec.get(k)]
    if missing:
        return Review("unparseable", f"truncated: missing {', '.join(missing)}", reflection)
    revision = sec["revision"]
    if revision.count("```") % 2 == 1:
        return Review("unparseable", "truncated: unclosed code fence in the revision", reflection)
    criterion = " ".join(sec["criterion"].split())
    return Review("improve", "", reflection, criterion, revision, sec["feedback"].strip())


def normalize_feedback(feedback: str) -> str:
    """Rename the critic's attempt tags to the pair's [REJECTED]/[CHOSEN] tags."""
    return _CHOSEN_TAG.sub("[CHOSEN]", _REJECTED_TAG.sub("[REJECTED]", feedback))


def _same_code(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return a.strip() == b.strip()


# ---------------------------------------------------------------------------------------------
# execution check hook (examples written in the instruction)


@dataclass(frozen=True)
class ExecResult:
    """Whether one code passes the runnable examples of its instruction; `passed` is None when unknown
    (no examples, or the checker could not run)."""

    passed: bool | None
    n_examples: int = 0
    n_passed: int = 0
    detail: str = ""
    passed_examples: tuple[str, ...] = ()  # names of the examples this code passed


class ExecChecker:
    """Runs the examples an instruction carries (doctest lines, asserts, `f(x) -> y`) against candidate
    codes. This base finds nothing to run (`--no-exec`); `SandboxChecker` is the real one."""

    def check_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[ExecResult]]:
        """For each (instruction, codes) item, one result per code."""
        return [[ExecResult(None, 0, 0, "no execution checker") for _ in codes] for _, codes in items]


class SandboxChecker(ExecChecker):
    """The instruction's examples run on every code in the sandbox, through the same
    `codefavor.evidence.correctness.run_examples` the correctness evidence uses (one entry-point rule,
    one example parser, all codes of a batch at once). A sandbox failure makes the result unknown
    (None), never a failed check."""

    def __init__(self, timeout: float = 2.0):
        from codefavor.evidence.sandbox import Limits, default_sandbox

        self._sandbox = default_sandbox()
        self._limits = Limits(cpu_s=timeout, wall_s=2 * timeout, check_s=timeout)

    def probe(self) -> str | None:
        """None when the sandbox runs a trivial check correctly, else why not."""
        from codefavor.evidence.sandbox import Check, SandboxError

        try:
            r = self._sandbox.run("def one():\n    return 1", [Check("one()", expected=1)], self._limits)
        except (SandboxError, OSError) as e:
            return f"{type(e).__name__}: {e}"
        return None if r.passed else (r.load_error or r.exit or "the probe check failed")

    def check_many(self, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[ExecResult]]:
        """Every code of every item goes to the sandbox in one batch, so its workers stay busy."""
        from codefavor.evidence.correctness import run_examples
        from codefavor.evidence.examples import extract_checks
        from codefavor.evidence.sandbox import SandboxError

        try:
            ran = run_examples(items, self._sandbox, self._limits, only_with_examples=True)
        except (SandboxError, OSError) as e:
            unknown = []
            for ins, codes in items:
                n = len(extract_checks(ins).checks)
                why = f"sandbox unavailable: {e}" if n else "no runnable examples"
                unknown.append([ExecResult(None, n, 0, why) for _ in codes])
            return unknown
        out: list[list[ExecResult]] = []
        for (_, codes), (ex, runs) in zip(items, ran, strict=True):
            if not ex.checks:
                out.append([ExecResult(None, 0, 0, "no runnable examples") for _ in codes])
            else:
                out.append([self._result(r, len(ex.checks)) for r in runs])
        return out

    @staticmethod
    def _result(r: Any, n: int) -> ExecResult:
        failed = [f"{c.name}: {c.status}" for c in r.checks if not c.passed]
        detail = r.load_error or ("timed out" if r.timed_out else "; ".join(failed)[:300])
        return ExecResult(r.passed, n, r.n_passed, detail, tuple(c.name for c in r.checks if c.passed))


# ---------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class Settings:
    """Everything that changes the output; stored in the manifest and compared on restart."""

    draft: str | None
    critic: str
    redraft: bool = False
    shots: int = len(EXAMPLES)
    seed: int = 0
    draft_sampling: Sampling = Sampling(temperature=0.8, max_tokens=1024)
    critic_sampling: Sampling = Sampling(temperature=0.5, max_tokens=2048)
    require_exec_consistency: bool = False
    decontaminate: bool = True
    prompt_version: str = field(default_factory=prompt_version)


def same_model_warning(draft: str | None, critic: str) -> str | None:
    """The paper found that one model in both roles filters more drafts and trains worse judges."""
    if draft is None:
        return None

    def model(spec: str) -> str:
        return spec.partition(":")[2].rstrip("/").lower() or spec

    if draft == critic or model(draft) == model(critic):
        return (
            f"draft and critic are the same model ({draft!r}); self-critique judges more drafts good enough "
            "and gave worse judges in the paper. Use a stronger critic than the draft model."
        )
    return None


@dataclass
class RunResult:
    """What a run returns: the funnel over all its seeds, where it wrote, and warnings to show."""

    funnel: dict[str, Any]
    out_dir: Path
    warnings: list[str] = field(default_factory=list)


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _manifest(settings: Settings, out: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    new = {"settings": json.loads(json.dumps(asdict(settings))), "codefavor_version": __version__}
    path = out / MANIFEST
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("settings") != new["settings"]:
            diff = sorted(k for k in new["settings"] if old.get("settings", {}).get(k) != new["settings"][k])
            raise CodefavorError(
                f"{out} holds a run with other settings ({', '.join(diff)} differ); "
                "use another --output folder or --overwrite"
            )
        new = {**old, **new}
    new.setdefault("started_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    new.update(inputs=inputs, finished_at=None)
    _write_json_atomic(path, new)
    return new


def _conv(role: str, messages: list[Message], gen: Generation, model: str) -> dict[str, Any]:
    return {
        "role": role,
        "model": model,
        "messages": messages,
        "reply": gen.text,
        "usage": gen.usage,
        "latency_s": round(gen.latency_s, 4),
        "error": gen.error,
    }


# What the run reads back of each outcome (conversations stay on disk: 50k items would need GBs).
_SLIM = ("id", "status", "reason", "draft_source", "pair")
_FUNNEL_FIELDS = ("id", "status", "reason", "draft_source")


def _latest(path: Path, keep: Sequence[str] | None = None, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Last record per id in an append-only file (a retried error is superseded by its retry),
    holding only the `keep` fields and the `only` ids when given."""
    if not path.exists():
        return {}
    repair_tail(path)
    latest: dict[str, dict[str, Any]] = {}
    for obj in iter_json(path):
        obj.pop("__line__", None)
        if only is not None and str(obj["id"]) not in only:
            continue
        latest[str(obj["id"])] = {k: obj[k] for k in keep if k in obj} if keep else obj
    return latest


def run_critic_evol(
    seeds: Sequence[Seed],
    out_dir: str | Path,
    *,
    critic: Backend,
    draft: Backend | None = None,
    settings: Settings | None = None,
    decontaminator: Decontaminator | None = None,
    exec_checker: ExecChecker | None = None,
    batch_size: int = 32,
    retry_errors: bool = False,
    inputs: dict[str, Any] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Evolve every seed not yet recorded in `out_dir`; return the funnel over all `seeds`.

    Each seed gets exactly one outcome line (with `retry_errors`, a backend error is retried and its
    new line supersedes the old one). Backends receive whole batches and parallelise themselves.
    """
    settings = settings or Settings(draft=draft.spec if draft else None, critic=critic.spec)
    unique: dict[str, Seed] = {}
    for s in seeds:
        unique.setdefault(s.id, s)  # one item per id, first occurrence wins
    seeds = list(unique.values())
    if settings.decontaminate and decontaminator is None:
        raise CodefavorError("decontamination is on but no benchmark index was given (pass --no-decontam to skip)")
    checker = exec_checker or ExecChecker()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(settings, out, inputs or {})
    warnings = [w for w in [same_model_warning(settings.draft, settings.critic)] if w]

    outcomes = _latest(out / OUTCOMES, _SLIM)
    pair_ids = {str(p["id"]) for p in _latest(out / PAIRS, ("id",)).values()}
    with JsonlAppender(out / PAIRS) as pairs_sink:
        # A kill between an outcome line and its pair line: the outcome holds the pair; write it now.
        for o in outcomes.values():
            if o["status"] == "kept" and o["pair"]["id"] not in pair_ids:
                pairs_sink.write(o["pair"])
                pair_ids.add(o["pair"]["id"])
            o.pop("pair", None)  # on disk now; the funnel needs only the status

    def finished(s: Seed) -> bool:
        o = outcomes.get(s.id)
        return o is not None and not (retry_errors and o["status"] in ERROR_STATUSES)

    todo = [s for s in seeds if not finished(s)]
    todo_ids = {s.id for s in todo}
    drafts = _latest(out / DRAFTS, only=todo_ids)  # drafts made before a kill, reused
    if on_start:
        on_start(len(seeds), len(seeds) - len(todo))
    bs = max(1, batch_size)
    with (
        JsonlAppender(out / OUTCOMES) as out_sink,
        JsonlAppender(out / PAIRS) as pairs_sink,
        JsonlAppender(out / DRAFTS) as draft_sink,
    ):
        for start in range(0, len(todo), bs):
            chunk = todo[start : start + bs]
            records = _process(chunk, settings, draft, critic, drafts, draft_sink, decontaminator, checker, pair_ids)
            for rec in records:
                out_sink.write(rec)  # the outcome (holding the pair) first: it is the commit point
                outcomes[rec["id"]] = {k: rec[k] for k in _FUNNEL_FIELDS if k in rec}
                if rec["status"] == "kept":
                    pairs_sink.write(rec["pair"])
            if progress:
                progress(len(chunk))
    funnel = compute_funnel(seeds, outcomes)
    funnel["warnings"] = warnings
    _write_json_atomic(out / FUNNEL, funnel)
    manifest["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z") if funnel["pending"] == 0 else None
    _write_json_atomic(out / MANIFEST, manifest)
    return RunResult(funnel, out, warnings)


def _process(
    chunk: Sequence[Seed],
    settings: Settings,
    draft_backend: Backend | None,
    critic: Backend,
    drafts: dict[str, dict[str, Any]],
    draft_sink: JsonlAppender,
    decontaminator: Decontaminator | None,
    checker: ExecChecker,
    pair_ids: set[str],
) -> list[dict[str, Any]]:
    """One batch through every stage; returns one outcome record per seed, in order."""
    recs: dict[str, dict[str, Any]] = {
        s.id: {"id": s.id, "status": None, "reason": "", "conversations": []} for s in chunk
    }

    def finish(sid: str, status: Status, reason: str = "", **extra: Any) -> None:
        recs[sid].update(status=status, reason=reason, **extra)

    # 1. drafts: stored (from an earlier, killed run) > given in the input > generated now.
    texts: dict[str, str] = {}
    to_draft: list[Seed] = []
    for s in chunk:
        if s.id in drafts and drafts[s.id].get("error") is None:
            texts[s.id] = drafts[s.id]["reply"]
            recs[s.id]["draft_source"] = "generated"
            recs[s.id]["conversations"].append({k: v for k, v in drafts[s.id].items() if k != "id"})
        elif s.response is not None and not settings.redraft:
            texts[s.id] = s.response
            recs[s.id]["draft_source"] = "given"
        elif draft_backend is not None:
            to_draft.append(s)
        else:
            finish(s.id, "missing_draft", "no response in the input and no --draft model")
    if to_draft:
        assert draft_backend is not None
        convs = [draft_messages(s.instruction) for s in to_draft]
        gens = draft_backend.generate(convs, settings.draft_sampling)
        for s, conv, gen in zip(to_draft, convs, gens, strict=True):
            c = _conv("draft", conv, gen, draft_backend.spec)
            recs[s.id]["conversations"].append(c)
            recs[s.id]["draft_source"] = "generated"
            if gen.error is not None or not gen.texts:
                finish(s.id, "draft_error", gen.error or "no text")
                continue
            draft_sink.write({"id": s.id, **c})
            drafts[s.id] = {"id": s.id, **c}
            texts[s.id] = gen.text

    # 2. sanitize the drafts.
    codes: dict[str, str] = {}
    for s in chunk:
        if s.id not in texts:
            continue
        san = sanitize(texts[s.id])
        if san.code is None:
            finish(s.id, "draft_rejected", san.reason or "")
        else:
            codes[s.id] = san.code
            recs[s.id]["draft_dropped"] = list(san.dropped)

    # 3. critique, parse and validate.
    candidates: list[tuple[Seed, _Candidate]] = []
    to_critic = [s for s in chunk if s.id in codes]
    if to_critic:
        convs = [
            critic_messages(s.instruction, codes[s.id], example_order(s.id, settings.shots, settings.seed))
            for s in to_critic
        ]
        gens = critic.generate(convs, settings.critic_sampling)
        for s, conv, gen in zip(to_critic, convs, gens, strict=True):
            recs[s.id]["conversations"].append(_conv("critic", conv, gen, critic.spec))
            recs[s.id]["examples"] = example_order(s.id, settings.shots, settings.seed)
            if gen.error is not None or not gen.texts:
                finish(s.id, "critic_error", gen.error or "no text")
                continue
            candidate = _validate(codes[s.id], gen.text, recs[s.id])
            if candidate is not None:
                candidates.append((s, candidate))

    # 4. run the instructions' examples on both attempts of every surviving pair, in one sandbox batch.
    results = checker.check_many([(s.instruction, [c.rejected, c.chosen]) for s, c in candidates])
    for (s, c), (d_exec, r_exec) in zip(candidates, results, strict=True):
        _keep_or_drop(s, c, d_exec, r_exec, settings, recs[s.id], decontaminator, pair_ids)
    for rec in recs.values():
        assert rec["status"] is not None, rec
    return [recs[s.id] for s in chunk]


@dataclass(frozen=True)
class _Candidate:
    """A critic revision that passed validation, before the execution and contamination checks."""

    rejected: str
    chosen: str
    criterion: str
    feedback: str
    reflection: str


def _validate(draft_code: str, reply: str, rec: dict[str, Any]) -> _Candidate | None:
    """Parse the critic's answer and validate it; on failure, set the item's status and return None."""
    review = parse_review(reply)
    rec["reflection"] = review.reflection
    if review.verdict == "good_enough":
        rec.update(status="good_enough")
        return None
    if review.verdict == "unparseable":
        rec.update(status="unparseable", reason=review.reason)
        return None
    revised = sanitize(review.revision)
    if revised.code is None:
        rec.update(status="invalid", reason=f"revision: {revised.reason}")
        return None
    rejected, chosen = strip_comments(draft_code).strip("\n"), strip_comments(revised.code).strip("\n")
    if _same_code(rejected, chosen):
        rec.update(status="invalid", reason="revision does not differ from the draft")
        return None
    feedback = normalize_feedback(review.feedback)
    if "[CHOSEN]" not in feedback and "[REJECTED]" not in feedback:
        rec.update(status="invalid", reason="feedback does not refer to the attempts by their tags")
        return None
    if not review.criterion:
        rec.update(status="invalid", reason="empty criterion")
        return None
    return _Candidate(rejected, chosen, review.criterion, feedback, review.reflection)


def _keep_or_drop(
    seed: Seed,
    c: _Candidate,
    d_exec: ExecResult,
    r_exec: ExecResult,
    settings: Settings,
    rec: dict[str, Any],
    decontaminator: Decontaminator | None,
    pair_ids: set[str],
) -> None:
    """The last filters (execution consistency, contamination, duplicates); keep the pair if it passes."""
    rejected, chosen = c.rejected, c.chosen
    meta: dict[str, Any] = {"reflection": c.reflection, "draft_source": rec.get("draft_source")}
    if d_exec.n_examples or r_exec.n_examples:
        rec["exec"] = {"draft": asdict(d_exec), "revision": asdict(r_exec)}
        meta["exec"] = {"draft_passed": d_exec.passed, "revision_passed": r_exec.passed}
        regressed = sorted(set(d_exec.passed_examples) - set(r_exec.passed_examples))
        if regressed and r_exec.passed is not None:
            meta["exec"]["regressed"] = regressed
            if settings.require_exec_consistency:
                reason = f"the revision fails {len(regressed)} example(s) the draft passes"
                rec.update(status="exec_inconsistent", reason=reason)
                return
    if decontaminator is not None:
        hit, score, task_id = decontaminator.is_contaminated(chosen, rejected)
        if hit:
            rec.update(status="contaminated", reason=f"similarity {score:.1f} to CodePrefBench task {task_id}")
            return
    pair = PreferencePair(
        instruction=seed.instruction,
        chosen=chosen,
        rejected=rejected,
        criterion=c.criterion,
        feedback=c.feedback,
        source=SOURCE,
        provenance=Provenance(
            seed_id=seed.id,
            generator_models={"draft": settings.draft or "input", "critic": settings.critic},
            prompt_version=settings.prompt_version,
        ),
        meta=meta,
    )
    if pair.id in pair_ids:
        rec.update(status="duplicate", reason=f"pair {pair.id} already kept")
        return
    pair_ids.add(pair.id)
    rec.update(status="kept", pair=json.loads(pair.to_json()))


# ---------------------------------------------------------------------------------------------
# the funnel

FUNNEL_ROWS = (
    ("instructions", "instructions selected"),
    ("processed", "processed"),
    ("pending", "not yet processed"),
    ("missing_draft", "no draft (no response, no --draft)"),
    ("draft_error", "draft backend errors"),
    ("drafts_produced", "drafts produced"),
    ("draft_rejected", "drafts rejected by sanitizing"),
    ("critic_error", "critic backend errors"),
    ("critiqued", "drafts critiqued"),
    ("good_enough", "judged good enough"),
    ("unparseable", "critic answer unparseable"),
    ("invalid", "failed validation"),
    ("exec_inconsistent", "execution-inconsistent"),
    ("contaminated", "decontaminated (dropped)"),
    ("duplicate", "duplicate pairs"),
    ("kept", "pairs kept"),
)


def _reason_key(reason: str) -> str:
    """Group reasons by kind: drop the specifics (syntax error text, quoted values)."""
    key = reason.split(" (")[0].split(" '")[0]
    for kind in ("unparseable", "unknown verdict", "pair "):
        if kind in key:
            key = key[: key.index(kind) + len(kind)].strip()
    return key[:80]


# Every processed seed ends in exactly one of these.
TERMINAL_STATUSES = (
    "missing_draft",
    "draft_error",
    "draft_rejected",
    "critic_error",
    "good_enough",
    "unparseable",
    "invalid",
    "exec_inconsistent",
    "contaminated",
    "duplicate",
    "kept",
)


def compute_funnel(seeds: Sequence[Seed], outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts per stage over `seeds`; every processed seed has exactly one terminal status."""
    ids = [s.id for s in seeds]
    mine = [outcomes[i] for i in ids if i in outcomes]
    status = Counter(o["status"] for o in mine)
    f: dict[str, Any] = {"instructions": len(ids), "processed": len(mine), "pending": len(ids) - len(mine)}
    for key in TERMINAL_STATUSES:
        f[key] = status.get(key, 0)
    f["drafts_produced"] = f["processed"] - f["missing_draft"] - f["draft_error"]
    f["drafts_given"] = sum(1 for o in mine if o.get("draft_source") == "given")
    f["drafts_generated"] = f["drafts_produced"] - f["drafts_given"]
    f["critiqued"] = f["drafts_produced"] - f["draft_rejected"] - f["critic_error"]
    f["good_enough_rate"] = round(f["good_enough"] / f["critiqued"], 4) if f["critiqued"] else None
    f["keep_rate"] = round(f["kept"] / f["processed"], 4) if f["processed"] else None
    reasons: dict[str, Counter[str]] = {}
    for o in mine:
        if o["status"] in ("draft_rejected", "unparseable", "invalid", "draft_error", "critic_error"):
            reasons.setdefault(o["status"], Counter())[_reason_key(o["reason"])] += 1
    f["reasons"] = {k: dict(v.most_common()) for k, v in reasons.items()}
    assert sum(status.values()) == f["processed"], "every processed item has one status"
    return f


def print_funnel(funnel: dict[str, Any], console: Any = None) -> None:
    """The funnel as a rich table (stderr-safe: pass a Console of your choice)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Critic-Evol funnel")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_column("% of instructions", justify="right")
    total = funnel["instructions"] or 1
    for key, label in FUNNEL_ROWS:
        table.add_row(label, str(funnel[key]), f"{100.0 * funnel[key] / total:.1f}")
    console.print(table)
    if funnel.get("good_enough_rate") is not None:
        console.print(f"good-enough rate among critiqued drafts: {100.0 * funnel['good_enough_rate']:.1f}%")
    for status, counts in funnel.get("reasons", {}).items():
        top = ", ".join(f"{r} ({n})" for r, n in list(counts.items())[:4])
        console.print(f"[dim]{status}: {top}[/dim]")
