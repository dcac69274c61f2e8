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
as one span. On the way up every level is timed once, the candidates in turns; the climb stops once
the slower passes a small CPU budget, would pass a per-call cap at the next level (predicted from
its growth), times out, the outputs differ, or a decisive gap shows (2x or more, on a level that
took at least a millisecond). The level that decides (the largest where both finished with the same
outputs) then gets its further rounds (`_confirm`: three in all, four on a close call; `_escalate`:
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
import functools
import pickle
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from codefavor.codetools import PARSE_ERRORS
from codefavor.evidence import Evidence, EvidenceOptions, resolve_sandbox
from codefavor.evidence.efficiency_rule import (  # noqa: F401 - the settings and the rule are public here too
    EfficiencyConfig,
    decide,
    level_gap,
    near_miss,
    silent,
    swapped,
)
from codefavor.evidence.examples import calls_code, timing_plan
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
from codefavor.evidence.timers import times_of as _times
from codefavor.perturb import meaning_key
from codefavor.records import content_id


@functools.cache
def _scaling() -> Any:
    from codefavor.evidence import scaling

    return scaling


_SOLUTION = re.compile(r"^class\s+Solution\b", re.M)


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
    platform = bool(spec.get("json")) or any(_SOLUTION.search(c) for c in codes)
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


class _Level:
    """One ladder level's measurements so far: per input, each candidate's calls, status and output."""

    def __init__(self, blobs: Sequence[bytes], n: int):
        self.blobs = list(blobs)
        self.results: list[list[list[Timed]]] = [[[] for _ in range(n)] for _ in self.blobs]
        self.status = [["ok"] * n for _ in self.blobs]
        self.outs: list[list[str | None]] = [[None] * n for _ in self.blobs]
        self.rounds = 0

    def inputs(self) -> list[dict[str, Any]]:
        out = []
        for res, status, outs in zip(self.results, self.status, self.outs, strict=True):
            times = _times(res)
            out.append(
                {"runs": [{"status": s, "times": t, "out": o} for s, t, o in zip(status, times, outs, strict=True)]}
            )
        return out


def _play(cands: _Candidates, level: _Level, rounds: range, limit: float, warm: Sequence[bytes] = ()) -> None:
    """The given rounds of every input of `level`, as one batch: in each round the candidates take
    turns, who goes first alternating by round and input. A process that a round starts afresh
    first gets a `warm` input (of a lower level, never timed: the first call of a process pays for
    its cold caches); a candidate that failed an input is not called on it again."""
    n = len(cands.codes)
    turns: list[tuple[int, int, bytes, int | None]] = []
    for q in rounds:
        for c in range(n):
            if (c, q) not in cands.timers:
                turns += [(c, q, w, None) for w in warm if w not in level.blobs]
    for q in rounds:
        for i, blob in enumerate(level.blobs):
            for c in range(n) if (q + i) % 2 == 0 else range(n - 1, -1, -1):
                if level.status[i][c] == "ok":
                    turns.append((c, q, blob, i))
    got = cands.calls([(c, q, blob) for c, q, blob, _ in turns], limit)
    for (c, _q, _blob, i), t in zip(turns, got, strict=True):
        if i is None or level.status[i][c] != "ok":
            continue  # a warm-up, or failed in an earlier round of this batch
        if t.status != "ok":
            level.status[i][c], level.outs[i][c] = t.status, t.out
            continue
        if level.outs[i][c] is not None and level.outs[i][c] != t.out:
            level.status[i][c] = "unstable"  # a different answer on the same input
        level.outs[i][c] = t.out
        level.results[i][c].append(t)
    level.rounds = max(level.rounds, rounds.stop)


def _confirm(cands: _Candidates, level: _Level, config: EfficiencyConfig, warm: Sequence[bytes] = ()) -> None:
    """Rounds up to `min_rounds` on the level that decides (one batch), then, while some input is a
    close call and the level is within its budget, more up to `max_rounds`, one round per batch."""
    if level.rounds < config.min_rounds:
        _play(cands, level, range(level.rounds, config.min_rounds), config.call_limit, warm)
    while level.rounds < config.max_rounds and config.close_ratio:
        inputs = level.inputs()
        if any(r["status"] != "ok" for inp in inputs for r in inp["runs"]):
            return
        if sum(sum(r["times"]) for inp in inputs for r in inp["runs"]) > config.level_budget:
            return
        if len(cands.codes) < 2 or all(_clear(inp["runs"], config.close_ratio) for inp in inputs):
            return
        _play(cands, level, range(level.rounds, level.rounds + 1), config.call_limit, warm)


def _clear(runs: list[dict[str, Any]], ratio: float) -> bool:
    """Whether the first two candidates' times differ by `ratio` or more, the same way, in every round."""
    pairs = list(zip(runs[0]["times"], runs[1]["times"], strict=False))
    return bool(pairs) and (all(b >= a * ratio for a, b in pairs) or all(a >= b * ratio for a, b in pairs))


def _setup_errors(codes: Sequence[str]) -> list[str | None]:
    out: list[str | None] = []
    for code in codes:
        try:
            compile(code, "<candidate>", "exec")  # compiling runs nothing of it
            out.append(None)
        except (SyntaxError, ValueError) as e:
            out.append(type(e).__name__)
    return out


def _blob(c: Call) -> bytes:
    return pickle.dumps((list(c.args), dict(c.kwargs)), protocol=pickle.HIGHEST_PROTOCOL)


@functools.lru_cache(maxsize=64)
def _level_blobs(calls_key: bytes, target: int, seed: str, max_calls: int) -> list[bytes]:
    """A level's inputs, each pickled (`scaling.level_calls` on the pickled example calls). Kept for
    the other order of the same task, and other pairs of the same instruction: growing the big
    levels costs more than timing them."""
    calls, facts = pickle.loads(calls_key)
    return [_blob(c) for c in _scaling().level_calls(calls, target, seed, max_calls=max_calls, facts=facts)]


def _pack(calls: Sequence[Call | bytes], seen: set[bytes] | None = None) -> tuple[bytes | None, int]:
    """One call's value for the inputs of a level: each input pickled on its own (no object shared
    between two), those already in `seen` (an earlier level's) left out, and `seen` updated; the
    process runs them one after another in one timed span. (None, 0) when none is left."""
    blobs: list[bytes] = []
    for c in calls:
        b = c if isinstance(c, bytes) else _blob(c)
        if b not in blobs and (seen is None or b not in seen):
            blobs.append(b)
    if seen is not None:
        seen.update(blobs)
    if not blobs:
        return None, 0
    return pickle.dumps(blobs, protocol=pickle.HIGHEST_PROTOCOL), len(blobs)


def _with_slots(target: Target, slots: int) -> Target:
    """The job's target with the number of inputs one value may hold (a fresh namespace for each)."""
    return {"entry": target, "slots": slots} if isinstance(target, str) else {**target, "slots": slots}


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
        pack, k = _pack(calls)
        if pack is None:
            return {"inputs": [], "setup_errors": errors}
        cands = _Candidates(list(codes), _with_slots(_target(entry, codes), k), run, config.wall_limit)
        try:
            level = _Level([pack], len(codes))
            _confirm(cands, level, config)
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
    scaling = _scaling()
    run = runner or sandbox_runner()
    with _slots_of(run):
        facts = spec.get("constraints") if isinstance(spec, dict) else None
        return _climb(code_a, code_b, _target(spec, (code_a, code_b)), calls, seed, config, run, scaling, facts)


def _climb(
    code_a: str,
    code_b: str,
    entry: Target,
    calls: Sequence[Call],
    seed: str,
    config: EfficiencyConfig,
    run: Runner,
    scaling: Any,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    key = pickle.dumps((list(calls), facts), protocol=pickle.HIGHEST_PROTOCOL)

    def level_of(target: int) -> list[bytes]:
        return _level_blobs(key, int(target), seed, config.max_calls)

    # A level's inputs travel as one value and are timed as one span: at most each example grown
    # in each of `level_calls`' two modes.
    slots = 2 * config.max_calls
    cands = _Candidates([code_a, code_b], _with_slots(entry, slots), run, config.wall_limit)
    levels: list[_Level] = []
    spent, prev_call, stopped = 0.0, 0.0, "done"
    seen: set[bytes] = set()
    try:
        for li, target in enumerate(config.targets):
            # Inputs an earlier level already had (a call that does not grow) are not sent again.
            pack, _k = _pack(level_of(target), seen)
            if pack is None:
                stopped = "no-growth"
                break
            level = _Level([pack], 2)
            _play(cands, level, range(1), config.call_limit)  # one round per level on the way up
            levels.append(level)
            inputs = level.inputs()
            runs = [r for inp in inputs for r in inp["runs"]]
            if any(r["status"] == "setup" for r in runs):
                return {"levels": [], "stopped": "setup"}
            stopped = _stop(inputs, runs, config, li, prev_call, spent)
            spent += sum(sum(r["times"]) for r in runs)
            prev_call = max((min(r["times"]) for r in runs if r["times"]), default=0.0)
            if stopped:
                break
        else:
            stopped = "done"
        # The decision reads the largest level where both finished with the same outputs: that one
        # gets its further rounds (each a process of its own, warmed on a lower level's input).
        usable = [i for i, lv in enumerate(levels) if _usable(lv.inputs())]
        timed_out = stopped == "timeout" and _decided_by_timeout(levels, config)
        if usable and stopped not in ("disagree", "failed") and not timed_out:
            i = usable[-1]
            warm = levels[i - 1].blobs[:1] if i else ()
            _confirm(cands, levels[i], config, warm)
            _escalate(cands, levels[: i + 1], config, warm)
    finally:
        cands.close()
    return {"levels": [{"inputs": lv.inputs()} for lv in levels], "stopped": stopped}


def _escalate(cands: _Candidates, levels: list[_Level], config: EfficiencyConfig, warm: Sequence[bytes]) -> None:
    """A near miss (`efficiency_rule.near_miss`) at the deciding level, the last of `levels`, gets
    its rounds up to `escalate_rounds`, in batches of at most `max_rounds` rounds, each round in a
    fresh process warmed like the others. The processes of the rounds before are closed before each
    batch: no level is timed after this one, and a climb must not hold more than `2 x max_rounds`
    sessions, what the server keeps per worker (`timers._climb_slots`)."""
    level = levels[-1]
    ev = decide({"levels": [{"inputs": lv.inputs()} for lv in levels], "stopped": "done"}, config)
    if not near_miss(ev, config) or ev.details["efficiency"].get("level") != len(levels) - 1:
        return
    step = max(1, config.max_rounds)
    while level.rounds < config.escalate_rounds:
        cands.close()
        batch = range(level.rounds, min(level.rounds + step, config.escalate_rounds))
        _play(cands, level, batch, config.call_limit, warm)


def _decided_by_timeout(levels: list[_Level], config: EfficiencyConfig) -> bool:
    """Whether one side's timeout against a quick finish decides already (no further rounds needed)."""
    ev = decide({"levels": [{"inputs": lv.inputs()} for lv in levels], "stopped": "timeout"}, config)
    return bool(ev.details["efficiency"]["reason"] == "timeout")


def _usable(inputs: list[dict[str, Any]]) -> bool:
    return any(
        a["status"] == b["status"] == "ok" and a["out"] == b["out"] and a["times"] and b["times"]
        for a, b in (inp["runs"][:2] for inp in inputs)
    )


def _stop(
    inputs: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    config: EfficiencyConfig,
    li: int,
    prev_call: float,
    spent: float,
) -> str:
    """Why the climb stops after this level's first round ("" to go on): outputs that differ or one
    side failing (the evidence will be silent whatever comes next), a timeout, the slower past the
    level budget, a decisive gap, the next level predicted past the per-call cap, the CPU budget
    spent, or the top of the ladder."""
    for a, b in (inp["runs"][:2] for inp in inputs):
        if a["status"] == b["status"] == "ok" and a["out"] != b["out"]:
            return "disagree"
        if (a["status"] == "ok") != (b["status"] == "ok") and "timeout" not in (a["status"], b["status"]):
            return "failed"
    if any(r["status"] == "timeout" for r in runs):
        return "timeout"
    slowest = max((sum(min(inp["runs"][c]["times"] or [0.0]) for inp in inputs) for c in range(2)), default=0.0)
    if slowest > config.level_budget:
        return "budget"
    gap = level_gap(inputs)
    if gap:
        ta, tb, same = gap
        slow, fast = max(ta, tb), min(ta, tb)
        if same and slow >= config.decisive_time and slow >= fast * config.decisive_ratio:
            return "decisive"
    # A quadratic candidate multiplies its time by ~16 per level, and one level too far costs more
    # than all the others together.
    slow_call = max((min(r["times"]) for r in runs if r["times"]), default=0.0)
    if prev_call > 1e-4 and slow_call * max(slow_call / prev_call, 1.0) > config.max_predicted_call:
        return "predicted"
    if spent + sum(sum(r["times"]) for r in runs) > config.total_budget:
        return "total"
    return "done" if li == len(config.targets) - 1 else ""


def _timing(
    instruction: str, code_a: str, code_b: str, config: EfficiencyConfig, runner: Runner
) -> tuple[dict[str, Any] | None, str | None, str]:
    """(the climb's result, or None; what was timed; why nothing was) for one pair."""
    spec, calls, why = plan(instruction, code_a, code_b)
    if spec is None or not calls:
        return None, entry_name(spec), why
    return climb(code_a, code_b, spec, calls, content_id(instruction), config, runner), entry_name(spec), ""


def _read(timing: tuple[dict[str, Any] | None, str | None, str], config: EfficiencyConfig, swap: bool) -> Evidence:
    result, entry, why = timing
    if result is None:
        return silent(why, entry=entry)
    return decide(swapped(result) if swap else result, config, entry=entry)


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
    return _read(_timing(instruction, code_a, code_b, config, runner or sandbox_runner()), config, False)


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
    for key, swap in keys:
        t = timings[key]
        out.append(t if isinstance(t, Evidence) else _read(t, config, swap))
    return out
