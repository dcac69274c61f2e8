"""The Ray engine: a stage's batches spread over Ray actors, results back in order (extra `ray`).

Each actor calls the stage's `setup()` once, so every worker builds its own backends (LLM calls go
from the worker to the configured servers) and its own sandbox pool. The driver keeps a window of
batches in flight (two per actor, each actor taking the batch when it has the fewest outstanding),
collects them in submission order and hands them back to the run, which writes them; a killed driver
loses only what it had not written yet. A batch that raises (an exception in the work, a worker that
died; it is replaced) is rerun one row at a time, and a row that still fails becomes `failed(row, why)`.

`import codefavor.engines` never imports Ray; this module does, when a run asks for `engine='ray'`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from codefavor.engines import EngineSpec, Stage, portable_stage
from codefavor.errors import CodefavorError


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise CodefavorError("`engine='ray'` needs Ray: pip install 'codefavor[ray]'") from None
    return ray


class _Worker:
    """One actor: the stage built once, then batch after batch."""

    def __init__(self, stage: Stage):
        self.fn = stage.setup()

    def run(self, batch: list[Any]) -> list[Any]:
        out = self.fn(batch)
        if len(out) != len(batch):
            raise RuntimeError(f"{len(out)} results for {len(batch)} rows")
        return out


def connect(engine: EngineSpec) -> bool:
    """Join the cluster at `engine.address` (or Ray's default); True when this call started Ray."""
    ray = _ray()
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing phones home unless the user asks
    try:  # worker output must not mix into --json on stdout
        ray.init(address=engine.address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise CodefavorError(
            f"cannot reach the Ray cluster at {engine.address or 'the default address'}: {e}"
        ) from None
    return True


def _why(e: BaseException) -> str:
    cause = getattr(e, "cause", None) or e
    text = str(cause).strip().splitlines()
    return f"engine: {type(cause).__name__}: {text[-1] if text else ''}"[:300]


def map_batches(
    engine: EngineSpec,
    stage: Stage,
    batches: Iterable[list[Any]],
    *,
    failed: Callable[[Any, str], Any],
    in_flight: int = 1,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """See `codefavor.engines.map_batches`."""
    ray = _ray()
    started = connect(engine)
    actors: list[Any] = []
    try:
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        n = engine.workers or max(1, int(cpus))
        per = max(1, in_flight)
        try:
            shipped = ray.put(portable_stage(stage))
        except Exception as e:  # noqa: BLE001 - pickling errors come in many types
            raise CodefavorError(
                f"the stage cannot be sent to Ray workers ({type(e).__name__}: {e}); build its backends and "
                "judges with codefavor.engines.rebuildable (the command line does)"
            ) from None
        # No Ray-level restarts (they cannot rebuild an actor whose stage lives in the object store):
        # a dead worker is replaced here, when its batch is rerun row by row.
        cls = ray.remote(_Worker).options(num_cpus=min(1.0, cpus / n), max_concurrency=per)

        def new_actor() -> Any:
            return cls.remote(shipped)

        actors = [new_actor() for _ in range(n)]
        busy = [0] * n
        pending: deque[tuple[list[Any], Any, int]] = deque()
        queue = iter(batches)

        def submit() -> bool:
            batch = next(queue, None)
            if batch is None:
                return False
            i = min(range(n), key=busy.__getitem__)
            busy[i] += 1
            pending.append((batch, actors[i].run.remote(batch), i))
            return True

        for _ in range(2 * n * per):
            if not submit():
                break
        while pending:
            batch, ref, i = pending.popleft()
            try:
                results = ray.get(ref)
            except Exception:  # noqa: BLE001 - RayTaskError, RayActorError, ...: rerun row by row
                results = _row_by_row(ray, batch, actors, i, new_actor, failed)
            busy[i] -= 1
            yield batch, results
            submit()
    finally:
        for a in actors:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001,S110 - already gone
                pass
        if started:
            ray.shutdown()


def _row_by_row(
    ray: Any,
    batch: list[Any],
    actors: list[Any],
    i: int,
    new_actor: Callable[[], Any],
    failed: Callable[[Any, str], Any],
) -> list[Any]:
    """The results of a batch that raised, one row at a time, so only the rows that fail are lost."""
    out = []
    for row in batch:
        for attempt in (1, 2):
            try:
                out.extend(ray.get(actors[i].run.remote([row])))
            except ray.exceptions.RayActorError as e:  # the worker died: a fresh one, and the row once more
                actors[i] = new_actor()
                if attempt == 2:
                    out.append(failed(row, _why(e)))
                continue
            except Exception as e:  # noqa: BLE001 - the work itself raised on this row
                out.append(failed(row, _why(e)))
            break
    return out
