"""The command line as a new user meets it: every mistake is one line (exit code 2), Ctrl-C is one
line (130), and unclear cases say what is wrong. Each test here failed before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codefavor.errors import CodefavorError
from codefavor.records import BenchTask, PreferencePair, write_records
from conftest import run_cli


def one_line_error(code, err, fragment=""):
    assert code == 2, err
    assert err.startswith("codefavor: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and fragment in err, err


# ---------------------------------------------------------------------------------------------
# usage errors and Ctrl-C


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "no command given; expected one of download, bench"),
        (["generate"], "generate: no command given; expected one of commit-instruct, critic-evol"),
        (["verify"], "verify: Missing argument 'pairs'"),
        (["verify", "x.jsonl"], "verify: Missing option '--output'"),
        (["bench", "--limit", "abc"], "bench: Invalid value for '--limit'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["merge", "a", "b", "--weights", "1"], "No such option: --weights"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, args, fragment):
    code, _, err = run_cli(args, capsys)
    one_line_error(code, err, fragment)
    assert "see 'codefavor" in err


def test_usage_error_from_a_shell():
    r = subprocess.run([sys.executable, "-m", "codefavor"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no command given" in r.stderr


def test_ctrl_c_mid_run_is_one_line_and_exit_130(tmp_path):
    from codefavor.testing import stub_server

    tasks = tmp_path / "tasks.jsonl"
    write_records(tasks, [BenchTask(task_id=f"t{i}", instruction=f"task {i}", choices=("a", "bb"), gt_choice=0,
                                    category="correctness") for i in range(400)])  # fmt: skip
    stub, url = stub_server.start(["--latency", "3"])
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "codefavor", "bench", "--data", str(tasks), "--judge", "gen:openai:m",
             "--base-url", url, "--api-key", "x", "--no-cache", "--output", str(tmp_path / "run")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            # A shell starts background jobs with SIGINT ignored and children inherit that (`make test &`
            # ran the whole run to exit 0): the child gets Ctrl-C's default, as a terminal delivers it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "manifest.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # requests in flight
        # 400 tasks at 3 s a request outlast any start-up: a run already over would test nothing.
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        stub.terminate()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "codefavor: interrupted" and "Traceback" not in err, err


# ---------------------------------------------------------------------------------------------
# no tracebacks


def test_a_directory_where_a_file_is_expected(capsys, tmp_path):
    folder = tmp_path / "dir"
    folder.mkdir()
    for args in (
        ["verify", folder, "--output", tmp_path / "o.jsonl"],
        ["generate", "commit-instruct", "--input", folder, "--mine-only", "--output", tmp_path / "m"],
        ["generate", "critic-evol", "--input", folder, "--critic", "fake:echo", "--no-decontam", "--output",
         tmp_path / "c"],
    ):  # fmt: skip
        one_line_error(*run_cli(args, capsys)[::2], "is a directory")


def test_json_nested_too_deeply_names_file_and_line(capsys, tmp_path):
    src = tmp_path / "deep.jsonl"
    src.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    code, _, err = run_cli(["verify", src, "--output", tmp_path / "o.jsonl"], capsys)
    one_line_error(code, err, f"{src}:1: invalid JSON (nested too deeply)")


def test_serve_port_out_of_range(capsys):
    code, _, err = run_cli(["serve", "--judge", "shorter", "--port", "99999"], capsys)
    one_line_error(code, err, "--port 99999: expected 0 to 65535")


# ---------------------------------------------------------------------------------------------
# unclear messages


@pytest.fixture
def pair_files(tmp_path):
    (tmp_path / "a.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "b.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "task.md").write_text("Add two numbers.\n>>> add(2, 3)\n5\n")
    return tmp_path


def test_a_mistyped_instruction_file_is_an_error_not_the_text(capsys, pair_files):
    code, _, err = run_cli(["judge", "--instruction", pair_files / "tsak.md", "--a", pair_files / "a.py", "--b",
                            pair_files / "b.py"], capsys)  # fmt: skip
    one_line_error(code, err, "--instruction")
    assert "no such file" in err
    # Text stays text, and an existing file is read.
    code, out, _ = run_cli(["judge", "--instruction", pair_files / "task.md", "--a", pair_files / "a.py", "--b",
                            pair_files / "b.py"], capsys)  # fmt: skip
    assert code == 0 and "Candidate A is better" in out


def test_a_directory_as_candidate_says_so(capsys, pair_files):
    code, _, err = run_cli(["judge", "--instruction", "x", "--a", pair_files, "--b", pair_files / "b.py"], capsys)
    one_line_error(code, err, "--a")
    assert "is a directory" in err


def test_a_missing_model_path_says_it_does_not_exist(capsys, tmp_path):
    from codefavor.judges import load_judge

    with pytest.raises(CodefavorError, match="no such folder or file"):
        load_judge(f"hf-cls:{tmp_path}/nonexistent")
    code, _, err = run_cli(["serve", "--model", tmp_path / "nonexistent", "--port", "0"], capsys)
    one_line_error(code, err, "no such folder or file")
    assert "Repo id" not in err


def test_a_wrong_codefavor_data_is_reported(monkeypatch, tmp_path):
    from codefavor.benchmark.data import resolve_file

    monkeypatch.setenv("CODEFAVOR_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(CodefavorError, match=r"\$CODEFAVOR_DATA=.*nowhere' does not exist"):
        resolve_file("correctness")
    monkeypatch.setenv("CODEFAVOR_DATA", str(tmp_path))
    with pytest.raises(CodefavorError, match=r"does not hold correctness-alignment.jsonl.gz"):
        resolve_file("correctness")


def test_judge_text_shows_speed_and_why_nothing_was_measured():
    from codefavor.cli.verdicts import evidence_lines
    from codefavor.evidence.efficiency import decide

    decided = {"efficiency": {"reason": "cpu-time", "ratio": 0.0048, "target": 1024, "time_a": 0.0169,
                              "time_b": 8.0e-5, "inputs": 4, "entry": "has_dup"}}  # fmt: skip
    text = "\n".join(evidence_lines(decided))
    assert "CPU time A 16.9 ms, B 0.08 ms at size 1024, 4 inputs" in text and "B 208x faster" in text
    # Both candidates too quick at every level: silent, and the text says why.
    run = {"status": "ok", "out": 1, "times": [1e-7, 1e-7]}
    levels = [{"inputs": [{"runs": [run, run]}]} for _ in range(3)]
    silent = decide({"levels": levels}).details
    assert silent["efficiency"]["reason"] == "nothing-measured" and silent["efficiency"]["dropped"] == {"too-fast": 3}
    text = "\n".join(evidence_lines({"evidence": {"efficiency": silent}}))
    assert "no input could be timed" in text and "too-fast 3 (too quick to time" in text
    # A warning the evidence returns is shown.
    assert "warning: no sandbox; correctness evidence is static only" in evidence_lines(
        {"warning": "no sandbox; correctness evidence is static only"}
    )


def test_judge_cli_prints_the_efficiency_measurement(capsys, tmp_path):
    from codefavor.evidence.sandbox import Sandbox, SandboxError

    dups = "Say whether a list holds a duplicate.\n>>> has_dup([1, 2, 3, 4, 5, 6, 7, 8, 9])\nFalse\n>>> has_dup([4, 1, 4])\nTrue\n"
    quadratic = (
        "def has_dup(xs):\n    for i in range(len(xs)):\n        for j in range(i + 1, len(xs)):\n"
        "            if xs[i] == xs[j]:\n                return True\n    return False\n"
    )
    linear = "def has_dup(xs):\n    return len(set(xs)) != len(xs)\n"

    try:
        Sandbox(workers=1).run("x = 1", [])
    except SandboxError as e:
        pytest.skip(f"no sandbox here: {e}")
    (tmp_path / "q.py").write_text(quadratic)
    (tmp_path / "l.py").write_text(linear)
    (tmp_path / "ins.md").write_text(dups)
    code, out, _ = run_cli(["judge", "--instruction", tmp_path / "ins.md", "--a", tmp_path / "q.py", "--b",
                            tmp_path / "l.py", "--criterion", "efficiency"], capsys)  # fmt: skip
    assert code == 0 and "Candidate B is better" in out
    assert "efficiency: cpu-time" in out and "CPU time A" in out and "faster" in out


def test_invalid_training_yaml_and_a_folder_are_one_line(capsys, tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "bad.yaml").write_text("model: x\ntrain_files: [a.jsonl\nmax_steps: 3\n")
    code, _, err = run_cli(["train", tmp_path / "bad.yaml"], capsys)
    one_line_error(code, err, "bad.yaml:3:")
    assert "invalid YAML" in err
    code, _, err = run_cli(["train", tmp_path], capsys)
    one_line_error(code, err, "is a directory; expected a training config YAML file")


# ---------------------------------------------------------------------------------------------
# papercuts


def test_bench_extends_a_run_folder_to_new_categories(tmp_path):
    from codefavor.benchmark.runner import run_bench
    from codefavor.judges.baselines import LengthJudge

    def task(i, cat):
        return BenchTask(task_id=f"{cat}{i}", instruction="x", choices=("a", "bb"), gt_choice=0, category=cat)

    corr = [task(i, "correctness") for i in range(3)]
    sec = [task(i, "security") for i in range(2)]
    out = tmp_path / "run"
    run_bench(LengthJudge("shorter"), corr, out, data_sha256={"correctness": "c1"})
    js = run_bench(LengthJudge("shorter"), corr + sec, out, data_sha256={"correctness": "c1", "security": "s1"})
    assert len(js) == 5 and len((out / "judgments.jsonl").read_text().splitlines()) == 5
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["data_sha256"] == {"correctness": "c1", "security": "s1"}
    # One category again: nothing to do, and the folder keeps both checksums.
    run_bench(LengthJudge("shorter"), sec, out, data_sha256={"security": "s1"})
    assert json.loads((out / "manifest.json").read_text())["settings"]["data_sha256"]["correctness"] == "c1"
    # Changed settings are still refused: other data for a category, another judge.
    with pytest.raises(CodefavorError, match="other settings"):
        run_bench(LengthJudge("shorter"), corr, out, data_sha256={"correctness": "c2"})
    with pytest.raises(CodefavorError, match="other settings"):
        run_bench(LengthJudge("longer"), corr, out, data_sha256={"correctness": "c1"})


def test_bench_category_then_full_bench_from_the_cli(capsys, bench_dir, tmp_path):
    out = tmp_path / "run"
    base = ["bench", "--judge", "shorter", "--data", bench_dir, "--output", out, "--limit", "2", "--json"]
    assert run_cli([*base, "--category", "security"], capsys)[0] == 0
    code, stdout, err = run_cli(base, capsys)
    assert code == 0, err
    assert set(json.loads(stdout)["categories"]) == {"correctness", "efficiency", "security", "human-preference"}
    assert "2 of 8 judgments already there" in err
    assert len((out / "judgments.jsonl").read_text().splitlines()) == 8


def test_bench_negative_limit_is_an_error(capsys, tmp_path):
    code, _, err = run_cli(["bench", "--judge", "shorter", "--limit", "-1", "--output", tmp_path], capsys)
    one_line_error(code, err, "--limit -1: expected at least 1")


def test_gzip_outputs_are_refused_clearly(capsys, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    write_records(pairs, [PreferencePair(instruction="i", chosen="a", rejected="b", criterion="c", source="m")])
    code, _, err = run_cli(["verify", pairs, "--output", tmp_path / "out.jsonl.gz"], capsys)
    one_line_error(code, err, "cannot be gzip-compressed")
    code, _, err = run_cli(["label", "export", pairs, "--output", tmp_path / "ls.json.gz"], capsys)
    one_line_error(code, err, "Label Studio imports plain JSON")


def test_a_latin1_coding_line_is_honoured(capsys, tmp_path):
    from codefavor.codetools import read_source

    latin = "# -*- coding: latin-1 -*-\ndef greet():\n    return 'caf\u00e9'\n"
    (tmp_path / "a.py").write_bytes(latin.encode("latin-1"))
    (tmp_path / "b.py").write_text("def greet():\n    return 'cafe'\n")
    assert read_source(tmp_path / "a.py") == latin
    code, _, err = run_cli(["judge", "--instruction", "Greet in French.", "--a", tmp_path / "a.py", "--b",
                            tmp_path / "b.py", "--judge", "shorter"], capsys)  # fmt: skip
    assert code == 0, err
    (tmp_path / "c.py").write_bytes("def greet():\n    return 'caf\u00e9'\n".encode("latin-1"))
    code, _, err = run_cli(["judge", "--instruction", "x", "--a", tmp_path / "c.py", "--b", tmp_path / "b.py"], capsys)
    one_line_error(code, err, "not valid utf-8")


def test_rank_with_one_candidate_says_so(capsys, tmp_path):
    (tmp_path / "only.py").write_text("def f():\n    return 1\n")
    code, out, err = run_cli(["rank", tmp_path / "only.py", "--instruction", "x", "--judge", "shorter"], capsys)
    assert code == 0 and "only one candidate" in err and "nothing to compare" in err
    assert f"best: {tmp_path / 'only.py'}" in out


def test_verify_refuses_its_input_as_output(capsys, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    write_records(pairs, [PreferencePair(instruction="i", chosen="a", rejected="b", criterion="c", source="m")])
    before = pairs.read_bytes()
    for extra in (["--output", pairs], ["--output", tmp_path / "o.jsonl", "--removed", pairs]):
        code, _, err = run_cli(["verify", pairs, *extra], capsys)
        one_line_error(code, err, "is the input file")
    # The same file under another name (a relative path) is the same file.
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, _, err = run_cli(["verify", pairs, "--output", Path("pairs.jsonl")], capsys)
    finally:
        os.chdir(cwd)
    one_line_error(code, err, "is the input file")
    assert pairs.read_bytes() == before


def test_every_efficiency_reason_has_words_for_judge():
    """Each reason the efficiency evidence can give (what `silent`/`EfficiencyDetails` are called
    with, and what `timing_plan` says when there is nothing to time) reads as words in `codefavor
    judge`, not as "see details"."""
    import ast
    import inspect

    from codefavor.cli.verdicts import EFFICIENCY_REASONS
    from codefavor.evidence import efficiency, efficiency_rule, examples

    def values(e):  # the strings an expression can evaluate to (a constant, or either arm of `x if c else y`)
        if isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value:
            return {e.value}
        return values(e.body) | values(e.orelse) if isinstance(e, ast.IfExp) else set()

    found = set()
    for mod in (efficiency, efficiency_rule):
        for node in ast.walk(ast.parse(inspect.getsource(mod))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") in ("silent", "EfficiencyDetails")
                and node.args
            ):
                found |= values(node.args[0])
    for node in ast.walk(ast.parse(inspect.getsource(examples.timing_plan))):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 3:
            found |= values(node.value.elts[2])
    assert {"cpu-time", "no-gap", "few-rounds", "disagree", "design"} <= found  # the walk sees them
    assert found - set(EFFICIENCY_REASONS) == set()
