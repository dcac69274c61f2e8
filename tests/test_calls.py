"""The call module (pure): literal forms <-> objects, the entry rule, positional fallback, in-place
and design calls, order-insensitive forms, the platform's implicit names. It runs here exactly as it
runs inside the sandbox (tests/test_shapes.py runs it there)."""

from __future__ import annotations

import functools
import math

import pytest

from codefavor.evidence import calls


def _ns(code: str, platform: bool = True) -> dict:
    ns = calls.install({"__name__": "__candidate__"}, platform=platform)
    exec(compile(code, "<candidate>", "exec"), ns)
    return ns


@pytest.mark.parametrize(
    "values",
    [[], [1], [3, 9, 20, None, None, 15, 7], [1, None, 2, None, 3], [5, 4, 8, 11, None, 13, 4, 7, 2, None, None, 1]],
)
def test_tree_level_order_round_trip(values):
    assert calls.tree_values(calls.build_tree(values)) == values


def test_linked_lists_graphs_and_nary_trees_round_trip():
    assert calls.list_values(calls.build_list([1, 2, 3])) == [1, 2, 3] and calls.build_list([]) is None
    cyc = calls.build_list([3, 2, 0, -4], pos=1)  # the tail links back to node 1: reading stops there
    assert calls.list_values(cyc) == [3, 2, 0, -4]
    adj = [[2, 4], [1, 3], [2, 4], [1, 3]]
    assert calls.graph_values(calls.build_graph(adj)) == adj
    nary = [1, None, 3, 2, 4, None, 5, 6]
    assert calls.nary_values(calls.build_nary(nary)) == nary


def test_to_plain_and_canonical():
    tree = calls.build_tree([2, 1, 3])
    assert calls.to_plain(tree) == [2, 1, 3] and calls.to_plain(tree, want="scalar") == 2
    assert calls.to_plain((1, 2), json=True) == [1, 2] and calls.to_plain((1, 2)) == (1, 2)
    assert calls.to_plain(iter([1, 2]), want="list", lazy=True) == [1, 2]
    gen = (x for x in [1])
    assert calls.to_plain(gen, want="list") is gen  # lazy results are listed only when the statement says so
    assert calls.canonical([[2, 1], [3]], 1) == [[2, 1], [3]] and calls.canonical([[3], [2, 1]], 1) == [[2, 1], [3]]
    assert calls.canonical([["tan", "nat"], ["bat"]], 2) == [["bat"], ["nat", "tan"]]
    assert calls.canonical([None, "a", 2, [1], math.nan], 1) == [None, 2, math.nan, "a", [1]]


def test_entry_is_the_uncalled_public_method_and_arguments_go_by_name_or_position():
    code = (
        "class Solution:\n"
        "    def helper(self, a, b):\n        return a - b\n"
        "    def twoSum(self, numbers, goal):\n"  # the statement says nums, target: by position
        "        return [self.helper(goal, 0), len(numbers)]\n"
    )
    ns = _ns(code)
    assert calls.run(ns, {"args": [[2, 7], 9], "names": ["nums", "target"]}) == [9, 2]
    reordered = "class Solution:\n    def f(self, target, nums):\n        return target * 10 + len(nums)\n"
    assert calls.run(_ns(reordered), {"args": [[2, 7], 9], "names": ["nums", "target"]}) == 92  # by name
    top = "def helper(x):\n    return x\ndef main(xs, k):\n    return helper(sum(xs)) + k\n"
    assert calls.run(_ns(top, platform=False), {"args": [[1, 2], 3], "names": ["xs", "k"]}) == 6
    with pytest.raises(LookupError):
        calls.run(_ns("x = 1"), {"args": [1]})


