"""Doctests read as doctest runs them: statements bind names for the checks after them, a traceback's
text is compared with the exception's, and an object's repr is what a doctest shows of it."""

from __future__ import annotations

import pytest

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence
from codefavor.evidence.examples import extract_checks
from codefavor.evidence.sandbox import Check
from codefavor.evidence.sandbox.codec import Opaque
from codefavor.evidence.sandbox.results import _compare, _message_matches


def _doc(body: str, sig: str = "def f(xs):") -> str:
    lines = "\n".join("    " + ln for ln in body.strip().splitlines())
    return f'{sig}\n    """Do it.\n\n{lines}\n    """\n'


# (docstring body, [(call, kind)] the checks in order)
SETUP_TABLE = [
    (  # an assignment binds what the next check reads
        ">>> data = [3, 1]\n>>> f(data)\n[1, 3]",
        [("data = [3, 1]", "stmt"), ("f(data)", "value")],
    ),
    (  # the same call after a rebinding is a new check, not a repeat
        ">>> xs = [2]\n>>> f(xs)\n[2]\n>>> xs = [5, 4]\n>>> f(xs)\n[4, 5]",
        [("xs = [2]", "stmt"), ("f(xs)", "value"), ("xs = [5, 4]", "stmt"), ("f(xs)", "value")],
    ),
    (  # imports are statements too; a repeated call with no statement between stays one check
        ">>> import math\n>>> f([math.pi])\n[3.141592653589793]\n>>> f([math.pi])\n[3.141592653589793]",
        [("import math", "stmt"), ("f([math.pi])", "value")],
    ),
    (  # a statement that raises, and one that prints
        ">>> y = f(None)\nTraceback (most recent call last):\n...\nTypeError: no list\n"
        ">>> for v in f([2, 1]): print(v)\n1\n2",
        [("y = f(None)", "raises"), ("for v in f([2, 1]): print(v)", "repr")],
    ),
    (  # statements no check follows bind nothing anyone reads
        ">>> f([1])\n[1]\n>>> z = 3",
        [("f([1])", "value")],
    ),
    (">>> a = 1\n>>> b = 2", []),  # statements alone check nothing
]


@pytest.mark.parametrize("body,expected", SETUP_TABLE)
def test_doctest_statements_run_in_order_with_the_checks(body, expected):
    ex = extract_checks(_doc(body))
    got = [(c.call if c.resolved_kind() == "stmt" or "run(globals()" not in c.call else c.name, c.resolved_kind())
           for c in ex.checks]  # fmt: skip
    got = [(call.splitlines()[0].removeprefix(">>> "), kind) for call, kind in got]
    assert got == expected


# (doctest traceback lines, the message the check expects: None = type only)
TRACEBACK_TABLE = [
    ("ValueError: n must be positive", "n must be positive"),
    ("ValueError", ""),  # a bare name: the exception's text must be empty, as doctest asks
    ("builtins.KeyError: 'x'", "'x'"),
]


@pytest.mark.parametrize("last,message", TRACEBACK_TABLE)
def test_traceback_message_is_read(last, message):
    ex = extract_checks(_doc(f">>> f(-1)\nTraceback (most recent call last):\n...\n{last}"))
    (c,) = ex.checks
    assert c.resolved_kind() == "raises" and c.raises_message == message


def test_ignore_exception_detail_reads_the_type_only():
    ex = extract_checks(_doc(">>> f(-1)  # doctest: +IGNORE_EXCEPTION_DETAIL\nTraceback (most recent call last):\n"
                             "...\nValueError: anything"))  # fmt: skip
    (c,) = ex.checks
    assert c.raises == "ValueError" and c.raises_message is None


