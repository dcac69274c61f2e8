"""A model server run as a managed subprocess: start a command line, wait for its health URL, stop it.

Real small models are served by an OpenAI-compatible server of their own (llama.cpp's
`python -m llama_cpp.server`, `codefavor serve`, vLLM on a GPU) that the `openai:` backend then
talks to. `LocalServer` owns one such process: `{port}` in the command and the URLs is replaced by a
free loopback port, the process gets a session (process group) of its own so that stopping it
ends everything it started, its output goes to a log file (no pipe to fill up), and on Linux it
is killed when its parent dies, so a killed run does not leave servers behind.

    with llama_cpp_server("qwen2.5-coder-0.5b-gguf", n_threads=2) as srv:
        backend = load_backend("openai:qwen", base_url=srv.base_url)

Only loopback addresses are used: these servers have no authentication.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from codefavor.errors import CodefavorError

LLAMA_CPP_HINT = "install it with `make real-models` (llama-cpp-python[server]==0.3.36)"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _child_setup(nice: int) -> None:
    """Runs in the child before exec: lower its priority, and on Linux ask the kernel to SIGKILL it
    when the parent dies (kill -9 of a run must not orphan a server holding a model). SIGKILL, not
    SIGTERM: uvicorn answers SIGTERM by waiting for the request in progress, which on a loaded
    machine can be a generation of many minutes."""
    if nice:
        os.nice(nice)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class LocalServer:
    """One server process: `start()` (or `with`) returns once `health_url` answers 2xx; `stop()` ends
    its whole process group (SIGTERM, then SIGKILL after `stop_timeout_s`).

    `command` is a list of arguments or one shell-style string; `{port}` in it, in `health_url` and
    in `base_url` stands for `port` (a free one when None). `log_path` collects the server's output
    (a temporary file by default); the error raised when it fails to start quotes its last lines."""

    def __init__(
        self,
        command: str | Sequence[str],
        health_url: str,
        base_url: str | None = None,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        nice: int = 0,
        startup_timeout_s: float = 300.0,
        stop_timeout_s: float = 15.0,
        log_path: str | Path | None = None,
    ) -> None:
        self.port = port or free_port()
        args = shlex.split(command) if isinstance(command, str) else list(command)
        if not args:
            raise CodefavorError("local server: empty command")
        self.command = [a.replace("{port}", str(self.port)) for a in args]
        self.health_url = health_url.replace("{port}", str(self.port))
        self.base_url = base_url.replace("{port}", str(self.port)) if base_url else None
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.nice = nice
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._log_given = log_path is not None
        self.log_path = Path(log_path) if log_path else None
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LocalServer:
        if self.running:
            return self
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="codefavor-server-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            try:
                self.proc = subprocess.Popen(
                    self.command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                    preexec_fn=lambda: _child_setup(self.nice),
                )
            except OSError as e:
                raise CodefavorError(f"local server: cannot run {self.command[0]!r}: {e.strerror}") from None
        try:
            self._wait_healthy(t0)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0
        return self

    def _wait_healthy(self, t0: float) -> None:
        import httpx

        assert self.proc is not None
        delay = 0.05
        while True:
            code = self.proc.poll()
            if code is not None:
                raise CodefavorError(
                    f"local server exited with code {code} before {self.health_url} answered: "
                    f"{shlex.join(self.command)}{self._log_tail()}"
                )
            try:
                if httpx.get(self.health_url, timeout=2.0).is_success:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > self.startup_timeout_s:
                raise CodefavorError(
                    f"local server did not answer {self.health_url} within {self.startup_timeout_s:.0f} s: "
                    f"{shlex.join(self.command)}{self._log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def _log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""
        tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
        return f" (log {self.log_path}: {' | '.join(tail)})" if tail else ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """End the server and everything it started; safe to call twice."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the child leads its own group
        for sig, wait_s in ((signal.SIGTERM, self.stop_timeout_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait_s)
                # The leader is gone; whatever is left in its group goes now.
                os.killpg(pgid, signal.SIGKILL)
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                pass
            break
        if proc.poll() is None:
            proc.wait()
        if not self._log_given and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalServer({shlex.join(self.command)!r}, {state})"


# KV cache types by name, with ggml's type ids (llama-cpp-python's server takes the id). llama.cpp
# keeps keys and values in f16 by default: every attention input is rounded, which moves a label's
# probability by up to ~1e-3 against float32 in-process scoring (`hf-cls`), enough to flip decisions
# that sit at the tie band's edge; in f32 the two agree to ~1e-6 (benchmarks/cls_served_vs_inprocess.py).
KV_TYPES = {"f32": 0, "f16": 1, "q8_0": 8}


def _kv_type(name: str) -> int:
    if name not in KV_TYPES:
        raise CodefavorError(f"unknown KV cache type {name!r}; one of {', '.join(KV_TYPES)}")
    return KV_TYPES[name]


def llama_cpp_command(
    model: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | str = "{port}",
    n_ctx: int = 4096,
    n_threads: int | None = None,
    logits_all: bool = False,
    model_alias: str | None = None,
    python: str = sys.executable,
    extra: Sequence[str] = (),
    kv_type: str | None = None,
) -> list[str]:
    """The command line of llama.cpp's OpenAI-compatible server (`llama-cpp-python[server]`) on one
    GGUF file. `model_alias` is the model name clients send (default: the file path); `kv_type` one
    of `KV_TYPES` for the KV cache (default: the server's, f16)."""
    cmd = [python, "-m", "llama_cpp.server", "--model", str(model), "--host", host, "--port", str(port)]
    cmd += ["--n_ctx", str(n_ctx)]
    if n_threads:
        cmd += ["--n_threads", str(n_threads), "--n_threads_batch", str(n_threads)]
    if logits_all:
        cmd += ["--logits_all", "true"]
    if model_alias:
        cmd += ["--model_alias", model_alias]
    if kv_type:
        ggml = str(_kv_type(kv_type))
        cmd += ["--type_k", ggml, "--type_v", ggml]
    return cmd + list(extra)


def native_server_command(
    binary: str,
    model: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | str = "{port}",
    n_ctx: int = 4096,
    n_threads: int | None = None,
    parallel: int = 1,
    model_alias: str | None = None,
    extra: Sequence[str] = (),
    kv_type: str | None = None,
) -> list[str]:
    """The command line of llama.cpp's own server (`llama-server`, `make llama-server`): `parallel`
    slots decode together in one batch (continuous batching), each with `n_ctx` tokens of context.
    On a CPU, one token's decode reads all the weights; a batch of slots reads them once, which is
    where the throughput of several requests in flight comes from."""
    cmd = [binary, "-m", str(model), "--host", host, "--port", str(port)]
    cmd += ["-c", str(n_ctx * parallel), "-np", str(parallel), "--no-webui"]
    if n_threads:
        cmd += ["-t", str(n_threads), "-tb", str(n_threads)]
    if model_alias:
        cmd += ["--alias", model_alias]
    if kv_type:
        _kv_type(kv_type)
        cmd += ["--cache-type-k", kv_type, "--cache-type-v", kv_type]
    return cmd + list(extra)


def find_llama_server(binary: str | None = None) -> str:
    """`binary` (a path or a name on PATH), else `llama-server` beside this interpreter or on PATH."""
    import shutil

    for cand in [binary] if binary else [str(Path(sys.executable).parent / "llama-server"), "llama-server"]:
        found = cand if Path(cand).is_file() and os.access(cand, os.X_OK) else shutil.which(cand)
        if found:
            return found
    raise CodefavorError(
        f"llama.cpp's own server {binary or 'llama-server'!r} was not found; build it with `make llama-server`"
    )


def llama_cpp_server(
    model: str | Path,
    *,
    port: int | None = None,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    logits_all: bool = False,
    model_alias: str | None = None,
    nice: int = 0,
    startup_timeout_s: float = 300.0,
    log_path: str | Path | None = None,
    python: str = sys.executable,
    extra: Sequence[str] = (),
    parallel: int = 1,
    binary: str | None = None,
    kv_type: str | None = None,
) -> LocalServer:
    """A `LocalServer` for llama.cpp's server on `model`: a GGUF path or an alias of
    `codefavor.models.MODEL_ALIASES` (e.g. `qwen2.5-coder-0.5b-gguf`, `smollm2-gguf`). Its
    `base_url` is the `/v1` root the `openai:` backend takes. Not started yet: use `with` or `.start()`.
    `parallel` > 1 (or a `binary`) serves it with llama.cpp's own `llama-server` and that many slots
    (llama-cpp-python's server answers one request at a time); log-probabilities come from its
    `/v1/completions` either way. `kv_type` defaults to f32 for a scoring server (`logits_all`), so
    that its label probabilities are the ones `hf-cls` computes in float32, else to the server's f16."""
    from codefavor.models import resolve_model_alias

    kv_type = kv_type or ("f32" if logits_all else None)

    path = resolve_model_alias(model)
    if not Path(path).is_file():
        raise CodefavorError(f"GGUF file not found: {path!r}")
    if parallel > 1 or binary:
        command = native_server_command(
            find_llama_server(binary), path, n_ctx=n_ctx, n_threads=n_threads, parallel=parallel,
            model_alias=model_alias, extra=extra, kv_type=kv_type,
        )  # fmt: skip
        return LocalServer(
            command, health_url="http://127.0.0.1:{port}/health", base_url="http://127.0.0.1:{port}/v1", port=port,
            nice=nice, startup_timeout_s=startup_timeout_s, log_path=log_path,
        )  # fmt: skip
    check = subprocess.run([python, "-c", "import llama_cpp.server.app"], capture_output=True, env=os.environ.copy())
    if check.returncode:
        raise CodefavorError(f"llama.cpp's server is not importable by {python}; {LLAMA_CPP_HINT}")
    command = llama_cpp_command(
        path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        logits_all=logits_all,
        model_alias=model_alias,
        python=python,
        extra=extra,
        kv_type=kv_type,
    )
    return LocalServer(
        command,
        health_url="http://127.0.0.1:{port}/v1/models",
        base_url="http://127.0.0.1:{port}/v1",
        port=port,
        nice=nice,
        startup_timeout_s=startup_timeout_s,
        log_path=log_path,
    )
