"""HTTP server: local models and judges for this tool and others (`codefavor serve`).

`create_app(backend=..., judges=...)` builds a FastAPI app with
- `POST /v1/chat/completions` (OpenAI-compatible; `stream: true` answers one SSE chunk with the
  whole text) and `GET /v1/models`, backed by a local model. Concurrent chat requests are gathered
  by one worker into batches (same sampling settings share a `generate` call), so a local HF model
  serves many clients with padded batches;
- `POST /v1/judge`: one `{instruction, a, b, criterion, category}` or `{"items": [...]}` judged by one
  of the served judges (`"judge": SPEC` picks one; default the first), answering decision, `prob_a`
  when the judge has one, details and error per item. Without a criterion or category an item is
  judged for `DEFAULT_CRITERION`, as `codefavor judge` does; an unknown category is a 422;
- `GET /health` (open; its details only with the token when one is configured).
`load_served_judges(specs, backend=...)` builds the judges, sharing the served model with a
generative judge over the same weights.

Admission (token, concurrency limit, body size, before any byte of the body is read) and the one
error shape every error is answered in (OpenAI's) live in `codefavor.server_admission`.

One request's data never reaches another's through this module: nothing here keeps request data
beyond the request (no shared buffers, no cache of its own), a verdict holds only what the judge
returned for that request's own items, and a chat batch that fails is retried one conversation at
a time, so an error names only its own conversation. (The evidence judges' sandbox keeps runs
apart: see `codefavor.evidence.sandbox`.)

Shutdown is uvicorn's: in-flight requests finish, then the batch worker stops and the backend is
closed. `serve(...)` is the whole `codefavor serve`: it refuses a non-loopback address without a
token, binds, builds the app and runs it until SIGTERM (a clean shutdown that exits 0) or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from codefavor.backends import Backend, Generation, Message, Sampling, same_backend_spec
from codefavor.errors import CodefavorError
from codefavor.judges import Judge, PairItem, Verdict, judge_backend_spec, load_judge
from codefavor.judges.generative import GenerativeJudge
from codefavor.prompts import CRITERIA, DEFAULT_CRITERION, resolve_criterion
from codefavor.records import Category
from codefavor.server_admission import APIError, Gate, error_response, is_loopback, validation_error

# -- request bodies ------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown OpenAI fields (user, logit_bias...) are ignored
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=16)
    stream: bool = False


class JudgeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instruction: str
    a: str
    b: str
    criterion: str | None = None  # a category name or free text; neither this nor category: DEFAULT_CRITERION
    category: Category | None = None  # picks the evidence when the criterion is free text
    id: str = ""


class JudgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    judge: str | None = None
    items: list[JudgeItem] | None = None
    instruction: str | None = None
    a: str | None = None
    b: str | None = None
    criterion: str | None = None
    category: Category | None = None


def pair_item(it: JudgeItem) -> PairItem:
    """What the judge is asked, decided the way `codefavor judge` decides it: a criterion that names a
    category is that category, and no criterion and no category means `DEFAULT_CRITERION`."""
    category = it.category or (it.criterion if it.criterion in CRITERIA else None)
    if it.criterion is None and category is None:
        category = DEFAULT_CRITERION
    return PairItem(
        instruction=it.instruction,
        a=it.a,
        b=it.b,
        criterion=resolve_criterion(it.criterion, category),
        category=category,
        id=it.id,
    )


# -- batching worker -------------------------------------------------------------------------------


class Batcher:
    """Collects chat requests and runs them through the backend in batches, off the event loop."""

    def __init__(self, backend: Backend, max_batch: int):
        self.backend, self.max_batch = backend, max_batch
        self.queue: asyncio.Queue[tuple[list[Message], Sampling, asyncio.Future[Generation]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        while not self.queue.empty():
            _, _, fut = self.queue.get_nowait()
            if not fut.done():
                fut.cancel()

    async def submit(self, conv: list[Message], sampling: Sampling) -> Generation:
        fut: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        await self.queue.put((conv, sampling, fut))
        return await fut

    async def _generate(self, convs: list[list[Message]], sampling: Sampling) -> list[Generation]:
        """One batch; if the backend raises (or miscounts), each conversation again on its own, so an
        error that quotes a conversation reaches only the client who sent it."""
        try:
            gens = await run_in_threadpool(self.backend.generate, convs, sampling)
            if len(gens) == len(convs):
                return list(gens)
            failure = f"the backend returned {len(gens)} generations for {len(convs)} conversations"
        except Exception as e:  # a bug in the backend must not kill the worker
            failure = f"{type(e).__name__}: {e}"
        if len(convs) == 1:
            return [Generation(error=failure)]
        return [(await self._generate([c], sampling))[0] for c in convs]

    async def _work(self) -> None:
        while True:
            batch = [await self.queue.get()]
            await asyncio.sleep(0)  # let requests that arrived together join this batch
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            groups: dict[Sampling, list[tuple[list[Message], asyncio.Future[Generation]]]] = {}
            for conv, sampling, fut in batch:
                if not fut.cancelled():
                    groups.setdefault(sampling, []).append((conv, fut))
            for sampling, members in groups.items():
                gens = await self._generate([c for c, _ in members], sampling)
                for (_, fut), gen in zip(members, gens, strict=True):
                    if not fut.done():
                        fut.set_result(gen)


# -- the judges served ------------------------------------------------------------------------------


def load_served_judges(
    specs: Sequence[str], backend: Backend | None = None, max_tokens_cap: int | None = None, **options: Any
) -> dict[str, Judge]:
    """The judges `serve` offers, keyed by their specs as given. A generative judge over the model
    `backend` already holds (`hf-gen:PATH` or `gen:hf:PATH` beside `--model PATH`, compared through
    `same_backend_spec`) shares it, so the weights are loaded once, and writes at most
    `max_tokens_cap` (1024 when unset) tokens; every other spec loads with `options` as usual."""
    judges: dict[str, Judge] = {}
    for spec in specs:
        wanted = judge_backend_spec(spec)
        if backend is not None and wanted is not None and same_backend_spec(wanted, backend.spec):
            judges[spec] = GenerativeJudge(backend.spec, backend=backend, max_tokens=min(1024, max_tokens_cap or 1024))
        else:
            judges[spec] = load_judge(spec, **options)
    return judges


# -- the app ---------------------------------------------------------------------------------------


def _verdict_json(v: Verdict, with_raw: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "decision": v.decision,
        "prob_a": v.prob_a,
        "signal": v.signal,
        "details": v.details,
        "error": v.error,
        "latency_s": v.latency_s,
        "usage": v.usage,
    }
    if with_raw:
        out["raw_output"] = v.raw_output
    return out


def create_app(
    *,
    backend: Backend | None = None,
    model_name: str | None = None,
    judges: dict[str, Judge] | Sequence[Judge] | None = None,
    token: str | None = None,
    max_body_bytes: int = 4 << 20,
    max_concurrent: int = 64,
    max_batch: int = 8,
    max_items: int = 256,
    default_max_tokens: int = 512,
    max_tokens_cap: int | None = None,
    body_timeout_s: float = 60.0,
) -> Any:
    """The server app. `backend` serves /v1/chat/completions; `judges` (spec -> judge) serve /v1/judge."""
    if judges is not None and not isinstance(judges, dict):
        judges = {j.spec: j for j in judges}
    judges = dict(judges or {})
    name = model_name or (getattr(backend, "model_name", None) or getattr(backend, "spec", "model") if backend else "")
    state: dict[str, Any] = {"busy": 0, "batcher": None}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if backend is not None:
            state["batcher"] = Batcher(backend, max_batch)
            state["batcher"].start()
        try:
            yield
        finally:
            if state["batcher"] is not None:
                await state["batcher"].stop()
            for obj in [backend, *[getattr(j, "backend", None) for j in judges.values()]]:
                close = getattr(obj, "close", None)
                if callable(close):
                    await run_in_threadpool(close)

    app = FastAPI(title="codefavor", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        Gate,
        token=token,
        max_concurrent=max_concurrent,
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout_s,
        state=state,
    )

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(APIError(exc.status_code, str(exc.detail), code, headers=exc.headers))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        # The exception text stays in the server's log (Starlette re-raises it after this answer).
        return error_response(APIError(500, "internal server error", "internal_error"))

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        if not request.scope.get("state", {}).get("authorized", False):
            return {"status": "ok"}  # who is served and how busy it is: for clients holding the token
        return {
            "status": "ok",
            "model": name or None,
            "judges": list(judges),
            "busy": state["busy"],
            "max_concurrent": max_concurrent,
        }

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "codefavor"}] if backend else []
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest) -> Any:
        if backend is None:
            raise APIError(404, "this server has no model; start it with --model", "model_not_found", "model")
        max_tokens = req.max_completion_tokens or req.max_tokens or default_max_tokens
        if max_tokens_cap is not None:
            max_tokens = min(max_tokens, max_tokens_cap)
        stop = (req.stop,) if isinstance(req.stop, str) else tuple(req.stop or ())
        sampling = Sampling(
            temperature=req.temperature, top_p=req.top_p, max_tokens=max_tokens, stop=stop, seed=req.seed, n=req.n
        )
        conv = [{"role": m.role, "content": m.text()} for m in req.messages]
        gen = await state["batcher"].submit(conv, sampling)
        if gen.error is not None:
            if "exceeds the model's context" in gen.error:
                raise APIError(400, gen.error, "context_length_exceeded", "messages")
            raise APIError(500, gen.error, "generation_failed")
        finish = "length" if gen.completion_tokens >= max_tokens * len(gen.texts) else "stop"
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        usage = {**gen.usage, "total_tokens": gen.prompt_tokens + gen.completion_tokens}
        if req.stream:
            return StreamingResponse(_sse(cid, created, name, gen.texts, finish), media_type="text/event-stream")
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": name,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": finish}
                for i, t in enumerate(gen.texts)
            ],
            "usage": usage,
        }

    @app.post("/v1/judge")
    async def judge(req: JudgeRequest) -> dict[str, Any]:
        if not judges:
            raise APIError(404, "this server has no judge; start it with --judge SPEC", "judge_not_found", "judge")
        spec = req.judge or next(iter(judges))
        if spec not in judges:
            raise APIError(
                404, f"judge {spec!r} is not served here; served: {list(judges)}", "judge_not_found", "judge"
            )
        if req.items is not None:
            items = req.items
        elif req.instruction is not None and req.a is not None and req.b is not None:
            items = [
                JudgeItem(
                    instruction=req.instruction, a=req.a, b=req.b, criterion=req.criterion, category=req.category
                )
            ]
        else:
            raise APIError(422, "give either 'items' or 'instruction', 'a' and 'b'", "missing_field")
        if not 1 <= len(items) <= max_items:
            raise APIError(422, f"between 1 and {max_items} items per request", "invalid_value", "items")
        verdicts = await run_in_threadpool(judges[spec].judge, [pair_item(it) for it in items])
        results = [_verdict_json(v, with_raw=True) for v in verdicts]
        if req.items is None:
            return {"judge": spec, **results[0]}
        return {"judge": spec, "results": results}

    return app


async def _sse(cid: str, created: int, model: str, texts: list[str], finish: str) -> AsyncIterator[str]:
    """OpenAI's streaming format, one content chunk per choice (the backend is not token-streaming)."""

    def chunk(delta: dict[str, Any], i: int, reason: str | None) -> str:
        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": i, "delta": delta, "finish_reason": reason}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    for i, text in enumerate(texts):
        yield chunk({"role": "assistant", "content": ""}, i, None)
        yield chunk({"content": text}, i, None)
        yield chunk({}, i, finish)
    yield "data: [DONE]\n\n"


