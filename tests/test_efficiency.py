"""Efficiency evidence: clear complexity gaps decide, equal code stays undecided, and the decision rule
reads harness results correctly (timeouts, disagreements, noisy rounds)."""

from __future__ import annotations

import dataclasses

import pytest

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.efficiency import EfficiencyConfig, decide, run_trusted
from codefavor.evidence.efficiency import compare_efficiency as _compare

INSTRUCTION = '''Write a function that says whether a list holds a duplicate.
```
def has_dup(xs):
    """
    >>> has_dup([1, 2, 3, 4, 5, 6, 7, 8, 9])
    False
    >>> has_dup([4, 1, 4])
    True
    """
```
'''
QUADRATIC = """
def has_dup(xs):
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if xs[i] == xs[j]:
                return True
    return False
"""
LINEAR = """
def has_dup(xs):
    return len(set(xs)) != len(xs)
"""
LINEAR_TOO = """
def has_dup(items):
    seen = set()
    for x in items:
        if x in seen:
            return True
        seen.add(x)
    return False
"""
WRONG = """
def has_dup(xs):
    return False
"""

# Quick settings for tests: a small ladder and small budgets.
FAST = EfficiencyConfig(targets=(16, 128, 1024, 4096), level_budget=0.02, call_limit=0.5, total_budget=2.0)


def eff(ev):
    """The measurements of an efficiency `Evidence`."""
    return ev.details["efficiency"]


def compare_efficiency(instruction, a, b, config=FAST):
    """Our own test code needs no containment: the plain limited interpreter keeps these tests
    independent of the sandbox (one test below covers the sandbox runner)."""
    return _compare(instruction, a, b, config, runner=run_trusted)


def test_quadratic_loses_to_linear_in_both_orders():
    ab = compare_efficiency(INSTRUCTION, QUADRATIC, LINEAR)
    ba = compare_efficiency(INSTRUCTION, LINEAR, QUADRATIC)
    assert (ab.decision, ba.decision) == ("B", "A"), (ab, ba)
    assert eff(ab)["reason"] in ("cpu-time", "timeout") and eff(ab)["entry"] == "has_dup"
    if eff(ab)["reason"] == "cpu-time":
        assert eff(ab).get("ratio") is not None and eff(ab)["ratio"] < 1 / FAST.threshold


def test_identical_code_is_undecided():
    """Equal code must not decide. On a heavily loaded machine a run can fake a gap at a sub-ms level
    now and then (seen once in ~40 runs, under a full test suite beside other jobs; 0 of 20 at load
    3): so the majority of three runs must be silent, and a bias that decides often still fails."""
    results = []
    for _ in range(3):
        ev = compare_efficiency(INSTRUCTION, LINEAR, LINEAR)
        results.append((ev.decision, eff(ev)["reason"]))
        if results.count(("undecided", "no-gap")) == 2:
            break
    assert results.count(("undecided", "no-gap")) >= 2, results


def test_identical_code_is_undecided_after_a_near_miss_rounds_too():
    """The further rounds set each side's slowest quarter aside: equal code must still not decide."""
    cfg = dataclasses.replace(FAST, escalate_ratio=1.0, escalate_budget=10.0)
    for _ in range(3):
        ev = compare_efficiency(INSTRUCTION, LINEAR, LINEAR, cfg)
        assert (ev.decision, eff(ev)["reason"], eff(ev)["rounds"]) == ("undecided", "no-gap", cfg.escalate_rounds), ev


def test_wrong_answers_silence_the_timing():
    ev = compare_efficiency(INSTRUCTION, WRONG, LINEAR_TOO)
    # The unique-element inputs agree (False), the tiled ones with duplicates do not: a quick wrong
    # answer must not win on the inputs where it happens to be right.
    assert ev.decision == "undecided" and eff(ev)["reason"] == "disagree", ev
    assert eff(ev)["dropped"].get("disagree")


def test_no_entry_or_examples():
    assert eff(compare_efficiency(INSTRUCTION, "def other(x): pass", LINEAR))["reason"] == "no-entry"
    plain = "Write has_dup(xs).\n```\ndef has_dup(xs):\n    pass\n```"
    assert eff(compare_efficiency(plain, LINEAR, LINEAR_TOO))["reason"] == "no-examples"


def test_harness_reports_timeouts_errors_and_unstable_results():
    from codefavor.evidence.efficiency import measure
    from codefavor.evidence.scaling import Call

    codes = [
        "def f(n):\n    while True:\n        pass\n",
        "import random\ndef f(n):\n    return random.random()\n",
        "def f(n):\n    return 1 // 0\n",
        "def f(n):\n    return (i for i in range(n))\n",
        "def f(:\n",
    ]
    cfg = EfficiencyConfig(call_limit=0.2)
    calls = [Call((10,), ())]
    res = measure(codes[:4], "f", calls, cfg, run_trusted)
    statuses = [r["status"] for r in res["inputs"][0]["runs"]]
    # The first two rounds run as one batch, so the random one answered twice, differently.
    assert statuses == ["timeout", "unstable", "error", "ok"], res
    assert res["inputs"][0]["runs"][2]["out"] == "ZeroDivisionError"
    res = measure(codes[1:2], "f", calls, cfg, run_trusted)
    assert res["inputs"][0]["runs"][0]["status"] == "unstable"  # another answer on a repeat
    assert measure(codes, "f", calls, cfg, run_trusted)["setup_errors"][-1] == "SyntaxError"


