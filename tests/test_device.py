"""The one device and dtype choice: what "auto" picks on each kind of machine, for inference and
training, and that every local-model path (hf, hf-gen, hf-cls, training) goes through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from codefavor.errors import CodefavorError  # noqa: E402
from codefavor.models import resolve_device, resolve_dtype  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src" / "codefavor"

MACHINES = [
    # (cuda, bf16 on the GPU, mps) -> device, inference dtype, training dtype
    ((True, True, False), ("cuda", torch.bfloat16, torch.bfloat16)),
    ((True, False, False), ("cuda", torch.float16, torch.float32)),
    ((True, True, True), ("cuda", torch.bfloat16, torch.bfloat16)),
    ((False, False, True), ("mps", torch.float16, torch.float32)),
    ((False, False, False), ("cpu", torch.float32, torch.float32)),
]


@pytest.mark.parametrize(("machine", "expected"), MACHINES)
def test_auto_choice_per_machine(monkeypatch, machine, expected):
    cuda, bf16, mps = machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    device, infer, train = expected
    assert resolve_device("auto") == resolve_device(None) == resolve_device() == device
    assert resolve_dtype("auto", device) == resolve_dtype(None, device) == infer
    assert resolve_dtype("auto") == infer  # no device: the dtype for where "auto" would put it
    assert resolve_dtype("auto", training=True) == train


def test_explicit_choices_are_kept(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda:1") == "cuda:1" and resolve_device("cpu") == "cpu"
    assert resolve_dtype("bf16", "cpu") == torch.bfloat16 and resolve_dtype("HALF", "cpu") == torch.float16
    assert resolve_dtype("float32", "cuda", training=True) == torch.float32
    assert resolve_dtype(torch.float16, "cpu") == torch.float16
    with pytest.raises(CodefavorError, match="dtype 'float8'"):
        resolve_dtype("float8", "cpu")


def test_every_local_model_path_uses_the_one_choice():
    import codefavor.backends.hf as hf
    import codefavor.models as models

    assert hf.resolve_device is models.resolve_device and hf.resolve_dtype is models.resolve_dtype
    # No other module decides a device or a dtype on its own.
    defined = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.name in ("resolve_device", "resolve_dtype")
    }
    assert defined == {"models.py"}


@pytest.mark.parametrize(("bf16", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_training_loads_with_the_training_choice(monkeypatch, tmp_path, tiny_model_dir, bf16, expected):
    """On a GPU without bf16, "auto" gives inference fp16 but training fp32 (no pure-fp16 weights)."""
    from codefavor.training.config import load_config
    from codefavor.training.run import build_model

    cfg = load_config(None, [], model=str(tiny_model_dir), train_files=["toy:8"], output_dir=str(tmp_path))
    cfg.model_dtype = "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    model, _ = build_model(cfg)
    assert next(model.parameters()).dtype == expected and next(model.parameters()).device.type == "cpu"
