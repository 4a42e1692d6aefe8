"""test_vps.py: the README's steps for a VPS, run as written.

README.md shows examples/vps-lighttpd.sh and examples/vps-apache-proxy.sh
from their "the steps" line on, verbatim: ReadmeShowsTheScripts checks the
README's blocks are those lines, so the text cannot drift from what runs,
and that the scripts' fill() leaves each example as it is with the real
paths (what they install on a real server is the example itself).

Then each script runs for real, as root, into a temporary root that holds
a copy of this machine's Debian configuration of the web server (its
/etc/lighttpd or /etc/apache2, with the paths that would touch the real
system moved into the temporary root and the port made a free loopback
one), on a site with a page of its own (other.html).  The programs are
installed there with `make install PREFIX=<root>/usr/local` (from the
build in BUILD, not rebuilt).  The script runs with ETC, VAR, RUN, LOG and
PREFIX in that root, PORT the loopback port, WEB_USER www-data and
SERVICE=none; the test then starts what the script says to start (its
"start: " lines: lighttpd as its systemd unit does, the program as the
installed intake.service says, Apache), and checks:

  - /api/health answers {"ok":true};
  - the page at /intake/ comes with its CSP and nosniff; the site's own
    other.html has neither;
  - a turn streams (its events arrive over time, not at once), and the
    extraction lands: /api/leads (admin_token set in intake.conf, as the
    README says) shows the name the visitor gave;
  - a Content-Length over the limit is refused with the contract's JSON
    413, through the real site's virtual host;
  - intake.db is www-data's, mode 0600, in a folder of www-data's, 0700;
    intake.conf is root's, group www-data, mode 0640, in /etc/intake
    (root:www-data, 0750): the program reads it and cannot change it;
  - /etc/cron.d/intake is root's, 0644, its name without a dot, and its
    line run as the user it names exits 0;
  - under Apache, the installed intake.service starts the very command the
    script printed (User, Environment, ExecStart);
  - the script run a second time changes no file (the admin's edit of
    intake.conf stays), prints the same start lines, and the site works
    again after a restart.

Everything started is stopped; the temporary root is removed (kept with
INTAKE_TEST_KEEP=1).  Not root: the VPS classes are skipped.

    make BUILD=build/test all && BUILD=build/test python3 tests/integration/test_vps.py

The last line printed is "integration_vps: N passed, N failed".
"""

import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
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
from harness import BUILD_DIR, TOP, main  # noqa: E402

WEB_USER = "www-data"
ADMIN = "admin-vps-0123456789abcdef"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")
STEPS_MARK = "# ---- the steps"
START_TIMEOUT = 30.0            # generous: a loaded machine
STOP_TIMEOUT = 40.0             # the program gives replies 30 s at most
LEAD_WAIT = 30.0
SCRIPT_TIMEOUT = 120
NOT_ROOT = ("not root: the scripts install as root and run the program as "
            "%s" % WEB_USER)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TEXT1 = ("Hi, my name is Jane Doe. I was in a car accident last week and "
         "it's urgent.")
TEXT2 = "You can reach me at 555-123-4567 or Jane.Doe@Example.COM."


def script_steps(name):
    """The lines of examples/NAME after its "the steps" line."""
    with open(os.path.join(TOP, "examples", name), encoding="utf-8") as f:
        text = f.read()
    head, mark, rest = text.partition(STEPS_MARK)
    if not mark:
        raise AssertionError("examples/%s has no %r line" % (name,
                                                             STEPS_MARK))
    return rest.split("\n", 1)[1].strip("\n")


