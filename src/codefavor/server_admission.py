"""Admission and errors of the HTTP server (`codefavor.server`): what happens to a request before
any route sees it, and the one shape every error is answered in.

Admission happens in `Gate`, a pure ASGI middleware that looks only at the request line and headers
before any byte of the body is read: the bearer token (constant-time comparison), then the
concurrency limit (at most `max_concurrent` requests admitted at once, the next gets 429 with
`Retry-After`), then the declared Content-Length against `max_body_bytes` (413). Only then is the
body read, in the chunks the server receives, stopping at the first byte over the limit (413; a
chunked body has no length to check up front) or at `body_timeout_s` (408). So an unauthenticated
or surplus client costs the server its headers, never its body, and memory held for bodies is at
most `max_concurrent x max_body_bytes`.

Every error, whoever raises it (the gate, a route, FastAPI's request validation, an unexpected
exception), has one shape, OpenAI's: `{"error": {"message", "type", "code", "param"}}`; a 500 says
only that it is one (the traceback goes to the server's log, never to the client).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

OPEN_PATHS = frozenset({"/health"})  # everything else needs the token when one is configured


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- errors: one shape for all ------------------------------------------------------------------

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
}


class APIError(Exception):
    """An error answered to the client as `{"error": {...}}` with `status`."""

    def __init__(
        self, status: int, message: str, code: str, param: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers


def error_body(status: int, message: str, code: str, param: str | None = None) -> dict[str, Any]:
    """The one error shape (OpenAI's): message for people, type and code for programs."""
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code, "param": param}}


def error_response(e: APIError) -> JSONResponse:
    return JSONResponse(error_body(e.status, e.message, e.code, e.param), e.status, e.headers)


async def send_error(send: Any, e: APIError) -> None:
    """An error answered from the ASGI layer, before (or instead of) the app."""
    payload = json.dumps(error_body(e.status, e.message, e.code, e.param)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (e.headers or {}).items()]
    await send({"type": "http.response.start", "status": e.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def validation_error(exc: RequestValidationError) -> APIError:
    """FastAPI's list of validation errors as one readable line; the first error's field as `param`."""
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return APIError(400, "the request body is not valid JSON", "invalid_json")
    parts, param = [], None
    for e in errors[:5]:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        where = ".".join(loc)
        param = param or where or None
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid")))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return APIError(422, "; ".join(parts) + more, "invalid_value", param)


# -- admission (pure ASGI: it runs before anything reads the body) --------------------------------


class Gate:
    """Token, concurrency limit and body size, checked in that order before the body is read; then the
    body is read here within its limits and handed to the app as one message. `state["busy"]` counts
    the requests admitted and not yet answered."""

    def __init__(
        self,
        app: Any,
        *,
        token: str | None,
        max_concurrent: int,
        max_body_bytes: int,
        body_timeout_s: float,
        state: dict[str, Any],
    ):
        self.app, self.token = app, (token.encode("utf-8") if token else None)
        self.max_concurrent, self.max_body_bytes, self.body_timeout_s = max_concurrent, max_body_bytes, body_timeout_s
        self.state = state

    def authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        if self.token is None:
            return True
        got = next((v for k, v in headers if k.lower() == b"authorization"), b"")
        scheme, _, value = got.partition(b" ")
        # compare_digest takes as long for every wrong token of a given length: no timing oracle
        ok = hmac.compare_digest(value.strip(), self.token)
        return scheme.lower() == b"bearer" and ok

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = list(scope.get("headers") or [])
        allowed = self.authorized(headers)
        if scope["path"] in OPEN_PATHS:
            scope.setdefault("state", {})["authorized"] = allowed
            return await self.app(scope, receive, send)
        if not allowed:
            return await send_error(
                send,
                APIError(
                    401, "missing or wrong bearer token", "invalid_api_key", headers={"WWW-Authenticate": "Bearer"}
                ),
            )
        if self.state["busy"] >= self.max_concurrent:
            return await send_error(
                send,
                APIError(
                    429,
                    f"server busy ({self.max_concurrent} requests in progress); retry later",
                    "rate_limit_exceeded",
                    headers={"Retry-After": "1"},
                ),
            )
        self.state["busy"] += 1
        try:
            await self._admitted(scope, receive, send, headers)
        finally:
            self.state["busy"] -= 1

    async def _admitted(self, scope: dict[str, Any], receive: Any, send: Any, headers: list[Any]) -> None:
        too_big = APIError(413, f"request body over {self.max_body_bytes} bytes", "request_too_large")
        declared = next((v for k, v in headers if k.lower() == b"content-length"), None)
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body_bytes:
            return await send_error(send, too_big)
        try:
            got = await asyncio.wait_for(self._read_body(receive), self.body_timeout_s)
        except asyncio.TimeoutError:
            return await send_error(
                send, APIError(408, f"request body not received within {self.body_timeout_s:g} s", "request_timeout")
            )
        if got is None:  # the client went away
            return
        if got is False:
            return await send_error(send, too_big)
        data, replayed = got, False

        async def replay() -> dict[str, Any]:
            nonlocal replayed, data
            if not replayed:
                replayed = True
                msg, data = {"type": "http.request", "body": data, "more_body": False}, b""
                return msg
            return await receive()  # after the body: the disconnect a streaming response listens for

        await self.app(scope, replay, send)

    async def _read_body(self, receive: Any) -> bytes | bool | None:
        """The body, False at the first chunk past the limit (the rest is never buffered here), or None
        when the client disconnects first."""
        body, more = bytearray(), True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            body += msg.get("body", b"")
            if len(body) > self.max_body_bytes:
                return False
            more = msg.get("more_body", False)
        return bytes(body)
