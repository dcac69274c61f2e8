"""Correctness evidence: run both candidates on what the instruction verifiably asks, in the sandbox.

Signals, strongest first (each decides only when it separates the two candidates):
- `examples`: the checks extracted from the instruction's examples; the candidate passing more wins.
- `loads`: one candidate does not compile or raises while being loaded, or lacks the entry point.
- `static`: one candidate references names it never defines (a NameError waiting on some path).
- `variants` (on by default, `EvidenceOptions.variants`): where the above are silent, both run the
  examples' calls with their lists, tuples and strings reordered (lists also resized where no
  relation between the arguments forbids it); one candidate crashes, or returns a value of another
  shape than the examples', where the other returns one of their shape (`evidence.variants`).
  In the same phase, where the asked-for function undoes another (decode after encode), its round
  trips on generated inputs (`evidence.roundtrip`): one candidate's fail where the other's hold;
  where the statement defines the asked-for sequence by first terms and a rule, its terms
  (`evidence.recurrence`): one candidate gets a term wrong, or not in time, that the other gets.
Otherwise the evidence is silent (undecided) and a hybrid judge's fallback takes over. Without a
sandbox only `static` remains (the details say so). `run_examples` (extract the checks, run every
code on them in one batch) and `load_problem` are the pieces `verify` and Critic-Evol's execution
check share with this signal.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import symtable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from codefavor.codetools import PARSE_ERRORS
from codefavor.evidence import Evidence, EvidenceOptions, resolve_sandbox
from codefavor.evidence.examples import Extraction, extract_checks, platform_code, sandbox_code, solution_class
from codefavor.evidence.recurrence import recurrence_checks, recurrence_verdict
from codefavor.evidence.roundtrip import roundtrip_checks, roundtrip_verdict
from codefavor.evidence.sandbox import Limits, Sandbox, SandboxError, SandboxRun
from codefavor.evidence.variants import CRASHES, variant_checks, variant_verdict

LIMITS = Limits(cpu_s=3.0, wall_s=6.0, check_s=1.0, memory_mb=1024)
_BUILTINS = set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__"}


@functools.cache
def _implicit() -> frozenset[str]:
    from codefavor.evidence.calls import implicit_names

    return frozenset(implicit_names())


def undefined_names(code: str, platform: bool = False) -> list[str]:
    """Names a module reads but never binds (module level, imports, `global` assignments, builtins;
    with `platform`, the names programming sites import for every solution)."""
    try:
        top = symtable.symtable(code, "<candidate>", "exec")
        tree = ast.parse(code)
    except PARSE_ERRORS:
        return []
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return []  # a star import may bind anything
    bound: set[str] = set()
    used: set[str] = set()

    def walk(t: symtable.SymbolTable) -> None:
        for s in t.get_symbols():
            n = s.get_name()
            if t.get_type() == "module":
                if s.is_assigned() or s.is_imported() or s.is_namespace():
                    bound.add(n)
                elif s.is_referenced():
                    used.add(n)
            elif s.is_global():
                if s.is_assigned() and s.is_declared_global():
                    bound.add(n)
                elif s.is_referenced():
                    used.add(n)
        for c in t.get_children():
            walk(c)

    walk(top)
    given = _implicit() if platform else frozenset()
    return sorted(n for n in used if n not in bound and n not in _BUILTINS and n not in given)


def load_problem(run: SandboxRun, ex: Extraction) -> str | None:
    """The one "does it load" rule: why a candidate cannot be used as the instruction asks (it does not
    compile, raises while loading, times out loading, or lacks the entry point or its class), else None."""
    if run.load_error:
        return f"does not load: {run.load_error}"
    if run.timed_out and not run.checks:
        return "timed out while loading"
    entry = ex.owner or ex.entry  # a method's class must exist
    if entry and run.completed and entry not in run.defined:
        return f"does not define {entry}()"
    return None


def run_examples(
    items: Sequence[tuple[str, Sequence[str]]],
    sandbox: Sandbox,
    limits: Limits = LIMITS,
    *,
    only_with_examples: bool = False,
) -> list[tuple[Extraction, list[SandboxRun]]]:
    """Every code of every (instruction, codes) item run on the checks its instruction's examples give,
    in one concurrent batch (one run per distinct instruction and code). With `only_with_examples`,
    items whose instruction gives no check are not run (their list of runs is empty). Raises
    `SandboxError` when the sandbox cannot run."""
    # A `class Solution` candidate is called, never run as a program: an unnamed `Input: "abc"` is
    # then its argument (decided per item, so both candidates of a pair get the same checks).
    keyed = [((ins, any(solution_class(c) for c in codes)), codes) for ins, codes in items]
    extractions = {key: extract_checks(key[0], functions=key[1]) for key in dict.fromkeys(k for k, _ in keyed)}
    jobs = {
        (key, code): (sandbox_code(code, extractions[key]), extractions[key].checks)
        for key, codes in keyed
        if extractions[key].checks or not only_with_examples
        for code in codes
    }
    keys = list(jobs)
    runs = dict(zip(keys, sandbox.run_many([jobs[k] for k in keys], limits), strict=True)) if keys else {}
    return [(extractions[key], [runs[(key, c)] for c in codes if (key, c) in runs]) for key, codes in keyed]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(value: Any, limit: int = 160) -> str:
    """A value as Python would write it (opaque values come as their own `<...>` text)."""
    return _clip(value if isinstance(value, str) and value.startswith("<") else repr(value), limit)


def _call_text(c: Any) -> str:
    """The example as the instruction wrote it (a check's name), else the call we made."""
    name = (c.name or "").strip().splitlines()
    return name[0].removeprefix(">>>").strip() if name else c.call


def _expectation(c: Any) -> str:
    kind = c.resolved_kind()
    if kind == "value":
        return f"expected {_shown(c.expected)}"
    if kind == "repr":
        return f"expected {_shown(c.expected_repr)}"
    if kind == "raises":
        return f"expected to raise {c.raises}"
    if kind == "program":
        return f"stdin {_shown(c.stdin or '')}, expected output {_shown(c.expected_stdout or '')}"
    return "expected to run without error"


def _outcome(r: SandboxRun, n: int) -> str:
    if r.load_error:
        return f"does not load: {_clip(r.load_error, 200)}"
    if n >= len(r.checks):
        return "did not run (an earlier example stopped the program)" if not r.timed_out else "timed out"
    c = r.checks[n]
    got = f"raised {_clip(c.error, 200)}" if c.error else f"returned {_shown(c.value)}"
    if c.status in ("timeout", "missing", "error"):
        got = f"{c.status}: {_clip(c.reason, 200)}"
    return f"{got} ({'pass' if c.passed else 'fail'})"


@dataclass(frozen=True)
class ExecutionTrace:
    """What running two codes on an instruction's examples produced: per example its call and
    expectation and each code's outcome, and each code's passes and CPU time. `text(swapped)` names
    them Candidate A and B in either order, so a judge that swaps the codes swaps the trace too."""

    examples: tuple[tuple[str, str, str], ...]  # (call and expectation, outcome of a, outcome of b)
    summaries: tuple[str, str]  # (a's passes and CPU time, b's)
    hidden: int = 0  # examples not shown

    def text(self, swapped: bool = False) -> str:
        first, second = (2, 1) if swapped else (1, 2)
        lines = []
        for n, ex in enumerate(self.examples, 1):
            lines += [f"Example {n}: {ex[0]}", f"  Candidate A: {ex[first]}", f"  Candidate B: {ex[second]}"]
        if self.hidden:
            lines.append(f"({self.hidden} more examples not shown)")
        sa, sb = self.summaries[::-1] if swapped else self.summaries
        if not self.examples:  # no example to call: each code loaded as a module
            lines.append("The task gives no example to run; each candidate loaded as a module:")
            lines += [f"  Candidate A {sa}", f"  Candidate B {sb}"]
            return "\n".join(lines)
        lines.append(f"Candidate A {sa}; Candidate B {sb}.")
        return "\n".join(lines)


def _load_summary(r: SandboxRun) -> str:
    """How a code fared loaded as a module with nothing called: error, timeout, or what it defines/prints."""
    if r.load_error:
        return f"does not load: {_clip(r.load_error, 200)}"
    if r.timed_out:
        return "timed out while loading"
    names = ", ".join(sorted(r.defined)[:8]) or "nothing"
    printed = f", printed {_shown(r.output.strip(), 120)}" if r.output.strip() else ""
    return f"loads without error (defines {names}{printed}; {r.cpu_s:.3f} s CPU)"


def execution_traces(
    pairs: Sequence[tuple[str, str, str]], sandbox: Sandbox, limits: Limits = LIMITS, max_examples: int = 8
) -> list[ExecutionTrace | None]:
    """Per (instruction, code_a, code_b): what running both codes produced, for a model judge to
    read. With examples in the instruction: each example's call and expectation, each code's value
    or exception, passes and CPU time. Without: each code loaded as a module (does it load, what it
    defines and prints, CPU time). None when the sandbox returned no run for the pair. The runs
    are `run_examples`' (one extraction, one calling convention)."""
    ran = run_examples([(ins, (a, b)) for ins, a, b in pairs], sandbox, limits)
    out: list[ExecutionTrace | None] = []
    for extraction, runs in ran:
        checks = extraction.checks
        if len(runs) != 2:
            out.append(None)
            continue
        ra, rb = runs
        if not checks:
            out.append(ExecutionTrace((), (_load_summary(ra), _load_summary(rb))))
            continue
        shown = checks[:max_examples]
        examples = tuple(
            (f"{_clip(_call_text(c), 200)}, {_expectation(c)}", _outcome(ra, n), _outcome(rb, n))
            for n, c in enumerate(shown)
        )
        summaries = tuple(f"passed {r.n_passed}/{len(checks)} ({r.cpu_s:.3f} s CPU)" for r in (ra, rb))
        out.append(ExecutionTrace(examples, summaries, len(checks) - len(shown)))  # type: ignore[arg-type]
    return out


def _pick(sa: float, sb: float) -> Literal["A", "B"] | None:
    return None if sa == sb else ("A" if sa > sb else "B")


def correctness_evidence(
    pairs: Sequence[tuple[str, str, str]], options: EvidenceOptions = EvidenceOptions(), limits: Limits = LIMITS
) -> list[Evidence]:
    """Evidence for (instruction, code_a, code_b) triples; all runs go to the sandbox in one batch.
    `options.variants` adds differential inputs where the examples are silent (on by default).
    Without a sandbox, candidates never run: only the static signal remains, and each
    result's details carry the warning."""
    try:
        sandbox = resolve_sandbox(options)
        ran = run_examples([(ins, (a, b)) for ins, a, b in pairs], sandbox, limits)
    except SandboxError as e:
        return [_static_only(a, b, str(e)) for _, a, b in pairs]
    out: list[Evidence] = []
    silent: list[int] = []
    for n, ((_, a, b), (ex, (ra, rb))) in enumerate(zip(pairs, ran, strict=True)):
        details: dict[str, Any] = {"examples": ex.as_dict(), "a": ra.summary(), "b": rb.summary()}
        ev = _decide(ex, ra, rb, a, b, details)
        out.append(ev or Evidence("undecided", "silent", 0.5, details))
        if ev is None:
            silent.append(n)
    if options.variants and silent:
        try:
            _variant_phase(pairs, [ran[n][0] for n in range(len(pairs))], silent, out, sandbox, limits)
        except SandboxError as e:  # the examples' verdicts stand; the still-silent pairs say why
            for n in silent:
                out[n].details["variants"] = {"sandbox": str(e)[:200]}
    return out


# What a grown input may make correct code raise without it being wrong: the interpreter's limits
# (recursion depth, memory, float range), reached on sizes beyond what the examples promise.
_LIMITS = {"RecursionError", "MemoryError", "OverflowError"}


def timeout_evidence(
    pairs: Sequence[tuple[str, str, str]], options: EvidenceOptions = EvidenceOptions()
) -> list[Evidence]:
    """Correctness from the efficiency ladder, for pairs nothing else decided:
    - "scaled-timeout": a candidate that runs out of time on a grown input of the examples' kind,
      where the other returns the same answers below and finishes that input well inside the limit
      (`efficiency_rule.decide`'s "timeout"), does not finish for a tester either (CodePrefBench
      dev: a doubly recursive Fibonacci at n=64, a binomial sum built term by term; both right);
    - "scaled-crash": a candidate that crashes (`variants.CRASHES`: IndexError, TypeError, ...; not
      a deliberate ValueError, nor the interpreter's limits) on grown inputs where the other
      returns, and fails nowhere else the other does not (CodePrefBench dev: an index past the end
      of a short result, 2 of 2 right).
    What else the ladder measured stays in the details under "scaling" and decides nothing: being
    faster is no sign of being right, nor is returning another value (no answer is known)."""
    from codefavor.evidence.efficiency import EfficiencyConfig, efficiency_evidence

    # Timeouts and crashes show on the way up the ladder: the rounds that confirm a gap in time,
    # which decides nothing here, are not run.
    config = dataclasses.replace(
        options.efficiency_config or EfficiencyConfig(), min_rounds=1, max_rounds=1, escalate_rounds=0
    )
    out = []
    for ev in efficiency_evidence(pairs, dataclasses.replace(options, efficiency_config=config)):
        found = ev.details.get("efficiency", {})
        crashed = _crashed_side(found)
        if ev.decided and ev.signal == "timing-timeout":
            out.append(Evidence(ev.decision, "scaled-timeout", 0.8, {"scaling": found}))
        elif crashed:
            out.append(Evidence("B" if crashed == "A" else "A", "scaled-crash", 0.75, {"scaling": found}))
        else:
            out.append(Evidence("undecided", "silent", 0.5, {"scaling": found}))
    return out


def _crashed_side(found: dict[str, Any]) -> str | None:
    """The side that alone crashed on grown inputs, where every input the two disagree on is one it
    crashed on (None otherwise)."""
    failed = found.get("failed") or {}
    if found.get("reason") != "disagree" or set(found.get("dropped") or {}) != {"one-side-error"} or len(failed) != 1:
        return None
    ((side, errors),) = failed.items()
    return side if all(e in CRASHES and e not in _LIMITS for e in errors) else None


def _variant_phase(
    pairs: Sequence[tuple[str, str, str]],
    extractions: list[Extraction],
    silent: list[int],
    out: list[Evidence],
    sandbox: Sandbox,
    limits: Limits,
) -> None:
    """Differential inputs (`evidence.variants`), only where the examples were silent: a pair it
    decides gets its verdict in `out`, every pair it ran keeps what it found in its details."""
    varied = {n: variant_checks(extractions[n]) for n in silent}
    trips = {n: roundtrip_checks(pairs[n][0], extractions[n], pairs[n][1:]) for n in silent}
    terms = {n: recurrence_checks(pairs[n][0], extractions[n]) for n in silent}
    checks = {n: varied[n] + trips[n] + terms[n] for n in silent}
    jobs = [(n, code) for n in silent if checks[n] for code in pairs[n][1:]]
    runs = sandbox.run_many([(sandbox_code(code, extractions[n]), checks[n]) for n, code in jobs], limits)
    by_pair: dict[int, list[SandboxRun]] = {}
    for (n, _), r in zip(jobs, runs, strict=True):
        by_pair.setdefault(n, []).append(r)
    for n, (ra, rb) in by_pair.items():
        k, t = len(varied[n]), len(varied[n]) + len(trips[n])
        d, found = variant_verdict(extractions[n], varied[n], ra, rb)
        out[n].details["variants"] = found
        votes = [("variants", d)]
        if trips[n] and ra.completed and rb.completed and not (ra.load_error or rb.load_error):
            dt, found_t = roundtrip_verdict(trips[n], ra.checks[k:t], rb.checks[k:t])
            out[n].details["roundtrip"] = found_t
            votes.append(("roundtrip", dt))
        if terms[n] and not (ra.load_error or rb.load_error):
            # No completion asked: a candidate that runs out of time on a term is what it finds.
            dr, found_r = recurrence_verdict(terms[n], ra.checks[t:], rb.checks[t:])
            out[n].details["recurrence"] = found_r
            votes.append(("recurrence", dr))
        decided = [(signal, v) for signal, v in votes if v]
        if decided and len({v for _, v in decided}) == 1:  # signals that disagree: none decides
            signal, v = decided[0]
            out[n] = Evidence(v, signal, 0.75, out[n].details)


def _static_only(a: str, b: str, why: str) -> Evidence:
    ua, ub = undefined_names(a), undefined_names(b)
    d = _pick(not ua, not ub)
    details = {
        "sandbox": why,
        "warning": f"{why}; correctness evidence is static only",
        "undefined_names": {"a": ua, "b": ub},
    }
    return Evidence(d or "undecided", "static" if d else "silent", 0.75 if d else 0.5, details)


def _decide(
    ex: Extraction, ra: SandboxRun, rb: SandboxRun, a: str, b: str, details: dict[str, Any]
) -> Evidence | None:
    if ex.checks:
        d = _pick(ra.n_passed, rb.n_passed)
        if d:
            n = len(ex.checks)
            margin = abs(ra.n_passed - rb.n_passed) / n
            return Evidence(d, "examples", 0.85 + 0.15 * margin, details)
    la, lb = load_problem(ra, ex), load_problem(rb, ex)
    details["load"] = {"a": la, "b": lb}
    d = _pick(la is None, lb is None)
    if d:
        return Evidence(d, "loads", 0.9, details)
    ua, ub = undefined_names(a, platform_code(a, ex)), undefined_names(b, platform_code(b, ex))
    details["undefined_names"] = {"a": ua, "b": ub}
    d = _pick(not ua, not ub)
    if d:
        return Evidence(d, "static", 0.75, details)
    return None
