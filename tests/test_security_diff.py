"""Every differential hardening rule on a hand-written pair: the weaker snippet and its hardened edit.
The rule must count the mark on the side its direction says (and not on the other), and the vote
must pick the hardened side in both orders: one table, both directions."""

from __future__ import annotations

import pytest

from codefavor.evidence.security_diff import HARDENING, compare_marks, marks

# rule -> [(weaker snippet, hardened snippet)]; functions cut out of files: no imports.
TABLE: dict[str, list[tuple[str, str]]] = {
    "raise-on-check": [
        ("def load(n):\n    return DATA[n]\n",
         "def load(n):\n    if n not in DATA:\n        raise KeyError(n)\n    return DATA[n]\n"),
    ],
    "deny-response": [
        ("def view(req, doc):\n    return render(doc)\n",
         "def view(req, doc):\n    if doc.owner != req.user:\n        abort(403)\n    return render(doc)\n"),
    ],
    "type-check": [
        ("def put(key, value):\n    store[key] = value\n",
         "def put(key, value):\n    if isinstance(key, str):\n        store[key] = value\n"),
    ],
    "length-limit": [
        # how often a caller may try: a rate limit, bare or called
        ("def login(req):\n    return auth(req)\n", "@ratelimit\ndef login(req):\n    return auth(req)\n"),
        ("def reset(req):\n    return send_mail(req)\n", "def reset(req):\n    throttle(req, 'reset')\n    return send_mail(req)\n"),
        ("def save(body):\n    db.write(body)\n",
         "def save(body):\n    if len(body) <= 4096:\n        db.write(body)\n"),
        ("def login(user, pw):\n    return user.check(pw)\n",
         "def login(user, pw):\n    if user.failures < MAX_FAILURES:\n        return user.check(pw)\n"),
    ],
    "escaping": [
        ("def greet(name):\n    return '<b>' + name + '</b>'\n",
         "def greet(name):\n    return '<b>' + html.escape(name) + '</b>'\n"),
        ("def comment(text):\n    return render(text)\n", "def comment(text):\n    return render(bleach.clean(text))\n"),
        ("def avatar(url, name):\n    return '<img src=\"%s\" alt=\"%s\">' % (url, name)\n",
         "def avatar(url, name):\n    return format_html('<img src=\"{}\" alt=\"{}\">', url, name)\n"),
        ("def search(req):\n    return {'q': req.GET.get('q', '')}\n",
         "def search(req):\n    return {'q': antixss(req.GET.get('q', ''))}\n"),
        # by hand: a special character replaced by its entity or a backslash escape, or dropped
        ("def say(msg):\n    return '<p>%s</p>' % msg.strip()\n",
         "def say(msg):\n    return '<p>%s</p>' % msg.strip().replace('<', '&lt;').replace('>', '&gt;')\n"),
        ("def js(name):\n    return 'var n = \"' + name + '\";'\n",
         "def js(name):\n    return 'var n = \"' + name.replace('\"', '\\\\\"') + '\";'\n"),
        # an escaper handed on: an encoder for HTML, a table of escapes
        ("def link(q):\n    return '<a href=\"/s?q=' + q + '\">'\n", "def link(q):\n    return '<a href=\"/s?q=' + url_quote(q) + '\">'\n"),
        ("def ctx(v):\n    return {'data': mark_safe(json.dumps(v))}\n", "def ctx(v):\n    return {'data': json_script(v, 'data')}\n"),
        ("def page(data):\n    return render('p.html', {'data': json.dumps(data)})\n",
         "def page(data):\n    return render('p.html', {'data': json.dumps(data, cls=JSONEncoderForHTML)})\n"),
        ("def inline(v):\n    return mark_safe(json.dumps(v))\n",
         "def inline(v):\n    return mark_safe(json.dumps(v).translate(_js_escapes))\n"),
        ("def chat(text):\n    send('<p>' + text + '</p>')\n",
         "def chat(text):\n    send('<p>' + text.translate(None, '<>') + '</p>')\n"),  # Python 2's deletechars
        ("def audit(user):\n    log.info('login ' + user)\n",  # a line break dropped: no forged log line
         "def audit(user):\n    log.info('login ' + user.replace('\\n', '').replace('\\r', ' '))\n"),
        ("def lookup(d):\n    return TemplateLookup(directories=d)\n",  # Mako's `h` on every expression
         "def lookup(d):\n    return TemplateLookup(directories=d, default_filters=['unicode', 'h'])\n"),
    ],
    "path-containment": [
        ("def unpack(tar, d):\n    for m in tar.getmembers():\n        tar.extract(m, d)\n",
         "def unpack(tar, d):\n    for m in tar.getmembers():\n        if not m.issym():\n            tar.extract(m, d)\n"),
        ("def fetch(name):\n    return send_file(os.path.join(ROOT, name))\n",
         "def fetch(name):\n    return send_file(safe_join(ROOT, name))\n"),
        ("def fetch(name):\n    p = os.path.join(ROOT, name)\n    return open(p)\n",
         "def fetch(name):\n    p = os.path.realpath(os.path.join(ROOT, name))\n    return open(p)\n"),
        ("def upload(f):\n    f.save(os.path.join(UPLOADS, f.filename))\n",
         "def upload(f):\n    f.save(os.path.join(UPLOADS, os.path.basename(f.filename)))\n"),
        ("def get(name):\n    return send_file(UPLOADS + '/' + name)\n", "def get(name):\n    return send_from_directory(UPLOADS, name)\n"),
        ("def download(f):\n    return send(f)\n",
         "def download(f):\n    if '..' in f or os.path.isabs(f):\n        return 'invalid_file'\n    return send(f)\n"),
        ("def inside(p, root):\n    return str(p).startswith(str(root))\n",
         "def inside(p, root):\n    return _is_relative_to(p, root)\n"),
    ],
    "constant-time-compare": [
        ("def ok(sig, want):\n    return sig == want\n", "def ok(sig, want):\n    return hmac.compare_digest(sig, want)\n"),
        ("def check(self, token):\n    return self.xsrf_token == token\n",
         "def check(self, token):\n    return _time_independent_equals(self.xsrf_token, token)\n"),
    ],
    "authorisation": [
        ("def delete(req, obj):\n    obj.delete()\n",
         "def delete(req, obj):\n    if req.user.has_perm('delete', obj):\n        obj.delete()\n"),
        ("def panel(req):\n    return page(req)\n", "def panel(req):\n    return page(req) if req.user.is_superuser else None\n"),
        ("@app.route('/admin')\ndef admin():\n    return page()\n",
         "@app.route('/admin')\n@login_required\ndef admin():\n    return page()\n"),
        ("class Report(APIView):\n    pass\n", "class Report(APIView):\n    permission_classes = (IsAuthenticated,)\n"),
        # a record looked up by its id only among the requester's own
        ("def invoice(request, pk):\n    return get_object_or_404(Invoice, pk=pk)\n",
         "def invoice(request, pk):\n    return get_object_or_404(Invoice, pk=pk, owner=request.user)\n"),
        ("def note(nid):\n    return Note.query.filter_by(id=nid).first()\n",
         "def note(nid):\n    return Note.query.filter_by(id=nid, user_id=current_user.id).first()\n"),
        # Zope's declarations: a method no URL may call, or one only a permission may
        ("def manage_edit(self, data):\n    self.data = data\n",
         "@security.private\ndef manage_edit(self, data):\n    self.data = data\n"),
        ("class Tool:\n    security = ClassSecurityInfo()\n",
         "class Tool:\n    security = ClassSecurityInfo()\n    security.declareProtected(ManagePortal, 'edit')\n"),
    ],
    "safe-parser": [
        ("def conf(text):\n    return parse(text)\n", "def conf(text):\n    return ast.literal_eval(text)\n"),
        ("from xml.etree import ElementTree as ET\ndef doc(t):\n    return ET.fromstring(t)\n",
         "from defusedxml import ElementTree as ET\ndef doc(t):\n    return ET.fromstring(t)\n"),
        ("class Loader(yaml.Loader):\n    pass\n", "class Loader(yaml.SafeLoader):\n    pass\n"),
        ("def conf(text):\n    return YAML().load(text)\n", "def conf(text):\n    return YAML(typ='safe').load(text)\n"),
    ],
    "validation": [
        ("def attr(obj, name):\n    return getattr(obj, name)\n",
         "def attr(obj, name):\n    if not name.startswith('_'):\n        return getattr(obj, name)\n"),
        ("def set_mail(u, addr):\n    u.mail = addr\n", "def set_mail(u, addr):\n    validate_email(addr)\n    u.mail = addr\n"),
        ("def inject(fs, name):\n    return os.path.join(fs, name)\n",
         "def inject(fs, name):\n    return _join_and_check_path_within_fs(fs, name)\n"),
        # named for a check by two words, or a validators module's call
        ("def entry(root, name):\n    return root / name\n",
         "def entry(root, name):\n    if is_safe_path_component(name):\n        return root / name\n"),
        ("def assign(obj, key, v):\n    obj[key] = v\n", "def assign(obj, key, v):\n    _raise_if_restricted_key(key)\n    obj[key] = v\n"),
        ("def go(target):\n    return fetch(target)\n",
         "def go(target):\n    if validators.domain(target.netloc):\n        return fetch(target)\n"),
    ],
    "allowlist": [
        ("def redirect_to(url):\n    return redirect(url)\n",
         "def redirect_to(url):\n    return redirect(url) if urlparse(url).netloc in ALLOWED_HOSTS else None\n"),
        ("def fetch(host):\n    return get(host)\n",
         "def fetch(host):\n    if host in BLOCKED_HOSTS:\n        return None\n    return get(host)\n"),
        ("def agent(reactor):\n    return Agent(reactor)\n",
         "def agent(reactor, cfg):\n    return Agent(Wrapper(reactor, ip_blacklist=cfg.ip_blacklist))\n"),
    ],
    "parameterised-query": [
        ("def poll(c, name):\n    req = 'SELECT o FROM t WHERE name = ' + name\n    return queryOne(req)\n",
         "def poll(c, name):\n    req = 'SELECT o FROM t WHERE name = ?'\n    return queryOne(c, req, (name,))\n"),
        ("def seen(ids):\n    insert_db('UPDATE t SET seen = 1 WHERE ' + ' OR '.join('id=' + str(i) for i in ids))\n",
         "def seen(ids):\n    insert_db('UPDATE t SET seen = 1 WHERE ' + ' OR '.join(['id = ?'] * len(ids)), ids)\n"),
        ("def first(db, s):\n    return db.exec(\"SELECT d FROM m WHERE s = '%s'\" % s)\n",
         "def first(db, s):\n    return db.exec('SELECT d FROM m WHERE s = ?', s)\n"),
        ("def rows(cur, table):\n    cur.execute('SELECT * FROM %s' % table)\n",
         "def rows(cur, table):\n    cur.execute(sql.SQL('SELECT * FROM {}').format(sql.Identifier(table)))\n"),
        ("def get(conn, n):\n    return conn.execute(text(\"SELECT * FROM u WHERE n = '%s'\" % n))\n",
         "def get(conn, n):\n    return conn.execute(text('SELECT * FROM u WHERE n = :n').bindparams(n=n))\n"),
    ],
    "request-method-check": [
        ("def prefs(self, action):\n    if action == 'save':\n        self.store()\n",
         "def prefs(self, action):\n    if request.method == 'POST' and action == 'save':\n        self.store()\n"),
        ("def keys(self, form, action):\n    if action == 'add':\n        self.add(form.key)\n",
         "def keys(self, form, action):\n    if action == 'add' and form.is_submitted():\n        self.add(form.key)\n"),
    ],
    "url-validation": [
        ("def done(req):\n    return redirect(req.args.get('next'))\n", "def done(req):\n    return redirect(url_for('index'))\n"),
        ("def fetch(url):\n    return requests.get(url)\n",
         "def fetch(url):\n    ip = ipaddress.ip_address(socket.gethostbyname(urlsplit(url).hostname))\n"
         "    if not ip.is_private:\n        return requests.get(url)\n"),
        ("def login(req):\n    to = req.GET.get('next', '/')\n    return redirect(to)\n",
         "def login(req):\n    to = req.GET.get('next', '/')\n    if not url_has_allowed_host_and_scheme(to, ALLOWED):\n"
         "        to = '/'\n    return redirect(to)\n"),
        ("def back_link(req, data):\n    data['back'] = req.GET.get('back')\n",
         "def back_link(req, data):\n    back = req.GET.get('back')\n    if back and urlparse(back).scheme == '':\n"
         "        data['back'] = back\n"),
    ],
    "control-char-check": [
        ("def header(resp, v):\n    resp.headers['X-Name'] = v\n",
         "def header(resp, v):\n    if '\\n' in v or '\\r' in v:\n        return\n    resp.headers['X-Name'] = v\n"),
    ],
    "strong-random": [
        ("def token():\n    return '%030x' % random.randrange(16**30)\n", "def token():\n    return secrets.token_hex(15)\n"),
        ("def salt():\n    return bytes(random.getrandbits(8) for _ in range(16))\n", "def salt():\n    return os.urandom(16)\n"),
    ],
    "end-of-options": [
        ("def clone(url, dest):\n    run(['git', 'clone', url, dest])\n", "def clone(url, dest):\n    run(['git', 'clone', '--', url, dest])\n"),
    ],
    "restricted-eval": [
        ("def render(src, ctx):\n    return Environment().from_string(src).render(ctx)\n",
         "def render(src, ctx):\n    return SandboxedEnvironment().from_string(src).render(ctx)\n"),
        ("def jobs(expr, n):\n    return eval(expr)\n", "def jobs(expr, n):\n    return eval(expr, {'n': n, '__builtins__': {}}, {})\n"),
    ],
    "security-header": [
        ("def headers(resp):\n    resp.headers['Server'] = 'x'\n",
         "def headers(resp):\n    resp.headers['X-Frame-Options'] = 'DENY'\n"),
    ],
    "parameterised-log": [
        ("def login(user):\n    log.info(f'login {user}')\n", "def login(user):\n    log.info('login %s', user)\n"),
        ("def fail(e):\n    logger.error('failed: ' + str(e))\n", "def fail(e):\n    logger.error('failed: %s', e)\n"),
    ],
    "safe-option": [
        ("def download(path):\n    return send_file(path)\n", "def download(path):\n    return send_file(path, as_attachment=True)\n"),
        ("def get(url):\n    return requests.get(url)\n", "def get(url):\n    return requests.get(url, timeout=10)\n"),
        ("def cookie(resp, v):\n    resp.set_cookie('s', v)\n", "def cookie(resp, v):\n    resp.set_cookie('s', v, httponly=True)\n"),
        ("def parser():\n    return etree.XMLParser()\n", "def parser():\n    return etree.XMLParser(resolve_entities=False)\n"),
        ("def ctx():\n    return ssl.create_default_context()\n",
         "def ctx():\n    c = ssl.create_default_context()\n    c.verify_mode = ssl.CERT_REQUIRED\n    return c\n"),
        ("def doc(t):\n    return defused.fromstring(t)\n", "def doc(t):\n    return defused.fromstring(t, forbid_dtd=True)\n"),
        ("def errors(form):\n    return bad_request(form.errors.as_json())\n",
         "def errors(form):\n    return bad_request(form.errors.as_json(escape_html=True))\n"),
        ("def env(opts):\n    o = dict(opts)\n    return Environment(**o)\n",
         "def env(opts):\n    o = {'autoescape': True}\n    o.update(opts)\n    return Environment(**o)\n"),
        ("def serve(app):\n    return Server(app)\n", "def serve(app):\n    return Server(app, max_body_size=10 * 2**20)\n"),
        ("def unpack(t, d):\n    tarfile.open(t).extractall(d)\n", "def unpack(t, d):\n    tarfile.open(t).extractall(d, filter='data')\n"),
        ("def pref(key):\n    return Response(json.dumps({'key': key}))\n",
         "def pref(key):\n    return Response(json.dumps({'key': key}), mimetype='application/json')\n"),
        # a JWT's algorithms named, its checks kept on; a socket that gives up on a silent peer
        ("def claims(t, k):\n    return jwt.decode(t, k)\n", "def claims(t, k):\n    return jwt.decode(t, k, algorithms=['HS256'])\n"),
        ("def claims(t, k):\n    return jwt.decode(t, k, options={'verify_exp': False})\n",
         "def claims(t, k):\n    return jwt.decode(t, k, options={'verify_exp': True})\n"),
        ("def dial(addr):\n    s = socket.create_connection(addr)\n    return s\n",
         "def dial(addr):\n    s = socket.create_connection(addr)\n    s.settimeout(30)\n    return s\n"),
    ],
    "argv-command": [
        ("def rm(name):\n    cmd = ['rm'] + [name]\n    return cmd\n", "def rm(name):\n    cmd = ['rm', '-f', name]\n    return cmd\n"),
        # a template with its values handed over apart: the runner quotes them
        ("def run(line):\n    return subprocess.run(line, shell=True)\n",
         "def run(line):\n    return subprocess.run(shlex.split(line))\n"),
        ("def lookup(host, name):\n    return host.run('nslookup ' + name)\n",
         "def lookup(host, name):\n    return host.run('nslookup %s', name)\n"),
    ],
    "dangerous-call": [
        ("def calc(expr):\n    return eval(expr)\n", "def calc(expr):\n    return float(expr)\n"),
        ("def label(bits):\n    return mark_safe('<br>'.join(bits))\n", "def label(bits):\n    return ' | '.join(bits)\n"),
        ("def restore(blob):\n    return pickle.loads(blob)\n", "def restore(blob):\n    return json.loads(blob)\n"),
    ],
    "unsafe-option": [
        ("def show(t, ctx):\n    return Environment(autoescape=False).from_string(t).render(ctx)\n",
         "def show(t, ctx):\n    return Environment().from_string(t).render(ctx)\n"),
        ("def parse(t):\n    return etree.XMLParser(resolve_entities=True)\n", "def parse(t):\n    return etree.XMLParser()\n"),
        ("def ctx():\n    c = ssl.create_default_context()\n    c.check_hostname = False\n    c.verify_mode = ssl.CERT_NONE\n    return c\n",
         "def ctx():\n    return ssl.create_default_context()\n"),
    ],
    "spliced-sql": [
        ("def find(c, n):\n    return c.run(\"SELECT * FROM u WHERE n = '{}'\".format(n))\n",
         "def find(c, n):\n    return c.run('SELECT * FROM u WHERE n = :n', n=n)\n"),
        ("def drop(db, uid):\n    q = f\"DELETE FROM users WHERE id = '{uid}'\"\n    db.send(q)\n",
         "def drop(db, uid):\n    q = 'DELETE FROM users WHERE id = :uid'\n    db.send(q, uid=uid)\n"),
        # a bare condition handed to an ORM's filter: no SQL keyword, still a value spliced into quotes
        ("def find(s, n):\n    return s.query(User).filter(\"name = '%s'\" % n).all()\n",
         "def find(s, n):\n    return s.query(User).filter(User.name == n).all()\n"),
    ],
    "untrusted-search-path": [
        ("def config_paths(self):\n    return [os.getcwd()]\n", "def config_paths(self):\n    return []\n"),
    ],
    "string-command": [
        ("def host(self, name):\n    return self._cli_run('showhost -verbose %s' % name)\n",
         "def host(self, name):\n    return self._cli_run(['showhost', '-verbose', name])\n"),
        ("def rm(name):\n    ssh_cmd = f'svctask rmvdisk {name}'\n    return run_ssh(ssh_cmd)\n",
         "def rm(name):\n    ssh_cmd = ['svctask', 'rmvdisk', name]\n    return run_ssh(ssh_cmd)\n"),
        # a runner looked up in a table by name: named by its key
        ("def grain(k):\n    return __salt__['cmd.run']('salt-call grains.get {0}'.format(k))\n",
         "def grain(k):\n    return __salt__['cmd.run'](['salt-call', 'grains.get', k])\n"),
    ],
    "html-built": [
        ("def badge(name):\n    return '<b class=\"user\">' + name + '</b>'\n",
         "def badge(name):\n    return format_html('<b class=\"user\">{}</b>', name)\n"),
        ("def link(page, mode):\n    return page + '&mode=' + mode\n", "def link(page, mode):\n    return page + '&mode={{ mode }}'\n"),
    ],
    "swallowed-failure": [
        ("def check(pub, sig, data):\n    try:\n        verify(pub, sig, data)\n    except InvalidSignature:\n"
         "        log.error('bad signature')\n    return data\n",
         "def check(pub, sig, data):\n    verify(pub, sig, data)\n    return data\n"),
    ],
    "joined-path": [  # the caller's name put under a base as is, against a helper that resolves it
        ("def remove(self, key):\n    self.store.delete(os.path.join(self.root, key))\n",
         "def remove(self, key):\n    self.store.delete(self._key_path(key))\n"),
        ("def read(base, name):\n    return Path(base).joinpath(name).read_text()\n",
         "def read(base, name):\n    return (Path(base) / Path(name).name).read_text()\n"),
        # a sanitised name joined is no raw join
        ("def upload(f):\n    f.save(os.path.join(UPLOADS, f.filename))\n",
         "def upload(f):\n    f.save(os.path.join(UPLOADS, secure_filename(f.filename)))\n"),
    ],
    "error-echo": [
        ("def get(self, n):\n    try:\n        n = int(n)\n    except ValueError as e:\n"
         "        self.response.write(str(e))\n        return\n    self.show(n)\n",
         "def get(self, n):\n    try:\n        n = int(n)\n    except ValueError:\n"
         "        self.response.write('invalid number')\n        return\n    self.show(n)\n"),
        ("def api(req):\n    try:\n        return ok(run(req))\n    except Exception as exc:\n"
         "        return JsonResponse({'error': repr(exc)}, status=500)\n",
         "def api(req):\n    try:\n        return ok(run(req))\n    except Exception as exc:\n"
         "        log.exception(exc)\n        return JsonResponse({'error': 'internal error'}, status=500)\n"),
    ],
    "safe-tempfile": [
        ("def scratch():\n    d = os.path.join(gettempdir(), 'work')\n    os.makedirs(d)\n    return d\n",
         "def scratch():\n    return tempfile.mkdtemp()\n"),
        ("def spool(data):\n    with open('/var/tmp/spool.txt', 'w') as f:\n        f.write(data)\n",
         "def spool(data):\n    with NamedTemporaryFile('w', delete=False) as f:\n        f.write(data)\n"),
    ],
    "restrictive-mode": [
        ("def key_file(p, k):\n    with open(p, 'w') as f:\n        f.write(k)\n",
         "def key_file(p, k):\n    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)\n    os.write(fd, k)\n"),
        ("def daemon():\n    os.umask(0o022)\n", "def daemon():\n    os.umask(0o077)\n"),
        ("def lock(p):\n    return os.open(p, os.O_CREAT | os.O_WRONLY)\n",
         "def lock(p):\n    return os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)\n"),
    ],
    "password-hashing": [
        ("def store(user, pw):\n    user.pw = sha256(pw.encode()).hexdigest()\n",
         "def store(user, pw):\n    user.pw = bcrypt.hashpw(pw.encode(), bcrypt.gensalt())\n"),
        ("def store(user, pw):\n    user.pw = md5(pw).hexdigest()\n", "def store(user, pw):\n    user.pw = make_password(pw)\n"),
    ],
    "permissive-mode": [
        ("def share(p):\n    os.makedirs(p, mode=0o777)\n", "def share(p):\n    os.makedirs(p, mode=0o750)\n"),
        ("def share(p):\n    Path(p).chmod(0o666)\n", "def share(p):\n    Path(p).chmod(0o640)\n"),
    ],
    "auth-exempt": [
        ("@csrf_exempt\ndef hook(req):\n    return save(req)\n", "def hook(req):\n    return save(req)\n"),
        ("class Export(APIView):\n    permission_classes = [AllowAny]\n",
         "class Export(APIView):\n    permission_classes = [IsAuthenticated]\n"),
    ],
    "template-unescaped": [
        ("def card(n):\n    return render_template_string('<p>{{ n|safe }}</p>', n=n)\n",
         "def card(n):\n    return render_template_string('<p>{{ n }}</p>', n=n)\n"),
        ("def page(body):\n    return Template('{% autoescape off %}{{ body }}{% endautoescape %}').render(body=body)\n",
         "def page(body):\n    return Template('{{ body }}').render(body=body)\n"),
    ],
    "markup-built": [
        ("def bold(n):\n    return Markup('<b>' + n + '</b>')\n", "def bold(n):\n    return Markup('<b>%s</b>') % n\n"),
        ("def cell(v):\n    return mark_safe(f'<td>{v}</td>')\n", "def cell(v):\n    return format_html('<td>{}</td>', v)\n"),
    ],
    "sanitised-markup": [
        ("def render(text):\n    html = markdown(strip_tags(text))\n    return mark_safe(html)\n",
         "def render(text):\n    html = markdown(text)\n    html = clean_html(html)\n    return mark_safe(html)\n"),
        ("def note(body):\n    out = to_html(body)\n    return Markup(out)\n",
         "def note(body):\n    out = bleach.clean(to_html(body))\n    return Markup(out)\n"),
        # cleaned, then turned into markup again: the cleaning came too early; the fix cleans the result
        ("def render(text):\n    html = strip_tags(text)\n    html = markdown(html)\n    return mark_safe(html)\n",
         "def render(text):\n    return mark_safe(clean_html(markdown(text)))\n"),
    ],
    "pickle-written": [
        ("def save(model, path):\n    with open(path, 'wb') as f:\n        pickle.dump(model.to_dict(), f)\n",
         "def save(model, path):\n    with open(path, 'w') as f:\n        json.dump(model.to_dict(), f)\n"),
        ("def cache(key, value):\n    r.set(key, cPickle.dumps(value))\n", "def cache(key, value):\n    r.set(key, json.dumps(value))\n"),
    ],
    "session-rotation": [
        ("def login(req, user):\n    req.session['uid'] = user.id\n",
         "def login(req, user):\n    req.session.cycle_key()\n    req.session['uid'] = user.id\n"),
        ("def logout(self):\n    self.app.forget(cherrypy.session)\n",
         "def logout(self):\n    self.app.forget(cherrypy.session)\n    cherrypy.session.regenerate()\n"),
        ("def logout(request):\n    request.user = None\n", "def logout(request):\n    request.session.flush()\n"),
    ],
    "credential-stripped": [
        ("def follow(req, url):\n    req.url = url\n    return req\n",
         "def follow(req, url):\n    req.url = url\n    req.headers.pop('Authorization', None)\n    return req\n"),
        ("def follow(req, url):\n    return req.replace(url=url)\n",
         "def follow(req, url):\n    new = req.replace(url=url)\n    del new.headers[b'Cookie']\n    return new\n"),
    ],
    "unbounded-read": [
        ("def image(upload):\n    return Image.open(BytesIO(upload.read()))\n", "def image(upload):\n    return Image.open(upload)\n"),
        ("def inflate(data):\n    return zlib.decompress(data)\n",
         "def inflate(data):\n    d = zlib.decompressobj()\n    out = d.decompress(data, MAX)\n    if d.unconsumed_tail:\n"
         "        raise ValueError('too big')\n    return out\n"),
        ("def body(raw):\n    return gzip.GzipFile(fileobj=io.BytesIO(raw)).read()\n",
         "def body(raw):\n    return gzip.GzipFile(fileobj=io.BytesIO(raw)).read(LIMIT)\n"),
    ],
    "unbounded-cache": [
        ("@lru_cache(None)\ndef build(handler, apps):\n    return wrap(handler, apps)\n",
         "def build(handler, apps):\n    return wrap(handler, apps)\n"),
        ("@functools.cache\ndef lookup(name):\n    return find(name)\n",
         "@functools.lru_cache(maxsize=256)\ndef lookup(name):\n    return find(name)\n"),
    ],
    "secret-logged": [
        ("def connect(user, password):\n    log.debug('connecting %s with %s', user, password)\n    return db(user, password)\n",
         "def connect(user, password):\n    log.debug('connecting %s', user)\n    return db(user, password)\n"),
        ("def start(cfg):\n    logger.info('config: %r', cfg.api_key)\n", "def start(cfg):\n    logger.info('config loaded')\n"),
    ],
}  # fmt: skip

