"""Every security rule beyond Bandit on a hand-written insecure snippet (it must fire) and its
secure counterpart (it must not): both directions, one table."""

from __future__ import annotations

import pytest

from codefavor.evidence.security import rules_findings, score
from codefavor.evidence.security_rules import RULES, rule_findings

# rule -> (insecure snippet, secure snippet); snippets are functions cut out of files: no imports.
TABLE: dict[str, list[tuple[str, str]]] = {
    "path-traversal": [
        ("def read(name):\n    path = os.path.join('/srv/files', name)\n    with open(path) as f:\n        return f.read()\n",
         "def read(name):\n    base = os.path.realpath('/srv/files')\n    path = os.path.realpath(os.path.join(base, name))\n"
         "    if not path.startswith(base + os.sep):\n        raise ValueError(name)\n    with open(path) as f:\n        return f.read()\n"),
        ("def get(filename):\n    return send_file(UPLOADS / filename)\n",
         "def get(filename):\n    return send_file(UPLOADS / secure_filename(filename))\n"),
    ],
    "weak-cipher": [
        ("def enc(k, d):\n    return AES.new(k, AES.MODE_ECB).encrypt(d)\n",
         "def enc(k, d, iv):\n    return AES.new(k, AES.MODE_GCM, nonce=iv).encrypt(d)\n"),
        ("def enc(k, d):\n    return DES.new(k).encrypt(d)\n", "def enc(k, d):\n    return Fernet(k).encrypt(d)\n"),
    ],
    "insecure-tempname": [
        ("def scratch():\n    return open(os.tempnam(), 'w')\n", "def scratch():\n    return tempfile.NamedTemporaryFile('w')\n"),
        ("def scratch():\n    name = tempfile.mktemp()\n    return name\n", "def scratch():\n    return tempfile.mkstemp()\n"),
    ],
    "weak-password-hash": [
        ("def store(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n",
         "def store(password):\n    salt = os.urandom(16)\n    return salt + hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600000)\n"),
        ("def store(password):\n    salt = os.urandom(16)\n    return hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 1000)\n",
         "def store(password):\n    salt = os.urandom(32)\n    return hashlib.pbkdf2_hmac('sha256', password.encode(), salt, iterations=310000)\n"),
        ("def store(password):\n    salt = b'pepper'\n    return hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600000)\n",
         "def checksum(data):\n    return hashlib.sha256(data).hexdigest()\n"),
    ],
    "redos": [
        ("def valid(s):\n    return re.match(r'^(a+)+$', s) is not None\n", "def valid(s):\n    return re.match(r'^a+$', s) is not None\n"),
        ("EMAIL = re.compile(r'^([a-zA-Z0-9]+\\.?)*@example\\.com$')\n", "EMAIL = re.compile(r'^[a-zA-Z0-9.]+@example\\.com$')\n"),
        # a repeated group whose alternatives overlap: `\r\n` matches as one alternative or as two
        ("def tail(v):\n    return re.search('((\\r\\n|\\r|\\n)+) *$', v)\n",
         "def tail(v):\n    return re.search('((\\r|\\n)+) *$', v)\n"),
        ("def words(v):\n    return re.match(r'^(a|ab)*c$', v)\n", "def words(v):\n    return re.match(r'^(ab|cd)*c$', v)\n"),
        # a repeated group an unbounded class before it can absorb; the pattern bound to a name first
        ("def ok(email):\n    pattern = r'^[a-z0-9.]+@[a-z0-9.-]+\\.[a-z]{2,}(?:\\.[a-z]{2,})*$'\n    return re.match(pattern, email)\n",
         "def ok(email):\n    pattern = r'^[a-z0-9.]+@[a-z0-9.-]+\\.[a-z]{2,}$'\n    return re.match(pattern, email)\n"),
        ("def words(v):\n    return re.fullmatch(r'[a-z ]+( [a-z]+)*', v)\n", "def words(v):\n    return re.fullmatch(r'[a-z]+(,[0-9])*', v)\n"),
    ],
    "regex-injection": [
        ("def find(term, text):\n    return re.search(term, text)\n", "def find(term, text):\n    return re.search(re.escape(term), text)\n"),
    ],
    "sql-built": [
        ("def user(db, name):\n    q = \"SELECT * FROM users WHERE name = '%s'\" % name\n    return db.execute(q).fetchall()\n",
         "def user(db, name):\n    q = 'SELECT * FROM users WHERE name = ?'\n    return db.execute(q, (name,)).fetchall()\n"),
        ("def user(name):\n    sql = f\"DELETE FROM users WHERE name = '{name}'\"\n    return run_query(sql)\n",
         "def user(name):\n    sql = 'DELETE FROM users WHERE name = %s'\n    return run_query(sql, [name])\n"),
        ("def user(cur, uid):\n    cur.execute('UPDATE t SET seen = 1 WHERE id = ' + uid)\n",
         "def user(cur, uid):\n    cur.execute('UPDATE t SET seen = 1 WHERE id = %s', (uid,))\n"),
        # a project's own wrappers: db.exec, insertDB
        ("def first(db, scene):\n    sql = \"SELECT d FROM m WHERE scene='{}'\".format(scene)\n    return db.exec(sql)\n",
         "def first(db, scene):\n    sql = 'SELECT d FROM m WHERE scene=?'\n    return db.exec(sql, (scene,))\n"),
        ("def like(self, cid, uid):\n    q = 'INSERT INTO likes VALUES (%d, %d)' % (uid, cid)\n    return sql.insertDB(self.conn, q)\n",
         "def like(self, cid, uid):\n    q = 'INSERT INTO likes VALUES (%s, %s)'\n    return sql.insertDB(self.conn, q, (uid, cid))\n"),
        # the text built from placeholders, the values bound apart: no splice
        ("def seen(cur, ids):\n    cur.execute('UPDATE t SET seen = 1 WHERE ' + ' OR '.join('id = %d' % i for i in ids))\n",
         "def seen(cur, ids):\n    cur.execute('UPDATE t SET seen = 1 WHERE ' + ' OR '.join(['id = ?'] * len(ids)), ids)\n"),
        ("def find(db, col, v):\n    q = 'SELECT * FROM t WHERE ' + col + \" = '\" + v + \"'\"\n    return db.query(q)\n",
         "def find(db, col, v):\n    q = 'SELECT * FROM t WHERE ' + col + ' = :v'\n    return db.query(q, params={'v': v})\n"),
    ],
    "unsafe-deserialization": [
        ("def restore(blob):\n    return pickle.loads(blob)\n", "def restore(blob):\n    return json.loads(blob)\n"),
        ("def restore(path):\n    return torch.load(path)\n", "def restore(path):\n    return torch.load(path, weights_only=True)\n"),
        ("def restore(path):\n    return np.load(path, allow_pickle=True)\n", "def restore(path):\n    return np.load(path)\n"),
        ("from marshal import loads as l\ndef restore(b):\n    return l(b)\n", "from json import loads as l\ndef restore(b):\n    return l(b)\n"),
    ],
    "yaml-unsafe-load": [
        ("def conf(text):\n    return yaml.load(text)\n", "def conf(text):\n    return yaml.safe_load(text)\n"),
        ("def conf(text):\n    return yaml.load(text, Loader=yaml.Loader)\n", "def conf(text):\n    return yaml.load(text, Loader=yaml.SafeLoader)\n"),
    ],
    "shell-built": [
        ("def ping(host):\n    os.system('ping -c 1 ' + host)\n", "def ping(host):\n    subprocess.run(['ping', '-c', '1', host], check=True)\n"),
        ("def ping(host):\n    subprocess.call(f'ping {host}', shell=True)\n", "def ping():\n    subprocess.call('ping localhost', shell=True)\n"),
    ],
    "tls-unverified": [
        ("def fetch(url):\n    return requests.get(url, verify=False)\n", "def fetch(url):\n    return requests.get(url, timeout=5)\n"),
        ("def ctx():\n    return ssl._create_unverified_context()\n", "def ctx():\n    return ssl.create_default_context()\n"),
    ],
    "weak-key": [
        ("def new_key():\n    return RSA.generate(1024)\n", "def new_key():\n    return RSA.generate(2048)\n"),
        ("def new_key():\n    return rsa.generate_private_key(public_exponent=65537, key_size=1024)\n",
         "def new_key():\n    return rsa.generate_private_key(public_exponent=65537, key_size=3072)\n"),
    ],
    "deprecated-wrap-socket": [
        ("def wrap(s):\n    return ssl.wrap_socket(s)\n", "def wrap(s, host):\n    return ssl.create_default_context().wrap_socket(s, server_hostname=host)\n"),
    ],
}  # fmt: skip

