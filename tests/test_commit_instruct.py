"""The Commit-Instruct dialogue, its parsers and its run folder, with scripted model transcripts."""

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

from codefavor.backends import Generation, Sampling
from codefavor.backends.fake import FakeBackend
from codefavor.cli import main
from codefavor.codetools import apply_unified_diff, unified_diff
from codefavor.errors import CodefavorError
from codefavor.generators import commit_instruct as ci
from codefavor.generators import replies
from codefavor.generators.decontam import Decontaminator
from codefavor.generators.engine import FUNNEL, OUTCOMES, PAIRS
from codefavor.generators.mining import CommitSeed
from codefavor.records import BenchTask, PreferencePair, read_records

# ---------------------------------------------------------------------------------------------
# gate parser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES", "YES"),
        ("NO", "NO"),
        ("yes", "YES"),
        ("No.", "NO"),
        ("**YES**", "YES"),
        ("YES - the change fixes a crash on empty input.", "YES"),
        ("After weighing it, the change is a clear fix, so my answer is YES.", "YES"),
        ("NOTE: the diff only renames a variable. NO", "NO"),
        ("NOTE: this makes the parser robust. YES", "YES"),
        ("NOT a clear improvement.", None),
        ("NOW I see it: YES", "YES"),
        ("It is a no-op for callers, but YES, it fixes the leak.", "YES"),
        ("Answer: no", "NO"),
        ("I considered saying yes, but the final answer: NO", "NO"),
        ("Hmm, YES or NO? Hard to tell.", None),
        ("The change is fine.", None),
        ("", None),
        ("Nope.", None),
        ("Yesterday's code was worse.", None),
        ("No-op for callers? YES, it still fixes the leak.", "YES"),
        ("<think>Is it YES or NO? The diff adds a guard...</think>\nYES", "YES"),
        ("<think>It only renames; NO real gain. But YES, tests pass", None),
    ],
)
def test_parse_gate(text, expected):
    assert replies.parse_gate(text) == expected


# ---------------------------------------------------------------------------------------------
# pair parser

NAIVE = "def mean(xs):\n    return sum(xs) / len(xs)"
IMPROVED = "def mean(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)"

WELL_FORMED = f"""INSTRUCTION:
Write a function `mean(xs)` that returns the arithmetic mean of a list of numbers.

CRITERION:
The function returns 0.0 for an empty list instead of dividing by zero.

NAIVE CODE:
```python
{NAIVE}
```

IMPROVED CODE:
```python
{IMPROVED}
```

FEEDBACK:
[NAIVE] divides by zero when the list is empty, while [IMPROVED] returns 0.0 in that case.
"""

MARKDOWN = f"""Sure! Here is the example.

### Instruction
Write a function `mean(xs)` that returns the mean of a list of numbers.

### Criterion
Robustness on empty input.

### Naive code
```py
{NAIVE}
```

### Improved code
```
# Improved: guard first
{IMPROVED}
```

### Feedback
[Improved Code] guards against an empty list; [naive code] crashes.
"""

BOLD_UNFENCED = f"""**Instruction:** Write `mean(xs)` returning the mean of numbers.
**Criterion:** Handles empty input.
**Naive code:**
{NAIVE}
**Improved code:**
{IMPROVED}
**Feedback:** [IMPROVED] checks for an empty list, [NAIVE] does not.
"""


def test_well_formed_reply_parses():
    p = replies.parse_pair_reply(WELL_FORMED)
    assert isinstance(p, replies.ParsedPair)
    assert p.naive == NAIVE and p.improved == IMPROVED
    assert p.instruction.startswith("Write a function `mean(xs)`")
    assert p.criterion == "The function returns 0.0 for an empty list instead of dividing by zero."
    assert p.feedback.startswith("[REJECTED] divides by zero") and "[CHOSEN] returns 0.0" in p.feedback


def test_markdown_headings_and_headings_inside_code():
    p = replies.parse_pair_reply(MARKDOWN)
    assert isinstance(p, replies.ParsedPair)
    assert p.improved.startswith("# Improved: guard first")  # a heading-like comment inside a fence is code
    assert p.feedback == "[CHOSEN] guards against an empty list; [REJECTED] crashes."


