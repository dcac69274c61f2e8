"""`codefavor download`: fetch and verify the CodePrefBench files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def download(
    data: Annotated[Optional[Path], typer.Option(help="Folder to save into (default: the user cache).")] = None,
) -> None:
    """Download and verify the four CodePrefBench files."""
    from codefavor.benchmark.data import fetch_all

    for cat, path in fetch_all(data).items():
        typer.echo(f"{cat}: {path}")
