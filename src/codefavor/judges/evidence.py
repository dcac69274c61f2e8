"""The evidence judge: decide from verifiable evidence, and hand the rest to a fallback judge.

Specs: `evidence` (evidence, then the built-in guess below), `evidence+SPEC` (evidence,
then any other judge spec: `evidence+longer`, `evidence+gen:openai:MODEL`, `evidence+hf-cls:PATH`)
and `evidence+none` (evidence only; undecided where it is silent). `evidence+traces+SPEC` (or the
option `traces=True`) shows a model fallback what running the two codes on the instruction's own
examples produced (`correctness.execution_traces`: values, exceptions, passes, CPU time) where the
evidence is silent and the instruction has examples; `details["trace"]` says whether one was shown.

Which evidence applies is chosen per criterion: the item's benchmark category when known, else
inferred from the criterion text (`infer_category`). `EVIDENCE` maps a category to its sources, each
a stable name and an evidence function (`codefavor.evidence`: `fn(pairs, options) -> list[Evidence]`),
tried in order until one decides. Every verdict records the deciding `signal` ("examples", "loads",
"static", "variants", "roundtrip", "recurrence", "scaled-timeout", "scaled-crash", "bandit",
"fallback-patterns", "timing", "timing-timeout", "complexity", or "fallback/<the fallback's signal>") and `details`
(which checks each candidate failed and why, which findings each one has); where the evidence was
silent, `details["evidence"][source name]` keeps what each source found ("correctness", "scaling",
"security", "efficiency"), warnings included. Another table can be given to
`load_judge(..., evidence=TABLE)`.

The built-in fallback (`guess`, also `evidence+guess`) is a guess, labelled `fallback/<step>` in
every verdict and counted apart from the evidence in the benchmark report: a candidate that only
adds lines to the other, for security the side the differential hardening marks vote for, for
efficiency the side a silent measurement leans to (the smaller minimum time, where its rounds
overlapped too much to decide) and else the shallower loop nesting, the longer of an edit and its
revision, the longer for security, the shorter of two independent correctness solutions, the
longer for human preference
(`guess` says which dev sets each step was chosen on); efficiency pairs without a structural
difference stay undecided. It reads locals numbered, so renaming them never moves it.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from codefavor.backends import split_spec
from codefavor.errors import CodefavorError
from codefavor.evidence import EvidenceFn, EvidenceOptions
from codefavor.evidence.complexity import cheaper, loop_depth
from codefavor.evidence.correctness import correctness_evidence, execution_traces, timeout_evidence
from codefavor.evidence.efficiency import efficiency_evidence, platform_pair
from codefavor.evidence.security import security_evidence
from codefavor.evidence.security_diff import compare_marks
from codefavor.judges import Judge, PairItem, Verdict, load_judge
from codefavor.perturb import canonical_locals
from codefavor.prompts import CRITERIA


class Source(NamedTuple):
    """One evidence source: `name` keys its details in a silent verdict (part of the output: keep it stable)."""

    name: str
    gather: EvidenceFn


EVIDENCE: Mapping[str, tuple[Source, ...]] = MappingProxyType(
    {
        "correctness": (Source("correctness", correctness_evidence), Source("scaling", timeout_evidence)),
        "security": (Source("security", security_evidence),),
        "efficiency": (Source("efficiency", efficiency_evidence),),
        "human-preference": (),
    }
)


def infer_category(item: PairItem) -> str:
    """The item's category, or the one its criterion text is about."""
    if item.category in CRITERIA:
        return item.category  # type: ignore[return-value]
    text = item.criterion.lower()
    for cat, sentence in CRITERIA.items():
        if text.strip() in (cat, sentence.lower()):
            return cat
    if re.search(r"secur|vulnerab|attack|exploit|injection|unsafe|safe\b|cwe", text):
        return "security"
    if re.search(r"efficien|fast|speed|performance|latency|memory|complexity|run ?time|execution time", text):
        return "efficiency"
    if re.search(r"correct|bug|pass|tests?\b|works?\b|functional|accura|right answer|does what", text):
        return "correctness"
    return "human-preference"


# The guess where evidence is silent. Each step is a property of the pair itself, chosen on the dev
# splits of CodePrefBench and of the foreign sets (benchmarks/foreign: real bug and CVE fixes,
# secure-vs-insecure references, slow-vs-fast accepted solutions) and on ConDefects' real fixes; the
# length directions agree across those sets except where noted (README, "The guess").
CLOCK_LEAN = 1.05  # a silent measurement's ratio of minimum times past which the guess follows it
EDIT_SIMILARITY = 0.7  # lines shared (difflib ratio) from which one candidate is an edit of the other
# Locals are compared as `perturb.canonical_locals` writes them, numbered by first appearance, so no
# renaming of them moves the guess (`--perturb`); each use counts as this many characters of size, a
# typical name. As written, the names' lengths carried a little signal ("shorter": 141 of 222
# CodePrefBench dev judgments; 130 with two-character names, 138 from 7 to 10, 139 at 12). Human
# preference reads them numbered too: its dev split cannot tell the two apart (86 of 140 right
# either way), and a length count is no reader's view of names, only a reason to flip on a rename.
LOCAL_WIDTH = 8


