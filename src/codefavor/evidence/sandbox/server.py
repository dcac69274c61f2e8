"""The sandbox's fork server: the process that runs untrusted code, started by `codefavor.evidence.sandbox`.

Run as a script, `python -I -B server.py --serve N` (isolated mode: it imports nothing of the project
and cannot, so everything it needs is in this file and the standard library). The parent imports it
only for the framing and the value codec, which both sides share.

How a run is contained. The server sets up once: new mount and network namespaces (plus a user
namespace when not root), a fresh read-only root built on a tmpfs from bind mounts of the system
and Python directories only (no /home, /root except the interpreter, /tmp, /run, /proc, /work,
/dev beyond null/zero/random), entered with pivot_root so the host tree is detached, not merely
hidden. Then, before the first job arrives, it forks the *zygote* (`_zygote`), the process every
child is forked from: it never holds a job, so a child's memory holds nothing of any other. For
each job the server makes three pipes, hands the child's ends to the zygote (SCM_RIGHTS), which
forks; the server then writes the job and the run's token into the child's own job pipe. The child:
starts its own session and process group; unshares a private IPC namespace (SysV IPC, POSIX queues);
gets a private working directory (mode 0700, emptied before each run) on one size-capped tmpfs;
drops to a uid of its own per slot (root mode) or drops all capabilities (user-namespace mode); sets
rlimits on CPU time, address space, processes/threads (none), file size, open files and core dumps;
loads a seccomp filter (libseccomp) that refuses socket creation, signals to other processes,
ptrace, mount, namespace and module syscalls, io_uring and memfd_create; scrubs the environment;
reads stdin from /dev/null; and writes stdout/stderr into a pipe the server caps. The server kills
the process group at the wall-clock deadline; the zygote reaps it and reports the kernel's CPU time
(wait4); the kernel kills the zygote when the server dies, and the children when the zygote does.

The protocol (length-prefixed JSON both ways, `write_msg`/`read_msg`). The parent sends one message
per job; the server queues jobs (no child descends from it, so what it holds reaches none) and
starts each when a worker slot is free. A job is one of three kinds:
- `{"kind": "checks", "code", "checks": [{"call", "stdin"}], "limits"}`: load the code, then
  evaluate each check's call and report the value (expected values and check kinds are never sent);
- `{"kind": "harness", "harness": base64 marshal of trusted code, "job": encoded value, "limits"}`:
  load the harness, call its `main(job)` with the decoded job and report what it returns;
- `{"kind": "session", ...the same}`: call `main(job, channel)`, and relay: `{"feed": id, "data"}`
  reaches `channel.recv()`; with `"call": true` the server waits until the harness reported
  `{"idle": true}`, reads its CPU clock, forwards the value and answers once with the reports up to
  one marked `{"last": true}`, each with the clock read at its arrival (the child waits for the
  server's acknowledgement after every report, so each reading is taken while it stands still);
  `"cpu_limit"` kills the child once its clock passes the reading by that much; `{"end"}` closes
  its input, `{"kill"}` stops it. Sessions draw on a slot pool of their own.
The child writes token-tagged frames to fd 3 (`{"defined"}`, `{"load"}`, `{"i", "v" | "exc" | ...}`,
`{"v"}`, `{"s"}`, `{"done": true}`); the server answers each job, when its child ends, with the
frames, output, exit status, whether it timed out, and the kernel's CPU time and its wall time.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import io
import json
import marshal
import math
import os
import resource  # the children need it after dropping privileges, when they may not read the stdlib
import secrets
import selectors
import signal
import struct
import sys
import time
from typing import Any

# --------------------------------------------------------------------------------------------
# Framing and the value codec, shared with the parent (which imports them from here).

MAX_DEPTH = 60
MAX_NODES = 200_000


def read_msg(f: Any) -> Any:
    """One length-prefixed JSON message from a binary file, or None at end of file."""
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack("<I", head)
    return json.loads(f.read(n))


def write_msg(f: Any, obj: Any) -> None:
    data = json.dumps(obj).encode()
    f.write(struct.pack("<I", len(data)) + data)
    f.flush()


def _read_exactly(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_job(fd: int) -> Any:
    """Exactly one message from a blocking fd (nothing of the next one is read), or None at EOF."""
    head = _read_exactly(fd, 4)
    if head is None:
        return None
    body = _read_exactly(fd, struct.unpack("<I", head)[0])
    return None if body is None else json.loads(body)


def printable(text: str, limit: int = 500) -> str:
    """Candidate-chosen text (exception messages) made safe to print: control characters escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text[:limit])


