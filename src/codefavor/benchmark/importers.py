"""Bench any data: read a user's files as BenchTasks, whatever common shape they come in.

Two shapes are understood, per file, from its first row:
- BenchTask records (`task_id`, `instruction`, `choices`, `gt_choice`, `category`), read strictly;
- pairwise preference rows as in RewardBench and the Hugging Face preference datasets:
  `prompt` / `chosen` / `rejected` (other common names are detected, any can be mapped), with
  optional `category`, `criterion`, `subset` and `id` columns. A prompt or a response may be a chat
  message list (`[{"role": ..., "content": ...}]`): the prompt becomes the text of the messages
  before the answer, a response the last assistant message. Responses with markdown fences are
  reduced to their code (the one fenced-code helper, `codetools.extract_code`). The chosen
  response goes to position A or B by a hash of the row's id, so the benchmark is not "always A".

Files: JSONL, JSONL.gz (by content, not name) and Parquet. Every bad row is one `DataError`
naming file, line (Parquet: row) and field. `Digest` records what was actually read: each file's
sha256 and row count, for the run manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codefavor.codetools import extract_code
from codefavor.errors import DataError
from codefavor.records import CATEGORIES, BenchTask, Category, content_id, iter_json, sha256_file
from codefavor.run_folder import MANIFEST, is_run_folder

SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".json.gz", ".ndjson")
# Detected column names, in order of preference (the first present wins).
PROMPT_COLUMNS = ("prompt", "instruction", "question", "input", "query", "problem")
CHOSEN_COLUMNS = ("chosen", "response_chosen", "chosen_response", "better", "preferred")
REJECTED_COLUMNS = ("rejected", "response_rejected", "rejected_response", "worse", "dispreferred")
CATEGORY_COLUMNS = ("category", "subset", "criterion")
# Free category/subset/criterion text -> benchmark category, by the first keyword that occurs.
_CATEGORY_WORDS: tuple[tuple[str, Category], ...] = (
    ("secur", "security"), ("safe", "security"), ("vuln", "security"), ("cwe", "security"),
    ("effici", "efficiency"), ("perform", "efficiency"), ("speed", "efficiency"), ("fast", "efficiency"),
    ("human", "human-preference"), ("prefer", "human-preference"), ("helpful", "human-preference"),
    ("correct", "correctness"), ("bug", "correctness"), ("hep", "correctness"), ("func", "correctness"),
)  # fmt: skip


@dataclass
class FileDigest:
    path: str
    sha256: str
    rows: int = 0


@dataclass
class Digest:
    """What was read: per-file sha256 and rows, and one sha256 over them (stable for the same files)."""

    files: list[FileDigest] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.sha256):
            h.update(f"{f.sha256} {f.rows}\n".encode())
        return h.hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "rows": self.rows,
                "files": [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in self.files]}  # fmt: skip


@dataclass(frozen=True)
class Columns:
    """Column mapping for pairwise rows; None means detect. `category` is the name of a column
    (category, subset or criterion text) or None; `default_category` applies when it says nothing."""

    prompt: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    category: str | None = None
    criterion: str | None = None
    id: str | None = None
    default_category: Category = "correctness"
    code_only: bool = True  # reduce fenced responses to their code


_COLUMN_ROLES = ("prompt", "chosen", "rejected", "category", "criterion", "id")


def parse_columns(text: str | None, default_category: str | None = None) -> Columns:
    """A column mapping from `role=column,...` (roles: prompt, chosen, rejected, category, criterion,
    id), as `--columns` takes it; an unknown role, a missing `=` or an empty name raises
    CodefavorError naming the part. `default_category` is the category when a row says none."""
    from codefavor.errors import CodefavorError

    mapping: dict[str, Any] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        role, eq, col = part.partition("=")
        role, col = role.strip(), col.strip()
        if not eq or not col:
            raise CodefavorError(f"`columns` {part.strip()!r}: expected ROLE=COLUMN (e.g. prompt=question)")
        if role not in _COLUMN_ROLES:
            raise CodefavorError(f"`columns` {part.strip()!r}: unknown role {role!r}; expected one of "
                                 f"{', '.join(_COLUMN_ROLES)}")  # fmt: skip
        if role in mapping:
            raise CodefavorError(f"`columns` {part.strip()!r}: {role} is mapped twice")
        mapping[role] = col
    if default_category is not None:
        if default_category not in CATEGORIES:
            raise CodefavorError(f"`default_category` {default_category!r}: expected one of {', '.join(CATEGORIES)}")
        mapping["default_category"] = default_category
    return Columns(**mapping)


def category_of(text: Any, default: Category) -> Category:
    """A benchmark category from free text (`hep-python` -> correctness, `Security` -> security)."""
    low = str(text or "").strip().lower()
    if low in CATEGORIES:
        return low  # type: ignore[return-value]
    for word, cat in _CATEGORY_WORDS:
        if word in low:
            return cat
    return default


def chosen_first(row_id: str) -> bool:
    """The chosen response's position, by a hash of the row id: True puts it at A."""
    return hashlib.sha256(("position:" + row_id).encode()).digest()[0] % 2 == 0


def _message_text(m: Any) -> str:
    if isinstance(m, dict):
        c = m.get("content", m.get("value", m.get("text", "")))
        if isinstance(c, list):  # content parts: [{"type": "text", "text": ...}]
            return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in c)
        return str(c if c is not None else "")
    return str(m)


def _role(m: Any) -> str:
    return str(m.get("role", m.get("from", ""))).lower() if isinstance(m, dict) else ""


def prompt_text(value: Any) -> str:
    """A prompt as text: a string as is; a message list as its messages up to the last user turn."""
    if isinstance(value, list):
        msgs = list(value)
        while msgs and _role(msgs[-1]) in ("assistant", "gpt", "model", "bot"):
            msgs.pop()
        return "\n\n".join(_message_text(m) for m in msgs).strip()
    return "" if value is None else str(value)


