"""Correctness and security evidence on hand-written pairs, the hybrid fallback, and `codefavor judge`."""

from __future__ import annotations

import json

import pytest

from codefavor.evidence import Evidence, EvidenceOptions
from codefavor.evidence.correctness import correctness_evidence, undefined_names
from codefavor.evidence.sandbox import SandboxError
from codefavor.evidence.security import compare_security, fallback_findings, findings
from codefavor.judges import DEFAULT_JUDGE, PairItem, load_judge
from codefavor.judges.evidence import EVIDENCE, Source, infer_category
from codefavor.prompts import CRITERIA

SORT_INS = (
    '```python\ndef sort_desc(xs):\n    """Sort descending.\n    >>> sort_desc([1, 3, 2])\n    [3, 2, 1]\n    """\n```'
)
GOOD = "def sort_desc(xs):\n    return sorted(xs, reverse=True)"
WRONG = "def sort_desc(xs):\n    return sorted(xs)"
BROKEN = "def sort_desc(xs)\n    return xs"
NO_ENTRY = "def sorter(xs):\n    return sorted(xs, reverse=True)"
GOOD2 = "def sort_desc(xs):\n    ys = sorted(xs, reverse=True)\n    return ys"
UNDEF = "def sort_desc(xs):\n    if not xs:\n        return helper(xs)\n    return sorted(xs, reverse=True)"


def _item(a, b, criterion="correctness", instruction=SORT_INS, category=None):
    return PairItem(instruction=instruction, a=a, b=b, criterion=CRITERIA.get(criterion, criterion), category=category)


def test_correctness_signals_on_hand_written_pairs(sandbox):
    pairs = [(SORT_INS, GOOD, WRONG), (SORT_INS, WRONG, GOOD), (SORT_INS, BROKEN, GOOD), (SORT_INS, NO_ENTRY, GOOD),
             ("Sort a list descending (no examples).", GOOD, BROKEN),
             ("Sort a list descending (no examples).", UNDEF, GOOD), (SORT_INS, GOOD, GOOD)]  # fmt: skip
    evs = correctness_evidence(pairs, EvidenceOptions(sandbox=sandbox))
    assert [(e.decision, e.signal) for e in evs] == [
        ("A", "examples"),
        ("B", "examples"),
        ("B", "examples"),  # it does not load, so it fails every example
        ("B", "examples"),
        ("A", "loads"),
        ("B", "static"),
        ("undecided", "silent"),
    ]
    assert "expected [3, 2, 1]" in evs[0].details["b"]["failed"][0]["reason"]
    assert "SyntaxError" in evs[2].details["a"]["load_error"]
    assert evs[5].details["undefined_names"] == {"a": ["helper"], "b": []}


def test_undefined_names():
    assert undefined_names("import os\ndef f():\n    return os.sep + x + len('a')") == ["x"]
    assert undefined_names("def f():\n    global g\n    g = 1\ndef h():\n    return g") == []
    assert undefined_names("from m import *\ndef f(): return zz") == []
    assert undefined_names("def f(:") == []


SHELL = "import subprocess\ndef run(c):\n    return subprocess.check_output(c, shell=True)"
SAFE = "import subprocess, shlex\ndef run(c):\n    return subprocess.check_output(shlex.split(c))"
PY2_MD5 = "import md5\ndef h(s):\n    print 'hashing'\n    return md5.new(s).hexdigest()"
PY2_SHA = "import hashlib\ndef h(s):\n    print 'hashing'\n    return hashlib.sha256(s).hexdigest()"


def test_security_evidence_bandit_and_fallback():
    ev = compare_security(SHELL, SAFE)
    assert (ev.decision, ev.signal, ev.details["analyzer"]) == ("B", "bandit", "bandit") and ev.confidence > 0.5
    assert any(f["rule"] == "B602" for f in ev.details["a"]["findings"])
    ev = compare_security(PY2_SHA, PY2_MD5)
    assert (ev.decision, ev.signal, ev.details["analyzer"]) == ("A", "fallback-patterns", "fallback")
    assert [f["rule"] for f in ev.details["b"]["findings"]] == ["weak-hash"]
    assert compare_security(SAFE, SAFE).decision == "undecided"


