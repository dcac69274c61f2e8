"""Differential inputs for correctness: more calls of the entry point built from the examples' own
calls, which both candidates run where the examples cannot tell them apart.

An example gives one input and its answer; a wrong candidate usually passes it and fails on the
same kind of input in another order or of another length. `variant_checks` makes such inputs
without guessing what the instruction allows: only list, tuple and string arguments change, and
only in ways that keep every relation the example shows between its arguments:
- reordered (reversed, rotated by one; lists and tuples also sorted either way): the same
  elements, the same length;
- resized (one element more or fewer, doubled, halved) only when the list has three elements or
  more and its length is no other argument's length or value (a pair stays a pair, parallel lists
  stay parallel, `f(xs, n)` with `n == len(xs)` keeps its `n` true).
Strings never change length; numbers, dicts and the elements of a list never change (an element
may be an index or a value the instruction bounds, 1..n): lengths, formats and ranges (a
date, an index, `n == len(xs)`, a prime) are promises the instruction makes and no value shape
tells. On CodePrefBench dev, varying integers by one made correct code "crash" on an index or a
size it was promised (5 wrong of 54 decisions); with these variants the signal was right on 40 of
40 pairs where it decided (on all pairs, the examples' own included).

`variant_verdict` reads both candidates' runs. No answer is known, so a candidate is marked only
for what no right answer does on an input of the example's own kind, where the other candidate
does not do it: it crashes (IndexError, TypeError, ... or a timeout; a deliberate ValueError or
AssertionError is a rejection, not a crash) while the other returns, or it returns a value of
another shape than every expected value of the examples (None where they show an int, a list of
lists where they show a list of ints) while the other's value has the examples' shape. It decides
only when every mark falls on one side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from codefavor.evidence.example_values import py_source
from codefavor.evidence.examples import CALLS, Extraction, call_text, spec_of
from codefavor.evidence.sandbox import Check, SandboxRun

CRASHES = {
    "IndexError", "TypeError", "ZeroDivisionError", "RecursionError", "KeyError", "AttributeError", "NameError",
    "UnboundLocalError", "OverflowError", "MemoryError", "StopIteration",
}  # fmt: skip
MAX_CHECKS = 24


def _sizes(args: Sequence[Any], skip: int) -> set[int]:
    """The lengths and integer values of the other arguments: relations a resize could break."""
    out: set[int] = set()
    for n, a in enumerate(args):
        if n == skip:
            continue
        if isinstance(a, (list, tuple, str, dict, set)):
            out.add(len(a))
        elif type(a) is int:
            out.add(a)
    return out


def _variants(args: Sequence[Any], n: int) -> list[Any]:
    """Values for argument `n` of the same kind as the example's (see the module docstring)."""
    v = args[n]
    if type(v) is str:
        return [x for x in (v[::-1], v[1:] + v[:1]) if x != v]
    if type(v) not in (list, tuple) or len(v) < 2:
        return []
    out: list[Any] = [v[::-1], v[1:] + v[:1]]
    try:
        out += [type(v)(sorted(v)), type(v)(sorted(v, reverse=True))]
    except TypeError:  # elements that do not compare
        pass
    inner = {len(x) for x in v if isinstance(x, (list, tuple, str))}  # a square grid stays square
    if type(v) is list and len(v) >= 3 and len(v) not in _sizes(args, n) | inner:
        out += [v + v[:1], v + v, v[:-1], v[: len(v) // 2]]
    return [x for x in out if x != v]


def variant_checks(ex: Extraction, limit: int = MAX_CHECKS) -> list[Check]:
    """Calls of the entry point on variants of the examples' value-checked calls, one argument
    changed at a time, each made as the examples' calls are (`calls.run`), reporting its value."""
    out: list[Check] = []
    seen = {c.call for c in ex.checks}
    for c in ex.checks:
        spec = spec_of(c)
        if spec is None or spec.get("ops") or spec.get("kwargs") or c.resolved_kind() != "value":
            continue  # design problems and keyword calls are left as the examples wrote them
        args = list(spec.get("args") or [])  # type: ignore[call-overload]
        for n in range(len(args)):
            for v in _variants(args, n):
                call = f"{CALLS}.run(globals(), {py_source({**spec, 'args': [*args[:n], v, *args[n + 1 :]]})})"
                if call not in seen and len(call) < 4000:
                    seen.add(call)
                    out.append(Check(call, kind="runs", name=call_text(Check(call))[:160]))
    return out[:limit]


def _shaped(v: Any, e: Any, depth: int = 0) -> bool:
    """Whether `v` has the shape of the expected value `e`: the same kind of scalar (int and float
    are one kind, bool is its own), the same container with elements shaped like some element of
    `e` (an empty container fits any; a tuple also has `e`'s length)."""
    if depth > 20:
        return True
    if isinstance(e, bool) or isinstance(v, bool):
        return type(v) is type(e)
    if type(e) in (int, float):
        return type(v) in (int, float)
    if type(e) in (list, tuple, set, frozenset):
        if type(v) is not type(e) or (type(e) is tuple and len(v) != len(e)):  # a tuple is a record
            return False
        return not v or not e or all(any(_shaped(x, y, depth + 1) for y in e) for x in v)
    if type(e) is dict:
        if type(v) is not dict:
            return False
        return (
            not v
            or not e
            or all(any(_shaped(k, j, depth + 1) for j in e) for k in v)
            and all(any(_shaped(x, y, depth + 1) for y in e.values()) for x in v.values())
        )
    return type(v) is type(e)


def _crashed(c: Any) -> bool:
    return c.status == "timeout" or (c.status == "raised" and (c.error or "").split(":")[0] in CRASHES)


def variant_verdict(
    ex: Extraction, checks: Sequence[Check], ra: SandboxRun, rb: SandboxRun
) -> tuple[Literal["A", "B"] | None, dict[str, Any]]:
    """Which candidate the variant runs mark as wrong (the other is the decision), and why."""
    details: dict[str, Any] = {"checks": len(checks), "a": [], "b": []}
    if ra.load_error or rb.load_error:
        return None, details
    expected = [c.expected for c in ex.checks if c.resolved_kind() == "value"]
    for check, x, y in zip(checks, ra.checks, rb.checks, strict=False):
        for side, mine, other in (("a", x, y), ("b", y, x)):
            if other.status != "pass":
                continue
            if _crashed(mine):
                details[side].append(f"{check.name}: {mine.error or 'timeout'}")
            elif mine.status == "pass" and expected:
                if not any(_shaped(mine.value, e) for e in expected) and any(
                    _shaped(other.value, e) for e in expected
                ):
                    details[side].append(f"{check.name}: returned {str(mine.value)[:80]}, not the examples' shape")
    return marked_side(details), details


def marked_side(details: dict[str, Any]) -> Literal["A", "B"] | None:
    """The decision when every mark (`details["a"]`, `details["b"]`) falls on one side: the other."""
    na, nb = len(details["a"]), len(details["b"])
    return "B" if na and not nb else "A" if nb and not na else None
