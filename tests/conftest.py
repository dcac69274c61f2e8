"""Shared fixtures: offline environment, the CLI run in-process, the stub server, a sandbox pool per module, hand-written bench tasks, and the session's tiny model."""

from __future__ import annotations

import os

import pytest

# No test may reach a model hub; set before transformers is imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="module")
def sandbox():
    """One contained sandbox pool (two workers) per test module that asks for it; the module's
    sandbox tests skip where none can start here."""
    from codefavor.evidence.sandbox import Sandbox, SandboxError

    sb = Sandbox(workers=2)
    try:
        sb.run("pass", [])
    except SandboxError as e:
        sb.close()
        pytest.skip(f"no sandbox here: {e}")
    yield sb
    sb.close()


def run_cli(args, capsys):
    """Run the `codefavor` app in-process: (exit code, stdout, stderr)."""
    from codefavor.cli import main

    code = 0
    try:
        main([str(a) for a in args])
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def stub():
    """Start a stub OpenAI-style server with the given flags; every one started is stopped at teardown."""
    from codefavor.testing import stub_server

    procs = []

    def start(*args: str) -> str:
        proc, url = stub_server.start(list(args))
        procs.append(proc)
        return url

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


SHARED_BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "codeprefbench")


@pytest.fixture(scope="session")
def bench_dir() -> str:
    """The real CodePrefBench files beside the checkout (skip where they are absent)."""
    path = os.environ.get("CODEFAVOR_DATA") or SHARED_BENCH
    if not os.path.exists(os.path.join(path, "correctness-alignment.jsonl.gz")):
        pytest.skip("CodePrefBench files not found beside the checkout")
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from codefavor.testing import build_tokenizer

    return build_tokenizer(vocab_size=2048, max_bytes=1_500_000)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer):
    """A 1M-parameter random Llama saved in HF format, built once per test session."""
    from codefavor.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), tokenizer=tiny_tokenizer)
