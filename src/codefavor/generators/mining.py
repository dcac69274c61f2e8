"""Commit sources for Commit-Instruct: mine local git histories (pygit2) or read CommitPackFT-style
records (JSONL, Parquet, a Hugging Face dataset) and keep only real single-file code changes.

Every candidate read becomes either a `CommitSeed` or one count under a filter reason in
`MiningStats`, so the funnel report can say where every commit went. Git mining works on object ids
and tree diffs in libgit2 and loads file contents only for the few commits that pass the cheap
checks; that is what makes it fast (see benchmarks/mining_speed.py).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codefavor.errors import CodefavorError, DataError, MissingExtraError
from codefavor.records import Record, iter_json

# File extensions per language; the names are also the `lang` values a seed carries.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": (".py",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".tsx"),
    "java": (".java",),
    "go": (".go",),
    "rust": (".rs",),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"),
    "csharp": (".cs",),
    "ruby": (".rb",),
    "php": (".php",),
    "kotlin": (".kt",),
    "swift": (".swift",),
    "scala": (".scala",),
    "shell": (".sh", ".bash"),
}
_LANG_ALIASES = {"c++": "cpp", "c#": "csharp", "py": "python", "js": "javascript", "ts": "typescript"}
_C_LIKE = {"javascript", "typescript", "java", "go", "rust", "c", "cpp", "csharp", "php", "kotlin", "swift", "scala"}

# Licenses the paper's permissive filter would keep (lower-case SPDX ids).
PERMISSIVE: frozenset[str] = frozenset(
    {
        "mit",
        "mit-0",
        "apache-2.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "isc",
        "0bsd",
        "unlicense",
        "cc0-1.0",
        "psf-2.0",
        "zlib",
        "bsl-1.0",
    }
)

# Paths whose code nobody in this repository wrote by hand.
_VENDORED = re.compile(
    r"(?:^|/)(?:vendor|vendored|_vendor|third[_-]?party|3rd[_-]?party|extern|external|node_modules|"
    r"bower_components|site-packages|dist-packages|\.?venv|\.tox|dist|build)/",
    re.IGNORECASE,
)
_GENERATED_PATH = re.compile(
    r"(?:(?:^|/)(?:generated|__generated__)/|_pb2(?:_grpc)?\.pyi?$|\.pb\.go$|[._-]generated\.\w+$|"
    r"(?:^|/)migrations/\d{4}_\w+\.py$|(?:^|/)versioneer\.py$)",
    re.IGNORECASE,
)
_MINIFIED_PATH = re.compile(r"\.min\.(?:js|css)$|-min\.js$", re.IGNORECASE)
_GENERATED_MARK = re.compile(
    r"@generated\b|do not edit|auto-?generated|(?:file|code) (?:is |was )?(?:automatically )?generated (?:by|from)",
    re.IGNORECASE,
)
_LICENSE_FILE = re.compile(r"^(?:licen[cs]e|copying|unlicense)(?:[._-][\w.-]*)?$", re.IGNORECASE)


class CommitSeed(Record):
    """One single-file code change, the input of the Commit-Instruct dialogue."""

    repo: str
    commit: str
    path: str
    message: str
    old_code: str
    new_code: str
    lang: str = "python"
    license: str | None = None  # lower-case SPDX id(s) joined by " or ", None when undetected
    author_date: str | None = None  # ISO 8601 with the author's offset

    def _id_parts(self) -> tuple[Any, ...]:
        return (self.commit, self.path, self.old_code, self.new_code)


@dataclass(frozen=True)
class MiningConfig:
    """What counts as a usable change. `licenses=None` keeps every license."""

    languages: tuple[str, ...] = ("python",)
    max_file_bytes: int = 100_000
    max_changed_lines: int = 200
    licenses: frozenset[str] | None = None
    shard: tuple[int, int] = (0, 1)  # (index, count): keep candidates whose key hashes to `index`

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            raise CodefavorError(f"unknown language {unknown[0]!r}; expected one of {', '.join(LANGUAGES)}")
        i, n = self.shard
        if not (n >= 1 and 0 <= i < n):
            raise CodefavorError(f"shard {i}/{n}: expected 0 <= i < n")


@dataclass
class MiningStats:
    """Where every candidate went: `read` = `seeds` + sum of `filtered` (over this process's reading)."""

    read: int = 0
    seeds: int = 0
    filtered: Counter[str] = field(default_factory=Counter)
    repos: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "seeds": self.seeds,
            "filtered": dict(self.filtered.most_common()),
            "repos": self.repos,
        }


