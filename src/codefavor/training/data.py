"""Training rows for CodeFavor judges, built from `PreferencePair` JSONL files.

Each pair becomes two rows, one per presentation order (chosen code at A, then at B), so the
judge cannot learn a position shortcut. The prompt is `prompts.judge_messages` in the base model's
chat template with the assistant turn opened (`prompts.prompt_ids`), exactly what the judges send
at inference. Targets:
  - classification: the single token "A" or "B" (the winner's position);
  - generative: the pair's feedback with `[CHOSEN]`/`[REJECTED]` renamed to "Candidate A"/
    "Candidate B" for that order, then `prompts.verdict_line(winner)` and the EOS token.
Loss is on the target only (prompt labels are -100). A row longer than `max_seq_length` is never
cut (cutting would drop code the verdict depends on): its pair is dropped and counted in
`BuildStats`. Generative rows whose feedback is empty or names neither code are dropped too.
Each row also records where its decision token sits (`answer_index`) and the (winner, loser)
token ids there, so held-out pairwise accuracy can be read off one forward pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from codefavor.errors import CodefavorError
from codefavor.prompts import JudgeType, judge_messages, label_token_ids, prompt_ids, resolve_criterion, verdict_line
from codefavor.records import PreferencePair, content_id, read_records

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CHOSEN_TAG, REJECTED_TAG = "[CHOSEN]", "[REJECTED]"


@dataclass
class BuildStats:
    """What the builder kept and why it dropped the rest (nothing is dropped silently)."""

    pairs_read: int = 0
    pairs_kept: int = 0
    rows: int = 0
    dropped_too_long: int = 0
    dropped_no_feedback: int = 0
    longest_dropped_tokens: int = 0
    longest_kept_tokens: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rename_tags(feedback: str, chosen_at: Literal["A", "B"]) -> str:
    """Feedback about [CHOSEN]/[REJECTED] rewritten for the order where the chosen code is at `chosen_at`."""
    rejected_at = "B" if chosen_at == "A" else "A"
    return feedback.replace(CHOSEN_TAG, f"Candidate {chosen_at}").replace(REJECTED_TAG, f"Candidate {rejected_at}")


def pair_messages(pair: PreferencePair, chosen_at: Literal["A", "B"], judge_type: JudgeType) -> list[dict[str, str]]:
    """The judge prompt for `pair` with the chosen code shown at position `chosen_at`."""
    a, b = (pair.chosen, pair.rejected) if chosen_at == "A" else (pair.rejected, pair.chosen)
    return judge_messages(pair.instruction, a, b, resolve_criterion(pair.criterion), judge_type)


def generative_target(pair: PreferencePair, chosen_at: Literal["A", "B"]) -> str:
    return f"{rename_tags(pair.feedback.strip(), chosen_at)}\n{verdict_line(chosen_at)}"


def _first_difference(x: Sequence[int], y: Sequence[int]) -> int:
    for i, (u, v) in enumerate(zip(x, y, strict=False)):
        if u != v:
            return i
    raise CodefavorError("the two verdict lines tokenize identically; cannot locate the decision token")


def build_rows(
    pairs: Iterable[PreferencePair],
    tokenizer: PreTrainedTokenizerBase,
    judge_type: JudgeType,
    max_seq_length: int,
    both_orders: bool = True,
    stats: BuildStats | None = None,
) -> list[dict[str, Any]]:
    """Tokenized rows (input_ids, labels, answer_index, choice_ids, pair_id, order) for `pairs`."""
    stats = stats if stats is not None else BuildStats()
    labels = dict(zip("AB", label_token_ids(tokenizer), strict=True))
    eos = tokenizer.eos_token_id
    rows: list[dict[str, Any]] = []
    for pair in pairs:
        stats.pairs_read += 1
        if judge_type == "generative" and (
            not pair.feedback.strip() or (CHOSEN_TAG not in pair.feedback and REJECTED_TAG not in pair.feedback)
        ):
            stats.dropped_no_feedback += 1
            continue
        pair_rows = []
        for chosen_at in ("A", "B") if both_orders else ("A",):
            loser = "B" if chosen_at == "A" else "A"
            prompt = prompt_ids(tokenizer, pair_messages(pair, chosen_at, judge_type))
            if judge_type == "classification":
                target = [labels[chosen_at]]
                answer_index, choice_ids = len(prompt), (labels[chosen_at], labels[loser])
            else:
                text = generative_target(pair, chosen_at)
                target = tokenizer(text, add_special_tokens=False)["input_ids"]
                # The decision token is where the winner's and loser's verdict lines first differ.
                other = tokenizer(
                    text[: -len(verdict_line(chosen_at))] + verdict_line(loser), add_special_tokens=False
                )
                k = _first_difference(target, other["input_ids"])
                answer_index, choice_ids = len(prompt) + k, (target[k], other["input_ids"][k])
                if eos is not None:
                    target = target + [eos]
            pair_rows.append(
                {
                    "input_ids": prompt + target,
                    "labels": [-100] * len(prompt) + target,
                    "answer_index": answer_index,
                    "choice_ids": choice_ids,
                    "pair_id": pair.id,
                    "order": "AB" if chosen_at == "A" else "BA",
                }
            )
        longest = max(len(r["input_ids"]) for r in pair_rows)
        if longest > max_seq_length:
            stats.dropped_too_long += 1
            stats.longest_dropped_tokens = max(stats.longest_dropped_tokens, longest)
            continue
        stats.longest_kept_tokens = max(stats.longest_kept_tokens, longest)
        stats.pairs_kept += 1
        stats.by_source[pair.source] = stats.by_source.get(pair.source, 0) + 1
        rows.extend(pair_rows)
    stats.rows = len(rows)
    return rows


def load_pairs(files: Sequence[str | Path], max_pairs: int | None = None) -> list[PreferencePair]:
    """All pairs of the given JSONL(.gz) files, in order, without duplicates (by content id)."""
    pairs: list[PreferencePair] = []
    seen: set[str] = set()
    for f in files:
        for pair in read_records(f, PreferencePair):
            if pair.id not in seen:
                seen.add(pair.id)
                pairs.append(pair)
            if max_pairs is not None and len(pairs) >= max_pairs:
                return pairs
    return pairs


def split_pairs(
    pairs: Sequence[PreferencePair], eval_fraction: float, seed: int = 0
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """A held-out split by a hash of each pair's id: stable across runs and file order, and both
    orders of a pair always land on the same side."""
    if not 0 <= eval_fraction < 1:
        raise CodefavorError(f"eval_fraction {eval_fraction}: expected a number in [0, 1)")
    train, held = [], []
    for p in pairs:
        bucket = int(content_id("split", seed, p.id), 16) / 16**16
        (held if bucket < eval_fraction else train).append(p)
    return train, held
