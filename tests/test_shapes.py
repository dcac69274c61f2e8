"""Correctness evidence on the shapes of programming-site code, in the sandbox: a table of
(instruction, right code, wrong code), each judged in both orders; the right one must win on the
instruction's examples. Fixtures are written by hand."""

from __future__ import annotations

import pytest

from codefavor.evidence import EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence

TWO_SUM = """Two Sum
Given an array of integers nums and an integer target, return indices of the two numbers such that they add up to target.

Example 1:
Input: nums = [2,7,11,15], target = 9
Output: [0,1]
Explanation: Because nums[0] + nums[1] == 9, we return [0, 1].

Example 2:
Input: nums = [3,2,4], target = 6
Output: [1,2]
"""
TWO_SUM_RIGHT = """class Solution:
    def twoSum(self, numbers: List[int], goal: int) -> List[int]:
        seen = {}
        for i, x in enumerate(numbers):
            if goal - x in seen:
                return [seen[goal - x], i]
            seen[x] = i
"""
TWO_SUM_WRONG = """from typing import List
class Solution:
    def twoSum(self, numbers: List[int], goal: int) -> List[int]:
        for i in range(len(numbers)):
            for j in range(i, len(numbers)):
                if numbers[i] + numbers[j] == goal:
                    return [i, j]
"""

REVERSE = """Reverse Linked List
Given the head of a singly linked list, reverse the list, and return the reversed list.

Input: head = [1,2,3,4,5]
Output: [5,4,3,2,1]

Input: head = []
Output: []
"""
REVERSE_RIGHT = """class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        prev = None
        while head:
            head.next, prev, head = prev, head, head.next
        return prev
"""
REVERSE_WRONG = """class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        prev = None
        while head and head.next:
            head.next, prev, head = prev, head, head.next
        return prev
"""

INVERT = """Invert Binary Tree
Given the root of a binary tree, invert the tree, and return its root.

Input: root = [4,2,7,1,3,6,9]
Output: [4,7,2,9,6,3,1]

Input: root = [2,1,3]
Output: [2,3,1]
"""
INVERT_RIGHT = """class Solution:
    def invertTree(self, root: Optional[TreeNode]) -> Optional[TreeNode]:
        if root:
            root.left, root.right = self.invertTree(root.right), self.invertTree(root.left)
        return root
"""
INVERT_WRONG = """class Solution:
    def invertTree(self, root: Optional[TreeNode]) -> Optional[TreeNode]:
        if root:
            root.left, root.right = root.right, root.left
        return root
"""

CLONE = """Clone Graph
Given a reference of a node in a connected undirected graph, return a deep copy (clone) of the graph.
The graph is given as an adjacency list: adjList[i] lists the neighbours of the node with value i + 1.

Input: adjList = [[2,4],[1,3],[2,4],[1,3]]
Output: [[2,4],[1,3],[2,4],[1,3]]
"""
CLONE_RIGHT = """class Solution:
    def cloneGraph(self, node: Optional['Node']) -> Optional['Node']:
        seen = {}
        def dfs(n):
            if n in seen:
                return seen[n]
            c = Node(n.val)
            seen[n] = c
            c.neighbors = [dfs(m) for m in n.neighbors]
            return c
        return dfs(node) if node else None
"""
CLONE_WRONG = """class Solution:
    def cloneGraph(self, node: Optional['Node']) -> Optional['Node']:
        return Node(node.val, [Node(m.val) for m in node.neighbors]) if node else None
"""

LRU = """LRU Cache
Design a data structure that follows the constraints of a Least Recently Used (LRU) cache.

Example 1:
Input
["LRUCache", "put", "put", "get", "put", "get", "put", "get", "get", "get"]
[[2], [1, 1], [2, 2], [1], [3, 3], [2], [4, 4], [1], [3], [4]]
Output
[null, null, null, 1, null, -1, null, -1, 3, 4]
"""
LRU_RIGHT = """class LRUCache:
    def __init__(self, capacity: int):
        self.cap, self.d = capacity, OrderedDict()
    def get(self, key: int) -> int:
        if key not in self.d:
            return -1
        self.d.move_to_end(key)
        return self.d[key]
    def put(self, key: int, value: int) -> None:
        self.d[key] = value
        self.d.move_to_end(key)
        if len(self.d) > self.cap:
            self.d.popitem(last=False)
"""
LRU_WRONG = """class LRUCache:
    def __init__(self, capacity: int):
        self.cap, self.d = capacity, {}
    def get(self, key: int) -> int:
        return self.d.get(key, -1)
    def put(self, key: int, value: int) -> None:
        self.d[key] = value
        if len(self.d) > self.cap:
            del self.d[next(iter(self.d))]
"""

