"""Critic-Evol instructions from an Exercism language track (exercism/python is MIT licensed).

Each active practice exercise becomes one instruction row: its `.docs/instructions.md` (and the
track's `instructions.append.md`, which says e.g. which exception to raise), the stub file to
complete, and a few example asserts taken from the exercise's unit tests (`self.assertEqual(f(x), y)`
with the test's literal locals substituted), so Critic-Evol can run both attempts on them. The
exercises come from Exercism's own problem specifications, not from HumanEval, MBPP, EvalPerf,
CyberSecEval, BigCodeBench or LBPP.

Reads a git repository (a clone or a bare mirror) at one revision through pygit2, so the rows are
reproducible from (repository, commit). Writes JSONL with `id`, `instruction` and `source` fields.

    python -m codefavor.generators.exercism /path/to/exercism-python --output instructions.jsonl --limit 40
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codefavor.errors import CodefavorError

SOURCE = "exercism/python"
LICENSE = "MIT"


def _blob_text(repo: Any, tree: Any, path: str) -> str | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    return repo[entry.id].data.decode("utf-8", errors="replace")


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


_TRUTH = {"assertTrue": "", "assertFalse": "not "}


class _Substitute(ast.NodeTransformer):
    def __init__(self, env: dict[str, ast.expr]) -> None:
        self.env = env

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.env.get(node.id, node)


def example_asserts(test_source: str, functions: set[str], limit: int = 3) -> list[str]:
    """Up to `limit` lines `assert f(...) == expected` (or `is`, or a bare truth test) from the unit
    tests' `assertEqual` / `assertIs` / `assertTrue` / `assertFalse` calls on a stub function whose
    arguments are literals or locals assigned a literal in the same test; one per test, in test
    order. Pure; never raises."""
    try:
        tree = ast.parse(test_source)
    except (SyntaxError, ValueError):
        return []
    out: list[str] = []
    for fn in ast.walk(tree):
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
            continue
        env: dict[str, ast.expr] = {}
        for stmt in fn.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and _literal(stmt.value)
            ):
                env[stmt.targets[0].id] = stmt.value
                continue
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and not call.keywords):
                continue
            kind, nargs = call.func.attr, len(call.args)
            if not ((kind in ("assertEqual", "assertIs") and nargs == 2) or (kind in _TRUTH and nargs == 1)):
                continue
            args = [_Substitute(env).visit(a) for a in call.args]
            got = args[0]
            if not (isinstance(got, ast.Call) and isinstance(got.func, ast.Name) and got.func.id in functions):
                continue
            if not (all(_literal(a) for a in [*got.args, *args[1:]]) and not got.keywords):
                continue
            if kind in _TRUTH:
                line = f"assert {_TRUTH[kind]}{ast.unparse(got)}"
            else:
                op = "is" if kind == "assertIs" else "=="
                line = f"assert {ast.unparse(got)} {op} {ast.unparse(args[1])}"
            if len(line) <= 200 and line not in out:
                out.append(line)
            break  # one example per test: spread them over the behaviours the tests cover
        if len(out) >= limit:
            break
    return out


def _stub_functions(stub: str) -> set[str]:
    try:
        tree = ast.parse(stub)
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def render_instruction(docs: str, append: str | None, stub_name: str, stub: str, examples: list[str]) -> str:
    parts = [docs.strip()]
    if append and append.strip():
        parts.append(append.strip())
    parts.append(f"Write the solution in Python as the module `{stub_name}`, completing this stub:")
    parts.append(f"```python\n{stub.strip()}\n```")
    if examples:
        parts.append("Examples:")
        parts.append("```python\n" + "\n".join(examples) + "\n```")
    return "\n\n".join(parts)


def iter_exercises(
    repo_path: str | Path, rev: str = "HEAD", examples: int = 3, max_doc_chars: int = 4000
) -> Iterator[dict[str, Any]]:
    """Instruction rows of the track's active practice exercises, in the track's order (by difficulty
    as the track lists them). Exercises without a single-file stub, or whose instructions are longer
    than `max_doc_chars`, are skipped."""
    try:
        import pygit2
    except ImportError:
        raise CodefavorError("reading a track needs pygit2; install it with: pip install 'codefavor[git]'") from None
    try:
        repo = pygit2.Repository(str(repo_path))
    except pygit2.GitError:
        raise CodefavorError(f"{repo_path}: not a git repository") from None
    try:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise CodefavorError(f"{repo_path}: no revision {rev!r}") from None
    tree = commit.tree
    config = json.loads(_blob_text(repo, tree, "config.json") or "{}")
    for ex in config.get("exercises", {}).get("practice", []):
        if ex.get("status", "active") == "deprecated":
            continue
        slug = ex["slug"]
        base = f"exercises/practice/{slug}"
        docs = _blob_text(repo, tree, f"{base}/.docs/instructions.md")
        meta = json.loads(_blob_text(repo, tree, f"{base}/.meta/config.json") or "{}")
        solution = meta.get("files", {}).get("solution", [])
        if not docs or len(docs) > max_doc_chars or len(solution) != 1:
            continue
        stub = _blob_text(repo, tree, f"{base}/{solution[0]}") or ""
        tests = meta.get("files", {}).get("test", [])
        test_src = _blob_text(repo, tree, f"{base}/{tests[0]}") if tests else None
        shown = example_asserts(test_src or "", _stub_functions(stub), examples) if examples else []
        append = _blob_text(repo, tree, f"{base}/.docs/instructions.append.md")
        yield {
            "id": f"exercism-python/{slug}",
            "instruction": render_instruction(docs, append, solution[0].removesuffix(".py"), stub, shown),
            "source": {
                "repo": SOURCE,
                "commit": str(commit.id),
                "path": f"{base}/.docs/instructions.md",
                "license": LICENSE,
                "difficulty": ex.get("difficulty"),
            },
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", help="exercism/python clone or bare mirror")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--output", "-o", required=True, help="instructions JSONL to write")
    ap.add_argument("--limit", type=int, default=None, help="first N exercises (track order)")
    ap.add_argument("--examples", type=int, default=3, help="example asserts per exercise (0: none)")
    args = ap.parse_args(argv)
    try:
        rows = list(iter_exercises(args.repo, args.rev, examples=args.examples))
    except CodefavorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = rows[: args.limit] if args.limit is not None else rows
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)
    print(f"{len(rows)} instructions -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
