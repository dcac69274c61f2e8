"""Differential security marks: what one candidate adds or removes against the other.

A fix is usually a small edit of the vulnerable code, and what it adds (a check that raises, an
escaping call, a containment check on a path, a parameterised query, a timeout) or removes (`eval`,
`mark_safe`, `shell=True`, SQL spliced into quotes) names the side that is hardened even where no
single-snippet rule fires on either one (an authorisation check, an escape, a length limit is not
a weakness of the side without it; only the pair shows it is missing there). Each rule of
`HARDENING` (the table and the names it reads live in `security_vocab`; the switches, modes and
renewals are read in `security_switches`) counts one kind of mark in
a candidate's AST; a rule whose counts differ between the two votes, once, for the side with more
of a hardening mark or fewer of a weakening one, and the net vote decides (`compare_marks`). Equal votes, no differing rule, or code that does not parse: no
decision. Every rule has the same one vote: the table names what is read, not how much it counts.

This is a guess about the change, not a finding: the judge's fallback uses it (signal
`fallback/hardening`) after the static evidence (`security`) is silent. The vocabulary is written
from the weakness families (CWE-20 validation, -22/-59 paths and links, -78/-89/-94 injection, -79
escaping, -93/-113 CR/LF injection, -208 timing, -209 errors echoed to the client, -285 authorisation,
-338 randomness, -352 request methods, -384/-613 sessions renewed, -400 limits, -502 parsers and
pickled data, -532 secrets logged, -601 redirects and the credentials they carry, -611 XML entities,
-693 headers, -307/-770 rate limits, -913 private names, -918 fetched addresses, -1336 sandboxed
templates, -117 log messages), not fitted to
one data set; `benchmarks/security_diff_eval.py` prints each rule's fired/right counts per set.
Pure functions of source text (Python 2 spellings read through `codetools.py2_as_py3`).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable

from codefavor.codetools import parse_leniently
from codefavor.evidence.security_switches import deleted, options, permission_mode, renewals, tls_switches
from codefavor.evidence.security_vocab import (
    ADDRESS_CHECKS,
    ALLOW_NAMES,
    AUTH_ATTRS,
    AUTH_CLASSES,
    AUTH_RX,
    CALLS,
    CHECK_PAIRS,
    CHECK_WORDS,
    CMD_NAMES,
    COMPRESSED_FILES,
    CONTAINMENT_RX,
    CONTROL_CHARS,
    DECOMPRESSORS,
    DEFUSED,
    DESERIALISERS,
    ECHO_SINKS,
    ENTITY,
    ESCAPING_RX,
    EXEMPT_RX,
    FAILURES,
    HARDENING,
    HEADER,
    HTML,
    INTERNAL_URLS,
    LIMIT_NAMES,
    LIST_KW,
    LOG_LEVELS,
    MARKUP,
    NOT_CHECKS,
    OWNER_KW,
    PICKLERS,
    PLACEHOLDER,
    PRESENCE,
    QUERY_CALLS,
    RATE_RX,
    REQUESTER,
    RUN_NAMES,
    SECRET_NAMES,
    SPECIAL,
    SQL_EXEC_NAMES,
    SQL_QUOTED,
    SQL_TEXT,
    STRONG_RANDOM,
    UNESCAPED,
    VALIDATOR_MODULES,
    WRITE_METHODS,
)

# Not a `HARDENING` rule: the queries that take one non-constant text, read only to say whether the
# side with fewer parameterised queries builds any query from text at all (`compare_marks`).
OPEN_QUERY = "open-query"
_PARAM_KW = {"params", "parameters", "args", "vars", "bind", "binds", "bindparams", "values"}


def _last(func: ast.AST) -> str:
    if isinstance(func, ast.Subscript) and isinstance(func.slice, ast.Constant) and isinstance(func.slice.value, str):
        # a callable looked up by name in a table (`__salt__['cmd.run'](...)`): named by its key
        return func.slice.value.rsplit(".", 1)[-1]
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _owner(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return _last(func.value)
    return ""


def _parse(code: str) -> ast.Module | None:
    parsed = parse_leniently(code)
    return parsed[0] if parsed else None


def _words(name: str) -> set[str]:
    """`_join_and_check_path` -> {join, and, check, path}; `isValidUser` -> {is, valid, user}."""
    return set(re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().split("_")) - {""}


def _formatted(node: ast.AST) -> bool:
    """A string built from data: %, + with a string part, an f-string with fields, or .format(...)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return any(isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(node)) and any(
            isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) for n in ast.walk(node)
        )
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant) and bool(node.args or node.keywords))  # fmt: skip


