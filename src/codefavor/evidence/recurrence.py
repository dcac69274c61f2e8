"""Recurrences for correctness: where the statement defines the asked-for sequence by its first terms
and a rule, the answer is known for every term, not only for the examples'.

Statements define sequences as `fibfib(0) == 0`, `fibfib(1) == 0`, `fibfib(2) == 1`,
`fibfib(n) == fibfib(n-1) + fibfib(n-2) + fibfib(n-3)`; as `F(0) = 0, F(1) = 1` /
`F(n) = F(n - 1) + F(n - 2), for n > 1`; as `fib4(n) -> ...`; or with subscripts, `T0 = 0, T1 = 1,
T2 = 1, and Tn+3 = Tn + Tn+1 + Tn+2`. A candidate that passes the examples may still be wrong on
other terms, or (naive recursion asked to "efficiently compute" it) not finish a term of a few
dozen: the examples rarely reach that far.

`recurrence_checks` reads the first terms and the one rule, computes the terms, and calls the entry
point as the examples call it on the first terms, the next ones and a few larger ones (clipped to
the bounds the statement gives: `1 <= n <= 30`), expecting the computed values. Wrong expected
values would mark correct code, so it reads a statement only whole, else not at all:
- each rule line parses to its end: the rule is an integer expression of the index and earlier
  terms, followed at most by a domain that starts it (`, for n > 1`); a wrapped line, a chain
  (`= 1 + 0 = 1`), a domain that ends (`for n < 10`) or a rule it cannot follow leaves it unread;
- one rule, with no condition on its line or ending the line before it (`If n is even,`), and no
  word anywhere of parity, caps, digits, remainders or exceptions (`%`, "odd", "capped", "last digit");
- every term the rule needs is given or reached, and no given term contradicts the rule;
- the entry answers with the term itself: it has the sequence's name, or the statement asks for the
  term plainly ("calculate F(n).", "return the value of Tn"); and every example of one integer
  argument is the computed term, two of them beyond the written-out ones.
`recurrence_verdict` marks a candidate where it returns another value, raises or runs out of time on
a term the other gets right, and decides only when every mark falls on one side
(`variants.marked_side`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from codefavor.evidence import constraints
from codefavor.evidence.example_values import parse_expr, py_source
from codefavor.evidence.examples import CALLS, Extraction, call_text, spec_of
from codefavor.evidence.sandbox import Check, CheckResult
from codefavor.evidence.variants import marked_side

LARGER = (20, 25, 30, 35)  # beyond every example: where exponential recursion stops finishing
FOLLOWING = 12  # terms checked from the first one on
MIN_SHOWN = 2  # examples of terms the statement does not write out, all agreeing with the rule
_MAX_RULE = 300  # characters of a line read as a term's value or rule
_MAX_DIGITS = 60  # a term past this many digits is no small-integer sequence any more

# `SYM(arg) OP`: `==`, `=`, `->`, `→` or `is` between a term and its value or rule (what follows, up
# to the next such head or the end of the line, holds the value).
_HEAD = re.compile(r"(?<![\w.])(?P<sym>[A-Za-z_]\w*)\s*\(\s*(?P<arg>[^()]{1,20}?)\s*\)\s*(?:==|=(?!=)|->|→|\bis\b)\s*")
# Subscripts as letters and digits (`T0`, `Tn`, `Tn+3`): a one-letter sequence name, written as a call.
_SUBSCRIPT = re.compile(r"(?<![\w.])([A-Z])(\d+|n(?:[+-]\d+)?)(?![\w(])")  # `Sn + 1` is Sn, plus one
# What may follow a term's value or a rule on its line: nothing, punctuation, "and" (before the next
# term), or a domain that only starts the rule (`, for n > 1`, `for n >= 0`). Anything else (`+` at the
# end of a wrapped line, `= 1 + 0 = 1`, `for n < 10`, `with every term capped at 100`) is unread.
_TAIL = re.compile(r"^[\s.,;:]*(?:and\s*|for\s+(?:all\s+)?[a-z]\s*(?:>|>=|≥)\s*-?\d{1,6}[\s.,;:]*)?$", re.I)
# words before a rule on its line (or ending the line before it) that make it one branch of several
_BEFORE = re.compile(r"\b(?:if|when|whenever|otherwise|unless)\b", re.I)
# words anywhere that say the answer is not the plain term, or the rule not the whole story
_REFUSE = re.compile(
    r"%|\b(?:even|odd|otherwise|unless|except|modulo|mod|remainder|digits?|cap(?:ped)?|clip(?:ped)?|exceeds?)\b", re.I
)
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


def _offset(node: ast.expr, var: str) -> int | None:
    """`var`, `var + k` or `var - k` as the offset k (None for anything else)."""
    if isinstance(node, ast.Name) and node.id == var:
        return 0
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.left, ast.Name)
        and node.left.id == var
        and isinstance(node.op, (ast.Add, ast.Sub))
        and isinstance(node.right, ast.Constant)
        and type(node.right.value) is int
    ):
        return node.right.value if isinstance(node.op, ast.Add) else -node.right.value
    return None


def _compile(node: ast.expr, sym: str, var: str | None) -> Callable[[int, Callable[[int], int]], int] | None:
    """An integer expression of the index `var` and terms `sym(var + k)` as a function of (index, term),
    None when it holds anything else (a division, another function, a float)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value = node.value
        return lambda n, t: value
    if var is not None and isinstance(node, ast.Name) and node.id == var:
        return lambda n, t: n
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _compile(node.operand, sym, var)
        return (lambda n, t: -inner(n, t)) if inner else None
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right, op = _compile(node.left, sym, var), _compile(node.right, sym, var), _OPS[type(node.op)]
        return (lambda n, t: op(left(n, t), right(n, t))) if left and right else None
    if (
        var is not None
        and isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == sym
        and len(node.args) == 1
        and not node.keywords
    ):
        k = _offset(node.args[0], var)
        return (lambda n, t: t(n + k)) if k is not None else None
    return None


