"""The `codefavor` command line: one thin function per subcommand, heavy imports inside each.

`main()` turns `CodefavorError`s into one line on stderr and exit code 2; tracebacks are kept for
bugs (exit 1). Importing this module must not import torch (a test checks it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from codefavor.backends import backend_options
from codefavor.errors import CodefavorError
from codefavor.prompts import DEFAULT_CRITERION

if TYPE_CHECKING:
    from codefavor.generators.engine import RunProgress, RunResult

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
    report: Annotated[
        bool, typer.Option("--report", help="Also write RUN/report.html (needs the report extra).")
    ] = False,
) -> None:
    """Evaluate a judge on CodePrefBench by the benchmark's protocol (resumable)."""
    import json
    import shutil

    from codefavor.benchmark import data as bench_data
    from codefavor.benchmark.report import print_table, summarize, to_markdown
    from codefavor.benchmark.runner import Protocol, limit_per_category, run_bench
    from codefavor.judges import DEFAULT_JUDGE, load_judge
    from codefavor.records import CATEGORIES
    from codefavor.run_folder import write_json_atomic, write_text_atomic

    if split not in ("dev", "test", "all"):
        raise CodefavorError(f"--split {split!r}: expected dev, test or all")
    cats = tuple(category or CATEGORIES)
    for c in cats:
        if c not in CATEGORIES:
            raise CodefavorError(f"--category {c!r}: expected one of {', '.join(CATEGORIES)}")
    tasks = limit_per_category(bench_data.load_tasks(cats, data, split=split), limit)  # type: ignore[arg-type]
    shas = {c: bench_data.FILES[c][1] for c in cats}  # type: ignore[index]
    the_judge = load_judge(judge or DEFAULT_JUDGE, **backend_options(base_url, api_key, no_cache))
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
    write_json_atomic(out / "summary.json", summary)
    write_text_atomic(out / "summary.md", to_markdown(summary, f"CodePrefBench: {the_judge.spec} ({split})") + "\n")
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        print_table(summary, f"CodePrefBench: {the_judge.spec} (split {split})")
        typer.echo(f"results: {out}")
    if report:
        _bench_report(out, tasks, quiet=json_out)


# ---------------------------------------------------------------------------------------------
# judge (issue 7: evidence judge)


def _text_or_file(value: str, what: str, must_be_file: bool = False) -> str:
    """An option that takes text or a path: an existing file is read, anything else is the text."""
    p = Path(value)
    try:
        is_file = len(value) < 4096 and "\n" not in value and p.is_file()
    except OSError:
        is_file = False
    if is_file:
        try:
            return p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CodefavorError(f"{what} {value}: cannot read it ({e})") from None
    if must_be_file:
        raise CodefavorError(f"{what} {value!r}: no such file")
    return value


