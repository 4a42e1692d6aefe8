"""test_bodies.py: one table of request bodies, the same under every way
the program is served: lighttpd (mod_fastcgi), Apache mod_fcgid, Apache
mod_proxy_fcgi with intake.fcgi --listen, and plain CGI under mod_cgid.

Every row is a POST /api/conversations/{id}/messages sent over a raw
socket exactly as written (a Content-Length, chunked, or neither), the body
sent from a thread of its own so that a server that answers before it has
read it all is seen answering.  A row that is accepted starts a turn (200
text/event-stream, a "turn" event first, "done" last, the message stored
as sent); a refused row answers the contract's error (DESIGN.md, "HTTP
contract (v1)"): the status, Content-Type application/json and
{"error":{"code","message"}} with the contract's code, whether the program
or the web server itself answered, and no stored row changed.

The one answer a server forces: lighttpd 1.4 refuses a POST with neither a
Content-Length nor a chunked body in its request parser, 411, before any
module or setting can see it (the program never does); it answers with
JSON all the same (www/errors/411.json, code length_required).  Apache
hands the program such a request as an empty body: 400 bad_request.

Then a body that stalls (a few bytes of a Content-Length of 60000, then
nothing; or one byte every half second): INTAKE_BODY_TIMEOUT_MS (2 s here)
bounds the whole body.  The client gets 408 request_timeout (mod_fcgid,
which reads the whole body before the program starts, answers 500 itself),
and with INTAKE_THREADS=1 a second request on another connection is
answered: the one worker is free again.

Then HEAD: each GET route answers its GET's headers and no body, and HEAD
on the events of a reply still being written ends at once instead of
following it.

    make test-build && BUILD=build/test python3 tests/integration/test_bodies.py

The last line printed is "integration_bodies: N passed, N failed".
"""

import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import Response, ServerTestCase, main  # noqa: E402

LIMIT = 65536                   # INTAKE_MAX_BODY's default
ADMIN = "admin-bodies-0123456789abcdef"
TABLES = ("conversations", "messages", "message_parts", "jobs")
JSON_CT = "application/json"
ANSWER_BOUND = 20.0             # generous: no row should take a second
BODY_TIMEOUT_MS = 2000
SLOW_BOUND = 12.0               # the 2 s deadline, on a loaded machine


def setUpModule():
    harness.become_subreaper()


def tearDownModule():
    harness.reap_adopted()


# --------------------------------------------------------------------------
# bodies and requests

def padded(size, text="Hello, a message of its own size."):
    """Well-formed JSON of exactly size bytes: a text and padding."""
    head = b'{"text":"' + text.encode() + b'","pad":"'
    tail = b'"}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


def chunked(body, size=4096):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def head_bytes(method, path, token, framing, content_type=JSON_CT,
               extra=None):
    """A request head; framing holds the Content-Length or
    Transfer-Encoding line, or is empty."""
    h = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % (
        method, path)
    if token is not None:
        h += "Authorization: Bearer %s\r\n" % token
    if content_type is not None:
        h += "Content-Type: %s\r\n" % content_type
    h += framing
    for k, v in (extra or {}).items():
        h += "%s: %s\r\n" % (k, v)
    return (h + "\r\n").encode("latin-1")


