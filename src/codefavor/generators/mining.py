"""Commit sources for Commit-Instruct: mine local git histories (pygit2) or read CommitPackFT-style
records (JSONL, Parquet, a Hugging Face dataset, through `inputs.read_rows`) and keep only real
single-file code changes. `open_source` picks the one source a run reads.

Every candidate read becomes either a `CommitSeed` or one count under a filter reason in
`MiningStats`, so the funnel report can say where every commit went. Git mining works on object ids
and tree diffs in libgit2 and loads file contents only for the few commits that pass the cheap
checks; that is what makes it fast (see benchmarks/mining_speed.py).
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codefavor.codetools import PARSE_ERRORS, drop_docstrings
from codefavor.errors import CodefavorError, DataError, MissingExtraError
from codefavor.generators.inputs import Shard, check_shard, in_shard, read_rows
from codefavor.generators.licenses import license_allowed, repo_license
from codefavor.records import Record

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
    shard: Shard = (0, 1)  # keep candidates whose key (commit id, or commit:path) is in this shard

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in LANGUAGES]
        if unknown:
            raise CodefavorError(f"unknown language {unknown[0]!r}; expected one of {', '.join(LANGUAGES)}")
        check_shard(self.shard)


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
        except PARSE_ERRORS:
            return None  # e.g. Python 2 code: keep; nothing reliable to compare
        if _same_module(old_tree, new_tree, changed):
            if old.split() == new.split():
                return "whitespace-only"
            # Comments are not in the AST, so compare them to tell comment edits from layout.
            return "comment-only" if _py_comments(old) != _py_comments(new) else "formatting-only"
        if _same_tree(drop_docstrings(old_tree), drop_docstrings(new_tree)):
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
        raise CodefavorError(f"{path}: not a git repository (`repos` need clones with their history)")
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


def _filtered(
    rows: Iterable[tuple[str, int, dict[str, Any]]], cfg: MiningConfig, stats: MiningStats
) -> Iterator[CommitSeed]:
    for where, line, row in rows:
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
    stats = stats if stats is not None else MiningStats()
    yield from _filtered(read_rows(path), cfg, stats)


def iter_hf_seeds(
    name: str,
    cfg: MiningConfig,
    stats: MiningStats | None = None,
    *,
    config: str | None = None,
    split: str = "train",
) -> Iterator[CommitSeed]:
    """Seeds streamed from a Hugging Face dataset such as CommitPackFT (needs the network)."""
    stats = stats if stats is not None else MiningStats()
    yield from _filtered(read_rows(hf_dataset=name, hf_config=config, hf_split=split), cfg, stats)


def open_source(
    cfg: MiningConfig,
    stats: MiningStats,
    *,
    repos: Sequence[str | Path] = (),
    revisions: Sequence[str] = (),
    input: str | Path | None = None,
    hf_dataset: str | None = None,
    hf_config: str | None = None,
    hf_split: str = "train",
) -> tuple[Iterator[CommitSeed], dict[str, Any]]:
    """The seeds of exactly one source (git repositories, a records file or a dataset) and a
    description of it for the manifest. Repositories are opened now: a wrong path fails at once,
    not hours into a run."""
    if sum(bool(x) for x in (list(repos), input, hf_dataset)) != 1:
        raise CodefavorError(
            "give exactly one source: `repos` (git repositories), `input` (a file) or `hf_dataset` (a dataset)"
        )
    if repos:
        for path in repos:
            open_repo(path)
        seeds = iter_git_seeds(repos, cfg, stats, revisions=revisions)
        source: dict[str, Any] = {"repos": [str(p) for p in repos], "revisions": list(revisions)}
    elif input is not None:
        seeds, source = iter_record_seeds(input, cfg, stats), {"input": str(input)}
    else:
        assert hf_dataset is not None
        seeds = iter_hf_seeds(hf_dataset, cfg, stats, config=hf_config, split=hf_split)
        source = {"hf_dataset": hf_dataset, "config": hf_config, "split": hf_split}
    licenses = sorted(cfg.licenses) if cfg.licenses is not None else None
    shard = f"{cfg.shard[0]}/{cfg.shard[1]}"
    return seeds, {**source, "languages": list(cfg.languages), "licenses": licenses, "shard": shard}
