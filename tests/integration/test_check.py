"""test_check.py: the program side of issue 11, with the real programs.

  - an account laid out as the shared-host bundle (public_html/api/
    intake.cgi, intake/intake-extract, intake/intake.conf 0600) and no
    INTAKE_* variable, as suEXEC passes none: intake.cgi, run as a plain
    CGI program the way Apache runs it (working folder api/,
    DOCUMENT_ROOT set), finds ~/intake/intake.conf from its own place,
    makes the database in intake/ and never under public_html/, answers a
    turn with the file's firm, and the extractor in intake/ extracts;
  - with no configuration at all, or a database set inside the web
    folder, no database is made and /api/health answers 503 with a plain
    reason; the admin (REMOTE_USER, or the admin token) gets the --check
    lines instead, with paths; the public never sees a path;
  - a configuration with a bad line answers 503 JSON, not a bare 500;
    a query string's words (argv under CGI) are not options;
  - an extractor without its execute bit: health says so, jobs stay
    pending rather than running with no process, and once it is fixed
    they run (--sweep says so in one line); under FastCGI the fix takes
    effect without a restart, and the log lines go to INTAKE_LOG_FILE
    (0600), not to lighttpd's stderr;
  - --check, run as the account (an account made for the test, its home
    the bundle's): every problem a web person can cause by uploading
    wrongly gives the phrase the shared-host test looks for, and exit 1;
  - --listen refuses a socket in use, takes over a dead one, refuses a
    file that is not a socket, makes a missing folder, and removes its
    socket on SIGTERM and SIGINT;
  - --init as root only with --owner, which makes the folder and the
    database the owner's; --help; --sweep's line.

    BUILD=build/test python3 tests/integration/test_check.py

The last line printed is "integration_check: N passed, N failed".
"""

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
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
from harness import ServerTestCase, main  # noqa: E402

ROOT = os.geteuid() == 0
FCGI = os.path.join(harness.BUILD_DIR, "intake.fcgi")
EXTRACT = os.path.join(harness.BUILD_DIR, "intake-extract")
ADMIN = "admin-" + secrets.token_urlsafe(18)
FIRM = "Quillfeather Bundle Law"
NOT_SET_UP = "The service is not set up correctly."


def setUpModule():
    harness.become_subreaper()


def tearDownModule():
    harness.reap_adopted()


