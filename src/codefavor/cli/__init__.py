"""The `codefavor` command line: the app, assembled from one module per command group, and the one error boundary.

Groups: `data` (download), `bench` (bench, report), `judge` (judge, rank, verify), `generate`
(commit-instruct, critic-evol), `batch` (collect), `train` (train, merge), `serve`, `label` (export, import),
`recipe` (run). Each
command parses its options and makes one library call; the modules import the library lazily, so
`import codefavor.cli` imports neither torch nor ray (a test checks it). `main()` is the boundary:
a user error (a `CodefavorError`, or a usage error: no command, a missing option, a bad value, an
unknown command) is one line on stderr and exit code 2, with the parameter names the library's
messages quote (`overwrite=True`) shown as the flags that set them (--overwrite); Ctrl-C is one
line and exit code 130; tracebacks are kept for bugs (exit code 1).
"""

from __future__ import annotations

import sys

import typer

from codefavor.cli import batch, bench, data, generate, judge, label, recipe, serve, train
from codefavor.cli.messages import EXIT_INTERRUPTED, EXIT_USER_ERROR, as_flags, usage_message
from codefavor.errors import CodefavorError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Learn and judge code preference: generate pairs, train judges, benchmark them.",
)
app.command()(data.download)
app.command()(bench.bench)
app.command()(bench.report)
app.command()(judge.judge)
app.command()(judge.rank)
app.command()(judge.verify)
app.add_typer(generate.app, name="generate")
app.add_typer(batch.app, name="batch")
app.command(context_settings=train.TRAIN_SETTINGS, help=train.TRAIN_HELP)(train.train)
app.command()(train.merge)
app.command()(serve.serve)
app.add_typer(label.app, name="label")
app.add_typer(recipe.app, name="recipe")


def _exit(message: str, code: int) -> None:
    print(f"codefavor: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors become one line and exit code 2, Ctrl-C exit code 130."""
    try:
        code = app(args=argv, standalone_mode=False, prog_name="codefavor")
    except CodefavorError as e:
        _exit(f"error: {' '.join(as_flags(str(e), app).splitlines())}", EXIT_USER_ERROR)
    except (KeyboardInterrupt, typer.Abort):
        _exit("interrupted", EXIT_INTERRUPTED)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:
        usage = usage_message(e)
        if usage is None:
            raise
        _exit(f"error: {usage}", EXIT_USER_ERROR)
    # Without standalone mode typer returns an exit code instead of raising: 130 after Ctrl-C.
    if code == EXIT_INTERRUPTED:
        _exit("interrupted", EXIT_INTERRUPTED)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
