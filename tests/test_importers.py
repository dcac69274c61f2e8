"""Benching any data: BenchTask folders, pairwise rows (JSONL, gzip, Parquet, chat messages,
fenced answers, column mapping), one-line errors, hashed positions, and the digest of what was read."""

from __future__ import annotations

import gzip
import json

import pytest

from codefavor.benchmark import data as bd
from codefavor.benchmark.importers import (
    Columns,
    category_of,
    digest_of,
    prompt_text,
    read_data,
    response_text,
)
from codefavor.errors import CodefavorError, DataError


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


PAIRS = [
    {
        "prompt": f"Return {i} plus one.",
        "chosen": f"def f():\n    return {i + 1}",
        "rejected": f"def f():\n    return {i}",
    }
    for i in range(40)
]


def test_pairwise_rows_become_tasks_with_chosen_at_a_hashed_position(tmp_path):
    tasks = list(read_data(_jsonl(tmp_path / "p.jsonl", PAIRS)))
    assert len(tasks) == 40
    for t, row in zip(tasks, PAIRS, strict=True):
        assert t.choices[t.gt_choice] == row["chosen"] and t.choices[1 - t.gt_choice] == row["rejected"]
        assert t.instruction == row["prompt"] and t.category == "correctness"
    positions = [t.gt_choice for t in tasks]
    assert 10 < sum(positions) < 30  # both positions occur: not "always A"
    again = list(read_data(tmp_path / "p.jsonl"))
    assert [t.gt_choice for t in again] == positions and [t.id for t in again] == [t.id for t in tasks]


def test_chat_messages_and_fences_are_normalised(tmp_path):
    row = {
        "chosen": [
            {"role": "system", "content": "You write Python."},
            {"role": "user", "content": "Add two numbers."},
            {"role": "assistant", "content": "Sure:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."},
        ],
        "rejected": [
            {"role": "user", "content": "Add two numbers."},
            {"role": "assistant", "content": [{"type": "text", "text": "```\ndef add(a, b):\n    return a - b\n```"}]},
        ],
    }
    (t,) = read_data(_jsonl(tmp_path / "chat.jsonl", [row]))
    assert t.instruction == "You write Python.\n\nAdd two numbers."
    assert t.choices[t.gt_choice] == "def add(a, b):\n    return a + b"
    assert t.choices[1 - t.gt_choice] == "def add(a, b):\n    return a - b"
    assert prompt_text("plain") == "plain" and response_text("no fence here") == "no fence here"
    assert response_text("```py\nx = 1\n```", code_only=False).startswith("```")


def test_column_mapping_detection_and_categories(tmp_path):
    rows = [
        {"question": "q1", "response_chosen": "a", "response_rejected": "b", "subset": "hep-python"},
        {"question": "q2", "response_chosen": "a", "response_rejected": "b", "subset": "Security"},
        {"question": "q3", "response_chosen": "a", "response_rejected": "b", "subset": "faster code"},
        {"question": "q4", "response_chosen": "a", "response_rejected": "b", "subset": "chat-easy"},
    ]
    tasks = list(read_data(_jsonl(tmp_path / "rb.jsonl", rows)))
    assert [t.category for t in tasks] == ["correctness", "security", "efficiency", "correctness"]
    assert tasks[1].annotations == [{"imported_from": "rb.jsonl", "subset": "Security"}]
    mapped = [{"ask": "q", "good": "x = 1", "bad": "x = 2", "kind": "speed", "uid": "row-7"}]
    (t,) = read_data(_jsonl(tmp_path / "m.jsonl", mapped),
                     Columns(prompt="ask", chosen="good", rejected="bad", category="kind", id="uid"))  # fmt: skip
    assert (t.task_id, t.category, t.instruction) == ("row-7", "efficiency", "q")
    assert (
        category_of(None, "security") == "security"
        and category_of("human-preference", "correctness") == "human-preference"
    )


def test_gzip_and_parquet_read_alike(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    gz = tmp_path / "p.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in PAIRS[:5]).encode()))
    pq.write_table(pa.Table.from_pylist(PAIRS[:5]), tmp_path / "p.parquet")
    from_gz = list(read_data(gz))
    from_pq = list(read_data(tmp_path / "p.parquet"))
    assert [t.id for t in from_gz] == [t.id for t in from_pq] and len(from_pq) == 5
    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "chosen": "c"}]), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet:1: field 'rejected': no rejected column"):
        list(read_data(tmp_path / "bad.parquet"))


