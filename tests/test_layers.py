"""The layer order of the package, read from the code's own imports (every one, function-level included).

Lower layers never import higher ones, and two groups of one layer do not import each other, except
for the edges allowed below with their reasons. A new top-level module must be placed in a layer.
Modules that run outside the package (shipped to the sandbox as a script or as compiled code)
import nothing of it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "codefavor"

# Lowest first. A group is a top-level module or package of codefavor.
LAYERS: list[set[str]] = [
    {"errors", "__version__"},  # `__version__`: the constant in codefavor/__init__.py, defined before anything
    {"records", "run_folder", "codetools", "perturb", "testing", "engines"},
    {"prompts"},
    {"evidence"},
    {"models"},
    {"backends"},
    {"judges"},
    {"__init__"},  # the package root: lazy re-exports of load_judge and load_backend
    {"training", "generators", "benchmark", "rank", "verify", "labelstudio"},
    {"recipe"},  # chains the layer below into one loop
    {"server_admission"},  # the server's ASGI admission and error shape: below the app it guards
    {"server"},
    {"cli"},
    {"__main__"},  # `python -m codefavor`
]

# Sideways edges inside one layer, each with its reason (module -> module, exact).
ALLOWED: dict[tuple[str, str], str] = {
    ("generators.decontam", "benchmark.data"): (
        "decontamination must find CodePrefBench exactly as `bench` does (--data, $CODEFAVOR_DATA, cache)"
    ),
    ("labelstudio", "benchmark.stats"): "annotator agreement uses the benchmark's Fleiss/Krippendorff statistics",
    ("labelstudio", "benchmark.anchors"): "the human-study figures a Label Studio summary is shown beside",
    ("perturb", "codetools"): "one way to parse candidate code (parse_quietly, PARSE_ERRORS), not a second copy",
}

# Run by a bare interpreter (`python -I`) or exec'd inside the sandbox child: stdlib only. The input
# growth (scaling, and its siblings preconditions and stated_facts) runs in the parent, but stays pure
# so that the same seed gives the same inputs wherever it runs.
SELF_CONTAINED = {
    "evidence.sandbox.server",
    "evidence.sandbox.codec",
    "evidence.sandbox.child",
    "evidence.sandbox.contain",
    "evidence.scaling",
    "evidence.preconditions",
    "evidence.stated_facts",
    "evidence.calls",  # compiled and exec'd in the candidate's namespace (examples.calls_code)
    "evidence.timing_harness",
}


def sibling_self_contained(mod: str, target: str) -> bool:
    """The fork server's own modules, loaded together from its directory (see sandbox/server.py)."""
    return target in SELF_CONTAINED and mod.rsplit(".", 1)[0] == target.rsplit(".", 1)[0]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)  # "" never: the root's own file is "__init__"


