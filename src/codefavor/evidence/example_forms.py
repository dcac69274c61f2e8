"""Read the examples written in an instruction's text, form by form, into raw checks and statement
examples (`Collector`): doctest blocks, `assert` lines, bare comparisons, arrows, comments, "For x =
..., the output should be y", "Input: ... / Output: ..." blocks (`io_block`), operation lists of
design problems (`design_input`), and calls that span lines. What the checks call and how is
decided afterwards, in `evidence.examples`; values come from `evidence.example_values`."""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

from codefavor.codetools import PARSE_ERRORS
from codefavor.evidence.example_values import called_names, literal, parse_expr, quote_bare_words, subject_of
from codefavor.evidence.sandbox import Check


@dataclass
class Statement:
    """An example written as inputs and an output (or an operation list): its call is a spec."""

    text: str
    args: list[object]
    names: list[str]
    expected: object
    ops: list[str] | None = None


_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)", re.M)
# The signature the prose asks for ("Write a Python function `pluck(arr)`", "implement a function
# named f(x)"), not one it gives ("you are given a callable function `f(x, y)`").
_PROSE_DEF = re.compile(
    r"\b(?:write|implement|create|define|complete|code)\b[^.\n`]{0,40}?\bfunction\s+(?:named\s+|called\s+)?`?"
    r"([A-Za-z_]\w*)\s*\(([^)`\n]*)\)",
    re.I,
)
_ARROW = re.compile(
    r"\s*(?:->|=>|➞|==>|→|(?<![=<>!])=(?!=)|\bshould return\b|\breturns\b|\bshould be\b|\bgives\b"
    r"|\bevaluates to\b)\s*"
)
# a list's number before its period (`..., 2. f(4) ...`): the value before it may end there or not
_ENUMERATOR = re.compile(r"[,;:]\s*\d{1,2}$")
# a sentence's end: a period after a word, a number, a bracket or a quote, then the next sentence
_SENTENCE_END = re.compile(r"(?<=[\w)\]'\"])\.\s+(?=[A-Za-z_])")
# code written inline in markdown (`f(3)` should return `6`): the span's text, when it is an expression
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]{1,400})`(?!`)")
_FOR_OUTPUT = re.compile(
    r"^(?:for|if|given|with)\s+(?P<args>.+?)\s*[,:]?\s*(?:then\s+)?(?:the\s+)?(?:output|result|answer|return(?:ed)? value)"
    r"\s+(?:should\s+be|is|will\s+be|=)\s*:?\s*(?P<out>.+?)\.?$",
    re.I,
)
_INPUT = re.compile(r"^(?:example\s*\d*\s*:?\s*)?(?:sample\s+)?input\s*\d*\s*:?\s*(?P<in>.*)$", re.I)
_OUTPUT = re.compile(r"^(?:sample\s+)?output\s*\d*\s*:?\s*(?P<out>.*)$", re.I)
_BLOCK_END = re.compile(r"^(?:example|explanation|note|constraints?|input|sample|```|\"\"\"|''')", re.I)
# a value, then its reason in parentheses (not an alternative or a condition: "(or 3)", "(for x < 0)")
_EXPLAINED = re.compile(
    r"(.+?)\s+\((?!\s*(?:or|any|either|e\.g|for|when|if|unless|approx|about|depending)\b)[^()]*\)\s*\.?$", re.I
)
_COMMENT_OUT = re.compile(r"^(?:output|returns?|result|prints?|gives|->|=>|==|=|:)?\s*:?\s*", re.I)
_PREFIX = re.compile(
    r"^(?:[-*•]\s+|\d+[.)]\s+|(?:for\s+)?examples?\s*\d*\s*:\s*|e\.g\.,?\s*|for\s+(?=[A-Za-z_]\w*\())", re.I
)
# `f(xs) == 1 + 9 + 0 + 0 = 10`: an expected value shown with its working
_WORKED = re.compile(
    r"^(?P<head>.*\S)\s*==\s*(?P<work>[-+*/%() \d.]*\d[-+*/%() \d.]*?)\s*=\s*(?P<value>-?\d+(?:\.\d+)?)\s*\.?\s*$"
)
_ARITH = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Mod,
    ast.USub,
    ast.UAdd,
)


