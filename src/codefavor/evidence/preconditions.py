"""Preconditions of grown inputs that the examples show: read them, and keep them after growing.

Grown inputs must keep the problem's preconditions, or two correct candidates disagree (or fail)
and the pair says nothing. What every example of an argument shows is read here (`profiles`):
sorted or strictly increasing lists, permutations of 0..n-1 or 1..n, distinct values,
multiplicities (every value three times but one), matrices sorted row-major or by rows and columns,
records of a fixed width, intervals sorted and disjoint, adjacency lists, balanced brackets, strings
with punctuation (paths keep their slashes), one argument a rearrangement of another; `keep` puts
a grown value back into that shape (`rearranged` the rearrangement). What
the statement states is `stated_facts`'s, applied after this.

An example call is seen here as its argument values by key (position, or name for a keyword), so
this module needs nothing of `scaling`, which grows the calls and imports it. Pure like `scaling`
(the standard library only, nothing of the package, no I/O).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

# One example call: its argument values by position (int) and by keyword name (str).
Example = dict[int | str, Any]


def numbers(v: Any, out: dict[type, list[float]]) -> None:
    """Collect the numbers inside a value by type (bool apart): to draw fresh ones alike, and to
    check and apply bounds on them."""
    if isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        out.setdefault(type(v), []).append(v)
    elif isinstance(v, dict):
        for x in v.values():
            numbers(x, out)
        for x in v:
            numbers(x, out)
    elif isinstance(v, (list, tuple, set, frozenset)):
        for x in v:
            numbers(x, out)


def collection_length(v: Any) -> int:
    """The length of a value that grows as a collection (a string of two characters or more, a
    container), else 0."""
    if isinstance(v, (str, list, tuple, set, frozenset, dict)) and not (isinstance(v, str) and len(v) <= 1):
        return len(v)
    return 0


# --- What every example of an argument shows, kept as it grows -------------------------------------
#
# The examples of a statement keep its preconditions: a sorted list, a permutation, distinct values,
# every value three times but one, a matrix sorted row by row, intervals sorted and disjoint, records
# whose first column never exceeds the second, brackets that balance. `_profile` reads those
# properties off all the examples of one argument (a property holds only if every example shows
# it); `scaling` grows in a way that can keep them and `keep` restores them after growing.


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _num_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(is_number(x) for x in v)


def _num_rows(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(_num_list(r) for r in v)


def _order_of(vals: list[Any]) -> str | None:
    """'asc' or 'desc' when every example (of two items or more) is sorted so, one of three or more."""
    seqs = [v for v in vals if len(v) >= 2]
    if not seqs or max(len(v) for v in seqs) < 3:
        return None
    for kind, ok in (("asc", lambda a, b: a <= b), ("desc", lambda a, b: a >= b)):
        if all(ok(v[i], v[i + 1]) for v in seqs for i in range(len(v) - 1)):
            return kind
    return None


def _all_unique(vals: list[Any]) -> bool:
    try:
        seqs = [v for v in vals if len(v) >= 2]
        return bool(seqs) and max(len(v) for v in seqs) >= 3 and all(len(set(v)) == len(v) for v in seqs)
    except TypeError:
        return False


def _multiplicities(vals: list[Any]) -> dict[int, int | None] | None:
    """Single Number's shape: two or more multiplicities, the same ones in every example (of them all
    with repeats), as {multiplicity: how many values have it, when every example has that many
    (two examples or more), else None}."""
    from collections import Counter

    shapes = []
    for v in vals:
        counts = Counter(Counter(v).values())
        shapes.append(counts)
    kinds = {frozenset(p) for p in shapes}
    if len(kinds) != 1 or len(next(iter(kinds))) < 2 or max(next(iter(kinds))) < 2:
        return None
    out: dict[int, int | None] = {}
    for m in next(iter(kinds)):
        counts = {p[m] for p in shapes}
        out[m] = counts.pop() if len(counts) == 1 and len(shapes) >= 2 else None
    if all(c is not None for c in out.values()) or all(c is None for c in out.values()):
        return None  # nothing left to grow, or nothing that every example keeps
    return out


_OPEN, _CLOSE = "([{", ")]}"


def _balanced(s: str) -> bool:
    stack: list[str] = []
    for ch in s:
        if ch in _OPEN:
            stack.append(ch)
        elif ch in _CLOSE:
            if not stack or _OPEN.index(stack.pop()) != _CLOSE.index(ch):
                return False
    return not stack


def _shaped_string(s: str) -> bool:
    """A string with punctuation that carries meaning (a path, a time, an address): fresh ones keep
    every non-alphanumeric character where it is."""
    return any(not (c.isalnum() or c.isspace()) for c in s) and any(c.isalnum() for c in s)


def _profile(vals: list[Any], facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The properties every example value of one argument shows (`vals`), and the statement's facts
    about its shape (`facts`: "length", "width", "columns")."""
    facts = facts or {}
    props: dict[str, Any] = {}
    if facts.get("length") is not None:
        props["length"] = facts["length"]
    if not vals:
        return props
    if all(isinstance(v, str) for v in vals):
        if any(c in _OPEN for v in vals for c in v) and all(_balanced(v) for v in vals):
            props["balanced"] = True
        return props
    if not all(isinstance(v, (list, tuple)) and v for v in vals):
        return props
    if all(_num_list(v) for v in vals):
        props["kind"] = "flat"
        order = _order_of(vals)
        if order:
            props["order"] = order
        if _all_unique(vals):
            props["unique"] = True
            # A permutation of 0..n-1 or 1..n, shuffled in some example (sorted ones are just a range:
            # sorted distinct values keep more of the examples' spread).
            for base in (0, 1):
                if (all(sorted(v) == list(range(base, base + len(v))) for v in vals) and max(map(len, vals)) >= 3
                        and not order):  # fmt: skip
                    props["perm"] = base
        elif all(isinstance(x, int) for v in vals for x in v):
            mult = _multiplicities(vals)
            if mult:
                props["mult"] = mult
        return props
    if all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in vals):
        props["kind"] = "strings"
        props["shaped"] = all(_shaped_string(x) for v in vals for x in v)
        props["unique"] = _all_unique(vals)
        return props
    adjacency = _adjacency(vals)
    if adjacency:
        props["kind"] = "adjacency"
        props["graph"] = adjacency
        return props
    if not all(_num_rows(v) for v in vals):
        return props
    widths = {len(r) for v in vals for r in v}
    # Records (edges, bookings, intervals) rather than a matrix: the statement names their width or
    # their columns, their number varies while their width does not, or they are pairs.
    records = len(widths) == 1 and (
        facts.get("width") == next(iter(widths))
        or facts.get("columns")
        or len({len(v) for v in vals}) > 1
        or widths == {2}
    )
    if records:
        props["kind"] = "records"
        w = next(iter(widths))
        rows = [r for v in vals for r in v]
        if len(rows) >= 3 and w == 2 and all(r[0] <= r[1] for r in rows):  # an interval, an ordered pair
            props["le"] = [(0, 1)]
        if max(len(v) for v in vals) >= 2 and all(v[i][0] <= v[i + 1][0] for v in vals for i in range(len(v) - 1)):
            props["by_first"] = True
            if (
                w >= 2
                and all(r[0] <= r[1] for r in rows)
                and all(v[i][1] < v[i + 1][0] for v in vals for i in range(len(v) - 1))
            ):
                props["disjoint"] = True
        return props
    props["kind"] = "matrix"
    flats = [[x for r in v for x in r] for v in vals]
    if all(len(v) >= 2 for v in vals) and _order_of(flats) == "asc":
        props["rowmajor"] = True
        props["unique"] = _all_unique(flats)
    elif all(len(set(map(len, v))) == 1 for v in vals):
        rows = [list(r) for v in vals for r in v]
        cols = [[r[j] for r in v] for v in vals for j in range(len(v[0]))]
        props["rows"] = _order_of(rows) == "asc"
        props["cols"] = _order_of(cols) == "asc"
    return props


