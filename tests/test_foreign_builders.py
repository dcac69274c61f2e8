"""The foreign-data builders (benchmarks/foreign) on a tiny git history written here by hand.

They turn real fix commits into benchmark rows: these tests check what makes a row (a fix of a
function whose fixed docstring's doctests pass and the buggy one's fail, in the sandbox), what
does not (comment- or docstring-only edits, test files, methods, commits too broad), that the
rows carry their provenance, and that a rebuild writes the same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FOREIGN = Path(__file__).resolve().parents[1] / "benchmarks" / "foreign"
sys.path.insert(0, str(FOREIGN))

import build_algorithms  # noqa: E402
from common import Git, changed_functions, write_set  # noqa: E402

from codefavor.codetools import strip_comments  # noqa: E402

MATHS_BUGGY = '''"""Small maths."""

import math

LIMIT = 10


def clamp(x):
    """Clamp x to [0, LIMIT].

    >>> clamp(12)
    10
    >>> clamp(-3)
    0
    """
    return min(x, LIMIT)


def area(r):
    """Area of a circle.

    >>> round(area(1), 2)
    3.14
    """
    return math.pi * r * r


class Shape:
    def size(self):
        return 1
'''


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {"maths.py": MATHS_BUGGY, "tests/test_maths.py": "def test():\n    assert 1\n"}, "add maths")
    # A real fix: the fixed docstring's doctests fail on the buggy body (clamp(-3) gives -3).
    fixed = MATHS_BUGGY.replace("    return min(x, LIMIT)", "    return max(0, min(x, LIMIT))")
    _commit(repo, {"maths.py": fixed}, "Fix clamp below zero")
    # Comment and docstring edits only: no row, even with a "fix" subject.
    doc_only = fixed.replace('"""Area of a circle.', '"""Area of a circle (radius r).').replace(
        "    return math.pi * r * r", "    return math.pi * r * r  # pi r squared"
    )
    _commit(repo, {"maths.py": doc_only}, "fix docs of area")
    # A fix of a method and of a test file: left out.
    method = doc_only.replace("        return 1", "        return 2")
    _commit(repo, {"maths.py": method, "tests/test_maths.py": "def test():\n    assert 2\n"}, "fix: Shape size")
    # Not a fix by its subject: not read at all.
    _commit(repo, {"maths.py": method.replace("math.pi * r * r", "math.pi * r**2")}, "refactor area")
    return repo


def test_changed_functions_ignores_what_the_key_calls_no_change(history: Path):
    git = Git(history)
    shas = git.log("--format=%H", "--reverse").split()
    assert [c.qual for c in changed_functions(git, shas[1], build_algorithms._TESTISH, strip_comments)] == ["clamp"]
    # The docstring and comment edit counts as a change under a verbatim key, not under the builders' keys.
    assert [c.qual for c in changed_functions(git, shas[2], build_algorithms._TESTISH, str)] == ["area"]
    assert list(changed_functions(git, shas[2], build_algorithms._TESTISH, strip_comments)) == []
    assert list(changed_functions(git, shas[2], build_algorithms._TESTISH, build_algorithms._body_key)) == []
    changed = list(changed_functions(git, shas[3], build_algorithms._TESTISH, build_algorithms._body_key))
    assert [(c.path, c.qual) for c in changed] == [("maths.py", "Shape.size")]  # the test file is skipped
    assert "return 1" in changed[0].before and "return 2" in changed[0].after


def test_standalone_keeps_what_the_function_needs():
    code = build_algorithms.standalone(MATHS_BUGGY, "clamp")
    assert code is not None
    assert "import math" in code and "LIMIT = 10" in code and "def clamp" in code
    assert "def area" not in code and "class Shape" not in code
    assert build_algorithms.standalone(MATHS_BUGGY, "missing") is None


def test_build_keeps_the_validated_fix_only(history: Path):
    tasks, meta = build_algorithms.build(Git(history), max_funcs=3, check=True)
    assert [t.task_id.split(":")[-1] for t in tasks] == ["clamp"]
    task = tasks[0]
    chosen = task.choices[task.gt_choice]
    assert "max(0, min(x, LIMIT))" in chosen and "LIMIT = 10" in chosen
    assert "def clamp(x):" in task.instruction and ">>> clamp(-3)" in task.instruction
    assert task.category == "correctness"
    info = task.annotations[0]
    assert info["license"] == "MIT" and info["function"] == "clamp" and info["validated"].startswith("sandbox")
    stats = meta["stats"]
    assert stats["commits"] == 3  # the three "fix" subjects
    assert stats["methods_left_out"] == 1 and stats["commits_no_code_change_in_a_function"] == 1


def test_a_buggy_version_that_passes_is_dropped(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _commit(repo, {"m.py": 'def f(x):\n    """\n    >>> f(2)\n    4\n    """\n    return x * 2\n'}, "add")
    _commit(repo, {"m.py": 'def f(x):\n    """\n    >>> f(2)\n    4\n    """\n    return x + x\n'}, "fix f")
    tasks, meta = build_algorithms.build(Git(repo), check=True)
    assert tasks == [] and meta["stats"]["buggy_passes_the_doctests"] == 1


def test_a_commit_too_broad_is_left_out(history: Path):
    tasks, meta = build_algorithms.build(Git(history), max_funcs=0, check=False)
    assert tasks == [] and meta["stats"]["commits_too_broad"] >= 1


def test_write_set_is_deterministic(history: Path, tmp_path: Path):
    tasks, meta = build_algorithms.build(Git(history), check=False)
    write_set(tmp_path / "a", "algorithms-fixes", tasks, meta)
    write_set(tmp_path / "b", "algorithms-fixes", list(reversed(tasks)), meta)
    for split in ("dev", "test"):
        a = (tmp_path / "a" / "algorithms-fixes" / f"{split}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / "algorithms-fixes" / f"{split}.jsonl").read_bytes()
    written = json.loads((tmp_path / "a" / "algorithms-fixes" / "meta.json").read_text())
    assert written["total"] == len(tasks) and written["license"] == "MIT"