CASES = [(rule, i, weak, hard) for rule, pairs in TABLE.items() for i, (weak, hard) in enumerate(pairs)]


def test_every_rule_has_a_row():
    assert set(TABLE) == set(HARDENING)


@pytest.mark.parametrize(("rule", "i", "weak", "hard"), CASES, ids=[f"{r}-{i}" for r, i, _, _ in CASES])
def test_rule_counts_its_mark_and_the_vote_picks_the_hardened_side(rule, i, weak, hard):
    mw, mh = marks(weak), marks(hard)
    assert mw is not None and mh is not None
    direction = HARDENING[rule][0]
    assert (mh[rule] - mw[rule]) * direction > 0, (rule, dict(mw), dict(mh))
    assert compare_marks(hard, weak)[0] == "A", compare_marks(hard, weak)
    assert compare_marks(weak, hard)[0] == "B"
    assert any(v.endswith(rule) for v in compare_marks(hard, weak)[1])


def test_one_vote_per_rule_and_ties_stay_undecided():
    # three escapes against one raise: two rules differ, one vote each, so the pair ties
    escapes = "def f(x):\n    return escape(escape(escape(x)))\n"
    raises = "def f(x):\n    if not x:\n        raise ValueError(x)\n    return x\n"
    assert compare_marks(escapes, raises) == ("undecided", ["-raise-on-check", "+escaping"])
    same = "def f(x):\n    return escape(x)\n"
    assert compare_marks(same, same.replace("x", "y")) == ("undecided", [])


