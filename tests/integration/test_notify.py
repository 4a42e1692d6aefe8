"""test_notify.py: lead delivery with real parts (DESIGN.md, "Lead
delivery (contract v1)"): the real lighttpd, intake.fcgi and
intake-extract, a real SMTP server process (tests/smtp_server.py, Debian's
python3-aiosmtpd run by /usr/bin/python3) and a real HTTP receiver (an
http.server thread here) that checks the Standard Webhooks signature.

    make test-build && BUILD=build/test \
        python3 tests/integration/test_notify.py

Every fault is counted at the receivers: how many e-mails the SMTP server
accepted (each with its Message-ID), how many webhook requests arrived
(each with its webhook-id and whether its signature held for its own
timestamp), and what the sender was answered.  Faults are scripted per
conversation at the webhook receiver (Receiver.plan) and through the SMTP
server's control file (SmtpProcess.set_control).  Time bounds are
generous: the machine may be loaded and the programs run under ASan.

Like test_extract.py this process is a child subreaper, so orphaned
extractors (double-forked, or killed here on purpose) are reaped.

The last line printed is "integration_notify: N passed, N failed".
"""

import base64
import email
import email.header
import email.policy
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import quopri
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import (ADMIN, BUILD_DIR, EXTRACTOR, FIELDS,  # noqa: E402
                     TOP, LeadChecks, ServerTestCase, main)
from smtp_server import SmtpProcess, peer_pid  # noqa: E402

NOTE_KEYS = {"id", "type", "target", "status", "attempts", "last_error",
             "sent_at"}
PUBLIC_URL = "https://intake.firm.test"
FROM = "intake@firm.test"
RCPTS = ["desk@firm.test", "partner@firm.test"]
HOOK_PATH = "/hooks/intake"

# Headers mail.h says the message has, and nothing else.
MAIL_HEADERS = {"date", "from", "to", "subject", "message-id",
                "mime-version", "content-type", "content-transfer-encoding",
                "auto-submitted", "x-intake-notification"}

# What the rules extractor reads (see test_extract.py): a name and a
# complete phone number, a car accident (personal injury), urgent (high).
READY_TEXT = ("My name is Jane Doe, I was in a car accident and it's "
              "urgent. My number is 555-201-3344.")
READY_PHONE = "+15552013344"

WAIT = 30.0             # a delivery arriving (through retries)
SETTLE = 4.0            # "nothing more arrives": watched this long


def new_secret(nbytes=32):
    return "whsec_" + base64.b64encode(os.urandom(nbytes)).decode()


def setUpModule():
    harness.require_subreaper()
    if not os.path.exists("/usr/bin/python3"):
        raise unittest.SkipTest("no /usr/bin/python3 (Debian's, with "
                                "python3-aiosmtpd)")


def tearDownModule():
    harness.reap_adopted()


