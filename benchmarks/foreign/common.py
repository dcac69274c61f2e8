"""Shared helpers of the foreign-data builders: read a fetched bare mirror, write a set's splits.

Every builder reads a public repository's git history (a bare mirror as brought by the search
tool's fetch, or any clone: `--mirror PATH`), turns it into BenchTask rows and writes them to
`OUT/<set>/{dev,test}.jsonl` plus `OUT/<set>/meta.json` (source repository, commit, license,
counts, what was validated). OUT defaults to `~/.cache/codefavor/foreign` ($CODEFAVOR_FOREIGN
overrides it): bulk data stays out of the repository. The split is a deterministic 50/50 by a hash
of each row's stable source id (`codefavor.benchmark.data.split_of`), so part of a source never
moves between dev and test when the set is rebuilt. The chosen code's position (A/B) comes from
the same kind of hash, so a set is not trivially "always A".
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codefavor.benchmark.data import split_of
from codefavor.benchmark.importers import chosen_first
from codefavor.records import BenchTask

MIRRORS = Path(os.environ.get("CODEFAVOR_MIRRORS", "/work/.mirror"))


def default_out() -> Path:
    return Path(os.environ.get("CODEFAVOR_FOREIGN", Path.home() / ".cache" / "codefavor" / "foreign"))


def mirror_path(repo: str) -> Path:
    """The bare git dir of a fetched mirror: MIRRORS/owner+name/repo."""
    return MIRRORS / repo.replace("/", "+") / "repo"


class Git:
    """Read-only access to one repository's objects through the git CLI (no work tree needed)."""

    def __init__(self, path: str | Path):
        self.path = str(path)

    def _run(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(["git", "-C", self.path, *args], capture_output=True, check=False)
        if check and r.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode("utf-8", errors="replace") if r.returncode == 0 else ""

    def head(self) -> str:
        return self._run("rev-parse", "HEAD").strip()

    def show(self, rev: str, path: str) -> str | None:
        """File text at `rev`, or None when absent."""
        r = subprocess.run(["git", "-C", self.path, "show", f"{rev}:{path}"], capture_output=True, check=False)
        return r.stdout.decode("utf-8", errors="replace") if r.returncode == 0 else None

    def ls(self, rev: str, under: str = "", recursive: bool = True) -> list[str]:
        args = ["ls-tree", "--name-only", "-z"] + (["-r"] if recursive else []) + [rev]
        if under:
            args.append(under)
        return [p for p in self._run(*args).split("\0") if p]

    def log(self, *args: str) -> str:
        return self._run("log", *args)

    def has(self, rev: str) -> bool:
        return subprocess.run(["git", "-C", self.path, "cat-file", "-e", f"{rev}^{{commit}}"],
                              capture_output=True, check=False).returncode == 0  # fmt: skip

    def full(self, rev: str) -> str:
        return self._run("rev-parse", rev).strip()

    def changed(self, rev: str) -> list[tuple[str, str]]:
        """(status, path) of files changed by a (non-merge) commit against its first parent."""
        out = self._run("diff-tree", "--no-commit-id", "-r", "--name-status", "-z", f"{rev}^", rev, check=False)
        parts = [p for p in out.split("\0") if p]
        return [(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2) if not parts[i].startswith("R")]


def functions(code: str) -> dict[str, str]:
    """Qualified name -> dedented source of every function and method (decorators included)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    lines = code.splitlines(keepends=True)
    out: dict[str, str] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                out[prefix + node.name] = textwrap.dedent("".join(lines[start - 1 : node.end_lineno]))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return out


@dataclass(frozen=True)
class ChangedFunction:
    """One function a commit changed: its file at the parent and at the commit, and both sources."""

    path: str
    qual: str
    file_before: str
    file_after: str
    before: str
    after: str


def changed_functions(
    git: Git, sha: str, skip: re.Pattern[str], same: Callable[[str], str]
) -> Iterator[ChangedFunction]:
    """Functions present on both sides of `sha` whose `same` key differs, in modified .py files.

    `skip` leaves out paths (tests, docs); `same` says what counts as no change (comments only,
    docstrings too): the builders differ there on purpose, not in how a commit is walked.
    """
    for status, path in git.changed(sha):
        if status != "M" or not path.endswith(".py") or skip.search(path):
            continue
        before, after = git.show(f"{sha}^", path) or "", git.show(sha, path) or ""
        fb, fa = functions(before), functions(after)
        for qual in sorted(set(fb) & set(fa)):
            if same(fb[qual]) != same(fa[qual]):
                yield ChangedFunction(path, qual, before, after, fb[qual], fa[qual])


def make_task(
    stable_id: str, instruction: str, chosen: str, rejected: str, category: str, info: dict[str, Any]
) -> BenchTask:
    """A BenchTask with the chosen code at its hashed position; provenance in `annotations`."""
    first = chosen_first(stable_id)
    choices = (chosen, rejected) if first else (rejected, chosen)
    return BenchTask(task_id=stable_id, instruction=instruction, choices=choices, gt_choice=0 if first else 1,
                     category=category, annotations=[info])  # type: ignore[arg-type]  # fmt: skip


def write_set(out: Path, name: str, tasks: list[BenchTask], meta: dict[str, Any]) -> dict[str, Any]:
    """Write OUT/name/{dev,test}.jsonl (rows sorted by id, so a rebuild is byte-identical) and meta.json."""
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    uniq = []
    for t in sorted(tasks, key=lambda t: t.task_id):
        key = hashlib.sha256(json.dumps(sorted(t.choices)).encode()).hexdigest()
        if key in seen:  # the same two codes twice (one fix listed in two advisories, ...)
            continue
        seen.add(key)
        uniq.append(t)
    counts: Counter[str] = Counter()
    for split in ("dev", "test"):
        rows = [t for t in uniq if split_of(t.task_id) == split]
        counts[split] = len(rows)
        tmp = folder / f".{split}.jsonl.tmp"
        tmp.write_text("".join(t.to_json() + "\n" for t in rows), encoding="utf-8")
        tmp.replace(folder / f"{split}.jsonl")
    meta = {**meta, "name": name, "counts": dict(counts), "total": sum(counts.values())}
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{name}: dev {counts['dev']}  test {counts['test']}  -> {folder}")
    return meta


def arg_parser(doc: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default ~/.cache/codefavor/foreign)")
    ap.add_argument("--no-validate", action="store_true", help="skip the sandbox label checks")
    return ap


def builder_main(doc: str, repo: str, name: str, build: Any, argv: list[str] | None = None) -> None:
    """The command line of a builder that reads one mirror: `--mirror` (default: the fetched mirror of
    `repo`), `--out`, `--no-validate`; `build(git, validate=...)` gives the tasks and meta of set `name`."""
    ap = arg_parser(doc)
    ap.add_argument("--mirror", default=str(mirror_path(repo)))
    args = ap.parse_args(argv)
    tasks, meta = build(Git(args.mirror), validate=not args.no_validate)
    write_set(args.out or default_out(), name, tasks, meta)


def shapes(code: str, instruction: str) -> dict[str, bool]:
    """Which shapes the evidence judge must still cover (counted in each set's meta)."""
    low = instruction.lower()
    return {
        "class_solution": "class Solution" in code,
        "linked_list": "ListNode" in code,
        "tree": "TreeNode" in code,
        "graph_node": "class Node" in code or "Node(" in instruction,
        "design": bool(code) and "class Solution" not in code and "class " in code and '["' in instruction,
        "in_place": "-> None" in code and "class Solution" in code,
        "any_order": "any order" in low,
        "generator": "yield" in code,
    }
