"""A scriptable OpenAI-compatible stub server for tests and benchmarks (stdlib asyncio, no model).

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) to serve `POST
/v1/chat/completions`, `POST /v1/completions`, `GET /v1/models`, `GET /stats`, `POST /reset` and `POST /reset-polls`, and
answers each chat request with `echo: <last user message>` (or `--reply TEXT`) after a fixed
`--latency`. The batch API (`/v1/files`, `/v1/batches`; `--batch-mode`, `--batch-polls`) lives in
`testing.stub_batches`. `/v1/completions` with `logprobs` answers one token whose top log-probabilities
favour the label of the code marked `GOOD` (the one shown first: "A"); a prompt holding `[nolabels]`
gets no label among them, one holding `[spaceonly]` only the " A" / " B" variants; with `--single-prompt`
a list of more than one prompt is a 500, as llama.cpp's server answers it. Raw sockets
let it misbehave in ways a web framework will not: faults are injected on a schedule.

- `--schedule ok,429,500,...` cycles a fault list over requests in arrival order.
- A user message containing `[faults=429,500,drop]` gets those faults on its 1st, 2nd, 3rd attempt
  (counted per message text), then answers normally.

Faults: `429` (with `Retry-After: --retry-after`), `500`, `503`, `400`, `slow` (waits `--slow` seconds
before answering, past the client's timeout), `badjson` (a 200 with a truncated body), `drop` (closes
the connection without answering). `/stats` reports requests per message and faults served, so tests
can check that nothing was lost or duplicated.

    python -m codefavor.testing.stub_server --port 0 --latency 0.5     # prints "PORT <n>" when listening
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from typing import Any

_FAULTS = re.compile(r"\[faults=([a-z0-9,]+)\]")
KNOWN_FAULTS = ("ok", "429", "500", "503", "400", "slow", "badjson", "drop")


class StubServer:
    def __init__(
        self,
        latency: float = 0.0,
        schedule: list[str] | None = None,
        slow: float = 5.0,
        retry_after: float = 1.0,
        reply: str | None = None,
        batch_mode: str = "complete",
        batch_polls: int = 0,
        single_prompt: bool = False,
    ):
        self.single_prompt = single_prompt
        from codefavor.testing.stub_batches import BatchStore

        self.batches = BatchStore(batch_mode, batch_polls, reply)
        for f in schedule or []:
            if f not in KNOWN_FAULTS:
                raise ValueError(f"unknown fault {f!r}; expected one of {KNOWN_FAULTS}")
        self.latency, self.slow, self.retry_after, self.reply = latency, slow, retry_after, reply
        self.schedule = schedule or []
        self.reset()

    def reset(self) -> None:
        self.seq = 0
        self.by_message: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.completed = 0
        self.completion_requests = 0
        if hasattr(self, "batches"):
            self.batches.reset()

    def _fault_for(self, message: str) -> str:
        self.seq += 1
        self.by_message[message] += 1
        m = _FAULTS.search(message)
        if m:
            plan = m.group(1).split(",")
            attempt = self.by_message[message]
            return plan[attempt - 1] if attempt <= len(plan) else "ok"
        if self.schedule:
            return self.schedule[(self.seq - 1) % len(self.schedule)]
        return "ok"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
                headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                keep = await self.route(method, path, body, writer, headers)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def route(
        self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter, headers: dict[str, str] | None = None
    ) -> bool:
        if method == "GET" and path.rstrip("/") in ("/health", "/stats"):
            stats = {
                "requests": self.seq,
                "completed": self.completed,
                "by_message": dict(self.by_message),
                "faults": dict(self.faults),
                "batches": self.batches.stats(),
                "completion_requests": self.completion_requests,
            }
            return await _send(writer, 200, stats)
        if method == "POST" and path == "/reset":
            self.reset()
            return await _send(writer, 200, {"ok": True})
        if method == "POST" and path == "/reset-polls":  # let every in-progress batch finish on its next poll
            self.batches.release()
            return await _send(writer, 200, {"ok": True})
        if method == "GET" and path.rstrip("/") == "/v1/models":
            return await _send(writer, 200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        answer = self.batches.route(method, path, headers or {}, body)
        if answer is not None:
            status, obj = answer
            return await (_send_raw(writer, status, obj) if isinstance(obj, bytes) else _send(writer, status, obj))
        if method == "POST" and path.rstrip("/") == "/v1/completions":
            await asyncio.sleep(self.latency)
            req = json.loads(body)
            self.completion_requests += 1
            if self.single_prompt and isinstance(req.get("prompt"), list) and len(req["prompt"]) > 1:
                return await _send(writer, 500, {"error": {"message": "one prompt per request"}})
            return await _send(writer, 200, _completions(req))
        if method != "POST" or path.rstrip("/") != "/v1/chat/completions":
            return await _send(writer, 404, {"error": {"message": f"no route {method} {path}"}})
        try:
            req = json.loads(body)
            message = next(m["content"] for m in reversed(req["messages"]) if m["role"] == "user")
        except (ValueError, KeyError, StopIteration, TypeError):
            return await _send(writer, 400, {"error": {"message": "bad request body"}})
        fault = self._fault_for(message)
        self.faults[fault] += 1
        if fault == "drop":
            writer.transport.abort()  # no status line, no body: the client sees a dropped connection
            return False
        if fault == "429":
            return await _send(
                writer, 429, {"error": {"message": "rate limited"}}, {"Retry-After": f"{self.retry_after:g}"}
            )
        if fault in ("500", "503", "400"):
            return await _send(writer, int(fault), {"error": {"message": f"injected {fault}"}})
        if fault == "slow":
            await asyncio.sleep(self.slow)
        await asyncio.sleep(self.latency)
        if fault == "badjson":
            return await _send_raw(writer, 200, b'{"id": "x", "choices": [{"message": {"content": "trunc')
        text = self.reply if self.reply is not None else f"echo: {message}"
        n = int(req.get("n") or 1)
        self.completed += 1
        out = {
            "id": f"stub-{self.seq}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": req.get("model", "stub"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                for i in range(n)
            ],
            "usage": {"prompt_tokens": len(message.split()), "completion_tokens": len(text.split()) * n},
        }
        return await _send(writer, 200, out)


def _label_logprobs(prompt: str) -> dict[str, float]:
    """Top log-probabilities of the answer token for one prompt (see the module docstring)."""
    if "[nolabels]" in prompt:
        return {"The": -0.5, "I": -1.5, "Code": -2.0}
    good, bad = prompt.find("GOOD"), prompt.find("BAD")
    first = "A" if good >= 0 and (bad < 0 or good < bad) else "B"
    second = "B" if first == "A" else "A"
    if "[spaceonly]" in prompt:
        return {f" {first}": -0.3, f" {second}": -1.5, "The": -3.0}
    return {first: -0.2, second: -1.9, f" {first}": -4.0, f" {second}": -5.0, "The": -6.0}


def _completions(req: dict[str, Any]) -> dict[str, Any]:
    prompts = req.get("prompt")
    prompts = prompts if isinstance(prompts, list) else [prompts]
    choices = []
    for i, prompt in enumerate(prompts):
        top = _label_logprobs(str(prompt))
        token = max(top, key=lambda t: top[t])
        logprobs = {"tokens": [token], "token_logprobs": [top[token]], "top_logprobs": [top], "text_offset": [0]}
        choices.append({"index": i, "text": token, "logprobs": logprobs, "finish_reason": "length"})
    return {"id": "cmpl-stub", "object": "text_completion", "model": req.get("model", "stub"), "choices": choices}


async def _send(writer: asyncio.StreamWriter, status: int, obj: Any, extra: dict[str, str] | None = None) -> bool:
    return await _send_raw(writer, status, json.dumps(obj).encode("utf-8"), extra)


async def _send_raw(
    writer: asyncio.StreamWriter, status: int, payload: bytes, extra: dict[str, str] | None = None
) -> bool:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    for k, v in (extra or {}).items():
        head += f"{k}: {v}\r\n"
    writer.write(head.encode("latin-1") + b"\r\n" + payload)
    await writer.drain()
    return True


async def serve(sock: socket.socket, server: StubServer) -> None:
    srv = await asyncio.start_server(server.handle, sock=sock, backlog=2048)
    async with srv:
        await srv.serve_forever()


def start(args: list[str], timeout: float = 20.0) -> tuple[subprocess.Popen[str], str]:
    """Run the stub in a child process on a free loopback port; return (process, base URL ending in /v1).
    The caller stops it with `proc.terminate()`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "codefavor.testing.stub_server", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("PORT "):
            return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("stub server did not start")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0, help="seconds before every answer")
    p.add_argument("--schedule", default="", help="comma-separated faults cycled over requests")
    p.add_argument("--slow", type=float, default=5.0, help="extra seconds for a 'slow' fault")
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    p.add_argument("--reply", default=None, help="fixed reply text instead of the echo")
    p.add_argument("--batch-mode", default="complete", help="complete, partial or expired (see stub_batches)")
    p.add_argument("--batch-polls", type=int, default=0, help="retrieves a batch stays in_progress")
    p.add_argument("--single-prompt", action="store_true", help="a completions list of 2+ prompts is a 500")
    p.add_argument("--reply-file", default=None, help="fixed reply read from a file (multi-line replies)")
    a = p.parse_args(argv)
    if a.reply_file:
        with open(a.reply_file, encoding="utf-8") as f:
            a.reply = f.read()
    server = StubServer(
        latency=a.latency,
        schedule=[s for s in a.schedule.split(",") if s],
        slow=a.slow,
        retry_after=a.retry_after,
        reply=a.reply,
        batch_mode=a.batch_mode,
        batch_polls=a.batch_polls,
        single_prompt=a.single_prompt,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((a.host, a.port))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    try:
        asyncio.run(serve(sock, server))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