@pytest.mark.parametrize(
    "line,rule",
    [
        ("h = hashlib.md5(data)", "weak-hash"),
        ("x = eval(user)", "eval-exec"),
        ("obj = pickle.loads(blob)", "pickle"),
        ("cfg = yaml.load(f)", "yaml-load"),
        ("os.system('ls ' + d)", "shell"),
        ("password = 'hunter22'", "secret"),
        ("p = tempfile.mktemp()", "tempfile"),
        ('cur.execute("SELECT * FROM t WHERE id=%s" % uid)', "sql-format"),
        ("requests.get(u, verify=False)", "tls-off"),
        ("token = random.choice(alphabet)", "random-secret"),
        ("key = '-----BEGIN RSA PRIVATE KEY-----'", "private-key"),
    ],
)
def test_fallback_rules(line, rule):
    code = "print 'python 2'\n" + line
    found, source = findings(code)
    assert source == "fallback"
    assert rule in {f.rule for f in fallback_findings(code)}
    assert rule in {f.rule for f in found}


def test_yaml_safe_loader_is_not_flagged():
    assert not fallback_findings("cfg = yaml.load(f, Loader=yaml.SafeLoader)")


def test_infer_category():
    assert infer_category(_item("", "", "security")) == "security"
    assert infer_category(_item("", "", "Which code has fewer SQL injection risks?")) == "security"
    assert infer_category(_item("", "", "Which one runs faster?")) == "efficiency"
    assert infer_category(_item("", "", "Which one has no bugs?")) == "correctness"
    assert infer_category(_item("", "", "Which is nicer to read?")) == "human-preference"
    assert infer_category(_item("", "", "whatever", category="security")) == "security"


def test_default_judge_is_the_evidence_judge():
    assert DEFAULT_JUDGE.startswith("evidence")


def test_hybrid_fallback_decides_only_where_evidence_is_silent(sandbox):
    items = [
        _item(GOOD, WRONG),  # examples decide
        _item(GOOD, GOOD2),  # silent: the fallback decides
        _item(SHELL, SAFE, "security", instruction="Run a command."),  # bandit decides
        _item("def f(): pass", "def f():\n    return 1", "Which is nicer to read?"),  # no evidence applies
    ]
    j = load_judge("evidence+longer", sandbox=sandbox)
    vs = j.judge(items)
    assert [(v.decision, v.signal) for v in vs] == [
        ("A", "examples"),
        ("B", "fallback/length"),
        ("B", "bandit"),
        ("B", "fallback/length"),
    ]
    assert "correctness" in vs[1].details["evidence"]
    assert vs[3].details["evidence"] == {}
    only = load_judge("evidence+none", sandbox=sandbox).judge(items)
    assert [v.decision for v in only] == ["A", "undecided", "B", "undecided"]
    cheap = load_judge("evidence", sandbox=sandbox).judge(items)
    assert cheap[1].signal == "fallback/shorter" and cheap[1].decision == "A"  # independent solutions: shorter


def test_hybrid_with_a_model_judge(sandbox):
    j = load_judge("evidence+random:3", sandbox=sandbox)
    v = j.judge([_item(GOOD, GOOD2)])[0]
    assert v.signal == "fallback/random" and v.decision in ("A", "B")


def test_bad_specs():
    from codefavor.errors import CodefavorError

    for spec in ("evidence+", "evidencex", "evidence+evidence"):
        with pytest.raises(CodefavorError):
            load_judge(spec)