def test_bold_inline_headings_with_unfenced_code():
    p = replies.parse_pair_reply(BOLD_UNFENCED)
    assert isinstance(p, replies.ParsedPair)
    assert p.instruction == "Write `mean(xs)` returning the mean of numbers."
    assert p.naive == NAIVE and p.improved == IMPROVED


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("CRITERION:" + WELL_FORMED.split("CRITERION:")[1], "missing-instruction"),
        (
            WELL_FORMED.split("CRITERION:")[0] + "NAIVE CODE:" + WELL_FORMED.split("NAIVE CODE:")[1],
            "missing-criterion",
        ),
        (WELL_FORMED.split("FEEDBACK:")[0], "missing-feedback"),
        (WELL_FORMED.replace("IMPROVED CODE:", "BETTER CODE:"), "missing-improved"),
        (WELL_FORMED.replace(f"```python\n{NAIVE}\n```", "```python\n```"), "missing-naive"),
        (
            WELL_FORMED.replace("return sum(xs) / len(xs)\n```\n\nIMPROVED", "return sum(xs) /\n```\n\nIMPROVED"),
            "naive-syntax",
        ),
        (WELL_FORMED.replace("return 0.0", "return 0.0 +"), "improved-syntax"),
        (WELL_FORMED.replace(IMPROVED, NAIVE + "  # same code, new comment"), "identical-codes"),
        (WELL_FORMED.replace("[NAIVE]", "The first").replace("[IMPROVED]", "the second"), "feedback-untagged"),
        ("I cannot help with that.", "missing-instruction"),
        ("", "missing-instruction"),
    ],
)
def test_rejections_have_reasons(reply, reason):
    assert replies.parse_pair_reply(reply) == reason


def test_a_truncated_reply_is_rejected_not_raised():
    cut = WELL_FORMED[: WELL_FORMED.index("FEEDBACK")]
    assert replies.parse_pair_reply(cut) == "missing-feedback"
    cut = WELL_FORMED[: WELL_FORMED.index("return 0.0") + 4]  # unclosed fence in the improved code
    assert replies.parse_pair_reply(cut) in ("improved-syntax", "missing-feedback")


def test_headings_with_asides():
    reply = WELL_FORMED.replace("NAIVE CODE:", "**Naive code (before the change):**").replace(
        "IMPROVED CODE:", "2) Improved code (chosen):"
    )
    p = replies.parse_pair_reply(reply)
    assert isinstance(p, replies.ParsedPair) and p.naive == NAIVE and p.improved == IMPROVED


def test_form_feeds_in_code_survive_parsing():
    code = "x = 1\n\x0c\ny = 2"
    p = replies.parse_pair_reply(WELL_FORMED.replace(NAIVE, code))
    assert isinstance(p, replies.ParsedPair) and p.naive == code


def test_reasoning_blocks_are_ignored():
    thinking = "<think>\nINSTRUCTION: draft\nNAIVE CODE: x = (\n</think>\n"
    p = replies.parse_pair_reply(thinking + WELL_FORMED)
    assert isinstance(p, replies.ParsedPair) and p.naive == NAIVE


def test_other_languages_skip_the_python_syntax_check():
    js = WELL_FORMED.replace("```python", "```javascript").replace(NAIVE, "const mean = xs => s(xs) / xs.length;")
    p = replies.parse_pair_reply(js, lang="javascript")
    assert isinstance(p, replies.ParsedPair) and p.naive.startswith("const mean")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[NAIVE] is slow; [IMPROVED] is fast.", "[REJECTED] is slow; [CHOSEN] is fast."),
        ("[naive code] vs [Improved_Code]", "[REJECTED] vs [CHOSEN]"),
        ("[CHOSEN] wins over [REJECTED].", "[CHOSEN] wins over [REJECTED]."),
        ("[ the improved version ] and [ORIGINAL]", "[CHOSEN] and [REJECTED]"),
        ("no tags here [1]", "no tags here [1]"),
    ],
)
def test_normalize_tags(text, expected):
    assert replies.normalize_tags(text) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\nc\n", "a\nB\nc\nd\n"),
        ("", "x = 1\n"),
        ("x\n", ""),
        ("".join(f"l{i}\n" for i in range(50)), "".join(f"l{i}\n" for i in range(50) if i % 7) + "end\n"),
        ("--x\n-y\n+z\n", "++x\n-y\n"),
        ("a = 1\n\x0c\nb = 2\n", "a = 1\n\x0c\nb = 3\n"),  # a form feed is not a line break
    ],
)
def test_apply_unified_diff_inverts_unified_diff(old, new):
    assert apply_unified_diff(old, unified_diff(old, new, "f.py")).strip("\n") == new.strip("\n")