def _reap_sleep(seconds):
    """Sleep, reaping adopted children meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        harness.reap_adopted()
        time.sleep(min(0.2, max(0.0, end - time.monotonic())))


# --------------------------------------------------------------------------
# the webhook receiver

def signature_ok(key, wid, ts, body, header):
    """Standard Webhooks: one of the space-separated "v1,BASE64" entries
    is the HMAC-SHA256 of "id.ts.body" under key."""
    if key is None or not wid or not ts or not header:
        return False
    want = "v1," + base64.b64encode(hmac.new(
        key, ("%s.%s." % (wid, ts)).encode() + body,
        hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(s.encode(), want.encode())
               for s in header.split(" ") if s)


class Receiver:
    """A webhook endpoint on 127.0.0.1 in a thread of this process.

    Every request becomes a record (dict): method, path, headers, body,
    json, id / ts / sig (the webhook-* headers), sig_ok, conv (the
    body's data.conversation_id), mono and time of arrival (the whole
    body read), action, answered (the status written, "closed" when it
    closed without answering, "killed PID" when it killed the sender)
    and t_answered.

    What it answers is planned per conversation: plan(conv, a1, a2, ...,
    then=200) answers that conversation's requests with a1, a2, ... and
    then with `then`; a conversation without a plan gets `default`.  An
    action is a status (int) or a dict: {"sleep": S} first, {"kill":
    "peer" or PID} SIGKILLs the sender (the process holding the client's
    end of the connection) and closes, {"close": True} closes without a
    word, {"redirect": URL, "status": 302} answers a redirect, else
    {"status": N}."""

    def __init__(self, secret=None, port=0, default=200):
        self.key = (base64.b64decode(secret[len("whsec_"):])
                    if secret else None)
        self.default = default
        self.records = []
        self.plans = {}
        self.lock = threading.Lock()
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                rx._handle(self)

            do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def url(self, path=HOOK_PATH):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def plan(self, conv, *actions, then=200):
        with self.lock:
            self.plans[conv] = [list(actions), then]

    def clear_plans(self, default=200):
        with self.lock:
            self.plans = {}
            self.default = default

    def _next(self, conv):
        with self.lock:
            p = self.plans.get(conv)
            if p is None:
                return self.default
            if p[0]:
                return p[0].pop(0)
            return p[1]

    def _handle(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n > 0 else b""
        rec = {"method": h.command, "path": h.path,
               "headers": {k.lower(): v for k, v in h.headers.items()},
               "body": body, "json": None, "conv": None,
               "id": h.headers.get("webhook-id"),
               "ts": h.headers.get("webhook-timestamp"),
               "sig": h.headers.get("webhook-signature"),
               "mono": time.monotonic(), "time": time.time(),
               "answered": None, "t_answered": None,
               "peer": h.client_address}
        rec["sig_ok"] = signature_ok(self.key, rec["id"], rec["ts"], body,
                                     rec["sig"])
        try:
            rec["json"] = json.loads(body.decode("utf-8"))
            rec["conv"] = rec["json"]["data"]["conversation_id"]
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        action = self._next(rec["conv"])
        rec["action"] = action
        with self.lock:
            self.records.append(rec)
        if isinstance(action, int):
            action = {"status": action}
        try:
            if action.get("sleep"):
                time.sleep(action["sleep"])
            if action.get("kill") is not None:
                target = action["kill"]
                pid = (peer_pid(h.client_address, self.httpd.server_address)
                       if target == "peer" else int(target))
                if pid:
                    os.kill(pid, signal.SIGKILL)
                rec["answered"] = "killed %s" % pid
                h.close_connection = True
                return
            if action.get("close"):
                rec["answered"] = "closed"
                h.close_connection = True
                return
            status = action.get("status", 200)
            out = b'{"ok":true}' if status < 300 else b'{"ok":false}'
            h.send_response(status)
            if action.get("redirect"):
                h.send_header("Location", action["redirect"])
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(out)))
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(out)
            h.wfile.flush()
            rec["answered"] = status
            rec["t_answered"] = time.monotonic()
            h.close_connection = True
        except OSError as e:
            rec["answered"] = "error %s" % e

    def of(self, conv):
        with self.lock:
            return [r for r in self.records if r["conv"] == conv]

    def all(self):
        with self.lock:
            return list(self.records)


# --------------------------------------------------------------------------
# e-mail

def parse_mail(m):
    """An accepted message (smtp_server.py's record) with its parts:
    raw bytes, header lines, parsed message, Message-ID, body text."""
    raw = m["raw"].encode("latin-1")
    m = dict(m)
    m["bytes"] = raw
    head, sep, _ = raw.partition(b"\r\n\r\n")
    m["head_ok"] = bool(sep)
    names, lines = [], head.split(b"\r\n")
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            continue
        names.append(line.split(b":", 1)[0].decode("latin-1"))
    m["header_names"] = names
    m["header_lines"] = lines
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    m["msg"] = msg
    mid = msg.get("Message-ID", "")
    m["message_id"] = mid.strip()
    mm = re.fullmatch(r"<([^@<>\s]+)@([^@<>\s]+)>", m["message_id"])
    m["note_id"] = mm.group(1) if mm else None
    m["mid_domain"] = mm.group(2) if mm else None
    try:
        m["text"] = msg.get_payload(decode=True).decode("utf-8")
    except (AttributeError, UnicodeDecodeError):
        m["text"] = None
    # unfolded (RFC 5322: a CRLF before white space is removed)
    subj = re.sub(r"\r?\n(?=[ \t])", "", msg.get("Subject", ""))
    m["subject_raw"] = subj
    m["subject"] = str(email.header.make_header(
        email.header.decode_header(subj))) if subj else ""
    return m


def note_ids_of(srv, conv, target=None):
    rows = srv.query("SELECT id, target FROM notifications WHERE "
                     "conversation_id = ?", (conv,))
    return {r["id"] for r in rows if target is None or r["target"] == target}


# --------------------------------------------------------------------------
# the checks every class shares

class NotifyChecks(LeadChecks):

    def api_notes(self, conv):
        d = self.detail(conv)
        if d is None:
            return []
        self.assertIn("notifications", d, "GET /api/leads/%s has no "
                      "notifications: %r" % (conv, sorted(d)))
        return d["notifications"]

    def rows(self, conv):
        return [dict(r) for r in self.server.query(
            "SELECT * FROM notifications WHERE conversation_id = ? "
            "ORDER BY created_at, id", (conv,))]

    def wait_rows(self, conv, pred, what, timeout=WAIT):
        def probe():
            rows = self.rows(conv)
            harness.reap_adopted()
            return rows if pred(rows) else None
        try:
            return self.server.wait_for(probe, timeout, 0.1, what)
        except AssertionError as e:
            raise AssertionError("%s\nrows: %r\nlog tail:\n%s" % (
                e, self.rows(conv), self.server.log_tail(30)))

    def wait_all_sent(self, conv, n, timeout=WAIT):
        return self.wait_rows(conv, lambda rows: len(rows) == n and all(
            r["status"] == "sent" for r in rows), "%d notification(s) of "
            "%s sent" % (n, conv), timeout)

    def wait_quiet(self, timeout=60.0):
        """No job pending or running (so no notification to come), then
        no notification pending: what an earlier test left is over."""
        harness.reap_adopted()
        self.server.quiesce(timeout)

        def quiet():
            harness.reap_adopted()
            return not self.server.query("SELECT 1 FROM notifications "
                                         "WHERE status = 'pending'")
        self.server.wait_for(quiet, timeout, 0.1, "no notification pending")

    def turn(self, conv, token, text):
        """One turn that ends with done: (t_done, t_end), t_end when this
        client saw the end of the response."""
        r, events = self.server.turn(conv, token, text)
        self.assertTrue(events and events[-1].event == "done",
                        "the turn did not end with done: %r" % events[-3:])
        self.assertIsNotNone(r.t_end)
        return events[-1].t, r.t_end

    def lead(self, text=READY_TEXT):
        """A new conversation and one turn: (conv, token, t_done, t_end)."""
        conv, token = self.server.create_conversation()
        return (conv, token) + self.turn(conv, token, text)

    def mails(self, conv):
        """The accepted e-mails of conv's notifications, oldest first."""
        ids = note_ids_of(self.server, conv, "email")
        return [m for m in (parse_mail(x) for x in self.smtp.messages())
                if m["note_id"] in ids]

    def hooks(self, conv):
        return self.hook.of(conv)

    def extract(self, *args, timeout=90, env=None):
        """Run intake-extract ARGS with the server's environment."""
        harness.reap_adopted()
        p = subprocess.run([EXTRACTOR] + list(args),
                           env=env or self.server.env, cwd=TOP,
                           capture_output=True, timeout=timeout)
        self.outputs.append(p.stdout + p.stderr)
        return p

    def sweep(self, *more):
        p = self.extract("--sweep", *more)
        self.assertEqual(p.returncode, 0, "--sweep exited %d: %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace")[-2000:]))
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(len(out.splitlines()), 1, "--sweep printed %r" %
                         out)
        return out

    def note_of(self, notes, target):
        mine = [n for n in notes if n["target"] == target]
        self.assertEqual(len(mine), 1, notes)
        return mine[0]

    def check_hook_request(self, rec, conv, wid, typ):
        """One webhook request as the contract has it."""
        self.assertEqual(rec["method"], "POST")
        self.assertEqual(rec["path"], HOOK_PATH)
        self.assertTrue(rec["headers"].get("content-type", "").startswith(
            "application/json"), rec["headers"])
        self.assertEqual(rec["id"], wid)
        self.assertRegex(rec["ts"] or "", r"^\d{9,11}$")
        self.assertLess(abs(int(rec["ts"]) - rec["time"]), 60,
                        "webhook-timestamp is not this try's time")
        self.assertTrue(rec["sig_ok"], "the signature does not verify: "
                        "id %r ts %r sig %r" % (rec["id"], rec["ts"],
                                                rec["sig"]))
        b = rec["json"]
        self.assertIsInstance(b, dict, rec["body"][:300])
        self.assertEqual(set(b), {"type", "timestamp", "data"}, b)
        self.assertEqual(b["type"], typ)
        self.assertRegex(b["timestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertEqual(set(b["data"]), {"conversation_id", "fields",
                                          "url"}, b)
        self.assertEqual(b["data"]["conversation_id"], conv)
        self.assertEqual(set(b["data"]["fields"]), set(FIELDS), b)
        self.assertEqual(b["data"]["url"],
                         PUBLIC_URL + "/leads.html#" + conv)
        return b


class NotifyCase(NotifyChecks, ServerTestCase):
    """A server with e-mail (to a real SMTP server) and a webhook (to a
    Receiver) configured; the receivers start before the server."""

    word_delay_ms = 1
    smtp_up = True          # False: the SMTP port is free (server down)
    smtp_user = None        # (user, password) the SMTP server wants
    use_email = True
    use_hook = True
    backoff = "1,1,1"
    timeout_ms = 2000
    extra_env = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="intake-notify-")
        cls.secret = new_secret()
        cls.smtp = SmtpProcess(cls.tmp, harness.free_port(),
                               *(cls.smtp_user or (None, None)))
        cls.hook = Receiver(cls.secret)
        try:
            if cls.use_email and cls.smtp_up:
                cls.smtp.start()
            env = dict(cls.server_env or {})
            env.update({
                "INTAKE_ADMIN_TOKEN": ADMIN,
                "INTAKE_PUBLIC_URL": PUBLIC_URL,
                "INTAKE_NOTIFY_TIMEOUT_MS": str(cls.timeout_ms),
                "INTAKE_NOTIFY_BACKOFF_S": cls.backoff,
            })
            if cls.use_email:
                env.update({
                    "INTAKE_NOTIFY_EMAIL": ", ".join(RCPTS),
                    "INTAKE_SMTP_URL": "smtp://127.0.0.1:%d" % cls.smtp.port,
                    "INTAKE_SMTP_FROM": FROM,
                })
            if cls.use_hook:
                env.update({
                    "INTAKE_WEBHOOK_URL": cls.hook.url(),
                    "INTAKE_WEBHOOK_SECRET": cls.secret,
                })
            env.update(cls.extra_env)
            cls.server_env = env
            super().setUpClass()
        except BaseException:
            cls._stop_receivers()
            raise

    @classmethod
    def _stop_receivers(cls):
        cls.smtp.stop()
        cls.hook.stop()
        if os.environ.get("INTAKE_TEST_KEEP") == "1":
            sys.stderr.write("kept %s\n" % cls.tmp)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._stop_receivers()
            harness.reap_adopted()

    def setUp(self):
        self.outputs = []
        self.hook.clear_plans()
        if self.smtp.proc is not None:
            self.smtp.set_control({})
        self.wait_quiet()


