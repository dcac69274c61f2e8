"""Example extraction from instructions: a table of (instruction text, expected checks, skipped)."""

from __future__ import annotations

import math

import pytest

from codefavor.evidence.examples import call_text, entry_point, extract_checks
from codefavor.evidence.scaling import Call

# (instruction, entry, [(call, expectation)] where expectation is ("value", v) / ("repr", text) /
#  ("raises", name), number of skipped examples)
TABLE = [
    (  # doctest block inside a fenced function stub
        '```python\ndef add(a, b):\n    """Add.\n    >>> add(2, 3)\n    5\n    >>> add(-1, 1)\n    0\n    """\n```',
        "add",
        [("add(2, 3)", ("value", 5)), ("add(-1, 1)", ("value", 0))],
        0,
    ),
    (  # MBPP style: an assert line in a docstring, no def in the instruction
        '"""\nWrite a function to sum a list.\nassert total([1, 2, 3]) == 6\n"""',
        "total",
        [("total([1, 2, 3])", ("value", 6))],
        0,
    ),
    (  # bare comparison and arrows in plain text
        "Examples:\nf(1) == 2\nf(2) -> 4\nf(3) => 6\nf(4) ➞ 8\nf(5) should return 10",
        "f",
        [
            ("f(1)", ("value", 2)),
            ("f(2)", ("value", 4)),
            ("f(3)", ("value", 6)),
            ("f(4)", ("value", 8)),
            ("f(5)", ("value", 10)),
        ],
        0,
    ),  # fmt: skip
    (  # "For x = ... the output should be ..." against the defined function
        "def g(lst):\n    For lst = [1,2,3] the output should be 6\n    For lst = []  the output should be 0",
        "g",
        [("g(lst = [1, 2, 3])", ("value", 6)), ("g(lst = [])", ("value", 0))],
        0,
    ),
    (  # Input/Output lines
        "def h(s):\n    Example 1:\n    Input: 'abc'\n    Output: 'cba'",
        "h",
        [("h('abc')", ("value", "cba"))],
        0,
    ),
    (  # a misnamed example is renamed to the only function defined
        "def sorted_list_sum(lst):\n    assert list_sort(['aa', 'a', 'aaa']) => ['aa']",
        "sorted_list_sum",
        [("sorted_list_sum(['aa', 'a', 'aaa'])", ("value", ["aa"]))],
        0,
    ),
    (  # set(...) expectations, isclose with its tolerance, truthiness and negation
        "assert set(common([1, 2], [2, 3])) == set([2])\nassert math.isclose(area(2), 12.56, rel_tol=0.001)\n"
        "assert is_even(4)\nassert not is_even(3)",
        None,  # several functions, none defined: the most called one (any of the three) is fine
        [
            ("set(common([1, 2], [2, 3]))", ("value", {2})),
            ("area(2)", ("value", 12.56)),
            ("bool(is_even(4))", ("value", True)),
            ("bool(is_even(3))", ("value", False)),
        ],
        0,
    ),  # fmt: skip
    (  # doctest: non-literal output kept as repr text, a traceback as an expected exception
        ">>> make(1)\nPoint(x=1)\n>>> make(-1)\nTraceback (most recent call last):\nValueError: negative",
        "make",
        [("make(1)", ("repr", "Point(x=1)")), ("make(-1)", ("raises", "ValueError"))],
        0,
    ),
    (  # an example inside prose; a worked result after the last '='
        'Write add(a, b). add(1, 2) -> 3\nfruit("5 apples", 19) -> 19 - 5 = 14',
        None,
        [("add(1, 2)", ("value", 3)), ("fruit('5 apples', 19)", ("value", 14))],
        0,
    ),
    (  # unusable: the expected value is an expression of unknown names; no example at all
        "assert f(3) == some_helper(3)\nJust prose, f is nice.",
        None,
        [],
        1,
    ),
    (  # bare words in prose are strings
        "def is_happy(s):\n    is_happy(a) => False\n    is_happy(abcd) => True",
        "is_happy",
        [("is_happy('a')", ("value", False)), ("is_happy('abcd')", ("value", True))],
        0,
    ),
    (  # a call spanning lines; an open bracket in prose joins nothing
        "get_row([\n  [1, 2],\n  [1]\n], 1) == [(0, 0), (1, 0)]\nNote (rows may be empty\nget_row([], 1) == []",
        "get_row",
        [("get_row([[1, 2], [1]], 1)", ("value", [(0, 0), (1, 0)])), ("get_row([], 1)", ("value", []))],
        0,
    ),
    (  # a prose example wrapped after its verb; the line after it is not read twice
        'Round away from zero. For example near("14.5") should\nreturn 15 and near("-14.5") should return -15.',
        "near",
        [("near('14.5')", ("value", 15)), ("near('-14.5')", ("value", -15))],
        0,
    ),
    (  # a value followed by its reason in parentheses
        "check('a.txt') # => 'Yes'\ncheck('1a.dll') # => 'No' (the name should start with a letter)",
        "check",
        [("check('a.txt')", ("value", "Yes")), ("check('1a.dll')", ("value", "No"))],
        0,
    ),
    (  # the entry named in prose: unnamed inputs are its arguments, `name : value` names them
        "Write a Python function `pluck(arr, k)` to solve the following problem:\nExample 1:\n"
        "Input:\narr : [4,2,3]\nk : 1\nOutput: [2, 1]\nExample 2:\nInput: arr: [], k: 2\nOutput: []",
        "pluck",
        [("pluck(arr = [4, 2, 3], k = 1)", ("value", [2, 1]))],
        1,  # `arr: [], k: 2` on one line is no list of named inputs
    ),
    (  # a doctest's value, then prose without a blank line: the prose is no output, its example is read
        '>>> near("10")\n10\nNote:\nRound away from zero: near("14.5") should return 15.',
        "near",
        [("near('10')", ("value", 10)), ("near('14.5')", ("value", 15))],
        0,
    ),
    (  # a value, then a printed line of prose: both are the doctest's output where the statement prints
        "Print the total, then say it in words.\n>>> report([3, 4])\n7\nTotal is seven points",
        "report",
        [("report([3, 4])", ("repr", "7\nTotal is seven points"))],
        0,
    ),
    (  # a multi-line output that is all values stays the doctest's output
        ">>> show([1, 2])\n1\n2",
        "show",
        [("show([1, 2])", ("repr", "1\n2"))],
        0,
    ),
    (  # an expected value shown with its working; working that does not come to it is left alone
        "f([1, 3, 2]) == 1 + 9 + 0 = 10\nf([2]) == 1 + 1 = 3",
        "f",
        [("f([1, 3, 2])", ("value", 10))],
        0,
    ),
    (  # markdown inline code around the call and the value; two sentences, each an example
        "Write a function `double(x)`. Example: `double(3)` should return `6`. double(4) returns 8.",
        "double",
        [("double(3)", ("value", 6)), ("double(4)", ("value", 8))],
        0,
    ),
    (  # "outputs" is no return value (the function may print it); the clause that reads is kept
        "Write double(x). double(3) returns 6; double(4) outputs 8.",
        "double",
        [("double(3)", ("value", 6))],
        0,
    ),
    (  # beside an example of the entry, another name is another function, neither misnamed nor checked
        "Write a function f(x). f(3) == 6; g(2) == 5.",
        "f",
        [("f(3)", ("value", 6))],
        1,  # g is a helper the instruction never defines: whether a candidate wrote one is no answer
    ),
    (  # a sentence of prose right after a doctest's value ends its output (nothing prints here)
        ">>> f(3)\n6\n>>> f(4)\n8\nNote that negative numbers work too.",
        "f",
        [("f(3)", ("value", 6)), ("f(4)", ("value", 8))],
        0,
    ),
    (  # a signature asked for without backticks: the sample input is its argument
        "Write a function double(x).\nSample Input: 3\nSample Output: 6",
        "double",
        [("double(3)", ("value", 6))],
        0,
    ),
    (  # a sentence that ends after a call is no attribute access on it
        "Write double(x). double(3) == 6",
        "double",
        [("double(3)", ("value", 6))],
        0,
    ),
    (  # a list's numbers are no tuple's last element, and no sentence ends at them
        "Write `f(n)`. Examples: 1. f(3) returns 6, 2. f(4) returns 8.",
        None,
        [],
        1,  # read whole, as before the sentence split: skipped
    ),
    (  # a doctest of a function that writes its output keeps its prose line as output
        'def show(n):\n    """Display n, then whether it is odd.\n    >>> show(3)\n    3\n    Three is odd.\n    """',
        "show",
        [("show(3)", ("repr", "3\nThree is odd."))],
        0,
    ),
    (  # one clause under a condition is not read alone
        "Write `to_num(s, strict=False)`. With strict=True, to_num('2.5') returns 2, and to_num('a') raises an error.",
        None,
        [],
        1,  # read whole: skipped
    ),
    (  # float('inf') and boolean spellings
        "longest([]) -> float('inf')\nok(1) -> true",
        None,
        [("longest([])", ("value", math.inf)), ("ok(1)", ("value", True))],
        0,
    ),
]