class Opaque:
    """A value the child could not report as plain data (a custom object): never equal to anything."""

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return printable(f"<{self.type_name} {self.text}>")


def _encode(v: Any, budget: list[int], depth: int = 0, strict: bool = False) -> Any:
    """Plain JSON from exact builtin types only; subclasses and other objects become opaque (or,
    `strict`, a ValueError: the parent's own job data must arrive whole)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        if strict:
            raise ValueError("the value is too large or too deep for the sandbox codec")
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
        return {"l" if t is list else "t": [_encode(x, budget, depth + 1, strict) for x in v]}
    if t is set or t is frozenset:
        return {"s" if t is set else "fs": [_encode(x, budget, depth + 1, strict) for x in v]}
    mod = getattr(t, "__module__", "")
    name = getattr(t, "__qualname__", "?")
    if t is dict or (mod == "collections" and name in ("OrderedDict", "defaultdict", "Counter")):
        return {"d": [[_encode(k, budget, depth + 1, strict), _encode(x, budget, depth + 1, strict)]
                      for k, x in dict.items(v)]}  # fmt: skip
    if mod == "collections" and name == "deque":
        return {"dq": [_encode(x, budget, depth + 1, strict) for x in list(v)]}
    if t is range:
        return {"r": [v.start, v.stop, v.step]}
    if mod == "decimal" and name == "Decimal":
        return {"D": str(v)}
    if mod == "fractions" and name == "Fraction":
        return {"F": [str(v.numerator), str(v.denominator)]}
    if mod == "numpy" and getattr(v, "shape", None) == ():  # numpy scalars: report the plain number
        return {"np": _encode(v.item(), budget, depth + 1, strict)}
    if strict:
        raise ValueError(f"a {mod}.{name} cannot travel through the sandbox codec")
    try:
        text = repr(v)[:200]
    except BaseException:  # noqa: BLE001 - a hostile __repr__ may raise anything
        text = "?"
    return {"o": [f"{mod}.{name}", text]}


def encode_value(v: Any, strict: bool = False) -> Any:
    """A value as tagged plain JSON (see `_encode`); `strict` raises instead of making opaque parts."""
    return _encode(v, [MAX_NODES], strict=strict)


def decode_value(x: Any, depth: int = 0) -> Any:
    """Rebuild plain Python values from the encoding (only builtin constructors; never evaluates)."""
    if depth > MAX_DEPTH + 2:
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


# --------------------------------------------------------------------------------------------
# The harness that runs inside each child (after isolation). Nothing it computes is trusted by the
# parent except as "what the code reported".


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


# --------------------------------------------------------------------------------------------
# Kernel plumbing through ctypes (Python 3.10/3.11 lack os.unshare and mount).

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x10000000, 0x40000000, 0x08000000
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


# No signals to other processes: in user-namespace mode the server shares the children's uid.
_SECCOMP_DENY = (
    "socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "init_module", "finit_module", "delete_module", "kexec_load", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd", "reboot", "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount", "move_mount", "open_tree", "clone3",
    "kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    # io_uring does its work in kernel threads, outside this filter and the process's accounting;
    # memfd memory is written without a mapping, outside the address-space limit.
    "io_uring_setup", "io_uring_enter", "io_uring_register", "memfd_create", "memfd_secret",
)  # fmt: skip


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
# The fork server

# Imported once by the server, so a child finds them loaded (the timing harness needs pickle, ast,
# signal and types: 3-6 ms per job when not preloaded).
_PRELOAD = (
    "math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string", "typing", "fractions",
    "decimal", "statistics", "datetime", "json", "random", "copy", "operator", "hashlib", "textwrap",
    "unicodedata", "array", "dataclasses", "enum", "cmath", "numbers", "sys", "os", "time", "calendar", "struct",
    "base64", "binascii", "zlib", "difflib", "pprint", "abc", "contextlib", "io", "locale", "queue", "secrets",
    "uuid", "tempfile", "shutil", "pathlib", "glob", "csv", "pickle", "ast", "signal", "types",
)  # fmt: skip
SESSIONS_PER_WORKER = 8  # session slots per worker: one efficiency climb of up to 8 processes
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


def _child_main(slot: int, fds: list[int], info: dict[str, Any]) -> None:
    """In a child forked from the zygote: read this child's own job (and its token) from its own job
    pipe, isolate further, then run the job with the harness. Never returns."""
    try:
        job_r, res_w, out_w = fds
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        msg = _read_job(job_r)  # before any candidate code exists in this process
        if msg is None:
            os._exit(0)
        job, token = msg["job"], msg["token"]
        del msg
        lim = job["limits"]
        uid = _SLOT_UID0 + slot
        if info.get("isolated"):
            # SysV IPC and POSIX message queues of its own: nothing one run leaves there reaches
            # a later one (the namespace goes with the child). Needs the privileges dropped below.
            try:
                _unshare(CLONE_NEWIPC)
            except OSError:
                if info.get("ipc_private"):
                    raise
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
        session = job["kind"] == "session"
        if session:
            os.dup2(job_r, 4)  # the parent's further values for this session's harness
        os.closerange(5 if session else 4, 1 << 16)
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
    except BaseException as e:  # noqa: BLE001 - report setup failures, never fall through to zygote code
        with contextlib.suppress(BaseException):
            os.write(2, f"sandbox child error: {e!r}\n".encode())
    finally:
        os._exit(0)


def _zygote(sock: Any, info: dict[str, Any]) -> None:
    """The process every child is forked from. Forked by the server after isolation and before the
    first job arrives, it never holds a job: it receives only "fork one for slot S" with the child's
    three pipe ends (SCM_RIGHTS), answers with the pid, reaps its children and reports each exit with
    the kernel's CPU time (wait4). So a child's memory holds the zygote's (no job, no token) and then
    its own job, read from its own pipe. Never returns."""
    import socket

    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, None)
    kids: dict[int, int] = {}  # pidfd -> pid
    while True:
        for key, _ in sel.select():
            if key.data is None:
                try:
                    data, fds, _flags, _addr = socket.recv_fds(sock, 4096, 3)
                except OSError:
                    data, fds = b"", []
                if not data:  # the server is gone: so are we (and, by their death signal, our children)
                    os._exit(0)
                req = json.loads(data)
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    sock.close()
                    for pfd in kids:
                        os.close(pfd)
                    _child_main(req["slot"], fds, info)
                for fd in fds:
                    os.close(fd)
                pfd = os.pidfd_open(pid)
                kids[pfd] = pid
                sel.register(pfd, selectors.EVENT_READ, pid)
                sock.send(json.dumps({"seq": req["seq"], "pid": pid}).encode())
            else:
                _, status, ru = os.wait4(key.data, 0)
                sel.unregister(key.fd)
                os.close(key.fd)
                del kids[key.fd]
                sock.send(json.dumps({"exit": key.data, "status": status, "cpu": ru.ru_utime + ru.ru_stime}).encode())


def cpu_clock(pid: int) -> float | None:
    """Another process's CPU time (seconds, all its threads), read from the kernel; None once it is gone."""
    try:
        return time.clock_gettime(((~pid) << 3) | 2)  # CPUCLOCK_SCHED of process `pid`
    except OSError:
        return None


