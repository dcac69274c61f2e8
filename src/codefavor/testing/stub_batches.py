"""The files and batches endpoints of the stub server: an in-memory OpenAI batch API for tests.

`POST /v1/files` (multipart upload, purpose "batch"), `GET /v1/files/{id}` and `GET
/v1/files/{id}/content`; `POST /v1/batches` (create), `GET /v1/batches/{id}` (retrieve) and `GET
/v1/batches` (list, newest first). A batch answers each line's chat body the way the stub's chat
route does (`echo: <last user message>`), and finishes by `mode`:

- `complete`: every line succeeds.
- `partial`: the odd-numbered lines of a batch fail (HTTP 500, in the error file) the first time
  their custom_id is ever submitted, and succeed when resubmitted.
- `expired`: the first batch created expires with its first half done (output file) and the rest
  `batch_expired` (error file); later batches complete.
- a line whose user message holds `[batchfail]` fails in every batch, in any mode.

`polls` is how many retrieves a batch stays `in_progress` before it finishes (a slow batch).
`stats()` counts creates and how many times each custom_id was submitted, so tests can check that
a resumed job never submitted twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

BATCH_MODES = ("complete", "partial", "expired")


def _last_user(body: dict[str, Any]) -> str:
    return next((m.get("content") or "" for m in reversed(body.get("messages") or []) if m.get("role") == "user"), "")


class BatchStore:
    def __init__(self, mode: str = "complete", polls: int = 0, reply: str | None = None):
        if mode not in BATCH_MODES:
            raise ValueError(f"unknown batch mode {mode!r}; expected one of {BATCH_MODES}")
        self.mode, self.polls, self.reply = mode, polls, reply
        self.reset()

    def reset(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.creates = 0
        self.submitted: Counter[str] = Counter()

    def release(self) -> None:
        """Let every batch finish on its next retrieve (tests hold one in progress, then release it)."""
        for b in self.batches.values():
            b["_polls"] = 0

    def stats(self) -> dict[str, Any]:
        return {"creates": self.creates, "files": len(self.files), "submitted": dict(self.submitted)}

    # -- routing ------------------------------------------------------------------------------

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any] | None:
        """(status, JSON object or raw bytes), or None when the path is not ours."""
        parts = path.split("?")[0].rstrip("/").split("/")  # "", "v1", "files"|"batches", id, "content"
        if len(parts) < 3 or parts[1] != "v1" or parts[2] not in ("files", "batches"):
            return None
        rest = parts[3:]
        if parts[2] == "files":
            if method == "POST" and not rest:
                return self._upload(headers, body)
            if method == "GET" and rest and rest[0] in self.files:
                f = self.files[rest[0]]
                return (200, f["content"]) if rest[1:] == ["content"] else (200, f["meta"])
            return 404, {"error": {"message": f"no file {path}"}}
        if method == "POST" and not rest:
            return self._create(json.loads(body or b"{}"))
        if method == "GET" and not rest:
            data = sorted(self.batches.values(), key=lambda b: b["created_at"], reverse=True)
            return 200, {"object": "list", "data": data, "has_more": False}
        if method == "GET" and len(rest) == 1 and rest[0] in self.batches:
            return 200, self._advance(self.batches[rest[0]])
        return 404, {"error": {"message": f"no batch {path}"}}

    # -- files --------------------------------------------------------------------------------

    def _new_file(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        fid = f"file-{len(self.files) + 1}"
        meta = {
            "id": fid, "object": "file", "bytes": len(content), "created_at": int(time.time()),
            "filename": filename, "purpose": purpose, "status": "processed",
        }  # fmt: skip
        self.files[fid] = {"meta": meta, "content": content}
        return meta

    def _upload(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        ctype = headers.get("content-type", "")
        msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode("latin-1") + body)
        content, filename, purpose = b"", "upload.jsonl", "batch"
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if name == "file":
                content, filename = payload, part.get_filename() or filename
            elif name == "purpose":
                purpose = payload.decode("utf-8")
        return 200, self._new_file(content, filename, purpose)

    # -- batches ------------------------------------------------------------------------------

    def _create(self, req: dict[str, Any]) -> tuple[int, Any]:
        fid = req.get("input_file_id", "")
        if fid not in self.files:
            return 400, {"error": {"message": f"no input file {fid!r}"}}
        self.creates += 1
        lines = [json.loads(x) for x in self.files[fid]["content"].decode("utf-8").splitlines() if x.strip()]
        for line in lines:
            self.submitted[line["custom_id"]] += 1
        bid = f"batch-{self.creates}"
        self.batches[bid] = {
            "id": bid, "object": "batch", "endpoint": req.get("endpoint", "/v1/chat/completions"),
            "input_file_id": fid, "completion_window": req.get("completion_window", "24h"),
            "status": "validating", "created_at": int(time.time() * 1000) + self.creates,
            "output_file_id": None, "error_file_id": None, "metadata": req.get("metadata"),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "_lines": lines, "_polls": self.polls, "_seq": self.creates,
        }  # fmt: skip
        return 200, _public(self.batches[bid])

    def _advance(self, b: dict[str, Any]) -> dict[str, Any]:
        if b["status"] in ("validating", "in_progress"):
            if b["_polls"] > 0:
                b["_polls"] -= 1
                b["status"] = "in_progress"
            else:
                self._finish(b)
        return _public(b)

    def _finish(self, b: dict[str, Any]) -> None:
        lines = b["_lines"]
        expire = self.mode == "expired" and b["_seq"] == 1
        ok, bad = [], []
        for i, line in enumerate(lines):
            cid, body = line["custom_id"], line.get("body") or {}
            message = _last_user(body)
            if expire and i >= len(lines) // 2:
                bad.append(
                    _error_line(cid, None, "batch_expired", "This request could not be executed before the window")
                )
            elif "[batchfail]" in message or (self.mode == "partial" and i % 2 == 1 and self.submitted[cid] == 1):
                bad.append(_error_line(cid, 500, "server_error", "injected failure"))
            else:
                ok.append(_ok_line(cid, body, self.reply if self.reply is not None else f"echo: {message}"))
        if ok:
            b["output_file_id"] = self._new_file(_jsonl(ok), "output.jsonl", "batch_output")["id"]
        if bad:
            b["error_file_id"] = self._new_file(_jsonl(bad), "errors.jsonl", "batch_output")["id"]
        b["request_counts"] = {"total": len(lines), "completed": len(ok), "failed": len(bad)}
        b["status"] = "expired" if expire else "completed"


def _public(b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in b.items() if not k.startswith("_")}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def _ok_line(cid: str, body: dict[str, Any], text: str) -> dict[str, Any]:
    n = int(body.get("n") or 1)
    completion = {
        "id": f"chatcmpl-{cid[:8]}", "object": "chat.completion", "model": body.get("model", "stub"),
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"} for i in range(n)
        ],
        "usage": {"prompt_tokens": len(_last_user(body).split()), "completion_tokens": len(text.split()) * n},
    }  # fmt: skip
    return {
        "id": f"req-{cid[:8]}",
        "custom_id": cid,
        "response": {"status_code": 200, "body": completion},
        "error": None,
    }


def _error_line(cid: str, status: int | None, code: str, message: str) -> dict[str, Any]:
    response = {"status_code": status, "body": {"error": {"message": message}}} if status else None
    return {
        "id": f"req-{cid[:8]}",
        "custom_id": cid,
        "response": response,
        "error": {"code": code, "message": message},
    }