@pytest.mark.parametrize("instruction,entry,expected,n_skipped", TABLE)
def test_extraction_table(instruction, entry, expected, n_skipped):
    ex = extract_checks(instruction)
    if entry is not None:
        assert ex.entry == entry
    got = []
    for c in ex.checks:
        kind = c.resolved_kind()
        if kind == "value":
            got.append((call_text(c), ("value", c.expected)))
        elif kind == "repr":
            got.append((call_text(c), ("repr", c.expected_repr)))
        elif kind == "raises":
            got.append((call_text(c), ("raises", c.raises)))
    assert got == expected
    assert len(ex.skipped) == n_skipped, ex.skipped
    for _text, reason in ex.skipped:
        assert reason  # every skipped example says why


def test_comment_style_examples():
    ex = extract_checks("f(3)  # -> 9\nf(4)  # returns 16\nprint(greet('x'))  # hello x\nprint(f(2))  # 4")
    got = [(call_text(c), c.expected) for c in ex.checks]
    assert got == [("f(3)", 9), ("f(4)", 16), ("greet('x')", "hello x"), ("f(2)", 4)]


def test_leetcode_style_method_and_named_inputs():
    ins = (
        "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n\n"
        "Example 1:\nInput: nums = [2,7,11,15], target = 9\nOutput: [0,1]\nExplanation: nums[0] + nums[1] == 9\n\n"
        "Example 2:\n\nInput: nums = [3,2,4], target = 6\nOutput: [1,2]\n"
    )
    ex = extract_checks(ins)
    assert ex.entry == "twoSum" and ex.owner == "Solution"
    assert [(call_text(c), c.expected) for c in ex.checks] == [
        ("Solution().twoSum(nums = [2, 7, 11, 15], target = 9)", [0, 1]),
        ("Solution().twoSum(nums = [3, 2, 4], target = 6)", [1, 2]),
    ]


