"""Timing one candidate from outside: the contained processes an efficiency measurement talks to.

A `Timer` is one candidate's process running `timing_harness.py`: a sandbox session
(`sandbox_runner`, the default: namespaces, seccomp, rlimits) or, for code you trust, a bare limited
interpreter (`run_trusted`). Each `call` forwards one pickled input and returns a `Timed`: the
process's CPU time read from the kernel around the call, and the digest of the output text it sent,
made here. `efficiency` drives the ladder over these; nothing here decides anything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from codefavor.evidence import EvidenceOptions, resolve_sandbox

HARNESS = Path(__file__).with_name("timing_harness.py")


@dataclass(frozen=True)
class Timed:
    """One call of one candidate as the parent saw it. `total` is the candidate process's CPU time
    (read from the kernel) from the moment its input was forwarded to the arrival of its output;
    `pre` and `post` are the parts before the call began and after it returned, as the process
    reported those moments (a process may lie about them: see `_times`)."""

    status: str  # "ok", "timeout", "error", "setup"
    total: float = 0.0
    pre: float = 0.0
    post: float = 0.0
    out: str | None = None  # the output's digest, made here; or why there is none


class Timer(Protocol):
    """One candidate's contained process: `call` times one call on pickled (args, kwargs)."""

    def call(self, blob: bytes, cpu_limit: float) -> Timed: ...

    def close(self) -> None: ...


# What a candidate's process calls: a top-level function's name, or a job's {"entry", "call"} (`_target`).
Target = str | dict[str, Any]
Runner = Callable[[str, Target, float], Timer]  # (code, target, wall limit) -> a fresh process for it


def _job(code: str, target: Target) -> dict[str, Any]:
    return {"code": code, **({"entry": target} if isinstance(target, str) else target)}


def _digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


class _Reading:
    """Folds one call's events (the parent's CPU readings and the process's reports) into a `Timed`."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.t_in: float | None = None
        self.t_ret: float | None = None

    def report(self, value: Any, cpu: float | None) -> Timed | None:
        if isinstance(value, dict) and "setup" in value:
            return Timed("setup", out=str(value["setup"])[:100])
        if not isinstance(value, dict) or self.t0 is None:
            return None  # anything before this call's value was forwarded is stale
        if "in" in value and self.t_in is None:
            self.t_in = cpu
        elif "ret" in value and self.t_in is not None and self.t_ret is None:
            self.t_ret = cpu
        elif "err" in value:
            return Timed("error", out=str(value["err"])[:100])
        elif "out" in value:
            if type(value["out"]) is not str or None in (self.t_in, self.t_ret, cpu):
                return Timed("error", out="protocol")
            total = cpu - self.t0  # type: ignore[operator]
            return Timed("ok", total, self.t_in - self.t0, cpu - self.t_ret, _digest_text(value["out"]))  # type: ignore[operator]
        return None


class _SessionTimer:
    """A candidate's process in the sandbox: a session of `timing_harness.main`."""

    def __init__(self, sandbox: Any, code: str, entry: Target, wall_limit: float):
        from codefavor.evidence.sandbox import Limits

        limits = Limits(cpu_s=wall_limit, wall_s=wall_limit + 1, check_s=wall_limit, memory_mb=2048)
        self._s = sandbox.session(_harness_source(), _job(code, entry), limits)
        self._dead: Timed | None = None

    def call(self, blob: bytes, cpu_limit: float) -> Timed:
        if self._dead is not None:
            return self._dead
        wall = cpu_limit * 8 + 2.0  # a call that sleeps uses no CPU: wall time stops it
        return self.fold(self._s.call({"blob": blob}, cpu_limit=cpu_limit, timeout=wall))

    def fold(self, got: Any) -> Timed:
        """A call's answer (or the session's end: a `HarnessRun`, or None from a batch) as a `Timed`."""
        if got is None:
            got = self._s.close()
        if not isinstance(got, tuple):  # the process ended: killed past its CPU limit, or it died
            if got.error == "cpu-limit":
                self._dead = Timed("timeout", out="timeout")
            else:
                self._dead = Timed("error", out=f"process ended ({got.error or got.exit})"[:100])
            return self._dead
        r = _Reading()
        r.t0, reports = got
        for value, cpu in reports:
            done = r.report(value, cpu)
            if done is not None:
                if done.status == "setup":
                    self._dead = done
                return done
        return Timed("error", out="protocol")

    def close(self) -> None:
        self._s.kill()


