"""A static reading of what a solution's running time grows with, for the pairs where the clock
answers another question than the one asked.

A programming site's solutions are compared by their time complexity, and the slow-vs-fast pairs
built from them (benchmarks/foreign: leetcode-efficiency) are labelled so. Measured in CPython at
the sizes the statement allows, a C sort or a C slice in a loop often beats the linear pass that
replaces it in Python: on leetcode-efficiency dev, of the 11 pairs a first version of this reading
split (its side right on all 11), the clock sided with the stated complexity on 3, against it on 7. `cheaper` says which of two codes is asymptotically cheaper
by the reading alone:
- the deepest nesting of loops and comprehension clauses, through calls of the code's own
  functions and methods (a helper with a loop, called in a loop, is two deep); a loop over a
  constant range or a literal (`for b in range(20)`) adds none, nor does a while loop that halves
  or doubles what it tests (a binary search, a Fenwick tree's `i -= i & -i`): that is a log factor;
  nor, inside a worklist loop (`while q:`), does a loop over one node's entry (`for v in g[u]`):
  a traversal scans each node's edges once in all;
- factors that cost more than a constant step: a sort of something that is no literal display (in
  a loop always; outside, only where the code is at most one loop deep: two nested loops dominate
  it), a slice in a loop that is not of constant width (`s[i:i + k]`, `s[i:]`), a linear scan in a
  loop (`.index`, `.count`, `.remove`, `.insert`, `.pop(0)`, unless the receiver was built as a set,
  a dict or a sorted container, or the method is the code's own), a log factor in a loop (such a
  while loop, a heap's push or pop, `bisect`, a change of a sorted container), a string grown by
  `+=` in a loop.
It decides only where one side loops no deeper than the other and has a strict subset of its
factors; recursion (no loop depth tells its cost) or code that does not parse decides nothing.
Pure (the standard library only); `efficiency` applies it to platform solutions that ran with the
same outputs, the guess to those the measurement left undecided.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from codefavor.codetools import PARSE_ERRORS, parse_quietly

_LOOPS = (ast.For, ast.While, ast.AsyncFor)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCANS = {"index", "count", "remove", "insert"}


@dataclass(frozen=True)
class Cost:
    """What `read_cost` found in one code."""

    depth: int  # loops nested, through calls of the code's own functions
    factors: frozenset[str]  # "sort", "sort-in-loop", "slice-in-loop", "scan-in-loop", "log-in-loop", "concat-in-loop"
    recursive: bool  # a function of the code calls itself, directly or through others


def loop_depth(code: str) -> int | None:
    """The deepest syntactic nesting of loops and comprehension clauses (None when the code does
    not parse)."""
    try:
        tree = parse_quietly(code)
    except PARSE_ERRORS:
        return None
    best = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, d = stack.pop()
        for ch in ast.iter_child_nodes(node):
            k = d + 1 if isinstance(ch, _LOOPS) else d
            if isinstance(ch, _COMPREHENSIONS):
                k = d + len(ch.generators)
            best = max(best, k)
            stack.append((ch, k))
    return best


def _callee(call: ast.Call) -> str | None:
    """The name a call reaches by: `f(...)`, `self.f(...)`, `obj.f(...)`."""
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _constant_width(s: ast.Slice) -> bool:
    """`x[i:i + 2]`, `x[i - 3:i]`, `x[1:3]`: a slice whose bounds differ by a constant."""
    lo, hi = s.lower, s.upper
    if lo is None or hi is None or s.step is not None:
        return False
    if isinstance(lo, ast.Constant) and isinstance(hi, ast.Constant):
        return True
    for a, b in ((lo, hi), (hi, lo)):
        if isinstance(b, ast.BinOp) and isinstance(b.op, (ast.Add, ast.Sub)) and isinstance(b.right, ast.Constant):
            if ast.dump(b.left) == ast.dump(a):
                return True
    return False


# Containers whose `.remove`, `.count`, `.index` or `.insert` is no scan of a list; the sorted ones
# pay a log factor for each change instead.
_SORTED = {"SortedList", "SortedSet", "SortedDict", "SortedKeyList"}
_HASHED = {"set", "frozenset", "dict", "Counter", "defaultdict", "OrderedDict", *_SORTED}
# Calls that cost a log factor each: a heap's changes, a binary search or sorted insert.
_LOG_CALLS = {"heappush", "heappop", "heappushpop", "heapreplace", "bisect", "bisect_left", "bisect_right",
              "insort", "insort_left", "insort_right"}  # fmt: skip
_SORTED_CHANGES = {"add", "remove", "discard", "pop", "update", "bisect_left", "bisect_right", "index"}


def _name(target: ast.expr) -> str | None:
    """`x` for `x` and for `self.x`."""
    return target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None


def _assigned(tree: ast.AST) -> tuple[set[str], set[str], set[str]]:
    """Names the code assigns a string literal to (what `+=` then grows is a string), names it
    assigns a set, a dict or a sorted container to (what `.remove` then costs is no scan), and
    those of sorted containers (each change costs a log factor)."""
    strings, hashed, ordered = set(), set(), set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = {n for n in map(_name, targets) if n}
        v = node.value
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            strings |= names
        elif isinstance(v, (ast.Set, ast.Dict, ast.SetComp, ast.DictComp)) or (
            isinstance(v, ast.Call) and _callee(v) in _HASHED
        ):
            hashed |= names
            if isinstance(v, ast.Call) and _callee(v) in _SORTED:
                ordered |= names
    return strings, hashed, ordered


class _Reader:
    """One pass over a function's body (nested functions apart): its loop depth, with the depth at
    which it calls each of the code's own functions, and the factors it adds."""

    def __init__(self, own: set[str], strings: set[str], hashed: set[str], ordered: set[str]):
        self.own, self.strings, self.hashed, self.ordered = own, strings, hashed, ordered
        self.depth = 0
        self.calls: list[tuple[str, int]] = []
        self.factors: set[str] = set()
        self.worklist = False  # inside `while q:` (a queue, stack or heap of work)

    def read(self, root: ast.AST) -> None:
        for ch in ast.iter_child_nodes(root):
            self._walk(ch, 0)

    def _walk(self, node: ast.AST, d: int) -> None:
        if isinstance(node, (*_FUNCS, ast.Lambda, ast.ClassDef)):
            return  # read as functions of their own
        self.depth = max(self.depth, d)
        self._note(node, d)
        # What a loop iterates over is evaluated once, outside it: `for c in s[1:]` slices once.
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._walk(node.iter, d)
            # `for b in range(20)` repeats a constant; a worklist's `for v in g[u]` scans each
            # node's edges once over the whole traversal, not once per node popped
            k = d if _bounded(node.iter) or (self.worklist and isinstance(node.iter, ast.Subscript)) else d + 1
            for ch in [node.target, *node.body]:
                self._walk(ch, k)
            for ch in node.orelse:
                self._walk(ch, d)
            self.depth = max(self.depth, k)
        elif isinstance(node, ast.While):
            # A loop that halves or doubles what it tests (binary search, a Fenwick tree's
            # `i += i & -i`, bits shifted out) runs a log of times: a log factor, not a level.
            k = d if _halving(node) else d + 1
            if k == d and d:
                self.factors.add("log-in-loop")
            outer, self.worklist = self.worklist, isinstance(node.test, ast.Name) and k > d
            for ch in [node.test, *node.body]:
                self._walk(ch, k)
            self.worklist = outer
            for ch in node.orelse:
                self._walk(ch, d)
            self.depth = max(self.depth, k)
        elif isinstance(node, _COMPREHENSIONS):
            first, *rest = node.generators
            self._walk(first.iter, d)
            k = d + len(node.generators)
            self.depth = max(self.depth, k)
            inner = [first.target, *first.ifs, *(p for g in rest for p in (g.target, g.iter, *g.ifs))]
            inner += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for ch in inner:
                self._walk(ch, k)
        else:
            for ch in ast.iter_child_nodes(node):
                self._walk(ch, d)

    def _note(self, node: ast.AST, d: int) -> None:
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name in self.own:
                self.calls.append((name, d))
            if (name == "sorted" and isinstance(node.func, ast.Name) and not _display(node.args[:1])) or (
                name == "sort" and isinstance(node.func, ast.Attribute) and not _display([node.func.value])
            ):
                self.factors.add("sort-in-loop" if d else "sort")
            elif (
                d
                and name not in self.own
                and (
                    name in _LOG_CALLS
                    or (
                        isinstance(node.func, ast.Attribute)
                        and name in _SORTED_CHANGES
                        and _name(node.func.value) in self.ordered
                    )
                )
            ):
                self.factors.add("log-in-loop")
            elif (
                d
                and isinstance(node.func, ast.Attribute)
                and name not in self.own
                and _name(node.func.value) not in self.hashed
            ):
                if name in _SCANS or (name == "pop" and _is_zero(node.args[:1])):
                    self.factors.add("scan-in-loop")
        elif d and isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            if not _constant_width(node.slice):
                self.factors.add("slice-in-loop")
        elif d and isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            if isinstance(node.target, ast.Name) and node.target.id in self.strings:
                self.factors.add("concat-in-loop")