def _html_text(node: ast.AST) -> bool:
    """Its own string parts read as markup (`<img src=`, `</b>`) or URL parameters (`&mode=`); a
    chain of `+` is read once, at its outermost node (`marks` skips the inner ones)."""
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
    elif isinstance(node, ast.Call):  # '...'.format(...)
        parts = [node.func.value.value]  # type: ignore[attr-defined]
    else:
        parts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return any(HTML.search(p) for p in parts if isinstance(p, str))


def _command(value: ast.AST, out: Counter[str]) -> None:
    if isinstance(value, (ast.List, ast.Tuple)) and value.elts:
        out["argv-command"] += 1
    elif _formatted(value):
        out["string-command"] += 1


def _scope_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of one scope (a module or a function), not those of the functions inside it."""
    out, todo = [], list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        out.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return out


def _commands_by_use(tree: ast.AST, out: Counter[str]) -> None:
    """A command bound to a name and then run in the same scope (`line = 'ping ' + host;
    os.system(line)`), read by its use, whatever the name: a renamed local stays a command (a name
    like `cmd` is read where it is bound already, so those are left to that). SQL bound and then
    executed is `sql-built`'s, not a command."""
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    for scope in scopes:
        nodes = _scope_nodes(scope)
        bound: dict[str, list[ast.AST]] = {}
        for node in nodes:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if not SQL_TEXT.search(ast.unparse(node.value)):
                    bound.setdefault(node.targets[0].id, []).append(node.value)
        for node in nodes:
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name)):
                continue
            name = node.args[0].id
            if name in bound and not CMD_NAMES.search(name) and RUN_NAMES.search(_last(node.func)):
                for value in bound.pop(name):  # each binding once, however often it runs
                    _command(value, out)


def _private_refusal(node: ast.If | ast.Assert, out: Counter[str]) -> None:
    """A name that starts with `_` refused before it is looked up (`if name.startswith('_'): raise`,
    then `getattr(obj, name)`): no private attribute or dunder reached from data (CWE-913). Only a
    statement's test counts: `[n for n in dir(o) if not n.startswith('_')]` lists, it refuses nothing."""
    for sub in ast.walk(node.test):
        if isinstance(sub, ast.Call) and _last(sub.func) == "startswith" and sub.args:
            if _const_str(sub.args[0]) in ("_", "__"):
                out["validation"] += 1


def _unbounded_cache(node: ast.Call) -> bool:
    """`lru_cache(None)` / `lru_cache(maxsize=None)`: every distinct argument kept for the process's life."""
    size = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "maxsize"), None)
    return isinstance(size, ast.Constant) and size.value is None


