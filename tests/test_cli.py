"""The command line: light imports, one-line user errors, and `bench` on the real benchmark."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import run_cli


def test_cli_import_does_not_pull_torch():
    code = (
        "import codefavor, codefavor.cli, sys; heavy = {'torch', 'ray', 'transformers'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_judge_is_one_line_exit_2(capsys, bench_dir, tmp_path):
    code, _, err = run_cli(["bench", "--judge", "nonsense", "--data", bench_dir, "--output", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith("codefavor: error: unknown judge spec 'nonsense'") and err.count("\n") == 1


def test_bad_split_and_category(capsys, tmp_path):
    assert run_cli(["bench", "--split", "train"], capsys)[0] == 2
    assert run_cli(["bench", "--category", "style"], capsys)[0] == 2


def test_bench_baselines_are_complements(capsys, bench_dir, tmp_path):
    results = {}
    for judge in ("shorter", "longer"):
        out = tmp_path / judge
        assert (
            run_cli(["bench", "--judge", judge, "--data", bench_dir, "--output", str(out), "--json"], capsys)[0] == 0
        )
        results[judge] = json.loads((out / "summary.json").read_text())
        assert (out / "summary.md").read_text().startswith("## CodePrefBench")
        assert json.loads((out / "manifest.json").read_text())["finished_at"]
    for cat, c in results["shorter"]["categories"].items():
        other = results["longer"]["categories"][cat]
        assert c["accuracy"] + other["accuracy"] == pytest.approx(100.0)
        assert c["undecided"] == other["undecided"]
    # the known baseline band: shorter wins correctness/efficiency, loses security
    s = results["shorter"]["categories"]
    assert 62 <= s["correctness"]["accuracy"] <= 66 and 62 <= s["efficiency"]["accuracy"] <= 64
    assert 32 <= s["security"]["accuracy"] <= 33 and s["human-preference"]["accuracy"] == pytest.approx(38.6, abs=0.05)


def test_bench_rerun_resumes_without_duplicates(capsys, bench_dir, tmp_path):
    args = [
        "bench",
        "--judge",
        "random:3",
        "--data",
        bench_dir,
        "--output",
        str(tmp_path),
        "--limit",
        "5",
        "--both-orders",
        "--json",
    ]
    for _ in range(2):
        assert run_cli(args, capsys)[0] == 0
    lines = (tmp_path / "judgments.jsonl").read_text().splitlines()
    assert len(lines) == 4 * 5 * 2 == len({json.loads(x)["id"] for x in lines})


def test_bench_on_a_users_folder_twice_with_the_run_inside_it(capsys, tmp_path):
    """The tables name the data, and a run folder written inside the data folder is not read back as
    data when the same command runs again."""
    rows = [
        {"prompt": f"Write f{i}.", "chosen": f"def f{i}():\n    return {i}\n", "rejected": "x = ("} for i in range(3)
    ]
    (tmp_path / "prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["bench", "--judge", "longer", "--data", str(tmp_path), "--output", str(tmp_path / "run"), "--json"]
    for _ in range(2):
        code, out, _ = run_cli(args, capsys)
        assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["dataset"] == "user data" and sum(c["n"] for c in summary["categories"].values()) == 3
    assert (tmp_path / "run" / "summary.md").read_text().startswith("## user data: longer")
