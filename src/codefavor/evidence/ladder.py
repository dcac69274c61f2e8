"""The ladder of one pair: the levels of scaled inputs, each timed on both candidates in processes of
their own, from the first size up to where `efficiency` can decide or must stop.

`climb_levels` grows the examples to each target size (`scaling.level_calls`), times every level
once on the way up (`play`: the candidates in turns), stops where `_stop` says (a timeout, outputs
that differ, a budget, a decisive gap, the next level predicted past its cap), then gives the
largest level both finished alike its further rounds (`confirm`, and `_escalate` for a near miss).
A level both candidates fail as a whole is timed again without the grown inputs both fail alone
(`_salvage`); a first level that runs out of time without deciding is followed by smaller sizes
(`_descend`). A level's inputs go to a process as one value (`pack`), timed as one span; no process
ever gets the same input twice (`timers.Candidates`). What the readings mean is `efficiency_rule`'s.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Sequence
from typing import Any

from codefavor.evidence import scaling
from codefavor.evidence.efficiency_rule import EfficiencyConfig, decide, level_gap, near_miss
from codefavor.evidence.scaling import Call
from codefavor.evidence.timers import Candidates, Runner, Target, Timed
from codefavor.evidence.timers import times_of as _times


class Level:
    """One ladder level's measurements so far: per input, each candidate's calls, status and output."""

    def __init__(self, blobs: Sequence[bytes], n: int):
        self.blobs = list(blobs)
        self.results: list[list[list[Timed]]] = [[[] for _ in range(n)] for _ in self.blobs]
        self.status = [["ok"] * n for _ in self.blobs]
        self.outs: list[list[str | None]] = [[None] * n for _ in self.blobs]
        self.rounds = 0
        self.target: int | None = None  # the size its inputs were grown to

    def inputs(self) -> list[dict[str, Any]]:
        out = []
        for res, status, outs in zip(self.results, self.status, self.outs, strict=True):
            times = _times(res)
            out.append(
                {"runs": [{"status": s, "times": t, "out": o} for s, t, o in zip(status, times, outs, strict=True)]}
            )
        return out


def play(cands: Candidates, level: Level, rounds: range, limit: float, warm: Sequence[bytes] = ()) -> None:
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


def confirm(cands: Candidates, level: Level, config: EfficiencyConfig, warm: Sequence[bytes] = ()) -> None:
    """Rounds up to `min_rounds` on the level that decides (one batch), then, while some input is a
    close call and the level is within its budget, more up to `max_rounds`, one round per batch."""
    if level.rounds < config.min_rounds:
        play(cands, level, range(level.rounds, config.min_rounds), config.call_limit, warm)
    while level.rounds < config.max_rounds and config.close_ratio:
        inputs = level.inputs()
        if any(r["status"] != "ok" for inp in inputs for r in inp["runs"]):
            return
        if sum(sum(r["times"]) for inp in inputs for r in inp["runs"]) > config.level_budget:
            return
        if len(cands.codes) < 2 or all(_clear(inp["runs"], config.close_ratio) for inp in inputs):
            return
        play(cands, level, range(level.rounds, level.rounds + 1), config.call_limit, warm)


def _clear(runs: list[dict[str, Any]], ratio: float) -> bool:
    """Whether the first two candidates' times differ by `ratio` or more, the same way, in every round."""
    pairs = list(zip(runs[0]["times"], runs[1]["times"], strict=False))
    return bool(pairs) and (all(b >= a * ratio for a, b in pairs) or all(a >= b * ratio for a, b in pairs))


def call_blob(c: Call) -> bytes:
    return pickle.dumps((list(c.args), dict(c.kwargs)), protocol=pickle.HIGHEST_PROTOCOL)


@functools.lru_cache(maxsize=64)
def _level_blobs(calls_key: bytes, target: int, seed: str, max_calls: int) -> list[bytes]:
    """A level's inputs, each pickled (`scaling.level_calls` on the pickled example calls). Kept for
    the other order of the same task, and other pairs of the same instruction: growing the big
    levels costs more than timing them."""
    calls, facts = pickle.loads(calls_key)
    return [call_blob(c) for c in scaling.level_calls(calls, target, seed, max_calls=max_calls, facts=facts)]


def pack_level(calls: Sequence[Call | bytes], seen: set[bytes] | None = None) -> tuple[bytes | None, int]:
    """One call's value for the inputs of a level: each input pickled on its own (no object shared
    between two), those already in `seen` (an earlier level's) left out, and `seen` updated; the
    process runs them one after another in one timed span. (None, 0) when none is left."""
    blobs: list[bytes] = []
    for c in calls:
        b = c if isinstance(c, bytes) else call_blob(c)
        if b not in blobs and (seen is None or b not in seen):
            blobs.append(b)
    if seen is not None:
        seen.update(blobs)
    if not blobs:
        return None, 0
    return pickle.dumps(blobs, protocol=pickle.HIGHEST_PROTOCOL), len(blobs)


def with_slots(target: Target, slots: int) -> Target:
    """The job's target with the number of inputs one value may hold (a fresh namespace for each)."""
    return {"entry": target, "slots": slots} if isinstance(target, str) else {**target, "slots": slots}