# ---------------------------------------------------------------------------------------------
# the dialogue over a run folder


def make_seed(i: int, message: str = "Fix mean on empty input") -> CommitSeed:
    old = f"def mean{i}(xs):\n    return sum(xs) / len(xs)\n"
    new = f"def mean{i}(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n"
    return CommitSeed(
        repo="example/proj", commit=f"{i:040x}", path="stats.py", message=message, old_code=old, new_code=new
    )


def scripted(plan: dict[str, tuple[str, str]]):
    """A model that reads the commit message in turn 1 and answers from `plan[message]`:
    (gate answer, pair reply)."""

    def fn(messages):
        first = messages[0]["content"]
        message = first.split("Commit message:\n", 1)[1].split("\n\nFile:", 1)[0]
        gate, pair = plan[message]
        turn = sum(m["role"] == "assistant" for m in messages)
        return ["The change adds a guard for an empty list, which fixes a ZeroDivisionError.", gate, pair][turn]

    return FakeBackend(fn=fn, spec="fake:scripted")


PLAN = {
    "well formed": ("YES", WELL_FORMED),
    "markdown": ("I think this is clearly better. YES", MARKDOWN),
    "bold": ("**YES**", BOLD_UNFENCED),
    "said no": ("NO", WELL_FORMED),
    "note no": ("NOTE: this only renames things. NO.", WELL_FORMED),
    "unclear": ("It depends.", WELL_FORMED),
    "missing feedback": ("YES", WELL_FORMED.split("FEEDBACK:")[0]),
    "bad syntax": ("YES", WELL_FORMED.replace("return 0.0", "return 0.0 +")),
}


