"""The sandbox's containment: namespaces, the read-only root, seccomp, and the zygote with its children.

`_setup_isolation` (run once by the server) enters fresh mount and network namespaces (and a user
namespace when not root) and pivots into a read-only root on a tmpfs; `_open_seccomp` builds the
filter. `_zygote` is the process every child is forked from; `_child_main` is the child's setup
(IPC namespace, working directory, uid or capabilities, rlimits, seccomp, scrubbed environment)
before it hands the job to `child._child_harness`. The kernel calls go through ctypes (Python
3.10/3.11 lack os.unshare and mount). Stdlib only: the server loads it from its own directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import json
import math
import os
import resource  # the children need it after dropping privileges, when they may not read the stdlib
import selectors
import signal
import sys
from typing import Any

from .child import _child_harness
from .codec import _read_job

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
# The isolated root, each child's setup and the zygote

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
