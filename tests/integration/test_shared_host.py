"""test_shared_host.py: the shared-host bundle (make shared-host) uploaded
into an account under suEXEC, as DESIGN.md's "Shared-hosting bundle" says
and as a web person would do it.

The host is built for real: Debian's apache2-suexec-custom with its
docroot set to /home (its own config, /etc/apache2/suexec/www-data,
restored after), mod_cgid, mod_suexec, AllowOverride All, a VirtualHost
with SuexecUserGroup for an unprivileged account the test creates
(useradd, home under /home, removed after), and the host-wide defaults a
shared host may have: SetOutputFilter DEFLATE, ExpiresActive On with a
week's ExpiresDefault, Options Indexes.  Apache is a standalone instance
on a loopback port with its own configuration in a temporary folder; it
runs its workers as www-data, which alone may run the suEXEC wrapper.

The bundle is built into a private folder (make shared-host
SHARED_HOST_OBJ=... SHARED_HOST_OUT=...), handed to the account, and
copied into its home by the account itself with `cp -a`.  Then: the
bundle's layout, modes and libraries; health; the page with its security
headers; a streamed turn under the DEFLATE default; no max-age on API
answers; the extraction landing in intake/ as the account; the crontab
line, run as the account, catching up what a broken upload missed; and
each upload mistake named by `intake.cgi --check` run as the account.

Needs root (useradd, suEXEC, Apache's User); skipped otherwise.  Runs are
serialised by a lock file, since the suEXEC config is the system's.

    python3 tests/integration/test_shared_host.py

The last line printed is "integration_shared_host: N passed, N failed".
"""

import atexit
import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import TOP, collect, main  # noqa: E402

MAKE_TIMEOUT = 900          # an optimised build on a loaded machine
START_TIMEOUT = 30.0        # Apache answering
STOP_TIMEOUT = 10.0
LEAD_WAIT = 30.0            # an extraction landing
RUN_TIMEOUT = 60            # one program run as the account

SUEXEC_CONF = "/etc/apache2/suexec/www-data"
SUEXEC_BIN = "/usr/lib/apache2/suexec"
SUEXEC_LOG = "/var/log/apache2/suexec.log"
LOCK = os.path.join("/run/lock" if os.path.isdir("/run/lock") else "/tmp",
                    "intake-test-shared-host.lock")
# What a run has made outside its temporary folder (the account, suEXEC's
# config as it was, Apache's pid), so that the next run undoes it if this
# one was killed before its tear-down.
STATE = LOCK[:-len(".lock")] + ".state"
MODS = "/usr/lib/apache2/modules"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
WORD_DELAY_MS = 40
TEXT = ("Hi, my name is Maria Lopez. I was hurt in a car accident last "
        "week. You can reach me at 555-867-5309.")


def clean_env(**extra):
    """The environment without INTAKE_* and an outer make's variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INTAKE_") and k not in (
               "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD",
               "CFLAGS", "LDFLAGS", "LDLIBS", "HOME_DIR",
               "SHARED_HOST_OBJ", "SHARED_HOST_OUT")}
    env.update(extra)
    return env


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def tree(root):
    """{relative path: (type, mode)} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            kind = "d" if stat.S_ISDIR(st.st_mode) else "f"
            out[os.path.relpath(p, root)] = (kind, stat.S_IMODE(st.st_mode))
    return out


def needed(path):
    """The NEEDED entries of an ELF file (readelf -d)."""
    p = subprocess.run(["readelf", "-d", path], capture_output=True,
                       timeout=30, check=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                      p.stdout.decode())


