"""The sandbox against hostile code: every case must be contained and none may count as a pass.

Each case is a candidate that "wants" `target()` to equal 42 (or its checks to pass) and tries a
trick instead of computing it. All cases run concurrently through one pool, once per module, so
the suite stays a few seconds long; containment side effects (files, the parent, the network) are
checked on the host afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import threading

import pytest

from codefavor.evidence.sandbox import (
    Check,
    Limits,
    Opaque,
    Sandbox,
    SandboxError,
    decode_value,
    encode_value,
    values_equal,
)


def started(sb: Sandbox) -> Sandbox:
    """The sandbox, started; skip where this machine allows no isolation (no root, no user namespaces)."""
    try:
        sb.run("pass", [])
    except SandboxError as e:
        sb.close()
        pytest.skip(str(e))
    return sb


LIMITS = Limits(cpu_s=1.0, wall_s=3.0, check_s=0.5, memory_mb=512, output_bytes=4096, file_mb=4)
TARGET = [Check("target()", expected=42), Check("target() + 0", expected=42)]
SECRET_TARGET = [Check("target()", expected=4242424242)]


def _cases(host: str, secret_file: str, port: int) -> dict[str, str]:
    pid = os.getpid()
    return {
        "os_exit_at_load": "import os\nos._exit(0)",
        "os_exit_in_call": "import os\ndef target():\n    os._exit(0)",
        "system_exit_at_load": "raise SystemExit(0)",
        "sys_exit_in_call": "import sys\ndef target():\n    sys.exit(0)",
        "always_eq_object": "class E:\n    def __eq__(s, o): return True\n    def __add__(s, o): return s\n"
        "def target(): return E()",
        "int_subclass_eq": "class I(int):\n    def __eq__(s, o): return True\n    __hash__ = int.__hash__\n"
        "    def __add__(s, o): return s\ndef target(): return I(7)",
        "patched_builtins": "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.type = lambda *a: int\n"
        "builtins.repr = lambda *a: '42'\ndef target(): return 7",
        "patched_sys_modules_json": "import sys, types\nm = types.ModuleType('json')\n"
        "m.dumps = lambda *a, **k: '{\"i\": 0, \"v\": 42}'\nsys.modules['json'] = m\ndef target(): return 7",
        "patched_assert_machinery": "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n"
        "def target(): return 7",
        "fake_pass_on_stdout": "print('PASS\\nall checks passed\\n{\"done\": true}')\ndef target(): return 7",
        "forged_frames_fd3": 'import os\nos.write(3, b\'deadbeef\\t{"i": 0, "v": 42}\\n\''
        " + b'deadbeef\\t{\"done\": true}\\n')\nos._exit(0)",
        "close_result_pipe": "import os\nos.close(3)\ndef target(): return 42",
        "infinite_loop_at_load": "while True:\n    pass",
        "infinite_loop_in_call": "def target():\n    while True:\n        pass",
        "loop_swallowing_alarm": "def target():\n    while True:\n        try:\n            while True: pass\n"
        "        except BaseException:\n            pass",
        "ignore_alarm_and_xcpu": "import signal\nfor s in (signal.SIGALRM, signal.SIGXCPU, signal.SIGTERM):\n"
        "    signal.signal(s, signal.SIG_IGN)\ndef target():\n    while True: pass",
        "sleep_forever": "import time\ndef target():\n    time.sleep(1000)",
        "memory_hog_single": "x = bytearray(10**10)\ndef target(): return 42",
        "memory_hog_growth": "def target():\n    xs = []\n    while True:\n        xs.append(' ' * 10**6)",
        "fork_bomb": "import os\nwhile True:\n    os.fork()",
        "thread_bomb": "import threading\nwhile True:\n    threading.Thread(target=lambda: None).start()",
        "subprocess_shell": f"import subprocess\nsubprocess.run(['sh', '-c', 'touch {host}/pwned_sh'])\n"
        "def target(): return 42",
        "deep_recursion": "def target(n=0):\n    return target(n + 1)",
        "deep_recursion_raised_limit": "import sys\nsys.setrecursionlimit(10**8)\n"
        "def target(n=0):\n    return target(n + 1)",
        "read_host_secret": f"def target():\n    return open({secret_file!r}).read()",
        "write_outside_workdir": f"open({host + '/pwned_write'!r}, 'w').write('x')\ndef target(): return 42",
        "write_system_dirs": "for p in ('/tmp/pwned', '/etc/pwned', '/usr/pwned', '/pwned'):\n"
        "    try:\n        open(p, 'w').write('x')\n    except OSError:\n        pass\n"
        "import os\nassert not any(os.path.exists(p) for p in ('/tmp/pwned', '/etc/pwned', '/usr/pwned'))\n"
        "raise RuntimeError('contained')",
        "delete_host_file": f"import os, shutil\nos.remove({host + '/keep.txt'!r})\ndef target(): return 42",
        "rmtree_everything": "import os, shutil, sys\nshutil.rmtree('/etc', ignore_errors=True)\n"
        "for p in (sys.executable, os.__file__):\n    try:\n        os.remove(p)\n    except OSError:\n        pass\n"
        "assert os.path.exists('/etc/passwd') and os.path.exists(os.__file__)\nraise RuntimeError('contained')",
        "open_socket_tcp": f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        "s.sendall(b'leak')\ndef target(): return 42",
        "open_raw_socket_module": "import _socket\ns = _socket.socket()\ndef target(): return 42",
        "kill_parent": f"import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill({pid}, signal.SIGKILL)\n"
        "def target(): return 7",
        "kill_everything": "import os, signal\nos.kill(-1, signal.SIGKILL)\ndef target(): return 7",
        "huge_output": "def target():\n    while True:\n        print('x' * 100000)",
        "huge_result": "def target():\n    return [list(range(1000)) for _ in range(10**4)]",
        "cyclic_result": "def target():\n    a = []\n    a.append(a)\n    return a",
        "too_many_files": "fs = [open('/dev/null') for _ in range(10**5)]\ndef target(): return 42",
        "fill_disk": "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 10**6)",
        "mount_via_ctypes": "import ctypes\nlibc = ctypes.CDLL(None)\n"
        "assert libc.mount(b'none', b'/', None, 32, None) != 0\n"
        "assert libc.unshare(0x10000000) != 0\nraise RuntimeError('contained')",
        "env_leak": "import os\ndef target():\n    return 42 if 'CODEFAVOR_TEST_SECRET' in os.environ else 7",
        "harness_frame_tampering": "import sys\ndef target():\n    f = sys._getframe(1)\n"
        "    f.f_globals['encode_value'] = lambda v: 42\n    return 7",
        "terminal_escape_in_error": "def target():\n    raise ValueError('\\x1b[2J\\x1b]0;pwned\\x07')",
        "setsid_escape": "import os\ntry:\n    os.setsid()\nexcept OSError:\n    pass\nwhile True:\n    pass",
        # Protocol-aware: steal the token from the harness frame and forge a "done" run claiming success.
        "steal_token_and_forge": "import sys, os, json\nf = sys._getframe(1)\ntok = f.f_locals.get('token', 'x')\n"
        "for i in range(2):\n    os.write(3, (tok + '\\t' + json.dumps({'i': i, 'v': 'PASS'}) + '\\n').encode())\n"
        "os.write(3, (tok + '\\t' + json.dumps({'done': True}) + '\\n').encode())\nos._exit(0)",
        # Search the child's memory for the expected value: it is never sent there.
        # (the number is built at run time, so the candidate's own constants do not hold it)
        "search_memory_for_expected": "import gc, sys\nW = int('42' * 5)\ndef target():\n"
        "    for o in gc.get_objects():\n        if o is W or o is globals():\n            continue\n"
        "        vals = o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()\n"
        "        if any(type(v) is int and v == W for v in vals):\n            return W\n"
        "    f = sys._getframe().f_back\n    while f:\n"
        "        own = f.f_globals is globals()\n"
        "        if not own and any(type(v) is int and v == W for v in f.f_locals.values()):\n            return W\n"
        "        f = f.f_back\n    return 0",
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    host = str(tmp_path_factory.mktemp("host"))
    secret_file = os.path.join(host, "secret.txt")
    with open(secret_file, "w") as f:
        f.write("42")
    os.chmod(secret_file, 0o644)
    os.chmod(host, 0o755)
    with open(os.path.join(host, "keep.txt"), "w") as f:
        f.write("keep")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                got.append(conn.recv(100) or b"connected")
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    os.environ["CODEFAVOR_TEST_SECRET"] = "1"
    cases = _cases(host, secret_file, listener.getsockname()[1])
    with started(Sandbox(limits=LIMITS)) as sb:
        jobs = [
            (code, SECRET_TARGET if name == "search_memory_for_expected" else TARGET) for name, code in cases.items()
        ]
        results = dict(zip(cases, sb.run_many(jobs), strict=True))
        after = sb.run("def target(): return 42", TARGET)  # the pool still works after all that
    stop.set()
    t.join()
    listener.close()
    del os.environ["CODEFAVOR_TEST_SECRET"]
    return {"results": results, "host": host, "got": got, "after": after, "info": sb.info}


CASE_NAMES = list(_cases("/h", "/h/s", 1))


def test_there_are_at_least_30_cases():
    assert len(CASE_NAMES) >= 30


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_case_is_contained_and_does_not_pass(hostile, name):
    r = hostile["results"][name]
    assert not r.passed, f"{name} faked a pass: {r.summary()}"
    assert not any(c.passed for c in r.checks), f"{name}: a check passed: {r.summary()}"
    assert r.wall_s < LIMITS.wall_s + 5


def test_side_effects_stayed_inside(hostile):
    host = hostile["host"]
    assert sorted(os.listdir(host)) == ["keep.txt", "secret.txt"]
    assert open(os.path.join(host, "keep.txt")).read() == "keep"
    assert hostile["got"] == [], "a candidate reached a host socket"
    for p in ("/tmp/pwned", "/etc/pwned", "/usr/pwned", "/pwned"):
        assert not os.path.exists(p)
    assert hostile["after"].passed  # this very process (the parent) survived, and so did the pool


def test_specific_containment_reasons(hostile):
    res = hostile["results"]
    assert "Permission" in (res["read_host_secret"].checks[0].reason + str(res["read_host_secret"].load_error)) or (
        "No such file" in res["read_host_secret"].checks[0].reason
    )
    assert res["infinite_loop_in_call"].checks[0].status == "timeout"
    assert res["ignore_alarm_and_xcpu"].timed_out or res["ignore_alarm_and_xcpu"].exit.startswith("signal")
    assert "MemoryError" in str(res["memory_hog_single"].load_error)
    assert res["fork_bomb"].load_error and "BlockingIOError" in res["fork_bomb"].load_error
    assert "RecursionError" in res["deep_recursion"].checks[0].reason
    assert res["write_system_dirs"].load_error == "RuntimeError: contained"
    assert res["rmtree_everything"].load_error == "RuntimeError: contained"
    assert res["mount_via_ctypes"].load_error == "RuntimeError: contained"
    assert res["always_eq_object"].checks[0].status == "fail"
    assert isinstance(res["always_eq_object"].checks[0].value, Opaque)
    assert res["forged_frames_fd3"].forged_frames >= 2
    assert len(res["huge_output"].output) <= LIMITS.output_bytes
    assert "\x1b" not in res["terminal_escape_in_error"].checks[0].reason  # safe to print
    forged = res["steal_token_and_forge"]
    assert forged.completed and forged.checks[0].status == "fail"  # the forgery "worked", yet passes nothing
    assert res["search_memory_for_expected"].checks[0].reason == "returned 0, expected 4242424242"


def test_benign_code_passes_and_wrong_code_fails():
    with started(Sandbox(limits=LIMITS)) as sb:
        good, bad = sb.run_many(
            [
                ("def f(x):\n    return sorted(x)", [Check("f([3, 1, 2])", expected=[1, 2, 3])]),
                ("def f(x):\n    return x", [Check("f([3, 1, 2])", expected=[1, 2, 3])]),
            ]
        )
        assert good.passed and good.defined == {"f": 1}
        assert not bad.passed and "expected [1, 2, 3]" in bad.checks[0].reason
        prog = sb.run("print(sum(map(int, input().split())))", [Check(stdin="2 3\n", expected_stdout="5")])
        assert prog.passed
        binary = "import sys\nsys.stdout.buffer.write(str(sum(map(int, sys.stdin.buffer.read().split()))).encode())"
        assert sb.run(binary, [Check(stdin="2 3\n", expected_stdout="5")]).passed
        if importlib.util.find_spec("numpy"):  # threads are forbidden: numeric libraries must still import
            np_run = sb.run(
                "import numpy as np\ndef f(n):\n    return np.arange(n).sum()", [Check("f(10)", expected=45)]
            )
            assert np_run.passed, np_run.output


def test_value_encoding_is_type_strict():
    rt = decode_value(encode_value({"a": (1, 2.5, [None, True]), 3: {1, 2}, "b": b"x"}))
    assert rt == {"a": (1, 2.5, [None, True]), 3: {1, 2}, "b": b"x"}
    assert values_equal(decode_value(encode_value(2.0)), 2)
    assert values_equal(0.1 + 0.2, 0.3)
    assert not values_equal(True, 1)
    assert not values_equal([1, 2], (1, 2))
    assert not values_equal(decode_value(encode_value(object())), 1)
    assert not values_equal(decode_value(encode_value(2**20000)), 0)  # too large to report: never equal
    assert values_equal(decode_value(encode_value(2**200)), 2**200)

    class Sub(int):
        pass

    assert isinstance(decode_value(encode_value(Sub(3))), Opaque)
    deep: list = []
    cur = deep
    for _ in range(1000):
        cur.append([])
        cur = cur[0]
    assert not values_equal(decode_value(encode_value(deep)), deep)


HARNESS = """
def main(job):
    ns = {}
    exec(job["code"], ns)
    return {"out": [ns[job["entry"]](*args) for args in job["calls"]], "kinds": sorted(type(k).__name__ for k in job)}