def _level(*inputs):
    return {"inputs": [{"runs": [a, b]} for a, b in inputs], "setup_errors": [None, None]}


def ok(times, out="x"):
    return {"status": "ok", "times": list(times), "out": out}


CFG = EfficiencyConfig()


DECIDE_TABLE = [
    # A clear gap in every round at the top level decides, whatever the lower levels said.
    ([_level((ok([1e-4] * 3), ok([1e-4] * 3))), _level((ok([0.01] * 3), ok([0.03] * 3)))], ("A", "cpu-time")),
    ([_level((ok([0.05, 0.05, 0.05]), ok([0.01, 0.011, 0.012])))], ("B", "cpu-time")),
    # A ratio above the threshold that does not hold in every round is noise.
    ([_level((ok([0.01, 0.02, 0.01]), ok([0.03, 0.015, 0.03])))], ("undecided", "no-gap")),
    ([_level((ok([0.010] * 3), ok([0.011] * 3)))], ("undecided", "no-gap")),
    # The further rounds of a near miss: a side's slowest rounds (load) no longer silence the gap.
    ([_level((ok([0.01, 0.03, 0.01]), ok([0.02] * 3)))], ("undecided", "no-gap")),
    ([_level((ok([0.01, 0.03] + [0.01] * 6), ok([0.02] * 8)))], ("A", "cpu-time")),
    # Under a millisecond a clean gap over four rounds is not enough (another process's memory
    # traffic can fake one); over a near miss's eight it is.
    ([_level((ok([3e-4] * 4), ok([4e-4] * 4)))], ("undecided", "no-gap")),
    ([_level((ok([3e-4] * 8), ok([4e-4] * 8)))], ("A", "cpu-time")),
    # A timeout against a quick finish decides; against a near-limit finish it does not.
    ([_level(({"status": "timeout", "times": [], "out": None}, ok([0.01])))], ("B", "timeout")),
    ([_level(({"status": "timeout", "times": [], "out": None}, ok([0.9])))], ("undecided", "nothing-measured")),
    # Disagreeing outputs are set aside; so are levels too quick to measure.
    ([_level((ok([0.01] * 3, "x"), ok([0.05] * 3, "y")))], ("undecided", "disagree")),
    ([_level((ok([1e-6] * 3), ok([5e-6] * 3)))], ("undecided", "nothing-measured")),
]


def test_a_later_level_that_sets_an_input_aside_is_in_the_silent_reading():
    # the first level overlaps (no-gap); at the next, A runs out of time while B is too slow for a
    # timeout to decide: the lean of the first level must not stand alone
    levels = [
        _level((ok([0.0018, 0.0025, 0.0018, 0.0025]), ok([0.0020, 0.0021, 0.0020, 0.0021]))),
        _level(({"status": "timeout", "times": [], "out": None}, ok([0.032]))),
    ]
    ev = decide({"levels": levels, "stopped": "done"}, CFG)
    assert (ev.decision, eff(ev)["reason"], eff(ev)["dropped"]) == ("undecided", "no-gap", {"timeout-not-decisive": 1})


@pytest.mark.parametrize("levels, expected", DECIDE_TABLE)
def test_decide_table(levels, expected):
    ev = decide({"levels": levels, "stopped": "done"}, CFG)
    assert (ev.decision, eff(ev)["reason"]) == expected, ev


@pytest.mark.parametrize("levels, expected", DECIDE_TABLE)
def test_swapped_result_gives_the_mirror_verdict(levels, expected):
    """Both orders of a pair are one measurement read twice: the rule must be symmetric."""
    from codefavor.evidence.efficiency_rule import swapped

    result = {"levels": levels, "stopped": "done"}
    ev, mirror = decide(result, CFG), decide(swapped(result), CFG)
    assert mirror.decision == {"A": "B", "B": "A"}.get(ev.decision, ev.decision), (ev, mirror)
    assert eff(mirror)["reason"] == eff(ev)["reason"] and mirror.confidence == ev.confidence
    if eff(ev).get("ratio"):
        assert eff(mirror)["ratio"] == pytest.approx(1 / eff(ev)["ratio"], rel=1e-3)
    assert decide(swapped(swapped(result)), CFG) == ev


def _rounds(a, b):
    return list(zip(a, b, strict=True))


