"""Critic-Evol: a weak model drafts, a stronger critic looks for a real weakness and revises.

The story of one seed (`evolve`): take its draft (the input's response, or one the draft model made
in `make_drafts`) -> sanitize it to its solution code -> ask the critic for a reflection and, only
when it sees a significant weakness, a criterion, a revision and feedback -> parse and validate ->
optional execution check against examples in the instruction -> decontaminate against CodePrefBench
-> keep (draft = rejected, revision = chosen). `make_drafts` and `evolve` return what they made and
touch no file; `run_critic_evol` runs them over a resumable run folder (`engine`: the outcome line,
holding the conversations and the pair, is the commit point) plus drafts.jsonl, where every draft is
stored as soon as it is made, so an item redone after a kill is never drafted twice (on a remote
engine drafts are stored when their batch comes back, before its outcomes: only the batches in flight
at a kill are drafted again, and no draft is stored twice). `EvolveStage` is the two as one
stage that any engine of `codefavor.engines` maps.
"""

from __future__ import annotations

import ast
import dataclasses
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from codefavor.backends import Backend, Generation, Message, Sampling, split_spec
from codefavor.codetools import PARSE_ERRORS, strip_comments
from codefavor.engines import LOCAL, EngineSpec, built
from codefavor.errors import CodefavorError
from codefavor.generators import replies
from codefavor.generators.decontam import Decontaminator, check_decontaminator
from codefavor.generators.engine import (
    KEPT,
    RETRY_ERRORS,
    CacheFile,
    GeneratorSpec,
    Outcome,
    RunProgress,
    RunResult,
    count_outcomes,
    print_funnel,
    run_items,
)
from codefavor.generators.instructions import Seed
from codefavor.generators.replies import Review, normalize_tags, parse_review
from codefavor.generators.sanitize import sanitize
from codefavor.prompts import render, template
from codefavor.records import PreferencePair, Provenance

SOURCE = "critic-evol"
EXAMPLES = replies.CRITIC_EXAMPLES
DRAFTS = "drafts.jsonl"

Status = Literal[
    "missing_draft",  # no response in the input and no draft model
    "draft_error",  # the draft backend failed
    "refused",  # the server refused the request itself (e.g. longer than the model's context)
    "draft_rejected",  # sanitizing found no usable code in the draft
    "critic_error",  # the critic backend failed
    "good_enough",  # the critic saw no significant weakness (a normal outcome, not a failure)
    "unparseable",  # the critic's answer does not follow the layout (malformed or truncated)
    "invalid",  # parsed, but the revision or feedback fails validation
    "exec_inconsistent",  # require_exec_consistency: the revision fails examples the draft passes
    "contaminated",  # a code nearly duplicates a CodePrefBench candidate
    "duplicate",  # the same pair was already kept for another instruction
    "kept",
]
TERMINAL_STATUSES: tuple[str, ...] = get_args(Status)  # every processed seed ends in exactly one
ERROR_STATUSES = ("draft_error", "critic_error")
SPEC = GeneratorSpec(
    kind=SOURCE,
    statuses=TERMINAL_STATUSES,
    errors=ERROR_STATUSES,
    explained=("draft_rejected", "refused", "unparseable", "invalid", "draft_error", "critic_error"),
    extra_fields=("draft_source",),
)


def prompt_version() -> str:
    """Changes whenever any critic template changes, so old and new runs are never mixed."""
    return replies.prompt_version("critic", ["critic_draft", *replies.CRITIC_PROMPTS])


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


