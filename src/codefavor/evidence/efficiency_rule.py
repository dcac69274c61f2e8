"""The efficiency evidence's settings and its decision rule: what a climb's measurements decide.

`efficiency.climb` measures; `decide` reads its result (pure): silent when the outputs differ on any
input or only one side fails; one side's timeout against a quick finish decides; otherwise, on the
largest level both finished, the faster must win by `threshold` in the ratio of minimum CPU times
and every round of the slower must lie above every round of the faster, over at least `min_rounds`
rounds (the levels the climb passed on the way up, timed once, never decide). A near miss
(`near_miss`: silent, but the ratio already past `escalate_ratio`) gets more rounds, up to
`escalate_rounds`; over that many, each side's slowest quarter of rounds is set aside and the
medians must differ by `threshold` too (`rounds_decision`). `swapped` reads one measurement in the
other order, so both orders of a pair get one timing and two verdicts that agree.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from codefavor.evidence import Evidence
from codefavor.records import Decision

TARGETS: tuple[int, ...] = (16, 64, 256, 1024, 4096, 16384)


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
    min_rounds: int = 3
    max_rounds: int = 4
    close_ratio: float = 1.5  # an input whose times differ less than this gets rounds up to max_rounds
    threshold: float = 1.25  # the faster must be this many times faster (ratio of minimum times)
    decisive_ratio: float = 2.0  # a gap this wide, in every round, at a level that took...
    decisive_time: float = 1e-3  # ...at least this long (slower side) ends the climb there
    workers: int = 0  # tasks measured at once (0: one per sandbox worker)
    min_time: float = 2e-5  # below this (seconds, slower side) a level is too quick to compare
    timeout_margin: float = 4.0  # a timeout decides only if the other finished in limit / margin
    escalate_rounds: int = 8  # rounds a near miss gets in all (0: none beyond max_rounds)
    escalate_ratio: float = 1.15  # a silent level whose ratio of minimum times is past this is a near miss
    escalate_budget: float = 0.1  # CPU seconds (both sides) the further rounds of a near miss may take
    quick_time: float = 1e-3  # a level whose slower side is quicker than this decides only over escalate_rounds


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
    rounds: int | None = None  # rounds timed at the deciding level
    dropped: dict[str, int] = field(default_factory=dict)  # inputs set aside, by why
    failed: dict[str, list[str]] = field(default_factory=dict)  # side -> what it raised where only it failed
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
    else:  # from the times, not the rounded ratio: both orders of one measurement get one confidence
        ratio = details.time_b / details.time_a if details.time_a and details.time_b else details.ratio
        confidence = round(0.75 + 0.2 * min(1.0, abs(math.log(ratio)) / math.log(4)), 3)
    return Evidence(decision, signal, confidence, {"efficiency": details.to_dict()})


def silent(reason: str, **kw: Any) -> Evidence:
    """An undecided efficiency verdict that says why (`EfficiencyDetails.reason`)."""
    return _evidence("undecided", EfficiencyDetails(reason, **kw))


def _totals(usable: list[tuple[list[float], list[float]]]) -> tuple[float, float, list[tuple[float, float]]]:
    """Over a level's usable inputs (each side's round times): each side's sum of minimum times,
    and the per-round sums over the rounds both sides have."""
    ta, tb = sum(min(a) for a, _ in usable), sum(min(b) for _, b in usable)
    rounds = min(min(len(a), len(b)) for a, b in usable)
    return ta, tb, [(sum(a[r] for a, _ in usable), sum(b[r] for _, b in usable)) for r in range(rounds)]


def level_gap(inputs: list[dict[str, Any]]) -> tuple[float, float, bool] | None:
    """(time of the first candidate, of the second, whether every round agrees on who is faster)
    over the inputs where two candidates both finished with the same output; None without any."""
    usable = []
    for inp in inputs:
        a, b = inp["runs"][:2]
        if a["status"] == b["status"] == "ok" and a["out"] == b["out"] and a["times"] and b["times"]:
            usable.append((a["times"], b["times"]))
    if not usable:
        return None
    ta, tb, per_round = _totals(usable)
    return ta, tb, all(x < y for x, y in per_round) or all(x > y for x, y in per_round)


def rounds_decision(per_round: list[tuple[float, float]], ratio: float, config: EfficiencyConfig) -> Decision:
    """Who is faster by a level's per-round times (first, second candidate) and its ratio of minimum
    times (second / first). Up to `max_rounds` rounds: every round of the slower above every round of
    the faster. Beyond that (a near miss measured further), each side's slowest quarter of rounds is
    set aside first: interference from other work only ever adds CPU time (caches, memory bandwidth),
    so on a loaded machine a side's slowest rounds are the noisy ones, and one of them would otherwise
    silence a gap every other round shows. The medians must then differ by `threshold` as well."""
    k = len(per_round)
    if k < config.min_rounds:
        return "undecided"
    a = sorted(x for x, _ in per_round)
    b = sorted(y for _, y in per_round)
    if config.escalate_rounds and k < config.escalate_rounds and max(a[0], b[0]) < config.quick_time:
        # Under a millisecond, another process's memory traffic can slow one side by a third for a
        # few rounds running (identical code decided so, under a full test suite beside a model
        # server): such a level decides only over a near miss's rounds (`near_miss` gives them).
        return "undecided"
    extended = k > config.max_rounds
    keep = k - k // 4 if extended else k
    ma, mb = statistics.median(a), statistics.median(b)
    if ratio >= config.threshold and b[0] > a[keep - 1] and (not extended or mb >= config.threshold * ma):
        return "A"
    if ratio <= 1 / config.threshold and a[0] > b[keep - 1] and (not extended or ma >= config.threshold * mb):
        return "B"
    return "undecided"


def near_miss(evidence: Evidence, config: EfficiencyConfig) -> bool:
    """Whether a silent timing is worth more rounds (pure): a gap in the ratio of minimum times
    (past `escalate_ratio` either way) that the rounds did not confirm, on a level quick enough that
    the rounds still missing to `escalate_rounds` fit in `escalate_budget`. An even pair (ratio near
    1) is left silent: more rounds would not move it."""
    d = evidence.details.get("efficiency", {})
    ratio, rounds = d.get("ratio"), d.get("rounds") or 0
    if evidence.decided or d.get("reason") != "no-gap" or not ratio or rounds >= config.escalate_rounds:
        return False
    if max(ratio, 1 / ratio) < config.escalate_ratio:
        return False
    per_round = (d.get("time_a") or 0.0) + (d.get("time_b") or 0.0)
    return per_round * (config.escalate_rounds - rounds) <= config.escalate_budget


def swapped(result: dict[str, Any]) -> dict[str, Any]:
    """A two-candidate harness result with the candidates' places exchanged: the same measurement
    read in the other order (the decision rule is symmetric, so its verdict is the mirror image)."""
    if "levels" not in result:
        return result
    levels = [
        {**lv, "inputs": [{**inp, "runs": [inp["runs"][1], inp["runs"][0], *inp["runs"][2:]]} for inp in lv["inputs"]]}
        for lv in result["levels"]
    ]
    return {**result, "levels": levels}


def decide(
    result: dict[str, Any], config: EfficiencyConfig = EfficiencyConfig(), entry: str | None = None
) -> Evidence:
    """Read the harness result of a two-candidate job into a decision (pure; see the module doc)."""
    if "error" in result:
        return silent("harness-error", entry=entry, dropped={result["error"]: 1})
    if result.get("stopped") == "setup":
        return silent("does-not-compile", entry=entry)
    dropped: dict[str, int] = {}
    failed: dict[str, list[str]] = {}
    best: Evidence | None = None
    too_fast = 0
    # Two candidates that compute different things are not compared at all: a wrong (or failing)
    # answer is often a quick one, so timing only the inputs where they happen to agree would
    # reward it. One side's timeout still decides (the other finished well inside the limit).
    for level in result.get("levels", []):
        for inp in level["inputs"]:
            ra, rb = inp["runs"][:2]
            sa, sb = ra["status"], rb["status"]
            if (sa == sb == "ok" and ra["out"] != rb["out"]) or (
                (sa == "ok") != (sb == "ok") and "timeout" not in (sa, sb)
            ):
                why = "disagree" if sa == sb == "ok" else "one-side-" + (sb if sa == "ok" else sa)
                dropped[why] = dropped.get(why, 0) + 1
                if why == "one-side-error":
                    side, run = ("B", rb) if sa == "ok" else ("A", ra)
                    errors, error = failed.setdefault(side, []), str(run["out"])[:60]
                    if error not in errors:
                        errors.append(error)
    if dropped:
        return silent("disagree", dropped=dropped, entry=entry, failed=failed)
    dropped = dict(result.get("set_aside") or {})  # inputs the climb left out: both failed them alone
    # From here on the two sides agree wherever both finished.
    for li, level in enumerate(result.get("levels", [])):
        usable, slow_a, slow_b = [], 0, 0
        for inp in level["inputs"]:
            ra, rb = inp["runs"][:2]
            sa, sb = ra["status"], rb["status"]
            if sa == "ok" and sb == "ok":
                if ra["times"] and rb["times"]:
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
                # one side out of time while the other finished, but too slowly for that to decide,
                # is no error: the report names it apart, so a silent pair says why
                key = (
                    "both-timeout"
                    if sa == sb == "timeout"
                    else "timeout-not-decisive"
                    if "timeout" in (sa, sb) and "ok" in (sa, sb)
                    else "error"
                )
                dropped[key] = dropped.get(key, 0) + 1
        target = level.get("target") or (config.targets[li] if li < len(config.targets) else None)
        if bool(slow_a) != bool(slow_b):  # only one side timed out where the other finished quickly
            details = EfficiencyDetails("timeout", level=li, target=target, inputs=slow_a or slow_b,
                                        dropped=dropped, entry=entry)  # fmt: skip
            return _evidence("B" if slow_a else "A", details)
        if not usable:
            continue
        ta, tb, per_round = _totals(usable)
        if max(ta, tb) < config.min_time:
            too_fast += len(usable)  # reported only when no level could be compared
            continue
        rounds = len(per_round)
        ratio = tb / ta if ta > 0 else float("inf")
        # Every round of the slower above every round of the faster, not only round by round: each
        # round is a process of its own, and a process can be slow throughout (its page faults,
        # where its memory landed), which pairs of rounds would read as a gap between the codes.
        # (A level the climb passed on the way up, timed once, has too few rounds to decide.)
        decision = rounds_decision(per_round, ratio, config)
        best = _evidence(
            decision,
            EfficiencyDetails(
                "cpu-time" if decision != "undecided" else "no-gap" if rounds >= config.min_rounds else "few-rounds",
                ratio=round(ratio, 4),
                level=li,
                target=target,
                time_a=ta,
                time_b=tb,
                inputs=len(usable),
                rounds=rounds,
                dropped=dropped,
                entry=entry,
            ),
        )
    if best is None:
        return silent(
            "nothing-measured", dropped={**dropped, "too-fast": too_fast} if too_fast else dropped, entry=entry
        )
    if dropped:  # what later levels set aside (a timeout not quick enough to decide, an error) is part of it
        best.details["efficiency"]["dropped"] = dict(dropped)
    return best