CASES = [(rule, i, bad, good) for rule, pairs in TABLE.items() for i, (bad, good) in enumerate(pairs)]


def test_every_rule_has_a_row():
    assert set(TABLE) == set(RULES)


@pytest.mark.parametrize(("rule", "i", "insecure", "secure"), CASES, ids=[f"{r}-{i}" for r, i, _, _ in CASES])
def test_rule_fires_on_insecure_and_not_on_secure(rule, i, insecure, secure):
    bad = {f.rule for f in rule_findings(insecure)}
    good = {f.rule for f in rule_findings(secure)}
    assert rule in bad, f"{rule} missed: {insecure!r}"
    assert rule not in good, f"{rule} fired on the secure snippet: {secure!r}"
    assert score(rules_findings(insecure)) > score(rules_findings(secure))  # as the judge scores a module


def test_findings_are_counted_once_per_rule_and_module():
    code = "def a(b):\n    pickle.loads(b)\n    pickle.loads(b)\n    return pickle.load(b)\n"
    (f,) = rule_findings(code)
    assert (f.rule, f.count, f.line) == ("unsafe-deserialization", 3, 2)


def test_weights_rank_injection_far_above_deprecation():
    assert RULES["sql-built"][2] >= 10 * RULES["deprecated-wrap-socket"][2]
    dep = [f for f in rules_findings(TABLE["deprecated-wrap-socket"][0][0]) if f.rule == "deprecated-wrap-socket"]
    inj = score(rules_findings(TABLE["yaml-unsafe-load"][0][0]))
    assert inj > score(dep) * 10
    # ssl.wrap_socket's default (CERT_NONE) verifies nothing: that is the weakness, the deprecation aside.
    assert {f.rule for f in rule_findings("def w(s):\n    return ssl.wrap_socket(s)\n")} == {
        "deprecated-wrap-socket",
        "tls-unverified",
    }
    pinned = "def w(s):\n    return ssl.wrap_socket(s, cert_reqs=ssl.CERT_REQUIRED, ca_certs=CA)\n"
    assert [f.rule for f in rule_findings(pinned)] == ["deprecated-wrap-socket"]


