"""Records: round trips, stable ids, and every kind of bad input giving one clear error."""

from __future__ import annotations

import gzip
import json

import pytest

from codefavor.errors import CodefavorError, DataError
from codefavor.records import (
    BenchTask,
    JsonlAppender,
    Judgment,
    PreferencePair,
    ReadStats,
    done_ids,
    iter_json,
    read_records,
    repair_tail,
    write_records,
)

TASK = {
    "task_id": "T/1",
    "instruction": "Add two numbers.",
    "choices": ["def f(a, b): return a + b", "def f(a, b): return a - b"],
    "gt_choice": 0,
    "category": "correctness",
}


def test_roundtrip_and_stable_ids(tmp_path):
    t = BenchTask(**TASK)
    p = PreferencePair(
        instruction="i", chosen="c", rejected="r", criterion="k", feedback="[CHOSEN] wins", source="manual"
    )
    j = Judgment(task_id=t.id, order="BA", judge="shorter", decision="A", prob_a=0.7)
    for rec, model in ((t, BenchTask), (p, PreferencePair), (j, Judgment)):
        path = tmp_path / f"{model.__name__}.jsonl.gz"
        write_records(path, [rec])
        (back,) = list(read_records(path, model))
        assert back == rec and back.id == rec.id and len(rec.id) == 16
    # the id depends on content only: same content, same id; other content, other id
    assert BenchTask(**TASK).id == t.id
    assert BenchTask(**{**TASK, "gt_choice": 1}).id != t.id
    assert PreferencePair(instruction="i", chosen="c", rejected="r", criterion="k", source="x").id == p.id


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "t.jsonl"
    _write(path, [b"\n", json.dumps(TASK).encode() + b"\n", b"   \n", json.dumps(TASK).encode() + b"\n"])
    assert len(list(read_records(path, BenchTask))) == 2


@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        ({k: v for k, v in TASK.items() if k != "instruction"}, "instruction", "required"),
        ({**TASK, "choices": "not a list"}, "choices", ""),
        ({**TASK, "choices": ["only one"]}, "choices", ""),
        ({**TASK, "gt_choice": 2}, "gt_choice", ""),
        ({**TASK, "category": "style"}, "category", ""),
        ({**TASK, "surprise": 1}, "surprise", "Extra"),
    ],
)
def test_bad_fields_name_file_line_and_field(tmp_path, line, field, fragment):
    path = tmp_path / "bad.jsonl"
    _write(path, [json.dumps(TASK).encode() + b"\n", json.dumps(line).encode() + b"\n"])
    with pytest.raises(DataError, match=rf"bad\.jsonl:2: field '{field}[^']*'.*{fragment}") as ei:
        list(read_records(path, BenchTask))
    assert "\n" not in str(ei.value)


def test_non_utf8_and_invalid_json(tmp_path):
    path = tmp_path / "x.jsonl"
    _write(path, [json.dumps(TASK).encode() + b"\n", b'{"task_id": "\xff\xfe"}\n'])
    with pytest.raises(DataError, match=r"x\.jsonl:2: not valid UTF-8"):
        list(read_records(path, BenchTask))
    _write(path, [b'{"task_id": \n'])
    with pytest.raises(DataError, match=r"x\.jsonl:1: invalid JSON"):
        list(read_records(path, BenchTask))
    _write(path, [b"[1, 2]\n"])
    with pytest.raises(DataError, match="expected a JSON object"):
        list(read_records(path, BenchTask))


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    with gzip.open(path, "wb") as f:
        for _ in range(200):
            f.write(json.dumps(TASK).encode() + b"\n")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.jsonl\.gz:\d+: unreadable compressed data"):
        list(read_records(path, BenchTask))


def test_skip_bad_counts_and_reports(tmp_path):
    path = tmp_path / "mixed.jsonl"
    _write(
        path,
        [
            json.dumps(TASK).encode() + b"\n",
            b"oops\n",
            json.dumps({**TASK, "gt_choice": 5}).encode() + b"\n",
            json.dumps(TASK).encode() + b"\n",
        ],
    )
    stats = ReadStats()
    good = list(read_records(path, BenchTask, skip_bad=True, stats=stats))
    assert len(good) == 2 and stats.read == 2 and stats.bad == 2
    assert stats.errors[0].startswith(f"{path}:2:") and f"{path}:3: field 'gt_choice'" in stats.errors[1]


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        list(read_records(tmp_path / "nope.jsonl", BenchTask))


def test_appender_repairs_torn_tail_and_resumes(tmp_path):
    path = tmp_path / "out.jsonl"
    js = [Judgment(task_id=f"t{i}", decision="A", judge="j") for i in range(3)]
    with JsonlAppender(path) as w:
        w.write(js[0])
        w.write(js[1])
    with open(path, "ab") as f:  # a crash mid-write leaves half a line
        f.write(js[2].to_json().encode()[:10])
    assert repair_tail(path) == 10
    with JsonlAppender(path) as w:
        w.write(js[2])
    back = list(read_records(path, Judgment))
    assert [j.task_id for j in back] == ["t0", "t1", "t2"]
    assert done_ids(path) == {j.id for j in js}


def test_a_complete_last_record_without_newline_is_kept(tmp_path):
    """A file written by hand or another tool often lacks the final newline: resume keeps that record."""
    path = tmp_path / "out.jsonl"
    js = [Judgment(task_id=f"t{i}", decision="A", judge="j") for i in range(3)]
    path.write_text(js[0].to_json() + "\n" + js[1].to_json())  # no trailing newline
    assert done_ids(path) == {js[0].id, js[1].id}
    assert repair_tail(path) == 0 and path.read_text().endswith("\n")
    with JsonlAppender(path) as w:
        w.write(js[2])
    assert [j.task_id for j in read_records(path, Judgment)] == ["t0", "t1", "t2"]
    # A torn line (a prefix of a record) is still cut, and only it.
    with open(path, "ab") as f:
        f.write(b'{"task_id": "t3", "decis')
    assert repair_tail(path) == len(b'{"task_id": "t3", "decis')
    assert [j.task_id for j in read_records(path, Judgment)] == ["t0", "t1", "t2"]


def test_deeply_nested_json_is_a_data_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n' + '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(DataError, match=r"deep.jsonl:2: invalid JSON \(nested too deeply\)"):
        list(iter_json(path))
    stats = ReadStats()
    assert len(list(iter_json(path, skip_bad=True, stats=stats))) == 1 and stats.bad == 1


def test_a_directory_is_not_a_records_file(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        list(iter_json(tmp_path))
    with pytest.raises(DataError, match="is a directory"):
        JsonlAppender(tmp_path)


def test_appended_outputs_refuse_gzip_names(tmp_path):
    with pytest.raises(CodefavorError, match="cannot be gzip-compressed"):
        JsonlAppender(tmp_path / "out.jsonl.gz")
    assert not (tmp_path / "out.jsonl.gz").exists()
