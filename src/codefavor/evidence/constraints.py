"""A statement's Constraints section read as plain data, so that grown timing inputs keep its promises.

Programming sites state the preconditions of a problem as lines such as `1 <= nums[i] <= 100`,
`1 <= firsti <= lasti <= n`, `0 <= ai, bi < n`, `bookings[i].length == 3`, `costs.length == 3` or
`1 <= k <= num.length`. `read` turns the lines it understands into facts about the entry point's
arguments (named by the statement's parameter names, given by position), which `scaling.level_calls`
applies to the inputs it grows: bounds on a scalar, on every number of an argument or on one column
of its records (the names of `bookings[i] = [firsti, lasti, seatsi]`), bounds that refer to another
argument (its value or its length), relations between two columns (`<=`, `!=`), a fixed length and a
fixed record width. A line with anything it cannot resolve is left out: the facts say less, never
something else. `preconditions` checks every fact on the examples again and drops those they break.

The facts are plain tuples and dicts (they travel pickled to where the inputs grow); an expression
is a tree: ("num", 5), ("arg", key), ("len", key), (op, a, b) with op one of + - * ** min max.
Pure: the standard library only, nothing of the package, no I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

Key = int | str  # an argument: its position, or a keyword's name

_SECTION = re.compile(r"^\s*Constraints\s*:?\s*$", re.I | re.M)
_END = re.compile(r"^\s*(?:Follow[- ]up|Note)\b", re.I)
_RECORD = re.compile(r"\b([A-Za-z_]\w*)\[i\]\s*=\s*[\[(]\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*[\])]")
_OP = re.compile(r"(<=|>=|==|!=|<|>|≤|≥|≠)")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_UNICODE = {"≤": "<=", "≥": ">=", "≠": "!="}


# Powers as pages write them: HTML superscripts (`10<sup>4</sup>`), and the same text copied without
# its markup, where the exponent runs into the base (`104` for 10^4, `231 - 1` for 2^31 - 1). No
# constraint writes such a literal (a bound is 100 or 1000, not 104 or 109), and a misread bound the
# examples do not keep is dropped (`stated_facts.valid_facts`).
_SUP = re.compile(r"<sup>\s*(\d+)\s*</sup>")
_LOST_TEN = re.compile(r"(?<![\w.^])(?<!\*\*)10([3-9]|1[0-8])(?![\w.^])")
_LOST_TWO = re.compile(r"(?<![\w.^])(?<!\*\*)2(31|32|63|64)(?![\w.^])")


def _powers(text: str) -> str:
    return _LOST_TWO.sub(r"2^\1", _LOST_TEN.sub(r"10^\1", text))


def _lines(statement: str) -> list[str]:
    """The lines of the Constraints section (bullets stripped, parentheticals dropped)."""
    m = _SECTION.search(statement)
    if not m:
        return []
    out = []
    for line in statement[m.end() :].replace("\u200b", "").splitlines():  # pages pad some lines with zero-width spaces
        if _END.match(line):
            break
        # a bullet is a mark and a space: `-10^4 <= nums[i]` starts with a negative bound, not a bullet
        line = re.sub(r"^\s*(?:[*•]\s*|-\s+|\d+[.)]\s+)", "", _SUP.sub(r"^\1", line)).strip().rstrip(".")
        line = re.sub(r"\s*\((?=[^()]*\b[a-z]{2,}\s+[a-z]{2,})[^()]*\)\s*$", "", line)  # "(taking num as a string)"
        if line:
            out.append(line)
    return out


def _columns(statement: str) -> dict[str, tuple[str, int]]:
    """Names of record columns, from `bookings[i] = [firsti, lasti, seatsi]`: each name (also without
    its subscript i) -> (the record argument's name, the column)."""
    out: dict[str, tuple[str, int]] = {}
    for m in _RECORD.finditer(statement):
        for c, name in enumerate(x.strip() for x in m.group(2).split(",")):
            out.setdefault(name, (m.group(1), c))
            if len(name) > 1 and name.endswith("i"):
                out.setdefault(name[:-1], (m.group(1), c))
    return out


class _Unknown(ValueError):
    """A term that names nothing the call has."""


class _Reader:
    def __init__(self, names: dict[str, Key], columns: dict[str, tuple[str, int]]):
        self.names, self.columns = names, columns
        self.aliases: dict[str, tuple[Any, ...]] = {}  # `n == nums.length`: n is that length

    def term(self, text: str) -> tuple[Any, ...]:
        """What a term is: ("value", expr) for a number or scalar expression, ("elem", key) for the
        numbers of an argument, ("col", key, c) for one column of its records, ("width", key) for the
        length of its records."""
        t = text.strip()
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\s*\w+\s*\])+)\.length", t)
        if m and m.group(1) in self.names and len(re.findall(r"\[", m.group(2))) == 1:
            return ("width", self.names[m.group(1)])
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\s*[a-z]\s*\])+)", t)
        if m and m.group(1) in self.names:
            return ("elem", self.names[m.group(1)])
        if t in self.columns and t not in self.names:
            rec, c = self.columns[t]
            if rec in self.names:
                return ("col", self.names[rec], c)
        return ("value", self.expr(t))

    def expr(self, text: str) -> tuple[Any, ...]:
        src = re.sub(r"\b([A-Za-z_]\w*)\.length\b", r"len(\1)", _powers(text).replace("^", "**"))
        src = re.sub(r"(\d)\s*\*\*\s*\(?\s*(\d+)\s*\)?", r"\1**\2", src)
        try:
            node = ast.parse(src, mode="eval").body
        except (SyntaxError, ValueError, RecursionError):
            raise _Unknown(text) from None
        return self._node(node)

    def _node(self, node: ast.AST) -> tuple[Any, ...]:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return ("num", node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self._node(node.operand)
            return ("num", -inner[1]) if inner[0] == "num" else ("-", ("num", 0), inner)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Pow: "**"}.get(type(node.op))
            if op:
                a, b = self._node(node.left), self._node(node.right)
                if a[0] == b[0] == "num" and (op != "**" or abs(b[1]) < 64):
                    return ("num", _apply(op, a[1], b[1]))
                return (op, a, b)
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            if node.id in self.names:
                return ("arg", self.names[node.id])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id == "len" and len(node.args) == 1 and isinstance(node.args[0], ast.Name):
                name = node.args[0].id
                if name in self.names:
                    return ("len", self.names[name])
            if node.func.id in ("min", "max") and len(node.args) == 2:
                return (node.func.id, self._node(node.args[0]), self._node(node.args[1]))
        raise _Unknown(ast.dump(node))


