"""A statement's Constraints section read as facts about the arguments (`constraints.read`)."""

from __future__ import annotations

import pytest

from codefavor.evidence.constraints import read


def _facts(lines, names, prose=""):
    return read(prose + "\n\nConstraints:\n\n" + "\n".join(f"\t- {x}" for x in lines), names)


@pytest.mark.parametrize(
    "lines, names, prose, want",
    [
        (["1 <= nums[i] <= 100"], ["nums"], "",
         {"bounds": [(("elem", 0), "lo", False, ("num", 1)), (("elem", 0), "hi", False, ("num", 100))]}),
        (["-10^4 <= matrix[i][j], target <= 10^4"], ["matrix", "target"], "",
         {"bounds": [(("elem", 0), "lo", False, ("num", -10000)), (("elem", 0), "hi", False, ("num", 10000)),
                     (("arg", 1), "lo", False, ("num", -10000)), (("arg", 1), "hi", False, ("num", 10000))]}),
        (["1 <= firsti <= lasti <= n"], ["bookings", "n"], "bookings[i] = [firsti, lasti, seatsi]",
         {"bounds": [(("col", 0, 0), "lo", False, ("num", 1)), (("col", 0, 0), "hi", False, ("arg", 1)),
                     (("col", 0, 1), "lo", False, ("num", 1)), (("col", 0, 1), "hi", False, ("arg", 1)),
                     (("arg", 1), "lo", False, ("num", 1))],
          "relations": [("<=", 0, 0, 1)]}),
        (["0 <= ai, bi < n", "ai != bi"], ["n", "edges"], "edges[i] = [ai, bi]",
         {"bounds": [(("col", 1, 0), "lo", False, ("num", 0)), (("col", 1, 0), "hi", True, ("arg", 0)),
                     (("col", 1, 1), "lo", False, ("num", 0)), (("col", 1, 1), "hi", True, ("arg", 0)),
                     (("arg", 0), "lo", True, ("num", 0))],
          "relations": [("!=", 1, 0, 1)]}),
        (["n == nums1.length == nums2.length", "0 <= nums1[i] <= n - 1"], ["nums1", "nums2"], "",
         {"bounds": [(("elem", 0), "lo", False, ("num", 0)), (("elem", 0), "hi", False, ("-", ("len", 0), ("num", 1)))]}),
        (["1 <= k <= num.length (taking num as a string)"], ["num", "k"], "",
         {"bounds": [(("arg", 1), "lo", False, ("num", 1)), (("arg", 1), "hi", False, ("len", 0))]}),
        (["bookings[i].length == 3", "costs.length == 3"], ["bookings", "costs"], "",
         {"width": {0: 3}, "length": {1: 3}}),
        (['time is a valid string of length 5 in the format "hh:mm".'], ["time"], "", {"length": {0: 5}}),
        # a list or its rows spelled out as names: `center = [cx, cy]` holds two, each tower three
        (["towers[i] = [xi, yi, qi]", "center = [cx, cy\u200b\u200b]"], ["towers", "center"], "",
         {"width": {0: 3}, "length": {1: 2}}),
        (["grid = [a]", "x = [1, 2]"], ["grid", "x"], "", {}),  # one name, or values: no shape
        (["All the pairs (ui, vi) are unique."], ["times", "n"], "times[i] = (ui, vi, wi)",
         {"relations": [("pairs", 0, 0, 1)], "promises": ["distinct"]}),
        (["nums.length >= 1", "10^5 >= nums[i] >= 1"], ["nums"], "",  # written the other way round
         {"bounds": [(("elem", 0), "lo", False, ("num", 1)), (("elem", 0), "hi", False, ("num", 100000))]}),
        (["1 <= k <= 2 * 10^4 + 7"], ["k"], "",
         {"bounds": [(("arg", 0), "lo", False, ("num", 1)), (("arg", 0), "hi", False, ("num", 20007))]}),
        # Nothing it cannot resolve: other names, string constants, prose.
        (["1 <= m, n <= 100", '"00" <= hh <= "23"', "The answer fits in a 32-bit integer."], ["grid"], "", {}),
        (["1 <= x <= 10"], [], "", {}),
    ],
)  # fmt: skip
def test_read(lines, names, prose, want):
    got = _facts(lines, names, prose)
    full = {"bounds": [], "relations": [], "length": {}, "width": {}, "promises": [], **want} if want else {}
    assert got == full


def test_no_constraints_section():
    assert read("Given nums, return 1 <= x <= 10.", ["nums"]) == {}


@pytest.mark.parametrize(
    "text, promises",
    [
        ("Given a 1-indexed array of integers numbers that is already sorted in non-decreasing order", ["order"]),
        ("days is in strictly increasing order.", ["order"]),
        ("three integer arrays arr1, arr2 and arr3 sorted in strictly increasing order", ["order"]),
        ("All the integers in rating are unique.", ["distinct"]),
        ("nums1 and nums2 are permutations of [0, 1, ..., n - 1].", ["permutation"]),
        ("an array of non-overlapping intervals, sorted by start", ["disjoint", "order"]),
        ("Return the sorted list of the unique characters.", []),  # about the answer, not the input
        ("Write a function to check if the elements of a given list are unique or not.", []),  # a question
    ],
)
def test_promises(text, promises):
    assert read(text, ["x"]).get("promises", []) == promises


@pytest.mark.parametrize("bullet", ["", "- ", "\t- ", "* ", "•", "1. "])
def test_a_negative_bound_first_on_a_line_keeps_its_sign_with_or_without_a_bullet(bullet):
    # LeetCode's own pages bullet each line; copies of them (DebugBench's) often do not
    facts = read(f"Constraints:\n{bullet}-10^4 <= nums[i] <= 10^4\n{bullet}1 <= k <= 5\n", ["nums", "k"])
    assert facts["bounds"] == [(("elem", 0), "lo", False, ("num", -10000)), (("elem", 0), "hi", False, ("num", 10000)),
                               (("arg", 1), "lo", False, ("num", 1)), (("arg", 1), "hi", False, ("num", 5))]  # fmt: skip


@pytest.mark.parametrize(
    "line, want",
    [
        ("-10<sup>4</sup> <= nums[i] <= 10<sup>4</sup>", (-10000, 10000)),  # HTML, as the pages write it
        ("-104 <= nums[i] <= 104", (-10000, 10000)),  # the same copied without its markup
        ("-231 <= nums[i] <= 231 - 1", (-(2**31), 2**31 - 1)),
        ("1 <= nums[i] <= 2 * 105", (1, 200000)),
        ("1 <= nums[i] <= 3*105", (1, 300000)),
        ("0 <= nums[i] <= 1018", (0, 10**18)),
        ("1 <= nums[i] <= 1000", (1, 1000)),  # literals stay literals
        ("1 <= nums[i] <= 102", (1, 102)),
    ],
)
def test_powers_of_ten_are_read_with_their_markup_or_without_it(line, want):
    bounds = read(f"Constraints:\n{line}\n", ["nums"])["bounds"]
    assert [b[3][1] for b in bounds] == list(want)
