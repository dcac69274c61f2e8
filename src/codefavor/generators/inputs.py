"""The generators' input layer: rows from JSONL(.gz), Parquet or a Hugging Face dataset, and shards.

Both generators read their seeds through `read_rows` (each row with the place it came from, so a bad
row is reported as `file:line: field ...`) and split work across machines with the same `I/N` shard
syntax and the same hash. A missing optional dependency is a `MissingExtraError` naming the extra.
What a limit means is the run engine's (`engine.run_items`): the first N distinct items in source
order, finished ones included, so rerunning a command completes the same items.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codefavor.errors import CodefavorError, DataError, MissingExtraError
from codefavor.records import iter_json

Shard = tuple[int, int]  # (index, count): keep the items whose key hashes to `index` modulo `count`


def read_rows(
    path: str | Path | None = None,
    *,
    hf_dataset: str | None = None,
    hf_config: str | None = None,
    hf_split: str = "train",
    columns: Sequence[str] | None = None,
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Yield (source, row number, row) from exactly one of a file or a dataset, streaming.

    Files: JSONL (optionally gzipped; the row number is the line) or Parquet (`columns` limits what is
    read). Datasets are streamed with `datasets.load_dataset`, so a large one is never held whole.
    """
    if (path is None) == (hf_dataset is None):
        raise CodefavorError("give exactly one input: a file (`input`) or a dataset (`hf_dataset`)")
    if hf_dataset is not None:
        yield from _dataset_rows(hf_dataset, hf_config, hf_split)
        return
    path = Path(path)  # type: ignore[arg-type]
    if not path.exists():
        raise DataError(str(path), None, "no such file")
    if path.suffix == ".parquet":
        yield from _parquet_rows(path, columns)
        return
    for obj in iter_json(path):
        yield str(path), obj.pop("__line__"), obj


def _parquet_rows(path: Path, columns: Sequence[str] | None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("data", "pyarrow") from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several unrelated types (ArrowInvalid, OSError) for unreadable files
        raise DataError(str(path), None, f"not a readable Parquet file ({e})") from None
    wanted = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
    row = 0
    for batch in pf.iter_batches(columns=wanted, batch_size=1024):
        for rec in batch.to_pylist():
            row += 1
            yield str(path), row, rec


def _dataset_rows(name: str, config: str | None, split: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    try:
        import datasets
    except ImportError:
        raise MissingExtraError("data", "datasets") from None
    try:
        ds = datasets.load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # hub, network, config and file errors come in many types; all are the user's to fix
        raise CodefavorError(
            f"could not load dataset {name!r} (split {split!r}; {type(e).__name__}: {e}); "
            "offline, download it and pass it as `input`"
        ) from None
    where = f"hf:{name}[{split}]"
    for i, row in enumerate(ds, start=1):
        yield where, i, dict(row)


def check_shard(shard: Shard) -> Shard:
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise CodefavorError(f"`shard` {i}/{n}: expected I/N with 0 <= I < N, e.g. 0/4")
    return shard


def parse_shard(spec: str | None) -> Shard | None:
    """`"I/N"` -> (I, N) with 0 <= I < N; None (all items) for None."""
    if spec is None:
        return None
    try:
        i_s, n_s = spec.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise CodefavorError(f"`shard` {spec!r}: expected I/N with 0 <= I < N, e.g. 0/4") from None
    return check_shard((i, n))


def in_shard(key: str, shard: Shard | None) -> bool:
    """Whether the item with this key belongs to the shard: a stable hash, so shards never overlap."""
    if shard is None or shard[1] == 1:
        return True
    i, n = shard
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % n == i


def check_limit(limit: int | None) -> int | None:
    """A limit is a count of seeds: None (all) or a number >= 0."""
    if limit is not None and limit < 0:
        raise CodefavorError(f"`limit` {limit}: expected a number >= 0")
    return limit