"""


def test_run_harness_sends_the_job_as_data_and_returns_the_value():
    job = {"code": "def f(xs, k):\n    return sorted(xs)[:k]", "entry": "f", "calls": [((3, 1, 2), 2), ({5, 4}, 1)],
           "blob": b"\x00\xff", 7: frozenset({1})}  # fmt: skip
    with started(Sandbox(limits=LIMITS)) as sb:
        h = sb.run_harness(HARNESS, job)
        assert h.ok and h.completed and h.cpu_s > 0, h
        assert h.value == {"out": [[1, 2], [4]], "kinds": ["int", "str", "str", "str", "str"]}
        # The harness got the job's types (tuples, sets, bytes, int keys), not their JSON shadows.
        echo = sb.run_harness("def main(job):\n    return job", job)
        assert echo.value == job and type(echo.value["calls"][0][0]) is tuple
        boom = sb.run_harness("def main(job):\n    return 1 // job", 0)
        assert not boom.ok and boom.value is None and "ZeroDivisionError" in boom.error
        slow = sb.run_harness(
            "def main(job):\n    while True:\n        pass", None, Limits(cpu_s=1, wall_s=2, check_s=0.3)
        )
        assert not slow.ok and "time limit" in slow.error
        dies = sb.run_harness("import os\ndef main(job):\n    os._exit(0)", None)
        assert not dies.ok and "ended early" in dies.error
        with pytest.raises(ValueError):
            sb.run_harness(HARNESS, {"x": object()})  # the codec carries plain data only, whole


SCANNER = """import gc
MARK = "-".join(["zqxxx", "victim"])  # built at run time: the compiler folds "a" + "b" into a constant
def found():
    for o in gc.get_objects():
        if o is globals():
            continue
        vals = o.values() if isinstance(o, dict) else o if isinstance(o, (list, tuple)) else ()
        try:
            if any(type(v) is str and MARK in v for v in vals):
                return True
        except Exception:
            continue
    return False