# --------------------------------------------------------------------------
# 1, 2, 3, 5, 6, 12: receivers up, fast retries

class DeliveryTests(NotifyCase):

    def test_01_happy_path_one_email_one_webhook(self):
        conv, token, t_done, t_end = self.lead()
        rows = self.wait_all_sent(conv, 2)
        _reap_sleep(SETTLE)         # nothing more comes
        self.assertEqual(len(self.rows(conv)), 2)
        by = {r["target"]: r for r in rows}
        self.assertEqual(set(by), {"email", "webhook"})
        # the e-mail: exactly one, to the configured recipients only
        mails = self.mails(conv)
        self.assertEqual(len(mails), 1, [m["message_id"] for m in mails])
        m = mails[0]
        self.assertEqual(m["mail_from"], FROM)
        self.assertEqual(sorted(m["rcpt_tos"]), sorted(RCPTS))
        self.assertEqual(m["note_id"], by["email"]["id"])
        self.assertRegex(m["note_id"], r"^msg_[A-Za-z0-9_-]+$")
        self.assertEqual(m["mid_domain"], FROM.split("@")[1])
        msg = m["msg"]
        self.assertEqual(email.utils.parseaddr(msg["From"])[1], FROM)
        self.assertEqual(sorted(a for _, a in email.utils.getaddresses(
            msg.get_all("To", []))), sorted(RCPTS))
        self.assertEqual(m["subject"], "New lead: Jane Doe (Personal "
                         "injury)")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(msg["Content-Transfer-Encoding"].lower(),
                         "quoted-printable")
        body = quopri.decodestring(m["bytes"].partition(
            b"\r\n\r\n")[2]).decode("utf-8")
        self.assertIn("Jane Doe", body)
        self.assertIn("5552013344", re.sub(r"\D", "", body))
        self.assertIn(PUBLIC_URL + "/leads.html#" + conv, body)
        first = [ln for ln in body.splitlines() if ln.strip()][0]
        self.assertIn("high", first.lower(), "the urgency (high) is not "
                      "first in the body:\n%s" % body)
        self.assertIsNotNone(msg["Date"])
        self.assertTrue(email.utils.parsedate_to_datetime(msg["Date"]))
        # the webhook: exactly one, signed, the contract's body
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 1, hooks)
        b = self.check_hook_request(hooks[0], conv, by["webhook"]["id"],
                                    "lead.ready")
        f = b["data"]["fields"]
        self.assertEqual(f["full_name"], "Jane Doe")
        self.assertEqual(f["phone"], READY_PHONE)
        self.assertIsNone(f["email"])
        self.assertEqual(f["matter_type"], "personal_injury")
        self.assertEqual(f["urgency"], "high")
        self.assertEqual(hooks[0]["answered"], 200)
        # nothing was sent before the response ended
        self.assertGreater(m["mono"], t_end, "the e-mail arrived %.3f s "
                           "before the response ended" % (t_end - m["mono"]))
        self.assertGreater(hooks[0]["mono"], t_end, "the webhook arrived "
                           "%.3f s before the response ended" %
                           (t_end - hooks[0]["mono"]))
        # the API
        notes = self.api_notes(conv)
        self.assertEqual(len(notes), 2, notes)
        for n in notes:
            self.assertLessEqual(NOTE_KEYS, set(n), n)
            self.assertEqual(n["type"], "lead.ready")
            self.assertEqual(n["status"], "sent", n)
            self.assertEqual(n["attempts"], 1, n)
            self.assertIsNone(n["last_error"], n)
            self.assertIsInstance(n["sent_at"], str)
            self.assertRegex(n["sent_at"], r"^\d{4}-\d\d-\d\dT")
            self.assertEqual(n["id"], by[n["target"]]["id"])
        sys.stderr.write("\n  [notify] delivered %.2f s (e-mail) and %.2f s "
                         "(webhook) after the response ended\n" % (
                             m["mono"] - t_end, hooks[0]["mono"] - t_end))

    def test_01b_emergency_subject(self):
        conv, _, _, _ = self.lead(
            "My name is Ann Lee, it's an emergency, I was just arrested. "
            "Call me at 555-301-4455.")
        self.wait_all_sent(conv, 2)
        mails = self.mails(conv)
        self.assertEqual(len(mails), 1)
        self.assertEqual(self.detail(conv)["fields"]["urgency"]["value"],
                         "emergency")
        self.assertTrue(mails[0]["subject"].startswith(
            "[URGENT] New lead: Ann Lee"), mails[0]["subject"])
        body = mails[0]["text"]
        first = [ln for ln in body.splitlines() if ln.strip()][0]
        self.assertIn("emergency", first.lower(), body)

    def test_02_update_once_per_target_and_none_without_change(self):
        conv, token, _, _ = self.lead(
            "My name is Sam Rivera, my number is 555-123-4567.")
        self.wait_all_sent(conv, 2)
        # a change: the e-mail address (from nothing to a value)
        self.turn(conv, token, "You can also write to sam.rivera@example.com")
        rows = self.wait_rows(conv, lambda rows: len(rows) == 4 and all(
            r["status"] == "sent" for r in rows), "lead.updated sent")
        upd = [r for r in rows if r["type"] == "lead.updated"]
        self.assertEqual(sorted(r["target"] for r in upd),
                         ["email", "webhook"])
        hooks = self.hooks(conv)
        self.assertEqual([h["json"]["type"] for h in hooks],
                         ["lead.ready", "lead.updated"])
        b = self.check_hook_request(hooks[1], conv, [
            r["id"] for r in upd if r["target"] == "webhook"][0],
            "lead.updated")
        self.assertEqual(b["data"]["fields"]["email"],
                         "sam.rivera@example.com")
        self.assertEqual(b["data"]["fields"]["full_name"], "Sam Rivera")
        mails = self.mails(conv)
        self.assertEqual(len(mails), 2)
        self.assertNotEqual(mails[0]["message_id"], mails[1]["message_id"])
        self.assertIn("sam.rivera@example.com", mails[1]["text"])
        # a turn that changes nothing: no notification
        self.turn(conv, token, "thanks")
        self.server.wait_for(lambda: len(self.server.query(
            "SELECT 1 FROM jobs WHERE conversation_id = ? AND state = "
            "'done'", (conv,))) == 3, WAIT, 0.1, "turn 3's extraction")
        _reap_sleep(SETTLE)
        self.assertEqual(len(self.rows(conv)), 4, self.rows(conv))
        self.assertEqual(len(self.hooks(conv)), 2)
        self.assertEqual(len(self.mails(conv)), 2)
        # the name corrected: one more lead.updated per target
        self.turn(conv, token, "sorry, my name is actually Sam Rivers")
        rows = self.wait_rows(conv, lambda rows: len(rows) == 6 and all(
            r["status"] == "sent" for r in rows), "the second lead.updated")
        _reap_sleep(SETTLE)
        self.assertEqual(len(self.rows(conv)), 6)
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 3)
        self.assertEqual(hooks[2]["json"]["data"]["fields"]["full_name"],
                         "Sam Rivers")
        self.assertEqual(len({h["id"] for h in hooks}), 3)
        self.assertEqual(len(self.mails(conv)), 3)
        self.assertTrue(self.mails(conv)[2]["subject"].startswith(
            "Lead updated: Sam Rivers"), self.mails(conv)[2]["subject"])

    def test_03_smtp_refuses_twice_then_accepts(self):
        t0 = time.monotonic()
        self.smtp.set_control({"refuse_data": 2})
        conv, _, _, _ = self.lead()
        rows = self.wait_all_sent(conv, 2)
        _reap_sleep(SETTLE)
        em = [r for r in rows if r["target"] == "email"][0]
        self.assertEqual(em["attempts"], 3, em)
        self.assertIsNone(em["last_error"])
        mails = self.mails(conv)
        self.assertEqual(len(mails), 1, "accepted e-mails: %d" % len(mails))
        refused = self.smtp.events("refused", since=t0)
        self.assertEqual(len(refused), 2, refused)
        note = self.note_of(self.api_notes(conv), "email")
        self.assertEqual((note["status"], note["attempts"]), ("sent", 3))
        self.assertIsNone(note["last_error"])
        hook = self.note_of(self.api_notes(conv), "webhook")
        self.assertEqual((hook["status"], hook["attempts"]), ("sent", 1))

    def test_05_webhook_500_then_timeout_then_200(self):
        conv, token = self.server.create_conversation()
        # 500; then an answer that never comes in time (the sender's
        # timeout is 2 s): the receiver closes after 12 s without a word;
        # then 200
        self.hook.plan(conv, 500, {"sleep": 12, "close": True}, then=200)
        self.turn(conv, token, READY_TEXT)
        # the second try given up after the 2 s timeout: recorded while
        # the receiver still holds the request
        self.server.wait_for(lambda: len(self.hooks(conv)) >= 2, WAIT, 0.05,
                             "the second webhook try")
        t2 = self.hooks(conv)[1]["mono"]
        self.wait_rows(conv, lambda rows: [
            r for r in rows if r["target"] == "webhook" and
            r["attempts"] >= 2 and r["last_error"] and
            "500" not in r["last_error"]], "the second try's failure "
            "recorded", timeout=20)
        took = time.monotonic() - t2
        self.assertLess(took, 10.0, "the try that got no answer was given "
                        "up after %.1f s (INTAKE_NOTIFY_TIMEOUT_MS 2000)" %
                        took)
        self.assertIsNone(self.hooks(conv)[1]["answered"])
        rows = self.wait_all_sent(conv, 2, timeout=45)
        _reap_sleep(SETTLE)
        wh = [r for r in rows if r["target"] == "webhook"][0]
        hooks = self.hooks(conv)
        self.assertGreaterEqual(len(hooks), 3, hooks)
        self.assertEqual(len(hooks), wh["attempts"],
                         "requests received != attempts counted")
        self.assertEqual({h["id"] for h in hooks}, {wh["id"]},
                         "not one webhook-id on every try")
        self.assertEqual(hooks[0]["answered"], 500)
        self.assertIn(hooks[1]["answered"], (None, "closed"))
        ok = [h for h in hooks if h["answered"] == 200]
        self.assertEqual(len(ok), 1, [h["answered"] for h in hooks])
        self.assertIs(hooks[-1], ok[0])
        for h in hooks:
            self.check_hook_request(h, conv, wh["id"], "lead.ready")
        # each try signed for its own timestamp, the body the same lead
        self.assertEqual(len({h["json"]["data"]["fields"]["phone"]
                              for h in hooks}), 1)
        self.assertEqual(wh["status"], "sent")
        self.assertIsNone(wh["last_error"])
        # the next try waited for the timeout and the backoff
        gap = hooks[2]["mono"] - hooks[1]["mono"]
        self.assertGreater(gap, 2.0, "the sender did not wait for the "
                           "timeout: next try %.2f s later" % gap)

    def test_06_all_tries_fail_then_retry_failed(self):
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, then=500)
        self.turn(conv, token, READY_TEXT)
        rows = self.wait_rows(conv, lambda rows: any(
            r["target"] == "webhook" and r["status"] == "failed"
            for r in rows), "the webhook row failed", timeout=45)
        wh = [r for r in rows if r["target"] == "webhook"][0]
        self.assertEqual(wh["attempts"], 4, "backoff 1,1,1 is 4 tries: %r"
                         % wh)
        self.assertTrue(wh["last_error"])
        self.assertIn("500", wh["last_error"])
        note = self.note_of(self.api_notes(conv), "webhook")
        self.assertEqual(note["status"], "failed")
        self.assertEqual(note["attempts"], 4)
        self.assertIn("500", note["last_error"])
        self.assertIsNone(note["sent_at"])
        _reap_sleep(SETTLE)
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 4, "a failed row is tried again")
        self.assertEqual({h["id"] for h in hooks}, {wh["id"]})
        self.assertTrue(all(h["sig_ok"] for h in hooks))
        # sent again by --sweep --retry-failed, once
        self.hook.plan(conv, then=200)
        out = self.sweep("--retry-failed")
        self.assertIn("pending again", out)
        rows = self.wait_rows(conv, lambda rows: all(
            r["status"] == "sent" for r in rows), "sent after the retry")
        _reap_sleep(SETTLE)
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 5)
        self.assertEqual([h["answered"] for h in hooks].count(200), 1)
        self.assertEqual(hooks[-1]["id"], wh["id"])
        note = self.note_of(self.api_notes(conv), "webhook")
        self.assertEqual(note["status"], "sent")
        self.assertEqual(note["attempts"], 5)
        self.assertIsNone(note["last_error"])

    def test_06b_retry_route(self):
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, then=500)
        self.turn(conv, token, READY_TEXT)
        rows = self.wait_rows(conv, lambda rows: len(rows) == 2 and all(
            r["status"] in ("sent", "failed") for r in rows),
            "the webhook row failed", timeout=45)
        wh = [r for r in rows if r["target"] == "webhook"][0]
        em = [r for r in rows if r["target"] == "email"][0]
        self.assertEqual((wh["status"], em["status"]), ("failed", "sent"))
        base = "/api/leads/%s/notifications/" % conv
        # admin only; not for a row that did not fail; 404 unknown
        st, _, body = self.server.call("POST", base + wh["id"] + "/retry")
        self.assertEqual(st, 401, body)
        st, _, body = self.server.call("POST", base + em["id"] + "/retry",
                                       None, self.admin())
        self.assertEqual(st, 409, body)
        self.assertEqual(json.loads(body)["error"]["code"], "not_failed")
        st, _, body = self.server.call(
            "POST", base + "msg_" + "A" * 22 + "/retry", None, self.admin())
        self.assertEqual(st, 404, body)
        other, _ = self.server.create_conversation()
        st, _, body = self.server.call(
            "POST", "/api/leads/%s/notifications/%s/retry" % (other,
                                                            wh["id"]),
            None, self.admin())
        self.assertEqual(st, 404, "a notification of another lead: %r" %
                         body)
        self.assertEqual(len(self.hooks(conv)), 4)
        # the retry: 202, then sent without anyone running a sweep
        self.hook.plan(conv, then=200)
        st, hdrs, body = self.server.call("POST", base + wh["id"] +
                                          "/retry", None, self.admin())
        self.assertEqual(st, 202, body)
        self.assertEqual(json.loads(body), {"status": "pending"})
        self.wait_rows(conv, lambda rows: all(
            r["status"] == "sent" for r in rows), "sent after the retry")
        _reap_sleep(SETTLE)
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 5)
        self.assertEqual([h["answered"] for h in hooks].count(200), 1)
        st, _, body = self.server.call("POST", base + wh["id"] + "/retry",
                                       None, self.admin())
        self.assertEqual(st, 409, body)

    def test_12_dead_input_time_with_slow_receivers(self):
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, {"sleep": 8, "status": 200}, then=200)
        self.smtp.set_control({"data_delay_s": 8})
        t_done, t_end = self.turn(conv, token, READY_TEXT)
        dead = t_end - t_done
        self.assertLess(dead, 2.0, "the body ended %.2f s after done" % dead)
        # a second turn at once, while a delivery is in flight
        self.server.wait_for(lambda: self.hooks(conv), 20, 0.05,
                             "the slow webhook request")
        t0 = time.monotonic()
        t_done2, t_end2 = self.turn(conv, token, "Is there anything else "
                                    "you need from me?")
        self.assertLess(t_end2 - t0, 6.0, "the second turn took %.2f s" %
                        (t_end2 - t0))
        self.assertLess(t_end2 - t_done2, 2.0)
        first = self.hooks(conv)[0]
        self.assertTrue(first["t_answered"] is None or
                        first["t_answered"] > t_end2,
                        "the slow receiver had already answered: no "
                        "overlap was tested")
        sys.stderr.write("\n  [notify] dead input time %.3f s / %.3f s with "
                         "receivers sleeping 8 s\n" % (dead,
                                                        t_end2 - t_done2))
        self.smtp.set_control({})
        self.wait_rows(conv, lambda rows: all(
            r["status"] == "sent" for r in rows) and len(rows) == 2,
            "delivered in the end", timeout=60)


