"""Grown timing inputs keep the preconditions that a statement's examples show and its Constraints
section states (`scaling.level_calls` with `constraints.read`'s facts). Each row: the statement's
constraint lines, the parameter names, the example calls, and what every grown input must satisfy."""

from __future__ import annotations

from collections import Counter

import pytest

from codefavor.evidence import constraints
from codefavor.evidence.scaling import Call, level_calls


def _sorted(xs, strict=False):
    return all(a < b if strict else a <= b for a, b in zip(xs, xs[1:], strict=False))


def _balanced(s):
    depth = 0
    for ch in s:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _statement(lines):
    return "Example.\n\nConstraints:\n\n" + "\n".join(f"\t- {x}" for x in lines)


def _perm(xs, base):
    return sorted(xs) == list(range(base, base + len(xs)))


CASES = [
    pytest.param(
        ["-1000 <= numbers[i] <= 1000", "numbers is sorted in non-decreasing order."],
        ["numbers", "target"],
        [Call(([2, 7, 11, 15], 9)), Call(([2, 3, 4], 6)), Call(([-1, 0], -1))],
        lambda c: _sorted(c.args[0]) and -1000 <= min(c.args[0]) and max(c.args[0]) <= 1000,
        id="sorted-and-bounded",
    ),
    pytest.param(
        ["3 <= nums.length <= 200", "0 <= nums[i] <= 200", "nums is strictly increasing."],
        ["nums", "diff"],
        [Call(([0, 1, 4, 6, 7, 10], 3)), Call(([4, 5, 6, 7, 8, 9], 2))],
        lambda c: _sorted(c.args[0], strict=True) and 0 <= c.args[0][0] and c.args[0][-1] <= 200,
        id="strictly-increasing-within-a-range",
    ),
    pytest.param(
        ["Each row is sorted in non-decreasing order.", "m == matrix.length", "n == matrix[i].length",
         "-10^4 <= matrix[i][j], target <= 10^4"],
        ["matrix", "target"],
        [Call(([[1, 3, 5, 7], [10, 11, 16, 20], [23, 30, 34, 60]], 3))],
        lambda c: _sorted([x for r in c.args[0] for x in r], strict=True) and len({len(r) for r in c.args[0]}) == 1,
        id="matrix-sorted-row-major",
    ),
    pytest.param(
        ["Integers in each row are sorted in ascending from left to right."],
        ["matrix", "target"],
        [Call(([[1, 4, 7, 11, 15], [2, 5, 8, 12, 19], [3, 6, 9, 16, 22], [10, 13, 14, 17, 24], [18, 21, 23, 26, 30]], 5))],
        lambda c: all(_sorted(r) for r in c.args[0]) and all(_sorted(col) for col in zip(*c.args[0], strict=True)),
        id="matrix-rows-and-columns-sorted",
    ),
    pytest.param(
        ["You are given an array of non-overlapping intervals intervals where intervals[i] = [starti, endi]",
         "intervals[i].length == 2", "0 <= starti <= endi <= 10^5", "intervals is sorted by starti in ascending order."],
        ["intervals", "newInterval"],
        [Call(([[1, 3], [6, 9]], [2, 5])), Call(([[1, 2], [3, 5], [6, 7], [8, 10], [12, 16]], [4, 8]))],
        lambda c: all(a <= b for a, b in c.args[0])
        and all(x[1] < y[0] for x, y in zip(c.args[0], c.args[0][1:], strict=False))
        and 0 <= c.args[0][0][0] and c.args[0][-1][1] <= 10**5 and len(c.args[1]) == 2,
        id="intervals-sorted-and-disjoint",
    ),
    pytest.param(
        ["n == nums1.length == nums2.length", "0 <= nums1[i], nums2[i] <= n - 1",
         "nums1 and nums2 are permutations of [0, 1, ..., n - 1]."],
        ["nums1", "nums2"],
        [Call(([2, 0, 1, 3], [0, 1, 2, 3])), Call(([4, 0, 1, 3, 2], [4, 1, 0, 2, 3]))],
        lambda c: _perm(c.args[0], 0) and _perm(c.args[1], 0) and len(c.args[0]) == len(c.args[1]),
        id="permutations-of-0-to-n-1",
    ),
    pytest.param(
        ["p is a permutation of [1, 2, ..., n]."],
        ["p"],
        [Call(([3, 1, 2],)), Call(([1, 4, 2, 3],))],
        lambda c: _perm(c.args[0], 1),
        id="permutation-of-1-to-n",
    ),
    pytest.param(
        ["All the integers in rating are unique."],
        ["rating"],
        [Call(([5, 10, 3, 8],)), Call(([2, 1, 3],))],
        lambda c: len(set(c.args[0])) == len(c.args[0]),
        id="distinct-values-in-both-modes",
    ),
    pytest.param(
        ["1 <= nums.length <= 50", "1 <= nums[i] <= 100"],
        ["nums"],
        [Call(([1, 2, 3, 4, 5],)), Call(([10, 100],))],
        lambda c: 1 <= min(c.args[0]) and max(c.args[0]) <= 100,
        id="value-bounds",
    ),
    pytest.param(
        ["bookings[i] = [firsti, lasti, seatsi]", "1 <= n <= 2 * 10^4", "bookings[i].length == 3",
         "1 <= firsti <= lasti <= n", "1 <= seatsi <= 10^4"],
        ["bookings", "n"],
        [Call(([[1, 2, 10], [2, 3, 20], [2, 5, 25]], 5)), Call(([[1, 2, 10], [2, 2, 15]], 2))],
        lambda c: all(len(r) == 3 and 1 <= r[0] <= r[1] <= c.args[1] and 1 <= r[2] <= 10**4 for r in c.args[0]),
        id="columns-bounded-by-a-size-that-grows",
    ),
    pytest.param(
        ["edges[i] = [ai, bi]", "1 <= n <= 2000", "edges[i].length == 2", "0 <= ai, bi < n", "ai != bi"],
        ["n", "edges"],
        [Call((5, [[0, 1], [0, 2], [0, 3], [1, 4]])), Call((5, [[0, 1], [1, 2], [2, 3], [1, 3], [1, 4]]))],
        lambda c: all(0 <= a < c.args[0] and 0 <= b < c.args[0] and a != b for a, b in c.args[1]),
        id="edge-labels-below-n-no-self-loops",
    ),
    pytest.param(
        ["times[i] = (ui, vi, wi)", "1 <= k <= n <= 100", "times[i].length == 3", "1 <= ui, vi <= n", "ui != vi", "0 <= wi <= 100",
         "All the pairs (ui, vi) are unique. (i.e., no multiple edges.)"],
        ["times", "n", "k"],
        [Call(([[2, 1, 1], [2, 3, 1], [3, 4, 1]], 4, 2)), Call(([[1, 2, 1]], 2, 1)), Call(([[1, 2, 1]], 2, 2))],
        lambda c: c.args[1] <= 100 and 1 <= c.args[2] <= c.args[1]
        and all(1 <= u <= c.args[1] and 1 <= v <= c.args[1] and u != v and 0 <= w <= 100 for u, v, w in c.args[0])
        and len({(u, v) for u, v, _ in c.args[0]}) == len(c.args[0]),
        id="graph-labels-bounded-by-n-unique-pairs",
    ),
    pytest.param(
        ["updates[i] = [startIdxi, endIdxi, inci]", "1 <= length <= 10^5", "0 <= startIdxi <= endIdxi < length", "-1000 <= inci <= 1000"],
        ["length", "updates"],
        [Call((5, [[1, 3, 2], [2, 4, 3], [0, 2, -2]])), Call((10, [[2, 4, 6], [5, 6, 8], [1, 9, -4]]))],
        lambda c: all(0 <= s <= e < c.args[0] and -1000 <= x <= 1000 for s, e, x in c.args[1]),
        id="index-ranges-within-a-length",
    ),
    pytest.param(
        ["1 <= num <= 10^9", "1 <= k <= num.length (taking num as a string)"],
        ["num", "k"],
        [Call((240, 2)), Call((430043, 2))],
        lambda c: 1 <= c.args[1] <= len(str(c.args[0])),
        id="k-within-the-digits-of-num",
    ),
    pytest.param(
        ["1 <= nums.length <= 500", "0 <= k <= min(nums.length, 25)"],
        ["nums", "k"],
        [Call(([2, 3, 1, 5], 3)), Call(([4, 4, 1], 2))],
        lambda c: 0 <= c.args[1] <= min(len(c.args[0]), 25),
        id="k-bounded-by-an-expression",
    ),
    pytest.param(
        ["1 <= days.length <= 365", "1 <= days[i] <= 365", "days is in strictly increasing order.", "costs.length == 3"],
        ["days", "costs"],
        [Call(([1, 4, 6, 7, 8, 20], [2, 7, 15])), Call(([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30, 31], [2, 7, 15]))],
        lambda c: c.args[1] == [2, 7, 15] and _sorted(c.args[0], strict=True) and 1 <= c.args[0][0]
        and c.args[0][-1] <= 365,
        id="fixed-length-and-bounded-strict-order",
    ),
    pytest.param(
        ['time is a valid string of length 5 in the format "hh:mm".'],
        ["time"],
        [Call(("?5:00",)), Call(("0?:0?",)), Call(("??:??",))],
        lambda c: len(c.args[0]) == 5,
        id="fixed-length-string-in-prose",
    ),
    pytest.param(
        ["Each element in nums appears exactly three times except for one element which appears once."],
        ["nums"],
        [Call(([2, 2, 3, 2],)), Call(([0, 1, 0, 1, 0, 1, 99],))],
        lambda c: sorted(Counter(Counter(c.args[0]).values()).items())[0] == (1, 1)
        and set(Counter(c.args[0]).values()) == {1, 3},
        id="every-value-three-times-but-one",
    ),
    pytest.param(
        ["It is guaranteed that all parentheses are balanced."],
        ["s"],
        [Call(("(abcd)",)), Call(("(u(love)i)",)), Call(("(ed(et(oc))el)",))],
        lambda c: _balanced(c.args[0]),
        id="balanced-parentheses",
    ),
    pytest.param(
        ["folder[i] always starts with the character '/'.", "Each folder name is unique."],
        ["folder"],
        [Call((["/a", "/a/b", "/c/d", "/c/d/e", "/c/f"],)), Call((["/a", "/a/b/c", "/a/b/d"],))],
        lambda c: all(f.startswith("/") and "//" not in f and not f.endswith("/") for f in c.args[0])
        and len(set(c.args[0])) == len(c.args[0]),
        id="paths-keep-their-shape-and-stay-distinct",
    ),
    pytest.param(
        ["graph[u] does not contain u.", "If graph[u] contains v, then graph[v] contains u."],
        ["graph"],
        [Call(([[1, 2, 3], [0, 2], [0, 1, 3], [0, 2]],)), Call(([[1, 3], [0, 2], [1, 3], [0, 2]],))],
        lambda c: all(0 <= v < len(c.args[0]) and v != u and u in c.args[0][v]
                      for u, r in enumerate(c.args[0]) for v in r),
        id="undirected-adjacency-list",
    ),
    pytest.param(
        [],
        ["s1", "s2"],
        [Call(("ab", "ba")), Call(("abc", "bca"))],
        lambda c: sorted(c.args[0]) == sorted(c.args[1]) and c.args[0] != c.args[1],
        id="one-string-an-anagram-of-the-other",
    ),
    pytest.param(
        [],
        ["nums1", "nums2"],
        [Call(([3, 1, 2], [1, 2, 3])), Call(([1, 1, 2, 2], [2, 1, 2, 1]))],
        lambda c: sorted(c.args[0]) == sorted(c.args[1]),
        id="one-list-a-permutation-of-the-other",
    ),
]  # fmt: skip