"""


def test_a_child_holds_no_other_jobs_data():
    """The server takes a job only when a slot is free and keeps none once its child has it, so a
    child forked while other jobs run or wait finds none of their code among its objects."""
    victim = "import time\nMARK = 'zqxxx-victim'\ntime.sleep(0.3)"
    with started(Sandbox(workers=2, limits=LIMITS)) as sb:
        runs = sb.run_many([(victim, []), (SCANNER, [Check("found()", expected=False)]), (victim, [])])
    assert runs[1].passed, runs[1].summary()


def test_a_session_relays_values_and_kernel_cpu_readings():
    echo = (
        "def main(job, chan):\n    n = 0\n    while True:\n        x = chan.recv()\n        if x is None:\n"
        "            return n\n        n += 1\n        s = 0\n        for i in range(x):\n            s += i\n"
        "        chan.send({'sum': s, 'tag': job})\n"
    )
    with started(Sandbox(limits=LIMITS)) as sb:
        s = sb.session(echo, "t")
        cpu = []
        for x in (10, 2_000_000):
            s.feed(x)
            kind, _, c0 = s.next()
            assert kind == "fed" and c0 is not None
            kind, value, c1 = s.next()
            assert kind == "report" and value == {"sum": x * (x - 1) // 2, "tag": "t"}
            cpu.append(c1 - c0)
        assert cpu[1] > 10 * cpu[0]  # the big sum's CPU time, read from outside the child
        assert s.close().ok
        # A call past its CPU limit is stopped by the server, whatever the child does about signals.
        spin = "import signal\nsignal.setitimer = lambda *a: None\ndef main(job, chan):\n    chan.recv()\n    while True:\n        pass\n"
        s = sb.session(spin, None, Limits(cpu_s=5, wall_s=8, check_s=5))
        s.feed(1, cpu_limit=0.2)
        assert s.next()[0] == "fed"
        kind, run, _ = s.next()
        assert kind == "end" and run.error == "cpu-limit" and run.wall_s < 4


def info_of(sb: Sandbox) -> dict:
    sb.run("pass", [])
    return sb.info


IPC_LEAVE = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
q = libc.msgget(0x5EC2E7, 0o1666)  # IPC_CREAT | 0666
assert q >= 0, ctypes.get_errno()
shm = libc.shmget(0x5EC2E8, 4096, 0o1666)
assert shm >= 0, ctypes.get_errno()
def left():
    return True
"""
IPC_FIND = """import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def found():
    return [libc.msgget(0x5EC2E7, 0o666) >= 0, libc.shmget(0x5EC2E8, 0, 0o666) >= 0]
"""


