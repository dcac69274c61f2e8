"""A static reading of what a solution's running time grows with, for the pairs where the clock
answers another question than the one asked.

A programming site's solutions are compared by their time complexity, and the slow-vs-fast pairs
built from them (benchmarks/foreign: leetcode-efficiency) are labelled so. Measured in CPython at
the sizes the statement allows, a C sort or a C slice in a loop often beats the linear pass that
replaces it in Python: on leetcode-efficiency dev, of the 11 pairs a first version of this reading
split (its side right on all 11), the clock sided with the stated complexity on 3, against it on
7. `cheaper` says which of two codes is asymptotically cheaper by the reading alone:
- the deepest nesting of loops and comprehension clauses, through calls of the code's own
  functions and methods (`f(...)`, `self.f(...)`, a method of an instance of the code's own class,
  a class built: its `__init__`): a helper with a loop, called in a loop, is two deep; a loop over a
  constant range or a literal (`for b in range(20)`) adds none, nor does a while loop that halves
  or doubles what it tests (a binary search, a Fenwick tree's `i -= i & -i`): that is a log factor;
  nor, inside a worklist loop (`while q:`), does a loop over one node's entry (`for v in g[u]`):
  a traversal scans each node's edges once in all; nor an inner while loop that moves, one step a
  turn, a pointer or a stack the outer loop never resets (two pointers, a monotonic stack);
- factors that cost more than a constant step: a sort of something that is no literal display (in
  a loop always; outside, only where the code is at most one loop deep: two nested loops dominate
  it), a slice in a loop that is not of constant width (`s[i:i + k]`, `s[i:]`), a linear scan in a
  loop (`.index`, `.count`, `.remove`, `.insert`, `.pop(0)`, unless the receiver was built as a set,
  a dict or a sorted container, or the method is the code's own), a log factor in a loop (such a
  while loop, a heap's push or pop, `bisect`, a change of a sorted container; in code one loop
  deep that also sorts, it costs what the sort costs), a string grown by
  `+=` in a loop; what a helper does once counts as in a loop where the helper is called in one,
  and so does the body of a lambda (a key or a callback runs once per item). Names are read per
  function (a set in one method is no set in another), attributes (`self.seen`) across the code.
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
# Containers whose `.remove`, `.count`, `.index` or `.insert` is no scan of a list; the sorted ones
# pay a log factor for each change instead.
_SORTED = {"SortedList", "SortedSet", "SortedDict", "SortedKeyList"}
_HASHED = {"set", "frozenset", "dict", "Counter", "defaultdict", "OrderedDict", *_SORTED}
# Calls that cost a log factor each: a heap's changes, a binary search or sorted insert.
_LOG_CALLS = {"heappush", "heappop", "heappushpop", "heapreplace", "bisect", "bisect_left", "bisect_right",
              "insort", "insort_left", "insort_right"}  # fmt: skip
_SORTED_CHANGES = {"add", "remove", "discard", "pop", "update", "bisect_left", "bisect_right", "index"}
_HALVES = (ast.FloorDiv, ast.RShift)

Key = tuple[str | None, str]  # (the class a method belongs to, or None; the function's name)


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


def _name(target: ast.expr) -> str | None:
    """`x` for `x` and for `self.x`."""
    return target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else None


def _bound(e: ast.expr | None, end: bool) -> tuple[str | None, object]:
    """A slice bound as (what it counts from, a constant offset): `i + 2` -> ("i", 2), `3` -> (None,
    3), omitted -> the start (None, 0) or the end ("<end>", 0)."""
    if e is None:
        return ("<end>", 0) if end else (None, 0)
    if isinstance(e, ast.Constant):
        return None, e.value
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) and isinstance(e.operand, ast.Constant):
        return "<end>", e.operand.value  # `x[-2:]` counts from the end
    if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Add, ast.Sub)) and isinstance(e.right, ast.Constant):
        return ast.dump(e.left), e.right.value
    return ast.dump(e), 0


def _constant_width(s: ast.Slice) -> bool:
    """`x[i:i + 2]`, `x[i - 1:i + 1]`, `x[1:3]`, `x[:3]`, `x[-2:]`: bounds a constant apart."""
    if s.step is not None:
        return False
    return _bound(s.lower, False)[0] == _bound(s.upper, True)[0]


def _assigned(nodes: list[ast.AST], attributes: bool) -> tuple[set[str], set[str], set[str]]:
    """Names (`attributes`: attribute names, `self.x`) that `nodes` assign a string literal to (what
    `+=` then grows is a string), a set, a dict or a sorted container to (what `.remove` then costs
    is no scan), and those of sorted containers (each change costs a log factor)."""
    strings: set[str] = set()
    hashed: set[str] = set()
    ordered: set[str] = set()
    for root in nodes:
        for node in ast.walk(root):
            if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            kind = ast.Attribute if attributes else ast.Name
            names = {n for t in targets if isinstance(t, kind) and (n := _name(t))}
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


@dataclass
class _Scope:
    """What one function (or the module's own statements) is read against."""

    own: set[str]  # every function and method name of the code: no scan, whatever the receiver
    keys: set[Key]  # the code's functions, by (class, name)
    owner: str | None  # the class whose `self` this function's code sees
    instances: dict[str, str]  # name -> the code's own class it was built from
    strings: set[str]
    hashed: set[str]
    ordered: set[str]


class _Reader:
    """One pass over a function's body (nested functions apart): its loop depth, the depth at which
    it calls each of the code's own functions, the factors it adds, and those it would add in a
    loop (`pending`: what it does once, which counts where it is called in a loop)."""

    def __init__(self, scope: _Scope):
        self.scope = scope
        self.depth = 0
        self.calls: list[tuple[Key, int]] = []
        self.factors: set[str] = set()
        self.pending: set[str] = set()
        self.worklist = False  # inside `while q:` (a queue, stack or heap of work)
        self.loops: list[ast.AST] = []  # the loops around the node being read, innermost last

    def read(self, root: ast.AST) -> None:
        for ch in ast.iter_child_nodes(root):
            self._walk(ch, 0)

    def _walk(self, node: ast.AST, d: int, counted: bool = True) -> None:
        if isinstance(node, (*_FUNCS, ast.ClassDef)):
            return  # read as functions of their own
        if isinstance(node, ast.Lambda):
            # a key or a callback runs once per item: its body counts as in a loop, without a level
            self._walk(node.body, d + 1, counted=False)
            return
        if counted:
            self.depth = max(self.depth, d)
        self._note(node, d)
        # What a loop iterates over is evaluated once, outside it: `for c in s[1:]` slices once.
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._walk(node.iter, d, counted)
            # `for b in range(20)` repeats a constant; a worklist's `for v in g[u]` scans each
            # node's edges once over the whole traversal, not once per node popped
            edges = isinstance(node.iter, ast.Subscript) and not isinstance(node.iter.slice, ast.Slice)
            k = d if _bounded(node.iter) or (self.worklist and edges) else d + 1
            self.loops.append(node)
            for ch in [node.target, *node.body]:
                self._walk(ch, k, counted)
            self.loops.pop()
            for ch in node.orelse:
                self._walk(ch, d, counted)
        elif isinstance(node, ast.While):
            # A loop that halves or doubles what it tests (binary search, a Fenwick tree's
            # `i += i & -i`, bits shifted out) runs a log of times: a log factor, not a level.
            k = d if _halving(node) else d + 1
            if k == d:
                (self.factors if d else self.pending).add("log-in-loop")
            elif self.loops and _amortised(node, self.loops[-1]):
                k = d  # two pointers, a monotonic stack: all its turns together are one pass
            outer, self.worklist = self.worklist, isinstance(node.test, ast.Name) and k > d
            self.loops.append(node)
            for ch in [node.test, *node.body]:
                self._walk(ch, k, counted)
            self.loops.pop()
            self.worklist = outer
            for ch in node.orelse:
                self._walk(ch, d, counted)
        elif isinstance(node, _COMPREHENSIONS):
            first, *rest = node.generators
            self._walk(first.iter, d, counted)
            k = d + len(node.generators)
            inner = [first.target, *first.ifs, *(p for g in rest for p in (g.target, g.iter, *g.ifs))]
            inner += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for ch in inner:
                self._walk(ch, k, counted)
        else:
            for ch in ast.iter_child_nodes(node):
                self._walk(ch, d, counted)

    def _factor(self, name: str, d: int) -> None:
        (self.factors if d else self.pending).add(name)

    def _link(self, call: ast.Call) -> Key | None:
        """The code's own function a call reaches, if it is one: `f(...)`, `self.f(...)`, a method
        of an instance of the code's own class, or a class built (its `__init__`)."""
        sc, f = self.scope, call.func
        if isinstance(f, ast.Name):
            for key in ((None, f.id), (f.id, "__init__")):
                if key in sc.keys:
                    return key
            return None
        if not isinstance(f, ast.Attribute):
            return None
        base = f.value
        cls = sc.owner if isinstance(base, ast.Name) and base.id in ("self", "cls") else None
        if cls is None and (n := _name(base)) in sc.instances:
            cls = sc.instances[n]
        return (cls, f.attr) if cls is not None and (cls, f.attr) in sc.keys else None

    def _note(self, node: ast.AST, d: int) -> None:
        sc = self.scope
        if isinstance(node, ast.Call):
            name = _callee(node)
            if (key := self._link(node)) is not None:
                self.calls.append((key, d))
            is_sort = (name == "sorted" and isinstance(node.func, ast.Name) and not _display(node.args[:1])) or (
                name == "sort" and isinstance(node.func, ast.Attribute) and not _display([node.func.value])
            )
            if is_sort:
                self.factors.add("sort-in-loop" if d else "sort")
                self.pending.add("sort-in-loop")
            elif name not in sc.own and (
                name in _LOG_CALLS
                or (
                    isinstance(node.func, ast.Attribute)
                    and name in _SORTED_CHANGES
                    and _name(node.func.value) in sc.ordered
                )
            ):
                self._factor("log-in-loop", d)
            elif (
                isinstance(node.func, ast.Attribute) and name not in sc.own and _name(node.func.value) not in sc.hashed
            ):
                if name in _SCANS or (name == "pop" and _is_zero(node.args[:1])):
                    self._factor("scan-in-loop", d)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            if not _constant_width(node.slice):
                self._factor("slice-in-loop", d)
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
            if isinstance(node.target, ast.Name) and node.target.id in sc.strings:
                self._factor("concat-in-loop", d)


def _halving(loop: ast.While) -> bool:
    """Whether a while loop halves or doubles a name its test reads: `x //= 2`, `x >>= 1`,
    `x *= 2`, `x <<= 1`, `x &= x - 1`, `i += i & -i`, `x = x // 2`, or a binary search's bounds
    set from their midpoint (`mid = (lo + hi) // 2` ... `lo = mid + 1`)."""
    tested = {n.id for n in ast.walk(loop.test) if isinstance(n, ast.Name)}

    def halves_of(value: ast.expr, names: set[str]) -> bool:
        """`value` holds a `//` or `>>` of an expression that reads one of `names`."""
        return any(
            isinstance(x, ast.BinOp)
            and isinstance(x.op, _HALVES)
            and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(x.left))
            for x in ast.walk(value)
        )

    mids = set()
    for node in ast.walk(loop):
        if isinstance(node, ast.Assign) and halves_of(node.value, tested):
            mids |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(loop):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id in tested:
            if isinstance(node.op, (*_HALVES, ast.Mult, ast.LShift, ast.BitAnd)):
                return True
            if (
                isinstance(node.op, (ast.Add, ast.Sub))
                and isinstance(node.value, ast.BinOp)
                and isinstance(node.value.op, ast.BitAnd)
            ):
                return True
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if not (isinstance(t, ast.Name) and t.id in tested):
                    continue
                reads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                if (reads & (mids - {t.id})) or halves_of(node.value, {t.id}):
                    return True
    return False


