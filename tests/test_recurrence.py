"""Recurrences for correctness (`evidence.recurrence`): which statements define a sequence and how it
is read, the checks built from it, and where the signal decides between two candidates."""

from __future__ import annotations

import pytest

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence
from codefavor.evidence.examples import extract_checks
from codefavor.evidence.recurrence import definition, recurrence_checks, sequence

# Hand-written statements in the forms statements use: `==` and `->` lines, `=` clauses with a
# domain, subscripts, and the ones that must stay unread.
TRIPLE = '''def triple(n: int):
    """The Triple sequence is defined as follows:
    triple(0) == 0
    triple(1) == 1
    triple(2) == 1
    triple(n) == triple(n-1) + triple(n-2) + triple(n-3).
    Compute the n-th element of the sequence efficiently.
    >>> triple(4)
    4
    >>> triple(6)
    13
    >>> triple(1)
    1
    """'''
ARROWS = '''def quad(n: int):
    """quad(0) -> 1
    quad(1) -> 0
    quad(n) -> 2 * quad(n-1) - quad(n-2) + n.
    >>> quad(3)
    5
    """'''
CLAUSES = """Numbers P(n) start from 2 and 1: P(0) = 2, P(1) = 1; P(n) = P(n - 1) + P(n - 2), for n > 1.

Given n, return P(n).

Example 1:
Input: n = 3
Output: 4

Example 2:
Input: n = 5
Output: 11

Explanation: P(2) = P(1) + P(0) = 1 + 2 = 3.

Constraints:
0 <= n <= 28
"""
SUBSCRIPTS = """The sequence Sn is defined as follows: S0 = 1, S1 = 1, and Sn+2 = Sn+1 + 2 * Sn for n >= 0.

Example 1:
Input: n = 3
Output: 5
"""
PIECEWISE = '''def wave(n):
    """wave(1) = 3
    wave(n) = 1 + n // 2, if n is even.
    wave(n) = wave(n - 1) + wave(n - 2), if n is odd.
    >>> wave(3)
    5
    """'''
MODULO = '''def count(n):
    """a(0) = 1, a(1) = 1, a(n) = a(n-1) + 2 * a(n-2). Return the answer modulo 1000.
    >>> count(3)
    5
    """'''
AHEAD = '''def odd(n):
    """odd(0) = 1, odd(n) = odd(n + 1) - 1.
    >>> odd(2)
    3
    """'''
UNREACHED = '''def gap(n):
    """gap(0) = 1, gap(n) = gap(n - 2) + 1.
    >>> gap(4)
    3
    """'''
NO_RULE = '''def fib(n: int):
    """Return n-th Fibonacci number.
    >>> fib(10)
    55
    """'''


@pytest.mark.parametrize(
    "statement, first",
    [
        (TRIPLE, [0, 1, 1, 2, 4, 7, 13, 24]),
        (ARROWS, [1, 0, 1, 5, 13, 26, 45, 71]),
        (CLAUSES, [2, 1, 3, 4, 7, 11, 18, 29]),
        (SUBSCRIPTS, [1, 1, 3, 5, 11, 21, 43, 85]),
        (PIECEWISE, None),
        (MODULO, None),
        (AHEAD, None),
        (NO_RULE, None),
    ],
)
def test_which_statements_define_a_sequence(statement, first):
    d = definition(statement)
    assert (list(sequence(d, 7).values()) if d else None) == first


WRAPPED = TRIPLE.replace(
    "triple(n) == triple(n-1) + triple(n-2) + triple(n-3).",
    "triple(n) == triple(n-1) + triple(n-2) +\n    triple(n-3).",
)
SPACED = SUBSCRIPTS.replace("Sn+2 = Sn+1 + 2 * Sn", "Sn+2 = Sn+1 + Sn + 1").replace(
    "Output: 5", "Output: 7\n\nExample 2:\nInput: n = 4\nOutput: 12"
)
BRANCHES = '''def weird(n):
    """weird(0) = 0, weird(1) = 1.
    When n is odd, weird(n) = weird(n-1) + weird(n-2).
    When n is even, weird(n) = weird(n // 2).
    >>> weird(3)
    2
    >>> weird(5)
    4
    """'''


@pytest.mark.parametrize(
    "statement",
    [
        WRAPPED,  # a rule wrapped onto the next line: its first line alone is another rule
        TRIPLE.replace("triple(n-3).", "triple(n-3) for n < 10 (later terms are all 100)."),  # a domain that ends
        TRIPLE.replace("triple(n-3).", "triple(n-3), with every term capped at 100."),
        "def seq(n):\n    a(0) = 1. For n >= 1:\n    If n is even,\n        a(n) = a(n-1) + 1.\n    >>> seq(2)\n    3",
        TRIPLE.replace("Compute the n-th element", "Compute the n-th element % 10, the last digit,"),
        BRANCHES,  # one branch read, the other not: the read one holds only for odd n
        "def a(n):\n    a(0) = 1, a(n+01) = a(n) + 1\n    >>> a(2)\n    3\n    >>> a(3)\n    4",  # no literal
        "def f(n):\n    f(0) = 1, f(n) = " + "-" * 1500 + "f(n-1)",  # too deep to read
    ],
)
def test_what_cannot_be_read_whole_is_not_read_and_never_raises(statement):
    assert definition(statement) is None


