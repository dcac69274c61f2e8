"""Turn the examples written in an instruction into sandbox checks.

Recognised, inside markdown fences or in plain text: doctest blocks (`>>> f(x)` then the expected
output, or a traceback naming the exception), `assert` lines (`assert f(x) == y`,
`assert math.isclose(f(x), y)`, `assert f(x)`, `assert not f(x)`), bare `f(x) == y` and `f(x) = y`,
arrows (`f(x) -> y`, `=>`, `➞`, `returns`, `should return`), comments (`f(x)  # -> y`,
`print(f(x))  # y`), "For x = ..., the output should be y", and "Input: ... / Output: ..." blocks
(arguments of the entry point, named or not; with no function in the instruction, the input is a
program's stdin and the output what it must print). An example may sit inside prose; bare words as
arguments are strings (`is_happy(abcd)`). Expected values must be plain literals
(`ast.literal_eval`, builtin constructors over literals, `float('inf')`); anything else is kept as
a skipped example with its reason, never guessed. The forms are read by `evidence.example_forms`,
the values by `evidence.example_values`; this module is the one public API over them: what the
checks call, through which calling convention, and what a candidate loads in the sandbox.

The entry point, for every signal that needs one (correctness, efficiency, `verify`, Critic-Evol's
execution check), is decided here and only here (`entry_point`): the last function the
instruction's code defines (helpers come first; a method of `class Solution` is called as
`Solution().name(...)`), else the function its examples call most (builtins such as `set` or `bool`
wrapped around a call never count). An example naming another function while the instruction
defines exactly one is renamed to it where no example calls the entry itself (instructions get
names wrong); beside examples of the entry, an example of a function the instruction does not
define is skipped (a candidate's helper is no answer). `Extraction.calls` holds the
literal arguments of every example call of the entry point, which efficiency grows into bigger inputs.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import marshal
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codefavor.evidence import calls as calls_mod
from codefavor.evidence import constraints
from codefavor.evidence.example_forms import (
    NAMED_COLON,
    NAMED_INPUT,
    TABLE,
    Collector,
    design_input,
    doctests,
    instruction_defs,
    io_block,
    owner_class,
    spanning_example,
    wrapped_example,
)
from codefavor.evidence.example_values import BUILTIN_NAMES, literal, parse_expr, plain_value, py_source
from codefavor.evidence.sandbox import Check
from codefavor.evidence.scaling import Call

CALLS = "__codefavor_calls__"  # the call module's name in a candidate's namespace (`sandbox_code`)


@dataclass
class Extraction:
    """What an instruction's examples give: the entry point, the checks, and what could not be used."""

    entry: str | None
    checks: list[Check] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (example text, why it was not used)
    arity: int | None = None  # positional parameters of the entry point, when the instruction defines it
    owner: str | None = None  # the class the entry point is a method of, when it is one
    calls: list[Call] = field(default_factory=list)  # literal example calls of the entry point, in order
    platform: bool = False  # written as programming sites write statements: their conventions apply
    spec: dict[str, object] = field(default_factory=dict)  # how `calls` are made (`calls.prepare`), args aside

    def as_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry if self.entry or not self.spec else "(the code's own)",
            "checks": [c.name for c in self.checks],
            "skipped": [{"example": t[:200], "reason": r} for t, r in self.skipped],
        }


