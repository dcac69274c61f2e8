"""`codefavor serve`'s app: OpenAI-compatible chat, /v1/judge, auth, body limit, saturation, shutdown,
one error shape, the CLI's default criterion, and requests kept apart.

Most tests go through `TestClient(create_app(...))` with scripted backends; saturation, admission
before the body and the backend-meets-server test run a real uvicorn on 127.0.0.1 in a thread,
stopped at teardown."""

from __future__ import annotations

import json
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
from codefavor.judges import Verdict, load_judge
from codefavor.judges.generative import GenerativeJudge
from codefavor.prompts import CRITERIA, DEFAULT_CRITERION
from codefavor.server import create_app
from codefavor.server_admission import ERROR_TYPES, is_loopback
from codefavor.testing import start_serve, stub_server

TOKEN = "s3cret-token"
PAIR = {"instruction": "Add two numbers.", "a": "def add(a, b):\n    return a + b", "b": "def add(a, b): return a-b"}


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    """The one error shape: exactly {"error": {message, type, code, param}}, type fixed by the status."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"] and set(body["error"]) == {"message", "type", "code", "param"}, body
    err = body["error"]
    assert isinstance(err["message"], str) and err["message"], body
    assert err["type"] == ERROR_TYPES[status] and err["code"] == code, body
    return err


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
    text = "".join(json.loads(ln[6:])["choices"][0]["delta"].get("content", "") for ln in lines[:-1])
    assert text == "echo: s"


def test_models_and_health(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "tiny"
    assert client.get("/health", headers={"Authorization": ""}).json() == {"status": "ok"}  # open, and terse
    h = client.get("/health").json()  # with the token: what is served and how busy
    assert h["status"] == "ok" and h["judges"] == ["shorter", "gen:fake:b"] and h["busy"] == 0


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
        assert_error(r, 401, "invalid_api_key")
        assert r.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/v1/judge", json=PAIR, headers={"Authorization": ""}).status_code == 401
    assert client.post("/v1/chat/completions", json=body).status_code == 200


def test_body_size_limit(client):
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(client.post("/v1/chat/completions", json=big), 413, "request_too_large")

    def chunks():  # no Content-Length: the limit must hold for chunked bodies too
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    r = client.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "request_too_large")
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
        for r in responses:
            if r.status_code == 429:
                assert_error(r, 429, "rate_limit_exceeded")
                assert r.headers.get("retry-after") == "1"
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
            return [Generation(texts=[f"ok {c[-1]['content']}"], completion_tokens=1) for c in conversations]

    app = create_app(backend=Recording(), max_batch=8)
    with LiveServer(app) as live, ThreadPoolExecutor(8) as pool:

        def ask(i: int) -> tuple[int, str]:
            body = {"messages": [{"role": "user", "content": f"q{i}"}]}
            r = httpx.post(f"{live.url}/v1/chat/completions", json=body, timeout=30)
            return r.status_code, r.json()["choices"][0]["message"]["content"]

        answers = list(pool.map(ask, range(8)))
    assert answers == [(200, f"ok q{i}") for i in range(8)]  # each client gets its own answer from the batch
    assert sum(sizes) == 8 and max(sizes) > 1  # requests that waited behind the first were generated together


class Recording:
    """A judge that keeps what it was asked."""

    spec = "recording"
    batch_size = 8

    def __init__(self):
        self.items = []

    def judge(self, items):
        self.items.extend(items)
        return [Verdict("A", prob_a=1.0, signal="recorded") for _ in items]


class Broken:
    spec = "broken"
    batch_size = 8

    def judge(self, items):
        raise RuntimeError(f"internal detail that stays in the log: {items[0].a}")


def test_every_error_has_one_shape():
    app = create_app(
        backend=echo_backend(), judges={"shorter": load_judge("shorter"), "broken": Broken()}, token=TOKEN,
        max_body_bytes=4096,
    )  # fmt: skip
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        assert_error(c.get("/v1/models", headers={"Authorization": "Bearer no"}), 401, "invalid_api_key")
        assert_error(c.get("/nowhere", headers={"Authorization": ""}), 401, "invalid_api_key")  # routes stay hidden
        assert_error(c.get("/nowhere"), 404, "not_found")
        assert_error(c.get("/v1/judge"), 405, "method_not_allowed")
        assert_error(c.post("/v1/judge", json={**PAIR, "a": "x" * 5000}), 413, "request_too_large")
        bad_json = c.post("/v1/judge", content=b'{"instruction": ', headers={"Content-Type": "application/json"})
        assert_error(bad_json, 400, "invalid_json")
        err = assert_error(c.post("/v1/judge", json={"items": [{"instruction": "x", "a": "y"}]}), 422, "invalid_value")
        assert err["param"] == "items.0.b" and "items.0.b: Field required" in err["message"]
        err = assert_error(c.post("/v1/judge", json={**PAIR, "surprise": 1}), 422, "invalid_value")
        assert err["param"] == "surprise"
        assert_error(c.post("/v1/judge", json={"instruction": "x"}), 422, "missing_field")
        assert_error(c.post("/v1/judge", json={"items": []}), 422, "invalid_value")
        assert_error(c.post("/v1/judge", json={**PAIR, "judge": "random:1"}), 404, "judge_not_found")
        err = assert_error(c.post("/v1/judge", json={**PAIR, "judge": "broken"}), 500, "internal_error")
        assert err["message"] == "internal server error"  # no exception text, no request data
        bad_chat = c.post("/v1/chat/completions", json={"messages": [], "temperature": 9})
        assert_error(bad_chat, 422, "invalid_value")
    with TestClient(create_app(judges=judges())) as c:
        assert_error(c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]}), 404,
                     "model_not_found")  # fmt: skip


def test_unknown_category_is_rejected(client):
    err = assert_error(client.post("/v1/judge", json={**PAIR, "category": "speed"}), 422, "invalid_value")
    assert err["param"] == "category" and "'correctness'" in err["message"]
    err = assert_error(
        client.post("/v1/judge", json={"items": [{**PAIR, "category": "Security"}]}), 422, "invalid_value"
    )
    assert err["param"] == "items.0.category"
    assert client.post("/v1/judge", json={**PAIR, "category": "security"}).status_code == 200


def test_judge_criterion_defaults_as_in_the_cli():
    rec = Recording()
    with TestClient(create_app(judges={"recording": rec})) as c:
        for extra in ({}, {"criterion": "security"}, {"category": "efficiency"}, {"criterion": "Is it readable?"}):
            assert c.post("/v1/judge", json={**PAIR, **extra}).status_code == 200
        assert c.post("/v1/judge", json={"items": [PAIR]}).status_code == 200
    got = [(it.criterion, it.category) for it in rec.items]
    assert DEFAULT_CRITERION == "correctness"
    assert got == [
        (CRITERIA["correctness"], "correctness"),
        (CRITERIA["security"], "security"),
        (CRITERIA["efficiency"], "efficiency"),
        ("Is it readable?", None),  # free text: the evidence judge infers the category from it, as in the CLI
        (CRITERIA["correctness"], "correctness"),
    ]


def test_judge_without_criterion_decides_as_codefavor_judge(tmp_path, capsys):
    """The default evidence judge, the same pair, no criterion given: the CLI and the server agree
    (correctness evidence decides; human preference would have picked the longer, wrong code)."""
    instruction = "Write add(a, b) returning the sum of a and b.\n>>> add(2, 3)\n5"
    a = "def add(a, b):\n    return a + b\n"
    b = "def add(a, b):\n    total = a\n    total -= b\n    return total\n"
    (tmp_path / "a.py").write_text(a)
    (tmp_path / "b.py").write_text(b)
    main(
        ["judge", "--instruction", instruction, "--a", str(tmp_path / "a.py"), "--b", str(tmp_path / "b.py"), "--json"]
    )
    cli = json.loads(capsys.readouterr().out)
    with TestClient(create_app(judges={"evidence": load_judge("evidence")})) as c:
        served = c.post("/v1/judge", json={"instruction": instruction, "a": a, "b": b}).json()
    assert (served["decision"], served["signal"]) == (cli["decision"], cli["signal"]) == ("A", "examples")


def _raw(url: str, data: bytes, timeout: float = 10.0, then: bytes = b"") -> tuple[int, dict, float]:
    """Send raw bytes (headers, perhaps part of a body) and read one response; (status, JSON, seconds)."""
    host, port = url.removeprefix("http://").split(":")
    t0 = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        if then:
            s.sendall(then)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            assert chunk, "the server closed the connection without answering"
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        length = int(next(ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += s.recv(65536)
    return status, json.loads(rest[:length]), time.monotonic() - t0


def _head(path: str, length: int | None, token: str | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_admission_happens_before_the_body_is_read():
    """Wrong token, a full server and a declared oversize body are answered from the headers alone:
    the body is never sent, so any answer at all shows it was not waited for. A chunked body stops at the limit; a stalled one times out."""
    app = create_app(
        backend=echo_backend(delay=2.0), token=TOKEN, max_concurrent=1, max_batch=1, max_body_bytes=1 << 20,
        body_timeout_s=1.0,
    )  # fmt: skip
    with LiveServer(app) as live:
        status, body, took = _raw(live.url, _head("/v1/chat/completions", 500_000))  # under the size limit
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")
        status, body, took = _raw(live.url, _head("/v1/judge", 500_000, "wrong"))
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")
        status, body, took = _raw(live.url, _head("/v1/judge", 2 << 20, TOKEN))
        assert (status, body["error"]["code"]) == (413, "request_too_large")
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        status, body, took = _raw(live.url, _head("/v1/judge", None, TOKEN), then=chunk * 17)  # no last chunk
        assert (status, body["error"]["code"]) == (413, "request_too_large")
        status, body, took = _raw(live.url, _head("/v1/judge", 100, TOKEN), then=b'{"instr')
        assert (status, body["error"]["code"]) == (408, "request_timeout") and 0.9 < took < 9
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with ThreadPoolExecutor(1) as pool:
            body = {"messages": [{"role": "user", "content": "slow"}]}
            slow = pool.submit(httpx.post, f"{live.url}/v1/chat/completions", json=body, headers=auth, timeout=30)
            deadline = time.monotonic() + 10
            while httpx.get(f"{live.url}/health", headers=auth).json()["busy"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            status, body, took = _raw(live.url, _head("/v1/chat/completions", 500_000, TOKEN))
            assert (status, body["error"]["code"]) == (429, "rate_limit_exceeded")
            assert slow.result().status_code == 200


def test_a_failed_batch_reaches_each_client_with_only_its_own_error():
    """A backend error that quotes the batch's conversations: the batch is retried one conversation
    at a time, so the poisoned request fails alone and names only its own text."""
    sizes: list[int] = []
    release = threading.Event()

    class Picky:
        spec = "fake:picky"

        def generate(self, conversations, sampling):
            texts = [c[-1]["content"] for c in conversations]
            sizes.append(len(texts))
            if "hold" in texts:
                release.wait(30)  # until the others are queued behind it
            if any(t.startswith("poison") for t in texts):
                raise ValueError(f"cannot generate for {texts}")
            return [Generation(texts=[f"ok {t}"], completion_tokens=1) for t in texts]

    app = create_app(backend=Picky(), max_batch=8)
    with LiveServer(app) as live, ThreadPoolExecutor(8) as pool:

        def ask(text: str) -> httpx.Response:
            return httpx.post(
                f"{live.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": text}]}, timeout=90
            )

        hold = pool.submit(ask, "hold")  # keeps the worker busy while the others queue into one batch
        started = time.monotonic() + 30
        while not sizes and time.monotonic() < started:  # the hold's batch runs alone, before the others come
            time.sleep(0.02)
        texts = ["poison-0", *[f"secret-{i}" for i in range(1, 6)]]
        futures = [pool.submit(ask, t) for t in texts]
        deadline = time.monotonic() + 30
        while httpx.get(f"{live.url}/health").json()["busy"] < 1 + len(texts) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # admitted, parsed and queued
        release.set()
        answers = {t: f.result() for t, f in zip(texts, futures, strict=True)}
        assert hold.result().status_code == 200
    assert max(sizes) > 1  # the poisoned request did share a batch with others
    err = assert_error(answers["poison-0"], 500, "generation_failed")
    assert "poison-0" in err["message"] and "secret-" not in err["message"]
    for t in texts[1:]:
        assert answers[t].status_code == 200 and answers[t].json()["choices"][0]["message"]["content"] == f"ok {t}"