def test_bad_rows_give_one_line_errors(tmp_path):
    _jsonl(tmp_path / "e.jsonl", [PAIRS[0], {"prompt": "p", "chosen": "   ", "rejected": "r"}])
    with pytest.raises(DataError, match=r"e\.jsonl:2: field 'chosen': empty after normalisation"):
        list(read_data(tmp_path / "e.jsonl"))
    (tmp_path / "j.jsonl").write_text(json.dumps(PAIRS[0]) + "\n{not json\n")
    with pytest.raises(DataError, match=r"j\.jsonl:2: invalid JSON"):
        list(read_data(tmp_path / "j.jsonl"))
    bench = {"task_id": "t", "instruction": "i", "choices": ["a", "b"], "gt_choice": 3, "category": "security"}
    _jsonl(tmp_path / "b.jsonl", [bench])
    with pytest.raises(DataError, match=r"b\.jsonl:1: field 'gt_choice'"):
        list(read_data(tmp_path / "b.jsonl"))
    with pytest.raises(DataError, match="no such file or folder"):
        list(read_data(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no data files"):
        list(read_data(tmp_path / "empty"))


def test_user_folder_through_load_tasks_with_split_and_digest(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    bench = [{"task_id": f"t{i}", "instruction": "i", "choices": ["a", "b"], "gt_choice": i % 2,
              "category": "security" if i % 3 else "efficiency"} for i in range(30)]  # fmt: skip
    _jsonl(folder / "a.jsonl", bench)
    _jsonl(folder / "b.jsonl", PAIRS[:10])
    (folder / ".hidden.jsonl").write_text("garbage\n")
    everything = bd.load_tasks(data_dir=folder)
    assert len(everything) == 40
    dev, test = bd.load_tasks(data_dir=folder, split="dev"), bd.load_tasks(data_dir=folder, split="test")
    assert len(dev) + len(test) == 40 and dev and test
    assert {t.category for t in bd.load_tasks(["security"], folder)} == {"security"}
    d = digest_of(folder)
    assert d.rows == 40 and [f.rows for f in d.files] == [30, 10] and len(d.sha256) == 64
    assert digest_of(folder).sha256 == d.sha256
    _jsonl(folder / "b.jsonl", PAIRS[:9])
    assert digest_of(folder).sha256 != d.sha256


def test_a_run_folder_inside_the_data_folder_is_not_read_as_data(tmp_path):
    """`bench --data DIR --output DIR/run` twice: the second run must not read the first's judgments."""
    from codefavor.benchmark.importers import data_files

    _jsonl(tmp_path / "pairs.jsonl", PAIRS[:4])
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"format": 2, "kind": "bench", "settings": {}}))
    shards = tmp_path / "shards"  # a data set's own manifest.json is no run folder: read as data
    shards.mkdir()
    (shards / "manifest.json").write_text('{"files": ["pairs.jsonl"]}')
    _jsonl(shards / "pairs.jsonl", PAIRS[6:8])
    _jsonl(run / "judgments.jsonl", [{"task_id": "t", "order": "AB", "decision": "A"}])
    (tmp_path / "more").mkdir()
    _jsonl(tmp_path / "more" / "pairs.jsonl", PAIRS[4:6])
    assert [f.relative_to(tmp_path).as_posix() for f in data_files(tmp_path)] == [
        "more/pairs.jsonl",
        "pairs.jsonl",
        "shards/pairs.jsonl",
    ]
    assert [f.name for f in data_files(run)] == ["judgments.jsonl"]  # named itself, a run folder is read


def test_release_named_file_keeps_the_pinned_check_with_the_right_advice(tmp_path):
    name = bd.FILES["security"][0]
    (tmp_path / name).write_bytes(gzip.compress(b'{"task_id": "x"}\n'))
    assert bd.is_release(tmp_path)
    with pytest.raises(CodefavorError, match="named like the CodePrefBench release file.*rename it"):
        bd.load_tasks(["security"], tmp_path)
    single = _jsonl(tmp_path / "mine.jsonl", PAIRS[:3])
    assert len(bd.load_tasks(data_dir=single)) == 3  # a file is always the user's data
