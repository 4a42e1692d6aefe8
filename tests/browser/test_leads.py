"""test_leads.py: the leads page's notifications in a real browser.

Starts intake.fcgi under lighttpd as every integration suite does
(tests/integration/harness.py), with both delivery targets real and on
loopback:

- e-mail to an SMTP server of Debian's python3-aiosmtpd (a Maildir
  handler), so the lead's e-mail is sent;
- the webhook to an HTTP receiver in this process that answers 500, with
  INTAKE_NOTIFY_BACKOFF_S=1 (two tries), so the webhook is failed.

A visitor's turn gives a name and a phone; once the API shows the e-mail
sent and the webhook failed, the receiver is switched to answer 200 (after
a pause, so the row is seen pending while in flight) and leads.test.mjs
(playwright-core driving Debian's /usr/bin/chromium) opens the lead,
reads the two lines, clicks "Send again" and follows the row to sent.
Afterwards: one e-mail arrived, and every webhook request carried the one
webhook-id with a valid signature.

    BUILD=build/test python3 tests/browser/test_leads.py

The last line is "leads_page: N passed, N failed".  Needs what
test_page.py needs, and python3-aiosmtpd (scripts/deps.sh test).
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time

import driver  # first: it puts tests/integration on the path
import harness

NAME = "leads_page"
ADMIN = "leads-page-admin-token-0123456789"
PUBLIC_URL = "https://firm.example/intake/"
KEY = bytes(range(1, 33))                    # the webhook key, 32 bytes
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SETTLE_S = 60       # the lead and its two notifications settling, at most


def aiosmtpd_python():
    """A Python that has aiosmtpd: this one, or Debian's own."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.access(py, os.X_OK) and subprocess.run(
                [py, "-c", "import aiosmtpd"], capture_output=True,
                timeout=30).returncode == 0:
            return py
    return None