def plan_seeds() -> list[CommitSeed]:
    return [make_seed(i, msg) for i, msg in enumerate(PLAN)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_dialogue_turns_and_funnel(tmp_path):
    backend = scripted(PLAN)
    funnel = ci.run_commit_instruct(plan_seeds(), backend, tmp_path, batch_size=3).funnel
    assert funnel["seeds"] == funnel["processed"] == 8 and funnel["kept"] == 3
    assert funnel["answered_no"] == 2 and funnel["gate_undecided"] == 1
    assert funnel["unparseable"] == 2
    assert funnel["reasons"]["unparseable"] == {"missing-feedback": 1, "improved-syntax": 1}
    assert funnel["contaminated"] == 0 and funnel["backend_error"] == 0
    pairs = list(read_records(tmp_path / PAIRS, PreferencePair))
    assert len(pairs) == 3
    p = pairs[0]
    assert p.source == "commit-instruct" and p.chosen == IMPROVED and p.rejected == NAIVE
    assert p.provenance.seed_id == make_seed(0, "well formed").id
    assert p.provenance.generator_models == {"commit-instruct": "fake:scripted"}
    assert p.provenance.prompt_version == ci.prompt_version()
    assert p.meta["commit"] == f"{0:040x}" and p.meta["path"] == "stats.py"
    # Turn structure: NO stops after two turns, YES goes to three; every conversation is in its outcome.
    convs = {c["seed"]["message"]: c for c in read_jsonl(tmp_path / OUTCOMES)}
    assert len(convs) == 8
    assert [m["role"] for m in convs["said no"]["messages"]] == ["user", "assistant", "user", "assistant"]
    assert len(convs["well formed"]["messages"]) == 6
    first = convs["well formed"]["messages"][0]["content"]
    assert "well formed" in first and "def mean0(xs):" in first and "+    if not xs:" in first
    assert convs["said no"]["status"] == "answered_no"
    outcomes = read_jsonl(tmp_path / OUTCOMES)
    assert Counter(o["status"] for o in outcomes) == {
        "kept": 3,
        "answered_no": 2,
        "gate_undecided": 1,
        "unparseable": 2,
    }
    assert {o["pair"]["id"] for o in outcomes if o["status"] == "kept"} == {p.id for p in pairs}
    assert json.loads((tmp_path / FUNNEL).read_text())["kept"] == 3
    # Batched: each turn of a batch is one generate call, so 8 seeds in batches of 3 are 3 batches.
    assert len(backend.calls) == 8 + 8 + 5


def test_resume_skips_finished_seeds_and_limit_counts_them(tmp_path):
    seeds = plan_seeds()
    first = scripted(PLAN)
    ci.run_commit_instruct(seeds, first, tmp_path, limit=3, batch_size=2)
    assert len(read_jsonl(tmp_path / OUTCOMES)) == 3
    second = scripted(PLAN)
    funnel = ci.run_commit_instruct(seeds, second, tmp_path, limit=5).funnel
    assert funnel["this_run"]["already_done"] == 3 and funnel["seeds"] == 5
    third = scripted(PLAN)
    funnel = ci.run_commit_instruct(seeds + seeds, third, tmp_path).funnel
    assert funnel["this_run"]["duplicates"] == 8 and funnel["seeds"] == 8
    outcomes = read_jsonl(tmp_path / OUTCOMES)
    assert sorted(o["id"] for o in outcomes) == sorted(s.id for s in seeds)
    assert len(third.calls) == 3 + 3 + 2  # only the last three seeds were asked


def test_the_same_pair_from_two_seeds_is_kept_once(tmp_path):
    seeds = [make_seed(0, "well formed"), make_seed(1, "well formed")]  # different commits, same answers
    funnel = ci.run_commit_instruct(seeds, scripted(PLAN), tmp_path).funnel
    assert funnel["kept"] == 1 and funnel["duplicate"] == 1
    assert len(read_jsonl(tmp_path / PAIRS)) == 1


def test_backend_errors_are_counted_then_retried(tmp_path):
    calls = {"n": 0}

    class Flaky:
        spec = "fake:scripted"

        def generate(self, conversations, sampling: Sampling):
            calls["n"] += 1
            if calls["n"] == 1:
                return [Generation(error="HTTP 503") for _ in conversations]
            return scripted(PLAN).generate(conversations, sampling)

    seeds = plan_seeds()[:2]
    funnel = ci.run_commit_instruct(seeds, Flaky(), tmp_path).funnel
    assert funnel["backend_error"] == 2 and funnel["kept"] == 0
    funnel = ci.run_commit_instruct(seeds, Flaky(), tmp_path).funnel
    assert funnel["backend_error"] == 0 and funnel["kept"] == 2
    attempts = [(o["id"], o["attempt"]) for o in read_jsonl(tmp_path / OUTCOMES)]
    assert len(attempts) == 4 and len(set(attempts)) == 4
    assert len(read_jsonl(tmp_path / PAIRS)) == 2


def test_decontamination_drops_benchmark_lookalikes(tmp_path):
    task = BenchTask(
        task_id="hand/1",
        instruction="mean",
        choices=(IMPROVED, "def other():\n    pass"),
        gt_choice=0,
        category="correctness",
    )
    decontam = Decontaminator.from_tasks([task])
    funnel = ci.run_commit_instruct(plan_seeds(), scripted(PLAN), tmp_path, decontaminator=decontam).funnel
    assert funnel["contaminated"] == 3 and funnel["kept"] == 0 and funnel["decontamination_rate"] == 1.0
    conv = next(c for c in read_jsonl(tmp_path / OUTCOMES) if c["status"] == "contaminated")
    assert conv["decontam"]["task_id"] == "hand/1" and conv["decontam"]["similarity"] >= 80


def test_a_changed_prompt_or_backend_refuses_the_old_folder(tmp_path):
    ci.run_commit_instruct(plan_seeds()[:1], scripted(PLAN), tmp_path)
    other = FakeBackend(fn=lambda m: "NO", spec="fake:other")
    with pytest.raises(
        CodefavorError, match=r"holds a run with other settings \(backend: 'fake:scripted', not 'fake:other'"
    ):
        ci.run_commit_instruct(plan_seeds()[:1], other, tmp_path)


def golden_dialogue() -> str:
    seed = CommitSeed(
        repo="example/proj",
        commit="0" * 40,
        path="stats.py",
        message="Fix mean on empty input",
        old_code="def mean(xs):\n    return sum(xs) / len(xs)\n",
        new_code="def mean(xs):\n    if not xs:\n        return 0.0\n    return sum(xs) / len(xs)\n",
    )
    turns = (ci.explain_prompt(seed), ci.gate_prompt(), ci.pair_prompt("python"))
    return "".join(f"===== turn {i} =====\n{t}\n" for i, t in enumerate(turns, start=1))


def test_prompts_match_the_golden_rendering():
    """A wording change must show up as a reviewed diff of tests/data/golden/commit_instruct.txt
    (regenerate it with `golden_dialogue()`), and it changes the prompt version in every pair."""
    golden = Path(__file__).parent / "data" / "golden" / "commit_instruct.txt"
    assert golden_dialogue() == golden.read_text(encoding="utf-8")


def test_code_holding_backticks_gets_a_longer_fence():
    seed = make_seed(3).model_copy(
        update={"old_code": 'def f():\n    """Use it like:\n    ```\n    f()\n    ```\n    """\n'}
    )
    text = ci.explain_prompt(seed)
    assert "````python\n" in text and "````diff\n" in text


def test_prompts_show_message_old_code_and_diff():
    seed = make_seed(7, "Guard against empty input")
    text = ci.explain_prompt(seed)
    assert "Guard against empty input" in text and seed.old_code.rstrip() in text
    assert "--- a/stats.py" in text and "+        return 0.0" in text
    assert "YES or NO" in ci.gate_prompt()
    pair = ci.pair_prompt("python")
    for heading in (
        "INSTRUCTION:",
        "CRITERION:",
        "NAIVE CODE:",
        "IMPROVED CODE:",
        "FEEDBACK:",
        "[NAIVE]",
        "[IMPROVED]",
    ):
        assert heading in pair


# ---------------------------------------------------------------------------------------------
# CLI end to end on a real repository, and a kill -9 in the middle of a run


def _git_repo(path: Path, n: int) -> Path:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "d@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "d@example.com",
    }
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=env)
    body = ["def f0(x):\n    return x\n"]
    for i in range(n):
        body.append(f"def f{i + 1}(x):\n    return x + {i}\n")
        (path / "mod.py").write_text("\n\n".join(body))
        subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", f"Add f{i + 1}"], check=True, env=env)
    return path


def cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_replay_run_on_a_repository(tmp_path, capsys):
    repo = _git_repo(tmp_path / "repo", 6)
    out = tmp_path / "out"
    args = ["generate", "commit-instruct", "--repo", str(repo), "--backend", "fake:commit-replay"]
    assert cli(*args, "--output", str(out), "--no-decontam", "--json") == 0
    funnel = json.loads(capsys.readouterr().out)
    assert funnel["mining"]["read"] == 6 and funnel["mining"]["filtered"] == {"root-commit": 1}
    assert funnel["kept"] == 5
    pairs = list(read_records(out / PAIRS, PreferencePair))
    assert {p.chosen.count("def ") - p.rejected.count("def ") for p in pairs} == {1}  # new code = old + 1 def
    # Mining only, then generating from the mined seeds, gives the same pairs.
    assert cli("generate", "commit-instruct", "--repo", str(repo), "--mine-only", "--output", str(tmp_path / "m")) == 0
    assert "5 seeds" in capsys.readouterr().out
    assert cli("generate", "commit-instruct", "--input", str(tmp_path / "m" / "seeds.jsonl"), "--backend",
               "fake:commit-replay", "--output", str(tmp_path / "o2"), "--no-decontam", "--json") == 0  # fmt: skip
    assert {p.id for p in read_records(tmp_path / "o2" / PAIRS, PreferencePair)} == {p.id for p in pairs}


def test_cli_user_errors(tmp_path, capsys):
    repo = _git_repo(tmp_path / "repo", 1)
    cases = [
        (["--output", str(tmp_path / "o")], "give exactly one source"),
        (["--repo", str(repo), "--input", "x.jsonl", "--output", str(tmp_path / "o")], "give exactly one source"),
        (["--repo", str(repo), "--output", str(tmp_path / "o")], "--backend is required"),
        (["--repo", str(repo), "--backend", "fake:echo", "--shard", "2", "--output", "o"], "expected I/N"),
        (["--repo", str(repo), "--repo", str(tmp_path), "--mine-only", "--output", "o"], "not a git repository"),
        (
            ["--repo", str(repo), "--backend", "fake:echo", "--data", str(tmp_path), "--output", "o"],
            "pass --no-decontam",
        ),
    ]
    for extra, message in cases:
        assert cli("generate", "commit-instruct", *extra) == 2
        assert message in capsys.readouterr().err


