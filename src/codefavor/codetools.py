"""Small, dependency-free helpers on source code shared by every layer: comment and docstring
stripping (the benchmark protocol and the generators both need it), fenced-code extraction from
model text, reading a candidate's code from a file (its PEP 263 coding line honoured), and unified
diffs that keep form feeds inside lines (Commit-Instruct shows them, its dry-run backend applies
them), and Python 2 syntax read as Python 3 (`py2_as_py3`, for the security readers)."""

from __future__ import annotations

import ast
import difflib
import io
import re
import textwrap
import tokenize
import warnings
from collections.abc import Iterator
from pathlib import Path

from codefavor.errors import CodefavorError

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def drop_docstrings(tree: ast.AST) -> ast.AST:
    """Remove docstrings and other bare constant statements from every body, in place; a body left
    empty gets a `pass`. Returns `tree`: two trees equal after this differ only in docstrings."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        kept = [
            s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        ]  # docstrings and other bare constant statements carry no behaviour
        if not kept and isinstance(
            node,
            (
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.ClassDef,
                ast.If,
                ast.For,
                ast.While,
                ast.With,
                ast.AsyncWith,
                ast.Try,
            ),
        ):
            kept = [ast.Pass()]
        node.body = kept  # type: ignore[attr-defined]  # every node with a list body accepts one
    return tree


# What parsing candidate code can raise: bad syntax, NUL bytes (ValueError), and nesting deep enough
# to exhaust the parser. Catch these, not Exception: anything else is a bug of ours.
PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)


def parse_quietly(code: str) -> ast.Module:
    """`ast.parse` without the SyntaxWarnings/DeprecationWarnings that candidate code often triggers
    (invalid escape sequences); raises SyntaxError/ValueError like `ast.parse`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


# Python 2 spellings that are only syntax, rewritten so a py2 function is read like any other:
# `except E, e:`, the print statement, `ur"..."` literals, tabs (expanded before the dedent)
_PY2 = [
    (re.compile(r"^(\s*except\s+[^:,]+),\s*(\w+)\s*:", re.M), r"\1 as \2:"),
    (re.compile(r"^(\s*)print\b(?!\s*\()\s*(.*)$", re.M), r"\1print(\2)"),
    (re.compile(r"\bur(['\"])"), r"r\1"),
]


def py2_as_py3(code: str) -> str:
    """`code` with the Python 2 spellings that are only syntax rewritten, tabs expanded, dedented: for
    readers of code that does not parse as written (never applied to code that does)."""
    code = code.expandtabs(8)
    for rx, repl in _PY2:
        code = rx.sub(repl, code)
    return textwrap.dedent(code)


def _readings(code: str) -> Iterator[str]:
    """The texts `parse_leniently` tries, in order, each made only when the one before failed."""
    yield code
    yield textwrap.dedent(code)
    yield py2_as_py3(code)
    if code[:1] in (" ", "\t"):
        yield "if True:\n" + code
        yield "if True:\n" + py2_as_py3(code)


def parse_leniently(code: str) -> tuple[ast.Module, str] | None:
    """The code's AST and the text it was read from: as written, else dedented (a method cut out of its
    class), else with its Python 2 spellings rewritten (`py2_as_py3`, so what parses never changes),
    else, for an indented method that dedent cannot shift (a multi-line string with a line at column
    0), as the body of an `if True:` block, also with its Python 2 spellings rewritten; None when
    none of them parses."""
    for text in _readings(code):
        try:
            return parse_quietly(text), text
        except PARSE_ERRORS:
            continue
    return None


def strip_comments(code: str) -> str:
    """Remove `#` comments and docstrings by re-emitting the AST (as the benchmark protocol does).

    Code that does not parse (the security set holds Python 2 code) is returned unchanged.
    """
    try:
        tree = parse_quietly(code)
    except PARSE_ERRORS:
        return code
    drop_docstrings(tree)
    try:
        return ast.unparse(tree)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of a parsed tree rarely fails
        return code


def parses(code: str) -> bool:
    """True when `code` is valid Python 3."""
    try:
        parse_quietly(code)
    except PARSE_ERRORS:
        return False
    return True


def extract_code_blocks(text: str) -> list[tuple[str, str]]:
    """All fenced blocks in model text as (language tag, code); an unclosed last fence counts."""
    return [(m.group(1).lower(), m.group(2).rstrip("\n")) for m in _FENCE.finditer(text)]


def extract_code(text: str, language: str = "python") -> str:
    """The most relevant code in model text: the longest fenced block tagged `language` (or untagged);
    failing that the longest block; failing that the text itself, stripped."""
    blocks = extract_code_blocks(text)
    if not blocks:
        return text.strip()
    tagged = [c for tag, c in blocks if tag in (language, "py" if language == "python" else language, "")]
    pool = tagged or [c for _, c in blocks]
    return max(pool, key=len).strip("\n")


def _lines(text: str) -> list[str]:
    """Lines split at newlines only (form feeds and other separators stay inside a line)."""
    return text.removesuffix("\n").split("\n") if text else []


def unified_diff(old: str, new: str, path: str = "file") -> str:
    """A unified diff with three lines of context, `a/PATH` and `b/PATH` headers."""
    lines = difflib.unified_diff(_lines(old), _lines(new), fromfile=f"a/{path}", tofile=f"b/{path}", lineterm="", n=3)
    return "\n".join(lines)


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def apply_unified_diff(old: str, diff: str) -> str:
    """Apply a diff made by `unified_diff` (no fuzz) to `old`; lines are joined with newlines."""
    src = _lines(old)
    out: list[str] = []
    pos = 0
    in_hunk = False
    for line in _lines(diff):
        hunk = _HUNK.match(line)
        if hunk:
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            out.extend(src[pos:start])
            pos, in_hunk = start, True
        elif not in_hunk:
            continue  # the ---/+++ header
        elif line.startswith("+"):
            out.append(line[1:])
        elif line.startswith("-"):
            pos += 1
        elif line.startswith(" "):
            out.append(line[1:])
            pos += 1
    out.extend(src[pos:])
    return "\n".join(out) + "\n"


def read_source(path: str | Path) -> str:
    """The text of a source file, decoded as Python would: by its PEP 263 coding line (or BOM), else
    UTF-8. A missing file, a folder or undecodable bytes are one-line `CodefavorError`s."""
    p = Path(path)
    if p.is_dir():
        raise CodefavorError(f"{p}: is a directory; expected a file")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CodefavorError(f"{p}: no such file") from None
    except OSError as e:
        raise CodefavorError(f"{p}: cannot read it ({e.strerror or e})") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:  # an unknown codec named in the coding line, or a BOM that contradicts it
        raise CodefavorError(f"{p}: {e.msg if hasattr(e, 'msg') else e}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise CodefavorError(
            f"{p}: not valid {encoding} at byte {e.start} (declare the encoding in a coding line)"
        ) from None
    return text.removeprefix("\ufeff")


def candidate_code(text: str) -> str:
    """The code of a candidate: a Markdown answer (a model's reply saved as is) is judged by its
    longest fenced block, anything else is the code itself."""
    blocks = extract_code_blocks(text) if "```" in text else []
    return max((c for _, c in blocks), key=len) if blocks else text


def read_candidate(path: str | Path) -> str:
    """A candidate's code from a file (`read_source`, then `candidate_code`)."""
    return candidate_code(read_source(path))