def _amortised(inner: ast.While, outer: ast.AST) -> bool:
    """Whether a while loop inside another loop moves on state the outer loop never resets, one
    step a turn: a pointer that only grows or shrinks by a constant (`while i < n and ...: i += 1`)
    or a stack or queue it only pops (`while st and st[-1] < x: st.pop()`). Over the whole outer
    loop it then takes as many turns as there are items, not that many per item."""
    tested = {n.id for n in ast.walk(inner.test) if isinstance(n, ast.Name)}
    stepped: set[str] = set()
    for node in ast.walk(inner):
        if (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(node.op, (ast.Add, ast.Sub))
            and isinstance(node.value, ast.Constant)
        ):
            stepped.add(node.target.id)
        elif isinstance(node, ast.Call) and _callee(node) in ("pop", "popleft", "heappop"):
            f = node.func
            base = f.value if isinstance(f, ast.Attribute) else node.args[0] if node.args else None
            if isinstance(base, ast.Name) and not (
                isinstance(f, ast.Attribute) and node.args and not _is_zero(node.args)
            ):
                stepped.add(base.id)
    moving = tested & stepped
    if not moving:
        return False
    # the outer loop must not set what the inner one moves (a fresh pointer or stack per item)
    inner_nodes = {id(n) for n in ast.walk(inner)}
    for node in ast.walk(outer):
        if id(node) in inner_nodes or node is outer:
            continue
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For))
            else []
        )
        for t in targets:
            if any(isinstance(n, ast.Name) and n.id in moving for n in ast.walk(t)):
                return False
    if isinstance(outer, (ast.For, ast.AsyncFor)) and any(
        isinstance(n, ast.Name) and n.id in moving for n in ast.walk(outer.target)
    ):
        return False
    return True