# --------------------------------------------------------------------------
# 4: the SMTP server down for a while

class SmtpDownTests(NotifyCase):
    smtp_up = False
    use_hook = False
    backoff = "2,2,2,2,2,2,2,2,2,2,2,2"

    def tearDown(self):
        self.smtp.stop()
        super().tearDown()

    def pending_with_error(self, conv):
        def probe():
            notes = self.api_notes(conv)
            if len(notes) == 1 and notes[0]["status"] == "pending" and \
                    notes[0]["last_error"] and notes[0]["attempts"] >= 1:
                return notes
            return None
        return self.server.wait_for(probe, WAIT, 0.1,
                                    "a pending e-mail with last_error")

    def test_04_down_then_up_served_without_sweep(self):
        conv, _, _, _ = self.lead()
        notes = self.pending_with_error(conv)
        err = notes[0]["last_error"]
        self.assertNotIn("\n", err)
        self.assertEqual(self.smtp.messages(), [])
        self.smtp.start()
        rows = self.wait_all_sent(conv, 1, timeout=40)
        _reap_sleep(SETTLE)
        self.assertEqual(len(self.mails(conv)), 1)
        self.assertGreaterEqual(rows[0]["attempts"], 2)
        self.assertIsNone(rows[0]["last_error"])
        n = self.note_of(self.api_notes(conv), "email")
        self.assertEqual(n["status"], "sent")
        self.assertEqual(n["attempts"], rows[0]["attempts"])

    def test_04b_down_then_up_sent_by_sweep(self):
        conv, _, _, _ = self.lead()
        self.pending_with_error(conv)
        # no web program (so no maintenance sender): only the sweep sends
        self.server.stop()
        try:
            self.smtp.start()
            self.wait_rows(conv, lambda rows: rows[0]["due_at"] <=
                           time.time() * 1000 - 100, "the row due")
            attempts = self.rows(conv)[0]["attempts"]
            out = self.sweep()
            self.assertRegex(out, r"\b1 tried", out)
            rows = self.rows(conv)
            self.assertEqual(rows[0]["status"], "sent", rows)
            self.assertEqual(rows[0]["attempts"], attempts + 1)
            self.assertEqual(len(self.mails(conv)), 1)
            out = self.sweep()
            self.assertRegex(out, r"\b0 tried", out)
            self.assertEqual(len(self.mails(conv)), 1)
        finally:
            self.server.start()