def _offsets(node: ast.expr, sym: str, var: str) -> list[int]:
    """The offsets of the terms an expression refers to."""
    return [
        k
        for c in ast.walk(node)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == sym and c.args
        for k in [_offset(c.args[0], var)]
        if k is not None
    ]


def _expression(text: str) -> tuple[ast.expr, str] | None:
    """The longest prefix of `text` that is one expression, where what follows it is nothing, sentence
    punctuation, or a domain or condition clause (`, for n > 1`); None when no such prefix exists."""
    if len(text) > _MAX_RULE:
        return None  # one parse per cut: a rule is short, a hostile line need not be (and a cut one misreads)
    cut = {m.start() for m in re.finditer(r"[\s,.;:]|$", text)}
    for end in sorted(cut, reverse=True):
        piece = text[:end].strip()
        if not piece or piece.endswith("."):  # `+ 1.` ends a sentence; it is no float
            continue
        tree = parse_expr(piece)
        if tree is not None and not isinstance(tree, ast.Tuple):
            return (tree, text[end:]) if _TAIL.match(text[end:]) else None
    return None


@dataclass(frozen=True)
class Definition:
    """A sequence as a statement defines it: its name, the terms it writes out, and its one rule
    `name(var + lhs) = rule`, looking back only."""

    name: str
    given: dict[int, int]
    var: str
    lhs: int
    rule: ast.expr

    def refs(self) -> list[int]:
        """The offsets of the earlier terms the rule reads (`fibfib(n-1)`: -1)."""
        return _offsets(self.rule, self.name, self.var)


def _normalized(instruction: str) -> str:
    """The statement with subscripts written as calls (`Tn+3` -> `T(n+3)`) and minus signs as `-`."""
    return _SUBSCRIPT.sub(lambda m: f"{m.group(1)}({m.group(2)})", instruction.replace("−", "-"))


