"""OpenAI-compatible chat backend (OpenAI, vLLM, SGLang, llama.cpp's server, Ollama, hosted APIs).

`OpenAIBackend("MODEL", base_url=..., api_key=...)` sends each conversation to `POST
{base_url}/chat/completions`. It is async inside (httpcore on a private event loop in a daemon thread,
so the caller's code stays synchronous and connections are reused across batches) and keeps at most
`max_in_flight` requests open. Optional `rpm` / `tpm` token buckets keep under a provider's
per-minute limits (tokens are estimated before the call as prompt characters / 4 plus `max_tokens`,
which is how providers reserve them).

Failures: 408/409/425/429 and 5xx answers, timeouts, dropped or refused connections and malformed
bodies are retried with exponential backoff and jitter, waiting at least what `Retry-After` (or
`retry-after-ms`) asks; a 429 also pauses new attempts for that long. After `max_attempts` the
conversation gets a `Generation` with `error` set to the last reason: every input ends as an answer
or a recorded failure, never dropped, in input order. Other 4xx answers fail at once (retrying a bad
request cannot help). `timeout` bounds each attempt end to end.

We use httpcore (the transport under httpx and the `openai` SDK) rather than the SDK because the
retry policy, the per-item failure records and the pause on 429 need control the SDK does not
expose, and because skipping httpx's request/response models halves the client CPU per request
(0.9 -> 0.5 ms here), which is what limits throughput at 100+ requests in flight on 2 cores.
Proxies come from the usual environment variables. Base URL and key come from the options or `OPENAI_BASE_URL` / `OPENAI_API_KEY`.
Finished calls go to the response cache (`backends/cache.py`) unless `cache=False`.

`batch=FOLDER` sends the cache misses of each `generate` call as one OpenAI batch job instead
(`backends/batch.py`: resumable from FOLDER after a kill; `batch_poll` seconds between polls,
`batch_rounds` resubmissions of failed lines, `batch_offline` to only write the batch file).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import os
import random
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from codefavor.backends import Generation, Message, Sampling, check_options
from codefavor.backends.cache import cache_key, open_cache
from codefavor.errors import CodefavorError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SHARD = 4  # connections per httpcore pool (see _setup)
BATCH_MAX_REQUESTS = 50_000
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524, 529})
# Answers about the request itself (too long for the context, malformed): the same request fails
# again. 401/403/404 are not among them: a fixed key or model name makes the same request work.
REFUSED_STATUS = frozenset({400, 413, 422})


class RateLimiter:
    """A token bucket refilled at `per_minute / 60` per second, holding at most 10 s worth."""

    def __init__(self, per_minute: float):
        if per_minute <= 0:
            raise CodefavorError(f"rate limit {per_minute!r} must be positive")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 10.0)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock: asyncio.Lock | None = None

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(float(amount), self.capacity)  # one huge request must still be able to go
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # FIFO: callers are served in arrival order
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None if absent."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if not ra:
        return None
    try:
        return max(0.0, float(ra))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAIBackend:
    """Chat completions over HTTP with bounded concurrency, retries and a response cache."""

    kind = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_in_flight: int = 64,
        rpm: float | None = None,
        tpm: float | None = None,
        timeout: float = 300.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 120.0,
        cache: Any = True,
        cache_scope: str | None = None,
        headers: dict[str, str] | None = None,
        extra_body: dict[str, Any] | None = None,
        batch_size: int | None = None,
        batch: str | os.PathLike[str] | None = None,
        batch_poll: float = 30.0,
        batch_rounds: int = 3,
        batch_offline: bool = False,
        **unknown: Any,
    ):
        check_options(f"openai:{model}", unknown, OpenAIBackend)
        if max_in_flight < 1 or max_attempts < 1 or timeout <= 0:
            raise CodefavorError("max_in_flight and max_attempts must be >= 1 and timeout > 0")
        self.model = model
        self.spec = f"openai:{model}"
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if self.base_url == DEFAULT_BASE_URL and not self.api_key:
            raise CodefavorError(
                f"backend {self.spec!r} talks to {DEFAULT_BASE_URL} but no API key is set; "
                "set OPENAI_API_KEY or pass `api_key` (or point `base_url` at a local server)"
            )
        self.max_in_flight = int(max_in_flight)
        # With batch jobs, a stage that asks the backend for its batch size sends everything in one job
        # (50,000 requests is OpenAI's limit per batch), not one job per few hundred requests.
        self.batch_size = int(batch_size or (BATCH_MAX_REQUESTS if batch is not None else 4 * self.max_in_flight))
        self.timeout = float(timeout)
        self.max_attempts = int(max_attempts)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.headers = dict(headers or {})
        self.extra_body = dict(extra_body or {})
        self._rpm = RateLimiter(rpm) if rpm else None
        self._tpm = RateLimiter(tpm) if tpm else None
        self.cache = open_cache(cache)
        # Where the cache says an answer came from: the base URL, unless the caller names the server
        # otherwise. A server started on a free port has a new URL each run, so the recipe names it by
        # what it serves (model file, context), and a rerun replays the calls it already made.
        self.cache_scope = cache_scope or self.base_url
        self.batch = None
        if batch is not None:
            from codefavor.backends.batch import BatchJobs

            self.batch = BatchJobs(
                batch, base_url=self.base_url, api_key=self.api_key, poll_s=batch_poll, max_rounds=batch_rounds,
                offline=batch_offline,
            )  # fmt: skip
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pools: list[Any] = []
        self._slots: asyncio.Queue[int] | None = None
        self._pause_until = 0.0
        self._start_lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------

    def generate(self, conversations: Sequence[list[Message]], sampling: Sampling) -> list[Generation]:
        """One Generation per conversation, in order; failures carry `error` instead of texts."""
        convs = [list(c) for c in conversations]
        keys = [
            cache_key(self.kind, self.cache_scope, self.model, c, sampling) if self.cache is not None else ""
            for c in convs
        ]
        results: list[Generation | None] = [None] * len(convs)
        if self.cache is not None:
            hits = self.cache.get_many(keys)
            for i, k in enumerate(keys):
                if k in hits:
                    results[i] = hits[k]
        todo = [i for i, r in enumerate(results) if r is None]
        if todo and self.batch is not None:
            for i, g in zip(todo, self._batch([convs[i] for i in todo], sampling), strict=True):
                results[i] = g
        elif todo:
            loop = self._ensure_loop()
            if threading.current_thread() is self._thread:
                raise RuntimeError("OpenAIBackend.generate was called from its own event loop thread")
            fut = asyncio.run_coroutine_threadsafe(
                self._run([convs[i] for i in todo], [keys[i] for i in todo], sampling), loop
            )
            try:
                fresh = fut.result()
            except BaseException:
                fut.cancel()  # Ctrl-C: stop the requests still in flight
                raise
            for i, g in zip(todo, fresh, strict=True):
                results[i] = g
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _batch(self, convs: list[list[Message]], sampling: Sampling) -> list[Generation]:
        """Answers through one batch job (see `backends/batch.py`); custom_id = the cache key."""
        assert self.batch is not None
        keys = [cache_key(self.kind, self.cache_scope, self.model, c, sampling) for c in convs]
        got = self.batch.run({k: self._body(c, sampling) for k, c in zip(keys, convs, strict=True)})
        out = []
        for k in keys:
            g = got[k]
            if self.cache is not None and g.error is None:
                self.cache.put(k, g, self.kind, self.model)
            out.append(Generation(g.texts, g.prompt_tokens, g.completion_tokens, g.latency_s, g.error))
        return out

    def close(self) -> None:
        """Close connections and stop the private event loop (the backend restarts it if used again)."""
        with self._start_lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if self._pools:
            asyncio.run_coroutine_threadsafe(_close_all(self._pools), loop).result(timeout=10)
            self._pools = []
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    # -- the event loop ---------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=f"codefavor-{self.spec}", daemon=True)
                thread.start()
                asyncio.run_coroutine_threadsafe(self._setup(), loop).result()
                self._loop, self._thread = loop, thread
            return self._loop

    async def _setup(self) -> None:
        import httpcore

        headers = {"Content-Type": "application/json", "User-Agent": "codefavor", **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self._headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self._url = self.base_url + "/chat/completions"
        self._extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), self.timeout)}
        # httpcore's pool rescans every connection on every event (quadratic in pool size; one pool of
        # 128 connections caps out near 30 req/s on 2 cores), so we shard: small pools of SHARD
        # connections each, and a queue of free slots that names the pool to use.
        n_shards = -(-self.max_in_flight // SHARD)
        proxy = _proxy_for(self.base_url)
        if proxy:
            self._pools = [
                httpcore.AsyncHTTPProxy(proxy_url=proxy, max_connections=SHARD, max_keepalive_connections=SHARD)
                for _ in range(n_shards)
            ]
        else:
            self._pools = [
                httpcore.AsyncConnectionPool(max_connections=SHARD, max_keepalive_connections=SHARD)
                for _ in range(n_shards)
            ]
        self._slots = asyncio.Queue()
        for i in range(self.max_in_flight):
            self._slots.put_nowait(i % n_shards)

    async def _run(self, convs: list[list[Message]], keys: list[str], sampling: Sampling) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(c, k, sampling) for c, k in zip(convs, keys, strict=True))))

    def _body(self, conv: list[Message], sampling: Sampling) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": conv,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.n != 1:
            body["n"] = sampling.n
        body.update(self.extra_body)
        return body

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            wait = min(retry_after, self.max_retry_after)
            return wait + random.uniform(0.0, min(1.0, 0.1 * wait + 0.05))  # spread the herd a little
        cap = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return cap / 2 + random.uniform(0.0, cap / 2)  # "equal jitter": never retry instantly

    async def _one(self, conv: list[Message], key: str, sampling: Sampling) -> Generation:
        import httpcore

        assert self._slots is not None and self._pools
        body = json.dumps(self._body(conv, sampling), ensure_ascii=False).encode("utf-8")
        est_tokens = sum(len(m.get("content") or "") for m in conv) / 4 + sampling.max_tokens * sampling.n
        start = time.monotonic()
        reason = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            while (pause := self._pause_until - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            if self._rpm is not None:
                await self._rpm.acquire(1)
            if self._tpm is not None:
                await self._tpm.acquire(est_tokens)
            retry_after: float | None = None
            shard = await self._slots.get()
            try:
                async with _deadline(self.timeout):
                    resp = await self._pools[shard].request(
                        "POST", self._url, headers=self._headers, content=body, extensions=self._extensions
                    )
            except (asyncio.TimeoutError, httpcore.TimeoutException) as e:
                reason = f"timed out after {self.timeout:g}s ({type(e).__name__})"
                resp = None
            except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as e:
                reason = f"connection failed: {type(e).__name__}: {e}".rstrip(": ")
                resp = None
            except httpcore.UnsupportedProtocol as e:
                return Generation(error=f"bad base URL {self.base_url!r}: {e}", latency_s=time.monotonic() - start)
            finally:
                self._slots.put_nowait(shard)
            if resp is not None:
                if resp.status == 200:
                    gen = _parse_completion(resp.content)
                    if gen.error is None:
                        gen.latency_s = time.monotonic() - start
                        if self.cache is not None:
                            self.cache.put(key, gen, self.kind, self.model)
                        return gen
                    reason = gen.error
                else:
                    snippet = resp.content[:300].decode("utf-8", "replace").replace("\n", " ")
                    reason = f"HTTP {resp.status}: {snippet}"
                    if resp.status not in RETRY_STATUS:
                        refused = resp.status in REFUSED_STATUS
                        return Generation(error=reason, latency_s=time.monotonic() - start, refused=refused)
                    retry_after = parse_retry_after(
                        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in resp.headers}
                    )
                    if resp.status == 429 and retry_after is not None:
                        wait = min(retry_after, self.max_retry_after)
                        self._pause_until = max(self._pause_until, time.monotonic() + wait)
            if attempt < self.max_attempts:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        return Generation(
            error=f"{reason} (gave up after {self.max_attempts} attempts)", latency_s=time.monotonic() - start
        )


if sys.version_info >= (3, 11):
    _deadline = asyncio.timeout  # a deadline on the running task: no extra task per request
else:  # pragma: no cover - Python 3.10

    @contextlib.asynccontextmanager
    async def _deadline(seconds: float) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        handle = asyncio.get_running_loop().call_later(seconds, task.cancel)
        try:
            yield
        except asyncio.CancelledError:
            raise asyncio.TimeoutError from None
        finally:
            handle.cancel()


async def _close_all(pools: list[Any]) -> None:
    await asyncio.gather(*(p.aclose() for p in pools))


def _proxy_for(url: str) -> str | None:
    """The proxy the environment asks for (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as httpx would use it."""
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _parse_completion(raw: bytes) -> Generation:
    """A Generation from a chat-completion body, or one with `error` when the body is not one."""
    try:
        data = json.loads(raw)
    except ValueError as e:
        return Generation(error=f"malformed response ({type(e).__name__}: {str(e)[:120]}): {raw[:120]!r}")
    return completion_from_body(data, raw)


def completion_from_body(data: Any, raw: bytes | None = None) -> Generation:
    """A Generation from a decoded chat-completion object (a response, or a batch output line's
    `response.body`), or one with `error` when it is not one."""
    try:
        choices = data["choices"]
        texts = [(c.get("message") or {}).get("content") or "" for c in choices]
        if not choices:
            raise ValueError("no choices")
        usage = data.get("usage") or {}
        return Generation(
            texts=texts,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        shown = raw[:120] if raw is not None else json.dumps(data, default=str)[:120]
        return Generation(error=f"malformed response ({type(e).__name__}: {str(e)[:120]}): {shown!r}")