def _adjacency(vals: list[Any]) -> str | None:
    """An adjacency list (`graph[u]` the nodes next to u, 0..n-1) in every example: "undirected" when
    every edge goes both ways, "forward" when every edge goes to a higher node (a DAG), else "directed"."""
    if not all(isinstance(v, list) and len(v) >= 2 and all(isinstance(r, list) for r in v) for v in vals):
        return None
    if not all(type(x) is int and 0 <= x < len(v) for v in vals for r in v for x in r):
        return None
    if not any(r for v in vals for r in v) or not all(u not in r for v in vals for u, r in enumerate(v)):
        return None
    if all(u in v[x] for v in vals for u, r in enumerate(v) for x in r):
        return "undirected"
    if all(x > u for v in vals for u, r in enumerate(v) for x in r):
        return "forward"
    return "directed"


def _distinct_sorted(xs: list[Any], rng: random.Random) -> list[Any]:
    """`xs` sorted, and distinct: duplicates make way for fresh values in a range wide enough."""
    xs = sorted(xs)
    if len(set(xs)) == len(xs) or not all(isinstance(x, int) for x in xs):
        return xs
    lo = xs[0]
    hi = max(xs[-1], lo + 2 * len(xs))
    return sorted(rng.sample(range(lo, hi + 1), len(xs)))