@pytest.mark.parametrize(
    "a, b, expected",
    [
        # Up to max_rounds: every round of the slower above every round of the faster.
        ([1.0, 1.1, 1.05], [2.0, 2.1, 2.2], "A"),
        ([2.0, 2.1, 2.2], [1.0, 1.1, 1.05], "B"),
        ([1.0, 2.5, 1.05], [2.0, 2.1, 2.2], "undecided"),  # one slow round of the faster silences it
        ([1.0, 1.0], [3.0, 3.0], "undecided"),  # below min_rounds
        ([1.0, 1.0, 1.0], [1.2, 1.2, 1.2], "undecided"),  # below the threshold
        # Further rounds of a near miss: each side's slowest quarter set aside (load only adds time).
        ([1.0, 2.5, 1.05, 1.0, 1.1, 1.0, 1.05, 1.0], [2.0, 2.1, 2.2, 2.0, 2.3, 2.1, 2.0, 2.2], "A"),
        ([1.0, 2.5, 2.4, 1.0, 1.1, 1.0, 1.05, 1.0], [2.0, 2.1, 2.2, 2.0, 2.3, 2.1, 2.0, 2.2], "A"),
        ([1.0, 2.5, 2.4, 2.3, 1.1, 1.0, 1.05, 1.0], [2.0, 2.1, 2.2, 2.0, 2.3, 2.1, 2.0, 2.2], "undecided"),
        ([2.0, 2.1, 2.2, 2.0, 2.3, 2.1, 2.0, 2.2], [1.0, 2.5, 2.4, 1.0, 1.1, 1.0, 1.05, 1.0], "B"),
        # ...a fast outlier of the slower side is not set aside,
        ([1.0] * 8, [0.9, 2.1, 2.2, 2.0, 2.3, 2.1, 2.0, 2.2], "undecided"),
        # ...and the medians must differ by the threshold too, not only the minimums.
        ([1.0, 1.0, 1.9, 1.9, 1.9, 1.9, 1.95, 1.95], [2.0, 2.0, 2.0, 2.0, 2.1, 2.1, 2.1, 2.1], "undecided"),
    ],
)
def test_rounds_decision_table(a, b, expected):
    from codefavor.evidence.efficiency_rule import rounds_decision

    assert rounds_decision(_rounds(a, b), min(b) / min(a), CFG) == expected


def _no_gap(ratio, rounds, t=1e-3, reason="no-gap", decision="undecided"):
    from codefavor.evidence.efficiency_rule import EfficiencyDetails, _evidence

    return _evidence(decision, EfficiencyDetails(reason, ratio=ratio, rounds=rounds, time_a=t, time_b=t * ratio))


@pytest.mark.parametrize(
    "ev, expected",
    [
        (_no_gap(1.9, 3), True),  # a gap the rounds did not confirm: measure more
        (_no_gap(0.5, 4), True),  # either way
        (_no_gap(1.2, 3), True),
        (_no_gap(1.05, 3), False),  # an even pair: more rounds would not move it
        (_no_gap(1 / 1.05, 3), False),
        (_no_gap(1.9, 8), False),  # already measured that far
        (_no_gap(1.9, 3, t=0.02), False),  # 5 more rounds of 0.058 s each: past the budget
        (_no_gap(1.9, 3, reason="disagree"), False),
        (_no_gap(1.9, 3, reason="cpu-time", decision="A"), False),
    ],
)
def test_near_miss_table(ev, expected):
    from codefavor.evidence.efficiency_rule import near_miss

    assert near_miss(ev, CFG) is expected


def test_decide_errors():
    assert eff(decide({"error": "wall-timeout"}, CFG))["reason"] == "harness-error"
    assert eff(decide({"levels": [], "stopped": "setup"}, CFG))["reason"] == "does-not-compile"


def test_sandbox_runner_decides_the_same():
    from codefavor.evidence.efficiency import sandbox_runner
    from codefavor.evidence.sandbox import Sandbox, SandboxError

    try:
        with Sandbox(workers=1) as sb:
            ev = _compare(INSTRUCTION, QUADRATIC, LINEAR, FAST, runner=sandbox_runner(sb))
    except SandboxError as e:
        pytest.skip(str(e))
    assert ev.decision == "B", ev


def test_judge_hook_without_a_sandbox_is_silent(monkeypatch):
    import codefavor.evidence.sandbox as sandbox_mod
    from codefavor.evidence.efficiency import efficiency_evidence

    def no_sandbox():
        raise sandbox_mod.SandboxError("no namespaces here")

    monkeypatch.setattr(sandbox_mod, "default_sandbox", no_sandbox)
    items = [(INSTRUCTION, QUADRATIC, LINEAR)] * 2
    evs = efficiency_evidence(items, EvidenceOptions())
    assert [(e.decision, eff(e)["reason"], e.signal, e.confidence) for e in evs] == [
        ("undecided", "no-sandbox", "timing", 0.5)
    ] * 2


def test_climb_stops_at_a_decisive_gap():
    from codefavor.evidence.efficiency import climb, plan

    entry, calls, _ = plan(INSTRUCTION, QUADRATIC, LINEAR)
    cfg = EfficiencyConfig(targets=(16, 64, 256, 1024, 4096, 16384), level_budget=10.0, max_predicted_call=10.0)
    res = climb(QUADRATIC, LINEAR, entry, calls, "seed", cfg, runner=run_trusted)
    assert res["stopped"] == "decisive" and len(res["levels"]) < len(cfg.targets), res["stopped"]
    ev = decide(res, cfg, entry=entry)
    assert ev.decision == "B" and eff(ev)["ratio"] <= 1 / cfg.decisive_ratio
    # Without the early stop the same ladder climbs until the quadratic one passes its budgets.
    slow = climb(QUADRATIC, LINEAR, entry, calls, "seed", EfficiencyConfig(**{**cfg.__dict__, "decisive_ratio": 1e9}),
                 runner=run_trusted)  # fmt: skip
    assert len(slow["levels"]) > len(res["levels"])


