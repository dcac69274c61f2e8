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


# ---------------------------------------------------------------------------------------------
# serve (issue 3)


@app.command()
def serve(
    model: Annotated[
        Optional[str], typer.Option(help="Local HF model (folder or hub id) for /v1/chat/completions.")
    ] = None,
    judge: Annotated[
        Optional[list[str]], typer.Option(help="Judge spec to serve on /v1/judge (repeatable; first is default).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; non-loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one and prints it).")] = 8000,
    token: Annotated[
        Optional[str], typer.Option(envvar="CODEFAVOR_SERVE_TOKEN", help="Bearer token clients must send.")
    ] = None,
    model_name: Annotated[Optional[str], typer.Option(help="Model id in the API (default: folder name).")] = None,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16 or float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, mps.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Chat requests generated together.")] = 8,
    max_tokens: Annotated[Optional[int], typer.Option(help="Cap on max_tokens per request.")] = None,
    max_concurrent: Annotated[int, typer.Option(help="Requests admitted at once; more get 429.")] = 64,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body, MiB; larger gets 413.")] = 4.0,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL for API judges.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key for API judges.")] = None,
    cache: Annotated[bool, typer.Option("--cache", help="Cache the served model's answers.")] = False,
) -> None:
    """Serve a local model (OpenAI-compatible) and judges over HTTP."""
    import socket

    if not model and not judge:
        raise CodefavorError("nothing to serve: give --model PATH and/or --judge SPEC")
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        from codefavor.errors import MissingExtraError

        raise MissingExtraError("serve", e.name or "fastapi") from e
    from codefavor.server import is_loopback

    if not is_loopback(host) and not token:
        raise CodefavorError(
            f"refusing to listen on {host!r} without a token; set --token (or CODEFAVOR_SERVE_TOKEN) or use 127.0.0.1"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        raise CodefavorError(f"cannot listen on {host}:{port}: {e}") from None

    from codefavor.judges import load_judge
    from codefavor.judges.generative import GenerativeJudge
    from codefavor.server import create_app

    backend = None
    if model:
        from codefavor.backends.hf import HFBackend

        backend = HFBackend(model, dtype=dtype, device=device, batch_size=batch_size, cache=cache)
    judges = {}
    for spec in judge or []:
        if backend is not None and spec in (f"hf-gen:{model}", f"gen:hf:{model}"):
            # share the loaded model, and keep the served length cap
            judges[spec] = GenerativeJudge(f"hf:{model}", backend=backend, max_tokens=min(1024, max_tokens or 1024))
            continue
        opts = _judge_options(base_url, api_key, no_cache=False)
        judges[spec] = load_judge(spec, **opts)
    name = model_name or (Path(model).name if model else None)
    app = create_app(
        backend=backend,
        model_name=name,
        judges=judges,
        token=token,
        max_body_bytes=int(max_body_mb * (1 << 20)),
        max_concurrent=max_concurrent,
        max_batch=batch_size,
        max_tokens_cap=max_tokens,
    )
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    typer.echo(f"codefavor serve: listening on http://{shown}:{bound_port}/v1", err=True)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=30, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


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
