"""test_config.py: the configuration file (INTAKE_CONFIG) through the real
program under lighttpd.

  - a 0600 file that sets firm_name, word_delay_ms and admin_token: the
    built-in reply names the firm, is paced at the file's delay, and the
    leads answer the file's admin token;
  - the environment wins over the file (INTAKE_FIRM_NAME and
    INTAKE_WORD_DELAY_MS set too);
  - a file that sets the provider, its URL and its API key (the mock
    provider): the key reaches the provider as the bearer, and neither it
    nor the admin token ever shows in the server's logs (lighttpd's error
    log and the program's stderr), nor in the database, whether the model
    answers or fails;
  - INTAKE_SYSTEM_PROMPT_FILE read at start: a file larger than 64 KiB,
    or missing, stops both programs with the reason (run directly).

    make test-build && BUILD=build/test python3 tests/integration/test_config.py

The last line printed is "integration_config: N passed, N failed".
"""

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import ServerTestCase, delta_text, main  # noqa: E402

FILE_FIRM = "Hartwell & Quist Legal"
ENV_FIRM = "Oakridge Envlaw Partners"
FILE_DELAY_MS = 60
API_KEY = "sk-file-" + secrets.token_urlsafe(24)
FILE_ADMIN = "file-admin-" + secrets.token_urlsafe(18)
REPLY = ("Thank you. May I have your full name and the best number to "
         "reach you, please?")


def setUpModule():
    harness.become_subreaper()


def tearDownModule():
    harness.reap_adopted()


