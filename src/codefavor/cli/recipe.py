"""`codefavor recipe run FILE.yaml`: the whole loop as resumable stages (the library decides; see `codefavor.recipe`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.cli.options import Json, echo_json

app = typer.Typer(no_args_is_help=True, help="Run a recipe: seeds -> generate -> ... -> bench -> report.")


@app.command("run")
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML (see recipes/).")],
    start: Annotated[
        Optional[str], typer.Option("--from", help="Start at this stage (a name or a group: generate, train, bench).")
    ] = None,
    only: Annotated[Optional[list[str]], typer.Option(help="Only this stage or group (repeatable).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the stages, their state and what would run.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Redo the selected stages even when finished.")] = False,
    json_out: Json = False,
) -> None:
    """Run the stages of a recipe; a rerun skips finished ones and resumes the one a kill stopped."""
    from codefavor.recipe import run_recipe

    def log(text: str) -> None:
        typer.echo(text, err=True)

    rows = run_recipe(recipe, only=only or (), start=start, dry_run=dry_run, force=force, log=log)
    if json_out:
        echo_json(rows)
    elif dry_run:
        for r in rows:
            mark = "run " if r["would_run"] else "skip"
            typer.echo(f"{mark}  {r['stage']:<32} {r['state']:<8} {r['folder']}")
    else:
        ran = [r["stage"] for r in rows if r.get("ran")]
        typer.echo(f"ran {len(ran)} stage(s): {', '.join(ran) or 'none'}")
