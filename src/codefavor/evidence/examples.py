"""Turn the examples written in an instruction into sandbox checks.

Recognised, inside markdown fences or in plain text: doctest blocks (`>>> f(x)` then the expected
output, or a traceback naming the exception), `assert` lines (`assert f(x) == y`,
`assert math.isclose(f(x), y)`, `assert f(x)`, `assert not f(x)`), bare `f(x) == y` and `f(x) = y`,
arrows (`f(x) -> y`, `=>`, `➞`, `returns`, `should return`), comments (`f(x)  # -> y`,
`print(f(x))  # y`), "For x = ..., the output should be y", and "Input: ... / Output: ..." blocks
(arguments of the entry point, named or not; with no function in the instruction, the input is a
program's stdin and the output what it must print). An example may sit inside prose; bare words as
arguments are strings (`is_happy(abcd)`). Expected values must be plain literals
(`ast.literal_eval`, builtin constructors over literals, `float('inf')`); anything else is kept as
a skipped example with its reason, never guessed.

The entry point, for every signal that needs one (correctness, efficiency, `verify`, Critic-Evol's
execution check), is decided here and only here (`entry_point`): the last function the
instruction's code defines (helpers come first; a method of `class Solution` is called as
`Solution().name(...)`), else the function its examples call most (builtins such as `set` or `bool`
wrapped around a call never count). An example naming another function while the instruction
defines exactly one is renamed to it (instructions get names wrong). `Extraction.calls` holds the
literal arguments of every example call of the entry point, which efficiency grows into bigger inputs.
"""

from __future__ import annotations

import ast
import builtins
import functools
import marshal
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codefavor.evidence import calls as calls_mod
from codefavor.evidence.sandbox import Check
from codefavor.evidence.scaling import Call

CALLS = "__codefavor_calls__"  # the call module's name in a candidate's namespace (`sandbox_code`)


@dataclass
class Extraction:
    """What an instruction's examples give: the entry point, the checks, and what could not be used."""

    entry: str | None
    checks: list[Check] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (example text, why it was not used)
    arity: int | None = None  # positional parameters of the entry point, when the instruction defines it
    owner: str | None = None  # the class the entry point is a method of, when it is one
    calls: list[Call] = field(default_factory=list)  # literal example calls of the entry point, in order
    platform: bool = False  # written as programming sites write statements: their conventions apply
    spec: dict[str, object] = field(default_factory=dict)  # how `calls` are made (`calls.prepare`), args aside

    def as_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry if self.entry or not self.spec else "(the code's own)",
            "checks": [c.name for c in self.checks],
            "skipped": [{"example": t[:200], "reason": r} for t, r in self.skipped],
        }


@dataclass
class _Statement:
    """An example written as inputs and an output (or an operation list): its call is a spec."""

    text: str
    args: list[object]
    names: list[str]
    expected: object
    ops: list[str] | None = None


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)", re.M)
_ARROW = re.compile(r"\s*(?:->|=>|➞|==>|→|(?<![=<>!])=(?!=)|\bshould return\b|\breturns\b|\bshould be\b|\bgives\b)\s*")
_FOR_OUTPUT = re.compile(
    r"^(?:for|if|given|with)\s+(?P<args>.+?)\s*[,:]?\s*(?:then\s+)?(?:the\s+)?(?:output|result|answer|return(?:ed)? value)"
    r"\s+(?:should\s+be|is|will\s+be|=)\s*:?\s*(?P<out>.+?)\.?$",
    re.I,
)
_INPUT = re.compile(r"^(?:example\s*\d*\s*:?\s*)?(?:sample\s+)?input\s*\d*\s*:?\s*(?P<in>.*)$", re.I)
_OUTPUT = re.compile(r"^(?:sample\s+)?output\s*\d*\s*:?\s*(?P<out>.*)$", re.I)
_BLOCK_END = re.compile(r"^(?:example|explanation|note|constraints?|input|sample|```|\"\"\"|''')", re.I)
_COMMENT_OUT = re.compile(r"^(?:output|returns?|result|prints?|gives|->|=>|==|=|:)?\s*:?\s*", re.I)
_PREFIX = re.compile(
    r"^(?:[-*•]\s+|\d+[.)]\s+|(?:for\s+)?examples?\s*\d*\s*:\s*|e\.g\.,?\s*|for\s+(?=[A-Za-z_]\w*\())", re.I
)
_SAFE_CTORS = {
    "set": set, "frozenset": frozenset, "tuple": tuple, "list": list, "dict": dict, "float": float, "int": int,
    "str": str, "complex": complex, "sorted": sorted,  # not bytes: bytes(10**10) would allocate
}  # fmt: skip
_CALL_START = re.compile(r"(?<![\w.])(?:assert\s+)?[A-Za-z_]\w*\(")
_BUILTIN_NAMES = set(dir(builtins))
_MAX_LINE = 2000