def worked_value(line: str) -> str:
    """A line whose expected value is shown as arithmetic and its result (`== 1 + 9 + 0 = 10`) as the
    plain example `== 10`, when the arithmetic comes to that result; any other line as it is."""
    m = _WORKED.match(line)
    if not m or not re.search(r"[-+*/%]", m.group("work")) or len(m.group("work")) > 200:
        return line
    tree = parse_expr(m.group("work"))
    if tree is None or not all(isinstance(n, _ARITH) for n in ast.walk(tree)):
        return line
    try:  # numbers and + - * / % only
        value = float(eval(compile(ast.Expression(tree), "<working>", "eval"), {"__builtins__": {}}))
        shown = float(m.group("value"))
    except (ArithmeticError, ValueError, RecursionError, MemoryError):
        return line
    if not (math.isfinite(value) and math.isfinite(shown)):
        return line
    return f"{m.group('head')} == {m.group('value')}" if abs(value - shown) <= 1e-9 * max(1.0, abs(shown)) else line


# a line of prose: three words or more from a capital (a doctest's output ends before it where the
# statement says nothing of writing output and the prose ends as a sentence, maybe on a later line)
_SENTENCE = re.compile(r"^[A-Z][a-z']*(?:\s+[A-Za-z][a-z',.]*){2,}")
# a heading of the statement ("Note:", "Example 2:", "For example:"): where a doctest's output ends
_HEADING = re.compile(r"^[A-Z][A-Za-z]*(?:\s+(?:\d+|[a-z]+))?\s*:\s*$")
# words that put a clause under a condition of the line
_CONDITION = re.compile(r"\b(?:if|when|with|unless|suppose|after|in\s+\w+\s+mode)\b", re.I)
_CALL_START = re.compile(r"(?<![\w.])(?:assert\s+)?[A-Za-z_]\w*\(")
_MAX_LINE = 2000


def instruction_defs(text: str, prose: bool = True) -> list[tuple[str, int]]:
    """The functions an instruction defines, with their positional arity: its `def` lines, else (with
    `prose`) the signatures its prose asks for ("Write a Python function `pluck(arr)` to ...")."""
    out = []
    for m in _DEF.finditer(text) if _DEF.search(text) or not prose else _PROSE_DEF.finditer(text):
        params = [p for p in m.group(2).split(",") if p.strip() and not p.strip().startswith(("*", "self"))]
        out.append((m.group(1), len([p for p in params if "=" not in p])))
    return out


_CLAUSE = re.compile(
    r"(?:[,;]\s*(?:and|but|while|whereas|or)?|\s(?:and|but|while|whereas)|(?<=[\w)\]'\"])\.)\s+(?=[A-Za-z_]\w*\()",
    re.I,
)


def _scan(text: str) -> tuple[list[bool], int]:
    """Per character, whether it stands outside brackets and string literals; and how many brackets
    the whole text leaves open (outside strings; a backslash escapes the next character in one)."""
    depth, quote, top, i = 0, "", [], 0
    while i < len(text):
        ch = text[i]
        top.append(depth == 0 and not quote)
        if quote:
            if ch == "\\" and i + 1 < len(text):
                i += 1
                top.append(False)
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        i += 1
    return top, depth


def _depth(text: str) -> int:
    """How many brackets `text` leaves open (outside string literals)."""
    return _scan(text)[1]


def _first_sentence(text: str) -> str:
    """`text` up to the end of its first sentence, outside brackets and strings (`f('a. b') == 1` is one);
    a period after a list's number (`f(3) returns 6, 2. f(4) ...`) is no sentence end."""
    if not _SENTENCE_END.search(text):
        return text  # the common case: no scan of brackets and strings needed
    at, _ = _scan(text)
    end = next(
        (m for m in _SENTENCE_END.finditer(text) if at[m.start()] and not _ENUMERATOR.search(text[: m.start()])), None
    )
    return text[: end.start()] if end else text


def _clauses(text: str) -> list[str]:
    """A sentence cut before each example call it joins to the last (`..., and f(2) ...`), outside
    brackets and strings; only the parts holding a call."""
    at, _ = _scan(text)
    cuts = [
        m for m in _CLAUSE.finditer(text)
        if at[m.start()] and not (text[m.start()] == "." and _ENUMERATOR.search(text[: m.start()]))
    ]  # fmt: skip
    parts, last = [], 0
    for m in cuts:
        parts.append(text[last : m.start()])
        last = m.end()
    parts.append(text[last:])
    return [p.strip() for p in parts if _CALL_START.search(p)]