# a statement that speaks of writing output (a doctest's prose lines may then be what is written)
_WRITES = re.compile(
    r"\b(?:print|display|stdout|console|echo|log(?:s|ged|ging)?\b|shows?\b)|\bwrites?\s+(?:to|out)\b"
    r"|\boutputs?\s+(?:to|each|one|a|the|it)\b",
    re.I,
)
_ANY_ORDER = re.compile(r"\b(?:in|with)\s+any\s+order\b|\bany\s+order\s+is\s+(?:fine|accepted|acceptable)\b", re.I)
_IN_PLACE = re.compile(r"\bin[- ]place\b|\bdo\s+not\s+return\s+anything\b", re.I)
_LAZY = re.compile(r"\bgenerators?\b|\byields?\b|\biterators?\b", re.I)
_TOLERANCE = re.compile(r"within\s+10\s*\^?\s*-\s*(\d)\b", re.I)
_MANY_ANSWERS = re.compile(
    r"\b(?:multiple|several|many|more than one)\s+(?:valid\s+|possible\s+|correct\s+)?(?:answers?|solutions?|results?|outputs?)"
    r"[^.\n]{0,40}\b(?:any|either)\b|\breturn\s+any\s+(?:one\s+)?(?:of\s+them|valid|such)\b"
    r"|\b(?:may|can)\s+return\s+any\b"  # "You may return any answer"
    r"|\bany\s+of\s+them\s+(?:is|are|will\s+be|would\s+be)\s+(?:considered\s+)?(?:correct|accepted|valid)\b"
    r"|\b(?:is|are|would|will)\s+also\s+(?:be\s+)?(?:a\s+|an\s+)?(?:valid|correct|accepted|acceptable)\b"
    # random answers (not random inputs: "the numbers are randomly ordered" is a promise about the input)
    r"|\breturns?\s+a\s+random\b|\brandom(?:ly)?\s+(?:picks?|chooses?|selects?|returns?|generates?|shuffles?)\b"
    r"|\b(?:equally\s+likely|(?:same|equal)\s+probability|uniform(?:ly)?\s+(?:at\s+)?random)\b|\bgetRandom\b",
    re.I,
)
# "Find any matrix that ...", "return any array containing ...", "find and return any number from ...";
# not where it is negated ("if you didn't find any vowel", "and not return any value")
_RETURN_ANY = re.compile(r"\b(?:return|find)\s+(?:and\s+return\s+)?any\s+(?!order\b)", re.I)
_NEGATED = re.compile(r"(?:\bnot|cannot|n't|\bnever|\bno)\s*$", re.I)


def many_answers(instruction: str) -> bool:
    """Whether the statement accepts other answers than its examples' (any of several, a random one)."""
    if _MANY_ANSWERS.search(instruction):
        return True
    return any(
        not _NEGATED.search(instruction[max(0, m.start() - 12) : m.start()]) for m in _RETURN_ANY.finditer(instruction)
    )


_ALL = re.compile(r"\b(?:return|find|list|output|collect)\b[^.\n]{0,60}?\ball\b", re.I)
_ORDERED = re.compile(r"\b(?:order|sorted|sort|ascending|descending|lexicographic\w*|increasing|decreasing)\b", re.I)


def _spec_check(
    spec: dict[str, object],
    expected: object,
    name: str,
    rel_tol: float,
    raises: str | None = None,
    raises_message: str | None = None,
) -> Check:
    """A check that makes its call through the call module (`calls.run`) in the candidate's namespace."""
    call = f"{CALLS}.run(globals(), {py_source(spec)})"
    if raises:
        return Check(call, raises=raises, name=name[:160], raises_message=raises_message)
    order = int(spec.get("order") or 0)  # type: ignore[call-overload]
    return Check(call, expected=calls_mod.canonical(expected, order), name=name[:160], rel_tol=rel_tol)


def spec_of(check: Check) -> dict[str, object] | None:
    """The call spec of a check made through the call module, else None."""
    prefix = f"{CALLS}.run(globals(), "
    if not check.call.startswith(prefix):
        return None
    ok, val = literal(check.call[len(prefix) : -1])
    return val if ok and isinstance(val, dict) else None  # type: ignore[return-value]


def call_text(check: Check) -> str:
    """What a check calls, as a person would write it (`Solution().twoSum([2, 7], 9)`)."""
    spec = spec_of(check)
    if spec is None:
        return check.call
    if spec.get("ops"):
        return f"{spec['ops'][0]}: {', '.join(spec['ops'][1:])}"  # type: ignore[index]
    head = spec.get("entry") or "<entry>"
    if spec.get("owner"):
        head = f"{spec['owner']}().{head}"
    values = list(spec.get("args") or [])  # type: ignore[call-overload]
    names = list(spec.get("names") or []) + [""] * len(values)  # type: ignore[call-overload]
    args = [f"{n} = {py_source(a)}" if n else py_source(a) for a, n in zip(values, names, strict=False)]
    args += [f"{k}={py_source(v)}" for k, v in spec.get("kwargs") or []]  # type: ignore[union-attr]
    return f"{head}({', '.join(args)})"


