"""Run untrusted candidate code in a contained, pre-started worker pool, and judge its results here.

Public API (small on purpose; issues 5 and 8 build on it)::

    with Sandbox() as sb:                                    # or default_sandbox(), shared and lazy
        r = sb.run(code, [Check("add(2, 3)", expected=5), Check("add('a', 1)", raises="TypeError")])
        r.passed, r.n_passed, [c.reason for c in r.checks if not c.passed]
        sb.run_many([(code_a, checks), (code_b, checks)])   # concurrent, one result per job
        sb.time_call(code, "solve(data)", setup="data = list(range(10**5))", repeat=5)

How a run is contained. A fork server (this file run as a script, `python -I`, so it imports
nothing of the project) sets up once: new mount and network namespaces (plus a user namespace when
not root), a fresh read-only root built on a tmpfs from bind mounts of the system and Python
directories only (no /home, /root except the interpreter, /tmp, /run, /proc, /work, /dev beyond
null/zero/random), entered with pivot_root so the host tree is detached, not merely hidden. For each
job it forks a child that: starts its own session and process group; gets a private working
directory (mode 0700, emptied before each run) on one size-capped tmpfs; drops to a uid of its own
per concurrent slot (root mode) or drops all capabilities (user-namespace mode); sets rlimits on
CPU time, address space, processes/threads (none), file size, open files and core dumps; loads a
seccomp filter (libseccomp) that refuses socket creation, signals to other processes, ptrace,
mount, namespace and module syscalls; scrubs the environment; reads stdin from /dev/null; and
writes stdout/stderr into a pipe the server caps. The server kills the process group at the
wall-clock deadline and the kernel kills the child when the server dies.

Why a pass cannot be faked. The checks' expected values never enter the child: the child only
evaluates the call expressions and reports each result through a results pipe, encoded from exact
builtin types (an object with an always-True `__eq__` is reported as opaque and never equals
anything). Comparison happens here, in the parent, with a type-strict, depth-bounded comparison of
decoded plain values. Every frame carries a per-run secret token and a pass also needs the final
"done" frame the harness prints after the last check, so `os._exit(0)`, `SystemExit`, a patched
`assert`, builtins or `sys.modules`, or text printed to stdout cannot produce one.

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
import ctypes
import ctypes.util
import io
import json
import math
import os
import resource  # the children need it after dropping privileges, when they may not read the stdlib
import secrets
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

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
class RunResult:
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
class Timing:
    """Repeated timing of one call: per-repeat seconds measured in the child (with a clock captured
    before the candidate code ran) and the kernel's CPU time for the whole child, which the child
    cannot falsify."""

    times_s: list[float]
    cpu_s: float
    wall_s: float
    error: str | None = None

    @property
    def best_s(self) -> float | None:
        return min(self.times_s) if self.times_s else None


class SandboxError(RuntimeError):
    """The sandbox could not start or its server died unexpectedly."""


# --------------------------------------------------------------------------------------------
# Value encoding (child) and decoding/comparison (parent). Shared by both sides; plain stdlib.

_MAX_DEPTH = 60
_MAX_NODES = 200_000


class Opaque:
    """A value the child could not report as plain data (a custom object): never equal to anything."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return _printable(f"<{self.type_name} {self.text}>")


