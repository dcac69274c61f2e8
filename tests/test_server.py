"""`codefavor serve`'s app: OpenAI-compatible chat, /v1/judge, auth, body limit, saturation, shutdown.

Most tests go through `TestClient(create_app(...))` with scripted backends; saturation and the
backend-meets-server test run a real uvicorn on 127.0.0.1 in a thread, stopped at teardown."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from codefavor.backends import Generation, Sampling
from codefavor.backends.fake import FakeBackend
from codefavor.backends.openai import OpenAIBackend
from codefavor.cli import main
from codefavor.judges import load_judge
from codefavor.judges.generative import GenerativeJudge
from codefavor.server import create_app, is_loopback
from codefavor.testing import start_serve, stub_server

TOKEN = "s3cret-token"
PAIR = {"instruction": "Add two numbers.", "a": "def add(a, b):\n    return a + b", "b": "def add(a, b): return a-b"}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache.sqlite"))


def echo_backend(delay: float = 0.0) -> FakeBackend:
    def reply(messages):
        time.sleep(delay)
        return "echo: " + messages[-1]["content"]

    return FakeBackend(fn=reply, spec="fake:echo")


def judges():
    verdicts = FakeBackend(fn=lambda m: "Short review.\nVERDICT: Candidate B is better.", spec="fake:b")
    return {"shorter": load_judge("shorter"), "gen:fake:b": GenerativeJudge("fake:b", backend=verdicts)}


@pytest.fixture
def client():
    app = create_app(backend=echo_backend(), model_name="tiny", judges=judges(), token=TOKEN, max_body_bytes=4096)
    with TestClient(app) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c


def test_chat_completions_shape(client):
    r = client.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 8, "n": 2},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "tiny"
    assert [c["message"]["content"] for c in body["choices"]] == ["echo: hello"] * 2
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    parts = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]}]},
    )
    assert parts.json()["choices"][0]["message"]["content"] == "echo: parts"


def test_chat_streaming(client):
    with client.stream(
        "POST", "/v1/chat/completions", json={"messages": [{"role": "user", "content": "s"}], "stream": True}
    ) as r:
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(__import__("json").loads(ln[6:])["choices"][0]["delta"].get("content", "") for ln in lines[:-1])
    assert text == "echo: s"


def test_models_and_health(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "tiny"
    h = client.get("/health", headers={"Authorization": ""}).json()  # health needs no token
    assert h["status"] == "ok" and h["judges"] == ["shorter", "gen:fake:b"]


def test_judge_single_and_batch(client):
    one = client.post("/v1/judge", json={**PAIR, "criterion": "correctness"})
    assert one.status_code == 200, one.text
    assert one.json()["judge"] == "shorter" and one.json()["decision"] == "B" and one.json()["prob_a"] == 0.0
    batch = client.post("/v1/judge", json={"judge": "gen:fake:b", "items": [PAIR, {**PAIR, "criterion": "speed"}]})
    res = batch.json()["results"]
    assert [x["decision"] for x in res] == ["B", "B"]
    assert res[0]["raw_output"].endswith("VERDICT: Candidate B is better.") and res[0]["prob_a"] is None
    assert client.post("/v1/judge", json={**PAIR, "judge": "random:1"}).status_code == 404
    assert client.post("/v1/judge", json={"instruction": "x"}).status_code == 422
    assert client.post("/v1/judge", json={"items": []}).status_code == 422
    assert client.post("/v1/judge", json={**PAIR, "surprise": 1}).status_code == 422


def test_auth(client):
    body = {"messages": [{"role": "user", "content": "x"}]}
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = client.post("/v1/chat/completions", json=body, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/v1/judge", json=PAIR, headers={"Authorization": ""}).status_code == 401
    assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_body_size_limit(client):
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    assert client.post("/v1/chat/completions", json=big).status_code == 413

    def chunks():  # no Content-Length: the limit must hold for chunked bodies too
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    r = client.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert (
        client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "ok"}]}).status_code == 200
    )


class LiveServer:
    """uvicorn in a thread on a free 127.0.0.1 port."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


