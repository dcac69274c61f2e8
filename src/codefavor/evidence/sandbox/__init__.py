"""Run untrusted candidate code in a contained, pre-started worker pool, and judge its results here.

This module is the parent side: `Sandbox` (which starts `server.py`, the contained fork server, as a
script of its own), `Session` and `default_sandbox`; the data types and the comparison of what a
child reported with what was expected live in `results.py`, the value codec in `codec.py`, and all
are importable from here. The public API is small on purpose::

    with Sandbox() as sb:                                    # or default_sandbox(), shared and lazy
        r = sb.run(code, [Check("add(2, 3)", expected=5), Check("add('a', 1)", raises="TypeError")])
        r.passed, r.n_passed, [c.reason for c in r.checks if not c.passed]
        sb.run_many([(code_a, checks), (code_b, checks)])   # concurrent, one result per job
        h = sb.run_harness(harness_source, {"codes": [...], "n": 3})   # trusted code given data
        h.value, h.error, h.cpu_s

How a run is contained is described in `server.py` and done in `contain.py` (namespaces, pivot_root,
seccomp, rlimits, one process group per run, killed at the wall-clock deadline).

Why a pass cannot be faked. The checks' expected values never enter the child: the child only
evaluates the call expressions and reports each result through a results pipe, encoded from exact
builtin types (an object with an always-True `__eq__` is reported as opaque and never equals
anything). Comparison happens here, in the parent, with a type-strict, depth-bounded comparison of
decoded plain values. Every frame carries a per-run secret token and a pass also needs the final
"done" frame the harness prints after the last check, so `os._exit(0)`, `SystemExit`, a patched
`assert`, builtins or `sys.modules`, or text printed to stdout cannot produce one.

Each child is forked from a zygote that never held a job and reads its own job and token from its
own pipe (see `server.py`), so nothing of another job is in its memory.

A harness run (`run_harness`) loads trusted code (`source`, compiled here once) in a contained child
and calls its `main(job)`; the job travels as data through the same value codec, and the return
value comes back decoded. Whatever untrusted code the harness runs shares its process, so the value
is only as trustworthy as that code lets it be; the CPU time (`cpu_s`) is the kernel's.

What it does NOT protect against (documented in the README too):
- Kernel exploits and side channels: this is namespaces + rlimits + seccomp, not a VM.
- A candidate that deliberately targets the harness (reads the token from its own memory, writes
  forged frames) can report any values it likes; it still passes a value check only by reporting
  the expected value, which it can know only by computing it (or hard-coding the instruction's
  examples, which no sandbox can detect). "stmt" checks (arbitrary statements, pass = no exception)
  are evaluated inside the child and are therefore forgeable by such a candidate.
- Reading world-readable system files under /usr, /etc and the Python installation (read-only).
- CPU and memory of the machine are shared: a run can slow concurrent runs down until its limits
  stop it, and can fill the shared work tmpfs (64 MB per worker, in RAM) so that concurrent runs
  fail to write files. In user-namespace mode all runs share one uid, so a run could reach another
  concurrent run's working directory.
- Without libseccomp, socket blocking falls back to the empty network namespace plus a Python-level
  stub; without namespaces (no root and no user namespaces) the server refuses to start unless
  `allow_degraded=True`, and then only rlimits, the process group and the scrubbed environment apply.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import marshal
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from codefavor.evidence.sandbox.codec import (
    Opaque,
    decode_value,
    encode_value,
    printable,
    read_msg,
    write_msg,
)
from codefavor.evidence.sandbox.results import (
    Check,
    CheckResult,
    HarnessRun,
    Limits,
    SandboxError,
    SandboxRun,
    _judge_harness,
    _judge_run,
    _judge_session,
    _report,
    values_equal,
)

__all__ = [
    "Check",
    "CheckResult",
    "HarnessRun",
    "Limits",
    "Opaque",
    "Sandbox",
    "SandboxError",
    "SandboxRun",
    "Session",
    "decode_value",
    "default_sandbox",
    "encode_value",
    "values_equal",
]

SERVER = Path(__file__).with_name("server.py")


# --------------------------------------------------------------------------------------------
# The pool


@functools.lru_cache(maxsize=16)
def _compiled(source: str) -> str:
    """A harness compiled once in this process, for the children to load without compiling it per run
    (the server runs this same interpreter, so the marshal format matches)."""
    return base64.b64encode(marshal.dumps(compile(source, "<harness>", "exec"))).decode()


class Sandbox:
    """A pool of contained workers behind one fork server. Thread-safe; `close()` (or `with`) stops it."""

    def __init__(self, workers: int | None = None, limits: Limits | None = None, allow_degraded: bool = False):
        self.workers = workers or max(2, min(8, 2 * (os.cpu_count() or 1)))
        self.limits = limits or Limits()
        self.allow_degraded = allow_degraded
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # the server process and the table of waiting jobs
        # Writing a job may block until the server has a free slot (it reads only then), so writers
        # queue on a lock of their own: the reader thread must never wait behind one.
        self._write_lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[Any]]] = {}
        self._sessions: dict[int, queue.Queue[Any]] = {}
        self._next = 0
        self.info: dict[str, Any] = {}

    # -- lifecycle
    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(SERVER), "--serve", str(self.workers)]
            + (["--allow-degraded"] if self.allow_degraded else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
        )
        hello = read_msg(proc.stdout)
        if not hello or not hello.get("ready"):
            proc.kill()
            reason = (hello or {}).get("info", {}).get("reason", "the server exited")
            raise SandboxError(
                f"the sandbox could not isolate candidate code ({reason}); it needs root or user namespaces "
                "(pass allow_degraded=True to run with rlimits only)"
            )
        self.info = hello["info"]
        self._proc = proc
        threading.Thread(target=self._reader, args=(proc,), daemon=True).start()
        return proc

    def _reader(self, proc: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                msg = read_msg(proc.stdout)
            except (OSError, ValueError):
                msg = None
            with self._lock:
                if msg is None:  # server gone: fail everything still waiting
                    for ev, box in self._pending.values():
                        box.append(None)
                        ev.set()
                    self._pending.clear()
                    for q in self._sessions.values():
                        q.put(None)
                    self._sessions.clear()
                    return
                if not msg.get("final"):  # a session's value forwarded, or one of its reports
                    q = self._sessions.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                    continue
                ev, box = self._pending.pop(msg["id"])
                q = self._sessions.pop(msg["id"], None)
            box.append(msg)
            ev.set()
            if q is not None:
                q.put(msg)

    def close(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # type: ignore[union-attr]
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- jobs
    def _submit(
        self, job: dict[str, Any], proc: subprocess.Popen[bytes] | None = None
    ) -> tuple[threading.Event, list[Any]]:
        with self._lock:
            if proc is None:
                proc = self._ensure()
                self._next += 1
                job["id"] = self._next
            ev, box = threading.Event(), []
            self._pending[job["id"]] = (ev, box)
        try:
            with self._write_lock:
                write_msg(proc.stdin, job)
        except (BrokenPipeError, OSError, ValueError):  # ValueError: the pipe was closed meanwhile
            with self._lock:
                self._pending.pop(job["id"], None)
            box.append(None)
            ev.set()
        return ev, box

    def _limits(self, limits: Limits | None, n_checks: int) -> dict[str, Any]:
        lim = asdict(limits or self.limits)
        # A run holds many checks: give the whole run room for each check's own alarm.
        lim["wall_s"] = max(lim["wall_s"], min(30.0, lim["check_s"] * (n_checks + 2) + 1.0))
        return lim

    def run_many(self, jobs: Sequence[tuple[str, Sequence[Check]]], limits: Limits | None = None) -> list[SandboxRun]:
        """Run each (code, checks) job in its own child, concurrently; results in input order."""
        waits = []
        for code, checks in jobs:
            # The child learns each check's call (and a program's stdin), never its kind.
            wire = [{"call": c.call, "stdin": (c.stdin or "") if c.resolved_kind() == "program" else None}
                    for c in checks]  # fmt: skip
            lim = self._limits(limits, len(checks))
            waits.append(self._submit({"kind": "checks", "code": code, "checks": wire, "limits": lim}))
        walls = [self._limits(limits, len(checks))["wall_s"] for _, checks in jobs]
        deadline = time.monotonic() + 30.0 + (len(jobs) / self.workers + 1) * (max(walls, default=0.0) + 2.0)
        out = []
        for (_code, checks), (ev, box) in zip(jobs, waits, strict=True):
            self._wait(ev, deadline)
            out.append(_judge_run(list(checks), box[0]))
        return out

    def run(self, code: str, checks: Sequence[Check], limits: Limits | None = None) -> SandboxRun:
        """Load `code` in a contained child, run the checks there, and compare the results here."""
        return self.run_many([(code, checks)], limits)[0]

    def run_harness(self, source: str, job: Any, limits: Limits | None = None) -> HarnessRun:
        """Run trusted `source` in a contained child and return what its `main(job)` returns.

        `job` is plain data (builtin types: dicts, lists, tuples, sets, str, bytes, numbers, ...) and
        reaches the harness as an equal copy; a value the codec cannot carry raises ValueError here.
        `limits.check_s` is the alarm around `main`, `limits.wall_s` the whole run's deadline.
        """
        lim = asdict(limits or self.limits)
        wire = {"kind": "harness", "harness": _compiled(source), "job": encode_value(job, strict=True), "limits": lim}
        ev, box = self._submit(wire)
        self._wait(ev, time.monotonic() + 30.0 + lim["wall_s"])
        return _judge_harness(box[0])

    def session(self, source: str, job: Any, limits: Limits | None = None) -> Session:
        """Start trusted `source` in a contained child and talk to its `main(job, channel)`: values
        given to `Session.feed` reach it through `channel.recv()`, what it passes to `channel.send`
        comes back from `Session.next`, each with the child's CPU clock as the server read it from the
        kernel (when the value was forwarded; when the report arrived). `limits.wall_s` bounds the
        whole session."""
        lim = asdict(limits or self.limits)
        wire = {"kind": "session", "harness": _compiled(source), "job": encode_value(job, strict=True), "limits": lim}
        q: queue.Queue[Any] = queue.Queue()
        with self._lock:
            proc = self._ensure()
            self._next += 1
            wire["id"] = self._next
            self._sessions[wire["id"]] = q
        ev, box = self._submit(wire, proc)
        return Session(self, wire["id"], q, ev, box, time.monotonic() + 30.0 + lim["wall_s"])

    def batch(
        self, calls: Sequence[tuple[Session, Any, float | None]], timeout: float = 60.0
    ) -> list[tuple[float | None, list[tuple[Any, float | None]]] | None]:
        """`Session.call` on several sessions, run by the server one after another in this order and
        answered at once; None for a call whose session ended (see its `close()`)."""
        q: queue.Queue[Any] = queue.Queue()
        with self._lock:
            self._next += 1
            rid = self._next
            self._sessions[rid] = q
        wire = [
            {"feed": s.id, "call": True, "data": encode_value(v, strict=True), "cpu_limit": lim} for s, v, lim in calls
        ]
        out: list[Any] = [None] * len(calls)
        try:
            if self._send({"batch": True, "id": rid, "calls": wire}):
                try:
                    msg = q.get(timeout=timeout)
                except queue.Empty:
                    msg = None
                if msg is not None and msg.get("batch"):
                    for i, r in enumerate(msg["results"][: len(calls)]):
                        if "reports" in r:
                            out[i] = (r["cpu"], [(_report(text), cpu) for text, cpu in r["reports"]])
        finally:
            with self._lock:
                self._sessions.pop(rid, None)
        return out

    def _send(self, msg: dict[str, Any]) -> bool:
        proc = self._proc
        try:
            with self._write_lock:
                write_msg(proc.stdin, msg)  # type: ignore[union-attr]
            return True
        except (AttributeError, BrokenPipeError, OSError, ValueError):
            return False

    def _wait(self, ev: threading.Event, deadline: float) -> None:
        """Wait for an answer; a server that stays silent past every job's limits is killed (its
        pending jobs then fail) rather than hanging the caller."""
        if not ev.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                if self._proc is not None:
                    self._proc.kill()
            ev.wait()


class Session:
    """One conversation with a session harness (see `Sandbox.session`). Not thread-safe."""

    def __init__(
        self, sb: Sandbox, job_id: int, q: queue.Queue[Any], ev: threading.Event, box: list[Any], deadline: float
    ):
        self._sb, self.id, self._q, self._ev, self._box, self._deadline = sb, job_id, q, ev, box, deadline
        self._n = 0
        self.result: HarnessRun | None = None

    def feed(self, value: Any, cpu_limit: float | None = None) -> None:
        """Send plain data to the harness's `channel.recv()`; with `cpu_limit`, the server kills the
        child once its CPU clock passes the reading taken now by that many seconds."""
        self._n += 1
        self._sb._send(
            {"feed": self.id, "n": self._n, "data": encode_value(value, strict=True), "cpu_limit": cpu_limit}
        )

    def call(
        self, value: Any, cpu_limit: float | None = None, timeout: float = 60.0
    ) -> tuple[float | None, list[tuple[Any, float | None]]] | HarnessRun:
        """One call, run by the server: once the harness has sent a report marked {"idle": True},
        the server reads its CPU clock, forwards `value`, and gathers its reports up to one marked
        {"last": True}. Returns (the clock when forwarded, [(report, clock at its arrival), ...]),
        or the session's end (a `HarnessRun`) when it ended first."""
        self._n += 1
        self._sb._send({"feed": self.id, "n": self._n, "call": True, "data": encode_value(value, strict=True),
                        "cpu_limit": cpu_limit})  # fmt: skip
        while True:
            if self.result is not None:
                return self.result
            try:
                msg = self._q.get(timeout=max(0.0, min(timeout, self._deadline - time.monotonic())))
            except queue.Empty:
                return self.kill()
            if msg is None or msg.get("final"):
                self.result = _judge_session(msg)
                return self.result
            if msg.get("call") == self._n:
                return msg["cpu"], [(_report(text), cpu) for text, cpu in msg["reports"]]

    def next(self, timeout: float = 60.0) -> tuple[str, Any, float | None]:
        """The next event: ("fed", None, cpu), ("report", value, cpu) or ("end", HarnessRun, None)."""
        if self.result is not None:
            return "end", self.result, None
        try:
            msg = self._q.get(timeout=max(0.0, min(timeout, self._deadline - time.monotonic())))
        except queue.Empty:  # past the session's deadline: the server's own one has not answered
            return "end", self.close(), None
        if msg is None or msg.get("final"):
            self.result = _judge_session(msg)
            return "end", self.result, None
        if "fed" in msg:
            return "fed", None, msg["cpu"]
        try:
            frame = json.loads(msg["line"])
        except (ValueError, RecursionError):
            frame = None
        if isinstance(frame, dict) and "s" in frame:
            return "report", decode_value(frame["s"]), msg["cpu"]
        if isinstance(frame, dict) and frame.get("done") is not True and ("exc" in frame or "v" in frame):
            return "report", {"harness-ended": printable(str(frame.get("err") or frame.get("exc") or ""))}, msg["cpu"]
        return self.next(timeout)

    def kill(self) -> HarnessRun:
        """Stop the child now (a call that ran past a limit the parent keeps, such as wall time)."""
        if self.result is None:
            self._sb._send({"feed": self.id, "kill": True})
        return self.close()

    def close(self) -> HarnessRun:
        """Tell the harness there is no more (`channel.recv()` returns None) and wait for its end."""
        if self.result is None:
            self._sb._send({"feed": self.id, "end": True})
            self._sb._wait(self._ev, self._deadline)  # a server silent past every limit is killed
            self.result = _judge_session(self._box[0] if self._box else None)
        return self.result


_DEFAULT: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox, started on first use and stopped at exit."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            import atexit

            _DEFAULT = Sandbox()
            atexit.register(_DEFAULT.close)
        return _DEFAULT
