"""Perturbations preserve meaning: perturbed code parses, public names stay, comments come and go,
and hand-written programs give the same outputs in the sandbox before and after."""

from __future__ import annotations

import ast

import pytest

from codefavor.perturb import (
    add_comments,
    perturb,
    remove_comments,
    rename_locals,
    reorder_definitions,
    seed_for,
)

PROGRAMS = {
    "closure": (
        "def make_counter(start):\n    total = start  # running total\n    def bump(step=1):\n"
        "        return total + step\n    return bump\n\n\ndef use(n):\n    fns = [make_counter(i) for i in range(n)]\n"
        "    return [f(2) for f in fns]\n",
        ["use(4)", "make_counter(3)(4)"],
    ),
    "class_solution": (
        "from typing import List\n\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
        "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
        "                return [seen[target - x], i]\n            seen[x] = i\n        return []\n",
        ["Solution().twoSum([2, 7, 11, 15], 9)", "Solution().twoSum(nums=[3, 3], target=6)"],
    ),
    "keywords_and_attrs": (
        "import math\n\n\ndef area(radius, *, scale=1.0):\n    r = radius * scale\n    result = dict(value=math.pi * r * r)\n"
        "    result['r'] = r\n    return result\n\n\ndef total(xs):\n    acc = 0\n    for x in xs:\n"
        "        acc += area(radius=x)['value']\n    return round(acc, 6)\n",
        ["total([1, 2, 3])", "area(2, scale=0.5)"],
    ),
    "generator_and_lambda": (
        "def evens(limit):\n    n = 0\n    while n < limit:\n        if n % 2 == 0:\n            yield n\n        n += 1\n\n\n"
        "def pick(xs):\n    key = lambda n: -n\n    out = sorted(xs, key=key)\n    return out[:2]\n\n\n"
        "def both(k):\n    return list(evens(k)), pick(list(range(k)))\n",
        ["both(7)", "list(evens(3))"],
    ),
    "try_except_comprehension": (
        "def safe_div(a, b):\n    try:\n        q = a / b\n    except ZeroDivisionError as err:\n        q = str(err)\n    return q\n\n\n"
        "def table(n):\n    rows = {i: [j * i for j in range(n)] for i in range(n)}\n    return rows, safe_div(n, 0)\n",
        ["table(3)", "safe_div(1, 4)"],
    ),
    "dependent_defs": (
        "class Base:\n    kind = 'base'\n\n\nclass Child(Base):\n    kind = 'child'\n\n\ndef helper(x):\n    return x + 1\n\n\n"
        "def main(x):\n    # calls helper at run time, so order does not matter\n    return helper(x) * 2, Child().kind\n",
        ["main(3)"],
    ),
}

KINDS = [("rename",), ("comments",), ("no-comments",), ("reorder",), ("rename", "comments", "reorder")]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("kinds", KINDS, ids=["+".join(k) for k in KINDS])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_perturbed_code_parses_and_keeps_public_names(name, kinds, seed):
    code, _ = PROGRAMS[name]
    out = perturb(code, kinds, seed)
    tree = ast.parse(out)
    public = lambda t: sorted(n.name for n in t.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)))  # noqa: E731
    assert public(tree) == public(ast.parse(code))
    assert perturb(code, kinds, seed) == out  # deterministic


def test_each_perturbation_changes_something():
    code, _ = PROGRAMS["keywords_and_attrs"]
    renamed = rename_locals(code, 0)
    assert renamed != code and "radius" in renamed and "scale=" in renamed and "math.pi" in renamed
    assert "acc" not in renamed.replace("acc_", "") or "acc +=" not in renamed
    commented = add_comments(code, 0)
    assert commented.count("#") > code.count("#")
    assert "#" not in remove_comments(PROGRAMS["closure"][0]) and "total = start" in remove_comments(
        PROGRAMS["closure"][0]
    )
    reordered = reorder_definitions(code, 0)
    assert reordered.index("def total") < reordered.index("def area")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_canonical_locals_is_the_same_for_every_renaming(name):
    from codefavor.perturb import canonical_locals

    code, _ = PROGRAMS[name]
    want = canonical_locals(code, 8)
    for seed in range(4):
        assert canonical_locals(rename_locals(code, seed), 8) == want
    ast.parse(want)
    assert canonical_locals("def (:", 8) == "def (:"


def test_canonical_locals_ignores_what_other_functions_call_their_locals():
    from codefavor.perturb import canonical_locals

    code = "def f(a):\n    v3 = a + 1\n    return v3\n\n\ndef g(b):\n    c = b * 2\n    return c\n"
    other = code.replace("v3", "total")
    assert canonical_locals(code) == canonical_locals(other) == canonical_locals(rename_locals(code, 5))


def test_canonical_locals_numbers_by_first_appearance_and_keeps_the_rest():
    from codefavor.perturb import canonical_locals

    code = "v0 = 1\n\ndef f(xs, k):\n    total = 0\n    for item in xs:\n        total += item * k + v0\n    return total\n"
    out = canonical_locals(code)
    assert "v_0 = 0" in out and "for v_1 in xs" in out and "v_0 += v_1 * k + v0" in out  # the global v0 is not a local
    assert canonical_locals(code, 5).count("v_0xx") == 3