def _want(expected: object) -> str:
    return "list" if type(expected) is list else "" if expected is None else "scalar"


def _to_spec(c: Check, entry: str, owner: str | None, flags: dict[str, object]) -> Check:
    """A check of a plain literal call of the entry point, made through the call module instead (one
    calling convention); anything else stays as written."""
    kind = c.resolved_kind()
    if kind not in ("value", "raises"):
        return c
    node = parse_expr(c.call)
    if not isinstance(node, ast.Call) or not _calls_entry(node, entry, owner):
        return c
    if owner and not (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
                      and isinstance(node.func.value.func, ast.Name) and node.func.value.func.id == owner
                      and not node.func.value.args):  # fmt: skip
        return c
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return c
    try:
        args = [plain_value(a) for a in node.args]
        kwargs = [[k.arg, plain_value(k.value)] for k in node.keywords]
    except (ValueError, TypeError, MemoryError, RecursionError, OverflowError):
        return c
    expected = c.expected if kind == "value" else None
    spec = {"entry": entry, "owner": owner, "args": args, "kwargs": kwargs, **flags, "want": _want(expected)}
    if kind == "value" and type(expected) is not list:
        spec["order"] = 0
    return _spec_check(spec, expected, c.name or c.call, c.rel_tol, raises=c.raises, raises_message=c.raises_message)


