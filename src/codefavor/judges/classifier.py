"""The classification judge (`hf-cls:PATH`): one forward pass per pair and order, no generation.

The model reads the compact judge prompt (`judge_messages(..., "classification")` in its own chat
template, assistant turn opened) and we compare only two logits at the last position: the tokens
"A" and "B". P(A) = softmax over those two. By default every pair is also shown with the codes
swapped and the two probabilities for the same code are averaged, which cancels the model's
position bias. Prompts are sorted by length and packed into batches under a token budget, left
padded with explicit position ids, so a prompt's score does not depend on its batch neighbours
(a test checks that decisions are the same at any batch size).

The two orders of a pair share their opening tokens (chat template, task, up to the first code), so
by default (`share_prefix`) that common prefix is run once and its KV cache reused for the two
continuations, scored together in one right-padded pass (`score_pair_orders`): the same logits as
two full prompts (a test checks), fewer tokens processed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codefavor.backends import check_options
from codefavor.judges import TIE_MARGIN, PairItem, Verdict, decide_prob
from codefavor.prompts import judge_messages, label_token_ids, prompt_ids, resolve_criterion

if TYPE_CHECKING:
    import torch


def pack_batches(lengths: Sequence[int], max_batch_size: int, max_batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches, shortest first, each within `max_batch_size` rows and
    `max_batch_tokens` padded tokens (rows x longest); a single over-budget prompt gets its own batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending, so the newest row is the longest
        if current and (len(current) >= max_batch_size or (len(current) + 1) * longest > max_batch_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: Any = "cpu") -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and position_ids for left-padded rows. Position ids count real
    tokens only, so padding never shifts a prompt's positions."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "position_ids": positions.to(device)}


def score_prompts(
    model,
    rows: Sequence[Sequence[int]],
    label_ids: tuple[int, int],
    pad_id: int,
    max_batch_size: int = 16,
    max_batch_tokens: int = 16384,
) -> tuple[list[float], int]:
    """P(first label) for each tokenized prompt, from the two label logits at its last position.
    Returns the probabilities in input order and the number of forward passes made."""
    import torch

    device = next(model.parameters()).device
    probs = [0.0] * len(rows)
    batches = pack_batches([len(r) for r in rows], max_batch_size, max_batch_tokens)
    with torch.inference_mode():
        for batch in batches:
            inputs = left_pad([rows[i] for i in batch], pad_id, device)
            # logits_to_keep=1: only the last position is projected onto the vocabulary.
            logits = model(**inputs, logits_to_keep=1).logits[:, -1, :]
            pair = logits[:, list(label_ids)].float()
            p_first = torch.softmax(pair, dim=-1)[:, 0].tolist()
            for i, p in zip(batch, p_first, strict=True):
                probs[i] = p
    return probs, len(batches)


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences, leaving each at least one token
    of its own (the continuation must end at the position whose logits are read)."""
    n = min(len(a), len(b)) - 1
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def score_pair_orders(model, first: Sequence[int], second: Sequence[int], label_ids: tuple[int, int], pad_id: int):
    """P(first label) for two prompts that share a prefix: one forward over the prefix (cache kept),
    then one over both continuations, right padded, so no real token attends to padding. Returns the
    two probabilities, the tokens run through the model and the forward passes made."""
    import torch

    device = next(model.parameters()).device
    k = common_prefix_len(first, second)
    tails = [list(first[k:]), list(second[k:])]
    width = max(len(t) for t in tails)
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([list(first[:k])], device=device), use_cache=True, logits_to_keep=1)
        cache = getattr(out, "cache", None) or out.past_key_values
        cache.batch_repeat_interleave(2)
        ids = torch.full((2, width), pad_id, dtype=torch.long)
        mask = torch.zeros((2, k + width), dtype=torch.long)
        mask[:, :k] = 1
        for i, t in enumerate(tails):
            ids[i, : len(t)] = torch.tensor(t, dtype=torch.long)
            mask[i, k : k + len(t)] = 1
        positions = (torch.arange(width) + k).unsqueeze(0).expand(2, -1)
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            cache=cache,
            use_cache=False,
        ).logits
        last = torch.tensor([len(t) - 1 for t in tails], device=logits.device)
        pair = logits[torch.arange(2, device=logits.device), last][:, list(label_ids)].float()
        p_first = torch.softmax(pair, dim=-1)[:, 0].tolist()
    return p_first, k + len(tails[0]) + len(tails[1]), 2


