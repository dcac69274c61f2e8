"""Correctness pairs from TheAlgorithms/Python (MIT): real bug fixes of functions that carry doctests.

Source: the repository's own history. A commit whose subject starts with "fix" or "bug" (case
insensitive; merges left out) and that changes at most `--max-funcs` top-level functions of
non-test files gives one pair per changed function: the function at the parent (buggy) vs at the
commit (fixed), each with what it needs from its own file version (the module's imports and the
top-level functions, classes and assignments it uses, transitively, in file order). Changes of
the docstring, comments or formatting alone do not count (compared without them).

The instruction is what a user has: the fixed function's `def` line and docstring, doctests
included, as the statement ("Write the function F of FILE in TheAlgorithms/Python" above it).

Validation (in codefavor's sandbox, never outside it): the fixed docstring's doctests are run with
`doctest` against both versions; the fixed one must pass all of them (at least one example), the
buggy one must fail at least one (a wrong output, an exception, or a time-out). Pairs that do not
are dropped and counted in meta.json.

    python benchmarks/foreign/build_algorithms.py [--mirror PATH] [--out DIR] [--max-funcs 3]
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter

from common import (
    Git,
    arg_parser,
    changed_functions,
    default_out,
    make_task,
    mirror_path,
    shapes,
    write_set,
)

from codefavor.codetools import strip_comments

REPO = "TheAlgorithms/Python"
LICENSE = "MIT"
_TESTISH = re.compile(r"(^|/)(tests?|conftest)[/_.]|_test\.py$|(^|/)scripts/")
# Run inside the candidate's namespace: the fixed docstring's doctests, against whatever `name` is there.
_RUNNER = """

def __codefavor_doctest__(name, doc):
    import doctest
    test = doctest.DocTestParser().get_doctest(doc, dict(globals()), name, name, 0)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(verbose=False, optionflags=flags)
    runner.run(test, out=lambda s: None)
    return [runner.failures, runner.tries]
"""


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def standalone(code: str, name: str) -> str | None:
    """The top-level function `name` of a module with what it needs of that module: its imports
    (outside `if __name__ == "__main__"`) and the top-level definitions and assignments it uses,
    transitively, in file order. None when the module has no such function."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    target = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name),
                  None)  # fmt: skip
    if target is None:
        return None
    defs: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        defs.setdefault(n.id, node)
    keep: set[int] = {id(target)}
    todo = list(_names(target))
    while todo:
        n = todo.pop()
        node = defs.get(n)
        if node is not None and id(node) not in keep:
            keep.add(id(node))
            todo += list(_names(node))
    lines = code.splitlines(keepends=True)
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in keep:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append("".join(lines[start - 1 : node.end_lineno]).rstrip() + "\n")
    return "\n\n".join(parts)


def statement(fixed: str, name: str) -> tuple[str, str] | None:
    """(the `def` line(s) and docstring of the fixed function as written, the docstring's text), or
    None when it has no docstring with a doctest."""
    try:
        fn = next(n for n in ast.parse(fixed).body if isinstance(n, ast.FunctionDef) and n.name == name)
    except (SyntaxError, StopIteration):
        return None
    doc = ast.get_docstring(fn, clean=False)
    if not doc or ">>>" not in doc:
        return None
    lines = fixed.splitlines(keepends=True)
    first = fn.body[0]
    head = "".join(lines[fn.lineno - 1 : first.end_lineno])
    return textwrap.dedent(head).rstrip() + "\n", doc