def readme_block(name):
    """The fenced block of README.md after the line
    "<!-- examples/NAME, ... -->"."""
    with open(os.path.join(TOP, "README.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    marks = [i for i, l in enumerate(lines)
             if re.match(r"<!-- examples/%s[ ,]" % re.escape(name), l)]
    if len(marks) != 1:
        raise AssertionError("README.md: %d lines <!-- examples/%s ... -->"
                             % (len(marks), name))
    i = marks[0] + 1
    while i < len(lines) and not lines[i].startswith("```"):
        if lines[i].strip():
            raise AssertionError("README.md: text between the mark for %s "
                                 "and its block: %r" % (name, lines[i]))
        i += 1
    end = lines.index("```", i + 1)
    return "\n".join(lines[i + 1:end]).strip("\n")


class ReadmeShowsTheScripts(unittest.TestCase):
    """README.md's VPS blocks are the scripts' steps, as they are."""

    def check(self, name):
        want = script_steps(name)
        got = readme_block(name)
        if got != want:
            import difflib
            diff = "\n".join(difflib.unified_diff(
                want.split("\n"), got.split("\n"), "examples/" + name,
                "README.md", lineterm=""))
            self.fail("README.md's block is not examples/%s:\n%s" % (
                name, diff))

    def test_lighttpd_block_is_the_script(self):
        self.check("vps-lighttpd.sh")

    def test_apache_block_is_the_script(self):
        self.check("vps-apache-proxy.sh")

    def test_fill_with_the_defaults_is_the_example(self):
        """The scripts' fill() leaves each example as it is with the real
        paths (the README's excerpts are of the examples themselves)."""
        defaults = ("ETC=/etc VAR=/var/lib RUN=/run LOG=/var/log "
                    "PREFIX=/usr/local WEB_USER=www-data WEB_GROUP=www-data")
        for name in ("vps-lighttpd.sh", "vps-apache-proxy.sh"):
            with open(os.path.join(TOP, "examples", name)) as f:
                text = f.read()
            m = re.search(r"^fill\(\) \{\n.*?^\}\n", text, re.M | re.S)
            self.assertIsNotNone(m, name)
            for ex in ("intake.conf", "intake.cron", "intake.service",
                       "lighttpd.conf", "apache-proxy-fcgi.conf"):
                path = os.path.join(TOP, "examples", ex)
                r = subprocess.run(["sh", "-c", "%s\n%s\nfill \"$1\"" % (
                    defaults, m.group(0)), "sh", path], capture_output=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(path, "rb") as f:
                    self.assertEqual(r.stdout, f.read(), "%s: fill %s" % (
                        name, ex))

    def test_scripts_are_posix_sh(self):
        for name in ("vps-lighttpd.sh", "vps-apache-proxy.sh"):
            path = os.path.join(TOP, "examples", name)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.readline(), "#!/bin/sh\n", name)
            shells = [s for s in ("dash", "sh") if shutil.which(s)]
            for sh in shells:
                r = subprocess.run([sh, "-n", path], capture_output=True)
                self.assertEqual(r.returncode, 0, "%s -n %s: %s" % (
                    sh, name, r.stderr.decode()))


# --------------------------------------------------------------------------
# a temporary root made like a fresh Debian 12 server

def rewrite(path, pairs, regexes=()):
    """Replace each (old, new) string, then each (pattern, repl) regex, in
    the file at path (whatever its bytes)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    for old, new in pairs:
        text = text.replace(old, new)
    for pattern, repl in regexes:
        text = re.sub(pattern, repl, text, flags=re.M)
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)


def web_ids():
    pw = pwd.getpwnam(WEB_USER)
    return pw.pw_uid, pw.pw_gid


def mkdir_web(path, mode=0o750):
    os.makedirs(path, exist_ok=True)
    os.chown(path, *web_ids())
    os.chmod(path, mode)


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


class VpsCase:
    """One script run into a temporary root, the servers it names started;
    a subclass (with unittest.TestCase) says which script and makes the
    root's web server configuration (make_site)."""

    script = None
    site_pages = {"other.html": "<!doctype html><title>The firm</title>"
                                "<p>Our practice.</p>\n"}

    # --- set up
    @classmethod
    def setUpClass(cls):
        for prog in ("intake.fcgi", "intake-extract"):
            if not os.path.isfile(os.path.join(BUILD_DIR, prog)):
                raise harness.HarnessError(
                    "%s/%s is missing: build first (make BUILD=%s all)" % (
                        BUILD_DIR, prog, BUILD_DIR))
        harness.become_subreaper()
        cls.procs = []
        cls.root = tempfile.mkdtemp(prefix="intake-vps-")
        try:
            cls._set_up()
        except BaseException:
            cls._tear_down()
            raise

    @classmethod
    def _set_up(cls):
        r = cls.root
        os.chmod(r, 0o755)          # www-data walks down to its folders
        cls.port = harness.free_port()
        cls.vars = {
            "ETC": r + "/etc", "VAR": r + "/var/lib", "RUN": r + "/run",
            "LOG": r + "/var/log", "PREFIX": r + "/usr/local",
            "PORT": str(cls.port), "WEB_USER": WEB_USER, "SERVICE": "none",
        }
        cls.docroot = r + "/var/www/html"
        cls.outdir = r + "/test-out"        # the processes' own output
        os.makedirs(cls.outdir)
        os.makedirs(cls.docroot)
        for name, text in cls.site_pages.items():
            with open(os.path.join(cls.docroot, name), "w") as f:
                f.write(text)
            os.chmod(os.path.join(cls.docroot, name), 0o644)
        cls.install()
        cls.make_site()
        cls.first = cls.run_script()
        cls.starts = cls.start_lines(cls.first)
        # The admin's edit, as the README says: the token of leads.html.
        with open(cls.conf_path(), "a") as f:
            f.write("admin_token = %s\n" % ADMIN)
        cls.start_all(cls.starts)

    @classmethod
    def install(cls):
        """make install PREFIX=<root>/usr/local from the build in BUILD
        (-o all: installed as built, never rebuilt here)."""
        env = {k: v for k, v in os.environ.items() if k not in (
            "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR",
            "BINDIR", "SHAREDIR", "CFLAGS", "LDFLAGS")}
        r = subprocess.run(["make", "--no-print-directory", "-o", "all",
                            "install", "PREFIX=" + cls.vars["PREFIX"],
                            "BUILD=" + BUILD_DIR], cwd=TOP, env=env,
                           capture_output=True, timeout=SCRIPT_TIMEOUT)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n%s" % (
                r.stdout + r.stderr).decode("utf-8", "replace")[-3000:])

    @classmethod
    def script_env(cls):
        env = {"PATH": PATH, "LANG": "C", "HOME": os.path.join(cls.root,
                                                              "root")}
        env.update(cls.vars)
        return env

    @classmethod
    def run_script(cls):
        """Run the installed script as the README says (sh PATH); its
        stdout.  Fails with its output unless it exits 0."""
        path = os.path.join(cls.vars["PREFIX"], "share", "intake",
                            "examples", cls.script)
        # from a folder only root may enter, as /root/intake would be
        home = os.path.join(cls.root, "root")
        os.makedirs(home, mode=0o700, exist_ok=True)
        r = subprocess.run(["sh", path], env=cls.script_env(), cwd=home,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=SCRIPT_TIMEOUT)
        out = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            raise AssertionError("%s exited %d:\n%s\n%s" % (
                cls.script, r.returncode, out,
                r.stderr.decode("utf-8", "replace")))
        return out

    @staticmethod
    def start_lines(out):
        return [l[len("start: "):] for l in out.split("\n")
                if l.startswith("start: ")]

    @classmethod
    def start_all(cls, commands):
        """Start each command the script printed, in its own session, its
        output in outdir; then wait for /api/health."""
        for i, cmd in enumerate(commands):
            out = open(os.path.join(cls.outdir, "start%d.out" % i), "ab")
            try:
                p = subprocess.Popen(shlex.split(cmd), env=cls.script_env(),
                                     cwd="/", stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            finally:
                out.close()
            cls.procs.append(p)
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            for p in cls.procs:
                if p.poll() is not None:
                    raise AssertionError("%r exited %d:\n%s" % (
                        p.args, p.returncode, cls.output_tail()))
            try:
                status, _, body = cls.call("GET", "/api/health")
                last = (status, body)
                if status == 200:
                    return
            except (OSError, harness.HarnessError) as e:
                last = e
            time.sleep(0.2)
        raise AssertionError("no health within %.0f s (last: %r):\n%s" % (
            START_TIMEOUT, last, cls.output_tail()))

    @staticmethod
    def session(sid):
        """Pids of the live processes of session sid."""
        out = []
        for pid in harness._pids():
            st = harness.proc_stat(pid)
            if st is not None and st[3] == sid and st[1] not in ("Z", "X"):
                out.append(pid)
        return out

    @classmethod
    def stop_all(cls):
        """SIGTERM to each started session (last started first: Apache
        before the program), waiting until the whole session has left (a
        server stops its children itself), SIGKILL after STOP_TIMEOUT;
        then any process still running a program of the root (a detached
        extractor)."""
        for p in reversed(cls.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + STOP_TIMEOUT
            while cls.session(p.pid) and time.monotonic() < deadline:
                p.poll()
                time.sleep(0.1)
            for pid in cls.session(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        cls.procs = []
        prefix = cls.vars["PREFIX"]
        for prog in ("intake.fcgi", "intake-extract"):
            for pid in harness.processes_of(os.path.join(prefix, "bin",
                                                         prog)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                harness.processes_of(os.path.join(prefix, "bin", p))
                for p in ("intake.fcgi", "intake-extract")):
            time.sleep(0.1)
        harness.reap_adopted()

    @classmethod
    def tearDownClass(cls):
        cls._tear_down()

    @classmethod
    def _tear_down(cls):
        try:
            if getattr(cls, "vars", None):
                cls.stop_all()
        finally:
            found = cls.sanitizer_findings()
            if cls.root and os.environ.get("INTAKE_TEST_KEEP") != "1" \
                    and not found:
                shutil.rmtree(cls.root, ignore_errors=True)
            if found:
                harness.SANITIZER_REPORTS.append((cls.__name__, found))
                raise AssertionError("sanitizer report (root kept: %s):\n%s"
                                     % (cls.root, found))

    # --- logs
    @classmethod
    def logs(cls):
        """Every log file under the root: the processes' output, the web
        server's logs, the program's log."""
        out = []
        for top in (cls.outdir, cls.root + "/var/log"):
            for d, _, files in os.walk(top):
                out.extend(os.path.join(d, f) for f in files)
        return sorted(out)

    @classmethod
    def output_tail(cls):
        parts = []
        for p in cls.logs():
            try:
                with open(p, "rb") as f:
                    data = f.read()[-3000:].decode("utf-8", "replace")
            except OSError:
                continue
            if data.strip():
                parts.append("== %s\n%s" % (p, data))
        return "\n".join(parts)

    @classmethod
    def sanitizer_findings(cls):
        if not getattr(cls, "root", None) or not os.path.isdir(cls.root):
            return ""
        found = []
        for p in cls.logs():
            try:
                with open(p, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if any(m in text for m in harness.SANITIZER_MARKS):
                found.append("%s:\n%s" % (p, text[-4000:]))
        return "\n".join(found)

    # --- paths and HTTP
    @classmethod
    def conf_path(cls):
        return os.path.join(cls.vars["ETC"], "intake", "intake.conf")

    @classmethod
    def call(cls, method, path, body=None, headers=None, **kw):
        return harness.call(cls.port, method, path, body, headers, **kw)

    def get(self, path, headers=None):
        return self.call("GET", path, None, headers)

    def conversation(self):
        status, _, body = self.call("POST", "/api/conversations")
        self.assertEqual(status, 201, body[:300])
        obj = json.loads(body)
        return obj["id"], obj["token"]

    def turn(self, conv, token, text):
        r = harness.request(self.port, "POST",
                            "/api/conversations/%s/messages" % conv,
                            {"text": text},
                            {"Authorization": "Bearer " + token,
                             # as a browser: a compressing server that
                             # does not leave the stream alone buffers it
                             "Accept-Encoding": "gzip, deflate"})
        try:
            self.assertEqual(r.status, 200, r.read_body()[:300]
                             if r.status != 200 else "")
            return harness.collect(r)
        finally:
            r.close()

    # --- the tests
    def test_health(self):
        status, headers, body = self.get("/api/health")
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body), {"ok": True})

    def test_page_has_its_headers(self):
        for path in ("/intake/", "/intake/index.html", "/intake/intake.js",
                     "/intake/leads.html", "/intake/intake.css"):
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                self.assertEqual(status, 200, body[:200])
                self.assertEqual(headers.get("content-security-policy"),
                                 CSP, headers)
                self.assertEqual(headers.get("x-content-type-options"),
                                 "nosniff", headers)
        status, headers, body = self.get("/intake/")
        self.assertIn(b'<script src="intake.js"', body)
        self.assertTrue(headers.get("content-type", "").startswith(
            "text/html"), headers)
        # /intake finds the page too
        status, headers, _ = self.get("/intake")
        self.assertIn(status, (301, 302, 308), headers)
        self.assertTrue(headers.get("location", "").endswith("/intake/"),
                        headers)

    def test_site_pages_keep_their_own_headers(self):
        status, headers, body = self.get("/other.html")
        self.assertEqual(status, 200, body[:200])
        self.assertIn(b"Our practice.", body)
        self.assertNotIn("content-security-policy", headers)
        self.assertNotIn("x-content-type-options", headers)

    def test_turn_streams_and_extraction_lands(self):
        conv, token = self.conversation()
        events = self.turn(conv, token, TEXT1)
        names = [e.event for e in events]
        self.assertEqual(names[-1], "done", names)
        deltas = [e for e in events if e.event == "delta"]
        self.assertGreaterEqual(len(deltas), 5, names)
        # The built-in script writes a word every 25 ms (intake.conf as
        # installed): a server that held the reply back would hand every
        # event over at once.
        spread = events[-1].t - deltas[0].t
        self.assertGreater(spread, 0.1, "the reply arrived all at once "
                           "(%.3f s from first word to done)" % spread)
        self.turn(conv, token, TEXT2)
        want = {"full_name": "Jane Doe", "phone": "+15551234567",
                "email": "jane.doe@example.com"}
        auth = {"Authorization": "Bearer " + ADMIN}
        deadline = time.monotonic() + LEAD_WAIT
        last = None
        while time.monotonic() < deadline:
            status, _, body = self.get("/api/leads", auth)
            self.assertEqual(status, 200, body[:300])
            for lead in json.loads(body).get("leads", []):
                if lead.get("conversation_id") == conv:
                    last = lead["fields"]
            if last and all(last.get(k) == v for k, v in want.items()):
                break
            time.sleep(0.2)
        else:
            self.fail("the lead never showed %r (last: %r)\n%s" % (
                want, last, self.output_tail()))

    def test_body_over_the_limit_is_json_413(self):
        conv, token = self.conversation()
        r = harness.request(self.port, "POST",
                            "/api/conversations/%s/messages" % conv,
                            b"{", {"Authorization": "Bearer " + token},
                            content_type="application/json",
                            content_length=70000)
        try:
            self.assertEqual(r.status, 413)
            self.assertTrue(r.content_type().startswith("application/json"),
                            r.headers)
            obj = json.loads(r.read_body())
            self.assertIn("code", obj["error"])
        finally:
            r.close()

    def test_database_is_the_web_users(self):
        uid, gid = web_ids()
        folder = os.path.join(self.vars["VAR"], "intake")
        db = os.path.join(folder, "intake.db")
        st = os.stat(folder)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (uid, 0o700), folder)
        st = os.stat(db)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (uid, 0o600), db)
        for side in (db + "-wal", db + "-shm"):
            if os.path.exists(side):
                self.assertEqual(os.stat(side).st_uid, uid, side)

    def test_config_is_roots_read_by_the_web_user(self):
        uid, gid = web_ids()
        folder = os.path.join(self.vars["ETC"], "intake")
        st = os.stat(folder)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, gid, 0o750), folder)
        st = os.stat(self.conf_path())
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, gid, 0o640), self.conf_path())
        with open(self.conf_path()) as f:
            text = f.read()
        self.assertIn("db = %s/intake/intake.db" % self.vars["VAR"], text)

    def test_cron_line_runs_as_its_user(self):
        path = os.path.join(self.vars["ETC"], "cron.d", "intake")
        st = os.stat(path)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o644))
        self.assertNotIn(".", os.path.basename(path))
        with open(path) as f:
            lines = [l for l in f.read().split("\n")
                     if l.strip() and not l.startswith("#")]
        self.assertEqual(len(lines), 1, lines)
        fields = lines[0].split(None, 6)
        self.assertEqual(fields[:5], ["*/5", "*", "*", "*", "*"])
        self.assertEqual(fields[5], WEB_USER)
        self.assertIn(self.vars["PREFIX"] + "/bin/intake-extract --sweep",
                      fields[6])
        # as cron runs it: /bin/sh -c, as that user, a bare environment
        r = subprocess.run([shutil.which("runuser", path=PATH), "-u",
                            fields[5], "--", "/bin/sh",
                            "-c", fields[6]], env={"PATH": "/usr/bin:/bin",
                                                   "SHELL": "/bin/sh"},
                           cwd="/", capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-2000:])

    def test_zz_second_run_changes_nothing(self):
        """Last (by name): the script again, with the servers stopped."""
        type(self).stop_all()
        before = self.snapshot()
        out = self.run_script()
        after = self.snapshot()
        changed = sorted(set(before.items()) ^ set(after.items()))
        self.assertEqual(changed, [], "the second run changed files")
        self.assertEqual(self.start_lines(out), self.starts)
        with open(self.conf_path()) as f:
            self.assertIn("admin_token = %s\n" % ADMIN, f.read())
        type(self).start_all(self.starts)
        self.test_health()
        self.test_page_has_its_headers()
        conv, token = self.conversation()
        self.assertEqual(self.turn(conv, token, "Hello")[-1].event, "done")

    @classmethod
    def snapshot(cls):
        """Every file, folder and link under the root, with owner, mode and
        content (a link's target), but what the servers write as they run:
        logs, sockets and pid files, the database's contents."""
        skip = (cls.outdir, cls.vars["RUN"], cls.root + "/var/log",
                cls.root + "/var/cache")
        db_dir = os.path.join(cls.vars["VAR"], "intake")
        out = {}
        for d, dirs, files in os.walk(cls.root):
            if d.startswith(skip):
                dirs[:] = []
                continue
            for name in dirs + files:
                p = os.path.join(d, name)
                if p.startswith(skip):
                    continue
                st = os.lstat(p)
                what = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
                if stat.S_ISLNK(st.st_mode):
                    what += ("link", os.readlink(p))
                elif stat.S_ISDIR(st.st_mode):
                    what += ("dir",)
                elif d == db_dir:
                    if name != "intake.db":
                        continue        # -wal, -shm come and go
                    what += ("db",)
                else:
                    what += (file_digest(p),)
                out[os.path.relpath(p, cls.root)] = what
        return out


