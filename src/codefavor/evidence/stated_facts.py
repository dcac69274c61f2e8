"""Preconditions of grown inputs that the statement states: check them on the examples, apply them.

What the statement's Constraints section states, read by `evidence.constraints` and passed in as
plain data, is applied after growing (`apply_facts`), once checked on the examples
(`valid_facts`): a fixed length, value bounds on scalars, on every number of an argument or on one
column of its records, bounds by another argument (a size `n` that the values refer to grows with
its collection), and relations between columns (`first <= last`, `a != b`, unique pairs). What the
examples show is `preconditions`'s. Pure like `scaling`, which calls it (the standard library and
its sibling `preconditions` only, no I/O).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from codefavor.evidence.preconditions import Example, collection_length, is_number, numbers

# `constraints.read` gives bounds on scalars, on the numbers of an argument or on one column of its
# records, relations between two columns, fixed lengths and record widths, all by argument position.
# Only those that every example keeps are used (`valid_facts`): a misread line then costs nothing.


def _eval(expr: Any, vals: dict[int | str, Any]) -> float | None:
    """An expression of `constraints` on the call's values (None when it does not apply)."""
    try:
        op = expr[0]
        if op == "num":
            return expr[1]
        if op == "arg":
            v = vals.get(expr[1])
            return v if is_number(v) else None
        if op == "len":
            v = vals.get(expr[1])
            if isinstance(v, int) and not isinstance(v, bool):
                return len(str(abs(v)))  # `num.length`, taking num as a string
            return len(v) if isinstance(v, (str, list, tuple, set, frozenset, dict)) else None
        a, b = _eval(expr[1], vals), _eval(expr[2], vals)
        if a is None or b is None:
            return None
        if op == "**" and (abs(b) > 64 or abs(a) > 10**6):
            return None
        out = {"+": a + b, "-": a - b, "*": a * b, "min": min(a, b), "max": max(a, b)}.get(op)
        if op == "**":
            out = a**b
        return out if out is None or abs(out) < 10**18 else None
    except (TypeError, ValueError, IndexError, OverflowError, ZeroDivisionError):
        return None


def _numbers_in(v: Any, col: int | None) -> list[Any]:
    if col is not None:
        return [r[col] for r in v if isinstance(r, (list, tuple)) and len(r) > col and is_number(r[col])]
    out: dict[type, list[float]] = {}
    numbers(v, out)
    return [x for xs in out.values() for x in xs]


def _limits(bounds: list[Any], target: tuple[Any, ...], vals: dict[int | str, Any]) -> tuple[Any, Any]:
    """The tightest (lo, hi) the bounds on `target` give for these values (None: no bound)."""
    lo = hi = None
    for t, side, strict, expr in bounds:
        if tuple(t) != target:
            continue
        b = _eval(expr, vals)
        if b is None:
            continue
        if side == "lo":
            b = b + 1 if strict and isinstance(b, int) else b
            lo = b if lo is None else max(lo, b)
        else:
            b = b - 1 if strict and isinstance(b, int) else b
            hi = b if hi is None else min(hi, b)
    return lo, hi


def _holds(fact: Any, kind: str, vals: Example) -> bool:
    if kind == "bound":
        t, side, strict, expr = fact
        b = _eval(expr, vals)
        if b is None or t[1] not in vals:
            return False
        xs = [vals[t[1]]] if t[0] == "arg" else _numbers_in(vals[t[1]], t[2] if t[0] == "col" else None)
        if not xs or not all(is_number(x) for x in xs):
            return False
        if side == "lo":
            return all(x > b if strict else x >= b for x in xs)
        return all(x < b if strict else x <= b for x in xs)
    op, key, a, b = fact
    recs = vals.get(key)
    if not isinstance(recs, (list, tuple)) or not all(
        isinstance(r, (list, tuple)) and len(r) > max(a, b) for r in recs
    ):
        return False
    if op == "pairs":
        pairs = [(r[a], r[b]) for r in recs]
        return len(set(pairs)) == len(pairs)
    test = {"<=": lambda x, y: x <= y, "<": lambda x, y: x < y, "!=": lambda x, y: x != y}[op]
    return all(test(r[a], r[b]) for r in recs)


