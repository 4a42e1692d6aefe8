"""test_embed_conf.py: INTAKE_EMBED_ORIGINS, the origins whose pages may
show the intake page in a frame (www/embed.js), as the configurations say
it (DESIGN.md, "Staff workspace and privacy").

- scripts/embed-origins.sh, which the configuration scripts share, takes
  the same origins as common/config.c's config_origins (the rows of
  tests/unit/test_config.c) and refuses the rest, since the value goes
  into a header: exit 2, a reason, nothing on standard output;
- scripts/lighttpd-conf.sh and scripts/apache-conf.sh write the page's
  Content-Security-Policy with frame-ancestors 'none' without it, the
  origins with it, and write nothing for a bad one;
- lighttpd and Apache (mod_fcgid), started from those configurations,
  send it on the page, and the program's own answers under /api/ keep
  frame-ancestors 'none'; neither sends X-Frame-Options, which would
  refuse the frame whatever the CSP says;
- scripts/shared-host.sh (make shared-host) writes it into the bundle's
  public_html/.htaccess, and refuses a bad one before it replaces a
  bundle;
- the program takes embed_origins in intake.conf and calls a bad one a
  configuration error (intake.fcgi --check says so).

The browser's side (a listed site frames the chat, another cannot) is
tests/browser/test_embed.py.

    BUILD=build/test python3 tests/integration/test_embed_conf.py

The last line printed is "integration_embed_conf: N passed, N failed".
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import TOP, main  # noqa: E402

SCRIPT = os.path.join(TOP, "scripts", "embed-origins.sh")
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors %s; "
            "base-uri 'none'; form-action 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
ORIGINS = "https://www.firm.example, http://127.0.0.1:8081"
ANCESTORS = "https://www.firm.example http://127.0.0.1:8081"

# (value, what the script prints, or None: refused)
ROWS = [
    ("", "'none'"),
    ("   ", "'none'"),
    ("https://www.firm.example", "https://www.firm.example"),
    ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
    ("https://www.firm.example,https://firm.example",
     "https://www.firm.example https://firm.example"),
    (" https://a.example , http://b.example:8080\t",
     "https://a.example http://b.example:8080"),
    ("HTTPS://WWW.FIRM.EXAMPLE:443", "HTTPS://WWW.FIRM.EXAMPLE:443"),
    ("https://my-firm.example", "https://my-firm.example"),
    ("http://localhost", "http://localhost"),
    ("https://a.example:1", "https://a.example:1"),
    ("https://a.example:65535", "https://a.example:65535"),
    ("https://a.example/", None),
    ("https://a.example/path", None),
    ("https://a.example?x", None),
    ("https://*.a.example", None),
    ("https://u@a.example", None),
    ("https://[::1]", None),
    ("https://\u00e4.example", None),
    ("a.example", None),
    ("//a.example", None),
    ("ftp://a.example", None),
    ("javascript:alert(1)", None),
    ("*", None),
    ("'self'", None),
    ("https://", None),
    ("https://a..example", None),
    ("https://.a.example", None),
    ("https://a.example.", None),
    ("https://-a.example", None),
    ("https://a-.example", None),
    ("https://a.-b.example", None),
    ("https://a.example:", None),
    ("https://a.example:0", None),
    ("https://a.example:65536", None),
    ("https://a.example:123456", None),
    ("https://a.example:8x", None),
    ("https://a.example:1:2", None),
    ("https://a.example;", None),
    ("https://a.example; script-src *", None),
    ("https://a.example 'unsafe-inline'", None),
    ("https://a.example https://b.example", None),
    ('https://a.example"', None),
    ("https://a'.example", None),
    ("https://a.example\r\nX-Evil: 1", None),
    ("https://a.example\nhttps://b.example", None),
    ("https://a.example,", None),
    (",https://a.example", None),
    ("https://a.example,,https://b.example", None),
    (",", None),
]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(extra)
    return env


def run(cmd, env, cwd=TOP):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True,
                          timeout=60)


class OriginRule(unittest.TestCase):
    def test_rows(self):
        for value, want in ROWS:
            with self.subTest(value=value):
                # As an argument and from the environment: the same.
                for p in (run([SCRIPT, value], clean_env()),
                          run([SCRIPT], clean_env(
                              INTAKE_EMBED_ORIGINS=value))):
                    out = p.stdout.decode()
                    err = p.stderr.decode()
                    if want is None:
                        self.assertEqual(p.returncode, 2, out + err)
                        self.assertEqual(out, "")
                        self.assertIn("INTAKE_EMBED_ORIGINS", err)
                    else:
                        self.assertEqual((p.returncode, out, err),
                                         (0, want + "\n", ""))

    def test_unset_is_none(self):
        p = run([SCRIPT], clean_env())
        self.assertEqual((p.returncode, p.stdout), (0, b"'none'\n"))


class Generators(unittest.TestCase):
    """The configurations as the scripts write them (nothing started)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-embed-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, kind, value):
        if kind == "lighttpd":
            cmd = [os.path.join(TOP, "scripts", "lighttpd-conf.sh"),
                   harness.BUILD_DIR, self.tmp, "18080"]
        else:
            cmd = [os.path.join(TOP, "scripts", "apache-conf.sh"), "cgi",
                   harness.BUILD_DIR, self.tmp, "18080"]
        env = clean_env() if value is None else clean_env(
            INTAKE_EMBED_ORIGINS=value)
        return run(cmd, env)

    def test_page_csp(self):
        for kind in ("lighttpd", "apache"):
            for value, ancestors in ((None, "'none'"), ("", "'none'"),
                                     (ORIGINS, ANCESTORS)):
                with self.subTest(kind=kind, value=value):
                    p = self.conf(kind, value)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    out = p.stdout.decode()
                    self.assertIn(PAGE_CSP % ancestors, out)
                    self.assertEqual(out.count("frame-ancestors"), 1, out)
                    self.assertNotIn("X-Frame-Options", out)

    def test_bad_value_writes_nothing(self):
        for kind in ("lighttpd", "apache"):
            for value in ("https://a.example; script-src *",
                          'https://a.example"', "https://a.example/"):
                with self.subTest(kind=kind, value=value):
                    p = self.conf(kind, value)
                    self.assertEqual(p.returncode, 2)
                    self.assertEqual(p.stdout, b"")
                    self.assertIn(b"INTAKE_EMBED_ORIGINS", p.stderr)