_NAMED = {"true": True, "false": False, "null": None, "none": None, "inf": math.inf, "infinity": math.inf,
          "nan": math.nan}  # fmt: skip


def _value(node: ast.AST, depth: int = 0) -> object:
    """A plain value from an expression of literals (as `ast.literal_eval`), also inside containers:
    true/false/null spellings, inf/nan, `float('inf')`, `math.inf` and builtin constructors over
    literals (`set([1, 2])`). Raises ValueError for anything else."""
    if depth > 60:
        raise ValueError("too deep")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_value(e, depth + 1) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("a ** in a dict")
        return {_value(k, depth + 1): _value(v, depth + 1) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _value(node.operand, depth + 1)
        if type(v) in (int, float, complex):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):  # complex literals: 1+2j
        left, right = _value(node.left, depth + 1), _value(node.right, depth + 1)
        if type(left) in (int, float) and type(right) is complex:
            return left + right if isinstance(node.op, ast.Add) else left - right
    if isinstance(node, ast.Name) and node.id.lower() in _NAMED:
        return _NAMED[node.id.lower()]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "math":
        if node.attr in ("inf", "nan"):
            return getattr(math, node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SAFE_CTORS:
        if not node.keywords and len(node.args) <= 1:
            return _SAFE_CTORS[node.func.id](*[_value(a, depth + 1) for a in node.args])
    raise ValueError("not a plain literal")


def _literal(text: str) -> tuple[bool, object]:
    """A plain value from text (see `_value`), or (False, None)."""
    t = text.strip().rstrip(".,;")
    if not t:
        return False, None
    node = _parse_expr(t)
    if node is not None:
        try:
            return True, _value(node)
        except (ValueError, TypeError, MemoryError, RecursionError, OverflowError):
            pass
    return False, None


def _quote_bare_words(call: ast.expr) -> ast.expr:
    """`is_happy(abcd)` in prose means the string 'abcd': bare names as direct arguments of the
    example's call (never Python builtins or constants) become string literals."""
    if not isinstance(call, ast.Call):
        return call
    args = [ast.Constant(a.id) if isinstance(a, ast.Name) and a.id not in _BUILTIN_NAMES else a for a in call.args]
    return ast.Call(func=call.func, args=args, keywords=call.keywords)


def _calls(node: ast.AST) -> list[str]:
    return [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


def _called(node: ast.AST) -> str:
    """The function an example is about: the first one it calls that is not a builtin wrapped around
    it (`set(f(x))` is an example of `f`); the first call when every one is a builtin."""
    names = _calls(node)
    return next((n for n in names if n not in _BUILTIN_NAMES), names[0])


def _parse_expr(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _instruction_defs(text: str) -> list[tuple[str, int]]:
    out = []
    for m in _DEF.finditer(text):
        params = [p for p in m.group(2).split(",") if p.strip() and not p.strip().startswith(("*", "self"))]
        out.append((m.group(1), len([p for p in params if "=" not in p])))
    return out


_CLAUSE = re.compile(
    r"(?:[,;]\s*(?:and|but|while|whereas|or)?|\s(?:and|but|while|whereas))\s+(?=[A-Za-z_]\w*\()", re.I
)


def _clauses(text: str) -> list[str]:
    """A sentence cut before each example call it joins to the last (`..., and f(2) ...`), outside
    brackets and strings; only the parts holding a call."""
    depth, quote, at = 0, "", []
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        at.append(depth == 0 and not quote)
    cuts = [m for m in _CLAUSE.finditer(text) if at[m.start()]]
    parts, last = [], 0
    for m in cuts:
        parts.append(text[last : m.start()])
        last = m.end()
    parts.append(text[last:])
    return [p.strip() for p in parts if _CALL_START.search(p)]


class _Collector:
    def __init__(self, defined: list[str]):
        self.defined = defined  # functions the instruction defines; the last is the entry point
        self.raw: list[tuple[str, Check]] = []  # (called function, check)
        self.specs: list[_Statement] = []  # examples given as inputs and an output: the call is built later
        self.sequence: list[object] = []  # every check and statement example in the order of the text
        self.skipped: list[tuple[str, str]] = []

    def add_raw(self, called: str, check: Check) -> None:
        self.raw.append((called, check))
        self.sequence.append(check)

    def add_spec(self, st: _Statement) -> None:
        self.specs.append(st)
        self.sequence.append(st)

    def value(self, text: str, call: ast.expr, expected_text: str, rel_tol: float = 1e-6) -> None:
        names = _calls(call)
        if not names:
            self.skipped.append((text, "the example calls no function"))
            return
        call = _quote_bare_words(call)
        ok, val = _literal(expected_text)
        if not ok and "=" in expected_text:  # "f(19, 5) -> 19 - 5 = 14": the worked result after the last '='
            ok, val = _literal(expected_text.rsplit("=", 1)[1])
        if not ok:
            self.skipped.append((text, "the expected value is not a plain literal"))
            return
        check = Check(ast.unparse(call), expected=val, name=text.strip()[:160], rel_tol=rel_tol)
        self.add_raw(_called(call), check)

    def truth(self, text: str, expr: ast.expr, want: bool) -> None:
        names = _calls(expr)
        if not names:
            self.skipped.append((text, "the example calls no function"))
            return
        self.add_raw(_called(expr), Check(f"bool({ast.unparse(expr)})", expected=want, name=text.strip()[:160]))

    def assertion(self, text: str, test: ast.expr) -> None:
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
            left, right = test.left, test.comparators[0]
            if not _calls(left) and _calls(right):
                left, right = right, left
            self.value(text, left, ast.unparse(right))
        elif (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Attribute)
            and test.func.attr == "isclose"
            and len(test.args) == 2
        ):
            tol = next((k.value for k in test.keywords if k.arg in ("rel_tol", "abs_tol")), None)
            rel = tol.value if isinstance(tol, ast.Constant) and isinstance(tol.value, float) else 1e-6
            self.value(text, test.args[0], ast.unparse(test.args[1]), rel_tol=max(rel, 1e-9))
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.truth(text, test.operand, False)
        elif isinstance(test, (ast.Call, ast.Compare, ast.BoolOp)):
            self.truth(text, test, True)
        else:
            self.skipped.append((text, "an assertion of a form that is not understood"))

    def line(self, text: str) -> bool:
        """One line of plain text; True when it was recognised as an example (used or skipped).
        An example may sit inside prose ("Write add(a, b). add(1, 2) -> 3"): each call-like start
        in the line is tried in turn."""
        if len(text) > _MAX_LINE:  # bounds the work per line (the regexes are not linear on hostile text)
            return False
        clauses = _clauses(text)
        if len(clauses) > 1:  # "f(1) should return True, and f(2) should return False"
            before = len(self.raw), len(self.specs), len(self.skipped)
            if sum(self._one(c) for c in clauses) > 1:
                return True
            del self.raw[before[0] :], self.specs[before[1] :], self.skipped[before[2] :]  # read it whole
            kept = {id(c) for _, c in self.raw} | {id(st) for st in self.specs}
            self.sequence = [x for x in self.sequence if id(x) in kept]
        return self._one(text)

    def _one(self, text: str) -> bool:
        if self._line(text, text):
            return True
        for m in [m for m in _CALL_START.finditer(text) if m.start() > 0][:8]:
            if self._line(text, text[m.start() :]):
                return True
        return False

    def _line(self, text: str, s: str) -> bool:
        s = _PREFIX.sub("", s.strip()).strip().rstrip(";")
        if not s or "(" not in s and "=" not in s:
            return False
        if s.startswith("assert ") or s.startswith("assert("):
            try:
                node = ast.parse(s.split("#")[0].strip()).body[0]
            except (SyntaxError, ValueError, IndexError, MemoryError, RecursionError):
                # instructions sometimes write `assert f(x) => y`: fall through to the arrow forms
                s = s[len("assert") :].strip()
            else:
                if isinstance(node, ast.Assert):
                    self.assertion(text, node.test)
                    return True
                return False
        expr = _parse_expr(s)
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq):
            if _calls(expr.left) or _calls(expr.comparators[0]):
                self.assertion(text, expr)
                return True
        m = _FOR_OUTPUT.match(s)
        if m:
            return self.for_output(text, m.group("args"), m.group("out"))
        if "#" in s and self.comment(text, s):
            return True
        parts = _ARROW.split(s, maxsplit=1)
        if len(parts) == 2:
            left = _parse_expr(parts[0].rstrip(":"))
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Name):
                self.value(text, left, parts[1])
                return True
        return False

    def comment(self, text: str, s: str) -> bool:
        """`f(3)  # -> 9`, `f(3)  # returns 9`, `print(f(3))  # 9`: the value follows the comment mark."""
        left, _, right = s.partition("#")
        expr = _parse_expr(left)
        want = _COMMENT_OUT.sub("", right.strip(), count=1).strip()
        if not isinstance(expr, ast.Call) or not want:
            return False
        printed = isinstance(expr.func, ast.Name) and expr.func.id == "print" and len(expr.args) == 1
        call = expr.args[0] if printed else expr
        if not _calls(call):
            return False
        ok, _ = _literal(want)
        if printed and not ok:
            want = repr(want)  # print shows text without quotes: compare with the string itself
        self.value(text, call, want)
        return True

    def for_output(self, text: str, args: str, out: str) -> bool:
        """Inputs (named `x = 1, y = [2]` or not) and the output of one call of the entry point."""
        vals, names = [], []
        for part in re.split(r",\s*(?=[A-Za-z_]\w*\s*=(?!=))", args):
            name, eq, v = part.partition("=")
            if eq and not re.fullmatch(r"\s*[A-Za-z_]\w*\s*", name):
                name, eq, v = part, "", ""
            ok, val = _literal(v if eq else name)
            if not ok:
                self.skipped.append((text, "an input that is not a plain literal"))
                return True
            vals.append(val)
            names.append(name.strip() if eq else "")
        ok, expected = _literal(out)
        if not ok and "=" in out:
            ok, expected = _literal(out.rsplit("=", 1)[1])
        if not ok:
            self.skipped.append((text, "the expected value is not a plain literal"))
            return True
        self.add_spec(_Statement(text, vals, names, expected))
        return True

    def design(self, text: str, ops: list[str], op_args: list[list[object]], out: str) -> None:
        """An operation list: the class, then one method per call, each op's arguments, one output each."""
        ok, expected = _literal(out)
        if not ok or type(expected) is not list or len(expected) != len(ops):
            self.skipped.append((text, "a design example whose output is not one literal per operation"))
            return
        self.add_spec(_Statement(text, op_args, [], expected, ops=ops))


