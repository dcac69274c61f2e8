"""Model merging: equals the manual weighted tensor average, shards, and refuses mismatches."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from codefavor.errors import CodefavorError
from codefavor.training.merge import merge_checkpoints, normalize_weights


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, tiny_tokenizer):
    from codefavor.testing import build_tiny_model

    root = tmp_path_factory.mktemp("merge")
    return [build_tiny_model(root / f"m{seed}", tokenizer=tiny_tokenizer, seed=seed) for seed in (1, 2)]


def _weights(path):
    return load_file(str(path / "model.safetensors"))


def test_normalize_weights():
    assert normalize_weights(None, 3) == pytest.approx([1 / 3] * 3)
    assert normalize_weights([1, 3], 2) == pytest.approx([0.25, 0.75])
    with pytest.raises(CodefavorError, match="2 values for 3"):
        normalize_weights([1, 1], 3)
    with pytest.raises(CodefavorError, match="at least two"):
        normalize_weights(None, 1)
    with pytest.raises(CodefavorError, match="non-negative"):
        normalize_weights([-1, 2], 2)


@pytest.mark.parametrize("weights", [None, [0.3, 0.7]])
def test_merge_equals_manual_average(two_models, tmp_path, weights):
    out = merge_checkpoints(two_models, tmp_path / "soup", weights)
    a, b = (_weights(m) for m in two_models)
    wa, wb = (0.5, 0.5) if weights is None else weights
    got = _weights(out)
    assert set(got) == set(a)
    for name in a:
        assert got[name].dtype == a[name].dtype
        torch.testing.assert_close(got[name], wa * a[name] + wb * b[name], rtol=1e-6, atol=1e-7)
    manifest = json.loads((out / "merge_manifest.json").read_text())
    assert manifest["weights"] == pytest.approx([wa, wb])
    # The result is a complete HF folder: it loads and runs as a judge.
    from codefavor.judges import PairItem
    from codefavor.judges.classifier import ClassifierJudge

    (v,) = ClassifierJudge(out, device="cpu").judge([PairItem("Add.", "a+b", "a-b", "correctness")])
    assert v.signal == "model" and v.error is None and v.prob_a is not None


def test_merge_writes_shards_with_an_index(two_models, tmp_path):
    out = merge_checkpoints(two_models, tmp_path / "sharded", max_shard_bytes=1_000_000)
    index = json.loads((out / "model.safetensors.index.json").read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 1 and all((out / s).is_file() for s in shards)
    # A sharded merge is itself mergeable, and merging a model with itself gives it back.
    again = merge_checkpoints([out, out], tmp_path / "again")
    merged = _weights(again)
    for name, shard in index["weight_map"].items():
        torch.testing.assert_close(merged[name], load_file(str(out / shard))[name])


def test_merge_via_cli(two_models, tmp_path):
    from codefavor.cli import main

    out = tmp_path / "cli"
    main(["merge", str(two_models[0]), str(two_models[1]), "--weight", "0.5", "--weight", "0.5", "--output", str(out)])
    assert (out / "model.safetensors").is_file()
    with pytest.raises(SystemExit) as e:  # a non-empty output is refused: a user error, exit code 2
        main(["merge", str(two_models[0]), str(two_models[1]), "--output", str(out)])
    assert e.value.code == 2


def test_refuses_different_architectures(two_models, tmp_path, tiny_tokenizer):
    from codefavor.testing import build_tiny_model

    qwen = build_tiny_model(tmp_path / "qwen", arch="qwen2", tokenizer=tiny_tokenizer)
    with pytest.raises(CodefavorError, match="different architectures"):
        merge_checkpoints([two_models[0], qwen], tmp_path / "x")


def test_refuses_different_shapes(two_models, tmp_path, tiny_tokenizer):
    from codefavor.testing import build_tiny_model

    bigger = build_tiny_model(tmp_path / "10m", size="10m", tokenizer=tiny_tokenizer)
    with pytest.raises(CodefavorError, match="different shapes: hidden_size"):
        merge_checkpoints([two_models[0], bigger], tmp_path / "x")


def test_refuses_different_tokenizers(two_models, tmp_path):
    other = tmp_path / "other-tok"
    shutil.copytree(two_models[1], other)
    tj = json.loads((other / "tokenizer.json").read_text())
    vocab = tj["model"]["vocab"]
    # Swap two token ids: same vocabulary size and tensor shapes, different tokenizer.
    (k1, v1), (k2, v2) = list(vocab.items())[100:102]
    vocab[k1], vocab[k2] = v2, v1
    (other / "tokenizer.json").write_text(json.dumps(tj))
    with pytest.raises(CodefavorError, match="different tokenizers"):
        merge_checkpoints([two_models[0], other], tmp_path / "x")


def test_refuses_tensor_shape_mismatch_even_with_equal_configs(two_models, tmp_path):
    from safetensors.torch import save_file

    broken = tmp_path / "broken"
    shutil.copytree(two_models[1], broken)
    tensors = _weights(broken)
    tensors["model.norm.weight"] = torch.ones(7)
    save_file(tensors, str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CodefavorError, match="'model.norm.weight' has shape"):
        merge_checkpoints([two_models[0], broken], tmp_path / "x")