def response_text(value: Any, code_only: bool = True) -> str:
    """A response as text: a message list gives its last assistant message; fenced code is extracted."""
    if isinstance(value, list):
        answers = [m for m in value if _role(m) in ("assistant", "gpt", "model", "bot")]
        value = _message_text(answers[-1] if answers else (value[-1] if value else ""))
    text = "" if value is None else str(value)
    if code_only and "```" in text:
        return extract_code(text)
    return text


def _pick(row: dict[str, Any], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    if wanted is not None:
        return wanted
    return next((c for c in candidates if c in row), None)


def pair_to_task(row: dict[str, Any], cols: Columns, where: tuple[str, int]) -> BenchTask:
    """One pairwise row -> a BenchTask; a missing or empty field is a DataError at `where`."""
    path, line = where
    names = {}
    for role, cands in (("chosen", CHOSEN_COLUMNS), ("rejected", REJECTED_COLUMNS)):
        col = _pick(row, getattr(cols, role), cands)
        if col is None or col not in row:
            have = ", ".join(sorted(k for k in row if not k.startswith("__")))
            raise DataError(path, line, f"no {role} column (columns: {have}); name one in the column mapping, {role}=COLUMN",
                            field=getattr(cols, role) or role)  # fmt: skip
        names[role] = col
    chosen = response_text(row[names["chosen"]], cols.code_only)
    rejected = response_text(row[names["rejected"]], cols.code_only)
    pcol = _pick(row, cols.prompt, PROMPT_COLUMNS)
    if pcol is not None and pcol in row:
        prompt = prompt_text(row[pcol])
    elif isinstance(row[names["chosen"]], list):  # the conversation itself holds the prompt
        prompt = prompt_text(row[names["chosen"]])
    else:
        raise DataError(
            path,
            line,
            "no prompt column; name one in the column mapping, prompt=COLUMN",
            field=cols.prompt or "prompt",
        )
    for role, text in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        if not text.strip():
            raise DataError(path, line, "empty after normalisation", field=names.get(role, pcol or role))
    ccol = _pick(row, cols.category, CATEGORY_COLUMNS)
    category = category_of(row.get(ccol) if ccol else None, cols.default_category)
    rid = str(row[cols.id]) if cols.id and row.get(cols.id) not in (None, "") else ""
    rid = rid or str(row.get("id") or "") or content_id(prompt, chosen, rejected)
    first = chosen_first(rid)
    note: dict[str, Any] = {"imported_from": Path(path).name}
    crit = row.get(cols.criterion or "criterion")
    if crit:
        note["criterion"] = str(crit)
    if ccol and row.get(ccol) not in (None, ""):
        note[ccol] = str(row[ccol])
    try:
        return BenchTask(task_id=rid, instruction=prompt, choices=(chosen, rejected) if first else (rejected, chosen),
                         gt_choice=0 if first else 1, category=category, annotations=[note])  # fmt: skip
    except ValidationError as e:  # pragma: no cover - every field was checked above
        raise DataError(path, line, str(e.errors()[0].get("msg")), field="row") from None


def iter_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, object) of a JSONL(.gz) or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), None, "no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError for broken files
            raise DataError(str(path), None, f"not a readable Parquet file ({e})") from None
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for rec in batch.to_pylist():
                n += 1
                yield n, rec
        return
    for obj in iter_json(path):
        yield obj.pop("__line__"), obj


def is_bench_row(row: dict[str, Any]) -> bool:
    return "choices" in row and "gt_choice" in row


def read_file(path: str | Path, cols: Columns | None = None, digest: Digest | None = None) -> Iterator[BenchTask]:
    """BenchTasks from one file of either shape (decided by its first row)."""
    cols = cols or Columns()
    fd = FileDigest(str(path), sha256_file(path)) if Path(path).exists() else None
    if digest is not None and fd is not None:
        digest.files.append(fd)
    shape = None
    for line, row in iter_rows(path):
        if shape is None:
            shape = "bench" if is_bench_row(row) else "pairs"
        if shape == "bench":
            try:
                task = BenchTask.model_validate(row)
            except ValidationError as e:
                err = e.errors()[0]
                loc = ".".join(str(p) for p in err.get("loc", ())) or None
                raise DataError(str(path), line, err.get("msg", str(e)), field=loc) from None
        else:
            task = pair_to_task(row, cols, (str(path), line))
        if fd is not None:
            fd.rows += 1
        yield task


def data_files(path: str | Path) -> list[Path]:
    """The data files of a folder (sorted; hidden ones and the run folders of codefavor inside it,
    say a bench's `--output DIR/run`, skipped), or the file itself."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise DataError(str(p), None, "no such file or folder")
    runs = {m.parent for m in p.rglob(MANIFEST) if m.parent != p and is_run_folder(m.parent)}
    files = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES)
                   and not any(part.startswith(".") for part in f.relative_to(p).parts)
                   and not any(d in runs for d in f.parents))  # fmt: skip
    if not files:
        raise DataError(str(p), None, f"no data files ({', '.join(SUFFIXES)}) in this folder")
    return files


def read_data(path: str | Path, cols: Columns | None = None, digest: Digest | None = None) -> Iterator[BenchTask]:
    """BenchTasks from a file or every data file of a folder, in file order."""
    for f in data_files(path):
        yield from read_file(f, cols, digest)


def digest_of(path: str | Path, cols: Columns | None = None) -> Digest:
    """sha256 and row count of what reading `path` reads (the files are read in full)."""
    d = Digest()
    for _ in read_data(path, cols, d):
        pass
    return d