@pytest.mark.parametrize("code", ["def (:", "print 'py2' +", "\x00"])
def test_code_that_does_not_parse_decides_nothing(code):
    assert marks(code) is None
    assert compare_marks(code, "def f(x):\n    return escape(x)\n") == ("undecided", [])


def test_programs_run_with_arguments_are_no_parameterised_query_and_check_output_no_check():
    run = "def mk(d):\n    utils.execute('mkdir', '-p', d, run_as_root=True)\n"
    assert marks(run)["parameterised-query"] == 0
    assert marks("def f(code, ns):\n    exec(code, ns, ns)\n")["parameterised-query"] == 0  # the builtin runs code
    assert marks("def out(c):\n    return subprocess.check_output(c)\n")["validation"] == 0
    assert (
        marks("def ok(sig):\n    try:\n        verify(sig)\n    except InvalidSignature:\n        raise\n")[
            "swallowed-failure"
        ]
        == 0
    )  # re-raised: acted on


def test_queries_merged_into_one_parameterised_query_are_no_weaker():
    two = (
        "def purge(db, t):\n    rows = db.query('SELECT id FROM s WHERE at < ?', (t,))\n"
        "    for r in rows:\n        db.execute('DELETE FROM s WHERE id = ?', (r['id'],))\n"
    )
    one = "def purge(db, t):\n    db.execute('DELETE FROM s WHERE id IN (SELECT id FROM s WHERE at < ?)', (t,))\n"
    assert compare_marks(two, one) == ("undecided", [])  # both hand their values apart
    built = "def purge(db, t):\n    db.query('SELECT id FROM s WHERE at < ?', (t,))\n    db.execute(SQL % t)\n"
    assert compare_marks(two, built)[0] == "A"  # a query built from text: the parameterised side wins
    assert compare_marks("def f(db):\n    db.execute('DELETE FROM s')\n", one)[0] == "undecided"  # no values at all
    # keywords beside the one text: the connection is no parameter, `params=` is
    spliced = "def get(conn, i):\n    return pd.read_sql_query('SELECT * FROM t WHERE id = ' + str(i), con=conn)\n"
    bound = "def get(conn, i):\n    return pd.read_sql_query('SELECT * FROM t WHERE id = ?', con=conn, params=(i,))\n"
    assert compare_marks(spliced, bound) == ("B", ["-parameterised-query"])
    assert compare_marks(spliced, bound.replace("con=conn, params=", "conn, params="))[0] == "B"


