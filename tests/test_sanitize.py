"""The sanitizer on a table of realistic LLM answers (hand-written): what is kept, what is dropped, why
an answer is rejected."""

from __future__ import annotations

import ast

import pytest

from codefavor.generators.sanitize import sanitize

F = "```"

# (name, answer, must contain, must not contain, rejection reason prefix or None)
CASES = [
    (
        "prose around one fence",
        f"Sure! Here is the function:\n\n{F}python\ndef add(a, b):\n    return a + b\n{F}\n\nIt adds two numbers.",
        ["def add(a, b):", "return a + b"],
        ["Sure", "It adds"],
        None,
    ),
    (
        "main block, prints and asserts dropped",
        f"{F}python\nimport math\n\ndef area(r):\n    return math.pi * r ** 2\n\nprint(area(2))\n"
        f"assert area(1) > 3\n\nif __name__ == '__main__':\n    print(area(3))\n{F}",
        ["import math", "def area(r):"],
        ["print", "assert", "__main__"],
        None,
    ),
    (
        "example calls and their variables dropped, needed constant kept",
        f"{F}python\nMOD = 10 ** 9 + 7\n\ndef power(a, n):\n    return pow(a, n, MOD)\n\n"
        f"result = power(2, 10)\nprint(result)\npower(3, 4)\n{F}",
        ["MOD = 10 ** 9 + 7", "def power(a, n):"],
        ["result", "print", "power(3, 4)"],
        None,
    ),
    (
        "several fences: helper pulled in, usage block ignored",
        f"First a helper:\n{F}python\ndef double(x):\n    return x * 2\n{F}\nThen the solution:\n"
        f"{F}python\ndef double_all(xs):\n    return [double(x) for x in xs]\n{F}\nUsage:\n"
        f"{F}python\nprint(double_all([1, 2]))\n{F}\nOutput:\n{F}\n[2, 4]\n{F}",
        ["def double(x):", "def double_all(xs):"],
        ["print", "[2, 4]"],
        None,
    ),
    (
        "class plus helper functions, unittest scaffolding dropped",
        f"{F}python\nimport unittest\nfrom collections import deque\n\nclass Queue:\n    def __init__(self):\n"
        f"        self._items = deque()\n\n    def push(self, x):\n        self._items.append(x)\n\n"
        f"    def pop(self):\n        return _pop_left(self._items)\n\ndef _pop_left(d):\n    return d.popleft()\n\n"
        f"class TestQueue(unittest.TestCase):\n    def test_fifo(self):\n        q = Queue()\n        q.push(1)\n"
        f"        self.assertEqual(q.pop(), 1)\n\nif __name__ == '__main__':\n    unittest.main()\n{F}",
        ["from collections import deque", "class Queue:", "def _pop_left(d):"],
        ["unittest", "TestQueue", "__main__"],
        None,
    ),
    (
        "pytest functions dropped",
        f"{F}py\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n\ndef test_clamp():\n"
        f"    assert clamp(5, 0, 3) == 3\n{F}",
        ["def clamp"],
        ["test_clamp", "assert"],
        None,
    ),
    (
        "decorators and comments inside definitions kept",
        f"{F}python\nfrom functools import lru_cache\n\n@lru_cache(maxsize=None)\ndef fib(n):\n"
        f"    # memoised recursion\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint(fib(10))\n{F}",
        ["@lru_cache(maxsize=None)", "# memoised recursion", "from functools import lru_cache"],
        ["print"],
        None,
    ),
    (
        "main() only called from the guard is demo code",
        f"{F}python\ndef greet(name):\n    return f'Hello, {{name}}!'\n\ndef main():\n    print(greet('Ada'))\n\n"
        f"if __name__ == '__main__':\n    main()\n{F}",
        ["def greet(name):"],
        ["def main", "__main__"],
        None,
    ),
    (
        "no fence: code between prose lines",
        "Here is one way to do it:\ndef is_even(n):\n    return n % 2 == 0\nThis returns True for even numbers.",
        ["def is_even(n):", "return n % 2 == 0"],
        ["Here is", "This returns"],
        None,
    ),
    (
        "no fence: the whole answer is code",
        "import re\n\ndef words(s):\n    return re.findall(r'\\w+', s)\n",
        ["import re", "def words(s):"],
        [],
        None,
    ),
    (
        "the final block wins over an earlier sketch by defining more",
        f"A sketch:\n{F}python\ndef total(xs):\n    pass\n{F}\nThe full version:\n{F}python\nfrom typing import List\n\n"
        f"def total(xs: List[int]) -> int:\n    return _sum(xs)\n\ndef _sum(xs):\n    return sum(xs)\n{F}",
        ["from typing import List", "def _sum(xs):", "return _sum(xs)"],
        ["pass"],
        None,
    ),
    (
        "indented fence (inside a markdown list) is dedented",
        f"1. Define it:\n\n   {F}python\n   def neg(x):\n       return -x\n   {F}\n",
        ["def neg(x):"],
        [],
        None,
    ),
    (
        "a script with no definitions is kept whole",
        f"{F}python\nimport sys\n\ntotal = sum(int(line) for line in sys.stdin)\nprint(total)\n{F}",
        ["import sys", "print(total)"],
        [],
        None,
    ),
    (
        "optional import guarded by try is kept when used",
        f"{F}python\ntry:\n    import ujson as json\nexcept ImportError:\n    import json\n\n"
        f"def dump(obj):\n    return json.dumps(obj)\n\nprint(dump({{}}))\n{F}",
        ["import ujson as json", "def dump(obj):"],
        ["print"],
        None,
    ),
    (
        "module set-up calls kept, test runners and demo calls dropped",
        f"{F}python\nimport sys\nimport doctest\n\nsys.setrecursionlimit(10000)\n\ndef depth(n):\n"
        f"    return 0 if n == 0 else 1 + depth(n - 1)\n\nsys.stdout.write(str(depth(3)))\ndoctest.testmod()\n{F}",
        ["import sys", "sys.setrecursionlimit(10000)", "def depth(n):"],
        ["doctest", "stdout"],
        None,
    ),
    (
        "module state used through `global` is kept",
        f"{F}python\ncalls = 0\n\ndef tick():\n    global calls\n    calls += 1\n    return calls\n\ntick()\n{F}",
        ["calls = 0", "def tick():"],
        ["\ntick()"],
        None,
    ),
    (
        "unused module constants kept, demo data dropped",
        f"{F}python\nSESSION_KEY = 'k'\nTIMEOUT: float = 2.5\n\ndef area(w, h):\n    return w * h\n\n"
        f"width = 3\nheight = 4\nprint(area(width, height))\nbox = area(1, 2)\n{F}",
        ["SESSION_KEY = 'k'", "TIMEOUT: float = 2.5", "def area(w, h):"],
        ["width", "height", "box", "print"],
        None,
    ),
    (
        "reasoning block ignored",
        f"<think>Maybe:\n{F}python\ndef wrong(x):\n    return x + x + x + x + x + x + x\n{F}\n</think>\n"
        f"Final answer:\n{F}python\ndef triple(x):\n    return 3 * x\n{F}",
        ["def triple(x):"],
        ["wrong"],
        None,
    ),
    ("only thinking, no answer", f"<think>I should write\n{F}python\ndef f():\n    return 1\n{F}", [], [], "no code"),
    ("no code at all", "I'm sorry, I can't help with that request.", [], [], "no code"),
    ("a single word parses but is not code", "Sure", [], [], "no code"),
    ("empty answer", "   \n", [], [], "no code"),
    ("only a bash block", f"Run this:\n{F}bash\npip install requests\n{F}", [], [], "no code"),
    ("unparseable code", f"{F}python\ndef broken(x:\n    return x\n{F}", [], [], "unparseable"),
    (
        "truncated answer: unclosed fence cut mid-function",
        f"{F}python\ndef longest(words):\n    best = ''\n    for w in words:\n        if len(w) >",
        [],
        [],
        "unparseable",
    ),
    (
        "only test scaffolding",
        f"{F}python\nassert add(1, 2) == 3\nassert add(0, 0) == 0\n{F}",
        [],
        [],
        "empty after sanitizing",
    ),
    ("only imports", f"{F}python\nimport os\nimport sys\n{F}", [], [], "empty after sanitizing"),
]