def test_climb_reports_setup_errors():
    from codefavor.evidence.efficiency import climb, plan

    entry, calls, _ = plan(INSTRUCTION, QUADRATIC, LINEAR)
    assert climb("def has_dup(:\n", LINEAR, entry, calls, "s", FAST, runner=run_trusted)["stopped"] == "setup"


def test_a_swallowed_timeout_comes_back():
    """The server stops a call at its CPU limit by killing the process: a candidate that swallows
    signals or disables alarms does not buy itself the whole job's limit."""
    import time

    from codefavor.evidence.efficiency import measure, sandbox_runner
    from codefavor.evidence.sandbox import Sandbox, SandboxError
    from codefavor.evidence.scaling import Call

    swallow = "import signal\nsignal.setitimer = signal.signal = lambda *a: None\n"
    swallow += "def f(n):\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"
    swallow += "    while True:\n        pass\n"
    try:
        with Sandbox(workers=1) as sb:
            t0 = time.monotonic()
            res = measure([swallow, "def f(n):\n    return n\n"], "f", [Call((1,), ())],
                          EfficiencyConfig(call_limit=0.1), sandbox_runner(sb))  # fmt: skip
    except SandboxError as e:
        pytest.skip(str(e))
    assert [r["status"] for r in res["inputs"][0]["runs"]] == ["timeout", "ok"], res
    assert time.monotonic() - t0 < 4


def test_plain_outputs_hash_like_normalised_ones():
    import importlib.util
    import json

    from codefavor.evidence.efficiency import HARNESS

    spec = importlib.util.spec_from_file_location("timing_harness_t", HARNESS)
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    for out in ([1, "a", True, None], (1, 2), [(1, 2), [3, "x"]], [], [1.5], [[1.0]], [{1, 2}], {"a": 1}, "s", 3):
        slow = json.dumps(h._norm(out), sort_keys=True, default=repr)  # the general path, for any output
        assert h.output_text(out) == slow, out
    assert h._plain([(1, 2), [3]]) and not h._plain([[1.5]]) and not h._plain([[[1]]])
    assert h.output_text([1, 2]) == h.output_text((1, 2)) != h.output_text([2, 1])


def test_judge_hook_keeps_item_order_when_concurrent():
    from codefavor.evidence.efficiency import efficiency_evidence
    from codefavor.evidence.sandbox import Sandbox, SandboxError

    pairs = [(QUADRATIC, LINEAR), (LINEAR, QUADRATIC), (LINEAR, LINEAR), (QUADRATIC, LINEAR)]
    items = [(INSTRUCTION, a, b) for a, b in pairs]
    try:
        with Sandbox(workers=2) as sb:
            evs = efficiency_evidence(items, EvidenceOptions(sandbox=sb, efficiency_config=FAST))
    except SandboxError as e:
        pytest.skip(str(e))
    assert [e.decision for e in evs] == ["B", "A", "undecided", "B"], [eff(e)["reason"] for e in evs]
    # One measurement per pair of codes, whatever the order they come in: read twice, mirrored.
    assert eff(evs[0]) == eff(evs[3])
    assert (eff(evs[0]).get("time_a"), eff(evs[0]).get("level")) == (
        eff(evs[1]).get("time_b"),
        eff(evs[1]).get("level"),
    )


SOLUTION_STATEMENT = """Contains Duplicate

Given an integer array nums, return true if any value appears at least twice.

Example 1:
Input: nums = [1,2,3,1]
Output: true

Example 2:
Input: nums = [1,2,3,4]
Output: false
"""
# Platform-style solutions: no imports (List comes with the platform), parameters named otherwise.
SOLUTION_QUADRATIC = """class Solution:
    def containsDuplicate(self, values: List[int]) -> bool:
        for i in range(len(values)):
            for j in range(i):
                if values[i] == values[j]:
                    return True
        return False
"""
SOLUTION_LINEAR = """class Solution:
    def containsDuplicate(self, nums: List[int]) -> bool:
        return len(set(nums)) < len(nums)
"""
LIST_STATEMENT = """Given the head of a linked list, return the number of nodes whose value is even.

Example 1:
Input: head = [1,2,3,4]
Output: 2
"""
# Quadratic in Python steps (a recount per node): `list.insert(0, ...)` is quadratic only in a
# memmove, too cheap at the sizes the climb reaches to separate from linear on a busy machine.
LIST_QUADRATIC = """class Solution:
    def countEven(self, head: Optional[ListNode]) -> int:
        values, n = [], 0
        while head:
            values.append(head.val)
            n = sum(1 for v in values if v % 2 == 0)
            head = head.next
        return n
"""
LIST_LINEAR = """class Solution:
    def countEven(self, head: Optional[ListNode]) -> int:
        n = 0
        while head:
            n += head.val % 2 == 0
            head = head.next
        return n
"""


@pytest.mark.parametrize(("statement", "slow", "fast"), [(SOLUTION_STATEMENT, SOLUTION_QUADRATIC, SOLUTION_LINEAR),
                                                       (LIST_STATEMENT, LIST_QUADRATIC, LIST_LINEAR)])  # fmt: skip
