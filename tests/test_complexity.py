"""The static reading of asymptotic cost (`evidence.complexity`) and where efficiency applies it."""

from __future__ import annotations

import pytest

from codefavor.evidence import Evidence
from codefavor.evidence.complexity import cheaper, loop_depth, read_cost
from codefavor.evidence.efficiency import by_complexity
from codefavor.perturb import perturb


def _solution(body: str, sig: str = "f(self, xs, k)") -> str:
    lines = "\n".join("        " + ln for ln in body.strip("\n").splitlines())
    return f"class Solution:\n    def {sig}:\n{lines}\n"


COUNTING = _solution("cnt = [0] * (len(xs) + 1)\nfor x in xs:\n    cnt[min(x, len(xs))] += 1\nreturn cnt")
SORTING = _solution(
    "xs.sort(reverse=True)\nfor i, x in enumerate(xs):\n    if x < i:\n        return i\nreturn len(xs)"
)
SLICING = _solution("return len({xs[i:i + k] for i in range(len(xs) - k + 1)})")
ROLLING = _solution(
    "seen, h = set(), 0\nfor i, c in enumerate(xs):\n    h = (h * 2 + int(c)) % (1 << k)\n    seen.add(h)\nreturn len(seen)"
)

# (cheaper one, dearer one): the first is read as asymptotically cheaper, in either order
CHEAPER = [
    (COUNTING, SORTING),  # a linear pass against a sort
    (ROLLING, SLICING),  # a rolling value against a slice of width k in a loop
    (_solution("return max(xs)"), _solution("return sorted(xs)[-1]")),  # no loop on either side: the sort
    (_solution("q = collections.deque(xs)\nwhile q:\n    q.popleft()\nreturn 0"),
     _solution("while xs:\n    xs.pop(0)\nreturn 0")),  # pop(0) scans the list
    # two loops deep on both sides, one slicing in them (n^3 against n^2)
    (_solution("seen = set()\nfor i in range(len(xs)):\n    for j in range(i, len(xs)):\n        seen.add(hash((i, j)))\nreturn len(seen)"),
     _solution("return len({xs[i:j] for i in range(len(xs)) for j in range(i + 1, len(xs) + 1)})")),
    # two pointers against a binary search per element (a log factor in the loop)
    (_solution("i, j = 0, len(xs) - 1\nwhile i < j:\n    if xs[i] + xs[j] == k:\n        return [i, j]\n    if xs[i] + xs[j] < k:\n        i += 1\n    else:\n        j -= 1\nreturn []"),
     _solution("for i, x in enumerate(xs):\n    j = bisect_left(xs, k - x, i + 1)\n    if j < len(xs) and xs[j] == k - x:\n        return [i, j]\nreturn []")),
    (_solution("for x in xs:\n    k += x\nreturn k"),
     _solution("for x in xs:\n    lo, hi = 0, len(xs)\n    while lo < hi:\n        mid = (lo + hi) // 2\n        lo = mid + 1\n    k += lo\nreturn k")),
    (_solution("return ''.join(str(x) for x in xs)"),
     _solution("s = ''\nfor x in xs:\n    s += str(x)\nreturn s")),  # a string grown in a loop
]  # fmt: skip

# pairs the reading does not split
NEITHER = [
    (COUNTING, COUNTING),
    # a slice of constant width, or what a loop iterates over, is no factor
    (_solution("return sum(1 for i in range(len(xs)) if xs[i:i + 2] == 'ab')"),
     _solution("return sum(1 for i in range(len(xs) - 1) if xs[i] + xs[i + 1] == 'ab')")),
    (_solution("for x in xs[1:]:\n    k += x\nreturn k"), _solution("for x in xs:\n    k += x\nreturn k - xs[0]")),
    # a sort of a literal display costs a constant
    (_solution("return sorted([xs[0], xs[1], k])[1]"), _solution("return max(min(xs[0], xs[1]), min(max(xs[0], xs[1]), k))")),
    # each side adds a factor the other lacks
    (SORTING, SLICING),
    # the cheaper-looking side is two loops deep (a helper with a loop, called in a loop)
    (_solution("def g(y):\n    return sum(1 for z in xs if z == y)\nreturn [g(x) for x in xs]"), SORTING),
    # the side without the sort loops deeper than the one with it (a C sort against a Python loop)
    (_solution("best = 0\nfor x in xs:\n    best = max(best, x)\nreturn best"), _solution("return sorted(xs)[-1]")),
    # a sort outside two nested loops is dominated by them
    (_solution("xs.sort()\nreturn sum(1 for x in xs for y in xs if x < y)"),
     _solution("return sum(1 for x in xs for y in xs if x < y)")),
    # removing from a set, or calling the code's own `insert`, is no scan of a list
    (_solution("seen = set(xs)\nfor x in xs:\n    seen.remove(x)\nreturn seen"),
     _solution("seen = set(xs)\nfor x in xs:\n    seen.discard(x)\nreturn seen")),
    ("class T:\n    def insert(self, x):\n        self.x = x\n\n" + _solution("t = T()\nfor x in xs:\n    t.insert(x)\nreturn t"),
     _solution("t = {}\nfor x in xs:\n    t[0] = x\nreturn t")),
    # recursion: no loop depth tells its cost
    (_solution("def go(i):\n    return 0 if i == len(xs) else xs[i] + go(i + 1)\nreturn go(0)"), SORTING),
    ("class Solution:\n    def f(self, xs:\n", SORTING),  # does not parse
]  # fmt: skip