def plain_env(**extra):
    """What suEXEC leaves: no INTAKE_* (the sanitizer's options stay)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INTAKE_")}
    env.update(extra)
    return env


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Account:
    """A throwaway account (useradd) whose home is a temporary folder,
    for running as a shared host's customer.  None when it cannot be
    made (not root, no useradd)."""

    @classmethod
    def make(cls, home):
        if not ROOT or shutil.which("useradd") is None:
            return None
        name = "ih6" + secrets.token_hex(4)
        for _ in range(10):     # /etc/passwd may be locked a moment
            r = subprocess.run(["useradd", "--no-create-home", "--home-dir",
                                home, "--shell", "/usr/sbin/nologin",
                                "--user-group", name], capture_output=True)
            if r.returncode == 0:
                break
            time.sleep(0.5)
        else:
            return None
        a = cls()
        pw = pwd.getpwnam(name)
        a.name, a.uid, a.gid = name, pw.pw_uid, pw.pw_gid
        return a

    def home(self, path):
        """Make path its home (usermod, which may meet a lock)."""
        for _ in range(10):
            r = subprocess.run(["usermod", "--home", path, self.name],
                               capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.5)
        raise AssertionError("usermod: %s" % r.stderr)

    def remove(self):
        for _ in range(10):
            if subprocess.run(["userdel", self.name],
                              capture_output=True).returncode in (0, 6):
                return
            time.sleep(0.5)

    def preexec(self):
        uid, gid = self.uid, self.gid

        def become():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        return become


class Site:
    """An account's home laid out as the bundle, every file the
    account's (or root's, with no account)."""

    def __init__(self, account=None, conf=None):
        self.top = tempfile.mkdtemp(prefix="intake-check-")
        os.chmod(self.top, 0o755)
        self.account = account
        self.home = os.path.join(self.top, "acct")
        self.web = os.path.join(self.home, "public_html")
        self.api = os.path.join(self.web, "api")
        self.mine = os.path.join(self.home, "intake")
        for d in (self.home, self.web, self.api, self.mine):
            os.mkdir(d)
            os.chmod(d, 0o755)
        self.cgi_prog = os.path.join(self.api, "intake.cgi")
        self.extractor = os.path.join(self.mine, "intake-extract")
        shutil.copy(FCGI, self.cgi_prog)
        shutil.copy(EXTRACT, self.extractor)
        os.chmod(self.cgi_prog, 0o755)
        os.chmod(self.extractor, 0o755)
        self.conf = os.path.join(self.mine, "intake.conf")
        self.db = os.path.join(self.mine, "intake.db")
        self.write_conf(conf if conf is not None else [
            "firm_name = %s" % FIRM, "admin_token = %s" % ADMIN,
            "word_delay_ms = 0", "rate_conversations = 0",
            "rate_messages = 0"])
        self.give()

    def write_conf(self, lines, perm=0o600):
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf, perm)
        self.give()

    def give(self, *paths):
        """Hand the home (or paths) to the account."""
        if self.account is None:
            return
        todo = list(paths)
        if not todo:
            for root, dirs, files in os.walk(self.home):
                todo.append(root)
                todo.extend(os.path.join(root, n) for n in files)
        for p in todo:
            os.lchown(p, self.account.uid, self.account.gid)

    def cleanup(self):
        shutil.rmtree(self.top, ignore_errors=True)

    def run(self, argv, env, cwd, stdin=None):
        return subprocess.run(
            argv, env=env, cwd=cwd, input=stdin, capture_output=True,
            timeout=60, stdin=None if stdin is not None else
            subprocess.DEVNULL,
            preexec_fn=self.account.preexec() if self.account else None)

    def cgi(self, method, path, body=None, headers=None, args=(),
            **extra):
        """One request to intake.cgi as Apache runs a CGI program:
        (status, body text, CompletedProcess)."""
        env = plain_env(GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD=method,
                        SCRIPT_NAME="/api", PATH_INFO=path[4:],
                        REQUEST_URI=path, QUERY_STRING="",
                        SERVER_PROTOCOL="HTTP/1.1",
                        REMOTE_ADDR="127.0.0.1", DOCUMENT_ROOT=self.web,
                        SERVER_SOFTWARE="Apache/2.4")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            env.update(CONTENT_TYPE="application/json",
                       CONTENT_LENGTH=str(len(data)))
        for k, v in (headers or {}).items():
            env["HTTP_" + k.upper().replace("-", "_")] = v
        env.update(extra)
        r = self.run([self.cgi_prog] + list(args), env, self.api, data)
        head, _, text = r.stdout.decode("utf-8", "replace").partition(
            "\r\n\r\n")
        status = None
        for line in head.split("\r\n"):
            if line.startswith("Status: "):
                status = int(line.split()[1])
        return status, text, r

    def check(self, prog="cgi", preexec=None, **extra):
        """--check as the account (or as preexec makes it): (exit
        status, lines, stdout)."""
        path = self.cgi_prog if prog == "cgi" else self.extractor
        if preexec is None:
            r = self.run([path, "--check"], plain_env(**extra), self.home)
        else:
            r = subprocess.run([path, "--check"], env=plain_env(**extra),
                               cwd=self.api, capture_output=True,
                               timeout=60, stdin=subprocess.DEVNULL,
                               preexec_fn=preexec)
        out = r.stdout.decode("utf-8", "replace")
        return r.returncode, out.splitlines(), out

    def jobs(self):
        """The jobs' states, read as the account: a connection of root's
        could leave root's -shm behind, which the account cannot use."""
        code = ("import json, sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
                "timeout=10); print(json.dumps(c.execute('SELECT state FROM "
                "jobs ORDER BY id').fetchall()))")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
            else sys.executable
        r = self.run([python, "-c", code, self.db], plain_env(), self.home)
        if r.returncode != 0:
            raise AssertionError("reading jobs: %s" % r.stderr[-2000:])
        return [tuple(x) for x in json.loads(r.stdout)]

    def dbs_under(self, top):
        found = []
        for root, dirs, files in os.walk(top):
            found.extend(os.path.join(root, n) for n in files
                         if n.startswith("intake.db"))
        return found


