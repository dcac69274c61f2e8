"""Model merging: a weighted linear average of two or more checkpoints (a "model soup").

    codefavor merge runs/cls-commit runs/cls-critic --weights 0.5 0.5 --output runs/cls-merged

The paper trains one judge per data source and averages their weights uniformly, which beat
training on the mixed data. Inputs are HF folders with safetensors weights (sharded or not) or
LoRA adapter folders; an adapter is first merged into its base and written to a temporary
folder. The average is streamed tensor by tensor: every input is opened lazily with
`safetensors.safe_open`, each output tensor is computed in fp32 from one tensor per input and
written in shards, so peak memory stays near one shard plus one tensor per input, not one model
per input. Inputs must agree on architecture, tensor names and shapes, and tokenizer; anything
else is refused with an error naming the difference.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from codefavor.errors import CodefavorError

WEIGHTS_INDEX = "model.safetensors.index.json"
WEIGHTS_FILE = "model.safetensors"
# Config keys that may differ between checkpoints of the same model (bookkeeping, not shape).
CONFIG_IGNORED = {"_name_or_path", "transformers_version", "use_cache", "dtype", "torch_dtype", "architectures"}
METADATA_FILES = {
    "config.json",
    "generation_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "special_tokens_map.json")


def normalize_weights(weights: Sequence[float] | None, n: int) -> list[float]:
    """Weights scaled to sum to 1 (uniform when None); an error for a wrong count or a bad sum."""
    if n < 2:
        raise CodefavorError(f"merging needs at least two checkpoints, got {n}")
    if weights is None or len(weights) == 0:
        return [1.0 / n] * n
    if len(weights) != n:
        raise CodefavorError(f"`weights` has {len(weights)} values for {n} checkpoints")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise CodefavorError(f"`weights` {list(weights)}: expected non-negative numbers with a positive sum")
    total = float(sum(weights))
    return [w / total for w in weights]


def is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


def merge_adapter(adapter_dir: Path, out_dir: Path) -> Path:
    """Merge a LoRA adapter into its base model (from adapter_config.json) and save the result."""
    from peft import PeftModel

    from codefavor.models import load_model_and_tokenizer

    base_ref = json.loads((adapter_dir / "adapter_config.json").read_text())["base_model_name_or_path"]
    base, tok = load_model_and_tokenizer(base_ref, dtype="float32", device="cpu")
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out_dir)
    # The adapter folder's tokenizer is the one the run trained with; fall back to the base's.
    try:
        from codefavor.models import load_tokenizer

        tok = load_tokenizer(adapter_dir)
    except CodefavorError:
        pass
    tok.save_pretrained(out_dir)
    return out_dir


def weight_files(path: Path) -> dict[str, Path]:
    """Tensor name -> the safetensors file holding it, for a single-file or sharded checkpoint."""
    index = path / WEIGHTS_INDEX
    if index.is_file():
        wmap = json.loads(index.read_text())["weight_map"]
        return {name: path / f for name, f in wmap.items()}
    single = path / WEIGHTS_FILE
    if single.is_file():
        from safetensors import safe_open

        with safe_open(str(single), framework="pt") as f:
            return dict.fromkeys(f.keys(), single)
    raise CodefavorError(f"{str(path)!r} has no safetensors weights ({WEIGHTS_FILE} or {WEIGHTS_INDEX})")


def _config(path: Path) -> dict[str, Any]:
    f = path / "config.json"
    if not f.is_file():
        raise CodefavorError(f"{str(path)!r} is not a model folder: no config.json")
    return json.loads(f.read_text())


def _tokenizer_fingerprint(path: Path) -> str:
    """A hash of the vocabulary-defining files, plus the chat template (which changes the prompt)."""
    h = hashlib.sha256()
    found = False
    for name in TOKENIZER_FILES:
        f = path / name
        if f.is_file():
            found = True
            data = f.read_bytes()
            if name == "tokenizer.json":
                # Compare the model and special tokens, not formatting or truncation/padding settings.
                tj = json.loads(data)
                data = json.dumps([tj.get("model"), tj.get("added_tokens")], sort_keys=True).encode()
            h.update(name.encode() + b"\0" + data)
    cfg = path / "tokenizer_config.json"
    template = path / "chat_template.jinja"
    if template.is_file():
        h.update(template.read_bytes())
    elif cfg.is_file():
        h.update(str(json.loads(cfg.read_text()).get("chat_template")).encode())
    return h.hexdigest() if found else ""


def check_compatible(paths: Sequence[Path]) -> None:
    """Refuse checkpoints that differ in architecture, config shape, tokenizer or tensors."""
    first = paths[0]
    cfg0 = _config(first)
    tok0 = _tokenizer_fingerprint(first)
    names0 = weight_files(first)
    for p in paths[1:]:
        cfg = _config(p)
        if cfg.get("architectures") != cfg0.get("architectures") or cfg.get("model_type") != cfg0.get("model_type"):
            raise CodefavorError(
                f"cannot merge different architectures: {str(first)!r} is {cfg0.get('architectures')}, "
                f"{str(p)!r} is {cfg.get('architectures')}"
            )
        diff = sorted(k for k in set(cfg) | set(cfg0) if k not in CONFIG_IGNORED and cfg.get(k) != cfg0.get(k))
        shape_keys = [k for k in diff if k.endswith(("_size", "_layers", "_heads", "vocab_size")) or "num_" in k]
        if shape_keys:
            k = shape_keys[0]
            raise CodefavorError(
                f"cannot merge models of different shapes: {k} is {cfg0.get(k)} in {str(first)!r} "
                f"but {cfg.get(k)} in {str(p)!r}"
            )
        tok = _tokenizer_fingerprint(p)
        if tok0 and tok and tok != tok0:
            raise CodefavorError(f"cannot merge models with different tokenizers: {str(first)!r} vs {str(p)!r}")
        names = weight_files(p)
        if set(names) != set(names0):
            extra = sorted(set(names) ^ set(names0))[:3]
            raise CodefavorError(f"cannot merge: tensor names differ between {str(first)!r} and {str(p)!r}: {extra}")


def merge_checkpoints(
    paths: Sequence[str | Path],
    output: str | Path,
    weights: Sequence[float] | None = None,
    max_shard_bytes: int = 2 * 1024**3,
    overwrite: bool = False,
) -> Path:
    """Write the weighted average of `paths` to `output` (HF folder: safetensors, config, tokenizer)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    ws = normalize_weights(weights, len(paths))
    out = Path(output)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise CodefavorError(f"output folder {str(out)!r} is not empty (pass `overwrite=True` to replace it)")
        shutil.rmtree(out)
    sources = [Path(p) for p in paths]
    for p in sources:
        if not p.is_dir():
            raise CodefavorError(f"checkpoint folder not found: {str(p)!r}")
    with tempfile.TemporaryDirectory(prefix="codefavor-merge-") as tmp, ExitStack() as stack:
        models = [merge_adapter(p, Path(tmp) / f"m{i}") if is_adapter(p) else p for i, p in enumerate(sources)]
        check_compatible(models)
        files = [weight_files(m) for m in models]
        handles: dict[Path, Any] = {}

        def tensor(i: int, name: str) -> torch.Tensor:
            f = files[i][name]
            if f not in handles:
                handles[f] = stack.enter_context(safe_open(str(f), framework="pt"))
            return handles[f].get_tensor(name)

        out.mkdir(parents=True, exist_ok=True)
        shard: dict[str, torch.Tensor] = {}
        shard_bytes, shard_names, total_bytes = 0, [], 0

        def flush() -> None:
            nonlocal shard, shard_bytes
            if shard:
                name = f"part-{len(shard_names):05d}.safetensors"
                save_file(shard, str(out / name), metadata={"format": "pt"})
                shard_names.append((name, list(shard)))
            shard, shard_bytes = {}, 0

        for name in sorted(files[0]):
            first = tensor(0, name)
            for i in range(1, len(models)):
                t = tensor(i, name)
                if t.shape != first.shape:
                    raise CodefavorError(
                        f"cannot merge: tensor {name!r} has shape {tuple(first.shape)} in {str(models[0])!r} "
                        f"but {tuple(t.shape)} in {str(models[i])!r}"
                    )
            if not first.is_floating_point():
                merged = first  # integer buffers (e.g. position ids) are copied, not averaged
            else:
                acc = first.to(torch.float32) * ws[0]
                for i in range(1, len(models)):
                    acc.add_(tensor(i, name).to(torch.float32), alpha=ws[i])
                merged = acc.to(first.dtype)
            size = merged.numel() * merged.element_size()
            if shard and shard_bytes + size > max_shard_bytes:
                flush()
            shard[name] = merged.contiguous()
            shard_bytes += size
            total_bytes += size
        flush()
        _write_index(out, shard_names, total_bytes)
        _copy_metadata(models[0], out)
    (out / "merge_manifest.json").write_text(
        json.dumps({"sources": [str(p) for p in sources], "weights": ws}, indent=2) + "\n", encoding="utf-8"
    )
    return out


def _write_index(out: Path, shards: list[tuple[str, list[str]]], total_bytes: int) -> None:
    if len(shards) == 1:
        (out / shards[0][0]).rename(out / WEIGHTS_FILE)
        return
    n = len(shards)
    weight_map = {}
    for k, (name, names) in enumerate(shards):
        final = f"model-{k + 1:05d}-of-{n:05d}.safetensors"
        (out / name).rename(out / final)
        weight_map.update(dict.fromkeys(names, final))
    index = {"metadata": {"total_size": total_bytes}, "weight_map": weight_map}
    (out / WEIGHTS_INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


def _copy_metadata(src: Path, out: Path) -> None:
    """Config, generation config and tokenizer files from the first checkpoint."""
    for f in src.iterdir():
        if f.is_file() and (f.name in METADATA_FILES or f.name.startswith("tokenizer")):
            shutil.copy2(f, out / f.name)