# ---------------------------------------------------------------------------------------------
# decisions shared by every source


def normalize_lang(name: str) -> str:
    low = name.strip().lower()
    return _LANG_ALIASES.get(low, low)


def lang_of_path(path: str, languages: Iterable[str]) -> str | None:
    low = path.lower()
    for lang in languages:
        if low.endswith(LANGUAGES[lang]):
            return lang
    return None


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    i, n = shard
    return n == 1 or int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % n == i


def license_allowed(license: str | None, allowed: frozenset[str] | None) -> bool:
    """True when any alternative of a (possibly dual) license is in the allow-list."""
    if allowed is None:
        return True
    if not license:
        return False
    parts = re.split(r"\s+or\s+|\s*/\s*|\s*,\s*", license.strip().lower())
    return any(p in allowed for p in parts)


def path_reason(path: str) -> str | None:
    """'vendored', 'generated' or 'minified' for paths nobody here wrote by hand."""
    if _VENDORED.search(path):
        return "vendored"
    if _GENERATED_PATH.search(path):
        return "generated"
    if _MINIFIED_PATH.search(path):
        return "minified"
    return None


def diff_hunks(old: str, new: str) -> list[tuple[int, int, int, int]]:
    """Changed regions as (old_start, old_lines, new_start, new_lines), 1-based, no context lines
    (libgit2's diff when pygit2 is installed; difflib otherwise)."""
    try:
        import pygit2
    except ImportError:
        sm = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
        return [(i1 + 1, i2 - i1, j1 + 1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]
    patch = pygit2.Patch.create_from(old, new, context_lines=0)
    return [(h.old_start, h.old_lines, h.new_start, h.new_lines) for h in patch.hunks]


def changed_lines(old: str, new: str) -> int:
    """Added plus deleted lines."""
    return sum(o + n for _, o, _, n in diff_hunks(old, new))


def _same_tree(a: Any, b: Any) -> bool:
    """Structural equality of two ASTs (locations ignored), stopping at the first difference."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, ast.AST):
            stack.extend((getattr(x, f, None), getattr(y, f, None)) for f in x._fields)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def _same_module(old: ast.Module, new: ast.Module, changed: list[tuple[int, int]]) -> bool:
    """`_same_tree` on two modules, comparing first the top-level statements that hold changed
    lines: a real change is then found after one function's worth of nodes, not the whole file."""
    if len(old.body) != len(new.body):
        return False

    def touched(stmt: ast.stmt) -> bool:
        end = stmt.end_lineno or stmt.lineno
        return any(start <= end and stmt.lineno <= start + max(n, 1) - 1 for start, n in changed)

    pairs = sorted(zip(old.body, new.body, strict=True), key=lambda p: not touched(p[0]))
    return all(_same_tree(x, y) for x, y in pairs)


def _drop_docstrings(tree: ast.Module) -> ast.Module:
    """Remove docstrings in place, visiting statement bodies only (expressions hold none)."""
    stack: list[list[ast.stmt]] = [tree.body]
    while stack:
        body = stack.pop()
        for stmt in body:
            if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = stmt.body[0]
                if (
                    isinstance(doc, ast.Expr)
                    and isinstance(doc.value, ast.Constant)
                    and isinstance(doc.value.value, str)
                ):
                    stmt.body = stmt.body[1:] or [ast.Pass()]
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, name, None)
                if isinstance(inner, list):
                    stack.append(inner)
            for handler in getattr(stmt, "handlers", ()):
                stack.append(handler.body)
    doc = tree.body[0] if tree.body else None
    if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
        tree.body = tree.body[1:]
    return tree


# Python strings and comments, roughly lexed; only used to skip parsing when the code clearly changed.
_PY_STRING_OR_COMMENT = re.compile(  # string prefixes (r, b, f...) stay outside: they lex alike
    r"""\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|#[^\n]*"""
)
_PY_LAYOUT = str.maketrans("", "", "(),;\\")


def _py_comments(code: str) -> list[str]:
    return [m for m in _PY_STRING_OR_COMMENT.findall(code) if m.startswith("#")]


def _py_code_lines(code: str) -> list[str]:
    """The lines with comments cut off and trailing spaces stripped, without the comment-only
    lines (blank lines are kept: inside strings they are data)."""
    bare = _PY_STRING_OR_COMMENT.sub(lambda m: "" if m.group(0).startswith("#") else m.group(0), code)
    return [
        b.rstrip() for line, b in zip(code.split("\n"), bare.split("\n"), strict=True) if b.strip() or not line.strip()
    ]  # cutting a comment never removes a newline, so the two splits align