def test_cli_decontaminates_against_the_real_benchmark(tmp_path, bench_dir, capsys):
    repo = _git_repo(tmp_path / "repo", 3)
    assert cli("generate", "commit-instruct", "--repo", str(repo), "--backend", "fake:commit-replay",
               "--data", bench_dir, "--output", str(tmp_path / "o"), "--json") == 0  # fmt: skip
    funnel = json.loads(capsys.readouterr().out)
    assert funnel["kept"] + funnel["contaminated"] == 2 and funnel["decontamination_rate"] == 0.0


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from codefavor.backends.fake import FakeBackend
    from codefavor.generators import commit_instruct as ci
    from codefavor.generators.mining import CommitSeed

    def answer(messages):
        time.sleep(0.01)
        turn = sum(m["role"] == "assistant" for m in messages)
        n = int(messages[0]["content"].split("Commit message:\\n", 1)[1].split()[1])
        if turn == 0:
            return "It guards a division."
        if turn == 1:
            return "NO" if n % 5 == 0 else "YES"
        naive = f"def f{n}(xs):\\n    return sum(xs) / len(xs)"
        better = f"def f{n}(xs):\\n    return sum(xs) / len(xs) if xs else 0.0"
        return (f"INSTRUCTION:\\nMean number {n}.\\nCRITERION:\\nNo crash on empty input.\\n"
                f"NAIVE CODE:\\n```python\\n{naive}\\n```\\nIMPROVED CODE:\\n```python\\n{better}\\n```\\n"
                "FEEDBACK:\\n[IMPROVED] checks emptiness; [NAIVE] does not.")

    seeds = [CommitSeed(repo="r", commit=f"{i:040x}", path="m.py", message=f"seed {i}",
                        old_code=f"x = {i}\\n", new_code=f"x = {i + 1}\\n") for i in range(int(sys.argv[2]))]
    ci.run_commit_instruct(seeds, FakeBackend(fn=answer, spec="fake:kill"), sys.argv[1], batch_size=4)
    print("finished")
    """
)


def test_a_kill_between_an_outcome_and_its_pair_is_healed_from_the_outcome(tmp_path):
    seeds = plan_seeds()[:3]
    ci.run_commit_instruct(seeds[:2], scripted(PLAN), tmp_path)
    # Simulate a kill after the second seed's outcome (the commit point) but before its pair line,
    # and a torn half line at the end of the outcomes file (a third outcome cut by power loss).
    pairs = (tmp_path / PAIRS).read_text().splitlines(keepends=True)
    (tmp_path / PAIRS).write_text(pairs[0])
    with open(tmp_path / OUTCOMES, "a") as f:
        f.write('{"id": "' + seeds[2].id)
    backend = scripted(PLAN)
    funnel = ci.run_commit_instruct(seeds, backend, tmp_path).funnel
    assert funnel["this_run"]["pairs_healed"] == 1 and funnel["this_run"]["already_done"] == 2
    assert len(backend.calls) == 3  # only the third seed talked
    ids = [o["id"] for o in read_jsonl(tmp_path / OUTCOMES)]
    assert sorted(ids) == sorted(s.id for s in seeds)
    pair_seeds = [p["provenance"]["seed_id"] for p in read_jsonl(tmp_path / PAIRS)]
    assert sorted(pair_seeds) == sorted(s.id for s in seeds)  # all three kept, each once
    assert funnel["seeds"] == 3


def test_kill_9_midway_then_resume_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "out"
    n = 200
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for delay in (0.3, 0.6, 0.9):  # several kills at different moments
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(n)], env=env, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 60
        outcomes = out / OUTCOMES
        while not (outcomes.exists() and outcomes.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.01)  # wait for a first outcome of this process or an earlier one
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done_before = len(read_jsonl(out / OUTCOMES))
    assert 0 < done_before < n, "the kills should land midway"
    final = subprocess.run([sys.executable, str(script), str(out), str(n)], env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    outcomes = read_jsonl(out / OUTCOMES)
    ids = [o["id"] for o in outcomes]
    assert len(ids) == n and len(set(ids)) == n
    pairs = read_jsonl(out / PAIRS)
    pair_seeds = [p["provenance"]["seed_id"] for p in pairs]
    assert len(pair_seeds) == len(set(pair_seeds)) == sum(o["status"] == "kept" for o in outcomes) == n - n // 5
    assert all(len(o["messages"]) == (4 if o["status"] == "answered_no" else 6) for o in outcomes)
    funnel = json.loads((out / FUNNEL).read_text())
    assert funnel["seeds"] == n and funnel["answered_no"] == n // 5