def _doctests(lines: list[str], col: _Collector) -> set[int]:
    """Doctest blocks; returns the indexes of the lines they used."""
    used: set[int] = set()
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if not s.startswith(">>>"):
            i += 1
            continue
        src = s[3:].strip()
        used.add(i)
        j = i + 1
        while j < len(lines) and lines[j].strip().startswith("..."):
            src += "\n" + lines[j].strip()[3:].lstrip()
            used.add(j)
            j += 1
        out = []
        while j < len(lines) and lines[j].strip() and not lines[j].strip().startswith(">>>"):
            if lines[j].strip().startswith(('"""', "'''", "```")):
                break
            out.append(lines[j].strip())
            used.add(j)
            j += 1
        i = j
        text = ">>> " + src + ("\n" + "\n".join(out) if out else "")
        if src.startswith("assert"):
            col.line(src)
            continue
        expr = _parse_expr(src)
        if expr is None:
            col.skipped.append((text, "a doctest statement, not an expression"))
            continue
        if not out:
            if isinstance(expr, ast.Compare) and _calls(expr):
                col.assertion(text, expr)  # `>>> f(x) == y` with no output line reads as an assertion
            elif _calls(expr):  # nothing shown: the call returns None and prints nothing
                col.add_raw(_called(expr), Check(ast.unparse(expr), expected_repr="", name=text[:160]))
            continue
        want = "\n".join(out)
        if want.startswith("Traceback"):
            exc = re.match(r"([A-Za-z_][\w.]*)", out[-1]) if len(out) > 1 else None
            if exc and _calls(expr):
                name = exc.group(1).split(".")[-1]
                col.add_raw(_called(expr), Check(ast.unparse(expr), raises=name, name=text[:160]))
            else:
                col.skipped.append((text, "a traceback without an exception name"))
            continue
        ok, _ = _literal(want)
        if ok:
            col.value(text, expr, want)
        elif _calls(expr):
            col.add_raw(_called(expr), Check(ast.unparse(expr), expected_repr=want, name=text[:160]))
    return used


