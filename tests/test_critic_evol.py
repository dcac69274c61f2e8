"""Critic-Evol: critic-answer parsing, scripted draft/critic runs with FakeBackend, the funnel, exactly-once
resume (also after SIGKILL), inputs (JSONL, Parquet, errors), sharding and the CLI. Fixtures are
hand-written here."""

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
from codefavor.errors import CodefavorError, DataError
from codefavor.generators import critic_evol as ce
from codefavor.generators import instructions, replies
from codefavor.generators.decontam import Decontaminator
from codefavor.generators.inputs import in_shard, parse_shard
from codefavor.records import BenchTask, PreferencePair, read_records

F = "```"
REPO = Path(__file__).resolve().parents[1]


def review(reflection="The draft works.", verdict="improve", criterion=None, code=None, feedback=None) -> str:
    """A critic answer in the layout the prompt asks for."""
    parts = [f"## Reflection\n{reflection}", f"## Verdict\n{verdict}"]
    if criterion is not None:
        parts.append(f"## Criterion\n{criterion}")
    if code is not None:
        parts.append(f"## Revision\n{F}python\n{code}\n{F}")
    if feedback is not None:
        parts.append(f"## Feedback\n{feedback}")
    return "\n\n".join(parts)


IMPROVE = review(
    "The loop builds the string quadratically.",
    "improve",
    "The code reverses the string in linear time.",
    "def rev(s):\n    # slicing copies once\n    return s[::-1]",
    "[DRAFT] prepends in a loop, which is O(n^2); [REVISION] uses one slice.",
)
GOOD = review("Correct and clear.", "good enough")


# ------------------------------------------------------------------------------------------
# parsing the critic


@pytest.mark.parametrize(
    "text,verdict,reason",
    [
        (IMPROVE, "improve", ""),
        (GOOD, "good_enough", ""),
        ("## Reflection\nFine.\n\n## Verdict: good enough", "good_enough", ""),
        ("**Reflection:** It is fine.\n**Verdict:** good enough", "good_enough", ""),
        ("[REFLECTION] fine\n[VERDICT] good enough", "good_enough", ""),
        ("Reflection: works.\nVerdict: `good enough`", "good_enough", ""),
        (IMPROVE.replace("## Verdict\nimprove", "## Verdict\n**Improve**"), "improve", ""),
        (IMPROVE.replace("## Revision", "## Revised code"), "improve", ""),
        (
            "## Reflection\nok\n## Verdict\nnot good enough\n## Criterion\nc",
            "unparseable",
            "truncated: missing revision",
        ),
        ("The draft is fine.\n\n## Verdict\ngood enough", "good_enough", ""),
        ("", "unparseable", "empty answer"),
        ("<think>## Reflection\nhmm\n## Verdict\nimprove</think>\n" + GOOD, "good_enough", ""),
        ("<think>## Reflection\nstill thinking", "unparseable", "empty answer"),
        ("The code looks fine to me.", "unparseable", "no reflection section"),
        ("## Reflection\nThe draft mishandles", "unparseable", "truncated: no verdict"),
        (review(verdict="maybe"), "unparseable", "unknown verdict"),
        (review(verdict="improve", criterion="Faster."), "unparseable", "truncated: missing revision, feedback"),
        (
            review(verdict="improve", criterion="Faster.", code="def f():\n    return 1", feedback=None),
            "unparseable",
            "truncated: missing feedback",
        ),
        (
            f"## Reflection\nslow\n## Verdict\nimprove\n## Criterion\nfast\n## Revision\n{F}python\ndef f(x):\n    return",
            "unparseable",
            "truncated: missing feedback",
        ),
        (
            review("ok", "good enough", "c", "def f():\n    return 1", "[DRAFT] vs [REVISION]"),
            "unparseable",
            "verdict is good enough but a revision follows",
        ),
    ],
)
def test_parse_review_table(text, verdict, reason):
    r = replies.parse_review(text)
    assert r.verdict == verdict
    assert r.reason.startswith(reason)


