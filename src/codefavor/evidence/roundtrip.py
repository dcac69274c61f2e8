"""Round trips for correctness: where the asked-for function undoes another (decode after encode,
deserialize after serialize), `inverse(forward(x)) == x` is an answer known for every input.

Examples check one input each; an inverse that is wrong on other lengths (a cyclic decoder that
mishandles a short last group) passes them, or there are none ("takes a string encoded with
encode_cyclic; returns the decoded string"). The round trip needs no expected value, so it can be
checked on many generated inputs.

`roundtrip_checks` finds the pair by name: the entry point and a function whose name is the
entry's with the opposite verb (encode/decode, encrypt/decrypt, serialize/deserialize,
compress/decompress, pack/unpack, escape/unescape, quote/unquote, encipher/decipher, dumps/loads,
`a_to_b`/`b_to_a`), at top level or as two methods of one class (a `Codec`: one instance does both;
a design statement that names no entry point makes such a pair of the candidates' class the subject).
The forward function is the instruction's own where the instruction implements it (a reference the
candidates cannot change), else the candidate's. Inputs are generated from the forward function's
first parameter as annotated (`str`, `List[str]`, `List[int]`, `int`; a parameter named `s`,
`text`, ... reads as `str`): lowercase words of every small length, the domain every such statement
allows (shifting letters by five is undone only on letters). A candidate is marked where its round
trip fails (a wrong value or an exception) and the other's holds; `roundtrip_verdict` decides only
when every mark falls on one side.
"""

from __future__ import annotations

import ast
import random
import re
import string
from collections.abc import Sequence
from typing import Any, Literal

from codefavor.codetools import PARSE_ERRORS, extract_code_blocks
from codefavor.evidence.examples import Extraction
from codefavor.evidence.sandbox import Check, CheckResult
from codefavor.evidence.variants import marked_side

VERBS = (
    ("encode", "decode"), ("encrypt", "decrypt"), ("serialize", "deserialize"), ("compress", "decompress"),
    ("pack", "unpack"), ("escape", "unescape"), ("quote", "unquote"), ("encipher", "decipher"), ("dumps", "loads"),
)  # fmt: skip
_TEXT_NAMES = {"s", "text", "string", "word", "message", "msg", "txt", "plaintext", "data", "url", "longurl"}
N_INPUTS = 16
# What the round trip compares: equal, or as close as float arithmetic allows (`(f - 32) / 1.8`).
_SAME = "__import__('math').isclose(r, x, rel_tol=1e-9, abs_tol=1e-9) if isinstance(r, float) else r == x"


def _verb(verb: str) -> str:
    """A verb as a word of a name (`decode_cyclic`, `Decode`; not `decoder`, not `undecode`)."""
    return rf"(?<![a-z]){verb}(?![a-z])"


def inverse_name(name: str, names: Sequence[str]) -> str | None:
    """The name among `names` of the function that `name` undoes: the same name with the opposite verb
    (`decode_cyclic` -> `encode_cyclic`, `deserialize` -> `serialize`), or `b_to_a` for `a_to_b`."""
    for fwd, inv in VERBS:
        for a, b in ((inv, fwd), (fwd, inv)):
            m = re.fullmatch(rf"(.*?){_verb(a)}(.*)", name, re.I)
            if m:
                other = m.group(1) + (b.capitalize() if m.group(0)[len(m.group(1))].isupper() else b) + m.group(2)
                if other in names and other != name:
                    return other
    parts = name.split("_to_")
    if len(parts) == 2 and all(parts):
        other = f"{parts[1]}_to_{parts[0]}"
        if other in names and other != name:
            return other
    return None


def _defs(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _implemented(fn: ast.FunctionDef) -> bool:
    """Whether a definition has a body beyond its docstring, `pass` and `...`."""
    body = (
        fn.body[1:]
        if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant)
        else fn.body
    )
    return any(not isinstance(s, ast.Pass) and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in body)  # fmt: skip


def _instruction_defs(instruction: str) -> tuple[dict[str, ast.FunctionDef], dict[str, str]]:
    """The instruction's top-level functions (every Python block), and the source of those it implements."""
    defs: dict[str, ast.FunctionDef] = {}
    sources: dict[str, str] = {}
    for lang, block in extract_code_blocks(instruction) or [("python", instruction)]:
        if lang not in ("", "python", "py", "python3"):
            continue
        try:
            tree = ast.parse(block)
        except PARSE_ERRORS:
            continue
        # The block as it stands, less the functions it leaves open: the reference keeps its imports,
        # helpers and constants.
        stubs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and not _implemented(n)]
        module = ast.unparse(ast.Module([n for n in tree.body if n not in stubs], []))
        for name, fn in _defs(tree).items():
            defs[name] = fn
            if _implemented(fn):
                sources[name] = module
    return defs, sources


def _kind(fn: ast.FunctionDef, skip_self: bool) -> str | None:
    """What the forward function's first argument is: "str", "strs", "ints", "int" (None: unknown)."""
    args = fn.args.posonlyargs + fn.args.args
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    if skip_self and not static:
        args = args[1:]
    if not args:
        return None
    a = args[0]
    ann = ast.unparse(a.annotation).replace(" ", "").lower() if a.annotation is not None else ""
    if ann in ("str", "typing.str"):
        return "str"
    if re.fullmatch(r"(typing\.)?list\[str\]", ann):
        return "strs"
    if re.fullmatch(r"(typing\.)?list\[int\]", ann):
        return "ints"
    if ann == "int":
        return "int"
    if not ann and a.arg.lower() in _TEXT_NAMES:
        return "str"
    return None