class Collector:
    def __init__(self, defined: list[str], prints: bool = False):
        self.defined = defined  # functions the instruction defines; the last is the entry point
        self.prints = prints  # the statement speaks of printing: a doctest's lines of prose may be output
        self.raw: list[tuple[str, Check]] = []  # (called function, check)
        self.specs: list[Statement] = []  # examples given as inputs and an output: the call is built later
        self.sequence: list[object] = []  # every check and statement example in the order of the text
        self.skipped: list[tuple[str, str]] = []
        # Doctest statements (`>>> data = [3, 1]`, `>>> import math`): run in order with the checks,
        # in the candidate's namespace, so the checks after them see the names they bind.
        self.setups: list[Check] = []
        self.bound: set[str] = set()  # the names those statements bind

    def add_setup(self, text: str, src: str, tree: ast.Module, **expect: object) -> None:
        """A doctest statement (`src`, parsed as `tree`) run in order with the checks; the names it
        binds stay names in the examples after it."""
        check = Check(src, name=text.strip()[:160], kind="" if expect else "stmt", **expect)  # type: ignore[arg-type]
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.bound.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                self.bound.add(node.name)
        self.setups.append(check)
        self.sequence.append(check)

    def add_raw(self, called: str, check: Check) -> None:
        self.raw.append((called, check))
        self.sequence.append(check)

    def add_spec(self, st: Statement) -> None:
        self.specs.append(st)
        self.sequence.append(st)

    def value(self, text: str, call: ast.expr, expected_text: str, rel_tol: float = 1e-6) -> None:
        names = called_names(call)
        if not names:
            self.skipped.append((text, "the example calls no function"))
            return
        call = quote_bare_words(call, self.bound)
        ok, val = literal(expected_text)
        if not ok and "=" in expected_text:  # "f(19, 5) -> 19 - 5 = 14": the worked result after the last '='
            ok, val = literal(expected_text.rsplit("=", 1)[1])
        if not ok:  # "f('1a.dll') # => 'No' (the name should start with a letter)": the value before the why
            why = _EXPLAINED.match(expected_text.strip())
            ok, val = literal(why.group(1)) if why else (False, None)
        if not ok:
            self.skipped.append((text, "the expected value is not a plain literal"))
            return
        check = Check(ast.unparse(call), expected=val, name=text.strip()[:160], rel_tol=rel_tol)
        self.add_raw(subject_of(call), check)

    def truth(self, text: str, expr: ast.expr, want: bool) -> None:
        names = called_names(expr)
        if not names:
            self.skipped.append((text, "the example calls no function"))
            return
        self.add_raw(subject_of(expr), Check(f"bool({ast.unparse(expr)})", expected=want, name=text.strip()[:160]))

    def assertion(self, text: str, test: ast.expr) -> None:
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.Is)):
            left, right = test.left, test.comparators[0]
            if not called_names(left) and called_names(right):
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
        text = worked_value(_INLINE_CODE.sub(lambda m: m.group(1) if parse_expr(m.group(1)) else m.group(0), text))
        clauses = _clauses(text)
        if len(clauses) < 2:
            return self._one(text)
        # "f(1) should return True, and f(2) should return False": each clause, where more than one
        # reads; else the line whole, and only where that reads nothing the one clause that did
        before = len(self.raw), len(self.specs), len(self.skipped)
        read = sum(self._one(c) for c in clauses)
        made = len(self.raw) + len(self.specs) - before[0] - before[1]
        if read > 1:
            return True
        self._rollback(before)
        whole = self._one(text)
        if not made or len(self.raw) + len(self.specs) > before[0] + before[1] or _CONDITION.search(text):
            # under a condition the one clause may not hold as written ("With strict=True, f(x) ...")
            return whole
        self._rollback(before)  # read whole it was only skipped; the one clause made a check
        return sum(self._one(c) for c in clauses) > 0

    def _rollback(self, before: tuple[int, int, int]) -> None:
        """Forget what was collected since `before` (the counts of raw checks, specs and skips)."""
        del self.raw[before[0] :], self.specs[before[1] :], self.skipped[before[2] :]
        kept = {id(c) for _, c in self.raw} | {id(st) for st in self.specs} | {id(c) for c in self.setups}
        self.sequence = [x for x in self.sequence if id(x) in kept]

    def _one(self, text: str) -> bool:
        if self._line(text, text):
            return True
        for m in [m for m in _CALL_START.finditer(text) if m.start() > 0][:8]:
            if self._line(text, text[m.start() :]):
                return True
        return False

    def _line(self, text: str, s: str) -> bool:
        s = _PREFIX.sub("", s.strip()).strip().rstrip(";")
        s = _first_sentence(s)  # `f(x). f(3) == 6` is two sentences, not an attribute of f(x)
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
        expr = parse_expr(s)
        if isinstance(expr, ast.Compare) and len(expr.ops) == 1 and isinstance(expr.ops[0], ast.Eq):
            if called_names(expr.left) or called_names(expr.comparators[0]):
                self.assertion(text, expr)
                return True
        m = _FOR_OUTPUT.match(s)
        if m:
            return self.for_output(text, m.group("args"), m.group("out"))
        if "#" in s and self.comment(text, s):
            return True
        parts = _ARROW.split(s, maxsplit=1)
        if len(parts) == 2:
            left = parse_expr(parts[0].rstrip(":"))
            if isinstance(left, ast.Call) and isinstance(left.func, ast.Name):
                self.value(text, left, parts[1])
                return True
        return False

    def comment(self, text: str, s: str) -> bool:
        """`f(3)  # -> 9`, `f(3)  # returns 9`, `print(f(3))  # 9`: the value follows the comment mark."""
        left, _, right = s.partition("#")
        expr = parse_expr(left)
        want = _COMMENT_OUT.sub("", right.strip(), count=1).strip()
        if not isinstance(expr, ast.Call) or not want:
            return False
        printed = isinstance(expr.func, ast.Name) and expr.func.id == "print" and len(expr.args) == 1
        call = expr.args[0] if printed else expr
        if not called_names(call):
            return False
        ok, _ = literal(want)
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
            ok, val = literal(v if eq else name)
            if not ok:
                self.skipped.append((text, "an input that is not a plain literal"))
                return True
            vals.append(val)
            names.append(name.strip() if eq else "")
        ok, expected = literal(out)
        if not ok and "=" in out:
            ok, expected = literal(out.rsplit("=", 1)[1])
        if not ok:
            self.skipped.append((text, "the expected value is not a plain literal"))
            return True
        self.add_spec(Statement(text, vals, names, expected))
        return True

    def design(self, text: str, ops: list[str], op_args: list[list[object]], out: str) -> None:
        """An operation list: the class, then one method per call, each op's arguments, one output each."""
        ok, expected = literal(out)
        if not ok or type(expected) is not list or len(expected) != len(ops):
            self.skipped.append((text, "a design example whose output is not one literal per operation"))
            return
        self.add_spec(Statement(text, op_args, [], expected, ops=ops))


