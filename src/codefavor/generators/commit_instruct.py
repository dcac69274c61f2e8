"""Commit-Instruct: turn real code changes into preference pairs through a three-turn dialogue.

The story of one seed (`converse`): (1) show the LLM the commit message, the old code and the
unified diff, and ask it to explain the change; (2) ask for a strict YES/NO on whether it is a clear
improvement, and stop on anything but YES; (3) ask for an instruction, a criterion, a naive and an
improved code and feedback, parse and validate them into a `PreferencePair` (improved = chosen),
and drop pairs that nearly duplicate CodePrefBench. With `codes="commit"` the two codes are the
commit's own (`commit_snippets`: the changed definitions before and after, with what they need) and
turn 3 asks only for the instruction, the criterion and feedback (with one follow-up turn when the
criterion is missing or vague): the mode for models too small to rewrite a change faithfully. `converse` returns one `Outcome` per seed and
touches no file; `run_commit_instruct` runs it over a resumable run folder (`engine`), where the
outcome line (holding the whole dialogue, and the pair when kept) is the commit point.

Seeds come from `mining` (git histories, CommitPackFT-style records, Hugging Face datasets).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from codefavor.backends import Backend, Generation, Message, Sampling
from codefavor.codetools import unified_diff
from codefavor.engines import LOCAL, EngineSpec, built
from codefavor.generators import replies
from codefavor.generators.commit_snippets import Snippets, changed_snippets
from codefavor.generators.decontam import Decontaminator, check_decontaminator
from codefavor.generators.engine import (
    KEPT,
    RETRY_ERRORS,
    GeneratorSpec,
    Outcome,
    RunProgress,
    RunResult,
    count_outcomes,
    print_funnel,
    run_items,
)
from codefavor.generators.inputs import check_limit
from codefavor.generators.mining import CommitSeed, MiningStats
from codefavor.generators.replies import (
    ParsedPair,
    parse_criterion_reply,
    parse_gate,
    parse_pair_reply,
    parse_task_reply,
)
from codefavor.prompts import render
from codefavor.records import PreferencePair, Provenance, write_records
from codefavor.run_folder import write_json_atomic

SOURCE = "commit-instruct"
TEMPLATES = replies.COMMIT_INSTRUCT_PROMPTS
CODES = ("model", "commit")  # who writes the two codes: the model (the paper's way) or the commit itself

Status = Literal[
    "backend_error",  # a backend call failed (retried on resume)
    "refused",  # the server refused the request itself (e.g. longer than the model's context)
    "unextractable",  # codes="commit": the change has no definition to cut out (the reason says why)
    "answered_no",  # the gate said the change is no clear improvement
    "gate_undecided",  # the gate answer was neither YES nor NO
    "unparseable",  # the pair reply misses a part or fails validation (the reason says which)
    "contaminated",  # a code nearly duplicates a CodePrefBench candidate
    "duplicate",  # the same pair was already kept for another seed
    "kept",
]
TERMINAL_STATUSES: tuple[str, ...] = get_args(Status)  # every processed seed ends in exactly one
ERROR_STATUSES = ("backend_error",)
SPEC = GeneratorSpec(
    kind=SOURCE,
    statuses=TERMINAL_STATUSES,
    errors=ERROR_STATUSES,
    explained=("unparseable", "unextractable", "refused", "backend_error"),
)


def prompt_version(codes: str = "model") -> str:
    """Changes whenever a template of the mode's dialogue changes, so old and new runs are never mixed."""
    if codes == "commit":
        return replies.prompt_version("ci-commit", replies.COMMIT_TASK_PROMPTS)
    return replies.prompt_version("ci", TEMPLATES)


@dataclass(frozen=True)
class Settings:
    """Everything that changes the output; stored in the manifest and compared on restart."""

    backend: str
    sampling: Sampling = Sampling(temperature=0.0, max_tokens=2048)
    decontaminate: bool = True
    decontam_threshold: float = 80.0
    codes: str = "model"  # one of CODES
    prompt_version: str = ""  # filled from `codes` when left empty

    def __post_init__(self) -> None:
        if self.codes not in CODES:
            raise ValueError(f"codes must be one of {', '.join(CODES)}, not {self.codes!r}")
        if not self.prompt_version:
            object.__setattr__(self, "prompt_version", prompt_version(self.codes))


