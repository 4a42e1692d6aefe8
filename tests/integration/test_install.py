"""test_install.py: `make install DESTDIR=... PREFIX=/usr/local` and what
it leaves behind: the programs 0755, the page, the schema and the
examples 0644, the sample configuration 0600, nothing group- or
world-writable; then the installed programs themselves: intake-extract
--init creates the database 0600 (whatever the umask), reads the installed
example configuration with the environment winning, and refuses a
configuration with an unknown key, naming the file and the line.

The install builds into a private build folder (make BUILD=<tmp>), so it
neither waits on nor disturbs build/ or build/test.

    python3 tests/integration/test_install.py

The last line printed is "integration_install: N passed, N failed".
"""

import filecmp
import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

from harness import TOP, main  # noqa: E402

PREFIX = "/usr/local"
MAKE_TIMEOUT = 300
EXAMPLES_0644 = ("lighttpd.conf", "apache-fcgid.conf",
                 "apache-proxy-fcgi.conf", "htaccess", "htaccess-cgi",
                 "intake.cron", "intake.service", "vps-lighttpd.sh",
                 "vps-apache-proxy.sh")


# --init as root must name the database's owner (the tests run as root
# or as anyone).
INIT = ["--init"] + (["--owner", "root"] if os.geteuid() == 0 else [])


