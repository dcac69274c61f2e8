"""Find, verify and load the CodePrefBench files, or any folder or file of a user's own data.

Resolution order: `--data DIR`, then `$CODEFAVOR_DATA`, then the user cache directory, then a
download from the authors' repository at a pinned commit into the cache. Every file is checked
against its pinned sha256 and written atomically (temp file + rename); offline, the download fails
with one clear line. The split into dev/test is a deterministic 50/50 by a hash of `task_id`, so
the pairs that share a seed task always land in the same split.

`--data` pointing at anything other than the release (a file, or a folder without the release's
file names) is a user's data: BenchTask records or pairwise rows, read by
`codefavor.benchmark.importers` (no pinned hash; `Digest` records what was read).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from codefavor.benchmark.importers import Columns, Digest, read_data, sha256_file
from codefavor.errors import CodefavorError
from codefavor.records import CATEGORIES, BenchTask, Category, read_records

Split = Literal["dev", "test", "all"]

BASE_URL = (
    "https://raw.githubusercontent.com/amazon-science/llm-code-preference/"
    "99b404d5abdcff45c6029d44e30191c6e29071d8/datasets/eval"
)
FILES: dict[Category, tuple[str, str]] = {
    "correctness": (
        "correctness-alignment.jsonl.gz",
        "0e3cca58bcccd42b3d89ee1f822f4b404a9ae1dd7bb3151b3519fa82240aacfb",
    ),
    "efficiency": (
        "efficiency-alignment.jsonl.gz",
        "8260b95f426d20d784ef983846bf5ff00efd62f065ad7026a2ed7ec228b0aa7e",
    ),
    "security": ("security-alignment.jsonl.gz", "9235e6d4b827f9941a6cbf399e3582f98a459fbc0358c4cd97bf938fe6698d98"),
    "human-preference": (
        "human-preference-alignment.jsonl.gz",
        "8f64809630931ba79e093da73223857bda7ec970c8fa255c90ee2e5db482bbae",
    ),
}
EXPECTED_COUNTS: dict[Category, int] = {
    "correctness": 660,
    "efficiency": 352,
    "security": 207,
    "human-preference": 145,
}


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("codefavor")) / "codeprefbench"


__all__ = ["sha256_file", "load_tasks", "load_user_tasks", "is_release", "split_of", "resolve_file", "download"]


def _verify(path: Path, expected: str, *, user_folder: bool = False) -> None:
    got = sha256_file(path)
    if got != expected:
        if user_folder:  # a user's own file that happens to carry a release file's name
            raise CodefavorError(
                f"{path}: named like the CodePrefBench release file but its sha256 {got} is not the release's; "
                "rename it (any other name is read as your own data), or point `data` at the release"
            )
        raise CodefavorError(
            f"{path}: sha256 {got} does not match the pinned {expected}; "
            "delete the file to download it again, or point `data` at the right copy"
        )


def download(category: Category, dest_dir: Path, base_url: str | None = None, timeout: float = 60.0) -> Path:
    """Download one file into `dest_dir`, verify its checksum, and move it into place atomically."""
    name, digest = FILES[category]
    url = f"{(base_url or os.environ.get('CODEFAVOR_BENCH_URL') or BASE_URL).rstrip('/')}/{name}"
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    tmp = dest_dir / f".{name}.{os.getpid()}.part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            while chunk := resp.read(1 << 16):
                out.write(chunk)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        tmp.unlink(missing_ok=True)
        reason = getattr(e, "reason", e)
        raise CodefavorError(
            f"could not download {url} ({reason}); when offline, pass `data` (a folder holding the "
            "CodePrefBench files) or set $CODEFAVOR_DATA to one"
        ) from None
    try:
        _verify(tmp, digest)
    except CodefavorError:
        tmp.unlink(missing_ok=True)
        raise CodefavorError(f"downloaded {url} but its sha256 does not match the pinned checksum") from None
    os.replace(tmp, dest)
    return dest


def resolve_file(
    category: Category, data_dir: str | Path | None = None, *, allow_download: bool = True, base_url: str | None = None
) -> Path:
    """The verified local path of one category's file, downloading it into the cache if needed."""
    name, digest = FILES[category]
    if data_dir is not None:
        path = Path(data_dir) / name
        if not path.exists():
            raise CodefavorError(f"{path}: not found (`data` points at a folder without the CodePrefBench files)")
        _verify(path, digest, user_folder=True)
        return path
    env = os.environ.get("CODEFAVOR_DATA")
    if env:  # set on purpose: a wrong value is reported, never passed over for the cache or a download
        path = Path(env) / name
        if not path.is_file():
            what = "does not exist" if not Path(env).exists() else "does not hold " + name
            raise CodefavorError(f"$CODEFAVOR_DATA={env!r} {what}; point it at the CodePrefBench folder, or unset it")
        _verify(path, digest)
        return path
    path = cache_dir() / name
    if path.exists():
        _verify(path, digest)
        return path
    if not allow_download:
        raise CodefavorError(f"{name} not found in {cache_dir()}; run 'codefavor download'")
    return download(category, cache_dir(), base_url=base_url)


def fetch_all(data_dir: str | Path | None = None) -> dict[Category, Path]:
    """Every release file, verified: downloaded into `data_dir` when given, else found as `bench`
    finds it (or downloaded into the user cache)."""
    return {cat: resolve_file(cat) if data_dir is None else download(cat, Path(data_dir)) for cat in FILES}


def split_of(task_id: str) -> Literal["dev", "test"]:
    """Deterministic 50/50 split by a hash of the task id."""
    return "dev" if hashlib.sha256(task_id.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def is_release(data: str | Path) -> bool:
    """True when `data` is a folder holding at least one of the release's file names."""
    p = Path(data)
    return p.is_dir() and any((p / name).exists() for name, _ in FILES.values())


def load_user_tasks(
    data: str | Path,
    categories: list[Category] | tuple[Category, ...] = CATEGORIES,
    split: Split = "all",
    columns: Columns | None = None,
    digest: Digest | None = None,
) -> list[BenchTask]:
    """A user's data (file or folder of BenchTask records or pairwise rows), filtered like the release."""
    return [
        t
        for t in read_data(data, columns, digest)
        if t.category in categories and (split == "all" or split_of(t.task_id) == split)
    ]


def load_tasks(
    categories: list[Category] | tuple[Category, ...] = CATEGORIES,
    data_dir: str | Path | None = None,
    split: Split = "all",
    **resolve_opts: object,
) -> list[BenchTask]:
    """Load the chosen categories (in file order), optionally keeping one split. `data_dir` that is
    not the release (see `is_release`) is read as the user's own data."""
    if data_dir is not None and not is_release(data_dir):
        return load_user_tasks(data_dir, categories, split)
    tasks: list[BenchTask] = []
    for cat in categories:
        if cat not in FILES:
            raise CodefavorError(f"unknown category {cat!r}; expected one of {', '.join(CATEGORIES)}")
        path = resolve_file(cat, data_dir, **resolve_opts)  # type: ignore[arg-type]
        for t in read_records(path, BenchTask, defaults={"category": cat}):
            if split == "all" or split_of(t.task_id) == split:
                tasks.append(t)
    return tasks