def test_runs_share_no_ipc_objects():
    """SysV message queues and shared memory a run leaves are gone for the next one (an IPC
    namespace per child)."""
    with started(Sandbox(workers=2, limits=LIMITS)) as sb:
        if not sb.info.get("ipc_private"):
            pytest.skip(f"the kernel refuses a private IPC namespace here: {sb.info}")
        leave = sb.run(IPC_LEAVE, [Check("left()", expected=True)])
        assert leave.passed, leave.summary()  # it could make them (in its own namespace)
        find = sb.run(IPC_FIND, [Check("found()", expected=[False, False])])
        assert find.passed, find.summary()


ESCAPES = """import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def uring():
    params = ctypes.create_string_buffer(120)
    return [libc.syscall(425, 8, params), ctypes.get_errno()]  # io_uring_setup
def memfd():
    try:
        os.memfd_create("x")
        return "made"
    except OSError as e:
        return e.errno
"""


def test_io_uring_and_memfd_are_refused():
    import errno

    with started(Sandbox(limits=LIMITS)) as sb:
        if not sb.info.get("seccomp"):
            pytest.skip("no libseccomp here: the syscall filter is not loaded")
        r = sb.run(ESCAPES, [Check("uring()", expected=[-1, errno.EPERM]), Check("memfd()", expected=errno.EPERM)])
        assert r.passed, r.summary()


