"""Commit-Instruct: turn real code changes into preference pairs through a three-turn dialogue.

The story of one seed: (1) show the LLM the commit message, the old code and the unified diff, and
ask it to explain the change; (2) ask for a strict YES/NO on whether it is a clear improvement, and
stop on anything but YES; (3) ask for an instruction, a criterion, a naive and an improved code and
feedback, parse and validate them into a `PreferencePair` (improved = chosen), and drop pairs that
nearly duplicate CodePrefBench. Every seed ends as exactly one outcome line in `outcomes.jsonl`,
written after its pair and its audited conversation, so a run killed at any moment resumes without
losing or duplicating a seed.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codefavor.backends import Backend, Generation, Message, Sampling
from codefavor.codetools import extract_code, parses
from codefavor.errors import CodefavorError
from codefavor.generators.mining import CommitSeed, MiningStats, only_cosmetic
from codefavor.prompts import PROMPT_VERSION, render, template
from codefavor.records import JsonlAppender, PreferencePair, Provenance, done_ids, iter_json, repair_tail

SOURCE = "commit-instruct"
TEMPLATES = ("commit_instruct_explain", "commit_instruct_gate", "commit_instruct_pair")
PARTS = ("instruction", "criterion", "naive", "improved", "feedback")
REPLAY_SPEC = "fake:commit-replay"

OUTCOMES, PAIRS, CONVERSATIONS = "outcomes.jsonl", "pairs.jsonl", "conversations.jsonl"
FUNNEL_JSON, MANIFEST_JSON = "funnel.json", "manifest.json"


def prompt_version() -> str:
    """The package prompt version plus a hash of the three templates: any wording change shows."""
    digest = hashlib.sha256("\0".join(template(t) for t in TEMPLATES).encode("utf-8")).hexdigest()[:8]
    return f"{PROMPT_VERSION}-ci-{digest}"


# ---------------------------------------------------------------------------------------------
# prompts


def _lines(text: str) -> list[str]:
    """Lines split at newlines only (form feeds and other separators stay inside a line)."""
    return text.removesuffix("\n").split("\n") if text else []


def unified_diff(old: str, new: str, path: str = "file") -> str:
    lines = difflib.unified_diff(_lines(old), _lines(new), fromfile=f"a/{path}", tofile=f"b/{path}", lineterm="", n=3)
    return "\n".join(lines)


def _fence(*texts: str) -> str:
    """A code fence longer than any run of backticks inside the texts (Markdown docstrings hold ```)."""
    longest = max((len(m) for t in texts for m in re.findall(r"`{3,}", t)), default=2)
    return "`" * max(3, longest + 1)


def explain_prompt(seed: CommitSeed) -> str:
    diff = unified_diff(seed.old_code, seed.new_code, seed.path or "file")
    return render(
        "commit_instruct_explain",
        lang=seed.lang,
        message=seed.message.strip() or "(no message)",
        path=seed.path or "(unknown)",
        old_code=seed.old_code.rstrip("\n"),
        diff=diff,
        fence=_fence(seed.old_code, diff),
    )


def gate_prompt() -> str:
    return render("commit_instruct_gate")


def pair_prompt(lang: str) -> str:
    return render("commit_instruct_pair", lang=lang)


# ---------------------------------------------------------------------------------------------
# parsers: pure functions of model text that never raise

_WORD = r"(?<![\w-]){}(?![\w-])"
_YES_NO_UPPER = re.compile(_WORD.format("(YES|NO)"))
_YES_NO_ANY = re.compile(_WORD.format("(yes|no)"), re.IGNORECASE)
_EXPLICIT = re.compile(r"\b(?:answer|verdict|decision)\b[^\w\n]{0,6}(yes|no)(?![\w-])", re.IGNORECASE)
_FIRST_WORD = re.compile(r"^[^\w]*([A-Za-z]+)(?![\w-])")
_REASONING = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_reasoning(text: str) -> str:
    """Drop `<think>...</think>` blocks that reasoning models put before their answer."""
    return _REASONING.sub("", text or "").strip()


def parse_gate(text: str) -> Literal["YES", "NO"] | None:
    """YES or NO as a whole word, or None when the answer is missing or ambiguous.

    In order: the first word; an explicit "answer: X" (the last one); the only upper-case YES/NO;
    the only yes/no in any case. "NOTE", "NOT", "NOW" or "no-op" never read as NO.
    """
    text = strip_reasoning(text)
    if not text:
        return None
    first = _FIRST_WORD.match(text)
    if first and first.group(1).upper() in ("YES", "NO"):
        return first.group(1).upper()  # type: ignore[return-value]
    explicit = _EXPLICIT.findall(text)
    if explicit:
        return explicit[-1].upper()  # type: ignore[no-any-return]
    upper = set(_YES_NO_UPPER.findall(text))
    if len(upper) == 1:
        return upper.pop()  # type: ignore[return-value]
    if not upper:
        any_case = {w.upper() for w in _YES_NO_ANY.findall(text)}
        if len(any_case) == 1:
            return any_case.pop()  # type: ignore[return-value]
    return None


_LABELS = {
    "instruction": "instruction",
    "task": "instruction",
    "criterion": "criterion",
    "criteria": "criterion",
    "naive code": "naive",
    "naive": "naive",
    "improved code": "improved",
    "improved": "improved",
    "feedback": "feedback",
}
_HEADING = re.compile(
    r"^[ \t]*(?P<pre>#{1,6}[ \t]*|\d+[.)][ \t]*)?(?P<bold>\*\*|__)?[ \t]*"
    r"(?P<label>naive code|improved code|instruction|criterion|criteria|naive|improved|feedback|task)"
    r"(?:[ \t]*\([^)\n]*\))?"  # an aside such as "(before the change)"
    r"[ \t]*(?P<bold2>\*\*|__)?[ \t]*(?P<colon>:)?[ \t]*(?:\*\*|__)?[ \t]*(?P<rest>.*)$",
    re.IGNORECASE,
)
_FENCE_LINE = re.compile(r"^[ \t]*```")
_TAG = re.compile(
    r"\[\s*(?:the\s+)?(naive|improved|chosen|rejected|original|better|worse)(?:[\s_-]*(?:code|version|solution))?\s*\]",
    re.IGNORECASE,
)


def split_sections(text: str) -> dict[str, str]:
    """The five sections of a turn-3 reply, by heading; headings inside code fences do not count.

    A heading line is a known label followed by a colon, or marked up (`#`, `**`, `1.`), or alone
    on its line; the first occurrence of each label wins, later ones stay content.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    in_fence = False
    # Split on newlines only: str.splitlines() also breaks at form feeds, which real code holds.
    for line in text.replace("\r\n", "\n").split("\n"):
        if not in_fence:
            m = _HEADING.match(line)
            if m and (m["colon"] or m["pre"] or m["bold"] or not m["rest"].strip()):
                part = _LABELS[m["label"].lower()]
                if part not in sections:
                    current = sections[part] = []
                    if m["rest"].strip():
                        current.append(m["rest"])
                    continue
        if _FENCE_LINE.match(line):
            in_fence = not in_fence
        if current is not None:
            current.append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


def normalize_tags(feedback: str) -> str:
    """Rewrite the tags a model uses for the two codes as [CHOSEN] and [REJECTED]."""

    def repl(m: re.Match[str]) -> str:
        return "[CHOSEN]" if m.group(1).lower() in ("improved", "chosen", "better") else "[REJECTED]"

    return _TAG.sub(repl, feedback)


@dataclass(frozen=True)
class ParsedPair:
    instruction: str
    criterion: str
    naive: str
    improved: str
    feedback: str


def parse_pair_reply(text: str, lang: str = "python") -> ParsedPair | str:
    """A validated pair, or the rejection reason: `missing-<part>`, `naive-syntax`,
    `improved-syntax`, `identical-codes` or `feedback-untagged`."""
    sections = split_sections(strip_reasoning(text))
    for part in PARTS:
        if not sections.get(part):
            return f"missing-{part}"
    naive = extract_code(sections["naive"], lang)
    improved = extract_code(sections["improved"], lang)
    if not naive.strip():
        return "missing-naive"
    if not improved.strip():
        return "missing-improved"
    if lang == "python":
        if not parses(naive):
            return "naive-syntax"
        if not parses(improved):
            return "improved-syntax"
    if only_cosmetic(naive, improved, lang):
        return "identical-codes"
    feedback = normalize_tags(sections["feedback"])
    if "[CHOSEN]" not in feedback and "[REJECTED]" not in feedback:
        return "feedback-untagged"
    return ParsedPair(sections["instruction"], sections["criterion"], naive, improved, feedback)


# ---------------------------------------------------------------------------------------------
# a dry-run backend that answers from the commit itself


def apply_unified_diff(old: str, diff: str) -> str:
    """Apply a unified diff made by `unified_diff` (no fuzz) to `old`; lines are joined with newlines."""
    src = _lines(old)
    out: list[str] = []
    pos = 0
    in_hunk = False
    for line in _lines(diff):
        hunk = re.match(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", line)
        if hunk:
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            out.extend(src[pos:start])
            pos, in_hunk = start, True
        elif not in_hunk:
            continue  # the ---/+++ header
        elif line.startswith("+"):
            out.append(line[1:])
        elif line.startswith("-"):
            pos += 1
        elif line.startswith(" "):
            out.append(line[1:])
            pos += 1
    out.extend(src[pos:])
    return "\n".join(out) + "\n"


_MESSAGE = re.compile(r"Commit message:\n(.*?)\n\nFile: ", re.DOTALL)


def _replay_answer(messages: list[Message]) -> str:
    turn = sum(1 for m in messages if m["role"] == "assistant")
    if turn == 0:
        return "The change edits the code as the commit message says; it improves the code."
    if turn == 1:
        return "YES"
    first = messages[0]["content"]
    blocks = [m[1] for m in re.findall(r"(`{3,})[^\n]*\n(.*?)\n\1(?!`)", first, re.DOTALL)]
    m = _MESSAGE.search(first)
    subject = (m.group(1).strip().splitlines() or ["the change"])[0] if m else "the change"
    old, diff = (blocks[0], blocks[-1]) if len(blocks) >= 2 else ("", "")
    new = apply_unified_diff(old, diff)
    return (
        f"INSTRUCTION:\nWrite the module so that it does the following: {subject}\n\n"
        f"CRITERION:\nThe code carries out the intent of the change: {subject}\n\n"
        f"NAIVE CODE:\n```\n{old}\n```\n\nIMPROVED CODE:\n```\n{new.rstrip()}\n```\n\n"
        "FEEDBACK:\n[IMPROVED] makes the change the developer committed; [NAIVE] is the code before it.\n"
    )


def load_dialogue_backend(spec: str, **options: Any) -> Backend:
    """`load_backend`, plus `fake:commit-replay`: a dry-run backend that answers YES and turns each
    commit itself into the pair (old code rejected, new code chosen), to test a pipeline offline."""
    if spec == REPLAY_SPEC:
        from codefavor.backends.fake import FakeBackend

        return FakeBackend(fn=_replay_answer, spec=REPLAY_SPEC)
    from codefavor.backends import load_backend

    return load_backend(spec, **options)


# ---------------------------------------------------------------------------------------------
# the run: resumable, batched, audited


@dataclass
class RunOptions:
    batch_size: int = 32
    sampling: Sampling = dataclasses.field(default_factory=lambda: Sampling(temperature=0.0, max_tokens=2048))
    limit: int | None = None
    retry_errors: bool = True  # seeds whose last outcome was a backend error run again on resume


def _last_line_start(f: Any, size: int) -> int:
    """Offset of the last line of a file that ends with a newline (scanning back in chunks)."""
    pos = size - 1  # the final newline
    while pos > 0:
        start = max(0, pos - 65536)
        f.seek(start)
        idx = f.read(pos - start).rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        pos = start
    return 0


def _drop_uncommitted(path: Path, committed: set[str], key: Callable[[dict[str, Any]], str]) -> int:
    """Cut lines off the end of a pairs/audit file whose seed attempt has no outcome line; return
    how many. Seeds finish one at a time (conversation, pair, then outcome), so only lines at the
    very end can lack an outcome: a kill between those writes leaves at most one seed's lines."""
    if not path.exists():
        return 0
    repair_tail(path)
    dropped = 0
    with open(path, "rb+") as f:
        while (size := f.seek(0, 2)) > 0:
            start = _last_line_start(f, size)
            f.seek(start)
            try:
                obj = json.loads(f.read(size - start))
                done = key(obj) in committed
            except (ValueError, KeyError, TypeError):
                done = False  # an unreadable last line cannot be a committed record
            if done:
                break
            f.truncate(start)
            dropped += 1
    return dropped


def _attempt_key(seed_id: str, attempt: int) -> str:
    return f"{seed_id}#{attempt}"


def _check_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    path = out_dir / MANIFEST_JSON
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        for k in ("backend", "prompt_version"):
            if old.get(k) != manifest[k]:
                raise CodefavorError(
                    f"{out_dir} holds a run with {k} {old.get(k)!r}, not {manifest[k]!r}; "
                    "pass a fresh --output, or --overwrite to start again"
                )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


class _Run:
    """State of one run over an output folder (files open for appending, counters)."""

    def __init__(self, out_dir: Path, backend: Backend, opts: RunOptions, decontam: Any | None):
        self.out_dir, self.backend, self.opts, self.decontam = out_dir, backend, opts, decontam
        out_dir.mkdir(parents=True, exist_ok=True)
        self.attempts: Counter[str] = Counter()
        last: dict[str, str | None] = {}
        outcomes = out_dir / OUTCOMES
        if outcomes.exists():
            repair_tail(outcomes)
            for o in iter_json(outcomes):
                self.attempts[o["seed_id"]] += 1
                last[o["seed_id"]] = o.get("reason")
        committed = {_attempt_key(s, a) for s, n in self.attempts.items() for a in range(1, n + 1)}
        self.dropped = _drop_uncommitted(
            out_dir / CONVERSATIONS, committed, lambda o: _attempt_key(o["seed_id"], o.get("attempt", 1))
        )
        self.dropped += _drop_uncommitted(
            out_dir / PAIRS,
            committed,
            lambda o: _attempt_key(o["provenance"]["seed_id"], o["provenance"].get("attempt", 1)),
        )
        self.done = {s for s, r in last.items() if not (opts.retry_errors and r == "backend-error")}
        self.pair_ids = done_ids(out_dir / PAIRS)
        self.new: Counter[str] = Counter()  # outcomes written by this process, by reason ("kept" included)
        self.version = prompt_version()
        self.conversations = JsonlAppender(out_dir / CONVERSATIONS)
        self.pairs = JsonlAppender(out_dir / PAIRS)
        self.outcomes = JsonlAppender(outcomes)

    def close(self) -> None:
        for f in (self.conversations, self.pairs, self.outcomes):
            f.close()

    def _finish(
        self,
        seed: CommitSeed,
        messages: list[Message],
        gens: list[Generation],
        reason: str | None,
        pair: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        attempt = self.attempts[seed.id] + 1
        self.conversations.write(
            {
                "seed_id": seed.id,
                "attempt": attempt,
                "seed": seed.model_dump(exclude={"old_code", "new_code"}),
                "messages": messages,
                "outcome": reason or "kept",
                "usage": [{**g.usage, "latency_s": round(g.latency_s, 3), "error": g.error} for g in gens],
                **(extra or {}),
            }
        )
        if pair is not None:
            self.pairs.write(pair)
            self.pair_ids.add(pair.id)
        self.outcomes.write(
            {
                "seed_id": seed.id,
                "attempt": attempt,
                "status": "kept" if reason is None else "rejected",
                "reason": reason,
                "pair_id": pair.id if pair is not None else None,
                "repo": seed.repo,
                "commit": seed.commit,
                "path": seed.path,
            }
        )
        self.attempts[seed.id] = attempt
        self.done.add(seed.id)
        self.new[reason or "kept"] += 1

    def process(self, batch: Sequence[CommitSeed]) -> None:
        """Run the three turns for a batch; each turn is one `generate` call the backend parallelises."""
        s = self.opts.sampling
        short = dataclasses.replace(s, max_tokens=min(s.max_tokens, 512), n=1)
        full = dataclasses.replace(s, n=1)
        convs: list[list[Message]] = [[{"role": "user", "content": explain_prompt(seed)}] for seed in batch]
        gens: list[list[Generation]] = [[] for _ in batch]
        alive = list(range(len(batch)))
        for turn in (1, 2, 3):
            if not alive:
                return
            outs = self.backend.generate([convs[i] for i in alive], full if turn == 3 else short)
            assert len(outs) == len(alive), "a backend must return one generation per conversation"
            still = []
            for i, g in zip(alive, outs, strict=True):
                gens[i].append(g)
                if g.error is not None:
                    self._finish(batch[i], convs[i], gens[i], "backend-error")
                    continue
                convs[i] = [*convs[i], {"role": "assistant", "content": g.text}]
                reason = None
                if turn == 2:
                    answer = parse_gate(g.text)
                    reason = None if answer == "YES" else "answered-no" if answer == "NO" else "gate-undecided"
                elif turn == 3:
                    self._conclude(batch[i], convs[i], gens[i], g.text)
                    continue
                if reason:
                    self._finish(batch[i], convs[i], gens[i], reason)
                    continue
                nxt = gate_prompt() if turn == 1 else pair_prompt(batch[i].lang)
                convs[i] = [*convs[i], {"role": "user", "content": nxt}]
                still.append(i)
            alive = still

    def _conclude(self, seed: CommitSeed, messages: list[Message], gens: list[Generation], text: str) -> None:
        parsed = parse_pair_reply(text, seed.lang)
        if isinstance(parsed, str):
            self._finish(seed, messages, gens, parsed)
            return
        if self.decontam is not None:
            contaminated, score, task_id = self.decontam.is_contaminated(parsed.naive, parsed.improved)
            if contaminated:
                extra = {"decontam": {"similarity": round(score, 1), "task_id": task_id}}
                self._finish(seed, messages, gens, "contaminated", extra=extra)
                return
        pair = PreferencePair(
            instruction=parsed.instruction,
            chosen=parsed.improved,
            rejected=parsed.naive,
            criterion=parsed.criterion,
            feedback=parsed.feedback,
            source=SOURCE,
            provenance=Provenance(
                seed_id=seed.id,
                generator_models={SOURCE: self.backend.spec},
                prompt_version=self.version,
                attempt=self.attempts[seed.id] + 1,  # type: ignore[call-arg]  # Provenance allows extras
            ),
            meta={
                "repo": seed.repo,
                "commit": seed.commit,
                "path": seed.path,
                "lang": seed.lang,
                "license": seed.license,
                "author_date": seed.author_date,
            },
        )
        if pair.id in self.pair_ids:  # e.g. the same change committed in two forks
            self._finish(seed, messages, gens, "duplicate-pair")
            return
        self._finish(seed, messages, gens, None, pair)


def run_commit_instruct(
    seeds: Iterable[CommitSeed],
    backend: Backend,
    out_dir: str | Path,
    *,
    options: RunOptions | None = None,
    decontam: Any | None = None,
    mining: MiningStats | None = None,
    source: dict[str, Any] | None = None,
    on_progress: Callable[[dict[str, int]], None] | None = None,
) -> dict[str, Any]:
    """Run the dialogue over `seeds` into `out_dir` and return the funnel (also in funnel.json).

    Seeds already finished in `out_dir` are skipped; `options.limit` counts seeds in source order,
    finished ones included, so rerunning the same command completes the same seeds.
    """
    opts = options or RunOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_manifest(
        out,
        {
            "generator": SOURCE,
            "backend": backend.spec,
            "prompt_version": prompt_version(),
            "sampling": dataclasses.asdict(opts.sampling),
            "batch_size": opts.batch_size,
            "limit": opts.limit,
            "decontaminated": decontam is not None,
            "source": source or {},
        },
    )
    run = _Run(out, backend, opts, decontam)
    seen: set[str] = set()
    taken = duplicates = resumed = 0
    batch: list[CommitSeed] = []

    def flush() -> None:
        run.process(batch)
        batch.clear()
        if on_progress:
            on_progress({"taken": taken, "resumed": resumed, **run.new})

    try:
        for seed in [] if opts.limit == 0 else seeds:
            if seed.id in seen:
                duplicates += 1  # e.g. the same commit reached from two forks or revisions
                continue
            seen.add(seed.id)
            taken += 1
            if seed.id in run.done:
                resumed += 1
            else:
                batch.append(seed)
                if len(batch) >= opts.batch_size:
                    flush()
            if opts.limit is not None and taken >= opts.limit:
                break  # before pulling the next seed, so the mining counts stop here too
        if batch:
            flush()
    finally:
        run.close()
    funnel = funnel_report(out, mining)
    funnel["this_run"] = {
        "seeds_taken": taken,
        "already_done": resumed,
        "duplicates": duplicates,
        "new_outcomes": dict(run.new),
        "uncommitted_lines_dropped": run.dropped,
    }
    tmp = out / (FUNNEL_JSON + ".tmp")
    tmp.write_text(json.dumps(funnel, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out / FUNNEL_JSON)
    return funnel


_UNPARSEABLE = ("missing-", "naive-syntax", "improved-syntax", "identical-codes", "feedback-untagged")


def funnel_report(out_dir: str | Path, mining: MiningStats | None = None) -> dict[str, Any]:
    """Counts over every seed with an outcome in `out_dir` (its last attempt), plus this run's
    mining counts: where every candidate went, from read to kept."""
    last: dict[str, str] = {}
    path = Path(out_dir) / OUTCOMES
    if path.exists():
        for o in iter_json(path):
            last[o["seed_id"]] = o.get("reason") or "kept"
    reasons = Counter(last.values())
    unparseable = {r: n for r, n in sorted(reasons.items()) if r.startswith(_UNPARSEABLE)}
    kept, contaminated = reasons.get("kept", 0), reasons.get("contaminated", 0)
    funnel: dict[str, Any] = {}
    if mining is not None:
        funnel["mining"] = mining.as_dict()
    funnel.update(
        seeds=len(last),
        answered_no=reasons.get("answered-no", 0),
        gate_undecided=reasons.get("gate-undecided", 0),
        backend_errors=reasons.get("backend-error", 0),
        unparseable=unparseable,
        unparseable_total=sum(unparseable.values()),
        decontaminated=contaminated,
        kept=kept,
        decontamination_rate=round(contaminated / (kept + contaminated), 4) if kept + contaminated else 0.0,
        rejected_by_reason={r: n for r, n in reasons.most_common() if r != "kept"},
    )
    return funnel


def print_funnel(funnel: dict[str, Any], title: str = "Commit-Instruct funnel") -> None:
    """The funnel as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("stage")
    table.add_column("count", justify="right")
    mining = funnel.get("mining")
    if mining:
        table.add_row("candidates read", str(mining["read"]))
        for reason, n in mining["filtered"].items():
            table.add_row(f"  filtered: {reason}", str(n))
        table.add_row("seeds mined", str(mining["seeds"]))
    if "seeds" not in funnel:  # a mining-only report
        Console().print(table)
        return
    table.add_row("seeds with an outcome", str(funnel["seeds"]))
    table.add_row("  answered NO", str(funnel["answered_no"]))
    table.add_row("  gate answer unclear", str(funnel["gate_undecided"]))
    table.add_row("  backend errors", str(funnel["backend_errors"]))
    for reason, n in funnel["unparseable"].items():
        table.add_row(f"  unparseable: {reason}", str(n))
    if funnel["rejected_by_reason"].get("duplicate-pair"):
        table.add_row("  duplicate pairs", str(funnel["rejected_by_reason"]["duplicate-pair"]))
    table.add_row("  decontaminated", f"{funnel['decontaminated']} ({100 * funnel['decontamination_rate']:.1f}%)")
    table.add_row("[bold]kept pairs", f"[bold]{funnel['kept']}")
    Console().print(table)