@pytest.mark.parametrize("good, bad", CHEAPER)
def test_the_cheaper_side_in_both_orders(good, bad):
    assert cheaper(good, bad) == "A"
    assert cheaper(bad, good) == "B"


@pytest.mark.parametrize("a, b", NEITHER)
def test_pairs_it_does_not_split(a, b):
    assert cheaper(a, b) is None
    assert cheaper(b, a) is None


def test_a_halving_loop_is_a_log_factor_not_a_level():
    fenwick = "def f(xs):\n    t = 0\n    for i in range(len(xs)):\n        while i > 0:\n            t += xs[i]\n            i -= i & -i\n    return t\n"
    cost = read_cost(fenwick)
    assert cost.depth == 1 and "log-in-loop" in cost.factors
    alone = read_cost("def f(n):\n    k = 0\n    while n:\n        n >>= 1\n        k += 1\n    return k\n")
    assert alone.depth == 0 and not alone.factors  # a log loop on its own costs less than any pass
    counted = read_cost("def f(n):\n    k = 0\n    while k < n:\n        k += 1\n    return k\n")
    assert counted.depth == 1


def test_a_traversal_scans_each_nodes_edges_once():
    bfs = (
        "def f(g, s):\n    q, seen = deque([s]), {s}\n    while q:\n        u = q.popleft()\n"
        "        for v in g[u]:\n            if v not in seen:\n                seen.add(v)\n                q.append(v)\n"
        "    return seen\n"
    )
    assert read_cost(bfs).depth == 1
    assert read_cost(bfs.replace("for v in g[u]", "for v in range(len(g))")).depth == 2  # every node again


def test_amortised_inner_loops_are_one_pass():
    pointer = ("def f(xs, ws):\n    i = t = 0\n    for w in ws:\n        while i < len(xs) and xs[i] <= w:\n"
               "            i += 1\n        t += i\n    return t\n")  # fmt: skip
    stack = ("def f(xs):\n    st = []\n    for x in xs:\n        while st and st[-1] < x:\n            st.pop()\n"
             "        st.append(x)\n    return st\n")  # fmt: skip
    assert read_cost(pointer).depth == 1 and read_cost(stack).depth == 1
    # a pointer set afresh for every item walks again each time
    reset = pointer.replace("    for w in ws:\n", "    for w in ws:\n        i = 0\n")
    assert read_cost(reset).depth == 2


def test_a_loop_of_log_steps_costs_what_a_sort_costs():
    two_pointers = _solution("xs.sort()\ni, j = 0, len(xs) - 1\nwhile i < j:\n    if xs[i] + xs[j] > k:\n"
                             "        j -= 1\n    else:\n        i += 1\nreturn i")  # fmt: skip
    searches = _solution("xs.sort()\nfor x in xs:\n    k += bisect_left(xs, k - x)\nreturn k")
    assert cheaper(two_pointers, searches) is None  # n log n both


def test_a_loop_of_constant_length_adds_no_depth():
    bits = "def f(xs):\n    t = 0\n    for x in xs:\n        for b in range(7, -1, -1):\n            t += x >> b & 1\n    return t\n"
    assert read_cost(bits).depth == 1
    assert read_cost(bits.replace("range(7, -1, -1)", "range(x)")).depth == 2


def test_code_nested_too_deep_to_read_decides_nothing_and_never_raises():
    deep = "x = " + "+".join(["1"] * 1000) + "\n"
    chain = "".join(f"def f{i}():\n    return f{i + 1}()\n" for i in range(1000)) + "def f1000():\n    return 0\n"
    for code in (deep, chain):
        assert cheaper(code, SORTING) is None and cheaper(SORTING, code) is None