def test_class_solution_methods_are_timed_through_the_calling_convention(statement, slow, fast):
    """A method is called as correctness calls it (instance per call, by position when the names
    differ, a linked list built from its literal before the timer starts), so the gap shows."""
    ab = compare_efficiency(statement, slow, fast)
    ba = compare_efficiency(statement, fast, slow)
    assert (ab.decision, ba.decision) == ("B", "A"), (ab, ba)
    assert eff(ab)["reason"] in ("cpu-time", "timeout")


# -- candidates that tamper with the measurement ------------------------------------------------
# Each is the quadratic solution plus a trick that, with both candidates in one interpreter and
# the harness timing itself, made it win. Each candidate now runs in processes of its own and the
# server reads their CPU clocks from the kernel, so the honest linear one must win in both orders.
TAMPERING = {
    "profile_hook_slows_everyone_else": "import sys\n"
    "def _slow(*a):\n    for _ in range(50):\n        pass\nsys.setprofile(_slow)\nsys.settrace(lambda *a: None)\n"
    + QUADRATIC,
    "patched_clocks_and_alarm": "import time, signal\n"
    "for name in ('thread_time', 'process_time', 'perf_counter', 'monotonic', 'time'):\n"
    "    setattr(time, name, lambda: 0.0)\n"
    "    setattr(time, name + '_ns', lambda: 0)\n"
    "signal.setitimer = lambda *a, **k: (0.0, 0.0)\nsignal.signal = lambda *a, **k: None\n" + QUADRATIC,
}
# Breaks the harness around it (its process's own): then it fails where the other answers, and the
# timing is silent (or it loses), never in its favour.
BREAKERS = {
    "walks_up_to_the_harness": "import sys\n"
    "def has_dup(xs):\n    f = sys._getframe(1)\n    while f is not None:\n"
    "        for k in list(f.f_globals):\n            if k in ('time', 'pickle', 'gc'):\n"
    "                f.f_globals[k] = None\n        f = f.f_back\n"
    "    for i in range(len(xs)):\n        for j in range(i + 1, len(xs)):\n"
    "            if xs[i] == xs[j]:\n                return True\n    return False\n",
}
# A constant answer that patches hashlib so that the output check would pass: it is wrong on the
# inputs with duplicates, so the timing must stay silent (the examples then decide).
CONSTANT = (
    "import hashlib\nclass _H:\n    def __init__(self, *a): pass\n    def update(self, *a): pass\n"
    "    def hexdigest(self): return '0' * 64\nhashlib.sha256 = hashlib.md5 = _H\n"
    "def has_dup(xs):\n    return False\n"
)


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_candidate_loses_to_the_honest_linear_one_in_both_orders(sandbox, name):
    from codefavor.evidence.efficiency import sandbox_runner

    run = sandbox_runner(sandbox)
    ab = _compare(INSTRUCTION, TAMPERING[name], LINEAR, FAST, runner=run)
    ba = _compare(INSTRUCTION, LINEAR, TAMPERING[name], FAST, runner=run)
    assert (ab.decision, ba.decision) == ("B", "A"), (eff(ab), eff(ba))


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_a_candidate_that_breaks_the_harness_never_wins(sandbox, name):
    from codefavor.evidence.efficiency import sandbox_runner

    run = sandbox_runner(sandbox)
    ab = _compare(INSTRUCTION, BREAKERS[name], LINEAR, FAST, runner=run)
    ba = _compare(INSTRUCTION, LINEAR, BREAKERS[name], FAST, runner=run)
    assert ab.decision != "A" and ba.decision != "B", (eff(ab), eff(ba))


def test_a_constant_with_patched_hashlib_never_wins(sandbox):
    from codefavor.evidence.efficiency import sandbox_runner

    run = sandbox_runner(sandbox)
    ab = _compare(INSTRUCTION, CONSTANT, LINEAR, FAST, runner=run)
    ba = _compare(INSTRUCTION, LINEAR, CONSTANT, FAST, runner=run)
    assert ab.decision != "A" and ba.decision != "B", (eff(ab), eff(ba))
    assert eff(ab)["reason"] == eff(ba)["reason"] == "disagree"


def test_the_two_candidates_never_share_a_process(sandbox):
    """Each candidate's process holds its own code only: one that looks for the other's finds nothing."""
    from codefavor.evidence.efficiency import measure, sandbox_runner
    from codefavor.evidence.scaling import Call

    spy = (
        "import gc\ndef f(n):\n    hits = 0\n    for o in gc.get_objects():\n"
        "        if type(o) is str and 'OPPONENT' + '_MARK' in o:\n            hits += 1\n    return hits\n"
    )
    other = "OPPONENT_MARK = 1\ndef f(n):\n    return 0\n"
    res = measure([spy, other], "f", [Call((1,), ())], EfficiencyConfig(), sandbox_runner(sandbox))
    a, b = res["inputs"][0]["runs"]
    assert a["status"] == b["status"] == "ok" and a["out"] == b["out"], res  # both answered 0


