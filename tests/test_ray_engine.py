"""The Ray engine against a real local Ray cluster (2 CPUs, no dashboard, no usage stats), not a mock:
the same input through the local and the Ray engine gives the same run folder (Critic-Evol, verify,
the evidence judge over hand-written bench tasks); a row whose work raises is recorded, not fatal;
and a Ray driver killed with SIGKILL midway, then rerun, leaves every item exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import test_critic_evol as ce_data  # noqa: E402 - the scripted Critic-Evol inputs, shared with its tests
import test_verify as verify_data  # noqa: E402 - the hand-written pairs with planted contradictions
from codefavor.backends.fake import FakeBackend  # noqa: E402
from codefavor.engines import EngineSpec, rebuildable  # noqa: E402
from codefavor.generators import critic_evol as ce  # noqa: E402
from codefavor.records import BenchTask, write_records  # noqa: E402

pytestmark = pytest.mark.slow  # a Ray cluster takes 10-20 s to start on 2 shared cores; the file ~1-2 min

REPO = Path(__file__).resolve().parents[1]
RAY = EngineSpec("ray", workers=2)


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module; its address for the command-line runs."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # The workers (started by this cluster, with this environment) import the scripted backends of
    # these test modules by name, as they import codefavor: both folders go on their path.
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO / "tests"), str(REPO / "src"), *filter(None, [before])])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = before


def _draft(m):
    return ce_data.DRAFTS[ce_data._key(m)]


def _critic(m):
    return ce_data.CRITIC[ce_data._key(m)]


def _critic_that_raises_on_sq(m):
    if ce_data._key(m) == "sq":
        raise ValueError("a bad row")
    return _critic(m)


def _evolve(out: Path, engine: EngineSpec, critic=_critic):
    draft = rebuildable(FakeBackend, fn=_draft, spec="fake:draft-small")
    critic_backend = rebuildable(FakeBackend, fn=critic, spec="fake:critic-large")
    checker = rebuildable(ce.exec_checker, enabled=True)
    return ce.run_critic_evol(
        ce_data.seeds(), out, critic=critic_backend, draft=draft, settings=ce_data.settings(), exec_checker=checker,
        batch_size=2, engine=engine,
    )  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _without_latency(obj):
    if isinstance(obj, dict):
        return {k: _without_latency(v) for k, v in obj.items() if k != "latency_s"}
    if isinstance(obj, list):
        return [_without_latency(v) for v in obj]
    return obj


def test_critic_evol_local_and_ray_give_the_same_folder(cluster, tmp_path):
    local = _evolve(tmp_path / "local", EngineSpec())
    remote = _evolve(tmp_path / "ray", RAY)
    assert remote.funnel == local.funnel
    assert local.funnel["kept"] == 2 and local.funnel["processed"] == 6  # a real mix of outcomes
    for name in ("pairs.jsonl", "drafts.jsonl"):
        assert (tmp_path / "ray" / name).read_text() == (tmp_path / "local" / name).read_text(), name
    assert _without_latency(_lines(tmp_path / "ray" / "outcomes.jsonl")) == _without_latency(
        _lines(tmp_path / "local" / "outcomes.jsonl")
    )
    info = json.loads((tmp_path / "ray" / "manifest.json").read_text())["info"]
    assert info["engine"] == {"name": "ray", "address": None, "workers": 2}
    # A rerun on either engine finds everything done.
    again = _evolve(tmp_path / "ray", RAY)
    assert again.funnel["this_run"]["new_outcomes"] == {} and len(_lines(tmp_path / "ray" / "outcomes.jsonl")) == 6


def test_a_row_that_raises_is_recorded_not_fatal(cluster, tmp_path):
    with pytest.raises(ValueError, match="a bad row"):  # in this process the error ends the run, as before
        _evolve(tmp_path / "local", EngineSpec(), critic=_critic_that_raises_on_sq)
    result = _evolve(tmp_path / "ray", RAY, critic=_critic_that_raises_on_sq)
    by_id = {o["id"]: o for o in _lines(tmp_path / "ray" / "outcomes.jsonl")}
    assert by_id["malformed"]["status"] == "critic_error"
    assert "ValueError: a bad row" in by_id["malformed"]["engine_error"]
    # Only the bad row is lost: its batch-mate and every other seed end as on the local engine.
    good = _evolve(tmp_path / "good", EngineSpec())
    expected = {o["id"]: o["status"] for o in _lines(tmp_path / "good" / "outcomes.jsonl")}
    assert {k: v["status"] for k, v in by_id.items() if k != "malformed"} == {
        k: v for k, v in expected.items() if k != "malformed"
    }
    assert result.funnel["critic_error"] == 1 and good.funnel["critic_error"] == 0
    # The error status is retried on resume: with a critic that works, the seed completes.
    fixed = _evolve(tmp_path / "ray", RAY)
    assert fixed.funnel == {**good.funnel, "this_run": fixed.funnel["this_run"]}
    assert fixed.funnel["this_run"]["new_outcomes"] == {"unparseable": 1}


def test_commit_instruct_local_and_ray_give_the_same_folder(cluster, tmp_path):
    from codefavor.backends import load_backend
    from codefavor.generators import commit_instruct as ci
    from test_commit_instruct import make_seed

    seeds = [make_seed(i) for i in range(5)] + [make_seed(0)]  # a repeated seed: counted, done once
    backend = rebuildable(load_backend, "fake:commit-replay")  # plays the dialogue from the commit itself
    settings = ci.Settings("fake:commit-replay", decontaminate=False)
    runs = {
        name: ci.run_commit_instruct(seeds, backend, tmp_path / name, settings=settings, batch_size=2, engine=e)
        for name, e in (("local", EngineSpec()), ("ray", RAY))
    }
    assert runs["ray"].funnel == runs["local"].funnel and runs["local"].funnel["kept"] == 5
    assert (tmp_path / "ray" / "pairs.jsonl").read_text() == (tmp_path / "local" / "pairs.jsonl").read_text()
    assert _without_latency(_lines(tmp_path / "ray" / "outcomes.jsonl")) == _without_latency(
        _lines(tmp_path / "local" / "outcomes.jsonl")
    )


def _tasks() -> list[BenchTask]:
    from test_evidence_judge import BROKEN, GOOD, SORT_INS, WRONG

    shell, safe = verify_data.UNSAFE_RUN, verify_data.SAFE_RUN
    return [
        BenchTask(task_id="sort-wrong", instruction=SORT_INS, choices=(GOOD, WRONG), gt_choice=0, category="correctness"),
        BenchTask(task_id="sort-broken", instruction=SORT_INS, choices=(BROKEN, GOOD), gt_choice=1, category="correctness"),
        BenchTask(task_id="add", instruction=verify_data.ADD, choices=(verify_data.BAD_ADD, verify_data.GOOD_ADD),
                  gt_choice=1, category="correctness"),
        BenchTask(task_id="shell", instruction=verify_data.FETCH, choices=(shell, safe), gt_choice=1, category="security"),
        BenchTask(task_id="style", instruction="Add two numbers.", choices=("def f(a,b): return a+b", "def f(a, b):\n    return a + b"),
                  gt_choice=1, category="human-preference"),
    ]  # fmt: skip


def test_bench_with_the_evidence_judge_local_and_ray_agree(cluster, tmp_path):
    from codefavor.benchmark.runner import BenchProtocol, run_bench
    from codefavor.judges import load_judge

    tasks = _tasks()
    protocol = BenchProtocol(both_orders=True)
    judge = rebuildable(load_judge, "evidence")
    local = run_bench(judge, tasks, tmp_path / "local", protocol=protocol)
    remote = run_bench(judge, tasks, tmp_path / "ray", protocol=protocol, engine=RAY)

    def view(js):
        return [(j.task_id, j.order, j.decision, j.signal, j.error) for j in js]

    assert view(remote) == view(local) and len(local) == 10
    assert all(j.error is None for j in remote)
    names = {t.id: t.task_id for t in tasks}
    signals = {(names[j.task_id], j.order): j.signal for j in local}
    assert signals[("sort-wrong", "AB")] == signals[("add", "BA")] == "examples"  # the workers' sandboxes ran
    rows = _lines(tmp_path / "ray" / "judgments.jsonl")
    assert [r["id"] for r in rows] == [r["id"] for r in _lines(tmp_path / "local" / "judgments.jsonl")]
    again = run_bench(judge, tasks, tmp_path / "ray", protocol=protocol, engine=RAY)  # nothing left: nothing added
    assert len(again) == 10 and len(_lines(tmp_path / "ray" / "judgments.jsonl")) == 10


def test_verify_local_and_ray_agree_and_resume(cluster, tmp_path):
    from codefavor.verify import verify_pairs

    pairs = verify_data.PAIRS[:5]  # no efficiency pairs: timing is the one signal that may differ between runs
    src = tmp_path / "pairs.jsonl"
    write_records(src, pairs)
    local = verify_pairs(src, tmp_path / "local.jsonl", batch_size=2)
    write_records(tmp_path / "first.jsonl", pairs[:2])  # a run that stopped after two pairs
    verify_pairs(tmp_path / "first.jsonl", tmp_path / "ray.jsonl", batch_size=2, engine=RAY)
    remote = verify_pairs(src, tmp_path / "ray.jsonl", batch_size=2, engine=RAY)
    assert (remote.already_done, remote.kept + remote.removed) == (2, 3)
    assert (local.kept, local.removed, dict(local.by_rule)) == (2, 3, {"examples": 2, "loads": 1, "security": 1})
    for name in ("{}.jsonl", "{}.removed.jsonl"):
        mine, theirs = (tmp_path / name.format(x) for x in ("ray", "local"))
        assert sorted(mine.read_text().splitlines()) == sorted(theirs.read_text().splitlines()), name
    assert not (tmp_path / "ray.errors.jsonl").exists()


def _stub(reply: str, latency: float):
    from codefavor.testing.stub_server import start

    return start(["--latency", str(latency), "--reply", reply])


def test_sigkill_of_the_ray_driver_then_rerun_leaves_each_item_once(cluster, tmp_path):
    proc_stub, url = _stub(ce_data.IMPROVE, 0.2)
    try:
        inp = tmp_path / "in.jsonl"
        with inp.open("w") as f:
            for k in range(24):
                row = {"id": f"item-{k:02d}", "instruction": f"Write `rev(s)` that reverses a string (variant {k})."}
                if k % 2:  # half with a given draft (kept pairs), half drafted by the model (drafts.jsonl)
                    row["response"] = ce_data.DRAFTS["rev"]
                f.write(json.dumps(row) + "\n")
        out = tmp_path / "run"
        cmd = [
            sys.executable, "-m", "codefavor", "generate", "critic-evol", "--input", str(inp),
            "--draft", "openai:stub-draft", "--critic", "openai:stub", "--base-url", url, "--no-cache",
            "--output", str(out), "--no-decontam", "--batch-size", "2", "--json",
            "--engine", "ray", "--address", cluster,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "RAY_USAGE_STATS_ENABLED": "0"}
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        outcomes = out / "outcomes.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if outcomes.exists() and len(outcomes.read_text().splitlines()) >= 6:
                break
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and anything it started, by its process group
        proc.wait()
        before = len(outcomes.read_text().splitlines())
        assert 0 < before < 24, before
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        funnel = json.loads(done.stdout)
        assert (funnel["processed"], funnel["pending"]) == (24, 0)
        counts = Counter(o["id"] for o in _lines(outcomes))
        assert len(counts) == 24 and set(counts.values()) == {1}  # each item exactly once
        pairs = Counter(p["id"] for p in _lines(out / "pairs.jsonl"))
        assert set(pairs.values()) == {1} and len(pairs) == funnel["kept"] == 12
        drafted = Counter(d["id"] for d in _lines(out / "drafts.jsonl"))
        assert set(drafted.values()) <= {1} and len(drafted) == 12  # no item drafted twice
    finally:
        proc_stub.terminate()
        proc_stub.wait()
