"""Type-aware input scaling for efficiency evidence (pure code). Finding the example calls is
`evidence.examples`' job (tests/test_examples.py)."""

from __future__ import annotations

import random

import pytest

from codefavor.evidence.scaling import Call, _is_prime, grow, ladder, level_calls, scale_call, scale_int


@pytest.mark.parametrize(
    "value, k, check",
    [
        (10, 100, lambda v: v == 1000),
        (15, 100, lambda v: v % 2 == 1 and v >= 1500 and not _is_prime(v)),  # odd composite stays so
        (101, 100, lambda v: _is_prime(v) and 10100 <= v < 10200),  # a prime stays prime
        (2048, 10, lambda v: v & (v - 1) == 0 and v >= 16384),  # a power of two stays one
        (-40, 10, lambda v: v == -400),
        (1, 1000, lambda v: v == 1),  # 0/1 are flags or base cases, not sizes
        (True, 1000, lambda v: v is True),
        (999_999, 10**9, lambda v: v <= 10**12),  # capped
    ],
)
def test_scale_int(value, k, check):
    assert check(scale_int(value, k))


def test_grow_lists_keep_type_range_order_and_uniqueness():
    rng = random.Random(0)
    ints = grow([3, 1, 2, 2, 5], 100, rng)
    assert len(ints) == 500 and all(isinstance(x, int) for x in ints)
    assert min(ints) >= 1 and max(ints) <= 1 + 4 * 100  # range widened in proportion, sign kept
    asc = grow([1, 4, 9, 16], 50, rng)
    assert asc == sorted(asc) and len(asc) == 200 and len(set(asc)) == 200  # sorted unique stays so
    desc = grow((9.5, 7.0, 2.25), 10, rng)
    assert isinstance(desc, tuple) and list(desc) == sorted(desc, reverse=True)
    mixed = grow([-5, 3, -1], 10, rng)
    assert any(x < 0 for x in mixed) and any(x > 0 for x in mixed)
    recs = grow([("ann", 3), ("bob", 40)], 20, rng)
    assert len(recs) == 40 and all(
        isinstance(r, tuple) and isinstance(r[0], str) and isinstance(r[1], int) for r in recs
    )
    nested = grow([[1, 2, 3], [4, 5]], 10, rng)
    assert len(nested) == 20 and {len(r) for r in nested} <= {2, 3}  # inner rows keep their length
    tiled = grow([1, 2, 3], 4, rng, mode="tile")
    assert tiled == [1, 2, 3] * 4


def test_grow_strings_sets_dicts_and_matrices():
    rng = random.Random(1)
    s = grow("abcab", 20, rng)
    assert len(s) == 100 and set(s) <= set("abc")
    words = grow("hello big world", 10, rng, mode="tile")
    assert words.startswith("hello big world hello") and len(words) >= 150
    assert grow("x", 100, rng) == "x"  # a character argument stays
    st = grow({1, 2, 3}, 10, rng)
    assert isinstance(st, set) and len(st) == 30
    d = grow({"a": 1, "bb": 2}, 10, rng)
    assert isinstance(d, dict) and len(d) == 20 and all(isinstance(v, int) for v in d.values())
    m = grow([[1, 2, 3], [3, 4, 5], [6, 7, 8]], 16, rng)  # a square matrix grows in both dimensions
    assert len(m) == 12 and all(len(r) == 12 for r in m)
    pairs = grow([[1, 3], [6, 9]], 16, rng)  # two pairs are records (intervals): they grow in number
    assert len(pairs) == 32 and all(len(r) == 2 for r in pairs)
    assert grow([], 10, rng) == [] and grow(None, 10, rng) is None and grow(2.5, 10, rng) == 2.5