@lru_cache(maxsize=512)  # a file's new side is the old side of the next commit that touches it
def _py_skeleton(code: str) -> str:
    """The code without strings, comments, whitespace, parentheses, commas and semicolons.

    Changes to comments, docstrings or layout (re-wrapping, parentheses, trailing commas, quotes)
    keep the skeleton, so a different skeleton proves a real change without parsing both sides.
    """
    return "".join(_PY_STRING_OR_COMMENT.sub(" ", code).translate(_PY_LAYOUT).split())


_C_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_HASH_COMMENT = re.compile(r"(?m)(?:^|\s)#[^\n]*")
_WS = re.compile(r"\s+")


def _cosmetic_reason(old: str, new: str, lang: str, changed: list[tuple[int, int]]) -> str | None:
    """'whitespace-only', 'comment-only' or 'formatting-only' when the change leaves behaviour alone.

    For Python the test is the AST (indentation is syntax there, so moved whitespace can change
    behaviour): equal trees differ only in whitespace, comments or layout; trees equal once
    docstrings are dropped differ only in docstrings (counted as comments).
    """
    if lang == "python":
        if _py_skeleton(old) != _py_skeleton(new):
            return None  # code changed outside strings, comments and layout: no need to parse
        if _py_code_lines(old) == _py_code_lines(new):
            # Only comments, comment lines or trailing spaces changed: no need to parse either.
            return "comment-only" if _py_comments(old) != _py_comments(new) else "whitespace-only"
        try:
            old_tree, new_tree = ast.parse(old), ast.parse(new)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # e.g. Python 2 code: keep; nothing reliable to compare
        if _same_module(old_tree, new_tree, changed):
            if old.split() == new.split():
                return "whitespace-only"
            # Comments are not in the AST, so compare them to tell comment edits from layout.
            return "comment-only" if _py_comments(old) != _py_comments(new) else "formatting-only"
        if _same_tree(_drop_docstrings(old_tree), _drop_docstrings(new_tree)):
            return "comment-only"  # only docstrings differ
        return None
    if _WS.sub("", old) == _WS.sub("", new):
        return "whitespace-only"
    # Other languages: a rough comment strip (it ignores comment markers inside strings).
    pattern = _C_COMMENT if lang in _C_LIKE else _HASH_COMMENT if lang in ("ruby", "shell") else None
    if pattern is not None and _WS.sub("", pattern.sub("", old)) == _WS.sub("", pattern.sub("", new)):
        return "comment-only"
    return None


def only_cosmetic(old: str, new: str, lang: str) -> bool:
    """True when two codes are equal up to whitespace, comments, docstrings or layout."""
    if old == new:
        return True
    changed = [(start, n) for start, n, _, _ in diff_hunks(old, new)]
    return _cosmetic_reason(old, new, lang, changed) is not None


def _content_reason(text: str, full: bool = True) -> str | None:
    """'generated' for a generator's header mark, 'minified' for very long lines (checked on the
    new side only when `full` is False: a minified file stays minified)."""
    head = "\n".join(text[:2000].splitlines()[:5])
    if _GENERATED_MARK.search(head):
        return "generated"
    if len(text) > 2000 and len(text) / (text.count("\n") + 1) > 300:
        return "minified"
    if full and len(text) > 1000 and max(map(len, text.split("\n"))) > 1000:
        return "minified"
    return None


def text_reason(old: str, new: str, lang: str, cfg: MiningConfig) -> str | None:
    """The filter reason for a decoded change, or None to keep it."""
    if not old.strip() or not new.strip():
        return "empty-side"
    if old == new:
        return "no-change"
    reason = _content_reason(new) or _content_reason(old, full=False)
    if reason:
        return reason
    hunks = diff_hunks(old, new)
    if sum(o + n for _, o, _, n in hunks) > cfg.max_changed_lines:
        return "too-many-changed-lines"
    return _cosmetic_reason(old, new, lang, [(o_start, o_n) for o_start, o_n, _, _ in hunks])


# ---------------------------------------------------------------------------------------------
# git repositories


def _pygit2() -> Any:
    try:
        import pygit2
    except ImportError:
        raise MissingExtraError("git", "pygit2") from None
    return pygit2