def test_heading_words_inside_code_are_not_sections():
    code = "def f(feedback):\n    # Feedback: this comment is code, not a heading\n    return feedback"
    r = replies.parse_review(review("slow", "improve", "clearer", code, "[REVISION] is clearer than [DRAFT]."))
    assert r.verdict == "improve"
    assert "# Feedback: this comment" in r.revision
    assert r.feedback == "[REVISION] is clearer than [DRAFT]."


def test_prose_starting_with_a_section_word_is_not_a_heading():
    r = replies.parse_review("## Reflection\nFeedback is welcome but the code is right.\n## Verdict\ngood enough")
    assert r.verdict == "good_enough" and "Feedback is welcome" in r.reflection


def test_normalize_feedback_tags():
    assert replies.normalize_tags("[DRAFT] loops; [REVISION] slices; [attempt_1] vs [Attempt 2]") == (
        "[REJECTED] loops; [CHOSEN] slices; [REJECTED] vs [CHOSEN]"
    )


# ------------------------------------------------------------------------------------------
# prompts


def test_examples_shuffled_deterministically_per_item():
    orders = {tuple(ce.example_order(f"id{i}")) for i in range(30)}
    assert len(orders) > 5  # items see different orders
    assert ce.example_order("x") == ce.example_order("x")
    assert sorted(ce.example_order("x")) == sorted(ce.EXAMPLES)
    assert ce.example_order("x", shots=2) == ce.example_order("x")[:2]


def test_critic_prompt_holds_all_examples_and_the_item():
    msgs = ce.critic_messages("Reverse a string.", "def rev(s):\n    return s", ce.example_order("x"))
    text = msgs[0]["content"]
    assert text.count("### Task") == 6  # five examples + the item
    assert "good enough" in text and "Reverse a string." in text and "def rev(s):" in text
    for unfilled in ("{examples}", "{instruction}", "{draft}"):
        assert unfilled not in text


def test_each_example_follows_the_layout_it_teaches():
    for name in ce.EXAMPLES:
        text = ce.template(f"critic_example_{name}")
        answer = text.split("### Review", 1)[1]
        r = replies.parse_review(answer, prompts=())  # an example is its own prompt's text
        assert r.verdict == ("good_enough" if name == "good_enough" else "improve"), name
        if r.verdict == "improve":
            assert "[DRAFT]" in r.feedback and "[REVISION]" in r.feedback


def test_prompt_version_tracks_templates():
    assert ce.prompt_version().startswith("v1-critic-")


# ------------------------------------------------------------------------------------------
# scripted runs


def seeds() -> list[ce.Seed]:
    return [
        ce.Seed("improve", "Write `rev(s)` that reverses a string."),
        ce.Seed("good", "Write `add(a, b)` returning the sum."),
        ce.Seed("malformed", "Write `sq(x)` returning x squared."),
        ce.Seed("truncated", "Write `neg(x)` returning -x."),
        ce.Seed("nocode", "Write `inc(x)` returning x + 1."),
        ce.Seed(
            "given",
            "Write `first(xs)` returning the first element or None.",
            response=f"Here:\n{F}python\ndef first(xs):\n    return xs[0]\n\nprint(first([1]))\n{F}",
        ),
    ]


DRAFTS = {
    "rev": f"{F}python\ndef rev(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out\n{F}",
    "add": f"{F}python\ndef add(a, b):\n    return a + b\n{F}",
    "sq": f"{F}python\ndef sq(x):\n    return x * x\n{F}",
    "neg": f"{F}python\ndef neg(x):\n    return 0 - x\n{F}",
    "inc": "I am not able to write code today.",
    "first": f"{F}python\ndef first(xs):\n    return xs[0]\n{F}",
}
CRITIC = {
    "rev": IMPROVE,
    "add": GOOD,
    "sq": "This draft is fine, nothing to add.",
    "neg": f"## Reflection\nUse unary minus.\n## Verdict\nimprove\n## Criterion\nidiomatic\n## Revision\n{F}python\ndef neg(x):\n    return -",
    "first": review(
        "Crashes on an empty list.",
        "improve",
        "The function handles the empty list.",
        "def first(xs):\n    return xs[0] if xs else None",
        "[DRAFT] raises IndexError on []; [REVISION] returns None.",
    ),
}