def test_efficiency_signal_can_be_plugged_in(sandbox):
    def fake_timing(items, opts):
        return [Evidence("B", "timing", 0.9, {"why": "faster"}) for _ in items]

    table = {**EVIDENCE, "efficiency": (Source("timing", fake_timing),)}
    v = load_judge("evidence+none", sandbox=sandbox, evidence=table).judge([_item(GOOD, WRONG, "efficiency")])[0]
    assert (v.decision, v.signal, v.details) == ("B", "timing", {"why": "faster"})
    assert EVIDENCE["efficiency"][0].name == "efficiency"  # the shared table is untouched (and immutable)
    with pytest.raises(TypeError):
        EVIDENCE["efficiency"] = ()  # type: ignore[index]


def test_cli_judge(tmp_path):
    from typer.testing import CliRunner

    from codefavor.cli import app

    (tmp_path / "a.py").write_text(GOOD)
    (tmp_path / "b.py").write_text(WRONG)
    (tmp_path / "ins.md").write_text(SORT_INS)
    (tmp_path / "s1.py").write_text(SHELL)
    (tmp_path / "s2.py").write_text(SAFE)
    r = CliRunner().invoke(app, ["judge", "--instruction", str(tmp_path / "ins.md"), "--a", str(tmp_path / "b.py"),
                                 "--b", str(tmp_path / "a.py")])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Candidate B is better" in r.output and "signal: examples" in r.output
    assert "expected [3, 2, 1]" in r.output
    r = CliRunner().invoke(app, ["judge", "--instruction", "Run a shell command.", "--a", str(tmp_path / "s1.py"),
                                 "--b", str(tmp_path / "s2.py"), "--criterion", "security", "--json"])  # fmt: skip
    out = json.loads(r.output)
    assert out["decision"] == "B" and out["signal"] == "bandit" and out["confidence"] > 0.5
    r = CliRunner().invoke(app, ["judge", "--instruction", "x", "--a", str(tmp_path / "a.py"), "--b",
                                 str(tmp_path / "a.py"), "--judge", "evidence+none"])  # fmt: skip
    assert r.exit_code == 3 and "undecided" in r.output


def test_cli_judge_missing_file_is_a_user_error(tmp_path, capsys):
    from codefavor.cli import main

    with pytest.raises(SystemExit) as e:
        main(["judge", "--instruction", "x", "--a", str(tmp_path / "nope.py"), "--b", str(tmp_path / "nope.py")])
    assert e.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_without_a_sandbox_only_static_evidence_remains(capsys):
    class NoSandbox:
        def run_many(self, jobs, limits=None):
            raise SandboxError("no isolation here")

        def run(self, code, checks, limits=None):
            raise SandboxError("no isolation here")

    j = load_judge("evidence+none", sandbox=NoSandbox())
    vs = j.judge([_item(GOOD, WRONG), _item(UNDEF, GOOD)])
    assert [(v.decision, v.signal) for v in vs] == [("undecided", "none"), ("B", "static")]
    # The warning is returned with the evidence, not printed by the judge.
    assert "static only" in vs[0].details["evidence"]["correctness"]["warning"]
    assert "static only" in vs[1].details["warning"]
    assert capsys.readouterr().err == ""


def test_method_entry_points_and_stdin_programs(sandbox):
    two_sum = (
        "class Solution:\n    def twoSum(self, nums, target):\n\nExample 1:\nInput: nums = [2,7,11,15], target = 9\n"
        "Output: [0,1]\n"
    )
    good = (
        "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
        "            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n"
    )
    wrong = "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 0]\n"
    prog_ins = "Read n and then n integers; print their sum.\nSample Input\n3\n1 2 3\nSample Output\n6\n"
    prog_good = "n = int(input())\nprint(sum(map(int, input().split()[:n])))"
    prog_wrong = "n = int(input())\nprint(n)"
    evs = correctness_evidence([(two_sum, wrong, good), (prog_ins, prog_good, prog_wrong)], EvidenceOptions(sandbox))
    assert [(e.decision, e.signal) for e in evs] == [("B", "examples"), ("A", "examples")]
    assert "printed '3" in evs[1].details["b"]["failed"][0]["reason"]