def _inputs(kind: str, seed: str) -> list[Any]:
    rng = random.Random(seed)

    def word(n: int) -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))

    # Never empty, never large: statements often promise at least one element, and bound numbers
    # (`1 <= num <= 3999`) that a correct loop may take long beyond.
    if kind == "str":
        return [word(n) for n in range(1, N_INPUTS + 1)]
    if kind == "strs":
        return [[word(rng.randrange(1, 6)) for _ in range(1 + n % 4)] for n in range(N_INPUTS)]
    if kind == "ints":
        return [[rng.randrange(0, 100) for _ in range(n)] for n in range(1, N_INPUTS + 1)]
    return [rng.randrange(1, 1000) for _ in range(N_INPUTS)]


def _classes(tree: ast.Module) -> dict[str, dict[str, ast.FunctionDef]]:
    """The methods of every top-level class of a module, by class name."""
    return {
        node.name: {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def _is_inverse(name: str) -> bool:
    return any(re.search(_verb(inv), name, re.I) for _, inv in VERBS)


def _pair(
    instruction: str, ex: Extraction, codes: Sequence[str]
) -> tuple[str, str, str | None, str, str | None] | None:
    """(inverse, forward, the forward's source when the instruction implements it, the input kind,
    the class both are methods of or None), or None when the entry undoes nothing. Without an entry
    (a design statement: "implement a Codec"), a class of the candidates with an inverse pair of
    methods is the subject."""
    defs, sources = _instruction_defs(instruction)
    entry = ex.entry
    if entry is None:
        open_defs = [n for n, f in defs.items() if not _implemented(f)]
        entry = open_defs[-1] if open_defs else None
    try:
        trees = [ast.parse(code) for code in codes]
    except PARSE_ERRORS:
        return None
    if not trees:
        return None
    # Only what every candidate defines: a helper one of them happens to write is no part of the task
    # (so the first candidate's definitions are the ones to read).
    each = [_classes(t) for t in trees]
    owners = [ex.owner] if ex.owner else [] if entry else list(each[0])
    for owner in owners:
        if not all(owner in c for c in each):
            continue
        methods = each[0][owner]
        for inv in [entry] if entry else [m for m in methods if _is_inverse(m)]:
            fwd = inverse_name(inv, list(methods))
            if fwd and not all({inv, fwd} <= c[owner].keys() for c in each):
                continue
            kind = _kind(methods[fwd], skip_self=True) if fwd else None
            if fwd and kind:
                return inv, fwd, None, kind, owner
    if not entry or ex.owner:
        return None
    tops = [_defs(t) for t in trees]
    fwd = inverse_name(entry, list(defs) + [n for top in tops for n in top])
    if not fwd:
        return None
    if fwd not in sources and not all(fwd in top for top in tops):
        return None  # neither the statement's reference nor a function every candidate writes
    fn = defs.get(fwd) or tops[0][fwd]
    kind = _kind(fn, skip_self=False)
    return (entry, fwd, sources.get(fwd), kind, None) if kind else None


def roundtrip_checks(instruction: str, ex: Extraction, codes: Sequence[str]) -> list[Check]:
    """Checks `inverse(forward(x)) == x` on generated inputs, the same for every candidate (empty when
    the instruction asks for no inverse of another function); each evaluates to True when it holds."""
    found = _pair(instruction, ex, codes)
    if found is None:
        return []
    inv, fwd, source, kind, owner = found
    out = []
    for x in _inputs(kind, f"{inv}:{fwd}"):
        if owner:
            back = f"(lambda c: c.{inv}(c.{fwd}({x!r})))({owner}())"
        elif source:  # the instruction's forward function, loaded beside the candidate's namespace
            back = (f"globals()[{inv!r}]((lambda ns: (exec({source!r}, ns), ns)[1])(dict(globals()))"
                    f"[{fwd!r}]({x!r}))")  # fmt: skip
        else:
            back = f"{inv}({fwd}({x!r}))"
        call = f"(lambda r, x: {_SAME})({back}, {x!r})"
        out.append(Check(call, expected=True, kind="value", name=f"{inv}({fwd}({x!r})) == {x!r}"[:160]))
    return out


def roundtrip_verdict(
    checks: Sequence[Check], ra: Sequence[CheckResult], rb: Sequence[CheckResult]
) -> tuple[Literal["A", "B"] | None, dict[str, Any]]:
    """Which candidate's round trips fail where the other's hold (the other is the decision), and why."""
    details: dict[str, Any] = {"checks": len(checks), "a": [], "b": []}
    for check, x, y in zip(checks, ra, rb, strict=False):
        for side, mine, other in (("a", x, y), ("b", y, x)):
            # a killed run's results (missing, timeout) say nothing about the round trip
            if other.passed and mine.status in ("fail", "raised"):
                details[side].append(f"{check.name}: {mine.error or mine.status}"[:200])
    return marked_side(details), details