def _key(messages) -> str:
    text = messages[-1]["content"]
    task = text.rsplit("### Task", 1)[-1] if "### Task" in text else text
    return next(k for k in ("first", "rev", "add", "sq", "neg", "inc") if f"`{k}(" in task)


def scripted():
    draft = FakeBackend(fn=lambda m: DRAFTS[_key(m)], spec="fake:draft-small")
    critic = FakeBackend(fn=lambda m: CRITIC[_key(m)], spec="fake:critic-large")
    return draft, critic


def settings(**kw) -> ce.Settings:
    return ce.Settings(draft="fake:draft-small", critic="fake:critic-large", decontaminate=False, **kw)


def test_scripted_run_produces_pairs_and_funnel(tmp_path):
    draft, critic = scripted()
    res = ce.run_critic_evol(seeds(), tmp_path, critic=critic, draft=draft, settings=settings(), batch_size=4)
    f = res.funnel
    assert (f["seeds"], f["processed"], f["pending"]) == (6, 6, 0)
    assert (f["drafts_produced"], f["drafts_given"], f["drafts_generated"]) == (6, 1, 5)
    assert f["draft_rejected"] == 1 and f["critiqued"] == 5
    assert (f["good_enough"], f["unparseable"], f["kept"]) == (1, 2, 2)
    assert f["good_enough_rate"] == 0.2
    assert f["reasons"]["unparseable"] == {"no reflection section": 1, "truncated: missing feedback": 1}
    assert f["reasons"]["draft_rejected"] == {"no code: no fence and the text does not parse": 1}
    assert json.loads((tmp_path / "funnel.json").read_text())["kept"] == 2

    pairs = list(read_records(tmp_path / "pairs.jsonl", PreferencePair))
    by_seed = {p.provenance.seed_id: p for p in pairs}
    assert set(by_seed) == {"improve", "given"}
    p = by_seed["improve"]
    assert p.chosen == "def rev(s):\n    return s[::-1]"  # comment stripped
    assert "out = ch + out" in p.rejected
    assert p.feedback == "[REJECTED] prepends in a loop, which is O(n^2); [CHOSEN] uses one slice."
    assert p.source == "critic-evol" and p.criterion == "The code reverses the string in linear time."
    assert p.provenance.generator_models == {"draft": "fake:draft-small", "critic": "fake:critic-large"}
    assert p.provenance.prompt_version == ce.prompt_version()
    assert "print" not in by_seed["given"].rejected  # the given response was sanitized too
    assert by_seed["given"].meta["draft_source"] == "given"

    # Every item has exactly one outcome, and each holds its conversations.
    outcomes = [json.loads(line) for line in (tmp_path / "outcomes.jsonl").read_text().splitlines()]
    assert Counter(o["id"] for o in outcomes) == Counter(s.id for s in seeds())
    improve = next(o for o in outcomes if o["id"] == "improve")
    assert [c["role"] for c in improve["conversations"]] == ["draft", "critic"]
    assert improve["conversations"][1]["reply"] == IMPROVE
    assert len(draft.calls) == 5  # the given response was not redrafted
    assert len(critic.calls) == 5  # the draft without code never reached the critic


def test_batches_go_to_the_backend_whole(tmp_path):
    sizes = []

    class Counting(FakeBackend):
        def generate(self, conversations, sampling):
            sizes.append(len(conversations))
            return super().generate(conversations, sampling)

    draft = Counting(fn=lambda m: DRAFTS[_key(m)], spec="fake:d")
    critic = Counting(fn=lambda m: CRITIC[_key(m)], spec="fake:c")
    ce.run_critic_evol(seeds(), tmp_path, critic=critic, draft=draft, settings=settings(), batch_size=6)
    assert sizes == [5, 5]  # one draft call for the five missing responses, one critic call for five drafts


