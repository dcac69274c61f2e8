"""The engine option and the local engine (no Ray needed): validation, in-order results with batches in
flight, lazy pulling, recipes that rebuild what they built, and the command line's one-line errors."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from codefavor.engines import LOCAL, EngineSpec, Inline, Recipe, built, map_batches, portable, rebuildable
from codefavor.errors import CodefavorError


def test_engine_spec_is_checked():
    assert LOCAL.in_process and not EngineSpec("ray").in_process
    with pytest.raises(CodefavorError, match="expected one of local, ray"):
        EngineSpec("spark")
    with pytest.raises(CodefavorError, match="Ray options"):
        EngineSpec("local", address="head:6379")
    with pytest.raises(CodefavorError, match="at least 1"):
        EngineSpec("ray", workers=0)


def test_local_engine_keeps_order_and_pulls_lazily():
    pulled: list[int] = []

    def batches():
        for k in range(6):
            pulled.append(k)
            yield [k, k + 10]

    def slow_first(batch):  # the first batch finishes last: results must still come back in order
        time.sleep(0.2 if batch[0] == 0 else 0.0)
        return [x * 2 for x in batch]

    seen = []
    for batch, out in map_batches(LOCAL, Inline(slow_first), batches(), failed=None, in_flight=3):
        seen.append((batch, out))
        assert len(pulled) <= len(seen) + 3  # never more than in_flight ahead of what was handed back
    assert seen == [([k, k + 10], [2 * k, 2 * k + 20]) for k in range(6)]


def test_local_engine_runs_one_batch_at_a_time_in_this_thread():
    threads = set()

    def fn(batch):
        threads.add(threading.get_ident())
        return batch

    assert [b for b, _ in map_batches(LOCAL, Inline(fn), iter([[1], [2]]), failed=None)] == [[1], [2]]
    assert threads == {threading.get_ident()}
    with pytest.raises(ZeroDivisionError):  # in this process an error ends the run, as it always has
        list(map_batches(LOCAL, Inline(lambda b: [1 / 0]), iter([[1]]), failed=lambda r, why: why))


def test_rebuildable_ships_its_recipe():
    from codefavor.backends import Sampling, load_backend

    backend = rebuildable(load_backend, "fake:const=hi")
    recipe = portable(backend)
    assert isinstance(recipe, Recipe) and recipe.args == ("fake:const=hi",)
    again = built(pickle.loads(pickle.dumps(recipe)))  # what a worker does
    assert again is not backend and again.generate([[{"role": "user", "content": "x"}]], Sampling())[0].text == "hi"
    assert portable(3) == 3 and built(3) == 3  # anything else travels as it is


def test_cli_refuses_ray_options_without_the_ray_engine(tmp_path, capsys):
    from codefavor.cli import main

    pairs = tmp_path / "p.jsonl"
    pairs.write_text("")
    for argv, says in (
        (["verify", str(pairs), "--output", str(tmp_path / "o.jsonl"), "--address", "h:1"], "Ray options"),
        (["bench", "--engine", "spark", "--judge", "shorter"], "expected one of local, ray"),
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_batch_jobs_and_the_ray_engine_are_refused_together(tmp_path):
    from codefavor.generators import jobs

    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "instruction": "Write `f()`.", "response": "def f():\\n    return 1"}\n')
    run = jobs.RunControl(tmp_path / "run", engine=EngineSpec("ray"))
    roles = jobs.Roles("openai:m", critic_options={"batch": str(tmp_path / "run" / "batch")})
    with pytest.raises(CodefavorError, match="do not combine"):
        jobs.critic_evol(jobs.InstructionSource(input=inp), run, roles, execute=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written