class ClassifierJudge:
    """`hf-cls:PATH`: PATH is a HF folder, hub id or `.gguf` file of a causal LM with a chat template.

    Options: `both_orders` (default True: average with the swapped order), `share_prefix` (default
    True: the two orders reuse one KV cache of their common prefix), `max_batch_size` and
    `max_batch_tokens` (dynamic batching), `batch_size` (items the runner hands over per call),
    `max_length` (longer prompts are answered "undecided" with an error, never truncated),
    `tie` (an averaged P(A) within this of 0.5 is undecided: `judges.TIE_MARGIN`), `dtype`, `device`."""

    def __init__(
        self,
        path: str | Path,
        both_orders: bool = True,
        share_prefix: bool = True,
        batch_size: int = 64,
        max_batch_size: int = 16,
        max_batch_tokens: int = 16384,
        max_length: int | None = None,
        tie: float = TIE_MARGIN,
        dtype: str = "auto",
        device: str = "auto",
        cache: bool = True,  # accepted for CLI symmetry: local scoring is not cached
        **options: Any,
    ):
        from codefavor.models import load_model_and_tokenizer

        self.spec = f"hf-cls:{path}"
        check_options(self.spec, options, ClassifierJudge)
        self.both_orders = both_orders
        self.tie = float(tie)
        self.share_prefix = share_prefix
        self.batch_size = batch_size
        self.max_batch_size = max_batch_size
        self.max_batch_tokens = max_batch_tokens
        self.model, self.tokenizer = load_model_and_tokenizer(path, dtype=dtype, device=device)
        self.model.eval()
        self.label_ids = label_token_ids(self.tokenizer)
        self.max_length = max_length or getattr(self.model.config, "max_position_embeddings", None) or 1 << 30

    def _judge_shared(self, items, rows, too_long, start) -> list[Verdict]:
        """Both orders of each item through one shared-prefix cache (rows come in (AB, BA) pairs)."""
        results: dict[int, tuple[list[float], int, int]] = {}
        for i in range(len(items)):
            if i in too_long:
                continue
            (p, q), tokens, passes = score_pair_orders(
                self.model, rows[2 * i], rows[2 * i + 1], self.label_ids, self.tokenizer.pad_token_id
            )
            results[i] = ([p, 1.0 - q], tokens, passes)  # the swapped prompt's first label names code b
        latency = (time.perf_counter() - start) / max(1, len(items))
        verdicts = []
        for i in range(len(items)):
            if i in too_long:
                verdicts.append(self._too_long(too_long[i], latency))
                continue
            ps, tokens, passes = results[i]
            verdicts.append(self._verdict(ps, tokens, passes, latency))
        return verdicts

    def _too_long(self, n: int, latency: float) -> Verdict:
        return Verdict(
            decision="undecided",
            signal="model",
            error=f"prompt of {n} tokens exceeds max_length {self.max_length}",
            latency_s=latency,
        )

    def _verdict(self, ps: list[float], tokens: int, passes: int, latency: float) -> Verdict:
        prob_a = sum(ps) / len(ps)
        return Verdict(
            decision=decide_prob(prob_a, self.tie),
            prob_a=prob_a,
            signal="model",
            details={"prob_a_by_order": ps},
            latency_s=latency,
            usage={"prompt_tokens": tokens, "forward_passes": passes},
        )

    def prompt_ids(self, item: PairItem, swapped: bool = False) -> list[int]:
        a, b = (item.b, item.a) if swapped else (item.a, item.b)
        criterion = resolve_criterion(item.criterion, item.category)
        trace = item.trace.text(swapped) if item.trace is not None else None
        return prompt_ids(self.tokenizer, judge_messages(item.instruction, a, b, criterion, "classification", trace))

    def judge(self, items: Sequence[PairItem]) -> list[Verdict]:
        start = time.perf_counter()
        orders = (False, True) if self.both_orders else (False,)
        rows, owners = [], []  # owners[k] = (item index, swapped)
        too_long: dict[int, int] = {}
        for i, item in enumerate(items):
            for swapped in orders:
                ids = self.prompt_ids(item, swapped)
                if len(ids) > self.max_length:
                    too_long[i] = max(too_long.get(i, 0), len(ids))
                rows.append(ids)
                owners.append((i, swapped))
        keep = [k for k, (i, _) in enumerate(owners) if i not in too_long]
        if self.both_orders and self.share_prefix:
            return self._judge_shared(items, rows, too_long, start)
        probs, passes = (
            score_prompts(
                self.model,
                [rows[k] for k in keep],
                self.label_ids,
                self.tokenizer.pad_token_id,
                self.max_batch_size,
                self.max_batch_tokens,
            )
            if keep
            else ([], 0)
        )
        per_item: dict[int, list[float]] = {}
        tokens: dict[int, int] = {}
        for k, p in zip(keep, probs, strict=True):
            i, swapped = owners[k]
            # In the swapped prompt the first label names the item's code b.
            per_item.setdefault(i, []).append(1.0 - p if swapped else p)
            tokens[i] = tokens.get(i, 0) + len(rows[k])
        latency = (time.perf_counter() - start) / max(1, len(items))
        verdicts = []
        for i in range(len(items)):
            if i in too_long:
                verdicts.append(self._too_long(too_long[i], latency))
                continue
            verdicts.append(self._verdict(per_item[i], tokens[i], len(per_item[i]), latency))
        return verdicts