def extract_checks(instruction: str, max_checks: int = 24, functions: bool = False) -> Extraction:
    """The checks an instruction's examples give, with the entry point and the skipped examples.
    `functions`: the candidates are functions or a `class Solution`, not programs, so an unnamed
    `Input: "abc"` is a call's argument, not a program's stdin."""
    defs = instruction_defs(instruction)
    defined = [n for n, _ in defs]
    owner = owner_class(instruction, defined[-1]) if defined else None
    col = Collector(defined, prints=bool(_WRITES.search(instruction)))
    lines = instruction.splitlines()
    used = doctests(lines, col)
    programs: list[Check] = []
    k = 0
    while k < len(lines):
        if k in used:
            k += 1
            continue
        block = io_block(lines, k)
        if block:
            inp, out_lines, k = block
            design = design_input(inp)
            if not design and all(NAMED_COLON.match(x) for x in inp.split("\n")):
                inp = "\n".join(NAMED_COLON.sub(r"\1 = ", x, count=1) for x in inp.split("\n"))  # `grid : [[0, 1]]`
            if "\n" in inp and not design and all(NAMED_INPUT.match(x) for x in inp.split("\n")):
                inp = ", ".join(x.rstrip(",") for x in inp.split("\n"))  # one named input per line
            named = bool(NAMED_INPUT.match(inp))
            if (defined or named or design) and len(out_lines) > 1 and literal(out_lines[0])[0]:
                # A function's output is one value: what follows it is the instruction's next line
                # (another example, prose), not more output.
                k -= len(out_lines) - 1
                out_lines = out_lines[:1]
            out = "\n".join(out_lines)
            label = f"Input: {inp} / Output: {out}"
            if TABLE.search(inp) or TABLE.search(out):
                col.skipped.append((label, "a table, not values"))
            elif design:
                col.design(label, *design, out)
            elif (defined or named or functions) and "\n" not in inp:
                col.for_output(label, inp, out)
            elif defined or named or functions:
                col.skipped.append((label, "a multi-line input for a function"))
            else:  # a program: the input is its stdin, the output what it must print
                programs.append(Check(stdin=inp + "\n", expected_stdout=out, name=label[:160]))
            continue
        if not col.line(lines[k]):
            k += spanning_example(lines, k, used, col) or wrapped_example(lines, k, used, col)
        k += 1
    # The platform's conventions (JSON-like output, implicit imports) when the statement is written
    # the way programming sites write theirs; its calls in prose are explanations, not examples.
    statement = any(st.names and all(st.names) or st.ops for st in col.specs)
    platform = statement or functions or bool(re.search(r"^\s*class\s+Solution\b", instruction, re.M))
    written = instruction_defs(instruction, prose=False)  # a signature in prose is no `def`
    if statement and not written and col.raw:
        col.skipped += [(c.name, "a call in the explanation of a statement's example") for _, c in col.raw]
        col.raw = []
    # Inputs whose answer is not the only one: no check, but efficiency may still time them (`calls`).
    timing_only = []
    # A yes/no answer is the only one, whatever the statement says of finding "any" substring first;
    # so is a probability or another real number (the balls "shuffled uniformly at random").
    kinds = {type(st.expected) for st in col.specs} | {
        type(c.expected)
        if c.resolved_kind() == "value"
        else bool
        if (c.expected_repr or "").strip() in ("True", "False")
        else str
        for _, c in col.raw
        if c.resolved_kind() in ("value", "repr")
    }
    if many_answers(instruction) and kinds not in ({bool}, {float}):
        timing_only = [st for st in col.specs if not st.ops]
        col.skipped += [(st.text, "the statement accepts other answers than the example's") for st in col.specs]
        col.skipped += [(c.name, "the statement accepts other answers than the example's") for _, c in col.raw
                        if c.resolved_kind() in ("value", "repr")]  # fmt: skip
        col.specs = []
        col.raw = [(n, c) for n, c in col.raw if c.resolved_kind() not in ("value", "repr")]
    entry = entry_point(defined, [name for name, _ in col.raw])
    arity = dict(defs).get(entry) if entry else None
    tol = _TOLERANCE.search(instruction)
    rel_tol = 10.0 ** -int(tol.group(1)) if tol else 1e-6
    flags: dict[str, object] = {
        "json": platform,
        "in_place": bool(_IN_PLACE.search(instruction)),
        "lazy": bool(_LAZY.search(instruction)),
        "order": 0,
    }
    any_order = bool(_ANY_ORDER.search(instruction)) or bool(
        _ALL.search(instruction) and not _ORDERED.search(_ANY_ORDER.sub("", instruction))
    )
    made: dict[int, Check] = {}  # id of the check or statement example it came from -> the check
    # Examples under another name are the entry's only where none calls the entry itself and it is
    # the one function defined (`list_sort(...)` for `sorted_list_sum`); beside calls of the entry,
    # another name is another function (`f(3) == 6; g(2) == 5`).
    misnamed = bool(entry) and len(set(defined)) == 1 and all(name != entry for name, _ in col.raw)
    for name, c in col.raw:
        source = id(c)
        call = c.call
        target = name
        if (
            name != entry
            and name not in defined
            and name not in BUILTIN_NAMES
            and defined
            and not _binds(instruction, name)
        ):
            if not misnamed:  # a helper the instruction never defines: whether a candidate wrote one is no answer
                col.skipped.append((c.name, "a call of a function the instruction does not define"))
                continue
            target = entry  # a misnamed example (never a builtin wrapped around the call: list(gen(x)))
        if target != name or (owner and target == entry):
            new = f"{owner}().{target}(" if owner and target == entry else f"{target}("
            call = re.sub(rf"(?<![\w.]){re.escape(name)}\(", new, call, count=1)
            c = dataclasses.replace(c, call=call)
        if entry:
            order = _order(c.expected) if any_order and c.resolved_kind() == "value" else 0
            c = _to_spec(c, entry, owner, {**flags, "order": order})
        made[source] = c
    for st in col.specs:
        order = _order(st.expected) if any_order else 0
        if st.ops:
            spec: dict[str, object] = {"ops": st.ops, "args": st.args, "json": platform}
        else:
            spec = {"entry": entry, "owner": owner, "args": st.args, "names": st.names, **flags,
                    "order": order, "want": _want(st.expected)}  # fmt: skip
        made[id(st)] = _spec_check(spec, st.expected, st.text, rel_tol if platform else 1e-6)
    for c in col.setups:
        made[id(c)] = c
    checks: list[Check] = []
    # A repeated call is checked once, unless a doctest statement between the two rebinds what it
    # reads (`>>> xs = [1]`, `>>> f(xs)`, `>>> xs = [2]`, `>>> f(xs)`): the key counts the statements.
    seen: set[tuple[int, str]] = set()
    steps = 0
    for x in col.sequence:
        c = made.get(id(x))
        if c is None or (steps, c.call) in seen:
            continue
        if c.resolved_kind() == "stmt":
            steps += 1
        seen.add((steps, c.call))
        checks.append(c)
    while checks and checks[-1].resolved_kind() == "stmt":
        checks.pop()  # a statement no check follows only binds names nothing reads
    if checks and programs:  # "Input: arr: a list" beside function examples describes parameters
        col.skipped += [(c.name, "an input/output description beside function examples") for c in programs]
        programs = []
    checks += programs
    if len(checks) > max_checks:
        col.skipped += [(c.name, f"more than {max_checks} checks") for c in checks[max_checks:]]
        checks = checks[:max_checks]
    spec_calls = [s for s in (spec_of(c) for c in checks) if s is not None and not s.get("ops")]
    calls = _entry_calls(checks, entry, owner) if entry or spec_calls else []
    if not calls and timing_only:  # the statement's inputs still time the code; its outputs may differ
        spec_calls = [{"entry": entry, "owner": owner, "args": st.args, "names": st.names, **flags,
                       "order": _order(st.expected) if any_order else 0, "want": _want(st.expected)}
                      for st in timing_only]  # fmt: skip
        calls = _dedup([Call(tuple(sc["args"] or ()), ()) for sc in spec_calls])  # type: ignore[arg-type]
    template = {k: v for k, v in (spec_calls[0] if spec_calls else {}).items() if k not in ("args", "kwargs")}
    return Extraction(entry=entry, checks=checks, skipped=col.skipped, arity=arity, owner=owner, calls=calls,
                      platform=platform, spec=template)  # fmt: skip


