"""The stages of a recipe: what each one reads, its settings, and the library call that does it.

Every stage writes into a folder of its own under the recipe's `runs` folder and returns its
outputs (name -> path). The stages resume through the library functions they call (generators and
the benchmark runner through their run folders; verification through its output files; training
through its checkpoints); the small stages (seeds, decontaminate, merge, report) are rewritten whole
and atomically, which costs seconds.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codefavor.errors import CodefavorError
from codefavor.recipe.config import (
    Bench,
    CommitSource,
    CriticSource,
    Decontaminate,
    Exercism,
    InstructionSeeds,
    Model,
    Train,
)
from codefavor.records import CATEGORIES, BenchTask, PreferencePair, read_records, write_records
from codefavor.run_folder import close_run, open_run, write_json_atomic, write_text_atomic

PAIRS = "pairs.jsonl"


def _resolve(base: Path, p: str | None) -> str | None:
    if p is None:
        return None
    q = Path(p).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


# ---------------------------------------------------------------------------------------------
# seeds


def commit_seeds(src: CommitSource, base: Path, out: Path) -> dict[str, str]:
    """Mine the repositories (or read the rows) into seeds.jsonl, with the mining report."""
    from codefavor.generators import jobs

    s = src.seeds
    source = jobs.CommitSource(
        repos=[_resolve(base, r) or r for r in s.repos], revisions=s.revisions, input=_resolve(base, s.input),
        languages=s.languages, licenses=s.licenses, permissive=s.permissive,
        max_file_bytes=s.max_file_bytes, max_changed_lines=s.max_changed_lines,
    )  # fmt: skip
    seeds = jobs.mine(source, jobs.RunControl(out, limit=None if s.exclude_paths else s.limit, overwrite=True))
    if s.exclude_paths:
        _exclude(out, s.exclude_paths, s.limit, seeds)
    return {"seeds": str(out / "seeds.jsonl"), "mining": str(out / "mining.json")}


def _exclude(out: Path, patterns: Sequence[str], limit: int | None, report: dict[str, Any]) -> None:
    """Drop the seeds whose path matches a pattern (counted in mining.json), then keep `limit`."""
    from fnmatch import fnmatch

    from codefavor.generators.mining import CommitSeed

    kept, dropped = [], 0
    for seed in read_records(out / "seeds.jsonl", CommitSeed):
        if any(fnmatch(seed.path, pat) for pat in patterns):
            dropped += 1
        else:
            kept.append(seed)
    kept = kept[:limit] if limit is not None else kept
    write_records(out / "seeds.jsonl", kept)
    report["mining"]["filtered"]["excluded-path"] = dropped
    report.update(seeds_written=len(kept), exclude_paths=list(patterns))
    write_json_atomic(out / "mining.json", report)


def _exercism_rows(ex: Exercism, base: Path) -> list[dict[str, Any]]:
    from codefavor.generators.exercism import iter_exercises

    return list(iter_exercises(_resolve(base, ex.repo), ex.rev, examples=ex.examples))


def instruction_seeds(seeds: InstructionSeeds, base: Path, out: Path) -> dict[str, str]:
    """The instructions as one JSONL (every N-th of the source, then the first `limit`)."""
    if seeds.exercism is not None:
        rows = _exercism_rows(seeds.exercism, base)
    else:
        from codefavor.records import iter_json

        path = _resolve(base, seeds.input)
        if not Path(path or "").is_file():
            raise CodefavorError(f"instructions file not found: {path!r}")
        rows = list(iter_json(path))
    rows = rows[:: max(1, seeds.every)]
    rows = rows[: seeds.limit] if seeds.limit is not None else rows
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "instructions.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return {"seeds": str(out / "instructions.jsonl")}


# ---------------------------------------------------------------------------------------------
# generate


def _backend(model: Model, base_urls: Mapping[str, str]) -> Any:
    from codefavor.backends import load_backend
    from codefavor.recipe import cache_scope

    options = dict(model.options)
    if model.server is not None:
        options["base_url"] = base_urls[model.server]
        scope = cache_scope(model.server)
        if scope and model.spec.startswith("openai:"):
            options.setdefault("cache_scope", scope)
    return load_backend(model.spec, **options)


def _progress(label: str, log: Callable[[str], None]) -> Callable[[Any], None]:
    def show(state: Any) -> None:
        log(f"{label}: {state.done}/{state.total or state.selected} seeds, new {dict(state.new)}")

    return show


def commit_generate(
    src: CommitSource, seeds: str, out: Path, base_urls: Mapping[str, str], log: Callable[[str], None]
) -> dict[str, str]:
    """Commit-Instruct over the mined seeds (decontamination is a stage of its own)."""
    from codefavor.backends import Sampling
    from codefavor.generators import commit_instruct as ci
    from codefavor.generators.mining import CommitSeed, MiningStats

    g = src.generate
    backend = _backend(g.backend, base_urls)
    settings = ci.Settings(
        backend.spec,
        Sampling(temperature=g.temperature, max_tokens=g.max_tokens, stop=tuple(g.stop)),
        decontaminate=False,
        codes=g.codes,
    )
    ci.run_commit_instruct(
        read_records(seeds, CommitSeed), backend, out, settings=settings, mining=MiningStats(),
        inputs={"seeds": seeds}, batch_size=g.batch_size, limit=g.limit,
        progress=_progress("commit-instruct", log),
    )  # fmt: skip
    return {"pairs": str(out / PAIRS), "funnel": str(out / "funnel.json")}


def critic_generate(
    src: CriticSource, seeds: str, out: Path, base_urls: Mapping[str, str], log: Callable[[str], None]
) -> dict[str, str]:
    """Critic-Evol: the draft model attempts each instruction, the critic revises."""
    from codefavor.backends import Sampling
    from codefavor.generators import critic_evol as ce
    from codefavor.generators import instructions

    g = src.generate
    critic = _backend(g.critic, base_urls)
    draft = _backend(g.draft, base_urls) if g.draft is not None else None
    settings = ce.Settings(
        draft=draft.spec if draft else None, critic=critic.spec, shots=g.shots, seed=g.seed,
        draft_sampling=Sampling(temperature=g.draft_temperature, max_tokens=g.draft_max_tokens),
        critic_sampling=Sampling(
            temperature=g.critic_temperature, max_tokens=g.critic_max_tokens, stop=tuple(g.critic_stop)
        ),
        require_exec_consistency=g.require_exec_consistency, decontaminate=False,
    )  # fmt: skip
    items, info = instructions.open_source(seeds)
    checker = ce.exec_checker(enabled=g.execute, timeout=g.exec_timeout, required=g.require_exec_consistency)
    ce.run_critic_evol(
        items, out, critic=critic, draft=draft, settings=settings, exec_checker=checker, inputs=info,
        batch_size=g.batch_size, limit=g.limit, progress=_progress("critic-evol", log),
    )  # fmt: skip
    return {"pairs": str(out / PAIRS), "funnel": str(out / "funnel.json")}


def refuse_backend_errors(name: str, funnel: str) -> None:
    """A generator whose backend calls failed (a server that died, timeouts) is not finished: the
    failed items are retried by the next run, so the stage stays open instead of handing a funnel
    with holes to decontamination and training."""
    from codefavor.generators import commit_instruct as ci
    from codefavor.generators import critic_evol as ce

    counts = json.loads(Path(funnel).read_text(encoding="utf-8"))
    failed = {s: counts.get(s, 0) for s in (*ci.ERROR_STATUSES, *ce.ERROR_STATUSES) if counts.get(s, 0)}
    if failed:
        what = ", ".join(f"{s} {n}" for s, n in failed.items())
        raise CodefavorError(
            f"generate-{name}: {sum(failed.values())} items failed on backend errors ({what}); "
            "the stage stays unfinished: run it again to retry them"
        )


# ---------------------------------------------------------------------------------------------
# decontaminate, verify


def decontaminate(cfg: Decontaminate, base: Path, pairs: str, out: Path, key: str) -> dict[str, str]:
    """Drop pairs either of whose codes is too similar to a CodePrefBench candidate, and (with
    `prompt_echo`) pairs whose instruction or criterion is their generator's own prompt text or says
    nothing about the codes (`replies.pair_words_fault`)."""
    from codefavor.generators.decontam import load_decontaminator
    from codefavor.generators.replies import pair_words_fault

    manifest = open_run(out, "recipe-decontaminate", {"key": key, **cfg.model_dump()}, {"input": pairs})
    items = list(read_records(pairs, PreferencePair)) if Path(pairs).exists() else []
    kept: list[PreferencePair] = []
    removed: list[dict[str, Any]] = []
    index = load_decontaminator(_resolve(base, cfg.data), cfg.threshold) if cfg.enabled and items else None
    for p in items:
        fault = pair_words_fault(p.source, p.instruction, p.criterion) if cfg.prompt_echo else None
        if fault is not None:
            removed.append({"id": p.id, "reason": fault})
            continue
        if index is not None:
            hit, score, task = index.is_contaminated(p.chosen, p.rejected)
            if hit:
                removed.append({"id": p.id, "reason": "contaminated", "score": round(score, 1), "task_id": task})
                continue
        kept.append(p)
    write_records(out / PAIRS, kept)
    write_text_atomic(out / "removed.jsonl", "".join(json.dumps(r) + "\n" for r in removed))
    reasons = ("contaminated", "prompt-echo", "vague-criterion", "question")
    by_reason = {r: sum(x["reason"] == r for x in removed) for r in reasons}
    report = {"input": len(items), "kept": len(kept), "removed": len(removed), "removed_by_reason": by_reason,
              "enabled": cfg.enabled, "prompt_echo": cfg.prompt_echo}  # fmt: skip
    write_json_atomic(out / "decontam.json", report)
    close_run(out, manifest, finished=True, **{k: v for k, v in report.items() if k != "removed_by_reason"})
    return {"pairs": str(out / PAIRS), "report": str(out / "decontam.json")}


def verify(enabled: bool, batch_size: int, pairs: str, out: Path, key: str) -> dict[str, str]:
    """Annotate the pairs with execution evidence and drop those it contradicts (resumable)."""
    manifest = open_run(out, "recipe-verify", {"key": key, "enabled": enabled}, {"input": pairs})
    if not enabled:
        write_records(out / PAIRS, read_records(pairs, PreferencePair))
        stats: dict[str, Any] = {"enabled": False}
    else:
        from codefavor.verify import verify_pairs

        result = verify_pairs(pairs, out / PAIRS, batch_size=batch_size)
        stats = {"enabled": True, **result.to_dict(), "kept_total": count_pairs(str(out / PAIRS))}
    write_json_atomic(out / "verify.json", stats)
    close_run(out, manifest, finished=True)
    return {"pairs": str(out / PAIRS), "report": str(out / "verify.json")}


# ---------------------------------------------------------------------------------------------
# train, merge


def count_pairs(path: str) -> int:
    p = Path(path)
    return sum(1 for line in p.open(encoding="utf-8") if line.strip()) if p.exists() else 0


def train(cfg: Train, base: Path, files: Sequence[str], out: Path, key: str) -> dict[str, str]:
    """One judge trained on `files` (resumes from its last checkpoint); too few pairs: no model."""
    n = sum(count_pairs(f) for f in files)
    manifest = open_run(out, "recipe-train", {"key": key}, {"files": list(files), "pairs": n})
    if n < cfg.min_pairs:
        write_json_atomic(out / "skipped.json", {"pairs": n, "min_pairs": cfg.min_pairs})
        close_run(out, manifest, finished=True)
        return {}
    from codefavor.models import MODEL_ALIASES
    from codefavor.training.config import load_config
    from codefavor.training.run import train as run_train

    model = cfg.model if cfg.model in MODEL_ALIASES or ":" in cfg.model else _resolve(base, cfg.model)
    values = {"report_to": ["none"], "save_strategy": "steps", **cfg.options}
    values.update(model=model, judge_type=cfg.judge_type, train_files=list(files), output_dir=str(out / "model"))
    if cfg.launcher:
        _launch(cfg, base, values, out)
    else:
        run_train(load_config(_resolve(base, cfg.config), **values))
    close_run(out, manifest, finished=True)
    return {"model": str(out / "model")}


def _launch(cfg: Train, base: Path, values: dict[str, Any], out: Path) -> None:
    """Training as a subprocess (`accelerate launch ... -m codefavor train CONFIG`): the recipe's
    config file with the stage's values over it, written into the stage folder."""
    import shlex
    import subprocess

    import yaml

    data: dict[str, Any] = {}
    if cfg.config:
        data = yaml.safe_load(Path(_resolve(base, cfg.config) or "").read_text(encoding="utf-8")) or {}
    config = out / "train.yaml"
    write_text_atomic(config, yaml.safe_dump({**data, **values}, sort_keys=False))
    done = subprocess.run([*shlex.split(cfg.launcher or ""), str(config)], check=False)
    if done.returncode:
        raise CodefavorError(f"training failed (exit {done.returncode}): {cfg.launcher} {config}")


