"""test_attack.py: one address cannot take the service from everyone else.

Each test mounts, on loopback and bounded in time, an attack from one
address (127.0.0.2: lighttpd and Apache listen on 127.0.0.1, and the
connection's source address is what the program sees as REMOTE_ADDR)
and checks that a visitor from another address (127.0.0.1, the harness's
own requests) is served at once meanwhile:

- slow bodies: 100 POSTs to .../messages that send their headers
  (Content-Length 60000) and then a byte a second (lighttpd hands the
  program a body as it arrives; so does mod_proxy_fcgi);
- followers: 63 followers of one streaming reply; those beyond the
  conversation's cap get 429 rate_limited with Retry-After;
- abandoned turns: 64 turns (in 64 conversations) read to their first byte
  and dropped; the replies that started are still read to their end and
  saved, and every stream slot is given back;
- under mod_fcgid, a visitor who closes the connection mid-reply: the
  next request is answered at once (the process is not held by a reply
  nobody reads) and the abandoned reply is saved whole;
- the slots of a dead process are taken back, those of a live one count;
- the message rate limit is a sliding window: the limit spent just
  before a minute boundary is still spent just after it.

The caps are the defaults (INTAKE_MAX_STREAMS_PER_ADDR 16,
INTAKE_MAX_FOLLOWS_PER_CONV 8): a real visitor never meets them, an
attack from one address always does.

    BUILD=build/test python3 tests/integration/test_attack.py
"""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness                                           # noqa: E402
from harness import (HarnessError, Response, ServerTestCase,  # noqa: E402
                     collect, main, read_events)

ATTACKER = "127.0.0.2"
PER_ADDR = 16           # the defaults of the two caps
PER_CONV = 8
PROMPT = 10.0           # "at once", generously: the machine is shared


def connect_from(port, src, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(src, 0))
    s.settimeout(timeout)
    return s


def head_bytes(port, method, path, headers, content_length=None):
    h = {"Host": "127.0.0.1:%d" % port, "Connection": "close",
         "User-Agent": "intake-attack"}
    h.update(headers)
    if content_length is not None:
        h["Content-Length"] = str(content_length)
    return ("%s %s HTTP/1.1\r\n" % (method, path) +
            "".join("%s: %s\r\n" % kv for kv in h.items()) +
            "\r\n").encode("latin-1")


def request_from(port, src, method, path, body=None, headers=None,
                 timeout=10.0):
    """One request from address src; the Response with its head read."""
    h = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    s = connect_from(port, src, timeout)
    try:
        s.sendall(head_bytes(port, method, path, h,
                             len(body) if body is not None else None) +
                  (body or b""))
        return Response(s, method)
    except Exception:
        s.close()
        raise


def auth(token):
    return {"Authorization": "Bearer %s" % token}


class Checks:
    def visitor_served(self, what, text="Hello, my name is Ann Lee."):
        """From 127.0.0.1: /api/health, a new conversation and a message
        whose reply starts, each within PROMPT seconds.  Returns the
        seconds to the reply's first delta."""
        srv = self.server
        t0 = time.monotonic()
        try:
            status, _, body = srv.call("GET", "/api/health", timeout=PROMPT)
            self.assertEqual(status, 200, "%s: health %r" % (what, body))
            conv, token = srv.create_conversation()
            r = srv.request("POST", "/api/conversations/%s/messages" % conv,
                            {"text": text}, auth(token), timeout=PROMPT)
            self.addCleanup(r.close)
            self.assertEqual(r.status, 200, what)
            for ev in read_events(r):
                if ev.event == "delta":
                    break
                self.assertNotIn(ev.event, ("done", "error"), what)
        except (HarnessError, OSError) as e:
            self.fail("%s: the visitor was not served within %.0f s: %r" %
                      (what, PROMPT, e))
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, PROMPT, "%s: the visitor waited %.1f s" %
                        (what, elapsed))
        return r, elapsed

    def check_429(self, resp, what):
        body = resp.read_body()
        self.assertEqual(resp.status, 429, "%s: %r" % (what, body[:200]))
        self.assertEqual(json.loads(body)["error"]["code"], "rate_limited",
                         what)
        self.assertRegex(resp.headers.get("retry-after", ""),
                         r"^[1-9][0-9]*$", what)

    def slots_left(self):
        return self.server.query("SELECT count(*) FROM stream_slots")[0][0]


