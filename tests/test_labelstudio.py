"""Label Studio round trip without a server: export files, a hand-written export imported, values by hand."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from codefavor.labelstudio import LABELS, decide, export_tasks, import_export, read_items
from codefavor.records import BenchTask, PreferencePair, read_records, write_records
from conftest import run_cli

pytest.importorskip("numpy")


def _records(tmp_path):
    tasks = [
        BenchTask(
            task_id="T/0",
            instruction="Add two numbers.",
            category="correctness",
            gt_choice=0,
            choices=("def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n"),
        ),
        BenchTask(
            task_id="T/1",
            instruction="Negate x.",
            category="correctness",
            gt_choice=1,
            choices=("def neg(x):\n    return x\n", "def neg(x):\n    return -x\n"),
        ),
    ]
    # A pair shown with its better code second (the position comes from a hash of the id).
    pair = next(
        p
        for i in range(50)
        for p in [
            PreferencePair(
                instruction=f"Square x ({i}).",
                chosen="def sq(x):\n    return x * x\n",
                rejected="def sq(x):\n    return x + x\n",
                criterion="correct",
                source="manual",
            )
        ]
        if int(p.id[-1], 16) % 2 == 1
    )
    write_records(tmp_path / "tasks.jsonl", tasks)
    write_records(tmp_path / "pairs.jsonl", [pair])
    return tasks, pair


def _ann(label, who, lead, cancelled=False, confidence=None):
    result = (
        []
        if label is None
        else [{"from_name": "preference", "to_name": "code_a", "type": "choices", "value": {"choices": [label]}}]
    )
    if confidence:
        result.append(
            {"from_name": "confidence", "to_name": "code_a", "type": "choices", "value": {"choices": [confidence]}}
        )
    return {
        "id": 100 + who,
        "completed_by": who,
        "result": [] if cancelled else result,
        "was_cancelled": cancelled,
        "lead_time": lead,
        "created_at": "2026-01-01T00:00:00Z",
    }


def _export(tmp_path):
    tasks, pair = _records(tmp_path)
    items = read_items(tmp_path / "tasks.jsonl") + read_items(tmp_path / "pairs.jsonl")
    paths = export_tasks(items, tmp_path / "ls.json", annotators=3)
    exported = json.loads(paths["tasks"].read_text())
    votes = [
        [_ann("A", 1, 60.0, confidence="High"), _ann("A", 2, 120.0), _ann("tie", 3, 180.0)],  # -> A (right)
        [_ann("A", 1, 30.0), _ann("B", 2, 30.0), _ann("B", 3, 60.0)],  # conflict -> undecided
        [_ann(None, 1, 600.0, cancelled=True), _ann("B", 2, 60.0), _ann("B", 3, 60.0), _ann(None, 4, 5.0)],
    ]
    ls = [{"id": n + 1, **t, "annotations": v} for n, (t, v) in enumerate(zip(exported, votes, strict=True))]
    (tmp_path / "export.json").write_text(json.dumps(ls))
    return tasks, pair, paths


def test_export_files(tmp_path):
    tasks, pair, paths = _export(tmp_path)
    exported = json.loads(paths["tasks"].read_text())
    assert len(exported) == 3
    first = exported[0]["data"]
    assert first["code_a"] == tasks[0].choices[0] and "<span" in first["code_a_html"]
    assert first["criterion"].startswith("The code is correct")
    # The pair's better code is shown second, and the key to that is in meta, not in data.
    assert exported[2]["data"]["code_b"] == pair.chosen and exported[2]["meta"]["codefavor"]["better"] == 1
    assert "better" not in json.dumps(exported[2]["data"])
    root = ET.fromstring(paths["config"].read_text())
    choices = root.find(".//Choices[@name='preference']")
    assert [c.get("value") for c in choices] == list(LABELS)
    assert {e.get("name") for e in root.iter("HyperText")} == {"code_a", "code_b"}
    project = json.loads(paths["project"].read_text())
    assert project["maximum_annotations"] == 3 and project["label_config"] == paths["config"].read_text()


def test_import_by_hand(tmp_path):
    tasks, pair, _ = _export(tmp_path)
    out = tmp_path / "imported"
    s = import_export(tmp_path / "export.json", out, wage_per_hour=15.0)
    assert (s["tasks"], s["annotations"], s["annotators"]) == (3, 9, 3)  # the empty annotation is no vote
    assert s["labels"] == {"A": 3, "tie": 1, "B": 4, "skip": 1}
    # Krippendorff's alpha over [A,A,tie] [A,B,B] [B,B]: 1 - 4 / (2 * 19 / 7) = 10/38.
    assert s["agreement"]["krippendorff_alpha"] == pytest.approx(10 / 38)
    # Fleiss' kappa over the two tasks with 3 ratings: (1/3 - 7/18) / (11/18) = -1/11.
    assert s["agreement"]["fleiss_kappa"] == pytest.approx(-1 / 11) and s["agreement"]["fleiss_tasks"] == 2
    # Person-minutes: (60+120+180)/60, (30+30+60)/60, (600+60+60)/60 -> 6, 2, 12.
    assert s["person_minutes_per_task"] == pytest.approx(20 / 3)
    assert s["cost_per_task"] == pytest.approx(20 / 3 / 60 * 15.0)
    assert s["minutes_per_annotation_median"] == pytest.approx(1.0)
    assert s["undecided_rate"] == pytest.approx(100 / 3)
    assert (
        s["by_category"]["correctness"]["accuracy"] == 75.0
        and s["by_category"]["correctness"]["unsolved_rate"] == 25.0
    )
    assert s["confidence"] == {"High": 1}
    labels = [json.loads(x) for x in open(out / "labels.jsonl")]
    assert [r["label"] for r in labels] == ["A", None, "B"] and [r["majority"] for r in labels] == ["A", "B", "B"]
    bench = list(read_records(out / "bench-tasks.jsonl", BenchTask))
    assert [(b.task_id, b.gt_choice, b.category) for b in bench] == [
        ("T/0", 0, "human-preference"),
        (pair.id, 1, "human-preference"),
    ]
    assert bench[1].choices[bench[1].gt_choice] == pair.chosen and len(bench[0].annotations) == 3
    pairs = list(read_records(out / "pairs.jsonl", PreferencePair))
    assert [p.chosen for p in pairs] == [tasks[0].choices[0], pair.chosen] and pairs[0].source == "human"
    assert len([json.loads(x) for x in open(out / "annotations.jsonl")]) == 9
    assert import_export(tmp_path / "export.json", tmp_path / "m", rule="majority")["undecided_rate"] == 0.0


def test_decide_rules():
    from collections import Counter

    assert decide(Counter(A=1, tie=2)) == "A" and decide(Counter(A=1, tie=2), "majority") == "tie"
    assert decide(Counter(A=2, B=1)) is None and decide(Counter(A=2, B=1), "majority") == "A"
    assert decide(Counter(tie=3)) is None and decide(Counter(), "majority") is None
    assert decide(Counter(A=1, B=1), "majority") is None


def test_cli_round_trip_and_bench_on_the_human_labels(tmp_path, capsys):
    _records(tmp_path)
    code, out, err = run_cli(
        ["label", "export", tmp_path / "tasks.jsonl", "--output", tmp_path / "cli.json", "--annotators", "2"], capsys
    )
    assert code == 0, err
    assert json.loads((tmp_path / "cli.project.json").read_text())["maximum_annotations"] == 2
    _export(tmp_path)
    code, out, err = run_cli(["label", "import", tmp_path / "export.json", "--output", tmp_path / "imp"], capsys)
    assert code == 0, err
    assert "Krippendorff's alpha 0.263" in out and "person-minutes per task" in out
    code, out, err = run_cli(
        [
            "bench",
            "--data",
            tmp_path / "imp" / "bench-tasks.jsonl",
            "--judge",
            "shorter",
            "--output",
            tmp_path / "run",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out)["categories"]["human-preference"]["n"] == 2
    (tmp_path / "bad.json").write_text('{"not": "a list"}')
    code, _, err = run_cli(["label", "import", tmp_path / "bad.json", "--output", tmp_path / "x"], capsys)
    assert code == 2 and "bad.json" in err and err.count("\n") == 1
    (tmp_path / "bad.jsonl").write_text('{"instruction": "x", "choices": ["a"], "gt_choice": 0}\n')
    code, _, err = run_cli(
        ["label", "export", tmp_path / "bad.jsonl", "--category", "security", "--output", tmp_path / "y.json"], capsys
    )
    assert code == 2 and "bad.jsonl:1" in err


def test_export_shows_the_examples_run_in_the_sandbox(tmp_path):
    task = BenchTask(
        task_id="T/ex",
        instruction="Write add(a, b).\n>>> add(2, 3)\n5\n",
        category="correctness",
        gt_choice=0,
        choices=("def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a * b\n"),
    )
    write_records(tmp_path / "t.jsonl", [task])
    paths = export_tasks(read_items(tmp_path / "t.jsonl"), tmp_path / "ls.json", run_examples=True)
    shown = json.loads(paths["tasks"].read_text())[0]["data"]["examples_html"]
    assert "Passed: A 1/1, B 0/1" in shown and "add(2, 3)" in shown
    assert 'name="examples"' in paths["config"].read_text()