def definition(instruction: str) -> Definition | None:
    """The one sequence the statement defines beyond doubt, else None (see the module docstring)."""
    text = _normalized(instruction)
    heads = [m for m in _HEAD.finditer(text) if not re.search(r"[-+*/%]\s*$", _line_before(text, m.start()))]
    given: dict[str, dict[int, int | None]] = {}
    rules: dict[str, list[tuple[str, int, ast.expr, str]]] = {}
    unread: set[str] = set()  # sequences with a rule line that could not be read
    for i, m in enumerate(heads):
        stop = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() : stop].split("\n")[0].split(";")[0]
        sym, arg = m.group("sym"), m.group("arg").strip()
        found = _expression(body)
        if re.fullmatch(r"-?\d{1,6}", arg):
            f = _compile(found[0], sym, None) if found else None
            if f is not None:
                value = f(0, lambda k: 0)
                terms = given.setdefault(sym, {})
                terms[int(arg)] = value if terms.get(int(arg), value) == value else None  # two values: unread
            continue
        var = re.fullmatch(r"([a-z])\s*(?:[+-]\s*\d+)?", arg)
        tree = parse_expr(arg) if var else None
        lhs = _offset(tree, var.group(1)) if var and tree is not None else None
        mentions = re.search(rf"(?<![\w.]){re.escape(sym)}\s*\(", body) is not None
        if lhs is None or found is None:
            if mentions:
                unread.add(sym)  # a rule this reading cannot follow: trust no other line about it
            continue
        rhs, rest = found
        # A rule is arithmetic on the index or looks back (`T(n) is defined as ...` is prose).
        if _offsets(rhs, sym, var.group(1)) or _compile(rhs, sym, var.group(1)):
            before = _line_before(text, m.start())
            above = text[: m.start() - len(before)].rstrip("\n").rsplit("\n", 1)[-1]
            if _BEFORE.search(before) or (above.rstrip().endswith((":", ",")) and _BEFORE.search(above)):
                unread.add(sym)  # one branch of a piecewise definition
            rules.setdefault(sym, []).append((var.group(1), lhs, rhs, rest))
        elif mentions:
            unread.add(sym)
    named = [s for s in rules if given.get(s) and s not in unread]
    if len(named) != 1:
        return None
    sym = named[0]
    if len({(r[1], ast.dump(r[2])) for r in rules[sym]}) != 1:
        return None  # two rules: a piecewise definition
    var, lhs, rhs, _ = rules[sym][0]
    if _REFUSE.search(instruction):
        return None
    offsets = _offsets(rhs, sym, var)
    if not offsets or any(k >= lhs for k in offsets) or _compile(rhs, sym, var) is None:
        return None  # a rule must look back, and be arithmetic on what it finds
    terms = given[sym]
    if any(v is None for v in terms.values()):
        return None
    return Definition(sym, {k: v for k, v in terms.items() if v is not None}, var, lhs, rhs)


def _line_before(text: str, at: int) -> str:
    """The text of `at`'s line before it."""
    return text[text.rfind("\n", 0, at) + 1 : at]


def sequence(d: Definition, upto: int) -> dict[int, int] | None:
    """The terms from the first given one to `upto` (fewer where they grow past small integers), or
    None where a term is neither given nor reachable, or the rule contradicts a given term past the
    first ones (a misreading)."""
    rule = _compile(d.rule, d.name, d.var)
    assert rule is not None  # `definition` checked it
    start = min(d.given)
    opening = start
    while opening + 1 in d.given:
        opening += 1  # the first terms, written out one after another
    offsets = d.refs()
    terms: dict[int, int] = {}
    for m in range(start, upto + 1):
        n = m - d.lhs  # the rule's index when it defines term m
        refs = [n + k for k in offsets]
        if m in d.given and m <= opening:
            value = d.given[m]
        elif all(r in terms for r in refs):
            value = rule(n, terms.__getitem__)
            if d.given.get(m, value) != value:
                return None
        else:
            return None
        if len(str(abs(value))) > _MAX_DIGITS:
            break
        terms[m] = value
    return terms


def _domain(instruction: str, names: Sequence[str]) -> tuple[int | None, int | None]:
    """The smallest and largest index the statement allows: its Constraints on the argument `names[0]`
    (`1 <= n <= 30`), and a bound written anywhere on any of `names` (`Given n (0 <= n <= 10)`)."""
    lo = hi = None
    for target, side, strict, expr in constraints.read(instruction, names[:1]).get("bounds", []):
        if target != ("arg", 0) or expr[0] != "num" or not isinstance(expr[1], int):
            continue
        if side == "lo":
            v = expr[1] + strict
            lo = v if lo is None else max(lo, v)
        else:
            v = expr[1] - strict
            hi = v if hi is None else min(hi, v)
    for name in dict.fromkeys(names):
        n = re.escape(name)
        for m in re.finditer(
            rf"(?<![\w.]){n}\s*(<=|≤|<)\s*(\d{{1,9}})(?:\s*(?:\^|\*\*)\s*(\d))?(?![\w.])", instruction
        ):
            v = int(m.group(2)) ** int(m.group(3) or 1) - (m.group(1) == "<")
            hi = v if hi is None else min(hi, v)
        for m in re.finditer(rf"(?<![\w.])(\d{{1,9}})\s*(<=|≤|<)\s*{n}(?![\w.])", instruction):
            v = int(m.group(1)) + (m.group(2) == "<")
            lo = v if lo is None else max(lo, v)
    return lo, hi


