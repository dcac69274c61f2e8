"""`codefavor verify` on a hand-written pair file with planted contradictions, one per rule."""

from __future__ import annotations

import json

import pytest

from codefavor.records import PreferencePair, write_records

ADD = '''Write a function that adds two numbers.
```
def add(a, b):
    """
    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
```
'''
GOOD_ADD = "def add(a, b):\n    return a + b\n"
BAD_ADD = "def add(a, b):\n    return a - b\n"
BROKEN_ADD = "def add(a, b)\n    return a + b\n"

FETCH = "Write a function run(cmd) that runs a shell command given as a list of arguments and returns its output."
SAFE_RUN = (
    "import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd, capture_output=True, check=True).stdout\n"
)
UNSAFE_RUN = "import subprocess\n\ndef run(cmd):\n    return subprocess.run(' '.join(cmd), shell=True, capture_output=True).stdout\n"

DUPS = '''Say whether a list holds a duplicate.
```
def has_dup(xs):
    """
    >>> has_dup([1, 2, 3, 4, 5, 6, 7, 8, 9])
    False
    >>> has_dup([4, 1, 4])
    True
    """
```
'''
QUADRATIC = (
    "def has_dup(xs):\n    for i in range(len(xs)):\n        for j in range(i + 1, len(xs)):\n"
    "            if xs[i] == xs[j]:\n                return True\n    return False\n"
)
LINEAR = "def has_dup(xs):\n    return len(set(xs)) != len(xs)\n"


def pair(instruction, chosen, rejected, criterion, tag):
    return PreferencePair(
        instruction=instruction,
        chosen=chosen,
        rejected=rejected,
        criterion=criterion,
        source="manual",
        meta={"tag": tag},
    )


PAIRS = [
    pair(ADD, GOOD_ADD, BAD_ADD, "correctness", "clean"),
    pair(ADD, BAD_ADD, GOOD_ADD, "correctness", "examples"),
    pair(ADD, BROKEN_ADD, GOOD_ADD, "correctness", "loads"),
    pair(FETCH, UNSAFE_RUN, SAFE_RUN, "security", "security"),
    pair(FETCH, SAFE_RUN, UNSAFE_RUN, "security", "clean-security"),
    pair(DUPS, QUADRATIC, LINEAR, "efficiency", "efficiency"),
    pair(DUPS, LINEAR, QUADRATIC, "efficiency", "clean-efficiency"),
]


def fast_efficiency(sandbox):
    from codefavor.evidence.efficiency import EfficiencyConfig, compare_efficiency, sandbox_runner

    cfg = EfficiencyConfig(targets=(16, 128, 1024, 4096), level_budget=0.02, call_limit=0.5)
    runner = sandbox_runner(sandbox)
    return lambda ins, a, b: compare_efficiency(ins, a, b, cfg, runner)


def test_each_planted_contradiction_is_removed_by_its_rule(tmp_path, sandbox):
    from codefavor.verify import verify_pairs

    src = tmp_path / "pairs.jsonl"
    write_records(src, PAIRS)
    out = tmp_path / "kept.jsonl"
    stats = verify_pairs(src, out, sandbox=sandbox, batch_size=3, efficiency=fast_efficiency(sandbox))
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    gone = [json.loads(line) for line in (tmp_path / "kept.removed.jsonl").read_text().splitlines()]
    assert sorted(p["meta"]["tag"] for p in kept) == ["clean", "clean-efficiency", "clean-security"]
    broke = {p["meta"]["tag"]: p["meta"]["evidence"]["contradicts"] for p in gone}
    assert broke["examples"] == ["examples"]
    assert set(broke["loads"]) == {"examples", "loads"}
    assert broke["security"] == ["security"]
    assert broke["efficiency"] == ["efficiency"]
    assert stats.kept == 3 and stats.removed == 4
    assert stats.by_rule == {"examples": 2, "loads": 1, "security": 1, "efficiency": 1}
    # The evidence is kept with every pair, and the ids are the input's.
    clean = next(p for p in kept if p["meta"]["tag"] == "clean")
    ev = clean["meta"]["evidence"]
    assert ev["examples"] == {"checks": 2, "chosen_passed": 2, "rejected_passed": 0, "chosen_failed": [],
                              "rejected_failed": ev["examples"]["rejected_failed"]}  # fmt: skip
    assert len(ev["examples"]["rejected_failed"]) == 2 and ev["contradicts"] == []
    assert {p["id"] for p in kept + gone} == {p.id for p in PAIRS}
    sec = next(p for p in gone if p["meta"]["tag"] == "security")["meta"]["evidence"]["security"]
    assert "B602:HIGH" in sec["chosen"] and "B602:HIGH" not in sec["rejected"]
    eff = next(p for p in kept if p["meta"]["tag"] == "clean-efficiency")["meta"]["evidence"]["efficiency"]
    assert eff["faster"] == "chosen"


def test_rerun_resumes_and_skips_bad_lines(tmp_path, sandbox):
    from codefavor.errors import DataError
    from codefavor.verify import verify_pairs

    src = tmp_path / "pairs.jsonl"
    write_records(src, PAIRS[:3])
    out = tmp_path / "kept.jsonl"
    first = verify_pairs(src, out, sandbox=sandbox)
    assert (first.kept, first.removed) == (1, 2)
    with open(src, "a") as f:  # more pairs arrive, one of them malformed
        f.write(PAIRS[3].to_json() + "\n{not json\n" + PAIRS[0].to_json() + "\n")
    with pytest.raises(DataError, match=r"pairs.jsonl:5"):
        verify_pairs(src, out, sandbox=sandbox)
    again = verify_pairs(src, out, sandbox=sandbox, skip_bad=True)
    # The repeated pair (line 6 repeats line 1) is a duplicate of this input, not work done before.
    assert (again.read, again.already_done, again.duplicates, again.kept, again.removed, again.bad_lines) == (
        5,
        3,
        1,
        0,
        1,
        1,
    )
    lines = out.read_text().splitlines() + (tmp_path / "kept.removed.jsonl").read_text().splitlines()
    assert len(lines) == 4 and len({json.loads(x)["id"] for x in lines}) == 4  # nothing twice


def test_cli_verify_reports_counts_per_rule(tmp_path, sandbox, capsys, monkeypatch):
    import codefavor.evidence.sandbox as sandbox_mod
    from codefavor.cli import main

    monkeypatch.setattr(sandbox_mod, "default_sandbox", lambda: sandbox)
    src = tmp_path / "pairs.jsonl"
    write_records(src, PAIRS[:4])
    main(["verify", str(src), "--output", str(tmp_path / "out.jsonl"), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["kept"] == 1 and summary["removed"] == 3
    assert summary["removed_by_rule"] == {"examples": 2, "loads": 1, "security": 1, "efficiency": 0}
    main(["verify", str(src), "--output", str(tmp_path / "out.jsonl")])
    text = capsys.readouterr().out
    assert "already done 4" in text and "removed by examples: 0" in text
    with pytest.raises(SystemExit) as e:
        main(["verify", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "o.jsonl")])
    assert e.value.code == 2
