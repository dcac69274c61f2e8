"""Typed records and the JSONL contract between stages.

Every stage reads and writes JSONL of these records. Each record has a stable content-hash `id`
(a hash of its defining fields), so reruns can skip finished work and outputs can be deduplicated.
Reading is streaming and gzip-transparent; a malformed line raises one `DataError` naming file, line
and field (or, with `skip_bad`, is counted and skipped). Appends write each line with a single
`write()` on an O_APPEND descriptor and flush it, so a crash never leaves a torn record in the
middle of a file. When the file is reopened, a last line without its newline is repaired: a complete
JSON record (a file written by hand or by another tool) gets its newline, and only a torn one (power
loss mid-write) is cut off.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codefavor.errors import CodefavorError, DataError

Category = Literal["correctness", "efficiency", "security", "human-preference"]
CATEGORIES: tuple[Category, ...] = ("correctness", "efficiency", "security", "human-preference")
VERIFIABLE: tuple[Category, ...] = ("correctness", "efficiency", "security")
Decision = Literal["A", "B", "undecided"]
Order = Literal["AB", "BA"]


def content_id(*parts: Any) -> str:
    """A stable 16-hex-digit id: sha256 of the canonical JSON of `parts`."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks (data files, model files: any size)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


class Record(BaseModel):
    """Base: frozen, strict about unknown fields, with an `id` filled from content when absent."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = ""

    def _id_parts(self) -> tuple[Any, ...]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @model_validator(mode="after")
    def _fill_id(self) -> Record:
        if not self.id:
            object.__setattr__(self, "id", content_id(type(self).__name__, *self._id_parts()))
        return self

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


class BenchTask(Record):
    """One CodePrefBench task. `task_id` repeats within a file (two pairs per correctness seed), so
    `id` (content hash) is the unique key; `gt_choice` is 0 when `choices[0]` is the better code."""

    task_id: str
    instruction: str
    choices: tuple[str, str]
    gt_choice: Literal[0, 1]
    category: Category
    annotations: list[Any] | None = None

    def _id_parts(self) -> tuple[Any, ...]:
        return (self.category, self.task_id, self.instruction, list(self.choices), self.gt_choice)


class Provenance(BaseModel):
    """Where a synthetic pair came from."""

    model_config = ConfigDict(frozen=True, extra="allow")
    seed_id: str = ""
    generator_models: dict[str, str] = Field(default_factory=dict)  # role -> model spec
    prompt_version: str = ""


class PreferencePair(Record):
    """A training pair. `feedback` refers to the two codes as `[CHOSEN]` and `[REJECTED]`; the
    training-set builder renames those tags to the A/B positions of each order."""

    instruction: str
    chosen: str
    rejected: str
    criterion: str
    feedback: str = ""
    source: str  # e.g. "commit-instruct", "critic-evol", "manual"
    provenance: Provenance = Field(default_factory=Provenance)
    meta: dict[str, Any] = Field(default_factory=dict)

    def _id_parts(self) -> tuple[Any, ...]:
        return (self.instruction, self.chosen, self.rejected, self.criterion)


class Judgment(Record):
    """One judge decision on one task in one presentation order. `decision` names a *position*
    (A = the first code shown); `order` says whether the task's choices were shown as given ("AB")
    or swapped ("BA")."""

    task_id: str  # BenchTask.id (or any caller's item id)
    order: Order = "AB"
    judge: str = ""
    decision: Decision
    prob_a: float | None = None
    signal: str | None = None  # which evidence or model decided (hybrid judges)
    raw_output: str | None = None
    details: dict[str, Any] | None = None
    latency_s: float | None = None
    usage: dict[str, int] | None = None
    error: str | None = None  # set when the judge failed; the decision is then "undecided"

    def _id_parts(self) -> tuple[Any, ...]:
        return (self.task_id, self.order, self.judge)


R = TypeVar("R", bound=BaseModel)


@dataclass
class ReadStats:
    """Counts kept while reading, so `--skip-bad` can report what it skipped."""

    read: int = 0
    bad: int = 0
    errors: list[str] = field(default_factory=list)


def _open_text_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    if path.is_dir():
        raise DataError(str(path), None, "is a directory; expected a JSONL file")
    with open(path, "rb") as probe:
        magic = probe.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    lineno = 0
    try:
        with opener(path, "rb") as f:
            for lineno, raw in enumerate(f, start=1):
                yield lineno, raw
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
        raise DataError(str(path), lineno + 1, f"unreadable compressed data ({e.__class__.__name__}: {e})") from e


def _first_error(e: ValidationError) -> tuple[str | None, str]:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or None
    return loc, err.get("msg", str(e))


def iter_json(path: str | Path, *, skip_bad: bool = False, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL(.gz) file, skipping blank lines."""
    path = Path(path)
    stats = stats if stats is not None else ReadStats()
    if not path.exists():
        raise DataError(str(path), None, "no such file")
    for lineno, raw in _open_text_lines(path):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            if isinstance(e, RecursionError):
                reason = "invalid JSON (nested too deeply)"
            else:
                reason = "not valid UTF-8" if isinstance(e, UnicodeDecodeError) else f"invalid JSON ({e})"
            if not skip_bad:
                raise DataError(str(path), lineno, reason) from None
            stats.bad += 1
            stats.errors.append(f"{path}:{lineno}: {reason}")
            continue
        stats.read += 1
        obj["__line__"] = lineno
        yield obj