@pytest.mark.parametrize("code", ["", "def (:", "print 'py2'", "x = 1\n" * 3, "\x00"])
def test_unparsable_or_harmless_code_gives_nothing_and_never_raises(code):
    assert rule_findings(code) == []


def test_methods_cut_out_of_a_class_and_sql_handed_to_a_wrapper():
    method = (
        "    def login(self, name):\n        q = '''\n            SELECT id FROM users\n            WHERE name = '{}'\n"
        "        '''.format(name)\n        self.cur.execute(q)\n"
    )
    assert [f.rule for f in rule_findings(method)] == ["sql-built"]
    wrapped = "def opts(poll):\n    return queryOne(c, \"SELECT o FROM t WHERE name='{}'\".format(poll))\n"
    assert [f.rule for f in rule_findings(wrapped)] == ["sql-built"]
    # an empty tuple binds nothing: the splice still counts
    empty = "def opts(cur, poll):\n    return cur.execute(\"SELECT o FROM t WHERE name='%s'\" % poll, ())\n"
    assert [f.rule for f in rule_findings(empty)] == ["sql-built"]
    conn = "def jobs(conn, n):\n    return pd.read_sql(f'SELECT * FROM jobs WHERE n = {n}', conn)\n"
    assert [f.rule for f in rule_findings(conn)] == ["sql-built"]  # the connection is no bound value
    # the builtin exec runs code, it queries nothing (the code-execution findings are Bandit's)
    assert rule_findings("def f(t):\n    exec('select = %s' % t)\n") == []
    assert [f.rule for f in rule_findings("def f(db, t):\n    db.exec('select * from t where a = %s' % t)\n")] == [
        "sql-built"
    ]
    assert rule_findings("def opts(poll):\n    return queryOne(c, 'SELECT o FROM t WHERE name=?', (poll,))\n") == []