def _lines(code: str) -> list[str]:
    return [ln.strip() for ln in code.splitlines() if ln.strip()][:2000]


def _shape(code: str) -> tuple[list[str], int] | None:
    """The code as the guess compares it, blind to edits that keep its meaning: its logical lines
    without comments, top-level blocks (a definition with its body and decorators) in sorted order,
    so reordering definitions changes nothing; and its size, its characters less its comments (lines
    holding only a comment dropped whole). `guess` hands it the code with its locals numbered
    (`LOCAL_WIDTH`); other names stay as written: written `_`, a line that differs only in a name
    would count as shared, and "adds-only" then fired wrongly on CodePrefBench test (0 of 8). The
    layout carries signal too (token counts guessed 10 points worse on its dev correctness, the
    characters of the tokens alone 2 tasks worse). None when the code does not tokenize."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT}
    lines: list[tuple[int, str]] = []
    cur: list[str] = []
    depth = 0
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for tok in toks:
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
        if tok.type in skip:
            continue
        if tok.type == tokenize.NEWLINE:
            if cur:
                lines.append((depth, " ".join(cur)))
            cur = []
            continue
        cur.append(tok.string)
    if cur:
        lines.append((depth, " ".join(cur)))
    blocks: list[list[str]] = []
    pending: list[str] = []
    for d, text in lines[:2000]:
        if d == 0 and text.startswith("@"):
            pending.append(text)
        elif d == 0:
            blocks.append([*pending, text])
            pending = []
        elif blocks:
            blocks[-1].append("  " * d + text)
        else:
            blocks.append(["  " * d + text])
    if pending:
        blocks.append(pending)
    # The size: the code's characters as written (layout included: it carries signal), less its
    # comments, a line holding only a comment counted as not there at all.
    text = code.splitlines(keepends=True)
    for tok in toks:
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            kept = text[row - 1][:col].rstrip()
            text[row - 1] = kept + "\n" if kept else ""
    return [ln for b in sorted(blocks) for ln in b], len("".join(text).strip())


def _clock_lean(measured: Mapping[str, Any] | None) -> str | None:
    """The side a silent efficiency measurement leans to: the one with the smaller minimum time where
    both finished with the same outputs (reason "no-gap", no input set aside at any level) and the
    times differ by more than `CLOCK_LEAN` either way; None without one."""
    m = (measured or {}).get("efficiency") or {}
    ta, tb = m.get("time_a"), m.get("time_b")
    if m.get("reason") != "no-gap" or m.get("dropped") or not (isinstance(ta, float) and isinstance(tb, float)):
        return None  # a level set aside (one side ran out of time there, or failed) says the lean may not hold
    if min(ta, tb) <= 0:
        return None
    # From the times, not the rounded ratio, and the same test both ways: both orders lean alike.
    return "A" if tb >= CLOCK_LEAN * ta else "B" if ta >= CLOCK_LEAN * tb else None


def guess(category: str, a: str, b: str, measured: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(decision, signal) of the guess for one pair where the evidence is silent (`measured`: the
    silent efficiency evidence's details, when there are some):
    - efficiency, "clock-lean": the side the measurement leans to where its rounds overlapped too
      much to decide (the smaller minimum time, by more than 5%, no input set aside at any level;
      dev, six runs each, both orders: CodePrefBench 118/136, leetcode-efficiency 36/60 judgments
      where it applied, 20-100% run to run there: its labels follow complexity, the lean constants);
    - security, "hardening": the side the differential marks of `evidence.security_diff` vote for
      (what the edit adds or removes: checks that raise, escaping, path containment, parameterised
      queries, argument-list commands, safe temporary files, restrictive modes, eval/mark_safe/
      shell=True, a parameter joined onto a path, an exception echoed to the client, a session
      renewed, a secret logged, an unbounded cache, ...; one vote per rule; dev, both orders:
      cve-fixes 122/128, vuln-fixes 182/182 where it decides, on the sets of 2026-12-07), read
      before "adds-only" so that a fix that only deletes is read by what it deletes (the fresh
      cve-fixes-recent dev: of the 83 pairs "adds-only" reaches, the marks decide 49, 48 right
      against 47 for "adds-only" there);
    - "adds-only": one candidate is the other with lines added and none changed: the one that adds
      (a fix adds a guard; dev: cve-fixes 27/29, ConDefects 38/43, quixbugs 2/2, vuln-fixes 5/7);
    - efficiency, "complexity": for two platform solutions (`class Solution`) that the measurement
      left undecided (not run, or it saw them disagree), the one `evidence.complexity.cheaper` reads as asymptotically cheaper (a sort, a
      slice or scan in a loop, a string grown in a loop that the other does without);
    - efficiency, "loop-depth": the one with the shallower loop nesting (dev: CodePrefBench 80/92,
      leetcode-efficiency 14/18 where it differs);
    - "edit-longer": correctness, security and human preference, when one is an edit of the other
      (most lines shared): the longer, a revision adds handling (dev: CodePrefBench security 56/86,
      cve-fixes 72/90 (both orders, after the hardening marks), vuln-fixes 123/201, ConDefects
      257/354, quixbugs 11/12);
    - security, "longer": fixes add checks (dev: longer on every security set);
    - correctness, "shorter", between independent solutions (CodePrefBench dev 64/98: the only set
      with such correctness pairs);
    - human preference, "longer" (CodePrefBench dev only: nothing else to tune on);
    - otherwise "undecided" (efficiency ties: CodePrefBench and leetcode-efficiency disagree on length).
    """
    import difflib

    if category == "efficiency":
        lean = _clock_lean(measured)
        if lean:
            return lean, "clock-lean"
    a, b = canonical_locals(a, LOCAL_WIDTH), canonical_locals(b, LOCAL_WIDTH)
    if category == "security":
        # before "adds-only": a fix that only deletes (an unbounded cache, a `shell=True`) is read by what it deletes
        decision, _ = compare_marks(a, b)
        if decision != "undecided":
            return decision, "hardening"
    sa, sb = _shape(a), _shape(b)
    if sa is not None and sb is not None:  # blind to comments and reordered definitions
        (la, na), (lb, nb) = sa, sb
    else:
        la, lb, na, nb = _lines(a), _lines(b), len(a.strip()), len(b.strip())
    sm = difflib.SequenceMatcher(a=la, b=lb, autojunk=False)
    ops = {op for op, *_ in sm.get_opcodes() if op != "equal"}
    if ops == {"insert"}:
        return "B", "adds-only"
    if ops == {"delete"}:
        return "A", "adds-only"
    longer = "A" if na > nb else "B" if nb > na else "undecided"
    shorter = {"A": "B", "B": "A"}.get(longer, "undecided")
    if category == "efficiency":
        if platform_pair(a, b) and (side := cheaper(a, b)):
            return side, "complexity"
        da, db = loop_depth(a), loop_depth(b)
        if da is not None and db is not None and da != db:
            return ("A" if da < db else "B"), "loop-depth"
        return "undecided", "none"
    ratio = sm.ratio() if ops else 1.0
    if ratio >= EDIT_SIMILARITY and category in ("correctness", "security", "human-preference"):
        return longer, "edit-longer"
    if category in ("security", "human-preference"):
        return longer, "longer"
    if category == "correctness" and ratio < EDIT_SIMILARITY:
        return shorter, "shorter"
    return "undecided", "none"