# --------------------------------------------------------------------------

@unittest.skipUnless(os.geteuid() == 0, NOT_ROOT)
class Lighttpd(VpsCase, unittest.TestCase):
    """examples/vps-lighttpd.sh under Debian's lighttpd configuration."""

    script = "vps-lighttpd.sh"

    @classmethod
    def make_site(cls):
        r = cls.root
        etc = cls.vars["ETC"] + "/lighttpd"
        shutil.copytree("/etc/lighttpd", etc, symlinks=True)
        # as the package's tmpfiles.d makes them
        for d in ("/run/lighttpd", "/var/log/lighttpd",
                  "/var/cache/lighttpd/compress",
                  "/var/cache/lighttpd/uploads"):
            mkdir_web(r + d)
        rewrite(etc + "/lighttpd.conf", [
            ('"/etc/lighttpd/', '"%s/' % etc),
            ('"/var/www/html"', '"%s"' % cls.docroot),
            ('"/var/cache/lighttpd/', '"%s/var/cache/lighttpd/' % r),
            ('"/var/log/lighttpd/', '"%s/var/log/lighttpd/' % r),
            ('"/run/lighttpd.pid"', '"%s/run/lighttpd.pid"' % r),
        ], [
            (r"^server\.port\s*=\s*80\s*$",
             'server.port = %d\nserver.bind = "127.0.0.1"' % cls.port),
            # every address of the machine over IPv6: not in a test
            (r"^include_shell \"/usr/share/lighttpd/use-ipv6\.pl.*$", ""),
        ])
        with open(etc + "/lighttpd.conf") as f:
            text = "".join(l for l in f if not l.lstrip().startswith("#"))
        for old in ('"/etc/', '"/var/', '"/run/', "server.port = 80\n"):
            if old in text:
                raise AssertionError("the copy of lighttpd.conf still says "
                                     "%r" % old)

    def test_lighttpd_config_loaded_once(self):
        """The Debian way: our part linked in conf-enabled/, which
        lighttpd.conf includes, and not included a second time."""
        etc = self.vars["ETC"] + "/lighttpd"
        link = etc + "/conf-enabled/50-intake.conf"
        self.assertEqual(os.readlink(link),
                         "../conf-available/50-intake.conf")
        with open(etc + "/lighttpd.conf") as f:
            self.assertNotIn("50-intake", f.read())