def _display(args: list[ast.expr]) -> bool:
    """A literal list, tuple or set of a few items (none unpacked): sorting it costs a constant."""
    return (
        bool(args)
        and isinstance(args[0], (ast.List, ast.Tuple, ast.Set))
        and not any(isinstance(e, ast.Starred) for e in args[0].elts)
    )


def _bounded(it: ast.expr) -> bool:
    """What a loop iterates over has a constant length: `range(26)`, a literal display or string."""
    if _display([it]) or (isinstance(it, ast.Constant) and isinstance(it.value, str)):
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


def _functions(tree: ast.Module) -> list[tuple[Key, str | None, ast.AST]]:
    """Every function of the code: (its key, the class its `self` is, the node)."""
    out: list[tuple[Key, str | None, ast.AST]] = []
    stack: list[tuple[ast.AST, str | None, bool]] = [(tree, None, False)]
    while stack:
        node, owner, in_class = stack.pop()
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, ast.ClassDef):
                stack.append((ch, ch.name, True))
            elif isinstance(ch, _FUNCS):
                out.append(((owner if in_class else None, ch.name), owner, ch))
                stack.append((ch, owner, False))
            else:
                stack.append((ch, owner, in_class))
    return out


def read_cost(code: str) -> Cost | None:
    """The code's `Cost` (None when it does not parse, or nests too deep to read)."""
    try:
        return _read_cost(parse_quietly(code))
    except (*PARSE_ERRORS, RecursionError):
        return None