def test_dependent_definitions_keep_their_order():
    code, _ = PROGRAMS["dependent_defs"]
    out = reorder_definitions(code, 3)
    assert out.index("class Base") < out.index("class Child")  # Child's base is read at definition time


@pytest.mark.parametrize("bad", ["def (:", "", "print 'py2'\n", "x = (\n", "\x00"])
def test_unparsable_input_comes_back_unchanged(bad):
    for fn in (rename_locals, add_comments, remove_comments, reorder_definitions):
        assert fn(bad, 0) == bad


def test_locals_and_globals_users_are_left_alone():
    code = "def f(a):\n    b = a + 1\n    return locals()\n\n\ndef g():\n    global G\n    G = 1\n    return G\n"
    assert rename_locals(code, 0) == code
    assert seed_for("task-1") == seed_for("task-1") != seed_for("task-2")


def test_same_outputs_in_the_sandbox():
    from codefavor.evidence.sandbox import Check, Sandbox

    jobs, expect = [], []
    with Sandbox(workers=2) as sb:
        for name, (code, calls) in sorted(PROGRAMS.items()):
            base = sb.run(code, [Check(c) for c in calls])
            assert base.completed and not base.load_error, (name, base.summary())
            for kinds in KINDS:
                for seed in (0, 1, 7):
                    jobs.append((perturb(code, kinds, seed), [Check(c) for c in calls]))
                    expect.append((name, kinds, seed, [c.value for c in base.checks]))
        results = sb.run_many(jobs)
    for (name, kinds, seed, values), r in zip(expect, results, strict=True):
        assert not r.load_error and [c.value for c in r.checks] == values, (name, kinds, seed, r.summary())


def test_every_kind_the_benchmark_accepts_is_one_perturb_applies():
    from codefavor.benchmark.runner import BenchProtocol
    from codefavor.perturb import STEPS

    code = "def f(x):\n    # keep\n    y = x + 1\n    return y\n"
    for kind in STEPS:
        BenchProtocol(perturb=(kind,))  # accepted
    assert "#" not in perturb(code, ["no-comments"])
    with pytest.raises(ValueError, match="renamee"):
        perturb(code, ["renamee"])


MEANING = """
import math

def area(r):
    result = math.pi * r * r  # the disc
    return result

def double(xs):
    out = []
    for x in xs:
        out.append(2 * x)
    return out

class Box:
    side = 2
"""


@pytest.mark.parametrize("kinds", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_meaning_key_is_blind_to_every_perturbation(kinds, seed):
    from codefavor.perturb import meaning_key

    edited = perturb(MEANING, kinds, seed)
    assert meaning_key(edited) == meaning_key(MEANING)


@pytest.mark.parametrize(
    "other",
    [
        MEANING.replace("2 * x", "3 * x"),  # another value
        MEANING.replace("def double(xs)", "def twice(xs)"),  # a public name
        MEANING.replace("side = 2", "side = 2\n    edge = side"),  # another class body
        MEANING + "\ndouble = area\n",  # a statement more
        "def f():\n    return 1\n\ndef f():\n    return 2\n",  # the same name twice: order matters
        "not python (",  # unparsable: keyed by text
    ],
)
def test_meaning_key_tells_other_programs_apart(other):
    from codefavor.perturb import meaning_key

    assert meaning_key(other) != meaning_key(MEANING)
    if "def f()" in other:
        swapped = "def f():\n    return 2\n\ndef f():\n    return 1\n"
        assert meaning_key(other) != meaning_key(swapped)


@pytest.mark.parametrize(
    "code",
    [
        # a method's return annotation reads the next class when the class is defined
        "class A:\n    def m(self) -> B:\n        return 1\n\n\nclass B:\n    pass\n",
        # a method's keyword-only default, likewise
        "class A:\n    def m(self, *, k=B):\n        return k\n\n\nclass B:\n    pass\n",
        # decorators may register what they wrap: the handlers run in definition order
        "@reg\ndef a():\n    pass\n\n\n@reg\ndef b():\n    pass\n",
    ],
)
def test_definitions_whose_order_can_matter_are_not_reordered(code):
    from codefavor.perturb import meaning_key

    for seed in range(4):
        assert reorder_definitions(code, seed) == code
    swapped = "\n\n\n".join(reversed(code.split("\n\n\n")))
    assert meaning_key(swapped) != meaning_key(code)


def test_a_name_printed_by_an_f_string_is_not_renamed():
    from codefavor.perturb import canonical_locals, meaning_key

    code = 'def f(xs):\n    total = sum(xs)\n    return f"{total=}"\n'
    assert rename_locals(code, 3) == code and canonical_locals(code) == code
    assert meaning_key(code.replace("total", "acc")) != meaning_key(code)
