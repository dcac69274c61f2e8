"""The differential-input signal (`evidence.variants`): which inputs it builds from an example, and
where it decides between two candidates that pass the same examples and where it stays silent."""

from __future__ import annotations

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence
from codefavor.evidence.examples import extract_checks, spec_of
from codefavor.evidence.variants import _shaped, _variants, variant_checks

# One example that the right candidate and two wrong ones (one forgets a path, one indexes past the end) pass.
EVENS_INS = (
    "Write a function that returns the first even number times the first odd one.\nassert mul_even_odd([1, 3, 4]) == 4"
)
EVENS_GOOD = (
    "def mul_even_odd(xs):\n"
    "    even = next((x for x in xs if x % 2 == 0), -1)\n"
    "    odd = next((x for x in xs if x % 2 == 1), -1)\n"
    "    return even * odd"
)
EVENS_NONE = (  # returns None whenever the even number comes first: the examples never show it
    "def mul_even_odd(xs):\n"
    "    odd = None\n"
    "    for x in xs:\n"
    "        if x % 2 == 1 and odd is None:\n"
    "            odd = x\n"
    "        if x % 2 == 0:\n"
    "            return x * odd if odd is not None else None\n"
)
EVENS_CRASH = (  # indexes past the end when the list holds no even number after the first odd one
    "def mul_even_odd(xs):\n"
    "    i = 0\n"
    "    while xs[i] % 2 == 1:\n"
    "        i += 1\n"
    "    j = 0\n"
    "    while xs[j] % 2 == 0:\n"
    "        j += 1\n"
    "    return xs[i] * xs[j]"
)
# Two readings of "the largest element", both right on every reordering: nothing to decide.
MAX_INS = "Write a function that returns the largest number of a list.\nassert biggest([3, 9, 4]) == 9"
MAX_A = "def biggest(xs):\n    return max(xs)"
MAX_B = "def biggest(xs):\n    best = xs[0]\n    for x in xs:\n        best = x if x > best else best\n    return best"
# A function promised two strings of equal length: shortening one would break the promise.
XOR_INS = "Return the bitwise xor of two binary strings of equal length.\nassert string_xor('010', '110') == '100'"


def _args(check):
    return spec_of(check)["args"]


def test_variants_keep_what_the_example_shows_between_its_arguments():
    assert _variants([[1, 2, 3]], 0) == [
        [3, 2, 1], [2, 3, 1], [3, 2, 1], [1, 2, 3, 1], [1, 2, 3, 1, 2, 3], [1, 2], [1],
    ]  # fmt: skip
    assert [len(v) for v in _variants([[1, 2, 3], 3], 0)] == [3] * 3  # n == len(xs): never resized
    # elements never change: they may be indices or bounded values (1..n) the instruction promises
    assert all(sorted(v) == [1, 2, 3] for v in _variants([[1, 2, 3], 3], 0))
    assert all(len(v) == 2 for v in _variants([[1, 5], [2, 6]], 0))  # a pair stays a pair
    assert all(len(v) == 3 for v in _variants([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], 0))  # a square grid stays square
    assert _variants(["abc"], 0) == ["cba", "bca"]  # strings are reordered, never resized
    assert _variants([7], 0) == [] and _variants([{"a": 1}], 0) == []  # numbers and dicts never change


def test_variant_checks_change_one_argument_of_the_examples_calls():
    ex = extract_checks(XOR_INS)
    checks = variant_checks(ex)
    assert {tuple(_args(c)) for c in checks} == {("100", "110"), ("010", "011"), ("010", "101")}
    assert all(c.resolved_kind() == "runs" for c in checks)
    assert checks[0].name.startswith("string_xor(")


def test_shape_of_the_examples_values():
    assert _shaped(3.5, 4) and _shaped([1, 2], [5]) and _shaped([], [5]) and _shaped((1, [2]), (3, [4]))
    assert not _shaped(None, 4) and not _shaped(True, 4) and not _shaped([[1]], [5]) and not _shaped((1, 2, 3), (3, 4))


def test_a_crash_or_a_value_of_another_shape_decides(sandbox):
    pairs = [
        (EVENS_INS, EVENS_GOOD, EVENS_NONE),
        (EVENS_INS, EVENS_CRASH, EVENS_GOOD),
    ]
    evs = correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs] == [("A", "variants"), ("B", "variants")]
    assert "not the examples' shape" in evs[0].details["variants"]["b"][0]
    assert "IndexError" in evs[1].details["variants"]["a"][0] and not evs[1].details["variants"]["b"]


def test_silent_where_both_agree_or_the_signal_is_off(sandbox):
    evs = correctness_evidence([(MAX_INS, MAX_A, MAX_B)], EvidenceOptions(sandbox=sandbox))
    assert (evs[0].decision, evs[0].signal) == ("undecided", "silent")
    assert evs[0].details["variants"] == {"checks": 7, "a": [], "b": []}
    off = correctness_evidence([(EVENS_INS, EVENS_GOOD, EVENS_NONE)], EvidenceOptions(sandbox=sandbox, variants=False))
    assert off[0].signal == "silent" and "variants" not in off[0].details


def test_a_sandbox_failure_in_the_variant_runs_keeps_the_examples_verdicts(sandbox):
    from codefavor.evidence.sandbox import SandboxError

    class FailsSecond:
        """The sandbox, whose second batch (the variant runs) fails as a dead worker pool would."""

        def __init__(self, inner):
            self.inner, self.batches = inner, 0

        def run_many(self, *a, **k):
            self.batches += 1
            if self.batches > 1:
                raise SandboxError("pool gone")
            return self.inner.run_many(*a, **k)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    wrong = "def biggest(xs):\n    return xs[0]"
    evs = correctness_evidence([(MAX_INS, MAX_A, wrong), (EVENS_INS, EVENS_GOOD, EVENS_NONE)],
                               EvidenceOptions(sandbox=FailsSecond(sandbox)))  # fmt: skip
    assert (evs[0].decision, evs[0].signal) == ("A", "examples")
    assert (evs[1].decision, evs[1].signal) == ("undecided", "silent")
    assert evs[1].details["variants"] == {"sandbox": "pool gone"}