def _license_kind(text: str) -> str:
    """One license text as a lower-case SPDX id, by phrases of each license's own text.

    Copyleft texts are recognised by their terms sections first (permissive licenses may mention
    the GPL, as Python's does), then the permissive ones, then a bare mention of a copyleft license.
    """
    t = _WS.sub(" ", text.lower())
    gnu_terms = "terms and conditions for copying, distribution and modification" in t or "terms and conditions" in t
    if "gnu affero general public license" in t and gnu_terms:
        return "agpl-3.0"
    if ("gnu lesser general public license" in t or "gnu library general public license" in t) and gnu_terms:
        return "lgpl-3.0" if "version 3" in t else "lgpl-2.1"
    if "gnu general public license" in t and "terms and conditions for copying, distribution and modification" in t:
        return "gpl-3.0" if "version 3, 29 june 2007" in t else "gpl-2.0"
    if "mozilla public license" in t and "definitions" in t:
        return "mpl-2.0" if "version 2.0" in t else "mpl-1.1"
    if "eclipse public license" in t and "definitions" in t:
        return "epl-2.0" if "version 2.0" in t or "v 2.0" in t else "epl-1.0"
    if "python software foundation license" in t:
        return "psf-2.0"
    if "apache license" in t and "version 2.0" in t:
        return "apache-2.0"
    if "permission is hereby granted, free of charge" in t:
        return "mit" if "the above copyright notice and this permission notice shall be included" in t else "mit-0"
    if "redistribution and use in source and binary forms" in t:
        return "bsd-3-clause" if ("neither the name" in t or "names of its contributors" in t) else "bsd-2-clause"
    if "permission to use, copy, modify, and/or distribute this software for any purpose" in t:
        return "isc" if "provided that the above copyright notice" in t else "0bsd"
    if "this is free and unencumbered software released into the public domain" in t:
        return "unlicense"
    if "cc0" in t and "creative commons" in t:
        return "cc0-1.0"
    if "boost software license" in t:
        return "bsl-1.0"
    if "altered source versions must be plainly marked" in t:
        return "zlib"
    for name, spdx in (
        ("gnu affero general public license", "agpl-3.0"),
        ("gnu lesser general public license", "lgpl-3.0"),
        ("gnu general public license", "gpl-3.0" if "version 3" in t else "gpl-2.0"),
        ("mozilla public license", "mpl-2.0"),
    ):
        if name in t:
            return spdx
    return "other"


def detect_license(files: Iterable[tuple[str, bytes]]) -> str | None:
    """Classify license files (name, bytes) into lower-case SPDX ids; dual licenses join with ' or '.

    None when there is no license file; 'other' for a license text we do not recognise.
    """
    kinds = sorted(
        {_license_kind(data.decode("utf-8", "replace")) for name, data in files if _LICENSE_FILE.match(name)}
    )
    if len(kinds) > 1 and "other" in kinds:
        kinds.remove("other")  # e.g. a NOTICE-like COPYING beside a real LICENSE
    return " or ".join(kinds) or None


def repo_license(repo: Any, tree: Any) -> str | None:
    """The license of a repository as found in the root of `tree` (the default branch tip)."""
    pygit2 = _pygit2()
    files = []
    for entry in tree:
        if entry.type_str == "blob" and _LICENSE_FILE.match(entry.name):
            blob = repo[entry.id]
            if isinstance(blob, pygit2.Blob) and blob.size < 200_000:
                files.append((entry.name, blob.data))
    return detect_license(files)


def _repo_name(repo: Any, path: Path) -> str:
    try:
        url = repo.remotes["origin"].url
    except (KeyError, ValueError):
        url = None
    return url or (Path(repo.workdir).name if repo.workdir else path.name.removesuffix(".git"))