def _same_code(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except PARSE_ERRORS:
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


def exec_checker(enabled: bool = True, timeout: float = 2.0, required: bool = False) -> ExecChecker:
    """The execution check of a run: the sandbox (started lazily, on the first example) or none.
    When the check is `required` (require_exec_consistency), a sandbox that does not work here is an
    error now, not a run of unknown results."""
    if required and not enabled:
        raise CodefavorError("`require_exec_consistency=True` needs execution; drop `execute=False`")
    if not enabled:
        return ExecChecker()
    checker = SandboxChecker(timeout=timeout)
    problem = checker.probe() if required else None
    if problem:
        raise CodefavorError(f"`require_exec_consistency=True`: the sandbox does not work here ({problem})")
    return checker


# ---------------------------------------------------------------------------------------------
# settings


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
    decontam_threshold: float = 80.0
    prompt_version: str = field(default_factory=prompt_version)

    def __post_init__(self) -> None:
        if not 0 <= self.shots <= len(EXAMPLES):
            raise CodefavorError(f"`shots` {self.shots}: expected 0 to {len(EXAMPLES)}")
        if self.redraft and self.draft is None:
            raise CodefavorError("redrafting needs a `draft` model")


def needs_draft(seed: Seed, settings: Settings) -> bool:
    return seed.response is None or settings.redraft


def same_model_warning(draft: str | None, critic: str) -> str | None:
    """The paper found that one model in both roles filters more drafts and trains worse judges."""
    if draft is None:
        return None

    def model(spec: str) -> str:  # the model whatever the backend kind: `openai:M` and `hf:M/` are one
        return split_spec(spec).arg.rstrip("/").lower() or spec

    if draft == critic or model(draft) == model(critic):
        return (
            f"draft and critic are the same model ({draft!r}); self-critique judges more drafts good enough "
            "and gave worse judges in the paper. Use a stronger critic than the draft model."
        )
    return None


def input_warnings(seeds: Sequence[Seed], settings: Settings) -> list[str]:
    """What to tell the user before a run starts."""
    out = []
    missing = sum(s.response is None for s in seeds)
    if settings.draft is None and missing:
        out.append(f"{missing} instructions have no response and there is no `draft` model")
    warning = same_model_warning(settings.draft, settings.critic)
    return [*out, warning] if warning else out


# ---------------------------------------------------------------------------------------------
# one seed's evolution, batched: seeds -> drafts -> outcomes


def _conv(role: str, messages: list[Message], gen: Generation, model: str) -> dict[str, Any]:
    return {
        "role": role,
        "model": model,
        "messages": messages,
        "reply": gen.text,
        "usage": gen.usage,
        "latency_s": round(gen.latency_s, 4),
        "error": gen.error if gen.error is not None or gen.texts else "no text",
        **({"refused": True} if gen.refused else {}),
    }


def make_drafts(seeds: Sequence[Seed], backend: Backend, settings: Settings) -> dict[str, dict[str, Any]]:
    """One draft conversation per seed (id -> the conversation record; `error` set when it failed),
    in one `generate` call."""
    convs = [draft_messages(s.instruction) for s in seeds]
    gens = backend.generate(convs, settings.draft_sampling) if seeds else []
    return {s.id: _conv("draft", c, g, backend.spec) for s, c, g in zip(seeds, convs, gens, strict=True)}


@dataclass(frozen=True)
class _Candidate:
    """A critic revision that passed validation, before the execution and contamination checks."""

    rejected: str
    chosen: str
    criterion: str
    feedback: str
    reflection: str


def evolve(
    seeds: Sequence[Seed],
    drafts: dict[str, dict[str, Any]],
    critic: Backend,
    settings: Settings,
    checker: ExecChecker | None = None,
    decontaminator: Decontaminator | None = None,
) -> list[Outcome]:
    """Every stage for a batch; one outcome per seed, in order. `drafts` holds the draft conversations
    of the seeds that need one (`needs_draft`), as `make_drafts` returns them."""
    checker = checker or ExecChecker()
    notes: dict[str, dict[str, Any]] = {s.id: {"conversations": []} for s in seeds}  # what each seed records
    done: dict[str, Outcome] = {}

    def stop(s: Seed, status: Status, reason: str = "", pair: PreferencePair | None = None) -> None:
        done[s.id] = Outcome(s.id, status, reason, pair, notes[s.id])

    # 1. the draft (generated by the draft model, or given in the input), sanitized to its code.
    codes: dict[str, str] = {}
    for s in seeds:
        if needs_draft(s, settings):
            d = drafts.get(s.id)
            if d is None:
                stop(s, "missing_draft", "no response in the input and no draft model")
                continue
            notes[s.id].update(conversations=[d], draft_source="generated")
            if d["error"] is not None:
                stop(s, "refused" if d.get("refused") else "draft_error", d["error"])
                continue
            text = d["reply"]
        else:
            notes[s.id]["draft_source"] = "given"
            text = s.response or ""
        san = sanitize(text)
        if san.code is None:
            stop(s, "draft_rejected", san.reason or "")
        else:
            codes[s.id] = san.code
            notes[s.id]["draft_dropped"] = list(san.dropped)

    # 2. critique, parse and validate.
    to_critic = [s for s in seeds if s.id in codes]
    examples = {s.id: example_order(s.id, settings.shots, settings.seed) for s in to_critic}
    convs = [critic_messages(s.instruction, codes[s.id], examples[s.id]) for s in to_critic]
    gens = critic.generate(convs, settings.critic_sampling) if to_critic else []
    candidates: list[tuple[Seed, _Candidate]] = []
    for s, conv, gen in zip(to_critic, convs, gens, strict=True):
        c = _conv("critic", conv, gen, critic.spec)
        notes[s.id]["conversations"].append(c)
        notes[s.id]["examples"] = examples[s.id]
        if c["error"] is not None:
            stop(s, "refused" if c.get("refused") else "critic_error", c["error"])
            continue
        review = parse_review(gen.text, codes[s.id])
        notes[s.id]["reflection"] = review.reflection
        result = _validate(codes[s.id], review)
        if isinstance(result, _Candidate):
            candidates.append((s, result))
        else:
            stop(s, *result)

    # 3. run the instructions' examples on both attempts of every surviving pair, in one sandbox batch.
    results = checker.check_many([(s.instruction, [c.rejected, c.chosen]) for s, c in candidates])
    for (s, c), (d_exec, r_exec) in zip(candidates, results, strict=True):
        status, reason, checks = _check(c, d_exec, r_exec, settings, decontaminator)
        meta = {"reflection": c.reflection, "draft_source": notes[s.id].get("draft_source"), **checks}
        if "exec" in meta:
            notes[s.id]["exec"] = {"draft": asdict(d_exec), "revision": asdict(r_exec)}
        stop(s, status, reason, _pair(s, c, settings, meta) if status == KEPT else None)
    return [done[s.id] for s in seeds]


def _validate(draft_code: str, review: Review) -> _Candidate | tuple[Status, str]:
    """The critic's parsed answer as a candidate pair, or the status and reason it stops with."""
    if review.verdict == "good_enough":
        return "good_enough", ""
    if review.verdict == "unparseable":
        return "unparseable", review.reason
    revised = sanitize(review.revision)
    if revised.code is None:
        return "invalid", f"revision: {revised.reason}"
    rejected, chosen = strip_comments(draft_code).strip("\n"), strip_comments(revised.code).strip("\n")
    if _same_code(rejected, chosen):
        return "invalid", "revision does not differ from the draft"
    feedback = normalize_tags(review.feedback)
    if "[CHOSEN]" not in feedback and "[REJECTED]" not in feedback:
        return "invalid", "feedback does not refer to the attempts by their tags"
    if not review.criterion:
        return "invalid", "empty criterion"
    return _Candidate(rejected, chosen, review.criterion, feedback, review.reflection)


def _check(
    c: _Candidate, d_exec: ExecResult, r_exec: ExecResult, settings: Settings, decontaminator: Decontaminator | None
) -> tuple[Status, str, dict[str, Any]]:
    """The last filters (execution consistency, contamination): the status, its reason, the pair's meta."""
    meta: dict[str, Any] = {}
    if d_exec.n_examples or r_exec.n_examples:
        meta["exec"] = {"draft_passed": d_exec.passed, "revision_passed": r_exec.passed}
        regressed = sorted(set(d_exec.passed_examples) - set(r_exec.passed_examples))
        if regressed and r_exec.passed is not None:
            meta["exec"]["regressed"] = regressed
            if settings.require_exec_consistency:
                return "exec_inconsistent", f"the revision fails {len(regressed)} example(s) the draft passes", meta
    if decontaminator is not None:
        hit, score, task_id = decontaminator.is_contaminated(c.chosen, c.rejected)
        if hit:
            return "contaminated", f"similarity {score:.1f} to CodePrefBench task {task_id}", meta
    return KEPT, "", meta


def _pair(seed: Seed, c: _Candidate, settings: Settings, meta: dict[str, Any]) -> PreferencePair:
    return PreferencePair(
        instruction=seed.instruction,
        chosen=c.chosen,
        rejected=c.rejected,
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


@dataclass(frozen=True)
class EvolveStage:
    """`make_drafts` then `evolve` as a stage (`codefavor.engines`): a row is a seed and its cached
    draft (or None), a result its outcome and the draft made for it (or None). Backends and the
    execution checker are built where the stage runs, so each worker has its own sandbox pool. In this
    process `on_drafts` stores drafts as soon as they are made, before the critic is asked; a remote
    engine returns them with the outcome and the driver stores them."""

    critic: Any  # a Backend, or the recipe of one (`engines.portable`)
    draft: Any
    settings: Settings
    checker: Any = None  # an ExecChecker, or its recipe
    decontaminator: Decontaminator | None = None
    on_drafts: Callable[[dict[str, dict[str, Any]]], None] | None = None

    def setup(self) -> Callable[[list[tuple[Seed, dict[str, Any] | None]]], list[tuple[Outcome, Any]]]:
        critic, draft, checker = built(self.critic), built(self.draft), built(self.checker)
        settings = self.settings

        def run(rows: list[tuple[Seed, dict[str, Any] | None]]) -> list[tuple[Outcome, Any]]:
            seeds = [s for s, _ in rows]
            drafts = {s.id: d for s, d in rows if d is not None}
            fresh = [s for s in seeds if needs_draft(s, settings) and s.id not in drafts]
            made = make_drafts(fresh, draft, settings) if draft is not None and fresh else {}
            if made and self.on_drafts is not None:
                self.on_drafts(made)
            drafts.update(made)
            outcomes = evolve(seeds, drafts, critic, settings, checker, self.decontaminator)
            return [(o, made.get(o.id)) for o in outcomes]

        return run


# ---------------------------------------------------------------------------------------------
# the run


def run_critic_evol(
    seeds: Iterable[Seed],
    out_dir: str | Path,
    *,
    critic: Backend,
    draft: Backend | None = None,
    settings: Settings | None = None,
    decontaminator: Decontaminator | None = None,
    exec_checker: ExecChecker | None = None,
    inputs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    limit: int | None = None,
    retry_errors: bool = RETRY_ERRORS,
    overwrite: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
    engine: EngineSpec = LOCAL,
) -> RunResult:
    """Evolve every selected seed not yet recorded in `out_dir`; return the funnel over the selection
    (the first `limit` distinct seeds). Backends receive whole batches (default: the critic's own
    batch size) and parallelise themselves; `engine` says where the batches run (`EvolveStage`)."""
    if settings is None:
        threshold = decontaminator.threshold if decontaminator is not None else Settings.decontam_threshold
        settings = Settings(draft.spec if draft else None, critic.spec, decontam_threshold=threshold)
    check_decontaminator(decontaminator, settings.decontaminate, settings.decontam_threshold)
    store = CacheFile(Path(out_dir) / DRAFTS)

    stage = EvolveStage(
        critic, draft, settings, exec_checker, decontaminator, on_drafts=store.add if engine.in_process else None
    )

    def prepare(chunk: list[Seed]) -> list[tuple[Seed, dict[str, Any] | None]]:
        cached = store.get([s.id for s in chunk if needs_draft(s, settings)])
        return [(s, cached.get(s.id)) for s in chunk]

    def receive(chunk: list[Seed], results: list[tuple[Outcome, Any]]) -> list[Outcome]:
        if not engine.in_process:
            store.add({o.id: d for o, d in results if d is not None})
        return [o for o, _ in results]

    def failed(row: tuple[Seed, Any], why: str) -> tuple[Outcome, None]:
        return Outcome(row[0].id, "critic_error", why, details={"engine_error": why}), None

    warning = same_model_warning(settings.draft, settings.critic)
    try:
        return run_items(
            SPEC,
            seeds,
            out_dir,
            stage,
            settings=dataclasses.asdict(settings),
            funnel=compute_funnel,
            info={"source": inputs or {}},
            batch_size=batch_size or int(getattr(critic, "batch_size", 32)),
            limit=limit,
            retry_errors=retry_errors,
            overwrite=overwrite,
            warnings=[warning] if warning else [],
            progress=progress,
            engine=engine,
            prepare=prepare,
            receive=receive,
            failed=failed,
        )
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------
# the funnel

FUNNEL_ROWS = (
    ("seeds", "instructions selected"),
    ("processed", "processed"),
    ("pending", "not yet processed"),
    ("missing_draft", "no draft (no response, no draft model)"),
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


def compute_funnel(ids: Sequence[str], outcomes: Any) -> dict[str, Any]:
    """Counts per stage over the selected seeds; every processed seed has exactly one terminal status."""
    f, mine = count_outcomes(SPEC, ids, outcomes)
    f["drafts_produced"] = f["processed"] - f["missing_draft"] - f["draft_error"]
    f["drafts_given"] = sum(1 for o in mine if o.get("draft_source") == "given")
    f["drafts_generated"] = f["drafts_produced"] - f["drafts_given"]
    f["critiqued"] = f["drafts_produced"] - f["draft_rejected"] - f["critic_error"]
    f["good_enough_rate"] = round(f["good_enough"] / f["critiqued"], 4) if f["critiqued"] else None
    return f


def show_funnel(funnel: dict[str, Any], console: Any = None) -> None:
    """The funnel as a table, with the good-enough rate and the commonest reasons under it."""
    notes = []
    if funnel.get("good_enough_rate") is not None:
        notes.append(f"good-enough rate among critiqued drafts: {100.0 * funnel['good_enough_rate']:.1f}%")
    for status, counts in funnel.get("reasons", {}).items():
        notes.append(f"[dim]{status}: {', '.join(f'{r} ({n})' for r, n in list(counts.items())[:4])}[/dim]")
    rows = [(label, funnel[key]) for key, label in FUNNEL_ROWS]
    print_funnel("Critic-Evol funnel", rows, funnel["seeds"], notes, console)