def valid_facts(facts: dict[str, Any], examples: Sequence[Example]) -> dict[str, Any]:
    """The facts that every example call keeps."""
    if not facts or not examples:
        return {}
    out: dict[str, Any] = {
        "bounds": [f for f in facts.get("bounds", ()) if all(_holds(f, "bound", ex) for ex in examples)],
        "relations": [f for f in facts.get("relations", ()) if all(_holds(f, "rel", ex) for ex in examples)],
        "length": {
            key: n
            for key, n in facts.get("length", {}).items()
            if all(_length_of(ex.get(key)) == n for ex in examples)
        },
        "width": {
            key: n
            for key, n in facts.get("width", {}).items()
            if all(
                isinstance(v, (list, tuple)) and all(isinstance(r, (list, tuple)) and len(r) == n for r in v)
                for v in (ex.get(key) for ex in examples)
            )
        },
        "promises": list(facts.get("promises", ())),  # prose: checked on the examples by `_profile`
    }
    return out if any(out.values()) else {}


def _length_of(v: Any) -> int | None:
    return len(v) if isinstance(v, (str, list, tuple, set, frozenset, dict)) else None


def _squeeze(xs: list[Any], lo: Any, hi: Any, rng: random.Random) -> dict[Any, Any]:
    """A map that puts the numbers `xs` within [lo, hi] keeping their order and their equalities
    (distinct numbers stay distinct while the range has room): a shift when they fit, else a scaling,
    else fresh sorted draws from the range."""
    dmin, dmax = min(xs), max(xs)
    lo = dmin if lo is None else lo
    hi = dmax if hi is None else hi
    if lo > hi or (dmin >= lo and dmax <= hi):
        return {}
    distinct = sorted(set(xs))
    ints = all(isinstance(x, int) for x in xs) and isinstance(lo, int) and isinstance(hi, int)
    if dmax - dmin <= hi - lo:
        shift = (lo - dmin) if dmin < lo else (hi - dmax)
        return {x: x + shift for x in distinct}
    if ints and len(distinct) <= hi - lo + 1:
        spread = {x: lo + (x - dmin) * (hi - lo) // (dmax - dmin) for x in distinct}
        if len(set(spread.values())) == len(distinct):
            return spread
        return dict(zip(distinct, sorted(rng.sample(range(lo, hi + 1), len(distinct))), strict=True))
    scale = (hi - lo) / (dmax - dmin)
    return {x: (int(lo + round((x - dmin) * scale)) if ints else lo + (x - dmin) * scale) for x in distinct}


def _remap(v: Any, mapping: dict[Any, Any], col: int | None) -> Any:
    if not mapping:
        return v
    if col is not None:
        return type(v)(
            type(r)(mapping.get(x, x) if c == col and is_number(x) else x for c, x in enumerate(r))
            if isinstance(r, (list, tuple)) else r
            for r in v
        )  # fmt: skip
    if is_number(v):
        return mapping.get(v, v)
    if isinstance(v, (list, tuple)):
        return type(v)(_remap(x, mapping, None) for x in v)
    if isinstance(v, (set, frozenset)):
        return type(v)(_remap(x, mapping, None) for x in v)
    if isinstance(v, dict):
        return {k: _remap(x, mapping, None) for k, x in v.items()}
    return v


def apply_facts(
    keys: list[int | str],
    old: list[Any],
    new: list[Any],
    facts: dict[str, Any],
    props: dict[int | str, dict[str, Any]],
    mode: str,
    rng: random.Random,
) -> list[Any]:
    """The grown values `new` of a call made to keep the statement's facts: a size that bounds the
    numbers of a collection grows with it, scalars stay within their bounds, then the numbers of each
    collection (whole or by column, columns with the same bounds together, their order kept), then the
    relations between columns."""
    before = dict(zip(keys, old, strict=True))
    vals = dict(zip(keys, new, strict=True))
    bounds = facts.get("bounds", [])
    if mode == "fresh":  # `1 <= firsti <= lasti <= n`: n grows as bookings does
        grown: set[int | str] = set()
        for t, side, _strict, expr in bounds:
            if side != "hi" or t[0] not in ("elem", "col"):
                continue
            coll, was = vals.get(t[1]), before.get(t[1])
            if not isinstance(coll, (list, tuple)) or not isinstance(was, (list, tuple)) or not was:
                continue
            growth = len(coll) / len(was)
            for s in _arg_refs(expr):
                v = before.get(s)
                if s not in grown and type(v) is int and v >= 1 and growth > 1:
                    vals[s] = max(vals[s], round(v * growth))
                    grown.add(s)
    # A call of integers alone grows them as its size: a constant cap there (`0 <= n <= 30`) is the
    # scale the statement tests, not a promise the code relies on; bounds by another argument
    # (`1 <= k <= 2^n - 1`) still hold.
    sizes = set() if any(collection_length(v) for v in new) else {key for key in keys if type(vals[key]) is int}
    scalar_bounds = [
        b for b in bounds if not (b[0][0] == "arg" and b[0][1] in sizes and b[1] == "hi" and b[3][0] == "num")
    ]
    _clamp_scalars(keys, vals, scalar_bounds)
    for key in keys:
        v = vals[key]
        if not isinstance(v, (list, tuple, set, frozenset, dict)) or not v:
            continue
        lo, hi = _limits(bounds, ("elem", key), vals)
        groups: dict[tuple[Any, Any], list[int | None]] = {}
        if lo is not None or hi is not None:
            groups[(lo, hi)] = [None]
        width = max((len(r) for r in v if isinstance(r, (list, tuple))), default=0) if isinstance(v, list) else 0
        for c in range(width):
            clo, chi = _limits(bounds, ("col", key, c), vals)
            if clo is not None or chi is not None:
                groups.setdefault((clo, chi), []).append(c)
        p = props.get(key, {})
        for (glo, ghi), cols in groups.items():
            # Strictly increasing values in a range (`days[i] < days[i+1]`, `1 <= days[i] <= 365`): no
            # more of them than the range holds. Distinct values that need not be ordered may repeat.
            if (cols == [None] and p.get("unique") and p.get("order") and p.get("kind") == "flat"
                    and glo is not None and ghi is not None):  # fmt: skip
                room = int(ghi - glo + 1)
                if 0 < room < len(v):  # distinct values in a range: no more of them than it holds
                    picked = sorted(rng.sample(range(len(v)), room))
                    v = type(v)(v[i] for i in picked)
            xs = [x for c in cols for x in _numbers_in(v, c)]
            if not xs:
                continue
            mapping = _squeeze(xs, glo, ghi, rng)
            for c in cols:
                v = _remap(v, mapping, c)
        vals[key] = v
    _clamp_scalars(keys, vals, scalar_bounds)  # again: a k within a length that the range of values cut
    for op, key, a, b in facts.get("relations", ()):
        recs = vals.get(key)
        if op == "pairs":  # `All the pairs (ui, vi) are unique`
            if isinstance(recs, list):
                seen: set[tuple[Any, ...]] = set()
                kept = []
                for r in recs:
                    pair = tuple(r[c] for c in (a, b)) if isinstance(r, (list, tuple)) and len(r) > max(a, b) else None
                    if pair is None or pair not in seen:
                        kept.append(r)
                        if pair is not None:
                            seen.add(pair)
                vals[key] = kept
            continue
        if not isinstance(recs, list):
            continue
        _, hi_b = _limits(bounds, ("col", key, b), vals)
        lo_a, _ = _limits(bounds, ("col", key, a), vals)
        fixed_recs = []
        for r in recs:
            if not isinstance(r, (list, tuple)) or len(r) <= max(a, b):
                fixed_recs.append(r)
                continue
            x = list(r)
            if op in ("<=", "<") and x[a] > x[b]:
                x[a], x[b] = x[b], x[a]
            if op in ("<", "!=") and x[a] == x[b] and isinstance(x[b], int):
                if hi_b is None or x[b] + 1 <= hi_b:
                    x[b] += 1
                elif op == "!=" and (lo_a is None or x[b] - 1 >= lo_a):
                    x[b] -= 1
                elif lo_a is None or x[a] - 1 >= lo_a:
                    x[a] -= 1
            fixed_recs.append(type(r)(x))
        vals[key] = fixed_recs
    return [vals[key] for key in keys]


def _arg_refs(expr: Any) -> list[int | str]:
    if not isinstance(expr, tuple) or not expr:
        return []
    if expr[0] == "arg":
        return [expr[1]]
    if expr[0] in ("num", "len"):
        return []
    return [r for e in expr[1:] for r in _arg_refs(e)]


def _clamp_scalars(keys: list[int | str], vals: dict[int | str, Any], bounds: list[Any]) -> None:
    for _ in range(2):  # `1 <= k <= n <= 100`: n first, then k within the new n
        for key in keys:
            v = vals[key]
            if not is_number(v):
                continue
            lo, hi = _limits(bounds, ("arg", key), vals)
            if hi is not None and v > hi:
                v = int(math.floor(hi)) if isinstance(v, int) else hi
            if lo is not None and v < lo:
                v = int(math.ceil(lo)) if isinstance(v, int) else lo
            vals[key] = v