def _io_block(lines: list[str], k: int) -> tuple[str, list[str], int] | None:
    """An "Input: ... Output: ..." example starting at line k: (input text, output lines, next line)."""
    m = _INPUT.match(lines[k].strip())
    if not m:
        return None
    inp = [m.group("in").strip()] if m.group("in").strip() else []
    n = k + 1
    while n < len(lines) and not _OUTPUT.match(lines[n].strip()) and len(inp) < 50:
        if _BLOCK_END.match(lines[n].strip()):
            return None
        if lines[n].strip():
            inp.append(lines[n].strip())
        n += 1
    if n >= len(lines) or not inp:
        return None
    first = _OUTPUT.match(lines[n].strip())
    out = [first.group("out").strip()] if first and first.group("out").strip() else []
    n += 1
    while n < len(lines) and lines[n].strip() and not _BLOCK_END.match(lines[n].strip()) and len(out) < 50:
        out.append(lines[n].strip())
        n += 1
    if not out:
        return None
    return "\n".join(inp), out, n


def _depth(text: str) -> int:
    """How many brackets `text` leaves open (outside string literals)."""
    depth, quote, i = 0, "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        i += 1
    return depth


def _spanning_example(lines: list[str], k: int, used: set[int], col: _Collector, most: int = 20) -> int:
    """An example whose call spans lines (`f([\n  [1, 2],\n], 1) == 3`): when line k opens a bracket
    after a call, join the lines up to the one that closes it and read them as one. Returns how many
    lines after k it used (0 when it is not one)."""
    m = _CALL_START.search(lines[k])
    if not m or _depth(lines[k][m.start() :]) <= 0:
        return 0
    text, call = lines[k].strip(), lines[k][m.start() :]
    for j in range(k + 1, min(len(lines), k + 1 + most)):
        if j in used or not lines[j].strip():
            return 0
        text, call = f"{text} {lines[j].strip()}", f"{call} {lines[j].strip()}"
        if _depth(call) <= 0:
            return j - k if col.line(text) else 0
    return 0