def test_stdin_program_examples():
    ins = "Read n, then n numbers; print their sum.\n\nSample Input\n3\n1 2 3\n\nSample Output\n6\n\nInput:\n1\n5\nOutput:\n5"
    ex = extract_checks(ins)
    assert [(c.resolved_kind(), c.stdin, c.expected_stdout) for c in ex.checks] == [
        ("program", "3\n1 2 3\n", "6"),
        ("program", "1\n5\n", "5"),
    ]


def test_isclose_tolerance_is_kept():
    ex = extract_checks("assert math.isclose(area(2), 12.56, rel_tol=0.001)")
    assert ex.checks[0].rel_tol == 0.001


def test_duplicates_and_cap():
    text = "\n".join(f"assert f({i % 5}) == {i % 5}" for i in range(100))
    ex = extract_checks(text, max_checks=3)
    assert [call_text(c) for c in ex.checks] == ["f(0)", "f(1)", "f(2)"]
    assert any("more than 3" in r for _, r in ex.skipped)


# The example calls efficiency grows come from the same extraction (one parser, one entry point).
DOCTEST = '''
def spread(xs: list, gap: float) -> bool:
    """ Whether two numbers are closer than gap.
    >>> spread([1.0, 2.0, 3.0], 0.5)
    False
    >>> spread([1.0, 2.8,
    ...         3.0], 0.3)
    True
    """
'''

