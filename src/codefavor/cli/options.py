"""Options every command group shares, declared once so their names and meanings stay the same, and
the small helpers commands use to read option values and to draw progress."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from codefavor.errors import CodefavorError

if TYPE_CHECKING:
    from codefavor.generators.engine import RunProgress

# --base-url / --api-key / --no-cache: how a model-backed judge or a backend reaches its model.
BaseUrl = Annotated[
    Optional[str], typer.Option(help="OpenAI-compatible base URL for API models (default: $OPENAI_BASE_URL).")
]
ApiKey = Annotated[Optional[str], typer.Option(help="API key (default: $OPENAI_API_KEY).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Bypass the response cache.")]
# --batch / --batch-poll / --batch-offline: LLM calls as OpenAI batch jobs kept in RUN/batch.
UseBatch = Annotated[
    bool, typer.Option("--batch", help="Send the LLM calls as OpenAI batch jobs (resumable from RUN/batch).")
]
BatchPoll = Annotated[float, typer.Option(help="Seconds between polls of a batch job.")]
BatchOffline = Annotated[
    bool,
    typer.Option(
        "--batch-offline",
        help="Only write the batch file (for `vllm run-batch`); read its output with `batch collect`.",
    ),
]


def batch_folder(run: Path, batch: bool, offline: bool) -> Path | None:
    """Where a run keeps its batch jobs: RUN/batch when --batch or --batch-offline is given."""
    return run / "batch" if batch or offline else None


# --engine / --address / --workers: where a stage's per-item work runs (`codefavor.engines`).
Engine = Annotated[str, typer.Option(help="local (this process) or ray (a Ray cluster; extra `ray`).")]
Address = Annotated[
    Optional[str], typer.Option(help="Ray cluster address, e.g. HEAD:6379 (default: $RAY_ADDRESS, else a local one).")
]
Workers = Annotated[Optional[int], typer.Option(help="Ray workers (actors); default one per cluster CPU.")]

# --data: where CodePrefBench is.
Data = Annotated[
    Optional[Path],
    typer.Option(
        help="CodePrefBench folder (default: $CODEFAVOR_DATA, the user cache, then a download); "
        "for bench and report also a file or folder of your own tasks."
    ),
]

# --output / --overwrite: the run folder of a resumable command.
RunFolder = Annotated[Path, typer.Option("--output", help="Run folder (resumable: a rerun continues it).")]
Overwrite = Annotated[bool, typer.Option(help="Start the output afresh, discarding what is there.")]

# --json: print the result as JSON instead of a table.
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

Judge = Annotated[Optional[str], typer.Option(help="Judge spec, e.g. 'evidence' (the default), 'gen:openai:MODEL'.")]
Criterion = Annotated[str, typer.Option(help="correctness, efficiency, security, human-preference, or free text.")]
Instruction = Annotated[str, typer.Option(help="The instruction, as text or a file path.")]


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def warn(text: str) -> None:
    typer.echo(f"codefavor: warning: {text}", err=True)


_PATHLIKE = re.compile(r"\S+")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def text_or_file(value: str, flag: str) -> str:
    """An option that takes text or a path: an existing file is read; a value that looks like a path
    (one word with a '/' or a file suffix, e.g. `task.md`) but is no file is an error, not the text."""
    from codefavor.codetools import read_source

    p = Path(value)
    try:
        exists = len(value) < 4096 and "\n" not in value and p.exists()
    except OSError:
        exists = False
    if exists:
        try:
            return read_source(p)
        except CodefavorError as e:
            raise CodefavorError(f"{flag} {e}") from None
    if _PATHLIKE.fullmatch(value) and ("/" in value or _SUFFIX.search(value)):
        raise CodefavorError(f"{flag} {value}: no such file (pass the text itself, or the path of a file that exists)")
    return value


@contextmanager
def progress_bar(label: str, disable: bool) -> Iterator[Callable[[RunProgress], None]]:
    """A progress bar on stderr for a generator run; it appears with the first progress report, so
    an error while the run folder is checked stays one line."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=disable,
    )  # fmt: skip
    task = bar.add_task(label, total=None)

    def update(p: RunProgress) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, total=p.total, completed=p.done, description=f"{label} (+{p.new.get('kept', 0)} kept)")

    try:
        yield update
    finally:
        if bar.live.is_started:
            bar.stop()


@contextmanager
def counting_bar(label: str, disable: bool, eta: bool = False) -> Iterator[Any]:
    """A progress bar for a judging run: `.start(total, done)` once the work is known, `.to(done)`."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if eta:
        columns += [TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, transient=False, disable=disable) as bar:
        task = bar.add_task(label, total=None)

        class Handle:
            def start(self, total: int, done: int) -> None:
                bar.update(task, total=total, completed=done)

            def to(self, done: int, *_: Any) -> None:
                bar.update(task, completed=done)

            def advance(self, n: int) -> None:
                bar.advance(task, n)

        yield Handle()