def wait_for(fn, timeout, what):
    return harness.wait_until(fn, timeout, 0.1, what)


def problems(lines):
    return [x for x in lines if x.startswith("problem: ")]


class SiteCase(unittest.TestCase):
    """A fresh bundle per test, as the test account when one can be made
    (as root, else as whoever runs the tests)."""
    account = None

    @classmethod
    def setUpClass(cls):
        cls.homes = tempfile.mkdtemp(prefix="intake-check-acct-")
        os.chmod(cls.homes, 0o755)
        cls.account = Account.make(os.path.join(cls.homes, "unused"))

    @classmethod
    def tearDownClass(cls):
        if cls.account is not None:
            cls.account.remove()
        shutil.rmtree(cls.homes, ignore_errors=True)

    def setUp(self):
        self.site = Site(self.account)
        if self.account is not None:
            self.account.home(self.site.home)
        self.addCleanup(self.site.cleanup)

    def tearDown(self):
        harness.reap_adopted()

    def need_account(self):
        if self.account is None:
            self.skipTest("needs root and useradd (an account to run as)")


class BundleCGI(SiteCase):
    """intake.cgi as Apache runs it, with nothing in its environment."""

    def test_finds_intake_conf_and_keeps_the_database_there(self):
        s = self.site
        status, text, r = s.cgi("GET", "/api/health")
        self.assertEqual(status, 200, (text, r.stderr[-2000:]))
        self.assertEqual(json.loads(text), {"ok": True})
        self.assertTrue(os.path.isfile(s.db), "no database in intake/")
        self.assertEqual(mode(s.db), 0o600)
        self.assertEqual(s.dbs_under(s.web), [], "a database under "
                         "public_html/")
        status, text, r = s.cgi("POST", "/api/conversations")
        self.assertEqual(status, 201, text)
        conv = json.loads(text)
        status, text, r = s.cgi(
            "POST", "/api/conversations/%s/messages" % conv["id"],
            {"text": "Hello, my name is Ada Byron, 555 201 3344."},
            {"Authorization": "Bearer " + conv["token"]})
        self.assertEqual(status, 200, text[:500])
        deltas = "".join(json.loads(x[6:])["text"] for x in
                         text.splitlines() if x.startswith('data: {"text"'))
        self.assertIn(FIRM, deltas, "not the firm of ~/intake/intake.conf")
        # the extractor in intake/ (not beside intake.cgi) ran the job
        wait_for(lambda: s.jobs() == [("done",)], 30, "the job done")

    def test_no_configuration_makes_no_database(self):
        """The bug: with no configuration found, the program made
        public_html/api/var/intake.db and said ok."""
        s = self.site
        os.unlink(s.conf)
        os.mkdir(os.path.join(s.api, "var"))
        s.give(os.path.join(s.api, "var"))
        status, text, r = s.cgi("GET", "/api/health")
        self.assertEqual(status, 503, text)
        body = json.loads(text)
        self.assertEqual(body["error"]["code"], "unavailable")
        self.assertEqual(body["error"]["message"], NOT_SET_UP)
        self.assertNotIn(s.top, text)
        status, text, r = s.cgi("POST", "/api/conversations")
        self.assertEqual(status, 503, text)
        self.assertEqual(s.dbs_under(s.top), [], "a database was made")
        # the web server's own sign-in: the reasons, paths and all
        status, text, r = s.cgi("GET", "/api/health", REMOTE_USER="staff")
        self.assertEqual(status, 503, text)
        msg = json.loads(text)["error"]["message"]
        self.assertIn("problem: no configuration found", msg)
        self.assertIn(s.conf, msg)
        self.assertEqual(s.dbs_under(s.top), [])

    def test_database_inside_the_web_folder_refused(self):
        s = self.site
        os.mkdir(os.path.join(s.web, "data"))
        s.give(os.path.join(s.web, "data"))
        s.write_conf(["admin_token = %s" % ADMIN,
                      "db = ../public_html/data/intake.db"])
        status, text, r = s.cgi("GET", "/api/health")
        self.assertEqual(status, 503, text)
        self.assertEqual(json.loads(text)["error"]["message"], NOT_SET_UP)
        self.assertIn(b"inside the web folder", r.stderr)
        status, text, r = s.cgi("POST", "/api/conversations")
        self.assertEqual(status, 503, text)
        status, text, r = s.cgi("GET", "/api/health", headers={
            "Authorization": "Bearer " + ADMIN})
        self.assertEqual(status, 503, text)
        msg = json.loads(text)["error"]["message"]
        self.assertIn("inside the web folder", msg)
        self.assertIn(os.path.join(s.web, "data"), msg)
        self.assertEqual(s.dbs_under(s.top), [], "a database was made")

    def test_health_detail_for_the_admin_only(self):
        s = self.site
        os.chmod(s.extractor, 0o644)        # as an FTP upload leaves it
        for headers in ({}, {"Authorization": "Bearer " + ADMIN + "x"},
                        {"Authorization": "Bearer "}):
            status, text, r = s.cgi("GET", "/api/health", headers=headers)
            self.assertEqual(status, 503, text)
            self.assertEqual(json.loads(text)["error"]["message"],
                             NOT_SET_UP, headers)
            self.assertNotIn(s.top, text)
            self.assertNotIn("intake-extract", text)
        status, text, r = s.cgi("GET", "/api/health", headers={
            "Authorization": "Bearer " + ADMIN})
        self.assertEqual(status, 503, text)
        msg = json.loads(text)["error"]["message"]
        self.assertIn("not executable", msg)
        self.assertIn("chmod 755 " + s.extractor, msg)
        self.assertTrue(all(x.startswith("problem: ")
                            for x in msg.split("\n")), msg)

    def test_bad_configuration_answers_503(self):
        s = self.site
        s.write_conf(["firm_name = X", "no_such_key = 1"])
        status, text, r = s.cgi("GET", "/api/health")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(status, 503, r.stdout[:300])
        self.assertEqual(json.loads(text)["error"]["message"], NOT_SET_UP)
        self.assertNotIn(s.top, text)
        self.assertIn(b"intake.conf:2:", r.stderr)

    def test_query_words_are_not_options(self):
        """GET /api/health?--check: Apache passes the words of a query
        without '=' as arguments; they must not print --check's lines."""
        s = self.site
        status, text, r = s.cgi("GET", "/api/health", args=["--check"],
                                QUERY_STRING="--check")
        self.assertEqual(status, 200, r.stdout[:300])
        self.assertEqual(json.loads(text), {"ok": True})
        self.assertNotIn(b"ok: ", r.stdout)

    def test_extractor_without_execute_bit_leaves_jobs_pending(self):
        s = self.site
        os.chmod(s.extractor, 0o644)
        status, text, r = s.cgi("POST", "/api/conversations")
        self.assertEqual(status, 201, text)
        conv = json.loads(text)
        status, text, r = s.cgi(
            "POST", "/api/conversations/%s/messages" % conv["id"],
            {"text": "Hello, I am Ada Byron."},
            {"Authorization": "Bearer " + conv["token"]})
        self.assertEqual(status, 200, text[:300])
        self.assertIn(b"not executable", r.stderr)
        time.sleep(1.0)
        self.assertEqual(s.jobs(), [("pending",)], "a job claimed for an "
                         "extractor that cannot run")
        os.chmod(s.extractor, 0o755)
        r = s.run([s.extractor, "--sweep"], plain_env(), s.home)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(r.stdout, b"sweep: 0 job(s) pending again, 1 run; "
                         b"0 notification(s) pending again, 0 tried\n")
        self.assertEqual(s.jobs(), [("done",)])
        r = s.run([s.extractor, "--sweep"], plain_env(), s.home)
        self.assertEqual(r.stdout, b"sweep: 0 job(s) pending again, 0 run; "
                         b"0 notification(s) pending again, 0 tried\n")