@pytest.mark.parametrize("name,answer,present,absent,reason", CASES, ids=[c[0] for c in CASES])
def test_sanitize_table(name, answer, present, absent, reason):
    out = sanitize(answer)
    if reason is not None:
        assert out.code is None and not out.ok
        assert out.reason is not None and out.reason.startswith(reason), out.reason
        return
    assert out.ok, out.reason
    assert out.code is not None
    ast.parse(out.code)  # the result always parses
    for s in present:
        assert s in out.code, (s, out.code)
    for s in absent:
        assert s not in out.code, (s, out.code)


def test_entry_point_picks_its_block():
    answer = f"{F}python\ndef helper_a(x):\n    return x\n\ndef helper_b(x):\n    return x\n{F}\n{F}python\ndef solve(x):\n    return x + 1\n{F}"
    assert "def helper_a" in (sanitize(answer).code or "")
    picked = sanitize(answer, entry_point="solve").code or ""
    assert "def solve" in picked and "helper_a" not in picked


def test_dropped_labels_say_what_went():
    out = sanitize(f"{F}python\nimport os\n\ndef f():\n    return 1\n\nprint(f())\nassert f() == 1\n{F}")
    assert set(out.dropped) == {"unused-import", "print", "assert"}


@pytest.mark.parametrize("junk", ["", "```", "```python\n```", "\x00\x01", "def", "'''", "```python\n" + "(" * 500])
def test_never_raises(junk):
    assert sanitize(junk).code is None