def doctests(lines: list[str], col: Collector) -> set[int]:
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
        if (
            len(out) > 1
            and literal(out[0])[0]
            and not literal("\n".join(out))[0]
            and (
                _HEADING.match(out[1])
                or (_SENTENCE.match(out[1]) and " ".join(out[1:]).endswith((".", ":")) and not col.prints)
            )
        ):
            # a value, then the statement's heading ("Note:") or prose without a blank line between:
            # what follows is no output (and may hold examples of its own); where the statement
            # speaks of printing, prose lines stay output
            used -= set(range(j - len(out) + 1, j))
            j -= len(out) - 1
            out = out[:1]
        i = j
        text = ">>> " + src + ("\n" + "\n".join(out) if out else "")
        if src.startswith("assert"):
            col.line(src)
            continue
        expr = parse_expr(src)
        if expr is None:
            _statement(text, src, out, col)
            continue
        if not out:
            if isinstance(expr, ast.Compare) and called_names(expr):
                col.assertion(text, expr)  # `>>> f(x) == y` with no output line reads as an assertion
            elif called_names(expr):  # nothing shown: the call returns None and prints nothing
                col.add_raw(subject_of(expr), Check(ast.unparse(expr), expected_repr="", name=text[:160]))
            continue
        want = "\n".join(out)
        if want.startswith("Traceback"):
            raised = traceback_expectation(src, out)
            if raised and called_names(expr):
                col.add_raw(subject_of(expr), Check(ast.unparse(expr), name=text[:160], **raised))  # type: ignore[arg-type]
            else:
                col.skipped.append((text, "a traceback without an exception name"))
            continue
        ok, _ = literal(want)
        if ok:
            col.value(text, expr, want)
        elif called_names(expr):
            col.add_raw(subject_of(expr), Check(ast.unparse(expr), expected_repr=want, name=text[:160]))
    return used