class _LocalTimer:
    """A candidate's process for trusted code: `timing_harness.py` as a script in a bare, limited
    interpreter (limits, not containment); CPU readings and limits as in the sandbox."""

    def __init__(self, code: str, entry: Target, wall_limit: float):
        from codefavor.evidence.sandbox.server import cpu_clock

        self._clock = cpu_clock
        self._tmp = tempfile.TemporaryDirectory(prefix="cf-eff-")

        def limits() -> None:  # pragma: no cover - runs in the child
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
            cpu = int(wall_limit) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
            os.setsid()

        self._p = subprocess.Popen(
            [sys.executable, "-I", str(HARNESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,  # raw pipes: select() sees what a buffered reader would hide
            cwd=self._tmp.name,
            preexec_fn=limits,
            env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
        )
        self._send(_job(code, entry))
        self._dead: Timed | None = None

    def _send(self, value: Any) -> None:
        data = pickle.dumps(value)
        self._p.stdin.write(struct.pack("<I", len(data)) + data)  # type: ignore[union-attr]
        self._p.stdin.flush()  # type: ignore[union-attr]

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = os.read(self._p.stdout.fileno(), n - len(buf))  # type: ignore[union-attr]
            if not chunk:
                return b""
            buf += chunk
        return buf

    def _recv(self, deadline: float, cpu_at: float | None) -> tuple[Any, float | None] | str:
        """The next report with the CPU reading at its arrival, or "timeout"/"ended"."""
        import select
        import time

        out = self._p.stdout
        while True:
            ready, _, _ = select.select([out], [], [], 0.005)
            if ready:
                head = self._read(4)
                data = self._read(struct.unpack("<I", head)[0]) if len(head) == 4 else b""
                if not data:
                    return "ended"
                cpu = self._clock(self._p.pid)
                self._p.stdin.write(struct.pack("<I", 0))  # type: ignore[union-attr]  # it waits for this
                self._p.stdin.flush()  # type: ignore[union-attr]
                return pickle.loads(data), cpu
            now_cpu = self._clock(self._p.pid)
            if (cpu_at is not None and now_cpu is not None and now_cpu > cpu_at) or time.monotonic() > deadline:
                return "timeout"

    def call(self, blob: bytes, cpu_limit: float) -> Timed:
        import time

        if self._dead is not None:
            return self._dead
        ready = False
        while not ready:  # fed only once idle, as in the sandbox
            got = self._recv(time.monotonic() + 30, None)
            if isinstance(got, str):
                self._dead = Timed("error", out="process ended")
                return self._dead
            value, _ = got
            if isinstance(value, dict) and "setup" in value:
                self._dead = Timed("setup", out=str(value["setup"]))
                return self._dead
            ready = isinstance(value, dict) and "ready" in value
        return self._timed_call(blob, cpu_limit)

    def _timed_call(self, blob: bytes, cpu_limit: float) -> Timed:
        import time

        r = _Reading()
        r.t0 = self._clock(self._p.pid)
        self._send({"blob": blob})
        deadline = time.monotonic() + cpu_limit * 8 + 2.0
        while True:
            got = self._recv(deadline, (r.t0 or 0.0) + cpu_limit)
            if isinstance(got, str):
                self.close()
                self._dead = Timed("timeout" if got == "timeout" else "error", out=got)
                return self._dead
            done = r.report(*got)
            if done is not None:
                return done

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._p.pid, 9)
        self._p.kill()
        self._p.wait()
        for f in (self._p.stdin, self._p.stdout):
            with contextlib.suppress(OSError):
                f.close()  # type: ignore[union-attr]
        self._tmp.cleanup()


def times_of(results: list[list[Timed]]) -> list[list[float]]:
    """Each candidate's per-round CPU times on one input: its whole span (value forwarded to output
    arrived) less the shortest unpickling and output phases any candidate showed on this input.
    The span is the kernel's and covers everything the process did meanwhile; the phases are
    where the process said its call began and ended, so a process that lies about them only makes
    the phases subtracted from everyone shorter: it never moves its own work out of its time."""
    oks = [t for ts in results for t in ts if t.status == "ok"]
    if not oks:
        return [[] for _ in results]
    pre = min(max(0.0, t.pre) for t in oks)
    post = min(max(0.0, t.post) for t in oks)
    return [[max(0.0, t.total - pre - post) for t in ts if t.status == "ok"] for ts in results]


class RepeatedInput(ValueError):
    """An input sent twice to the same process: what it kept from the first call could answer the second."""


class Candidates:
    """The processes of a measurement: one per candidate and round, started when first needed and
    kept across the ladder's levels. No process ever gets the same input twice (`RepeatedInput`),
    so nothing a candidate keeps from one call can answer another, and no process holds more than
    one candidate's code."""

    def __init__(self, codes: list[str], entry: Target, run: Runner, wall_limit: float):
        self.codes, self.entry, self.run, self.wall_limit = list(codes), entry, run, wall_limit
        self.timers: dict[tuple[int, int], Timer] = {}
        self.seen: dict[tuple[int, int], set[bytes]] = {}

    def timer(self, c: int, r: int) -> Timer:
        key = (c, r)
        if key not in self.timers:
            self.timers[key] = self.run(self.codes[c], self.entry, self.wall_limit)
            self.seen[key] = set()
        return self.timers[key]

    def calls(self, turns: list[tuple[int, int, bytes]], limit: float) -> list[Timed]:
        """The calls (candidate, round, input) in this order: sandbox sessions as one batch the
        server runs turn by turn (no round trip to this process between turns), other timers one by one."""
        timers = [self.timer(c, r) for c, r, _ in turns]
        for c, r, blob in turns:
            digest = hashlib.sha256(blob).digest()
            if digest in self.seen[(c, r)]:
                raise RepeatedInput(f"input sent twice to the process of candidate {c}, round {r}")
            self.seen[(c, r)].add(digest)
        sessions = [t for t in timers if isinstance(t, _SessionTimer)]
        if len(sessions) != len(timers) or len({id(t._s._sb) for t in sessions}) > 1:
            return [t.call(blob, limit) for t, (_, _, blob) in zip(timers, turns, strict=True)]
        out: list[Timed | None] = [t._dead for t in sessions]  # a process that ended answers for itself
        live = [i for i, t in enumerate(sessions) if t._dead is None]
        if live:
            got = sessions[live[0]]._s._sb.batch(
                [(sessions[i]._s, {"blob": turns[i][2]}, limit) for i in live], timeout=limit * 8 * len(live) + 10
            )
            for i, g in zip(live, got, strict=True):
                # A process that ended earlier in this batch answers the rest of it as it ended.
                out[i] = sessions[i]._dead if sessions[i]._dead is not None else sessions[i].fold(g)
        return [t for t in out if t is not None]

    def close(self) -> None:
        for t in self.timers.values():
            with contextlib.suppress(Exception):
                t.close()
        self.timers.clear()


def run_trusted(code: str, entry: Target, wall_limit: float) -> Timer:
    """A runner for code you trust (tests, your own candidates): each candidate in a fresh,
    limited interpreter of its own, timed from outside like in the sandbox, but not contained."""
    return _LocalTimer(code, entry, wall_limit)


def sandbox_runner(sandbox: Any = None) -> Runner:
    """A runner that measures inside the contained worker pool of `evidence.sandbox` (the shared
    default pool when `sandbox` is None): each candidate process is a session of the timing
    harness, under the pool's namespaces, seccomp filter and rlimits."""

    def run(code: str, entry: Target, wall_limit: float) -> Timer:
        return _SessionTimer(resolve_sandbox(EvidenceOptions(sandbox=sandbox)), code, entry, wall_limit)

    run.slots = lambda: _climb_slots(resolve_sandbox(EvidenceOptions(sandbox=sandbox)))  # type: ignore[attr-defined]
    return run


_SLOTS: dict[int, threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


CLIMBS_PER_WORKER = 1


def _climb_slots(sandbox: Any) -> threading.BoundedSemaphore:
    """At most `CLIMBS_PER_WORKER` climbs per sandbox worker at a time, however many threads ask: a
    climb holds up to `2 x max_rounds` sessions, and the server's session pool
    (`server.SESSIONS_PER_WORKER` per worker) must never run dry while every holder waits for one
    more (a call fed to a session still queued for a slot is answered as ended)."""
    n = CLIMBS_PER_WORKER * max(1, int(getattr(sandbox, "workers", 1)))
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(id(sandbox), threading.BoundedSemaphore(n))


@functools.cache
def _harness_source() -> str:
    return HARNESS.read_text(encoding="utf-8")
