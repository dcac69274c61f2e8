"""`codefavor label export|import`: a human preference study through Label Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.cli.options import Json, echo_json

app = typer.Typer(no_args_is_help=True, help="A human preference study through Label Studio.")


@app.command("export")
def export(
    source: Annotated[Path, typer.Argument(help="BenchTask or PreferencePair JSONL(.gz) to label.")],
    output: Annotated[Path, typer.Option(help="Label Studio tasks JSON (config and project settings beside it).")],
    category: Annotated[Optional[str], typer.Option(help="Category of a CodePrefBench file without one.")] = None,
    annotators: Annotated[int, typer.Option(help="Annotators per task (maximum_annotations).")] = 3,
    run_examples: Annotated[
        bool, typer.Option(help="Run the instruction's examples on both codes in the sandbox and show the results.")
    ] = False,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N records.")] = None,
) -> None:
    """Write Label Studio tasks, a pairwise labeling config and project settings."""
    from codefavor.labelstudio import export_tasks, read_items

    items = read_items(source, category, limit=limit)
    paths = export_tasks(items, output, annotators=annotators, run_examples=run_examples)
    typer.echo(f"{len(items)} tasks -> {paths['tasks']}; config {paths['config']}; project {paths['project']}")


@app.command("import")
def import_(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON export of a codefavor project.")],
    output: Annotated[Path, typer.Option(help="Folder for annotations, labels, bench tasks, pairs and summary.")],
    rule: Annotated[str, typer.Option(help="no-conflict (the paper's) or majority.")] = "no-conflict",
    wage: Annotated[Optional[float], typer.Option(help="Hourly wage, for a cost per task.")] = None,
    json_out: Json = False,
) -> None:
    """Read Label Studio's export: agreement, person-minutes, unsolved rate, bench tasks and pairs."""
    from codefavor.labelstudio import import_export, summary_lines

    summary = import_export(export, output, rule=rule, wage_per_hour=wage)  # type: ignore[arg-type]
    if json_out:
        echo_json(summary)
    else:
        typer.echo("\n".join(summary_lines(summary, output)))
