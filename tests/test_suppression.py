"""A candidate's suppression comments (`# nosec`, `# noqa`) switch no security analysis off: the
`shell=True` candidate that carries them loses to the safe one through `judge`, `rank`, `verify` and
the server's app, in both orders."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from codefavor.cli import main
from codefavor.evidence.security import compare_security, findings
from codefavor.judges import load_judge
from codefavor.records import PreferencePair, write_records
from codefavor.server import create_app

INSTRUCTION = (
    "Write a function run(cmd) that runs a shell command given as a list of arguments and returns its output."
)
SAFE = "import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd, capture_output=True, check=True).stdout\n"
SUPPRESSED = (
    "import subprocess  # nosec\n\ndef run(cmd):\n"
    "    return subprocess.run(' '.join(cmd), shell=True, capture_output=True).stdout  # nosec B602  # noqa: S602\n"
)


def test_bandit_reads_no_suppression_comment():
    found, analyzer = findings(SUPPRESSED)
    assert analyzer == "bandit" and "B602" in {f.rule for f in found}
    assert compare_security(SUPPRESSED, SAFE).decision == "B"
    assert compare_security(SAFE, SUPPRESSED).decision == "A"


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_cli_judge_prefers_the_safe_candidate(tmp_path, capsys, order):
    (tmp_path / "bad.py").write_text(SUPPRESSED)
    (tmp_path / "safe.py").write_text(SAFE)
    a, b = ("bad.py", "safe.py") if order == "ab" else ("safe.py", "bad.py")
    main(["judge", "--instruction", INSTRUCTION, "--a", str(tmp_path / a), "--b", str(tmp_path / b),
          "--criterion", "security", "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == ("B" if order == "ab" else "A"), out


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_cli_rank_puts_the_safe_candidate_first(tmp_path, capsys, order):
    (tmp_path / "bad.py").write_text(SUPPRESSED)
    (tmp_path / "safe.py").write_text(SAFE)
    files = [str(tmp_path / "bad.py"), str(tmp_path / "safe.py")]
    if order == "ba":
        files.reverse()
    main(["rank", "--instruction", INSTRUCTION, "--criterion", "security", "--json", *files])
    out = json.loads(capsys.readouterr().out)
    assert out["best_file"] == str(tmp_path / "safe.py"), out


def test_verify_removes_the_pair_that_prefers_the_suppressed_candidate(tmp_path, capsys):
    pairs = [
        PreferencePair(instruction=INSTRUCTION, chosen=SUPPRESSED, rejected=SAFE, criterion="security",
                       source="manual", meta={"tag": "wrong"}),
        PreferencePair(instruction=INSTRUCTION, chosen=SAFE, rejected=SUPPRESSED, criterion="security",
                       source="manual", meta={"tag": "right"}),
    ]  # fmt: skip
    src = tmp_path / "pairs.jsonl"
    write_records(src, pairs)
    out = tmp_path / "kept.jsonl"
    main(["verify", str(src), "--output", str(out), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["removed_by_rule"]["security"] == 1, summary
    assert [json.loads(line)["meta"]["tag"] for line in out.read_text().splitlines()] == ["right"]


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_served_judge_prefers_the_safe_candidate(order):
    a, b = (SUPPRESSED, SAFE) if order == "ab" else (SAFE, SUPPRESSED)
    with TestClient(create_app(judges={"evidence": load_judge("evidence")})) as c:
        r = c.post("/v1/judge", json={"instruction": INSTRUCTION, "a": a, "b": b, "criterion": "security"})
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == ("B" if order == "ab" else "A"), r.json()