def clean_env(**extra):
    """The environment without INTAKE_* and without an outer make's
    variables (its jobserver, its BUILD)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INTAKE_") and k not in (
               "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD",
               "DESTDIR", "PREFIX", "BINDIR", "SHAREDIR", "CFLAGS",
               "LDFLAGS")}
    env.update(extra)
    return env


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class Install(unittest.TestCase):
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="intake-install-")
        cls.dest = os.path.join(cls.tmp, "dest")
        cls.build = os.path.join(cls.tmp, "build")
        cls.root = cls.dest + PREFIX
        cls.bin = os.path.join(cls.root, "bin")
        cls.share = os.path.join(cls.root, "share", "intake")
        cmd = ["make", "--no-print-directory", "-j%d" % min(
            4, os.cpu_count() or 1), "install", "DESTDIR=" + cls.dest,
            "PREFIX=" + PREFIX, "BUILD=" + cls.build]
        try:
            cls.make = subprocess.run(cmd, cwd=TOP, env=clean_env(),
                                      capture_output=True,
                                      timeout=MAKE_TIMEOUT)
        except subprocess.TimeoutExpired:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("make install took over %d s" %
                                 MAKE_TIMEOUT)
        if cls.make.returncode != 0:
            out = (cls.make.stdout + cls.make.stderr).decode(
                "utf-8", "replace")
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("make install failed (%d):\n%s" % (
                cls.make.returncode, out[-3000:]))

    @classmethod
    def tearDownClass(cls):
        if cls.tmp and os.environ.get("INTAKE_TEST_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers
    def run_prog(self, prog, args, env, timeout=30, umask=None, stdin=None):
        def pre():
            if umask is not None:
                os.umask(umask)
        return subprocess.run([os.path.join(self.bin, prog)] + args, env=env,
                              cwd=self.tmp, capture_output=True,
                              timeout=timeout, preexec_fn=pre,
                              stdin=stdin if stdin is not None
                              else subprocess.DEVNULL)

    def fresh_dir(self, name):
        d = os.path.join(self.tmp, name)
        os.mkdir(d, 0o700)
        return d

    def installed_conf_copy(self, where, text=None):
        """A copy of the installed example intake.conf (or text), 0600."""
        path = os.path.join(where, "intake.conf")
        if text is None:
            with open(os.path.join(self.share, "examples", "intake.conf"),
                      encoding="utf-8") as f:
                text = f.read()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # --- the tree
    def test_programs_0755_and_executable(self):
        for prog in ("intake.fcgi", "intake-extract"):
            p = os.path.join(self.bin, prog)
            self.assertTrue(os.path.isfile(p), p)
            self.assertFalse(os.path.islink(p), p)
            self.assertEqual(mode(p), 0o755, "%s is %o" % (prog, mode(p)))
            self.assertTrue(os.access(p, os.X_OK), p)
            with open(p, "rb") as f:
                self.assertEqual(f.read(4), b"\x7fELF", p)
        self.assertEqual(sorted(os.listdir(self.bin)),
                         ["intake-extract", "intake.fcgi"])

    def test_www_0644_and_whole(self):
        """Every file of www/ (subfolders too) installed, 0644, the same
        bytes; folders 0755."""
        src = os.path.join(TOP, "www")
        www = os.path.join(self.share, "www")

        def tree(top):
            out = {}
            for root, dirs, files in os.walk(top):
                for n in dirs + files:
                    p = os.path.join(root, n)
                    out[os.path.relpath(p, top)] = os.path.isdir(p)
            return out
        want = tree(src)
        for name in ("index.html", "intake.js", "leads.html"):
            self.assertIn(name, want)
        self.assertEqual(tree(www), want)
        for rel, is_dir in want.items():
            p = os.path.join(www, rel)
            self.assertEqual(mode(p), 0o755 if is_dir else 0o644,
                             "%s is %o" % (rel, mode(p)))
            if not is_dir:
                self.assertTrue(filecmp.cmp(p, os.path.join(src, rel),
                                            shallow=False), rel)

    def test_sql_0644_and_whole(self):
        # SQLite's schema in sql/, PostgreSQL's in sql/pg/.
        for sub in ("", "pg"):
            sql = os.path.join(self.share, "sql", sub)
            want = sorted(os.path.basename(p) for p in
                          glob.glob(os.path.join(TOP, "sql", sub, "*.sql")))
            self.assertIn("schema.sql", want)
            self.assertEqual(mode(sql), 0o755, "sql/%s" % sub)
            self.assertEqual(sorted(os.listdir(sql)),
                             sorted(want + (["pg"] if sub == "" else [])))
            for name in want:
                p = os.path.join(sql, name)
                self.assertEqual(mode(p), 0o644, "%s is %o" % (name,
                                                               mode(p)))
                self.assertTrue(filecmp.cmp(p, os.path.join(TOP, "sql",
                                                            sub, name),
                                            shallow=False), name)

    def test_examples_modes(self):
        ex = os.path.join(self.share, "examples")
        self.assertEqual(sorted(os.listdir(ex)),
                         sorted(EXAMPLES_0644 + ("intake.conf",)))
        for name in EXAMPLES_0644:
            p = os.path.join(ex, name)
            self.assertEqual(mode(p), 0o644, "%s is %o" % (name, mode(p)))
            self.assertTrue(filecmp.cmp(p, os.path.join(TOP, "examples",
                                                        name), shallow=False))
        conf = os.path.join(ex, "intake.conf")
        self.assertEqual(mode(conf), 0o600, "intake.conf is %o" % mode(conf))

    def test_nothing_group_or_world_writable(self):
        n = 0
        for root, dirs, files in os.walk(self.dest):
            for name in dirs + files:
                p = os.path.join(root, name)
                n += 1
                self.assertFalse(os.path.islink(p), p)
                self.assertEqual(mode(p) & 0o022, 0,
                                 "%s is %o" % (p, mode(p)))
                if os.path.isdir(p):
                    self.assertEqual(mode(p), 0o755, "%s is %o" % (
                        p, mode(p)))
        self.assertGreater(n, 15)
        # only bin/ and share/intake/ under the prefix
        self.assertEqual(sorted(os.listdir(self.root)), ["bin", "share"])
        self.assertEqual(os.listdir(os.path.join(self.root, "share")),
                         ["intake"])

    def test_install_again_over_itself(self):
        r = subprocess.run(["make", "--no-print-directory", "install",
                            "DESTDIR=" + self.dest, "PREFIX=" + PREFIX,
                            "BUILD=" + self.build], cwd=TOP, env=clean_env(),
                           capture_output=True, timeout=MAKE_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(mode(os.path.join(self.share, "examples",
                                           "intake.conf")), 0o600)
        self.assertEqual(mode(os.path.join(self.bin, "intake.fcgi")), 0o755)

    # --- the installed programs
    def test_init_creates_db_0600_whatever_the_umask(self):
        d = self.fresh_dir("db")
        db = os.path.join(d, "intake.db")
        r = self.run_prog("intake-extract", INIT,
                          clean_env(INTAKE_DB=db), umask=0)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertTrue(os.path.isfile(db))
        for p in (db, db + "-wal", db + "-shm"):
            if os.path.exists(p):
                self.assertEqual(mode(p), 0o600, "%s is %o" % (p, mode(p)))
        import sqlite3
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        try:
            tables = {r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            self.assertTrue({"conversations", "messages", "message_parts",
                             "leads", "lead_fields", "jobs",
                             "rate_limits"} <= tables, tables)
            self.assertGreaterEqual(c.execute("PRAGMA user_version")
                                    .fetchone()[0], 3)
        finally:
            c.close()
        # --init again is harmless
        r = self.run_prog("intake-extract", INIT,
                          clean_env(INTAKE_DB=db), umask=0)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(mode(db), 0o600)

    def test_example_config_with_db_from_env(self):
        d = self.fresh_dir("conf")
        conf = self.installed_conf_copy(d)
        db = os.path.join(d, "intake.db")
        example_db = "/var/lib/intake/intake.db"
        existed = os.path.exists(example_db)
        env = clean_env(INTAKE_CONFIG=conf, INTAKE_DB=db)
        r = self.run_prog("intake-extract", INIT, env, umask=0o022)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertEqual(mode(db), 0o600)
        self.assertEqual(os.path.exists(example_db), existed,
                         "the example's db path was used over INTAKE_DB")
        # the installed intake.fcgi, run as a plain CGI program, answers
        # from that configuration
        cgi = dict(env, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
                   SCRIPT_NAME="/api", PATH_INFO="/health",
                   REQUEST_URI="/api/health", QUERY_STRING="",
                   SERVER_PROTOCOL="HTTP/1.1", REMOTE_ADDR="127.0.0.1")
        r = self.run_prog("intake.fcgi", [], cgi)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 200"), r.stdout[:300])
        self.assertEqual(json.loads(body), {"ok": True})
        # and a conversation made through it names the example's firm
        post = dict(cgi, REQUEST_METHOD="POST", PATH_INFO="/conversations",
                    REQUEST_URI="/api/conversations", CONTENT_LENGTH="0")
        r = self.run_prog("intake.fcgi", [], post)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"Status: 201"), r.stdout[:300])
        conv = json.loads(body)
        msg = json.dumps({"text": "Hello"}).encode()
        turn = dict(cgi, REQUEST_METHOD="POST",
                    PATH_INFO="/conversations/%s/messages" % conv["id"],
                    REQUEST_URI="/api/conversations/%s/messages" % conv["id"],
                    CONTENT_TYPE="application/json",
                    CONTENT_LENGTH=str(len(msg)),
                    HTTP_AUTHORIZATION="Bearer " + conv["token"],
                    INTAKE_WORD_DELAY_MS="0",
                    # no detached extractor outliving the test
                    INTAKE_EXTRACTOR=os.path.join(self.tmp, "none"))
        r = subprocess.run([os.path.join(self.bin, "intake.fcgi")], env=turn,
                           cwd=self.tmp, input=msg, capture_output=True,
                           timeout=30)
        self.assertIn(b"Status: 200", r.stdout[:100], r.stdout[:300])
        text = "".join(json.loads(line[6:])["text"] for line in
                       r.stdout.decode("utf-8").splitlines()
                       if line.startswith("data: {\"text\""))
        self.assertIn("Smith & Lee LLP", text)

    def test_unknown_key_refused_with_its_line(self):
        d = self.fresh_dir("badconf")
        conf = self.installed_conf_copy(d, "# a comment\nfirm_name = X\n"
                                        "no_such_key = 1\nword_delay_ms = 3\n")
        db = os.path.join(d, "intake.db")
        env = clean_env(INTAKE_CONFIG=conf, INTAKE_DB=db)
        for prog, args in (("intake-extract", ["--init"]),
                           ("intake.fcgi", [])):
            with self.subTest(prog=prog):
                e = dict(env)
                if prog == "intake.fcgi":
                    e.update(GATEWAY_INTERFACE="CGI/1.1",
                             REQUEST_METHOD="GET", SCRIPT_NAME="/api",
                             PATH_INFO="/health", REQUEST_URI="/api/health")
                r = self.run_prog(prog, args, e)
                err = r.stderr.decode("utf-8", "replace")
                self.assertNotEqual(r.returncode, 0, err)
                self.assertIn("intake.conf:3:", err)
                self.assertIn("no_such_key", err)
                self.assertNotIn(b"Status: 200", r.stdout)
        self.assertFalse(os.path.exists(db), "a database was made anyway")

    def test_bad_value_refused_with_its_line(self):
        d = self.fresh_dir("badvalue")
        conf = self.installed_conf_copy(d, "firm_name = X\n\n# c\n"
                                        "word_delay_ms = fast\n")
        r = self.run_prog("intake-extract", ["--init"], clean_env(
            INTAKE_CONFIG=conf, INTAKE_DB=os.path.join(d, "intake.db")))
        err = r.stderr.decode("utf-8", "replace")
        self.assertNotEqual(r.returncode, 0, err)
        self.assertIn("intake.conf:4:", err)

    def test_missing_config_file_refused(self):
        d = self.fresh_dir("noconf")
        r = self.run_prog("intake-extract", ["--init"], clean_env(
            INTAKE_CONFIG=os.path.join(d, "nope.conf"),
            INTAKE_DB=os.path.join(d, "intake.db")))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nope.conf", r.stderr.decode("utf-8", "replace"))


class ServerConfigModes(unittest.TestCase):
    """The web server's configuration holds every INTAKE_* value, the
    admin token among them: `make run` (scripts/run.sh) writes it 0600,
    replacing a file left at 0644, whatever the umask; so does the test
    harness.  run.sh runs from a copy of the tree (its scripts, the page,
    the programs built by the harness's build), so its run folder and the
    processes it stops are its own."""

    TOKEN = "admin-run-sh-0123456789abcdef"

    def test_run_sh_writes_apache_conf_0600(self):
        import signal
        import time
        import harness
        tmp = tempfile.mkdtemp(prefix="intake-runsh-")
        os.chmod(tmp, 0o755)    # Apache's workers (www-data) reach it
        proc = None
        try:
            shutil.copytree(os.path.join(TOP, "scripts"),
                            os.path.join(tmp, "scripts"))
            shutil.copytree(os.path.join(TOP, "www"),
                            os.path.join(tmp, "www"))
            build = os.path.join(tmp, "build")
            os.makedirs(os.path.join(build, "run"))
            for prog in ("intake.fcgi", "intake-extract"):
                shutil.copy2(os.path.join(harness.BUILD_DIR, prog), build)
            conf = os.path.join(build, "run", "apache.conf")
            with open(conf, "w") as f:
                f.write("# left from an older run\n")
            os.chmod(conf, 0o644)
            port = harness.free_port()
            env = clean_env(BUILD="build", PORT=str(port), SERVER="cgi",
                            INTAKE_DB=os.path.join(tmp, "db", "intake.db"),
                            INTAKE_ADMIN_TOKEN=self.TOKEN)
            for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
                if k in os.environ:
                    env[k] = os.environ[k]
            os.mkdir(os.path.join(tmp, "db"), 0o700)
            proc = subprocess.Popen(
                ["sh", os.path.join(tmp, "scripts", "run.sh")], env=env,
                cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(0o022))
            deadline = time.monotonic() + 30
            status = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    r = harness.request(port, "GET", "/api/health",
                                        timeout=2)
                    r.read_body()
                    r.close()
                    status = r.status
                except (OSError, harness.HarnessError):
                    status = None
                if status == 200:
                    break
                time.sleep(0.1)
            self.assertEqual(status, 200, "make run did not serve")
            self.assertEqual(mode(conf), 0o600, "apache.conf is %o" %
                             mode(conf))
            with open(conf, encoding="utf-8") as f:
                self.assertIn(self.TOKEN, f.read(),
                              "not the configuration with the token")
        finally:
            if proc is not None:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
                proc.stdout.close()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_harness_writes_its_conf_0600(self):
        import harness
        srv = harness.Server({"INTAKE_ADMIN_TOKEN": self.TOKEN}, 0,
                             "conf-mode", server="cgi")
        try:
            srv.start()
            self.assertEqual(mode(srv.conf), 0o600, "%s is %o" % (
                srv.conf, mode(srv.conf)))
        finally:
            srv.stop()
            srv.cleanup()


if __name__ == "__main__":
    main("integration_install")