def exchange(port, head, body=b"", timeout=ANSWER_BOUND):
    """Send head, then body from a thread (a server may answer and close
    before it has read it all); read the answer.  (status, headers, the
    body: its SSE events for a 200 text/event-stream, else its bytes;
    seconds)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)

    def send():
        try:
            sock.sendall(head + body)
        except OSError:
            pass        # the server answered and closed: fine
    t = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    t.start()
    try:
        r = Response(sock, "POST")
        if r.status == 200 and r.content_type().startswith(
                "text/event-stream"):
            data = harness.collect(r)
        else:
            data = r.read_body()
        return r.status, r.headers, data, time.monotonic() - t0
    finally:
        sock.close()
        t.join(5)


def snapshot(srv):
    """Every stored row of TABLES, for "nothing changed"."""
    c = srv.db()
    try:
        return {t: [tuple(r) for r in c.execute(
            "SELECT * FROM %s ORDER BY 1, 2" % t)] for t in TABLES}
    finally:
        c.close()


# The table: (name, framing, body, Content-Type, want).  want is None for
# an accepted body (a turn starts), else (status, code); a dict maps a
# server to its own where one differs (None: every other server).
SMALL = b'{"text":"Hello, I was in a car accident last week."}'
ROWS = (
    ("small", "Content-Length", SMALL, JSON_CT, None),
    ("at_limit", "Content-Length", padded(LIMIT), JSON_CT, None),
    ("one_over", "Content-Length", padded(LIMIT + 1), JSON_CT,
     (413, "too_large")),
    ("77k", "Content-Length", padded(77 * 1024), JSON_CT,
     (413, "too_large")),
    ("2m", "Content-Length", padded(2 << 20), JSON_CT, (413, "too_large")),
    ("malformed", "Content-Length", b'{"text":"hi"', JSON_CT,
     (400, "bad_request")),
    ("empty", "Content-Length", b"", JSON_CT, (400, "bad_request")),
    ("no_length", "none", b"", JSON_CT,
     {"lighttpd": (411, "length_required"), None: (400, "bad_request")}),
    ("chunked_small", "chunked", SMALL, JSON_CT, None),
    ("chunked_at_limit", "chunked", padded(LIMIT), JSON_CT, None),
    ("chunked_malformed", "chunked", b'{"text":', JSON_CT,
     (400, "bad_request")),
    ("chunked_over", "chunked", padded(70000), JSON_CT, (413, "too_large")),
    ("chunked_2m", "chunked", padded(2 << 20), JSON_CT, (413, "too_large")),
    ("wrong_type", "Content-Length", SMALL, "text/plain",
     (415, "unsupported_media_type")),
)


class Bodies:
    """Mixed into a ServerTestCase per server (cls.web_server); one test
    method per row of the table, added below."""
    word_delay_ms = 0
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}

    @classmethod
    def prepare(cls):
        cls.conv, cls.token = cls.server.create_conversation()

    def quiesce(self):
        """No reply streaming and no extraction running: rows hold still."""
        self.server.quiesce(timeout=30)

    def send_row(self, framing, body, content_type=JSON_CT):
        path = "/api/conversations/%s/messages" % self.conv
        if framing == "Content-Length":
            line = "Content-Length: %d\r\n" % len(body)
            data = body
        elif framing == "chunked":
            line = "Transfer-Encoding: chunked\r\n"
            data = chunked(body)
        else:
            line, data = "", b""
        return exchange(self.server.port, head_bytes(
            "POST", path, self.token, line, content_type), data)

    def check_row(self, name, framing, body, content_type, want):
        if isinstance(want, dict):
            want = want.get(self.web_server, want[None])
        self.quiesce()
        before = snapshot(self.server)
        try:
            status, headers, data, took = self.send_row(framing, body,
                                                        content_type)
        except (harness.HarnessError, OSError) as e:
            self.fail("%s: no complete HTTP answer: %s" % (name, e))
        ct = headers.get("content-type", "").split(";")[0].strip()
        if want is None:
            self.assertEqual(status, 200, "%s: %d %r" % (name, status,
                                                         data[:300]))
            self.assertEqual(ct, "text/event-stream", name)
            events = data
            self.assertTrue(events, name)
            self.assertEqual(events[0].event, "turn", name)
            self.assertEqual(events[-1].event, "done", "%s: %r" % (
                name, events[-2:]))
            # The message stored is the one sent.
            sent = json.loads(body)["text"]
            row = self.server.query(
                "SELECT text FROM messages WHERE id = ?",
                (int(events[0].data["user_message_id"]),))
            self.assertEqual(row[0]["text"], sent, name)
            return
        want_status, want_code = want
        self.assertEqual(status, want_status, "%s: want %d %s, got %d: %r"
                         % (name, want_status, want_code, status,
                            data[:300]))
        self.assertEqual(ct, JSON_CT, "%s: Content-Type %r, body %r" % (
            name, headers.get("content-type"), data[:200]))
        try:
            obj = json.loads(data.decode("utf-8"))
        except ValueError:
            self.fail("%s: not JSON: %r" % (name, data[:300]))
        self.assertEqual(set(obj), {"error"}, name)
        self.assertEqual(obj["error"].get("code"), want_code, "%s: %r" % (
            name, obj))
        self.assertTrue(isinstance(obj["error"].get("message"), str) and
                        obj["error"]["message"], name)
        self.assertLess(took, ANSWER_BOUND, name)
        self.assertEqual(snapshot(self.server), before,
                         "%s: a refused body changed stored data" % name)


def _add_row_tests():
    for name, framing, body, content_type, want in ROWS:
        def test(self, name=name, framing=framing, body=body,
                 content_type=content_type, want=want):
            self.check_row(name, framing, body, content_type, want)
        test.__name__ = "test_row_%s" % name
        test.__doc__ = "%s (%s, %d bytes)" % (name, framing, len(body))
        setattr(Bodies, test.__name__, test)


_add_row_tests()


class BodiesLighttpd(Bodies, ServerTestCase):
    web_server = "lighttpd"


class BodiesApacheFcgid(Bodies, ServerTestCase):
    web_server = "apache"


class BodiesApacheProxy(Bodies, ServerTestCase):
    web_server = "apache-proxy"


class BodiesCgi(Bodies, ServerTestCase):
    web_server = "cgi"


# --------------------------------------------------------------------------
# a body that stalls

class SlowBody:
    """INTAKE_BODY_TIMEOUT_MS=2000 and one worker thread."""
    word_delay_ms = 0
    server_env = {"INTAKE_BODY_TIMEOUT_MS": str(BODY_TIMEOUT_MS),
                  "INTAKE_THREADS": "1"}

    @classmethod
    def prepare(cls):
        cls.conv, cls.token = cls.server.create_conversation()

    def want(self):
        # mod_fcgid reads the body itself before the program runs, and
        # answers 500 to a read that fails (its own status, our JSON).
        if self.web_server == "apache":
            return 500, "internal"
        return 408, "request_timeout"

    def stall(self, drip):
        srv = self.server
        before = snapshot(srv)
        sock = socket.create_connection(("127.0.0.1", srv.port),
                                        timeout=SLOW_BOUND + 10)
        sock.settimeout(SLOW_BOUND + 10)
        stop = threading.Event()

        def dripper():
            while not stop.wait(0.5):
                try:
                    sock.send(b"x")
                except OSError:
                    return
        try:
            sock.sendall(head_bytes(
                "POST", "/api/conversations/%s/messages" % self.conv,
                self.token, "Content-Length: 60000\r\n") + b'{"text":"he')
            t0 = time.monotonic()
            if drip:
                threading.Thread(target=dripper, daemon=True).start()
            time.sleep(0.3)
            # Another request on another connection: answered once the one
            # worker is free (at the deadline), not when the client leaves.
            t1 = time.monotonic()
            try:
                status, _, body = srv.call("GET", "/api/health",
                                           timeout=SLOW_BOUND + 10)
            except (harness.HarnessError, OSError) as e:
                self.fail("a second request was not answered: %s" % e)
            self.assertEqual(status, 200, body)
            self.assertLess(time.monotonic() - t1, SLOW_BOUND,
                            "the second request waited for the slow one")
            try:
                r = Response(sock, "POST")
                data = r.read_body()
            except (harness.HarnessError, OSError) as e:
                self.fail("the stalled body got no answer within %.0f s: "
                          "%s" % (SLOW_BOUND + 10, e))
            took = time.monotonic() - t0
        finally:
            stop.set()
            sock.close()
        want_status, want_code = self.want()
        self.assertEqual(r.status, want_status, data[:300])
        self.assertEqual(r.headers.get("content-type", "").split(";")[0],
                         JSON_CT, data[:300])
        self.assertEqual(json.loads(data)["error"]["code"], want_code)
        self.assertLess(took, SLOW_BOUND, "answered after %.1f s" % took)
        self.assertGreater(took, BODY_TIMEOUT_MS / 1000 * 0.5,
                           "answered before the deadline: %.1f s" % took)
        self.assertEqual(snapshot(srv), before)

    def test_stalled_body(self):
        self.stall(drip=False)

    def test_dripped_body(self):
        """One byte every half second: the deadline is for the whole
        body, not for each read."""
        self.stall(drip=True)


class SlowBodyLighttpd(SlowBody, ServerTestCase):
    web_server = "lighttpd"


class SlowBodyApacheProxy(SlowBody, ServerTestCase):
    web_server = "apache-proxy"


class SlowBodyCgi(SlowBody, ServerTestCase):
    web_server = "cgi"


class SlowBodyApacheFcgid(SlowBody, ServerTestCase):
    web_server = "apache"


# --------------------------------------------------------------------------
# HEAD

def head_request(port, path, headers=None, timeout=ANSWER_BOUND):
    """HEAD path: (status, headers, bytes after the header block, seconds
    until the connection closed)."""
    h = "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" % path
    for k, v in (headers or {}).items():
        h += "%s: %s\r\n" % (k, v)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    t0 = time.monotonic()
    try:
        sock.sendall((h + "\r\n").encode())
        data = b""
        while True:
            try:
                piece = sock.recv(65536)
            except socket.timeout:
                raise AssertionError("HEAD %s: still open after %.0f s" % (
                    path, timeout))
            if not piece:
                break
            data += piece
    finally:
        sock.close()
    took = time.monotonic() - t0
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("HEAD %s: no whole header block: %r" % (
            path, data[:300]))
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest, took


class Head:
    """HEAD on the GET routes: the GET's status and headers, no body."""
    word_delay_ms = 150         # a reply takes seconds: HEAD must not follow
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}

    @classmethod
    def prepare(cls):
        cls.conv, cls.token = cls.server.create_conversation()

    def head(self, path, token=None):
        h = {"Authorization": "Bearer %s" % token} if token else None
        return head_request(self.server.port, path, h)

    def test_head_is_get_without_body(self):
        c = self.conv
        for path, token, status, ct in (
                ("/api/health", None, 200, JSON_CT),
                ("/api/conversations/%s" % c, self.token, 200, JSON_CT),
                ("/api/conversations/%s" % c, None, 401, JSON_CT),
                ("/api/conversations/%s" % ("Q" * 22), self.token, 404,
                 JSON_CT),
                ("/api/leads", ADMIN, 200, JSON_CT),
                ("/api/leads", None, 401, JSON_CT),
                ("/api/leads/%s" % c, ADMIN, 404, JSON_CT),
                ("/api/conversations/%s/events" % c, self.token, 204, None)):
            with self.subTest(path=path, token=bool(token)):
                got, headers, rest, took = self.head(path, token)
                self.assertEqual(got, status, "HEAD %s" % path)
                if ct is not None:
                    self.assertEqual(headers.get("content-type", "").split(
                        ";")[0], ct, path)
                self.assertEqual(rest, b"", "HEAD %s sent a body" % path)
                # and the GET answers the same status, with a body
                g, _, body = self.server.call(
                    "GET", path, None, {"Authorization": "Bearer %s" %
                                        token} if token else None)
                self.assertEqual(g, status, "GET %s" % path)
                if g != 204:
                    self.assertTrue(body, "GET %s: no body" % path)

    def test_head_on_post_routes_is_405(self):
        got, headers, rest, _ = self.head(
            "/api/conversations/%s/messages" % self.conv, self.token)
        self.assertEqual(got, 405)
        self.assertEqual(headers.get("allow"), "POST")
        self.assertEqual(rest, b"")

    def test_head_on_events_does_not_follow(self):
        conv, token = self.server.create_conversation()
        r = self.server.post_message(conv, token, "Hello, I slipped on "
                                     "ice outside a shop and broke my wrist.")
        try:
            self.assertEqual(r.status, 200)
            for ev in harness.read_events(r):
                if ev.event == "delta":
                    break
            got, headers, rest, took = self.head(
                "/api/conversations/%s/events" % conv, token)
            self.assertEqual(got, 200)
            self.assertEqual(headers.get("content-type", "").split(";")[0],
                             "text/event-stream")
            self.assertEqual(rest, b"")
            self.assertLess(took, 5.0, "HEAD on events followed the reply")
            rows = self.server.query(
                "SELECT status FROM messages WHERE conversation_id = ? AND "
                "role = 'assistant'", (conv,))
            self.assertEqual(rows[0]["status"], "streaming",
                             "the reply ended before HEAD did: the test "
                             "proves nothing (make the reply longer)")
            rest_events = harness.collect(r)
        finally:
            r.close()
        self.assertEqual(rest_events[-1].event, "done")


class HeadLighttpd(Head, ServerTestCase):
    web_server = "lighttpd"


class HeadCgi(Head, ServerTestCase):
    web_server = "cgi"


class HeadApacheProxy(Head, ServerTestCase):
    web_server = "apache-proxy"


if __name__ == "__main__":
    main("integration_bodies")