# The rules wired beside Bandit (evidence/security.py): always on, each kind of weakness once per
# module, deprecations weighted below any injection; the secure side must win in both orders.
WIRED = [
    (  # yaml.load in a function cut out of a file: no `import yaml`, so Bandit's B506 cannot fire
        "def conf(text):\n    return yaml.load(text)\n",
        "def conf(text):\n    return yaml.safe_load(text)\n",
    ),
    (  # a method cut out of its class (indented): Bandit reads it dedented
        "    def run(self, cmd):\n        return subprocess.call(cmd, shell=True)\n",
        "    def run(self, cmd):\n        return subprocess.call(shlex.split(cmd))\n",
    ),
    (  # the secure code imports one more name of an old library: one finding, not one per name
        "from Crypto.Cipher import AES\ndef enc(k, d):\n    return AES.new(k, AES.MODE_ECB).encrypt(d)\n",
        "from Crypto.Cipher import AES\nfrom Crypto.Random import get_random_bytes\n"
        "def enc(k, d):\n    iv = get_random_bytes(16)\n    return iv + AES.new(k, AES.MODE_CBC, iv).encrypt(d)\n",
    ),
    (  # the TLS case: pinning a protocol on an unverified context vs the deprecated, unverified wrap_socket
        "import ssl\ndef wrap(sock):\n    return ssl.wrap_socket(sock)\n",
        "import ssl\ndef wrap(sock):\n    ctx = ssl._create_unverified_context(ssl.PROTOCOL_TLS_CLIENT)\n"
        "    ctx.minimum_version = ssl.TLSVersion.TLSv1_2\n    return ctx.wrap_socket(sock)\n",
    ),
    (  # SQL built into a variable and run later: an injection outweighs a deprecated import
        "import sqlite3\ndef find(db, name):\n    q = \"SELECT * FROM u WHERE n = '%s'\" % name\n    return db.execute(q)\n",
        "import sqlite3\nfrom Crypto.Hash import MD5\ndef find(db, name):\n    return db.execute('SELECT * FROM u WHERE n = ?', (name,))\n",
    ),
]  # fmt: skip


@pytest.mark.parametrize("insecure, secure", WIRED, ids=["yaml-no-import", "indented-method", "per-import",
                                                         "tls-pinned", "sql-vs-deprecation"])  # fmt: skip
def test_rules_beside_bandit_pick_the_secure_side_in_both_orders(insecure, secure):
    from codefavor.evidence.security import compare_security

    assert compare_security(secure, insecure).decision == "A"
    assert compare_security(insecure, secure).decision == "B"


def test_each_kind_counts_once_per_module():
    from codefavor.evidence.security import findings, score

    one = findings("import pickle\ndef a(b):\n    return pickle.loads(b)\n")[0]
    many = findings("import pickle\ndef a(b):\n    pickle.loads(b)\n    return pickle.loads(pickle.loads(b))\n")[0]
    assert score(one) == score(many) > 0  # Bandit's B301/B403 and the rule: one deserialisation
    assert score([f.as_dict() for f in many]) == score(many)  # the same over the details' records


def test_randomness_in_a_delay_is_no_weak_random_finding():
    from codefavor.evidence.security import compare_security, findings

    jitter = "import random, time\ndef login(u, p):\n    ok = check(u, p)\n    time.sleep(1 + random.random())\n    return ok\n"
    plain = "import random, time\ndef login(u, p):\n    return check(u, p)\n"
    assert not [f for f in findings(jitter)[0] if f.kind == "weak-random"]
    assert not compare_security(jitter, plain).decided  # the fix's jitter does not make it the weaker side
    token = "import random\ndef token():\n    return random.random()\n"
    assert [f for f in findings(token)[0] if f.kind == "weak-random"]  # a secret from `random` still counts


def test_importing_the_sax_escaping_helpers_is_no_xml_parser():
    from codefavor.evidence.security import compare_security, findings

    escaped = "import xml.sax.saxutils as saxutils\ndef reply(v):\n    return TEMPLATE.format(v=saxutils.escape(v))\n"
    raw = "def reply(v):\n    return TEMPLATE.format(v=v)\n"
    for code in (escaped, escaped.replace("import xml.sax.saxutils as saxutils", "from xml.sax import saxutils")):
        assert not [f for f in findings(code)[0] if f.kind == "xml"]
        assert not compare_security(code, raw).decided  # the escaping side is not the weaker one
    parser = "from xml.sax import make_parser, saxutils\ndef read(f):\n    return make_parser().parse(f)\n"
    assert [f for f in findings(parser)[0] if f.kind == "xml"]  # a parser imported beside it still counts
    both = "import xml.sax.saxutils, xml.sax\ndef read(f):\n    return xml.sax.parse(f, H())\n"
    assert [f for f in findings(both)[0] if f.kind == "xml"]
    # Python 2 code goes to the line patterns: the same reading there
    py2 = "from xml.sax import saxutils\ndef reply(v):\n    print 'reply'\n    return TEMPLATE % saxutils.escape(v)\n"
    assert findings(py2)[1] != "bandit" and not [f for f in findings(py2)[0] if f.kind == "xml"]
    assert not compare_security(py2, "def reply(v):\n    print 'reply'\n    return TEMPLATE % v\n").decided