def _halving(loop: ast.While) -> bool:
    """Whether a while loop halves or doubles a name its test reads: `x //= 2`, `x >>= 1`,
    `x *= 2`, `x <<= 1`, `x &= x - 1`, `i += i & -i`, `x = x // 2`, or a binary search's bounds
    set from a midpoint (`mid = (lo + hi) // 2` ... `lo = mid + 1`)."""
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}
    halves = (ast.FloorDiv, ast.RShift)
    mids = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Assign) and any(
            isinstance(x, ast.BinOp) and isinstance(x.op, halves) for x in ast.walk(node.value)
        ):
            mids |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(loop):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in tested:
            if isinstance(node.op, (*halves, ast.Mult, ast.LShift, ast.BitAnd)):
                return True
            if (
                isinstance(node.op, (ast.Add, ast.Sub))
                and isinstance(node.value, ast.BinOp)
                and isinstance(node.value.op, ast.BitAnd)
            ):
                return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in tested for t in node.targets):
            names = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if names & mids or any(
                isinstance(x, ast.BinOp) and isinstance(x.op, halves) for x in ast.walk(node.value)
            ):
                return True
    return False


def _display(args: list[ast.expr]) -> bool:
    """A literal list, tuple or set of a few items: sorting it costs a constant."""
    return bool(args) and isinstance(args[0], (ast.List, ast.Tuple, ast.Set))


