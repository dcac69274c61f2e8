"""Small, dependency-free helpers on source code shared by every layer: comment stripping (the
benchmark protocol and the generators both need it) and fenced-code extraction from model text."""

from __future__ import annotations

import ast
import re
import warnings

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _drop_docstrings(tree: ast.AST) -> None:
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


def parse_quietly(code: str) -> ast.Module:
    """`ast.parse` without the SyntaxWarnings/DeprecationWarnings that candidate code often triggers
    (invalid escape sequences); raises SyntaxError/ValueError like `ast.parse`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def strip_comments(code: str) -> str:
    """Remove `#` comments and docstrings by re-emitting the AST (as the benchmark protocol does).

    Code that does not parse (the security set holds Python 2 code) is returned unchanged.
    """
    try:
        tree = parse_quietly(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    _drop_docstrings(tree)
    try:
        return ast.unparse(tree)
    except (ValueError, RecursionError):  # pragma: no cover - unparse of a parsed tree rarely fails
        return code


def parses(code: str) -> bool:
    """True when `code` is valid Python 3."""
    try:
        parse_quietly(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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