class _Guess:
    """The built-in guess (`guess`): cheap, offline, and labelled `fallback/<step>` in every verdict."""

    spec = "guess"
    batch_size = 1024

    def judge(
        self, items: Sequence[PairItem], measured: Sequence[Mapping[str, Any] | None] | None = None
    ) -> list[Verdict]:
        out = []
        for n, it in enumerate(items):
            decision, step = guess(infer_category(it), it.a, it.b, measured[n] if measured else None)
            if decision == "undecided":
                out.append(Verdict("undecided", prob_a=0.5, signal="none"))
            else:  # a guess: about as sure as the dev splits say its steps are
                out.append(Verdict(decision, prob_a=0.6 if decision == "A" else 0.4, signal=step))  # type: ignore[arg-type]
        return out


class EvidenceJudge:
    def __init__(
        self,
        fallback: Judge | None,
        spec: str,
        options: EvidenceOptions = EvidenceOptions(),
        evidence: Mapping[str, Sequence[Source]] = EVIDENCE,
        traces: bool = False,
    ):
        self.fallback = fallback
        self.traces = traces
        self.spec = spec
        self.options = options
        self.evidence = evidence
        # Evidence runs concurrently in the sandbox pool: a batch of 64 keeps it busy, and a killed
        # run loses at most one batch (results are written after each).
        self.batch_size = 64
        # The runner may overlap batches, so one slow check delays only its own; not with a model
        # fallback, which need not be thread-safe (and has its own batching).
        self.concurrent_batches = 3 if fallback is None or isinstance(fallback, _Guess) else 1

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        t0 = time.perf_counter()
        verdicts: list[Verdict | None] = [None] * len(items)
        silent_details: dict[int, dict[str, Any]] = {}
        by_cat: dict[str, list[int]] = {}
        for n, it in enumerate(items):
            by_cat.setdefault(infer_category(it), []).append(n)
        for cat, idx in by_cat.items():
            todo = list(idx)
            for source in self.evidence.get(cat, ()):
                if not todo:
                    break
                evs = source.gather([(items[n].instruction, items[n].a, items[n].b) for n in todo], self.options)
                rest = []
                for n, ev in zip(todo, evs, strict=True):
                    if ev.decided:
                        p = ev.confidence if ev.decision == "A" else 1.0 - ev.confidence
                        verdicts[n] = Verdict(ev.decision, prob_a=p, signal=ev.signal, details=ev.details)
                    else:
                        silent_details.setdefault(n, {})[source.name] = ev.details
                        rest.append(n)
                todo = rest
        silent = [n for n, v in enumerate(verdicts) if v is None]
        if silent and self.fallback is not None:
            asked = [items[n] for n in silent]
            if self.traces:
                asked = [dataclasses.replace(it, trace=t) for it, t in zip(asked, self._traces(asked), strict=True)]
            if isinstance(self.fallback, _Guess):  # the guess reads what a silent measurement leaned to
                fb = self.fallback.judge(asked, [silent_details.get(n, {}).get("efficiency") for n in silent])
            else:
                fb = self.fallback.judge(asked)
            for j, (n, v) in enumerate(zip(silent, fb, strict=True)):
                details = {"evidence": silent_details.get(n, {}), "fallback": v.details}
                if self.traces:
                    details["trace"] = asked[j].trace is not None
                verdicts[n] = Verdict(
                    v.decision, prob_a=v.prob_a, signal=f"fallback/{v.signal or self.fallback.spec}",
                    raw_output=v.raw_output, details=details, latency_s=v.latency_s, usage=v.usage, error=v.error,
                )  # fmt: skip
        per_item = (time.perf_counter() - t0) / max(1, len(items))
        out = []
        for n, v in enumerate(verdicts):
            if v is None:
                v = Verdict("undecided", prob_a=0.5, signal="none", details={"evidence": silent_details.get(n, {})})
            if v.latency_s is None:
                v.latency_s = per_item
            out.append(v)
        return out

    def _traces(self, items: Sequence[PairItem]) -> list[Any]:
        """Execution traces of the items (None each where the sandbox cannot run or gives none)."""
        from codefavor.evidence import resolve_sandbox
        from codefavor.evidence.sandbox import SandboxError

        try:
            return execution_traces([(it.instruction, it.a, it.b) for it in items], resolve_sandbox(self.options))
        except SandboxError:
            return [None] * len(items)


