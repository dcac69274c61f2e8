"""The sandbox's fork server: the process that runs untrusted code, started by `codefavor.evidence.sandbox`.

Run as a script, `python -I -B server.py --serve N` (isolated mode: it imports nothing of the project
and cannot). What it needs beyond the standard library is in its sibling files, stdlib only too, which
it loads from its own directory before isolation: `codec.py` (the framing and the value codec, which
the parent shares), `contain.py` (namespaces, the read-only root, seccomp, the zygote and each
child's setup) and `child.py` (the harness that runs the job inside the child). This file is the
server's loop: the job queue, worker slots, sessions and batches, and the kernel's CPU readings.
The parent imports it only for `cpu_clock` and `SESSIONS_PER_WORKER`.

How a run is contained. The server sets up once: new mount and network namespaces (plus a user
namespace when not root), a fresh read-only root built on a tmpfs from bind mounts of the system
and Python directories only (no /home, /root except the interpreter, /tmp, /run, /proc, /work,
/dev beyond null/zero/random), entered with pivot_root so the host tree is detached, not merely
hidden. Then, before the first job arrives, it forks the *zygote* (`contain._zygote`), the process every
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

The protocol (length-prefixed JSON both ways, `codec.write_msg`/`codec.read_msg`). The parent sends one message
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

import contextlib
import json
import os
import secrets
import selectors
import signal
import struct
import sys
import time
from typing import Any

if __name__ == "__main__":
    # Run as a script in isolated mode, so this directory is not on sys.path: its sibling modules
    # are loaded from it as a package of their own, now, while the directory is surely
    # reachable (the isolated root holds only the system and Python directories).
    import importlib
    import types

    _pkg = types.ModuleType("_codefavor_sandbox")
    _pkg.__path__ = [os.path.dirname(os.path.abspath(__file__))]
    sys.modules[_pkg.__name__] = _pkg
    codec = importlib.import_module("_codefavor_sandbox.codec")
    contain = importlib.import_module("_codefavor_sandbox.contain")
else:  # imported by the parent, for `cpu_clock` and `SESSIONS_PER_WORKER`
    from . import codec, contain


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
        "seccomp": contain._open_seccomp(),
        "work_root": "/w",
        "root": os.geteuid() == 0,
    }
    try:
        info.update(contain._setup_isolation(work_mb=64 * max_workers), isolated=True)
    except OSError as e:
        info["reason"] = str(e)
        if not allow_degraded:
            codec.write_msg(sys.stdout.buffer, {"ready": False, "info": info})
            return
        import tempfile

        info["work_root"] = tempfile.mkdtemp(prefix="codefavor-sandbox-")  # degraded: in the real /tmp
        os.chmod(info["work_root"], 0o711)  # slot uids may enter their own directory, not list others
    if info["isolated"]:  # whether a child may make a private IPC namespace (then it must)
        probe = os.fork()
        if probe == 0:
            try:
                contain._unshare(contain.CLONE_NEWIPC)
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
        contain._zygote(zchild, info)
    zchild.close()
    stdout = sys.stdout.buffer
    codec.write_msg(stdout, {"ready": True, "info": info})
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
        codec.write_msg(stdout, {"id": st["id"], "fed": msg.get("n"), "cpu": cpu})
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
        codec.write_msg(stdout, {"id": batch["id"], "batch": True, "results": batch["results"]})

    def on_report(st: dict[str, Any], body: bytes, cpu: float | None) -> None:
        text = body.decode("utf-8", "replace")
        value = None
        with contextlib.suppress(ValueError, RecursionError, TypeError):
            frame = json.loads(text)
            value = codec.decode_value(frame["s"]) if type(frame) is dict and "s" in frame else None
        call = st["in_call"]
        if call is not None:
            call["reports"].append([text, cpu])
            if type(value) is dict and value.get("last") is True:
                st["in_call"], st["cpu_limit_at"] = None, None
                batch = st.pop("batch", None)
                if batch is None:
                    codec.write_msg(stdout, call)
                else:
                    batch["results"].append(call)
                    run_batch(batch)
            return
        if type(value) is dict and value.get("idle") is True:
            st["idle"] = True
            begin_call(st)
            if st["calls"] or st["in_call"] is not None:
                return
        codec.write_msg(stdout, {"id": st["id"], "line": text, "cpu": cpu})

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
        codec.write_msg(
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
                msg = codec._read_job(0)
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