def _call(node: ast.Call, out: Counter[str]) -> None:
    name, owner = _last(node.func), _owner(node.func)
    named = False  # read by a rule of CALLS already: `is_safe_url` is a URL's check, not a second one
    for rule, rx in CALLS:
        if rx.search(name):
            out[rule] += 1
            named = True
    words = _words(name)
    if name not in NOT_CHECKS and (
        words & CHECK_WORDS or owner in VALIDATOR_MODULES or (not named and any(p <= words for p in CHECK_PAIRS))
    ):
        out["validation"] += 1
    renewals(node, name, owner, out)
    if name in ("BytesIO", "StringIO") and node.args and isinstance(node.args[0], ast.Call):
        inner = node.args[0]  # `read()` with no size: all of it, however large the upload
        whole = _last(inner.func) == "read" and not inner.args and not inner.keywords
        # a program's own standard input is its caller's, not a peer's upload
        out["unbounded-read"] += whole and not ast.unparse(inner.func).endswith(("stdin.read", "stdin.buffer.read"))
    # a compressed payload inflated whole: a few kilobytes can grow to gigabytes (CWE-409); the
    # fix reads it through a decompressor with a bound (`decompressobj().decompress(d, max_length)`)
    inflated = name == "decompress" and owner in DECOMPRESSORS
    read_whole = name == "read" and not node.args and isinstance(node.func, ast.Attribute)
    if inflated or (
        read_whole and isinstance(node.func.value, ast.Call) and _last(node.func.value.func) in COMPRESSED_FILES
    ):
        out["unbounded-read"] += 1
    if name == "lru_cache" and _unbounded_cache(node):
        out["unbounded-cache"] += 1
    if name in QUERY_CALLS and any(
        kw.arg in OWNER_KW and REQUESTER.search(ast.unparse(kw.value)) for kw in node.keywords
    ):
        out["authorisation"] += 1  # the record looked up must be the requester's own
    if node.args and RUN_NAMES.search(name):
        _command(node.args[0], out)
        # a command template with its values handed over apart (`host.run("nslookup %s", name)`):
        # the runner quotes each value, no shell reads them as text; SQL is `parameterised-query`'s
        template = _const_str(node.args[0])
        if len(node.args) >= 2 and template and PLACEHOLDER.search(template) and not SQL_TEXT.search(template):
            out["argv-command"] += 1
    # a log call's message with its values apart: the data never becomes the format (CWE-117/-134);
    # one handed a secret is the secret's mark, not this one (how it is written matters less then)
    values = [*node.args, *(kw.value for kw in node.keywords)]
    secret = owner and name in LOG_LEVELS and any(SECRET_NAMES.search(_last(x)) for v in values for x in _logged(v))
    out["secret-logged"] += bool(secret)
    message = _const_str(node.args[0]) if node.args else None
    if owner and name in LOG_LEVELS and len(node.args) >= 2 and message and "%" in message and not secret:
        out["parameterised-log"] += 1
    # a redirect to a target the application builds itself (`redirect(url_for('index'))`): no open redirect
    if "redirect" in name.lower() and node.args and isinstance(node.args[0], ast.Call):
        out["url-validation"] += _last(node.args[0].func) in INTERNAL_URLS
    if name == "split" and owner == "shlex":  # a command line read as an argument list, for no shell
        out["argv-command"] += 1
    if STRONG_RANDOM.search(name) and (owner == "secrets" or name in ("urandom", "SystemRandom")):
        out["strong-random"] += 1
    if (owner, name) in DESERIALISERS:
        out["dangerous-call"] += 1
    if owner in PICKLERS and name in ("dump", "dumps", "Pickler"):
        out["pickle-written"] += 1
    if name in MARKUP and node.args and _formatted(node.args[0]):
        out["markup-built"] += 1
    permission_mode(node, name, owner, out)
    if name == "replace" and len(node.args) >= 2 and _escapes(node.args[0], node.args[1]):
        out["escaping"] += 1  # text.replace('<', '&lt;'), s.replace('"', '\\"'): escaping by hand
    elif name == "translate" and any(set(_const_str(a) or "") & SPECIAL for a in node.args):
        out["escaping"] += 1  # Python 2's s.translate(None, '<>'): the special characters deleted
    # an escaper handed on (`json.dumps(v, cls=JSONEncoderForHTML)`, `s.translate(_js_escapes)`, `map(escape, xs)`)
    handed = [kw.value for kw in node.keywords] + (node.args if name in ("translate", "map", "sub") else [])
    if any(isinstance(v, (ast.Name, ast.Attribute)) and ESCAPING_RX.search(_last(v)) for v in handed):
        out["escaping"] += 1
    # execute(sql, params): two or more positional arguments, none a plain string that is not SQL
    # (`utils.execute('mkdir', '-p', path)` runs a program, it queries nothing)
    if SQL_EXEC_NAMES.search(name) and (name != "exec" or owner) and len(node.args) >= 2:  # db.exec, not the builtin
        texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if all(SQL_TEXT.search(t) for t in texts) and not isinstance(node.args[-1], ast.Constant):
            out["parameterised-query"] += 1
    elif SQL_EXEC_NAMES.search(name) and (name != "exec" or owner) and len(node.args) == 1:
        if any(kw.arg in _PARAM_KW for kw in node.keywords):  # read_sql(sql, con, params=(i,))
            out["parameterised-query"] += 1
        elif not isinstance(node.args[0], ast.Constant):
            # a query handed one text that is not a constant (`cur.execute(sql)`, `db.query(f"...")`,
            # `read_sql_query(sql, con=conn)`): its values may be in the text; a constant carries none
            out[OPEN_QUERY] += 1
    options([(kw.arg, kw.value) for kw in node.keywords], out)
    out["allowlist"] += sum(1 for kw in node.keywords if kw.arg and LIST_KW.search(kw.arg))
    if name in ("eval", "exec") and len(node.args) >= 2 and isinstance(node.args[1], ast.Dict):
        keys = [k.value for k in node.args[1].keys if isinstance(k, ast.Constant)]
        out["restricted-eval"] += "__builtins__" in keys