def test_lying_about_when_the_call_ran_moves_no_work_out_of_ones_time():
    """`_times` subtracts the shortest input and output phases anyone showed: a process that moves
    its work into what it calls unpickling (or output), or reports those moments early, is charged
    all the CPU the kernel saw it spend, less only the honest harness's share."""
    from codefavor.evidence.timers import Timed
    from codefavor.evidence.timers import times_of as _times

    honest = [Timed("ok", total=100e-6, pre=30e-6, post=20e-6, out="x")] * 2
    hides_in_pre = [Timed("ok", total=100e-6, pre=92e-6, post=3e-6, out="x")] * 2
    (h, c) = _times([honest, hides_in_pre])
    assert min(c) >= min(h) - 1e-12  # the liar does not look faster than the honest one
    assert min(c) >= 100e-6 - 30e-6 - 20e-6  # it pays everything but the honest harness's phases
    # Honest processes alike: each is timed on its call alone.
    (a, b) = _times([honest, honest])
    assert a == b and a == pytest.approx([50e-6, 50e-6])


def test_a_level_timed_once_never_decides():
    """The levels the climb passes on the way up get one round: a gap there, however wide, is not
    a decision (a process can be slow throughout)."""
    ev = decide({"levels": [_level((ok([0.05]), ok([0.01])))], "stopped": "done"}, CFG)
    assert (ev.decision, eff(ev)["reason"]) == ("undecided", "few-rounds"), ev


def test_climb_confirms_only_the_level_that_decides():
    from codefavor.evidence.efficiency import climb, plan

    entry, calls, _ = plan(INSTRUCTION, LINEAR, LINEAR_TOO)
    res = climb(LINEAR, LINEAR_TOO, entry, calls, "seed", FAST, runner=run_trusted)
    rounds = [min(len(r["times"]) for inp in lv["inputs"] for r in inp["runs"]) for lv in res["levels"]]
    assert len(rounds) >= 2 and rounds[:-1] == [1] * (len(rounds) - 1), rounds
    # A near miss gets further rounds at the same level (`near_miss`), never at another.
    assert FAST.min_rounds <= rounds[-1] <= max(FAST.max_rounds, FAST.escalate_rounds), rounds


def test_near_miss_escalates_within_the_sessions_a_climb_may_hold():
    """A near miss's further rounds come in batches of at most `max_rounds` rounds, the processes
    of the rounds before closed first: never more than `2 x max_rounds` open at once (the sandbox
    server keeps that many sessions per worker), and the deciding level ends with `escalate_rounds`."""
    from codefavor.evidence.efficiency import climb, plan

    cfg = dataclasses.replace(FAST, threshold=100.0, escalate_ratio=1.0, escalate_budget=10.0)
    open_now, most = set(), [0]

    class Counted:
        def __init__(self, timer):
            self.timer = timer
            open_now.add(id(self))
            most[0] = max(most[0], len(open_now))

        def call(self, blob, limit):
            return self.timer.call(blob, limit)

        def close(self):
            open_now.discard(id(self))
            self.timer.close()

    entry, calls, _ = plan(INSTRUCTION, LINEAR, LINEAR_TOO)
    res = climb(LINEAR, LINEAR_TOO, entry, calls, "seed", cfg, runner=lambda *a: Counted(run_trusted(*a)))
    top = res["levels"][-1]["inputs"]
    assert min(len(r["times"]) for inp in top for r in inp["runs"]) == cfg.escalate_rounds, res
    assert most[0] <= 2 * cfg.max_rounds and not open_now, most


def test_no_process_gets_the_same_input_twice():
    """What a candidate keeps from one call (a memo cache anywhere in its process) must never answer
    another: sending an input twice to one process is refused."""
    from codefavor.evidence.ladder import call_blob as _blob
    from codefavor.evidence.scaling import Call
    from codefavor.evidence.timers import Candidates, RepeatedInput

    cands = Candidates([LINEAR], "has_dup", run_trusted, 5.0)
    try:
        blob = _blob(Call(([1, 2, 3],)))
        assert cands.calls([(0, 0, blob)], 0.5)[0].status == "error"  # a bare pickle is not a level's value
        with pytest.raises(RepeatedInput):
            cands.calls([(0, 0, blob)], 0.5)
        assert cands.calls([(0, 1, blob)], 0.5)  # another round's process may get it
    finally:
        cands.close()


def test_numpy_results_compare_as_the_numbers_they_hold():
    np = pytest.importorskip("numpy")
    import importlib.util

    from codefavor.evidence.efficiency import HARNESS

    spec = importlib.util.spec_from_file_location("timing_harness_np", HARNESS)
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    assert h.output_text([np.int64(1), np.int64(4)]) == h.output_text([1, 4]) == h.output_text(np.array([1, 4]))
    assert h.output_text(np.bool_(True)) == h.output_text(True) != h.output_text(1)
    assert h.output_text([np.int64(1)]) != h.output_text([2])


def test_shared_measurements_time_each_program_once_across_calls_and_perturbations():
    """A benchmark run's later batch and its `--perturb` rerun read the first measurement of the
    same program (renamed, recommented, reordered), so timing noise cannot flip those verdicts;
    a program that means something else is measured anew."""
    from codefavor.evidence.efficiency import Measurements, efficiency_evidence
    from codefavor.evidence.sandbox import Sandbox, SandboxError
    from codefavor.perturb import KINDS, perturb

    memo = Measurements()
    edited_a, edited_b = perturb(QUADRATIC, KINDS, 1), perturb(LINEAR_TOO, KINDS, 2)
    assert (edited_a, edited_b) != (QUADRATIC, LINEAR_TOO)
    try:
        with Sandbox(workers=2) as sb:
            opts = EvidenceOptions(sandbox=sb, efficiency_config=FAST, measurements=memo)
            first = efficiency_evidence([(INSTRUCTION, QUADRATIC, LINEAR_TOO)], opts)
            assert len(memo) == 1
            again = efficiency_evidence([(INSTRUCTION, edited_b, edited_a), (INSTRUCTION, QUADRATIC, LINEAR)], opts)
    except SandboxError as e:
        pytest.skip(str(e))
    assert len(memo) == 2  # the edited pair was read, not measured; LINEAR is another program
    assert first[0].decision == "B" and again[0].decision == "A"
    assert eff(again[0]).get("time_a") == eff(first[0]).get("time_b")
    assert eff(again[0]).get("time_b") == eff(first[0]).get("time_a")