@unittest.skipUnless(os.geteuid() == 0, NOT_ROOT)
class ApacheProxyFcgi(VpsCase, unittest.TestCase):
    """examples/vps-apache-proxy.sh under Debian's Apache configuration."""

    script = "vps-apache-proxy.sh"

    @classmethod
    def make_site(cls):
        r = cls.root
        etc = cls.vars["ETC"] + "/apache2"
        shutil.copytree("/etc/apache2", etc, symlinks=True)
        moves = [("/var/www", r + "/var/www"),
                 ("/var/lib/apache2", cls.vars["VAR"] + "/apache2"),
                 ("/var/run/apache2", cls.vars["RUN"] + "/apache2"),
                 ("/var/lock/apache2", cls.vars["RUN"] + "/lock/apache2"),
                 ("/var/log/apache2", r + "/var/log/apache2"),
                 ("/var/cache/apache2", r + "/var/cache/apache2")]
        for d, _, files in os.walk(etc):
            for name in files:
                p = os.path.join(d, name)
                if not os.path.islink(p):
                    rewrite(p, moves)
        rewrite(etc + "/ports.conf", [], [
            (r"^Listen 80\s*$", "Listen 127.0.0.1:%d" % cls.port)])
        rewrite(etc + "/sites-available/000-default.conf", [], [
            (r"^<VirtualHost \*:80>", "<VirtualHost *:%d>" % cls.port)])
        for d in ("/var/log/apache2", "/var/cache/apache2", "/run/lock"):
            os.makedirs(r + d, exist_ok=True)
        if os.path.isdir("/var/lib/apache2/fcgid"):
            mkdir_web(cls.vars["VAR"] + "/apache2/fcgid", 0o755)

    def test_unit_starts_what_the_script_printed(self):
        """intake.service (systemd's way) runs the command the script
        printed for SERVICE=none: same user, configuration and socket."""
        unit = os.path.join(self.vars["ETC"], "systemd", "system",
                            "intake.service")
        with open(unit) as f:
            keys = {}
            for line in f:
                k, eq, v = line.strip().partition("=")
                if eq and not k.startswith("#"):
                    keys.setdefault(k, []).append(v)
        cmd = [c for c in self.starts if "--listen" in c]
        self.assertEqual(len(cmd), 1, self.starts)
        want = "runuser -u %s -- env %s %s" % (
            keys["User"][0], keys["Environment"][0], keys["ExecStart"][0])
        self.assertEqual(cmd[0], want)
        self.assertEqual(keys["RuntimeDirectory"], ["intake"])
        sock = keys["ExecStart"][0].split()[-1]
        self.assertEqual(sock, self.vars["RUN"] + "/intake/intake.sock")
        st = os.stat(os.path.dirname(sock))
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (web_ids()[0],
                          int(keys["RuntimeDirectoryMode"][0], 8)))

    def test_apache_config_enabled_the_debian_way(self):
        etc = self.vars["ETC"] + "/apache2"
        self.assertEqual(os.readlink(etc + "/conf-enabled/intake.conf"),
                         "../conf-available/intake.conf")
        for mod in ("proxy", "proxy_fcgi", "headers", "rewrite"):
            self.assertTrue(os.path.exists(
                etc + "/mods-enabled/%s.load" % mod), mod)


if __name__ == "__main__":
    main("integration_vps")