KIND_SPY = """import sys
def spy():
    keys = set()
    f = sys._getframe(1)
    while f is not None:  # the harness's own frames hold the checks it was sent
        for v in list(f.f_locals.values()):
            for d in (v if type(v) is list else [v]):
                if type(d) is dict and "call" in d:
                    keys |= set(map(str, d))
        f = f.f_back
    return sorted(keys)
"""


def test_a_child_does_not_learn_how_its_checks_are_judged():
    checks = [Check("spy()", expected_repr="x"), Check("1 // 0", raises="ZeroDivisionError"), Check("spy()")]
    with started(Sandbox(limits=LIMITS)) as sb:
        r = sb.run(KIND_SPY, checks)
    assert r.checks[1].passed
    assert r.checks[2].value == ["call", "stdin"], r.checks[2].value


# Hunts the other job's code wherever a child could find it (its objects, its stack, pages of the
# heap it inherited, probed through a pipe so that unmapped pages fail instead of crashing), then
# runs what it found. It implements nothing itself.
COPYCAT = """def add(a, b):
    import ctypes, gc, os, re, sys
    pat = re.compile(r"def add\\(a, b\\):\\n(?:    [^\\n]*\\n)+")
    bpat = re.compile(pat.pattern.encode())
    seen = set()
    def look(x, depth=0):
        t = type(x)
        if t is str:
            seen.update(pat.findall(x))
        elif t in (bytes, bytearray):
            seen.update(m.decode("utf-8", "replace") for m in bpat.findall(x))
        elif depth < 3 and t is dict:
            for v in list(x.values()):
                look(v, depth + 1)
        elif depth < 3 and t in (list, tuple):
            for v in list(x):
                look(v, depth + 1)
    for o in gc.get_objects():
        look(o, 2)
    f = sys._getframe()
    while f is not None:
        look(dict(f.f_locals))
        f = f.f_back
    r, w = os.pipe()
    step = 65536
    for base in {id(gc) & ~(step - 1), id(seen) & ~(step - 1), id(sys.modules) & ~(step - 1)}:
        for k in range(-128, 128):
            try:
                os.write(w, (ctypes.c_char * step).from_address(base + k * step))
            except (OSError, ValueError):
                continue
            look(os.read(r, step))
    for src in seen:
        if "ctypes" in src:
            continue  # its own
        try:
            ns = {}
            exec(src, ns)
            return ns["add"](a, b)
        except Exception:
            continue
    return None
"""
HONEST = 'def add(a, b):\n    """' + "Add a and b, the honest way. " * 80 + '"""\n    return a + b\n'
ADD_INSTRUCTION = "Add two numbers.\n>>> add(2, 3)\n5\n>>> add(-4, 1)\n-3\n>>> add(10, 20)\n30"


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_a_candidate_cannot_copy_its_opponent_through_judge(tmp_path, capsys, order):
    """The copycat is the shorter code: if it found and ran the honest code it would tie on the
    examples and win on length. It finds nothing, so the honest code wins, in both orders."""
    from codefavor.cli import main

    assert len(COPYCAT) < len(HONEST)
    (tmp_path / "copy.py").write_text(COPYCAT)
    (tmp_path / "honest.py").write_text(HONEST)
    a, b = ("copy.py", "honest.py") if order == "ab" else ("honest.py", "copy.py")
    main(["judge", "--instruction", ADD_INSTRUCTION, "--a", str(tmp_path / a), "--b", str(tmp_path / b), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == ("B" if order == "ab" else "A"), out


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_a_candidate_cannot_copy_its_opponent_through_rank(tmp_path, capsys, order):
    from codefavor.cli import main

    (tmp_path / "copy.py").write_text(COPYCAT)
    (tmp_path / "honest.py").write_text(HONEST)
    files = [str(tmp_path / "copy.py"), str(tmp_path / "honest.py")]
    if order == "ba":
        files.reverse()
    main(["rank", "--instruction", ADD_INSTRUCTION, "--json", *files])
    out = json.loads(capsys.readouterr().out)
    assert out["best_file"] == str(tmp_path / "honest.py"), out


IDLE_ECHO = (
    "def main(job, chan):\n    while True:\n        chan.send({'idle': True})\n        x = chan.recv()\n"
    "        if x is None:\n            return 0\n        chan.send({'v': x, 'last': True})\n"
)


def test_a_batch_waits_for_a_session_still_queued_for_a_slot():
    """With every session slot taken, a new session waits in the server's queue; a batch call to it
    waits until it has started (once a slot is free), instead of reading as a session that ended."""
    from codefavor.evidence.sandbox.server import SESSIONS_PER_WORKER

    roomy = Limits(cpu_s=5, wall_s=20, check_s=5)
    with started(Sandbox(workers=1, limits=roomy)) as sb:
        held = [sb.session(IDLE_ECHO, None) for _ in range(SESSIONS_PER_WORKER)]
        for s in held:  # every one of them running
            assert s.call("x", timeout=10) != s.result and s.result is None
        late = sb.session(IDLE_ECHO, None)
        threading.Timer(0.5, held[0].close).start()  # frees a slot only after the batch was sent
        got = sb.batch([(late, 7, None)], timeout=10)
        for s in held[1:] + [late]:
            s.kill()
    assert got[0] is not None, "the batch read the queued session as ended"
    _t0, reports = got[0]
    assert [r for r, _ in reports][-1] == {"v": 7, "last": True}
