"""Engines: where the per-batch work of a stage runs, chosen by one option (`EngineSpec`).

A stage is a picklable value whose `setup()` returns `fn(rows) -> results`: one result per row, in
order, pure over records and touching no file (Commit-Instruct: seed -> outcome, Critic-Evol: seed ->
outcome, verify: pair -> annotated pair, a judge over bench tasks: task -> verdict). The run that owns
the run folder pulls batches, hands them to `map_batches` and writes each batch's results as they come
back, in submission order, through the folder's one append. No engine ever writes the folder, so the
folder's exactly-once resume holds for every engine: a result not yet written when the driver dies is
simply redone by the next run, and nothing written is written twice.

- `local` (the default): `setup()` once in this process, then one batch after another (or
  `in_flight` at once, in threads); an exception ends the run, as it always has.
- `ray` (extra `ray`, `codefavor.engines.ray_engine`): `setup()` once on each of N Ray actors (so each
  worker builds its own backends and its own sandbox pool), batches spread over them; a batch that
  raises is rerun row by row and a row that still fails becomes `failed(row, why)`, recorded like any
  other result, so one bad row never ends the job.

Objects that cannot travel to another machine (an HTTP client, a sandbox pool) travel as the recipe
that built them: build them with `rebuildable(factory, *args, **kwargs)` and a stage's fields are
shipped as recipes (`portable`) and rebuilt on the worker (`built`).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from codefavor.errors import CodefavorError

ENGINES = ("local", "ray")
_RECIPE = "_codefavor_recipe"  # the attribute `rebuildable` leaves on what it built

Row = TypeVar("Row")
Result = TypeVar("Result")


@dataclass(frozen=True)
class EngineSpec:
    """Which engine runs a stage's batches: `local`, or `ray` at `address` (None: Ray's own rule, the
    cluster in RAY_ADDRESS or the one `ray start` left on this machine, else a new local one) with
    `workers` actors (None: one per CPU of the cluster)."""

    name: str = "local"
    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise CodefavorError(f"`engine` {self.name!r}: expected one of {', '.join(ENGINES)}")
        if self.name == "local" and (self.address is not None or self.workers is not None):
            raise CodefavorError("`address` and `workers` are Ray options; add `engine='ray'` (--engine ray)")
        if self.workers is not None and self.workers < 1:
            raise CodefavorError(f"`workers` {self.workers}: expected at least 1")

    @property
    def in_process(self) -> bool:
        """Whether the stage runs in this process (so it may hold a sink into the run folder)."""
        return self.name == "local"


LOCAL = EngineSpec()


class Stage(Protocol):
    """Per-batch work: `setup()` is called once where the work runs and returns the batch function."""

    def setup(self) -> Callable[[list[Any]], list[Any]]: ...


@dataclass(frozen=True)
class Inline:
    """A batch function that is its own stage (in-process use: nothing is rebuilt)."""

    fn: Callable[[list[Any]], list[Any]]

    def setup(self) -> Callable[[list[Any]], list[Any]]:
        return self.fn


@dataclass(frozen=True)
class Recipe:
    """How to build an object again elsewhere: `factory(*args, **kwargs)` (all picklable)."""

    factory: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        return self.factory(*self.args, **self.kwargs)


def rebuildable(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`factory(*args, **kwargs)`, remembering the call so that another process can repeat it."""
    obj = factory(*args, **kwargs)
    try:
        setattr(obj, _RECIPE, Recipe(factory, args, dict(kwargs)))
    except (AttributeError, TypeError):  # no instance dict: the object has to pickle as it is
        pass
    return obj


def portable(value: Any) -> Any:
    """What to ship for `value`: the recipe it was built from, when `rebuildable` built it."""
    recipe = getattr(value, _RECIPE, None) if value is not None else None
    return recipe if isinstance(recipe, Recipe) else value


def built(value: Any) -> Any:
    """`value` itself, or the object its recipe builds (on a worker)."""
    return value.build() if isinstance(value, Recipe) else value


def portable_stage(stage: Any) -> Any:
    """A dataclass stage with every field replaced by what `portable` ships for it."""
    if not dataclasses.is_dataclass(stage):
        return stage
    changes = {f.name: portable(getattr(stage, f.name)) for f in dataclasses.fields(stage) if f.init}
    return dataclasses.replace(stage, **changes)  # type: ignore[type-var]


def map_batches(
    engine: EngineSpec,
    stage: Stage,
    batches: Iterable[list[Any]],
    *,
    failed: Callable[[Any, str], Any],
    in_flight: int = 1,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """(batch, results) for every batch, in the order the batches came. Batches are pulled lazily:
    the next one only when there is room for it, so a caller may decide what comes next (limits,
    resume) from what it has written. `failed(row, why)` is the result of a row the engine could not
    run (remote engines only; in this process an exception propagates). `in_flight`: batches one
    worker may run at once (threads)."""
    if engine.name == "ray":
        from codefavor.engines.ray_engine import map_batches as ray_map

        yield from ray_map(engine, stage, batches, failed=failed, in_flight=in_flight)
    else:
        yield from _local(stage, batches, max(1, in_flight))


def _local(stage: Stage, batches: Iterable[list[Any]], in_flight: int) -> Iterator[tuple[list[Any], list[Any]]]:
    fn = stage.setup()
    if in_flight == 1:
        for batch in batches:
            yield batch, fn(batch)
        return
    # Several batches at once (a judge whose work runs in a process pool): a slow item holds up only
    # its own batch; results still come back in order, and the next batch is taken only after the
    # caller has written the oldest one.
    pool = ThreadPoolExecutor(max_workers=in_flight)
    try:
        pending: deque[tuple[list[Any], Future[list[Any]]]] = deque()
        queue = iter(batches)

        def submit() -> None:
            batch = next(queue, None)
            if batch is not None:
                pending.append((batch, pool.submit(fn, batch)))

        for _ in range(in_flight):
            submit()
        while pending:
            batch, future = pending.popleft()
            yield batch, future.result()
            submit()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # after an error: queued batches never start
