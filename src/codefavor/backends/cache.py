"""Persistent response cache for LLM backends: SQLite in WAL mode, safe across threads and processes.

A finished call is stored under a key made from the backend kind, where it was served from (base URL
or model fingerprint), the model, the messages and every sampling setting, so re-running a stage
replays finished calls at no cost and a changed prompt or setting is a miss. Only successful
generations are stored; failures are retried next time. A replayed Generation has `cached=True`
and the usage and latency of the original call. Each thread gets its own connection; WAL
lets readers and one writer work at once, and `busy_timeout` makes concurrent writers (threads or
other processes) wait for the lock instead of failing.

Location: `$CODEFAVOR_CACHE` (a file path), else `<user cache dir>/codefavor/responses.sqlite`.
Backends use it by default; `cache=False` (CLI `--no-cache`) bypasses it, `cache="path.sqlite"`
picks another file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codefavor.backends import Generation, Message, Sampling

SCHEMA_VERSION = 1


def default_path() -> Path:
    env = os.environ.get("CODEFAVOR_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("codefavor")) / "responses.sqlite"


def cache_key(kind: str, where: str, model: str, messages: Sequence[Message], sampling: Sampling) -> str:
    """sha256 over the canonical JSON of everything that changes the answer."""
    blob = json.dumps(
        [SCHEMA_VERSION, kind, where, model, list(messages), dataclasses.asdict(sampling)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """A key -> Generation store. Thread-safe (a connection per thread) and process-safe (SQLite locks)."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 60.0):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._connect()  # create the table now, so a bad path fails early

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            # Switching a fresh file to WAL takes an exclusive lock that SQLite's busy handler does not
            # wait for: two processes opening a new cache at once get "database is locked". Retry it.
            deadline = time.monotonic() + self.timeout_s
            delay = 0.005
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS responses ("
                        "key TEXT PRIMARY KEY, kind TEXT, model TEXT, created REAL, value TEXT NOT NULL)"
                    )
                    break
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) or time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.2)
            self._local.conn = conn
        return conn

    def get_many(self, keys: Sequence[str]) -> dict[str, Generation]:
        out: dict[str, Generation] = {}
        conn = self._connect()
        for i in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = list(keys[i : i + 500])
            q = f"SELECT key, value FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
            for key, value in conn.execute(q, chunk):
                try:
                    v = json.loads(value)
                    out[key] = Generation(
                        texts=list(v["texts"]),
                        prompt_tokens=int(v.get("prompt_tokens", 0)),
                        completion_tokens=int(v.get("completion_tokens", 0)),
                        latency_s=float(v.get("latency_s", 0.0)),
                        cached=True,
                    )
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged row is a miss; the next put overwrites it
        return out

    def get(self, key: str) -> Generation | None:
        return self.get_many([key]).get(key)

    def put(self, key: str, gen: Generation, kind: str = "", model: str = "") -> None:
        if gen.error is not None or not gen.texts:
            return  # failures are never cached: the next run retries them
        value = json.dumps(
            {
                "texts": gen.texts,
                "prompt_tokens": gen.prompt_tokens,
                "completion_tokens": gen.completion_tokens,
                "latency_s": gen.latency_s,
            },
            ensure_ascii=False,
        )
        self._connect().execute(
            "INSERT OR REPLACE INTO responses (key, kind, model, created, value) VALUES (?, ?, ?, ?, ?)",
            (key, kind, model, time.time(), value),
        )

    def __bool__(self) -> bool:  # an empty cache is still a cache (`if cache:` must not mean "has rows")
        return True

    def __len__(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def open_cache(option: Any) -> ResponseCache | None:
    """Turn a backend's `cache` option into a cache: True/None -> default file, False -> none, str/Path -> that file."""
    if option is False:
        return None
    if option is True or option is None:
        return ResponseCache()
    if isinstance(option, ResponseCache):
        return option
    return ResponseCache(Path(option))
