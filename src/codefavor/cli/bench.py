"""`codefavor bench` (a judge on CodePrefBench or your own tasks) and `codefavor report` (the HTML report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codefavor.cli.options import (
    Address,
    ApiKey,
    BaseUrl,
    BatchOffline,
    BatchPoll,
    Data,
    Engine,
    Json,
    Judge,
    NoCache,
    Overwrite,
    UseBatch,
    Workers,
    batch_folder,
    echo_json,
)


def bench(
    judge: Judge = None,
    category: Annotated[
        Optional[list[str]], typer.Option(help="Category to run (repeatable); default all four.")
    ] = None,
    split: Annotated[str, typer.Option(help="dev, test or all (50/50 by a hash of task_id).")] = "all",
    both_orders: Annotated[bool, typer.Option(help="Also judge each task with the codes swapped.")] = False,
    data: Data = None,
    output: Annotated[Optional[Path], typer.Option(help="Run folder (default runs/bench/<judge>; resumable).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N tasks of each category.")] = None,
    overwrite: Overwrite = False,
    keep_comments: Annotated[bool, typer.Option(help="Do not strip comments (protocol ablation).")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
    batch: UseBatch = False,
    batch_poll: BatchPoll = 30.0,
    batch_offline: BatchOffline = False,
    json_out: Json = False,
    report: Annotated[bool, typer.Option(help="Also write RUN/report.html (needs the report extra).")] = False,
    tasks: Annotated[
        Optional[list[Path]],
        typer.Option(help="A file of your own tasks (BenchTask or prompt/chosen/rejected rows; repeatable)."),
    ] = None,
    columns: Annotated[
        Optional[str],
        typer.Option(
            help="Column mapping for pairwise rows, e.g. prompt=question,chosen=good,rejected=bad,category=kind."
        ),
    ] = None,
    default_category: Annotated[
        Optional[str], typer.Option(help="Category of pairwise rows that name none (default: correctness).")
    ] = None,
    perturb: Annotated[
        Optional[str],
        typer.Option(
            help="Also judge semantics-preserving edits (some of rename,comments,no-comments,reorder; both orders): "
            "accuracy drop and flip rate per category."
        ),
    ] = None,
    engine: Engine = "local",
    address: Address = None,
    workers: Workers = None,
) -> None:
    """Evaluate a judge on CodePrefBench by the benchmark's protocol (resumable; more categories extend the run)."""
    from codefavor.backends import backend_options
    from codefavor.benchmark.importers import parse_columns
    from codefavor.benchmark.report import print_table
    from codefavor.benchmark.runner import BenchProtocol, default_output, evaluate
    from codefavor.cli.options import counting_bar
    from codefavor.engines import EngineSpec, rebuildable
    from codefavor.judges import DEFAULT_JUDGE, load_judge

    kinds = [k.strip() for k in (perturb or "").split(",") if k.strip()]
    cols = parse_columns(columns, default_category)
    protocol = BenchProtocol(both_orders=both_orders or bool(kinds), strip_comments=not keep_comments, split=split)
    if batch or batch_offline:  # the batch jobs live in the run folder, so it is fixed before the judge loads
        output = output if output is not None else default_output(judge or DEFAULT_JUDGE)
    folder = batch_folder(output, batch, batch_offline) if output is not None else None
    where = EngineSpec(engine, address, workers)
    # rebuildable: a Ray worker builds the judge again from the same call (its own pool, its own clients)
    the_judge = rebuildable(
        load_judge,
        judge or DEFAULT_JUDGE,
        **backend_options(base_url, api_key, no_cache, folder, batch_poll, batch_offline),
    )
    with counting_bar("judging", disable=json_out, eta=True) as bar:

        def on_start(total: int, done: int) -> None:
            bar.start(total, done)
            if done:
                typer.echo(f"codefavor: resuming the run folder: {done} of {total} judgments already there", err=True)

        result = evaluate(
            the_judge, categories=category, data=data, limit=limit, protocol=protocol, output=output,
            overwrite=overwrite, progress=bar.to, on_start=on_start, tasks_files=tasks or (), columns=cols,
            perturb=kinds, engine=where,
        )  # fmt: skip
    if json_out:
        echo_json(result.summary)
    else:
        print_table(result.summary, f"{result.summary['dataset']}: {the_judge.spec} (split {split})")
        typer.echo(f"results: {result.out}")
        if "perturb" in result.summary:
            from codefavor.benchmark.report import print_robustness

            pert = result.summary["perturb"]
            print_robustness(pert["categories"], f"Perturbed ({','.join(pert['kinds'])}) vs plain, both orders")
            typer.echo(f"perturbed results: {pert['run_dir']}")
    if report:
        from codefavor.benchmark.html_report import write_report

        page = write_report([result.out], result.out / "report.html", tasks=result.tasks)
        if not json_out:
            typer.echo(f"report: {page}")


def report(
    runs: Annotated[list[Path], typer.Argument(help="Bench run folders (one or more).")],
    output: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("report.html"),
    data: Data = None,
    tasks: Annotated[
        Optional[list[Path]], typer.Option(help="More task files (BenchTask or pairwise rows) the runs judged.")
    ] = None,
    name: Annotated[Optional[list[str]], typer.Option(help="Label of each run, in order (repeatable).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (at least 100).")] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    ci_unit: Annotated[str, typer.Option(help="Resample 'seed' tasks (task_id clusters) or single 'pair's.")] = "seed",
    json_path: Annotated[
        Optional[Path], typer.Option("--json-out", help="Also save every number on the page as JSON here.")
    ] = None,
) -> None:
    """Write one self-contained HTML report (plots, intervals, paired tests, judgments) for bench runs."""
    from codefavor.benchmark.html_report import write_report

    out = write_report(
        runs, output, data_dir=data, task_files=tasks or (), names=name or (), n_boot=bootstrap, seed=seed,
        ci_unit=ci_unit, json_output=json_path,  # type: ignore[arg-type]
    )  # fmt: skip
    typer.echo(f"report: {out}")
