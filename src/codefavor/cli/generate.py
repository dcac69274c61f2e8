"""`codefavor generate commit-instruct|critic-evol`: synthetic preference pairs (the library decides;
these parse options into a `generators.jobs` call)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

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
    NoCache,
    Overwrite,
    RunFolder,
    UseBatch,
    Workers,
    batch_folder,
    echo_json,
)

if TYPE_CHECKING:
    from codefavor.generators.engine import RunResult

app = typer.Typer(no_args_is_help=True, help="Generate synthetic preference pairs.")

# Options both generate commands share, declared once so their names and meanings stay the same.
Input = Annotated[Optional[Path], typer.Option("--input", help="Input rows: JSONL(.gz) or Parquet.")]
HfDataset = Annotated[Optional[str], typer.Option(help="A Hugging Face dataset name (needs the network).")]
HfConfig = Annotated[Optional[str], typer.Option(help="Its configuration, e.g. 'python'.")]
HfSplit = Annotated[str, typer.Option(help="Its split.")]
Limit = Annotated[
    Optional[int], typer.Option(help="Only the first N seeds (after --shard, in source order; finished ones count).")
]
Shard = Annotated[Optional[str], typer.Option(help="I/N: only the I-th of N disjoint shards of the input, by a hash.")]
NoDecontam = Annotated[
    bool, typer.Option("--no-decontam", help="Skip decontamination (e.g. the benchmark files are unavailable).")
]
Threshold = Annotated[float, typer.Option(help="Similarity (0-100) to a benchmark code at which a pair is dropped.")]
RetryErrors = Annotated[bool, typer.Option(help="On resume, redo seeds whose last backend call failed.")]


def _show(result: RunResult, show: Callable[[dict], None], json_out: bool) -> None:
    if json_out:
        echo_json(result.funnel)
    else:
        show(result.funnel)
        typer.echo(f"pairs: {result.out_dir / 'pairs.jsonl'}")


@app.command("commit-instruct")
def commit_instruct(
    output: RunFolder,
    repo: Annotated[Optional[list[Path]], typer.Option(help="A local git repository to mine (repeatable).")] = None,
    input: Input = None,
    hf_dataset: HfDataset = None,
    hf_config: HfConfig = None,
    hf_split: HfSplit = "train",
    rev: Annotated[Optional[list[str]], typer.Option(help="Revision to walk (repeatable; default HEAD).")] = None,
    backend: Annotated[
        Optional[str], typer.Option(help="Backend spec, e.g. 'openai:MODEL'; 'fake:commit-replay' is a dry run.")
    ] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
    batch: UseBatch = False,
    batch_poll: BatchPoll = 30.0,
    batch_offline: BatchOffline = False,
    lang: Annotated[Optional[list[str]], typer.Option(help="Language to keep (repeatable; default python).")] = None,
    license: Annotated[Optional[list[str]], typer.Option(help="Allowed license, SPDX id (repeatable).")] = None,
    permissive: Annotated[bool, typer.Option(help="Keep only permissively licensed sources.")] = False,
    max_file_bytes: Annotated[int, typer.Option(help="Skip files larger than this on either side.")] = 100_000,
    max_changed_lines: Annotated[int, typer.Option(help="Skip changes with more added+deleted lines.")] = 200,
    limit: Limit = None,
    shard: Shard = None,
    batch_size: Annotated[int, typer.Option(help="Conversations sent to the backend at once.")] = 32,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Token budget of the pair-writing turn.")] = 2048,
    codes: Annotated[
        str,
        typer.Option(
            help="Who writes the two codes: 'model' (the paper's way) or 'commit' (the changed definitions, "
            "cut out with what they need; the model writes instruction, criterion and feedback)."
        ),
    ] = "model",
    no_decontam: NoDecontam = False,
    data: Data = None,
    decontam_threshold: Threshold = 80.0,
    retry_errors: RetryErrors = True,
    mine_only: Annotated[bool, typer.Option(help="Only mine: write seeds.jsonl and the mining funnel.")] = False,
    overwrite: Overwrite = False,
    engine: Engine = "local",
    address: Address = None,
    workers: Workers = None,
    json_out: Json = False,
) -> None:
    """Turn real commits into preference pairs with the three-turn Commit-Instruct dialogue (resumable)."""
    from codefavor.backends import Sampling, backend_options
    from codefavor.cli.options import progress_bar
    from codefavor.engines import EngineSpec
    from codefavor.generators import commit_instruct as ci
    from codefavor.generators import jobs

    source = jobs.CommitSource(
        repos=repo or (), revisions=rev or (), input=input, hf_dataset=hf_dataset, hf_config=hf_config,
        hf_split=hf_split, languages=lang or ("python",), licenses=license or (), permissive=permissive,
        max_file_bytes=max_file_bytes, max_changed_lines=max_changed_lines,
    )  # fmt: skip
    if mine_only:
        report = jobs.mine(source, jobs.RunControl(output, limit=limit, shard=shard, overwrite=overwrite))
        if json_out:
            echo_json(report)
        else:
            typer.echo(f"{report['seeds_written']} seeds -> {output / 'seeds.jsonl'}")
            ci.show_funnel(report, "Commit-Instruct mining")
        return
    with progress_bar("commit-instruct", json_out) as update:
        result = jobs.commit_instruct(
            source,
            jobs.RunControl(
                output, limit, shard, batch_size, retry_errors, overwrite, update, EngineSpec(engine, address, workers)
            ),
            backend=backend,
            backend_options=backend_options(
                base_url, api_key, no_cache, batch_folder(output, batch, batch_offline), batch_poll, batch_offline
            ),
            sampling=Sampling(temperature=temperature, max_tokens=max_tokens),
            decontamination=jobs.Decontamination(not no_decontam, data, decontam_threshold),
            codes=codes,
        )
    _show(result, ci.show_funnel, json_out)


@app.command("critic-evol")
def critic_evol(
    critic: Annotated[str, typer.Option(help="Critic backend spec (the stronger model), e.g. 'openai:MODEL'.")],
    output: RunFolder,
    input: Input = None,
    hf_dataset: HfDataset = None,
    hf_config: HfConfig = None,
    hf_split: HfSplit = "train",
    draft: Annotated[
        Optional[str], typer.Option(help="Draft backend spec (the weak model); drafts items without a response.")
    ] = None,
    redraft: Annotated[bool, typer.Option(help="Draft every item with --draft, ignoring given responses.")] = False,
    instruction_field: Annotated[str, typer.Option(help="Input field holding the instruction.")] = "instruction",
    response_field: Annotated[str, typer.Option(help="Input field holding an existing first attempt.")] = "response",
    id_field: Annotated[str, typer.Option(help="Input field holding a stable id (else a content hash).")] = "id",
    limit: Limit = None,
    shard: Shard = None,
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
    no_decontam: NoDecontam = False,
    data: Data = None,
    decontam_threshold: Threshold = 80.0,
    retry_errors: RetryErrors = True,
    overwrite: Overwrite = False,
    base_url: BaseUrl = None,
    draft_base_url: Annotated[Optional[str], typer.Option(help="Base URL for the draft model only.")] = None,
    critic_base_url: Annotated[Optional[str], typer.Option(help="Base URL for the critic model only.")] = None,
    api_key: ApiKey = None,
    no_cache: NoCache = False,
    engine: Engine = "local",
    address: Address = None,
    workers: Workers = None,
    batch: UseBatch = False,
    batch_poll: BatchPoll = 30.0,
    batch_offline: BatchOffline = False,
    json_out: Json = False,
) -> None:
    """Critic-Evol: a weak model drafts, a stronger critic revises; (draft, revision) become pairs."""
    from codefavor.backends import Sampling, backend_options
    from codefavor.cli.options import progress_bar, warn
    from codefavor.engines import EngineSpec
    from codefavor.generators import critic_evol as ce
    from codefavor.generators import jobs

    source = jobs.InstructionSource(
        input, hf_dataset, hf_config, hf_split, instruction_field, response_field, id_field
    )
    folder = batch_folder(output, batch, batch_offline)
    roles = jobs.Roles(
        critic, draft,
        backend_options(critic_base_url or base_url, api_key, no_cache, folder, batch_poll, batch_offline),
        backend_options(draft_base_url or base_url, api_key, no_cache, folder, batch_poll, batch_offline),
    )  # fmt: skip
    with progress_bar("critic-evol", json_out) as update:
        result = jobs.critic_evol(
            source,
            jobs.RunControl(
                output, limit, shard, batch_size, retry_errors, overwrite, update, EngineSpec(engine, address, workers)
            ),
            roles,
            redraft=redraft, shots=shots, seed=seed,
            draft_sampling=Sampling(temperature=draft_temperature, max_tokens=draft_max_tokens),
            critic_sampling=Sampling(temperature=critic_temperature, max_tokens=critic_max_tokens),
            execute=not no_exec, exec_timeout=exec_timeout, require_exec_consistency=require_exec_consistency,
            decontamination=jobs.Decontamination(not no_decontam, data, decontam_threshold), warn=warn,
        )  # fmt: skip
    _show(result, ce.show_funnel, json_out)