def test_a_huge_stated_bound_is_no_error():
    huge = CLAUSES.replace("0 <= n <= 28", "0 <= n <= " + "9" * 5000)
    assert recurrence_checks(huge, extract_checks(huge, functions=True))[-1].name.endswith("= 35) == 20633239")


def test_an_entry_that_answers_with_something_else_than_the_term_uses_none():
    # named otherwise and never asked for plainly: "the sum of the first n terms" is no term
    other = TRIPLE.replace("def triple(n: int):", "def triple_sum(n: int):").replace(">>>", ">>> #")
    sums = (
        other
        + "\n    Return the sum of the first n terms of triple(n).\n    >>> triple_sum(4)\n    4\n    >>> triple_sum(6)\n    13"
    )
    assert definition(sums) is not None
    assert recurrence_checks(sums, extract_checks(sums)) == []


def test_a_bound_in_the_prose_clips_the_terms():
    inline = CLAUSES.replace("Given n, return P(n).", "Given n (0 <= n <= 10), return P(n).").replace(
        "0 <= n <= 28", ""
    )
    assert recurrence_checks(inline, extract_checks(inline, functions=True))[-1].name.endswith("= 10) == 123")


def test_an_offset_is_written_without_spaces():
    d = definition(SPACED)
    assert d is not None and list(sequence(d, 5).values()) == [1, 1, 3, 5, 9, 15]  # S(n+1) + S(n) + 1


def test_a_stated_lower_bound_is_where_the_terms_start():
    low = CLAUSES.replace("0 <= n <= 28", "2 <= n <= 28")
    checks = recurrence_checks(low, extract_checks(low, functions=True))
    assert checks[0].name.endswith("= 2) == 3")


def test_a_term_neither_given_nor_reached_leaves_the_sequence_unread():
    d = definition(UNREACHED)
    assert d is not None and sequence(d, 5) is None  # gap(1) needs gap(-1)
    assert recurrence_checks(UNREACHED, extract_checks(UNREACHED)) == []


def test_a_given_term_the_rule_contradicts_is_a_misreading():
    wrong = TRIPLE.replace("triple(2) == 1\n", "triple(2) == 1\n    triple(5) == 8\n")
    d = definition(wrong)
    assert d is not None and sequence(d, 8) is None  # the rule makes triple(5) 7


def test_checks_cover_the_first_terms_and_larger_ones_within_the_stated_bound():
    checks = recurrence_checks(TRIPLE, extract_checks(TRIPLE))
    assert [c.expected for c in checks[:5]] == [0, 1, 1, 2, 4]
    assert checks[-1].name == "triple(35) == 615693474"  # a term no example reaches
    capped = recurrence_checks(CLAUSES, extract_checks(CLAUSES, functions=True))
    assert capped[-1].name.endswith("= 28) == 710647")  # `0 <= n <= 28`: nothing past 28 is asked


def test_a_bound_written_as_a_power_is_its_value():
    wide = CLAUSES.replace("0 <= n <= 28", "0 <= n <= 10^4")
    assert recurrence_checks(wide, extract_checks(wide, functions=True))[-1].name.endswith("= 35) == 20633239")


def test_examples_that_are_not_the_sequences_terms_leave_it_unused():
    shifted = TRIPLE.replace(">>> triple(4)\n    4", ">>> triple(4)\n    7")  # 1-based: not these terms
    assert recurrence_checks(shifted, extract_checks(shifted)) == []
    one_beyond = TRIPLE.replace(">>> triple(4)\n    4\n", "")  # one term the rule makes: too little
    assert recurrence_checks(one_beyond, extract_checks(one_beyond)) == []


GOOD = """def triple(n: int):
    a, b, c = 0, 1, 1
    for _ in range(n):
        a, b, c = b, c, a + b + c
    return a"""
NAIVE = """def triple(n: int):
    if n < 3:
        return [0, 1, 1][n]
    return triple(n - 1) + triple(n - 2) + triple(n - 3)"""
OFF = """def triple(n: int):
    a, b, c = 0, 1, 1
    for _ in range(n):
        a, b, c = b, c, a + b + c + (1 if n > 9 else 0)  # right on every example, wrong from 10 on
    return a"""


def test_a_wrong_or_unfinished_term_decides(sandbox):
    pairs = [(TRIPLE, GOOD, NAIVE), (TRIPLE, OFF, GOOD)]
    evs = correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs] == [("A", "recurrence"), ("B", "recurrence")]
    assert any("timeout" in m for m in evs[0].details["recurrence"]["b"]) and not evs[0].details["recurrence"]["a"]


def test_silent_where_both_get_every_term(sandbox):
    other = GOOD.replace("for _ in range(n)", "for _i in range(n)")
    evs = correctness_evidence([(TRIPLE, GOOD, other)], EvidenceOptions(sandbox=sandbox))
    assert evs[0].decision == "undecided"
    assert evs[0].details["recurrence"] == {"checks": 16, "a": [], "b": []}