def sharing_measurements(judge: Judge) -> Judge:
    """For one benchmark run: an evidence judge that measures each pair once across all its
    batches and reruns (both orders, `--perturb`'s edited codes: `efficiency.Measurements`);
    any other judge as it is. Not for a server, whose requests must not share measurements."""
    if not isinstance(judge, EvidenceJudge):
        return judge
    from codefavor.evidence.efficiency import Measurements

    shared = copy.copy(judge)
    shared.options = dataclasses.replace(judge.options, measurements=Measurements())
    return shared


def load_evidence_judge(spec: str, **options: Any) -> EvidenceJudge:
    """`evidence` (= `evidence+guess`), `evidence+none` or `evidence+SPEC` (SPEC: any other judge spec)."""
    spec = spec.strip()
    kind, arg, rest = split_spec(spec)
    if kind != "evidence" or arg or rest == "":
        raise CodefavorError(f"judge spec {spec!r}: expected 'evidence', 'evidence+none' or 'evidence+SPEC'")
    evidence_opts = EvidenceOptions(
        **{k: options.pop(k) for k in ("sandbox", "variants", "efficiency_config") if k in options}
    )
    table = options.pop("evidence", EVIDENCE)
    traces = bool(options.pop("traces", False))
    if rest is not None and split_spec(rest).kind == "traces":  # evidence+traces+SPEC
        traces, rest = True, split_spec(rest).fallback
        if not rest:
            raise CodefavorError(f"judge spec {spec!r}: expected 'evidence+traces+SPEC' with a model judge SPEC")
    if rest is None or rest == "guess":
        fallback: Judge | None = _Guess()
    elif rest == "none":
        fallback = None
    elif split_spec(rest).kind == "evidence":
        raise CodefavorError(f"judge spec {spec!r}: the fallback cannot itself be an evidence judge")
    else:
        fallback = load_judge(rest, **options)
    return EvidenceJudge(fallback, spec, evidence_opts, table, traces=traces)
