"""The OpenAI-compatible backend against real server processes on 127.0.0.1: the fault-injecting stub
(429 with Retry-After, 5xx, slow replies past the timeout, malformed JSON, dropped connections) and
the response cache, including two processes writing one cache file at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

from codefavor.backends import Generation, Sampling, load_backend
from codefavor.backends.cache import ResponseCache, cache_key
from codefavor.backends.openai import OpenAIBackend, RateLimiter, parse_retry_after
from codefavor.errors import CodefavorError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def stats(url: str) -> dict:
    return httpx.get(url.removesuffix("/v1") + "/stats", timeout=10).json()


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]


def fast_backend(url: str, **kw) -> OpenAIBackend:
    opts = dict(base_url=url, cache=False, timeout=0.5, backoff_base=0.02, backoff_max=0.1, max_attempts=4)
    opts.update(kw)
    return OpenAIBackend("stub-model", **opts)


def test_each_fault_kind_is_retried_or_recorded(stub):
    url = stub("--retry-after", "0.3", "--slow", "2")
    plan = {
        "plain": ("", 1, None),
        "rate limited": ("[faults=429]", 2, None),
        "server errors": ("[faults=500,503]", 3, None),
        "dropped": ("[faults=drop]", 2, None),
        "truncated json": ("[faults=badjson]", 2, None),
        "slow past timeout": ("[faults=slow]", 2, None),
        "mixed": ("[faults=drop,429,badjson]", 4, None),
        "bad request": ("[faults=400]", 1, "HTTP 400"),
        "always dropped": ("[faults=drop,drop,drop,drop,drop]", 4, "gave up after 4 attempts"),
        "always 500": ("[faults=500,500,500,500]", 4, "HTTP 500"),
    }
    texts = [f"{name} {faults}" for name, (faults, _, _) in plan.items()]
    backend = fast_backend(url)
    gens = backend.generate([conv(t) for t in texts], Sampling())
    backend.close()
    assert len(gens) == len(texts)
    seen = stats(url)["by_message"]
    for text, g, (_, attempts, error) in zip(texts, gens, plan.values(), strict=True):
        assert seen[text] == attempts, text
        if error is None:
            assert g.error is None, (text, g.error)
            assert g.texts == [f"echo: {text}"]
            assert g.completion_tokens > 0 and g.prompt_tokens > 0 and g.latency_s > 0
        else:
            assert g.texts == [] and g.error is not None and error in g.error, (text, g.error)
        # only an answer about the request itself is a refusal; a server that kept failing is not
        assert g.refused == (error == "HTTP 400"), text


def test_retry_after_is_honoured(stub):
    url = stub("--retry-after", "1")
    backend = fast_backend(url, timeout=5)
    t0 = time.monotonic()
    (g,) = backend.generate([conv("[faults=429] wait for me")], Sampling())
    backend.close()
    assert g.error is None and g.text == "echo: [faults=429] wait for me"
    assert time.monotonic() - t0 >= 1.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_chaos_schedule_loses_and_duplicates_nothing(stub):
    # Seven requests in ten misbehave, in every way, while 24 are in flight.
    url = stub("--schedule", "ok,429,500,drop,ok,badjson,slow,ok,503,drop", "--retry-after", "0.05", "--slow", "3")
    texts = [f"request number {i}" for i in range(300)]
    # The timeout must catch the 3 s "slow" fault but not an "ok" reply on a loaded 2-core machine (0.3 s did not).
    backend = fast_backend(url, timeout=1.0, max_in_flight=24, max_attempts=8)
    gens = backend.generate([conv(t) for t in texts], Sampling(max_tokens=8))
    backend.close()
    assert len(gens) == len(texts)
    answered = [g for g in gens if g.error is None]
    failed = [g for g in gens if g.error is not None]
    assert len(answered) + len(failed) == len(texts)
    for t, g in zip(texts, gens, strict=True):
        if g.error is None:
            assert g.texts == [f"echo: {t}"]  # each answer belongs to its own request
        else:
            assert g.texts == [] and "gave up after 8 attempts" in g.error
    s = stats(url)
    assert set(s["by_message"]) == set(texts)  # every request reached the server
    assert max(s["by_message"].values()) <= 8  # and attempts stayed bounded
    assert len(answered) >= 0.8 * len(texts)  # 0.7**8 ~ 6% are expected to fail every attempt
    assert sum(s["faults"].get(f, 0) for f in ("429", "500", "503", "drop", "badjson", "slow")) > 100


def test_bounded_in_flight(stub):
    url = stub("--latency", "0.3")
    backend = fast_backend(url, timeout=5, max_in_flight=4)
    t0 = time.monotonic()
    gens = backend.generate([conv(f"q{i}") for i in range(12)], Sampling())
    elapsed = time.monotonic() - t0
    backend.close()
    assert all(g.error is None for g in gens)
    assert elapsed >= 0.85  # 12 requests, 4 at a time, 0.3 s each: at least three rounds


def test_rate_limiter_spaces_requests():
    async def run() -> float:
        lim = RateLimiter(per_minute=600)  # 10/s, a burst of 100
        await lim.acquire(100)
        t0 = time.monotonic()
        for _ in range(15):
            await lim.acquire(1)
        return time.monotonic() - t0

    assert asyncio.run(run()) >= 1.3


def test_sampling_reaches_the_server(stub):
    url = stub()
    backend = fast_backend(url, timeout=5)
    (g,) = backend.generate([conv("two please")], Sampling(n=2, temperature=0.7, stop=("\n",), seed=3))
    backend.close()
    assert g.texts == ["echo: two please"] * 2


def test_unreachable_server_is_a_recorded_failure():
    backend = fast_backend("http://127.0.0.1:9/v1", max_attempts=2)
    gens = backend.generate([conv("anyone?"), conv("hello?")], Sampling())
    backend.close()
    assert [g.texts for g in gens] == [[], []]
    assert all("connection failed" in (g.error or "") for g in gens)


def test_options_and_environment(monkeypatch):
    with pytest.raises(CodefavorError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-x")
    with pytest.raises(CodefavorError, match="unknown option"):
        OpenAIBackend("m", base_url="http://127.0.0.1:1/v1", max_inflight=3)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    b = load_backend("openai:some-model", cache=False)
    assert isinstance(b, OpenAIBackend)
    assert (b.base_url, b.api_key, b.model, b.spec) == (
        "http://127.0.0.1:1234/v1",
        "sk-test",
        "some-model",
        "openai:some-model",
    )


def test_cache_replays_without_the_server(stub, tmp_path):
    path = tmp_path / "replay.sqlite"
    url = stub()
    texts = [f"cache me {i}" for i in range(20)]
    first = fast_backend(url, cache=path).generate([conv(t) for t in texts], Sampling(max_tokens=5))
    assert all(g.error is None and not g.cached for g in first)
    assert stats(url)["requests"] == 20
    again = fast_backend(url, cache=path).generate([conv(t) for t in texts], Sampling(max_tokens=5))
    assert [g.texts for g in again] == [g.texts for g in first]
    assert all(g.cached for g in again)
    assert [g.usage for g in again] == [g.usage for g in first]
    assert stats(url)["requests"] == 20  # nothing was sent the second time
    # Other sampling settings are a miss; cache=False bypasses the file entirely.
    fast_backend(url, cache=path).generate([conv(texts[0])], Sampling(max_tokens=6))
    fast_backend(url, cache=False).generate([conv(texts[0])], Sampling(max_tokens=5))
    assert stats(url)["requests"] == 22


def test_a_cache_scope_replays_a_server_that_moved_to_another_port(stub, tmp_path):
    """A server started on a free port has a new base URL each run; named by a scope, its answers
    replay all the same, and two scopes never share an answer."""
    path = tmp_path / "replay.sqlite"
    first, second = stub(), stub()
    fast_backend(first, cache=path, cache_scope="server:m").generate([conv("hi")], Sampling(max_tokens=5))
    again = fast_backend(second, cache=path, cache_scope="server:m").generate([conv("hi")], Sampling(max_tokens=5))
    assert again[0].cached and stats(second)["requests"] == 0
    other = fast_backend(second, cache=path, cache_scope="server:n").generate([conv("hi")], Sampling(max_tokens=5))
    assert not other[0].cached and stats(second)["requests"] == 1
    plain = fast_backend(second, cache=path).generate([conv("hi")], Sampling(max_tokens=5))
    assert not plain[0].cached  # no scope: the base URL, which differs from the scoped runs


def test_failures_are_not_cached(stub, tmp_path):
    path = tmp_path / "fail.sqlite"
    url = stub()
    b = fast_backend(url, cache=path, max_attempts=1)
    (g,) = b.generate([conv("[faults=500] fails once")], Sampling())
    assert g.error is not None
    (g,) = b.generate([conv("[faults=500] fails once")], Sampling())
    assert g.error is None and not g.cached
    assert len(ResponseCache(path)) == 1


def test_cache_is_safe_across_threads(tmp_path):
    cache = ResponseCache(tmp_path / "threads.sqlite")

    def writer(w: int) -> None:
        for i in range(150):
            key = cache_key("t", "", "m", [{"role": "user", "content": f"{w}-{i}"}], Sampling())
            cache.put(key, Generation(texts=[f"{w}-{i}"], completion_tokens=1))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 8 * 150
    key = cache_key("t", "", "m", [{"role": "user", "content": "3-7"}], Sampling())
    hit = cache.get(key)
    assert hit is not None and hit.texts == ["3-7"] and hit.cached


def test_cache_is_safe_across_processes(stub, tmp_path):
    url = stub()
    path = tmp_path / "shared.sqlite"
    script = textwrap.dedent(
        """
        import sys
        from codefavor.backends import Sampling
        from codefavor.backends.openai import OpenAIBackend
        url, path, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        b = OpenAIBackend("stub-model", base_url=url, cache=path, max_in_flight=8)
        gens = b.generate([[{"role": "user", "content": f"item {i}"}] for i in range(lo, hi)], Sampling())
        assert all(g.error is None for g in gens), [g.error for g in gens if g.error][:3]
        print(sum(g.cached for g in gens))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, url, str(path), lo, hi], env=env, stdout=subprocess.PIPE)
        for lo, hi in (("0", "120"), ("60", "180"))
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out
    assert len(ResponseCache(path)) == 180  # the overlap is stored once, nothing is lost
    before = stats(url)["requests"]
    gens = OpenAIBackend("stub-model", base_url=url, cache=path).generate(
        [[{"role": "user", "content": f"item {i}"}] for i in range(180)], Sampling()
    )
    assert all(g.cached and g.text == f"echo: item {i}" for i, g in enumerate(gens))
    assert stats(url)["requests"] == before


def test_rpm_limit_applies_to_the_backend(stub):
    url = stub()
    backend = fast_backend(url, timeout=5, rpm=600)  # 10 per second after a burst of 100
    t0 = time.monotonic()
    gens = backend.generate([conv(f"r{i}") for i in range(115)], Sampling(max_tokens=4))
    elapsed = time.monotonic() - t0
    backend.close()
    assert all(g.error is None for g in gens)
    assert elapsed >= 1.2