ASSERTS = '''
"""
Write a function to remove a character.
assert drop_char("hello", "l") == "heo"
assert drop_char("hello", "l") == "heo"
assert  drop_char( 'banana' ,'a')=='bnn'
"""
'''

PROSE = """
def pick(arr, k):
    Example 1:
        Input: arr = [-3, -4, 5], k = 3
        Output: [-4, -3, 5]
    For example: pick([1, 2], 1) ➞ [2]
    other(5) returns 6; pick(some_var, 2) is not literal
"""


@pytest.mark.parametrize(
    "text, entry, expected",
    [
        (DOCTEST, "spread", [Call(([1.0, 2.0, 3.0], 0.5)), Call(([1.0, 2.8, 3.0], 0.3))]),
        (ASSERTS, "drop_char", [Call(("hello", "l")), Call(("banana", "a"))]),
        # One value per function output: the line after it is the next example, not more output.
        (PROSE, "pick", [Call(([-3, -4, 5], 3)), Call(([1, 2], 1))]),
        ("def f(x):\n    return f(x - 1)\n", "f", []),  # a signature and a non-literal call
        ("f(')(', [1, 2]) == 'x'", "f", [Call((")(", [1, 2]))]),  # parentheses inside strings
        ("f([1, 2", None, []),  # unbalanced: ignored, never raises
        (  # a misnamed example belongs to the only function defined
            'def sorted_list_sum(lst):\n    assert list_sort(["aa", "a", "aaa"]) => ["aa"]\n    print(len(x))',
            "sorted_list_sum",
            [Call((["aa", "a", "aaa"],))],
        ),
        # Builtins wrapped around the call are not the entry point.
        ("assert set(common([[1, 2], [2, 3]])) == set([2])", "common", [Call(([[1, 2], [2, 3]],))]),
        ("assert f(x=[1, 2], k=3) == 1\nassert f(f(1)) == 2", "f", [Call((), (("x", [1, 2]), ("k", 3))), Call((1,))]),
    ],
)
def test_example_calls_of_the_entry_point(text, entry, expected):
    ex = extract_checks(text)
    assert (ex.entry, ex.calls) == (entry, expected)


def test_a_statements_explanation_is_no_example_under_a_prose_signature():
    text = (
        "Write a Python function `total_steps(n)` to solve the following problem:\nExample 1:\nInput: n = 6\n"
        "Output: 8\nExplanation: step(6) = 3, step(3) = 10, step(10) = 5, and so on until 1."
    )
    assert [call_text(c) for c in extract_checks(text, functions=True).checks] == ["total_steps(n = 6)"]


@pytest.mark.parametrize(
    "line",
    [
        "f(1) == " + "-" * 1000 + "1 + 0 = 1",  # too deep to parse
        "f([1]) == " + "1" * 330 + " + 0 = 1",  # past a float
        "f([1]) == 1 + 1 = " + "9" * 400,  # a shown value past a float
    ],
)
def test_working_that_cannot_be_computed_leaves_the_line_alone(line):
    from codefavor.evidence.example_forms import worked_value

    assert worked_value(line) == line


