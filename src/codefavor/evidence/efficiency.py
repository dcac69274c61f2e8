"""Efficiency evidence: which of two candidates is faster on scaled-up versions of the instruction's examples.

The entry point and its example calls come from `examples.extract_checks` (the one rule every
signal uses); the calls are grown along a ladder of sizes (`scaling.level_calls`: 16, 64, 256, 1024,
4096 items; integers in bigger steps). One contained process per pair (`timing_harness.climb`, run
by `Sandbox.run_harness` with the job as data) grows the inputs itself and climbs level by level: both
candidates run every input in turns, two rounds (up to four when an input is a close call), and the
climb stops once the slower passes a small CPU budget, would pass a per-call cap at the next level
(predicted from its growth), times out, or a decisive gap shows (2x or more in every round, on a
level that took at least a millisecond). We decide on the largest level where both ran: inputs
where the candidates disagree on the output (or fail) are set aside, a candidate that times out
where the other finishes well inside the limit is the slower, and otherwise the faster one must
win by a clear ratio of minimum CPU times *and* in every round, so a noisy machine cannot fake a
gap. Anything less is "undecided". The measurements are the `Evidence`'s details
(`EfficiencyDetails`, under "efficiency"); `efficiency_evidence` measures several pairs at once (one
per sandbox worker). On CodePrefBench's dev split (where the knobs were set) it decides 150 of 160
tasks, 99.3% of them rightly (test: 181 of 192, 94.5%) in about 4-5 s per split on the shared
2-core machine at load 4; at load 8-12, 148-152 of 160 (97.4-98.0%) and 178 of 192 (95.5%) in
13-17 s. `benchmarks/efficiency_evidence.py` measures it.
"""

from __future__ import annotations

import ast
import functools
import json
import marshal
import math
import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codefavor.evidence import Evidence, EvidenceOptions, resolve_sandbox
from codefavor.evidence.examples import calls_code, timing_plan
from codefavor.evidence.scaling import Call
from codefavor.records import Decision, content_id

TARGETS: tuple[int, ...] = (16, 64, 256, 1024, 4096)
HARNESS = Path(__file__).with_name("timing_harness.py")


@dataclass(frozen=True)
class EfficiencyConfig:
    """Knobs of the measurement and the decision (tuned on CodePrefBench's dev split only)."""

    targets: tuple[int, ...] = TARGETS
    max_calls: int = 2  # example calls kept per level (the largest ones)
    call_limit: float = 0.1  # CPU seconds one call may take before it counts as a timeout
    level_budget: float = 0.005  # the ladder stops after the level where the slower passes this
    max_predicted_call: float = 0.02  # ...or before a level whose slowest call would take longer
    total_budget: float = 1.0  # CPU seconds of measured runs for the whole ladder
    wall_limit: float = 10.0  # the sandbox kills the ladder's job after this many (CPU or wall) seconds
    min_rounds: int = 2
    max_rounds: int = 4
    close_ratio: float = 1.5  # an input whose times differ less than this gets rounds up to max_rounds
    threshold: float = 1.25  # the faster must be this many times faster (ratio of minimum times)
    decisive_ratio: float = 2.0  # a gap this wide, in every round, at a level that took...
    decisive_time: float = 1e-3  # ...at least this long (slower side) ends the climb there
    workers: int = 0  # tasks measured at once (0: one per sandbox worker)
    min_time: float = 2e-5  # below this (seconds, slower side) a level is too quick to compare
    timeout_margin: float = 4.0  # a timeout decides only if the other finished in limit / margin


@dataclass(frozen=True)
class EfficiencyDetails:
    """What the measurement found: an efficiency `Evidence`'s details, under the key "efficiency"."""

    reason: str  # what decided, or why not: "timeout", "cpu-time", "no-gap", "no-entry", ...
    ratio: float | None = None  # min time of B / min time of A at the deciding level
    level: int | None = None
    target: int | None = None
    time_a: float | None = None
    time_b: float | None = None
    inputs: int = 0  # inputs compared at the deciding level
    dropped: dict[str, int] = field(default_factory=dict)  # inputs set aside, by why
    entry: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {})}


def _evidence(decision: Decision, details: EfficiencyDetails) -> Evidence:
    """The record for a measurement. Confidence: a timeout against a quick finish is near certain; a
    CPU time gap grows surer with its ratio (1.25x -> 0.78, 4x and beyond -> 0.95)."""
    signal = "timing-timeout" if details.reason == "timeout" else "timing"
    if decision == "undecided":
        confidence = 0.5
    elif details.reason == "timeout" or not details.ratio:
        confidence = 0.95
    else:
        confidence = round(0.75 + 0.2 * min(1.0, abs(math.log(details.ratio)) / math.log(4)), 3)
    return Evidence(decision, signal, confidence, {"efficiency": details.to_dict()})