def _author_date(commit: Any) -> str:
    sig = commit.author
    return datetime.fromtimestamp(sig.time, tz=timezone(timedelta(minutes=sig.offset))).isoformat()


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def mine_commit(repo: Any, commit: Any, cfg: MiningConfig) -> str | tuple[str, str, str, str]:
    """Decide one commit: a filter reason, or (path, lang, old_code, new_code)."""
    pygit2 = _pygit2()
    parents = commit.parent_ids
    if len(parents) != 1:
        return "root-commit" if not parents else "merge"
    diff = repo[parents[0]].tree.diff_to_tree(commit.tree)
    n = len(diff)
    if n == 0:
        return "no-file-change"
    if n == 2:
        # Only now pay for rename detection: a plain move shows as one delete plus one add.
        diff.find_similar()
        if len(diff) == 1 and next(iter(diff.deltas)).status == pygit2.enums.DeltaStatus.RENAMED:
            return "rename"
        return "multi-file"
    if n > 2:
        return "multi-file"
    delta = next(iter(diff.deltas))
    status = delta.status
    if status == pygit2.enums.DeltaStatus.ADDED:
        return "added-file"
    if status == pygit2.enums.DeltaStatus.DELETED:
        return "deleted-file"
    if status != pygit2.enums.DeltaStatus.MODIFIED:
        return "not-modification"  # type change (file <-> symlink), submodule bump
    path = delta.new_file.path
    lang = lang_of_path(path, cfg.languages)
    if lang is None:
        return "language"
    reason = path_reason(path)
    if reason:
        return reason
    regular = (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE)
    if delta.old_file.mode not in regular or delta.new_file.mode not in regular:
        return "not-modification"  # a symlink or a submodule bump, not code
    try:
        old_blob, new_blob = repo[delta.old_file.id], repo[delta.new_file.id]
    except KeyError:
        return "missing-object"  # a partial clone without this blob
    if not isinstance(old_blob, pygit2.Blob) or not isinstance(new_blob, pygit2.Blob):
        return "not-modification"
    if old_blob.size > cfg.max_file_bytes or new_blob.size > cfg.max_file_bytes:
        return "too-large"
    if old_blob.is_binary or new_blob.is_binary:
        return "binary"
    old, new = _decode(old_blob.data), _decode(new_blob.data)
    if old is None or new is None:
        return "not-utf8"
    reason = text_reason(old, new, lang, cfg)
    return reason or (path, lang, old, new)


def open_repo(path: str | Path) -> Any:
    pygit2 = _pygit2()
    found = pygit2.discover_repository(str(path))
    if found is None:
        raise CodefavorError(f"{path}: not a git repository (--repo needs a clone with its history)")
    return pygit2.Repository(found)


def iter_git_seeds(
    repos: Sequence[str | Path],
    cfg: MiningConfig,
    stats: MiningStats | None = None,
    revisions: Sequence[str] = (),
) -> Iterator[CommitSeed]:
    """Walk each repository's history (HEAD, or the given revisions) and yield the kept changes."""
    pygit2 = _pygit2()
    stats = stats if stats is not None else MiningStats()
    for repo_path in repos:
        repo = open_repo(repo_path)
        if repo.head_is_unborn:
            raise CodefavorError(f"{repo_path}: the repository has no commits")
        head = repo[repo.head.target]
        info: dict[str, Any] = {
            "repo": _repo_name(repo, Path(repo_path)),
            "path": str(repo_path),
            "license": repo_license(repo, head.tree),
            "read": 0,
            "seeds": 0,
        }
        stats.repos.append(info)
        if not license_allowed(info["license"], cfg.licenses):
            info["skipped"] = f"license {info['license'] or 'unknown'} not in the allow-list"
            continue
        tips = []
        for rev in revisions or ("HEAD",):
            try:
                tips.append(repo.revparse_single(rev).peel(pygit2.Commit).id)
            except (KeyError, ValueError, pygit2.GitError) as e:
                raise CodefavorError(f"{repo_path}: unknown revision {rev!r} ({e})") from None
        walker = repo.walk(tips[0], pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
        for tip in tips[1:]:
            walker.push(tip)
        for commit in walker:
            commit_id = str(commit.id)
            if not in_shard(commit_id, cfg.shard):
                continue
            stats.read += 1
            info["read"] += 1
            outcome = mine_commit(repo, commit, cfg)
            if isinstance(outcome, str):
                stats.filtered[outcome] += 1
                continue
            path, lang, old, new = outcome
            stats.seeds += 1
            info["seeds"] += 1
            yield CommitSeed(
                repo=info["repo"],
                commit=commit_id,
                path=path,
                message=commit.raw_message.decode("utf-8", "replace").strip(),
                old_code=old,
                new_code=new,
                lang=lang,
                license=info["license"],
                author_date=_author_date(commit),
            )


# ---------------------------------------------------------------------------------------------
# CommitPackFT / EditPackFT-style records, and our own seed files


_REQUIRED = ("commit", "old_contents", "new_contents", "message", "lang", "license")


def seed_from_row(row: dict[str, Any], cfg: MiningConfig, where: tuple[str, int | None]) -> CommitSeed | str | None:
    """A row of a commit dataset as a seed, a filter reason, or None when not in this shard.

    Rows are CommitPackFT-style (`commit, old_contents, new_contents, message, lang, license`, and
    optionally `old_file`, `new_file`, `repos`, `subject`) or `CommitSeed` records written by
    `--mine-only`. A row missing a field or with a wrong type raises a `DataError` naming it.
    """
    file, line = where
    if "old_code" in row:
        try:
            seed = CommitSeed.model_validate(row)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(p) for p in err.get("loc", ())) or None
            raise DataError(file, line, err.get("msg", str(e)), field=loc) from None
        old_path = seed.path
    else:
        for name in _REQUIRED:
            if name not in row:
                raise DataError(file, line, "missing (expected a CommitPackFT-style record)", field=name)
            value = row[name]
            if not (isinstance(value, str) or (name == "license" and value is None)):
                raise DataError(file, line, f"expected a string, got {type(value).__name__}", field=name)
        old_path = str(row.get("old_file") or "")
        path = str(row.get("new_file") or old_path)
        repos = str(row.get("repos") or row.get("repo") or "")
        seed = CommitSeed.model_construct(  # validated below, once the cheap filters have passed
            repo=repos.split(",")[0].strip(),
            commit=row["commit"],
            path=path,
            message=(row["message"] if row["message"].strip() else str(row.get("subject") or "")).strip(),
            old_code=row["old_contents"],
            new_code=row["new_contents"],
            lang=normalize_lang(row["lang"]),
            license=row["license"].strip().lower() if row["license"] else None,
            author_date=str(row["author_date"]) if row.get("author_date") else None,
        )
    if not in_shard(f"{seed.commit}:{seed.path}", cfg.shard):
        return None
    lang = normalize_lang(seed.lang)
    old, new = seed.old_code, seed.new_code
    if old_path and seed.path and old_path != seed.path:
        return "rename"
    if lang not in cfg.languages:
        return "language"
    if not license_allowed(seed.license, cfg.licenses):
        return "license"
    reason = path_reason(seed.path) if seed.path else None
    if reason:
        return reason
    if len(old.encode("utf-8")) > cfg.max_file_bytes or len(new.encode("utf-8")) > cfg.max_file_bytes:
        return "too-large"
    if "\x00" in old or "\x00" in new:
        return "binary"
    reason = text_reason(old, new, lang, cfg)
    if reason:
        return reason
    return CommitSeed.model_validate({**seed.model_dump(exclude={"id"}), "lang": lang})