ROTATE = """Rotate Array
Given an integer array nums, rotate the array to the right by k steps. Do it in-place.

Input: nums = [1,2,3,4,5,6,7], k = 3
Output: [5,6,7,1,2,3,4]

Input: nums = [-1,-100,3,99], k = 2
Output: [3,99,-1,-100]
"""
ROTATE_RIGHT = """class Solution:
    def rotate(self, nums: List[int], k: int) -> None:
        k %= len(nums)
        nums[:] = nums[-k:] + nums[:-k]
"""
ROTATE_WRONG = """class Solution:
    def rotate(self, nums: List[int], k: int) -> None:
        nums = nums[-k:] + nums[:-k]
"""

ANAGRAMS = """Group Anagrams
Given an array of strings strs, group the anagrams together. You can return the answer in any order.

Input: strs = ["eat","tea","tan","ate","nat","bat"]
Output: [["bat"],["nat","tan"],["ate","eat","tea"]]
"""
ANAGRAMS_RIGHT = """class Solution:
    def groupAnagrams(self, strs: List[str]) -> List[List[str]]:
        d = defaultdict(list)
        for s in strs:
            d["".join(sorted(s))].append(s)
        return list(d.values())
"""
ANAGRAMS_WRONG = """class Solution:
    def groupAnagrams(self, strs: List[str]) -> List[List[str]]:
        d = defaultdict(list)
        for s in strs:
            d[len(s)].append(s)
        return list(d.values())
"""

GENERATOR = """Flatten
A generator for the non-list objects of a nested list.

>>> list(flatten([[1, [], [2, 3]], [[4]], 5]))
[1, 2, 3, 4, 5]
"""
GEN_RIGHT = """def flatten(arr):
    for x in arr:
        if isinstance(x, list):
            yield from flatten(x)
        else:
            yield x
"""
GEN_WRONG = """def flatten(arr):
    for x in arr:
        if isinstance(x, list):
            for y in x:
                yield y
        else:
            yield x
"""

NONFINITE = """Write shortest(graph) returning the distance from node 0 to every node (inf when unreachable).
assert shortest({0: [1], 1: [], 2: []}) == [0, 1, float('inf')]
"""
NONFINITE_RIGHT = """def shortest(graph):
    dist = [float('inf')] * len(graph)
    dist[0], todo = 0, [0]
    for u in todo:
        for v in graph[u]:
            if dist[v] == float('inf'):
                dist[v] = dist[u] + 1
                todo.append(v)
    return dist
"""
NONFINITE_WRONG = NONFINITE_RIGHT.replace("float('inf')] * len", "-1] * len").replace("== float('inf')", "== -1")

NONE_DOCTEST = '''def log_event(events, name):
    """Append name to events; returns nothing.
    >>> log_event([], "start")
    >>> log_event(["a"], "b")
    """
'''
NONE_RIGHT = "def log_event(events, name):\n    events.append(name)\n"
NONE_WRONG = "def log_event(events, name):\n    events.append(nam)\n"

TWO_PROSE = "Write is_even(n). is_even(4) should return True, and is_even(3) should return False."
PROSE_RIGHT = "def is_even(n):\n    return n % 2 == 0\n"
PROSE_WRONG = "def is_even(n):\n    return True\n"

UNNAMED = """Additive Number
Given a string containing only digits, return true if it is an additive number or false otherwise.

Input: "112358"
Output: true

Input: "199100199"
Output: true

Input: "1023"
Output: false
"""
UNNAMED_RIGHT = """class Solution:
    def isAdditiveNumber(self, num: str) -> bool:
        n = len(num)
        for i in range(1, n):
            for j in range(i + 1, n):
                a, b = num[:i], num[i:j]
                if (len(a) > 1 and a[0] == "0") or (len(b) > 1 and b[0] == "0"):
                    continue
                s, x, y = a + b, int(a), int(b)
                while len(s) < n:
                    x, y = y, x + y
                    s += str(y)
                if s == num:
                    return True
        return False
"""
UNNAMED_WRONG = "class Solution:\n    def isAdditiveNumber(self, num: str) -> bool:\n        return len(num) > 3\n"

# The page wraps a long input (and output) inside its brackets, one row a line.
WRAPPED = """Common Items
Given a list of integer lists `rows`, each sorted in strictly increasing order, return the sorted
list of the integers found in every row.

Example 1:
Input: rows = [[1,3,4],
               [1,4,7,9]]
Output: [1,4]

Example 2:
Input: rows = [[2,3,6,8],
               [1,2,3,5,6,7,10],
               [2,3,4,9]]
Output: [2,
         3]
"""
WRAPPED_RIGHT = """class Solution:
    def commonItems(self, rows: List[List[int]]) -> List[int]:
        common = set(rows[0])
        for r in rows[1:]:
            common &= set(r)
        return sorted(common)
"""
WRAPPED_WRONG = """class Solution:
    def commonItems(self, rows: List[List[int]]) -> List[int]:
        return sorted(set(rows[0]) & set(rows[1]))
"""