def _bounded(it: ast.expr) -> bool:
    """What a loop iterates over has a constant length: `range(26)`, a literal display or string."""
    if isinstance(it, (ast.List, ast.Tuple, ast.Set)) or (isinstance(it, ast.Constant) and isinstance(it.value, str)):
        return True
    return (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Name)
        and it.func.id == "range"
        and bool(it.args)
        and all(
            isinstance(a, ast.Constant) or (isinstance(a, ast.UnaryOp) and isinstance(a.operand, ast.Constant))
            for a in it.args
        )
    )


def _is_zero(args: list[ast.expr]) -> bool:
    return bool(args) and isinstance(args[0], ast.Constant) and args[0].value == 0


def read_cost(code: str) -> Cost | None:
    """The code's `Cost` (None when it does not parse)."""
    try:
        tree = parse_quietly(code)
    except PARSE_ERRORS:
        return None
    funcs = [n for n in ast.walk(tree) if isinstance(n, _FUNCS)]
    own = {f.name for f in funcs} - {"__init__"}
    strings, hashed, ordered = _assigned(tree)
    readers: dict[str, list[_Reader]] = {}
    top = _Reader(own, strings, hashed, ordered)
    top.read(tree)
    for f in funcs:
        r = _Reader(own, strings, hashed, ordered)
        r.read(f)
        readers.setdefault(f.name, []).append(r)
    factors = set(top.factors).union(*(r.factors for rs in readers.values() for r in rs))
    # A function's depth through its calls: its own nesting, or a call's depth plus the callee's.
    memo: dict[str, int | None] = {}

    def through(name: str, active: frozenset[str]) -> int | None:
        if name in active:
            return None  # recursion
        if name in memo:
            return memo[name]
        best = 0
        for r in readers.get(name, []):
            best = max(best, r.depth)
            for callee, d in r.calls:
                inner = through(callee, active | {name})
                if inner is None:
                    memo[name] = None
                    return None
                best = max(best, d + inner)
        memo[name] = best
        return best

    depth, recursive = top.depth, False
    for name in readers:
        got = through(name, frozenset())
        if got is None:
            recursive = True
        else:
            depth = max(depth, got)
    for callee, d in top.calls:
        got = through(callee, frozenset())
        if got is not None:
            depth = max(depth, d + got)
    if depth >= 2:
        factors.discard("sort")  # a sort outside the loops is dominated by the loops' n^2
    return Cost(depth, frozenset(factors), recursive)


def cheaper(code_a: str, code_b: str) -> Literal["A", "B"] | None:
    """The side that is asymptotically cheaper by this reading (module docstring), or None."""
    ca, cb = read_cost(code_a), read_cost(code_b)
    if ca is None or cb is None or ca.recursive or cb.recursive:
        return None
    if ca.factors < cb.factors and ca.depth <= cb.depth:
        return "A"
    if cb.factors < ca.factors and cb.depth <= ca.depth:
        return "B"
    return None
