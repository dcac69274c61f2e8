"""Run untrusted candidate code in a contained, pre-started worker pool, and judge its results here.

This module is the parent side: the data types, `Sandbox` (which starts `server.py`, the contained
fork server, as a script of its own) and the comparison of what a child reported with what was
expected. The public API is small on purpose::

    with Sandbox() as sb:                                    # or default_sandbox(), shared and lazy
        r = sb.run(code, [Check("add(2, 3)", expected=5), Check("add('a', 1)", raises="TypeError")])
        r.passed, r.n_passed, [c.reason for c in r.checks if not c.passed]
        sb.run_many([(code_a, checks), (code_b, checks)])   # concurrent, one result per job
        h = sb.run_harness(harness_source, {"codes": [...], "n": 3})   # trusted code given data
        h.value, h.error, h.cpu_s

How a run is contained is described in `server.py` (namespaces, pivot_root, seccomp, rlimits, one
process group per run, killed at the wall-clock deadline).

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
import math
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codefavor.evidence.sandbox.server import (
    MAX_DEPTH,
    Opaque,
    decode_value,
    encode_value,
    printable,
    read_msg,
    write_msg,
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
# Public data types


@dataclass(frozen=True)
class Limits:
    """Per-run resource limits. `cpu_s`/`wall_s` cover the whole run (loading the code and all checks);
    `check_s` is a per-check alarm inside the child (a convenience the code could disable; the
    whole-run limits are the ones the kernel and the server enforce)."""

    cpu_s: float = 2.0
    wall_s: float = 4.0
    check_s: float = 1.0
    memory_mb: int = 1024
    output_bytes: int = 64 * 1024
    file_mb: int = 16
    open_files: int = 64


_NO_VALUE = object()


@dataclass(frozen=True)
class Check:
    """One check. `call` is a Python expression (or, for kind "stmt", statements) evaluated after the
    candidate code is loaded. Exactly one expectation applies:
    - `expected`: the value must equal it (type-strict, compared in the parent);
    - `expected_repr`: the repr of the value (or the printed output) must match this text (doctest style);
    - `raises`: an exception of this class name must be raised;
    - `stdin`/`expected_stdout`: the code runs as `__main__` with this stdin, stdout must match;
    - none (kind "runs"): passes when evaluation finishes without an exception (the value is reported).
    """

    call: str = ""
    expected: Any = _NO_VALUE
    expected_repr: str | None = None
    raises: str | None = None
    stdin: str | None = None
    expected_stdout: str | None = None
    kind: str = ""  # "value", "repr", "raises", "program", "runs", "stmt"; inferred when empty
    name: str = ""
    rel_tol: float = 1e-6  # float tolerance of "value" checks (an instruction's math.isclose may ask for more)

    def resolved_kind(self) -> str:
        if self.kind:
            return self.kind
        if self.stdin is not None or self.expected_stdout is not None:
            return "program"
        if self.raises:
            return "raises"
        if self.expected is not _NO_VALUE:
            return "value"
        if self.expected_repr is not None:
            return "repr"
        return "runs"


@dataclass
class CheckResult:
    name: str
    passed: bool
    status: str  # "pass", "fail", "raised", "timeout", "missing", "error"
    reason: str = ""
    value: Any = None  # the decoded value the child reported (plain data or Opaque)
    error: str | None = None  # "ExcType: message" when the call raised


@dataclass
class SandboxRun:
    """One code's run on its checks, judged here."""

    checks: list[CheckResult]
    load_error: str | None = None  # the code did not compile or raised while loading
    completed: bool = False  # the harness printed its final token frame
    timed_out: bool = False
    exit: str = ""  # "exit 0", "signal 9", ...
    output: str = ""  # captured stdout/stderr (capped)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    defined: dict[str, int] = field(default_factory=dict)  # top-level function -> positional arity (class: -1)
    forged_frames: int = 0  # result lines without the run's token (ignored)

    @property
    def n_passed(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def passed(self) -> bool:
        """Every check passed and the harness completed normally."""
        return self.completed and not self.load_error and all(c.passed for c in self.checks)

    def summary(self) -> dict[str, Any]:
        return {
            "passed": self.n_passed,
            "total": len(self.checks),
            "load_error": self.load_error,
            "completed": self.completed,
            "timed_out": self.timed_out,
            "exit": self.exit,
            "failed": [{"check": c.name, "status": c.status, "reason": c.reason} for c in self.checks if not c.passed],
        }


@dataclass
class HarnessRun:
    """What a harness's `main(job)` returned (decoded plain data), or why there is nothing."""

    value: Any = None
    error: str | None = None  # it raised ("ExcType: message"), timed out, or the run ended early
    completed: bool = False
    timed_out: bool = False
    exit: str = ""
    output: str = ""
    cpu_s: float = 0.0  # the kernel's CPU time of the whole child
    wall_s: float = 0.0
    forged_frames: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class SandboxError(RuntimeError):
    """The sandbox could not start or its server died unexpectedly."""


# --------------------------------------------------------------------------------------------
# Comparison of decoded values (the child's encoding and the decoder live in server.py)


def _is_num(x: Any) -> bool:
    return type(x) in (int, float)


def values_equal(a: Any, b: Any, depth: int = 0, rel_tol: float = 1e-6) -> bool:
    """Type-strict equality of decoded plain values: bools equal only bools, ints and floats compare
    numerically (floats with a relative tolerance, 1e-6 by default), containers must have the same type, and
    opaque objects equal nothing. Depth-bounded, so it never recurses without end."""
    if depth > MAX_DEPTH + 4 or isinstance(a, Opaque) or isinstance(b, Opaque):
        return False
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a is b
    if _is_num(a) and _is_num(b):
        if ta is int and tb is int:
            return a == b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-9)
    if ta in (set, frozenset) and tb in (set, frozenset):
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if values_equal(x, y, depth + 1, rel_tol):
                    del rest[i]
                    break
            else:
                return False
        return True
    if ta is not tb:
        return False
    if ta in (list, tuple) or ta.__name__ == "deque":
        return len(a) == len(b) and all(values_equal(x, y, depth + 1, rel_tol) for x, y in zip(a, b, strict=True))
    if ta is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            if k not in b or not values_equal(v, b[k], depth + 1, rel_tol):
                return False
        return True
    if ta is complex:
        return math.isclose(a.real, b.real, rel_tol=rel_tol, abs_tol=1e-9) and math.isclose(
            a.imag, b.imag, rel_tol=rel_tol, abs_tol=1e-9
        )
    return a == b  # str, bytes, bytearray, range, Decimal, Fraction: builtin equality