# (what the exception said, what the doctest shows, match)
MESSAGE_TABLE = [
    ("n must be positive", "n must be positive", True),
    ("n must  be\npositive", "n must be positive", True),  # whitespace as doctest's NORMALIZE_WHITESPACE
    ("n must be positive, got -7", "n must be positive, got ...", True),  # ELLIPSIS
    ("Open Kight Tour cannot be performed", "Open Knight Tour cannot be performed", False),  # a typo fixed
    ("f() only accepts integers", "g() only accepts integers", False),
    ("", "", True),
    ("x" * 300, "x" * 400, True),  # the child cuts a text at 300 characters: a prefix matches
    ("x" * 299, "x" * 400, False),
]


@pytest.mark.parametrize("said,shown,ok", MESSAGE_TABLE)
def test_exception_message_matching(said, shown, ok):
    assert _message_matches(said, shown) is ok


def test_raises_check_compares_the_message_only_when_given():
    frame = {"exc": "ValueError", "err": "ValueError: bad input"}
    assert _compare(Check("f()", raises="ValueError"), "c", frame).passed
    assert _compare(Check("f()", raises="ValueError", raises_message="bad input"), "c", frame).passed
    r = _compare(Check("f()", raises="ValueError", raises_message="bad value"), "c", frame)
    assert not r.passed and "saying 'bad input'" in r.reason
    assert not _compare(Check("f()", raises="TypeError", raises_message="bad input"), "c", frame).passed


def test_an_object_is_compared_by_the_repr_a_doctest_shows():
    node = {"v": {"o": ["__candidate__.Node", "7->25"]}, "stdout": ""}
    assert _compare(Check("f()", expected_repr="7->25"), "c", node).passed
    assert not _compare(Check("f()", expected_repr="7->26"), "c", node).passed
    seven = {"v": {"o": ["__candidate__.Node", "7"]}, "stdout": ""}
    assert _compare(Check("f()", expected=7), "c", seven).passed  # the doctest's `7` read as a literal
    assert not _compare(Check("f()", expected=8), "c", seven).passed
    cut = {"v": {"o": ["numpy.ndarray", "a" * 200]}, "stdout": ""}  # the codec's cut: not comparable
    assert not _compare(Check("f()", expected_repr="a" * 200), "c", cut).passed
    assert Opaque("x", "7") != 7  # an opaque value still equals nothing as data


MERGE = _doc(
    ">>> left = [1, 4]\n>>> right = [2, 3]\n>>> merge(left, right)\n[1, 2, 3, 4]\n"
    ">>> merge([], None)\nTraceback (most recent call last):\n...\nTypeError: right must be a list",
    sig="def merge(left, right):",
)
GOOD = (
    "def merge(left, right):\n    if not isinstance(right, list):\n        raise TypeError('right must be a list')\n"
    "    return sorted(left + right)\n"
)
NO_SORT = (
    "def merge(left, right):\n    if not isinstance(right, list):\n        raise TypeError('right must be a list')\n"
    "    return left + right\n"
)
TYPO = (
    "def merge(left, right):\n    if not isinstance(right, list):\n        raise TypeError('rigth must be a list')\n"
    "    return sorted(left + right)\n"
)
NODE = _doc(">>> make([7, 25])\n7->25", sig="def make(xs):")
NODE_GOOD = (
    "class Node:\n    def __init__(self, xs):\n        self.xs = xs\n"
    "    def __repr__(self):\n        return '->'.join(map(str, self.xs))\n\ndef make(xs):\n    return Node(xs)\n"
)
NODE_BAD = NODE_GOOD.replace("'->'", "' -> '")


def test_doctest_semantics_decide_real_fix_shapes(sandbox):
    pairs = [(MERGE, GOOD, NO_SORT), (MERGE, TYPO, GOOD), (NODE, NODE_GOOD, NODE_BAD), (MERGE, GOOD, GOOD)]
    evs = correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs[:3]] == [("A", "examples"), ("B", "examples"), ("A", "examples")]
    assert evs[3].decision == "undecided"
    failed = evs[1].details["a"]["failed"]
    assert len(failed) == 1 and "rigth must be a list" in failed[0]["reason"]
