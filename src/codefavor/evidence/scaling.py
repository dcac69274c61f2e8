"""Performance inputs: an instruction's example calls grown type-aware into bigger inputs of the same shape.

Efficiency evidence needs inputs big enough to show a cost gap, but of the shape the instruction
promises. The example calls (`Call`, found by `evidence.examples`) grow type-aware: lists, tuples,
strings, sets and dicts get longer (fresh elements drawn like the example's, or the example tiled),
square matrices grow in both dimensions, and, when a call has no collection at all, its integers grow
(keeping parity and primality, capped). Scalars beside a collection (an index, a k, a character)
stay as they are, so the call keeps its meaning. Everything is seeded: both candidates of a pair
always see the same inputs.

Grown inputs must keep the problem's preconditions, or two correct candidates disagree (or fail)
and the pair says nothing: what every example of an argument shows and what the statement's
Constraints section states (read by `evidence.constraints` and passed in as plain data,
`level_calls(..., facts=...)`) are read and restored by `evidence.preconditions` (what the examples
show) and checked and applied by `evidence.stated_facts` (what the statement states); this module
grows records, matrices, multiplicities, bracket strings and graphs in a way that can keep them.

`evidence.efficiency` calls `level_calls` in the parent and sends each candidate process the grown
calls as data. It stays pure (the standard library only, nothing of the package but its siblings
`preconditions` and `stated_facts`, which are pure too; no I/O), so the same inputs come out for the
same seed wherever it runs.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codefavor.evidence.preconditions import Example, collection_length, is_number, keep, numbers, profiles, rearranged
from codefavor.evidence.stated_facts import apply_facts, valid_facts

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
        numbers(example, nums)
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
        and all(is_number(x) for r in v for x in r)
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
    every example of this argument shows (`preconditions.profiles`): kept by both modes (`keep`).
    """
    if k <= 1:
        return value
    if props:
        return keep(_grow_shaped(value, k, rng, mode, props), rng, props, mode)
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


def _example(call: Call) -> Example:
    """A call's argument values by position and by keyword name, as `preconditions` reads them."""
    return {**dict(enumerate(call.args)), **dict(call.kwargs)}


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

    `props` (by position: `preconditions.profiles`) are what the examples of each argument show,
    kept as it grows; `facts` the statement's constraints (`constraints.read`), applied after
    growing (`stated_facts.apply_facts`).
    """
    props = props or {}
    keys: list[int | str] = [*range(len(call.args)), *(k for k, _ in call.kwargs)]
    vals = [_arg(call, key) for key in keys]
    # A collection of collections whose own length is stated fixed (`grid.length == 2`: two rows of
    # n) grows its items, as a fixed-shape record does.
    fixed = set(fixed) | {
        key
        for key, v in zip(keys, vals, strict=True)
        if props.get(key, {}).get("length") is not None
        and isinstance(v, (list, tuple))
        and v
        and all(isinstance(x, (list, tuple)) and x for x in v)
    }
    if _has_collection(call):

        def length(key: int | str, v: Any) -> int:
            if key in fixed:
                return max((collection_length(x) for x in v), default=0)
            if props.get(key, {}).get("length") is not None:
                return 0  # a fixed length (`costs.length == 3`) says nothing about the size
            return collection_length(v)

        longest = max(length(key, v) for key, v in zip(keys, vals, strict=True))
        k = target / max(longest, 1)
        new = []
        for key, v in zip(keys, vals, strict=True):
            if key in fixed:
                new.append(type(v)(grow(x, k, rng, mode=mode) for x in v))
            elif collection_length(v):
                new.append(grow(v, k, rng, mode=mode, props=props.get(key)))
            elif mode == "fresh" and type(v) is int and 2 <= v <= longest:
                new.append(min(round(v * k), round(longest * k)))
            else:
                new.append(v)
    else:
        k = max(1.0, target / 16) ** 2
        new = [scale_int(v, k) if isinstance(v, int) and not isinstance(v, bool) else v for v in vals]
    if facts:
        new = apply_facts(keys, vals, new, facts, props, mode, rng)
    for j, key in enumerate(keys):  # `s2` an anagram of `s1` in every example: so grown too
        src = props.get(key, {}).get("rearranges")
        if src in keys and isinstance(new[keys.index(src)], (str, list, tuple)):
            new[j] = rearranged(new[keys.index(src)], rng)
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
    show (`preconditions.profiles`) and the statement's `facts` that the examples keep
    (`constraints.read`, by argument position) hold for the grown inputs too."""
    fixed = _fixed_shape(calls)
    examples = [_example(c) for c in calls]
    facts = valid_facts(facts or {}, examples)
    props = profiles(examples, facts)
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


# --- Growth that can keep what the examples show ---------------------------------------------------
#
# `preconditions.profiles` reads what every example of an argument shows; `_grow_shaped` grows a value
# so that `preconditions.keep` can restore it after growing (a fixed length stays, records, matrices
# and graphs grow as such, multiplicities and shifted copies replace plain draws and tiling).


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