def _owner_class(instruction: str, entry: str) -> str | None:
    """The class an entry point is a method of (`def entry(self, ...)` inside `class X`), if any."""
    m = re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(\s*self\b", instruction, re.M)
    if not m:
        return None
    classes = re.findall(r"^\s*class\s+([A-Za-z_]\w*)", instruction[: m.start()], re.M)
    return classes[-1] if classes else None


_ANY_ORDER = re.compile(r"\bin\s+any\s+order\b|\bany\s+order\s+is\s+(?:fine|accepted|acceptable)\b", re.I)
_IN_PLACE = re.compile(r"\bin[- ]place\b|\bdo\s+not\s+return\s+anything\b", re.I)
_LAZY = re.compile(r"\bgenerators?\b|\byields?\b|\biterators?\b", re.I)
_TOLERANCE = re.compile(r"within\s+10\s*\^?\s*-\s*(\d)\b", re.I)
_MANY_ANSWERS = re.compile(
    r"\b(?:multiple|several|many|more than one)\s+(?:valid\s+|possible\s+|correct\s+)?(?:answers?|solutions?|results?|outputs?)"
    r"[^.\n]{0,40}\b(?:any|either)\b|\breturn\s+any\s+(?:one\s+)?(?:of\s+them|valid|such)\b"
    r"|\bis\s+also\s+(?:a\s+)?(?:valid|correct|accepted|acceptable)\b"
    # random answers (not random inputs: "the numbers are randomly ordered" is a promise about the input)
    r"|\breturns?\s+a\s+random\b|\brandom(?:ly)?\s+(?:picks?|chooses?|selects?|returns?|generates?|shuffles?)\b"
    r"|\b(?:equally\s+likely|(?:same|equal)\s+probability|uniform(?:ly)?\s+(?:at\s+)?random)\b|\bgetRandom\b",
    re.I,
)
_ALL = re.compile(r"\b(?:return|find|list|output|collect)\b[^.\n]{0,60}?\ball\b", re.I)
_ORDERED = re.compile(r"\b(?:order|sorted|sort|ascending|descending|lexicographic\w*|increasing|decreasing)\b", re.I)
_TABLE = re.compile(r"^\s*\+-[-+]*\+\s*$", re.M)
_NAMED_INPUT = re.compile(r"^[A-Za-z_]\w*\s*=(?!=)")


def _design_input(inp: str) -> tuple[list[str], list[list[object]]] | None:
    """An operation list (`["LRUCache","put","get"]` then `[[2],[1,1],[1]]`, on two lines or one), or None."""
    parts = inp.split("\n")
    text = f"({parts[0]}, {parts[1]})" if len(parts) == 2 else f"({inp})"
    ok, val = _literal(text)
    if not ok or type(val) is not tuple or len(val) != 2:
        return None
    ops, args = val
    if (
        type(ops) is list
        and type(args) is list
        and len(ops) == len(args) >= 1
        and all(type(o) is str and o.isidentifier() for o in ops)
        and all(type(a) is list for a in args)
    ):
        return ops, args
    return None


def _py(v: object) -> str:
    """Python source for a plain value (repr, except that non-finite floats stay evaluable)."""
    if type(v) is float and not math.isfinite(v):
        return f"float({repr(v)!r})"
    if type(v) in (list, tuple, set, frozenset):
        items = [_py(x) for x in v]
        if type(v) is list:
            return "[" + ", ".join(items) + "]"
        if type(v) is tuple:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return (f"{type(v).__name__}([" + ", ".join(items) + "])") if items else f"{type(v).__name__}()"
    if type(v) is dict:
        return "{" + ", ".join(f"{_py(k)}: {_py(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _spec_check(
    spec: dict[str, object], expected: object, name: str, rel_tol: float, raises: str | None = None
) -> Check:
    """A check that makes its call through the call module (`calls.run`) in the candidate's namespace."""
    call = f"{CALLS}.run(globals(), {_py(spec)})"
    if raises:
        return Check(call, raises=raises, name=name[:160])
    order = int(spec.get("order") or 0)  # type: ignore[call-overload]
    return Check(call, expected=calls_mod.canonical(expected, order), name=name[:160], rel_tol=rel_tol)


def spec_of(check: Check) -> dict[str, object] | None:
    """The call spec of a check made through the call module, else None."""
    prefix = f"{CALLS}.run(globals(), "
    if not check.call.startswith(prefix):
        return None
    ok, val = _literal(check.call[len(prefix) : -1])
    return val if ok and isinstance(val, dict) else None  # type: ignore[return-value]


def call_text(check: Check) -> str:
    """What a check calls, as a person would write it (`Solution().twoSum([2, 7], 9)`)."""
    spec = spec_of(check)
    if spec is None:
        return check.call
    if spec.get("ops"):
        return f"{spec['ops'][0]}: {', '.join(spec['ops'][1:])}"  # type: ignore[index]
    head = spec.get("entry") or "<entry>"
    if spec.get("owner"):
        head = f"{spec['owner']}().{head}"
    values = list(spec.get("args") or [])  # type: ignore[call-overload]
    names = list(spec.get("names") or []) + [""] * len(values)  # type: ignore[call-overload]
    args = [f"{n} = {_py(a)}" if n else _py(a) for a, n in zip(values, names, strict=False)]
    args += [f"{k}={_py(v)}" for k, v in spec.get("kwargs") or []]  # type: ignore[union-attr]
    return f"{head}({', '.join(args)})"


def _want(expected: object) -> str:
    return "list" if type(expected) is list else "" if expected is None else "scalar"


def _to_spec(c: Check, entry: str, owner: str | None, flags: dict[str, object]) -> Check:
    """A check of a plain literal call of the entry point, made through the call module instead (one
    calling convention); anything else stays as written."""
    kind = c.resolved_kind()
    if kind not in ("value", "raises"):
        return c
    node = _parse_expr(c.call)
    if not isinstance(node, ast.Call) or not _calls_entry(node, entry, owner):
        return c
    if owner and not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
                      and isinstance(node.func.value.func, ast.Name) and node.func.value.func.id == owner
                      and not node.func.value.args):  # fmt: skip
        return c
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return c
    try:
        args = [_value(a) for a in node.args]
        kwargs = [[k.arg, _value(k.value)] for k in node.keywords]
    except (ValueError, TypeError, MemoryError, RecursionError, OverflowError):
        return c
    expected = c.expected if kind == "value" else None
    spec = {"entry": entry, "owner": owner, "args": args, "kwargs": kwargs, **flags, "want": _want(expected)}
    if kind == "value" and type(expected) is not list:
        spec["order"] = 0
    return _spec_check(spec, expected, c.name or c.call, c.rel_tol, raises=c.raises)