def test_a_scheme_blocklist_is_no_url_check_and_a_fix_to_an_allowlist_wins():
    # `startswith('javascript:')` is what an allow-list fix replaces, and `startswith('data:')` reads a
    # Server-Sent Events line: neither is read as a URL check
    block = "def link(url):\n    if url.lower().startswith('javascript:'):\n        return ''\n    return '<a href=\"%s\">' % escape(url)\n"
    allow = ("def link(url):\n    if urlparse(url).scheme not in ('http', 'https'):\n        return ''\n"
             "    return '<a href=\"%s\">' % escape(url)\n")  # fmt: skip
    assert compare_marks(block, allow) == ("B", ["-url-validation"])
    assert (
        marks("def event(line):\n    if line.startswith('data:'):\n        return line[5:]\n")["url-validation"] == 0
    )


@pytest.mark.parametrize(
    "code, rule, n",
    [
        ("def f(password):\n    log.info('pw %s', password)\n", "secret-logged", 1),
        ("def f(password):\n    log.info(f'pw {password}')\n", "secret-logged", 1),
        ("def f(password):\n    log.info('pw {}'.format(password))\n", "secret-logged", 1),
        ("def f(password):\n    log.info('pw %s', password or '')\n", "secret-logged", 1),
        ("def f(u, password):\n    log.info(' '.join([u, password]))\n", "secret-logged", 1),
        ("def f(password):\n    log.info('h %s', hash_password(password))\n", "secret-logged", 0),
        ("def f(password):\n    log.info('%s', '*' * len(password))\n", "secret-logged", 0),
        # what a call or a test makes of a secret is not the secret: a masking or a length
        ("def f(password):\n    log.info('len %d', len(password))\n", "secret-logged", 0),
        ("def f(password):\n    log.info('m %s', mask(password))\n", "secret-logged", 0),
        ("def f(cfg):\n    log.info('set %s', cfg.password is not None)\n", "secret-logged", 0),
        ("def f(t, k):\n    return jwt.decode(t, k, algorithms=['HS256'])\n", "safe-option", 1),
        ("def f(t, k):\n    return jwt.decode(t, k, algorithms=['none'])\n", "safe-option", 0),
        ("def f(t, k):\n    return jwt.decode(t, k, algorithms=['none'])\n", "unsafe-option", 1),
        ("def f(up):\n    return BytesIO(up.read())\n", "unbounded-read", 1),
        ("def f():\n    return StringIO(sys.stdin.read())\n", "unbounded-read", 0),  # the caller's own input
        ("def f(d):\n    return zlib.decompressobj().decompress(d, 4096)\n", "unbounded-read", 0),
        ("def f(d):\n    return codec.decompress(d)\n", "unbounded-read", 0),  # not a module known to inflate whole
        ("def f(s):\n    return s not in RESTRICTED_SCHEMES\n", "allowlist", 1),  # a deny-list by another name
        ("@lru_cache(maxsize=None)\ndef f(x):\n    return x\n", "unbounded-cache", 1),
        ("@lru_cache\ndef f(x):\n    return x\n", "unbounded-cache", 0),  # bare: the default bound, 128
        ("@cache_page(60)\ndef f(request):\n    return x\n", "unbounded-cache", 0),
    ],
)
def test_what_a_mark_reads_and_what_it_leaves(code, rule, n):
    assert marks(code)[rule] == n