# --------------------------------------------------------------------------
# slow bodies

class SlowBodies(Checks):
    """100 POSTs that send their headers and then a byte now and then."""
    N = 100

    def test_slow_bodies_hold_no_worker(self):
        srv = self.server
        conv, token = srv.create_conversation()
        head = head_bytes(srv.port, "POST",
                          "/api/conversations/%s/messages" % conv,
                          dict(auth(token),
                               **{"Content-Type": "application/json"}),
                          content_length=60000)
        socks = []
        stop = threading.Event()

        def trickle():
            while not stop.wait(1.0):
                for s in list(socks):
                    try:
                        s.sendall(b" ")
                    except OSError:
                        pass

        th = threading.Thread(target=trickle, daemon=True)
        try:
            for _ in range(self.N):
                s = connect_from(srv.port, ATTACKER)
                s.sendall(head + b"{")
                socks.append(s)
            th.start()
            time.sleep(1.5)         # every one of them reaches the program
            r, elapsed = self.visitor_served("%d slow bodies" % self.N)
            events = [ev for ev in read_events(r)]
            self.assertEqual(events[-1].event, "done")
            # The program answered most of them at once, unread.
            refused = 0
            for s in socks:
                s.settimeout(0.2)
                try:
                    if s.recv(64).startswith(b"HTTP/1.1 429"):
                        refused += 1
                except OSError:
                    pass
            self.assertGreaterEqual(refused, self.N - PER_ADDR - 4,
                                    "only %d of %d slow bodies were "
                                    "refused" % (refused, self.N))
        finally:
            stop.set()
            for s in socks:
                s.close()
            th.join(5)
        # Every slot comes back once the bodies are given up on.
        srv.wait_for(lambda: self.slots_left() == 0, timeout=90,
                     what="the slow bodies' slots given back")


class SlowBodiesLighttpd(SlowBodies, ServerTestCase):
    web_server = "lighttpd"


class SlowBodiesProxy(SlowBodies, ServerTestCase):
    web_server = "apache-proxy"


# --------------------------------------------------------------------------
# followers

class Followers(Checks, ServerTestCase):
    """63 followers of one streaming reply, from one address."""
    web_server = "lighttpd"
    word_delay_ms = 400         # a reply of some twenty seconds

    def test_followers_capped(self):
        srv = self.server
        conv, token = srv.create_conversation()
        turn = request_from(srv.port, ATTACKER, "POST",
                            "/api/conversations/%s/messages" % conv,
                            {"text": "Hello, my name is Jane Roe."},
                            auth(token))
        self.addCleanup(turn.close)
        self.assertEqual(turn.status, 200)
        it = read_events(turn)
        self.assertEqual(next(it).event, "turn")
        path = "/api/conversations/%s/events?token=%s" % (conv, token)
        socks = []
        try:
            for _ in range(63):
                s = connect_from(srv.port, ATTACKER)
                s.sendall(head_bytes(srv.port, "GET", path, {}))
                socks.append(s)
            statuses = []
            refused = []
            for s in socks:
                try:
                    resp = Response(s, "GET")
                except (HarnessError, OSError) as e:
                    statuses.append(repr(e))
                    continue
                statuses.append(resp.status)
                if resp.status == 429:
                    refused.append(resp)
            served = statuses.count(200)
            self.assertLessEqual(served, PER_CONV, "followers served: %r" %
                                 statuses)
            self.assertEqual(served + len(refused), 63, statuses)
            for resp in refused[:5]:
                self.check_429(resp, "an extra follower")
            _, elapsed = self.visitor_served("63 followers")
        finally:
            for s in socks:
                s.close()
        # The reply is still whole for the one who asked.
        events = list(it)
        self.assertEqual(events[-1].data, {"status": "complete"})
        # Followers that left give their slots back: a follow is served.
        srv.wait_for(lambda: self.slots_left() == 0, timeout=30,
                     what="the followers' slots given back")
        f = request_from(srv.port, ATTACKER, "GET", path)
        self.addCleanup(f.close)
        self.assertEqual(f.status, 200)
        self.assertEqual(collect(f)[-1].event, "done")


