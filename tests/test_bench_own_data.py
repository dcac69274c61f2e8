"""`codefavor bench` on a user's own files: `--tasks`, `--columns`, the manifest's record of what
was read, one-line errors for bad rows, and `--perturb` (edited codes in both orders, compared
judgment by judgment with the plain run)."""

from __future__ import annotations

import json

from codefavor.benchmark.importers import parse_columns
from codefavor.benchmark.report import robustness
from codefavor.benchmark.runner import BenchProtocol, present
from codefavor.errors import CodefavorError
from codefavor.records import BenchTask, Judgment
from conftest import run_cli

FIXED = "def add_one(xs):\n    out = []\n    for x in xs:\n        out.append(x + 1)\n    return out\n"
BUGGY = "def add_one(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n"
INSTRUCTION = "Write add_one(xs) returning each item plus one.\n>>> add_one([1, 2])\n[2, 3]\n>>> add_one([])\n[]\n"


def _rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _renamed(n):
    return [{"question": INSTRUCTION.replace("add_one", f"add_one{i}"), "good": FIXED.replace("add_one", f"add_one{i}"),
             "bad": BUGGY.replace("add_one", f"add_one{i}"), "kind": "correctness"} for i in range(n)]  # fmt: skip


def test_tasks_file_with_a_column_mapping_records_what_was_read(capsys, tmp_path):
    data = _rows(tmp_path / "mine.jsonl", _renamed(4))
    out = tmp_path / "run"
    args = ["bench", "--tasks", data, "--columns", "prompt=question,chosen=good,rejected=bad,category=kind",
            "--output", out, "--json"]  # fmt: skip
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["categories"]["correctness"]["accuracy"] == 100.0
    manifest = json.loads((out / "manifest.json").read_text())
    read = manifest["info"]["data"]
    assert read["rows"] == 4 and read["files"][0]["rows"] == 4 and len(read["sha256"]) == 64
    assert manifest["settings"]["data_sha256"] == {"user-data": read["sha256"]}  # not the release's pins
    # The same file read again is the same experiment (resumes); other data is refused, not mixed in.
    assert run_cli(args, capsys)[0] == 0
    _rows(data, _renamed(5))
    assert run_cli(args, capsys)[0] == 2


def test_without_the_mapping_the_row_names_what_is_missing(capsys, tmp_path):
    data = _rows(tmp_path / "mine.jsonl", _renamed(2))
    code, _, err = run_cli(["bench", "--tasks", data, "--output", tmp_path / "r"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "mine.jsonl:1: field 'chosen': no chosen column" in err


def test_bad_rows_and_bad_mappings_are_one_line_exit_2(capsys, tmp_path):
    rows = _renamed(3)
    rows[2]["good"] = "   "
    data = _rows(tmp_path / "mine.jsonl", rows)
    cols = "prompt=question,chosen=good,rejected=bad"
    code, _, err = run_cli(["bench", "--tasks", data, "--columns", cols, "--output", tmp_path / "r"], capsys)
    assert code == 2 and err.count("\n") == 1 and "mine.jsonl:3: field 'good': empty after normalisation" in err
    for bad in ("prompt", "answer=good", "prompt=q,prompt=r", "chosen="):
        code, _, err = run_cli(["bench", "--tasks", data, "--columns", bad, "--output", tmp_path / "r"], capsys)
        assert code == 2 and err.count("\n") == 1, (bad, err)
    assert run_cli(["bench", "--tasks", data, "--perturb", "shuffle", "--output", tmp_path / "r"], capsys)[0] == 2


def test_parse_columns():
    c = parse_columns("prompt=question, chosen=good,rejected=bad,category=kind", "security")
    assert (c.prompt, c.chosen, c.rejected, c.category, c.default_category) == ("question", "good", "bad", "kind",
                                                                                   "security")  # fmt: skip
    assert parse_columns(None) == parse_columns("")
    for bad in ("x=y", "prompt", "prompt=", "id=a,id=b"):
        try:
            parse_columns(bad)
        except CodefavorError:
            continue
        raise AssertionError(bad)


def test_perturbed_view_is_edited_the_same_in_both_orders():
    task = BenchTask(task_id="t", instruction=INSTRUCTION, choices=(FIXED, BUGGY), gt_choice=0, category="correctness")
    plain = present(task, "AB")
    edited = BenchProtocol(both_orders=True, perturb=("rename", "comments"))
    ab, ba = present(task, "AB", edited), present(task, "BA", edited)
    assert ab.a != plain.a and "#" in ab.a and "def add_one(xs)" in ab.a  # edited, the signature kept
    assert (ab.a, ab.b) == (ba.b, ba.a)


def test_robustness_counts_flips_and_the_drop():
    tasks = [BenchTask(task_id=f"t{i}", instruction="i", choices=("a", "b"), gt_choice=0, category="security")
             for i in range(4)]  # fmt: skip

    def js(decisions):
        return [
            Judgment(task_id=t.id, order="AB", judge="evidence", decision=d, signal="bandit")
            for t, d in zip(tasks, decisions, strict=True)
        ]

    rob = robustness(tasks, js("AAAA"), js("AABu".replace("u", "B")))
    assert rob["security"]["flips"] == 2 and rob["security"]["flip_rate"] == 50.0
    assert rob["security"]["drop"] == 50.0 and rob["security"]["judgments"] == 4
    assert (rob["security"]["evidence_flips"], rob["security"]["evidence_judgments"]) == (2, 4)


def test_perturb_leaves_the_evidence_judge_unmoved(capsys, tmp_path):
    data = _rows(tmp_path / "mine.jsonl", _renamed(4))
    out = tmp_path / "run"
    args = ["bench", "--tasks", data, "--columns", "prompt=question,chosen=good,rejected=bad", "--output", out,
            "--perturb", "rename,comments,reorder", "--json"]  # fmt: skip
    code, stdout, err = run_cli(args, capsys)
    assert code == 0, err
    pert = json.loads(stdout)["perturb"]
    assert pert["kinds"] == ["rename", "comments", "reorder"]
    row = pert["categories"]["correctness"]
    assert row["judgments"] == 8 and row["flips"] == 0 and row["drop"] == 0.0  # 4 tasks, both orders
    assert json.loads((tmp_path / "run+perturb-rename-comments-reorder" / "manifest.json").read_text())[
        "settings"]["perturb"] == ["rename", "comments", "reorder"]  # fmt: skip