def climb_levels(
    code_a: str,
    code_b: str,
    entry: Target,
    calls: Sequence[Call],
    seed: str,
    config: EfficiencyConfig,
    run: Runner,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ladder of one pair (`efficiency.climb`'s, with the call target resolved): its levels'
    readings and why it stopped."""
    key = pickle.dumps((list(calls), facts), protocol=pickle.HIGHEST_PROTOCOL)

    def level_of(target: int) -> list[bytes]:
        return _level_blobs(key, int(target), seed, config.max_calls)

    # A level's inputs travel as one value and are timed as one span: at most each example grown
    # in each of `level_calls`' two modes.
    slots = 2 * config.max_calls
    cands = Candidates([code_a, code_b], with_slots(entry, slots), run, config.wall_limit)
    levels: list[Level] = []
    set_aside: dict[str, int] = {}
    spent, prev_call, stopped = 0.0, 0.0, "done"
    seen: set[bytes] = set()
    try:
        for li, target in enumerate(config.targets):
            # Inputs an earlier level already had (a call that does not grow) are not sent again.
            pack, _k = pack_level(level_of(target), seen)
            if pack is None:
                stopped = "no-growth"
                break
            level = Level([pack], 2)
            play(cands, level, range(1), config.call_limit)  # one round per level on the way up
            if all(s == "error" for s in level.status[0]):
                warm = levels[-1].blobs[:1] if levels else ()
                level = _salvage(cands, pickle.loads(pack), config.call_limit, set_aside, warm) or level
            if li == 0 and _too_slow_to_start(level, config):
                low = _descend(cands, level_of, int(target), seen, config)
                if low is not None:
                    levels.append(low)
            level.target = int(target)
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
            confirm(cands, levels[i], config, warm)
            _escalate(cands, levels[: i + 1], config, warm)
    finally:
        cands.close()
    out: dict[str, Any] = {
        "levels": [{"inputs": lv.inputs(), "target": lv.target} for lv in levels],
        "stopped": stopped,
    }
    return {**out, "set_aside": set_aside} if set_aside else out


def _too_slow_to_start(level: Level, config: EfficiencyConfig) -> bool:
    """Whether the ladder's first level ran out of time in a way that decides nothing: both sides
    out of time, or one while the other finished too slowly for the timeout to decide."""
    st = level.status[0]
    if "timeout" not in st or not set(st) <= {"timeout", "ok"}:
        return False
    return not _decided_by_timeout([level], config)


def _descend(
    cands: Candidates, level_of: Any, target: int, seen: set[bytes], config: EfficiencyConfig
) -> Level | None:
    """A level below the ladder's first, where that one ran out of time without deciding
    (`_too_slow_to_start`): an exponential search under a small stated cap (`nums.length <= 14`, a
    bitmask over the items) takes seconds at 16 items, and the pair went silent. Halved sizes down
    to 4 are tried, one round each in fresh processes, until one that is not so (a timeout there
    that decides is kept: the quick side finished well inside the limit); that one is the ladder's
    lowest level (its `target` says its size), and the climb stops at the first as before. None
    when every smaller size runs out of time too, or grows nothing new."""
    t = target // 2
    while t >= 4:
        pack, _n = pack_level(level_of(t), seen)
        if pack is None:
            return None
        low = Level([pack], 2)
        low.target = t
        cands.close()  # a process that ran out of time answers no later call
        play(cands, low, range(1), config.call_limit)
        if not _too_slow_to_start(low, config):
            return low
        t //= 2
    return None


def _salvage(
    cands: Candidates, blobs: list[bytes], limit: float, set_aside: dict[str, int], warm: Sequence[bytes] = ()
) -> Level | None:
    """A level both candidates failed as a whole, timed again without the inputs both fail alone.

    A level's inputs run in one span, so one grown input that breaks a promise of the statement (a
    "C" with no score before it, a grid's ragged row) fails the level for both and hides the inputs
    that keep it (the example tiled). Each input is tried alone, each try in processes of its own
    (a try that ends its process decides no other), and the level is timed again on the inputs
    neither candidate fails (a timeout stays: it is a reading), in fresh processes warmed on `warm`.
    An input only one candidate fails is that candidate's failure: its try is the level then, for
    `decide` to read as the candidates disagreeing. None when no input fails alone or none is left.
    The inputs left out are counted in `set_aside` (the reading's `dropped`, "both-fail")."""
    if len(blobs) < 2:
        return None
    tries = []
    for b in blobs:
        cands.close()
        t = Level([pickle.dumps([b], protocol=pickle.HIGHEST_PROTOCOL)], 2)
        play(cands, t, range(1), limit)
        tries.append(t)
    cands.close()
    for t in tries:
        if t.status[0].count("error") == 1 and "ok" in t.status[0]:
            return t
    keep = [b for b, t in zip(blobs, tries, strict=True) if "error" not in t.status[0]]
    if not keep or len(keep) == len(blobs):
        return None  # nothing to time, or no input fails alone: the level's failure is the codes'
    set_aside["both-fail"] = set_aside.get("both-fail", 0) + len(blobs) - len(keep)
    level = Level([pickle.dumps(keep, protocol=pickle.HIGHEST_PROTOCOL)], 2)
    play(cands, level, range(1), limit, warm)
    return level


def _escalate(cands: Candidates, levels: list[Level], config: EfficiencyConfig, warm: Sequence[bytes]) -> None:
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
        play(cands, level, batch, config.call_limit, warm)


def _decided_by_timeout(levels: list[Level], config: EfficiencyConfig) -> bool:
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