def apache_conf(run, port, user, docroot):
    """A shared host's Apache, as far as the bundle can tell."""
    return """# test_shared_host.py: a shared host under suEXEC
ServerRoot "{run}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{run}/apache.pid"
DefaultRuntimeDir "{run}"
ErrorLog "{run}/error.log"
LogLevel info
Timeout 300
User www-data
Group www-data
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule mime_module {mods}/mod_mime.so
LoadModule dir_module {mods}/mod_dir.so
LoadModule autoindex_module {mods}/mod_autoindex.so
LoadModule env_module {mods}/mod_env.so
LoadModule headers_module {mods}/mod_headers.so
LoadModule rewrite_module {mods}/mod_rewrite.so
LoadModule cgid_module {mods}/mod_cgid.so
LoadModule suexec_module {mods}/mod_suexec.so
LoadModule deflate_module {mods}/mod_deflate.so
LoadModule expires_module {mods}/mod_expires.so
ScriptSock "{run}/cgid.sock"
TypesConfig /etc/mime.types

# The host's defaults: compress everything, cache everything for a week,
# list folders, let the account's .htaccess files decide the rest.
SetOutputFilter DEFLATE
ExpiresActive On
ExpiresDefault "access plus 1 week"
<Directory />
	Require all denied
	AllowOverride None
	Options None
</Directory>
<Directory /home>
	Require all granted
	AllowOverride All
	Options Indexes SymLinksIfOwnerMatch
</Directory>

<VirtualHost 127.0.0.1:{port}>
	ServerName shared-host.test
	DocumentRoot "{docroot}"
	SuexecUserGroup {user} {user}
</VirtualHost>
""".format(run=run, port=port, mods=MODS, user=user, docroot=docroot)


def undo(state):
    """Undo what a run made, as its state says (any part may be missing):
    stop its Apache, end the account's processes (its extractors, started
    through the run), remove the account, put suEXEC's config back, remove
    the temporary folder."""
    pid, start = state.get("apache_pid"), state.get("apache_start")
    if pid and harness._alive(pid, start):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while harness._alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.1)
        if harness._alive(pid, start):
            os.kill(pid, signal.SIGKILL)
    uid = state.get("uid")
    if uid is not None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while uid_pids(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for p in uid_pids(uid):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        harness.reap_adopted()
        subprocess.run(["userdel", "--remove", state["user"]],
                       capture_output=True, timeout=60)
        shutil.rmtree(state["home"], ignore_errors=True)
    if state.get("suexec") is not None:
        with open(SUEXEC_CONF, "w", encoding="utf-8") as f:
            f.write(state["suexec"])
    if state.get("tmp"):
        shutil.rmtree(state["tmp"], ignore_errors=True)


def uid_pids(uid):
    """Pids of the live processes whose real uid is uid."""
    out = []
    for pid in harness._pids():
        try:
            with open("/proc/%d/status" % pid, encoding="utf-8") as f:
                st = f.read()
        except OSError:
            continue
        m = re.search(r"^Uid:\s+(\d+)", st, re.M)
        z = re.search(r"^State:\s+Z", st, re.M)
        if m and int(m.group(1)) == uid and not z:
            out.append(pid)
    return out


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root: it creates an account, sets "
                                "suEXEC's docroot and runs Apache as "
                                "www-data")