def imports_of(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module inside codefavor) for every import in a file, at any depth, relative ones resolved;
    `importlib.import_module("codefavor.x")` and `__import__("codefavor.x")` with a literal count too."""
    mod = module_name(path, root)
    package = mod.split(".") if path.name == "__init__.py" and mod != "__init__" else mod.split(".")[:-1]
    found: list[tuple[int, str]] = []

    def is_module(dotted: str) -> bool:
        rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
        return (root / rel).is_dir() or (root / rel).with_suffix(".py").is_file()

    def add(line: int, dotted: str, names: list[str] | None = None) -> None:
        if not (dotted == "codefavor" or dotted.startswith("codefavor.")):
            return
        # `from X import n`: the edge goes to X.n when that is a module, else to X itself.
        targets = [f"{dotted}.{n}" if is_module(f"{dotted}.{n}") else dotted for n in names or []] or [dotted]
        for t in targets:
            if t == "codefavor":  # a name of the root: only `__version__` is defined there eagerly
                t = "codefavor.__version__" if "__version__" in (names or []) else "codefavor.__init__"
            found.append((line, t.removeprefix("codefavor.")))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(node.lineno, a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                dotted = ".".join(["codefavor", *base, *([node.module] if node.module else [])])
                if not base and not node.module:
                    dotted = "codefavor"
            else:
                dotted = node.module or ""
            add(node.lineno, dotted, [a.name for a in node.names])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                add(node.lineno, node.args[0].value)
    return found


def layer_of(group: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if group in layer), None)


def violations(root: Path = SRC) -> list[str]:
    """Every import that breaks the layer order, as `file:line: a -> b (why)`."""
    out = []
    for path in sorted(root.rglob("*.py")):
        mod = module_name(path, root)
        group = mod.split(".")[0]
        here = layer_of(group)
        where = f"{path.relative_to(root)}"
        if here is None:
            out.append(f"{where}: module group {group!r} is in no layer (add it to LAYERS)")
            continue
        for line, target in imports_of(path, root):
            if mod in SELF_CONTAINED:
                if not sibling_self_contained(mod, target):
                    out.append(f"{where}:{line}: {mod} -> {target} (runs outside the package; stdlib only)")
                continue
            tgroup = target.split(".")[0]
            there = layer_of(tgroup)
            if tgroup == group or (mod, target) in ALLOWED:
                continue
            if there is None:
                out.append(f"{where}:{line}: {mod} -> {target} (unknown module)")
            elif there > here:
                out.append(f"{where}:{line}: {mod} -> {target} (upward: layer {here} imports layer {there})")
            elif there == here:
                out.append(f"{where}:{line}: {mod} -> {target} (sideways within layer {here}; allow it with a reason)")
    return out


def test_the_package_keeps_its_layer_order():
    assert violations() == []


def test_every_allowed_edge_still_exists():
    """An allowance nobody needs any more is removed, so the list stays the list of real exceptions."""
    edges = {(module_name(p, SRC), t) for p in SRC.rglob("*.py") for _, t in imports_of(p, SRC)}
    assert set(ALLOWED) <= edges


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "codefavor"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a function-level upward import from the bottom layer
        ({"records.py": "def f():\n    from codefavor.judges import load_judge\n", "judges/__init__.py": ""},
         "records.py:2: records -> judges (upward"),
        # a relative import resolved to its module
        ({"backends/__init__.py": "", "backends/x.py": "from ..server import app\n", "server.py": ""},
         "backends/x.py:1: backends.x -> server (upward"),
        # sideways between two groups of one layer, not allowed
        ({"rank.py": "import codefavor.verify\n", "verify.py": ""}, "rank.py:1: rank -> verify (sideways"),
        # a string import
        ({"prompts/__init__.py": "import importlib\nimportlib.import_module('codefavor.cli')\n", "cli/__init__.py": ""},
         "prompts/__init__.py:2: prompts -> cli (upward"),
        # a sandbox-shipped module importing the package
        ({"evidence/__init__.py": "", "evidence/scaling.py": "from codefavor.errors import CodefavorError\n"},
         "evidence/scaling.py:1: evidence.scaling -> errors (runs outside"),
        # a module nobody placed
        ({"newthing.py": ""}, "newthing.py: module group 'newthing' is in no layer"),
    ],
)  # fmt: skip
def test_the_check_catches_bad_imports(tmp_path, files, expected):
    found = violations(_tree(tmp_path, files))
    assert any(v.startswith(expected) for v in found), found


def test_downward_and_allowed_imports_pass(tmp_path):
    root = _tree(tmp_path, {
        "judges/__init__.py": "from codefavor.backends import load_backend\nfrom codefavor import __version__\n",
        "backends/__init__.py": "from . import fake\n", "backends/fake.py": "from codefavor.errors import E\n",
        "errors.py": "", "generators/__init__.py": "", "benchmark/__init__.py": "", "benchmark/data.py": "",
        "generators/decontam.py": "def f():\n    from codefavor.benchmark.data import load_tasks\n",
    })  # fmt: skip
    assert violations(root) == []