class SharedHostBundle(unittest.TestCase):
    """make shared-host's .htaccess (programs stand-ins: the layout alone
    is under test here; test_shared_host.py runs the real bundle)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-embed-")
        self.obj = os.path.join(self.tmp, "obj")
        os.mkdir(self.obj)
        for prog in ("intake.fcgi", "intake-extract"):
            path = os.path.join(self.obj, prog)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n")
            os.chmod(path, 0o755)
        self.out = os.path.join(self.tmp, "out")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def bundle(self, value):
        env = clean_env() if value is None else clean_env(
            INTAKE_EMBED_ORIGINS=value)
        return run([os.path.join(TOP, "scripts", "shared-host.sh"),
                    self.obj, self.out], env)

    def htaccess(self):
        with open(os.path.join(self.out, "public_html", ".htaccess"),
                  encoding="utf-8") as f:
            return f.read()

    def test_without_origins_the_example_as_it_is(self):
        p = self.bundle(None)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(TOP, "examples", "shared-host", "public_html",
                               ".htaccess"), encoding="utf-8") as f:
            self.assertEqual(self.htaccess(), f.read())
        self.assertIn('setifempty Content-Security-Policy "%s"' %
                      (PAGE_CSP % "'none'"), self.htaccess())
        self.assertEqual(os.stat(os.path.join(
            self.out, "public_html", ".htaccess")).st_mode & 0o777, 0o644)
        self.assertTrue(os.path.isfile(os.path.join(
            self.out, "public_html", "embed.js")))

    def test_with_origins(self):
        p = self.bundle(ORIGINS)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = self.htaccess()
        self.assertIn('setifempty Content-Security-Policy "%s"' %
                      (PAGE_CSP % ANCESTORS), text)
        self.assertNotIn("frame-ancestors 'none';", text)
        self.assertIn(ANCESTORS, p.stdout.decode())
        self.assertEqual(os.stat(os.path.join(
            self.out, "public_html", ".htaccess")).st_mode & 0o777, 0o644)

    def test_bad_value_keeps_the_bundle(self):
        self.assertEqual(self.bundle(ORIGINS).returncode, 0)
        before = self.htaccess()
        p = self.bundle("https://a.example; frame-ancestors *")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"INTAKE_EMBED_ORIGINS", p.stderr)
        self.assertEqual(self.htaccess(), before)


class ProgramSetting(unittest.TestCase):
    """intake.conf's embed_origins: checked by the program."""

    def check(self, line):
        tmp = tempfile.mkdtemp(prefix="intake-embed-")
        try:
            conf = os.path.join(tmp, "intake.conf")
            with open(conf, "w") as f:
                f.write("db = intake.db\n%s\n" % line)
            os.chmod(conf, 0o600)
            p = run([os.path.join(harness.BUILD_DIR, "intake.fcgi"),
                     "--check"], clean_env(INTAKE_CONFIG=conf), cwd=tmp)
            return p.stdout.decode() + p.stderr.decode()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_good_and_bad(self):
        out = self.check("embed_origins = " + ORIGINS)
        self.assertNotIn("EMBED_ORIGINS", out)
        self.assertNotIn("unknown key", out)
        out = self.check("embed_origins = https://www.firm.example/")
        self.assertRegex(out, r"problem: .*EMBED_ORIGINS")


def check_sends(case, paths):
    """The started server of case (a harness.ServerTestCase with
    INTAKE_EMBED_ORIGINS set) sends the origins in frame-ancestors and no
    X-Frame-Options on each of paths, and frame-ancestors 'none' under
    /api/."""
    for path in paths:
        with case.subTest(path=path):
            resp = harness.request(case.server.port, "GET", path)
            resp.read_body()
            case.assertEqual(resp.status, 200)
            case.assertEqual(resp.headers.get("content-security-policy"),
                             PAGE_CSP % ANCESTORS)
            case.assertNotIn("x-frame-options", resp.headers)
    resp = harness.request(case.server.port, "GET", "/api/health")
    resp.read_body()
    case.assertEqual(resp.headers.get("content-security-policy"), API_CSP)


class LighttpdSends(harness.ServerTestCase):
    server_env = {"INTAKE_EMBED_ORIGINS": ORIGINS}

    def test_page_and_api_headers(self):
        check_sends(self, ("/", "/index.html", "/embed.js", "/intake.css"))


class LighttpdDefault(harness.ServerTestCase):
    def test_page_refuses_frames(self):
        resp = harness.request(self.server.port, "GET", "/")
        resp.read_body()
        self.assertEqual(resp.headers.get("content-security-policy"),
                         PAGE_CSP % "'none'")


@unittest.skipUnless(shutil.which("apache2") and os.path.exists(
    "/usr/lib/apache2/modules/mod_fcgid.so"), "Apache with mod_fcgid")
class ApacheSends(harness.ServerTestCase):
    web_server = "apache"
    server_env = {"INTAKE_EMBED_ORIGINS": ORIGINS}

    def test_page_and_api_headers(self):
        check_sends(self, ("/", "/embed.js"))


if __name__ == "__main__":
    main("integration_embed_conf")