def test_only_model_free_evidence_judges_take_batches_concurrently():
    from codefavor.judges import load_judge

    assert load_judge("evidence").concurrent_batches == 3
    assert load_judge("evidence+none").concurrent_batches == 3
    assert load_judge("evidence+longer").concurrent_batches == 1
    assert load_judge("evidence").batch_size == 64


def test_every_signal_returns_the_same_evidence_record(sandbox):
    from codefavor.evidence.efficiency import EfficiencyConfig, efficiency_evidence
    from codefavor.evidence.security import security_evidence

    dups = "Say whether a list holds a duplicate.\n>>> has_dup([1, 2, 3, 4, 5, 6, 7, 8, 9])\nFalse\n"
    quadratic = "def has_dup(xs):\n    return any(xs[i] == xs[j] for i in range(len(xs)) for j in range(i))\n"
    linear = "def has_dup(xs):\n    return len(set(xs)) != len(xs)\n"
    fast = EfficiencyConfig(targets=(16, 128, 1024, 4096), level_budget=0.02, call_limit=0.5)
    opts = EvidenceOptions(sandbox=sandbox, efficiency_config=fast)
    results = {
        "correctness": correctness_evidence([(SORT_INS, GOOD, WRONG), (SORT_INS, GOOD, GOOD2)], opts),
        "security": security_evidence([("Run a command.", SHELL, SAFE), ("Run a command.", SAFE, SAFE)], opts),
        "efficiency": efficiency_evidence([(dups, quadratic, linear), (dups, linear, "def other(xs): pass")], opts),
    }
    for name, (decided, silent) in results.items():
        for ev in (decided, silent):
            assert type(ev) is Evidence, name
            assert isinstance(ev.signal, str) and ev.signal and 0.5 <= ev.confidence <= 1.0
            json.dumps(ev.details)  # plain JSON, as written into judgments files
        assert decided.decided and decided.decision in ("A", "B"), (name, decided)
        assert silent.decision == "undecided" and not silent.decided and silent.confidence == 0.5, (name, silent)
    assert results["efficiency"][0].decision == "B" and "efficiency" in results["efficiency"][0].details


def test_source_names_in_the_output_are_stable(sandbox):
    """The keys under a silent verdict's details["evidence"] are the table's names, not function names."""
    assert {cat: [s.name for s in sources] for cat, sources in EVIDENCE.items()} == {
        "correctness": ["correctness", "scaling"],
        "security": ["security"],
        "efficiency": ["efficiency"],
        "human-preference": [],
    }
    nothing = "Do it."  # no examples: every signal is silent
    items = [_item(GOOD, GOOD2, instruction=nothing), _item(SAFE, SAFE, "security", instruction=nothing),
             _item(GOOD, GOOD2, "efficiency", instruction=nothing)]  # fmt: skip
    vs = load_judge("evidence+none", sandbox=sandbox).judge(items)
    assert [list(v.details["evidence"]) for v in vs] == [["correctness", "scaling"], ["security"], ["efficiency"]]
    assert vs[0].details["evidence"]["scaling"]["scaling"]["reason"] == "no-entry"
    assert vs[2].details["evidence"]["efficiency"]["efficiency"]["reason"] == "no-entry"