# ---------------------------------------------------------------------------------------------
# prompts


def _fence(*texts: str) -> str:
    """A code fence longer than any run of backticks inside the texts (Markdown docstrings hold ```)."""
    longest = max((len(m) for t in texts for m in re.findall(r"`{3,}", t)), default=2)
    return "`" * max(3, longest + 1)


def _change_prompt(template: str, seed: CommitSeed, old: str, new: str, code_field: str) -> str:
    """A turn-1 template filled with the commit message, the code before (as `code_field`) and the diff."""
    diff = unified_diff(old, new, seed.path or "file")
    return render(
        template,
        lang=seed.lang,
        message=seed.message.strip() or "(no message)",
        path=seed.path or "(unknown)",
        diff=diff,
        fence=_fence(old, diff),
        **{code_field: old.rstrip("\n")},
    )


def explain_prompt(seed: CommitSeed) -> str:
    return _change_prompt("commit_instruct_explain", seed, seed.old_code, seed.new_code, "old_code")


def gate_prompt() -> str:
    return render("commit_instruct_gate")


def pair_prompt(lang: str) -> str:
    return render("commit_instruct_pair", lang=lang)


def summary_prompt(seed: CommitSeed, snippets: Snippets) -> str:
    """Turn 1 of `codes="commit"`: the message and the cut-out code with its diff, not the whole file
    (a shorter prompt, about the code the pair will hold), and a short explanation asked for."""
    return _change_prompt("commit_instruct_summary", seed, snippets.before, snippets.after, "before")


def criterion_prompt() -> str:
    """The follow-up of `codes="commit"` when the turn-3 criterion is missing or names no property."""
    return render("commit_instruct_criterion")


def task_prompt(lang: str, snippets: Snippets) -> str:
    """Turn 3 of `codes="commit"`: the code after the change, and a request for the words around the pair."""
    return render("commit_instruct_task", lang=lang, after=snippets.after.rstrip("\n"), fence=_fence(snippets.after))


# ---------------------------------------------------------------------------------------------
# one seed's dialogue, batched: seeds -> outcomes


def converse(
    seeds: Sequence[CommitSeed], backend: Backend, settings: Settings, decontaminator: Decontaminator | None = None
) -> list[Outcome]:
    """Run the three turns for a batch and return one outcome per seed, in order. Each turn is one
    `generate` call over the seeds still talking, which the backend parallelises. With the commit's
    codes, a turn-3 reply whose criterion is missing or vague gets one follow-up turn asking for it
    again (`criterion_prompt`); the rest of that reply is kept."""
    s = settings.sampling
    short = dataclasses.replace(s, max_tokens=min(s.max_tokens, 512), n=1)
    full = dataclasses.replace(s, n=1)
    gens: list[list[Generation]] = [[] for _ in seeds]
    done: dict[int, Outcome] = {}
    snippets: dict[int, Snippets] = {}
    if settings.codes == "commit":
        for i, seed in enumerate(seeds):
            cut = changed_snippets(seed.old_code, seed.new_code) if seed.lang == "python" else "not-python"
            if isinstance(cut, str):
                done[i] = _outcome(seed, [], [], "unextractable", cut, None, {})
            else:
                snippets[i] = cut
    alive = [i for i in range(len(seeds)) if i not in done]
    convs: dict[int, list[Message]] = {
        i: [
            {
                "role": "user",
                "content": summary_prompt(seeds[i], snippets[i]) if i in snippets else explain_prompt(seeds[i]),
            }
        ]
        for i in alive
    }
    for turn in (1, 2, 3, 4):
        if not alive:
            break
        outs = backend.generate([convs[i] for i in alive], full if turn == 3 else short)
        assert len(outs) == len(alive), "a backend must return one generation per conversation"
        still = []
        for i, g in zip(alive, outs, strict=True):
            gens[i].append(g)
            if g.error is None:
                convs[i] = [*convs[i], {"role": "assistant", "content": g.text}]
            status, reason, pair, extra = _judge_turn(
                turn, seeds[i], gens[i], backend.spec, settings, decontaminator, snippets.get(i)
            )
            if status is None:
                if turn == 1:
                    nxt = gate_prompt()
                elif turn == 3:
                    nxt = criterion_prompt()
                elif i in snippets:
                    nxt = task_prompt(seeds[i].lang, snippets[i])
                else:
                    nxt = pair_prompt(seeds[i].lang)
                convs[i] = [*convs[i], {"role": "user", "content": nxt}]
                still.append(i)
            else:
                done[i] = _outcome(seeds[i], convs[i], gens[i], status, reason, pair, extra)
        alive = still
    return [done[i] for i in range(len(seeds))]


