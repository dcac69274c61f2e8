"""`codefavor recipe run`: the CodeFavor loop as stages, from commits and instructions to a benched judge.

Stages, in order (per source S of `sources`: commit-instruct, critic-evol):
  seeds-S -> generate-S -> decontaminate-S -> verify-S -> train-S,  train-both (all sources' pairs),
  merge (the per-source models averaged), bench-zero-shot, bench-S, bench-both, bench-merged,
  bench-generative, report (one markdown table with the funnels and a paired test vs zero-shot).

Each stage has a folder of its own under the recipe's `runs` folder (`runs/<stage>/`, a run folder
with its manifest) and a `stage.json` the recipe writes: the stage's key, whether it finished and
its outputs. The key hashes the stage's settings (its part of the recipe) and the fingerprints of the
outputs it reads (content hashes of files; a model folder counts as the key of the stage that made
it). A rerun skips a finished stage whose key is unchanged, reruns one whose key changed (its folder
is emptied first: the old results belong to other settings), and calls an unfinished one again, which
resumes inside it (the library functions resume from their run folders). So a change of training
options reruns training and everything after it, and nothing before.

Servers a stage's models name are started before it (`LocalServer`: a command line and a health
URL on loopback, or llama.cpp's server on a GGUF) and stopped after it; a server given as a bare
`base_url` is used as is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codefavor.errors import CodefavorError
from codefavor.recipe import stages as st
from codefavor.recipe.config import CommitSource, CriticSource, Recipe, Server, load_recipe
from codefavor.records import sha256_file
from codefavor.run_folder import write_json_atomic

STAGE_FILE = "stage.json"
STALE_DIR = ".stale"  # under the runs folder: the last folder of each stage that a changed key replaced

__all__ = ["Stage", "plan", "run_recipe", "load_recipe", "stage_states"]


@dataclass
class Stage:
    """One step: its name, its settings (hashed into the key), the stages it reads and the call."""

    name: str
    settings: dict[str, Any]
    needs: tuple[str, ...]
    run: Callable[[Path, dict[str, dict[str, str]], str], dict[str, str]]  # (folder, inputs, key) -> outputs
    servers: tuple[str, ...] = ()
    group: str = field(default="")
    # Settings that only say how far a resumable stage goes (a generator's `limit`): not in the key,
    # so raising them continues the stage's folder instead of starting it again.
    extent: dict[str, Any] = field(default_factory=dict)
    # Runs on whatever of `needs` is finished (the report of a partial run says what is missing).
    partial: bool = False

    def __post_init__(self) -> None:
        self.group = self.group or self.name.split("-")[0]


def _fingerprint(outputs: dict[str, str], key: str) -> str:
    """What a downstream stage sees of these outputs: file contents, or for folders this stage's key."""
    parts = {}
    for name, path in sorted(outputs.items()):
        p = Path(path)
        parts[name] = sha256_file(p) if p.is_file() else f"folder:{key}" if p.is_dir() else "absent"
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _key(stage: Stage, upstream: dict[str, str]) -> str:
    inputs = {n: upstream.get(n, "missing") for n in stage.needs}
    doc = {"stage": stage.name, "settings": stage.settings, "inputs": inputs}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _relative(root: Path, outputs: dict[str, str]) -> dict[str, str]:
    """Outputs as stage.json stores them: relative to the runs folder, so a copied folder still reads."""
    out = {}
    for name, path in outputs.items():
        p = Path(path)
        out[name] = str(p.relative_to(root)) if p.is_relative_to(root) else path
    return out


def _absolute(root: Path, outputs: dict[str, str]) -> dict[str, str]:
    return {name: str(root / path) for name, path in outputs.items()}  # an absolute path stays as it is


def _finished(root: Path, rec: dict[str, Any] | None, key: str | None, extent: dict[str, Any]) -> bool:
    """Whether a stage record says this stage is done with these settings and inputs, and what it made
    is still there: a runs folder restored from saved results has stage records but no model weights,
    and a downstream stage must not start on a model that is gone."""
    if rec is None or key is None or rec.get("key") != key or not rec.get("finished"):
        return False
    if rec.get("extent", {}) != extent:
        return False
    return all(Path(p).exists() for p in _absolute(root, rec.get("outputs", {})).values())