GUESSES = [  # (category, a, b, decision, step): each step of the guess, in both orders below
    ("correctness", "def f(x):\n    return 1 / x\n", "def f(x):\n    if x == 0:\n        return 0\n    return 1 / x\n",
     "B", "adds-only"),  # the fix adds a guard and changes nothing else
    ("correctness", "def f(xs):\n    s = 0\n    m = 0\n    for x in xs:\n        s += x\n        m = max(m, x)\n    n = len(xs)\n    return s / n, m\n",
     "def f(xs):\n    s = 0\n    m = 0\n    for x in xs:\n        s += x\n        m = max(m, x)\n    n = len(xs) or 1\n    return s / n, m\n",
     "B", "edit-longer"),  # most lines shared: a revision; the longer one handles more
    ("correctness", "def f(xs):\n    return sorted(set(xs))\n",
     "def f(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n            out.append(x)\n    out.sort()\n    return out\n",
     "A", "shorter"),  # independent solutions
    ("efficiency", "def f(xs):\n    return [x for x in xs for y in xs if x == y]\n", "def f(xs):\n    return list(xs)\n",
     "B", "loop-depth"),
    ("efficiency", "def f(xs):\n    return sorted(xs)\n", "def f(xs):\n    xs = list(xs)\n    xs.sort()\n    return xs\n",
     "undecided", "none"),
    ("efficiency",  # two platform solutions no measurement compared: the one without the sort
     "class Solution:\n    def h(self, xs):\n        xs.sort()\n        return sum(1 for x in xs if x > 2)\n",
     "class Solution:\n    def h(self, xs):\n        n = 0\n        for x in xs:\n            n += x > 2\n        return n\n",
     "B", "complexity"),  # no structural difference: length says nothing about speed
    ("security", "def f(p):\n    return open(p).read()\n", "def f(p):\n    with open(safe(p)) as fh:\n        return fh.read()\n",
     "B", "longer"),
]  # fmt: skip


@pytest.mark.parametrize("category, a, b, decision, step", GUESSES, ids=[g[4] + "-" + g[0] for g in GUESSES])
def test_the_guess_steps(category, a, b, decision, step):
    from codefavor.judges.evidence import guess

    assert guess(category, a, b) == (decision, step)
    swapped = {"A": "B", "B": "A"}.get(decision, decision)
    assert guess(category, b, a) == (swapped, step)


def _silent(reason: str, ratio: float | None, **more: object) -> dict:
    times = {"time_a": 0.01, "time_b": 0.01 * ratio, "ratio": round(ratio, 4)} if ratio is not None else {}
    return {"efficiency": {"reason": reason, **times, **more}}


@pytest.mark.parametrize(
    "measured, decision",
    [
        (_silent("no-gap", 1.6), "A"),  # B took 1.6x A's minimum time: lean to A
        (_silent("no-gap", 0.5), "B"),
        (_silent("no-gap", 1.02), "undecided"),  # within 5%: no lean, the structural step decides
        (_silent("disagree", 3.0), "undecided"),  # other outputs: nothing to lean on
        (_silent("no-gap", 0.5, dropped={"error": 1}), "undecided"),  # a later level set an input aside
        (None, "undecided"),
    ],
)
def test_the_guess_follows_a_silent_measurements_lean(measured, decision):
    from codefavor.judges.evidence import guess

    same = "def f(xs):\n    return sorted(xs)\n"
    got = guess("efficiency", same, same.replace("xs", "ys"), measured)
    assert got == ((decision, "clock-lean") if decision != "undecided" else ("undecided", "none"))
    assert guess("correctness", same, same, measured)[1] != "clock-lean"  # efficiency only


def test_the_lean_is_the_same_in_both_orders_at_its_threshold():
    from codefavor.judges.evidence import _clock_lean

    flip = {"A": "B", "B": "A", None: None}
    for tb in (0.105, 0.104996, 0.1051, 0.2):
        ab = {"efficiency": {"reason": "no-gap", "time_a": 0.1, "time_b": tb, "ratio": round(tb / 0.1, 4)}}
        ba = {"efficiency": {"reason": "no-gap", "time_a": tb, "time_b": 0.1, "ratio": round(0.1 / tb, 4)}}
        assert _clock_lean(ba) == flip[_clock_lean(ab)]
    assert _clock_lean({"efficiency": {"reason": "no-gap", "time_a": 0.1, "time_b": 0.2}}) == "A"