def merge(weights: Sequence[float] | None, models: Sequence[str], out: Path, key: str) -> dict[str, str]:
    """The weighted average of the per-source models (the paper's merge)."""
    manifest = open_run(out, "recipe-merge", {"key": key, "weights": weights}, {"models": list(models)})
    if len(models) < 2:
        write_json_atomic(out / "skipped.json", {"models": list(models), "why": "merging needs two models"})
        close_run(out, manifest, finished=True)
        return {}
    from codefavor.training.merge import merge_checkpoints

    merge_checkpoints(models, out / "model", weights, overwrite=True)
    close_run(out, manifest, finished=True)
    return {"model": str(out / "model")}


# ---------------------------------------------------------------------------------------------
# bench


def stratified_sample(tasks: Sequence[BenchTask], n: int, seed: int) -> list[BenchTask]:
    """`n` tasks spread evenly over the categories present (seeded), in a fixed order; a smaller
    sample of the same seed is a subset of a larger one's (the first k of each category). The
    categories take turns in that order, so a bench cut short (judged in this order) is still a
    stratified sample of its first tasks, comparable across judges stopped at the same point."""
    by_cat: dict[str, list[BenchTask]] = defaultdict(list)
    for t in sorted(tasks, key=lambda t: t.id):
        by_cat[t.category].append(t)
    cats = [c for c in CATEGORIES if by_cat[c]]
    for c in cats:
        random.Random(f"{seed}:{c}").shuffle(by_cat[c])
    quota = Counter({c: n // len(cats) for c in cats}) if cats else Counter()
    for c in cats[: n - sum(quota.values())]:
        quota[c] += 1
    picked = [by_cat[c][: quota[c]] for c in cats]
    return [t for row in itertools.zip_longest(*picked) for t in row if t is not None]


def bench_tasks(cfg: Bench, base: Path, n: int) -> tuple[list[BenchTask], dict[str, str]]:
    from codefavor.benchmark import data as bench_data

    data = _resolve(base, cfg.data)
    tasks = bench_data.load_tasks(CATEGORIES, data, split=cfg.split)
    shas = {c: bench_data.FILES[c][1] for c in CATEGORIES}
    return stratified_sample(tasks, n, cfg.seed), shas


def bench(
    judge_spec: str, options: dict[str, Any], cfg: Bench, base: Path, n: int, out: Path, log: Callable[[str], None]
) -> dict[str, str]:
    """Judge the stratified sample in both orders (resumable), then summary.json."""
    from codefavor.benchmark.report import summarize
    from codefavor.benchmark.runner import BenchProtocol, run_bench
    from codefavor.judges import load_judge

    tasks, shas = bench_tasks(cfg, base, n)
    out.mkdir(parents=True, exist_ok=True)
    write_records(out / "tasks.jsonl", tasks)  # the sample, for the report's paired test
    judge = load_judge(judge_spec, **options)
    protocol = BenchProtocol(both_orders=cfg.both_orders, split=cfg.split)
    judgments = run_bench(
        judge, tasks, out, protocol=protocol, data_sha256=shas, seed=cfg.seed,
        progress=lambda done, new: log(f"bench {judge_spec}: {done} judged ({new} new)"),
    )  # fmt: skip
    summary = summarize(tasks, judgments)
    summary.update(judge=judge_spec, n_tasks=len(tasks), sample_seed=cfg.seed)
    write_json_atomic(out / "summary.json", summary)
    return {"judgments": str(out / "judgments.jsonl"), "summary": str(out / "summary.json")}