def test_a_method_cut_out_of_its_class_is_read_dedented():
    assert marks("    def f(self, x):\n        return escape(x)\n")["escaping"] == 1


def test_a_method_whose_string_dedent_cannot_shift_is_read_as_a_block():
    # a multi-line string with a line at column 0 keeps `textwrap.dedent` from moving the method
    weak = '    def page(self, err):\n        return """<pre>\n%s\n</pre>""" % err\n'
    hard = weak.replace("% err", "% html.escape(err)")
    assert marks(weak) is not None and marks(hard)["escaping"] == 1
    assert compare_marks(hard, weak)[0] == "A" and compare_marks(weak, hard)[0] == "B"


def test_the_guess_uses_the_table_before_adds_only():
    from codefavor.judges.evidence import guess

    weak, hard = TABLE["escaping"][0]
    assert guess("security", hard, weak) == ("A", "hardening")
    assert guess("security", weak, hard) == ("B", "hardening")
    assert guess("correctness", hard, weak)[1] != "hardening"  # security pairs only
    # a fix that only deletes: the lines it drops are a weakening mark, so the longer side loses
    weak, hard = TABLE["unbounded-cache"][0]
    assert guess("security", hard, weak) == ("A", "hardening")
    assert guess("security", weak, hard) == ("B", "hardening")
    assert guess("correctness", weak, hard) == ("A", "adds-only")