def _apply(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "**":
        return a**b
    if op == "min":
        return min(a, b)
    return max(a, b)


def _chain(line: str) -> list[tuple[list[str], str]] | None:
    """`1 <= m, n <= 100` as [(["1"], "<="), (["m", "n"], "<="), (["100"], "")]; None if not a chain."""
    line = line
    for u, a in _UNICODE.items():
        line = line.replace(u, a)
    parts = _OP.split(line)
    if len(parts) < 3:
        return None
    out = []
    for i in range(0, len(parts), 2):
        terms = [t.strip() for t in _split_commas(parts[i])]
        if not terms or any(not t for t in terms):
            return None
        out.append((terms, parts[i + 1] if i + 1 < len(parts) else ""))
    return out


def _split_commas(text: str) -> list[str]:
    """Commas outside brackets split terms (`min(26, s.length)` is one)."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    return [*out, cur]


def read(statement: str, names: Sequence[str]) -> dict[str, Any]:
    """The facts of `statement`'s Constraints section about the arguments named `names` (in order;
    a keyword argument may also be named by itself): {"bounds": [(target, side, strict, expr)],
    "relations": [(op, key, col_a, col_b)], "length": {key: n}, "width": {key: n}, "promises": [...]},
    where target is ("arg", key), ("elem", key) or ("col", key, c) and side "lo" or "hi", and the
    promises are what the prose says of the inputs anywhere in the statement ("order", "distinct",
    "permutation", "disjoint"). Empty when there is none."""
    keys: dict[str, Key] = {}
    for i, n in enumerate(names):
        if n and n not in keys:
            keys[n] = i
    reader = _Reader(keys, _columns(statement))
    facts: dict[str, Any] = {"bounds": [], "relations": [], "length": {}, "width": {}, "promises": []}
    lines = _lines(statement)
    for line in lines:  # aliases first: `n == nums1.length == nums2.length`, `m == grid.length`
        chain = _chain(line)
        if not chain or any(op not in ("==", "") for _, op in chain):
            continue
        try:
            lengths = [reader.term(t) for ts, _ in chain for t in ts if re.search(r"\.length\b", t)]
        except _Unknown:
            continue
        for ts, _ in chain:
            for t in ts:
                if re.fullmatch(r"[A-Za-z_]\w*", t) and t not in keys and lengths and lengths[0][0] == "value":
                    reader.aliases.setdefault(t, lengths[0][1])
    for line in lines:
        chain = _chain(line)
        if chain:
            _read_chain(chain, reader, facts)
            continue
        m = _OF_LENGTH.search(line)  # "time is a valid string of length 5"
        if m and m.group(1) in keys:
            facts["length"][keys[m.group(1)]] = int(m.group(2))
        m = _NAMED_ITEMS.fullmatch(line)  # `center = [cx, cy]`: two items; `towers[i] = [xi, yi, qi]`: rows of three
        if m and m.group(1) in keys:
            facts["width" if m.group(2) else "length"][keys[m.group(1)]] = len(m.group(3).split(","))
        m = _PAIRS.search(line)  # "All the pairs (ui, vi) are unique"
        if m:
            cols = [reader.columns.get(x.strip()) for x in m.group(1).split(",")]
            if len(cols) == 2 and all(cols) and cols[0][0] == cols[1][0] and cols[0][0] in keys:  # type: ignore[index]
                facts["relations"].append(("pairs", keys[cols[0][0]], cols[0][1], cols[1][1]))  # type: ignore[index]
    sentences = [x for x in re.split(r"(?<=[.!?:])\s+|\n", statement) if not _QUESTION.search(x)]
    facts["promises"] = sorted(
        name for name, pattern in _PROMISES.items() if any(pattern.search(x) for x in sentences)
    )
    return facts if any(facts.values()) else {}


# A sentence that asks about a property ("check whether the elements are unique") promises nothing.
_QUESTION = re.compile(
    r"\b(?:check|checks|checking|whether|determine|determines|verify|verifies)\b|\bor\s+not\b", re.I
)

# What a statement promises about its inputs in prose, anywhere in it: `preconditions` keeps the matching
# properties of the examples only when the statement promises them (a sorted example is often chance).
_PROMISES = {
    "order": re.compile(
        r"\b(?:is|are|be)\s+(?:already\s+|also\s+|all\s+)?(?:sorted|in\s+(?:strictly\s+)?(?:non-?)?(?:increasing|decreasing"
        r"|ascending|descending)|(?:strictly\s+)?(?:non-?)?(?:increasing|decreasing))\b|\bsorted\s+(?:in|by)\b",
        re.I,
    ),
    "distinct": re.compile(
        r"\b(?:is|are)\s+(?:all\s+)?(?:distinct|unique)\b|\b(?:distinct|unique)\s+(?:integers|values|elements|numbers"
        r"|strings|words|names|positive integers)\b",
        re.I,
    ),
    "permutation": re.compile(r"\bpermutations?\s+of\b", re.I),
    "disjoint": re.compile(r"\bnon-?overlapping\b|\bdisjoint\b", re.I),
}


_OF_LENGTH = re.compile(r"^([A-Za-z_]\w*) is an? (?:valid |non-empty )?(?:string|array|list) of length (\d+)\b")
_NAMED_ITEMS = re.compile(r"([A-Za-z_]\w*)(\[\s*[a-z]\s*\])?\s*=\s*\[\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*\]")
_PAIRS = re.compile(r"\bpairs?\s*[\[(]([^()\[\]]+)[\])]\s*(?:are|is)\s*(?:unique|distinct)", re.I)


def _read_chain(chain: list[tuple[list[str], str]], reader: _Reader, facts: dict[str, Any]) -> None:
    resolved: list[list[tuple[Any, ...] | None]] = []
    for terms, _ in chain:
        row: list[tuple[Any, ...] | None] = []
        for t in terms:
            try:
                row.append(reader.term(t))
            except _Unknown:
                row.append(None)
        resolved.append(row)
    ops = [op for _, op in chain[:-1]]
    if all(op in ("==", "") for op in ops):
        # `bookings[i].length == 3`, `costs.length == 3`, `s.length == 5`
        nums = [r[1][1] for row in resolved for r in row if r and r[0] == "value" and r[1][0] == "num"]
        if len(nums) == 1 and isinstance(nums[0], int):
            for row in resolved:
                for r in row:
                    if r and r[0] == "width":
                        facts["width"][r[1]] = nums[0]
                    elif r and r[0] == "value" and r[1][0] == "len":
                        facts["length"][r[1][1]] = nums[0]
        return
    if ops == ["!="]:  # `ai != bi`: two columns of the same records
        a, b = resolved[0], resolved[1]
        if len(a) == len(b) == 1 and a[0] and b[0] and a[0][0] == b[0][0] == "col" and a[0][1] == b[0][1]:
            facts["relations"].append(("!=", a[0][1], a[0][2], b[0][2]))
        return
    if any(op in ("==", "!=") for op in ops):
        return
    if any(op in (">", ">=") for op in ops):  # written the other way round: read it reversed
        if not all(op in (">", ">=") for op in ops):
            return
        resolved, ops = resolved[::-1], [_FLIP[o] for o in ops[::-1]]
    for i, row in enumerate(resolved):
        for target in row:
            if target is None or target[0] not in ("arg", "elem", "col", "value"):
                continue
            if target[0] == "value":
                if target[1][0] != "arg":
                    continue
                target = ("arg", target[1][1])
            for j, other_row in enumerate(resolved):
                if j == i:
                    continue
                strict = any(op == "<" for op in (ops[min(i, j) : max(i, j)]))
                side = "lo" if j < i else "hi"
                for other in other_row:
                    if other is None:
                        continue
                    if other[0] == "value":
                        facts["bounds"].append((target, side, strict, other[1]))
                    elif other[0] == "col" and target[0] == "col" and other[1] == target[1] and j == i + 1:
                        if not strict:
                            facts["relations"].append(("<=", target[1], target[2], other[2]))
                        else:
                            facts["relations"].append(("<", target[1], target[2], other[2]))