def _body_key(src: str) -> str:
    """A function without docstrings and comments, as an AST dump: equal when only those changed."""
    try:
        tree = ast.parse(strip_comments(src))
    except (SyntaxError, ValueError):
        return src
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def candidates(git: Git, max_funcs: int, stats: Counter) -> list[dict]:
    log = git.log("--format=%H", "--no-merges", "-i", "-E", "--grep=^(fix|bug)", "--", "*.py")
    jobs = []
    for sha in log.split():
        stats["commits"] += 1
        pairs = list(changed_functions(git, sha, _TESTISH, _body_key))
        if not pairs:
            stats["commits_no_code_change_in_a_function"] += 1
            continue
        if len(pairs) > max_funcs:
            stats["commits_too_broad"] += 1
            continue
        for ch in pairs:
            path, qual, before, after = ch.path, ch.qual, ch.file_before, ch.file_after
            if "." in qual:
                stats["methods_left_out"] += 1
                continue
            st = statement(after, qual)
            if st is None:
                stats["no_doctest_in_fixed_docstring"] += 1
                continue
            buggy, fixed = standalone(before, qual), standalone(after, qual)
            if not buggy or not fixed:
                stats["not_standalone"] += 1
                continue
            jobs.append({"sha": sha, "path": path, "name": qual, "buggy": buggy, "fixed": fixed,
                         "head": st[0], "doc": st[1]})  # fmt: skip
    return jobs


def validate(jobs: list[dict], stats: Counter) -> list[dict]:
    from codefavor.evidence.sandbox import Check, Limits, Sandbox

    lim = Limits(cpu_s=10, wall_s=20, check_s=4)
    kept = []
    with Sandbox() as sb:
        for j in jobs:
            check = Check(f"__codefavor_doctest__({j['name']!r}, {j['doc']!r})", kind="runs")
            rf, rb = sb.run_many([(j["fixed"] + _RUNNER, [check]), (j["buggy"] + _RUNNER, [check])], limits=lim)
            vf = rf.checks[0].value if rf.checks and not rf.load_error else None
            vb = rb.checks[0].value if rb.checks and not rb.load_error else None
            if not (isinstance(vf, list) and vf[0] == 0 and vf[1] >= 1):
                stats["fixed_fails_its_doctests"] += 1
                continue
            if isinstance(vb, list) and vb[0] == 0:
                stats["buggy_passes_the_doctests"] += 1
                continue
            j["tries"] = vf[1]
            j["buggy_fails"] = vb[0] if isinstance(vb, list) else "load error, crash or time-out"
            kept.append(j)
    return kept


def build(git: Git, max_funcs: int = 3, check: bool = True) -> tuple[list, dict]:
    head = git.head()
    stats: Counter = Counter()
    jobs = candidates(git, max_funcs, stats)
    stats["candidate_pairs"] = len(jobs)
    if check:
        jobs = validate(jobs, stats)
    tasks = []
    for j in jobs:
        instruction = f"Write the function `{j['name']}` of `{j['path']}` in TheAlgorithms/Python.\n\n"
        instruction += f"```python\n{j['head']}```"
        info = {"source": REPO, "commit": j["sha"], "license": LICENSE, "file": j["path"], "function": j["name"],
                "validated": (f"sandbox: fixed passes its {j['tries']} doctest examples, buggy fails "
                              f"{j['buggy_fails']}") if check else "no",
                "shapes": shapes(j["fixed"], instruction)}  # fmt: skip
        stable = f"algorithms/{j['sha'][:12]}/{j['path']}:{j['name']}"
        tasks.append(make_task(stable, instruction, j["fixed"], j["buggy"], "correctness", info))
    meta = {"source": REPO, "commit": head, "license": LICENSE, "kind": "buggy-vs-fixed with doctests",
            "max_funcs_per_commit": max_funcs, "stats": dict(stats)}  # fmt: skip
    return tasks, meta


def main(argv: list[str] | None = None) -> None:
    ap = arg_parser(__doc__)
    ap.add_argument("--mirror", default=str(mirror_path(REPO)))
    ap.add_argument("--max-funcs", type=int, default=3, help="leave out fix commits changing more functions")
    args = ap.parse_args(argv)
    tasks, meta = build(Git(args.mirror), args.max_funcs, check=not args.no_validate)
    write_set(args.out or default_out(), "algorithms-fixes", tasks, meta)


if __name__ == "__main__":
    main()