def extract_checks(instruction: str, max_checks: int = 24, functions: bool = False) -> Extraction:
    """The checks an instruction's examples give, with the entry point and the skipped examples.
    `functions`: the candidates are functions or a `class Solution`, not programs, so an unnamed
    `Input: "abc"` is a call's argument, not a program's stdin."""
    defs = _instruction_defs(instruction)
    defined = [n for n, _ in defs]
    owner = _owner_class(instruction, defined[-1]) if defined else None
    col = _Collector(defined)
    lines = instruction.splitlines()
    used = _doctests(lines, col)
    programs: list[Check] = []
    k = 0
    while k < len(lines):
        if k in used:
            k += 1
            continue
        block = _io_block(lines, k)
        if block:
            inp, out_lines, k = block
            design = _design_input(inp)
            if "\n" in inp and not design and all(_NAMED_INPUT.match(x) for x in inp.split("\n")):
                inp = ", ".join(x.rstrip(",") for x in inp.split("\n"))  # one named input per line
            named = bool(_NAMED_INPUT.match(inp))
            if (defined or named or design) and len(out_lines) > 1 and _literal(out_lines[0])[0]:
                # A function's output is one value: what follows it is the instruction's next line
                # (another example, prose), not more output.
                k -= len(out_lines) - 1
                out_lines = out_lines[:1]
            out = "\n".join(out_lines)
            label = f"Input: {inp} / Output: {out}"
            if _TABLE.search(inp) or _TABLE.search(out):
                col.skipped.append((label, "a table, not values"))
            elif design:
                col.design(label, *design, out)
            elif (defined or named or functions) and "\n" not in inp:
                col.for_output(label, inp, out)
            elif defined or named or functions:
                col.skipped.append((label, "a multi-line input for a function"))
            else:  # a program: the input is its stdin, the output what it must print
                programs.append(Check(stdin=inp + "\n", expected_stdout=out, name=label[:160]))
            continue
        if not col.line(lines[k]):
            k += _spanning_example(lines, k, used, col)
        k += 1
    # The platform's conventions (JSON-like output, implicit imports) when the statement is written
    # the way programming sites write theirs; its calls in prose are explanations, not examples.
    statement = any(st.names and all(st.names) or st.ops for st in col.specs)
    platform = statement or functions or bool(re.search(r"^\s*class\s+Solution\b", instruction, re.M))
    if statement and not defined and col.raw:
        col.skipped += [(c.name, "a call in the explanation of a statement's example") for _, c in col.raw]
        col.raw = []
    if _MANY_ANSWERS.search(instruction):
        col.skipped += [(st.text, "the statement accepts other answers than the example's") for st in col.specs]
        col.skipped += [(c.name, "the statement accepts other answers than the example's") for _, c in col.raw
                        if c.resolved_kind() in ("value", "repr")]  # fmt: skip
        col.specs = []
        col.raw = [(n, c) for n, c in col.raw if c.resolved_kind() not in ("value", "repr")]
    entry = entry_point(defined, [name for name, _ in col.raw])
    arity = dict(defs).get(entry) if entry else None
    tol = _TOLERANCE.search(instruction)
    rel_tol = 10.0 ** -int(tol.group(1)) if tol else 1e-6
    flags: dict[str, object] = {
        "json": platform,
        "in_place": bool(_IN_PLACE.search(instruction)),
        "lazy": bool(_LAZY.search(instruction)),
        "order": 0,
    }
    any_order = bool(_ANY_ORDER.search(instruction)) or bool(
        _ALL.search(instruction) and not _ORDERED.search(_ANY_ORDER.sub("", instruction))
    )
    made: dict[int, Check] = {}  # id of the check or statement example it came from -> the check
    for name, c in col.raw:
        source = id(c)
        call = c.call
        target = name
        if entry and name != entry and name not in defined and name not in _BUILTIN_NAMES and len(set(defined)) == 1:
            target = entry  # a misnamed example (never a builtin wrapped around the call: list(gen(x)))
        if target != name or (owner and target == entry):
            new = f"{owner}().{target}(" if owner and target == entry else f"{target}("
            call = re.sub(rf"(?<![\w.]){re.escape(name)}\(", new, call, count=1)
            c = Check(call, expected=c.expected, expected_repr=c.expected_repr, raises=c.raises, name=c.name,
                      rel_tol=c.rel_tol, kind=c.kind)  # fmt: skip
        if entry:
            order = _order(c.expected) if any_order and c.resolved_kind() == "value" else 0
            c = _to_spec(c, entry, owner, {**flags, "order": order})
        made[source] = c
    for st in col.specs:
        order = _order(st.expected) if any_order else 0
        if st.ops:
            spec: dict[str, object] = {"ops": st.ops, "args": st.args, "json": platform}
        else:
            spec = {"entry": entry, "owner": owner, "args": st.args, "names": st.names, **flags,
                    "order": order, "want": _want(st.expected)}  # fmt: skip
        made[id(st)] = _spec_check(spec, st.expected, st.text, rel_tol if platform else 1e-6)
    checks: list[Check] = []
    seen: set[str] = set()
    for x in col.sequence:
        c = made.get(id(x))
        if c is None or c.call in seen:
            continue
        seen.add(c.call)
        checks.append(c)
    if checks and programs:  # "Input: arr: a list" beside function examples describes parameters
        col.skipped += [(c.name, "an input/output description beside function examples") for c in programs]
        programs = []
    checks += programs
    if len(checks) > max_checks:
        col.skipped += [(c.name, f"more than {max_checks} checks") for c in checks[max_checks:]]
        checks = checks[:max_checks]
    spec_calls = [s for s in (spec_of(c) for c in checks) if s is not None and not s.get("ops")]
    calls = _entry_calls(checks, entry, owner) if entry or spec_calls else []
    template = {k: v for k, v in (spec_calls[0] if spec_calls else {}).items() if k not in ("args", "kwargs")}
    return Extraction(entry=entry, checks=checks, skipped=col.skipped, arity=arity, owner=owner, calls=calls,
                      platform=platform, spec=template)  # fmt: skip


