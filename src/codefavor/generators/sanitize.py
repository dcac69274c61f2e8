"""Pull the solution code out of an LLM answer and drop its test and demo scaffolding, using the AST.

An answer usually wraps code in prose and fences, and often adds usage examples: a
`if __name__ == "__main__":` block, top-level prints and asserts, example calls, pytest functions.
`sanitize(text)` picks the relevant fenced block (or the bare text when there is no fence), keeps the
imports, definitions and top-level assignments the solution needs (helpers from other blocks are pulled
in when the chosen block uses them), and returns the kept statements as their original source lines.
It never raises: an answer with no usable code comes back with `code=None` and a reason.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from codefavor.codetools import PARSE_ERRORS, extract_code_blocks
from codefavor.generators.replies import strip_reasoning

PYTHON_TAGS = ("python", "py", "python3", "py3", "")
# Prose that happens to parse ("Sure", "OK.") is not code: a module must hold one of these.
_CODE_STMTS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.Return,
    ast.Raise,
    ast.Assert,
)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# The no-fence fallback tries O(lines^2) parses at worst; answers longer than this are cut.
_MAX_FALLBACK_LINES = 400


@dataclass(frozen=True)
class Sanitized:
    """The outcome: `code` (None when rejected), why it was rejected, and what was dropped."""

    code: str | None
    reason: str | None = None
    dropped: tuple[str, ...] = ()  # short labels of removed scaffolding, for the run log

    @property
    def ok(self) -> bool:
        return self.code is not None


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except PARSE_ERRORS:
        return None


def _syntax_error(code: str) -> str:
    try:
        ast.parse(code)
    except SyntaxError as e:
        return f"{e.msg} (line {e.lineno})"
    except (ValueError, RecursionError, MemoryError) as e:
        return type(e).__name__
    return ""


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.comparators) != 1:
        return False
    sides = [node.test.left, node.test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts) and isinstance(node.test.ops[0], ast.Eq)


def _is_test_def(node: ast.stmt) -> bool:
    """pytest functions and unittest classes: scaffolding, not solution."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name.startswith("test_") or node.name == "test"
    if isinstance(node, ast.ClassDef):
        for base in node.bases:
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            if name in ("TestCase", "IsolatedAsyncioTestCase"):
                return True
        return node.name.startswith("Test") and any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name.startswith("test") for s in node.body
        )
    return False


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds (definitions, imports, assignment targets)."""
    if isinstance(node, _DEFS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    names: set[str] = set()
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    else:  # compound statements (try/if/with at top level) bind whatever their bodies bind
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= _bound_names(child)
        return names
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                names.add(n.id)
    return names


def _used_names(node: ast.AST) -> set[str]:
    """Every name a statement reads, including the roots of attribute chains and string annotations."""
    used: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store):
            used.add(n.id)
        elif isinstance(n, ast.Global):
            used.update(n.names)  # `global counter; counter += 1` needs the module-level `counter`
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier():
            used.add(n.value)  # forward references written as strings: "Node"
    return used


def _calls_print_or_input(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("print", "input")
        for n in ast.walk(node)
    )


_TEST_RUNNERS = {("unittest", "main"), ("doctest", "testmod"), ("pytest", "main")}


def _is_setup_call(call: ast.Call, local: set[str]) -> bool:
    """A top-level call on an imported module that touches none of the module's own definitions."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False  # bare calls are the module's own functions or builtins like print
    root = func.value
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name) or root.id in local or (root.id, func.attr) in _TEST_RUNNERS:
        return False
    return not (_used_names(call) & (local | {"print", "input", "pprint"}))


def _is_import_guard(node: ast.stmt) -> bool:
    """`try: import x / except ImportError: ...`: an optional-dependency import, part of the solution."""
    return isinstance(node, ast.Try) and all(
        isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign)) for s in node.body
    )


def _label(node: ast.stmt) -> str:
    if _is_main_guard(node):
        return "main-block"
    if isinstance(node, _DEFS):
        return f"test:{node.name}"
    if isinstance(node, ast.Assert):
        return "assert"
    if isinstance(node, ast.Expr) and _calls_print_or_input(node):
        return "print"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return "example-call"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return "unused-import"
    return type(node).__name__.lower()


