"""One training run = one YAML file: `TrainConfig` extends transformers' `TrainingArguments`.

Every field has a help string, so `codefavor train CONFIG.yaml --help`-style overrides work for
any of them: the YAML sets the defaults and command-line flags override them
(`codefavor train configs/train/cpu_tiny.yaml --learning_rate 5e-6 --max_steps 10`). Unknown
YAML keys are an error naming the key. Relative paths in the YAML are taken from the current
directory (run from the repository root). Defaults follow the paper's recipe: lr 5e-6, cosine
schedule with 40 warm-up steps, sequence length 2048, both orders, loss on the answer only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from transformers import HfArgumentParser, TrainingArguments

from codefavor.errors import CodefavorError

JUDGE_TYPES = ("classification", "generative")


@dataclass
class TrainConfig(TrainingArguments):
    # ---- what to train
    model: str = field(
        default="",
        metadata={"help": "Base model: an HF folder, a hub id, or a .gguf file (dequantized on load)."},
    )
    judge_type: str = field(
        default="classification",
        metadata={"help": "classification (answer token A/B) or generative (feedback, then a verdict line)."},
    )
    train_files: list[str] = field(
        default_factory=list, metadata={"help": "PreferencePair JSONL(.gz) files to train on."}
    )
    eval_files: list[str] = field(
        default_factory=list,
        metadata={"help": "Held-out PreferencePair files; when empty, eval_fraction of the train pairs is held out."},
    )
    eval_fraction: float = field(
        default=0.02, metadata={"help": "Share of train pairs held out (by a hash of the pair id) when no eval_files."}
    )
    max_pairs: Optional[int] = field(default=None, metadata={"help": "Use only the first N pairs (smoke runs)."})
    max_seq_length: int = field(
        default=2048, metadata={"help": "Longest row in tokens; longer pairs are dropped and counted, never cut."}
    )
    both_orders: bool = field(default=True, metadata={"help": "Emit every pair twice, chosen code at A and at B."})
    model_dtype: str = field(
        default="float32",
        metadata={
            "help": "dtype the weights are loaded in: float32, bfloat16 or auto (bf16 where the GPU has it, else fp32)."
        },
    )
    attn_implementation: Optional[str] = field(
        default=None, metadata={"help": "Attention kernel passed to from_pretrained (sdpa, eager, flash_attention_2)."}
    )
    # ---- LoRA (peft)
    use_lora: bool = field(default=False, metadata={"help": "Train LoRA adapters instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules to adapt ('all-linear' or names such as q_proj v_proj)."},
    )
    save_merged: bool = field(
        default=True,
        metadata={"help": "With LoRA, also write the adapter merged into its base at output_dir (for hf-cls:DIR)."},
    )
    # ---- TrainingArguments defaults changed to the paper's recipe
    output_dir: Optional[str] = field(default="runs/train/judge", metadata={"help": "Where checkpoints go."})
    learning_rate: float = field(default=5e-6, metadata={"help": "Peak learning rate (paper: 5e-6; Gemma-2 2e-6)."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(default=40, metadata={"help": "Linear warm-up steps (paper: 40)."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the (order-doubled) rows."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    eval_strategy: str = field(default="steps", metadata={"help": "When to evaluate: no, steps or epoch."})
    eval_steps: Optional[float] = field(default=100, metadata={"help": "Evaluate every N steps."})
    save_steps: float = field(default=500, metadata={"help": "Checkpoint every N steps."})
    save_total_limit: Optional[int] = field(default=2, metadata={"help": "Keep only the last N checkpoints."})
    logging_steps: float = field(default=10, metadata={"help": "Log every N steps."})
    report_to: Optional[list[str]] = field(
        default_factory=lambda: ["tensorboard"], metadata={"help": "tensorboard, wandb, none, ..."}
    )
    seed: int = field(default=666, metadata={"help": "Seed for data order, LoRA init and dropout."})

    def __post_init__(self) -> None:
        if not self.model:
            raise CodefavorError("config: 'model' is required (an HF folder, hub id or .gguf file)")
        if self.judge_type not in JUDGE_TYPES:
            raise CodefavorError(f"config: judge_type {self.judge_type!r}: expected one of {', '.join(JUDGE_TYPES)}")
        if not self.train_files:
            raise CodefavorError("config: 'train_files' must list at least one PreferencePair JSONL file")
        if not 0 <= self.eval_fraction < 1:
            raise CodefavorError(f"config: eval_fraction {self.eval_fraction}: expected a number in [0, 1)")
        if self.max_seq_length < 16:
            raise CodefavorError(f"config: max_seq_length {self.max_seq_length} is too small")
        if self.use_lora and (self.lora_r < 1 or self.lora_alpha <= 0):
            raise CodefavorError("config: lora_r must be >= 1 and lora_alpha > 0")
        if self.model_dtype not in ("auto", "float32", "bfloat16", "float16", "fp32", "bf16", "fp16"):
            raise CodefavorError(f"config: model_dtype {self.model_dtype!r}: expected float32, bfloat16 or auto")
        # Completion-only rows carry extra keys (answer_index, ...) the collator drops itself.
        self.remove_unused_columns = False
        super().__post_init__()


def _yaml_error(path: Path, e: Exception) -> str:
    """One line for a YAML syntax error: file:line:column and the problem (PyYAML's own text spans
    several lines, with the offending snippet drawn under it)."""
    mark = getattr(e, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    return f"{where}: invalid YAML ({f'{context}: ' if context else ''}{problem})"


def config_fields() -> set[str]:
    return {f.name for f in fields(TrainConfig) if f.init}


def load_config(path: str | Path | None, overrides: list[str] | None = None, **values: Any) -> TrainConfig:
    """A `TrainConfig` from a YAML file, then `--name value` command-line overrides, then `values`."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if p.is_dir():
            raise CodefavorError(
                f"{p}: is a directory; expected a training config YAML file (e.g. configs/train/*.yaml)"
            )
        if not p.is_file():
            raise CodefavorError(
                f"training config not found: {str(p)!r} (expected a YAML file, e.g. configs/train/*.yaml)"
            )
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError:
            raise CodefavorError(f"{p}: not UTF-8 text; expected a training config YAML file") from None
        except yaml.YAMLError as e:
            raise CodefavorError(_yaml_error(p, e)) from None
        if not isinstance(data, dict):
            raise CodefavorError(f"{p}: expected a mapping of option names to values")
    data.update(values)
    unknown = sorted(set(data) - config_fields())
    if unknown:
        raise CodefavorError(f"{path or 'config'}: unknown option(s) {', '.join(map(repr, unknown))}")
    parser = HfArgumentParser(TrainConfig)
    # YAML values become parser defaults, so a flag on the command line wins over the file.
    parser.set_defaults(**data)
    (cfg, rest) = parser.parse_args_into_dataclasses(args=list(overrides or []), return_remaining_strings=True)
    if rest:
        raise CodefavorError(f"unknown command-line option(s): {' '.join(rest)}")
    return cfg
