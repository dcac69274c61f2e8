"""Performance inputs: an instruction's example calls grown type-aware into bigger inputs of the same shape.

Efficiency evidence needs inputs big enough to show a cost gap, but of the shape the instruction
promises. The example calls (`Call`, found by `evidence.examples`) grow type-aware: lists, tuples,
strings, sets and dicts get longer (fresh elements drawn like the example's, or the example tiled),
square matrices grow in both dimensions, and, when a call has no collection at all, its integers grow
(keeping parity and primality, capped). Scalars beside a collection (an index, a k, a character)
stay as they are, so the call keeps its meaning. Everything is seeded: both candidates of a pair
always see the same inputs.

Grown inputs must keep the problem's preconditions, or two correct candidates disagree (or fail)
and the pair says nothing. What every example of an argument shows is kept (`_profile`): sorted or
strictly increasing lists, permutations of 0..n-1 or 1..n, distinct values, multiplicities (every
value three times but one), matrices sorted row-major or by rows and columns, records of a fixed
width, intervals sorted and disjoint, adjacency lists, balanced brackets, strings with punctuation
(paths keep their slashes). What the statement's Constraints section states, read by
`evidence.constraints` and passed in as plain data (`level_calls(..., facts=...)`), is applied
after growing (`_apply_facts`), once checked on the examples: a fixed length, value bounds on
scalars, on every number of an argument or on one column of its records, bounds by another
argument (a size `n` that the values refer to grows with their collection), and relations between
columns (`first <= last`, `a != b`, unique pairs).

`evidence.efficiency` calls `level_calls` in the parent and sends each candidate process the grown
calls as data. It stays pure (the standard library only, nothing of the package, no I/O), so the
same inputs come out for the same seed wherever it runs.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_INT = 10**12  # integers never grow past this: bigger inputs measure bignum arithmetic, not the algorithm
MAX_LEN = 1 << 18  # nor collections past this many items (the ladder stops well before)


@dataclass(frozen=True)
class Call:
    """The literal arguments of one call of the entry function."""

    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()

    def size(self) -> int:
        return sum(_size(v) for v in (*self.args, *(v for _, v in self.kwargs)))

    def source(self, name: str) -> str:
        """The call as Python source (every value is a literal, so repr round-trips)."""
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{name}({', '.join(parts)})"


def _size(v: Any) -> int:
    if isinstance(v, (str, bytes)):
        return len(v)
    if isinstance(v, dict):
        return len(v) + sum(_size(x) for x in v.values())
    if isinstance(v, (list, tuple, set, frozenset)):
        return len(v) + sum(_size(x) for x in v)
    return 1


def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (far beyond MAX_INT)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def scale_int(v: int, k: float) -> int:
    """Grow a size-like integer by about `k`, keeping its sign, parity, primality and power-of-two-ness."""
    if isinstance(v, bool) or abs(v) < 2 or k <= 1:
        return v
    sign, a = (-1 if v < 0 else 1), abs(v)
    if a & (a - 1) == 0 and a != 2:  # 2 is prime first  # a power of two stays one (bit tricks, halving loops)
        out = 1 << min(int(round(math.log2(a * k))), int(math.log2(MAX_INT)))
        return sign * out
    n = min(int(a * k), MAX_INT - 1000)  # room for the small steps below
    if _is_prime(a):
        while not _is_prime(n):
            n += 1
        return sign * n
    if n % 2 != a % 2:
        n += 1
    while _is_prime(n) and n > 3:  # a composite stays composite (factorisation tasks)
        n += 2
    return sign * n


def _numbers(v: Any, out: dict[type, list[float]]) -> None:
    """Collect the numbers inside a value by type (bool apart), to draw fresh ones alike."""
    if isinstance(v, bool):
        return
    if isinstance(v, (int, float)):
        out.setdefault(type(v), []).append(v)
    elif isinstance(v, dict):
        for x in v.values():
            _numbers(x, out)
        for x in v:
            _numbers(x, out)
    elif isinstance(v, (list, tuple, set, frozenset)):
        for x in v:
            _numbers(x, out)


def _strings(v: Any, out: list[str]) -> None:
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, dict):
        for x in (*v.keys(), *v.values()):
            _strings(x, out)
    elif isinstance(v, (list, tuple, set, frozenset)):
        for x in v:
            _strings(x, out)


class _Pool:
    """How to draw a fresh element like the example's: numbers from the example's range widened by
    the growth factor (so duplicates stay about as common), strings from its characters."""

    def __init__(self, example: Any, k: float, rng: random.Random, min_span: int = 0):
        nums: dict[type, list[float]] = {}
        _numbers(example, nums)
        strs: list[str] = []
        _strings(example, strs)
        self.rng, self.k = rng, k
        self.ranges = {}
        for t, xs in nums.items():
            lo, hi = min(xs), max(xs)
            span = max(max(hi - lo, 1) * k, min_span)
            if lo >= 0:
                self.ranges[t] = (lo, lo + span)
            elif hi <= 0:
                self.ranges[t] = (hi - span, hi)
            else:  # both signs: keep the balance of negatives and positives
                grow_by = span / (hi - lo)
                self.ranges[t] = (lo * grow_by, hi * grow_by)
        self.chars = "".join(strs) or string.ascii_lowercase
        if len(set(self.chars)) < 3 and self.chars.isalpha():  # "aa", "a": the letters are examples, not the alphabet
            self.chars += string.ascii_uppercase if self.chars.isupper() else string.ascii_lowercase

    def number(self, proto: int | float) -> int | float:
        lo, hi = self.ranges.get(type(proto), (0, 10 * self.k))
        if isinstance(proto, int):
            lo_i, hi_i = int(math.floor(lo)), int(math.ceil(hi))
            # random() is many times cheaper than randint(), and the harness draws inputs of
            # 10^4+ elements per level; the tiny bias of scaling a float does not matter here.
            return min(hi_i, lo_i + int(self.rng.random() * (hi_i - lo_i + 1)))
        return round(self.rng.uniform(lo, hi), 3)

    def string(self, proto: str, extra: int = 0) -> str:
        if not proto:
            return proto
        # Same length (plus `extra` when short strings run out of distinct values); characters
        # drawn with the frequencies of the example's own text.
        return "".join(self.rng.choices(self.chars, k=len(proto) + extra))

    def like(self, proto: Any, extra: int = 0) -> Any:
        """A fresh element shaped like `proto` (inner containers keep their length)."""
        if isinstance(proto, bool):
            return self.rng.random() < 0.5
        if isinstance(proto, (int, float)):
            return self.number(proto)
        if isinstance(proto, str):
            return self.string(proto, extra)
        if isinstance(proto, tuple):
            return tuple(self.like(x, extra) for x in proto)
        if isinstance(proto, list):
            return [self.like(x) for x in proto]
        if isinstance(proto, (set, frozenset)):
            return type(proto)(self.like(x) for x in proto)
        if isinstance(proto, dict):
            return {self.like(key): self.like(val) for key, val in proto.items()}
        return proto


def _extra(collisions: int) -> int:
    """Extra characters for fresh strings after this many collisions: slow (logarithmic) growth,
    enough to leave a crowded space of short strings without making long ones."""
    return max(0, collisions // 8).bit_length()


def _is_square_matrix(v: Any) -> bool:
    # Three rows or more: two pairs ([[1, 3], [6, 9]]) are more often records (intervals, edges).
    return (
        isinstance(v, list)
        and len(v) >= 3
        and all(isinstance(r, list) and len(r) == len(v) for r in v)
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for r in v for x in r)
    )


def _sorted_kind(v: Sequence[Any]) -> str | None:
    """'asc' or 'desc' when a sequence of 3+ comparable items is sorted, else None."""
    if len(v) < 3:
        return None
    try:
        if all(v[i] <= v[i + 1] for i in range(len(v) - 1)):
            return "asc"
        if all(v[i] >= v[i + 1] for i in range(len(v) - 1)):
            return "desc"
    except TypeError:
        return None
    return None


def _unique(v: Sequence[Any]) -> bool:
    try:
        return len(v) >= 3 and len(set(v)) == len(v)
    except TypeError:
        return False


def grow(value: Any, k: float, rng: random.Random, *, mode: str = "fresh", props: dict[str, Any] | None = None) -> Any:
    """`value` grown by about `k` times. Containers and strings get longer; other values stay.

    mode "fresh" draws new elements like the example's (keeping sortedness and uniqueness);
    mode "tile" repeats the example (keeping its exact duplicates and patterns). `props` are what
    every example of this argument shows (`_profile`): kept by both modes (`_keep`).
    """
    if k <= 1:
        return value
    if props:
        return _keep(_grow_shaped(value, k, rng, mode, props), rng, props, mode)
    if isinstance(value, str):
        if len(value) <= 1:
            return value  # a character argument (a separator, a letter to find)
        n = min(MAX_LEN, max(len(value) + 1, round(len(value) * k)))
        if mode == "tile":  # words stay whole: copies are joined by a space when the text has spaces
            sep = " " if " " in value else ""
            reps = -(-n // (len(value) + len(sep)))
            return sep.join([value] * reps) if sep else (value * reps)[:n]
        alphabet = value
        letters = {c for c in value if c.isalpha()}
        if len(letters) < 3 and letters and all(c.isalpha() or c == " " for c in value):
            # One or two letters ("aaaa") say little about the alphabet: use the whole one, in their case.
            alphabet = value + (string.ascii_uppercase if value.isupper() else string.ascii_lowercase)
        return "".join(rng.choices(alphabet, k=n))
    if _is_square_matrix(value):
        side = min(int(math.isqrt(MAX_LEN)), max(len(value) + 1, round(len(value) * math.sqrt(k))))
        pool = _Pool(value, math.sqrt(k), rng)
        flat = [x for r in value for x in r]
        return [[pool.number(x) for x in rng.choices(flat, k=side)] for _ in range(side)]
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if not value:
            return value
        n = min(MAX_LEN, max(len(value) + 1, round(len(value) * k)))
        if isinstance(value, dict):
            pool = _Pool(value, k, rng)
            items = list(value.items())
            out = dict(items)
            tries = 0
            while len(out) < n and tries < 8 * n:
                key, val = rng.choice(items)
                out.setdefault(pool.like(key, extra=_extra(tries + 1 - len(out))), pool.like(val))
                tries += 1
            return out
        items = list(value)
        if mode == "tile" and isinstance(value, (list, tuple)):
            seq = (items * (-(-n // len(items))))[:n]
            return type(value)(seq)
        unique = isinstance(value, (set, frozenset)) or _unique(items)
        pool = _Pool(value, k, rng, min_span=2 * n if unique else 0)  # room for n distinct numbers
        if unique:
            seen: set[Any] = set(items)
            fresh = list(items)
            tries = 0
            while len(fresh) < n and tries < 8 * n:
                x = pool.like(rng.choice(items), extra=_extra(tries + len(items) - len(fresh)))
                if x not in seen:
                    seen.add(x)
                    fresh.append(x)
                tries += 1
            rng.shuffle(fresh)
        else:
            fresh = [pool.like(x) for x in rng.choices(items, k=n)]
        order = _sorted_kind(items) if isinstance(value, (list, tuple)) else None
        if order:
            fresh.sort(reverse=order == "desc")
        return type(value)(fresh)
    return value


def _has_collection(call: Call) -> bool:
    vals = (*call.args, *(v for _, v in call.kwargs))
    return any(
        (isinstance(v, str) and len(v) > 1) or (isinstance(v, (list, tuple, set, frozenset, dict)) and len(v) > 0)
        for v in vals
    )


def _length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, set, frozenset, dict)) and not (isinstance(v, str) and len(v) <= 1):
        return len(v)
    return 0


def _fixed_shape(calls: Sequence[Call]) -> set[int | str]:
    """Argument positions that hold a fixed-shape record, whose length must not grow: a list or
    tuple of strings of the same length in every example (two or more: a pair of strings, whose
    items grow instead), or a pair of numbers beside a collection of pairs (an interval, a point:
    `insert(intervals, [2, 5])`). Any other collection grows, whatever the examples' lengths (all
    examples of five items still grow to thousands)."""
    if not calls:
        return set()
    first = calls[0]
    keys: list[int | str] = [*range(len(first.args)), *(k for k, _ in first.kwargs)]
    columns = {key: [_arg(c, key) for c in calls] for key in keys}

    def same_length(vals: list[Any]) -> bool:
        return all(isinstance(v, (list, tuple)) for v in vals) and len({len(v) for v in vals}) == 1 and len(vals[0])

    out: set[int | str] = set()
    pairs: set[int | str] = set()
    for key, vals in columns.items():
        if not same_length(vals):
            continue
        items = [x for v in vals for x in v]
        if len(calls) >= 2 and all(isinstance(x, str) for x in items):
            out.add(key)
        elif len(vals[0]) <= 2 and all(isinstance(x, (int, float)) for x in items):
            pairs.add(key)
    # A pair is one more record of a growing collection of pairs (`insert(intervals, [2, 5])`); a pair
    # beside a list of numbers is data like it (`median([1, 3], [2])`).
    records = [k for k, vals in columns.items() if k not in pairs and k not in out and isinstance(vals[0], list)
               and vals[0] and all(isinstance(x, (list, tuple)) and len(x) == 2 for x in vals[0])]  # fmt: skip
    return out | (pairs if records else set())


_MISSING = object()


def _arg(call: Call, key: int | str) -> Any:
    if isinstance(key, int):
        return call.args[key] if key < len(call.args) else _MISSING
    return dict(call.kwargs).get(key, _MISSING)


def scale_call(
    call: Call,
    target: int,
    rng: random.Random,
    *,
    mode: str = "fresh",
    fixed: set[int | str] | frozenset = frozenset(),
    props: dict[int | str, dict[str, Any]] | None = None,
    facts: dict[str, Any] | None = None,
) -> Call:
    """Grow a call so that its largest collection has about `target` items, the others in proportion.

    Positions in `fixed` keep their length and grow their items. In "fresh" mode, integers between 2
    and the longest collection's length (a k, a count, an index) grow in proportion too, so they stay
    in range; "tile" mode keeps them. A call without any collection grows its integers by
    `(target / 16) ** 2` instead (the first level, 16, is the example itself): integer inputs need
    far bigger steps than lengths to cost anything.

    `props` (by position: `_profile`) are what the examples of each argument show, kept as it grows;
    `facts` the statement's constraints (`constraints.read`), applied after growing (`_apply_facts`).
    """
    props = props or {}
    keys: list[int | str] = [*range(len(call.args)), *(k for k, _ in call.kwargs)]
    vals = [_arg(call, key) for key in keys]
    if _has_collection(call):

        def length(key: int | str, v: Any) -> int:
            if props.get(key, {}).get("length") is not None:
                return 0  # a fixed length (`costs.length == 3`) says nothing about the size
            if key in fixed:
                return max((_length(x) for x in v), default=0)
            return _length(v)

        longest = max(length(key, v) for key, v in zip(keys, vals, strict=True))
        k = target / max(longest, 1)
        new = []
        for key, v in zip(keys, vals, strict=True):
            if key in fixed:
                new.append(type(v)(grow(x, k, rng, mode=mode) for x in v))
            elif _length(v):
                new.append(grow(v, k, rng, mode=mode, props=props.get(key)))
            elif mode == "fresh" and type(v) is int and 2 <= v <= longest:
                new.append(min(round(v * k), round(longest * k)))
            else:
                new.append(v)
    else:
        k = max(1.0, target / 16) ** 2
        new = [scale_int(v, k) if isinstance(v, int) and not isinstance(v, bool) else v for v in vals]
    if facts:
        new = _apply_facts(keys, vals, new, facts, props, mode, rng)
    n = len(call.args)
    return Call(tuple(new[:n]), tuple((name, v) for (name, _), v in zip(call.kwargs, new[n:], strict=True)))


def level_calls(
    calls: Sequence[Call],
    target: int,
    seed: str,
    *,
    modes: Sequence[str] = ("fresh", "tile"),
    max_calls: int = 2,
    facts: dict[str, Any] | None = None,
) -> list[Call]:
    """The scaled inputs of one ladder level: the `max_calls` largest examples, each grown to
    `target` in every mode (duplicates dropped). Seeded by `seed` and the level, so both candidates
    see the same inputs and a level can be built on its own. What all the examples of an argument
    show (`_profile`) and the statement's `facts` that the examples keep (`constraints.read`, by
    argument position) hold for the grown inputs too."""
    fixed = _fixed_shape(calls)
    facts = _valid_facts(facts or {}, calls)
    props = _profiles(calls, facts)
    base = sorted(calls, key=lambda c: -c.size())[:max_calls]
    level: list[Call] = []
    for i, call in enumerate(base):
        for mode in modes if _has_collection(call) else ("fresh",):
            rng = random.Random(f"{seed}:{target}:{i}:{mode}")
            scaled = scale_call(call, target, rng, mode=mode, fixed=fixed, props=props, facts=facts)
            if scaled not in level:
                level.append(scaled)
    return level


def ladder(calls: Sequence[Call], targets: Sequence[int], seed: str, **options: Any) -> list[list[Call]]:
    """`level_calls` for every target size."""
    return [level_calls(calls, t, seed, **options) for t in targets]


# --- What every example of an argument shows, kept as it grows -------------------------------------
#
# The examples of a statement keep its preconditions: a sorted list, a permutation, distinct values,
# every value three times but one, a matrix sorted row by row, intervals sorted and disjoint, records
# whose first column never exceeds the second, brackets that balance. `_profile` reads those
# properties off all the examples of one argument (a property holds only if every example shows
# it); `_grow_shaped` grows in a way that can keep them and `_keep` restores them after growing.


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _num_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(_is_num(x) for x in v)


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

    profiles = []
    for v in vals:
        counts = Counter(Counter(v).values())
        profiles.append(counts)
    kinds = {frozenset(p) for p in profiles}
    if len(kinds) != 1 or len(next(iter(kinds))) < 2 or max(next(iter(kinds))) < 2:
        return None
    out: dict[int, int | None] = {}
    for m in next(iter(kinds)):
        counts = {p[m] for p in profiles}
        out[m] = counts.pop() if len(counts) == 1 and len(profiles) >= 2 else None
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


def _mutate(s: str, rng: random.Random, letters: str) -> str:
    """`s` with every letter and digit redrawn from its own class (case kept), the rest in place."""
    out = []
    for c in s:
        if c.isdigit():
            out.append(rng.choice(string.digits))
        elif c.isalpha():
            ch = rng.choice(letters)
            out.append(ch.upper() if c.isupper() else ch)
        else:
            out.append(c)
    return "".join(out)


def _letters(texts: Sequence[str]) -> str:
    letters = "".join(sorted({c.lower() for t in texts for c in t if c.isalpha()}))
    return letters if len(letters) >= 3 else string.ascii_lowercase


def _offset_tile(items: list[Any], n: int, desc: bool) -> list[Any]:
    """The example repeated to `n` items, each copy shifted past the last (sorted and distinct stay so)."""
    lo, hi = min(items), max(items)
    step = (hi - lo) + (1 if all(isinstance(x, int) for x in items) else 1.0)
    out = []
    j = 0
    while len(out) < n:
        shift = step * j
        out += [x - shift if desc else x + shift for x in items]
        j += 1
    out = out[:n]
    return out


def _grow_shaped(value: Any, k: float, rng: random.Random, mode: str, props: dict[str, Any]) -> Any:
    """Grow `value` so that `props` can be kept: a fixed length stays, records and matrices grow as such,
    multiplicities and shifted copies replace plain draws and plain tiling where those would break them."""
    if props.get("length") is not None:
        return value
    kind = props.get("kind")
    if isinstance(value, str) and props.get("balanced"):
        n = min(MAX_LEN, max(len(value) + 1, round(len(value) * k)))
        letters = _letters([value])
        out, size = [], 0
        while size < n:
            piece = value if mode == "tile" else _mutate(value, rng, letters)
            out.append(piece)
            size += len(piece)
        return "".join(out)
    if not isinstance(value, (list, tuple)) or not value:
        return grow(value, k, rng, mode=mode)
    n = min(MAX_LEN, max(len(value) + 1, round(len(value) * k)))
    items = list(value)
    if kind == "flat" and props.get("mult") and all(isinstance(x, int) for x in items):
        return type(value)(_by_multiplicity(items, n, k, rng, props["mult"]))
    if kind == "flat" and mode == "tile" and props.get("tile") == "offset":
        return type(value)(_offset_tile(items, n, props.get("order") == "desc"))
    if kind == "records":
        if mode == "tile":
            seq = (items * (-(-n // len(items))))[:n]
            if props.get("by_first") and props.get("tile") == "offset":
                cols = {0} | {b for a, b in props.get("le", ()) if a == 0}
                span = max(r[c] for r in items for c in cols) - min(r[c] for r in items for c in cols) + 1
                seq = [type(r)(x + span * (i // len(items)) if c in cols else x for c, x in enumerate(r))
                       for i, r in enumerate(seq)]  # fmt: skip
            return type(value)(seq)
        pools = [_Pool([r[c] for r in items], k, rng) for c in range(len(items[0]))]
        return type(value)(type(r)(pools[c].number(x) for c, x in enumerate(r)) for r in rng.choices(items, k=n))
    if kind == "adjacency":
        return _grow_graph(items, n, rng, mode, props["graph"])
    if kind == "strings" and (mode == "fresh" and props.get("shaped") or props.get("tile") == "fresh"):
        if not props.get("shaped"):  # distinct words: fresh ones, never a copy (tiling repeats them)
            return grow(value, k, rng, mode="fresh")
        letters = _letters(items)
        seen: set[str] = set(items)
        fresh = list(items)
        tries = 0
        while len(fresh) < n and tries < 8 * n:
            x = _mutate(rng.choice(items), rng, letters)
            if not props.get("unique") or x not in seen:
                seen.add(x)
                fresh.append(x)
            tries += 1
        rng.shuffle(fresh)
        return type(value)(fresh)
    return grow(value, k, rng, mode=mode)


def _by_multiplicity(items: list[int], n: int, k: float, rng: random.Random, mult: dict[int, int | None]) -> list[int]:
    """`n` or so fresh integers with the example's multiplicities: those that every example gives to the
    same number of values keep that number, the others share out the rest."""
    lo, hi = min(items), max(items)
    span = max(hi - lo, 1) * k
    fixed = {m: c for m, c in mult.items() if c is not None}
    free = sorted(m for m, c in mult.items() if c is None)
    counts = {m: c for m, c in fixed.items()}
    room = n - sum(m * c for m, c in fixed.items())
    for m in free:
        counts[m] = max(1, room // (m * len(free)))
    total = sum(counts.values())
    span = max(span, 4 * total)
    start = lo if lo >= 0 else int(lo * span / max(hi - lo, 1))
    values = rng.sample(range(int(start), int(start + span) + 1), total)
    out: list[int] = []
    for m in sorted(counts):
        for _ in range(counts[m]):
            out += [values.pop()] * m
    rng.shuffle(out)
    return out


def _distinct_sorted(xs: list[Any], rng: random.Random) -> list[Any]:
    """`xs` sorted, and distinct: duplicates make way for fresh values in a range wide enough."""
    xs = sorted(xs)
    if len(set(xs)) == len(xs) or not all(isinstance(x, int) for x in xs):
        return xs
    lo = xs[0]
    hi = max(xs[-1], lo + 2 * len(xs))
    return sorted(rng.sample(range(lo, hi + 1), len(xs)))


def _keep(grown: Any, rng: random.Random, props: dict[str, Any], mode: str = "fresh") -> Any:
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


# --- The statement's constraints, applied to grown inputs ------------------------------------------
#
# `constraints.read` gives bounds on scalars, on the numbers of an argument or on one column of its
# records, relations between two columns, fixed lengths and record widths, all by argument position.
# Only those that every example keeps are used (`_valid_facts`): a misread line then costs nothing.


def _keys_of(calls: Sequence[Call]) -> list[int | str]:
    first = calls[0]
    return [*range(len(first.args)), *(k for k, _ in first.kwargs)]


def _profiles(calls: Sequence[Call], facts: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    if not calls:
        return {}
    out = {}
    for key in _keys_of(calls):
        vals = [v for v in (_arg(c, key) for c in calls) if v is not _MISSING]
        shape = {
            "length": facts.get("length", {}).get(key),
            "width": facts.get("width", {}).get(key),
            "columns": any(t[0] == "col" and t[1] == key for t, *_ in facts.get("bounds", ())),
        }
        props = _gated(_profile(vals, shape), set(facts.get("promises", ())))
        if props:
            out[key] = props
    return out


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


def _eval(expr: Any, vals: dict[int | str, Any]) -> float | None:
    """An expression of `constraints` on the call's values (None when it does not apply)."""
    try:
        op = expr[0]
        if op == "num":
            return expr[1]
        if op == "arg":
            v = vals.get(expr[1])
            return v if _is_num(v) else None
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
        return [r[col] for r in v if isinstance(r, (list, tuple)) and len(r) > col and _is_num(r[col])]
    out: dict[type, list[float]] = {}
    _numbers(v, out)
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