def _close_over(body: list[ast.stmt], candidates: list[ast.stmt], keep: set[int]) -> None:
    """Fixpoint: keep an import or assignment when a kept statement reads a name it binds."""
    changed = True
    while changed:
        changed = False
        used: set[str] = set()
        for s in body:
            if id(s) in keep:
                used |= _used_names(s)
        for s in candidates:
            if id(s) not in keep and _bound_names(s) & used:
                if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _calls_print_or_input(s):
                    continue
                keep.add(id(s))
                changed = True


def _prune(tree: ast.Module) -> tuple[list[ast.stmt], list[str]]:
    """Keep the solution's statements; return them (in order) and labels of what was dropped."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module docstring carries no behaviour
    solution_defs = [s for s in body if isinstance(s, _DEFS) and not _is_test_def(s)]
    if not solution_defs:
        # A script with no definitions is its own solution; only asserts and the main guard's
        # absence of anything else make it scaffolding (handled by the caller's emptiness check).
        kept = [s for s in body if not isinstance(s, ast.Assert)]
        if all(_is_main_guard(s) for s in kept) and kept:
            kept = list(kept[0].body)  # type: ignore[attr-defined]  # checked by _is_main_guard
        return kept, [_label(s) for s in body if isinstance(s, ast.Assert)]

    keep: set[int] = {id(s) for s in solution_defs}
    # Anything that binds `__future__` or `*` has effects we cannot see; keep it.
    for s in body:
        if isinstance(s, ast.ImportFrom) and (s.module == "__future__" or any(a.name == "*" for a in s.names)):
            keep.add(id(s))
    # A `main` called only from the dropped main guard is demo code.
    guard_calls = {
        n.func.id
        for s in body
        if _is_main_guard(s)
        for n in ast.walk(s)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    candidates = [
        s
        for s in body
        if isinstance(s, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign))
        or _is_import_guard(s)
        or (isinstance(s, ast.If) and not _is_main_guard(s) and not _calls_print_or_input(s))
    ]
    # Module set-up calls (`sys.setrecursionlimit(10**6)`, `logging.basicConfig()`) are part of the
    # solution; calls that use the solution's own definitions or print are demos.
    local = {s.name for s in body if isinstance(s, _DEFS)}
    for s in body:
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and _is_setup_call(s.value, local):
            keep.add(id(s))
    _close_over(body, candidates, keep)
    # An assignment nothing kept reads is still part of the module (a public constant) unless it is
    # demo data: built by calling the solution (`result = solve(...)`) or read only by dropped demos.
    demo_reads: set[str] = set()
    for s in body:
        if id(s) not in keep and not isinstance(s, (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom)):
            demo_reads |= _used_names(s)
    for s in body:
        if (
            isinstance(s, (ast.Assign, ast.AnnAssign))
            and id(s) not in keep
            and not (_used_names(s) & (local | {"print", "input"}))
            and not (_bound_names(s) & demo_reads)
        ):
            keep.add(id(s))
    _close_over(body, candidates, keep)
    demo_main = [
        s
        for s in solution_defs
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
        and s.name == "main"
        and s.name in guard_calls
        and len(solution_defs) > 1
        and s.name not in set().union(*(_used_names(o) for o in body if id(o) in keep and o is not s))
    ]
    for s in demo_main:
        keep.discard(id(s))
    kept = [s for s in body if id(s) in keep]
    dropped = [_label(s) for s in body if id(s) not in keep]
    return kept, dropped


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def _source_of(code: str, nodes: list[ast.stmt]) -> str:
    """The original source lines of `nodes` (comments inside them kept), one blank line between."""
    lines = code.splitlines()
    chunks = []
    for n in nodes:
        end = n.end_lineno or n.lineno
        chunks.append("\n".join(lines[_first_line(n) - 1 : end]))
    return "\n\n".join(chunks)


def _clean(code: str) -> Sanitized:
    """Prune one parseable piece of code; the result is checked to parse again."""
    tree = _parse(code)
    if tree is None:
        return Sanitized(None, f"unparseable: {_syntax_error(code)}")
    if not any(isinstance(n, _CODE_STMTS) for n in ast.walk(tree)):
        return Sanitized(None, "no code: only bare expressions")
    kept, dropped = _prune(tree)
    if not kept:
        return Sanitized(None, "empty after sanitizing: only test or demo code", tuple(dropped))
    if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in kept):
        return Sanitized(None, "empty after sanitizing: only imports", tuple(dropped))
    # When the kept statements came out of a main guard they are indented; dedent them back.
    out = textwrap.dedent(_source_of(code, kept)).strip("\n")
    if _parse(out) is None:  # pragma: no cover - slicing whole statements keeps valid code valid
        out = ast.unparse(kept)  # type: ignore[arg-type]
    return Sanitized(out + "\n", None, tuple(dropped))


def _score(tree: ast.Module, entry_point: str | None) -> tuple[int, int, int]:
    defs = [s for s in tree.body if isinstance(s, _DEFS) and not _is_test_def(s)]
    has_entry = int(entry_point is not None and any(d.name == entry_point for d in defs))
    substantive = sum(1 for s in tree.body if isinstance(s, _CODE_STMTS) and not isinstance(s, ast.Assert))
    return has_entry, len(defs), substantive


def _with_helpers(primary: str, others: list[str]) -> str:
    """Append definitions from other blocks that the primary block calls but does not define."""
    ptree = _parse(primary)
    assert ptree is not None
    have = set().union(*(_bound_names(s) for s in ptree.body)) if ptree.body else set()
    pool: dict[str, tuple[str, ast.stmt]] = {}
    for other in others:
        otree = _parse(other)
        if otree is None:
            continue
        for s in otree.body:
            if isinstance(s, _DEFS + (ast.Import, ast.ImportFrom)) and not _is_test_def(s):
                for name in _bound_names(s):
                    pool.setdefault(name, (other, s))
    extra: list[tuple[str, ast.stmt]] = []
    wanted = _used_names(ptree) - have
    while wanted:
        name = wanted.pop()
        if name in pool and name not in have:
            src, node = pool[name]
            extra.append((src, node))
            have |= _bound_names(node)
            wanted |= _used_names(node) - have
    if not extra:
        return primary
    # Helpers go before the primary block so class bases and decorators resolve at import time.
    pieces = [_source_of(src, [n]) for src, n in extra if isinstance(n, (ast.Import, ast.ImportFrom))]
    pieces += [_source_of(src, [n]) for src, n in extra if not isinstance(n, (ast.Import, ast.ImportFrom))]
    merged = "\n\n".join([*pieces, primary])
    return merged if _parse(merged) is not None else primary  # e.g. a `__future__` import must stay first


def _longest_parseable_span(text: str) -> str | None:
    """Without fences: the longest run of whole lines that parses and starts like code."""
    lines = text.splitlines()[:_MAX_FALLBACK_LINES]
    starts = [
        i for i, ln in enumerate(lines) if ln.startswith(("def ", "async def ", "class ", "import ", "from ", "@"))
    ]
    best: str | None = None
    for i in starts:
        for j in range(len(lines), i, -1):
            if best is not None and j - i <= best.count("\n") + 1:
                break
            chunk = "\n".join(lines[i:j])
            if _parse(chunk) is not None:
                best = chunk
                break
    return best


def sanitize(text: str, entry_point: str | None = None, language: str = "python") -> Sanitized:
    """Extract and clean the solution code in an LLM answer; never raises.

    Args:
        text: the model's whole answer (prose, fences, code).
        entry_point: the function the instruction asks for, when known; its block wins.
        language: the fence tag to prefer (other tagged blocks, e.g. bash or text, are ignored).
    """
    text = strip_reasoning(text)  # reasoning models think aloud first; code drafted there is not the answer
    if not text.strip():
        return Sanitized(None, "no code: empty answer")
    tags = PYTHON_TAGS if language == "python" else (language, "")
    blocks = [textwrap.dedent(code) for tag, code in extract_code_blocks(text) if tag in tags]
    if not blocks and extract_code_blocks(text):
        return Sanitized(None, f"no code: no {language} block among the fenced blocks")
    if not blocks:
        body = textwrap.dedent(text).strip("\n")
        if _parse(body) is None:
            span = _longest_parseable_span(body)
            if span is None:
                return Sanitized(None, f"no code: no fence and the text does not parse ({_syntax_error(body)})")
            body = span
        return _clean(body)
    parsed = [(b, t) for b in blocks if (t := _parse(b)) is not None and b.strip()]
    if not parsed:
        return Sanitized(None, f"unparseable: {_syntax_error(max(blocks, key=len))}")
    ranked = sorted(parsed, key=lambda bt: (*_score(bt[1], entry_point), len(bt[0])), reverse=True)
    primary = ranked[0][0]
    merged = _with_helpers(primary, [b for b, _ in ranked[1:]])
    return _clean(merged)