def _order(expected: object) -> int:
    """How much of an expected list is in an order the answer need not keep: the outer list (1), and
    the inner lists too when the example shows every one of them sorted (2)."""
    if type(expected) is not list:
        return 0
    inner = [x for x in expected if type(x) is list]
    if inner and len(inner) == len(expected):
        try:
            if all(x == sorted(x) for x in inner):
                return 2
        except TypeError:
            pass
    return 1


def entry_point(defined: list[str], called: list[str]) -> str | None:
    """The one entry-point rule: the last function the instruction defines, else the one its examples
    call most (`called`: the function each example is about; ties go to the first called)."""
    if defined:
        return defined[-1]
    counts = Counter(called)
    return counts.most_common(1)[0][0] if counts else None


def _calls_entry(node: ast.Call, entry: str, owner: str | None) -> bool:
    if owner:  # `Solution().twoSum(...)`
        return isinstance(node.func, ast.Attribute) and node.func.attr == entry
    return isinstance(node.func, ast.Name) and node.func.id == entry


def _entry_calls(checks: list[Check], entry: str | None, owner: str | None) -> list[Call]:
    """The literal arguments of each call of the entry point inside the checks, deduplicated."""
    out: list[Call] = []
    for c in checks:
        spec = spec_of(c)
        if spec is not None:
            if not spec.get("ops"):
                call = Call(tuple(spec.get("args") or ()), tuple(tuple(kv) for kv in spec.get("kwargs") or ()))  # type: ignore[union-attr]
                if call not in out:
                    out.append(call)
            continue
        if entry is None:
            continue
        try:
            tree = ast.parse(c.call, mode="eval") if c.call else None
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in ast.walk(tree) if tree else ():
            if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
                continue
            if not _calls_entry(node, entry, owner):
                continue
            try:
                args = tuple(_value(a) for a in node.args)
                kwargs = tuple((k.arg, _value(k.value)) for k in node.keywords if k.arg)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, OverflowError):
                continue
            call = Call(args, kwargs)
            if len(kwargs) == len(node.keywords) and call not in out:
                out.append(call)
    return out


