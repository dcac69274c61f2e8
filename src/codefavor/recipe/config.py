"""A recipe file: the whole CodeFavor loop in one YAML document, validated with line numbers.

The schema is pydantic models with unknown keys forbidden; a bad file is one `CodefavorError` line
`FILE:LINE: field.path: what is wrong`, the line being the one that holds the field (or its parent
mapping when the field is missing). Relative paths in the recipe are relative to the recipe file.

    name: cpu-real-small
    runs: ../runs/cpu-real-small          # where the stage folders go
    servers: {qwen: {llama_cpp: {model: qwen2.5-coder-0.5b-gguf, n_threads: 2}}}
    sources:
      commit-instruct: {seeds: {repos: [...]}, generate: {backend: {spec: openai:qwen, server: qwen}}}
      critic-evol: {seeds: {input: instructions.jsonl}, generate: {draft: ..., critic: ...}}
    decontaminate: {data: ...}
    train: {model: smollm2-gguf, options: {num_train_epochs: 1}}
    bench: {data: ..., sample: 200, generative: {judge: gen:openai:smol, server: smol, sample: 100}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codefavor.errors import CodefavorError

SOURCE_NAMES = ("commit-instruct", "critic-evol")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlamaCpp(_Strict):
    """llama.cpp's OpenAI-compatible server on one GGUF file (a path or a model alias)."""

    model: str
    n_ctx: int = 4096
    n_threads: Optional[int] = None
    logits_all: bool = False
    alias: Optional[str] = None  # the model name clients send
    # > 1: llama.cpp's own `llama-server` with that many slots batched together (`make llama-server`)
    parallel: int = Field(default=1, ge=1)
    binary: Optional[str] = None  # a `llama-server` path (default: beside the interpreter, or on PATH)


class Server(_Strict):
    """A model server: started by the recipe (`command` + `health_url`, or `llama_cpp`) and stopped
    after the stage that needs it, or only a `base_url` that is already serving."""

    command: Optional[Union[str, list[str]]] = None  # `{port}` stands for a free loopback port
    health_url: Optional[str] = None
    base_url: Optional[str] = None
    llama_cpp: Optional[LlamaCpp] = None
    nice: int = 0
    startup_timeout_s: float = 600.0

    @model_validator(mode="after")
    def _one_way(self) -> Server:
        started = self.command is not None or self.llama_cpp is not None
        if self.command is not None and self.llama_cpp is not None:
            raise ValueError("give `command` or `llama_cpp`, not both")
        if self.command is not None and not (self.health_url and self.base_url):
            raise ValueError("a `command` needs `health_url` and `base_url` (both may use {port})")
        if not started and not self.base_url:
            raise ValueError("give `command`, `llama_cpp`, or the `base_url` of a running server")
        for url in (self.health_url, self.base_url) if started else ():
            if url and not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
                raise ValueError(f"a started server listens on loopback only; {url!r} is not")
        return self


class Model(_Strict):
    """A backend spec and the server it talks to (a name under `servers`), plus backend options."""

    spec: str
    server: Optional[str] = None
    options: dict[str, Any] = Field(default_factory=dict)  # e.g. max_in_flight, timeout


class CommitSeeds(_Strict):
    repos: list[str] = Field(default_factory=list)
    revisions: list[str] = Field(default_factory=list)
    input: Optional[str] = None  # CommitPackFT-style rows (JSONL/Parquet)
    languages: list[str] = Field(default_factory=lambda: ["python"])
    licenses: list[str] = Field(default_factory=list)
    permissive: bool = False
    max_file_bytes: int = 100_000
    max_changed_lines: int = 200
    # Path globs whose changes make no teaching example (tests, packaging metadata); matched by fnmatch.
    exclude_paths: list[str] = Field(default_factory=list)
    limit: Optional[int] = None

    @model_validator(mode="after")
    def _one_source(self) -> CommitSeeds:
        if bool(self.repos) == bool(self.input):
            raise ValueError("give exactly one of `repos` or `input`")
        return self


class Exercism(_Strict):
    repo: str
    rev: str = "HEAD"
    examples: int = 3


class InstructionSeeds(_Strict):
    input: Optional[str] = None  # JSONL with instruction (and optional response, id)
    exercism: Optional[Exercism] = None
    every: int = 1  # take every N-th instruction (a spread over the track, not its first ones)
    limit: Optional[int] = None

    @model_validator(mode="after")
    def _one_source(self) -> InstructionSeeds:
        if (self.input is None) == (self.exercism is None):
            raise ValueError("give exactly one of `input` or `exercism`")
        return self


class CommitGenerate(_Strict):
    backend: Model
    # Who writes the two codes: the model ("model", the paper's way) or the commit ("commit": its
    # changed definitions cut out with what they need; the model writes the words around them).
    codes: Literal["model", "commit"] = "model"
    temperature: float = 0.0
    max_tokens: int = 2048
    stop: list[str] = Field(default_factory=list)
    batch_size: int = 1
    limit: Optional[int] = None


class CriticGenerate(_Strict):
    critic: Model
    draft: Optional[Model] = None
    shots: int = 5
    seed: int = 0
    draft_temperature: float = 0.8
    draft_max_tokens: int = 1024
    critic_temperature: float = 0.5
    critic_max_tokens: int = 2048
    # The critic's answer is done when it starts echoing the prompt's task block; stopping there
    # saves the tokens of an echo that small models otherwise write to max_tokens.
    critic_stop: list[str] = Field(default_factory=lambda: ["\n### Task", "\n### [DRAFT]", "\nNow review this one"])
    execute: bool = True
    exec_timeout: float = 2.0
    require_exec_consistency: bool = False
    batch_size: int = 1
    limit: Optional[int] = None


