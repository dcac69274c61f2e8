"""Efficiency evidence: which of two candidates is faster on scaled-up versions of the instruction's examples.

What to call and its example calls come from `examples.timing_plan` (the one entry-point rule
and the one calling convention, `evidence/calls.py`, that correctness uses too: `class Solution`
methods, linked lists and trees from their literals, positional calls when the names differ); the
calls are grown along a ladder of sizes (`scaling.level_calls`: 16 to 16384 items; integers in
bigger steps), here in the parent (cached, so the other order of a task does not grow them again).
Each candidate runs in contained processes of its own (`timing_harness.main` as a sandbox session:
one per candidate and round, kept across levels; `timers.Candidates` never sends one the same input
twice, and the two candidates never share one); the job is data ({"code", "entry"} or {"code",
"call": the call plan, by which the child builds the arguments' objects and binds a fresh instance
before each call}, and "slots") and each call one level's inputs (pickled each on its own), timed
as one span. The ladder is `evidence/ladder.py`'s. On the way up every level is timed once, the
candidates in turns (a level both fail as a whole is timed again without the grown inputs both fail
alone: one input that breaks a promise of the statement must not hide the rest); the climb stops once
the slower passes a small CPU budget, would pass a per-call cap at the next level (predicted from
its growth), times out, the outputs differ, or a decisive gap shows (2x or more, on a level that
took at least a millisecond). The level that decides (the largest where both finished with the same
outputs) then gets its further rounds (`confirm`: three in all, four on a close call; `_escalate`:
up to eight where the ratio shows a gap the rounds did not confirm, `efficiency_rule.near_miss`),
each in a fresh process warmed on a lower level's input. A call's time is the candidate process's
CPU time read by the sandbox server from the kernel, from the forwarding of its input to the arrival
of its output, less the shortest unpickling and output phases any candidate showed (`timers.times_of`);
the server kills a call past the CPU limit; outputs are hashed and compared here. The decision is
`efficiency_rule.decide`'s. `efficiency_evidence` measures several pairs at once (one per sandbox
worker), a pair given in both orders once (read twice, `efficiency_rule.swapped`), and a program
the same up to renamed locals, comments and the order of independent definitions as one
(`Measurements`, keyed by `perturb.meaning_key`).
`benchmarks/efficiency_evidence.py` measures accuracy and time.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from codefavor.codetools import PARSE_ERRORS
from codefavor.evidence import Evidence, EvidenceOptions, resolve_sandbox
from codefavor.evidence.complexity import cheaper
from codefavor.evidence.efficiency_rule import (  # noqa: F401 - the settings and the rule are public here too
    EfficiencyConfig,
    decide,
    level_gap,
    near_miss,
    silent,
    swapped,
)
from codefavor.evidence.examples import calls_code, solution_class, timing_plan
from codefavor.evidence.ladder import Level, climb_levels, confirm, pack_level, with_slots
from codefavor.evidence.scaling import Call
from codefavor.evidence.timers import (  # noqa: F401 - HARNESS, run_trusted, sandbox_runner are public here too
    CLIMBS_PER_WORKER,
    HARNESS,
    Runner,
    Target,
    Timed,
    run_trusted,
    sandbox_runner,
)
from codefavor.evidence.timers import Candidates as _Candidates
from codefavor.perturb import meaning_key
from codefavor.records import content_id


def _callable(code: str, spec: dict[str, Any]) -> bool:
    """Whether `code` defines what the call spec calls (a class for a method, the named top-level
    function, else any function or `class Solution` for `calls.resolve` to choose from): a pair that
    cannot be called is not sent to the harness at all."""
    names = _top_level(code)
    if names is None:
        return False
    funcs, classes = names
    owner, entry = spec.get("owner"), spec.get("entry")
    if owner:
        return owner in classes
    if entry:
        return entry in funcs or "Solution" in classes
    return bool(funcs) or "Solution" in classes


def plan(instruction: str, code_a: str, code_b: str) -> tuple[dict[str, Any] | None, list[Call], str]:
    """What to time, by the one calling convention (`examples.timing_plan`): the call spec (entry,
    owner class, the statement's parameter names, how literal arguments become objects) and the
    example calls to scale, or None, [] and why not: "no-entry" when there is nothing to call or a
    candidate does not define it, "design" for operation-list problems; "no-examples" (with the
    spec) when no example calls it literally."""
    spec, calls, why = timing_plan(instruction, (code_a, code_b))
    if why not in ("", "no-examples"):
        return None, [], why
    if not (_callable(code_a, spec) and _callable(code_b, spec)):
        return None, [], "no-entry"
    return spec, calls, why


def entry_name(spec: dict[str, Any] | None) -> str | None:
    """How the details name what was timed: the function, `Owner.method`, or the owner alone."""
    if not spec:
        return None
    entry, owner = spec.get("entry"), spec.get("owner")
    return f"{owner}.{entry}" if owner and entry else entry or owner


def call_plan(spec: dict[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """The job's "call" entry: the calls module (compiled once), the spec, and whether the
    candidates get the platform's implicit names (a platform-shaped statement, or `class Solution`
    code, as `examples.platform_code` decides for correctness)."""
    platform = bool(spec.get("json")) or any(solution_class(c) for c in codes)
    plain = {k: v for k, v in spec.items() if k != "constraints"}  # the statement's facts grow inputs here only
    return {"module": calls_code(), "spec": plain, "platform": platform}


_PLAIN_SPEC = {"entry", "owner", "json", "in_place", "lazy", "order", "want", "constraints"}


def _target(spec: dict[str, Any] | str, codes: Sequence[str]) -> Target:
    """What the candidates' processes call: a bare name as is; a call spec as its call plan, unless
    it asks for nothing beyond calling a top-level function that every candidate defines. Then the
    name alone: building the call through `calls.prepare` costs more than such a call itself, and
    that cost, different per candidate, is noise in a time read from the kernel around the call."""
    if isinstance(spec, str):
        return spec
    entry = spec.get("entry")
    plain = (
        entry
        and set(spec) <= _PLAIN_SPEC
        and not (
            spec.get("owner") or spec.get("json") or spec.get("in_place") or spec.get("lazy") or spec.get("order")
        )
        and spec.get("want") in (None, "scalar")
        and all(_defines(c, entry) for c in codes)
    )
    return entry if plain else {"entry": entry, "call": call_plan(spec, codes)}


def _top_level(code: str) -> tuple[set[str], set[str]] | None:
    """The names of `code`'s top-level functions and classes; None when it does not parse."""
    try:
        tree = ast.parse(code)
    except PARSE_ERRORS:
        return None
    funcs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return funcs, {n.name for n in tree.body if isinstance(n, ast.ClassDef)}