@pytest.mark.parametrize("lines, names, calls, check", CASES)
@pytest.mark.parametrize("target", [64, 1024])
def test_grown_inputs_keep_the_preconditions(lines, names, calls, check, target):
    facts = constraints.read(_statement(lines), names)
    grown = level_calls(calls, target, "seed", facts=facts)
    assert grown and (any(c not in calls for c in grown) or facts["length"])  # the inputs grew, unless fixed
    for c in grown:
        assert check(c), c.source("f")[:300]


def test_a_size_grows_with_the_collection_it_bounds():
    lines = ["bookings[i] = [firsti, lasti, seatsi]", "1 <= n <= 2 * 10^4", "1 <= firsti <= lasti <= n"]
    facts = constraints.read(_statement(lines), ["bookings", "n"])
    calls = [Call(([[1, 2, 10], [2, 3, 20], [2, 5, 25]], 5))]
    fresh = level_calls(calls, 1024, "s", facts=facts, modes=("fresh",))[0]
    assert fresh.args[1] > 100 and max(r[1] for r in fresh.args[0]) > 50  # not all squeezed into 1..5


def test_a_call_of_integers_alone_grows_past_a_constant_cap():
    # `0 <= n <= 30` is the scale the statement tests (Fibonacci), not a promise the code relies on.
    facts = constraints.read(_statement(["0 <= n <= 30"]), ["n"])
    assert level_calls([Call((2,)), Call((4,))], 1024, "s", facts=facts)[0].args[0] > 30