@contextlib.contextmanager
def _stage_lock(root: Path, name: str) -> Iterator[None]:
    """One process per stage: a second recipe run reaching a stage in progress stops with one line
    instead of writing into the same run folder. The kernel drops the lock when its holder dies."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise CodefavorError(
                f"stage {name} is being run by another process (lock {root / f'.{name}.lock'})"
            ) from None
        yield


def read_stage(folder: Path) -> dict[str, Any] | None:
    p = folder / STAGE_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# the plan


def plan(recipe: Recipe, base: Path, log: Callable[[str], None] = print) -> list[Stage]:
    """Every stage of the recipe, in order."""
    out: list[Stage] = []
    sources = recipe.sources.items()
    verified: dict[str, str] = {}
    for name, src in sources:
        seeds_cfg = src.seeds.model_dump()
        seed_run, gen_run = _source_runs(name, src, base, log)
        if isinstance(src, CommitSource):
            models = [src.generate.backend]
        else:
            models = [m for m in (src.generate.critic, src.generate.draft) if m is not None]
        servers = tuple(dict.fromkeys(m.server for m in models if m.server))
        gen_settings = _without_transport(src.generate.model_dump(exclude={"limit"}))
        # How servers run (threads, context) does not change what they answer at T=0 by much, but which model does.
        gen_settings["served"] = {s: _server_identity(recipe.servers[s]) for s in servers}
        gen_settings["prompt_version"] = _prompt_version(src)  # a reworded prompt is another experiment
        out.append(Stage(f"seeds-{name}", seeds_cfg, (), seed_run))
        out.append(
            Stage(
                f"generate-{name}", gen_settings, (f"seeds-{name}",), gen_run, servers,
                extent={"limit": src.generate.limit},
            )
        )  # fmt: skip
        out.append(
            Stage(
                f"decontaminate-{name}", recipe.decontaminate.model_dump(), (f"generate-{name}",),
                lambda d, i, k, n=name: st.decontaminate(recipe.decontaminate, base, i[f"generate-{n}"]["pairs"], d, k),
            )
        )  # fmt: skip
        out.append(
            Stage(
                f"verify-{name}", recipe.verify.model_dump(), (f"decontaminate-{name}",),
                lambda d, i, k, n=name: st.verify(
                    recipe.verify.enabled, recipe.verify.batch_size, i[f"decontaminate-{n}"]["pairs"], d, k
                ),
            )
        )  # fmt: skip
        verified[name] = f"verify-{name}"
    benches: list[str] = []
    b = recipe.bench
    for vname, tcfg in recipe.train_variants():
        sfx = f"-{vname}" if vname else ""
        trained: dict[str, str] = {}
        for name, _ in sources:
            out.append(
                Stage(
                    f"train{sfx}-{name}", tcfg.model_dump(), (verified[name],),
                    lambda d, i, k, v=verified[name], t=tcfg: st.train(t, base, [i[v]["pairs"]], d, k),
                )
            )  # fmt: skip
            trained[name] = f"train{sfx}-{name}"
        if tcfg.both and len(sources) > 1:
            needs = tuple(verified.values())
            out.append(
                Stage(
                    f"train{sfx}-both", tcfg.model_dump(), needs,
                    lambda d, i, k, ns=needs, t=tcfg: st.train(t, base, [i[n]["pairs"] for n in ns], d, k),
                )
            )  # fmt: skip
            trained["both"] = f"train{sfx}-both"
        per_source = tuple(trained[n] for n, _ in sources)
        if recipe.merge.enabled and len(per_source) > 1:
            out.append(
                Stage(
                    f"merge{sfx}", recipe.merge.model_dump(), per_source,
                    lambda d, i, k, ns=per_source: st.merge(
                        recipe.merge.weights, [i[n]["model"] for n in ns if "model" in i[n]], d, k
                    ),
                )
            )  # fmt: skip
            trained["merged"] = f"merge{sfx}"
        if b is None:
            continue
        bset = b.model_dump(exclude={"generative"})
        pattern = tcfg.judge or (b.classifier if tcfg.judge_type == "classification" else "hf-gen:{model}")
        if b.zero_shot:
            spec = pattern.format(model=_base_model(tcfg.model, base))
            out.append(
                Stage(
                    f"bench{sfx}-zero-shot", {**bset, "judge": spec}, (),
                    lambda d, i, k, s=spec: st.bench(s, b.options, b, base, b.sample, d, log),
                )
            )  # fmt: skip
            benches.append(f"bench{sfx}-zero-shot")
        for label, producer in trained.items():
            out.append(
                Stage(
                    f"bench{sfx}-{label}", {**bset, "judge": pattern}, (producer,),
                    lambda d, i, k, p=producer, pat=pattern: (
                        st.bench(pat.format(model=i[p]["model"]), b.options, b, base, b.sample, d, log)
                        if "model" in i[p] else {}
                    ),
                )
            )  # fmt: skip
            benches.append(f"bench{sfx}-{label}")
    if b is not None:
        if b.generative is not None:
            g = b.generative
            servers = (g.server,) if g.server else ()
            out.append(
                Stage(
                    "bench-generative", {**bset, **g.model_dump(), "served": {s: _server_identity(recipe.servers[s]) for s in servers}}, (),
                    lambda d, i, k: st.bench(
                        g.judge, {**g.options, **({"base_url": _urls(d)[g.server]} if g.server else {})},
                        b, base, g.sample, d, log,
                    ),
                    servers,
                )
            )  # fmt: skip
            benches.append("bench-generative")
    gens = tuple(f"generate-{n}" for n, _ in sources)
    reads = (*gens, *(f"decontaminate-{n}" for n, _ in sources), *(f"verify-{n}" for n, _ in sources), *benches)
    out.append(
        Stage("report", {"name": recipe.name}, reads, lambda d, i, k: _report(recipe, base, d, i, reads), partial=True)
    )
    return out


def _source_runs(
    name: str, src: CommitSource | CriticSource, base: Path, log: Callable[[str], None]
) -> tuple[Callable[..., dict[str, str]], Callable[..., dict[str, str]]]:
    """The seeds and generate calls of one source."""

    def seeds(d: Path, i: dict[str, dict[str, str]], k: str) -> dict[str, str]:
        if isinstance(src, CommitSource):
            return st.commit_seeds(src, base, d)
        return st.instruction_seeds(src.seeds, base, d)

    def generate(d: Path, i: dict[str, dict[str, str]], k: str) -> dict[str, str]:
        made = i[f"seeds-{name}"]["seeds"]
        if isinstance(src, CommitSource):
            outs = st.commit_generate(src, made, d, _urls(d), log)
        else:
            outs = st.critic_generate(src, made, d, _urls(d), log)
        st.refuse_backend_errors(name, outs["funnel"])
        return outs

    return seeds, generate


# How a generator's calls travel (how many at once, how long to wait, how often to retry) changes
# its speed, not what the models are asked: not in the key, so a rerun with more requests in flight
# continues the stage's folder instead of emptying it.
TRANSPORT_OPTIONS = frozenset({"max_in_flight", "timeout", "max_attempts", "rpm", "tpm"})


def _without_transport(gen: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in gen.items() if k != "batch_size"}
    for role, model in gen.items():
        if isinstance(model, dict) and "options" in model:
            opts = {k: v for k, v in model["options"].items() if k not in TRANSPORT_OPTIONS}
            out[role] = {**model, "options": opts}
    return out


def _prompt_version(src: CommitSource | CriticSource) -> str:
    if isinstance(src, CommitSource):
        from codefavor.generators.commit_instruct import prompt_version

        return prompt_version(src.generate.codes)
    from codefavor.generators.critic_evol import prompt_version as critic_version

    return critic_version()


def _base_model(model: str, base: Path) -> str:
    from codefavor.models import MODEL_ALIASES, resolve_model_alias

    if model in MODEL_ALIASES:
        return str(resolve_model_alias(model))
    return model if ":" in model else str((base / model).resolve())


def _server_identity(server: Server) -> dict[str, Any]:
    if server.llama_cpp is not None:
        return {"llama_cpp": server.llama_cpp.model, "n_ctx": server.llama_cpp.n_ctx}
    return {"command": server.command, "base_url": server.base_url}


# The base URLs of the servers running for the current stage (set by `_serving`).
_CURRENT_URLS: dict[str, str] = {}
_CURRENT_SCOPES: dict[str, str] = {}  # server name -> response-cache scope (`cache_scope`)


def _urls(_folder: Path) -> dict[str, str]:
    return _CURRENT_URLS


def cache_scope(server: str) -> str | None:
    """The response-cache scope of a server the recipe started (its identity: what it serves, not
    the free port it listens on this time), None for a server given by its base URL."""
    return _CURRENT_SCOPES.get(server)


@contextlib.contextmanager
def _serving(recipe: Recipe, names: Sequence[str], folder: Path, log: Callable[[str], None]) -> Iterator[None]:
    """Start the named servers (those that are started), yield, stop them whatever happens."""
    from codefavor.backends.local_server import LocalServer, llama_cpp_server

    with contextlib.ExitStack() as stack:
        for name in names:
            s = recipe.servers[name]
            if s.llama_cpp is not None:
                lc = s.llama_cpp
                srv = llama_cpp_server(
                    lc.model, n_ctx=lc.n_ctx, n_threads=lc.n_threads, logits_all=lc.logits_all,
                    model_alias=lc.alias, nice=s.nice, startup_timeout_s=s.startup_timeout_s,
                    log_path=folder / f"server-{name}.log", parallel=lc.parallel, binary=lc.binary,
                )  # fmt: skip
            elif s.command is not None:
                srv = LocalServer(
                    s.command, s.health_url or "", s.base_url, nice=s.nice, startup_timeout_s=s.startup_timeout_s,
                    log_path=folder / f"server-{name}.log",
                )  # fmt: skip
            else:
                _CURRENT_URLS[name] = s.base_url or ""
                continue
            log(f"starting server {name}: {srv}")
            stack.enter_context(srv)
            _CURRENT_URLS[name] = srv.base_url or ""
            _CURRENT_SCOPES[name] = "recipe-server:" + json.dumps(_server_identity(s), sort_keys=True)
        try:
            yield
        finally:
            _CURRENT_URLS.clear()
            _CURRENT_SCOPES.clear()


# ---------------------------------------------------------------------------------------------
# running


def select(stages: Sequence[Stage], only: Sequence[str] = (), start: str | None = None) -> list[Stage]:
    """The stages `--only` (names or groups, repeatable) and `--from` (a name or group) pick."""
    names = [s.name for s in stages]

    def matches(s: Stage, want: str) -> bool:
        return s.name == want or s.group == want

    for want in (*only, *([start] if start else [])):
        if not any(matches(s, want) for s in stages):
            raise CodefavorError(f"no stage {want!r}; stages: {', '.join(names)}")
    chosen = list(stages)
    if start is not None:
        first = next(i for i, s in enumerate(stages) if matches(s, start))
        chosen = chosen[first:]
    if only:
        chosen = [s for s in chosen if any(matches(s, w) for w in only)]
    return chosen


def stage_states(recipe: Recipe, base: Path, stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """For each stage: its key now (None when an input is not made yet) and what its folder holds."""
    root = Path(st._resolve(base, recipe.runs) or recipe.runs)
    fingerprints: dict[str, str] = {}
    rows = []
    for s in stages:
        rec = read_stage(root / s.name)
        key = _key(s, fingerprints) if s.partial or all(n in fingerprints for n in s.needs) else None
        state = "pending"
        if rec is not None:
            if key is not None and rec.get("key") == key:
                state = "done" if _finished(root, rec, key, s.extent) else "partial"
            else:
                state = "stale"
        if state == "done" and rec is not None:
            fingerprints[s.name] = rec["fingerprint"]
        rows.append({"stage": s.name, "state": state, "key": key, "folder": str(root / s.name)})
    return rows


def run_recipe(
    path: str | Path,
    *,
    only: Sequence[str] = (),
    start: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run (or with `dry_run`, list) the recipe's stages; return one row per stage considered."""
    recipe, base = load_recipe(path)
    stages = plan(recipe, base, log)
    chosen = {s.name for s in select(stages, only, start)}
    root = Path(st._resolve(base, recipe.runs) or recipe.runs)
    if dry_run:
        rows = stage_states(recipe, base, stages)
        for r in rows:
            r["would_run"] = r["stage"] in chosen and (force or r["state"] != "done")
        return rows
    fingerprints: dict[str, str] = {}
    outputs: dict[str, dict[str, str]] = {}
    rows = []
    for s in stages:
        folder = root / s.name
        rec = read_stage(folder)
        missing = [] if s.partial else [n for n in s.needs if n not in fingerprints]
        if s.name not in chosen:
            if not missing and _finished(root, rec, _key(s, fingerprints), s.extent):
                fingerprints[s.name], outputs[s.name] = rec["fingerprint"], _absolute(root, rec["outputs"])
            rows.append({"stage": s.name, "ran": False, "why": "not selected"})
            continue
        if missing:
            raise CodefavorError(
                f"stage {s.name} needs {', '.join(missing)} finished first (run without --only/--from, or include them)"
            )
        key = _key(s, fingerprints)
        if _finished(root, rec, key, s.extent) and not force:
            fingerprints[s.name], outputs[s.name] = rec["fingerprint"], _absolute(root, rec["outputs"])
            rows.append({"stage": s.name, "ran": False, "why": "done (same settings and inputs)", "key": key})
            log(f"[{s.name}] done, skipped ({key})")
            continue
        with _stage_lock(root, s.name):
            if folder.exists() and (rec is None or rec.get("key") != key or force):
                # Results of other settings or inputs are never mixed with these, but hours of real
                # replies are not deleted on a changed key either: the last such folder is kept aside.
                aside = root / STALE_DIR / s.name
                shutil.rmtree(aside, ignore_errors=True)
                aside.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(folder), aside)
                log(f"[{s.name}] settings or inputs changed: starting it again (the old folder is now {aside})")
            folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic(
                folder / STAGE_FILE, {"stage": s.name, "key": key, "extent": s.extent, "finished": False}
            )
            log(f"[{s.name}] running ({key})")
            t0 = time.monotonic()
            with _serving(recipe, s.servers, folder, log):
                outs = s.run(folder, outputs, key)
            fp = _fingerprint(outs, key)
            write_json_atomic(
                folder / STAGE_FILE,
                {"stage": s.name, "key": key, "extent": s.extent, "finished": True, "outputs": _relative(root, outs), "fingerprint": fp,
                 "seconds": round(time.monotonic() - t0, 1)},
            )  # fmt: skip
        fingerprints[s.name], outputs[s.name] = fp, outs
        rows.append({"stage": s.name, "ran": True, "key": key})
    return rows


# ---------------------------------------------------------------------------------------------
# the report


def _report(
    recipe: Recipe, base: Path, folder: Path, inputs: dict[str, dict[str, str]], reads: Sequence[str]
) -> dict[str, str]:
    from codefavor.recipe.report import render

    # A bench folder restored from saved results has judgments but no tasks.jsonl (benchmark text is
    # never saved): the sample is seeded, so it is drawn again from the data.
    def sample() -> list[Any]:
        return st.bench_tasks(recipe.bench, base, recipe.bench.sample)[0] if recipe.bench else []

    text, table = render(recipe, inputs, reads, folder.parent, sample)
    (folder / "report.md").write_text(text, encoding="utf-8")
    write_json_atomic(folder / "report.json", table)
    return {"report": str(folder / "report.md"), "table": str(folder / "report.json")}