def test_the_evidence_judge_hands_the_guess_its_silent_measurement(sandbox):
    def leaning(items, opts):
        return [Evidence("undecided", "silent", 0.5, _silent("no-gap", 0.4)) for _ in items]

    table = {**EVIDENCE, "efficiency": (Source("efficiency", leaning),)}
    v = load_judge("evidence", sandbox=sandbox, evidence=table).judge([_item(GOOD, GOOD2, "efficiency")])[0]
    assert (v.decision, v.signal) == ("B", "fallback/clock-lean")


def test_the_report_separates_evidence_from_guesses():
    from codefavor.benchmark.report import rows, summarize
    from codefavor.records import BenchTask, Judgment

    tasks = [BenchTask(task_id=f"t{i}", instruction="i", choices=(f"a{i}", f"b{i}"), gt_choice=0, category="correctness")
             for i in range(4)]  # fmt: skip
    sig = ["examples", "examples", "fallback/shorter", "fallback/none"]
    dec = ["A", "A", "B", "undecided"]
    js = [Judgment(task_id=t.id, order="AB", judge="evidence", decision=d, prob_a=0.5, signal=s)
          for t, s, d in zip(tasks, sig, dec, strict=True)]  # fmt: skip
    c = summarize(tasks, js)["categories"]["correctness"]
    assert c["evidence"] == {"decided": 2, "right": 2} and c["guess"] == {"decided": 1, "right": 0}
    assert c["accuracy"] == 62.5 and c["evidence_only_accuracy"] == 75.0  # the wrong guess costs 12.5 points
    assert rows(summarize(tasks, js))[0][-3:] == ["2 (100%)", "1 (0%)", "75.0"]


def test_a_model_judges_verdicts_are_neither_evidence_nor_guesses():
    """A judge that reads no evidence (a model, a baseline) gets no evidence or guess counts, and no
    "evidence only" accuracy; nor are its judgments "evidence flips" under perturbation."""
    from codefavor.benchmark.report import robustness, rows, summarize
    from codefavor.records import BenchTask, Judgment

    tasks = [BenchTask(task_id=f"t{i}", instruction="i", choices=(f"a{i}", f"b{i}"), gt_choice=0, category="correctness")
             for i in range(2)]  # fmt: skip
    plain = [
        Judgment(task_id=t.id, order="AB", judge="gen:openai:m", decision="A", prob_a=0.9, signal="model")
        for t in tasks
    ]
    edited = [j.model_copy(update={"decision": "B"}) for j in plain]
    c = summarize(tasks, plain)["categories"]["correctness"]
    assert c["evidence"]["decided"] == c["guess"]["decided"] == 0 and c["evidence_only_accuracy"] is None
    assert rows(summarize(tasks, plain))[0][-3:] == ["0", "0", "-"]
    r = robustness(tasks, plain, edited)["correctness"]
    assert (r["flips"], r["evidence_flips"], r["evidence_judgments"]) == (2, 0, 0)


def test_the_guess_is_blind_to_renamed_locals():
    """Every perturbation at once (renamed locals too) leaves each step's verdict where it was, for
    every criterion; a renaming whose names are much longer would otherwise move the size the guess
    compares ("shorter", "longer" here)."""
    from codefavor.judges.evidence import guess
    from codefavor.perturb import KINDS, perturb

    for category, a, b, decision, step in GUESSES:
        for seed in range(5):
            edited = [perturb(c, KINDS, seed * 2 + i) for i, c in enumerate((a, b))]
            assert guess(category, *edited) == (decision, step), (step, category, seed)
    short, long_ = (
        "def f(xs):\n    return sorted(set(xs))\n",
        "def f(xs):\n    o = []\n    for v in xs:\n        o.append(v)\n    return sorted(set(o))\n",
    )
    assert guess("correctness", short, long_) == ("A", "shorter")
    verbose = long_.replace("o", "collected_items").replace("v", "each_element")
    assert guess("correctness", short, verbose) == guess("correctness", short, long_)
    terse = "def f(xs):\n    out = sorted(set(xs))\n    return out\n"
    wordy = terse.replace("out", "the_sorted_distinct_values")
    assert guess("human-preference", terse, long_) == guess("human-preference", wordy, long_) == ("B", "longer")


