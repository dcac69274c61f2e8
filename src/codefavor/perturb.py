"""Semantics-preserving perturbations of Python source, for robustness checks of judges.

- `rename_locals`: rename a function's local variables consistently (never parameters, function or
  class names, globals, attributes, keywords or imports; functions that use `locals()`, `eval`,
  `exec`, `vars`, `global` or `nonlocal` are left alone); `canonical_locals` writes the same
  locals in one fixed way (numbered by first appearance), which every such renaming maps to, and
  `meaning_key` digests a program the same way whatever these perturbations did to it;
- `add_comments` / `remove_comments`: insert misleading `#` comments before statements, or drop
  every `#` comment (docstrings are kept: they can be behaviour);
- `reorder_definitions`: shuffle runs of consecutive top-level functions and classes whose
  definition-time expressions (decorators, defaults, annotations, bases, class-body statements)
  do not read a name defined in the same run.

All are pure functions of source text, deterministic for a seed, edit the text in place
(formatting and other comments survive), and never raise: code that does not parse, or an edit
that would not parse, gives the input back unchanged.
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import io
import random
import tokenize
from collections.abc import Callable, Sequence

from codefavor.codetools import PARSE_ERRORS, parse_quietly

KINDS = ("rename", "comments", "reorder")  # the default set; `STEPS` has every name `perturb` takes
_DYNAMIC = {"locals", "eval", "exec", "vars", "globals", "__import__"}
MISLEADING = (
    "# BUG: this is off by one for the last element",
    "# note: returns the wrong result for empty input",
    "# optimized: runs in O(1)",
    "# security: input is validated by the caller",
    "# TODO: this branch is never reached",
    "# the reference solution, verified by the tests",
    "# slow path, kept for compatibility",
)


def _parse(code: str) -> ast.Module | None:
    try:
        return parse_quietly(code)
    except PARSE_ERRORS:
        return None


def _safe(fn: Callable[[str, int], str]) -> Callable[[str, int], str]:
    def wrapper(code: str, seed: int = 0) -> str:
        if _parse(code) is None:
            return code
        try:
            out = fn(code, seed)
        except Exception:  # noqa: BLE001 - a perturbation must never break the caller; the input is the answer
            return code
        return out if _parse(out) is not None else code

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _lines(code: str) -> list[str]:
    return code.splitlines(keepends=True)


def _char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


# --- rename --------------------------------------------------------------------------------------


def _locals_of(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    """Names a function assigns (its locals) that are safe to rename, or None to leave it alone."""
    params = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}
    params |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None}
    stored, blocked = set(), set(params)
    for node in ast.walk(fn):
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.ClassDef)):
            return None  # declared scopes, and class bodies whose "locals" are attributes
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _DYNAMIC:
            return None
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stored.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            blocked.add(node.name)  # its name has no node of its own to rename
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not fn:
            blocked.add(node.name)
            blocked |= {a.arg for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            blocked |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Lambda):
            blocked |= {a.arg for a in node.args.args + node.args.posonlyargs + node.args.kwonlyargs}
        elif isinstance(node, ast.JoinedStr):  # f"{total=}" prints the name: renaming it is not neutral
            for text, value in zip(node.values, node.values[1:], strict=False):
                if (isinstance(text, ast.Constant) and isinstance(text.value, str)
                        and isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name)
                        and text.value.rstrip().endswith("=")):  # fmt: skip
                    blocked.add(value.value.id)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            blocked.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            blocked.add(node.rest)
    return stored - blocked


def _rename(code: str, choose: Callable[[list[str], set[str], set[str]], dict[str, str]]) -> str:
    """Rename each function's locals (`_locals_of`) by `choose(its locals in order of first
    appearance, every name taken, the locals of all functions)`, consistently within the function;
    nested functions share their outer one's."""
    tree = _parse(code)
    assert tree is not None
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(dir(builtins))
    taken |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    taken |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    edits: dict[tuple[int, int], tuple[str, str]] = {}
    top = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    done: set[int] = set()
    scopes = []
    for fn in top:
        if id(fn) in done:
            continue
        names = _locals_of(fn)
        if not names:
            continue
        # nested functions share the renaming: their free variables read these locals
        for inner in ast.walk(fn):
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                done.add(id(inner))
        scopes.append((fn, names))
    movable = set().union(*(names for _, names in scopes))
    for fn, names in scopes:
        uses = sorted(
            (n.lineno, n.col_offset, n.id) for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id in names
        )
        mapping = choose(list(dict.fromkeys(name for *_, name in uses)), taken, movable)
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and node.id in mapping:
                edits[(node.lineno, node.col_offset)] = (node.id, mapping[node.id])
    lines = _lines(code)
    for (lineno, col), (old, new) in sorted(edits.items(), reverse=True):
        line = lines[lineno - 1]
        c = _char_col(line, col)
        if line[c : c + len(old)] != old:
            return code  # positions do not line up (unusual encoding): leave the code as it was
        lines[lineno - 1] = line[:c] + new + line[c + len(old) :]
    return "".join(lines)


@_safe
def rename_locals(code: str, seed: int = 0) -> str:
    """Rename each function's local variables to fresh names, consistently within the function."""
    rng = random.Random(seed)

    def fresh(names: list[str], taken: set[str], _movable: set[str]) -> dict[str, str]:
        mapping = {}
        for name in sorted(names):
            new = name
            while new in taken:
                new = f"{rng.choice(('tmp', 'val', 'item', 'acc', 'cur', 'node', 'res'))}_{rng.randrange(10**4)}"
            taken.add(new)
            mapping[name] = new
        return mapping

    return _rename(code, fresh)


def canonical_locals(code: str, width: int = 0) -> str:
    """Each function's locals written `v0`, `v1`, ... in order of first appearance (padded with `x`
    to `width` characters): the same text for every consistent renaming of them (`rename_locals`),
    for comparisons that must be blind to it. Code that does not parse comes back unchanged."""
    return _numbered_locals(code, width)


@_safe
def _numbered_locals(code: str, width: int) -> str:
    def numbered(names: list[str], taken: set[str], movable: set[str]) -> dict[str, str]:
        # clear of every name that stays as written (a renaming never touches those), so that the
        # prefix is one for all renamings of the same code
        fixed = taken - movable
        prefix = "v"
        while any(t.startswith(prefix) and t[len(prefix) :].strip("x").isdigit() for t in fixed):
            prefix += "_"
        return {name: f"{prefix}{i}".ljust(width, "x") for i, name in enumerate(names)}

    return _rename(code, numbered)


# --- comments ------------------------------------------------------------------------------------


def _comment_tokens(code: str) -> list[tokenize.TokenInfo]:
    return [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]


@_safe
def remove_comments(code: str, seed: int = 0) -> str:
    """Drop every `#` comment; lines that held only a comment go too."""
    lines = _lines(code)
    for tok in sorted(_comment_tokens(code), key=lambda t: t.start, reverse=True):
        row, col = tok.start
        line = lines[row - 1]
        newline = line[len(line.rstrip("\r\n")) :]
        lines[row - 1] = "" if not line[:col].strip() else line[:col].rstrip() + newline
    return "".join(lines)