class CheckAsAccount(SiteCase):
    """--check run as the account, for each thing an upload gets wrong."""

    def setUp(self):
        super().setUp()
        self.need_account()

    def assert_problem(self, prog, phrase, *more):
        rc, lines, out = self.site.check(prog)
        self.assertEqual(rc, 1, out)
        hits = [x for x in problems(lines) if phrase in x]
        self.assertTrue(hits, "no problem line says %r:\n%s" % (phrase, out))
        for m in more:
            self.assertTrue(any(m in x for x in hits), "%r not in %s" %
                            (m, hits))
        return out

    def test_all_well(self):
        s = self.site
        for prog in ("cgi", "extract"):
            rc, lines, out = s.check(prog)
            self.assertEqual(rc, 0, out)
            self.assertTrue(lines and all(x.startswith("ok: ")
                                          for x in lines), out)
            self.assertIn("ok: configuration: %s" % s.conf, out)
            self.assertIn("libcurl", out)
            self.assertIn("https", out)
            self.assertIn("glibc", out)
        rc, lines, out = s.check("cgi")
        self.assertIn("suEXEC accepts", out)
        self.assertIn("extractor: %s (can run)" % s.extractor, out)
        self.assertIn("outside the web folder %s" % s.web, out)

    def test_extractor_not_executable(self):
        os.chmod(self.site.extractor, 0o644)
        self.assert_problem("cgi", "not executable",
                            "chmod 755 " + self.site.extractor)

    def test_program_folder_writable_by_group(self):
        os.chmod(self.site.api, 0o775)
        self.assert_problem("cgi", "writable by group or others",
                            "chmod 755 " + self.site.api)

    def test_program_writable_by_group(self):
        os.chmod(self.site.cgi_prog, 0o775)
        self.assert_problem("cgi", "writable by group or others",
                            "chmod 755 " + self.site.cgi_prog)

    def test_program_of_another_account(self):
        os.chown(self.site.cgi_prog, 0, 0)
        self.assert_problem("cgi", "suEXEC refuses", "belongs to root")

    def test_no_configuration(self):
        os.unlink(self.site.conf)
        for prog in ("cgi", "extract"):
            self.assert_problem(prog, "no configuration found",
                                self.site.conf)

    def test_configuration_cannot_be_read(self):
        os.chmod(self.site.conf, 0)
        self.assert_problem("cgi", "cannot be read",
                            "chmod 600 " + self.site.conf)

    def test_configuration_behind_a_closed_folder(self):
        """No suEXEC: the program runs as the web server's user, which
        cannot enter ~/intake (0700)."""
        os.chmod(self.site.mine, 0o700)
        web = pwd.getpwnam("www-data")

        def become():
            os.setgroups([])
            os.setgid(web.pw_gid)
            os.setuid(web.pw_uid)
        rc, lines, out = self.site.check("cgi", preexec=become)
        self.assertEqual(rc, 1, out)
        hits = [x for x in problems(lines) if "cannot be read" in x]
        self.assertTrue(hits and self.site.conf in hits[0] and
                        "cannot be entered" in hits[0], out)

    def test_configuration_readable_by_others(self):
        os.chmod(self.site.conf, 0o644)
        self.assert_problem("cgi", "can be read by every account",
                            "chmod 600 " + self.site.conf)

    def test_database_inside_the_web_folder(self):
        s = self.site
        s.write_conf(["db = ../public_html/intake.db"])
        for prog in ("cgi", "extract"):
            self.assert_problem(prog, "inside the web folder", s.web)

    def test_database_folder_cannot_be_written(self):
        os.chmod(self.site.mine, 0o555)
        self.assert_problem("cgi", "cannot be written", self.site.mine)

    def test_database_of_root_cannot_be_written(self):
        s = self.site
        r = s.run([s.extractor, "--init"], plain_env(), s.home)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        os.chown(s.db, 0, 0)
        self.assert_problem("cgi", "cannot be written",
                            "chown %s %s" % (self.account.name, s.db))

    def test_as_root(self):
        r = subprocess.run([self.site.cgi_prog, "--check"], env=plain_env(),
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"problem: --check runs as root", r.stdout)


