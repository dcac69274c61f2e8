"""Security rules beyond Bandit: pure-AST checks for weaknesses Bandit has no rule for, or misses in
code cut out of a file (no imports).

Families: path traversal (CWE-22: a caller's path joined onto a base and used without normalising
and checking containment), `os.tempnam`/`os.tmpnam`/`tempfile.mktemp` (CWE-377), weak password
hashing (CWE-916: fast hashes over a password, low PBKDF2 iterations, static or short salts),
ReDoS (CWE-1333: nested quantifiers, a repeated group whose alternatives overlap, or one that an
unbounded character class before it can absorb, in a pattern applied to input, written inline or
bound once to a name) and regex injection (CWE-730:
a caller's text compiled as a pattern unescaped), SQL built into a string (variable or inline)
and executed later or through any `execute`/`query`-named wrapper, with no values bound apart
(CWE-89: `execute(q, params)` builds placeholders or names into the text, not values), unsafe deserialisation
(CWE-502: pickle/marshal/dill/shelve/jsonpickle, `yaml.load` without a safe loader, `torch.load`
without `weights_only=True`, `numpy.load(allow_pickle=True)`), shell commands built from data
(CWE-78), broken ciphers and ECB mode (CWE-327), RSA/DSA keys under 2048 bits (CWE-326),
disabled TLS verification (CWE-295: also `ssl.wrap_socket` without `cert_reqs=CERT_REQUIRED`,
whose default verifies nothing), and the deprecated `ssl.wrap_socket` (a
deprecation, weighted low). Calls are resolved by their written attribute form (`yaml.load`,
`pickle.loads`) and through the module's imports when it has any (`from yaml import load as l`).

Findings are counted once per rule and module (`count` keeps how often it matched), each with a
severity weight from `RULES`: injection, code execution and deserialisation weigh far more than a
deprecation. Pure functions of source text: code that does not parse gives no findings; nothing
raises. Standard library only.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from codefavor.codetools import PARSE_ERRORS
from codefavor.evidence.security_vocab import SQL_EXEC_NAMES, SQL_TEXT

# rule -> (CWE, severity, weight, what it means)
RULES: dict[str, tuple[str, str, float, str]] = {
    "sql-built": ("CWE-89", "HIGH", 8.0, "SQL text built from data and executed"),
    "shell-built": ("CWE-78", "HIGH", 8.0, "a shell command built from data"),
    "unsafe-deserialization": ("CWE-502", "HIGH", 8.0, "deserialising data that can run code"),
    "yaml-unsafe-load": ("CWE-502", "HIGH", 8.0, "yaml.load without a safe loader"),
    "path-traversal": ("CWE-22", "HIGH", 6.0, "a caller's path joined onto a base without a containment check"),
    "weak-password-hash": ("CWE-916", "MEDIUM", 4.0, "a password hashed fast, with few iterations or a static salt"),
    "tls-unverified": ("CWE-295", "MEDIUM", 4.0, "TLS certificate verification turned off"),
    "weak-cipher": ("CWE-327", "MEDIUM", 4.0, "a broken cipher (DES, RC4, Blowfish, RC2) or ECB mode"),
    "weak-key": ("CWE-326", "MEDIUM", 4.0, "an RSA or DSA key generated shorter than 2048 bits"),
    "insecure-tempname": ("CWE-377", "MEDIUM", 3.0, "a temporary file name that another process can take first"),
    "redos": ("CWE-1333", "MEDIUM", 3.0, "a pattern with nested quantifiers (catastrophic backtracking)"),
    "regex-injection": ("CWE-730", "MEDIUM", 3.0, "a caller's text compiled as a regular expression"),
    "deprecated-wrap-socket": ("CWE-477", "LOW", 0.5, "ssl.wrap_socket is deprecated"),
}

# what a query function takes after its SQL that is not the values: the connection (`pd.read_sql(q, conn)`)
_CONNECTION = re.compile(r"(^|\.)(conn\w*|con|db|cursor|cur|engine|session)$", re.I)
_PASSWORD = re.compile(r"pass(word|wd|phrase)?|pwd|secret|credential", re.I)
_FAST_HASHES = {
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "blake2b",
    "blake2s",
    "sha3_256",
    "sha3_512",
    "new",
}
_CHECKS = re.compile(r"\b(startswith|commonpath|commonprefix|is_relative_to|relative_to|secure_filename|basename|"
                     r"safe_join|safe_path|is_safe_path|realpath|abspath|normpath|resolve)\b")  # fmt: skip
_FILE_SINKS = {"open", "send_file", "remove", "unlink", "rmtree", "rename", "copy", "copyfile", "move", "read_text",
               "read_bytes", "write_text", "write_bytes", "listdir", "FileResponse", "extract", "makedirs", "mkdir"}  # fmt: skip
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)[+*{]")
# who generates RSA/DSA keys: pycryptodome's `RSA.generate(bits)`, cryptography's
# `rsa.generate_private_key(key_size=...)`, paramiko's `RSAKey.generate(bits)`
_KEY_OWNERS = {"RSA", "DSA", "rsa", "dsa", "RSAKey", "DSSKey"}
_SAFE_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader")
_PRINTABLE = [chr(c) for c in range(32, 127)]
_ATOM = re.compile(r"\\.|\[(?:\\.|[^\]\\])*\]|[^()|*+?{}]")
_UNBOUNDED_CLASS = re.compile(r"\[((?:\\.|[^\]\\])*)\](?:[+*]|\{\d+,\})")


def _chars(atom: str) -> frozenset[str]:
    """The printable characters one pattern atom (a literal, an escape, a class) matches."""
    try:
        rx = re.compile(atom)
    except (re.error, RecursionError, OverflowError):
        return frozenset()
    return frozenset(c for c in _PRINTABLE if rx.fullmatch(c))


def _absorbed_group(pattern: str) -> bool:
    r"""Whether a repeated group can be matched, together with what lies between, by an unbounded
    character class before it (`[a-z.]+\.[a-z]{2,}(\.[a-z]{2,})*$`): each repetition can go to the
    class or to the group, so input that fails at the end backtracks exponentially."""
    for g in _QUANTIFIED_GROUP.finditer(pattern):
        body = g.group(1)[2:] if g.group(1).startswith("?:") else g.group(1)
        if not body or body.startswith("?") or "|" in body:
            continue
        for k in _UNBOUNDED_CLASS.finditer(pattern, 0, g.start()):
            covers = _chars("[" + k.group(1) + "]")
            between = re.sub(r"[+*?]|\{\d*,?\d*\}", "", pattern[k.end() : g.start()] + body)
            atoms = _ATOM.findall(between)
            if (
                covers
                and atoms
                and "".join(atoms) == between
                and all(_chars(a) and _chars(a) <= covers for a in atoms)
            ):
                return True
    return False


_QUANTIFIED_GROUP = re.compile(r"\(((?:[^()\\]|\\.)*)\)[+*{]")


def _overlapping_alternation(pattern: str) -> bool:
    """Whether a repeated group's alternatives can match the same text in more than one way: one
    alternative is a prefix of another (`(\\r\\n|\\r|\\n)+`, `(a|ab)*`), so a long run of such
    text backtracks exponentially. Alternatives are compared as written (escapes kept whole)."""
    for m in _QUANTIFIED_GROUP.finditer(pattern):
        body = m.group(1)
        if body.startswith("?:"):
            body = body[2:]
        elif body.startswith("?"):
            continue  # lookarounds, named groups and flags: not read here
        alts, depth, cur, i = [], 0, "", 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                cur += body[i : i + 2]
                i += 2
                continue
            if ch == "[":  # a class counts as one atom up to its closing bracket
                j = body.find("]", i + 2)
                j = len(body) - 1 if j < 0 else j
                cur += body[i : j + 1]
                i = j + 1
                continue
            depth += ch == "("
            depth -= ch == ")"
            if ch == "|" and depth == 0:
                alts.append(cur)
                cur = ""
            else:
                cur += ch
            i += 1
        alts.append(cur)
        plain = [a for a in alts if a and not re.search(r"[+*?{}()]", a)]
        if any(x != y and y.startswith(x) or (x == y and i != j)
               for i, x in enumerate(plain) for j, y in enumerate(plain)):  # fmt: skip
            return True
    return False


@dataclass(frozen=True)
class RuleFinding:
    rule: str
    cwe: str
    severity: str
    weight: float
    line: int
    text: str
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "cwe": self.cwe, "severity": self.severity, "weight": self.weight,
                "line": self.line, "text": self.text[:160], "count": self.count}  # fmt: skip


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _aliases(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _qualname(func: ast.AST, aliases: dict[str, str]) -> str:
    name = _dotted(func)
    head, _, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + ("." + rest if rest else "")
    return name


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _const(node: ast.AST | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


def _built_string(node: ast.AST) -> str | None:
    """The literal text of a string built from data (%, +, .format, f-string), or None."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
        return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        parts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        dynamic = any(isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)) for n in ast.walk(node))
        return " ".join(parts) if parts and dynamic else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str)):  # fmt: skip
        return node.func.value.value if (node.args or node.keywords) else None
    return None