def test_a_function_the_prose_gives_is_no_entry_point():
    given = "You are given a callable function `f(x, y)` with a hidden formula.\nInput: z = 5\nOutput: [[1, 4]]"
    assert extract_checks(given, functions=True).entry is None
    asked = "Write a Python function `pluck(arr)` to solve the following problem:\nInput: [4,2,3]\nOutput: [2, 1]"
    assert extract_checks(asked).entry == "pluck"


def test_entry_point_rule():
    assert entry_point(["helper", "main"], ["helper", "helper"]) == "main"  # the last def, whatever is called
    assert entry_point([], ["g", "f", "f"]) == "f"  # else the most called
    assert entry_point([], ["g", "f"]) == "g"  # ties: the first called
    assert entry_point([], []) is None


def test_efficiency_plans_with_the_same_entry_point():
    from codefavor.evidence.efficiency import plan

    a = "def helper(x):\n    return x\ndef drop_char(s, c):\n    return s.replace(c, '')\n"
    b = "def drop_char(s, c):\n    return ''.join(x for x in s if x != c)\n"
    spec, calls, why = plan(ASSERTS, a, b)
    assert (spec["entry"], calls, why) == ("drop_char", extract_checks(ASSERTS).calls, "")
    assert plan(ASSERTS, a, "def other(): pass") == (None, [], "no-entry")  # a candidate lacks it
    assert plan(ASSERTS, "def drop_char(:", b) == (None, [], "no-entry")  # does not parse
    spec, calls, why = plan("def g(x):\n    '''no examples'''", "def g(x): pass", "def g(y): pass")
    assert (spec["entry"], calls, why) == ("g", [], "no-examples")


def test_efficiency_plans_methods_by_the_calling_convention():
    """A `class Solution` method is timed as correctness calls it: the statement's names (by
    position when the code names its parameters differently); design problems are not timed."""
    from codefavor.evidence.efficiency import plan

    method = "Input: nums = [2,7], target = 9\nOutput: [0,1]\n"
    code = "class Solution:\n    def twoSum(self, a: List[int], t: int) -> List[int]:\n        return [0, 1]\n"
    spec, calls, why = plan(method, code, code)
    assert why == "" and spec["names"] == ["nums", "target"] and calls[0].args == ([2, 7], 9)
    assert plan(method, code, "x = 1") == (None, [], "no-entry")  # nothing to call in one of them
    design = 'Input\n["LRUCache", "put", "get"]\n[[2], [1, 1], [1]]\nOutput\n[null, null, 1]\n'
    lru = "class LRUCache:\n    def __init__(self, c): self.d = {}\n    def put(self, k, v): self.d[k] = v\n"
    assert plan(design, lru, lru)[0] is None


def test_builtins_around_a_call_are_never_renamed_to_the_entry():
    ex = extract_checks(
        'def gen(n):\n    """Yield 0..n-1."""\n>>> list(g.gen(3))\n[0, 1, 2]\n>>> list(gen(2))\n[0, 1]'
    )
    assert [c.call for c in ex.checks] == ["list(g.gen(3))", "list(gen(2))"]  # not gen(g.gen(3))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("f(1) -> [1.0, inf, -inf]", [1.0, math.inf, -math.inf]),  # non-finite floats inside containers
        ("f(1) -> [float('inf'), math.inf]", [math.inf, math.inf]),
        ("f(1) -> [true, false, null]", [True, False, None]),  # JSON spellings inside containers
        ("f(1) -> {'a': [nan]}", None),  # nan: compared as nan (checked below)
    ],
)
def test_literals_with_json_names_and_non_finite_floats(text, expected):
    ex = extract_checks(text)
    assert len(ex.checks) == 1, ex.skipped
    if expected is None:
        assert math.isnan(ex.checks[0].expected["a"][0])
    else:
        assert ex.checks[0].expected == expected