# --------------------------------------------------------------------------
# 7: the sender killed between sending and recording

class KillTests(NotifyCase):
    """The first try of a row fails and the row waits 8 s (the first
    backoff) while the web server is stopped, so that no maintenance
    sender runs: the sweeps run here are the only senders, one of them
    SIGKILLed by a receiver after the request reached it.  Then a sweep
    while the dead sender's lease is live sends nothing, and one after it
    sends again under the same id."""
    backoff = "8,1,1,1,1,1"
    timeout_ms = 2000
    LEASE = (2000 + 5000) / 1000.0

    def row(self, conv, target):
        return [r for r in self.rows(conv) if r["target"] == target][0]

    def wait_free(self, conv, target, timeout=None):
        """Until conv's target row is due and no lease holds it."""
        def free(rows):
            now = time.time() * 1000
            return [r for r in rows if r["target"] == target and
                    r["status"] == "pending" and
                    (r["lease_until"] or 0) < now - 200 and
                    r["due_at"] <= now]
        self.wait_rows(conv, free, "the %s row due, no lease" % target,
                       timeout=timeout or self.LEASE + 30)

    def first_try_failed(self, conv, target):
        self.wait_rows(conv, lambda rows: [
            r for r in rows if r["target"] == target and
            r["attempts"] == 1 and r["last_error"] and
            r["status"] == "pending"], "the first %s try failed" % target)

    def killed_sweep(self):
        harness.reap_adopted()
        p = subprocess.Popen([EXTRACTOR, "--sweep"], env=self.server.env,
                             cwd=TOP, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        self.outputs.append(out + err)
        self.assertEqual(p.returncode, -signal.SIGKILL,
                         "the sweep was not killed: %d %r %r" % (
                             p.returncode, out, err[-500:]))
        return p.pid

    def test_07_webhook_sweep_killed_then_sent_once_more(self):
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, 500, {"kill": "peer"}, then=200)
        self.turn(conv, token, READY_TEXT)
        self.first_try_failed(conv, "webhook")
        self.server.stop()
        try:
            self.wait_free(conv, "webhook")
            pid = self.killed_sweep()
            hooks = self.hooks(conv)
            self.assertEqual(len(hooks), 2)
            self.assertEqual(hooks[1]["answered"], "killed %d" % pid)
            wh = self.row(conv, "webhook")
            self.assertEqual((wh["status"], wh["attempts"]), ("pending", 2),
                             wh)
            self.assertGreater(wh["lease_until"] or 0, time.time() * 1000,
                               "the killed sender's lease is not held")
            # a sweep at once: the lease holds the row back
            self.sweep()
            self.assertEqual(len(self.hooks(conv)), 2, "sent while another "
                             "sender's lease was live")
            self.assertEqual(self.row(conv, "webhook")["attempts"], 2)
            # after the lease: sent, under the same webhook-id
            self.wait_free(conv, "webhook")
            self.sweep()
            wh = self.row(conv, "webhook")
            self.assertEqual((wh["status"], wh["attempts"]), ("sent", 3), wh)
            hooks = self.hooks(conv)
            self.assertEqual(len(hooks), 3)
            self.assertEqual({h["id"] for h in hooks}, {wh["id"]})
            for h in hooks:
                self.check_hook_request(h, conv, wh["id"], "lead.ready")
            self.assertEqual([h["answered"] for h in hooks].count(200), 1)
        finally:
            self.server.start()
        n = self.note_of(self.api_notes(conv), "webhook")
        self.assertEqual((n["status"], n["attempts"]), ("sent", 3))

    def email_killed(self, control):
        """The e-mail's first try refused; the sweep that sends it next
        killed by the SMTP server as control says, after the server took
        the message; a later sweep's copy accepted.  Whether the killed
        sender had recorded the row first (possible only when the kill
        comes at QUIT, after libcurl has finished the transfer) decides
        whether a copy follows; every copy carries one Message-ID.  The
        row and the number of copies, for the caller."""
        t0 = time.monotonic()
        self.smtp.set_control({"refuse_data": 1})
        conv, _, _, _ = self.lead()
        self.first_try_failed(conv, "email")
        self.server.stop()
        try:
            self.smtp.set_control(control)
            self.wait_free(conv, "email")
            pid = self.killed_sweep()
            self.assertEqual([e["pid"] for e in self.smtp.events(
                "kill", since=t0)], [pid])
            self.assertEqual(len(self.mails(conv)), 1)
            em = self.row(conv, "email")
            self.assertEqual(em["attempts"], 2, em)
            recorded = em["status"] == "sent"
            if not recorded:
                self.assertEqual(em["status"], "pending", em)
                self.sweep()
                self.assertEqual(len(self.mails(conv)), 1, "sent while "
                                 "another sender's lease was live")
                self.wait_free(conv, "email")
                self.sweep()
                em = self.row(conv, "email")
                self.assertEqual((em["status"], em["attempts"]), ("sent", 3),
                                 em)
            mails = self.mails(conv)
            # SMTP cannot take back what a server accepted: after a kill
            # between its acceptance and the record the copy is
            # unavoidable; it carries the same Message-ID (the dedupe key)
            self.assertEqual(len(mails), 1 if recorded else 2)
            self.assertEqual({m["message_id"] for m in mails},
                             {"<%s@firm.test>" % em["id"]})
            self.assertEqual(len({m["subject"] for m in mails}), 1)
        finally:
            self.server.start()
        n = self.note_of(self.api_notes(conv), "email")
        self.assertEqual((n["status"], n["attempts"]),
                         ("sent", em["attempts"]))
        return em, len(mails)

    def test_07b_email_killed_on_quit(self):
        em, copies = self.email_killed({"kill_on_quit": "peer"})
        sys.stderr.write("\n  [notify] killed at QUIT: the row was %s "
                         "before the kill, %d copy(ies)\n" % (
                             "recorded" if copies == 1 else "not recorded",
                             copies))

    def test_07d_email_killed_before_250(self):
        em, copies = self.email_killed({"kill_on_data": "peer"})
        self.assertEqual(copies, 2, "the sender recorded a message it was "
                         "never told was accepted")

    def test_07c_extractor_killed_mid_webhook_recovered_without_sweep(self):
        """The extractor itself killed after the receiver read its request:
        the web program's maintenance sends it again once the lease is
        over, no cron."""
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, {"kill": "peer"}, then=200)
        self.turn(conv, token, READY_TEXT)
        rows = self.wait_all_sent(conv, 2, timeout=self.LEASE + 40)
        _reap_sleep(SETTLE)
        hooks = self.hooks(conv)
        wh = [r for r in rows if r["target"] == "webhook"][0]
        self.assertEqual(len(hooks), 2, [h["answered"] for h in hooks])
        self.assertTrue(str(hooks[0]["answered"]).startswith("killed "),
                        hooks[0]["answered"])
        self.assertEqual(hooks[1]["answered"], 200)
        self.assertEqual({h["id"] for h in hooks}, {wh["id"]})
        self.assertGreater(hooks[1]["mono"] - hooks[0]["mono"],
                           self.LEASE - 1.0, "sent again before the lease "
                           "was over")
        self.assertEqual(wh["attempts"], 2)
        self.assertEqual(len(self.mails(conv)), 1)