# --------------------------------------------------------------------------
# turns dropped at their first byte

class AbandonedTurns(Checks, ServerTestCase):
    """64 turns, each read to its first byte and dropped."""
    web_server = "lighttpd"
    word_delay_ms = 400

    def test_abandoned_turns(self):
        srv = self.server
        convs = [srv.create_conversation() for _ in range(64)]
        socks = []
        try:
            for conv, token in convs:
                s = connect_from(srv.port, ATTACKER)
                body = json.dumps({"text": "Hello, my name is Jane "
                                   "Roe."}).encode()
                s.sendall(head_bytes(
                    srv.port, "POST", "/api/conversations/%s/messages" % conv,
                    dict(auth(token), **{"Content-Type": "application/json"}),
                    content_length=len(body)) + body)
                socks.append(s)
            first = []
            for s in socks:
                try:
                    first.append(s.recv(12))
                except OSError as e:
                    first.append(repr(e).encode())
                s.close()
            started = sum(1 for b in first if b.startswith(b"HTTP/1.1 200"))
            refused = sum(1 for b in first if b.startswith(b"HTTP/1.1 429"))
            self.assertLessEqual(started, PER_ADDR, first)
            self.assertEqual(started + refused, 64, first)
            self.visitor_served("64 abandoned turns")
        finally:
            for s in socks:
                s.close()
        # The replies that started are read to their end and saved, and
        # hold their slot until then.
        ids = [c for c, _ in convs]
        marks = ",".join("?" * len(ids))

        def final():
            rows = srv.query("SELECT status FROM messages WHERE role = "
                             "'assistant' AND conversation_id IN (%s)" %
                             marks, ids)
            return all(r[0] != "streaming" for r in rows) and rows

        rows = srv.wait_for(final, timeout=90, what="the abandoned replies")
        self.assertEqual(len(rows), started)
        self.assertEqual({r[0] for r in rows}, {"complete"})
        srv.wait_for(lambda: self.slots_left() == 0, timeout=30,
                     what="every slot given back")


# --------------------------------------------------------------------------
# mod_fcgid: a reply nobody reads

class FcgidAbandoned(Checks, ServerTestCase):
    """Under mod_fcgid, the visitor closes the tab mid-reply."""
    web_server = "apache"
    word_delay_ms = 250         # the reply lasts about ten seconds

    def test_next_request_not_queued(self):
        srv = self.server
        conv, token = srv.create_conversation()
        r = srv.post_message(conv, token, "Hello, my name is Jane Roe and "
                             "I was hurt at work.")
        self.assertEqual(r.status, 200)
        seen = []
        for ev in read_events(r):
            seen.append(ev)
            if sum(e.event == "delta" for e in seen) >= 2:
                break
        r.close()
        t0 = time.monotonic()
        try:
            status, _, _ = srv.call("GET", "/api/health", timeout=PROMPT)
        except (HarnessError, OSError) as e:
            self.fail("health after a closed tab: %r" % e)
        waited = time.monotonic() - t0
        self.assertEqual(status, 200)
        # mod_fcgid notices the closed tab at the reply's next write and
        # may then wait a second for a free process: 4 s is generous.
        self.assertLess(waited, 4.0, "the next request waited %.1f s behind "
                        "a reply nobody reads" % waited)
        self.visitor_served("after a closed tab")
        row = srv.wait_for(lambda: [
            x for x in srv.query("SELECT status, text FROM messages WHERE "
                                 "conversation_id = ? AND role = "
                                 "'assistant'", (conv,))
            if x[0] != "streaming"], timeout=60, what="the reply saved")[0]
        self.assertEqual(row[0], "complete")
        self.assertTrue(row[1].startswith(harness.delta_text(seen)),
                        (row[1], harness.delta_text(seen)))
        self.assertGreater(len(row[1]), len(harness.delta_text(seen)))
        # Its extraction ran, once the reply was saved.
        srv.wait_for(lambda: srv.query(
            "SELECT state FROM jobs WHERE conversation_id = ? AND turn = 1 "
            "AND state = 'done'", (conv,)), timeout=60, what="the job")
        srv.wait_for(lambda: self.slots_left() == 0, timeout=30,
                     what="every slot given back")