@functools.cache
def calls_code() -> bytes:
    """The call module compiled once, for candidates' namespaces to load without compiling it."""
    src = Path(calls_mod.__file__).read_text(encoding="utf-8")
    return marshal.dumps(compile(src, "<codefavor-calls>", "exec"))


_SOLUTION = re.compile(r"^class\s+Solution\b", re.M)


def platform_code(code: str, ex: Extraction) -> bool:
    """Whether a candidate gets the platform's implicit names: the statement is written as
    programming sites write theirs, or the code is a `class Solution` as they take it."""
    return ex.platform or bool(_SOLUTION.search(code))


def sandbox_code(code: str, ex: Extraction) -> str:
    """The code to load in the sandbox for these checks: the candidate itself, or, when a check calls
    through the call module or the platform's implicit names apply, the call module installed under
    `CALLS` (and those names), then the candidate run in the same namespace as `<candidate>`."""
    platform = platform_code(code, ex)
    if not platform and not any(c.call.startswith(CALLS) for c in ex.checks):
        return code
    return (
        f"{CALLS} = __import__('types').ModuleType('codefavor_calls')\n"
        f"exec(__import__('marshal').loads({calls_code()!r}), {CALLS}.__dict__)\n"
        f"{CALLS}.install(globals(), platform={platform})\n"
        f"exec(compile({code!r}, '<candidate>', 'exec'), globals())\n"
    )


def timing_plan(instruction: str, codes: Sequence[str] = ()) -> tuple[dict[str, object], list[Call], str]:
    """What efficiency times, by the one calling convention: the call spec (`calls.prepare`'s, its
    "args"/"kwargs" left for each grown input), the instruction's literal example calls to grow, and
    "" (or why there is nothing to time: "no-entry", "no-examples", "design"). `codes` are the
    candidates: a `class Solution` among them makes unnamed `Input:` lines calls, as in correctness.
    A harness loads `calls` in the child, `calls.install(ns, spec["json"])` before running a
    candidate, and per input `calls.prepare(ns, {**spec, "args": list(args), "kwargs": list(kwargs)})`,
    timing only `fn(*args, **kwargs)` and comparing `finish(result)`."""
    ex = extract_checks(instruction, functions=any(_SOLUTION.search(c) for c in codes))
    if any((spec_of(c) or {}).get("ops") for c in ex.checks) and not ex.calls:
        return {}, [], "design"
    spec = dict(ex.spec) or {"entry": ex.entry, "owner": ex.owner, "json": ex.platform}
    if spec.get("entry") is None and not ex.spec and not ex.calls:
        return spec, [], "no-entry"
    return spec, ex.calls, "" if ex.calls else "no-examples"