# --------------------------------------------------------------------------
# 8: senders racing

class RaceTests(NotifyCase):
    """Rows of several leads due at once, the web server stopped (so the
    racers are known): three --sweep and one --drain (what the extractor
    and the web program run) started together.  Then a lead made with the
    server up races its own extractor against sweeps."""
    backoff = "2,1,1,1,1,1,1,1,1,1,1,1"
    N = 6

    def start_sweeps(self, n, mode="--sweep"):
        return [subprocess.Popen([EXTRACTOR, mode], env=self.server.env,
                                 cwd=TOP, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
                for _ in range(n)]

    def finish(self, procs):
        tried = 0
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.outputs.append(out + err)
            self.assertEqual(p.returncode, 0, err[-2000:])
            m = re.search(rb"(\d+) tried", out)
            if m:
                tried += int(m.group(1))
        return tried

    def check_once(self, conv):
        rows = {r["target"]: r for r in self.rows(conv)}
        self.assertEqual(set(rows), {"email", "webhook"})
        self.assertTrue(all(r["status"] == "sent" for r in rows.values()),
                        rows)
        hooks = self.hooks(conv)
        ok = [h for h in hooks if h["answered"] == 200]
        self.assertEqual(len(ok), 1, "webhook of %s delivered %d times" %
                         (conv, len(ok)))
        self.assertEqual({h["id"] for h in hooks}, {rows["webhook"]["id"]})
        self.assertEqual(len(hooks), rows["webhook"]["attempts"])
        mails = self.mails(conv)
        self.assertEqual(len(mails), 1, "e-mail of %s accepted %d times" %
                         (conv, len(mails)))

    def test_08_sweeps_and_drain_race(self):
        self.hook.clear_plans(default=500)
        self.smtp.set_control({"refuse_data": 100000})
        leads = []
        for i in range(self.N):
            conv, token, _, _ = self.lead(
                "My name is Race Runner, my number is 555-410-%04d." % i)
            leads.append(conv)
        for conv in leads:
            self.wait_rows(conv, lambda rows: len(rows) == 2 and all(
                r["attempts"] >= 1 and r["last_error"] for r in rows),
                "the first tries failed")
        self.server.stop()
        try:
            # receivers up, slow enough that senders overlap
            self.hook.clear_plans(default={"sleep": 0.3, "status": 200})
            self.smtp.set_control({"data_delay_s": 0.3})
            for conv in leads:
                self.wait_rows(conv, lambda rows: all(
                    r["status"] == "pending" and r["due_at"] <=
                    time.time() * 1000 and (r["lease_until"] or 0) <
                    time.time() * 1000 - 200 for r in rows),
                    "the rows due", timeout=30)
            procs = self.start_sweeps(3) + self.start_sweeps(1, "--drain")
            tried = self.finish(procs)
            for conv in leads:
                self.check_once(conv)
        finally:
            self.server.start()
        sys.stderr.write("\n  [notify] race: the 3 sweeps tried %d of %d "
                         "rows (the drain the rest), each delivered "
                         "once\n" % (tried, 2 * self.N))

    def test_08b_extractor_and_sweeps_race(self):
        self.hook.clear_plans(default={"sleep": 0.2, "status": 200})
        self.smtp.set_control({"data_delay_s": 0.2})
        convs = []
        for i in range(3):
            conv, token = self.server.create_conversation()
            convs.append((conv, token))
        procs = []
        threads = []
        for i, (conv, token) in enumerate(convs):
            th = threading.Thread(target=self.server.turn, args=(
                conv, token, "My name is Ray Dash, my number is "
                "555-420-%04d." % i), daemon=True)
            th.start()
            threads.append(th)
        # sweeps started while the extractors merge and send
        for _ in range(6):
            procs += self.start_sweeps(1)
            time.sleep(0.15)
        for th in threads:
            th.join(30)
        self.finish(procs)
        for conv, _ in convs:
            self.wait_all_sent(conv, 2)
        _reap_sleep(SETTLE)
        for conv, _ in convs:
            self.check_once(conv)


# --------------------------------------------------------------------------
# 9: header injection (the model's extraction, from the mock provider)

class InjectionTests(harness.MockProviderMixin, NotifyCase):

    @classmethod
    def mock_setup(cls, mock):
        cls.mp = mock
        mock.set_default({"text": "Thank you. Could you tell me more?"})
        return {"INTAKE_LLM_PROVIDER": "openai", "INTAKE_LLM_URL": mock.url,
                "INTAKE_LLM_API_KEY": "sk-test",
                "INTAKE_LLM_MODEL": "gpt-test"}

    def setUp(self):
        super().setUp()
        self.mp.reset()
        self.mp.set_default({"text": "Thank you. Could you tell me more?"})

    def model_lead(self, **fields):
        d = {f: None for f in FIELDS}
        d.update(fields)
        self.mp.push({"when": {"stream": False}, "json": d})
        conv, token, _, _ = self.lead("Here are my details, as discussed.")
        self.server.wait_for(lambda: self.server.query(
            "SELECT 1 FROM jobs WHERE conversation_id = ? AND state IN "
            "('done', 'failed')", (conv,)), WAIT, 0.1, "the extraction")
        return conv

    def settled_name(self, conv):
        """After every delivery settled: the full_name the merge stored
        (None when it refused it) and the lead's e-mails."""
        _reap_sleep(SETTLE)
        self.wait_quiet()
        d = self.detail(conv)
        return (d["fields"].get("full_name") if d else None,
                self.mails(conv))

    def check_clean(self, m):
        self.assertTrue(m["head_ok"])
        self.assertEqual(sorted(m["rcpt_tos"]), sorted(RCPTS))
        self.assertEqual(m["mail_from"], FROM)
        names = [n.lower() for n in m["header_names"]]
        self.assertEqual(len(names), len(set(names)),
                         "a header twice: %r" % m["header_names"])
        self.assertEqual(set(names), MAIL_HEADERS, m["header_names"])
        for line in m["header_lines"]:
            self.assertLessEqual(len(line), 998)
            self.assertNotIn(b"\r", line)
            self.assertNotIn(b"\n", line)
            self.assertTrue(all(b < 0x80 for b in line), "a header line "
                            "not in ASCII (RFC 2047 wanted): %r" % line)
        msg = m["msg"]
        self.assertEqual(msg["X-Intake-Notification"], m["note_id"])
        self.assertEqual(sorted(a for _, a in email.utils.getaddresses(
            msg.get_all("To", []))), sorted(RCPTS))
        self.assertEqual(msg.get_all("Bcc"), None)
        self.assertEqual(msg.get_all("Cc"), None)
        subj = m["subject"]
        for c in subj:
            self.assertFalse(ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0,
                             "a control character in the Subject: %r" % subj)
        name = re.fullmatch(r"(?:\[URGENT\] )?New lead: (.*?)(?: \(.*\))?",
                            subj)
        self.assertIsNotNone(name, subj)
        self.assertLessEqual(len(name.group(1)), 80, subj)
        # the whole message was one SMTP transaction: nothing smuggled
        return name.group(1)

    def test_09_crlf_bcc_in_name_and_smuggling_in_summary(self):
        t0 = time.monotonic()
        # the name: the merge may refuse it (no ready lead, no e-mail) or
        # keep a cleaned form; either way no header and no recipient
        conv1 = self.model_lead(full_name="Jane Doe\r\nBcc: evil@example.com",
                                phone="555-201-3344")
        # SMTP smuggling in the summary (body text): a lone dot line and
        # commands after it
        conv2 = self.model_lead(
            full_name="Jane Doe", phone="555-201-3344",
            summary="Fell.\r\n.\r\nMAIL FROM:<x@evil.test>\r\nRCPT TO:"
            "<evil@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\n"
            "hi\r\n.\r\nQUIT\r\n")
        self.wait_all_sent(conv2, 2)
        name1, m1 = self.settled_name(conv1)
        if name1 is None:
            self.assertEqual(m1, [], "an e-mail for a lead with no name")
        else:
            self.assertEqual(len(m1), 1)
            got = self.check_clean(m1[0])
            self.assertNotIn("\r", name1["value"])
            self.assertEqual(got, name1["value"][:80])
        m2 = self.mails(conv2)
        self.assertEqual(len(m2), 1)
        self.check_clean(m2[0])
        self.assertTrue(m2[0]["subject"].startswith("New lead: Jane Doe"),
                        m2[0]["subject"])
        # every message the server took since the test began is one of
        # these leads' (nothing smuggled as a second transaction)
        since = [parse_mail(x) for x in self.smtp.messages()
                 if x["mono"] > t0]
        self.assertEqual(len(since), len(m1) + len(m2),
                         [m["subject"] for m in since])
        for m in since:
            self.assertEqual(sorted(m["rcpt_tos"]), sorted(RCPTS))
            self.assertEqual(m["mail_from"], FROM)
            self.assertNotIn("smuggled", m["subject"])
        sys.stderr.write("\n  [notify] CRLF/Bcc name: %s\n" % (
            "refused by the merge" if name1 is None else
            "kept as %r" % name1["value"]))

    def test_09b_names_cleaned_capped_encoded(self):
        long_name = ("Maximiliana Bartholomew-Fitzgerald Montgomery-"
                     "Worthington Castellanos-Villanueva De-La-Fuentes")
        self.assertTrue(80 < len(long_name) <= 100)
        # (raw, what the merge must keep: None when it may refuse it)
        cases = [
            ("Jane\r\nDoe", "Jane Doe"),
            ("Zoë Ångström-Łukasz", "Zoë Ångström-Łukasz"),
            (long_name, long_name),
            ("Jane\tDoe\x0bSmith", None),
            ("李 小龍", None),
        ]
        for raw, want in cases:
            with self.subTest(name=raw):
                conv = self.model_lead(full_name=raw, phone="555-201-3344")
                d = self.detail(conv)
                stored = d["fields"].get("full_name") if d else None
                if want is not None:
                    self.assertIsNotNone(stored, "the merge refused %r" %
                                         raw)
                    self.assertEqual(stored["value"], want)
                if stored is None:
                    continue
                value = stored["value"]
                self.wait_all_sent(conv, 2)
                mails = self.mails(conv)
                self.assertEqual(len(mails), 1)
                got = self.check_clean(mails[0])
                if len(value) <= 80:
                    self.assertEqual(got, value)
                else:
                    # cut at 80 characters (then trimmed)
                    self.assertEqual(got, value[:80].rstrip())
                self.assertIn(value, mails[0]["text"], "the body lacks the "
                              "whole name")
                hook = self.hooks(conv)[0]["json"]["data"]["fields"]
                self.assertEqual(hook["full_name"], value)

    def test_09c_very_long_name(self):
        conv = self.model_lead(full_name=("Ann " + "B" * 4996),
                               phone="555-201-3344")
        stored, mails = self.settled_name(conv)
        if stored is None:
            self.assertEqual(mails, [])
            return
        self.assertEqual(len(mails), 1)
        got = self.check_clean(mails[0])
        self.assertLessEqual(len(got), 80)


# --------------------------------------------------------------------------
# 10: redirects and schemes

class RedirectTests(NotifyCase):
    use_email = False
    backoff = "1,1"

    def test_10_redirect_is_not_followed(self):
        other = Receiver(self.secret)
        self.addCleanup(other.stop)
        conv, token = self.server.create_conversation()
        self.hook.plan(conv, then={"status": 302,
                                   "redirect": other.url("/stolen")})
        self.turn(conv, token, READY_TEXT)
        rows = self.wait_rows(conv, lambda rows: rows and all(
            r["status"] != "pending" for r in rows) or other.all(),
            "the webhook failed", timeout=45)
        _reap_sleep(SETTLE)
        self.assertEqual(other.all(), [], "the redirect was followed")
        rows = self.rows(conv)
        self.assertEqual(rows[0]["status"], "failed")
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 3)
        self.assertEqual(rows[0]["attempts"], 3)
        self.assertRegex(rows[0]["last_error"], r"(?i)30[12]|redirect")
        n = self.note_of(self.api_notes(conv), "webhook")
        self.assertEqual(n["status"], "failed")
        self.assertRegex(n["last_error"], r"(?i)30[12]|redirect")

    def cgi(self, env, path, headers=None):
        """One request to intake.fcgi run as a CGI program (stdin not a
        socket): (status, body bytes)."""
        e = {k: v for k, v in env.items()}
        e.update(GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET",
                 SCRIPT_NAME="/api", PATH_INFO=path[len("/api"):],
                 REQUEST_URI=path, QUERY_STRING="", SERVER_PROTOCOL="HTTP/1.1",
                 REMOTE_ADDR="127.0.0.1", SERVER_SOFTWARE="Apache/2.4")
        for k, v in (headers or {}).items():
            e["HTTP_" + k.upper().replace("-", "_")] = v
        r = subprocess.run([os.path.join(BUILD_DIR, "intake.fcgi")], env=e,
                           cwd=TOP, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        self.outputs.append(r.stdout + r.stderr)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        m = re.search(rb"^Status: (\d+)", head, re.M)
        return (int(m.group(1)) if m else None), body

    def test_10b_non_http_url_refused(self):
        for url in ("ftp://127.0.0.1:%d/hook" % self.hook.port,
                    "file:///etc/passwd", "gopher://127.0.0.1:70/",
                    "HTTP//127.0.0.1/x"):
            with self.subTest(url=url):
                env = dict(self.server.env)
                env["INTAKE_WEBHOOK_URL"] = url
                p = self.extract("--check", env=env)
                out = (p.stdout + p.stderr).decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, out)
                self.assertTrue([ln for ln in out.splitlines()
                                 if ln.startswith("problem:") and
                                 "WEBHOOK_URL" in ln], out)
                self.assertNotIn(self.secret, out)
                self.assertNotIn(self.secret[len("whsec_"):], out)
                # health, as a CGI program: 503, the reason for the admin
                for h in ({}, self.admin()):
                    st, body = self.cgi(env, "/api/health", h)
                    self.assertEqual(st, 503, body[:300])
                    self.assertNotIn(self.secret[len("whsec_"):].encode(),
                                     body)
        # under lighttpd (FastCGI) the program stays up and answers
        # every request with the JSON 503 (not the web server's page)
        srv = harness.Server(self.server_env, name="ftp-hook")
        self.addCleanup(srv.cleanup)
        self.addCleanup(srv.stop)
        srv.init_db()
        srv.env["INTAKE_WEBHOOK_URL"] = "ftp://127.0.0.1:%d/hook" % \
            self.hook.port
        srv.start(healthy=False)
        for path in ("/api/health", "/api/conversations"):
            st, _, body = srv.call("GET", path)
            self.assertEqual(st, 503, body[:300])
            self.assertEqual(json.loads(body)["error"]["code"],
                             "unavailable")
        self.assertEqual([r for r in self.hook.all()
                          if r["path"] == "/hook"], [])