def test_the_guess_ignores_comments_and_the_order_of_definitions():
    """Misleading comments and reordered definitions change nothing the guess reads."""
    from codefavor.judges.evidence import guess
    from codefavor.perturb import perturb

    a = "def helper(x):\n    return x * 2\n\n\ndef main(items):\n    total = 0\n    for it in items:\n"
    a += "        total += helper(it)\n    return total\n"
    b = a.replace("    return total\n", "    if total < 0:\n        raise ValueError(total)\n    return total\n")
    for cat in ("correctness", "security", "human-preference"):
        want = guess(cat, a, b)
        for seed in range(6):
            edited = [perturb(c, ("comments", "reorder"), seed + i) for i, c in enumerate((a, b))]
            assert guess(cat, *edited) == want, (cat, seed)


def test_execution_traces_show_values_exceptions_and_follow_a_swap(sandbox):
    from codefavor.evidence.correctness import execution_traces

    crash = "def sort_desc(xs):\n    return xs.sorted()"
    t, loads = execution_traces([(SORT_INS, GOOD, crash), ("Sort a list.", GOOD, BROKEN)], sandbox)
    # no example in the instruction: each code loaded as a module
    assert "no example to run" in loads.text() and "Candidate A loads without error (defines sort_desc" in loads.text()
    assert "Candidate B does not load: SyntaxError" in loads.text()
    text = t.text()
    assert "sort_desc([1, 3, 2])" in text and "expected [3, 2, 1]" in text
    assert "Candidate A: returned [3, 2, 1] (pass)" in text
    assert "Candidate B: raised AttributeError" in text
    assert "Candidate A passed 1/1" in text and "Candidate B passed 0/1" in text
    swapped = t.text(swapped=True)
    assert "Candidate B: returned [3, 2, 1] (pass)" in swapped and "Candidate A passed 0/1" in swapped


class _Recorder:
    """A fallback judge that keeps what it was asked."""

    spec = "recorder"
    batch_size = 8

    def __init__(self):
        self.asked = []

    def judge(self, items):
        from codefavor.judges import Verdict

        self.asked += items
        return [Verdict("A", prob_a=0.6, signal="model") for _ in items]


def test_traces_reach_the_fallback_only_where_evidence_is_silent(sandbox):
    from codefavor.judges.evidence import EvidenceJudge

    rec = _Recorder()
    j = EvidenceJudge(rec, "evidence+traces+recorder", EvidenceOptions(sandbox=sandbox), traces=True)
    hp = _item(GOOD, GOOD2, "human-preference", category="human-preference")
    no_examples = _item(GOOD, GOOD2, "human-preference", instruction="Sort descending.", category="human-preference")
    decided = _item(GOOD, WRONG, category="correctness")  # the examples decide: no fallback call
    v_hp, v_none, v_dec = j.judge([hp, no_examples, decided])
    assert v_dec.signal == "examples" and len(rec.asked) == 2
    assert rec.asked[0].trace is not None and "sort_desc([1, 3, 2])" in rec.asked[0].trace.text()
    assert "no example to run" in rec.asked[1].trace.text()
    assert v_hp.details["trace"] is True and v_none.details["trace"] is True
    plain = EvidenceJudge(_Recorder(), "evidence+recorder", EvidenceOptions(sandbox=sandbox))
    plain.judge([hp])
    assert plain.fallback.asked[0].trace is None


def test_traces_spec_and_prompt_section():
    from codefavor.prompts import judge_messages

    j = load_judge("evidence+traces+random:1")
    assert j.traces and j.fallback.spec.startswith("random")
    assert not load_judge("evidence+random:1").traces
    from codefavor.errors import CodefavorError

    with pytest.raises(CodefavorError):
        load_judge("evidence+traces+")
    for kind in ("classification", "generative"):
        bare = judge_messages("Task.", "a()", "b()", "crit", kind)[0]["content"]
        shown = judge_messages("Task.", "a()", "b()", "crit", kind, "Example 1: f(1), expected 2")[0]["content"]
        assert "running the codes" not in bare and "### Criterion" in bare
        assert "Example 1: f(1), expected 2" in shown
        assert (
            shown.index("Example 1") < shown.index("### Criterion")
            and shown.replace(shown[shown.index("### What running") : shown.index("### Criterion")], "") == bare
        )