class Receiver(http.server.ThreadingHTTPServer):
    """The firm's webhook endpoint: records every request; answers
    self.answer after self.pause seconds."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Hook)
        self.lock = threading.Lock()
        self.seen = []              # (headers dict, body bytes, answered)
        self.answer = 500
        self.pause = 0.0


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        srv = self.server
        with srv.lock:
            answer, pause = srv.answer, srv.pause
        if pause:
            time.sleep(pause)
        with srv.lock:
            srv.seen.append(({k.lower(): v for k, v in self.headers.items()},
                             body, answer))
        self.send_response(answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def signed(h, body):
    """The Standard Webhooks check, as a receiver does it."""
    msg = ("%s.%s." % (h.get("webhook-id"), h.get("webhook-timestamp"))
           ).encode() + body
    want = base64.b64encode(hmac.new(KEY, msg, hashlib.sha256).digest())
    return any(hmac.compare_digest(want, s.split(",", 1)[1].encode())
               for s in h.get("webhook-signature", "").split()
               if s.startswith("v1,"))


def readme_verified():
    """The README's Python check of a webhook's signature, as printed."""
    with open(os.path.join(harness.TOP, "README.md"), encoding="utf-8") as f:
        m = re.search(r"\*\*Checking the webhook's signature\.\*\*.*?"
                      r"```python\n(.*?)```", f.read(), re.S)
    if m is None:
        raise harness.HarnessError("README.md: no Python block after "
                                   "**Checking the webhook's signature.**")
    ns = {}
    exec(m.group(1), ns)      # noqa: S102 (the repository's own text)
    return ns["verified"]


def lead(srv, conv):
    status, _, body = srv.call("GET", "/api/leads/%s" % conv, None,
                               srv.auth(ADMIN))
    return json.loads(body) if status == 200 else None


def main():
    py = aiosmtpd_python()
    driver.require_tools(NAME, "leads page tests", [] if py else [
        "aiosmtpd (Debian package python3-aiosmtpd)"])
    checks, check = driver.checker()
    recv = Receiver()
    threading.Thread(target=recv.serve_forever, daemon=True).start()
    smtp_port = harness.free_port()
    srv = harness.Server(name="leads-page", env={
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "INTAKE_NOTIFY_EMAIL": "desk@example.com",
        "INTAKE_SMTP_URL": "smtp://127.0.0.1:%d" % smtp_port,
        "INTAKE_SMTP_FROM": "intake@example.com",
        "INTAKE_WEBHOOK_URL": "http://127.0.0.1:%d/hook" %
                              recv.server_address[1],
        "INTAKE_WEBHOOK_SECRET": SECRET,
        "INTAKE_NOTIFY_BACKOFF_S": "1",
        "INTAKE_NOTIFY_TIMEOUT_MS": "10000",
        "INTAKE_PUBLIC_URL": PUBLIC_URL,
    })
    maildir = os.path.join(srv.tmp, "maildir")
    smtp = subprocess.Popen(
        [py, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % smtp_port,
         "-c", "aiosmtpd.handlers.Mailbox", maildir],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(srv.tmp, "smtp.log"), "ab"))
    t0 = time.monotonic()
    out = ""
    rc = None
    try:
        harness.wait_until(lambda: os.path.isdir(os.path.join(maildir, "new")),
                           timeout=20, what="the SMTP server to start")
        srv.start()
        conv, token = srv.create_conversation()
        srv.turn(conv, token, "Hello, my name is Jane Doe. A delivery van hit "
                 "my car yesterday. You can reach me at 555-123-4567.")

        def settled():
            d = lead(srv, conv)
            got = {n["target"]: n for n in (d or {}).get("notifications", [])}
            if got.get("email", {}).get("status") == "sent" and \
                    got.get("webhook", {}).get("status") == "failed":
                return got
            return None
        try:
            got = harness.wait_until(settled, timeout=SETTLE_S, interval=0.5,
                                     what="e-mail sent and webhook failed")
        except harness.HarnessError:
            raise harness.HarnessError(
                "the lead's notifications did not settle: %s" %
                json.dumps(lead(srv, conv)))
        hook = got["webhook"]
        check("the webhook failed after two tries, with an error",
              hook["attempts"] == 2 and hook["last_error"],
              "the failed webhook: attempts %r (want 2: a backoff of one "
              "wait), last_error %r" % (hook["attempts"], hook["last_error"]))
        with recv.lock:
            urls = set(json.loads(b)["data"]["url"] for _, b, _ in recv.seen)
        link = PUBLIC_URL + "leads.html#" + conv
        check("the webhook links to the lead", urls == {link},
              "data.url %r, want %r" % (sorted(urls), link))
        # From now on the receiver takes the webhook, after a pause long
        # enough for the page to see the row pending while it is in flight.
        with recv.lock:
            recv.answer = 200
            recv.pause = 4.0
            before = len(recv.seen)

        out, rc = driver.run_node("leads.test.mjs", srv, {
            "LEADS_ADMIN_TOKEN": ADMIN,
            "LEADS_CONV": conv,
            "LEADS_WEBHOOK_ID": hook["id"],
            "LEADS_EMAIL_ID": got["email"]["id"],
            "LEADS_LINK_HASH": link.split("#", 1)[1],
        })

        # What arrived, counted by the receivers.
        with recv.lock:
            seen = list(recv.seen)
        ids = sorted(set(h.get("webhook-id") for h, _, _ in seen))
        check("every webhook request under the notification's id",
              ids == [hook["id"]], "webhook-ids seen %r, want only %r" %
              (ids, hook["id"]))
        bad = [h for h, b, _ in seen if not signed(h, b)]
        check("every webhook request signed", seen and not bad, "%d of %d webhook request(s) badly signed" %
              (len(bad), len(seen)))
        verified = readme_verified()
        check("the README's Python check accepts each request and refuses "
              "a changed body", seen and
              all(verified(SECRET, h, b) for h, b, _ in seen) and
              not verified(SECRET, seen[0][0],
                           seen[0][1].replace(b"Jane", b"Joan")),
              "the README's verified() disagrees")
        after = [a for _, _, a in seen[before:]]
        check("Send again: the webhook sent once more, and taken",
              after == [200], "webhook answers after Send again: %r, want "
              "one 200" % after)
        mails = os.listdir(os.path.join(maildir, "new"))
        check("one e-mail arrived", len(mails) == 1, "%d e-mails arrived, want 1" % len(mails))
    except Exception as e:
        check("setting up", False, str(e))
    finally:
        srv.stop()
        smtp.terminate()
        try:
            smtp.wait(10)
        except subprocess.TimeoutExpired:
            smtp.kill()
            smtp.wait()
        recv.shutdown()
        recv.server_close()
    driver.report(NAME, srv, t0, out, rc, checks)


if __name__ == "__main__":
    main()
