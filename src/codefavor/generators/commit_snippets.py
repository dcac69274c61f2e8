"""The code a commit changed, cut out of its file so that it runs alone (Commit-Instruct's `codes: commit`).

Asked to write a naive and an improved code "in the spirit of" a change, small models copy the
prompt or write two identical programs (Qwen2.5-Coder-0.5B on 130 real commits: 60 pairs parsed,
all 60 with the prompt's own words as instruction or criterion). The change itself already holds
both codes: the top-level definitions it touched, before and after, each with the module-level
statements they need (imports, constants, helpers, transitively), are a pair of real code that
loads on its own. The model then writes only the words around them.

`changed_snippets` is pure and never raises: it returns the two snippets or the reason there are
none (a string, counted in the generator's funnel).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

from codefavor.codetools import PARSE_ERRORS, parses

MAX_LINES = 150  # per snippet: a longer one is a module, not a teaching example
MAX_DEFINITIONS = 3  # a change touching more definitions is a refactoring of the file

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Snippets:
    """The changed definitions with their context, before and after; `names` are the definitions."""

    before: str
    after: str
    names: tuple[str, ...]


def changed_snippets(old: str, new: str, max_lines: int = MAX_LINES) -> Snippets | str:
    """The changed top-level definitions of a Python file with what they need, or why there are none:
    `file-syntax`, `no-changed-definition`, `only-literals` (only the text of strings changed: a
    reworded message is no improvement a judge can see), `too-many-definitions`, `relative-import`,
    `too-long`."""
    try:
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    except PARSE_ERRORS:
        return "file-syntax"
    old_defs, new_defs = _definitions(old_tree), _definitions(new_tree)
    changed = tuple(n for n in old_defs if n in new_defs and _shape(old_defs[n]) != _shape(new_defs[n]))
    if not changed:
        return "no-changed-definition"
    if all(_shape(old_defs[n], literals=False) == _shape(new_defs[n], literals=False) for n in changed):
        return "only-literals"
    if len(changed) > MAX_DEFINITIONS:
        return "too-many-definitions"
    before, after = _cut(old, old_tree, changed), _cut(new, new_tree, changed)
    if before is None or after is None:
        return "relative-import"
    if max(before.count("\n"), after.count("\n")) + 1 > max_lines:
        return "too-long"
    if not (parses(before) and parses(after)):
        return "file-syntax"
    return Snippets(before, after, changed)


def _definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    return {node.name: node for node in tree.body if isinstance(node, _DEFS)}


def _shape(node: ast.stmt, literals: bool = True) -> str:
    """The definition up to comments, layout and docstrings (and the text of its strings unless
    `literals`): a change to those alone is no change."""
    node = copy.deepcopy(node)
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if isinstance(sub, _DEFS) and body and _is_docstring(body[0]):
            sub.body = body[1:] or [ast.Pass()]
        if not literals and isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            sub.value = ""
    return ast.dump(node, include_attributes=False)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _bound(stmt: ast.stmt) -> set[str]:
    """The module-level names a statement binds (a try/if block binds what its branches bind)."""
    if isinstance(stmt, _DEFS):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {a.asname or a.name for a in stmt.names if a.name != "*"}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With, ast.If, ast.Try)):
        names = set()
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom, *_DEFS)) and sub is not stmt:
                names |= _bound(sub)
        return names
    return set()


def _used(stmt: ast.stmt) -> set[str]:
    return {sub.id for sub in ast.walk(stmt) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _is_main_guard(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.If) and "__name__" in _used(stmt) and "__main__" in ast.dump(stmt.test)


def _cut(source: str, tree: ast.Module, names: tuple[str, ...]) -> str | None:
    """The statements of `tree` that define `names`, and those they need, in file order; None when
    one of them imports from the file's own package (the snippet would not load alone)."""
    body = [s for s in tree.body if not _is_main_guard(s)]
    binders: dict[str, list[int]] = {}
    for i, stmt in enumerate(body):
        for name in _bound(stmt):
            binders.setdefault(name, []).append(i)
    keep = {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and s.module == "__future__"}
    todo = [i for i, s in enumerate(body) if isinstance(s, _DEFS) and s.name in names]
    while todo:
        i = todo.pop()
        if i in keep:
            continue
        keep.add(i)
        for name in _used(body[i]):
            todo += [j for j in binders.get(name, ()) if j not in keep]
    if any(isinstance(body[i], ast.ImportFrom) and body[i].level for i in keep):  # type: ignore[attr-defined]
        return None
    lines = source.splitlines()
    parts: list[str] = []
    for i in sorted(keep):
        stmt = body[i]
        start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
        text = "\n".join(lines[start - 1 : stmt.end_lineno])
        sep = "\n\n\n" if parts and (isinstance(stmt, _DEFS) or isinstance(body[_prev(keep, i)], _DEFS)) else "\n"
        parts.append((sep if parts else "") + text)
    return "".join(parts) + "\n"


def _prev(keep: set[int], i: int) -> int:
    return max(j for j in keep if j < i)