def keep(grown: Any, rng: random.Random, props: dict[str, Any], mode: str = "fresh") -> Any:
    """`grown` put back into the shape that `props` describe (sorted, a permutation, a matrix sorted row
    by row, records related column to column, intervals sorted and disjoint)."""
    if not isinstance(grown, (list, tuple)) or not grown or props.get("length") is not None:
        return grown
    kind = props.get("kind")
    if kind == "flat":
        out = list(grown)
        if props.get("perm") is not None:
            base = props["perm"]
            if len(set(out)) == len(out):
                rank = {x: i for i, x in enumerate(sorted(out))}
                out = [base + rank[x] for x in out]
            else:
                out = rng.sample(range(base, base + len(out)), len(out))
        if props.get("order") and (mode == "fresh" or props.get("tile")):  # a plain tiling keeps its pattern
            out.sort(reverse=props["order"] == "desc")
        return type(grown)(out)
    if kind == "matrix" and _num_rows(grown) and any(props.get(f) for f in ("rowmajor", "rows", "cols")):
        rows = [list(r) for r in grown]
        if props.get("rowmajor"):
            flat = [x for r in rows for x in r]
            flat = _distinct_sorted(flat, rng) if props.get("unique") else sorted(flat)
            it = iter(flat)
            rows = [[next(it) for _ in r] for r in rows]
        else:
            if props.get("rows"):
                rows = [sorted(r) for r in rows]
            if props.get("cols") and len(set(map(len, rows))) == 1:
                cols = [sorted(r[j] for r in rows) for j in range(len(rows[0]))]
                rows = [[cols[j][i] for j in range(len(cols))] for i in range(len(rows))]
        return type(grown)(type(g)(r) for g, r in zip(grown, rows, strict=True))
    if kind == "records" and _num_rows(grown):
        recs = [list(r) for r in grown]
        for a, b in props.get("le", ()):
            for r in recs:
                if r[a] > r[b]:
                    r[a], r[b] = r[b], r[a]
        if props.get("disjoint") and len(recs[0]) >= 2:
            ends = _distinct_sorted([x for r in recs for x in r[:2]], rng)
            if len(set(ends)) == len(ends):
                for i, r in enumerate(recs):
                    r[0], r[1] = ends[2 * i], ends[2 * i + 1]
        if props.get("by_first"):
            recs.sort(key=lambda r: r[0])
        return type(grown)(type(g)(r) for g, r in zip(grown, recs, strict=True))
    return grown


def profiles(examples: Sequence[Example], facts: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """What all the examples of each argument (the first example's keys) show, with the statement's
    facts on its shape and kept where the statement promises it (`_gated`): {key: props}, for
    `keep` and for growing in shape."""
    if not examples:
        return {}
    out = {}
    for key in examples[0]:
        vals = [ex[key] for ex in examples if key in ex]
        shape = {
            "length": facts.get("length", {}).get(key),
            "width": facts.get("width", {}).get(key),
            "columns": any(t[0] == "col" and t[1] == key for t, *_ in facts.get("bounds", ())),
        }
        props = _gated(_profile(vals, shape), set(facts.get("promises", ())))
        if props:
            out[key] = props
    for key, src in rearrangements(examples).items():
        out.setdefault(key, {})["rearranges"] = src
    return out


def _items(v: Any) -> list[Any] | None:
    """A flat list's or a string's items, sortable; None for anything else."""
    if isinstance(v, str):
        return sorted(v)
    if isinstance(v, (list, tuple)) and all(is_number(x) or isinstance(x, str) for x in v):
        try:
            return sorted(v)
        except TypeError:
            return None
    return None


def rearrangements(examples: Sequence[Example]) -> dict[int | str, int | str]:
    """Arguments that every example gives as a rearrangement of an earlier one (`s2` an anagram of
    `s1`, `target` a permutation of `nums`): {later key: earlier key}. A search for one from the
    other never ends, or runs out of time, on grown inputs where it is none (both candidates alike).
    Not read when the two are equal in every example (that is another relation) or have under two items."""
    keys = list(examples[0]) if examples else []
    out: dict[int | str, int | str] = {}
    for j, kj in enumerate(keys):
        for ki in keys[:j]:
            pairs = [(ex.get(ki), ex.get(kj)) for ex in examples]
            if any(a is None or b is None or type(a) is not type(b) for a, b in pairs):
                continue
            items = [(_items(a), _items(b)) for a, b in pairs]
            if all(x is not None and x == y and len(x) >= 2 for x, y in items) and any(a != b for a, b in pairs):
                out[kj] = ki
                break
    return out


def rearranged(source: Any, rng: random.Random) -> Any:
    """A shuffled copy of `source` (a flat list or a string), of its type."""
    items = list(source)
    rng.shuffle(items)
    return "".join(items) if isinstance(source, str) else type(source)(items)


def _gated(props: dict[str, Any], promised: set[str]) -> dict[str, Any]:
    """What the examples show, kept only where the statement promises it too (`constraints.read`'s
    "promises": "order", "distinct", "permutation", "disjoint"), beyond what fresh draws always kept
    (sorted stays sorted, distinct stays distinct). Examples are small, and a sorted or distinct one
    is often chance: then tiling keeps its repeats and patterns, which are the point of tiling."""
    kind = props.get("kind")
    if "permutation" not in promised:
        props.pop("perm", None)
    if kind == "matrix" and "order" not in promised:
        for flag in ("rowmajor", "rows", "cols"):
            props.pop(flag, None)
    if kind == "records":
        if "order" not in promised:
            props.pop("by_first", None)
        if "disjoint" not in promised or not props.get("by_first"):
            props.pop("disjoint", None)
        if props.get("by_first"):
            props["tile"] = "offset"
    if kind == "flat" and (
        (props.get("order") and "order" in promised)
        or (props.get("unique") and "distinct" in promised)
        or (props.get("perm") is not None)
    ):
        props["tile"] = "offset"
    if kind == "strings" and props.get("unique") and "distinct" in promised:
        props["tile"] = "fresh"
    return props