@_safe
def add_comments(code: str, seed: int = 0) -> str:
    """Insert misleading comments (`MISLEADING`) before about a third of the statements (at least one)."""
    tree = _parse(code)
    assert tree is not None
    lines = _lines(code)
    starts = sorted({n.lineno for n in ast.walk(tree) if isinstance(n, ast.stmt)})
    # a line that continues the previous one (backslash) is no place for a comment line
    starts = [s for s in starts if s == 1 or not lines[s - 2].rstrip("\r\n").endswith("\\")]
    if not starts:
        return code
    rng = random.Random(seed)
    chosen = sorted(rng.sample(starts, max(1, len(starts) // 3)), reverse=True)
    for s in chosen:
        line = lines[s - 1]
        indent = line[: len(line) - len(line.lstrip())]
        lines.insert(s - 1, f"{indent}{rng.choice(MISLEADING)}\n")
    return "".join(lines)


# --- reorder -------------------------------------------------------------------------------------


def _signature_exprs(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """What a `def` evaluates when it runs: decorators, defaults, annotations."""
    a = fn.args
    exprs: list[ast.AST] = [*fn.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d is not None)]
    every = a.args + a.posonlyargs + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x is not None]
    exprs += [x.annotation for x in every if x.annotation is not None]
    return exprs + ([fn.returns] if fn.returns is not None else [])


def _definition_time_names(node: ast.stmt) -> set[str]:
    exprs: list[ast.AST] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        exprs += _signature_exprs(node)
    elif isinstance(node, ast.ClassDef):
        exprs += node.decorator_list
        exprs += node.bases + [k.value for k in node.keywords]
        for stmt in node.body:  # the class body runs at definition time; method bodies do not
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                exprs += _signature_exprs(stmt)
            else:
                exprs.append(stmt)
    return {n.id for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name)}


def _movable_runs(body: list[ast.stmt]) -> list[list[int]]:
    """Indices of each run (two or more) of consecutive top-level functions and classes, distinctly
    named, undecorated, none of whose definition-time expressions (a method's signature too) reads
    a name the run defines: any order of one run defines the same names to the same objects."""
    runs, i = [], 0
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    while i < len(body):
        j = i
        while j < len(body) and isinstance(body[j], defs):
            j += 1
        run = list(range(i, j))
        names = {body[k].name for k in run}  # type: ignore[attr-defined]
        # a decorator may register what it wraps (handlers run in definition order): such runs stay
        decorated = any(getattr(body[k], "decorator_list", []) for k in run)
        if (
            len(run) > 1
            and len(names) == len(run)
            and not decorated
            and not any(_definition_time_names(body[k]) & names for k in run)
        ):
            runs.append(run)
        i = max(j, i + 1)
    return runs


@_safe
def reorder_definitions(code: str, seed: int = 0) -> str:
    """Shuffle each run of consecutive, mutually independent top-level functions and classes."""
    tree = _parse(code)
    assert tree is not None
    lines = _lines(code)
    body = tree.body
    spans: list[tuple[int, int]] = []  # 0-based [start, end) line ranges of each statement with its leading comments
    prev_end = 0
    for node in body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        lead = start
        while lead > prev_end and lines[lead - 1].lstrip().startswith("#"):
            lead -= 1
        end = node.end_lineno or node.lineno
        spans.append((lead, end))
        prev_end = end
    rng = random.Random(seed)
    out_blocks: dict[int, int] = {}  # index in body -> index of the statement whose text goes there
    for run in _movable_runs(body):
        if not any(spans[k][0] < spans[k - 1][1] for k in run[1:]):  # not two on one line
            perm = run[:]
            rng.shuffle(perm)
            if perm == run:
                perm = run[1:] + run[:1]
            out_blocks.update(dict(zip(run, perm, strict=True)))
    if not out_blocks:
        return code
    pieces, cursor = [], 0
    for k, (lead, end) in enumerate(spans):
        pieces.append("".join(lines[cursor:lead]))
        src = out_blocks.get(k, k)
        block = "".join(lines[spans[src][0] : spans[src][1]])
        pieces.append(block if block.endswith("\n") else block + "\n")
        cursor = end
    pieces.append("".join(lines[cursor:]))
    return "".join(pieces)


@functools.lru_cache(maxsize=4096)  # both orders of a pair, and its edited copies, ask for the same codes
def meaning_key(code: str) -> str:
    """A digest equal for every text that the perturbations above map onto each other: the syntax
    tree (no comments, no layout) of `canonical_locals`' text, each movable run of definitions in
    one fixed order. Different keys may still mean the same; equal keys are meant to be the same
    program, so that a measurement of one holds for the other (what a harness picks by position,
    say the first function when nothing names the entry, is not part of that). Code that does not
    parse is keyed by its text."""
    tree = _parse(canonical_locals(code))
    if tree is None:
        return hashlib.sha256(b"text\0" + code.encode()).hexdigest()
    for run in _movable_runs(tree.body):
        order = sorted(run, key=lambda k: ast.dump(tree.body[k]))
        moved = [tree.body[k] for k in order]
        for k, node in zip(run, moved, strict=True):
            tree.body[k] = node
    return hashlib.sha256(b"ast\0" + ast.dump(tree).encode()).hexdigest()


# Every perturbation by name: `comments` adds misleading ones, `no-comments` removes them.
STEPS: dict[str, Callable[[str, int], str]] = {
    "rename": rename_locals,
    "comments": add_comments,
    "no-comments": remove_comments,
    "reorder": reorder_definitions,
}


def perturb(code: str, kinds: Sequence[str] = KINDS, seed: int = 0) -> str:
    """Apply the named perturbations (`STEPS`) in order; a name that is none of them is a
    ValueError (a caller's mistake, not the code's: the code itself never makes this raise)."""
    unknown = [k for k in kinds if k not in STEPS]
    if unknown:
        raise ValueError(f"unknown perturbation {unknown[0]!r}: expected some of {', '.join(STEPS)}")
    for k in kinds:
        code = STEPS[k](code, seed)
    return code


def seed_for(text: str) -> int:
    """A stable per-item seed (e.g. from a task id), so a perturbed benchmark is reproducible."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")