def test_logging_an_error_or_joining_constants_is_no_mark():
    logged = "def f(x):\n    try:\n        g(x)\n    except OSError as e:\n        log.error('failed: %s', e)\n        raise\n"
    assert marks(logged)["error-echo"] == 0
    assert marks("def f(p):\n    abort(404, _('No such page'))\n")["error-echo"] == 0  # a translated fixed message
    # a refusal that names what it refused is no echo of an error: most frameworks send the detail
    # as escaped JSON or keep it for the log (fresh CVE fixes: 1 right of 5 when it counted)
    assert marks("def f(t):\n    raise HTTPException(404, f'Thread {t} not found')\n")["error-echo"] == 0
    # a predicate named for a response is no response: the caught error is read, not sent
    caught = "def f(q, s):\n    try:\n        m = read(s)\n    except Truncated as e:\n        if not q.is_response(e.message()):\n            raise\n"
    assert marks(caught)["error-echo"] == 0
    assert marks("def f(name):\n    return os.path.join(ROOT, 'static', 'x.css')\n")["joined-path"] == 0
    assert marks("def f(name):\n    return os.path.join(name, 'x.css')\n")["joined-path"] == 0  # the base itself
    assert marks("def f(s):\n    return s.replace('a', '&amp;')\n")["escaping"] == 0  # no special character


