"""The harness that runs a job inside each contained sandbox child (after `contain._child_main` set it up).

A job is checks on candidate code, a trusted harness given data, or a session harness talking to the
parent through a `_Channel`; the child reports through token-tagged frames on fd 3 (see `server.py`
for the protocol). Nothing it computes is trusted by the parent except as "what the code reported".
Stdlib only: the server loads it from its own directory (see `server.py`).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import marshal
import os
import signal
import sys
from typing import Any

from .codec import _read_exactly, _read_job, decode_value, encode_value


class _CheckTimeout(BaseException):
    pass


def _describe(e: BaseException) -> str:
    try:
        return f"{type(e).__name__}: {str(e)[:300]}"
    except BaseException:  # noqa: BLE001 - a hostile __str__ may raise anything
        return type(e).__name__


def _fresh_ns(name: str) -> dict[str, Any]:
    import builtins

    return {"__name__": name, "__builtins__": builtins}


class _Channel:
    """A session harness's line to the parent: `recv()` the next value the parent fed (None once it
    has no more), `send(value)` a report. The server reads this child's CPU clock from the kernel
    when it forwards each value and when each report arrives (`send` waits until it has), so the
    parent can time what happened in between without trusting anything this process says about time."""

    def __init__(self, fd: int, frame: Any):
        self._fd, self._frame = fd, frame

    def recv(self) -> Any:
        msg = _read_job(self._fd)
        return None if msg is None else decode_value(msg)

    def send(self, value: Any) -> None:
        self._frame({"s": encode_value(value)})
        _read_exactly(self._fd, 4)  # the server's acknowledgement: it has read our clock


def _child_harness(job: dict[str, Any], token: str, out_fd: int) -> None:
    """Run one job in this (contained) process and report through token-tagged frames on `out_fd`."""
    write = os.write
    dumps = json.dumps
    lim = job["limits"]

    def frame(obj: Any) -> None:
        data = (token + "\t" + dumps(obj) + "\n").encode()
        with contextlib.suppress(OSError):
            while data:
                n = write(out_fd, data[:65536])
                data = data[n:]

    def alarm(_sig: int, _frm: Any) -> None:
        raise _CheckTimeout()

    signal.signal(signal.SIGALRM, alarm)

    if job["kind"] == "session":  # trusted code in conversation with the parent: see `_Channel`
        ns = _fresh_ns("__harness__")
        try:
            exec(marshal.loads(base64.b64decode(job["harness"])), ns)
            value = ns["main"](decode_value(job["job"]), _Channel(4, frame))
            frame({"v": encode_value(value)})
        except BaseException as e:  # noqa: BLE001 - the candidate it runs may raise anything
            frame({"exc": type(e).__name__, "err": _describe(e)})
        frame({"done": True})
        return

    if job["kind"] == "harness":  # trusted code given data: its return value is the one report
        ns = _fresh_ns("__harness__")
        try:
            exec(marshal.loads(base64.b64decode(job["harness"])), ns)
            arg = decode_value(job["job"])
            signal.setitimer(signal.ITIMER_REAL, lim["check_s"])
            value = ns["main"](arg)
            signal.setitimer(signal.ITIMER_REAL, 0)
            frame({"v": encode_value(value)})
        except _CheckTimeout:
            frame({"timeout": True})
        except BaseException as e:  # noqa: BLE001 - the candidates it runs may raise anything
            signal.setitimer(signal.ITIMER_REAL, 0)
            frame({"exc": type(e).__name__, "err": _describe(e)})
        frame({"done": True})
        return

    code = job["code"]
    checks = job["checks"]
    sink = io.StringIO()
    real_stdout, real_stdin = sys.stdout, sys.stdin

    def run_program(stdin_text: str) -> tuple[str, str | None]:
        # Text streams over bytes, so programs that use sys.stdin.buffer / sys.stdout.buffer work too.
        raw = io.BytesIO()
        buf = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
        sys.stdin, sys.stdout = io.TextIOWrapper(io.BytesIO(stdin_text.encode()), encoding="utf-8"), buf
        err = None
        try:
            exec(compile(code, "<candidate>", "exec"), _fresh_ns("__main__"))
        except SystemExit as e:
            if e.code not in (None, 0):
                err = f"SystemExit: {e.code!r}"
        except _CheckTimeout:
            err = "timeout"
        except BaseException as e:  # noqa: BLE001 - candidate code may raise anything
            err = _describe(e)
        finally:
            sys.stdin, sys.stdout = real_stdin, real_stdout
            with contextlib.suppress(Exception):
                buf.flush()
        return raw.getvalue()[:100_000].decode("utf-8", "replace"), err

    ns = _fresh_ns("__candidate__")
    # A check arrives as its call and, for a program, its stdin: never what is expected of it (a
    # value, a repr, an exception) nor how it will be judged. Statements are told from expressions
    # by their syntax alone.
    if not checks or any(c.get("stdin") is None for c in checks):
        sys.stdout = sink
        try:
            compiled = compile(code, "<candidate>", "exec")
            signal.setitimer(signal.ITIMER_REAL, lim["check_s"] * 2)
            exec(compiled, ns)
            signal.setitimer(signal.ITIMER_REAL, 0)
        except _CheckTimeout:
            frame({"load": "timeout while loading the code"})
        except SyntaxError as e:
            frame({"load": f"SyntaxError: {e.msg} (line {e.lineno})"})
        except BaseException as e:  # noqa: BLE001 - SystemExit included: loading must not exit
            signal.setitimer(signal.ITIMER_REAL, 0)
            frame({"load": _describe(e)})
        finally:
            sys.stdout = real_stdout
            with contextlib.suppress(BaseException):
                real_stdout.write(sink.getvalue()[:100_000])
        defined = {}
        for k, v in list(ns.items()):
            if type(k) is not str:
                continue
            if type(v).__name__ == "function":
                try:
                    defined[k] = v.__code__.co_argcount
                except BaseException:  # noqa: BLE001
                    defined[k] = -1
            elif type(v) is type and getattr(v, "__module__", "") == "__candidate__":
                defined[k] = -1  # a class
        frame({"defined": defined})

    for i, c in enumerate(checks):
        try:
            if c.get("stdin") is not None:
                signal.setitimer(signal.ITIMER_REAL, lim["check_s"])
                out, err = run_program(c.get("stdin") or "")
                signal.setitimer(signal.ITIMER_REAL, 0)
                frame({"i": i, "stdout": out, "err": err})
                continue
            buf = io.StringIO()
            sys.stdout = buf
            signal.setitimer(signal.ITIMER_REAL, lim["check_s"])
            try:
                expr = compile(c["call"], "<check>", "eval")
            except SyntaxError:
                expr = None
            if expr is None:
                exec(compile(c["call"], "<check>", "exec"), ns)
                value = None
            else:
                value = eval(expr, ns)
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout = real_stdout
            frame({"i": i, "v": encode_value(value), "stdout": buf.getvalue()[:20_000]})
        except _CheckTimeout:
            sys.stdout = real_stdout
            frame({"i": i, "timeout": True})
        except BaseException as e:  # noqa: BLE001 - SystemExit/KeyboardInterrupt from candidates too
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout = real_stdout
            frame({"i": i, "exc": type(e).__name__, "err": _describe(e)})
    frame({"done": True})
