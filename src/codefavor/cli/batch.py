"""`codefavor batch collect`: read a batch output file run elsewhere (`vllm run-batch`, a provider's
download) into a run folder's batch results, so a rerun of the stage uses its answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codefavor.cli.options import Json, echo_json

app = typer.Typer(no_args_is_help=True, help="OpenAI batch files: collect outputs run offline.")


@app.command("collect")
def collect(
    output: Annotated[Path, typer.Argument(help="A batch output file (JSONL: custom_id, response, error).")],
    into: Annotated[Path, typer.Option("--into", help="The batch folder of the run (RUN/batch).")],
    json_out: Json = False,
) -> None:
    """Add the answers of a batch output file to RUN/batch; then rerun the stage with --batch-offline or --batch."""
    from codefavor.backends.batch import collect_file

    counts = collect_file(output, into)
    if json_out:
        echo_json(counts)
    else:
        typer.echo(f"{counts['answers']} answers, {counts['failures']} failures -> {into / 'results.jsonl'}")