def _read_cost(tree: ast.Module) -> Cost:
    funcs = _functions(tree)
    keys = {key for key, _, _ in funcs}
    own = {key[1] for key in keys}
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    instances = {
        n: _callee(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _callee(node.value) in classes
        for t in node.targets
        if (n := _name(t))
    }
    attrs = _assigned([tree], attributes=True)
    module = _assigned([s for s in tree.body if not isinstance(s, (*_FUNCS, ast.ClassDef))], attributes=False)

    def scope(owner: str | None, node: ast.AST | None) -> _Scope:
        local = _assigned([node], attributes=False) if node is not None else (set(), set(), set())
        s, h, o = (a | b | c for a, b, c in zip(attrs, module, local, strict=True))
        return _Scope(own, keys, owner, instances, s, h, o)  # type: ignore[arg-type]

    top = _Reader(scope(None, None))
    top.read(tree)
    readers: dict[Key, list[_Reader]] = {}
    for key, owner, node in funcs:
        r = _Reader(scope(owner, node))
        r.read(node)
        readers.setdefault(key, []).append(r)
    factors = set(top.factors).union(*(r.factors for rs in readers.values() for r in rs))

    # A function's depth through its calls: its own nesting, or a call's depth plus the callee's.
    memo: dict[Key, int | None] = {}

    def through(key: Key, active: frozenset[Key]) -> int | None:
        if key in active:
            return None  # recursion
        if key in memo:
            return memo[key]
        best = 0
        for r in readers.get(key, []):
            best = max(best, r.depth)
            for callee, d in r.calls:
                inner = through(callee, active | {key})
                if inner is None:
                    memo[key] = None
                    return None
                best = max(best, d + inner)
        memo[key] = best
        return best

    depth, recursive = top.depth, False
    for key in readers:
        got = through(key, frozenset())
        if got is None:
            recursive = True
        else:
            depth = max(depth, got)
    for callee, d in top.calls:
        got = through(callee, frozenset())
        if got is not None:
            depth = max(depth, d + got)
    # What a helper does once happens once per item where it is called in a loop (and so does what
    # the helpers it calls do).
    in_loop = {callee for r in [top, *(r for rs in readers.values() for r in rs)] for callee, d in r.calls if d}
    todo = list(in_loop)
    while todo:
        for r in readers.get(todo.pop(), []):
            factors |= r.pending
            for callee, _ in r.calls:
                if callee not in in_loop:
                    in_loop.add(callee)
                    todo.append(callee)
    if depth >= 2:
        factors.discard("sort")  # a sort outside the loops is dominated by the loops' n^2
    elif "sort" in factors:
        factors.discard("log-in-loop")  # one loop of log steps costs what the sort costs: n log n
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