# --------------------------------------------------------------------------
# 11: no secret in any log or answer

class SecretTests(harness.MockProviderMixin, NotifyCase):
    backoff = "1,1"
    smtp_user = ("intake-bot", "the-right-password")
    PASSWORD = "smtp-pw-" + secrets.token_hex(12)
    API_KEY = "sk-live-" + secrets.token_hex(16)
    URL_PW = "urlpw" + secrets.token_hex(8)

    @classmethod
    def mock_setup(cls, mock):
        cls.mp = mock
        mock.set_default({"text": "Thank you. Could you tell me more?"})
        cls.logfile = os.path.join(tempfile.gettempdir(),
                                   "intake-notify-%s.log" %
                                   secrets.token_hex(6))
        cls.extra_env = {
            "INTAKE_SMTP_USER": "intake-bot",
            "INTAKE_SMTP_PASSWORD": cls.PASSWORD,
            "INTAKE_LOG_FILE": cls.logfile,
        }
        return {"INTAKE_LLM_PROVIDER": "openai", "INTAKE_LLM_URL": mock.url,
                "INTAKE_LLM_API_KEY": cls.API_KEY,
                "INTAKE_LLM_MODEL": "gpt-test"}

    @classmethod
    def before_start(cls, srv):
        # the webhook's URL carries a user and password too
        srv.env["INTAKE_WEBHOOK_URL"] = cls.hook.url().replace(
            "http://", "http://hookuser:%s@" % cls.URL_PW)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            try:
                os.unlink(cls.logfile)
            except OSError:
                pass

    def test_11_secrets_never_logged(self):
        self.hook.clear_plans(default=500)
        # the model fails too (its errors are logged)
        self.mp.push({"when": {"stream": False}, "status": 401,
                      "error_message": "bad key"})
        conv, _, _, _ = self.lead()
        self.wait_rows(conv, lambda rows: len(rows) == 2 and all(
            r["status"] == "failed" for r in rows), "both failed",
            timeout=45)
        # they were used: the SMTP login tried, the key sent, the URL's
        # user given
        auths = self.smtp.events("auth")
        self.assertTrue(auths and all(not a["ok"] for a in auths), auths)
        self.assertTrue(any(self.API_KEY in r["headers"].get(
            "authorization", "") for r in self.mp.requests()),
            "the API key was never sent: the test tests nothing")
        hooks = self.hooks(conv)
        self.assertEqual(len(hooks), 3)
        # more runs that fail and log
        self.sweep("--retry-failed")
        self.wait_rows(conv, lambda rows: all(
            r["status"] == "failed" for r in rows), "failed again",
            timeout=45)
        self.sweep()
        self.extract("--check")
        texts = [o.decode("utf-8", "replace") for o in self.outputs]
        for path in (self.logfile, self.server.errlog, self.server.outlog):
            try:
                with open(path, "rb") as f:
                    texts.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        logged = "".join(texts[-3:])
        self.assertTrue(logged.strip(), "nothing was logged at all")
        for path in ("/api/leads/%s" % conv, "/api/leads",
                     "/api/health", "/api/leads?format=csv"):
            st, _, body = self.server.call("GET", path, None, self.admin())
            texts.append(body.decode("utf-8", "replace"))
        for n in self.api_notes(conv):
            self.assertTrue(n["last_error"], n)
        key = self.secret[len("whsec_"):]
        raw_key = base64.b64decode(key)
        needles = {
            "the SMTP password": self.PASSWORD,
            "the webhook secret": self.secret,
            "the webhook key (base64)": key,
            "the webhook key (hex)": raw_key.hex(),
            "the API key": self.API_KEY,
            "the URL's password": self.URL_PW,
        }
        for what, needle in needles.items():
            for i, t in enumerate(texts):
                self.assertNotIn(needle, t, "%s in output %d:\n%s" % (
                    what, i, t[max(0, t.find(needle) - 300):
                               t.find(needle) + 300]))
        # the database holds no secret either
        db = self.server.db_bytes()
        for what, needle in needles.items():
            self.assertNotIn(needle.encode(), db, what)


if __name__ == "__main__":
    main("integration_notify")
