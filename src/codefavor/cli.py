"""The `codefavor` command line: one thin function per subcommand, heavy imports inside each.

`main()` turns `CodefavorError`s into one line on stderr and exit code 2; tracebacks are kept for
bugs (exit 1). Importing this module must not import torch (a test checks it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.errors import CodefavorError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Learn and judge code preference: generate pairs, train judges, benchmark them.",
)
generate_app = typer.Typer(no_args_is_help=True, help="Generate synthetic preference pairs.")
app.add_typer(generate_app, name="generate")

EXIT_USER_ERROR = 2


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "run"


def _judge_options(base_url: str | None, api_key: str | None, no_cache: bool) -> dict[str, object]:
    opts: dict[str, object] = {}
    if base_url:
        opts["base_url"] = base_url
    if api_key:
        opts["api_key"] = api_key
    if no_cache:
        opts["cache"] = False
    return opts


# ---------------------------------------------------------------------------------------------
# download / bench (benchmark layer)


@app.command()
def download(
    data: Annotated[Optional[Path], typer.Option(help="Folder to save into (default: the user cache).")] = None,
) -> None:
    """Download and verify the four CodePrefBench files."""
    from codefavor.benchmark import data as bench_data

    for cat in bench_data.FILES:
        path = bench_data.resolve_file(cat) if data is None else bench_data.download(cat, data)
        typer.echo(f"{cat}: {path}")


@app.command()
def bench(
    judge: Annotated[Optional[str], typer.Option(help="Judge spec, e.g. 'shorter', 'gen:openai:MODEL'.")] = None,
    category: Annotated[
        Optional[list[str]], typer.Option(help="Category to run (repeatable); default all four.")
    ] = None,
    split: Annotated[str, typer.Option(help="dev, test or all (50/50 by a hash of task_id).")] = "all",
    both_orders: Annotated[bool, typer.Option(help="Also judge each task with the codes swapped.")] = False,
    data: Annotated[Optional[Path], typer.Option(help="Folder with the CodePrefBench files.")] = None,
    output: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/bench/<judge>).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N tasks of each category.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Start the run folder afresh.")] = False,
    keep_comments: Annotated[bool, typer.Option(help="Do not strip comments (protocol ablation).")] = False,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL for API judges.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key (default: $OPENAI_API_KEY).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the response cache.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Evaluate a judge on CodePrefBench by the benchmark's protocol (resumable)."""
    import json
    import shutil

    from codefavor.benchmark import data as bench_data
    from codefavor.benchmark.report import print_table, summarize, to_markdown
    from codefavor.benchmark.runner import Protocol, run_bench
    from codefavor.judges import DEFAULT_JUDGE, load_judge
    from codefavor.records import CATEGORIES

    if split not in ("dev", "test", "all"):
        raise CodefavorError(f"--split {split!r}: expected dev, test or all")
    cats = tuple(category or CATEGORIES)
    for c in cats:
        if c not in CATEGORIES:
            raise CodefavorError(f"--category {c!r}: expected one of {', '.join(CATEGORIES)}")
    tasks = bench_data.load_tasks(cats, data, split=split)  # type: ignore[arg-type]
    if limit is not None:
        kept, seen = [], {c: 0 for c in cats}
        for t in tasks:
            if seen[t.category] < limit:
                kept.append(t)
                seen[t.category] += 1
        tasks = kept
    shas = {c: bench_data.FILES[c][1] for c in cats}  # type: ignore[index]
    the_judge = load_judge(judge or DEFAULT_JUDGE, **_judge_options(base_url, api_key, no_cache))
    out = output or Path("runs") / "bench" / _slug(the_judge.spec)
    if overwrite and out.exists():
        shutil.rmtree(out)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=False,
        disable=json_out,
    ) as bar:
        task_bar = bar.add_task("judge", total=None)

        def on_start(total: int, already: int) -> None:
            bar.update(task_bar, total=total, completed=already)

        def on_progress(done: int, _new: int) -> None:
            bar.update(task_bar, completed=done)

        judgments = run_bench(
            the_judge,
            tasks,
            out,
            protocol=Protocol(both_orders=both_orders, strip_comments=not keep_comments, split=split),
            data_sha256=shas,
            progress=on_progress,
            on_start=on_start,
        )
    summary = summarize(tasks, judgments)
    summary.update(judge=the_judge.spec, split=split, both_orders=both_orders, run_dir=str(out))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(
        to_markdown(summary, f"CodePrefBench: {the_judge.spec} ({split})") + "\n", encoding="utf-8"
    )
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_table(summary, f"CodePrefBench: {the_judge.spec} (split {split})")
        typer.echo(f"results: {out}")


# ---------------------------------------------------------------------------------------------
# judge (issue 7: evidence judge)


# ---------------------------------------------------------------------------------------------
# generate commit-instruct (issue 4)


# ---------------------------------------------------------------------------------------------
# generate critic-evol (issue 5)


# ---------------------------------------------------------------------------------------------
# train / merge (issue 6)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    help=(
        "Train a judge from one YAML config; any config field can be overridden after it, e.g. "
        "`codefavor train configs/train/cpu_tiny.yaml --learning_rate 5e-6 --max_steps 20`. "
        "Multi-GPU: `accelerate launch --config_file configs/accelerate/zero3.yaml -m codefavor train CONFIG`."
    ),
)
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Argument(help="Training config YAML (see configs/train/).")],
) -> None:
    from codefavor.training.config import load_config
    from codefavor.training.run import train as run_training

    cfg = load_config(config, list(ctx.args))
    out = run_training(cfg)
    typer.echo(f"model: {out}  (judge it with: codefavor bench --judge hf-cls:{out})")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    help=(
        "Average the weights of checkpoints of one model, streamed tensor by tensor: "
        "`codefavor merge A B [C ...] [--weights 0.5 0.5] --output DIR [--overwrite]`. "
        "Folders may be full models or LoRA adapters (merged into their base first); weights default to uniform."
    ),
)
def merge(ctx: typer.Context) -> None:
    import argparse

    from codefavor.training.merge import merge_checkpoints

    # argparse, not typer options: `--weights 0.5 0.5` takes several values after one flag.
    parser = argparse.ArgumentParser(prog="codefavor merge", description=ctx.command.help)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="two or more model or LoRA-adapter folders")
    parser.add_argument("--weights", nargs="+", type=float, help="one weight per checkpoint (normalized)")
    parser.add_argument("--output", required=True, type=Path, help="folder for the merged model")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    args = parser.parse_args(list(ctx.args))
    out = merge_checkpoints(args.checkpoints, args.output, args.weights, overwrite=args.overwrite)
    typer.echo(f"merged {len(args.checkpoints)} checkpoints into {out}")


# ---------------------------------------------------------------------------------------------
# serve (issue 3)


# ---------------------------------------------------------------------------------------------
# rank / verify (issue 8)


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except CodefavorError as e:
        print(f"codefavor: error: {e}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("codefavor: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as e:  # click usage errors carry their own exit code
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
