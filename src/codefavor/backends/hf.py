"""Local transformers backend: batched chat generation with left padding (`hf:PATH_OR_HUB_ID`).

Conversations are rendered with the model's own chat template, sorted by length and generated in
batches of `batch_size`, left-padded so every row continues from its last prompt token. Greedy when
`temperature` is 0, sampled otherwise (with `top_p`, `seed`, `n`). Stop strings end a row early
(transformers' `stop_strings`) and are cut from the text, as the OpenAI API does. `device` and
`dtype` default to "auto", resolved by the one choice every local model shares
(`models.resolve_device` / `resolve_dtype`: CUDA, then Apple MPS, then CPU; bf16 on CUDA when
supported, else fp16 on a GPU, fp32 on CPU), or take a name like "cuda:1" or "bfloat16". A prompt
too long for the model becomes a failed Generation with the reason, not an exception for the whole
batch. Finished generations go to the response cache unless `cache=False`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codefavor.backends import Generation, Message, Sampling, check_options
from codefavor.backends.cache import cache_key, open_cache
from codefavor.models import load_model_and_tokenizer, resolve_device, resolve_dtype


def _load_model_and_tokenizer(path: str, dtype: Any, device: str) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer (HF folder, hub id or `.gguf` file) on `device`, in eval mode,
    through the one loader every local-model path shares (a missing `hf` extra is a MissingExtraError)."""
    model, tokenizer = load_model_and_tokenizer(path, dtype=dtype, device=device)
    return model.eval(), tokenizer


def model_fingerprint(path: str) -> str:
    """What identifies the weights for the cache: the resolved folder plus its files' sizes and times."""
    p = Path(path)
    if not p.is_dir():
        return path  # a hub id (pinned by the local hub cache)
    parts = [str(p.resolve())]
    for f in sorted(p.iterdir()):
        if f.is_file():
            st = f.stat()
            parts.append(f"{f.name}:{st.st_size}:{int(st.st_mtime)}")
    return "|".join(parts)


class HFBackend:
    kind = "hf"

    def __init__(
        self,
        path: str,
        *,
        dtype: str | None = "auto",
        device: str | None = "auto",
        batch_size: int = 8,
        cache: Any = True,
        max_input_tokens: int | None = None,
        **unknown: Any,
    ):
        check_options(f"hf:{path}", unknown, HFBackend)
        self.path = path
        self.spec = f"hf:{path}"
        self.model_name = path
        self.batch_size = max(1, int(batch_size))
        self.device = resolve_device(device)
        self.model, self.tokenizer = _load_model_and_tokenizer(path, resolve_dtype(dtype, self.device), self.device)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        limit = getattr(self.model.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        self.context_length = int(min(limit, max_input_tokens or limit))
        self.fingerprint = model_fingerprint(path)
        self.cache = open_cache(cache)
        self._lock = threading.Lock()  # one generate at a time: the model is not re-entrant

    def render(self, conv: list[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        return "".join(f"{m['role']}: {m['content']}\n" for m in conv) + "assistant: "

    def generate(self, conversations: Sequence[list[Message]], sampling: Sampling) -> list[Generation]:
        convs = [list(c) for c in conversations]
        keys = [cache_key(self.kind, self.fingerprint, self.model_name, c, sampling) for c in convs]
        results: list[Generation | None] = [None] * len(convs)
        if self.cache is not None:
            hits = self.cache.get_many(keys)
            results = [hits.get(k) for k in keys]
        todo: list[tuple[int, list[int]]] = []
        for i, r in enumerate(results):
            if r is not None:
                continue
            ids = self.tokenizer(self.render(convs[i]), add_special_tokens=False)["input_ids"]
            if len(ids) + sampling.max_tokens > self.context_length:
                results[i] = Generation(
                    error=f"prompt of {len(ids)} tokens + max_tokens {sampling.max_tokens} exceeds the model's "
                    f"context of {self.context_length} tokens"
                )
            else:
                todo.append((i, ids))
        todo.sort(key=lambda t: len(t[1]))  # similar lengths share a batch: less padding
        with self._lock:
            for b in range(0, len(todo), self.batch_size):
                batch = todo[b : b + self.batch_size]
                for (i, _), gen in zip(batch, self._generate_batch([ids for _, ids in batch], sampling), strict=True):
                    results[i] = gen
                    if self.cache is not None:
                        self.cache.put(keys[i], gen, self.kind, self.model_name)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _generate_batch(self, batch_ids: list[list[int]], sampling: Sampling) -> list[Generation]:
        import torch

        tok = self.tokenizer
        padded = tok.pad({"input_ids": batch_ids}, padding=True, return_tensors="pt")
        input_ids = padded["input_ids"].to(self.device)
        attention = padded["attention_mask"].to(self.device)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=sampling.max_tokens,
            num_return_sequences=sampling.n,
            pad_token_id=tok.pad_token_id,
        )
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=tok)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        t0 = time.monotonic()
        try:
            with torch.inference_mode():
                out = self.model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        except (RuntimeError, ValueError) as e:  # out of memory, bad config: record it for every row
            reason = f"generation failed: {type(e).__name__}: {str(e)[:300]}"
            return [Generation(error=reason, latency_s=time.monotonic() - t0) for _ in batch_ids]
        latency = time.monotonic() - t0
        new = out[:, input_ids.shape[1] :].tolist()
        eos = self.model.generation_config.eos_token_id
        stop_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else []) | {tok.pad_token_id}
        gens = []
        for row, prompt_len in enumerate(attention.sum(dim=1).tolist()):
            texts, used = [], 0
            for j in range(sampling.n):
                seq = new[row * sampling.n + j]
                end = next((k + 1 for k, t in enumerate(seq) if t in stop_ids), len(seq))
                used += end
                text = tok.decode(seq[:end], skip_special_tokens=True)
                for s in sampling.stop:
                    cut = text.find(s)
                    if cut >= 0:
                        text = text[:cut]
                texts.append(text)
            gens.append(
                Generation(texts=texts, prompt_tokens=int(prompt_len), completion_tokens=used, latency_s=latency)
            )
        return gens