def test_object_arguments_from_annotations_and_results_back():
    code = (
        "class Solution:\n"
        "    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:\n"
        "        prev = None\n"
        "        while head:\n            head.next, prev, head = prev, head, head.next\n"
        "        return prev\n"
    )
    assert calls.run(_ns(code), {"args": [[1, 2, 3]], "names": ["head"], "want": "list"}) == [3, 2, 1]
    assert calls.run(_ns(code), {"args": [[]], "names": ["head"], "want": "list"}) == []  # None prints []
    lca = (
        "class Solution:\n"
        "    def lowestCommonAncestor(self, root: 'TreeNode', p: 'TreeNode', q: 'TreeNode') -> 'TreeNode':\n"
        "        if root in (None, p, q):\n            return root\n"
        "        l = self.lowestCommonAncestor(root.left, p, q)\n"
        "        r = self.lowestCommonAncestor(root.right, p, q)\n"
        "        return root if l and r else l or r\n"
    )
    spec = {"args": [[3, 5, 1, 6, 2, 0, 8, None, None, 7, 4], 5, 4], "names": ["root", "p", "q"], "want": "scalar"}
    assert calls.run(_ns(lca), spec) == 5  # p and q are the nodes holding 5 and 4
    merge_k = "class Solution:\n    def f(self, lists: List[Optional[ListNode]]) -> int:\n        return len(lists)\n"
    assert calls.run(_ns(merge_k), {"args": [[[1, 2], [], [3]]], "names": ["lists"]}) == 3


def test_in_place_design_and_implicit_names():
    sort_colors = "class Solution:\n    def sortColors(self, nums: List[int]) -> None:\n        nums.sort()\n"
    assert calls.run(_ns(sort_colors), {"args": [[2, 0, 1]], "names": ["nums"], "want": "list"}) == [0, 1, 2]
    stack = (
        "class MinStack:\n    def __init__(self):\n        self.s = []\n"
        "    def push(self, x):\n        self.s.append(x)\n"
        "    def getMin(self):\n        return min(self.s)\n"
    )
    spec = {"ops": ["MinStack", "push", "push", "getMin"], "args": [[], [3], [1], []], "json": True}
    assert calls.run(_ns(stack), spec) == [None, None, None, 1]
    names = calls.implicit_names()
    assert {"List", "Optional", "deque", "heappush", "bisect_left", "inf", "cache", "ListNode", "TreeNode"} <= set(
        names
    )
    assert "pow" not in names  # the builtin keeps its three-argument form
    assert "List" not in calls.install({}, platform=False)


class _Shapes:
    def method(self, a, b=1, *, c): ...

    def varargs(self, a, *rest): ...

    @staticmethod
    def static(x, y): ...

    @classmethod
    def klass(cls, x): ...


def _pos_only(a, /, b, c=2, *, d=3, **k): ...


@functools.cache
def _cached(n, m): ...


@pytest.mark.parametrize(
    "fn",
    [
        _Shapes().method, _Shapes.method, _Shapes().varargs, _Shapes.static, _Shapes.klass, _Shapes().klass,
        _pos_only, _cached, lambda x, y=1: 0, len, _Shapes, functools.partial(_pos_only, 1),
    ],
)  # fmt: skip
def test_params_read_from_code_match_inspect(fn):
    # The code-object fast path must say what inspect says, bound methods and wrappers included.
    assert calls._params(fn) == calls._signature_params(fn)


def test_what_the_platform_accepts_of_an_accepted_solution():
    # Each of these is accepted code on the platform (DebugBench's accepted solutions do all four).
    cached = (
        "class Solution:\n    @cache\n    def isScramble(self, s1: str, s2: str) -> bool:\n"
        "        return sorted(s1) == sorted(s2)\n"
    )
    assert calls.run(_ns(cached), {"args": ["great", "rgeat"], "names": ["s1", "s2"], "json": True}) is True
    doubles = "class Solution:\n    def f(self, dist: List[float], hour: float) -> bool:\n        return hour.is_integer() and dist[0].is_integer()\n"
    assert calls.run(_ns(doubles), {"args": [[1, 3], 6], "names": ["dist", "hour"], "json": True}) is True
    lazy = (
        "class Solution:\n    def f(self, deck: List[int]) -> List[int]:\n        return (x for x in sorted(deck))\n"
    )
    spec = {"args": [[3, 1, 2]], "names": ["deck"], "json": True, "want": "list"}
    assert calls.run(_ns(lazy), spec) == [1, 2, 3]
    empty = "class Solution:\n    def f(self, root: Optional[TreeNode]) -> List[List[int]]:\n        if not root: return None\n"
    assert calls.run(_ns(empty), {"args": [[]], "names": ["root"], "json": True, "want": "list"}) == []
    # off the platform a value is what it is
    assert calls.run(_ns(empty, platform=False), {"args": [[]], "names": ["root"], "want": "list"}) is None
    assert calls.run(_ns(lazy), {**spec, "json": False}) != [1, 2, 3]