def test_an_exemption_is_no_authorisation():
    m = marks("@csrf_exempt\ndef hook(req):\n    return csrf_exempt(view)\n")
    assert m["authorisation"] == 0 and m["auth-exempt"] == 2
    assert marks("@csrf_protect\ndef hook(req):\n    pass\n")["authorisation"] == 1
    assert marks("def f(order):\n    return order.is_tax_exempt()\n")["auth-exempt"] == 0  # not a security check


def test_modes_read_only_from_numbers_and_messages_with_quotes_are_no_sql():
    assert marks("def f(p, m):\n    os.chmod(p, m)\n")["permissive-mode"] == 0  # not a number: nothing read
    assert marks("def f(p):\n    open(p, 'w')\n")["restrictive-mode"] == 0  # the builtin's mode is no permission
    assert marks("def f(p):\n    os.chmod(p, 0o644)\n")["permissive-mode"] == 0  # others may read, not write
    assert marks("def f(n):\n    log.info(\"user '%s' logged in\" % n)\n")["spliced-sql"] == 0


def test_a_bound_counts_when_it_is_a_constant_and_character_predicates_are_checks():
    assert marks("def f(u, max_failed):\n    return u.failures >= max_failed\n")["length-limit"] == 0
    assert marks("def f(u):\n    return u.failures >= MAX_FAILED\n")["length-limit"] == 1
    assert marks("def f(uid):\n    return uid.isalnum()\n")["validation"] == 1


def test_html_built_by_a_chain_of_plus_counts_once():
    m = marks("def f(a, b):\n    return '<b>' + a + '</b><i>' + b + '</i>'\n")
    assert m is not None and m["html-built"] == 1


def test_python2_spellings_are_read_and_code_that_parses_is_left_as_is():
    weak = "def ping(host):\n\ttry:\n\t\tprint 'pinging', host\n\t\tos.system('ping ' + host)\n\texcept OSError, e:\n\t\tpass\n"
    hard = weak.replace("os.system('ping ' + host)", "subprocess.call(['ping', host])")
    assert marks(weak) is not None
    assert compare_marks(hard, weak)[0] == "A" and compare_marks(weak, hard)[0] == "B"
    # `print (x)` written with a space parses as Python 3 already: never rewritten
    assert marks("def f(x):\n    print (x)\n") is not None


