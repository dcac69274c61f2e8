"""The vocabulary of the differential hardening marks (`security_diff`): which rules there are
(`HARDENING`: each one's direction and what it reads) and the names, keywords and text patterns they
read, written from the weakness families rather than from one data set. `security_diff` walks a
candidate's AST with these; the words live apart so that the reading and its vocabulary each stay
one subject.
"""

from __future__ import annotations

import re

# rule -> (+1: the side with more is hardened / -1: the side with more is weakened, what it reads)
HARDENING: dict[str, tuple[int, str]] = {
    "raise-on-check": (1, "a `raise` (a check that refuses bad input)"),
    "deny-response": (1, "abort(), an HTTP 4xx error, PermissionDenied, ValidationError, ..."),
    "type-check": (1, "isinstance / issubclass"),
    "length-limit": (1, "a comparison of len(...) or against a constant bound (MAX_SIZE, LIMIT)"),
    "escaping": (
        1,
        "escape / quote / sanitise / clean / strip_tags / bleach calls, an escaper handed on (`cls=JSONEncoderForHTML`), "
        "a special character replaced by hand (`.replace('<', '&lt;')`)",
    ),
    "path-containment": (
        1,
        "realpath / normpath / abspath / commonpath / is_relative_to / secure_filename / safe_join / basename / islink",
    ),
    "constant-time-compare": (1, "hmac.compare_digest, constant_time_compare"),
    "authorisation": (
        1,
        "permission, authentication and ownership checks (calls, attributes or decorators), a lookup scoped to the "
        "requesting user (`filter(owner=request.user)`)",
    ),
    "safe-parser": (1, "yaml.safe_load/safe_dump, ast.literal_eval, SafeLoader, defusedxml"),
    "validation": (
        1,
        "calls named for a check (validate, valid, verify, check, ensure; not check_output), fullmatch, isalnum/isdigit/...",
    ),
    "allowlist": (
        1,
        "membership tested against an allow- or deny-list (`x in ALLOWED_...`, `x not in BLOCKED`), or one handed on "
        "(`ip_blacklist=...`)",
    ),
    "parameterised-query": (
        1,
        "an execute/query call given its parameters apart from the SQL; bindparams, sql.Identifier, mogrify",
    ),
    "request-method-check": (
        1,
        "a state change gated on the request's method (`request.method == 'POST'`) or a submitted form",
    ),
    "url-validation": (
        1,
        "a redirect target or URL checked for its origin (is_safe_url, same_origin, url_has_allowed_host_and_scheme)",
    ),
    "control-char-check": (1, "a value tested for CR, LF or NUL (`'\\n' in value`): header and log injection"),
    "strong-random": (1, "randomness for secrets: the secrets module, os.urandom, SystemRandom"),
    "end-of-options": (1, "`'--'` in an argument list: what follows is never read as an option (argument injection)"),
    "restricted-eval": (1, "eval/exec given globals without builtins (`{'__builtins__': {}}`)"),
    "parameterised-log": (1, "a log message given its values apart (`log.info('login %s', user)`): never its format"),
    "security-header": (1, "Content-Security-Policy, X-Frame-Options, nosniff, noopener, ..."),
    "safe-option": (
        1,
        "timeout=..., a size limit, a declared content type, or a safety switch on (sanitize/strict/secure/httponly/verify=True)",
    ),
    "argv-command": (1, "a command run or built as an argument list (`['rm', '-f', name]`)"),
    "safe-tempfile": (
        1,
        "a temporary file or folder made by mkstemp / mkdtemp / NamedTemporaryFile / TemporaryDirectory",
    ),
    "restrictive-mode": (
        1,
        "a file mode that gives others nothing (`0o600`, `umask(0o077)`) or an exclusive, no-follow open (O_EXCL, O_NOFOLLOW)",
    ),
    "password-hashing": (1, "a password hashed slowly: bcrypt, scrypt, argon2, PBKDF2, make_password, ..."),
    "dangerous-call": (
        -1,
        "eval / exec / mark_safe / Markup / render_template_string / os.system / pickle.loads / yaml.load",
    ),
    "unsafe-option": (
        -1,
        "shell=True, verify=False, autoescape=False, follow_symlinks=True, resolve_entities=True, ...",
    ),
    "spliced-sql": (-1, "SQL text with a value spliced into quotes ('%s', '{}', '{name}')"),
    "untrusted-search-path": (-1, "the working directory used as a place to load from (os.getcwd(), Path.cwd())"),
    "string-command": (-1, "a command run or built as one formatted string (`'rm -f %s' % name`)"),
    "html-built": (-1, "HTML or a query string built from data by +, %, .format or an f-string (`'<b>' + name`)"),
    "swallowed-failure": (-1, "a failed signature, verification or permission check caught and not acted on"),
    "permissive-mode": (-1, "a file mode that lets others write (`0o777`, `0o666`)"),
    "auth-exempt": (-1, "a view exempted from a check (`@csrf_exempt`, `AllowAny`, `auth_exempt`)"),
    "template-unescaped": (-1, "a template that switches its escaping off (`{{ x|safe }}`, `{% autoescape off %}`)"),
    "markup-built": (-1, "mark_safe / Markup / SafeString over a string built from data (`Markup('<b>' + name)`)"),
    "joined-path": (
        -1,
        "a function's parameter joined onto a base path as it is (`os.path.join(base, name)`, `joinpath(name)`)",
    ),
    "error-echo": (
        -1,
        "a caught exception's text written into a response or an HTTP error (`write(str(e))`)",
    ),
    "pickle-written": (-1, "data written as pickle, marshal or dill (`pickle.dump(obj, f)`): what is later unpickled"),
    "sanitised-markup": (
        1,
        "mark_safe / Markup over a value the same function sanitised (`html = clean_html(html); mark_safe(html)`)",
    ),
    "session-rotation": (
        1,
        "a session renewed or ended where trust changes (`cycle_key`, `rotate_token`, `session.regenerate()`, "
        "`session.flush()`): no fixed or lingering session (CWE-384, -613)",
    ),
    "credential-stripped": (
        1,
        "a credential header dropped from a request (`headers.pop('Authorization')`, `del h['Cookie']`): none "
        "forwarded to another host on a redirect (CWE-200)",
    ),
    "unbounded-read": (
        -1,
        "a whole stream read into a memory buffer at once (`BytesIO(f.read())`), or a compressed payload inflated "
        "whole (`zlib.decompress(data)`, `GzipFile(...).read()`): no bound on what a peer sends (CWE-400, -409, -770)",
    ),
    "unbounded-cache": (
        -1,
        "a cache without a size bound (`@lru_cache(None)`, `@functools.cache`): one entry per distinct argument a "
        "peer sends, kept for the process's life (CWE-400, -770)",
    ),
    "secret-logged": (
        -1,
        "a log call handed a password, secret, key or credential (`log.debug('pw %s', password)`) (CWE-532)",
    ),
}


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# call name (the last attribute, `x.y.escape` -> `escape`) -> rule
CALLS: list[tuple[str, re.Pattern[str]]] = [
    ("deny-response", _rx(r"^(abort|\w*HTTPError|Http\w*Error|\w*Forbidden\w*|PermissionDenied|\w*Unauthori[sz]ed\w*|"
                          r"AccessDenied\w*|BadRequest\w*|SuspiciousOperation|ValidationError)$")),
    ("type-check", _rx(r"^(isinstance|issubclass)$")),
    ("escaping", _rx(r"^(?!.*unescape).*escape|^quote$|^quote_plus$|saniti[sz]e|^clean(_html)?$|strip_tags|bleach|^urlencode$|"
                     r"^format_html(_join)?$|xss|for_?html|^json_script$|^url_?quote(_plus)?$|^quoteattr$")),  # format_html escapes what it fills in; antixss, xss_clean; json_for_html
    ("path-containment", _rx(r"^_*(realpath|abspath|normpath|commonpath|commonprefix|is_relative_to|relative_to|"
                             r"secure_filename|safe_join|basename|islink|isabs|send_from_directory|"
                             r"issym|islnk|isdev|is_symlink)$")),  # an archive member that is a link or device
    ("constant-time-compare", _rx(r"^_*(compare_digest|constant_time_\w+|safe_str_cmp|timingsafe\w*|time_independent_\w+)$")),
    ("auth-exempt", _rx(r"(csrf|auth|login|permission|security|xsrf)_?exempt|^exempt$|^AllowAny$|^permit_all$")),
    ("authorisation", _rx(r"^(?!.*exempt)(.*has_perm|.*permission|.*authori[sz]|is_authenticated$|login_required$|"
                          r"check_access$|require_\w+|is_owner$|.*csrf|user_passes_test$|staff_member_required$|"
                          r"declare(Object)?(Private|Protected)$)")),  # Zope's security.declareProtected(perm, name)
    ("request-method-check", _rx(r"^(is_submitted|validate_on_submit)$")),  # Flask-WTF: a POST that carries the form
    ("url-validation", _rx(r"^(is_safe_url|url_has_allowed_host_and_scheme|same_origin|is_same_origin|is_local_url|"
                           r"is_safe_redirect\w*|safe_redirect\w*)$")),
    ("safe-parser", _rx(r"^(safe_load|safe_load_all|safe_dump|safe_dump_all|literal_eval|SafeLoader|CSafeLoader)$")),
    ("dangerous-call", _rx(r"^(eval|exec|execfile|__import__|mark_safe|Markup|SafeString|render_template_string|"
                           r"system|popen|getoutput|getstatusoutput|unsafe_load|Unpickler)$")),
    ("untrusted-search-path", _rx(r"^(getcwd|getcwdb|cwd)$")),
    ("validation", _rx(r"^is(alnum|alpha|digit|decimal|numeric|identifier|ascii|printable)$")),  # str predicates
    # the SQL toolkits' own binding and identifier quoting: SQLAlchemy's bindparams, psycopg's sql.Identifier, mogrify
    ("parameterised-query", _rx(r"^(bindparams?|Identifier|quote_ident|escape_identifier|mogrify)$")),
    # how often a caller may try (`@ratelimit(...)`, `throttle(...)`): a bound like a length limit (CWE-307, -770)
    ("length-limit", _rx(r"rate_?limit|throttl")),
    # templates rendered where they can reach no attribute or builtin that runs code (CWE-1336)
    ("restricted-eval", _rx(r"^(Immutable)?SandboxedEnvironment$")),
    ("safe-tempfile", _rx(r"^(mkstemp|mkdtemp|NamedTemporaryFile|TemporaryFile|SpooledTemporaryFile|TemporaryDirectory)$")),
    ("password-hashing", _rx(r"^(hashpw|gensalt|scrypt|pbkdf2_hmac|pbkdf2|make_password|generate_password_hash|"
                             r"PasswordHasher|argon2\w*|bcrypt\w*|PBKDF2HMAC|Scrypt)$")),
]  # fmt: skip
AUTH_RX = next(rx for rule, rx in CALLS if rule == "authorisation")
RATE_RX = next(rx for rule, rx in CALLS if rule == "length-limit")
EXEMPT_RX = next(rx for rule, rx in CALLS if rule == "auth-exempt")
# DRF's permission classes named in a view: who may call it
AUTH_CLASSES = re.compile(r"^(IsAuthenticated\w*|IsAdminUser|DjangoModelPermissions\w*|DjangoObjectPermissions)$")
UNESCAPED = _rx(r"\|\s*safe\b|\{%-?\s*autoescape\s+(off|false)\b")
# TLS switches set on a context after it is made (`ctx.check_hostname = False`)
TLS_SWITCHES = {"check_hostname", "verify_mode", "verify"}
AUTH_ATTRS = _rx(r"^(is_authenticated|is_anonymous|is_superuser|is_staff|is_admin|permissions|has_permission)$")
LIMIT_NAMES = _rx(r"^(MAX|MIN)_|_(MAX|MIN)$|LIMIT")  # a named bound (MAX_SIZE): a counter's own max is none
ALLOW_NAMES = _rx(
    r"allow|whitelist|permitted|valid|safe|trusted|deny|denied|blacklist|blocklist|blocked|forbidden|restricted|disallowed|banned"
)
CONTROL_CHARS = ("\r", "\n", "\x00")
# an address checked for where it points before it is fetched (SSRF, CWE-918)
ADDRESS_CHECKS = {"is_private", "is_loopback", "is_reserved", "is_link_local", "is_multicast", "is_unspecified"}
STRONG_RANDOM = _rx(r"^(token_bytes|token_hex|token_urlsafe|urandom|SystemRandom|randbits|randbelow|choice)$")
MARKUP = {"mark_safe", "Markup", "SafeString", "SafeText"}
HTML = re.compile(r"<(/?[a-zA-Z][a-zA-Z0-9]*)[\s>/]|[?&]\w+=$")
LIST_KW = _rx(r"(white|black|allow|deny|block)_?list")
# a URL of the application's own routes (not resolve_url: it passes a URL it is given through)
INTERNAL_URLS = {"url_for", "reverse", "reverse_lazy"}
LOG_LEVELS = {"debug", "info", "warning", "warn", "error", "exception", "critical"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# any value: a timeout, a bound on what a peer may send (max_workers and the like bound nothing a peer
# sends), or the content type a response declares (a JSON body a browser will not sniff as HTML)
SAFE_KW = {"mimetype", "content_type", "timeout", "connect_timeout", "read_timeout", "max_size", "max_length", "max_bytes", "max_age", "samesite",
            "max_content_length", "max_body_size", "max_buffer_size", "max_header_size", "max_line_size",
            "max_field_size", "max_redirects", "max_depth", "max_entries",
            "algorithms"}  # fmt: skip  # jwt.decode(t, key, algorithms=[...]): no 'none', no key confusion
SAFE_ON = {"sanitize", "strict", "secure", "httponly", "autoescape", "verify", "check_hostname", "weights_only",
            "forbid_dtd", "forbid_entities", "forbid_external", "escape", "escape_html", "no_network",
            "as_attachment", "verify_signature", "verify_exp", "verify_aud", "verify_iss", "verify_iat",
            "verify_nbf"}  # fmt: skip  # as_attachment: the browser downloads it, never renders it; verify_*: a JWT's checks
# switches whose default is the unsafe way, so turning them off is a choice (`shell=False` is the default)
SAFE_OFF = {"resolve_entities", "follow_symlinks", "allow_redirects"}
UNSAFE_ON = {"shell", "follow_symlinks", "resolve_entities", "allow_pickle", "unsafe", "huge_tree", "allow_redirects"}
SQL_QUOTED = re.compile(
    r"(\b(select|insert|update|delete|where|values|set)\b[^\n]*?|^\s*\w+\s*(=|!=|<>|\blike\b)\s*)"
    r"(['\"])(%s|%\(\w+\)s|\{\w*\})\4",
    re.I,
)
# SQL text and the calls that run it: one reading for the differential marks and the static rules
# (`security_rules`). Statements by their verb, or a clause anywhere in the text.
SQL_TEXT = re.compile(r"^\s*(select|insert|update|delete|replace|create|drop|alter|pragma|with)\b.*"
                      r"|\b(select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|where\s+\w+\s*(=|like|in)\b)",
                      re.I | re.S)  # fmt: skip
# execute(), queryOne(), run_sql(), db.exec(), insertDB(), query_db(), ...: a project's own wrappers too
SQL_EXEC_NAMES = re.compile(r"execute|query|sql|^raw$|^fetch|^exec$|db$", re.I)
DEFUSED = re.compile(r"^defusedxml\b")
HEADER = _rx(r"Content-Security-Policy|X-Frame-Options|X-Content-Type-Options|Strict-Transport-Security|"
              r"\bnosniff\b|\bnoopener\b|\bnoreferrer\b")  # fmt: skip
DESERIALISERS = {("pickle", "loads"), ("pickle", "load"), ("marshal", "loads"), ("yaml", "load"), ("dill", "loads")}
PICKLERS = {"pickle", "cPickle", "_pickle", "marshal", "dill", "cloudpickle"}
# rules read as present or absent, not counted: a data format is chosen once, and a fix that keeps
# pickle but writes it in two places instead of one is no weaker for it
PRESENCE = ("pickle-written",)
# modules whose `decompress(data)` inflates everything at once, and the file objects over a compressed
# stream whose bare `.read()` does the same
DECOMPRESSORS = {"zlib", "gzip", "bz2", "lzma", "brotli", "zstd", "zstandard", "snappy"}
COMPRESSED_FILES = {"GzipFile", "BZ2File", "LZMAFile"}
# a value's slot in a command template handed to a runner with the values apart (`run("ls %s", d)`)
PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\{\w*\}")
ESCAPING_RX = next(rx for rule, rx in CALLS if rule == "escaping")
CONTAINMENT_RX = next(rx for rule, rx in CALLS if rule == "path-containment")
# characters markup, a script or a quoted string gives meaning to, and what an escape replaces them with
SPECIAL = set("<>&\"'")
ENTITY = re.compile(r"^(&#?\w+;|\\.)")
# where a caught exception's text reaches the client: a response body, a page, an HTTP error (case
# kept: `JsonResponse(...)` builds one, `query.is_response(m)` is a predicate)
ECHO_SINKS = re.compile(
    r"^(write|\w*Response|jsonify|make_response|render\w*|flash|send_error|abort|\w*HTTPError|Http\w*)$"
)
CHECK_WORDS = {
    "validate",
    "validates",
    "validator",
    "valid",
    "verify",
    "verified",
    "check",
    "checks",
    "ensure",
    "fullmatch",
}
NOT_CHECKS = {"check_output", "check_call", "checkout"}
# a call named for a check by two words that are no check alone (`is_safe_path`, `_raise_if_restricted`,
# `is_allowed_host`; not `safe_str`, `raise_error`), or any call of a validators module (`validators.url(u)`)
CHECK_PAIRS = ({"is", "safe"}, {"is", "allowed"}, {"raise", "if"})
VALIDATOR_MODULES = {"validators", "validator"}
# a lookup scoped to whoever asks (`get_object_or_404(Doc, pk=pk, owner=request.user)`): no other
# user's record reached by its id (CWE-639)
QUERY_CALLS = {"filter", "filter_by", "get", "get_object_or_404", "get_or_404", "first_or_404", "get_list_or_404"}
OWNER_KW = {"user", "owner", "author", "creator", "created_by", "user_id", "owner_id", "author_id"}
REQUESTER = re.compile(r"\b(request|req)\.user\b|\bcurrent_user\b|\bg\.user\b")
# a socket's own timeout: a peer that stops sending holds nothing open for ever (CWE-400)
TIMEOUT_CALLS = {"settimeout", "setdefaulttimeout"}
# Mako's filters applied to every expression: `h` escapes HTML (`default_filters=['h']`)
ESCAPE_FILTERS = {"h", "html_escape", "xml_escape"}
# a session renewed at login or ended at logout: by its own name, or a method of a session object
SESSION_RENEWALS = {"cycle_key", "rotate_token", "regenerate_session", "rotate_session", "renew_session",
                    "cycle_session", "regenerate_session_id"}  # fmt: skip
SESSION_METHODS = {"regenerate", "regenerate_id", "cycle_key", "renew", "rotate"}
# ending a session by a method a database session has too (SQLAlchemy's `db.session.flush()`): only
# the request's own session (`request.session.flush()`) is the web session
REQUEST_SESSION_METHODS = {"flush", "invalidate"}
REQUESTS = {"request", "req", "r"}
# headers that carry a credential: dropped from a request before it follows a redirect elsewhere
CREDENTIAL_HEADERS = _rx(r"^(proxy-)?(authorization|cookie)$")
# names of what must never reach a log, by their last word: not `token` alone (a parser's tokens),
# `key` (a dict's), nor where the secret is not the value (`password_file`, `secret_name`)
SECRET_NAMES = _rx(r"(^|_)(password|passwd|passphrase|secret|api_?key|private_?key|credentials?|"
                   r"access_token|refresh_token|auth_token|session_key)$")  # fmt: skip
RUN_NAMES = _rx(
    r"^_*(run|execute|exec|call|popen|spawn|system|check_output|check_call|ssh|cli|run_\w+|\w+_run|"
    r"\w*_cmd|\w*cli\w*|\w*ssh\w*)$"
)
CMD_NAMES = _rx(r"(^|_)(cmd|command|cmdline|args?)($|_)")
FAILURES = _rx(r"invalid|signature|verif|unauthori[sz]ed|forbidden|permission|denied|csrf|security|badsignature")