def _holds(fact: Any, kind: str, call: Call) -> bool:
    keys = [*range(len(call.args)), *(k for k, _ in call.kwargs)]
    vals = {key: _arg(call, key) for key in keys}
    if kind == "bound":
        t, side, strict, expr = fact
        b = _eval(expr, vals)
        if b is None or t[1] not in vals:
            return False
        xs = [vals[t[1]]] if t[0] == "arg" else _numbers_in(vals[t[1]], t[2] if t[0] == "col" else None)
        if not xs or not all(_is_num(x) for x in xs):
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


def _valid_facts(facts: dict[str, Any], calls: Sequence[Call]) -> dict[str, Any]:
    """The facts that every example call keeps."""
    if not facts or not calls:
        return {}
    out: dict[str, Any] = {
        "bounds": [f for f in facts.get("bounds", ()) if all(_holds(f, "bound", c) for c in calls)],
        "relations": [f for f in facts.get("relations", ()) if all(_holds(f, "rel", c) for c in calls)],
        "length": {
            key: n for key, n in facts.get("length", {}).items() if all(_length_of(_arg(c, key)) == n for c in calls)
        },
        "width": {
            key: n
            for key, n in facts.get("width", {}).items()
            if all(
                isinstance(v, (list, tuple)) and all(isinstance(r, (list, tuple)) and len(r) == n for r in v)
                for v in (_arg(c, key) for c in calls)
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
            type(r)(mapping.get(x, x) if c == col and _is_num(x) else x for c, x in enumerate(r))
            if isinstance(r, (list, tuple)) else r
            for r in v
        )  # fmt: skip
    if _is_num(v):
        return mapping.get(v, v)
    if isinstance(v, (list, tuple)):
        return type(v)(_remap(x, mapping, None) for x in v)
    if isinstance(v, (set, frozenset)):
        return type(v)(_remap(x, mapping, None) for x in v)
    if isinstance(v, dict):
        return {k: _remap(x, mapping, None) for k, x in v.items()}
    return v


def _apply_facts(
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
    sizes = set() if any(_length(v) for v in new) else {key for key in keys if type(vals[key]) is int}
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
                    keep = sorted(rng.sample(range(len(v)), room))
                    v = type(v)(v[i] for i in keep)
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
            if not _is_num(v):
                continue
            lo, hi = _limits(bounds, ("arg", key), vals)
            if hi is not None and v > hi:
                v = int(math.floor(hi)) if isinstance(v, int) else hi
            if lo is not None and v < lo:
                v = int(math.ceil(lo)) if isinstance(v, int) else lo
            vals[key] = v


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


def _grow_graph(graph: list[list[int]], n: int, rng: random.Random, mode: str, kind: str) -> list[list[int]]:
    """A bigger adjacency list of the same kind: copies of the example side by side ("tile"), or a
    random graph of `n` nodes as dense as the example's."""
    m = len(graph)
    if mode == "tile":
        copies = -(-n // m)
        return [[x + j * m for x in r] for j in range(copies) for r in graph]
    degree = sum(map(len, graph)) / m
    edges = max(1, round(degree * n / (2 if kind == "undirected" else 1)))
    adj: list[set[int]] = [set() for _ in range(n)]
    for _ in range(edges):
        u, v = rng.randrange(n), rng.randrange(n)
        if u == v:
            continue
        if kind == "forward" and u > v:
            u, v = v, u
        adj[u].add(v)
        if kind == "undirected":
            adj[v].add(u)
    return [sorted(r) for r in adj]