def test_renewals_and_secrets_read_only_what_they_name():
    # a cache flushed or a thumbnail regenerated is no session renewed; no timeout is no bound
    assert marks("def f(cache):\n    cache.flush()\n    thumbs.regenerate()\n")["session-rotation"] == 0
    assert (
        marks("def f(db, row):\n    db.session.add(row)\n    db.session.flush()\n")["session-rotation"] == 0
    )  # SQLAlchemy's
    assert marks("def f(token, password_file):\n    log.info('%s %s', token, password_file)\n")["secret-logged"] == 0
    assert marks("def f(s):\n    s.settimeout(None)\n")["safe-option"] == 0
    plain = "def f(r):\n    r.headers.pop('Content-Type', None)\n    del r.headers['Content-Length']\n"
    assert marks(plain)["credential-stripped"] == 0
    # a parser's tokens, a dict's key: no secrets; a name alone is no check, nor one a URL rule reads
    assert marks("def f(token, key):\n    log.debug('token %s at %s', token, key)\n")["secret-logged"] == 0
    assert marks("def f(x):\n    return safe_str(x), raise_error(x)\n")["validation"] == 0
    assert marks("def f(u):\n    return is_safe_url(u)\n")["validation"] == 0
    # a record made for the requester is no lookup scoped to them
    assert marks("def f(request):\n    return Doc.objects.create(owner=request.user)\n")["authorisation"] == 0


def test_a_command_template_with_sql_or_without_values_is_no_argv_command():
    assert marks("def f(c, n):\n    c.execute('SELECT * FROM t WHERE id = %s', n)\n")["argv-command"] == 0
    assert marks("def f(host):\n    return host.run('uptime')\n")["argv-command"] == 0  # nothing handed over
    assert marks("def f(host, n):\n    return host.run('kill', n)\n")["argv-command"] == 0  # no placeholder


def test_pickle_written_twice_is_no_weaker_than_once():
    once = "def save(rows, f):\n    pickle.dump(rows, f)\n"
    twice = "def save(rows, f):\n    for r in rows:\n        pickle.dump(r, f)\n    pickle.dump('eof', f)\n"
    assert marks(once)["pickle-written"] == marks(twice)["pickle-written"] == 1
    assert compare_marks(once, twice) == ("undecided", [])


def test_unescaping_is_no_escaping_and_a_plain_split_no_argument_list():
    assert marks("def f(s):\n    return html.unescape(s)\n")["escaping"] == 0
    assert marks("def f(s):\n    return s.split()\n")["argv-command"] == 0


def test_a_command_bound_to_any_name_is_read_where_it_runs():
    weak = "def ping(host):\n    line = 'ping -c1 ' + host\n    return os.system(line)\n"
    hard = "def ping(host):\n    line = ['ping', '-c1', host]\n    return subprocess.call(line)\n"
    assert marks(weak)["string-command"] == 1 and marks(hard)["argv-command"] == 1
    assert compare_marks(hard, weak)[0] == "A" and compare_marks(weak, hard)[0] == "B"
    # a name like `cmd` is read where it is bound: once, not again where it runs
    assert marks(weak.replace("line", "cmd"))["string-command"] == 1
    assert marks("def f(host):\n    line = 'ping ' + host\n    return log.info(line)\n")["string-command"] == 0
    # bound in one function, run in another: two different names, no command
    apart = "def a(host):\n    line = 'ping ' + host\n    return line\n\n\ndef b(line):\n    os.system(line)\n"
    assert marks(apart)["string-command"] == 0
    # SQL bound and then executed is no shell command
    sql = "def f(uid, cur):\n    query = 'SELECT * FROM t WHERE id=' + uid\n    cur.execute(query)\n"
    assert marks(sql)["string-command"] == 0


def test_a_redirect_through_resolve_url_is_no_url_validation():
    assert marks("def v(request):\n    return redirect(resolve_url(request.GET['next']))\n")["url-validation"] == 0
    assert marks("def v(request):\n    return redirect(url_for('index'))\n")["url-validation"] == 1


def test_a_log_without_values_or_a_bare_info_call_is_no_parameterised_log():
    assert marks("def f():\n    log.info('started')\n")["parameterised-log"] == 0
    assert marks("def f(n):\n    info('n=%s', n)\n")["parameterised-log"] == 0  # no logger owns it


def test_a_private_name_filter_that_only_lists_is_no_validation():
    listing = "def public(o):\n    return [n for n in dir(o) if not n.startswith('_')]\n"
    refusing = "def attr(o, name):\n    if name.startswith('_'):\n        raise ValueError(name)\n    return getattr(o, name)\n"
    asserting = "def attr(o, name):\n    assert not name.startswith('__')\n    return getattr(o, name)\n"
    assert marks(listing)["validation"] == 0
    assert marks(refusing)["validation"] >= 1 and marks(asserting)["validation"] >= 1


def test_markup_over_what_another_name_or_scope_sanitised_is_no_sanitised_markup():
    assert (
        marks("def f(t):\n    s = clean(t)\n    h = markdown(t)\n    return mark_safe(h)\n")["sanitised-markup"] == 0
    )
    nested = "def f(t):\n    h = escape(t)\n    def g(h):\n        return Markup(h)\n    return g\n"
    assert marks(nested)["sanitised-markup"] == 0
    # the order counts: marked safe before it was cleaned, or rebound since
    before = "def f(h):\n    x = mark_safe(h)\n    h = clean_html(h)\n    return x\n"
    assert marks(before)["sanitised-markup"] == 0
    # marking the cleaned name in the statement that rebinds it marks what was cleaned
    same = "def f(t):\n    t = bleach.clean(t)\n    t = mark_safe(t)\n    return t\n"
    assert marks(same)["sanitised-markup"] == 1
    # any later binding forgets the cleaning: a loop target, a tuple, a walrus
    for rebind in ("    for h in items:\n        pass\n", "    h, g = g, h\n", "    if (h := g):\n        pass\n"):
        code = f"def f(h, g, items):\n    h = clean_html(h)\n{rebind}    return mark_safe(h)\n"
        assert marks(code)["sanitised-markup"] == 0, rebind