def _encode(v: Any, budget: list[int], depth: int = 0) -> Any:
    """Plain JSON from exact builtin types only; subclasses and other objects become opaque."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        return {"o": ["too-large", ""]}
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        if abs(v) < 2**53:
            return v
        return {"I": str(v)} if v.bit_length() < 12000 else {"o": ["int", "an integer too large to report"]}
    if t is float:
        return {"f": repr(v)}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    if t is bytes or t is bytearray:
        return {"b" if t is bytes else "ba": base64.b64encode(v).decode()}
    if t is list or t is tuple:
        return {"l" if t is list else "t": [_encode(x, budget, depth + 1) for x in v]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_encode(x, budget, depth + 1) for x in v]}
    mod = getattr(t, "__module__", "")
    name = getattr(t, "__qualname__", "?")
    if t is dict or (mod == "collections" and name in ("OrderedDict", "defaultdict", "Counter")):
        return {"d": [[_encode(k, budget, depth + 1), _encode(x, budget, depth + 1)] for k, x in dict.items(v)]}
    if mod == "collections" and name == "deque":
        return {"dq": [_encode(x, budget, depth + 1) for x in list(v)]}
    if t is range:
        return {"r": [v.start, v.stop, v.step]}
    if mod == "decimal" and name == "Decimal":
        return {"D": str(v)}
    if mod == "fractions" and name == "Fraction":
        return {"F": [str(v.numerator), str(v.denominator)]}
    if mod == "numpy" and getattr(v, "shape", None) == ():  # numpy scalars: report the plain number
        return {"np": _encode(v.item(), budget, depth + 1)}
    try:
        text = repr(v)[:200]
    except BaseException:  # noqa: BLE001 - a hostile __repr__ may raise anything
        text = "?"
    return {"o": [f"{mod}.{name}", text]}


def encode_value(v: Any) -> Any:
    return _encode(v, [_MAX_NODES])


def decode_value(x: Any, depth: int = 0) -> Any:
    """Rebuild plain Python values from the encoding (only builtin constructors; never evaluates)."""
    if depth > _MAX_DEPTH + 2:
        return Opaque("too-deep", "")
    if x is None or isinstance(x, (bool, str, int)):
        return x
    if isinstance(x, float):  # not produced by _encode, but JSON may carry one
        return x
    if not isinstance(x, dict) or len(x) != 1:
        return Opaque("malformed", "")
    ((tag, p),) = x.items()
    try:
        match tag:
            case "I":
                return int(p)
            case "f":
                return float(p)
            case "c":
                return complex(float(p[0]), float(p[1]))
            case "b":
                return base64.b64decode(p)
            case "ba":
                return bytearray(base64.b64decode(p))
            case "l":
                return [decode_value(e, depth + 1) for e in p]
            case "t":
                return tuple(decode_value(e, depth + 1) for e in p)
            case "s" | "fs":
                items = [decode_value(e, depth + 1) for e in p]
                return set(items) if tag == "s" else frozenset(items)
            case "d":
                return {decode_value(k, depth + 1): decode_value(v, depth + 1) for k, v in p}
            case "dq":
                import collections

                return collections.deque(decode_value(e, depth + 1) for e in p)
            case "r":
                return range(int(p[0]), int(p[1]), int(p[2]))
            case "D":
                import decimal

                return decimal.Decimal(p)
            case "F":
                import fractions

                return fractions.Fraction(int(p[0]), int(p[1]))
            case "np":
                return decode_value(p, depth + 1)
            case "o":
                return Opaque(str(p[0]), str(p[1]))
    except (TypeError, ValueError, IndexError, ArithmeticError, RecursionError):
        pass  # unhashable set members, malformed payloads: treat as opaque
    return Opaque("malformed", "")


def _is_num(x: Any) -> bool:
    return type(x) in (int, float)


def values_equal(a: Any, b: Any, depth: int = 0, rel_tol: float = 1e-6) -> bool:
    """Type-strict equality of decoded plain values: bools equal only bools, ints and floats compare
    numerically (floats with a relative tolerance, 1e-6 by default), containers must have the same type, and
    opaque objects equal nothing. Depth-bounded, so it never recurses without end."""
    if depth > _MAX_DEPTH + 4 or isinstance(a, Opaque) or isinstance(b, Opaque):
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
# The harness that runs inside each child (after isolation). Only stdlib; nothing it computes is
# trusted by the parent except as "what the code reported".


class _CheckTimeout(BaseException):
    pass


def _child_harness(job: dict[str, Any], token: str, out_fd: int) -> None:
    perf = time.perf_counter  # captured before any candidate code runs
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
    code = job["code"]
    mode = job.get("mode", "checks")
    checks = job.get("checks", [])

    def fresh_ns(name: str) -> dict[str, Any]:
        import builtins

        return {"__name__": name, "__builtins__": builtins}

    def describe(e: BaseException) -> str:
        try:
            return f"{type(e).__name__}: {str(e)[:300]}"
        except BaseException:  # noqa: BLE001
            return type(e).__name__

    sink = io.StringIO()
    real_stdout, real_stdin = sys.stdout, sys.stdin

    def run_program(stdin_text: str) -> tuple[str, str | None]:
        # Text streams over bytes, so programs that use sys.stdin.buffer / sys.stdout.buffer work too.
        raw = io.BytesIO()
        buf = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
        sys.stdin, sys.stdout = io.TextIOWrapper(io.BytesIO(stdin_text.encode()), encoding="utf-8"), buf
        err = None
        try:
            exec(compile(code, "<candidate>", "exec"), fresh_ns("__main__"))
        except SystemExit as e:
            if e.code not in (None, 0):
                err = f"SystemExit: {e.code!r}"
        except _CheckTimeout:
            err = "timeout"
        except BaseException as e:  # noqa: BLE001 - candidate code may raise anything
            err = describe(e)
        finally:
            sys.stdin, sys.stdout = real_stdin, real_stdout
            with contextlib.suppress(Exception):
                buf.flush()
        return raw.getvalue()[:100_000].decode("utf-8", "replace"), err

    ns: dict[str, Any] = fresh_ns("__candidate__")
    needs_load = mode == "time" or not checks or any(c["kind"] != "program" for c in checks)
    if needs_load:
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
            frame({"load": describe(e)})
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

    if mode == "time":
        try:
            exec(compile(job.get("setup", ""), "<setup>", "exec"), ns)
            times = []
            call = compile(job["call"], "<call>", "eval")
            for _ in range(job.get("repeat", 5)):
                t0 = perf()
                for _ in range(job.get("number", 1)):
                    eval(call, ns)
                times.append((perf() - t0) / job.get("number", 1))
                frame({"t": times[-1]})
        except BaseException as e:  # noqa: BLE001
            frame({"terr": describe(e)})
        frame({"done": True})
        return

    for i, c in enumerate(checks):
        kind = c["kind"]
        try:
            if kind == "program":
                signal.setitimer(signal.ITIMER_REAL, lim["check_s"])
                out, err = run_program(c.get("stdin") or "")
                signal.setitimer(signal.ITIMER_REAL, 0)
                frame({"i": i, "stdout": out, "err": err})
                continue
            buf = io.StringIO()
            sys.stdout = buf
            signal.setitimer(signal.ITIMER_REAL, lim["check_s"])
            if kind == "stmt":
                exec(compile(c["call"], "<check>", "exec"), ns)
                value = None
            else:
                value = eval(compile(c["call"], "<check>", "eval"), ns)
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout = real_stdout
            frame({"i": i, "v": encode_value(value), "stdout": buf.getvalue()[:20_000]})
        except _CheckTimeout:
            sys.stdout = real_stdout
            frame({"i": i, "timeout": True})
        except BaseException as e:  # noqa: BLE001 - SystemExit/KeyboardInterrupt from candidates too
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout = real_stdout
            frame({"i": i, "exc": type(e).__name__, "err": describe(e)})
    frame({"done": True})


# --------------------------------------------------------------------------------------------
# Kernel plumbing through ctypes (Python 3.10/3.11 lack os.unshare and mount).

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(src: str, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            src.encode(),
            dst.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {src} -> {dst}",
    )


def _pivot_root(new: str, old: str) -> None:
    _check(_libc.syscall(155, new.encode(), old.encode()), "pivot_root")  # SYS_pivot_root on x86_64


def _prctl(option: int, arg: int) -> None:
    _libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0)


def _drop_capabilities() -> None:
    # capset(v3 header, zeroed data): no effective, permitted or inheritable capabilities.
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    hdr, data = Header(0x20080522, 0), (Data * 2)()
    _check(_libc.capset(ctypes.byref(hdr), ctypes.byref(data)), "capset")


_SECCOMP_DENY = (
    "socket",
    "socketpair",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "reboot",
    "swapon",
    "swapoff",
    "open_by_handle_at",
    "name_to_handle_at",
    "fsopen",
    "fsmount",
    "move_mount",
    "open_tree",
    "clone3",
    # No signals to other processes (in user-namespace mode the server shares the children's uid).
    "kill",
    "tkill",
    "tgkill",
    "pidfd_send_signal",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
)


_SECCOMP: list[Any] = []  # (library, filter context), built once by the server before it forks


def _open_seccomp() -> bool:
    """Build the filter: the listed syscalls fail with EPERM (clone3 with ENOSYS, so glibc falls back
    to clone, which the process limit then refuses). False when libseccomp is unavailable."""
    path = ctypes.util.find_library("seccomp")  # needs a subprocess: only possible before isolation
    if not path:
        return False
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return False
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(0x7FFF0000)  # SCMP_ACT_ALLOW
    if not ctx:
        return False
    for name in _SECCOMP_DENY:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            continue
        errno_ = 38 if name == "clone3" else 1  # ENOSYS / EPERM
        if lib.seccomp_rule_add(ctx, 0x00050000 | errno_, nr, 0) != 0:
            return False
    _SECCOMP.extend([lib, ctx])
    return True


def _load_seccomp() -> bool:
    """Install the filter in the calling process (the child); False when there is none."""
    return bool(_SECCOMP) and _SECCOMP[0].seccomp_load(_SECCOMP[1]) == 0


# --------------------------------------------------------------------------------------------
# The fork server (runs in its own process: `python -I sandbox.py --serve`).

_PRELOAD = (
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "typing",
    "fractions",
    "decimal",
    "statistics",
    "datetime",
    "json",
    "random",
    "copy",
    "operator",
    "hashlib",
    "textwrap",
    "unicodedata",
    "array",
    "dataclasses",
    "enum",
    "cmath",
    "numbers",
    "sys",
    "os",
    "time",
    "calendar",
    "struct",
    "base64",
    "binascii",
    "zlib",
    "difflib",
    "pprint",
    "abc",
    "contextlib",
    "io",
    "locale",
    "queue",
    "secrets",
    "uuid",
    "tempfile",
    "shutil",
    "pathlib",
    "glob",
    "csv",
    "pickle",  # the timing harness (evidence.efficiency) needs these: 3-6 ms per job when not preloaded
    "ast",
    "signal",
    "types",
)
_SLOT_UID0 = 61000  # uids 61000.. are the children's, one per concurrent slot (root mode)


def _bind_ro(src: str, root: str) -> None:
    dst = root + src
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            open(dst, "w").close()
    _mount(src, dst, None, MS_BIND | MS_REC)
    _mount("none", dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _setup_isolation(work_mb: int) -> dict[str, Any]:
    """Enter fresh namespaces and pivot into a read-only root holding only what Python needs."""
    info: dict[str, Any] = {"root": os.geteuid() == 0}
    uid, gid = os.getuid(), os.getgid()
    if info["root"]:
        _unshare(CLONE_NEWNS | CLONE_NEWNET)
    else:
        _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
    info["namespaces"] = ["mount", "network"] + ([] if info["root"] else ["user"])
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    root = "/tmp/.codefavor-sandbox-root"
    os.makedirs(root, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    keep = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/etc"]
    py = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    py |= {p for p in sys.path if p and any(p.startswith(q) for q in py)}
    for d in keep + sorted(py):
        if not os.path.exists(d) or any(d.startswith(k + "/") for k in keep):
            continue
        if os.path.islink(d) and d in keep:
            os.symlink(os.readlink(d), root + d)
            continue
        real = os.path.realpath(d)
        if real != d:  # a symlinked prefix (pyenv, venv): bind the target and link the alias to it
            _bind_ro(real, root)
            os.makedirs(os.path.dirname(root + d), exist_ok=True)
            if not os.path.lexists(root + d):
                os.symlink(real, root + d)
        elif not os.path.exists(root + d) or not os.path.ismount(root + d):
            _bind_ro(d, root)
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in ("null", "zero", "random", "urandom", "full"):
        if os.path.exists("/dev/" + dev):
            _bind_ro("/dev/" + dev, root)
    # /dev binds must allow device access: remount those without nodev.
    for dev in ("null", "zero", "random", "urandom", "full"):
        if os.path.exists(root + "/dev/" + dev):
            _mount("none", root + "/dev/" + dev, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    for d in ("/w", "/tmp", "/.old"):
        os.makedirs(root + d, exist_ok=True)
    # The children's working directories: one RAM-backed filesystem, size-capped for all of them.
    _mount("tmpfs", root + "/w", "tmpfs", MS_NOSUID | MS_NODEV, f"size={work_mb}m,nr_inodes=20000,mode=0711")
    os.chdir(root)
    _pivot_root(".", ".old")
    _check(_libc.umount2(b"/.old", MNT_DETACH), "umount old root")
    os.rmdir("/.old")
    _mount("none", "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir("/")
    return info


def _child_main(job: dict[str, Any], token: str, slot: int, fds: tuple[int, int], info: dict[str, Any]) -> None:
    """In the forked child: isolate further, then run the harness. Never returns."""
    res_w, out_w = fds
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        lim = job["limits"]
        uid = _SLOT_UID0 + slot
        # A directory of its own per slot (on the server's shared work tmpfs when isolated; a mount
        # namespace per child would cost ~10 ms to tear down); what a previous run left is removed.
        import shutil

        work = f"{info['work_root']}/{slot}"
        shutil.rmtree(work, ignore_errors=True)
        os.mkdir(work, 0o700)
        if info.get("root"):
            os.chown(work, uid, uid)
        os.chdir(work)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 1 << 16)
        if info.get("root"):
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        elif info.get("isolated"):
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            _drop_capabilities()

        cpu = max(1, math.ceil(lim["cpu_s"]))
        for res, val in (
            (resource.RLIMIT_CPU, (cpu, cpu + 1)),
            (resource.RLIMIT_AS, (lim["memory_mb"] << 20,) * 2),
            (resource.RLIMIT_NPROC, (0, 0)),
            (resource.RLIMIT_FSIZE, (lim["file_mb"] << 20,) * 2),
            (resource.RLIMIT_NOFILE, (lim["open_files"],) * 2),
            (resource.RLIMIT_CORE, (0, 0)),
        ):
            resource.setrlimit(res, val)
        seccomp = _load_seccomp()
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": os.getcwd(), "TMPDIR": os.getcwd(), "LANG": "C.UTF-8"})
        # Numeric libraries start worker threads on import; the process limit forbids threads, and
        # OpenBLAS exits the process when it cannot start them.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            os.environ[var] = "1"
        import tempfile

        tempfile.tempdir = os.getcwd()
        if not seccomp:  # weak fallback: the network namespace is the real barrier
            import socket

            def _no_socket(*_a: Any, **_k: Any) -> Any:
                raise PermissionError("network access is disabled in the sandbox")

            socket.socket = socket.create_connection = _no_socket  # type: ignore[assignment,misc]
        sys.setrecursionlimit(3000)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r"))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = sys.stdout
        _child_harness(job, token, 3)
    except BaseException as e:  # noqa: BLE001 - report setup failures, never fall through to server code
        with contextlib.suppress(BaseException):
            os.write(2, f"sandbox child error: {e!r}\n".encode())
    finally:
        os._exit(0)


def _read_msg(f: Any) -> Any:
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack("<I", head)
    return json.loads(f.read(n))


def _write_msg(f: Any, obj: Any) -> None:
    data = json.dumps(obj).encode()
    f.write(struct.pack("<I", len(data)) + data)
    f.flush()


def _serve(max_workers: int, allow_degraded: bool) -> None:
    """The fork server's loop: read jobs, run up to `max_workers` children at once, answer each."""
    # As root, children drop to a uid of their own per slot even when namespaces are unavailable.
    info: dict[str, Any] = {
        "isolated": False,
        "seccomp": _open_seccomp(),
        "work_root": "/w",
        "root": os.geteuid() == 0,
    }
    try:
        info.update(_setup_isolation(work_mb=64 * max_workers), isolated=True)
    except OSError as e:
        info["reason"] = str(e)
        if not allow_degraded:
            _write_msg(sys.stdout.buffer, {"ready": False, "info": info})
            return
        import tempfile

        info["work_root"] = tempfile.mkdtemp(prefix="codefavor-sandbox-")  # degraded: in the real /tmp
        os.chmod(info["work_root"], 0o711)  # slot uids may enter their own directory, not list others
    for m in _PRELOAD:
        with contextlib.suppress(Exception):
            __import__(m)
    stdout = sys.stdout.buffer
    _write_msg(stdout, {"ready": True, "info": info})
    # One thread, one selector: the parent's requests on stdin, each child's two pipes and its pidfd.
    sel = selectors.DefaultSelector()
    running: dict[int, dict[str, Any]] = {}  # pidfd -> state
    free_slots = list(range(max_workers))
    queue: list[dict[str, Any]] = []
    inbuf = bytearray()
    eof = False
    os.set_blocking(0, False)
    sel.register(0, selectors.EVENT_READ, ("stdin", None))

    def start(job: dict[str, Any], slot: int) -> None:
        token = secrets.token_hex(16)
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            sel.close()
            _child_main(job, token, slot, (res_w, out_w), info)
        os.close(res_w)
        os.close(out_w)
        pidfd = os.pidfd_open(pid)
        st = {
            "job": job,
            "pid": pid,
            "slot": slot,
            "token": token,
            "t0": t0,
            "pidfd": pidfd,
            "deadline": t0 + job["limits"]["wall_s"],
            "res": bytearray(),
            "out": bytearray(),
            "fds": {res_r: "res", out_r: "out"},
            "timed_out": False,
        }
        for fd in (res_r, out_r):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, ("pipe", st))
        sel.register(pidfd, selectors.EVENT_READ, ("exit", st))
        running[pidfd] = st

    def drain(fd: int, st: dict[str, Any]) -> None:
        which = st["fds"][fd]
        cap = (1 << 20) if which == "res" else st["job"]["limits"]["output_bytes"]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            buf = st[which]
            buf += data[: max(0, cap - len(buf))]
            if len(buf) < cap:
                return
        sel.unregister(fd)  # EOF or cap reached: stop reading; further writes get EPIPE
        os.close(fd)
        del st["fds"][fd]

    def finish(st: dict[str, Any]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(st["pid"], signal.SIGKILL)
        for fd in list(st["fds"]):
            for _ in range(64):  # whatever is still buffered in the pipe
                if fd not in st["fds"]:
                    break
                drain(fd, st)
            if fd in st["fds"]:
                sel.unregister(fd)
                os.close(fd)
        _, status, ru = os.wait4(st["pid"], 0)
        sel.unregister(st["pidfd"])
        os.close(st["pidfd"])
        del running[st["pidfd"]]
        free_slots.append(st["slot"])
        exit_ = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        _write_msg(
            stdout,
            {
                "id": st["job"]["id"],
                "token": st["token"],
                "res": st["res"].decode("utf-8", "replace"),
                "out": st["out"].decode("utf-8", "replace"),
                "exit": exit_,
                "timed_out": st["timed_out"],
                "cpu_s": ru.ru_utime + ru.ru_stime,
                "wall_s": time.monotonic() - st["t0"],
            },
        )

    while True:
        while queue and free_slots:
            start(queue.pop(0), free_slots.pop())
        if eof and not running and not queue:
            if not info["isolated"]:
                import shutil

                shutil.rmtree(info["work_root"], ignore_errors=True)
            return
        now = time.monotonic()
        timeout = min((st["deadline"] for st in running.values()), default=now + 5.0) - now
        for key, _ in sel.select(max(0.0, timeout)):
            kind, st = key.data
            if kind == "stdin":
                try:
                    data = os.read(0, 1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    eof = True
                    sel.unregister(0)
                    continue
                inbuf += data
                while len(inbuf) >= 4:
                    (n,) = struct.unpack("<I", inbuf[:4])
                    if len(inbuf) < 4 + n:
                        break
                    queue.append(json.loads(bytes(inbuf[4 : 4 + n])))
                    del inbuf[: 4 + n]
            elif kind == "pipe" and key.fd in st["fds"]:
                drain(key.fd, st)
            elif kind == "exit" and st["pidfd"] in running:
                finish(st)
        now = time.monotonic()
        for st in list(running.values()):
            if now >= st["deadline"] and not st["timed_out"]:
                st["timed_out"] = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(st["pid"], signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(st["pid"], signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# The parent side


class Sandbox:
    """A pool of contained workers behind one fork server. Thread-safe; `close()` (or `with`) stops it."""

    def __init__(self, workers: int | None = None, limits: Limits | None = None, allow_degraded: bool = False):
        self.workers = workers or max(2, min(8, 2 * (os.cpu_count() or 1)))
        self.limits = limits or Limits()
        self.allow_degraded = allow_degraded
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[threading.Event, list[Any]]] = {}
        self._next = 0
        self.info: dict[str, Any] = {}

    # -- lifecycle
    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", os.path.abspath(__file__), "--serve", str(self.workers)]
            + (["--allow-degraded"] if self.allow_degraded else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
        )
        hello = _read_msg(proc.stdout)
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
                msg = _read_msg(proc.stdout)
            except (OSError, ValueError):
                msg = None
            with self._lock:
                if msg is None:  # server gone: fail everything still waiting
                    for ev, box in self._pending.values():
                        box.append(None)
                        ev.set()
                    self._pending.clear()
                    return
                ev, box = self._pending.pop(msg["id"])
            box.append(msg)
            ev.set()

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
    def _submit(self, job: dict[str, Any]) -> tuple[threading.Event, list[Any]]:
        with self._lock:
            proc = self._ensure()
            self._next += 1
            job["id"] = self._next
            ev, box = threading.Event(), []
            self._pending[job["id"]] = (ev, box)
            try:
                _write_msg(proc.stdin, job)
            except (BrokenPipeError, OSError):
                self._pending.pop(job["id"], None)
                box.append(None)
                ev.set()
        return ev, box

    def _limits(self, limits: Limits | None, n_checks: int) -> dict[str, Any]:
        lim = asdict(limits or self.limits)
        # A run holds many checks: give the whole run room for each check's own alarm.
        lim["wall_s"] = max(lim["wall_s"], min(30.0, lim["check_s"] * (n_checks + 2) + 1.0))
        return lim

    def run_many(self, jobs: Sequence[tuple[str, Sequence[Check]]], limits: Limits | None = None) -> list[RunResult]:
        """Run each (code, checks) job in its own child, concurrently; results in input order."""
        waits = []
        for code, checks in jobs:
            wire = [{"kind": c.resolved_kind(), "call": c.call, "stdin": c.stdin} for c in checks]
            waits.append(self._submit({"code": code, "checks": wire, "limits": self._limits(limits, len(checks))}))
        walls = [self._limits(limits, len(checks))["wall_s"] for _, checks in jobs]
        deadline = time.monotonic() + 30.0 + (len(jobs) / self.workers + 1) * (max(walls, default=0.0) + 2.0)
        out = []
        for (_code, checks), (ev, box) in zip(jobs, waits, strict=True):
            self._wait(ev, deadline)
            out.append(_judge_run(list(checks), box[0]))
        return out

    def _wait(self, ev: threading.Event, deadline: float) -> None:
        """Wait for an answer; a server that stays silent past every job's limits is killed (its
        pending jobs then fail) rather than hanging the caller."""
        if not ev.wait(max(0.0, deadline - time.monotonic())):
            with self._lock:
                if self._proc is not None:
                    self._proc.kill()
            ev.wait()

    def run(self, code: str, checks: Sequence[Check], limits: Limits | None = None) -> RunResult:
        """Load `code` in a contained child, run the checks there, and compare the results here."""
        return self.run_many([(code, checks)], limits)[0]

    def time_call(
        self, code: str, call: str, setup: str = "", repeat: int = 5, number: int = 1, limits: Limits | None = None
    ) -> Timing:
        """Time `call` (an expression) `repeat` x `number` times after `code` and `setup` ran, under limits."""
        ev, box = self._submit(
            {
                "mode": "time",
                "code": code,
                "call": call,
                "setup": setup,
                "repeat": repeat,
                "number": number,
                "limits": asdict(limits or self.limits),
            }
        )
        self._wait(ev, time.monotonic() + 60.0 + (limits or self.limits).wall_s)
        msg = box[0]
        if msg is None:
            return Timing([], 0.0, 0.0, error="the sandbox server died")
        frames, _ = _parse_frames(msg["res"], msg["token"])
        times = [float(f["t"]) for f in frames if isinstance(f.get("t"), (int, float))]
        err = next((str(f.get("terr") or f.get("load")) for f in frames if "terr" in f or "load" in f), None)
        if msg["timed_out"]:
            err = err or "wall-clock timeout"
        elif not any(f.get("done") for f in frames):
            err = err or f"the run ended early ({msg['exit']})"
        return Timing(times, msg["cpu_s"], msg["wall_s"], error=err)


def _printable(text: str, limit: int = 500) -> str:
    """Candidate-chosen text (exception messages) made safe to print: control characters escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text[:limit])


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


def _judge_run(checks: list[Check], msg: dict[str, Any] | None) -> RunResult:
    """Compare what the child reported with the expectations held here (never sent to the child)."""
    if msg is None:
        return RunResult(
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
            load_error = _printable(str(f["load"]))
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
    return RunResult(
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
            err = _printable(str(f["err"]))
            return CheckResult(name, False, "raised", f"the program failed: {err}", error=err)
        ok = c.expected_stdout is not None and _norm_text(out) == _norm_text(c.expected_stdout)
        why = "" if ok else f"printed {out[:200]!r}, expected {str(c.expected_stdout)[:200]!r}"
        return CheckResult(name, ok, "pass" if ok else "fail", why, value=out)
    if "exc" in f:
        exc, err = _printable(str(f["exc"])), _printable(str(f.get("err", "")))
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


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--serve":
    _serve(int(sys.argv[2]), "--allow-degraded" in sys.argv)