def _asked(instruction: str, d: Definition, entry: str | None) -> bool:
    """Whether the entry point answers with the sequence's term itself: it is named as the sequence,
    or the statement asks for the term plainly ("calculate F(n).", "return the value of Tn")."""
    if entry == d.name:
        return True
    text = _normalized(instruction)
    return bool(
        re.search(
            rf"\b(?:return|calculate|compute|find|output|give)s?\s+(?:the\s+value\s+of\s+)?"
            rf"{re.escape(d.name)}\(\s*[a-z]\s*\)\s*(?:[.;]|$)",
            text,
            re.I | re.M,
        )
    )


def _parameter(instruction: str, entry: str | None) -> list[str]:
    """The first parameter's name of the entry point's `def` in the statement, if it has one."""
    m = re.search(rf"\bdef\s+{re.escape(entry)}\s*\(\s*(?:self\s*,\s*)?([A-Za-z_]\w*)", instruction) if entry else None
    return [m.group(1)] if m else []


def _shown(c: Check, spec: dict[str, object]) -> tuple[int, Any] | None:
    """(the index, the term) an example of one integer argument shows, else None."""
    args = spec.get("args") or []
    if spec.get("ops") or spec.get("kwargs") or len(args) != 1 or type(args[0]) is not int:  # type: ignore[arg-type]
        return None
    kind = c.resolved_kind()
    if kind == "value":
        return args[0], c.expected  # type: ignore[index]
    if kind == "repr" and re.fullmatch(r"\s*-?\d+\s*", c.expected_repr or ""):
        return args[0], int(c.expected_repr)  # type: ignore[arg-type,index]
    return None


def recurrence_checks(instruction: str, ex: Extraction) -> list[Check]:
    """Calls of the entry point on the sequence's terms, made as the examples' calls of one integer
    argument are, each expecting the computed term (empty where the statement defines no sequence,
    or its examples are not its terms)."""
    d = definition(instruction)
    if d is None:
        return []
    single = [(c, spec, got) for c in ex.checks for spec in [spec_of(c)] if spec for got in [_shown(c, spec)] if got]
    if not single:
        return []
    spec = single[0][1]
    entry = str(spec.get("entry") or ex.entry or "") or None
    if not _asked(instruction, d, entry):
        return []  # the entry may answer with something made of the terms (the last digit, a sum)
    names = [*(spec.get("names") or []), *_parameter(instruction, entry), d.var]  # type: ignore[misc]
    lo, hi = _domain(instruction, [str(x) for x in names if x])
    top = max(LARGER) if hi is None else min(max(LARGER), hi)
    terms = sequence(d, top)
    if not terms:
        return []
    beyond = {k for _, _, (k, _) in single if k not in d.given}
    if any(terms.get(k, object()) != v for _, _, (k, v) in single) or len(beyond) < MIN_SHOWN:
        return []  # the examples are not this sequence's terms, or show too little of what the rule makes
    start = max(min(terms), lo) if lo is not None else min(terms)
    out = []
    for k in sorted(k for k in {*range(start, start + FOLLOWING), *LARGER, top} & terms.keys() if k >= start):
        call = f"{CALLS}.run(globals(), {py_source({**spec, 'args': [k]})})"
        out.append(Check(call, expected=terms[k], kind="value", name=f"{call_text(Check(call))} == {terms[k]}"[:160]))
    return out


def recurrence_verdict(
    checks: Sequence[Check], ra: Sequence[CheckResult], rb: Sequence[CheckResult]
) -> tuple[Literal["A", "B"] | None, dict[str, Any]]:
    """Which candidate gets a term wrong (another value, an exception, no answer in time) that the
    other gets right (the other is the decision), and why."""
    details: dict[str, Any] = {"checks": len(checks), "a": [], "b": []}
    for check, x, y in zip(checks, ra, rb, strict=False):
        for side, mine, other in (("a", x, y), ("b", y, x)):
            if other.passed and mine.status in ("fail", "raised", "timeout"):
                got = mine.error or ("timeout" if mine.status == "timeout" else f"returned {str(mine.value)[:60]}")
                details[side].append(f"{check.name}: {got}"[:200])
    return marked_side(details), details
