"""`codefavor recipe run`: the whole loop on scripted models and a tiny local model.

Commit-Instruct replays a small git history (`fake:commit-replay`); Critic-Evol's critic is the stub
OpenAI server started by the recipe itself (command line + health URL) answering one well-formed
review; training uses the session's 1M-parameter model; the bench runs on hand-written tasks.
Checked: the full recipe end to end, skip on rerun, a settings change reruns only downstream
stages, --from/--only/--dry-run, line-numbered recipe errors, and kill -9 inside a stage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from codefavor.errors import CodefavorError
from codefavor.records import CATEGORIES, BenchTask, write_records

SRC = str(Path(__file__).resolve().parents[1] / "src")

REVIEW = """## Reflection
The draft misses negative numbers.

## Verdict
improve

## Criterion
The function handles negative inputs correctly.

## Revision
```python
def f(x):
    return abs(x) + 1
```

## Feedback
The [REVISION] handles negative inputs; the [DRAFT] does not."""


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00"}  # fmt: skip
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def _history(repo: Path, n: int = 4) -> None:
    """A small repository whose commits each change one Python function."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person\n")
    for i in range(n + 1):
        body = "\n".join(f"    if x == {j}:\n        return {j * 7}" for j in range(i))
        (repo / "calc.py").write_text(f"def f(x):\n{body or '    pass'}\n    return x + {i}\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"handle case {i}")


def _tasks(path: Path) -> None:
    tasks = []
    for c in CATEGORIES:
        for i in range(3):
            good, bad = f"def g(x):\n    return x * {i + 2}\n", f"def g(x):\n    return x - {i}\n"
            tasks.append(BenchTask(task_id=f"{c}/{i}", instruction=f"Task {i} in {c}.", choices=(good, bad),
                                   gt_choice=0, category=c))  # fmt: skip
    write_records(path, tasks)


@pytest.fixture
def recipe_file(tmp_path: Path, tiny_model_dir) -> Path:
    _history(tmp_path / "repo")
    _tasks(tmp_path / "bench.jsonl")
    rows = [{"id": f"ins-{i}", "instruction": f"Write f(x) returning x plus one, case {i}.",
             "response": f"```python\ndef f(x):\n    return x + {i}\n```"} for i in range(3)]  # fmt: skip
    (tmp_path / "instructions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "review.txt").write_text(REVIEW)
    stub = f"{sys.executable} -m codefavor.testing.stub_server --port {{port}} --reply-file {tmp_path / 'review.txt'}"
    text = f"""\
        name: test
        runs: runs
        servers:
          stub:
            command: "{stub}"
            health_url: "http://127.0.0.1:{{port}}/v1/models"
            base_url: "http://127.0.0.1:{{port}}/v1"
            startup_timeout_s: 60
        sources:
          commit-instruct:
            seeds: {{repos: [repo], permissive: true}}
            generate: {{backend: {{spec: "fake:commit-replay"}}, batch_size: 1}}
          critic-evol:
            seeds: {{input: instructions.jsonl}}
            generate:
              critic: {{spec: "openai:stub", server: stub, options: {{cache: false}}}}
              shots: 0
              execute: false
        decontaminate: {{enabled: false}}
        verify: {{enabled: false}}
        train:
          model: {tiny_model_dir}
          options: {{max_steps: 2, per_device_train_batch_size: 2, use_cpu: true, max_seq_length: 512,
                     save_steps: 1, save_total_limit: 1, eval_fraction: 0.0, learning_rate: 1.0e-3}}
          min_pairs: 1
        bench:
          data: bench.jsonl
          split: all
          sample: 8
          options: {{device: cpu}}
        """
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _run(path: Path, **kw):
    from codefavor.recipe import run_recipe

    return run_recipe(path, log=lambda m: None, **kw)


def _ran(rows) -> list[str]:
    return [r["stage"] for r in rows if r.get("ran")]


ALL = [
    "seeds-commit-instruct", "generate-commit-instruct", "decontaminate-commit-instruct", "verify-commit-instruct",
    "seeds-critic-evol", "generate-critic-evol", "decontaminate-critic-evol", "verify-critic-evol",
    "train-commit-instruct", "train-critic-evol", "train-both", "merge",
    "bench-zero-shot", "bench-commit-instruct", "bench-critic-evol", "bench-both", "bench-merged", "report",
]  # fmt: skip


@pytest.mark.slow
def test_full_recipe_then_skip_then_downstream_rerun(recipe_file: Path):
    runs = recipe_file.parent / "runs"
    assert _ran(_run(recipe_file)) == ALL
    ci = runs / "generate-commit-instruct" / "pairs.jsonl"
    ce = runs / "generate-critic-evol" / "pairs.jsonl"
    assert len(ci.read_text().splitlines()) >= 3 and len(ce.read_text().splitlines()) == 3
    report = (runs / "report" / "report.md").read_text()
    assert "| commit-instruct |" in report and "vs zero-shot" in report
    for stage in ALL:  # each stage a run folder of its own with its manifest
        assert (runs / stage / "stage.json").is_file()
    assert (runs / "merge" / "model" / "config.json").is_file()
    table = json.loads((runs / "report" / "report.json").read_text())
    assert set(table["bench"]) == {"zero-shot", "commit-instruct", "critic-evol", "both", "merged"}
    assert all(r["tasks"] == 8 for r in table["bench"].values())

    # a rerun with nothing changed runs nothing
    assert _ran(_run(recipe_file)) == []
    # dry run lists every stage as done
    assert all(r["state"] == "done" and not r["would_run"] for r in _run(recipe_file, dry_run=True))

    # a training option changes: training and all after it rerun, nothing before
    text = recipe_file.read_text().replace("learning_rate: 1.0e-3", "learning_rate: 2.0e-3")
    recipe_file.write_text(text)
    planned = [r["stage"] for r in _run(recipe_file, dry_run=True) if r["would_run"]]
    assert planned[0] == "train-commit-instruct" and "generate-critic-evol" not in planned
    ran = _ran(_run(recipe_file))
    downstream = ALL[ALL.index("train-commit-instruct") :]
    # zero-shot reads no trained model; the report reruns only if some bench's judgments changed
    assert set(downstream) - {"bench-zero-shot", "report"} <= set(ran) <= set(downstream) - {"bench-zero-shot"}
    assert len(ce.read_text().splitlines()) == 3  # generation untouched


def test_only_from_and_missing_inputs(recipe_file: Path):
    assert _ran(_run(recipe_file, only=["seeds"])) == ["seeds-commit-instruct", "seeds-critic-evol"]
    with pytest.raises(CodefavorError, match="needs generate-commit-instruct finished first"):
        _run(recipe_file, only=["decontaminate-commit-instruct"])
    assert _ran(_run(recipe_file, only=["generate"])) == ["generate-commit-instruct", "generate-critic-evol"]
    rows = _run(recipe_file, start="train", dry_run=True)
    assert [r["stage"] for r in rows if r["would_run"]] == [
        s for s in ALL if ALL.index(s) >= ALL.index("train-commit-instruct")
    ]
    with pytest.raises(CodefavorError, match="no stage 'nope'"):
        _run(recipe_file, only=["nope"])
    # the report runs on what is finished and says what is not
    assert _ran(_run(recipe_file, only=["report"])) == ["report"]
    report = (recipe_file.parent / "runs" / "report" / "report.md").read_text()
    assert "| commit-instruct |" in report and "not run" in report
    # the whole folder copied elsewhere (a later session): finished stages are still finished
    import shutil

    moved = recipe_file.parent.parent / "moved"
    shutil.copytree(recipe_file.parent, moved)
    shutil.rmtree(recipe_file.parent / "runs")
    rows = _run(moved / "recipe.yaml", only=["seeds", "generate", "decontaminate"])
    assert _ran(rows) == ["decontaminate-commit-instruct", "decontaminate-critic-evol"]
    assert (moved / "runs" / "decontaminate-critic-evol" / "pairs.jsonl").read_text().count("\n") == 3


def test_a_finished_stage_whose_outputs_are_gone_runs_again(recipe_file: Path):
    """Saved results restore stage records without model weights: such a stage is not done, so
    nothing downstream starts on a model (or file) that is not there."""
    assert _ran(_run(recipe_file, only=["seeds"])) == ["seeds-commit-instruct", "seeds-critic-evol"]
    (recipe_file.parent / "runs" / "seeds-critic-evol" / "instructions.jsonl").unlink()
    states = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert states["seeds-critic-evol"] == "partial" and states["seeds-commit-instruct"] == "done"
    with pytest.raises(CodefavorError, match="needs seeds-critic-evol finished first"):
        _run(recipe_file, only=["generate-critic-evol"])
    assert _ran(_run(recipe_file, only=["seeds"])) == ["seeds-critic-evol"]
    assert (recipe_file.parent / "runs" / "seeds-critic-evol" / "instructions.jsonl").is_file()


def test_recipe_errors_name_file_line_and_field(tmp_path: Path):
    from codefavor.recipe import load_recipe

    bad = tmp_path / "r.yaml"
    bad.write_text(
        "name: x\nruns: r\nsources:\n  critic-evol:\n    seeds: {input: a.jsonl}\n    generate:\n      critic: {spec: x}\n      shotz: 2\n"
    )
    with pytest.raises(CodefavorError, match=r"r\.yaml:8: sources\.critic-evol\.generate\.shotz: Extra inputs"):
        load_recipe(bad)
    bad.write_text(
        "name: x\nruns: r\nsources:\n  critic-evol:\n    seeds: {input: a.jsonl}\n    generate:\n      critic: {spec: x, server: gone}\n"
    )
    with pytest.raises(CodefavorError, match=r"r\.yaml:1: recipe: server 'gone' is not under `servers`"):
        load_recipe(bad)
    bad.write_text("name: [x\n")
    with pytest.raises(CodefavorError, match=r"r\.yaml:2: not valid YAML"):
        load_recipe(bad)


def test_cli_dry_run_and_exit_code_2(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": SRC}
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "codefavor", "recipe", "run", str(root / "recipes" / "cpu-real-small.yaml"), "--dry-run"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "generate-critic-evol" in r.stdout and "report" in r.stdout
    (tmp_path / "bad.yaml").write_text("name: x\nruns: r\nsources: {}\nbogus: 1\n")
    r = subprocess.run([sys.executable, "-m", "codefavor", "recipe", "run", "bad.yaml"], capture_output=True, text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.yaml:4: bogus" in r.stderr, r.stderr


def test_kill_minus_9_inside_generate_then_rerun_redoes_nothing(recipe_file: Path):
    """The stub answers slowly; the recipe is killed after the first critic outcome is committed.
    The rerun keeps that outcome, finishes the rest, and no seed has two outcome lines."""
    text = recipe_file.read_text().replace("--reply-file", "--latency 1.5 --reply-file")
    recipe_file.write_text(text)
    code = f"from codefavor.recipe import run_recipe; run_recipe({str(recipe_file)!r}, only=['seeds', 'generate-critic-evol'])"
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    outcomes = recipe_file.parent / "runs" / "generate-critic-evol" / "outcomes.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (outcomes.exists() and outcomes.read_text().count("\n") >= 1):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = [json.loads(x)["id"] for x in outcomes.read_text().splitlines()]
    assert 1 <= len(before) < 3
    rows = _run(recipe_file, only=["seeds", "generate-critic-evol"])
    assert _ran(rows) == ["generate-critic-evol"]
    after = [json.loads(x)["id"] for x in outcomes.read_text().splitlines()]
    assert after[: len(before)] == before and len(after) == len(set(after)) == 3
    pairs = (outcomes.parent / "pairs.jsonl").read_text().splitlines()
    assert len(pairs) == len({json.loads(p)["id"] for p in pairs}) == 3


def test_paper_recipe_plans_four_base_models_by_two_judge_types():
    from codefavor.recipe import load_recipe, plan

    root = Path(__file__).resolve().parents[1]
    recipe, base = load_recipe(root / "recipes" / "paper.yaml")
    stages = {s.name: s for s in plan(recipe, base, log=lambda m: None)}
    merges = [n for n in stages if n.startswith("merge-")]
    assert len(merges) == 8 and "train-nemo-gen-critic-evol" in stages
    assert stages["bench-nemo-gen-zero-shot"].settings["judge"].startswith("hf-gen:")
    assert stages["bench-nemo-cls-zero-shot"].settings["judge"].startswith("hf-cls:")
    assert stages["generate-critic-evol"].servers == ("critic", "draft")
    assert stages["generate-critic-evol"].settings["prompt_version"].startswith("v")  # a reworded prompt reruns


def test_a_stage_in_progress_elsewhere_is_refused(recipe_file: Path):
    import fcntl

    runs = recipe_file.parent / "runs"
    runs.mkdir()
    with open(runs / ".seeds-critic-evol.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CodefavorError, match="seeds-critic-evol is being run by another process"):
            _run(recipe_file, only=["seeds-critic-evol"])
    assert _ran(_run(recipe_file, only=["seeds-critic-evol"])) == ["seeds-critic-evol"]


def test_backend_errors_leave_generate_unfinished_and_a_rerun_retries_them(recipe_file: Path):
    """The stub fails every second request (500, no retry): one of three critic calls fails. The
    stage is not marked finished (a dead server must not pass a funnel with holes downstream), and
    a rerun retries only the failed item, each seed ending with one outcome line."""
    text = recipe_file.read_text().replace("--reply-file", "--schedule ok,500 --reply-file")
    text = text.replace("options: {cache: false}", "options: {cache: false, max_attempts: 1}")
    recipe_file.write_text(text)
    runs = recipe_file.parent / "runs"
    with pytest.raises(
        CodefavorError, match=r"generate-critic-evol: 1 items failed on backend errors \(critic_error 1\)"
    ):
        _run(recipe_file, only=["seeds", "generate-critic-evol"])
    assert json.loads((runs / "generate-critic-evol" / "stage.json").read_text())["finished"] is False
    rows = _run(recipe_file, only=["seeds", "generate-critic-evol"])
    assert _ran(rows) == ["generate-critic-evol"]  # the seeds are done; generate continues its folder
    outcomes = [json.loads(x) for x in (runs / "generate-critic-evol" / "outcomes.jsonl").read_text().splitlines()]
    latest = {o["id"]: o["status"] for o in outcomes}
    assert len(latest) == 3 and "critic_error" not in latest.values()
    assert json.loads((runs / "generate-critic-evol" / "stage.json").read_text())["finished"] is True


def test_transport_knobs_are_not_in_the_generate_key(recipe_file: Path):
    """More requests in flight, a longer timeout or bigger batches continue a generator's folder;
    a changed sampling setting is another experiment and starts it again."""
    _run(recipe_file, only=["seeds", "generate-critic-evol"])
    state = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert state["generate-critic-evol"] == "done"
    text = recipe_file.read_text().replace(
        "options: {cache: false}", "options: {cache: false, max_in_flight: 4, timeout: 900, max_attempts: 3}"
    )
    recipe_file.write_text(text.replace("shots: 0", "shots: 0\n      batch_size: 4"))
    state = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert state["generate-critic-evol"] == "done"
    recipe_file.write_text(recipe_file.read_text().replace("shots: 0", "shots: 0\n      critic_temperature: 0.1"))
    state = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert state["generate-critic-evol"] == "stale"
    runs = recipe_file.parent / "runs"
    before = (runs / "generate-critic-evol" / "outcomes.jsonl").read_text()
    _run(recipe_file, only=["seeds", "generate-critic-evol"])
    # the replaced folder is kept aside, not deleted
    assert (runs / ".stale" / "generate-critic-evol" / "outcomes.jsonl").read_text() == before


def test_a_request_the_server_refuses_is_an_outcome_not_an_error(recipe_file: Path):
    """HTTP 400 (e.g. a prompt longer than the model's context) fails the same way every time: the
    seed ends as `refused`, the stage finishes, and a rerun sends nothing again."""
    text = recipe_file.read_text().replace("--reply-file", "--schedule ok,400 --reply-file")
    recipe_file.write_text(text.replace("options: {cache: false}", "options: {cache: false, max_attempts: 1}"))
    runs = recipe_file.parent / "runs"
    _run(recipe_file, only=["seeds", "generate-critic-evol"])
    funnel = json.loads((runs / "generate-critic-evol" / "funnel.json").read_text())
    assert funnel["refused"] == 1 and funnel["kept"] == 2 and funnel["critic_error"] == 0
    assert "HTTP 400" in next(iter(funnel["reasons"]["refused"]))
    assert _ran(_run(recipe_file, only=["seeds", "generate-critic-evol"])) == []


def test_the_bench_sample_is_stratified_from_its_first_task():
    from codefavor.recipe.stages import stratified_sample

    tasks = [
        BenchTask(task_id=f"{c}/{i}", instruction=f"Task {i}.", choices=("a = 1", "a = 2"), gt_choice=0, category=c)
        for c in ("correctness", "efficiency", "security")
        for i in range(10)
    ]
    sample = stratified_sample(tasks, 7, seed=0)
    assert Counter(t.category for t in sample) == Counter(correctness=3, efficiency=2, security=2)
    # The first k of the run cover the categories in turn: a bench stopped early stays stratified.
    assert [t.category for t in sample[:3]] == ["correctness", "efficiency", "security"]
    assert {t.id for t in stratified_sample(tasks, 4, seed=0)} <= {t.id for t in sample}
    assert stratified_sample(tasks, 7, seed=0) == sample


# Real shapes (Qwen2.5-Coder-0.5B, this project's runs): a criterion that is a shot's own, an
# instruction that paraphrases the prompt's opening, and one pair in the model's own words.
ECHO_PAIRS = [
    ("critic-evol", "Write a function that answers a remark.", "The function detects duplicates in time linear in the length of the list.", True),
    ("commit-instruct", "Write a simple teaching example inspired by the change. It must not depend on the rest of the repository.",
     "Returns [] for None.", True),
    ("commit-instruct", "Rotate a string by concatenating it with itself.", "The function handles an empty list without raising an error.", True),
    ("critic-evol", "Tell whether a sentence is a pangram.", "The function returns True only when all 26 letters occur, in any case.", False),
    ("manual", "Any task.", "The function handles an empty list without raising an error.", False),  # not generated by us
    # Real Qwen2.5-Coder-0.5B words (Commit-Instruct, codes: commit) that say nothing about the codes.
    ("commit-instruct", "Write a function that sorts a list.",
     "The second version is better in terms of functionality, correctness, performance, safety or security.", True),
    ("commit-instruct", "What task the programmer would be asked to do? How does this task relate to a programming task?",
     "It returns the list sorted.", True),
    ("critic-evol", "Any task.", "How well does the revision improve the robustness?", True),
    ("commit-instruct", "Write pigeonhole_sort(a) sorting a list of integers.", "The code after the change is better than the code before it.", True),
    ("commit-instruct", "Write f(x).", "The code after the change is better in one or three sentences, calling the code before the change [IMPROVED].", True),
    ("commit-instruct", "Write reverse_words(s).", "The code after the change runs in linear time.", False),
    ("commit-instruct", "Write reverse_words(s) returning the words of s in reverse order. Which order? The last word first.",
     "It runs in linear time and keeps its input unchanged, for correctness and performance.", False),
]  # fmt: skip


def test_decontaminate_drops_pairs_that_repeat_their_generators_prompt(tmp_path: Path):
    from codefavor.recipe.config import Decontaminate
    from codefavor.recipe.stages import decontaminate
    from codefavor.records import PreferencePair, read_records

    pairs = [PreferencePair(instruction=i, chosen=f"def f():\n    return {n}\n", rejected="def f():\n    return 0\n",
                            criterion=c, source=s) for n, (s, i, c, _) in enumerate(ECHO_PAIRS, 1)]  # fmt: skip
    write_records(tmp_path / "in.jsonl", pairs)
    for echo, expect in ((True, [not e for *_, e in ECHO_PAIRS]), (False, [True] * len(ECHO_PAIRS))):
        out = tmp_path / f"out-{echo}"
        out.mkdir()
        decontaminate(Decontaminate(enabled=False, prompt_echo=echo), tmp_path, str(tmp_path / "in.jsonl"), out, "k")
        kept = {p.id for p in read_records(out / "pairs.jsonl", PreferencePair)}
        assert [p.id in kept for p in pairs] == expect
        report = json.loads((out / "decontam.json").read_text())
        assert sum(report["removed_by_reason"].values()) == expect.count(False)
    assert report["removed_by_reason"] == {"contaminated": 0, "prompt-echo": 0, "vague-criterion": 0, "question": 0}
    faults = [json.loads(x)["reason"] for x in (tmp_path / "out-True" / "removed.jsonl").read_text().splitlines()]
    assert faults == ["prompt-echo"] * 3 + [
        "vague-criterion",
        "question",
        "question",
        "prompt-echo",  # the follow-up prompt's own words
        "vague-criterion",
    ]


def test_the_report_draws_the_sample_again_for_a_bench_restored_without_its_tasks(recipe_file: Path):
    """Saved results keep judgments but never benchmark text (tasks.jsonl): the seeded sample is
    drawn again from the data, so the restored bench still has its row and its paired test."""
    assert _ran(_run(recipe_file, only=["bench-zero-shot"])) == ["bench-zero-shot"]
    (recipe_file.parent / "runs" / "bench-zero-shot" / "tasks.jsonl").unlink()
    _run(recipe_file, only=["report"], force=True)
    table = json.loads((recipe_file.parent / "runs" / "report" / "report.json").read_text())
    assert table["bench"]["zero-shot"]["tasks"] == 8
    assert "| zero-shot | 8 |" in (recipe_file.parent / "runs" / "report" / "report.md").read_text()


def test_who_writes_the_codes_is_in_the_generate_key(recipe_file: Path):
    """`codes: commit` is another experiment (other prompts, other pairs): the generator starts again."""
    _run(recipe_file, only=["seeds-commit-instruct", "generate-commit-instruct"])
    state = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert state["generate-commit-instruct"] == "done"
    recipe_file.write_text(recipe_file.read_text().replace("batch_size: 1}", "batch_size: 1, codes: commit}"))
    state = {r["stage"]: r["state"] for r in _run(recipe_file, dry_run=True)}
    assert state["seeds-commit-instruct"] == "done" and state["generate-commit-instruct"] == "stale"
    bad = recipe_file.read_text().replace("codes: commit", "codes: both")
    recipe_file.write_text(bad)
    with pytest.raises(Exception, match="codes"):
        _run(recipe_file, dry_run=True)
