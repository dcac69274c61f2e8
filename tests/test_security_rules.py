"""Every security rule beyond Bandit on a hand-written insecure snippet (it must fire) and its
secure counterpart (it must not): both directions, one table."""

from __future__ import annotations

import pytest

from codefavor.evidence.security_rules import RULES, rule_findings, rule_score

# rule -> (insecure snippet, secure snippet); snippets are functions cut out of files: no imports.
TABLE: dict[str, list[tuple[str, str]]] = {
    "path-traversal": [
        ("def read(name):\n    path = os.path.join('/srv/files', name)\n    with open(path) as f:\n        return f.read()\n",
         "def read(name):\n    base = os.path.realpath('/srv/files')\n    path = os.path.realpath(os.path.join(base, name))\n"
         "    if not path.startswith(base + os.sep):\n        raise ValueError(name)\n    with open(path) as f:\n        return f.read()\n"),
        ("def get(filename):\n    return send_file(UPLOADS / filename)\n",
         "def get(filename):\n    return send_file(UPLOADS / secure_filename(filename))\n"),
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
    assert rule_score(rule_findings(insecure)) > rule_score(rule_findings(secure))


def test_findings_are_counted_once_per_rule_and_module():
    code = "def a(b):\n    pickle.loads(b)\n    pickle.loads(b)\n    return pickle.load(b)\n"
    (f,) = rule_findings(code)
    assert (f.rule, f.count, f.line) == ("unsafe-deserialization", 3, 2)


def test_weights_rank_injection_far_above_deprecation():
    assert RULES["sql-built"][2] >= 10 * RULES["deprecated-wrap-socket"][2]
    dep = rule_score(rule_findings(TABLE["deprecated-wrap-socket"][0][0]))
    inj = rule_score(rule_findings(TABLE["yaml-unsafe-load"][0][0]))
    assert inj > dep * 10


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
    assert rule_findings("def opts(poll):\n    return queryOne(c, 'SELECT o FROM t WHERE name=?', (poll,))\n") == []