# --------------------------------------------------------------------------
# the slots of other processes

class OtherOwners(Checks, ServerTestCase):
    """Slot rows planted before the start: 16 of a dead process for
    127.0.0.2, 16 of a live one (this test) for 127.0.0.3."""
    web_server = "lighttpd"
    word_delay_ms = 0

    @classmethod
    def before_start(cls, srv):
        dead = harness.dead_pid()
        me = os.getpid()
        now = int(time.time() * 1000)
        c = srv.db_rw()
        try:
            for i in range(PER_ADDR):
                c.execute("INSERT INTO stream_slots (addr, conversation_id, "
                          "kind, owner_pid, owner_start, started_at) VALUES "
                          "(?, ?, 'turn', ?, ?, ?)",
                          ("127.0.0.2", "x%d" % i, dead, 1, now))
                c.execute("INSERT INTO stream_slots (addr, conversation_id, "
                          "kind, owner_pid, owner_start, started_at) VALUES "
                          "(?, ?, 'turn', ?, ?, ?)",
                          ("127.0.0.3", "y%d" % i, me,
                           harness._start_time(me), now))
            c.commit()
        finally:
            c.close()

    def test_dead_taken_back_live_counted(self):
        srv = self.server
        conv, token = srv.create_conversation()
        srv.turn(conv, token, "Hello.")
        path = "/api/conversations/%s/events?token=%s" % (conv, token)
        f = request_from(srv.port, "127.0.0.2", "GET", path)
        self.addCleanup(f.close)
        self.assertEqual(f.status, 200, "a dead process's slots were not "
                         "taken back")
        collect(f)
        self.assertEqual(srv.query(
            "SELECT count(*) FROM stream_slots WHERE addr = '127.0.0.2'")[0][0],
            0)
        f = request_from(srv.port, "127.0.0.3", "GET", path)
        self.addCleanup(f.close)
        self.check_429(f, "a live process's slots")
        self.assertEqual(self.slots_left(), PER_ADDR)


# --------------------------------------------------------------------------
# the rate limit's window

class SlidingRate(Checks, ServerTestCase):
    """INTAKE_RATE_CONVERSATIONS=3: the three spent before a minute
    boundary are still spent after it."""
    web_server = "lighttpd"
    server_env = {"INTAKE_RATE_CONVERSATIONS": "3"}
    word_delay_ms = 0

    def test_no_double_burst_across_a_minute(self):
        srv = self.server
        # The three go out 5 s before a minute boundary, wherever in the
        # minute the test starts (started just after one, the boundary
        # it waits for was a whole window after them: nothing to catch).
        time.sleep((60.0 - time.time() % 60.0 - 5.0) % 60.0)
        t_first = time.time()
        for i in range(3):
            status, _, body = srv.call("POST", "/api/conversations")
            self.assertEqual(status, 201, body)
        # The next minute starts: a per-minute counter would start over.
        boundary = t_first - t_first % 60.0 + 60.0
        time.sleep(max(0.0, boundary + 0.5 - time.time()))
        r = srv.request("POST", "/api/conversations", b"")
        self.addCleanup(r.close)
        since = time.time() - t_first
        self.check_429(r, "the 4th within a minute, across its boundary")
        ra = int(r.headers["retry-after"])
        self.assertLessEqual(abs(ra - (60.0 - since)), 2.0,
                             "Retry-After %d, %.1f s after the first" %
                             (ra, since))
        self.assertEqual(srv.counts()[0], 3)


if __name__ == "__main__":
    main("integration_attack")