def test_facts_the_examples_break_are_not_used():
    facts = constraints.read(_statement(["1 <= nums[i] <= 3"]), ["nums"])  # the examples say otherwise
    grown = level_calls([Call(([5, 6, 7, 9],))], 1024, "s", facts=facts, modes=("fresh",))[0]
    assert max(grown.args[0]) > 3


def test_what_the_statement_does_not_promise_tiling_keeps_as_the_example_has_it():
    # A sorted, distinct example is often chance (`dup([1, 2, 3, 4, 5])`): tiling keeps its repeats.
    calls = [Call(([1, 2, 3, 4, 5],))]
    tiled = level_calls(calls, 64, "s", modes=("tile",))[0].args[0]
    assert tiled[:10] == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5]
    promised = constraints.read("Given an array nums sorted in ascending order.", ["nums"])
    tiled = level_calls(calls, 64, "s", facts=promised, modes=("tile",))[0].args[0]
    assert tiled == sorted(tiled) and len(set(tiled)) == len(tiled)


def test_a_rearrangement_is_read_only_where_every_example_shows_one():
    from codefavor.evidence.preconditions import rearrangements

    assert rearrangements([{0: "ab", 1: "ba"}, {0: "abc", 1: "bca"}]) == {1: 0}
    assert rearrangements([{0: "ab", 1: "ba"}, {0: "abc", 1: "bcd"}]) == {}  # not in every example
    assert rearrangements([{0: [1, 2], 1: [1, 2]}, {0: [3, 4], 1: [3, 4]}]) == {}  # equal: another relation
    assert rearrangements([{0: "a", 1: "a"}, {0: "b", 1: "b"}]) == {}
    assert rearrangements([{0: [1, 2], 1: "12"}]) == {}  # not of one type