def _iter_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingExtraError("data", "pyarrow") from None
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several unrelated types for unreadable files
            raise DataError(str(path), None, f"not a readable Parquet file ({e})") from None
        row = 0
        for batch in pf.iter_batches(batch_size=1024):
            for rec in batch.to_pylist():
                row += 1
                yield row, rec
        return
    for obj in iter_json(path):
        yield obj.pop("__line__"), obj


def _filtered(
    rows: Iterable[tuple[int | None, dict[str, Any]]], cfg: MiningConfig, stats: MiningStats, where: str
) -> Iterator[CommitSeed]:
    for line, row in rows:
        outcome = seed_from_row(row, cfg, (where, line))
        if outcome is None:
            continue
        stats.read += 1
        if isinstance(outcome, str):
            stats.filtered[outcome] += 1
            continue
        stats.seeds += 1
        yield outcome


def iter_record_seeds(path: str | Path, cfg: MiningConfig, stats: MiningStats | None = None) -> Iterator[CommitSeed]:
    """Seeds from a JSONL(.gz) or Parquet file of commit records (see `seed_from_row`)."""
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), None, "no such file")
    stats = stats if stats is not None else MiningStats()
    yield from _filtered(_iter_rows(path), cfg, stats, str(path))


def iter_hf_seeds(
    name: str,
    cfg: MiningConfig,
    stats: MiningStats | None = None,
    *,
    config: str | None = None,
    split: str = "train",
) -> Iterator[CommitSeed]:
    """Seeds streamed from a Hugging Face dataset such as CommitPackFT (needs the network)."""
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("data", "datasets") from None
    stats = stats if stats is not None else MiningStats()
    try:
        ds = datasets.load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # hub, network and config errors come in many types; all are the user's to fix
        raise CodefavorError(
            f"could not load dataset {name!r} ({type(e).__name__}: {e}); offline, download it and pass --input FILE"
        ) from None
    yield from _filtered(((i, dict(row)) for i, row in enumerate(ds, start=1)), cfg, stats, f"hf:{name}")