def _dedup(calls: list[Call]) -> list[Call]:
    return [c for n, c in enumerate(calls) if c not in calls[:n]]


def _binds(instruction: str, name: str) -> bool:
    """Whether the instruction itself binds `name` (`from collections import Counter`, `poly = ...`):
    then a call of it is no helper a candidate must write."""
    n = re.escape(name)
    return re.search(rf"\bimport\b[^\n]*\b{n}\b|^\s*(?:>>>\s*)?{n}\s*=", instruction, re.M) is not None


def _order(expected: object) -> int:
    """How much of an expected list is in an order the answer need not keep: the outer list (1), and
    the inner lists too when the example shows every one of them sorted (2)."""
    if type(expected) is not list:
        return 0
    inner = [x for x in expected if type(x) is list]
    if inner and len(inner) == len(expected):
        try:
            if all(x == sorted(x) for x in inner):
                return 2
        except TypeError:
            pass
    return 1


def entry_point(defined: list[str], called: list[str]) -> str | None:
    """The one entry-point rule: the last function the instruction defines, else the one its examples
    call most (`called`: the function each example is about; ties go to the first called)."""
    if defined:
        return defined[-1]
    counts = Counter(called)
    return counts.most_common(1)[0][0] if counts else None


def _calls_entry(node: ast.Call, entry: str, owner: str | None) -> bool:
    if owner:  # `Solution().twoSum(...)`
        return isinstance(node.func, ast.Attribute) and node.func.attr == entry
    return isinstance(node.func, ast.Name) and node.func.id == entry