def _serve(max_workers: int, allow_degraded: bool) -> None:
    """The fork server's loop: queue the parent's jobs, start each in a child of the zygote when a
    worker slot is free, relay session values and reports, answer when a child ends."""
    import socket

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
            write_msg(sys.stdout.buffer, {"ready": False, "info": info})
            return
        import tempfile

        info["work_root"] = tempfile.mkdtemp(prefix="codefavor-sandbox-")  # degraded: in the real /tmp
        os.chmod(info["work_root"], 0o711)  # slot uids may enter their own directory, not list others
    if info["isolated"]:  # whether a child may make a private IPC namespace (then it must)
        probe = os.fork()
        if probe == 0:
            try:
                _unshare(CLONE_NEWIPC)
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        info["ipc_private"] = os.waitpid(probe, 0)[1] == 0
        if info["ipc_private"]:
            info["namespaces"] = [*info["namespaces"], "ipc (per child)"]
    for m in _PRELOAD:
        with contextlib.suppress(Exception):
            __import__(m)
    zsock, zchild = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zpid = os.fork()
    if zpid == 0:  # the zygote: no job has reached this process yet, and none ever will
        zsock.close()
        devnull = os.open("/dev/null", os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        _zygote(zchild, info)
    zchild.close()
    stdout = sys.stdout.buffer
    write_msg(stdout, {"ready": True, "info": info})
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, ("stdin", None))
    sel.register(zsock, selectors.EVENT_READ, ("zygote", None))
    queue: list[dict[str, Any]] = []  # jobs waiting for a slot (here only: no child descends from us)
    running: dict[int, dict[str, Any]] = {}  # job id -> state
    by_seq: dict[int, dict[str, Any]] = {}  # spawn request -> state, until the zygote names the pid
    by_pid: dict[int, dict[str, Any]] = {}
    early: dict[int, list[dict[str, Any]]] = {}  # session values sent before their job started
    free_slots = list(range(max_workers))
    # Sessions wait on their parent most of the time, so they draw on a pool of their own (a parent
    # holding a few each, one per worker, never waits on another's): uids and directories apart.
    free_sessions = list(range(max_workers, (1 + SESSIONS_PER_WORKER) * max_workers))
    stdin_open = True
    seq = 0

    def start(job: dict[str, Any], slot: int) -> None:
        nonlocal seq
        seq += 1
        token = secrets.token_hex(16)
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        socket.send_fds(zsock, [json.dumps({"seq": seq, "slot": slot}).encode()], [job_r, res_w, out_w])
        for fd in (job_r, res_w, out_w):
            os.close(fd)
        data = json.dumps({"job": job, "token": token}).encode()
        st = {
            "id": job["id"],
            "session": job["kind"] == "session",
            "output_bytes": job["limits"]["output_bytes"],
            "pid": None,
            "slot": slot,
            "token": token,
            "t0": time.monotonic(),
            "deadline": time.monotonic() + job["limits"]["wall_s"],
            "res": bytearray(),
            "line": bytearray(),
            "out": bytearray(),
            "fds": {res_r: "res", out_r: "out"},
            "job_w": job_w,
            "pending": bytearray(struct.pack("<I", len(data)) + data),
            "feeds": early.pop(job["id"], []),  # session values waiting for the pid (its CPU clock)
            "forged": 0,
            "cpu_limit_at": None,
            "idle": False,  # a session child that said so, waiting for its next call
            "calls": [],
            "in_call": None,
            "cpu_killed": False,
            "timed_out": False,
            "exited": None,
        }
        del job, data  # the state keeps the bytes to send, nothing else of the job
        os.set_blocking(job_w, False)
        for fd in (res_r, out_r):
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, ("pipe", st))
        running[st["id"]] = st
        by_seq[seq] = st
        flush(st)

    def flush(st: dict[str, Any]) -> None:
        """Write what this child's job pipe still owes it, as far as the pipe takes it now."""
        fd = st["job_w"]
        if fd is None:
            return
        while st["pending"]:
            try:
                n = os.write(fd, st["pending"][:65536])
            except BlockingIOError:
                break
            except OSError:  # the child is gone
                st["pending"].clear()
                break
            del st["pending"][:n]
        want = bool(st["pending"])
        registered = st.get("writing", False)
        if want and not registered:
            sel.register(fd, selectors.EVENT_WRITE, ("feed", st))
        elif registered and not want:
            sel.unregister(fd)
        st["writing"] = want
        if not want and st.get("closing"):
            os.close(fd)
            st["job_w"] = None

    def feed(st: dict[str, Any], msg: dict[str, Any]) -> None:
        """Forward one session value; the child's CPU clock is read just before, and reported."""
        if st["pid"] is None:
            st["feeds"].append(msg)
            return
        if "kill" in msg:
            kill(st)
            return
        if "end" in msg:
            st["closing"] = True
            flush(st)
            return
        if msg.get("call"):
            st["calls"].append(msg)
            begin_call(st)
            return
        cpu = cpu_clock(st["pid"])
        write_msg(stdout, {"id": st["id"], "fed": msg.get("n"), "cpu": cpu})
        if cpu is not None and msg.get("cpu_limit"):
            st["cpu_limit_at"] = cpu + float(msg["cpu_limit"])
        data = json.dumps(msg["data"]).encode()
        st["pending"] += struct.pack("<I", len(data)) + data
        flush(st)

    def begin_call(st: dict[str, Any]) -> None:
        """A call: once the child has said it is idle, read its clock, forward the value, and gather
        its reports (each with the clock at its arrival) up to the one marked "last", answered as one."""
        if not (st["idle"] and st["calls"] and st["in_call"] is None and st["pid"] is not None):
            return
        msg = st["calls"].pop(0)
        cpu = cpu_clock(st["pid"])
        st["idle"], st["in_call"] = False, {"id": st["id"], "call": msg.get("n"), "cpu": cpu, "reports": []}
        if cpu is not None and msg.get("cpu_limit"):
            st["cpu_limit_at"] = cpu + float(msg["cpu_limit"])
        data = json.dumps(msg["data"]).encode()
        st["pending"] += struct.pack("<I", len(data)) + data
        flush(st)

    def run_batch(batch: dict[str, Any]) -> None:
        """Calls to several sessions, one after another in the given order, answered as one (the
        parent's turn-taking without a round trip to it between turns)."""
        while batch["items"]:
            item = batch["items"].pop(0)
            target = running.get(item["feed"])
            if target is None and any(j["id"] == item["feed"] for j in queue):
                # Its session still waits for a slot: the batch goes on once it has started.
                item["batch"] = batch
                early.setdefault(item["feed"], []).append(item)
                return
            if target is None or not target["session"]:
                batch["results"].append({"ended": True})
                continue
            target["batch"] = batch
            feed(target, item)
            return
        write_msg(stdout, {"id": batch["id"], "batch": True, "results": batch["results"]})

    def on_report(st: dict[str, Any], body: bytes, cpu: float | None) -> None:
        text = body.decode("utf-8", "replace")
        value = None
        with contextlib.suppress(ValueError, RecursionError, TypeError):
            frame = json.loads(text)
            value = decode_value(frame["s"]) if type(frame) is dict and "s" in frame else None
        call = st["in_call"]
        if call is not None:
            call["reports"].append([text, cpu])
            if type(value) is dict and value.get("last") is True:
                st["in_call"], st["cpu_limit_at"] = None, None
                batch = st.pop("batch", None)
                if batch is None:
                    write_msg(stdout, call)
                else:
                    batch["results"].append(call)
                    run_batch(batch)
            return
        if type(value) is dict and value.get("idle") is True:
            st["idle"] = True
            begin_call(st)
            if st["calls"] or st["in_call"] is not None:
                return
        write_msg(stdout, {"id": st["id"], "line": text, "cpu": cpu})

    def drain(fd: int, st: dict[str, Any]) -> None:
        which = st["fds"][fd]
        cap = (1 << 20) if which == "res" else st["output_bytes"]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data and which == "res" and st["session"]:
            # Relayed line by line, each with the CPU clock read on its arrival; not kept here.
            cpu = cpu_clock(st["pid"]) if st["pid"] else None
            buf = st["line"]
            buf += data
            while b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf[:] = rest
                tok, _, body = line.partition(b"\t")
                if not secrets.compare_digest(tok, st["token"].encode()):
                    st["forged"] += 1
                    continue
                # The report's sender waits for this (an empty message) before going on, so the
                # clock above was read while it stood still, however late this server got to it.
                # Queued before anything the report leads to (the next call's value).
                st["pending"] += struct.pack("<I", 0)
                on_report(st, body, cpu)
            flush(st)
            if len(buf) > (16 << 20):  # one report that large: stop listening to this child
                data = b""
            else:
                return
        if data:
            buf = st[which]
            buf += data[: max(0, cap - len(buf))]
            if len(buf) < cap:
                return
        sel.unregister(fd)  # EOF or cap reached: stop reading; further writes get EPIPE
        os.close(fd)
        del st["fds"][fd]

    def kill(st: dict[str, Any]) -> None:
        if st["pid"] is None or st["exited"] is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(st["pid"], signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(st["pid"], signal.SIGKILL)

    def finish(st: dict[str, Any]) -> None:
        for fd in list(st["fds"]):
            for _ in range(64):  # whatever is still buffered in the pipe
                if fd not in st["fds"]:
                    break
                drain(fd, st)
            if fd in st["fds"]:
                sel.unregister(fd)
                os.close(fd)
        if st["job_w"] is not None:
            if st.get("writing"):
                sel.unregister(st["job_w"])
            os.close(st["job_w"])
        del running[st["id"]]
        by_pid.pop(st["pid"], None)
        (free_sessions if st["session"] else free_slots).append(st["slot"])
        status, cpu_s = st["exited"]
        exit_ = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        write_msg(
            stdout,
            {
                "id": st["id"],
                "token": st["token"],
                "res": st["res"].decode("utf-8", "replace"),
                "out": st["out"].decode("utf-8", "replace"),
                "exit": exit_,
                "timed_out": st["timed_out"],
                "cpu_killed": st["cpu_killed"],
                "forged": st["forged"],
                "cpu_s": cpu_s,
                "wall_s": time.monotonic() - st["t0"],
                "final": True,
            },
        )
        batch = st.pop("batch", None)
        if batch is not None:  # it ended during its call in a batch: the batch goes on
            batch["results"].append({"ended": True})
            run_batch(batch)

    def on_zygote() -> None:
        data = zsock.recv(4096)
        if not data:
            raise SystemExit("the sandbox zygote died")
        msg = json.loads(data)
        if "seq" in msg:
            st = by_seq.pop(msg["seq"])
            st["pid"] = msg["pid"]
            by_pid[msg["pid"]] = st
            if st["timed_out"]:
                kill(st)
            for f in st["feeds"]:
                if "batch" in f:  # a batch that waited for this session to start
                    st["batch"] = f.pop("batch")
                feed(st, f)
            st["feeds"] = []
        else:
            st = by_pid.get(msg["exit"])
            if st is not None:
                kill(st)  # the whole process group: nothing it left behind outlives it
                st["exited"] = (msg["status"], msg["cpu"])
                finish(st)

    while True:
        for job in list(queue):
            pool = free_sessions if job["kind"] == "session" else free_slots
            if pool:
                queue.remove(job)
                start(job, pool.pop())
        if not stdin_open and not running:
            if not info["isolated"]:
                import shutil

                shutil.rmtree(info["work_root"], ignore_errors=True)
            return
        now = time.monotonic()
        timeout = min((st["deadline"] for st in running.values()), default=now + 5.0) - now
        if any(st["cpu_limit_at"] is not None for st in running.values()):
            timeout = min(timeout, 0.005)  # a session call under a CPU limit: watch its clock
        for key, _ in sel.select(max(0.0, timeout)):
            kind, st = key.data
            if kind == "stdin":
                msg = _read_job(0)
                if msg is None:
                    stdin_open = False
                    sel.unregister(0)
                elif "batch" in msg:
                    run_batch({"id": msg["id"], "items": msg["calls"], "results": []})
                elif "feed" in msg:
                    target = running.get(msg["feed"])
                    if target is not None and target["session"]:
                        feed(target, msg)
                    elif any(j["id"] == msg["feed"] for j in queue):
                        early.setdefault(msg["feed"], []).append(msg)
                else:
                    queue.append(msg)
            elif kind == "zygote":
                on_zygote()
            elif kind == "pipe" and key.fd in st["fds"]:
                drain(key.fd, st)
            elif kind == "feed":
                flush(st)
        now = time.monotonic()
        for st in list(running.values()):
            if now >= st["deadline"] and not st["timed_out"]:
                st["timed_out"] = True
                kill(st)
            lim_at = st["cpu_limit_at"]
            if lim_at is not None and st["pid"] is not None and not st["cpu_killed"]:
                cpu = cpu_clock(st["pid"])
                if cpu is not None and cpu > lim_at:
                    st["cpu_killed"] = True
                    kill(st)


if __name__ == "__main__" and len(sys.argv) >= 3 and sys.argv[1] == "--serve":
    _serve(int(sys.argv[2]), "--allow-degraded" in sys.argv)