def test_scale_call_grows_collections_and_keeps_the_call_meaningful():
    rng = random.Random(2)
    call = Call(([5, 1, 4, 2], "abc", 3, 99), (("sep", ","),))
    big = scale_call(call, 400, rng)
    assert len(big.args[0]) == 400 and len(big.args[1]) == 300  # the longest reaches the target
    assert big.args[2] == 300  # a k within the length grows in proportion ("fresh" mode)...
    assert big.args[3] == 99 and big.kwargs == (("sep", ","),)  # ...a bigger value and a separator stay
    tiled = scale_call(call, 400, rng, mode="tile")
    assert tiled.args[0] == [5, 1, 4, 2] * 100 and tiled.args[2] == 3  # tiling keeps every scalar
    only_ints = scale_call(Call((20, 7)), 160, rng)  # no collection: integers grow by (160 / 16) ** 2
    assert only_ints.args[0] == 2000 and _is_prime(only_ints.args[1]) and only_ints.args[1] >= 700
    pairs = [Call((["()(", ")"],)), Call(([")", ")"],))]  # always two strings: a fixed-shape pair
    grown = scale_call(pairs[0], 300, rng, fixed={0})
    assert len(grown.args[0]) == 2 and len(grown.args[0][0]) == 300 and set(grown.args[0][0]) <= set("()")
    assert level_calls(pairs, 300, "s")[0].args[0][0] != "()("  # level_calls finds the fixed shape itself
    assert all(len(c.args[0]) == 2 for c in level_calls(pairs, 300, "s"))


def test_tiny_alphabets_widen():
    words = grow(["aa", "a", "aaa"], 1000, random.Random(3))  # unique strings over "a" alone: letters widen
    assert len(set(words)) == 3000 and max(map(len, words)) < 12
    assert len(set(grow("aaaa", 100, random.Random(3)))) > 10


def test_ladder_is_seeded_and_grows():
    calls = [Call(([1, 2, 3],)), Call(([4, 5, 6, 7, 8],)), Call(([9],))]
    one = ladder(calls, (16, 256), "seed")
    assert one == ladder(calls, (16, 256), "seed") != ladder(calls, (16, 256), "other")
    assert [len(level) for level in one] == [4, 4]  # two largest examples x (fresh, tile)
    assert all(len(c.args[0]) == 256 for c in one[1])
    src = one[0][0].source("f")
    assert src.startswith("f([") and eval(src, {"f": lambda x: x}) == one[0][0].args[0]


def test_every_growable_argument_grows_whatever_the_examples_lengths():
    same = [Call(([3, 1, 4, 1, 5], 2)), Call(([2, 7, 1, 8, 2], 3))]  # every example has five items
    assert all(len(c.args[0]) == 1024 for c in level_calls(same, 1024, "s"))
    # Two sorted lists of two items each (median of two arrays): both are data, both grow.
    median = [Call(([1, 3], [2])), Call(([1, 2], [3, 4]))]
    big = level_calls(median, 512, "s")[0]
    assert len(big.args[0]) > 100 and len(big.args[1]) > 100
    # A pair beside a growing collection is a record (an interval, a point): it keeps its length.
    insert = [Call(([[1, 3], [6, 9]], [2, 5]), ())]
    grown = level_calls(insert, 512, "s")
    assert all(len(c.args[1]) == 2 and len(c.args[0]) >= 256 for c in grown)
    assert all(len(r) == 2 for c in grown for r in c.args[0])  # the intervals stay pairs


def test_object_inputs_grow_like_lists():
    # A linked list and a binary tree travel as their literal lists (`head = [1,2,3]`, level order with
    # None): they grow as lists do, and `calls` builds the objects from whatever size they reach.
    from codefavor.evidence import calls

    tree = [Call(([3, 9, 20, None, None, 15, 7],))]
    big = level_calls(tree, 1024, "t")
    assert all(len(c.args[0]) == 1024 for c in big)
    root = calls.build_tree(big[0].args[0])
    assert root is not None and len(calls.tree_values(root)) > 16
    head = calls.build_list(level_calls([Call(([1, 2, 3],))], 256, "l")[0].args[0])
    assert len(calls.list_values(head)) == 256


def test_a_collection_of_stated_fixed_length_grows_its_rows():
    # `grid.length == 2` with rows of n: the two rows grow, the grid stays two rows
    from codefavor.evidence.constraints import read

    facts = read("Constraints:\ngrid.length == 2\nn == grid[r].length\n1 <= n <= 5 * 10^4\n", ["grid"])
    calls = [Call(([[2, 5, 4], [1, 5, 1]],)), Call(([[3, 3, 1], [8, 5, 2]],))]
    for c in level_calls(calls, 256, "seed", facts=facts):
        grid = c.args[0]
        assert len(grid) == 2 and len(grid[0]) == len(grid[1]) >= 200, [len(r) for r in grid]