class ExtractorFixedWithoutRestart(ServerTestCase):
    """Under FastCGI (lighttpd): an extractor that loses its execute bit
    is noticed (health 503, the job left pending, not running), and once
    it has it again the jobs run without a restart.  The program's lines
    go to INTAKE_LOG_FILE, 0600, not to lighttpd's stderr."""
    web_server = "lighttpd"

    @classmethod
    def before_start(cls, srv):
        cls.copy = os.path.join(srv.tmp, "intake-extract")
        shutil.copy(EXTRACT, cls.copy)
        os.chmod(cls.copy, 0o755)
        cls.logfile = os.path.join(srv.tmp, "intake.log")
        srv.env.update(INTAKE_EXTRACTOR=cls.copy, INTAKE_LOG_FILE=cls.logfile,
                       INTAKE_ADMIN_TOKEN=ADMIN)

    def states(self):
        return [tuple(r) for r in self.server.query(
            "SELECT state FROM jobs ORDER BY id")]

    def health(self, token=None):
        h = self.server.auth(token) if token else None
        status, _, body = self.server.call("GET", "/api/health", None, h)
        return status, body

    def test_extractor_mode_fixed_without_restart(self):
        srv = self.server
        os.chmod(self.copy, 0o644)
        wait_for(lambda: self.health()[0] == 503, 40, "health 503")
        status, body = self.health(ADMIN)
        self.assertIn("not executable", json.loads(body)["error"]["message"])
        self.assertNotIn(srv.tmp, self.health()[1].decode())
        conv, token = srv.create_conversation()
        srv.turn(conv, token, "Hello, I am Ada Byron, 555 201 3344.")
        time.sleep(1.5)
        self.assertEqual(self.states(), [("pending",)],
                         "claimed for an extractor that cannot run")
        os.chmod(self.copy, 0o755)
        wait_for(lambda: self.states() == [("done",)], 60,
                 "the job run once the extractor can run")
        wait_for(lambda: self.health()[0] == 200, 30, "health 200")
        self.assertEqual(mode(self.logfile), 0o600)
        with open(self.logfile, encoding="utf-8") as f:
            log = f.read()
        self.assertIn("extraction is off", log)
        self.assertIn("can run again", log)
        self.assertNotIn("extraction is off", srv.log_text())


