"""The local transformers backend on the session's tiny model: left padding, stops, sampling, limits, cache."""

from __future__ import annotations

import pytest

from codefavor.backends import Sampling, load_backend
from codefavor.errors import CodefavorError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFAVOR_CACHE", str(tmp_path / "cache.sqlite"))


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    import torch

    from codefavor.backends.hf import HFBackend

    b = HFBackend(str(tiny_model_dir), cache=False, batch_size=4)
    with torch.no_grad():  # random init at this size emits only newlines; sharper weights give varied text
        for p in b.model.parameters():
            p.mul_(8.0)
    return b


CONVS = [
    [{"role": "user", "content": "def add(a, b):"}],
    [{"role": "system", "content": "You review code."}, {"role": "user", "content": "import os\nos.remove(path)"}],
    [{"role": "user", "content": "for i in range(10):\n    print(i) " * 6}],
    [{"role": "user", "content": "x"}],
    [{"role": "user", "content": "class Stack:\n    def push(self, item):\n        self.items.append(item)"}],
]


def test_batched_greedy_equals_one_by_one(backend):
    sampling = Sampling(max_tokens=12)
    batched = backend.generate(CONVS, sampling)
    single = [backend.generate([c], sampling)[0] for c in CONVS]
    assert len({g.text for g in batched}) == len(CONVS)  # varied output, so the comparison has teeth
    assert [g.texts for g in batched] == [g.texts for g in single]  # left padding changes nothing
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in single]
    for g in batched:
        assert g.error is None and 0 < g.completion_tokens <= 12 and g.latency_s > 0


def test_prompt_uses_the_chat_template(backend):
    text = backend.render(CONVS[1])
    assert text.startswith("<|im_start|>system\nYou review code.<|im_end|>\n")
    assert text.endswith("<|im_start|>assistant\n")


def test_sampling_is_seeded_and_n_is_honoured(backend):
    s = Sampling(temperature=1.0, top_p=0.95, max_tokens=10, seed=7, n=3)
    a = backend.generate(CONVS[:2], s)
    b = backend.generate(CONVS[:2], s)
    assert [len(g.texts) for g in a] == [3, 3]
    assert [g.texts for g in a] == [g.texts for g in b]
    assert len({t for g in a for t in g.texts}) > 1  # sampling, not greedy


def test_stop_strings_are_cut(backend):
    free = backend.generate(CONVS, Sampling(temperature=1.0, max_tokens=24, seed=1))
    # Use a character the unconstrained output contains as the stop, and check it never survives.
    stop = next(ch for g in free for ch in g.text if ch.strip())
    stopped = backend.generate(CONVS, Sampling(temperature=1.0, max_tokens=24, seed=1, stop=(stop,)))
    assert all(stop not in g.text for g in stopped)
    assert any(g.completion_tokens < f.completion_tokens for g, f in zip(stopped, free, strict=True))


def test_too_long_prompt_fails_alone(backend):
    long = [{"role": "user", "content": "word " * 6000}]
    gens = backend.generate([CONVS[0], long, CONVS[3]], Sampling(max_tokens=4))
    assert gens[0].error is None and gens[2].error is None
    assert gens[1].texts == [] and "exceeds the model's context" in (gens[1].error or "")


def test_device_dtype_and_cache(tiny_model_dir, tmp_path):
    import torch

    b = load_backend(f"hf:{tiny_model_dir}", dtype="bfloat16", device="auto", cache=tmp_path / "hf.sqlite")
    assert b.device == "cpu" and next(b.model.parameters()).dtype == torch.bfloat16
    first = b.generate(CONVS[:2], Sampling(max_tokens=6))
    again = b.generate(CONVS[:2], Sampling(max_tokens=6))
    assert [g.cached for g in first] == [False, False] and [g.cached for g in again] == [True, True]
    assert [g.texts for g in again] == [g.texts for g in first]
    with pytest.raises(CodefavorError, match="dtype"):
        load_backend(f"hf:{tiny_model_dir}", dtype="float8")
    with pytest.raises(CodefavorError, match="unknown option"):
        load_backend(f"hf:{tiny_model_dir}", base_url="http://x")


def test_device_auto_detection(monkeypatch):
    import torch

    from codefavor.models import resolve_device, resolve_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device(None) == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps" and resolve_dtype("auto", "mps") == torch.float16
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_device("cuda:1") == "cuda:1" and resolve_dtype("bf16", "cpu") == torch.bfloat16