# Reviewed cases: each pair is (what the reading must not call the cheaper one, the other).
NOT_CHEAPER = [
    # a lambda's body runs once per item: a scan in a key function is a scan in a loop
    (_solution("return max(xs, key=lambda x: xs.count(x))"), SORTING),
    # what a helper does once happens once per call: called in a loop, its insert(0, ...) is a scan
    ("class Solution:\n    def put(self, res, x):\n        res.insert(0, x)\n\n    def f(self, xs, k):\n"
     "        res = []\n        for x in xs:\n            self.put(res, x)\n        return res\n", SORTING),
    # a set in one method is no set in another: `seen.remove` scans the list `seen` here
    ("class Solution:\n    def g(self):\n        seen = set()\n        return seen\n\n    def f(self, xs, k):\n"
     "        seen = list(xs)\n        for x in xs:\n            seen.remove(x)\n        return seen\n", SORTING),
    # a class built in a loop runs its __init__'s loop each time
    ("class Box:\n    def __init__(self, xs):\n        self.t = [x for x in xs]\n\n" + _solution("return [Box(xs) for x in xs]"),
     SORTING),
]  # fmt: skip


@pytest.mark.parametrize("dear, other", NOT_CHEAPER)
def test_reviewed_costs_are_not_read_as_cheaper(dear, other):
    assert cheaper(dear, other) != "A"
    assert cheaper(other, dear) != "B"


def test_a_carry_is_no_halving():
    # adding digits with a carry (`carry = d // 10`) walks the string once: a level, not a log factor
    code = _solution("out = 0\nfor s in xs:\n    i, carry = len(s) - 1, 0\n    while i >= 0 or carry:\n"
                     "        d = (int(s[i]) if i >= 0 else 0) + carry\n        carry = d // 10\n        i -= 1\n"
                     "        out += d\nreturn out")  # fmt: skip
    cost = read_cost(code)
    assert cost.depth == 2 and "log-in-loop" not in cost.factors


def test_names_are_read_per_function():
    # `ans = ''` in another method does not make this method's `ans += x` a string grown in a loop
    code = ("class Solution:\n    def g(self):\n        ans = ''\n        return ans\n\n    def f(self, xs, k):\n"
            "        ans = 0\n        for x in xs:\n            ans += x\n        return ans\n")  # fmt: skip
    assert "concat-in-loop" not in read_cost(code).factors
    assert cheaper(code, SORTING) == "A"


@pytest.mark.parametrize("piece", ["st[-2:] == ['a', 'b']", "xs[i - 1:i + 1] == xs[:2]", "xs[:3] == xs[1:4]"])
def test_slices_of_constant_width(piece):
    code = f"def f(xs, st):\n    n = 0\n    for i in range(1, len(xs)):\n        n += {piece}\n    return n\n"
    assert "slice-in-loop" not in read_cost(code).factors


def test_unpacked_displays_have_no_constant_length():
    assert read_cost("def f(xs, ys):\n    return [x for x in [*xs, *ys]]\n").depth == 1
    assert "sort" in read_cost("def f(xs, k):\n    return sorted([*xs, k])\n").factors


def test_depth_goes_through_the_codes_own_calls():
    helper = "def g(y):\n    return [z for z in range(y)]\n\ndef f(xs):\n    return [g(x) for x in xs]\n"
    assert loop_depth(helper) == 1  # syntactically
    cost = read_cost(helper)
    assert cost is not None and cost.depth == 2 and not cost.recursive
    mutual = "def a(n):\n    return b(n - 1) if n else 0\n\ndef b(n):\n    return a(n)\n"
    assert read_cost(mutual).recursive


@pytest.mark.parametrize("good, bad", CHEAPER[:2])
def test_renaming_recommenting_and_reordering_change_nothing(good, bad):
    kinds = ("rename", "comments", "reorder")
    assert cheaper(perturb(good, kinds, seed=3), perturb(bad, kinds, seed=4)) == "A"


def _timed(decision: str, reason: str) -> Evidence:
    return Evidence(decision, "timing", 0.8, {"efficiency": {"reason": reason, "ratio": 1.4}})


def test_the_site_measure_overrides_a_clock_that_agreed_on_outputs():
    # the clock found the C sort faster at the sizes measured; the site's measure is complexity
    ev = by_complexity(_timed("B", "cpu-time"), COUNTING, SORTING)
    assert (ev.decision, ev.signal) == ("A", "complexity")
    assert ev.details["efficiency"]["reason"] == "cpu-time" and ev.details["complexity"]["clock"] == "B"
    assert by_complexity(_timed("undecided", "no-gap"), SORTING, COUNTING).decision == "B"


@pytest.mark.parametrize("reason", ["timeout", "disagree", "no-entry"])
def test_a_timeout_or_a_disagreement_still_decides(reason):
    ev = _timed("B", reason)
    assert by_complexity(ev, COUNTING, SORTING) is ev


def test_plain_functions_keep_the_clock():
    plain = [c.replace("class Solution:\n    def f(self, xs, k):", "def f(xs, k):").replace("\n        ", "\n    ")
             for c in (COUNTING, SORTING)]  # fmt: skip
    assert cheaper(*plain) == "A"  # the reading itself holds ...
    ev = _timed("B", "cpu-time")
    assert by_complexity(ev, *plain) is ev  # ... but only a platform pair is judged by it
