"""Efficiency evidence: clear complexity gaps decide, equal code stays undecided, and the decision rule
reads harness results correctly (timeouts, disagreements, noisy rounds)."""

from __future__ import annotations

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
    ev = compare_efficiency(INSTRUCTION, LINEAR, LINEAR)
    assert ev.decision == "undecided" and eff(ev)["reason"] == "no-gap", ev


def test_wrong_answers_are_set_aside_not_timed():
    ev = compare_efficiency(INSTRUCTION, WRONG, LINEAR_TOO)
    # The unique-element inputs agree (False), the tiled ones with duplicates do not: only the first count.
    assert eff(ev).get("dropped", {}).get("disagree", 0) > 0


def test_no_entry_or_examples():
    assert eff(compare_efficiency(INSTRUCTION, "def other(x): pass", LINEAR))["reason"] == "no-entry"
    plain = "Write has_dup(xs).\n```\ndef has_dup(xs):\n    pass\n```"
    assert eff(compare_efficiency(plain, LINEAR, LINEAR_TOO))["reason"] == "no-examples"


def test_harness_reports_timeouts_errors_and_unstable_results():
    job = {
        "codes": [
            "def f(n):\n    while True:\n        pass\n",
            "import random\ndef f(n):\n    return random.random()\n",
            "def f(n):\n    return 1 // 0\n",
            "def f(n):\n    return (i for i in range(n))\n",
            "def f(:\n",
        ],
        "entry": "f",
        "inputs": ["f(10)"],
        "call_limit": 0.2,
    }
    res = run_trusted({**job, "codes": job["codes"][:4]}, 20)
    statuses = [r["status"] for r in res["inputs"][0]["runs"]]
    # The rounds stop at the first failure, so the random one ran once and looked stable then.
    assert statuses == ["timeout", "ok", "error", "ok"], res
    assert res["inputs"][0]["runs"][2]["out"] == "ZeroDivisionError"
    res = run_trusted({**job, "codes": job["codes"][1:2]}, 20)
    assert res["inputs"][0]["runs"][0]["status"] == "unstable"  # another answer on a repeat
    assert run_trusted(job, 20)["setup_errors"][-1] == "SyntaxError"


def _level(*inputs):
    return {"inputs": [{"runs": [a, b]} for a, b in inputs], "setup_errors": [None, None]}


def ok(times, out="x"):
    return {"status": "ok", "times": list(times), "out": out}


CFG = EfficiencyConfig()


@pytest.mark.parametrize(
    "levels, expected",
    [
        # A clear gap in every round at the top level decides, whatever the lower levels said.
        ([_level((ok([1e-4] * 3), ok([1e-4] * 3))), _level((ok([0.01] * 3), ok([0.03] * 3)))], ("A", "cpu-time")),
        ([_level((ok([0.05, 0.05, 0.05]), ok([0.01, 0.011, 0.012])))], ("B", "cpu-time")),
        # A ratio above the threshold that does not hold in every round is noise.
        ([_level((ok([0.01, 0.02, 0.01]), ok([0.03, 0.015, 0.03])))], ("undecided", "no-gap")),
        ([_level((ok([0.010] * 3), ok([0.011] * 3)))], ("undecided", "no-gap")),
        # A timeout against a quick finish decides; against a near-limit finish it does not.
        ([_level(({"status": "timeout", "times": [], "out": None}, ok([0.01])))], ("B", "timeout")),
        ([_level(({"status": "timeout", "times": [], "out": None}, ok([0.9])))], ("undecided", "nothing-measured")),
        # Disagreeing outputs are set aside; so are levels too quick to measure.
        ([_level((ok([0.01] * 3, "x"), ok([0.05] * 3, "y")))], ("undecided", "disagree")),
        ([_level((ok([1e-6] * 3), ok([5e-6] * 3)))], ("undecided", "nothing-measured")),
    ],
)
def test_decide_table(levels, expected):
    ev = decide({"levels": levels, "stopped": "done"}, CFG)
    assert (ev.decision, eff(ev)["reason"]) == expected, ev


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
    """Inside the sandbox only the CPU-time itimer stops a run: it repeats, so a bare `except`
    that swallows the first timeout does not buy the candidate the whole job's limit."""
    import time

    from codefavor.evidence.efficiency import sandbox_runner
    from codefavor.evidence.sandbox import Sandbox, SandboxError

    swallow = "def f(n):\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass\n"
    swallow += "    while True:\n        pass\n"
    job = {"codes": [swallow, "def f(n):\n    return n\n"], "entry": "f", "inputs": ["f(1)"], "call_limit": 0.1}
    try:
        with Sandbox(workers=1) as sb:
            t0 = time.monotonic()
            res = sandbox_runner(sb)(job, 8.0)
    except SandboxError as e:
        pytest.skip(str(e))
    assert [r["status"] for r in res["inputs"][0]["runs"]] == ["timeout", "ok"], res
    assert time.monotonic() - t0 < 4


def test_plain_outputs_hash_like_normalised_ones():
    import hashlib
    import importlib.util
    import json

    from codefavor.evidence.efficiency import HARNESS

    spec = importlib.util.spec_from_file_location("timing_harness_t", HARNESS)
    h = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h)
    for out in ([1, "a", True, None], (1, 2), [(1, 2), [3, "x"]], [], [1.5], [[1.0]], [{1, 2}], {"a": 1}, "s", 3):
        slow = hashlib.sha256(json.dumps(h._norm(out), sort_keys=True, default=repr).encode()).hexdigest()[:16]
        assert h._digest(out) == slow, out
    assert h._plain([(1, 2), [3]]) and not h._plain([[1.5]]) and not h._plain([[[1]]])
    assert h._digest([1, 2]) == h._digest((1, 2)) != h._digest([2, 1])


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
LIST_QUADRATIC = """class Solution:
    def countEven(self, head: Optional[ListNode]) -> int:
        values = []
        while head:
            values.insert(0, head.val)
            head = head.next
        return sum(1 for v in values if v % 2 == 0)
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