class SharedHost(unittest.TestCase):
    """One account, one bundle, one Apache for the class; the failure
    cases each break one thing as the account would and put it back."""

    tmp = None
    user = None
    apache = None
    lock = None
    state = None

    # ------------------------------------------------------------ set up
    @classmethod
    def setUpClass(cls):
        for path in (SUEXEC_BIN, SUEXEC_CONF, MODS + "/mod_suexec.so"):
            if not os.path.exists(path):
                raise AssertionError("%s is missing: scripts/deps.sh test "
                                     "installs apache2-suexec-custom" % path)
        if not os.path.realpath(SUEXEC_BIN).endswith("/suexec-custom"):
            raise AssertionError("%s is not suexec-custom (its docroot "
                                 "is compiled in): update-alternatives "
                                 "--set suexec /usr/lib/apache2/"
                                 "suexec-custom" % SUEXEC_BIN)
        # Interrupted mid-run, still remove the account and put suEXEC's
        # config back (tearDownClass does it once).
        atexit.register(cls.tearDownClass)
        cls.lock = open(LOCK, "w")
        deadline = time.monotonic() + 1800
        while True:
            try:
                fcntl.flock(cls.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("another run holds %s" % LOCK)
                time.sleep(1)
        if os.path.exists(STATE):
            with open(STATE, encoding="utf-8") as f:
                undo(json.load(f))
            os.unlink(STATE)
        cls.state = {}
        try:
            cls.tmp = tempfile.mkdtemp(prefix="intake-shared-host-")
            cls.remember(tmp=cls.tmp)
            os.chmod(cls.tmp, 0o711)
            cls.build_bundle()
            cls.make_account()
            cls.cron_line_home_dir = cls.crontab_with_home_dir()
            cls.upload()
            cls.set_suexec_docroot()
            cls.start_apache()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def remember(cls, **kw):
        """Add to what this run has made (the state file, written whole
        and renamed into place)."""
        cls.state.update(kw)
        with open(STATE + ".new", "w", encoding="utf-8") as f:
            json.dump(cls.state, f)
        os.replace(STATE + ".new", STATE)

    @classmethod
    def build_bundle(cls):
        cls.obj = os.path.join(cls.tmp, "obj")
        cls.bundle = os.path.join(cls.tmp, "bundle")
        cmd = ["make", "--no-print-directory", "-j%d" % min(
            4, os.cpu_count() or 1), "shared-host",
            "SHARED_HOST_OBJ=" + cls.obj, "SHARED_HOST_OUT=" + cls.bundle]
        try:
            cls.make = subprocess.run(cmd, cwd=TOP, env=clean_env(),
                                      capture_output=True,
                                      timeout=MAKE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("make shared-host took over %d s" %
                                 MAKE_TIMEOUT)
        if cls.make.returncode != 0:
            raise AssertionError("make shared-host failed (%d):\n%s" % (
                cls.make.returncode, (cls.make.stdout + cls.make.stderr)
                .decode("utf-8", "replace")[-3000:]))
        cls.bundle_tree = tree(cls.bundle)

    @classmethod
    def make_account(cls):
        name = "intk" + secrets.token_hex(4)
        home = "/home/" + name
        p = subprocess.run(["useradd", "--create-home", "--home-dir", home,
                            "--shell", "/bin/sh", "--user-group", name],
                           capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("useradd: %s" % p.stderr.decode())
        cls.user = name
        cls.home = home
        pw = pwd.getpwnam(name)
        cls.uid, cls.gid = pw.pw_uid, pw.pw_gid
        cls.remember(user=name, home=home, uid=cls.uid)
        # As hosting panels leave a new account: a home others may cross
        # but not list, and an empty public_html the web server reads.
        os.chmod(home, 0o711)
        cls.as_user(["mkdir", "-m", "0755", "public_html"], check=True)
        cls.web = os.path.join(home, "public_html")
        cls.mine = os.path.join(home, "intake")
        cls.cgi = os.path.join(cls.web, "api", "intake.cgi")
        cls.extractor = os.path.join(cls.mine, "intake-extract")
        cls.conf = os.path.join(cls.mine, "intake.conf")

    @classmethod
    def crontab_with_home_dir(cls):
        """The crontab line of the bundle made with HOME_DIR=the home."""
        out = os.path.join(cls.tmp, "bundle-home-dir")
        p = subprocess.run([os.path.join(TOP, "scripts", "shared-host.sh"),
                            cls.obj, out, cls.home], capture_output=True,
                           timeout=60)
        if p.returncode != 0:
            raise AssertionError("shared-host.sh with HOME_DIR: %s" %
                                 p.stderr.decode("utf-8", "replace"))
        with open(os.path.join(out, "intake", "crontab.txt"),
                  encoding="utf-8") as f:
            return f.read().strip()

    @classmethod
    def upload(cls):
        """The bundle as the account received it (its own files, modes
        kept), copied into its home by the account with cp -a; then one
        setting a test needs, appended as the account would."""
        staged = os.path.join(cls.tmp, "upload")
        subprocess.run(["cp", "-a", cls.bundle, staged], check=True,
                       timeout=60)
        subprocess.run(["chown", "-R", "%d:%d" % (cls.uid, cls.gid), staged],
                       check=True, timeout=60)
        # As the README says: the two folders into the home (public_html
        # joins the one there; "staged/." would also give the home the
        # bundle folder's mode).
        cls.as_user(["cp", "-a", staged + "/public_html", staged + "/intake",
                     cls.home + "/"], check=True)
        cls.as_user(["sh", "-c", "printf 'word_delay_ms = %d\\n' >> "
                     "intake/intake.conf" % WORD_DELAY_MS], check=True)
        with open(cls.conf, encoding="utf-8") as f:
            m = re.search(r"^admin_token = (\S+)$", f.read(), re.M)
        cls.admin = m.group(1) if m else None
        cls.web_tree = tree(cls.web)

    @classmethod
    def set_suexec_docroot(cls):
        """suexec-custom's first line is its docroot: /home, where the
        accounts' sites are (the package's own config, restored after)."""
        with open(SUEXEC_CONF, encoding="utf-8") as f:
            saved = f.read()
        cls.remember(suexec=saved)
        lines = saved.split("\n")
        lines[0:2] = ["/home", "public_html"]
        with open(SUEXEC_CONF, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))

    @classmethod
    def start_apache(cls):
        cls.rundir = os.path.join(cls.tmp, "run")
        os.mkdir(cls.rundir, 0o755)
        cls.errlog = os.path.join(cls.rundir, "error.log")
        conf = os.path.join(cls.rundir, "apache.conf")
        last = None
        for _ in range(3):              # a port taken in between
            cls.port = harness.free_port()
            with open(conf, "w", encoding="utf-8") as f:
                f.write(apache_conf(cls.rundir, cls.port, cls.user, cls.web))
            cls.apache = subprocess.Popen(
                ["apache2", "-D", "FOREGROUND", "-f", conf],
                env=clean_env(), cwd=cls.rundir, stdin=subprocess.DEVNULL,
                stdout=open(os.path.join(cls.rundir, "apache.out"), "ab"),
                stderr=subprocess.STDOUT)
            cls.remember(apache_pid=cls.apache.pid,
                         apache_start=harness._start_time(cls.apache.pid))
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if cls.apache.poll() is not None:
                    last = "apache2 exited with %d" % cls.apache.returncode
                    break
                try:
                    r = harness.request(cls.port, "GET", "/index.html",
                                        timeout=5)
                    r.read_body()
                    r.close()
                    return
                except (OSError, harness.HarnessError) as e:
                    last = repr(e)
                time.sleep(0.1)
            cls.stop_apache()
        raise AssertionError("Apache did not answer (%s):\n%s" % (
            last, cls.log_tail()))

    # ---------------------------------------------------------- tear down
    @classmethod
    def stop_apache(cls):
        p, cls.apache = cls.apache, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(STOP_TIMEOUT)

    @classmethod
    def account_pids(cls):
        return uid_pids(cls.uid)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stop_apache()
            if cls.state is not None:
                if os.environ.get("INTAKE_TEST_KEEP") == "1":
                    sys.stderr.write("kept account %s and %s\n" % (
                        cls.user, cls.tmp))
                    cls.state.pop("uid", None)
                    cls.state.pop("tmp", None)
                undo(cls.state)
                cls.state = None
                if os.path.exists(STATE):
                    os.unlink(STATE)
        finally:
            if cls.lock is not None:
                cls.lock.close()
                cls.lock = None

    # ------------------------------------------------------------ helpers
    @classmethod
    def as_user(cls, argv, env=None, check=False, timeout=RUN_TIMEOUT):
        """Run argv as the account, in its home, with a login's
        environment (HOME, LOGNAME, SHELL, PATH) and umask 022."""
        e = {"HOME": cls.home, "LOGNAME": cls.user, "SHELL": "/bin/sh",
             "PATH": "/usr/bin:/bin"}
        if env:
            e.update(env)
        p = subprocess.run(
            ["setpriv", "--reuid=%d" % cls.uid, "--regid=%d" % cls.gid,
             "--init-groups", "--", "sh", "-c", 'umask 022 && exec "$@"',
             "sh"] + argv,
            env=e, cwd=cls.home, capture_output=True, timeout=timeout,
            stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError("%r as %s exited %d: %s" % (
                argv, cls.user, p.returncode,
                (p.stdout + p.stderr).decode("utf-8", "replace")))
        return p

    @classmethod
    def log_tail(cls, n=40):
        out = []
        for p in (os.path.join(cls.rundir, "error.log"),
                  os.path.join(cls.rundir, "apache.out")):
            try:
                with open(p, "rb") as f:
                    out += f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                pass
        return "\n".join(out[-n:])

    def call(self, method, path, body=None, headers=None, **kw):
        return harness.call(self.port, method, path, body, headers, **kw)

    def check(self, prog=None):
        """prog --check as the account: (exit status, its output)."""
        p = self.as_user([prog or self.cgi, "--check"])
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def assert_check_says(self, phrase):
        rc, out = self.check()
        self.assertEqual(rc, 1, "--check exited %d:\n%s" % (rc, out))
        lines = out.splitlines()
        self.assertTrue(lines and all(re.match(r"(ok|problem): ", l)
                                      for l in lines), out)
        self.assertTrue(any(l.startswith("problem: ") and phrase in l
                            for l in lines),
                        "--check does not say %r:\n%s" % (phrase, out))

    def assert_health(self, want):
        status, headers, body = self.call("GET", "/api/health")
        self.assertEqual(status, want, "health: %d %r\n%s" % (
            status, body[:300], self.log_tail(10)))
        return headers, body

    def assert_public_503(self):
        """Health 503 with a plain reason that names no path."""
        headers, body = self.assert_health(503)
        self.assertTrue(headers.get("content-type", "").startswith(
            "application/json"), headers)
        obj = json.loads(body)
        self.assertIsNot(obj.get("ok"), True, obj)
        for secret in (b"/home", self.user.encode(), b"intake.conf",
                       b"public_html"):
            self.assertNotIn(secret, body)
        return obj

    def assert_web_untouched(self):
        self.assertEqual(tree(self.web), self.web_tree,
                         "something was created or changed under "
                         "public_html")

    def healthy_again(self):
        self.assert_health(200)
        rc, out = self.check()
        self.assertEqual(rc, 0, out)

    def create_conversation(self):
        status, _, body = self.call("POST", "/api/conversations")
        self.assertEqual(status, 201, body[:300])
        obj = json.loads(body)
        return obj["id"], obj["token"]

    def turn(self, conv, token, text, headers=None):
        h = {"Authorization": "Bearer " + token}
        h.update(headers or {})
        r = harness.request(self.port, "POST",
                            "/api/conversations/%s/messages" % conv,
                            {"text": text}, h)
        try:
            if r.status != 200:
                self.fail("turn: %d %r" % (r.status, r.read_body()[:300]))
            if "content-encoding" in r.headers:
                self.fail("the stream was compressed (%s): it arrives in "
                          "one lump" % r.headers["content-encoding"])
            return r, collect(r)
        finally:
            r.close()

    def lead(self, conv):
        """The lead's fields through GET /api/leads/{id} with the admin
        token from intake.conf; {} while there is none."""
        status, _, body = self.call(
            "GET", "/api/leads/%s" % conv, None,
            {"Authorization": "Bearer %s" % self.admin})
        if status == 404:
            return {}
        self.assertEqual(status, 200, body[:300])
        return {k: (v or {}).get("value")
                for k, v in json.loads(body).get("fields", {}).items()}

    def wait_lead(self, conv, *names):
        """The lead's fields once every one of names has a value."""
        def probe():
            fields = self.lead(conv)
            return fields if all(fields.get(n) for n in names) else None
        return self.wait_for(probe, LEAD_WAIT, "the lead's %s" %
                             ", ".join(names))

    def wait_for(self, fn, timeout, what):
        try:
            return harness.wait_until(fn, timeout, 0.1, what)
        except AssertionError as e:
            self.fail("%s\n%s" % (e, self.log_tail(10)))

    def wait_extractors(self):
        """No extractor of the account still runs (bounded)."""
        self.wait_for(lambda: not any(
            "intake-extract" in self.cmdline(p) for p in
            self.account_pids()), LEAD_WAIT, "the extractors to end")
        harness.reap_adopted()

    @staticmethod
    def cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def suexec_log_since(self, offset):
        try:
            with open(SUEXEC_LOG, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @staticmethod
    def suexec_log_size():
        try:
            return os.path.getsize(SUEXEC_LOG)
        except OSError:
            return 0

    # -------------------------------------------------------- the bundle
    def test_01_bundle_holds_two_folders_with_suexec_modes(self):
        t = self.bundle_tree
        self.assertEqual(sorted(k for k in t if os.sep not in k),
                         ["intake", "public_html"])
        for path in ("public_html/index.html", "public_html/leads.html",
                     "public_html/intake.css", "public_html/intake.js",
                     "public_html/.htaccess", "public_html/api/.htaccess",
                     "public_html/errors/413.json",
                     "public_html/api/intake.cgi", "intake/intake-extract",
                     "intake/intake.conf", "intake/crontab.txt"):
            self.assertIn(path, t)
        if os.path.exists(os.path.join(TOP, "www", "embed.js")):
            self.assertIn("public_html/embed.js", t)
        for path, (kind, m) in t.items():
            if path == "intake/intake.conf":
                want = 0o600
            elif kind == "d" or path in ("public_html/api/intake.cgi",
                                         "intake/intake-extract"):
                want = 0o755
            else:
                want = 0o644
            self.assertEqual(m, want, "%s is %04o" % (path, m))
        with open(os.path.join(self.bundle, "intake", "intake.conf"),
                  encoding="utf-8") as f:
            conf = f.read()
        self.assertRegex(conf, r"(?m)^admin_token = [0-9a-f]{32,}$")
        for name in (".htaccess", "api/.htaccess"):
            with open(os.path.join(self.bundle, "public_html", name),
                      encoding="utf-8") as f:
                self.assertNotIn("SetEnv INTAKE_CONFIG", f.read())
        # The token is printed once, by the build that made it.
        self.assertIn(re.search(r"(?m)^admin_token = (\S+)", conf).group(1),
                      self.make.stdout.decode())

    def test_02_programs_need_no_fcgi_jansson_sqlite(self):
        for prog in ("public_html/api/intake.cgi", "intake/intake-extract"):
            path = os.path.join(self.bundle, prog)
            libs = needed(path)
            self.assertIn("libc.so.6", libs)
            for lib in libs:
                self.assertNotRegex(lib, r"^lib(fcgi|jansson|sqlite3)",
                                    "%s needs %s" % (prog, lib))
            p = subprocess.run(["ldd", path], capture_output=True,
                               timeout=30)
            out = p.stdout.decode()
            self.assertNotRegex(out, r"lib(fcgi|jansson|sqlite3)", out)
            self.assertNotIn("not found", out)

    def test_03_crontab_is_one_user_line(self):
        with open(os.path.join(self.bundle, "intake", "crontab.txt"),
                  encoding="utf-8") as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, lines)
        fields = lines[0].split()
        self.assertEqual(fields[0], "*/5")
        self.assertEqual(fields[1:5], ["*"] * 4)
        # A user crontab has no user field: the command comes next.
        self.assertIn("intake-extract", fields[5])
        self.assertIn("--sweep", fields[6:])
        # With HOME_DIR, the account's real path.
        self.assertEqual(self.cron_line_home_dir.split()[5], self.extractor)

    # ------------------------------------------------------- on the host
    def test_10_health_ok_and_check_ok(self):
        headers, body = self.assert_health(200)
        self.assertEqual(json.loads(body), {"ok": True})
        for prog in (self.cgi, self.extractor):
            rc, out = self.check(prog)
            self.assertEqual(rc, 0, "%s --check:\n%s" % (prog, out))
            lines = out.splitlines()
            self.assertTrue(lines, "%s --check printed nothing" % prog)
            for line in lines:
                self.assertTrue(line.startswith("ok: "), out)

    def test_11_page_with_security_headers(self):
        status, headers, body = self.call("GET", "/")
        self.assertEqual(status, 200, body[:300])
        self.assertTrue(headers.get("content-type", "").startswith(
            "text/html"), headers)
        with open(os.path.join(TOP, "www", "index.html"), "rb") as f:
            page = f.read()
        if headers.get("content-encoding") is None:
            self.assertEqual(body, page)
        self.assertEqual(headers.get("content-security-policy"), CSP)
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(headers.get("referrer-policy"), "no-referrer")
        status, headers, _ = self.call("GET", "/intake.js")
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        # A folder without an index is not listed (Options -Indexes).
        status, _, body = self.call("GET", "/errors/")
        self.assertEqual(status, 403, body[:300])

    def test_12_api_answers_keep_own_headers_no_max_age(self):
        conv, token = self.create_conversation()
        for method, path, h in (
                ("GET", "/api/health", {}),
                ("GET", "/api/conversations/%s" % conv,
                 {"Authorization": "Bearer " + token})):
            status, headers, body = self.call(method, path, None, h)
            self.assertEqual(status, 200, body[:300])
            cc = headers.get("cache-control", "")
            self.assertNotIn("max-age", cc, "%s: %r" % (path, cc))
            self.assertIn("no-store", cc, "%s: %r" % (path, cc))
            self.assertNotIn("expires", headers, path)
            # The program's own, stricter policy: not the page's.
            self.assertEqual(headers.get("content-security-policy"),
                             API_CSP, path)

    def test_13_body_limit_is_json(self):
        status, headers, body = self.call(
            "POST", "/api/conversations", b"{}", None,
            content_type="application/json", content_length=70000)
        self.assertEqual(status, 413, body[:300])
        with open(os.path.join(TOP, "www", "errors", "413.json"), "rb") as f:
            self.assertEqual(body, f.read())

    def test_14_turn_streams_under_deflate_and_lead_lands(self):
        conv, token = self.create_conversation()
        r, events = self.turn(conv, token, TEXT,
                              {"Accept-Encoding": "gzip, deflate, br"})
        self.assertNotIn("max-age", r.headers.get("cache-control", ""))
        self.assertEqual(events[-1].event, "done", events[-3:])
        deltas = [e for e in events if e.event == "delta"]
        self.assertGreaterEqual(len(deltas), 5, events)
        # Streamed: the deltas arrive spread over the reply, not in one
        # lump at its end (what a compressing filter does).
        self.assertGreater(deltas[-1].t - deltas[0].t, 0.3,
                           "the deltas arrived all at once (buffered)")
        self.assertGreaterEqual(len({e.t for e in deltas}), 3)
        # The extraction lands, run by the account's own extractor.
        fields = self.wait_lead(conv, "full_name", "phone")
        self.assertEqual(fields["full_name"], "Maria Lopez")
        self.assertEqual(fields["phone"], "+15558675309")
        self.wait_extractors()
        db = os.path.join(self.mine, "intake.db")
        st = os.stat(db)
        self.assertEqual((st.st_uid, st.st_gid), (self.uid, self.gid))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            n = c.execute("SELECT count(*) FROM lead_fields WHERE "
                          "conversation_id = ? AND field = 'phone'",
                          (conv,)).fetchone()[0]
        finally:
            c.close()
        self.assertEqual(n, 1)
        self.assert_web_untouched()

    def test_15_crontab_line_catches_up(self):
        """An extractor uploaded without its execute bit misses a turn's
        extraction; once the bit is back, the crontab line, run as the
        account, lands it."""
        with open(os.path.join(self.mine, "crontab.txt"),
                  encoding="utf-8") as f:
            line = f.read().strip()
        command = line.split(None, 5)[5]
        self.wait_extractors()          # none left to run this turn's job
        conv, token = self.create_conversation()
        self.as_user(["chmod", "0644", self.extractor], check=True)
        try:
            r, events = self.turn(conv, token, TEXT)
            self.assertEqual(events[-1].event, "done", events[-3:])
            time.sleep(1.0)
            self.assertFalse(self.lead(conv).get("phone"),
                             "extracted without an executable extractor")
        finally:
            self.as_user(["chmod", "0755", self.extractor], check=True)
        for cmd in (command, self.cron_line_home_dir.split(None, 5)[5]):
            # As cron runs it: sh -c, the account's HOME, cron's PATH.
            p = self.as_user(["sh", "-c", cmd])
            self.assertEqual(p.returncode, 0, "%r: %s" % (cmd, (
                p.stdout + p.stderr).decode("utf-8", "replace")))
        fields = self.wait_lead(conv, "phone")
        self.assertEqual(fields["phone"], "+15558675309")
        self.wait_extractors()
        self.assert_web_untouched()

    # ---------------------------------------------- what uploads get wrong
    def test_20_extractor_without_execute_bit(self):
        self.as_user(["chmod", "0644", self.extractor], check=True)
        try:
            self.assert_check_says("not executable")
            self.assert_public_503()
            status, _, body = self.call(
                "GET", "/api/health", None,
                {"Authorization": "Bearer %s" % self.admin})
            self.assertEqual(status, 503)
            self.assertIn(b"not executable", body)
        finally:
            self.as_user(["chmod", "0755", self.extractor], check=True)
        self.healthy_again()

    def test_21_group_writable_folder_or_program(self):
        for path, broken in ((os.path.dirname(self.cgi), "0775"),
                             (self.cgi, "0775")):
            with self.subTest(path=path):
                ok = "%04o" % mode(path)
                offset = self.suexec_log_size()
                self.as_user(["chmod", broken, path], check=True)
                try:
                    # suEXEC refuses to run it: a bare 500, the reason
                    # only in its own log.
                    status, _, body = self.call("GET", "/api/health")
                    self.assertEqual(status, 500, body[:300])
                    self.assertIn("writable by others",
                                  self.suexec_log_since(offset))
                    self.assert_check_says("writable by group or others")
                finally:
                    self.as_user(["chmod", ok, path], check=True)
                self.healthy_again()

    def test_22_configuration_unreadable(self):
        self.as_user(["chmod", "0000", self.conf], check=True)
        try:
            self.assert_check_says("cannot be read")
            self.assert_public_503()
            self.assert_web_untouched()
        finally:
            self.as_user(["chmod", "0600", self.conf], check=True)
        self.healthy_again()

    def test_23_configuration_missing(self):
        aside = os.path.join(self.home, "intake.conf.aside")
        self.as_user(["mv", self.conf, aside], check=True)
        try:
            self.assert_check_says("no configuration found")
            self.assert_public_503()
            status, _, body = self.call("POST", "/api/conversations")
            self.assertEqual(status, 503, body[:300])
            # No database anywhere under public_html (api/var/ was where
            # it went before).
            self.assert_web_untouched()
        finally:
            self.as_user(["mv", aside, self.conf], check=True)
        self.healthy_again()

    def test_99_nothing_created_under_public_html(self):
        self.assert_web_untouched()
        for name in os.listdir(self.mine):
            st = os.lstat(os.path.join(self.mine, name))
            self.assertEqual(st.st_uid, self.uid, name)
            self.assertFalse(st.st_mode & 0o022, "%s is %04o" % (
                name, stat.S_IMODE(st.st_mode)))


if __name__ == "__main__":
    main("integration_shared_host")