def write_conf(srv, lines):
    """The configuration file, mode 0600, in the server's folder."""
    path = os.path.join(srv.tmp, "intake.conf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# written by test_config.py\n")
        f.write("\n".join(lines) + "\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return path


def wait_jobs(srv, timeout=20.0):
    def idle():
        rows = srv.query("SELECT count(*) FROM jobs WHERE state IN "
                         "('pending', 'running')")
        return rows[0][0] == 0
    srv.wait_for(idle, timeout=timeout, what="extraction jobs to finish")


class ConfigChecks:
    def spread(self, events):
        deltas = [e for e in events if e.event == "delta"]
        self.assertGreaterEqual(len(deltas), 10, events)
        return len(deltas), deltas[-1].t - deltas[0].t

    def secrets_absent(self, *values):
        srv = self.server
        log = srv.log_text()
        for v in values:
            self.assertNotIn(v, log, "a secret is in the server's log")
            # nor a good part of it (a logged prefix or suffix)
            self.assertNotIn(v[-16:], log)
            self.assertNotIn(v[:20], log)
        for name in os.listdir(srv.tmp):
            if name.startswith("intake.db"):
                with open(os.path.join(srv.tmp, name), "rb") as f:
                    data = f.read()
                for v in values:
                    self.assertNotIn(v.encode(), data,
                                     "a secret is in %s" % name)
        return log


class FileOnly(ConfigChecks, ServerTestCase):
    """Every setting under test from the file alone."""
    web_server = "lighttpd"

    @classmethod
    def before_start(cls, srv):
        conf = write_conf(srv, [
            "firm_name = %s" % FILE_FIRM,
            "word_delay_ms = %d" % FILE_DELAY_MS,
            "INTAKE_ADMIN_TOKEN = %s" % FILE_ADMIN,
            "llm_api_key = %s" % API_KEY,
        ])
        srv.env["INTAKE_CONFIG"] = conf
        # the harness sets the delay in the environment, which would win
        del srv.env["INTAKE_WORD_DELAY_MS"]

    def test_reply_names_the_firm_at_the_files_pace(self):
        conv, token = self.server.create_conversation()
        r, events = self.server.turn(conv, token, "Hello, I need some help.")
        text = delta_text(events)
        self.assertIn(FILE_FIRM, text)
        self.assertNotIn("our firm", text)
        n, spread = self.spread(events)
        # word by word at 60 ms: half of that is a floor no machine misses
        self.assertGreater(spread, (n - 1) * FILE_DELAY_MS / 1000.0 * 0.5,
                           "%d deltas in %.3f s: not the file's pace" %
                           (n, spread))
        stored = self.server.get_conversation(conv, token)["messages"][-1]
        self.assertEqual(stored["text"], text)
        wait_jobs(self.server)

    def test_admin_token_from_the_file(self):
        status, _, body = self.server.call(
            "GET", "/api/leads", None, self.server.auth(FILE_ADMIN))
        self.assertEqual(status, 200, body[:200])
        self.assertIn("leads", json.loads(body))
        status, _, body = self.server.call(
            "GET", "/api/leads", None, self.server.auth(FILE_ADMIN + "x"))
        self.assertEqual(status, 401, body[:200])
        status, _, _ = self.server.call("GET", "/api/leads")
        self.assertEqual(status, 401)

    def test_zz_no_secret_in_log(self):
        conv, token = self.server.create_conversation()
        self.server.turn(conv, token, "My name is Ada Byron, 555 201 3344.")
        wait_jobs(self.server)
        self.secrets_absent(API_KEY, FILE_ADMIN)


class EnvWins(ConfigChecks, ServerTestCase):
    """The same file, with the firm's name and the delay in the
    environment as well: the environment's values are used."""
    web_server = "lighttpd"
    word_delay_ms = 0
    server_env = {"INTAKE_FIRM_NAME": ENV_FIRM}

    @classmethod
    def before_start(cls, srv):
        srv.env["INTAKE_CONFIG"] = write_conf(srv, [
            "firm_name = %s" % FILE_FIRM,
            "word_delay_ms = %d" % FILE_DELAY_MS,
        ])
        assert srv.env["INTAKE_WORD_DELAY_MS"] == "0"

    def test_environment_wins(self):
        conv, token = self.server.create_conversation()
        r, events = self.server.turn(conv, token, "Hello, I need some help.")
        text = delta_text(events)
        self.assertIn(ENV_FIRM, text)
        self.assertNotIn(FILE_FIRM, text)
        self.assertNotIn("Hartwell", text)
        n, spread = self.spread(events)
        self.assertLess(spread, (n - 1) * FILE_DELAY_MS / 1000.0 * 0.5,
                        "%d deltas over %.3f s: paced by the file's delay, "
                        "not the environment's 0" % (n, spread))
        wait_jobs(self.server)


class ProviderFromFile(ConfigChecks, harness.MockProviderMixin, ServerTestCase):
    """Provider, URL and API key from the file; the key is used and never
    logged, when the model answers and when it fails."""
    web_server = "lighttpd"
    mock = None

    @classmethod
    def mock_setup(cls, mock):
        mock.set_default({"json": {
            "full_name": "Ada Byron", "phone": None, "email": None,
            "matter_type": "other", "urgency": None, "summary": None},
            "when": {"stream": False}})

    @classmethod
    def before_start(cls, srv):
        srv.env["INTAKE_CONFIG"] = write_conf(srv, [
            "llm_provider = openai",
            "llm_url = %s" % cls.mock.url,
            "llm_api_key = %s" % API_KEY,
            "llm_model = test-model",
            "admin_token = %s" % FILE_ADMIN,
            "extract_timeout_ms = 10000",
        ])

    def test_key_used_and_never_logged(self):
        srv, mock = self.server, self.mock
        mock.push({"text": REPLY, "delay_ms": 5, "when": {"stream": True}})
        conv, token = srv.create_conversation()
        r, events = srv.turn(conv, token, "Hi, my name is Ada Byron.")
        self.assertEqual(delta_text(events), REPLY)
        self.assertEqual(events[-1].data, {"status": "complete"})
        # the model refuses the next turn (a bad key, as a provider says it)
        mock.push({"status": 401, "when": {"stream": True}})
        r, events = srv.turn(conv, token, "Are you still there?")
        self.assertEqual(events[-1].event, "error", events[-1:])
        wait_jobs(srv)
        reqs = mock.requests()
        chats = [q for q in reqs if q["stream"]]
        self.assertGreaterEqual(len(chats), 2, reqs)
        for q in reqs:
            self.assertEqual(q["headers"].get("authorization"),
                             "Bearer " + API_KEY, "the file's key was not "
                             "the one sent to %s" % q["path"])
        self.assertEqual(chats[0]["body"].get("model"), "test-model")
        self.assertTrue(any(not q["stream"] for q in reqs),
                        "no extraction call reached the model")
        # the failure was logged (so this is the log that would hold a
        # leak), the key was not
        log = self.secrets_absent(API_KEY, FILE_ADMIN)
        self.assertIn(conv, log, "the failed reply was not logged at all: "
                      "wrong log?\n" + log[-2000:])

    def test_key_echoed_by_the_provider_is_not_logged(self):
        """A provider (or a proxy in front of one) that quotes the key it
        was sent in its error message: the program logs the provider's
        message, and must not write the key out with it."""
        srv, mock = self.server, self.mock
        mock.push({"status": 401, "when": {"stream": True},
                   "error_message": "Incorrect API key provided: %s. You "
                   "can find your API key in your account." % API_KEY})
        conv, token = srv.create_conversation()
        r, events = srv.turn(conv, token, "Hello?")
        self.assertEqual(events[-1].event, "error", events[-1:])
        self.assertNotIn(API_KEY, json.dumps(events[-1].data))
        wait_jobs(srv)
        log = srv.log_text()
        self.assertIn(conv, log, "the failed reply was not logged at all")
        self.assertNotIn(API_KEY, log, "the API key is in the server's log "
                         "(quoted from the provider's error message)")


PROMPT_MAX = 64 * 1024


class PromptFileAtStart(unittest.TestCase):
    """INTAKE_SYSTEM_PROMPT_FILE is read with the configuration, at start:
    a file larger than 64 KiB (or missing) stops both programs with a
    reason naming the setting and the file, instead of being cut (or
    skipped) on every turn; one of exactly 64 KiB is taken.  The programs
    run here directly, intake.fcgi as plain CGI."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="intake-prompt-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.db = os.path.join(self.tmp, "intake.db")

    def env(self, prompt):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("INTAKE_")}
        # The real extractor: health is ok only when it can run (no turn
        # is taken here, so none is started).
        env.update(INTAKE_DB=self.db, INTAKE_SYSTEM_PROMPT_FILE=prompt,
                   INTAKE_EXTRACTOR=os.path.join(harness.BUILD_DIR,
                                                 "intake-extract"),
                   GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
                   SCRIPT_NAME="/api", PATH_INFO="/health",
                   REQUEST_URI="/api/health", QUERY_STRING="",
                   SERVER_PROTOCOL="HTTP/1.1", REMOTE_ADDR="127.0.0.1")
        return env

    def prompt(self, size):
        path = os.path.join(self.tmp, "prompt-%d.txt" % size)
        with open(path, "wb") as f:
            f.write(b"p" * size)
        return path

    def run_prog(self, prog, args, env):
        return subprocess.run([os.path.join(harness.BUILD_DIR, prog)] + args,
                              env=env, cwd=self.tmp, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=30)

    def test_too_large_or_missing_refused_at_start(self):
        for path, why in ((self.prompt(PROMPT_MAX + 1),
                           "larger than %d bytes" % PROMPT_MAX),
                          (os.path.join(self.tmp, "nope.txt"),
                           "No such file")):
            for prog, args in (("intake-extract", ["--init"]),
                               ("intake.fcgi", [])):
                with self.subTest(prog=prog, why=why):
                    r = self.run_prog(prog, args, self.env(path))
                    err = r.stderr.decode("utf-8", "replace")
                    self.assertNotEqual(r.returncode, 0, err)
                    self.assertIn("SYSTEM_PROMPT_FILE", err)
                    self.assertIn(path, err)
                    self.assertIn(why, err)
                    self.assertNotIn(b"Status: 200", r.stdout)
        self.assertFalse(os.path.exists(self.db),
                         "a database was made anyway")

    def test_largest_taken(self):
        env = self.env(self.prompt(PROMPT_MAX))
        owner = ["--owner", "root"] if os.geteuid() == 0 else []
        r = self.run_prog("intake-extract", ["--init"] + owner, env)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        r = self.run_prog("intake.fcgi", [], env)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertTrue(r.stdout.startswith(b"Status: 200"), r.stdout[:300])


if __name__ == "__main__":
    main("integration_config")