class Listen(unittest.TestCase):
    """intake.fcgi --listen SOCKET, run by hand."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-listen-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = plain_env(INTAKE_DB=os.path.join(self.tmp, "intake.db"),
                             INTAKE_EXTRACTOR=EXTRACT)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()

    def start(self, path):
        p = subprocess.Popen([FCGI, "--listen", path], env=self.env,
                             cwd=self.tmp, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def connects(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def serving(self, p, path):
        wait_for(lambda: p.poll() is not None or self.connects(path), 20,
                 "the socket")
        self.assertIsNone(p.poll(), p.stderr.read()[-2000:] if
                          p.poll() is not None else "")

    def stop(self, p, sig):
        p.send_signal(sig)
        self.assertEqual(p.wait(40), 0)

    def test_second_listen_refused_and_socket_removed(self):
        path = os.path.join(self.tmp, "intake.sock")
        a = self.start(path)
        self.serving(a, path)
        b = self.start(path)
        self.assertEqual(b.wait(20), 1)
        self.assertIn(b"already listening", b.stderr.read())
        self.assertIsNone(a.poll())
        self.assertTrue(self.connects(path), "the first lost its socket")
        self.stop(a, signal.SIGTERM)
        self.assertFalse(os.path.exists(path), "socket left at SIGTERM")

    def test_dead_socket_taken_and_removed_on_sigint(self):
        path = os.path.join(self.tmp, "intake.sock")
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(path)
        dead.close()
        a = self.start(path)
        self.serving(a, path)
        self.stop(a, signal.SIGINT)
        self.assertFalse(os.path.exists(path), "socket left at SIGINT")

    def test_file_that_is_not_a_socket_refused(self):
        path = os.path.join(self.tmp, "intake.sock")
        with open(path, "w") as f:
            f.write("keep me\n")
        a = self.start(path)
        self.assertEqual(a.wait(20), 1)
        self.assertIn(b"not a socket", a.stderr.read())
        with open(path) as f:
            self.assertEqual(f.read(), "keep me\n")

    def test_missing_folder_made(self):
        d = os.path.join(self.tmp, "run", "intake")
        path = os.path.join(d, "intake.sock")
        a = self.start(path)
        self.serving(a, path)
        self.assertEqual(mode(d), 0o755)
        self.assertEqual(mode(path), 0o660)
        self.stop(a, signal.SIGTERM)
        self.assertFalse(os.path.exists(path))

    def test_colon_refused(self):
        a = self.start(os.path.join(self.tmp, "host:8080"))
        self.assertEqual(a.wait(20), 1)
        self.assertIn(b"':'", a.stderr.read())


class ExtractCommands(unittest.TestCase):
    """intake-extract --init, --help, --sweep by hand."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-init-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_extract(self, args, db, preexec=None):
        return subprocess.run([EXTRACT] + args, env=plain_env(INTAKE_DB=db),
                              cwd=self.tmp, capture_output=True, timeout=60,
                              stdin=subprocess.DEVNULL, preexec_fn=preexec)

    def test_help(self):
        for prog in (EXTRACT, FCGI):
            for arg in ("--help", "-h"):
                r = subprocess.run([prog, arg], env=plain_env(),
                                   capture_output=True, timeout=30)
                self.assertEqual(r.returncode, 0, (prog, arg))
                self.assertTrue(r.stdout.startswith(b"usage: "), r.stdout)
                self.assertIn(b"--check", r.stdout)
                self.assertEqual(r.stderr, b"")
        r = subprocess.run([EXTRACT, "--bogus"], env=plain_env(),
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(b"usage: "))

    def test_sweep_says_what_it_did(self):
        db = os.path.join(self.tmp, "intake.db")
        owner = ["--owner", "root"] if ROOT else []
        self.assertEqual(self.run_extract(["--init"] + owner, db).returncode,
                         0)
        r = self.run_extract(["--sweep"], db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"sweep: 0 job(s) pending again, 0 run; "
                         b"0 notification(s) pending again, 0 tried\n")

    def test_init_as_root_wants_an_owner(self):
        if not ROOT:
            self.skipTest("needs root")
        db = os.path.join(self.tmp, "intake.db")
        r = self.run_extract(["--init"], db)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--owner", r.stderr)
        self.assertFalse(os.path.exists(db), "made by root all the same")

    def test_init_owner_makes_folder_and_database_theirs(self):
        if not ROOT:
            self.skipTest("needs root")
        web = pwd.getpwnam("www-data")
        d = os.path.join(self.tmp, "lib", "intake")
        db = os.path.join(d, "intake.db")
        r = self.run_extract(["--init", "--owner", "www-data"], db)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(os.stat(d).st_uid, web.pw_uid)
        self.assertEqual(mode(d), 0o700)
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                self.assertEqual(os.stat(p).st_uid, web.pw_uid, p)
                self.assertEqual(mode(p), 0o600, p)

    def test_init_owner_takes_back_roots_database(self):
        if not ROOT:
            self.skipTest("needs root")
        web = pwd.getpwnam("www-data")
        db = os.path.join(self.tmp, "intake.db")
        os.chown(self.tmp, web.pw_uid, web.pw_gid)
        r = self.run_extract(["--init", "--owner", "root"], db)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(os.stat(db).st_uid, 0)
        r = self.run_extract(["--init", "--owner", "www-data"], db)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(os.stat(db).st_uid, web.pw_uid)
        self.assertIn(b"gave", r.stderr)

    def test_init_owner_names_a_folder_it_cannot_write(self):
        """/var/lib/intake made by root (mkdir): --init --owner www-data
        says which folder and what to run, rather than SQLite's "unable
        to open database file"."""
        if not ROOT:
            self.skipTest("needs root")
        d = os.path.join(self.tmp, "lib")
        os.mkdir(d, 0o755)
        db = os.path.join(d, "intake.db")
        r = self.run_extract(["--init", "--owner", "www-data"], db)
        self.assertEqual(r.returncode, 1)
        self.assertIn(("cannot be written by www-data").encode(), r.stderr)
        self.assertIn(("chown www-data %s" % d).encode(), r.stderr)
        self.assertFalse(os.path.exists(db))

    def test_owner_of_another_account_not_as_root(self):
        if not ROOT:
            self.skipTest("needs root (to become www-data)")
        web = pwd.getpwnam("www-data")
        os.chown(self.tmp, web.pw_uid, web.pw_gid)

        def become():
            os.setgroups([])
            os.setgid(web.pw_gid)
            os.setuid(web.pw_uid)
        db = os.path.join(self.tmp, "intake.db")
        r = self.run_extract(["--init", "--owner", "root"], db, become)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"only root", r.stderr)
        r = self.run_extract(["--init", "--owner", "www-data"], db, become)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])


if __name__ == "__main__":
    main("integration_check")