class CommitSource(_Strict):
    seeds: CommitSeeds
    generate: CommitGenerate


class CriticSource(_Strict):
    seeds: InstructionSeeds
    generate: CriticGenerate


class Sources(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    commit_instruct: Optional[CommitSource] = Field(default=None, alias="commit-instruct")
    critic_evol: Optional[CriticSource] = Field(default=None, alias="critic-evol")

    def items(self) -> list[tuple[str, CommitSource | CriticSource]]:
        out: list[tuple[str, CommitSource | CriticSource]] = []
        if self.commit_instruct is not None:
            out.append(("commit-instruct", self.commit_instruct))
        if self.critic_evol is not None:
            out.append(("critic-evol", self.critic_evol))
        return out


class Decontaminate(_Strict):
    enabled: bool = True
    data: Optional[str] = None  # CodePrefBench files (as `bench --data`)
    threshold: float = 80.0
    # Also drop pairs whose instruction or criterion repeats their generator's own prompt (pairs made
    # before the parsers rejected such replies, or by another version of the prompts).
    prompt_echo: bool = True


class Verify(_Strict):
    enabled: bool = True
    batch_size: int = 32


class Train(_Strict):
    model: str  # a base model: HF folder, .gguf, alias or testing:1m
    judge_type: Literal["classification", "generative"] = "classification"
    config: Optional[str] = None  # a training config YAML, then `options` over it
    options: dict[str, Any] = Field(default_factory=dict)
    # Train in a subprocess instead of in-process, e.g. on GPUs:
    # "accelerate launch --config_file configs/accelerate/zero3.yaml -m codefavor train"; it gets the config file.
    launcher: Optional[str] = None
    judge: Optional[str] = None  # bench spec of its models, {model} the folder (default by judge_type)
    both: bool = True  # also one model on every source's pairs together
    min_pairs: int = 1  # a source with fewer kept pairs trains no model (said in the report)


class Merge(_Strict):
    enabled: bool = True
    weights: Optional[list[float]] = None


class Generative(_Strict):
    judge: str  # e.g. gen:openai:smol
    server: Optional[str] = None
    options: dict[str, Any] = Field(default_factory=dict)
    sample: int = 100


class Bench(_Strict):
    data: Optional[str] = None
    split: Literal["dev", "test", "all"] = "test"
    sample: int = 200  # tasks, stratified by category, seeded
    seed: int = 0
    both_orders: bool = True
    classifier: str = "hf-cls:{model}"  # the judge spec; {model} is a trained (or the base) model folder
    options: dict[str, Any] = Field(default_factory=dict)
    zero_shot: bool = True
    generative: Optional[Generative] = None


class Recipe(_Strict):
    name: str
    runs: str
    servers: dict[str, Server] = Field(default_factory=dict)
    sources: Sources
    decontaminate: Decontaminate = Decontaminate()
    verify: Verify = Verify()
    train: Optional[Train] = None
    variants: dict[str, Train] = Field(
        default_factory=dict
    )  # several base models / judge types (stage names get the variant)
    merge: Merge = Merge()
    bench: Optional[Bench] = None

    def train_variants(self) -> list[tuple[str, Train]]:
        """("", train) for one training setup, else (name, setup) per variant."""
        return [("", self.train)] if self.train is not None else list(self.variants.items())

    @model_validator(mode="after")
    def _servers_named(self) -> Recipe:
        if self.train is not None and self.variants:
            raise ValueError("give `train` (one setup) or `variants` (named setups), not both")
        names = set(self.servers)
        for _, src in self.sources.items():
            gen = src.generate
            models = [gen.backend] if isinstance(gen, CommitGenerate) else [gen.critic, gen.draft]
            for m in models:
                if m is not None and m.server is not None and m.server not in names:
                    raise ValueError(
                        f"server {m.server!r} is not under `servers` ({', '.join(sorted(names)) or 'none'})"
                    )
        if self.bench and self.bench.generative and self.bench.generative.server not in (None, *names):
            raise ValueError(f"server {self.bench.generative.server!r} is not under `servers`")
        if not self.sources.items():
            raise ValueError("`sources` names no generator (commit-instruct, critic-evol)")
        return self


# ---------------------------------------------------------------------------------------------
# loading, with the line of each field


def _lines(node: Any) -> dict[tuple[str, ...], int]:
    """The 1-based line of every mapping key and sequence item of a composed YAML node, by path."""
    import yaml

    out: dict[tuple[str, ...], int] = {(): node.start_mark.line + 1}

    def walk(n: Any, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                p = (*path, str(k.value))
                out[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                p = (*path, str(i))
                out[p] = v.start_mark.line + 1
                walk(v, p)

    walk(node, ())
    return out


def _where(lines: dict[tuple[str, ...], int], loc: tuple[Any, ...]) -> int:
    path = tuple(str(x) for x in loc)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def load_recipe(path: str | Path) -> tuple[Recipe, Path]:
    """The validated recipe and the folder its relative paths are relative to."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise CodefavorError(f"recipe not found: {str(p)!r} (expected a YAML file, e.g. recipes/cpu-real-small.yaml)")
    try:
        text = p.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        raise CodefavorError(f"{p}: not UTF-8 text; expected a recipe YAML file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise CodefavorError(f"{p}:{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise CodefavorError(f"{p}:1: expected a mapping (name, runs, sources, ...)")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(x for x in err["loc"] if not str(x).startswith("function-after"))
        field = ".".join(str(x) for x in loc) or "recipe"
        msg = str(err["msg"]).removeprefix("Value error, ")
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise CodefavorError(f"{p}:{_where(_lines(node), loc)}: {field}: {msg}{more}") from None
    return recipe, p.resolve().parent