def test_sampling_settings_reach_the_backends(tmp_path):
    seen = {}

    class Recording(FakeBackend):
        def generate(self, conversations, sampling):
            seen[self.spec] = sampling
            return super().generate(conversations, sampling)

    draft = Recording(fn=lambda m: DRAFTS[_key(m)], spec="fake:draft-small")
    critic = Recording(fn=lambda m: CRITIC[_key(m)], spec="fake:critic-large")
    s = settings(critic_sampling=Sampling(temperature=0.5, max_tokens=99))
    ce.run_critic_evol(seeds()[:1], tmp_path, critic=critic, draft=draft, settings=s)
    assert seen["fake:critic-large"].max_tokens == 99 and seen["fake:draft-small"].temperature == 0.8


@pytest.mark.parametrize(
    "reply,reason",
    [
        (
            review(
                "x",
                "improve",
                "c",
                "def rev(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out",
                "[REVISION] same as [DRAFT]",
            ),
            "revision does not differ from the draft",
        ),
        (
            review("x", "improve", "c", "def rev(s):\n    return s[::-1]", "The second one is better."),
            "feedback does not refer",
        ),
        (review("x", "improve", "c", "def rev(s:\n    return s", "[REVISION] wins"), "revision: unparseable"),
        (
            review("x", "improve", "c", "assert rev('ab') == 'ba'", "[REVISION] wins"),
            "revision: empty after sanitizing",
        ),
    ],
)
def test_validation_failures_are_counted_as_invalid(tmp_path, reply, reason):
    critic = FakeBackend(fn=lambda m: reply, spec="fake:c")
    draft = FakeBackend(fn=lambda m: DRAFTS["rev"], spec="fake:d")
    res = ce.run_critic_evol(seeds()[:1], tmp_path, critic=critic, draft=draft, settings=settings())
    assert res.funnel["invalid"] == 1 and res.funnel["kept"] == 0
    outcome = json.loads((tmp_path / "outcomes.jsonl").read_text())
    assert outcome["reason"].startswith(reason), outcome["reason"]


def test_backend_errors_are_counted_and_retried_on_request(tmp_path):
    broken = FakeBackend(replies=[], spec="fake:c")  # an empty queue answers with an error
    draft = FakeBackend(fn=lambda m: DRAFTS["rev"], spec="fake:d")
    s = ce.Settings(draft="fake:d", critic="fake:c", decontaminate=False)
    res = ce.run_critic_evol(seeds()[:1], tmp_path, critic=broken, draft=draft, settings=s)
    assert res.funnel["critic_error"] == 1 and res.funnel["critiqued"] == 0
    # With --no-retry-errors the error is final; by default the item is redone with the stored draft.
    again = ce.run_critic_evol(seeds()[:1], tmp_path, critic=broken, draft=draft, settings=s, retry_errors=False)
    assert again.funnel["critic_error"] == 1 and len(broken.calls) == 1
    fixed = FakeBackend(fn=lambda m: IMPROVE, spec="fake:c")
    res = ce.run_critic_evol(seeds()[:1], tmp_path, critic=fixed, draft=draft, settings=s)
    assert res.funnel["kept"] == 1 and res.funnel["critic_error"] == 0
    assert len(draft.calls) == 1  # the draft was made once and reused


def test_missing_draft_without_draft_model(tmp_path):
    critic = FakeBackend(fn=lambda m: GOOD, spec="fake:c")
    res = ce.run_critic_evol(
        seeds(), tmp_path, critic=critic, settings=ce.Settings(draft=None, critic="fake:c", decontaminate=False)
    )
    assert res.funnel["missing_draft"] == 5 and res.funnel["drafts_produced"] == 1


def test_redraft_ignores_given_responses(tmp_path):
    draft, critic = scripted()
    ce.run_critic_evol(seeds()[-1:], tmp_path, critic=critic, draft=draft, settings=settings(redraft=True))
    assert len(draft.calls) == 1


def test_decontamination_drops_benchmark_lookalikes(tmp_path):
    task = BenchTask(
        task_id="t1",
        instruction="reverse",
        choices=("def rev(s):\n    return s[::-1]", "def rev(s):\n    return ''.join(reversed(s))"),
        gt_choice=0,
        category="efficiency",
    )
    draft, critic = scripted()
    s = ce.Settings(draft="fake:draft-small", critic="fake:critic-large")
    res = ce.run_critic_evol(
        seeds(), tmp_path, critic=critic, draft=draft, settings=s, decontaminator=Decontaminator.from_tasks([task])
    )
    assert res.funnel["contaminated"] == 1 and res.funnel["kept"] == 1
    with pytest.raises(CodefavorError, match="decontaminate=False"):
        ce.run_critic_evol(seeds(), tmp_path / "x", critic=critic, draft=draft, settings=s)


