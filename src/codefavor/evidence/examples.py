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
import re
from collections import Counter
from dataclasses import dataclass, field

from codefavor.evidence.sandbox import Check
from codefavor.evidence.scaling import Call


@dataclass
class Extraction:
    """What an instruction's examples give: the entry point, the checks, and what could not be used."""

    entry: str | None
    checks: list[Check] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (example text, why it was not used)
    arity: int | None = None  # positional parameters of the entry point, when the instruction defines it
    owner: str | None = None  # the class the entry point is a method of, when it is one
    calls: list[Call] = field(default_factory=list)  # literal example calls of the entry point, in order

    def as_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "checks": [c.name for c in self.checks],
            "skipped": [{"example": t[:200], "reason": r} for t, r in self.skipped],
        }


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
_SPECIAL = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


def _literal(text: str) -> tuple[bool, object]:
    """A plain value from text: Python literals, true/false/null spellings, float('inf')-style constants."""
    t = text.strip().rstrip(".,;")
    if not t:
        return False, None
    try:
        return True, ast.literal_eval(t)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    low = t.lower()
    if low in ("true", "false"):
        return True, low == "true"
    if low in ("none", "null"):
        return True, None
    m = re.fullmatch(r"(-?)float\(\s*['\"](-?inf|nan|infinity)['\"]\s*\)", low)
    if m:
        return True, float(m.group(1) + m.group(2))
    if low in _SPECIAL:
        return True, _SPECIAL[low]
    node = _parse_expr(t)  # set([1, 2]), tuple(...), float('inf'): a builtin constructor over literals
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SAFE_CTORS:
        if not node.keywords and len(node.args) <= 1:
            try:
                args = [ast.literal_eval(a) for a in node.args]
                return True, _SAFE_CTORS[node.func.id](*args)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
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


class _Collector:
    def __init__(self, defined: list[str]):
        self.defined = defined  # functions the instruction defines; the last is the entry point
        self.raw: list[tuple[str, Check]] = []  # (called function, check)
        self.skipped: list[tuple[str, str]] = []

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
        self.raw.append((_called(call), check))

    def truth(self, text: str, expr: ast.expr, want: bool) -> None:
        names = _calls(expr)
        if not names:
            self.skipped.append((text, "the example calls no function"))
            return
        self.raw.append((_called(expr), Check(f"bool({ast.unparse(expr)})", expected=want, name=text.strip()[:160])))

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
        if not self.defined:
            self.skipped.append((text, "an input/output example but no function to call"))
            return True
        vals = []
        for part in re.split(r",\s*(?=[A-Za-z_]\w*\s*=)", args):
            name, eq, v = part.partition("=")
            ok, val = _literal(v if eq else name)
            if not ok:
                self.skipped.append((text, "an input that is not a plain literal"))
                return True
            vals.append(val)
        call = _parse_expr(f"{self.defined[-1]}({', '.join(repr(v) for v in vals)})")
        if call is None:
            self.skipped.append((text, "could not build the call"))
            return True
        self.value(text, call, out)
        return True


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
            elif _calls(expr):
                col.skipped.append((text, "a doctest without an expected output"))
            continue
        want = "\n".join(out)
        if want.startswith("Traceback"):
            exc = re.match(r"([A-Za-z_][\w.]*)", out[-1]) if len(out) > 1 else None
            if exc and _calls(expr):
                name = exc.group(1).split(".")[-1]
                col.raw.append((_called(expr), Check(ast.unparse(expr), raises=name, name=text[:160])))
            else:
                col.skipped.append((text, "a traceback without an exception name"))
            continue
        ok, _ = _literal(want)
        if ok:
            col.value(text, expr, want)
        elif _calls(expr):
            col.raw.append((_called(expr), Check(ast.unparse(expr), expected_repr=want, name=text[:160])))
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


def extract_checks(instruction: str, max_checks: int = 24) -> Extraction:
    """The checks an instruction's examples give, with the entry point and the skipped examples."""
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
            if defined and len(out_lines) > 1 and _literal(out_lines[0])[0]:
                # A function's output is one value: what follows it is the instruction's next line
                # (another example, prose), not more output.
                k -= len(out_lines) - 1
                out_lines = out_lines[:1]
            out = "\n".join(out_lines)
            label = f"Input: {inp} / Output: {out}"
            if defined and "\n" not in inp:
                col.for_output(label, inp, out)
            elif defined:
                col.skipped.append((label, "a multi-line input for a function"))
            elif re.match(r"^[A-Za-z_]\w*\s*=", inp):
                col.skipped.append((label, "named arguments but no function to call"))
            else:  # a program: the input is its stdin, the output what it must print
                programs.append(Check(stdin=inp + "\n", expected_stdout=out, name=label[:160]))
            continue
        if not col.line(lines[k]):
            k += _spanning_example(lines, k, used, col)
        k += 1
    entry = entry_point(defined, [name for name, _ in col.raw])
    arity = dict(defs).get(entry) if entry else None
    checks: list[Check] = []
    seen: set[str] = set()
    for name, c in col.raw:
        call = c.call
        target = name
        if entry and name != entry and name not in defined and len(set(defined)) == 1:
            target = entry  # a misnamed example
        if target != name or (owner and target == entry):
            new = f"{owner}().{target}(" if owner and target == entry else f"{target}("
            call = re.sub(rf"(?<![\w.]){re.escape(name)}\(", new, call, count=1)
            c = Check(call, expected=c.expected, expected_repr=c.expected_repr, raises=c.raises, name=c.name,
                      rel_tol=c.rel_tol, kind=c.kind)  # fmt: skip
        if call in seen:
            continue
        seen.add(call)
        checks.append(c)
    checks += programs
    if len(checks) > max_checks:
        col.skipped += [(c.name, f"more than {max_checks} checks") for c in checks[max_checks:]]
        checks = checks[:max_checks]
    calls = _entry_calls(checks, entry, owner) if entry else []
    return Extraction(entry=entry, checks=checks, skipped=col.skipped, arity=arity, owner=owner, calls=calls)


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


def _entry_calls(checks: list[Check], entry: str, owner: str | None) -> list[Call]:
    """The literal arguments of each call of the entry point inside the checks, deduplicated."""
    out: list[Call] = []
    for c in checks:
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
                args = tuple(ast.literal_eval(a) for a in node.args)
                kwargs = tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords if k.arg)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            call = Call(args, kwargs)
            if len(kwargs) == len(node.keywords) and call not in out:
                out.append(call)
    return out
