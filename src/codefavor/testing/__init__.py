"""Tiny offline models for tests, examples and dry runs (no hub, no network).

`build_tiny_model(out_dir)` trains a byte-level BPE tokenizer on local source text (the Python
standard library), gives it a chat template and makes `A` and `B` single tokens, builds a small
Llama- or Qwen2-style causal LM with random weights from a config, and saves both in HF format, so
tests load them back through the same `from_pretrained` path users use. Imports torch lazily.
`start_serve` / `stop_serve` run `codefavor serve` as a subprocess for end-to-end tests, and
`testing.stub_server` is a fault-injecting OpenAI-compatible stub server (its own process). This
package is test infrastructure shipped for tests, examples and benchmarks; nothing in the library
imports it except training's `testing:SIZE` smoke models.
"""

from __future__ import annotations

import glob
import os
import sysconfig
from pathlib import Path
from typing import Literal

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"]

SIZES: dict[str, dict[str, int]] = {
    # (hidden, layers, heads, kv_heads, intermediate); vocab comes from the tokenizer.
    "1m": dict(
        hidden_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=256
    ),
    "10m": dict(
        hidden_size=320, num_hidden_layers=6, num_attention_heads=5, num_key_value_heads=5, intermediate_size=864
    ),
}


def corpus_files(max_bytes: int = 3_000_000) -> list[str]:
    """Local source files to train the tokenizer on: standard-library modules, about `max_bytes`."""
    files, total = [], 0
    for f in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py"))):
        files.append(f)
        total += os.path.getsize(f)
        if total >= max_bytes:
            break
    return files


def build_tokenizer(vocab_size: int = 4096, max_bytes: int = 3_000_000):
    """A byte-level BPE tokenizer (HF fast tokenizer) with a ChatML-style template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train(corpus_files(max_bytes), trainer)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        model_max_length=4096,
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    for letter in ("A", "B"):
        ids = hf_tok.encode(letter, add_special_tokens=False)
        assert len(ids) == 1, f"{letter!r} must be a single token, got {ids}"
    return hf_tok


def build_tiny_model(
    out_dir: str | Path,
    size: str = "1m",
    arch: Literal["llama", "qwen2"] = "llama",
    seed: int = 0,
    tokenizer=None,
) -> Path:
    """Save a random-weight causal LM and its tokenizer to `out_dir`; return the folder."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = tokenizer or build_tokenizer()
    cls = LlamaConfig if arch == "llama" else Qwen2Config
    cfg = cls(
        vocab_size=len(tok),
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **SIZES[size],
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def start_serve(model_dir: str | Path | None, env: dict[str, str], *args: str, timeout_s: float = 120.0):
    """Start `codefavor serve [--model DIR] --port 0 ARGS...` in a subprocess; return (process, base URL)
    once it prints the address it listens on. Stop it with `stop_serve`."""
    import subprocess
    import sys
    import threading
    import time

    model = ["--model", str(model_dir)] if model_dir is not None else []
    cmd = [sys.executable, "-m", "codefavor", "serve", *model, "--port", "0", *args]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "listening on " in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return proc, line.split("listening on ")[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"codefavor serve did not start: {' '.join(cmd)}")


def stop_serve(proc) -> None:
    """SIGTERM (clean shutdown), then SIGKILL if it does not end within 30 s."""
    import signal
    import subprocess

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