def _defines(code: str, name: str) -> bool:
    names = _top_level(code)
    return names is not None and name in names[0]


def _setup_errors(codes: Sequence[str]) -> list[str | None]:
    out: list[str | None] = []
    for code in codes:
        try:
            compile(code, "<candidate>", "exec")  # compiling runs nothing of it
            out.append(None)
        except (SyntaxError, ValueError) as e:
            out.append(type(e).__name__)
    return out


def measure(
    codes: Sequence[str],
    entry: str | dict[str, Any],
    calls: Sequence[Call],
    config: EfficiencyConfig = EfficiencyConfig(),
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Time every candidate on the given calls (one level): {"inputs": [{"runs": [{"status",
    "times", "out"} per candidate]}], "setup_errors": [...]}."""
    errors = _setup_errors(codes)
    if any(errors):
        return {"inputs": [], "setup_errors": errors}
    run = runner or sandbox_runner()
    with _slots_of(run):
        pack, k = pack_level(calls)
        if pack is None:
            return {"inputs": [], "setup_errors": errors}
        cands = _Candidates(list(codes), with_slots(_target(entry, codes), k), run, config.wall_limit)
        try:
            level = Level([pack], len(codes))
            confirm(cands, level, config)
            return {"inputs": level.inputs(), "setup_errors": errors}
        finally:
            cands.close()


def _slots_of(run: Runner) -> Any:
    slots = getattr(run, "slots", None)
    return slots() if slots else contextlib.nullcontext()


def climb(
    code_a: str,
    code_b: str,
    spec: dict[str, Any] | str,
    calls: Sequence[Call],
    seed: str,
    config: EfficiencyConfig = EfficiencyConfig(),
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Climb the ladder: grow the example calls to each size in turn (`scaling.level_calls`, here in
    the parent) and time both candidates, each in processes of its own, until the slower passes the
    level budget, a run times out, the next level would pass the per-call cap (predicted from the
    growth of the slowest call), the CPU budget is spent, or a decisive gap (wide and in every
    round, on a level that took long enough) has shown.

    `spec` is `plan`'s call spec (a bare name: that top-level function); each candidate's process
    calls what `_target` gives: the bare function where the spec asks for nothing more, else every
    call through `calls.prepare` (objects built, a fresh instance bound, before the call).

    Returns {"levels": [{"inputs": [...]}, ...], "stopped": why}.
    """
    if any(_setup_errors([code_a, code_b])):
        return {"levels": [], "stopped": "setup"}
    run = runner or sandbox_runner()
    with _slots_of(run):
        facts = spec.get("constraints") if isinstance(spec, dict) else None
        return climb_levels(code_a, code_b, _target(spec, (code_a, code_b)), calls, seed, config, run, facts)


def _timing(
    instruction: str, code_a: str, code_b: str, config: EfficiencyConfig, runner: Runner
) -> tuple[dict[str, Any] | None, str | None, str]:
    """(the climb's result, or None; what was timed; why nothing was) for one pair."""
    spec, calls, why = plan(instruction, code_a, code_b)
    if spec is None or not calls:
        return None, entry_name(spec), why
    return climb(code_a, code_b, spec, calls, content_id(instruction), config, runner), entry_name(spec), ""


# Where the climb ended without the sides disagreeing: both finished with the same outputs wherever
# both finished, and no timeout decided.
_AGREED = {"cpu-time", "no-gap", "few-rounds", "nothing-measured"}


def platform_pair(code_a: str, code_b: str) -> bool:
    """Two programming-site solutions (`class Solution`), compared by their complexity (`by_complexity`)."""
    return solution_class(code_a) and solution_class(code_b)


def by_complexity(evidence: Evidence, code_a: str, code_b: str) -> Evidence:
    """The site's own measure for two platform solutions the clock did not split by a timeout or a
    disagreement: where `complexity.cheaper` reads one as asymptotically cheaper, it decides (signal
    "complexity", the measurement kept in the details); everything else is `evidence` as it was."""
    d = evidence.details.get("efficiency") or {}
    if d.get("reason") not in _AGREED or not platform_pair(code_a, code_b):
        return evidence
    side = cheaper(code_a, code_b)
    if side is None:
        return evidence
    details = {**evidence.details, "complexity": {"cheaper": side, "clock": evidence.decision}}
    return Evidence(side, "complexity", 0.8, details)


def _read(
    timing: tuple[dict[str, Any] | None, str | None, str], config: EfficiencyConfig, swap: bool, codes: Sequence[str]
) -> Evidence:
    result, entry, why = timing
    if result is None:
        return silent(why, entry=entry)
    return by_complexity(decide(swapped(result) if swap else result, config, entry=entry), *codes)


def compare_efficiency(
    instruction: str,
    code_a: str,
    code_b: str,
    config: EfficiencyConfig = EfficiencyConfig(),
    runner: Runner | None = None,
) -> Evidence:
    """Which of `code_a` and `code_b` is faster on the instruction's scaled-up examples ("A", "B"
    or "undecided"; the measurements are in `details["efficiency"]`). `runner(job, wall_limit)` runs
    one harness job; by default in the shared sandbox pool (`run_trusted`, a bare limited interpreter,
    is for code you trust)."""
    timing = _timing(instruction, code_a, code_b, config, runner or sandbox_runner())
    return _read(timing, config, False, (code_a, code_b))


class Measurements:
    """Timings shared by the calls of one caller (`EvidenceOptions.measurements`): each pair is
    measured once, by whichever call asks first, and read by the rest, keyed by what the codes mean
    (`perturb.meaning_key`), so the same program renamed, recommented or reordered gets the same
    reading. A benchmark run keeps one for all its batches (`judges.evidence.sharing_measurements`);
    nothing shares one across requests, whose codes must not meet. Thread-safe; a copy sent to
    another process (Ray) starts empty."""

    def __init__(self, capacity: int = 100_000):
        self._lock = threading.Lock()
        self._done: dict[tuple[str, ...], Any] = {}
        self._pending: dict[tuple[str, ...], threading.Event] = {}
        self.capacity = capacity

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return (Measurements, (self.capacity,))

    def __len__(self) -> int:
        return len(self._done)

    def get(self, key: tuple[str, ...], measure: Callable[[], Any]) -> Any:
        """The reading under `key`, measured now by `measure()` if no call has measured it yet."""
        while True:
            with self._lock:
                if key in self._done:
                    return self._done[key]
                wait = self._pending.get(key)
                if wait is None:
                    self._pending[key] = threading.Event()
                    break
            wait.wait()
        try:
            value = measure()
            with self._lock:
                if len(self._done) < self.capacity:
                    self._done[key] = value
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()


def _canonical(pair: tuple[str, str, str], config_key: str) -> tuple[tuple[str, ...], bool]:
    """The pair's measurement key (with `config_key`, the settings it is measured by), its two codes
    in one fixed order of what they mean, and whether `pair` is that order swapped."""
    instruction, a, b = pair
    ka, kb = meaning_key(a), meaning_key(b)
    head = (content_id(instruction), config_key)
    return (head + (kb, ka), True) if kb < ka else (head + (ka, kb), False)


def efficiency_evidence(
    pairs: Sequence[tuple[str, str, str]], options: EvidenceOptions = EvidenceOptions()
) -> list[Evidence]:
    """Efficiency evidence for (instruction, code_a, code_b) triples, measured in the sandbox
    (`options.sandbox`, else the shared pool), several pairs at once. A pair given in both orders
    (the benchmark's both-orders protocol) is measured once and read twice (`swapped`): the same
    codes on the same inputs, so the two verdicts mirror each other and position never changes an
    efficiency verdict; pairs that mean the same (`meaning_key`) are measured once too, and once
    across calls that share `options.measurements`. A sandbox that cannot start leaves every pair
    undecided ("no-sandbox"): candidates never run uncontained."""
    from concurrent.futures import ThreadPoolExecutor

    from codefavor.evidence.sandbox import SandboxError

    config = options.efficiency_config or EfficiencyConfig()
    if not pairs:
        return []
    try:
        sandbox = resolve_sandbox(options)
        sandbox.run("pass", [])  # start the pool now: a sandbox that cannot start fails once, here
    except SandboxError as e:
        return [silent("no-sandbox", dropped={str(e)[:200]: 1}) for _ in pairs]
    runner = sandbox_runner(sandbox)
    memo = options.measurements if options.measurements is not None else Measurements()
    config_key = repr(config)
    keys = [_canonical(p, config_key) for p in pairs]
    # the first pair of each key is the one measured, in the key's order of its codes
    first = {}
    for p, (key, swap) in zip(pairs, keys, strict=True):
        first.setdefault(key, (p[0], p[2], p[1]) if swap else p)

    def one(key: tuple[str, ...]) -> tuple[dict[str, Any] | None, str | None, str] | Evidence:
        # a sandbox that failed is no reading of the codes: it is not kept, a later call measures again
        try:
            return memo.get(key, lambda: _timing(*first[key], config, runner))
        except SandboxError as e:
            return silent("no-sandbox", dropped={str(e)[:200]: 1})

    # Several tasks at once keep every worker of the pool busy; each timing is the CPU time of its
    # own thread, which other work on the machine disturbs far less than it does wall time.
    workers = config.workers or sandbox.workers * CLIMBS_PER_WORKER
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(first)))) as pool:
        timings = dict(zip(first, pool.map(one, first), strict=True))
    out = []
    for (_, a, b), (key, swap) in zip(pairs, keys, strict=True):
        t = timings[key]
        out.append(t if isinstance(t, Evidence) else _read(t, config, swap, (a, b)))
    return out
