"""The one run-folder rule shared by the benchmark runner and both generators: manifests compared whole,
the layout format checked (old folders refused with one line, their files untouched), atomic writes;
and the shared input and reply layers the two generators read through."""

from __future__ import annotations

import json
import sys

import pytest

from codefavor.backends import load_backend
from codefavor.benchmark.runner import run_bench
from codefavor.cli import main
from codefavor.errors import CodefavorError, MissingExtraError
from codefavor.generators import commit_instruct as ci
from codefavor.generators import critic_evol as ce
from codefavor.generators import instructions, mining, replies
from codefavor.generators.engine import OUTCOMES, PAIRS
from codefavor.judges.baselines import LengthJudge
from codefavor.records import BenchTask, write_records
from codefavor.run_folder import MANIFEST_FORMAT, close_run, open_run, write_json_atomic


def test_open_run_compares_settings_whole_and_merges_info(tmp_path):
    m = open_run(tmp_path, "bench", {"judge": "a", "n": (1, 2)}, {"split": "dev"})
    assert (m["format"], m["kind"], m["settings"], m["info"]) == (MANIFEST_FORMAT, "bench", {"judge": "a", "n": [1, 2]}, {"split": "dev"})  # fmt: skip
    again = open_run(tmp_path, "bench", {"judge": "a", "n": (1, 2)}, {"limit": 3})
    assert again["started_at"] == m["started_at"] and again["info"] == {"split": "dev", "limit": 3}
    with pytest.raises(CodefavorError, match=r"other settings \(judge: 'a', not 'b'\)"):
        open_run(tmp_path, "bench", {"judge": "b", "n": [1, 2]})
    with pytest.raises(CodefavorError, match=r"holds a 'bench' run, not 'critic-evol'"):
        open_run(tmp_path, "critic-evol", {"judge": "a", "n": [1, 2]})
    close_run(tmp_path, again, finished=True, n=1)
    stored = json.loads((tmp_path / "manifest.json").read_text())
    assert stored["finished_at"] and stored["info"]["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temp file left behind
    assert open_run(tmp_path, "critic-evol", {}, overwrite=True)["kind"] == "critic-evol"


def test_write_json_atomic_replaces_whole(tmp_path):
    path = tmp_path / "sub" / "x.json"
    write_json_atomic(path, {"a": "é"})
    write_json_atomic(path, {"b": 1})
    assert json.loads(path.read_text()) == {"b": 1} and sorted(p.name for p in path.parent.iterdir()) == ["x.json"]


def test_unreadable_manifest_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CodefavorError, match="not a readable manifest"):
        open_run(tmp_path, "bench", {})


# The manifests the previous layout wrote (no format number), and an outcome line of the old
# Commit-Instruct protocol (outcome written last, pair elsewhere, keyed by seed_id).
OLD_CI_MANIFEST = {"generator": "commit-instruct", "backend": "fake:commit-replay", "prompt_version": "v1-ci-0"}
OLD_CI_OUTCOME = {"seed_id": "s1", "attempt": 1, "status": "rejected", "reason": "answered-no", "pair_id": None}
OLD_CE_MANIFEST = {"settings": {"draft": None, "critic": "fake:c"}, "codefavor_version": "0.1.0"}
OLD_BENCH_MANIFEST = {"judge": "shorter", "prompt_version": "v1", "data_sha256": {}, "strip_comments": True}


def test_an_old_commit_instruct_folder_is_refused_in_one_line_and_left_alone(tmp_path, capsys):
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps(OLD_CI_MANIFEST))
    (old / OUTCOMES).write_text(json.dumps(OLD_CI_OUTCOME) + "\n")
    before = {p.name: p.read_bytes() for p in old.iterdir()}
    seed = mining.CommitSeed(
        repo="r", commit="0" * 40, path="m.py", message="m", old_code="x = 1\n", new_code="x = 2\n"
    )
    write_records(tmp_path / "seeds.jsonl", [seed])
    args = ["generate", "commit-instruct", "--input", str(tmp_path / "seeds.jsonl"), "--backend"]
    with pytest.raises(SystemExit) as e:
        main([*args, "fake:commit-replay", "--output", str(old), "--no-decontam"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "older layout (run-folder format 1" in err[0] and "--overwrite" in err[0]
    assert {p.name: p.read_bytes() for p in old.iterdir()} == before  # nothing lost, nothing misread
    main([*args, "fake:commit-replay", "--output", str(old), "--no-decontam", "--overwrite", "--json"])
    assert json.loads(capsys.readouterr().out)["kept"] == 1


def test_old_critic_evol_and_bench_folders_are_refused(tmp_path):
    (tmp_path / "ce").mkdir()
    (tmp_path / "ce" / "manifest.json").write_text(json.dumps(OLD_CE_MANIFEST))
    critic = load_backend("fake:const=## Reflection\nok\n## Verdict\ngood enough")
    s = ce.Settings(draft=None, critic=critic.spec, decontaminate=False)
    with pytest.raises(CodefavorError, match="older layout"):
        ce.run_critic_evol([ce.Seed("a", "Do A", "x = 1")], tmp_path / "ce", critic=critic, settings=s)
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "manifest.json").write_text(json.dumps(OLD_BENCH_MANIFEST))
    task = BenchTask(task_id="t", instruction="x", choices=("a", "bb"), gt_choice=0, category="correctness")
    with pytest.raises(CodefavorError, match="older layout"):
        run_bench(LengthJudge("shorter"), [task], tmp_path / "bench")


def test_commit_replay_is_a_backend_every_command_accepts(tmp_path, capsys):
    backend = load_backend("fake:commit-replay")
    seed = mining.CommitSeed(repo="r", commit="1" * 40, path="m.py", message="Bump x", old_code="x = 1\n", new_code="x = 2\n")  # fmt: skip
    (outcome,) = ci.converse([seed], backend, ci.Settings(backend.spec, decontaminate=False))
    assert outcome.status == "kept" and (outcome.pair.rejected, outcome.pair.chosen) == ("x = 1", "x = 2")
    assert list(tmp_path.iterdir()) == []  # the per-item function writes nothing
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"id": "a", "instruction": "Write x.", "response": "```python\\nx = 1\\n```"}\n')
    main(["generate", "critic-evol", "--input", str(inp), "--critic", "fake:commit-replay",
          "--output", str(tmp_path / "o"), "--no-decontam", "--json"])  # fmt: skip
    funnel = json.loads(capsys.readouterr().out)
    assert funnel["processed"] == 1 and funnel["unparseable"] == 1  # accepted; its replies are no reviews