TABLE = [
    ("class Solution, names differ, implicit List", TWO_SUM, TWO_SUM_RIGHT, TWO_SUM_WRONG),
    ("linked list in and out", REVERSE, REVERSE_RIGHT, REVERSE_WRONG),
    ("binary tree in and out", INVERT, INVERT_RIGHT, INVERT_WRONG),
    ("graph by adjacency list", CLONE, CLONE_RIGHT, CLONE_WRONG),
    ("design: operation list", LRU, LRU_RIGHT, LRU_WRONG),
    ("in place, returns None", ROTATE, ROTATE_RIGHT, ROTATE_WRONG),
    ("in any order", ANAGRAMS, ANAGRAMS_RIGHT, ANAGRAMS_WRONG),
    ("generator wrapped in list()", GENERATOR, GEN_RIGHT, GEN_WRONG),
    ("non-finite floats in a container", NONFINITE, NONFINITE_RIGHT, NONFINITE_WRONG),
    ("doctest with empty output", NONE_DOCTEST, NONE_RIGHT, NONE_WRONG),
    ("two prose examples in one sentence", TWO_PROSE, PROSE_RIGHT, PROSE_WRONG),
    ("unnamed input of a class Solution", UNNAMED, UNNAMED_RIGHT, UNNAMED_WRONG),
    ("input and output wrapped inside their brackets", WRAPPED, WRAPPED_RIGHT, WRAPPED_WRONG),
]


@pytest.fixture(scope="module")
def judged(sandbox):
    pairs = [(ins, right, wrong) for _, ins, right, wrong in TABLE] + [(ins, w, r) for _, ins, r, w in TABLE]
    return correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))


@pytest.mark.parametrize("n", range(len(TABLE)), ids=[t[0] for t in TABLE])
def test_the_right_candidate_wins_in_both_orders(judged, n):
    first, swapped = judged[n], judged[n + len(TABLE)]
    assert (first.decision, first.signal) == ("A", "examples"), first.details
    assert (swapped.decision, swapped.signal) == ("B", "examples"), swapped.details
    a = first.details["a"]
    assert a["passed"] == a["total"] > 0  # the right code passes every example the statement gives


def test_accepted_answers_in_another_valid_form_are_not_checked(sandbox):
    ins = "Return any permutation of nums. If there are multiple answers, return any of them.\n\nInput: nums = [1,2]\nOutput: [2,1]\n"
    a = "class Solution:\n    def f(self, nums: List[int]) -> List[int]:\n        return nums[::-1]\n"
    b = "class Solution:\n    def f(self, nums: List[int]) -> List[int]:\n        return nums\n"
    ev = correctness_evidence([(ins, a, b)], EvidenceOptions(sandbox=sandbox))[0]
    assert ev.decision == "undecided" and ev.details["examples"]["checks"] == []


def test_inputs_of_examples_with_other_accepted_answers_still_time_the_code():
    # no check (the answer is not the only one), but the statement's inputs are what efficiency grows
    from codefavor.evidence.examples import extract_checks, timing_plan
    from codefavor.evidence.scaling import Call

    ins = ("Return the pairs in an order where each ends where the next starts. If there are multiple "
           "answers, return any of them.\n\nInput: pairs = [[5,1],[4,5],[11,9],[9,4]]\n"
           "Output: [[11,9],[9,4],[4,5],[5,1]]\n\nInput: pairs = [[1,3],[3,2],[2,1]]\nOutput: [[1,3],[3,2],[2,1]]\n")  # fmt: skip
    code = "class Solution:\n    def arrange(self, pairs: List[List[int]]) -> List[List[int]]:\n        return pairs\n"
    assert extract_checks(ins, functions=True).checks == []
    spec, calls, why = timing_plan(ins, (code, code))
    assert why == "" and spec["names"] == ["pairs"]
    assert calls == [Call(([[5, 1], [4, 5], [11, 9], [9, 4]],), ()), Call(([[1, 3], [3, 2], [2, 1]],), ())]
    # where the statement's examples are checks, they are the calls, as before
    one = ins.replace(" If there are multiple answers, return any of them.", "")
    assert timing_plan(one, (code, code))[1] == calls and extract_checks(one, functions=True).checks


def test_sortedcontainers_is_there_as_on_the_platform(sandbox):
    pytest.importorskip("sortedcontainers")
    ins = "Kth Smallest\n\nInput: nums = [5,1,4], k = 2\nOutput: 4\n\nInput: nums = [3,2], k = 1\nOutput: 2\n"
    right = (
        "class Solution:\n    def kth(self, nums: List[int], k: int) -> int:\n        return SortedList(nums)[k - 1]\n"
    )
    wrong = (
        "class Solution:\n    def kth(self, nums: List[int], k: int) -> int:\n        return SortedList(nums)[-k]\n"
    )
    evs = correctness_evidence([(ins, right, wrong), (ins, wrong, right)], EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs] == [("A", "examples"), ("B", "examples")]