_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


def traceback_expectation(src: str, out: list[str]) -> dict[str, str | None] | None:
    """What a doctest's traceback expects: the exception's class name and, unless the example says
    `IGNORE_EXCEPTION_DETAIL`, its text (doctest compares both); None without an exception line."""
    m = _EXC_LINE.match(out[-1]) if len(out) > 1 else None
    if not m:
        return None
    message = None if "IGNORE_EXCEPTION_DETAIL" in src else (m.group(2) or "")
    return {"raises": m.group(1).split(".")[-1], "raises_message": message}


def _statement(text: str, src: str, out: list[str], col: Collector) -> None:
    """A doctest line that is a statement: kept as a setup step (it binds what later checks use), or
    as a check of its own when the doctest shows what it prints or raises."""
    try:
        tree = ast.parse(src, mode="exec")
    except PARSE_ERRORS:
        col.skipped.append((text, "a doctest line that does not parse"))
        return
    want = "\n".join(out)
    if not out:
        col.add_setup(text, src, tree)
    elif want.startswith("Traceback"):
        raised = traceback_expectation(src, out)
        if raised:
            col.add_setup(text, src, tree, **raised)
        else:
            col.skipped.append((text, "a traceback without an exception name"))
    else:  # a statement that prints: its output must match
        col.add_setup(text, src, tree, expected_repr=want)


def io_block(lines: list[str], k: int) -> tuple[str, list[str], int] | None:
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
    return "\n".join(_unwrapped(inp)), _unwrapped(out), n


def _unwrapped(lines: list[str]) -> list[str]:
    """Lines with a value the page wrapped inside its brackets joined back into one line
    (`arrays = [[1,3,4],` / `[1,4,7,9]]`, a grid one row a line); a bracket that no later line
    closes leaves the lines as they were."""
    out: list[str] = []
    k = 0
    while k < len(lines):
        acc, j = lines[k], k
        while _depth(acc) > 0 and j + 1 < len(lines):
            j += 1
            acc = f"{acc} {lines[j]}"
        if j > k and _depth(acc) == 0:
            out.append(acc)
            k = j + 1
        else:
            out.append(lines[k])
            k += 1
    return out


def spanning_example(lines: list[str], k: int, used: set[int], col: Collector, most: int = 20) -> int:
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


_DANGLING = re.compile(r"(?:\bshould(?:\s+(?:return|be))?|\breturns?|\bgives|->|=>|➞|==)\s*$", re.I)


def wrapped_example(lines: list[str], k: int, used: set[int], col: Collector) -> int:
    """A prose example that the text wrapped after its verb (`For example f("14.5") should` / `return
    15 and ...`): when line k holds a call and ends on the verb, read it joined with the next line.
    Returns 1 when that line was read so (its own examples are then read here, not again), else 0."""
    if k + 1 >= len(lines) or k + 1 in used or not lines[k + 1].strip():
        return 0
    if not _CALL_START.search(lines[k]) or not _DANGLING.search(lines[k].rstrip()):
        return 0
    return 1 if col.line(f"{lines[k].strip()} {lines[k + 1].strip()}") else 0


def owner_class(instruction: str, entry: str) -> str | None:
    """The class an entry point is a method of (`def entry(self, ...)` inside `class X`), if any."""
    m = re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(\s*self\b", instruction, re.M)
    if not m:
        return None
    classes = re.findall(r"^\s*class\s+([A-Za-z_]\w*)", instruction[: m.start()], re.M)
    return classes[-1] if classes else None


TABLE = re.compile(r"^\s*\+-[-+]*\+\s*$", re.M)
NAMED_INPUT = re.compile(r"^[A-Za-z_]\w*\s*=(?!=)")
# `name : value`, an input named with a colon (the value must follow after a space)
NAMED_COLON = re.compile(r"^([A-Za-z_]\w*)\s*:\s+(?=[\[({\"'\d-])")


def design_input(inp: str) -> tuple[list[str], list[list[object]]] | None:
    """An operation list (`["LRUCache","put","get"]` then `[[2],[1,1],[1]]`, on two lines or one), or None."""
    parts = inp.split("\n")
    text = f"({parts[0]}, {parts[1]})" if len(parts) == 2 else f"({inp})"
    ok, val = literal(text)
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