def _judge_turn(
    turn: int,
    seed: CommitSeed,
    gens: list[Generation],
    model: str,
    settings: Settings,
    decontaminator: Decontaminator | None,
    snippets: Snippets | None = None,
) -> tuple[Status | None, str, PreferencePair | None, dict[str, Any]]:
    """What one reply (the last of `gens`) decides: (None, ...) to go on to the next turn, else the
    seed's status."""
    g = gens[-1]
    if g.error is not None:
        return ("refused" if g.refused else "backend_error"), g.error, None, {}
    if turn == 1:
        return None, "", None, {}
    if turn == 2:
        answer = parse_gate(g.text)
        if answer == "YES":
            return None, "", None, {}
        return ("answered_no", "", None, {}) if answer == "NO" else ("gate_undecided", "", None, {})
    if snippets is not None:
        if turn == 3:
            task = parse_task_reply(g.text)
            if task in replies.CRITERION_FAULTS:
                return None, "", None, {}  # ask for the criterion again
        else:
            task = parse_task_reply(gens[2].text, criterion=parse_criterion_reply(g.text))
        parsed = (
            task
            if isinstance(task, str)
            else ParsedPair(task.instruction, task.criterion, snippets.before, snippets.after, task.feedback)
        )
    else:
        parsed = parse_pair_reply(g.text, seed.lang)
    if isinstance(parsed, str):
        return "unparseable", parsed, None, {}
    if decontaminator is not None:
        hit, score, task_id = decontaminator.is_contaminated(parsed.naive, parsed.improved)
        if hit:
            reason = f"similarity {score:.1f} to CodePrefBench task {task_id}"
            return "contaminated", reason, None, {"decontam": {"similarity": round(score, 1), "task_id": task_id}}
    return KEPT, "", _pair(seed, parsed, model, settings, snippets), {}


def _pair(
    seed: CommitSeed, parsed: ParsedPair, model: str, settings: Settings, snippets: Snippets | None = None
) -> PreferencePair:
    return PreferencePair(
        instruction=parsed.instruction,
        chosen=parsed.improved,
        rejected=parsed.naive,
        criterion=parsed.criterion,
        feedback=parsed.feedback,
        source=SOURCE,
        provenance=Provenance(
            seed_id=seed.id, generator_models={SOURCE: model}, prompt_version=settings.prompt_version
        ),
        meta={
            "repo": seed.repo,
            "commit": seed.commit,
            "path": seed.path,
            "lang": seed.lang,
            "license": seed.license,
            "author_date": seed.author_date,
            **({"codes": "commit", "definitions": list(snippets.names)} if snippets is not None else {}),
        },
    )


def _outcome(
    seed: CommitSeed,
    messages: list[Message],
    gens: list[Generation],
    status: Status,
    reason: str,
    pair: PreferencePair | None,
    extra: dict[str, Any],
) -> Outcome:
    details = {
        "seed": seed.model_dump(exclude={"old_code", "new_code"}),
        "messages": messages,
        "usage": [{**g.usage, "latency_s": round(g.latency_s, 3), "error": g.error} for g in gens],
        **extra,
    }
    return Outcome(seed.id, status, reason, pair, details)


@dataclass(frozen=True)
class ConverseStage:
    """`converse` as a stage (`codefavor.engines`): seed -> outcome, the backend built where it runs."""

    backend: Any  # a Backend, or the recipe of one (`engines.portable`)
    settings: Settings
    decontaminator: Decontaminator | None = None

    def setup(self) -> Callable[[list[CommitSeed]], list[Outcome]]:
        backend = built(self.backend)
        return lambda seeds: converse(seeds, backend, self.settings, self.decontaminator)


# ---------------------------------------------------------------------------------------------
# the run


