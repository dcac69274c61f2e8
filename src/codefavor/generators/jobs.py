"""What one generate command asks for, resolved in one place: source, backends, decontamination, checks.

The generator modules know how to process seeds (`commit_instruct.converse`, `critic_evol.evolve`)
and run them over a run folder. A job here is everything one invocation chose, as plain values, and
turns it into those pieces: which source to read and which shard of it, the decontaminator loaded
from the benchmark files (or none), the backends built from their specs with their options,
Critic-Evol's execution checker and the warnings to give before a run starts. The command line fills
these from its flags and makes one call; a script can do the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codefavor.backends import Sampling, load_backend
from codefavor.engines import LOCAL, EngineSpec, rebuildable
from codefavor.errors import CodefavorError
from codefavor.generators.decontam import Decontaminator, load_decontaminator
from codefavor.generators.engine import RETRY_ERRORS, RunProgress, RunResult
from codefavor.generators.inputs import check_limit, parse_shard


@dataclass(frozen=True)
class Decontamination:
    """Whether pairs are checked against CodePrefBench, where its files are, and the threshold."""

    enabled: bool = True
    data: str | Path | None = None  # as `bench` finds it when None ($CODEFAVOR_DATA, the cache, a download)
    threshold: float = 80.0

    def load(self) -> Decontaminator | None:
        return load_decontaminator(self.data, self.threshold) if self.enabled else None


@dataclass(frozen=True)
class RunControl:
    """How a generator run goes over its folder: shared by both generators, flag for flag."""

    output: str | Path
    limit: int | None = None  # the first N distinct seeds in source order (after the shard), finished ones count
    shard: str | None = None  # "I/N"
    batch_size: int | None = None
    retry_errors: bool = RETRY_ERRORS
    overwrite: bool = False
    progress: Callable[[RunProgress], None] | None = None
    engine: EngineSpec = LOCAL  # where the seeds' work runs (`codefavor.engines`); written here either way


@dataclass(frozen=True)
class CommitSource:
    """Exactly one of: local git repositories, a records file, a Hugging Face dataset; and the mining filters."""

    repos: Sequence[str | Path] = ()
    revisions: Sequence[str] = ()
    input: str | Path | None = None
    hf_dataset: str | None = None
    hf_config: str | None = None
    hf_split: str = "train"
    languages: Sequence[str] = ("python",)
    licenses: Sequence[str] = ()
    permissive: bool = False
    max_file_bytes: int = 100_000
    max_changed_lines: int = 200


def _check_engine(run: RunControl, *options: dict[str, Any] | None) -> None:
    """Batch jobs write their files into the run folder, which only the driver writes: on a remote
    engine each worker would submit its own jobs. A batch job is itself the scale-out; use one or the other."""
    if not run.engine.in_process and any((o or {}).get("batch") for o in options):
        raise CodefavorError("`batch` jobs and `engine='ray'` do not combine; choose one (--batch or --engine ray)")


def _open_commits(source: CommitSource, shard: str | None) -> tuple[Any, Any, dict[str, Any]]:
    from codefavor.generators import mining
    from codefavor.generators.licenses import allow_list

    cfg = mining.MiningConfig(
        languages=tuple(mining.normalize_lang(x) for x in source.languages or ["python"]),
        max_file_bytes=source.max_file_bytes,
        max_changed_lines=source.max_changed_lines,
        licenses=allow_list(source.licenses, source.permissive),
        shard=parse_shard(shard) or (0, 1),
    )
    stats = mining.MiningStats()
    seeds, info = mining.open_source(
        cfg, stats, repos=source.repos, revisions=source.revisions, input=source.input,
        hf_dataset=source.hf_dataset, hf_config=source.hf_config, hf_split=source.hf_split,
    )  # fmt: skip
    return seeds, stats, info


def mine(source: CommitSource, run: RunControl) -> dict[str, Any]:
    """Only mine: the first `run.limit` seeds to seeds.jsonl and the mining report (returned)."""
    from codefavor.generators import commit_instruct as ci

    check_limit(run.limit)
    seeds, stats, info = _open_commits(source, run.shard)
    return ci.mine_seeds(seeds, run.output, stats=stats, source=info, limit=run.limit, overwrite=run.overwrite)


def commit_instruct(
    source: CommitSource,
    run: RunControl,
    *,
    backend: str | None,
    backend_options: dict[str, Any] | None = None,
    sampling: Sampling = Sampling(temperature=0.0, max_tokens=2048),
    decontamination: Decontamination = Decontamination(),
    codes: str = "model",
) -> RunResult:
    """Commit-Instruct over one source into `run.output` (resumable; see `commit_instruct`)."""
    from codefavor.generators import commit_instruct as ci

    check_limit(run.limit)
    seeds, stats, info = _open_commits(source, run.shard)  # a wrong source fails first, whatever else is missing
    if not backend:
        raise CodefavorError("`backend` is required, a backend spec (or `mine_only=True` to only mine seeds)")
    _check_engine(run, backend_options)
    decontaminator = decontamination.load()
    the_backend = rebuildable(load_backend, backend, **(backend_options or {}))
    settings = ci.Settings(
        the_backend.spec,
        sampling,
        decontaminate=decontamination.enabled,
        decontam_threshold=decontamination.threshold,
        codes=codes,
    )
    return ci.run_commit_instruct(
        seeds, the_backend, run.output, settings=settings, decontaminator=decontaminator, mining=stats, inputs=info,
        batch_size=run.batch_size or 32, limit=run.limit, retry_errors=run.retry_errors, overwrite=run.overwrite,
        progress=run.progress, engine=run.engine,
    )  # fmt: skip


@dataclass(frozen=True)
class InstructionSource:
    """Exactly one of a file or a dataset of instructions, and which fields hold what."""

    input: str | Path | None = None
    hf_dataset: str | None = None
    hf_config: str | None = None
    hf_split: str = "train"
    instruction_field: str = "instruction"
    response_field: str = "response"
    id_field: str = "id"


@dataclass(frozen=True)
class Roles:
    """The two models of Critic-Evol and the options each is built with (base URL, key, cache)."""

    critic: str
    draft: str | None = None
    critic_options: dict[str, Any] = field(default_factory=dict)
    draft_options: dict[str, Any] = field(default_factory=dict)


def critic_evol(
    source: InstructionSource,
    run: RunControl,
    roles: Roles,
    *,
    redraft: bool = False,
    shots: int = 5,
    seed: int = 0,
    draft_sampling: Sampling = Sampling(temperature=0.8, max_tokens=1024),
    critic_sampling: Sampling = Sampling(temperature=0.5, max_tokens=2048),
    execute: bool = True,
    exec_timeout: float = 2.0,
    require_exec_consistency: bool = False,
    decontamination: Decontamination = Decontamination(),
    warn: Callable[[str], None] | None = None,
) -> RunResult:
    """Critic-Evol over one instruction source into `run.output` (resumable; see `critic_evol`).
    `warn` receives what the user should know before the run starts (missing drafts, one model in
    both roles)."""
    from codefavor.generators import critic_evol as ce
    from codefavor.generators import instructions

    check_limit(run.limit)
    _check_engine(run, roles.critic_options, roles.draft_options)
    settings = ce.Settings(
        draft=roles.draft, critic=roles.critic, redraft=redraft, shots=shots, seed=seed,
        draft_sampling=draft_sampling, critic_sampling=critic_sampling,
        require_exec_consistency=require_exec_consistency,
        decontaminate=decontamination.enabled, decontam_threshold=decontamination.threshold,
    )  # fmt: skip
    seeds, info = instructions.open_source(
        source.input, hf_dataset=source.hf_dataset, hf_config=source.hf_config, hf_split=source.hf_split,
        shard=parse_shard(run.shard), instruction_field=source.instruction_field,
        response_field=source.response_field, id_field=source.id_field,
    )  # fmt: skip
    for warning in ce.input_warnings(seeds[: run.limit] if run.limit is not None else seeds, settings):
        if warn is not None:
            warn(warning)
    decontaminator = decontamination.load()
    # Built here (a wrong option or a broken sandbox fails before the run), and rebuilt from the same
    # call on each worker of a remote engine, which gets its own sandbox pool and HTTP clients.
    checker = rebuildable(ce.exec_checker, enabled=execute, timeout=exec_timeout, required=require_exec_consistency)
    critic = rebuildable(load_backend, roles.critic, **roles.critic_options)
    draft = rebuildable(load_backend, roles.draft, **roles.draft_options) if roles.draft else None
    return ce.run_critic_evol(
        seeds, run.output, critic=critic, draft=draft, settings=settings, decontaminator=decontaminator,
        exec_checker=checker, inputs=info, batch_size=run.batch_size, limit=run.limit,
        retry_errors=run.retry_errors, overwrite=run.overwrite, progress=run.progress, engine=run.engine,
    )  # fmt: skip