# -- running it ------------------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A bound listening socket for `host:port` (port 0: a free one); a bad port or an address in use
    is a one-line `CodefavorError`."""
    if not 0 <= port <= 65535:
        raise CodefavorError(f"`port` {port}: expected 0 to 65535 (0 picks a free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        # Listening now, not when uvicorn starts: a client told the address connects at once and waits in
        # the backlog instead of being refused.
        sock.listen(2048)
    except (OSError, OverflowError) as e:
        sock.close()
        raise CodefavorError(f"cannot listen on {host}:{port}: {e}") from None
    return sock


def run(app: Any, sock: socket.socket, graceful_s: float = 30.0) -> None:
    """Serve `app` on `sock` until SIGINT or SIGTERM. A SIGTERM ends in a clean shutdown (in-flight
    requests finish) and a normal return, so a supervisor sees exit code 0; uvicorn itself re-raises
    the signal once drained, which would read as "killed by signal". Ctrl-C still interrupts."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                # Still inside uvicorn's handler: the shutdown it asked for is done; re-raise only SIGINT.
                self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=graceful_s, access_log=False)
    Server(config).run(sockets=[sock])


def serve(
    *,
    model: str | None = None,
    judges: Sequence[str] = (),
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    model_name: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    batch_size: int = 8,
    max_tokens: int | None = None,
    max_concurrent: int = 64,
    max_body_mb: float = 4.0,
    cache_chat: bool = False,
    judge_options: dict[str, Any] | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """`codefavor serve`: a local model (`model`, an HF folder, hub id or GGUF file) on
    /v1/chat/completions and the `judges` on /v1/judge, on `host:port`, until stopped. A non-loopback
    address needs a `token`. `on_listening(url)` is told where it listens once the socket is bound."""
    if not model and not judges:
        raise CodefavorError("nothing to serve: give a `model` and/or a `judge`")
    if not is_loopback(host) and not token:
        raise CodefavorError(
            f"refusing to listen on {host!r} without a token; set a `token` (or $CODEFAVOR_SERVE_TOKEN) or use 127.0.0.1"
        )
    for name, value, low in (("batch_size", batch_size, 1), ("max_concurrent", max_concurrent, 1)):
        if value < low:
            raise CodefavorError(f"`{name}` {value}: expected at least {low}")
    if max_body_mb <= 0:
        raise CodefavorError(f"`max_body_mb` {max_body_mb}: expected a positive size")
    sock = listen(host, port)
    try:
        backend = None
        if model:
            from codefavor.backends.hf import HFBackend

            backend = HFBackend(model, dtype=dtype, device=device, batch_size=batch_size, cache=cache_chat)
        served = load_served_judges(judges, backend, max_tokens, **(judge_options or {}))
        app = create_app(
            backend=backend,
            model_name=model_name or (Path(model).name if model else None),
            judges=served,
            token=token,
            max_body_bytes=int(max_body_mb * (1 << 20)),
            max_concurrent=max_concurrent,
            max_batch=batch_size,
            max_tokens_cap=max_tokens,
        )
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if sock.family == socket.AF_INET6 else bound_host
    if on_listening is not None:
        on_listening(f"http://{shown}:{bound_port}/v1")
    run(app, sock)