def run_commit_instruct(
    seeds: Iterable[CommitSeed],
    backend: Backend,
    out_dir: str | Path,
    *,
    settings: Settings | None = None,
    decontaminator: Decontaminator | None = None,
    mining: MiningStats | None = None,
    inputs: dict[str, Any] | None = None,
    batch_size: int = 32,
    limit: int | None = None,
    retry_errors: bool = RETRY_ERRORS,
    overwrite: bool = False,
    progress: Callable[[RunProgress], None] | None = None,
    engine: EngineSpec = LOCAL,
) -> RunResult:
    """Run the dialogue over `seeds` into `out_dir`; the funnel (also in funnel.json) covers the
    seeds this call selected (the first `limit` distinct ones, finished ones included). `engine`
    says where the dialogues run; the outcomes are written here either way."""
    if settings is None:
        threshold = decontaminator.threshold if decontaminator is not None else Settings.decontam_threshold
        settings = Settings(backend.spec, decontaminate=decontaminator is not None, decontam_threshold=threshold)
    check_decontaminator(decontaminator, settings.decontaminate, settings.decontam_threshold)
    return run_items(
        SPEC,
        seeds,
        out_dir,
        ConverseStage(backend, settings, decontaminator),
        settings=dataclasses.asdict(settings),
        funnel=lambda ids, latest: compute_funnel(ids, latest, mining),
        info={"source": inputs or {}},
        batch_size=batch_size,
        limit=limit,
        retry_errors=retry_errors,
        overwrite=overwrite,
        progress=progress,
        engine=engine,
    )


def mine_seeds(
    seeds: Iterable[CommitSeed],
    out_dir: str | Path,
    *,
    stats: MiningStats,
    source: dict[str, Any] | None = None,
    limit: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Only mine: write the first `limit` seeds to seeds.jsonl and the mining report to mining.json."""
    import itertools
    import shutil

    out = Path(out_dir)
    check_limit(limit)
    if overwrite and out.exists():
        shutil.rmtree(out)
    n = write_records(out / "seeds.jsonl", itertools.islice(seeds, limit))
    report = {"mining": stats.as_dict(), "seeds_written": n, "source": source or {}}
    write_json_atomic(out / "mining.json", report)
    return report


# ---------------------------------------------------------------------------------------------
# the funnel


def compute_funnel(
    ids: Sequence[str], latest: dict[str, dict[str, Any]] | Any, mining: MiningStats | None = None
) -> dict[str, Any]:
    """Counts per stage over the selected seeds, plus this run's mining counts: where every
    candidate went, from read to kept."""
    f, _ = count_outcomes(SPEC, ids, latest)
    kept, contaminated = f["kept"], f["contaminated"]
    f["decontamination_rate"] = round(contaminated / (kept + contaminated), 4) if kept + contaminated else 0.0
    if mining is not None:
        f = {"mining": mining.as_dict(), **f}
    return f


def show_funnel(funnel: dict[str, Any], title: str = "Commit-Instruct funnel", console: Any = None) -> None:
    """The funnel as a table (a mining-only report has the mining rows alone)."""
    rows: list[tuple[str, int]] = []
    mining = funnel.get("mining")
    if mining:
        rows.append(("candidates read", mining["read"]))
        rows += [(f"  filtered: {reason}", n) for reason, n in mining["filtered"].items()]
        rows.append(("seeds mined", mining["seeds"]))
    if "seeds" in funnel:
        rows += [
            ("seeds selected", funnel["seeds"]),
            ("seeds with an outcome", funnel["processed"]),
            ("  backend errors", funnel["backend_error"]),
            *((f"  no code to cut out: {r}", n) for r, n in funnel["reasons"].get("unextractable", {}).items()),
            ("  answered NO", funnel["answered_no"]),
            ("  gate answer unclear", funnel["gate_undecided"]),
        ]
        rows += [(f"  unparseable: {r}", n) for r, n in funnel["reasons"].get("unparseable", {}).items()]
        rows += [("  decontaminated", funnel["contaminated"]), ("  duplicate pairs", funnel["duplicate"])]
        rows.append(("[bold]kept pairs", funnel["kept"]))
    total = funnel.get("seeds") or (mining or {}).get("read", 0)
    print_funnel(title, rows, total, console=console)