def test_statement_examples_are_calls_of_the_codes_entry():
    from codefavor.evidence.examples import spec_of

    ins = (
        "Merge Two Sorted Lists\n\nInput: list1 = [1,2,4], list2 = [1,3,4]\nOutput: [1,1,2,3,4,4]\n"
        "Explanation: merge([1], [2]) -> [1, 2].\n\n"
        'Input\n["MinStack","push","getMin"]\n[[],[-2],[]]\nOutput\n[null,null,-2]\n\n'
        "Input: s = 'abc'\nOutput: [1, 2]\nYou may return the answer in any order.\n"
    )
    ex = extract_checks(ins)
    assert ex.entry is None and ex.platform  # the code decides the entry (calls.resolve)
    specs = [spec_of(c) for c in ex.checks]
    assert specs[0]["names"] == ["list1", "list2"] and specs[0]["args"] == [[1, 2, 4], [1, 3, 4]]
    assert specs[1]["ops"] == ["MinStack", "push", "getMin"] and ex.checks[1].expected == [None, None, -2]
    assert specs[2]["order"] == 1 and specs[0]["order"] == 1  # "in any order" applies to every example
    assert any("explanation" in why for _, why in ex.skipped)  # merge(...) in prose is not an example
    assert ex.calls[0].args == ([1, 2, 4], [1, 3, 4]) and ex.spec["names"] == ["list1", "list2"]


@pytest.mark.parametrize(
    "text, many",
    [
        (
            "Return a 2D array representing any matrix that fulfills the requirements. Find any matrix of size m x n.",
            True,
        ),
        ("You may return any answer, and it is guaranteed an answer exists.", True),
        ("Given an integer n, return any array containing n unique integers such that they add up to 0.", True),
        ("Find and return any number from the array that is neither the minimum nor the maximum.", True),
        ("If there are multiple modifications, any of them will be considered correct.", True),
        ("If there are multiple possible paths return any one of the paths.", True),
        ('"a0b1c2", "0a1b2c", "0c2a1b" are also valid permutations.', True),
        ("[1,0,2] would also be accepted as an answer, as well as some other answers.", True),
        ("Return empty string if you didn't     find any vowel met the above condition.", False),
        ("The function should log its progress and not return any value.", False),
        ("We can not find any free block, so we return -1. Return -1 if you cannot find any pair.", False),
        ("Return the answer in any order.", False),  # one answer, its order free: compared unordered
        ("Return true if any value appears at least twice in the array.", False),
    ],
)
def test_statements_that_accept_other_answers(text, many):
    from codefavor.evidence.examples import many_answers

    assert many_answers(text) is many


def test_a_yes_no_answer_is_checked_even_where_the_statement_says_find_any():
    ins = (
        "Given a string s, find any substring of length 2 which is also present in the reverse of s. "
        "Return true if such a substring exists, and false otherwise.\n\n"
        'Input: s = "leetcode"\nOutput: true\n\nInput: s = "abcd"\nOutput: false\n'
    )
    assert [c.expected for c in extract_checks(ins, functions=True).checks] == [True, False]
    listed = ins.replace("Return true if such a substring exists, and false otherwise.", "Return it.")
    listed = listed.replace("Output: true", 'Output: "ee"').replace("Output: false", 'Output: ""')
    assert extract_checks(listed, functions=True).checks == []  # any substring: not the example's only


@pytest.mark.parametrize("phrase", ["in any order", "with any order you want"])
def test_answers_in_any_order_are_compared_unordered(phrase):
    ins = (
        f'Return the names of the high-access employees {phrase}.\n\nInput: names = ["d","c","d"]\nOutput: ["c","d"]\n'
    )
    (check,) = extract_checks(ins, functions=True).checks
    assert "'order': 1" in check.call, check.call


def test_a_real_number_answer_is_checked_even_where_the_statement_speaks_of_randomness():
    ins = (
        "The balls are shuffled uniformly at random and split into two boxes. Return the probability "
        "that both boxes hold the same number of distinct colours.\n\nInput: balls = [1,1]\nOutput: 1.00000\n\n"
        "Input: balls = [2,1,1]\nOutput: 0.66667\n"
    )
    assert [c.expected for c in extract_checks(ins, functions=True).checks] == [1.0, 0.66667]