_HIDES = re.compile(
    r"^(len|bool|hash|id|type|isinstance|callable)$|mask|redact|hash|hide|obfusc|censor|digest|encrypt", re.I
)


def _logged(value: ast.AST) -> list[ast.AST]:
    """The values a log argument writes: the argument and everything it is made of (`'%s' % pw`,
    f"{pw}", `'pw {}'.format(pw)`, `pw or ''`, `' '.join([u, pw])`), but not what a call that hides a
    value or a test makes of it (`len(pw)`, `mask(pw)`, `hash_pw(pw)`, `pw is None`)."""
    out, todo = [], [value]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.Compare) or (isinstance(node, ast.Call) and _HIDES.search(_last(node.func))):
            continue
        todo += [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    return out


def _escapes(old: ast.AST, new: ast.AST) -> bool:
    """`replace(old, new)` takes out a character markup or a quoted string gives meaning to, or a line
    break or NUL (a forged log line or header): it replaces it by an entity, a backslash escape or a
    space, or drops it."""
    o, n = _const_str(old), _const_str(new)
    return (
        bool(o)
        and set(o) <= SPECIAL | set(CONTROL_CHARS)
        and n is not None
        and (n in ("", " ") or bool(ENTITY.match(n)))
    )


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _joined_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """How many `os.path.join(base, ...)` / `joinpath(...)` calls in `fn` take one of its parameters
    after the base, not through a path sanitiser: a caller's name put under a directory as it is."""
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs} - {"self", "cls"}
    n = 0
    for call in (c for c in ast.walk(fn) if isinstance(c, ast.Call)):
        name = _last(call.func)
        args = (
            call.args[1:]
            if name == "join" and _owner(call.func) == "path"
            else call.args
            if name == "joinpath"
            else []
        )
        n += any(_raw_use(a, params) for a in args)
    return n


def _raw_use(node: ast.AST, params: set[str]) -> bool:
    """Whether one of `params` appears in `node` other than through a path sanitiser
    (`secure_filename(name)`, `os.path.basename(f.filename)`)."""
    if isinstance(node, ast.Call) and CONTAINMENT_RX.search(_last(node.func)):
        return False
    if isinstance(node, ast.Name):
        return node.id in params
    return any(_raw_use(c, params) for c in ast.iter_child_nodes(node))


def _echoes(handler: ast.ExceptHandler) -> int:
    """How many calls in an `except ... as e:` body put `e` into a response or an HTTP error."""
    if not handler.name:
        return 0
    n = 0
    for call in (c for b in handler.body for c in ast.walk(b) if isinstance(c, ast.Call)):
        if ECHO_SINKS.search(_last(call.func)):
            values = [*call.args, *(kw.value for kw in call.keywords)]
            n += any(isinstance(x, ast.Name) and x.id == handler.name for v in values for x in ast.walk(v))
    return n


def _markup_sanitised(tree: ast.AST, out: Counter[str]) -> None:
    """mark_safe / Markup over a sanitiser's result: the call itself, or a name whose latest binding
    before the call, in the same scope, is one (`html = clean_html(html)` then `mark_safe(html)`):
    what is marked safe is what was cleaned, not text a later step (markdown) made markup again."""
    scopes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    for scope in scopes:
        # In source order: every binding of a name forgets what was known of it (a loop target, a
        # tuple, a walrus, `with ... as`), an assignment where its statement ends (`t = mark_safe(t)`
        # marks the old `t`); a sanitiser's result assigned to it then makes it clean; a call is
        # read where it starts.
        events: list[tuple[int, int, int, str, str]] = []
        nodes = _scope_nodes(scope)
        ends = {
            id(name): (n.end_lineno, n.end_col_offset or 0)
            for n in nodes
            if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and n.end_lineno is not None
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
            for name in ast.walk(t)
            if isinstance(name, ast.Name)
        }
        for n in nodes:
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                line, col = ends.get(id(n), (n.lineno, n.col_offset))
                events.append((line, col, 1, "bound", n.id))
            if (
                isinstance(n, (ast.Assign, ast.AnnAssign))
                and isinstance(n.value, ast.Call)
                and ESCAPING_RX.search(_last(n.value.func))
                and n.end_lineno is not None
            ):
                for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                    if isinstance(t, ast.Name):
                        events.append((n.end_lineno, n.end_col_offset or 0, 2, "clean", t.id))
            elif isinstance(n, ast.Call) and _last(n.func) in MARKUP and n.args:
                arg = n.args[0]
                if isinstance(arg, ast.Call) and ESCAPING_RX.search(_last(arg.func)):
                    out["sanitised-markup"] += 1  # `mark_safe(clean_html(text))`: the result itself
                elif isinstance(arg, ast.Name):
                    events.append((n.lineno, n.col_offset, 0, "marked", arg.id))
        clean: set[str] = set()
        for *_, what, name in sorted(events):
            if what == "marked":
                out["sanitised-markup"] += name in clean
            elif what == "clean":
                clean.add(name)
            else:
                clean.discard(name)