def _silent(reason: str, **kw: Any) -> Evidence:
    return _evidence("undecided", EfficiencyDetails(reason, **kw))


Runner = Callable[[dict[str, Any], float], dict[str, Any]]


def run_trusted(job: dict[str, Any], wall_limit: float) -> dict[str, Any]:
    """Run the timing harness in a fresh interpreter with memory and CPU limits, in an empty folder:
    limits, not containment, so only for code you trust (tests, your own candidates).

    Returns the harness's result, or {"error": ...} when it crashed or ran out of time.
    """

    def limits() -> None:  # pragma: no cover - runs in the child
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        cpu = int(wall_limit) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        os.setsid()

    with tempfile.TemporaryDirectory(prefix="cf-eff-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", str(HARNESS)],
                input=pickle.dumps(job),
                capture_output=True,
                timeout=wall_limit,
                cwd=tmp,
                preexec_fn=limits,
                env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            return {"error": "wall-timeout"}
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    if not lines:
        return {"error": f"harness exited {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-300:]}"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": "harness output unreadable"}


def sandbox_runner(sandbox: Any = None) -> Runner:
    """A runner that measures inside the contained worker pool of `evidence.sandbox` (the shared
    default pool when `sandbox` is None): `Sandbox.run_harness` gives the timing harness the job as
    data, so the candidates run under the pool's namespaces, seccomp filter and rlimits."""
    harness = HARNESS.read_text(encoding="utf-8")

    def run(job: dict[str, Any], wall_limit: float) -> dict[str, Any]:
        from codefavor.evidence.sandbox import Limits

        sb = resolve_sandbox(EvidenceOptions(sandbox=sandbox))
        # The harness's own alarm (check_s) reports a run past the limit before the server kills it.
        limits = Limits(
            cpu_s=wall_limit, wall_s=wall_limit + 1, check_s=wall_limit, memory_mb=2048, output_bytes=1 << 16
        )
        res = sb.run_harness(harness, job, limits)
        if not res.ok or not isinstance(res.value, dict):
            return {"error": f"sandbox: {res.error or f'unexpected result {res.value!r:.100}'}"}
        return res.value

    return run


@functools.cache
def _scaling_code() -> bytes:
    """`evidence.scaling` compiled once, for the harness to load without compiling it per job."""
    from codefavor.evidence import scaling

    src = Path(scaling.__file__).read_text(encoding="utf-8")
    return marshal.dumps(compile(src, "<scaling>", "exec"))


_SOLUTION = re.compile(r"^class\s+Solution\b", re.M)


def _callable(code: str, spec: dict[str, Any]) -> bool:
    """Whether `code` defines what the call spec calls (a class for a method, the named top-level
    function, else any function or `class Solution` for `calls.resolve` to choose from): a pair that
    cannot be called is not sent to the harness at all."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    funcs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
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
    return {"module": calls_code(), "spec": dict(spec), "platform": platform}


def climb(
    code_a: str,
    code_b: str,
    spec: dict[str, Any] | str,
    calls: Sequence[Call],
    seed: str,
    config: EfficiencyConfig = EfficiencyConfig(),
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Run the ladder in one harness job (`timing_harness.climb`): level by level, each built only
    when reached, until the slower candidate passes the level budget, a run times out, the next
    level would pass the per-call cap, the CPU budget is spent, or a decisive gap has shown.

    `spec` is `plan`'s call spec (a bare name: that top-level function). The harness makes every
    call through `calls.prepare` (objects built, a fresh instance bound, outside the timer).

    Returns {"levels": [harness result per level], "stopped": why} or {"error": ...}.
    """
    run = runner or sandbox_runner()
    spec = {"entry": spec, "owner": None} if isinstance(spec, str) else spec
    # The harness grows the inputs itself (`scaling.level_calls`, same seed, same result) and climbs
    # in one process: megabytes of literals and a process per level cost more than the timing.
    job = {
        "codes": [code_a, code_b],
        "call": call_plan(spec, (code_a, code_b)),
        "scale": {
            "module": _scaling_code(),
            "calls": [(c.args, c.kwargs) for c in calls],
            "targets": list(config.targets),
            "seed": seed,
            "max_calls": config.max_calls,
            "decisive_ratio": config.decisive_ratio,
            "decisive_time": config.decisive_time,
            "max_predicted_call": config.max_predicted_call,
            "total_budget": config.total_budget,
        },
        "call_limit": config.call_limit,
        "level_budget": config.level_budget,
        "min_rounds": config.min_rounds,
        "max_rounds": config.max_rounds,
        "close_ratio": config.close_ratio,
    }
    res = run(job, config.wall_limit)
    if "error" in res:
        return res
    if any(res.get("setup_errors") or []):
        return {"levels": [], "stopped": "setup"}
    return {"levels": res.get("levels", []), "stopped": res.get("stopped", "done")}


def decide(
    result: dict[str, Any], config: EfficiencyConfig = EfficiencyConfig(), entry: str | None = None
) -> Evidence:
    """Read the harness result of a two-candidate job into a decision (pure; see the module doc)."""
    if "error" in result:
        return _silent("harness-error", entry=entry, dropped={result["error"]: 1})
    if result.get("stopped") == "setup":
        return _silent("does-not-compile", entry=entry)
    dropped: dict[str, int] = {}
    best: Evidence | None = None
    too_fast = 0
    for li, level in enumerate(result.get("levels", [])):
        usable, slow_a, slow_b = [], 0, 0
        for inp in level["inputs"]:
            ra, rb = inp["runs"]
            sa, sb = ra["status"], rb["status"]
            if sa == "ok" and sb == "ok":
                if ra["out"] != rb["out"]:
                    dropped["disagree"] = dropped.get("disagree", 0) + 1
                elif ra["times"] and rb["times"]:
                    usable.append((ra["times"], rb["times"]))
            elif (
                sa == "timeout"
                and sb == "ok"
                and min(rb["times"] or [config.call_limit]) * config.timeout_margin < config.call_limit
            ):
                slow_a += 1
            elif (
                sb == "timeout"
                and sa == "ok"
                and min(ra["times"] or [config.call_limit]) * config.timeout_margin < config.call_limit
            ):
                slow_b += 1
            else:
                key = "both-timeout" if sa == sb == "timeout" else "error"
                dropped[key] = dropped.get(key, 0) + 1
        target = config.targets[li] if li < len(config.targets) else None
        if bool(slow_a) != bool(slow_b):  # only one side timed out where the other finished quickly
            details = EfficiencyDetails("timeout", level=li, target=target, inputs=slow_a or slow_b,
                                        dropped=dropped, entry=entry)  # fmt: skip
            return _evidence("B" if slow_a else "A", details)
        if not usable:
            continue
        ta = sum(min(a) for a, _ in usable)
        tb = sum(min(b) for _, b in usable)
        if max(ta, tb) < config.min_time:
            too_fast += len(usable)  # reported only when no level could be compared
            continue
        rounds = min(min(len(a), len(b)) for a, b in usable)
        per_round = [(sum(a[r] for a, _ in usable), sum(b[r] for _, b in usable)) for r in range(rounds)]
        ratio = tb / ta if ta > 0 else float("inf")
        if ratio >= config.threshold and all(b > a for a, b in per_round):
            decision: Decision = "A"
        elif ratio <= 1 / config.threshold and all(a > b for a, b in per_round):
            decision = "B"
        else:
            decision = "undecided"
        best = _evidence(
            decision,
            EfficiencyDetails(
                "cpu-time" if decision != "undecided" else "no-gap",
                ratio=round(ratio, 4),
                level=li,
                target=target,
                time_a=ta,
                time_b=tb,
                inputs=len(usable),
                dropped=dropped,
                entry=entry,
            ),
        )
    if best is None:
        if not dropped.get("disagree") and too_fast:
            dropped = {**dropped, "too-fast": too_fast}
        return _silent("disagree" if dropped.get("disagree") else "nothing-measured", dropped=dropped, entry=entry)
    return best


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
    spec, calls, why = plan(instruction, code_a, code_b)
    if spec is None or not calls:
        return _silent(why, entry=entry_name(spec))
    result = climb(code_a, code_b, spec, calls, content_id(instruction), config, runner or sandbox_runner())
    return decide(result, config, entry=entry_name(spec))


def efficiency_evidence(
    pairs: Sequence[tuple[str, str, str]], options: EvidenceOptions = EvidenceOptions()
) -> list[Evidence]:
    """Efficiency evidence for (instruction, code_a, code_b) triples, measured in the sandbox
    (`options.sandbox`, else the shared pool), several pairs at once. A sandbox that cannot start
    leaves every pair undecided ("no-sandbox"): candidates never run uncontained."""
    from concurrent.futures import ThreadPoolExecutor

    from codefavor.evidence.sandbox import SandboxError

    config = options.efficiency_config or EfficiencyConfig()
    if not pairs:
        return []
    try:
        sandbox = resolve_sandbox(options)
        sandbox.run("pass", [])  # start the pool now: a sandbox that cannot start fails once, here
    except SandboxError as e:
        return [_silent("no-sandbox", dropped={str(e)[:200]: 1}) for _ in pairs]
    runner = sandbox_runner(sandbox)

    def one(pair: tuple[str, str, str]) -> Evidence:
        try:
            return compare_efficiency(*pair, config, runner)
        except SandboxError as e:
            return _silent("no-sandbox", dropped={str(e)[:200]: 1})

    # Several tasks at once keep every worker of the pool busy; each timing is the CPU time of its
    # own thread, which other work on the machine disturbs far less than it does wall time.
    workers = config.workers or sandbox.workers
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pairs)))) as pool:
        return list(pool.map(one, pairs))