def test_a_benchmark_run_shares_measurements_and_leaves_the_loaded_judge_alone():
    from codefavor.evidence.efficiency import Measurements
    from codefavor.judges.evidence import sharing_measurements

    judge = load_judge("evidence")
    shared = sharing_measurements(judge)
    assert isinstance(shared.options.measurements, Measurements)
    assert judge.options.measurements is None  # a served judge never shares one across requests
    assert shared.spec == judge.spec and shared.fallback is judge.fallback
    assert sharing_measurements(judge).options.measurements is not shared.options.measurements
    other = load_judge("longer")
    assert sharing_measurements(other) is other


FIB_INS = '```python\ndef fib(n: int):\n    """Return the n-th Fibonacci number.\n    >>> fib(10)\n    55\n    >>> fib(1)\n    1\n    """\n```'
FIB_LOOP = "def fib(n: int):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
FIB_TREE = "def fib(n: int):\n    if n <= 1:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
FIB_FAST = "def fib(n: int):\n    a, b = 0, 1\n    for _ in range(n):\n        b, a = a + b, b\n    return a\n"


def test_a_candidate_that_never_finishes_a_grown_input_is_wrong_in_both_orders(sandbox):
    # Both pass the examples; at n = 64 the doubly recursive one runs out of time.
    j = load_judge("evidence+none", sandbox=sandbox)
    vs = j.judge([_item(FIB_LOOP, FIB_TREE, instruction=FIB_INS), _item(FIB_TREE, FIB_LOOP, instruction=FIB_INS)])
    assert [(v.decision, v.signal) for v in vs] == [("A", "scaled-timeout"), ("B", "scaled-timeout")]
    assert vs[0].details["scaling"]["reason"] == "timeout"
    # Two that both finish decide nothing, whichever is faster: speed is no sign of being right.
    v = j.judge([_item(FIB_LOOP, FIB_FAST, instruction=FIB_INS)])[0]
    assert (v.decision, v.signal) == ("undecided", "none")
    assert v.details["evidence"]["scaling"]["scaling"]["reason"] != "timeout"


COUNT_INS = '```python\ndef count(xs):\n    """How many items xs holds.\n    >>> count([4, 5, 6])\n    3\n    """\n```'
COUNT_GOOD = "def count(xs):\n    return len(xs)\n"
COUNT_TABLE = (
    "def count(xs):\n    return [0, 1, 2, 3, 4, 5, 6, 7][len(xs)]\n"  # an index past its table on longer lists
)
COUNT_REFUSES = "def count(xs):\n    if len(xs) > 8:\n        raise ValueError('too long')\n    return len(xs)\n"


def test_a_candidate_that_crashes_on_grown_inputs_is_wrong_unless_it_refuses_them(sandbox):
    j = load_judge("evidence+none", sandbox=sandbox)
    vs = j.judge(
        [_item(COUNT_GOOD, COUNT_TABLE, instruction=COUNT_INS), _item(COUNT_TABLE, COUNT_GOOD, instruction=COUNT_INS)]
    )
    assert [(v.decision, v.signal) for v in vs] == [("A", "scaled-crash"), ("B", "scaled-crash")]
    assert vs[0].details["scaling"]["failed"] == {"B": ["IndexError"]}
    # A deliberate ValueError is a refusal of an input the instruction may not allow: no verdict.
    v = j.judge([_item(COUNT_GOOD, COUNT_REFUSES, instruction=COUNT_INS)])[0]
    assert (v.decision, v.signal) == ("undecided", "none")