def test_saturation_answers_429():
    app = create_app(backend=echo_backend(delay=1.0), max_concurrent=2, max_batch=1)
    with LiveServer(app) as live, ThreadPoolExecutor(6) as pool:

        def ask(i: int) -> httpx.Response:
            body = {"messages": [{"role": "user", "content": f"q{i}"}]}
            return httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=30)

        responses = list(pool.map(ask, range(6)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 200, 429, 429, 429, 429]
        assert all(r.headers.get("retry-after") == "1" for r in responses if r.status_code == 429)
        assert httpx.get(f"{live.url}/health").json()["busy"] == 0


def test_openai_backend_rides_out_saturation():
    """The project's own client against the project's own server: 429s are retried, nothing is lost."""
    app = create_app(backend=echo_backend(delay=0.1), max_concurrent=2, max_batch=2)
    with LiveServer(app) as live:
        backend = OpenAIBackend("tiny", base_url=live.url + "/v1", cache=False, max_in_flight=8, timeout=10)
        texts = [f"item {i}" for i in range(12)]
        gens = backend.generate([[{"role": "user", "content": t}] for t in texts], Sampling(max_tokens=4))
        backend.close()
    assert [g.error for g in gens] == [None] * 12
    assert [g.text for g in gens] == [f"echo: {t}" for t in texts]


def test_loopback_rule(capsys):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.com")
    with pytest.raises(SystemExit) as e:
        main(["serve", "--judge", "shorter", "--host", "0.0.0.0", "--port", "0"])
    assert e.value.code == 2
    assert "refusing to listen on '0.0.0.0' without a token" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", "0"])
    assert e.value.code == 2


def test_serve_process_finishes_in_flight_work_on_sigterm():
    """A judge request in flight when SIGTERM arrives is still answered; then the process exits."""
    stub, stub_url = stub_server.start(["--latency", "1.5", "--reply", "VERDICT: Candidate A is better."])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc, url = start_serve(
        None, env, "--judge", "shorter", "--judge", "gen:openai:stub", "--base-url", stub_url, "--token", TOKEN
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        r = httpx.post(url + "/judge", json=PAIR, headers=auth, timeout=30)
        assert r.status_code == 200 and r.json()["decision"] == "B"
        assert httpx.post(url + "/judge", json=PAIR, timeout=30).status_code == 401
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(
                httpx.post, url + "/judge", json={**PAIR, "judge": "gen:openai:stub"}, headers=auth, timeout=30
            )
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            answer = slow.result()
        assert answer.status_code == 200 and answer.json()["decision"] == "A"
        assert proc.wait(timeout=30) == 0  # a clean shutdown on SIGTERM is a normal exit, not "killed by signal"
    finally:
        for p in (proc, stub):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


def test_the_openai_sdk_can_talk_to_it():
    """Compatibility with the reference client, plain and streaming."""
    import openai

    app = create_app(backend=echo_backend(), model_name="tiny", token=TOKEN)
    with LiveServer(app) as live:
        client = openai.OpenAI(base_url=live.url + "/v1", api_key=TOKEN, max_retries=0)
        assert [m.id for m in client.models.list()] == ["tiny"]
        out = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "sdk"}], max_tokens=5, temperature=0
        )
        assert out.choices[0].message.content == "echo: sdk" and out.usage.total_tokens > 0
        stream = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "streamed"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: streamed"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=live.url + "/v1", api_key="wrong", max_retries=0).models.list()


def test_concurrent_chat_requests_share_a_batch():
    sizes: list[int] = []

    class Recording:
        spec = "fake:recording"

        def generate(self, conversations, sampling):
            sizes.append(len(conversations))
            time.sleep(0.3)
            return [Generation(texts=["ok"], completion_tokens=1) for _ in conversations]

    app = create_app(backend=Recording(), max_batch=8)
    with LiveServer(app) as live, ThreadPoolExecutor(8) as pool:
        body = {"messages": [{"role": "user", "content": "q"}]}
        codes = list(
            pool.map(
                lambda _: httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=30).status_code, range(8)
            )
        )
    assert codes == [200] * 8 and sum(sizes) == 8
    assert max(sizes) > 1  # requests that waited behind the first were generated together