@app.command("judge")
def judge_cmd(
    instruction: Annotated[str, typer.Option(help="The instruction, as text or a file path.")],
    a: Annotated[str, typer.Option("--a", help="File with candidate A's code.")],
    b: Annotated[str, typer.Option("--b", help="File with candidate B's code.")],
    criterion: Annotated[
        str, typer.Option(help="correctness, efficiency, security, human-preference, or free text.")
    ] = DEFAULT_CRITERION,
    judge: Annotated[Optional[str], typer.Option(help="Judge spec (default: the evidence judge).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL for API judges.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key (default: $OPENAI_API_KEY).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Judge one pair: print the verdict, its confidence and the evidence behind it.

    Exit codes: 0 a verdict was reached (A or B), 3 undecided, 2 a user error (missing file,
    unknown judge spec), 1 a bug.
    """
    import json

    from codefavor.judges import DEFAULT_JUDGE, PairItem, load_judge
    from codefavor.prompts import CRITERIA, resolve_criterion

    item = PairItem(
        instruction=_text_or_file(instruction, "--instruction"),
        a=_text_or_file(a, "--a", must_be_file=True),
        b=_text_or_file(b, "--b", must_be_file=True),
        criterion=resolve_criterion(criterion),
        category=criterion if criterion in CRITERIA else None,
        id="cli",
    )
    the_judge = load_judge(judge or DEFAULT_JUDGE, **backend_options(base_url, api_key, False))
    v = the_judge.judge([item])[0]
    conf = None if v.prob_a is None else (v.prob_a if v.decision == "A" else 1 - v.prob_a)
    if json_out:
        typer.echo(json.dumps({"judge": the_judge.spec, "decision": v.decision, "confidence": conf,
                               "prob_a": v.prob_a, "signal": v.signal, "details": v.details, "error": v.error},
                              indent=2, default=str))  # fmt: skip
    else:
        verdict = "undecided" if v.decision == "undecided" else f"Candidate {v.decision} is better"
        typer.echo(f"verdict: {verdict}")
        typer.echo(
            f"confidence: {'-' if conf is None else f'{conf:.2f}'}   signal: {v.signal}   judge: {the_judge.spec}"
        )
        for line in _evidence_lines(v.details or {}):
            typer.echo(line)
        if v.error:
            typer.echo(f"error: {v.error}")
    if v.decision == "undecided":
        sys.exit(3)  # SystemExit passes through main() untouched


def _evidence_lines(details: dict, indent: str = "") -> list[str]:
    """A readable digest of a verdict's details: failed checks per candidate, findings, silence."""
    lines: list[str] = []
    ex = details.get("examples")
    if isinstance(ex, dict):
        lines.append(f"{indent}examples: entry {ex.get('entry')!r}, {len(ex.get('checks', []))} checks")
        for s in ex.get("skipped", [])[:5]:
            lines.append(f"{indent}  skipped: {s['example'][:70]!r} ({s['reason']})")
    for side in ("a", "b"):
        d = details.get(side)
        if not isinstance(d, dict):
            continue
        if "total" in d:
            lines.append(f"{indent}candidate {side.upper()}: passed {d['passed']}/{d['total']}"
                         + (f", does not load: {d['load_error']}" if d.get("load_error") else ""))  # fmt: skip
            for f in d.get("failed", [])[:6]:
                lines.append(f"{indent}  failed {f['check'][:70]!r}: {f['reason'][:120]}")
        if "findings" in d:
            lines.append(f"{indent}candidate {side.upper()}: security score {d['score']}")
            for f in d["findings"][:8]:
                lines.append(
                    f"{indent}  {f['rule']} {f['severity']}/{f['confidence']} line {f['line']}: {f['text'][:80]}"
                )
    for key in ("load", "undefined_names", "edge"):
        if isinstance(details.get(key), dict):
            lines.append(f"{indent}{key}: {json_short(details[key])}")
    if isinstance(details.get("evidence"), dict):
        if not details["evidence"]:
            lines.append(f"{indent}evidence: none applies to this criterion")
        for sig, d in details["evidence"].items():
            lines.append(f"{indent}evidence silent ({sig}):")
            lines += _evidence_lines(d or {}, indent + "  ")
    return lines


def json_short(obj: object) -> str:
    import json

    text = json.dumps(obj, default=str)
    return text if len(text) < 300 else text[:297] + "..."


# ---------------------------------------------------------------------------------------------
# generate: Commit-Instruct and Critic-Evol (the library decides; these parse options)

# Options both generate commands share, declared once so their names and meanings stay the same.
_Output = Annotated[Path, typer.Option(help="Run folder: manifest, outcomes, pairs, funnel (resumable).")]
_Limit = Annotated[
    Optional[int], typer.Option(help="Only the first N seeds (after --shard, in source order; finished ones count).")
]
_Shard = Annotated[
    Optional[str], typer.Option(help="I/N: only the I-th of N disjoint shards of the input, by a hash.")
]
_NoDecontam = Annotated[
    bool, typer.Option("--no-decontam", help="Skip decontamination (e.g. the benchmark files are unavailable).")
]
_Data = Annotated[
    Optional[Path],
    typer.Option(help="Folder with the CodePrefBench files, for decontamination (default: as `bench` finds them)."),
]
_Threshold = Annotated[float, typer.Option(help="Similarity (0-100) to a benchmark code at which a pair is dropped.")]
_RetryErrors = Annotated[bool, typer.Option(help="On resume, redo seeds whose last backend call failed.")]
_Overwrite = Annotated[bool, typer.Option(help="Start the run folder afresh.")]
_BaseUrl = Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL.")]
_ApiKey = Annotated[Optional[str], typer.Option(help="API key (default: $OPENAI_API_KEY).")]
_NoCache = Annotated[bool, typer.Option("--no-cache", help="Bypass the response cache.")]
_Json = Annotated[bool, typer.Option("--json", help="Print the funnel as JSON.")]


@contextmanager
def _progress_bar(label: str, disable: bool) -> Iterator[Callable[[RunProgress], None]]:
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
        bar.stop()


def _show_run(result: RunResult, show: Callable[[dict], None], json_out: bool) -> None:
    import json

    if json_out:
        typer.echo(json.dumps(result.funnel, indent=2))
    else:
        show(result.funnel)
        typer.echo(f"pairs: {result.out_dir / 'pairs.jsonl'}")


@generate_app.command("commit-instruct")
def generate_commit_instruct(
    output: _Output,
    repo: Annotated[Optional[list[Path]], typer.Option(help="A local git repository to mine (repeatable).")] = None,
    input: Annotated[
        Optional[Path], typer.Option("--input", help="CommitPackFT-style JSONL(.gz)/Parquet, or mined seeds.")
    ] = None,
    hf_dataset: Annotated[Optional[str], typer.Option(help="A Hugging Face dataset name (needs the network).")] = None,
    hf_config: Annotated[Optional[str], typer.Option(help="Its configuration, e.g. 'python'.")] = None,
    hf_split: Annotated[str, typer.Option(help="Its split.")] = "train",
    rev: Annotated[
        Optional[list[str]], typer.Option(help="Revision to walk (repeatable; default HEAD of each repo).")
    ] = None,
    backend: Annotated[
        Optional[str], typer.Option(help="Backend spec, e.g. 'openai:MODEL'; 'fake:commit-replay' is a dry run.")
    ] = None,
    base_url: _BaseUrl = None,
    api_key: _ApiKey = None,
    no_cache: _NoCache = False,
    lang: Annotated[Optional[list[str]], typer.Option(help="Language to keep (repeatable; default python).")] = None,
    license: Annotated[
        Optional[list[str]], typer.Option(help="Allowed license, SPDX id (repeatable); default: any.")
    ] = None,
    permissive: Annotated[bool, typer.Option(help="Keep only permissively licensed sources.")] = False,
    max_file_bytes: Annotated[int, typer.Option(help="Skip files larger than this on either side.")] = 100_000,
    max_changed_lines: Annotated[int, typer.Option(help="Skip changes with more added+deleted lines.")] = 200,
    limit: _Limit = None,
    shard: _Shard = None,
    batch_size: Annotated[int, typer.Option(help="Conversations sent to the backend at once.")] = 32,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Token budget of the pair-writing turn.")] = 2048,
    no_decontam: _NoDecontam = False,
    data: _Data = None,
    decontam_threshold: _Threshold = 80.0,
    retry_errors: _RetryErrors = True,
    mine_only: Annotated[bool, typer.Option(help="Only mine: write seeds.jsonl and the mining funnel.")] = False,
    overwrite: _Overwrite = False,
    json_out: _Json = False,
) -> None:
    """Turn real commits into preference pairs with the three-turn Commit-Instruct dialogue (resumable)."""
    import json

    from codefavor.generators import commit_instruct as ci
    from codefavor.generators import mining
    from codefavor.generators.inputs import parse_shard
    from codefavor.generators.licenses import allow_list

    cfg = mining.MiningConfig(
        languages=tuple(mining.normalize_lang(x) for x in lang or ["python"]),
        max_file_bytes=max_file_bytes,
        max_changed_lines=max_changed_lines,
        licenses=allow_list(license or (), permissive),
        shard=parse_shard(shard) or (0, 1),
    )
    stats = mining.MiningStats()
    seeds, source = mining.open_source(
        cfg, stats, repos=repo or (), revisions=rev or (), input=input,
        hf_dataset=hf_dataset, hf_config=hf_config, hf_split=hf_split,
    )  # fmt: skip
    if mine_only:
        report = ci.mine_seeds(seeds, output, stats=stats, source=source, limit=limit, overwrite=overwrite)
        typer.echo(
            json.dumps(report, indent=2)
            if json_out
            else f"{report['seeds_written']} seeds -> {output / 'seeds.jsonl'}"
        )
        if not json_out:
            ci.show_funnel(report, "Commit-Instruct mining")
        return
    if not backend:
        raise CodefavorError("--backend is required (or pass --mine-only to only mine seeds)")

    from codefavor.backends import Sampling, load_backend
    from codefavor.generators.decontam import load_decontaminator

    decontaminator = None if no_decontam else load_decontaminator(data, decontam_threshold)
    the_backend = load_backend(backend, **backend_options(base_url, api_key, no_cache))
    settings = ci.Settings(
        the_backend.spec, Sampling(temperature=temperature, max_tokens=max_tokens),
        decontaminate=not no_decontam, decontam_threshold=decontam_threshold,
    )  # fmt: skip
    with _progress_bar("commit-instruct", json_out) as update:
        result = ci.run_commit_instruct(
            seeds, the_backend, output, settings=settings, decontaminator=decontaminator, mining=stats,
            inputs=source, batch_size=batch_size, limit=limit, retry_errors=retry_errors, overwrite=overwrite,
            progress=update,
        )  # fmt: skip
    _show_run(result, ci.show_funnel, json_out)


@generate_app.command("critic-evol")
def generate_critic_evol(
    critic: Annotated[str, typer.Option(help="Critic backend spec (the stronger model), e.g. 'openai:MODEL'.")],
    output: _Output,
    input: Annotated[
        Optional[Path],
        typer.Option("--input", help="Instructions as JSONL(.gz) or Parquet (Self-OSS-Instruct style)."),
    ] = None,
    hf_dataset: Annotated[
        Optional[str], typer.Option(help="Read instructions with datasets.load_dataset(NAME).")
    ] = None,
    hf_split: Annotated[str, typer.Option(help="Split of --hf-dataset.")] = "train",
    draft: Annotated[
        Optional[str], typer.Option(help="Draft backend spec (the weak model); drafts items without a response.")
    ] = None,
    redraft: Annotated[bool, typer.Option(help="Draft every item with --draft, ignoring given responses.")] = False,
    instruction_field: Annotated[str, typer.Option(help="Input field holding the instruction.")] = "instruction",
    response_field: Annotated[str, typer.Option(help="Input field holding an existing first attempt.")] = "response",
    id_field: Annotated[str, typer.Option(help="Input field holding a stable id (else a content hash).")] = "id",
    limit: _Limit = None,
    shard: _Shard = None,
    batch_size: Annotated[
        Optional[int], typer.Option(help="Conversations per backend call (default: the backend's own batch size).")
    ] = None,
    shots: Annotated[int, typer.Option(help="Few-shot examples in the critic prompt (0-5).")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the per-item few-shot shuffle.")] = 0,
    draft_temperature: Annotated[float, typer.Option(help="Draft sampling temperature.")] = 0.8,
    draft_max_tokens: Annotated[int, typer.Option(help="Draft completion budget.")] = 1024,
    critic_temperature: Annotated[float, typer.Option(help="Critic sampling temperature.")] = 0.5,
    critic_max_tokens: Annotated[int, typer.Option(help="Critic completion budget.")] = 2048,
    require_exec_consistency: Annotated[
        bool, typer.Option(help="Drop pairs whose revision fails instruction examples that the draft passes.")
    ] = False,
    no_exec: Annotated[bool, typer.Option("--no-exec", help="Do not run instruction examples at all.")] = False,
    exec_timeout: Annotated[float, typer.Option(help="CPU seconds per example run in the sandbox.")] = 2.0,
    no_decontam: _NoDecontam = False,
    data: _Data = None,
    decontam_threshold: _Threshold = 80.0,
    retry_errors: _RetryErrors = True,
    overwrite: _Overwrite = False,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL for both roles.")] = None,
    draft_base_url: Annotated[Optional[str], typer.Option(help="Base URL for the draft model only.")] = None,
    critic_base_url: Annotated[Optional[str], typer.Option(help="Base URL for the critic model only.")] = None,
    api_key: _ApiKey = None,
    no_cache: _NoCache = False,
    json_out: _Json = False,
) -> None:
    """Critic-Evol: a weak model drafts, a stronger critic revises; (draft, revision) become pairs."""
    from rich.console import Console

    from codefavor.backends import Sampling, load_backend
    from codefavor.generators import critic_evol as ce
    from codefavor.generators import instructions
    from codefavor.generators.decontam import load_decontaminator
    from codefavor.generators.inputs import parse_shard

    settings = ce.Settings(
        draft=draft, critic=critic, redraft=redraft, shots=shots, seed=seed,
        draft_sampling=Sampling(temperature=draft_temperature, max_tokens=draft_max_tokens),
        critic_sampling=Sampling(temperature=critic_temperature, max_tokens=critic_max_tokens),
        require_exec_consistency=require_exec_consistency,
        decontaminate=not no_decontam, decontam_threshold=decontam_threshold,
    )  # fmt: skip
    seeds, source = instructions.open_source(
        input, hf_dataset=hf_dataset, hf_split=hf_split, shard=parse_shard(shard),
        instruction_field=instruction_field, response_field=response_field, id_field=id_field,
    )  # fmt: skip
    for warning in ce.input_warnings(seeds[:limit] if limit is not None else seeds, settings):
        Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/yellow] {warning}")
    decontaminator = None if no_decontam else load_decontaminator(data, decontam_threshold)
    checker = ce.exec_checker(enabled=not no_exec, timeout=exec_timeout, required=require_exec_consistency)
    critic_backend = load_backend(critic, **backend_options(critic_base_url or base_url, api_key, no_cache))
    draft_backend = (
        load_backend(draft, **backend_options(draft_base_url or base_url, api_key, no_cache)) if draft else None
    )
    with _progress_bar("critic-evol", json_out) as update:
        result = ce.run_critic_evol(
            seeds, output, critic=critic_backend, draft=draft_backend, settings=settings,
            decontaminator=decontaminator, exec_checker=checker, inputs=source, batch_size=batch_size,
            limit=limit, retry_errors=retry_errors, overwrite=overwrite, progress=update,
        )  # fmt: skip
    _show_run(result, ce.show_funnel, json_out)


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

    from codefavor.server import create_app, load_served_judges

    backend = None
    if model:
        from codefavor.backends.hf import HFBackend

        backend = HFBackend(model, dtype=dtype, device=device, batch_size=batch_size, cache=cache)
    judges = load_served_judges(judge or [], backend, max_tokens, **backend_options(base_url, api_key))
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
    sock.listen(2048)  # connections are accepted from the moment the address is printed
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    typer.echo(f"codefavor serve: listening on http://{shown}:{bound_port}/v1", err=True)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=30, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


# ---------------------------------------------------------------------------------------------
# rank / verify (issue 8)


@app.command()
def rank(
    candidates: Annotated[list[Path], typer.Argument(help="Files holding one candidate code each.")],
    instruction: Annotated[str, typer.Option(help="The instruction: text, or a file holding it.")],
    judge: Annotated[Optional[str], typer.Option(help="Judge spec (default: the default judge).")] = None,
    criterion: Annotated[
        str, typer.Option(help="A category (correctness, efficiency, security, human-preference) or free text.")
    ] = DEFAULT_CRITERION,
    scheme: Annotated[
        str, typer.Option(help="auto (round-robin up to 8, else swiss), round-robin, swiss or knockout.")
    ] = "auto",
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL for API judges.")] = None,
    api_key: Annotated[Optional[str], typer.Option(help="API key (default: $OPENAI_API_KEY).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the response cache.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the ranking and every comparison as JSON.")] = False,
) -> None:
    """Pick the best of N candidate codes with a pairwise judge (both orders per comparison)."""
    import json

    from codefavor.codetools import extract_code_blocks
    from codefavor.judges import DEFAULT_JUDGE, load_judge
    from codefavor.rank import SCHEMES
    from codefavor.rank import rank as rank_candidates

    if scheme not in SCHEMES:
        raise CodefavorError(f"--scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    codes = []
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CodefavorError(f"{path}: cannot read the candidate ({e.__class__.__name__}: {e})") from None
        # A Markdown answer (a model's reply saved as is) is judged by its code, not its prose.
        blocks = extract_code_blocks(text) if "```" in text else []
        codes.append(max((c for _, c in blocks), key=len) if blocks else text)
    the_judge = load_judge(judge or DEFAULT_JUDGE, **backend_options(base_url, api_key, no_cache))
    result = rank_candidates(
        _text_or_file(instruction, "--instruction"),
        codes,
        the_judge,
        criterion=criterion,
        scheme=scheme,  # type: ignore[arg-type]
    )
    if json_out:
        out = result.to_dict()
        out.update(judge=the_judge.spec, criterion=criterion, files=[str(p) for p in candidates])
        out["best_file"] = str(candidates[result.best])
        for s in out["standings"]:
            s["file"] = str(candidates[s["index"]])
        typer.echo(json.dumps(out, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rank: {the_judge.spec}, {result.scheme}, {len(result.comparisons)} comparisons")
    for col in ("#", "candidate", "wins", "P(win) sum", "played"):
        table.add_column(col, justify="left" if col == "candidate" else "right")
    for place, i in enumerate(result.ranking, start=1):
        s = result.standings[i]
        table.add_row(str(place), str(candidates[i]), f"{s.wins:g}", f"{s.prob_sum:.2f}", str(s.played))
    Console().print(table)
    typer.echo(f"best: {candidates[result.best]}")


@app.command()
def verify(
    pairs: Annotated[Path, typer.Argument(help="PreferencePair JSONL(.gz) to check.")],
    output: Annotated[Path, typer.Option(help="Kept pairs, each annotated with its evidence (appended).")],
    removed: Annotated[
        Optional[Path], typer.Option(help="Removed pairs and the rules they broke (default OUTPUT.removed.jsonl).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs whose examples run in the sandbox together.")] = 32,
    skip_bad: Annotated[bool, typer.Option(help="Skip malformed lines (counted) instead of stopping.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Annotate pairs with evidence and drop those it contradicts (resumable)."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from codefavor.verify import RULES, removed_path_for, verify_pairs

    if batch_size < 1:
        raise CodefavorError(f"--batch-size {batch_size}: expected a positive number")
    with Progress(
        TextColumn("[bold]verifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), disable=json_out
    ) as bar:
        task = bar.add_task("verify", total=None)
        stats = verify_pairs(
            pairs,
            output,
            removed=removed,
            batch_size=batch_size,
            skip_bad=skip_bad,
            on_start=lambda total, done: bar.update(task, total=total, completed=done),
            progress=lambda n: bar.advance(task, n),
        )
    summary = stats.to_dict()
    summary.update(output=str(output), removed_file=str(removed or removed_path_for(output)))
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(
        f"read {stats.read}, already done {stats.already_done}, checked {stats.kept + stats.removed}: "
        f"kept {stats.kept}, removed {stats.removed}"
        + (f", bad lines skipped {stats.bad_lines}" if stats.bad_lines else "")
    )
    for rule in RULES:
        typer.echo(f"  removed by {rule}: {stats.by_rule.get(rule, 0)}")
    typer.echo(f"kept: {output}\nremoved: {summary['removed_file']}")


# ---------------------------------------------------------------------------------------------
# report / label (HTML report of bench runs; Label Studio round trip)


def _bench_report(run_dir: Path, tasks: list, quiet: bool) -> None:
    from codefavor.benchmark.html_report import write_report

    out = write_report([run_dir], run_dir / "report.html", tasks=tasks)
    if not quiet:
        typer.echo(f"report: {out}")


@app.command("report")
def report_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Bench run folders (one or more).")],
    output: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("report.html"),
    data: Annotated[
        Optional[Path], typer.Option(help="CodePrefBench folder, or the file of your own tasks the runs judged.")
    ] = None,
    tasks: Annotated[
        Optional[list[Path]], typer.Option(help="More task files (BenchTask or pairwise rows) the runs judged.")
    ] = None,
    name: Annotated[Optional[list[str]], typer.Option(help="Label of each run, in order (repeatable).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 2000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    ci_unit: Annotated[str, typer.Option(help="Resample 'seed' tasks (task_id clusters) or single 'pair's.")] = "seed",
    json_path: Annotated[
        Optional[Path], typer.Option("--json-out", help="Also save every number on the page as JSON here.")
    ] = None,
) -> None:
    """Write one self-contained HTML report (plots, intervals, paired tests, judgments) for bench runs."""
    from codefavor.benchmark.html_report import write_report

    if ci_unit not in ("seed", "pair") or bootstrap < 100:
        raise CodefavorError("--ci-unit must be seed or pair, and --bootstrap at least 100")
    out = write_report(
        runs,
        output,
        data_dir=data,
        task_files=tasks or (),
        names=name or (),
        n_boot=bootstrap,
        seed=seed,
        ci_unit=ci_unit,  # type: ignore[arg-type]
        json_output=json_path,
    )
    typer.echo(f"report: {out}")


label_app = typer.Typer(no_args_is_help=True, help="A human preference study through Label Studio.")
app.add_typer(label_app, name="label")


@label_app.command("export")
def label_export(
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

    items = read_items(source, category)[:limit]
    paths = export_tasks(items, output, annotators=annotators, run_examples=run_examples)
    typer.echo(f"{len(items)} tasks -> {paths['tasks']}; config {paths['config']}; project {paths['project']}")


@label_app.command("import")
def label_import(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON export of a codefavor project.")],
    output: Annotated[Path, typer.Option(help="Folder for annotations, labels, bench tasks, pairs and summary.")],
    rule: Annotated[str, typer.Option(help="no-conflict (the paper's) or majority.")] = "no-conflict",
    wage: Annotated[Optional[float], typer.Option(help="Hourly wage, for a cost per task.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Read Label Studio's export: agreement, person-minutes, unsolved rate, bench tasks and pairs."""
    import json

    from codefavor.labelstudio import import_export, summary_lines

    if rule not in ("no-conflict", "majority"):
        raise CodefavorError(f"--rule {rule!r}: expected no-conflict or majority")
    summary = import_export(export, output, rule=rule, wage_per_hour=wage)  # type: ignore[arg-type]
    typer.echo(json.dumps(summary, indent=2) if json_out else "\n".join(summary_lines(summary, output)))


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