def test_python2_functions_are_read_through_their_python3_spelling():
    code = "def conf(path):\n\ttry:\n\t\tprint 'loading', path\n\t\treturn yaml.load(open(path))\n\texcept IOError, e:\n\t\treturn None\n"
    assert "yaml-unsafe-load" in {f.rule for f in rule_findings(code)}
    assert not rule_findings(code.replace("yaml.load(", "yaml.safe_load("))


# That a process runs (Bandit's B404, B603, B607) is no weakness: an argument list without a shell,
# spelled out `subprocess.run`, against the bare `check_output` Bandit cannot resolve, or the same
# list call against a shell; an exception passed over (B110). The capped findings never decide alone;
# a real shell still does.
PROCESS = [
    ("def build(src):\n    return check_output(['make', '-C', src])\n",
     "import subprocess\ndef build(src):\n    return subprocess.run(['make', '-C', src], stdout=subprocess.PIPE, check=True)\n",
     "undecided"),
    ("import subprocess\ndef build(src):\n    return subprocess.call('make -C ' + src, shell=True)\n",
     "import subprocess\ndef build(src):\n    return subprocess.call(['make', '-C', src])\n",
     "secure"),
    # the fix passes over a failed cleanup (B110): no weakness of its own
    ("def save(db, q):\n    db.execute(q)\n",
     "def save(db, q):\n    db.execute(q)\n    try:\n        db.close()\n    except Exception:\n        pass\n",
     "undecided"),
]  # fmt: skip


@pytest.mark.parametrize("insecure, secure, want", PROCESS, ids=["bare-vs-qualified", "shell-vs-argv", "try-pass"])
def test_a_process_without_a_shell_or_a_passed_exception_weighs_under_the_margin(insecure, secure, want):
    from codefavor.evidence.security import MINOR_WEIGHT, compare_security, findings, score

    minor = [f for f in findings(secure)[0] if f.kind in ("process", "quality")]
    assert minor and 0 < score(minor) <= 2 * MINOR_WEIGHT and max(f.weight for f in minor) <= MINOR_WEIGHT
    ab, ba = compare_security(secure, insecure).decision, compare_security(insecure, secure).decision
    assert (ab, ba) == (("undecided", "undecided") if want == "undecided" else ("A", "B"))


# A wrapper that hands its caller's `shell=` on runs no shell of its own; a literal shell=True still
# counts, on a subprocess call and on any other function (B602, B604).
SHELL_PASSED = [
    ("def spawn(args, **kw):\n    return Popen(args, **kw)\n",
     "def spawn(args, shell=False, **kw):\n    return Popen(args, shell=shell, **kw)\n", "undecided"),
    ("import subprocess\ndef spawn(self, args):\n    return subprocess.Popen(args, shell=self.shell)\n",
     "import subprocess\ndef spawn(self, args):\n    return subprocess.Popen(args)\n", "undecided"),
    ("def kill(name):\n    return Popen('kill ' + name, stdout=PIPE, shell=True)\n",
     "def kill(name):\n    return Popen(['kill', name], stdout=PIPE)\n", "secure"),
]  # fmt: skip


@pytest.mark.parametrize("one, other, want", SHELL_PASSED, ids=["wrapper-adds-switch", "attribute", "literal"])
def test_a_shell_switch_handed_on_is_no_finding_and_a_literal_one_is(one, other, want):
    from codefavor.evidence.security import compare_security

    ab, ba = compare_security(other, one).decision, compare_security(one, other).decision
    assert (ab, ba) == (("undecided", "undecided") if want == "undecided" else ("A", "B"))


def test_a_masked_password_is_no_hard_coded_secret_and_a_real_one_is():
    from codefavor.evidence.security import findings

    masked = "def show(cfg):\n    safe = {**cfg, 'password': '******'}\n    log.info('config: %s', safe)\n"
    assert not [f for f in findings(masked)[0] if f.kind == "hard-coded-secret"]
    real = "def connect():\n    password = 'hunter22'\n    return db(password)\n"
    assert [f for f in findings(real)[0] if f.kind == "hard-coded-secret"]
