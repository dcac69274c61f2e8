"""`codefavor train` (one YAML config, any field overridable) and `codefavor merge` (weight averaging)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.cli.options import Overwrite

TRAIN_HELP = (
    "Train a judge from one YAML config; any config field can be overridden after it, e.g. "
    "`codefavor train configs/train/cpu_tiny.yaml --learning_rate 5e-6 --max_steps 20`. "
    "Multi-GPU: `accelerate launch --config_file configs/accelerate/zero3.yaml -m codefavor train CONFIG`."
)
# The overrides are TrainingArguments fields (`--learning_rate 5e-6`), parsed by the config's own parser.
TRAIN_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Argument(help="Training config YAML (see configs/train/).")],
) -> None:
    from codefavor.training.config import load_config
    from codefavor.training.run import train as run_training

    out = run_training(load_config(config, list(ctx.args)))
    typer.echo(f"model: {out}  (judge it with: codefavor bench --judge hf-cls:{out})")


def merge(
    checkpoints: Annotated[list[Path], typer.Argument(help="Two or more model or LoRA-adapter folders.")],
    output: Annotated[Path, typer.Option(help="Folder for the merged model.")],
    weight: Annotated[
        Optional[list[float]], typer.Option(help="Weight of each checkpoint, in order (repeat once per checkpoint).")
    ] = None,
    overwrite: Overwrite = False,
) -> None:
    """Average the weights of checkpoints of one model, streamed tensor by tensor (uniform by default;
    LoRA adapters are merged into their base first)."""
    from codefavor.training.merge import merge_checkpoints

    out = merge_checkpoints(checkpoints, output, weight or None, overwrite=overwrite)
    typer.echo(f"merged {len(checkpoints)} checkpoints into {out}")