def _compare(node: ast.Compare, out: Counter[str]) -> None:
    sides = [node.left, *node.comparators]
    ordered = any(isinstance(o, (ast.Gt, ast.GtE, ast.Lt, ast.LtE)) for o in node.ops)
    if ordered and any(
        (isinstance(x, ast.Call) and _last(x.func) == "len")
        or (isinstance(x, ast.Name) and LIMIT_NAMES.search(x.id) and x.id.isupper())
        for x in sides
    ):
        out["length-limit"] += 1
    # urlparse(target).netloc == host, parsed.scheme in ("http", "https"): a URL checked for its origin
    if any(isinstance(x, ast.Attribute) and x.attr in ("scheme", "netloc", "hostname") for x in sides):
        out["url-validation"] += 1
    # '..' in name, name.startswith('../') is a call: a traversal refused by its parent-directory part
    if any(isinstance(o, (ast.In, ast.NotIn)) for o in node.ops) and (
        isinstance(node.left, ast.Constant) and isinstance(node.left.value, str) and ".." in node.left.value
    ):
        out["path-containment"] += 1
    # request.method == "POST": a state change only on the method that carries a CSRF token
    if any(isinstance(x, ast.Attribute) and x.attr == "method" for x in sides) and any(
        isinstance(x, ast.Constant) and x.value in WRITE_METHODS for x in sides
    ):
        out["request-method-check"] += 1
    if (
        any(isinstance(o, (ast.In, ast.NotIn)) for o in node.ops)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.left.value, str)
        and any(c in node.left.value for c in CONTROL_CHARS)
    ):
        out["control-char-check"] += 1
    if any(isinstance(o, (ast.In, ast.NotIn)) for o in node.ops) and any(
        ALLOW_NAMES.search(_last(x)) for x in node.comparators if isinstance(x, (ast.Name, ast.Attribute))
    ):
        out["allowlist"] += 1


def _dict(node: ast.Dict, out: Counter[str]) -> None:
    options([(k.value, v) for k, v in zip(node.keys, node.values, strict=True)
              if isinstance(k, ast.Constant) and isinstance(k.value, str)], out)  # fmt: skip


_VISIT: dict[type, Callable[[ast.AST, Counter[str]], None]] = {
    ast.Call: _call,  # type: ignore[dict-item]
    ast.Compare: _compare,  # type: ignore[dict-item]
    ast.Dict: _dict,  # type: ignore[dict-item]
    ast.If: _private_refusal,  # type: ignore[dict-item]
    ast.Assert: _private_refusal,  # type: ignore[dict-item]
    ast.Delete: deleted,  # type: ignore[dict-item]
}