def test_evolve_is_a_function_of_its_inputs(tmp_path):
    critic = load_backend("fake:const=## Reflection\nok\n## Verdict\ngood enough")
    seeds = [ce.Seed("a", "Do A", "```python\nx = 1\n```"), ce.Seed("b", "Do B")]
    settings = ce.Settings(draft=None, critic=critic.spec, decontaminate=False)
    outs = ce.evolve(seeds, {}, critic, settings)
    assert [(o.id, o.status) for o in outs] == [("a", "good_enough"), ("b", "missing_draft")]
    assert outs[0].details["draft_source"] == "given" and list(tmp_path.iterdir()) == []


def test_a_missing_extra_is_named_for_every_reader(tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"instruction": ["Do A"]}), path)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(MissingExtraError, match=r"codefavor\[data\]"):
        instructions.load_seeds(path)
    with pytest.raises(MissingExtraError, match=r"codefavor\[data\]"):
        list(mining.iter_record_seeds(path, mining.MiningConfig()))
    with pytest.raises(MissingExtraError, match=r"codefavor\[data\]"):
        instructions.load_seeds(hf_dataset="some/dataset")
    with pytest.raises(MissingExtraError, match=r"codefavor\[data\]"):
        list(mining.iter_hf_seeds("some/dataset", mining.MiningConfig()))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("## Reflection", ("reflection", "")),
        ("**Verdict:** improve", ("verdict", "improve")),
        ("[VERDICT] good enough", ("verdict", "good enough")),
        ("2) Criterion (the one that matters): fast", ("criterion", "fast")),
        ("Feedback", ("feedback", "")),
        ("Feedback is welcome here.", None),  # prose that starts with a section word
        ("[REVISION] is shorter than [DRAFT].", None),  # a code tag, not a heading
        ("**Verdict** is what follows", None),  # emphasis in prose
    ],
)
def test_one_heading_grammar(line, expected):
    labels = {"reflection": "reflection", "verdict": "verdict", "criterion": "criterion", "feedback": "feedback"}
    got = replies.split_sections(line + "\nbody", labels)
    if expected is None:
        assert set(got) == {"preamble"}
    else:
        name, rest = expected
        assert got[name] == (f"{rest}\nbody" if rest else "body")


def test_one_tag_set_and_one_version_scheme():
    text = "[NAIVE] [draft] [attempt 1] [the original code] | [IMPROVED] [Revision] [attempt_2] [better version]"
    assert replies.normalize_tags(text) == " ".join(["[REJECTED]"] * 4) + " | " + " ".join(["[CHOSEN]"] * 4)
    assert ci.prompt_version().startswith("v1-ci-") and ce.prompt_version().startswith("v1-critic-")
    assert replies.strip_reasoning("<think>plan</think>answer") == "answer"


def test_pairs_are_rebuilt_from_outcomes_when_they_disagree(tmp_path):
    backend = load_backend("fake:commit-replay")
    seeds = [mining.CommitSeed(repo="r", commit=f"{i:040x}", path="m.py", message=f"m{i}", old_code=f"x = {i}\n", new_code=f"x = {i + 1}\n") for i in range(3)]  # fmt: skip
    ci.run_commit_instruct(seeds, backend, tmp_path)
    (tmp_path / PAIRS).write_text('{"id": "hand-edited"}\n')
    res = ci.run_commit_instruct(seeds, backend, tmp_path)
    pairs = [json.loads(x)["provenance"]["seed_id"] for x in (tmp_path / PAIRS).read_text().splitlines()]
    assert sorted(pairs) == sorted(s.id for s in seeds) and res.funnel["this_run"]["already_done"] == 3