def read_records(
    path: str | Path,
    model: type[R],
    *,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
    defaults: dict[str, Any] | None = None,
) -> Iterator[R]:
    """Stream validated records of `model` from a JSONL(.gz) file.

    A malformed line raises `DataError` naming file, line and field; with `skip_bad=True` it is
    counted in `stats` instead.
    """
    stats = stats if stats is not None else ReadStats()
    for obj in iter_json(path, skip_bad=skip_bad, stats=stats):
        lineno = obj.pop("__line__")
        if defaults:
            obj = {**defaults, **obj}
        try:
            yield model.model_validate(obj)
        except ValidationError as e:
            loc, msg = _first_error(e)
            if not skip_bad:
                raise DataError(str(path), lineno, msg, field=loc) from None
            stats.read -= 1
            stats.bad += 1
            stats.errors.append(str(DataError(str(path), lineno, msg, field=loc)))


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False


def repair_tail(path: str | Path) -> int:
    """Repair the last line of an append-only file when it lacks its newline: a complete JSON
    record gets the newline (nothing is lost), a torn one is cut off. Returns the bytes removed."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # Walk back to the previous newline; files are small enough per chunk to scan backwards.
        pos, chunk = size, 65536
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            buf = f.read(pos - start)
            idx = buf.rfind(b"\n")
            if idx >= 0:
                keep = start + idx + 1
                break
            pos = start
        else:
            keep = 0
        f.seek(keep)
        if _is_record(f.read(size - keep)):
            f.seek(size)
            f.write(b"\n")
            return 0
        f.truncate(keep)
        return size - keep


class JsonlAppender:
    """Append records to a JSONL file, one `write()` per line on an O_APPEND descriptor.

    Each line is flushed to the OS at once (a killed process loses nothing it wrote); `fsync=True`
    also survives power loss. Opening repairs a torn last line left by an earlier crash.
    """

    def __init__(self, path: str | Path, *, fsync: bool = False):
        self.path = Path(path)
        if self.path.suffix == ".gz":
            raise CodefavorError(
                f"{self.path}: an output that is appended to as the run goes cannot be gzip-compressed "
                "(a kill would leave a broken stream); name it .jsonl and compress it when the run is done"
            )
        if self.path.is_dir():
            raise DataError(str(self.path), None, "is a directory; expected a JSONL file to append to")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fsync = fsync

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        if isinstance(record, Record):
            line = record.to_json()
        elif isinstance(record, BaseModel):
            line = record.model_dump_json(exclude_none=True)
        else:
            line = json.dumps(record, ensure_ascii=False)
        data = (line + "\n").encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # pragma: no cover - regular files write fully
            written += os.write(self._fd, data[written:])
        if self._fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records(path: str | Path, records: Any) -> int:
    """Write records to a fresh file atomically (temp file + rename); return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(tmp, "wt", encoding="utf-8") as f:
        for r in records:
            f.write((r.to_json() if isinstance(r, Record) else json.dumps(r, ensure_ascii=False)) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def done_ids(path: str | Path, key: str = "id") -> set[str]:
    """Ids already present in an append-only output (for exactly-once resume)."""
    path = Path(path)
    if not path.exists():
        return set()
    repair_tail(path)
    return {str(o[key]) for o in iter_json(path) if key in o}