def _entry_calls(checks: list[Check], entry: str | None, owner: str | None) -> list[Call]:
    """The literal arguments of each call of the entry point inside the checks, deduplicated."""
    out: list[Call] = []
    for c in checks:
        spec = spec_of(c)
        if spec is not None:
            if not spec.get("ops"):
                call = Call(tuple(spec.get("args") or ()), tuple(tuple(kv) for kv in spec.get("kwargs") or ()))  # type: ignore[union-attr]
                if call not in out:
                    out.append(call)
            continue
        if entry is None:
            continue
        try:
            tree = ast.parse(c.call, mode="eval") if c.call else None
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        for node in ast.walk(tree) if tree else ():
            if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
                continue
            if not _calls_entry(node, entry, owner):
                continue
            try:
                args = tuple(plain_value(a) for a in node.args)
                kwargs = tuple((k.arg, plain_value(k.value)) for k in node.keywords if k.arg)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, OverflowError):
                continue
            call = Call(args, kwargs)
            if len(kwargs) == len(node.keywords) and call not in out:
                out.append(call)
    return out


@functools.cache
def calls_code() -> bytes:
    """The call module compiled once, for candidates' namespaces to load without compiling it."""
    src = Path(calls_mod.__file__).read_text(encoding="utf-8")
    return marshal.dumps(compile(src, "<codefavor-calls>", "exec"))


_SOLUTION = re.compile(r"^class\s+Solution\b", re.M)


def solution_class(code: str) -> bool:
    """Whether the code is written as programming sites take an answer: a top-level `class Solution`."""
    return bool(_SOLUTION.search(code))


def platform_code(code: str, ex: Extraction) -> bool:
    """Whether a candidate gets the platform's implicit names: the statement is written as
    programming sites write theirs, or the code is a `class Solution` as they take it."""
    return ex.platform or solution_class(code)


def sandbox_code(code: str, ex: Extraction) -> str:
    """The code to load in the sandbox for these checks: the candidate itself, or, when a check calls
    through the call module or the platform's implicit names apply, the call module installed under
    `CALLS` (and those names), then the candidate run in the same namespace as `<candidate>`."""
    platform = platform_code(code, ex)
    if not platform and not any(c.call.startswith(CALLS) for c in ex.checks):
        return code
    return (
        f"{CALLS} = __import__('types').ModuleType('codefavor_calls')\n"
        f"exec(__import__('marshal').loads({calls_code()!r}), {CALLS}.__dict__)\n"
        f"{CALLS}.install(globals(), platform={platform})\n"
        f"exec(compile({code!r}, '<candidate>', 'exec'), globals())\n"
    )


def timing_plan(instruction: str, codes: Sequence[str] = ()) -> tuple[dict[str, object], list[Call], str]:
    """What efficiency times, by the one calling convention: the call spec (`calls.prepare`'s, its
    "args"/"kwargs" left for each grown input), the instruction's literal example calls to grow, and
    "" (or why there is nothing to time: "no-entry", "no-examples", "design"). `codes` are the
    candidates: a `class Solution` among them makes unnamed `Input:` lines calls, as in correctness.
    A harness loads `calls` in the child, `calls.install(ns, spec["json"])` before running a
    candidate, and per input `calls.prepare(ns, {**spec, "args": list(args), "kwargs": list(kwargs)})`,
    timing only `fn(*args, **kwargs)` and comparing `finish(result)`. The statement's Constraints
    section, when it says something about the arguments, is in spec["constraints"] (`constraints.read`,
    by argument position): the grown inputs keep it (`scaling.level_calls`); the child never needs it."""
    ex = extract_checks(instruction, functions=any(solution_class(c) for c in codes))
    if any((spec_of(c) or {}).get("ops") for c in ex.checks) and not ex.calls:
        return {}, [], "design"
    spec = dict(ex.spec) or {"entry": ex.entry, "owner": ex.owner, "json": ex.platform}
    if spec.get("entry") is None and not ex.spec and not ex.calls:
        return spec, [], "no-entry"
    facts = constraints.read(instruction, list(spec.get("names") or ())) if ex.calls else {}  # type: ignore[call-overload]
    if facts:
        spec["constraints"] = facts
    return spec, ex.calls, "" if ex.calls else "no-examples"
