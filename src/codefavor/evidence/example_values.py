"""Plain values in examples: the literals an example's arguments and expected values may be written
as (`ast.literal_eval`'s, plus true/false/null spellings, inf/nan, `float('inf')`, `math.inf` and
builtin constructors over literals), the functions an example expression calls, and Python source
for a value that evaluates back to it (non-finite floats included). Anything that is not a plain
value raises or reads as not found: examples are never guessed."""

from __future__ import annotations

import ast
import builtins
import math

_SAFE_CTORS = {
    "set": set, "frozenset": frozenset, "tuple": tuple, "list": list, "dict": dict, "float": float, "int": int,
    "str": str, "complex": complex, "sorted": sorted,  # not bytes: bytes(10**10) would allocate
}  # fmt: skip
BUILTIN_NAMES = set(dir(builtins))


_NAMED = {"true": True, "false": False, "null": None, "none": None, "inf": math.inf, "infinity": math.inf,
          "nan": math.nan}  # fmt: skip


def plain_value(node: ast.AST, depth: int = 0) -> object:
    """A plain value from an expression of literals (as `ast.literal_eval`), also inside containers:
    true/false/null spellings, inf/nan, `float('inf')`, `math.inf` and builtin constructors over
    literals (`set([1, 2])`). Raises ValueError for anything else."""
    if depth > 60:
        raise ValueError("too deep")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [plain_value(e, depth + 1) for e in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("a ** in a dict")
        return {
            plain_value(k, depth + 1): plain_value(v, depth + 1) for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = plain_value(node.operand, depth + 1)
        if type(v) in (int, float, complex):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):  # complex literals: 1+2j
        left, right = plain_value(node.left, depth + 1), plain_value(node.right, depth + 1)
        if type(left) in (int, float) and type(right) is complex:
            return left + right if isinstance(node.op, ast.Add) else left - right
    if isinstance(node, ast.Name) and node.id.lower() in _NAMED:
        return _NAMED[node.id.lower()]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "math":
        if node.attr in ("inf", "nan"):
            return getattr(math, node.attr)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SAFE_CTORS:
        if not node.keywords and len(node.args) <= 1:
            return _SAFE_CTORS[node.func.id](*[plain_value(a, depth + 1) for a in node.args])
    raise ValueError("not a plain literal")


def literal(text: str) -> tuple[bool, object]:
    """A plain value from text (see `plain_value`), or (False, None)."""
    t = text.strip().rstrip(".,;")
    if not t:
        return False, None
    node = parse_expr(t)
    if node is not None:
        try:
            return True, plain_value(node)
        except (ValueError, TypeError, MemoryError, RecursionError, OverflowError):
            pass
    return False, None


def quote_bare_words(call: ast.expr, bound: frozenset[str] | set[str] = frozenset()) -> ast.expr:
    """`is_happy(abcd)` in prose means the string 'abcd': bare names as direct arguments of the
    example's call (never Python builtins or constants, nor the names in `bound`: what an earlier
    doctest statement assigned) become string literals."""
    if not isinstance(call, ast.Call):
        return call
    keep = BUILTIN_NAMES | set(bound)
    args = [ast.Constant(a.id) if isinstance(a, ast.Name) and a.id not in keep else a for a in call.args]
    return ast.Call(func=call.func, args=args, keywords=call.keywords)


def called_names(node: ast.AST) -> list[str]:
    return [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


def subject_of(node: ast.AST) -> str:
    """The function an example is about: the first one it calls that is not a builtin wrapped around
    it (`set(f(x))` is an example of `f`); the first call when every one is a builtin."""
    names = called_names(node)
    return next((n for n in names if n not in BUILTIN_NAMES), names[0])


def parse_expr(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def py_source(v: object) -> str:
    """Python source for a plain value (repr, except that non-finite floats stay evaluable)."""
    if type(v) is float and not math.isfinite(v):
        return f"float({repr(v)!r})"
    if type(v) in (list, tuple, set, frozenset):
        items = [py_source(x) for x in v]
        if type(v) is list:
            return "[" + ", ".join(items) + "]"
        if type(v) is tuple:
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return (f"{type(v).__name__}([" + ", ".join(items) + "])") if items else f"{type(v).__name__}()"
    if type(v) is dict:
        return "{" + ", ".join(f"{py_source(k)}: {py_source(x)}" for k, x in v.items()) + "}"
    return repr(v)