def _binds(call: ast.Call, sql_at: int) -> bool:
    """Whether the call hands the database its values apart from the SQL text (`execute(q, (a, b))`,
    `execute(q, params=d)`; not an empty tuple, not the connection): what was built into the text is
    then the placeholders (`' OR '.join(['id = ?'] * n)`) or a name, and the values are bound, not spliced."""
    containers = (ast.Tuple, ast.List, ast.Dict, ast.Set)
    after = call.args[sql_at + 1 :]
    bound = any(
        bool(_elements(a))
        if isinstance(a, containers)
        else not isinstance(a, ast.Constant) and not _CONNECTION.search(_dotted(a))
        for a in after
    )
    return bound or any(
        k.arg in ("params", "parameters", "args", "bind", "binds", "values", "vars") for k in call.keywords
    )


def _elements(node: ast.Tuple | ast.List | ast.Dict | ast.Set) -> list[Any]:
    return list(node.keys) if isinstance(node, ast.Dict) else list(node.elts)


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


class _Scan:
    def __init__(self, tree: ast.Module, code: str):
        self.tree, self.code = tree, code
        self.aliases = _aliases(tree)
        self.found: dict[str, RuleFinding] = {}
        self._strings: dict[str, str] | None = None

    def string_of(self, node: ast.AST) -> Any:
        """A constant, or the string constant a name is bound to once in the code (`pattern = '...'`
        then `re.match(pattern, s)`); None otherwise."""
        if not isinstance(node, ast.Name):
            return _const(node)
        if self._strings is None:
            seen: dict[str, list[Any]] = {}
            for n in ast.walk(self.tree):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if isinstance(t, ast.Name):
                            seen.setdefault(t.id, []).append(_const(n.value))
            self._strings = {k: v[0] for k, v in seen.items() if len(v) == 1 and isinstance(v[0], str)}
        return self._strings.get(node.id)

    def add(self, rule: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        if rule in self.found:
            f = self.found[rule]
            self.found[rule] = RuleFinding(f.rule, f.cwe, f.severity, f.weight, f.line, f.text, f.count + 1)
            return
        cwe, sev, weight, _ = RULES[rule]
        text = (ast.get_source_segment(self.code, node) or "").split("\n", 1)[0]
        self.found[rule] = RuleFinding(rule, cwe, sev, weight, line, text)

    def run(self) -> list[RuleFinding]:
        scopes = [n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for node in ast.walk(self.tree):  # AES.MODE_ECB, modes.ECB(): whatever library it comes from
            if isinstance(node, ast.Attribute) and node.attr in ("MODE_ECB", "ECB"):
                self.add("weak-cipher", node)
        for call in (n for n in ast.walk(self.tree) if isinstance(n, ast.Call)):
            self.calls(call)
        self.sql(self.tree)
        for fn in scopes:
            self.traversal(fn)
            self.passwords(fn)
            self.regex_input(fn)
        return sorted(self.found.values(), key=lambda f: (f.line, f.rule))

    # --- call-shaped rules -----------------------------------------------------------------
    def calls(self, call: ast.Call) -> None:
        q = _qualname(call.func, self.aliases)
        last = q.rsplit(".", 1)[-1]
        mod = q.rsplit(".", 1)[0] if "." in q else ""
        if q in ("os.tempnam", "os.tmpnam", "tempfile.mktemp") or (q == "mktemp" and "mktemp" in self.aliases):
            self.add("insecure-tempname", call)
        elif mod in ("pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal") and last in (
            "load",
            "loads",
            "Unpickler",
        ):
            self.add("unsafe-deserialization", call)
        elif q in ("shelve.open", "jsonpickle.decode", "pandas.read_pickle", "pd.read_pickle"):
            self.add("unsafe-deserialization", call)
        elif q == "torch.load" and _const(_kw(call, "weights_only")) is not True:
            self.add("unsafe-deserialization", call)
        elif q in ("numpy.load", "np.load") and _const(_kw(call, "allow_pickle")) is True:
            self.add("unsafe-deserialization", call)
        elif q in ("yaml.load", "yaml.load_all") or q in ("yaml.unsafe_load", "yaml.unsafe_load_all"):
            loader = _kw(call, "Loader") or (call.args[1] if len(call.args) > 1 else None)
            if q.startswith("yaml.unsafe") or loader is None or not _dotted(loader).endswith(_SAFE_LOADERS):
                self.add("yaml-unsafe-load", call)
        elif last == "new" and mod.rsplit(".", 1)[-1] in ("DES", "ARC4", "Blowfish", "ARC2", "DES3", "XOR"):
            self.add("weak-cipher", call)
        elif last in ("generate", "generate_private_key") and mod.rsplit(".", 1)[-1] in _KEY_OWNERS:
            bits = _const(_kw(call, "key_size") or _kw(call, "bits") or (call.args[0] if call.args else None))
            if isinstance(bits, int) and not isinstance(bits, bool) and bits < 2048:
                self.add("weak-key", call)
        elif q in ("ssl.wrap_socket",):
            self.add("deprecated-wrap-socket", call)
            reqs = _kw(call, "cert_reqs")  # its default, CERT_NONE, verifies nothing
            if reqs is None or not _dotted(reqs).endswith("CERT_REQUIRED"):
                self.add("tls-unverified", call)
        elif q in ("ssl._create_unverified_context",) or (
            last in ("get", "post", "put", "delete", "request", "patch", "head", "Session", "Client", "AsyncClient")
            and _const(_kw(call, "verify")) is False
        ):
            self.add("tls-unverified", call)
        elif q in ("os.system", "os.popen", "commands.getoutput", "commands.getstatusoutput") and call.args:
            if not isinstance(call.args[0], ast.Constant):
                self.add("shell-built", call)
        elif mod in ("subprocess",) and _const(_kw(call, "shell")) is True and call.args:
            if not isinstance(call.args[0], ast.Constant):
                self.add("shell-built", call)
        if mod in ("re", "regex") and last in (
            "compile",
            "match",
            "search",
            "fullmatch",
            "findall",
            "finditer",
            "sub",
            "split",
        ):
            pat = self.string_of(call.args[0]) if call.args else None
            if isinstance(pat, str) and (_NESTED.search(pat) or _overlapping_alternation(pat) or _absorbed_group(pat)):
                self.add("redos", call)

    # --- SQL built into a variable (or inline) and executed ----------------------------------
    def sql(self, tree: ast.AST) -> None:
        built: set[str] = set()
        for node in ast.walk(tree):
            value = getattr(node, "value", None)
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and value is not None:
                text = _built_string(value)
                if (
                    isinstance(node, ast.AugAssign)
                    and isinstance(node.op, ast.Add)
                    and not isinstance(value, ast.Constant)
                ):
                    text = text or " "  # query += user_part
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and text is not None and (SQL_TEXT.search(text) or t.id in built):
                        built.add(t.id)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _dotted(call.func).rsplit(".", 1)[-1]
            if not SQL_EXEC_NAMES.search(name) or name == _dotted(call.func) == "exec":  # db.exec, not the builtin
                continue
            for k, arg in enumerate(call.args[:3]):  # wrappers take the connection or cursor first: query(c, sql)
                inline = _built_string(arg)
                if (isinstance(arg, ast.Name) and arg.id in built) or (inline is not None and SQL_TEXT.search(inline)):
                    if not _binds(call, k):
                        self.add("sql-built", call)
                    break

    # --- path traversal ---------------------------------------------------------------------
    def traversal(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs} - {"self", "cls"}
        tainted = set(params)
        src = ast.get_source_segment(self.code, fn) or ""
        if "request" in src:
            tainted.add("request")
        joined: set[str] = set()
        join_node = None
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if _names_in(node.value) & tainted and not isinstance(node.value, ast.Constant):
                    tainted.add(node.targets[0].id)
                if self._is_join(node.value, tainted):
                    joined.add(node.targets[0].id)
                    join_node = node
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            sink = _dotted(call.func).rsplit(".", 1)[-1]
            if sink not in _FILE_SINKS or not call.args:
                continue
            arg = call.args[0]
            uses_join = (isinstance(arg, ast.Name) and arg.id in joined) or self._is_join(arg, tainted)
            if uses_join and not _CHECKS.search(src):
                self.add(
                    "path-traversal", join_node if join_node is not None and not self._is_join(arg, tainted) else call
                )
                return

    @staticmethod
    def _is_join(node: ast.AST, tainted: set[str]) -> bool:
        if isinstance(node, ast.Call) and _dotted(node.func).endswith(("path.join", "os.path.join", "joinpath")):
            return any(_names_in(a) & tainted for a in node.args[1:]) or (
                _dotted(node.func).endswith("joinpath") and any(_names_in(a) & tainted for a in node.args)
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):  # Path(base) / name
            return bool(_names_in(node.right) & tainted)
        if isinstance(node, ast.JoinedStr) and len(node.values) > 1:
            lits = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            return "/" in lits and any(
                isinstance(v, ast.FormattedValue) and _names_in(v) & tainted for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            lits = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            return any("/" in s for s in lits) and bool(_names_in(node) & tainted)
        return False

    # --- weak password hashing --------------------------------------------------------------
    def passwords(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        src = ast.get_source_segment(self.code, fn) or ""
        if not _PASSWORD.search(src):
            return
        strong = re.search(
            r"\b(bcrypt|scrypt|argon2|pbkdf2|PasswordHasher|make_password|generate_password_hash)\b", src
        )
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            q = _qualname(call.func, self.aliases)
            last = q.rsplit(".", 1)[-1]
            if last == "pbkdf2_hmac":
                it = call.args[3] if len(call.args) > 3 else _kw(call, "iterations")
                n = _const(it)
                if isinstance(n, int) and n < 100_000:
                    self.add("weak-password-hash", call)
                salt = call.args[2] if len(call.args) > 2 else _kw(call, "salt")
                if isinstance(salt, ast.Constant) or self._short_salt(salt):
                    self.add("weak-password-hash", call)
            elif q.startswith("hashlib.") and last in _FAST_HASHES and not strong:
                args = " ".join(ast.get_source_segment(self.code, a) or "" for a in call.args)
                if _PASSWORD.search(args):
                    self.add("weak-password-hash", call)
        for node in ast.walk(fn):  # salt = b"static"
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and "salt" in t.id.lower() for t in node.targets
            ):
                if isinstance(node.value, ast.Constant) or self._short_salt(node.value):
                    self.add("weak-password-hash", node)

    @staticmethod
    def _short_salt(node: ast.AST | None) -> bool:
        if isinstance(node, ast.Call) and _dotted(node.func).endswith(("urandom", "token_bytes", "randbytes")):
            n = _const(node.args[0]) if node.args else None
            return isinstance(n, int) and n < 16
        return False

    # --- a caller's text as a pattern -------------------------------------------------------
    def regex_input(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        params = {a.arg for a in fn.args.args + fn.args.kwonlyargs} - {"self", "cls"}
        for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
            q = _qualname(call.func, self.aliases)
            if q.split(".")[0] in ("re", "regex") and q.rsplit(".", 1)[-1] in (
                "compile",
                "match",
                "search",
                "fullmatch",
                "findall",
                "sub",
            ):
                pat = call.args[0] if call.args else None
                if (
                    isinstance(pat, ast.Name)
                    and pat.id in params
                    or isinstance(pat, ast.JoinedStr)
                    and _names_in(pat) & params
                ):
                    self.add("regex-injection", call)


def rule_findings(code: str) -> list[RuleFinding]:
    """Our rules' findings for `code`, once per rule (empty when the code does not parse). A method
    cut out of its class (indented) is read dedented, Python 2 as its Python 3 spelling."""
    from codefavor.codetools import parse_leniently

    parsed = parse_leniently(code)
    if parsed is None:
        return []
    try:
        return _Scan(*parsed).run()
    except PARSE_ERRORS:
        return []