def _norm_text(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


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


# --------------------------------------------------------------------------------------------
# Judging what a child reported


def _parse_frames(text: str, token: str) -> tuple[list[dict[str, Any]], int]:
    frames, forged = [], 0
    for line in text.splitlines():
        tok, _, body = line.partition("\t")
        if not secrets.compare_digest(tok.encode(), token.encode()):
            forged += 1
            continue
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            forged += 1
            continue
        if isinstance(obj, dict):
            frames.append(obj)
    return frames, forged


def _judge_harness(msg: dict[str, Any] | None) -> HarnessRun:
    if msg is None:
        return HarnessRun(error="the sandbox server died", exit="server died")
    frames, forged = _parse_frames(msg["res"], msg["token"])
    value, error, completed = None, None, False
    reported = False
    for f in frames:
        if f.get("done") is True:
            completed = True
        elif reported:
            continue  # first report wins: a later forged one changes nothing
        elif "v" in f:
            value, reported = decode_value(f["v"]), True
        elif "exc" in f:
            error, reported = printable(str(f.get("err") or f["exc"])), True
        elif f.get("timeout"):
            error, reported = "the harness ran past its time limit", True
    if msg["timed_out"]:
        error, completed = "wall-clock timeout", False
    elif not completed or not reported:
        error = error or f"the run ended early ({msg['exit']})"
    return HarnessRun(
        value=value if error is None else None,
        error=error,
        completed=completed,
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        forged_frames=forged,
    )


def _judge_run(checks: list[Check], msg: dict[str, Any] | None) -> SandboxRun:
    """Compare what the child reported with the expectations held here (never sent to the child)."""
    if msg is None:
        return SandboxRun(
            [CheckResult(c.name or c.call, False, "error", "the sandbox server died") for c in checks],
            exit="server died",
        )
    frames, forged = _parse_frames(msg["res"], msg["token"])
    by_index: dict[int, dict[str, Any]] = {}
    load_error = None
    defined: dict[str, int] = {}
    completed = False
    for f in frames:
        if "i" in f and type(f["i"]) is int and f["i"] not in by_index:
            by_index[f["i"]] = f  # first report wins: a later forged duplicate changes nothing
        elif "load" in f and load_error is None:
            load_error = printable(str(f["load"]))
        elif "defined" in f and isinstance(f["defined"], dict) and not defined:
            defined = {str(k): v for k, v in f["defined"].items() if type(v) is int}
        elif f.get("done") is True:
            completed = True
    early = "wall-clock timeout" if msg["timed_out"] else f"the run ended before this check ({msg['exit']})"
    results = []
    for i, c in enumerate(checks):
        name = c.name or c.call or "program"
        f = by_index.get(i)
        if load_error is not None and c.resolved_kind() != "program":
            results.append(CheckResult(name, False, "error", f"code did not load: {load_error}"))
        elif f is None:
            results.append(CheckResult(name, False, "timeout" if msg["timed_out"] else "missing", early))
        else:
            results.append(_compare(c, name, f))
    if msg["timed_out"] or not completed:
        for r in results:  # a run that did not finish passes nothing: its reports are unconfirmed
            if r.passed:
                r.passed, r.status, r.reason = False, "missing", early
    return SandboxRun(
        checks=results,
        load_error=load_error,
        completed=completed and not msg["timed_out"],
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        defined=defined,
        forged_frames=forged,
    )


def _compare(c: Check, name: str, f: dict[str, Any]) -> CheckResult:
    kind = c.resolved_kind()
    if f.get("timeout"):
        return CheckResult(name, False, "timeout", "the check ran past its time limit")
    if kind == "program":
        out = str(f.get("stdout", ""))
        if f.get("err"):
            err = printable(str(f["err"]))
            return CheckResult(name, False, "raised", f"the program failed: {err}", error=err)
        ok = c.expected_stdout is not None and _norm_text(out) == _norm_text(c.expected_stdout)
        why = "" if ok else f"printed {out[:200]!r}, expected {str(c.expected_stdout)[:200]!r}"
        return CheckResult(name, ok, "pass" if ok else "fail", why, value=out)
    if "exc" in f:
        exc, err = printable(str(f["exc"])), printable(str(f.get("err", "")))
        if kind == "raises":
            ok = exc == c.raises
            return CheckResult(name, ok, "pass" if ok else "fail", "" if ok else f"raised {exc}, expected {c.raises}")
        return CheckResult(name, False, "raised", f"raised {err}", error=err)
    value = decode_value(f.get("v"))
    if kind == "raises":
        return CheckResult(name, False, "fail", f"returned {value!r:.200} instead of raising {c.raises}", value=value)
    if kind in ("runs", "stmt"):
        return CheckResult(name, True, "pass", value=value)
    if kind == "value":
        ok = values_equal(value, c.expected, rel_tol=c.rel_tol)
        why = "" if ok else f"returned {value!r:.200}, expected {c.expected!r:.200}"
        return CheckResult(name, ok, "pass" if ok else "fail", why, value=value)
    # "repr": doctest style; the printed output plus the repr of a non-None value, compared as text
    shown = str(f.get("stdout", ""))
    if value is not None and not isinstance(value, Opaque):
        shown += repr(value)
    ok = _norm_text(shown) == _norm_text(c.expected_repr or "")
    why = "" if ok else f"showed {shown[:200]!r}, expected {str(c.expected_repr)[:200]!r}"
    return CheckResult(name, ok, "pass" if ok else "fail", why, value=value)


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


def _report(text: str) -> Any:
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return decode_value(frame["s"]) if isinstance(frame, dict) and "s" in frame else None


def _judge_session(msg: dict[str, Any] | None) -> HarnessRun:
    if msg is None:
        return HarnessRun(error="the sandbox server died", exit="server died")
    error = None
    if msg["timed_out"]:
        error = "wall-clock timeout"
    elif msg.get("cpu_killed"):
        error = "cpu-limit"
    return HarnessRun(
        error=error,
        completed=error is None,
        timed_out=bool(msg["timed_out"]),
        exit=str(msg["exit"]),
        output=str(msg["out"]),
        cpu_s=float(msg["cpu_s"]),
        wall_s=float(msg["wall_s"]),
        forged_frames=int(msg.get("forged", 0)),
    )


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