def test_measurements_measure_a_key_once_under_concurrent_calls():
    import pickle
    import threading
    import time

    from codefavor.evidence.efficiency import Measurements

    memo, calls, lock = Measurements(), [], threading.Lock()

    def slow():
        with lock:
            calls.append(1)
        time.sleep(0.05)
        return len(calls)

    threads = [threading.Thread(target=memo.get, args=(("k",), slow)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and memo.get(("k",), slow) == 1

    def broken():
        raise RuntimeError("sandbox gone")

    with pytest.raises(RuntimeError):
        memo.get(("j",), broken)
    assert memo.get(("j",), lambda: "measured on the next ask") == "measured on the next ask"
    assert len(pickle.loads(pickle.dumps(memo))) == 0  # another process starts empty


def test_a_sandbox_failure_is_not_kept_as_the_reading(monkeypatch):
    """A worker that failed says nothing about the codes: the next call (a later batch, the
    `--perturb` rerun) measures the pair again instead of reading "no-sandbox"."""
    import codefavor.evidence.efficiency as eff_mod
    from codefavor.evidence.sandbox import SandboxError

    class Pool:
        workers = 1

        def run(self, *a, **k):
            return None

    calls = []

    def timing(instruction, a, b, config, runner):
        calls.append(1)
        if len(calls) == 1:
            raise SandboxError("worker died")
        return None, "has_dup", "no-examples"

    monkeypatch.setattr(eff_mod, "_timing", timing)
    monkeypatch.setattr(eff_mod, "sandbox_runner", lambda sb: None)
    opts = EvidenceOptions(sandbox=Pool(), measurements=eff_mod.Measurements())
    first = eff_mod.efficiency_evidence([(INSTRUCTION, QUADRATIC, LINEAR)], opts)
    again = eff_mod.efficiency_evidence([(INSTRUCTION, QUADRATIC, LINEAR)], opts)
    assert eff(first[0])["reason"] == "no-sandbox" and eff(again[0])["reason"] == "no-examples"
    assert len(calls) == 2 and len(opts.measurements) == 1


SCORES = '''Keep the score of a game. `ops` lists what happened: an integer is a new score, "C" removes the
last score, "D" doubles it, "+" adds the two before. There is always a score before a "C" or a "D"
and two before a "+". Return the sum of the scores.
```
def total(ops):
    """
    >>> total(["5", "2", "C", "D", "+"])
    30
    >>> total(["5", "-2", "4", "C", "D", "9", "+", "+"])
    27
    """
```
'''
SCORES_LINEAR = """
def total(ops):
    s = []
    for op in ops:
        if op == "C":
            s.pop()
        elif op == "D":
            s.append(2 * s[-1])
        elif op == "+":
            s.append(s[-1] + s[-2])
        else:
            s.append(int(op))
    return sum(s)
"""
# the same scores, but each step copies the whole stack: quadratic
SCORES_QUADRATIC = SCORES_LINEAR.replace("    for op in ops:\n", "    for op in ops:\n        s = list(s)\n")


def test_a_level_both_fail_is_timed_again_without_the_grown_inputs_that_break_its_promises():
    # Fresh draws of the operations put a "C" before any score: both candidates fail such a level as
    # a whole, and the example tiled (which keeps every promise) is what is left to time.
    ev = compare_efficiency(SCORES, SCORES_QUADRATIC, SCORES_LINEAR)
    assert ev.decision == "B" and eff(ev)["dropped"].get("both-fail", 0) > 0, ev.details
    assert compare_efficiency(SCORES, SCORES_LINEAR, SCORES_QUADRATIC).decision == "A"


def test_a_level_every_input_of_which_fails_alone_stays_failed():
    broken = SCORES_LINEAR.replace("return sum(s)", "return sum(s) + [][0]")  # fails on every input
    ev = compare_efficiency(SCORES, broken, broken.replace("for op in ops", "for op in list(ops)"))
    assert ev.decision == "undecided" and "both-fail" not in eff(ev).get("dropped", {}), ev.details


class _Scripted:
    """A timer for the ladder's tests: a process that answers by the inputs' names ("crash" ends the
    process, "bad" raises, "bad-A" raises for candidate A only, "mixed" raises for A and runs out of
    time for B), and logs what it got."""

    log: list[tuple[str, list[str]]] = []

    def __init__(self, code, entry, wall_limit):
        self.code, self.dead = code, None

    def call(self, blob, limit):
        import pickle

        from codefavor.evidence.timers import Timed

        if self.dead:
            return self.dead
        names = [pickle.loads(b)[0][0] for b in pickle.loads(blob)]
        _Scripted.log.append((self.code, names))
        for x in names:
            if x == "crash":
                self.dead = Timed("error", out="process ended (-11)")
                return self.dead
            if x == "bad" or x == f"bad-{self.code}":
                return Timed("error", out="IndexError")
            if x == "mixed":  # A raises, B runs out of time
                if self.code == "A":
                    return Timed("error", out="IndexError")
                self.dead = Timed("timeout", out="timeout")
                return self.dead
        return Timed("ok", 0.001 * len(names), 0.0, 0.0, out=",".join(names))

    def close(self):
        pass


def _salvaged(names):
    import pickle

    from codefavor.evidence.ladder import _salvage, call_blob
    from codefavor.evidence.scaling import Call
    from codefavor.evidence.timers import Candidates

    _Scripted.log = []
    cands = Candidates(["A", "B"], {"entry": "f", "slots": 8}, _Scripted, 5.0)
    aside: dict[str, int] = {}
    level = _salvage(cands, [call_blob(Call((x,), ())) for x in names], 1.0, aside)
    kept = None if level is None else [pickle.loads(b)[0][0] for b in pickle.loads(level.blobs[0])]
    return kept, level and level.status[0], aside


def test_salvage_tries_each_input_in_processes_of_its_own_and_keeps_what_neither_fails():
    kept, status, aside = _salvaged(["good1", "crash", "good2", "bad", "good3"])
    assert kept == ["good1", "good2", "good3"] and status == ["ok", "ok"] and aside == {"both-fail": 2}
    tried = [names for _, names in _Scripted.log if len(names) == 1]
    assert sorted(map(tuple, tried)) == sorted([(x,) for x in ["good1", "crash", "good2", "bad", "good3"]] * 2)


def test_salvage_gives_an_input_only_one_candidate_fails_to_the_decision():
    kept, status, aside = _salvaged(["good1", "bad", "bad-B", "good2"])
    assert kept == ["bad-B"] and status == ["ok", "error"] and aside == {}  # decide reads a one-side error
    assert _salvaged(["bad", "crash"])[0] is None  # nothing left to time: the level stays as it failed
    # one side raising where the other ran out of time is no disagreement to hand on: left out, the rest timed
    kept, status, aside = _salvaged(["good1", "bad", "mixed", "good2"])
    assert kept == ["good1", "good2"] and status == ["ok", "ok"] and aside == {"both-fail": 2}, (kept, status)


@pytest.mark.parametrize("other", ["error", "setup", "unstable"])
def test_every_reason_an_input_is_set_aside_has_words_in_the_verdict(other):
    from codefavor.cli.verdicts import SET_ASIDE

    timeout = {"status": "timeout", "times": [], "out": None}
    slow = _level((timeout, ok([0.09])))  # the other finished, but too slowly for its timeout to decide
    both = _level((timeout, timeout))
    failed = _level(({"status": "error", "times": [], "out": None}, {"status": "error", "times": [], "out": None}))
    ev = decide({"levels": [slow, both, failed], "stopped": "done", "set_aside": {"both-fail": 2}}, CFG)
    assert set(eff(ev)["dropped"]) == {"timeout-not-decisive", "both-timeout", "error", "both-fail"}
    one = decide({"levels": [_level(({"status": other, "times": [], "out": None}, ok([0.01])))]}, CFG)
    reasons = set(eff(ev)["dropped"]) | set(eff(one)["dropped"]) | {"too-fast", "disagree"}
    assert reasons <= set(SET_ASIDE), reasons - set(SET_ASIDE)


ORDERINGS = '''Count the orderings of a list of distinct positive integers in which every two neighbours
divide one another (either way).
```
def orderings(nums):
    """
    >>> orderings([2, 3, 6])
    2
    >>> orderings([1, 4, 3])
    2
    """
```
'''
ORDERINGS_BRUTE = """
from itertools import permutations
def orderings(nums):
    return sum(all(a % b == 0 or b % a == 0 for a, b in zip(p, p[1:])) for p in permutations(nums))
"""
ORDERINGS_MASKS = """
def orderings(nums):
    n = len(nums)
    f = [[0] * n for _ in range(1 << n)]
    for j in range(n):
        f[1 << j][j] = 1
    for m in range(1, 1 << n):
        for j in range(n):
            if f[m][j]:
                for k in range(n):
                    if not m >> k & 1 and (nums[j] % nums[k] == 0 or nums[k] % nums[j] == 0):
                        f[m | 1 << k][k] += f[m][j]
    return sum(f[-1])
"""


def test_a_first_level_both_run_out_of_time_on_is_followed_by_smaller_sizes():
    # n! against 2^n * n^2: both take seconds at the ladder's first size (16 items), both finish at 8,
    # where the bitmask is many times quicker; before, the pair was silent ('both-timeout').
    ev = compare_efficiency(ORDERINGS, ORDERINGS_BRUTE, ORDERINGS_MASKS)
    assert ev.decision == "B" and eff(ev)["target"] < FAST.targets[0], ev.details
    assert set(eff(ev)["dropped"]) <= {"both-timeout", "timeout-not-decisive"}, ev.details
    assert compare_efficiency(ORDERINGS, ORDERINGS_MASKS, ORDERINGS_BRUTE).decision == "A"