def test_duplicate_pairs_are_kept_once(tmp_path):
    same = [
        ce.Seed("a", "Write `rev(s)` that reverses a string."),
        ce.Seed("b", "Write `rev(s)` that reverses a string."),
    ]
    draft, critic = scripted()
    res = ce.run_critic_evol(same, tmp_path, critic=critic, draft=draft, settings=settings())
    assert res.funnel["kept"] == 1 and res.funnel["duplicate"] == 1


class PassOnlyReversal(ce.ExecChecker):
    """A stand-in checker: a code 'passes' when it contains the marker."""

    def check_many(self, items):
        def one(c):
            ok = "[::-1]" not in c
            return ce.ExecResult(ok, 1, int(ok), "", ("ex1",) * ok)

        return [[one(c) for c in codes] for _, codes in items]


def test_exec_consistency_drops_regressions(tmp_path):
    draft, critic = scripted()
    res = ce.run_critic_evol(
        seeds()[:1], tmp_path / "a", critic=critic, draft=draft, settings=settings(), exec_checker=PassOnlyReversal()
    )
    assert res.funnel["kept"] == 1
    pair = next(read_records(tmp_path / "a" / "pairs.jsonl", PreferencePair))
    assert pair.meta["exec"] == {"draft_passed": True, "revision_passed": False, "regressed": ["ex1"]}
    res = ce.run_critic_evol(
        seeds()[:1],
        tmp_path / "b",
        critic=critic,
        draft=draft,
        settings=settings(require_exec_consistency=True),
        exec_checker=PassOnlyReversal(),
    )
    assert res.funnel["exec_inconsistent"] == 1 and res.funnel["kept"] == 0


def test_same_model_warning():
    assert ce.same_model_warning("openai:llama-3-8b", "openai:llama-3-8b")
    assert ce.same_model_warning("openai:Llama-3-8B", "hf:llama-3-8b")
    assert ce.same_model_warning("openai:small", "openai:large") is None
    assert ce.same_model_warning(None, "openai:large") is None


def test_restart_with_other_settings_is_refused(tmp_path):
    draft, critic = scripted()
    ce.run_critic_evol(seeds()[:1], tmp_path, critic=critic, draft=draft, settings=settings())
    with pytest.raises(CodefavorError, match="shots"):
        ce.run_critic_evol(seeds()[:1], tmp_path, critic=critic, draft=draft, settings=settings(shots=2))


def test_resume_skips_done_items_and_heals_a_missing_pair_line(tmp_path):
    draft, critic = scripted()
    ce.run_critic_evol(seeds(), tmp_path, critic=critic, draft=draft, settings=settings())
    # Simulate a kill between the outcome line and its pair line: drop the last pair.
    pairs = (tmp_path / "pairs.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "pairs.jsonl").write_text("".join(pairs[:-1]))
    draft2, critic2 = scripted()
    res = ce.run_critic_evol(seeds(), tmp_path, critic=critic2, draft=draft2, settings=settings())
    assert draft2.calls == [] and critic2.calls == []
    assert res.funnel["kept"] == 2
    ids = [json.loads(x)["id"] for x in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 2


# ------------------------------------------------------------------------------------------
# inputs


def test_load_jsonl_parquet_and_errors(tmp_path):
    rows = [
        {"instruction": "Do A", "response": "x = 1"},
        {"id": 7, "instruction": "Do B"},
        {"instruction": "Do A", "response": "x = 1"},  # same content: a duplicate input
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    stats: Counter[str] = Counter()
    got = instructions.load_seeds(path, stats=stats)
    assert [s.instruction for s in got] == ["Do A", "Do B"] and got[1].id == "7" and got[1].response is None
    assert stats["duplicate_inputs"] == 1

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"id": [None, 7], "instruction": ["Do A", "Do B"], "response": ["x = 1", None]})
    pq.write_table(table, tmp_path / "in.parquet")
    assert [s.id for s in instructions.load_seeds(tmp_path / "in.parquet")] == [s.id for s in got]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "ok"}\n{"prompt": "wrong field"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: field 'instruction'"):
        instructions.load_seeds(bad)
    clash = tmp_path / "clash.jsonl"
    clash.write_text('{"id": "a", "instruction": "one"}\n{"id": "a", "instruction": "two"}\n')
    with pytest.raises(DataError, match=r"clash.jsonl:2: field 'id': duplicate id 'a' \(also on line 1\)"):
        instructions.load_seeds(clash)
    custom = tmp_path / "custom.jsonl"
    custom.write_text('{"prompt": "Do C", "answer": "y = 2"}\n')
    (s,) = instructions.load_seeds(custom, instruction_field="prompt", response_field="answer")
    assert (s.instruction, s.response) == ("Do C", "y = 2")


def test_hf_dataset_from_a_local_folder(tmp_path):
    pytest.importorskip("datasets")
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"instruction": "Do A"}\n{"instruction": "Do B"}\n')
    assert [s.instruction for s in instructions.load_seeds(hf_dataset=str(folder))] == ["Do A", "Do B"]
    with pytest.raises(CodefavorError, match="could not load dataset"):
        instructions.load_seeds(hf_dataset=str(tmp_path / "nope"))