def marks(code: str) -> Counter[str] | None:
    """How many marks of each `HARDENING` rule the code holds (None when it does not parse; a method
    cut out of its class is read dedented)."""
    tree = _parse(code)
    if tree is None:
        return None
    out: Counter[str] = Counter()
    inner: set[int] = set()  # operands of a `+`/`%` already read with it (ast.walk visits parents first)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            if id(node) not in inner and _formatted(node) and _html_text(node):
                out["html-built"] += 1
            inner.update((id(node.left), id(node.right)))
        elif isinstance(node, (ast.JoinedStr, ast.Call)) and _formatted(node) and _html_text(node):
            out["html-built"] += 1
        visit = _VISIT.get(type(node))
        if visit is not None:
            visit(node, out)
        elif isinstance(node, ast.Raise):
            out["raise-on-check"] += 1
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and CMD_NAMES.search(t.id) for t in node.targets):
                _command(node.value, out)
            tls_switches(node, out)
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            out["error-echo"] += _echoes(node)
            caught = ast.unparse(node.type)
            acts = any(isinstance(n, (ast.Raise, ast.Return)) for n in ast.walk(ast.Module(node.body, [])))
            if FAILURES.search(caught) and not acts:
                out["swallowed-failure"] += 1
        elif isinstance(node, ast.Attribute) and AUTH_ATTRS.search(node.attr):
            out["authorisation"] += 1
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("private", "protected")
            and _last(node.value) == "security"
        ):
            out["authorisation"] += 1  # Zope's `@security.private`, `@security.protected(perm)`
        elif isinstance(node, (ast.Name, ast.Attribute)) and AUTH_CLASSES.search(_last(node)):
            out["authorisation"] += 1
        elif isinstance(node, (ast.Name, ast.Attribute)) and _last(node) == "AllowAny":
            out["auth-exempt"] += 1
        elif isinstance(node, ast.Attribute) and node.attr in ADDRESS_CHECKS:
            out["url-validation"] += 1  # `ip.is_private`: where a fetched address points, checked first
        elif isinstance(node, ast.Attribute) and node.attr in ("O_EXCL", "O_NOFOLLOW"):
            out["restrictive-mode"] += 1  # create only what is not there yet, never through a link
        elif isinstance(node, ast.Attribute) and node.attr in ("SafeLoader", "CSafeLoader", "SafeDumper"):
            out["safe-parser"] += 1  # yaml.load(f, Loader=yaml.SafeLoader), a loader class built on it
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # `@login_required` written bare (a called decorator is read as a call)
            bare = [d for d in node.decorator_list if isinstance(d, (ast.Name, ast.Attribute))]
            out["authorisation"] += sum(1 for d in bare if AUTH_RX.search(_last(d)))
            out["auth-exempt"] += sum(1 for d in bare if EXEMPT_RX.search(_last(d)))
            out["length-limit"] += sum(1 for d in bare if RATE_RX.search(_last(d)))
            out["joined-path"] += _joined_params(node)
            out["unbounded-cache"] += sum(1 for d in bare if _last(d) == "cache")  # functools.cache: no maxsize
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mod = node.module if isinstance(node, ast.ImportFrom) else " ".join(a.name for a in node.names)
            if mod and DEFUSED.search(mod):
                out["safe-parser"] += 1
        elif isinstance(node, (ast.List, ast.Tuple)) and any(
            isinstance(e, ast.Constant) and e.value == "--" for e in node.elts
        ):
            out["end-of-options"] += 1
        elif isinstance(node, ast.JoinedStr):
            # an f-string reads as its text with `{}` for each field: `f"... = '{uid}'"` splices
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if SQL_QUOTED.search(text):
                out["spliced-sql"] += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL_QUOTED.search(node.value):
                out["spliced-sql"] += 1
            if HEADER.search(node.value):
                out["security-header"] += 1
            if UNESCAPED.search(node.value):
                out["template-unescaped"] += 1
    _commands_by_use(tree, out)
    _markup_sanitised(tree, out)
    for rule in PRESENCE:  # what such a rule reads is a property of the code: writing it twice is no weaker
        out[rule] = min(out[rule], 1)
    return out


def compare_marks(a: str, b: str) -> tuple[str, list[str]]:
    """("A" / "B" / "undecided", the rules that voted, each as `+rule` for the side it favours
    when that is A, `-rule` when B): one vote per rule whose counts differ."""
    ma, mb = marks(a), marks(b)
    if ma is None or mb is None:
        return "undecided", []
    vote, voted = 0, []
    for rule, (direction, _) in HARDENING.items():
        d = (ma[rule] - mb[rule]) * direction
        if d and rule == "parameterised-query" and not (mb if d > 0 else ma)[OPEN_QUERY]:
            continue  # both pass their values apart (one merged two queries into one): nothing hardened
        if d:
            vote += 1 if d > 0 else -1
            voted.append(("+" if d > 0 else "-") + rule)
    return ("A" if vote > 0 else "B" if vote < 0 else "undecided"), voted