def test_shards_partition_and_limit(tmp_path):
    many = [ce.Seed(f"id{i}", f"task {i}") for i in range(100)]
    parts = [[s for s in many if in_shard(s.id, (i, 3))] for i in range(3)]
    assert sorted(s.id for p in parts for s in p) == sorted(s.id for s in many)
    assert all(parts)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": s.id, "instruction": s.instruction}) + "\n" for s in many))
    assert instructions.load_seeds(path, shard=(1, 3)) == parts[1]
    critic = FakeBackend(fn=lambda m: GOOD, spec="fake:c")
    s = ce.Settings(draft=None, critic="fake:c", decontaminate=False)
    res = ce.run_critic_evol(parts[1], tmp_path / "run", critic=critic, settings=s, limit=4)
    assert res.funnel["seeds"] == 4  # the first four of the shard
    for bad in ("3/3", "x", "1/0"):
        with pytest.raises(CodefavorError):
            parse_shard(bad)


# ------------------------------------------------------------------------------------------
# kill -9 midway, restart: every item exactly once

SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    from codefavor.backends.fake import FakeBackend
    from codefavor.generators import critic_evol as ce
    sys.path.insert(0, {tests!r})
    from test_critic_evol import IMPROVE, GOOD

    def slow(reply):
        def fn(messages):
            time.sleep(0.02)
            return reply(messages)
        return fn

    seeds = [ce.Seed(f"s{{i}}", f"Write `rev(s)` number {{i}} that reverses a string.") for i in range(60)]
    draft = FakeBackend(fn=slow(lambda m: "```python\\ndef rev(s):\\n    return ''.join(reversed(s))  # " + m[0]["content"][-60:].split("number ")[1].split(" ")[0] + "\\n```"), spec="fake:d")
    critic = FakeBackend(fn=slow(lambda m: IMPROVE if int(m[0]["content"].rsplit("number ", 1)[1].split(" ")[0]) % 3 else GOOD), spec="fake:c")
    res = ce.run_critic_evol(seeds, sys.argv[1], critic=critic, draft=draft,
                             settings=ce.Settings(draft="fake:d", critic="fake:c", decontaminate=False), batch_size=4)
    print(res.funnel["processed"], res.funnel["kept"], res.funnel["good_enough"])
    """
)


def test_sigkill_midway_then_restart_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SLOW_RUN.format(tests=str(REPO / "tests")))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env, stdout=subprocess.PIPE)
    outcomes = out / "outcomes.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some but not all items are recorded
        if outcomes.exists() and len(outcomes.read_text().splitlines()) >= 12:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(outcomes.read_text().splitlines())
    assert 0 < n_before < 60, n_before

    done = subprocess.run(
        [sys.executable, str(script), str(out)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    processed, kept, good = map(int, done.stdout.split())
    assert (processed, kept, good) == (60, 40, 20)
    ids = [json.loads(line)["id"] for line in outcomes.read_text().splitlines()]
    assert sorted(ids) == sorted(f"s{i}" for i in range(60))  # each item exactly once
    pair_seeds = [json.loads(line)["provenance"]["seed_id"] for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(pair_seeds) == len(set(pair_seeds)) == 40
    draft_ids = [json.loads(line)["id"] for line in (out / "drafts.jsonl").read_text().splitlines()]
    assert len(draft_ids) == len(set(draft_ids)) == 60  # no item was drafted twice


# ------------------------------------------------------------------------------------------
# the CLI


def test_cli_scripted_run(tmp_path, monkeypatch, capsys):
    from codefavor.cli import main

    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"id": "a", "instruction": "Reverse a string."}\n'
        '{"id": "b", "instruction": "Add two numbers.", "response": "```python\\ndef add(a, b):\\n    return a + b\\n```"}\n'
    )
    draft = "fake:const=" + DRAFTS["rev"]
    critic = "fake:cycle=" + IMPROVE + "|" + GOOD
    out = tmp_path / "out"
    main(
        [
            "generate",
            "critic-evol",
            "--input",
            str(inp),
            "--draft",
            draft,
            "--critic",
            critic,
            "--output",
            str(out),
            "--no-decontam",
            "--json",
        ]
    )
    funnel = json.loads(capsys.readouterr().out)
    assert (funnel["seeds"], funnel["kept"], funnel["good_enough"]) == (2, 1, 1)
    assert (out / "pairs.jsonl").exists() and (out / "manifest.json").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    from codefavor.cli import main

    with pytest.raises(SystemExit) as e:
        main(
            [
                "generate",
                "critic-evol",
                "--input",
                str(tmp_path / "missing.jsonl"),
                "--critic",
                "fake:echo",
                "--output",
                str(tmp_path / "o"),
                "--no-decontam",
            ]
        )
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl: no such file" in err[0]


def test_cli_warns_when_draft_and_critic_are_the_same(tmp_path, capsys):
    from codefavor.cli import main

    inp = tmp_path / "in.jsonl"
    inp.write_text('{"instruction": "Reverse a string."}\n')
    main(
        [
            "generate",
            "critic-evol",
            "--input",
            str(inp),
            "--draft",
            "fake:echo",
            "--critic",
            "fake:echo",
            "--output",
            str(tmp_path / "o"),
            "--no-decontam",
            "--json",
        ]
    )
    assert "same model" in capsys.readouterr().err


def test_generation_error_object_is_respected():
    assert Generation(error="x").text == ""


def test_cli_limit_then_full_run_counts_every_item_once(tmp_path, capsys):
    from codefavor.cli import main

    data = REPO / "tests" / "data" / "critic_evol_instructions.jsonl"
    draft = "fake:const=" + DRAFTS["rev"]
    critic = "fake:cycle=" + IMPROVE + "|" + GOOD + "|not a review"
    args = ["generate", "critic-evol", "--input", str(data), "--draft", draft, "--critic", critic]
    args += ["--output", str(tmp_path), "--no-decontam", "--json", "--batch-size", "2"]
    main([*args, "--limit", "3"])
    first = json.loads(capsys.readouterr().out)
    assert (first["seeds"], first["processed"]) == (3, 3)
    main(args)
    funnel = json.loads(capsys.readouterr().out)
    assert (funnel["seeds"], funnel["processed"], funnel["pending"]) == (8, 8, 0)
    statuses = ("draft_rejected", "good_enough", "unparseable", "invalid", "kept", "contaminated", "duplicate")
    assert sum(funnel[k] for k in statuses) == 8
    assert funnel["draft_rejected"] == 1  # ce-07's given response is prose without code
    ids = [json.loads(line)["id"] for line in (tmp_path / "outcomes.jsonl").read_text().splitlines()]
    assert sorted(ids) == [f"ce-0{i}" for i in range(1, 9)]


# ------------------------------------------------------------------------------------------
# the execution hook with the real sandbox


@pytest.fixture(scope="module")
def sandbox_checker():
    checker = ce.SandboxChecker(timeout=1.0)
    problem = checker.probe()
    if problem:
        pytest.skip(f"the sandbox does not run here: {problem}")
    return checker


def test_sandbox_checker_records_which_attempt_passes(sandbox_checker):
    instruction = "Write `rev(s)` reversing a string.\n\n>>> rev('abc')\n'cba'\n\nassert rev('') == ''\n"
    good, bad, hang = (
        "def rev(s):\n    return s[::-1]",
        "def rev(s):\n    return s",
        "def rev(s):\n    while True: pass",
    )
    results = sandbox_checker.check_many([(instruction, [good, bad, hang]), ("Reverse a string.", [good])])
    [r_good, r_bad, r_hang], [none] = results
    assert (r_good.passed, r_good.n_examples, r_good.n_passed) == (True, 2, 2)
    assert r_bad.passed is False and r_bad.n_passed == 1  # rev('') == '' still holds
    assert r_hang.passed is False
    assert none.passed is None and none.n_examples == 0


def test_require_exec_consistency_end_to_end(sandbox_checker, tmp_path):
    instruction = "Write `rev(s)` reversing a string.\n\n>>> rev('abc')\n'cba'\n"
    breaks_it = review("x", "improve", "shorter", "def rev(s):\n    return s", "[REVISION] is shorter than [DRAFT].")
    draft = FakeBackend(fn=lambda m: DRAFTS["rev"], spec="fake:d")
    critic = FakeBackend(fn=lambda m: breaks_it, spec="fake:c")
    seed = [ce.Seed("r", instruction)]
    kept = ce.run_critic_evol(
        seed, tmp_path / "a", critic=critic, draft=draft, settings=settings(), exec_checker=sandbox_checker
    )
    assert kept.funnel["kept"] == 1
    pair = next(read_records(tmp_path / "a" / "pairs.jsonl", PreferencePair))
    assert pair.meta["exec"]["draft_passed"] is True and pair.meta["exec"]["revision_passed"] is False
    assert len(pair.meta["exec"]["regressed"]) == 1
    s = settings(require_exec_consistency=True)
    dropped = ce.run_critic_evol(
        seed, tmp_path / "b", critic=critic, draft=draft, settings=s, exec_checker=sandbox_checker
    )
    assert dropped.funnel["exec_inconsistent"] == 1 and dropped.funnel["kept"] == 0


@pytest.mark.parametrize("name", ["critic_draft", "critic_review"])
def test_prompt_renderings_match_golden_files(name):
    """A prompt change shows up as a reviewable diff here. To accept one, rewrite the golden files with
    the two `ce.*_messages(...)` calls below."""
    instruction = "Write `rev(s)` that reverses a string."
    if name == "critic_draft":
        text = ce.draft_messages(instruction)[0]["content"]
    else:
        text = ce.critic_messages(instruction, "def rev(s):\n    return s[::-1]", ce.example_order("golden"))[0][
            "content"
        ]
    assert text == (REPO / "tests" / "data" / "golden" / f"{name}.txt").read_text()


def test_exec_consistency_is_per_example(sandbox_checker, tmp_path):
    """Neither attempt passes everything, but the revision loses an example the draft passed: dropped."""
    instruction = "Write `half(n)`.\n\n>>> half(4)\n2\n>>> half(5)\n2\n"
    draft_code = f"{F}python\ndef half(n):\n    return n // 2 if n % 2 == 0 else 0\n{F}"  # passes half(4) only
    revision = "def half(n):\n    return 2 if n % 2 else 0"  # passes half(5) only
    critic_reply = review("x", "improve", "correct", revision, "[REVISION] vs [DRAFT]")
    draft = FakeBackend(fn=lambda m: draft_code, spec="fake:d")
    critic = FakeBackend(fn=lambda m: critic_reply, spec="fake:c")
    s = settings(require_exec_consistency=True)
    res = ce.run_critic_evol(
        [ce.Seed("h", instruction)], tmp_path, critic=critic, draft=draft, settings=s, exec_checker=sandbox_checker
    )
    assert res.funnel["exec_inconsistent"] == 1
