"""test_turn.py: the streaming turn and the small endpoints, over HTTP,
against the real intake.fcgi under the real lighttpd (DESIGN.md, "HTTP
contract (v1)").

    make test-build && BUILD=build/test python3 tests/integration/test_turn.py

The last line printed is "integration_turn: N passed, N failed".
"""

import base64
import json
import os
import re
import sqlite3
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ServerTestCase, collect, delta_text, dead_pid,  # noqa
                     main, read_events, connect, sqlite_only)

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
NAME_TEXT = "Hi, my name is Zoë Brontë and I was in a car accident."


class Checks:
    """Assertions shared by the classes (mixed into ServerTestCase)."""

    def check_error(self, status, headers, body, want_status, want_code):
        """An error answer: the status, JSON content type and the body
        {"error":{"code":..., "message":...}}."""
        self.assertEqual(status, want_status,
                         "want %d %s, got %d: %r" % (want_status, want_code,
                                                     status, body[:300]))
        self.assertTrue(headers.get("content-type", "").startswith(
            "application/json"), "error Content-Type is %r" %
            headers.get("content-type"))
        try:
            obj = json.loads(body)
        except ValueError:
            self.fail("error body is not JSON: %r" % body[:300])
        self.assertIsInstance(obj, dict, body)
        self.assertEqual(set(obj), {"error"}, body)
        self.assertIsInstance(obj["error"], dict, body)
        self.assertEqual(obj["error"].get("code"), want_code, body)
        self.assertIsInstance(obj["error"].get("message"), str, body)
        self.assertTrue(obj["error"]["message"], "empty error message")
        return obj

    def check_turn_stream(self, events, want_turn=None, want_status="complete"):
        """turn first, deltas with cumulative byte ids, done last; returns
        the turn event's data and the reply text."""
        self.assertTrue(events, "no events at all")
        names = [e.event for e in events]
        self.assertEqual(names[0], "turn", "first event: %s" % names)
        self.assertEqual(names[-1], "done", "last event: %s" % names)
        self.assertTrue(all(n == "delta" for n in names[1:-1]),
                        "between turn and done only deltas: %s" % names)
        t = events[0].data
        self.assertIsInstance(t, dict)
        self.assertIsInstance(t.get("turn"), int, t)
        self.assertNotIsInstance(t.get("turn"), bool, t)
        self.assertIsInstance(t.get("user_message_id"), str, t)
        self.assertIsInstance(t.get("assistant_message_id"), str, t)
        self.assertTrue(t["user_message_id"] and t["assistant_message_id"], t)
        self.assertNotEqual(t["user_message_id"], t["assistant_message_id"])
        if want_turn is not None:
            self.assertEqual(t["turn"], want_turn, t)
        self.assertEqual(events[-1].data, {"status": want_status})
        total = 0
        for e in events[1:-1]:
            self.assertIsInstance(e.data.get("text"), str, e.data)
            self.assertTrue(e.data["text"], "an empty delta")
            total += len(e.data["text"].encode("utf-8"))
            self.assertEqual(e.id, str(total),
                             "delta id is %r, bytes so far %d" % (e.id, total))
        return t, delta_text(events)

    def msg_row(self, msg_id):
        rows = self.server.query("SELECT * FROM messages WHERE id = ?",
                                 (int(msg_id),))
        self.assertEqual(len(rows), 1, "no message row %s" % msg_id)
        return rows[0]

    def conv_messages(self, conv_id):
        return self.server.query("SELECT * FROM messages WHERE "
                                 "conversation_id = ? ORDER BY id",
                                 (conv_id,))

    def start_turn(self, conv_id, token, text, client_id=None):
        """POST a message, check 200 text/event-stream; the response."""
        r = self.server.post_message(conv_id, token, text, client_id)
        if r.status != 200:
            body = r.read_body()
            r.close()
            self.fail("POST messages: want 200, got %d %r" % (r.status,
                                                               body[:300]))
        self.addCleanup(r.close)
        return r


class FastTests(Checks, ServerTestCase):
    """Everything that does not depend on the pace of the reply."""
    word_delay_ms = 5

    @classmethod
    def prepare(cls):
        # One conversation with a finished turn, shared by the error tests.
        srv = cls.server
        cls.conv, cls.token = srv.create_conversation()
        srv.turn(cls.conv, cls.token, NAME_TEXT)

    # ---- the small endpoints
    def test_health(self):
        status, headers, body = self.server.call("GET", "/api/health")
        self.assertEqual(status, 200, body)
        self.assertTrue(headers.get("content-type", "").startswith(
            "application/json"), headers)
        self.assertEqual(json.loads(body), {"ok": True})

    def test_create_conversation(self):
        before = self.server.counts()
        status, headers, body = self.server.call("POST", "/api/conversations")
        self.assertEqual(status, 201, body)
        self.assertTrue(headers.get("content-type", "").startswith(
            "application/json"), headers)
        obj = json.loads(body)
        self.assertIsInstance(obj.get("id"), str, obj)
        self.assertIsInstance(obj.get("token"), str, obj)
        self.assertRegex(obj["id"], URL_SAFE)
        self.assertGreaterEqual(len(obj["id"]), 22, obj["id"])
        self.assertGreaterEqual(len(obj["token"]), 22, "token too short")
        self.assertNotEqual(obj["id"], obj["token"])
        status2, _, body2 = self.server.call("POST", "/api/conversations")
        self.assertEqual(status2, 201)
        other = json.loads(body2)
        self.assertNotEqual(other["id"], obj["id"])
        self.assertNotEqual(other["token"], obj["token"])
        self.assertEqual(self.server.counts()[0], before[0] + 2)
        rows = self.server.query("SELECT id, token FROM conversations WHERE "
                                 "id = ?", (obj["id"],))
        self.assertEqual(len(rows), 1)
        # the conversation exists and is empty for its owner
        conv = self.server.get_conversation(obj["id"], obj["token"])
        self.assertEqual(conv, {"id": obj["id"], "messages": []})

    @sqlite_only("the database file and its -wal/-shm modes")
    def test_database_files_mode_0600(self):
        path = self.server.db_path
        self.assertTrue(os.path.exists(path))
        checked = []
        for p in (path, path + "-wal", path + "-shm"):
            if not os.path.exists(p):
                continue
            mode = stat.S_IMODE(os.stat(p).st_mode)
            self.assertEqual(mode, 0o600, "%s has mode %o" % (p, mode))
            checked.append(p)
        # after a turn the database is in WAL mode: its -wal is there
        self.assertIn(path + "-wal", checked, "no -wal file to check")

    # ---- the turn
    def test_turn_events(self):
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "text/event-stream"), r.headers)
        self.assertEqual(r.headers.get("cache-control"), "no-cache")
        events = collect(r)
        t, text = self.check_turn_stream(events, want_turn=1)
        self.assertGreaterEqual(sum(e.event == "delta" for e in events), 2,
                                "fewer than 2 deltas")
        self.assertTrue(text.strip(), "an empty reply")
        user = self.msg_row(t["user_message_id"])
        asst = self.msg_row(t["assistant_message_id"])
        self.assertEqual((user["conversation_id"], user["role"],
                          user["turn"]), (conv, "user", 1))
        self.assertEqual((asst["conversation_id"], asst["role"],
                          asst["turn"]), (conv, "assistant", 1))

    def test_json_with_charset_accepted(self):
        conv, token = self.server.create_conversation()
        r = self.server.post_message(
            conv, token, None, body=b'{"text": "Hello, I am Ann."}',
            content_type="application/json; charset=utf-8")
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200, r.read_body()[:300]
                         if r.status != 200 else "")
        self.check_turn_stream(collect(r), want_turn=1)

    def test_stored_reply_equals_deltas(self):
        conv, token = self.server.create_conversation()
        _, events = self.server.turn(conv, token, NAME_TEXT)
        t, text = self.check_turn_stream(events, want_turn=1)
        got = self.server.get_conversation(conv, token)
        self.assertEqual(got["id"], conv)
        msgs = got["messages"]
        self.assertEqual(len(msgs), 2, msgs)
        self.assertEqual(msgs[0], {"id": t["user_message_id"], "role": "user",
                                   "turn": 1, "text": NAME_TEXT,
                                   "status": "complete"})
        self.assertEqual(msgs[1], {"id": t["assistant_message_id"],
                                   "role": "assistant", "turn": 1,
                                   "text": text, "status": "complete"})
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual(row["status"], "complete")
        self.assertEqual(row["text"], text)
        self.assertEqual(row["length"], len(text.encode("utf-8")))
        urow = self.msg_row(t["user_message_id"])
        self.assertEqual((urow["role"], urow["text"], urow["status"]),
                         ("user", NAME_TEXT, "complete"))
        # the parts were folded into the text
        self.assertEqual(self.server.counts(conv)[2], 0,
                         "message_parts left after the reply was final")

    def test_response_ends_right_after_done(self):
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        events = collect(r)
        self.check_turn_stream(events)
        self.assertIsNotNone(r.t_end, "the body did not end")
        self.assertIsNotNone(r.t_eof, "the connection did not close")
        done_t = events[-1].t
        self.assertLess(r.t_end - done_t, 1.0, "body ended %.3f s after "
                        "done" % (r.t_end - done_t))
        self.assertLess(r.t_eof - done_t, 1.0, "connection closed %.3f s "
                        "after done" % (r.t_eof - done_t))

    def test_second_turn_right_after_done(self):
        conv, token = self.server.create_conversation()
        r1 = self.start_turn(conv, token, NAME_TEXT)
        events1 = []
        for ev in read_events(r1):
            events1.append(ev)
            if ev.event == "done":
                break       # send the next one the instant done arrives
        self.assertEqual(events1[-1].event, "done", events1)
        r2 = self.server.post_message(conv, token, "My phone is 202 555 0147.")
        self.addCleanup(r2.close)
        if r2.status != 200:
            self.fail("second turn right after done: %d %r" %
                      (r2.status, r2.read_body()[:300]))
        events2 = collect(r2)
        self.check_turn_stream(events2, want_turn=2)
        collect(r1)
        msgs = self.server.get_conversation(conv, token)["messages"]
        self.assertEqual([(m["turn"], m["role"], m["status"]) for m in msgs],
                         [(1, "user", "complete"), (1, "assistant", "complete"),
                          (2, "user", "complete"), (2, "assistant", "complete")])

    def test_client_id_replay(self):
        conv, token = self.server.create_conversation()
        _, ev1 = self.server.turn(conv, token, NAME_TEXT, client_id="cid-1")
        t1, text1 = self.check_turn_stream(ev1, want_turn=1)
        snap = self.server.snapshot()
        r = self.server.post_message(conv, token, NAME_TEXT, client_id="cid-1")
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200, "replay: %d" % r.status)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "text/event-stream"), r.headers)
        ev2 = collect(r)
        t2, text2 = self.check_turn_stream(ev2, want_turn=1)
        self.assertEqual(t2, t1, "the replay names another turn")
        self.assertEqual(text2, text1, "the replay's text differs")
        self.assertEqual(self.server.snapshot(), snap,
                         "the replayed request changed stored data")
        self.assertEqual(len(self.conv_messages(conv)), 2)
        # a new client_id is a new turn
        _, ev3 = self.server.turn(conv, token, "I need help soon.",
                                  client_id="cid-2")
        self.check_turn_stream(ev3, want_turn=2)
        self.assertEqual(len(self.conv_messages(conv)), 4)
        # and the first one still replays turn 1
        _, ev4 = self.server.turn(conv, token, "whatever", client_id="cid-1")
        t4, text4 = self.check_turn_stream(ev4, want_turn=1)
        self.assertEqual((t4, text4), (t1, text1))
        self.assertEqual(len(self.conv_messages(conv)), 4)

    def test_get_conversation_messages_oldest_first(self):
        conv, token = self.server.create_conversation()
        texts = ["Hello, I am Maria Lopez.", "My email is maria@example.com",
                 "It is about a divorce."]
        ids = []
        for i, text in enumerate(texts, 1):
            _, ev = self.server.turn(conv, token, text)
            t, reply = self.check_turn_stream(ev, want_turn=i)
            ids.append((t["user_message_id"], "user", i, text))
            ids.append((t["assistant_message_id"], "assistant", i, reply))
        got = self.server.get_conversation(conv, token)
        self.assertEqual(set(got), {"id", "messages"})
        msgs = got["messages"]
        for m in msgs:
            self.assertEqual(set(m), {"id", "role", "turn", "text", "status"},
                             m)
            self.assertIsInstance(m["id"], str)
            self.assertIsInstance(m["turn"], int)
            self.assertEqual(m["status"], "complete")
        self.assertEqual([(m["id"], m["role"], m["turn"], m["text"])
                          for m in msgs], ids)
        # another conversation's token does not open it
        status, headers, body = self.server.call(
            "GET", "/api/conversations/%s" % conv, None,
            self.server.auth(self.token))
        self.check_error(status, headers, body, 401, "unauthorized")

    # ---- errors: each leaves the database as it was
    def assert_refused(self, want_status, want_code, body=None, headers=None,
                       path=None, method="POST", token=True, conv=None,
                       content_type="application/json", **kw):
        conv = conv or self.conv
        h = self.server.auth(self.token) if token is True else (
            self.server.auth(token) if token else {})
        if headers:
            h.update(headers)
        path = path or "/api/conversations/%s/messages" % conv
        before = self.server.snapshot()
        status, rh, rb = self.server.call(method, path, body, h,
                                          content_type=content_type, **kw)
        self.check_error(status, rh, rb, want_status, want_code)
        self.assertEqual(self.server.snapshot(), before,
                         "a refused request changed stored data")
        return rh

    def test_error_malformed_json(self):
        self.assert_refused(400, "bad_request", b'{"text": "hello"')
        self.assert_refused(400, "bad_request", b'{"text": "a", "text": "b"}')
        self.assert_refused(400, "bad_request", b'["text"]')
        self.assert_refused(400, "bad_request", b'')

    def test_error_missing_text(self):
        self.assert_refused(400, "bad_request", b'{"client_id": "x"}')
        self.assert_refused(400, "bad_request", b'{}')

    def test_error_empty_text(self):
        self.assert_refused(400, "bad_request", b'{"text": ""}')
        self.assert_refused(400, "bad_request", b'{"text": "   "}')
        self.assert_refused(400, "bad_request", b'{"text": " \\n\\t "}')

    def test_error_text_not_string(self):
        for body in (b'{"text": 5}', b'{"text": null}', b'{"text": ["a"]}',
                     b'{"text": {"a": 1}}', b'{"text": true}'):
            self.assert_refused(400, "bad_request", body)

    def test_error_invalid_utf8(self):
        self.assert_refused(400, "bad_request", b'{"text": "abc\xff\xfe"}')
        self.assert_refused(400, "bad_request", b'{"text": "\xc3"}')
        # an encoded surrogate (CESU) is not UTF-8 either
        self.assert_refused(400, "bad_request", b'{"text": "\xed\xa0\x80"}')

    def test_error_wrong_content_type(self):
        self.assert_refused(415, "unsupported_media_type",
                            b'{"text": "hello"}', content_type="text/plain")
        self.assert_refused(415, "unsupported_media_type",
                            b'{"text": "hello"}', content_type=None)

    def test_error_body_too_large(self):
        pad = 65537 - len(b'{"text": ""}')
        body = b'{"text": "' + b"a" * pad + b'"}'
        self.assertEqual(len(body), 65537)
        self.assert_refused(413, "too_large", body)

    def test_error_text_too_long(self):
        self.assert_refused(413, "too_large", {"text": "a" * 8001})
        self.assert_refused(413, "too_large", {"text": "é" * 8001})

    def test_text_of_8000_multibyte_characters_accepted(self):
        conv, token = self.server.create_conversation()
        text = "é" * 8000
        _, ev = self.server.turn(conv, token, text)
        t, _ = self.check_turn_stream(ev, want_turn=1)
        row = self.msg_row(t["user_message_id"])
        self.assertEqual(row["text"], text)

    def test_error_client_id_too_long(self):
        self.assert_refused(400, "bad_request",
                            {"text": "hello", "client_id": "c" * 65})
        self.assert_refused(400, "bad_request",
                            {"text": "hello", "client_id": 12})
        # 64 is allowed
        conv, token = self.server.create_conversation()
        _, ev = self.server.turn(conv, token, "hello", client_id="c" * 64)
        self.check_turn_stream(ev, want_turn=1)
        rows = self.conv_messages(conv)
        self.assertEqual(rows[0]["client_id"], "c" * 64)

    def test_error_no_authorization(self):
        self.assert_refused(401, "unauthorized", {"text": "hello"},
                            token=None)
        self.assert_refused(401, "unauthorized", {"text": "hello"},
                            token=None, headers={"Authorization": "Basic eDp5"})

    def test_error_wrong_token(self):
        self.assert_refused(401, "unauthorized", {"text": "hello"},
                            token="x" + self.token[1:])
        self.assert_refused(401, "unauthorized", {"text": "hello"},
                            token=self.token + "x")
        other, other_token = self.server.create_conversation()
        self.assert_refused(401, "unauthorized", {"text": "hello"},
                            token=other_token)

    def test_error_unknown_conversation(self):
        self.assert_refused(404, "not_found", {"text": "hello"},
                            conv="AAAAAAAAAAAAAAAAAAAAAA")
        status, h, b = self.server.call(
            "GET", "/api/conversations/AAAAAAAAAAAAAAAAAAAAAA", None,
            self.server.auth(self.token))
        self.check_error(status, h, b, 404, "not_found")

    def test_error_unknown_path(self):
        status, h, b = self.server.call("GET", "/api/nope")
        self.check_error(status, h, b, 404, "not_found")
        self.assert_refused(404, "not_found", None, method="GET",
                            path="/api/conversations/%s/nope" % self.conv,
                            content_type=None)

    def test_error_method_not_allowed(self):
        rh = self.assert_refused(405, "method_not_allowed", None,
                                 method="DELETE", path="/api/conversations",
                                 content_type=None, token=None)
        self.assertIn("POST", rh.get("allow", ""), "Allow header: %r" % rh)
        self.assert_refused(405, "method_not_allowed", None, method="GET",
                            path="/api/conversations/%s/messages" % self.conv,
                            content_type=None)

    # ---- the events endpoint, on finished replies
    def test_events_204_without_reply(self):
        conv, token = self.server.create_conversation()
        r = self.server.events(conv, query_token=token)
        self.addCleanup(r.close)
        body = r.read_body()
        self.assertEqual(r.status, 204, body)
        self.assertEqual(body, b"")

    def test_events_auth(self):
        for kw, want in (({}, 401), ({"query_token": "nope"}, 401),
                         ({"token": "nope"}, 401)):
            r = self.server.events(self.conv, **kw)
            self.addCleanup(r.close)
            self.check_error(r.status, r.headers, r.read_body(), want,
                             "unauthorized")
        r = self.server.events("AAAAAAAAAAAAAAAAAAAAAA", query_token="x")
        self.addCleanup(r.close)
        self.check_error(r.status, r.headers, r.read_body(), 404, "not_found")
        # both ways of giving the token work
        for kw in ({"token": self.token}, {"query_token": self.token}):
            r = self.server.events(self.conv, **kw)
            self.addCleanup(r.close)
            self.assertEqual(r.status, 200)
            self.check_turn_stream(collect(r), want_turn=1)

    def test_events_replay_from_offset(self):
        conv, token = self.server.create_conversation()
        _, ev = self.server.turn(conv, token, NAME_TEXT)
        t, text = self.check_turn_stream(ev, want_turn=1)
        raw = text.encode("utf-8")

        def replay(**kw):
            r = self.server.events(conv, **kw)
            self.addCleanup(r.close)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers.get("content-type", "").startswith(
                "text/event-stream"))
            self.assertEqual(r.headers.get("cache-control"), "no-cache")
            evs = collect(r)
            names = [e.event for e in evs]
            self.assertEqual(names[0], "turn", names)
            self.assertEqual(evs[0].data, t)
            self.assertEqual(evs[-1].event, "done", names)
            self.assertEqual(evs[-1].data, {"status": "complete"})
            deltas = [e for e in evs if e.event == "delta"]
            self.assertEqual(len(deltas), len(evs) - 2, names)
            for d in deltas:
                self.assertTrue(d.data["text"], "an empty delta")
            if deltas:
                self.assertEqual(deltas[-1].id, str(len(raw)))
            return delta_text(evs)

        self.assertEqual(replay(query_token=token), text)
        n = 10
        self.assertEqual(replay(query_token=token, offset=n),
                         raw[n:].decode("utf-8"))
        self.assertEqual(replay(token=token, last_event_id=n),
                         raw[n:].decode("utf-8"))
        # Last-Event-ID wins over ?offset=
        self.assertEqual(replay(token=token, last_event_id=n, offset=3),
                         raw[n:].decode("utf-8"))
        self.assertEqual(replay(token=token, offset=len(raw)), "")
        # inside a multi-byte character: rounded down to its start
        i = next((k for k, b in enumerate(raw) if b >= 0xc0), None)
        self.assertIsNotNone(i, "the reply has no multi-byte character "
                             "(it should greet the visitor by name 'Zoë'): "
                             "%r" % text)
        self.assertEqual(replay(token=token, last_event_id=i + 1),
                         raw[i:].decode("utf-8"))

    def test_cancel_with_nothing_streaming(self):
        before = self.server.snapshot()
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % self.conv, None,
            self.server.auth(self.token))
        self.check_error(status, h, b, 409, "not_streaming")
        self.assertEqual(self.server.snapshot(), before)
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % self.conv)
        self.check_error(status, h, b, 401, "unauthorized")


def plant_orphan(db_path, heartbeat_ms_ago, partial):
    """Straight into the database, before the server runs: a conversation
    whose turn 1 reply is 'streaming', owned by a pid that has exited.
    Returns (conversation id, token, assistant message id)."""
    conv = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    token = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    pid = dead_pid()
    now_ms = int(time.time() * 1000)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    c = connect(db_path)
    try:
        with c:
            c.execute("INSERT INTO conversations (id, token, created_at, "
                      "updated_at) VALUES (?, ?, ?, ?)", (conv, token, ts, ts))
            c.execute("INSERT INTO messages (conversation_id, turn, role, "
                      "status, text, length, created_at, updated_at) "
                      "VALUES (?, 1, 'user', 'complete', 'Hello there', 11, "
                      "?, ?)", (conv, ts, ts))
            cur = c.execute(
                "INSERT INTO messages (conversation_id, turn, role, status, "
                "text, length, owner_pid, owner_start, heartbeat_at, "
                "created_at, updated_at) VALUES (?, 1, 'assistant', "
                "'streaming', '', ?, ?, 0, ?, ?, ?)",
                (conv, len(partial.encode()), pid, now_ms - heartbeat_ms_ago,
                 ts, ts))
            mid = cur.lastrowid
            c.execute("INSERT INTO message_parts (message_id, offset, text) "
                      "VALUES (?, 0, ?)", (mid, partial))
    finally:
        c.close()
    return conv, token, mid


def plant_dead_job(db_path):
    """A conversation whose turn 1 extraction job is 'running' under a
    pid that has exited (a killed extractor).  Returns the job id."""
    conv = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    c = connect(db_path)
    try:
        with c:
            c.execute("INSERT INTO conversations (id, token, created_at, "
                      "updated_at) VALUES (?, 't', ?, ?)", (conv, ts, ts))
            cur = c.execute(
                "INSERT INTO jobs (conversation_id, turn, state, pid, "
                "pid_start, claimed_at, tries, created_at, updated_at) "
                "VALUES (?, 1, 'running', ?, 0, ?, 1, ?, ?)",
                (conv, dead_pid(), int(time.time() * 1000), ts, ts))
            return cur.lastrowid
    finally:
        c.close()


class InterruptedTests(Checks, ServerTestCase):
    """A reply whose writer died is marked interrupted by whoever reads it.
    The orphans are planted before the server starts (see
    SharedDatabaseTests for why not while it runs)."""
    word_delay_ms = 5
    server_env = {"INTAKE_MAX_EXTRACTORS": "1"}
    PARTIAL = "Partial reply, cut"

    @classmethod
    def before_start(cls, srv):
        # old heartbeat, dead owner: found by GET conversation
        cls.old = plant_orphan(srv.db_path, 10 * 60 * 1000, cls.PARTIAL)
        # fresh heartbeat, dead owner: found by the events endpoint
        cls.fresh = plant_orphan(srv.db_path, 0, cls.PARTIAL)
        # fresh heartbeat, dead owner: found first by a new message
        cls.by_post = plant_orphan(srv.db_path, 0, cls.PARTIAL)
        # fresh heartbeat, dead owner: found first by a cancel
        cls.by_cancel = plant_orphan(srv.db_path, 0, cls.PARTIAL)
        # a dead extractor's job holding every slot of the cap (1)
        cls.dead_job = plant_dead_job(srv.db_path)

    def test_cancel_with_dead_writer_is_409(self):
        """Nothing streams when the writer is gone: 409 not_streaming,
        and the reply is marked interrupted, not cancelled."""
        conv, token, mid = self.by_cancel
        status, _, body = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, b"{}",
            dict(self.server.auth(token),
                 **{"Content-Type": "application/json"}))
        self.assertEqual(status, 409, body)
        self.assertIn(b"not_streaming", body)
        row = self.msg_row(mid)
        self.assertEqual((row["status"], row["text"]),
                         ("interrupted", self.PARTIAL))

    def test_dead_extractor_does_not_hold_the_cap(self):
        """With the only slot held by a dead extractor's job and no sweep,
        a new turn's extraction still runs (the slot is reclaimed)."""
        conv, token = self.server.create_conversation()
        r, events = self.server.turn(conv, token, "My number is "
                                     "555-201-3344.")
        self.assertEqual(events[-1].event, "done")

        def landed():
            return self.server.query(
                "SELECT count(*) FROM lead_fields WHERE conversation_id = ? "
                "AND field = 'phone'", (conv,))[0][0] == 1
        self.server.wait_for(landed, timeout=15, what="the extraction")
        job = self.server.query("SELECT state FROM jobs WHERE id = ?",
                                (self.dead_job,))[0]
        self.assertNotEqual(job["state"], "running",
                            "the dead extractor's job still holds its slot")

    def test_interrupted_reply(self):
        # The program's own check may have marked it already (see
        # UnattendedTests); either way a reader sees it interrupted.
        conv, token, mid = self.old
        got = self.server.get_conversation(conv, token)
        msgs = got["messages"]
        self.assertEqual(len(msgs), 2, msgs)
        self.assertEqual(msgs[1]["id"], str(mid))
        self.assertEqual(msgs[1]["status"], "interrupted", msgs[1])
        self.assertEqual(msgs[1]["text"], self.PARTIAL,
                         "partial text not kept")
        row = self.msg_row(mid)
        self.assertEqual(row["status"], "interrupted")
        self.assertEqual(row["text"], self.PARTIAL)
        # a new message is taken (not 409) as turn 2
        r = self.server.post_message(conv, token, "Are you there?")
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200, r.read_body()[:300]
                         if r.status != 200 else "")
        self.check_turn_stream(collect(r), want_turn=2)

    def test_interrupted_reply_seen_by_events(self):
        conv, token, mid = self.fresh
        r = self.server.events(conv, query_token=token)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        evs = collect(r)
        self.assertEqual([e.event for e in evs], ["turn", "delta", "error"],
                         evs)
        self.assertEqual(evs[0].data["assistant_message_id"], str(mid))
        self.assertEqual(evs[0].data["turn"], 1)
        self.assertEqual(evs[1].data["text"], self.PARTIAL)
        self.assertEqual(evs[1].id, str(len(self.PARTIAL.encode())))
        self.assertEqual(evs[-1].data.get("status"), "interrupted", evs[-1])
        self.assertIsInstance(evs[-1].data.get("message"), str)
        self.assertEqual(self.msg_row(mid)["status"], "interrupted")

    def test_interrupted_reply_found_by_new_message(self):
        conv, token, mid = self.by_post
        r = self.server.post_message(conv, token, "Hello again")
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200, r.read_body()[:300]
                         if r.status != 200 else "")
        self.check_turn_stream(collect(r), want_turn=2)
        row = self.msg_row(mid)
        self.assertEqual((row["status"], row["text"]),
                         ("interrupted", self.PARTIAL))


class UnattendedTests(Checks, ServerTestCase):
    """A writer killed mid-reply leaves its reply streaming and its turn's
    extraction pending.  Nobody reads it, no cron runs: the long-lived
    program's own check finishes both."""
    word_delay_ms = 5

    def test_killed_writer_finished_without_a_reader(self):
        conv = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                           time.gmtime(time.time() - 60))
        now_ms = int(time.time() * 1000)
        c = connect(self.server.db_path)
        try:
            with c:
                c.execute("INSERT INTO conversations (id, token, "
                          "created_at, updated_at) VALUES (?, 't', ?, ?)",
                          (conv, ts, ts))
                c.execute("INSERT INTO messages (conversation_id, turn, "
                          "role, status, text, length, created_at, "
                          "updated_at) VALUES (?, 1, 'user', 'complete', "
                          "'Call me at 555-201-3344.', 24, ?, ?)",
                          (conv, ts, ts))
                cur = c.execute(
                    "INSERT INTO messages (conversation_id, turn, role, "
                    "status, text, length, owner_pid, owner_start, "
                    "heartbeat_at, created_at, updated_at) VALUES (?, 1, "
                    "'assistant', 'streaming', '', 7, ?, 0, ?, ?, ?)",
                    (conv, dead_pid(), now_ms, ts, ts))
                mid = cur.lastrowid
                c.execute("INSERT INTO message_parts (message_id, offset, "
                          "text) VALUES (?, 0, 'Thanks.')", (mid,))
                c.execute("INSERT INTO jobs (conversation_id, turn, state, "
                          "created_at, updated_at) VALUES (?, 1, "
                          "'pending', ?, ?)", (conv, ts, ts))
        finally:
            c.close()

        def finished():
            row = self.msg_row(mid)
            job = self.server.query("SELECT state FROM jobs WHERE "
                                    "conversation_id = ?", (conv,))[0]
            return row["status"] != "streaming" and job["state"] == "done"
        # No request at all from here on: the program's check (every few
        # seconds) must do it.  Generous: a loaded machine.
        self.server.wait_for(finished, timeout=60,
                             what="the reply marked and the job run")
        row = self.msg_row(mid)
        self.assertEqual((row["status"], row["text"]),
                         ("interrupted", "Thanks."))
        phone = self.server.query(
            "SELECT value FROM lead_fields WHERE conversation_id = ? AND "
            "field = 'phone'", (conv,))
        self.assertEqual(len(phone), 1, "the extraction did not run")


class SharedDatabaseTests(Checks, ServerTestCase):
    """The database is shared with other processes (the extractor, by
    design; an operator's sqlite3): one of them opening it read-write and
    closing it must not pull the WAL from under the server."""
    word_delay_ms = 5

    @sqlite_only("another process's SQLite connection and the -wal")
    def test_other_process_opening_db_loses_no_data(self):
        # Enough requests that several worker threads have opened the db.
        for _ in range(40):
            status, _, _ = self.server.call("GET", "/api/health")
            self.assertEqual(status, 200)
        conv, token = self.server.create_conversation()
        self.server.turn(conv, token, "Hello, I am Ann Lee.")
        # another process opens the database read-write, as the extractor
        # does, writes nothing, and closes it
        c = sqlite3.connect(self.server.db_path, timeout=10)
        c.execute("BEGIN IMMEDIATE")
        c.execute("SELECT count(*) FROM conversations").fetchone()
        c.execute("COMMIT")
        c.close()
        deleted = self.server.fcgi_deleted_files()
        conv2, token2 = self.server.create_conversation()
        _, ev = self.server.turn(conv2, token2, "Hello, I am Bob Stone.")
        t, text = self.check_turn_stream(ev, want_turn=1)
        seen = self.server.query("SELECT count(*) FROM conversations WHERE "
                                 "id IN (?, ?)", (conv, conv2))[0][0]
        rows = self.server.query("SELECT status, text FROM messages WHERE "
                                 "id = ?", (int(t["assistant_message_id"]),))
        problems = []
        if deleted:
            problems.append("the server holds deleted database files:\n  " +
                            "\n  ".join(deleted))
        if seen != 2:
            problems.append("%d of 2 conversations the server answered 201 "
                            "for are in the database file" % seen)
        if [tuple(r) for r in rows] != [("complete", text)]:
            problems.append("the finished reply is not in the database: %r"
                            % [tuple(r) for r in rows])
        if problems:
            self.fail("BUG (common/db.c db_open): db_open() does open(path, "
                      "O_RDWR|O_CREAT, 0600) then close(fd) on the database "
                      "file; in a process whose other threads already hold "
                      "SQLite connections to it, that close() drops all the "
                      "process's POSIX locks on the file (sqlite.org/"
                      "howtocorrupt.html 2.2). The next other process to "
                      "close a connection (the extractor, after every turn) "
                      "then gets the EXCLUSIVE lock, checkpoints and deletes "
                      "-wal/-shm, and the server goes on writing into "
                      "deleted files: data answered 201/200 is lost, later "
                      "requests fail 503 ('disk I/O error', 'database disk "
                      "image is malformed').\n" + "\n".join(problems))


class SpreadTests(Checks, ServerTestCase):
    """The reply is streamed word by word, not held back until the end."""
    word_delay_ms = 25

    def test_deltas_spread_over_time(self):
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        events = collect(r)
        self.check_turn_stream(events, want_turn=1)
        deltas = [e for e in events if e.event == "delta"]
        self.assertGreaterEqual(len(deltas), 5)
        spread = deltas[-1].t - deltas[0].t
        self.assertGreater(spread, 0.100, "deltas arrived within %.3f s: "
                           "buffered, not streamed" % spread)
        # and they came in many separate arrivals, the first well before
        # the end of the response
        self.assertGreaterEqual(len({round(d.t, 3) for d in deltas}),
                                len(deltas) // 2,
                                "deltas arrived in a few bursts")
        self.assertGreater(r.t_end - deltas[0].t, 0.100)


class SlowTests(Checks, ServerTestCase):
    """Replies that take well over a second (50 ms a word)."""
    word_delay_ms = 50
    # test_many_followers_at_once opens forty followers of one reply from
    # one address: more than the stream caps let through (test_attack.py
    # tests those).
    server_env = {"INTAKE_MAX_STREAMS_PER_ADDR": "0",
                  "INTAKE_MAX_FOLLOWS_PER_CONV": "0"}

    def first_events(self, r, n_deltas=1):
        """Read events up to the n-th delta; the list."""
        out = []
        it = read_events(r)
        for ev in it:
            out.append(ev)
            if sum(e.event == "delta" for e in out) >= n_deltas:
                break
            self.assertNotIn(ev.event, ("done", "error"),
                             "the reply ended before %d deltas" % n_deltas)
        self.assertEqual(out[0].event, "turn")
        return out, it

    def test_second_message_while_streaming_is_409(self):
        conv, token = self.server.create_conversation()
        r1 = self.start_turn(conv, token, NAME_TEXT)
        head, it = self.first_events(r1, 2)
        rows_before = [(m["id"], m["role"], m["turn"], m["client_id"])
                       for m in self.conv_messages(conv)]
        self.assertEqual(len(rows_before), 2)
        t_ask = time.monotonic()
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/messages" % conv,
            {"text": "Are you there?", "client_id": "busy-1"},
            self.server.auth(token))
        t_answer = time.monotonic()
        self.check_error(status, h, b, 409, "turn_in_progress")
        rows_after = [(m["id"], m["role"], m["turn"], m["client_id"])
                      for m in self.conv_messages(conv)]
        self.assertEqual(rows_after, rows_before,
                         "the refused message changed the messages")
        self.assertEqual(self.msg_row(head[0].data["assistant_message_id"])
                         ["status"], "streaming")
        rest = list(it)
        events = head + rest
        self.check_turn_stream(events, want_turn=1)
        self.assertGreater(events[-1].t, t_answer,
                           "the first reply was over before the 409")
        self.assertLess(t_ask, events[-1].t)
        # the refused client_id was not recorded: sent again, a new turn
        _, ev2 = self.server.turn(conv, token, "Are you there?",
                                  client_id="busy-1")
        self.check_turn_stream(ev2, want_turn=2)

    def test_cancel_while_streaming(self):
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        head, it = self.first_events(r, 1)
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, None,
            self.server.auth(token))
        t_cancel = time.monotonic()
        self.assertEqual(status, 202, b)
        self.assertTrue(h.get("content-type", "").startswith(
            "application/json"), h)
        self.assertEqual(json.loads(b), {"status": "cancelling"})
        events = head + list(it)
        t, text = self.check_turn_stream(events, want_turn=1,
                                         want_status="cancelled")
        self.assertLess(events[-1].t - t_cancel, 2.0,
                        "done came %.2f s after the cancel" %
                        (events[-1].t - t_cancel))
        self.assertLess(r.t_eof - events[-1].t, 1.0)
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual(row["status"], "cancelled")
        self.assertEqual(row["text"], text, "partial text not kept as sent")
        self.assertTrue(text, "no partial text")
        got = self.server.get_conversation(conv, token)["messages"]
        self.assertEqual((got[1]["status"], got[1]["text"]),
                         ("cancelled", text))
        # nothing streams now
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, None,
            self.server.auth(token))
        self.check_error(status, h, b, 409, "not_streaming")
        # a full reply is longer than the cancelled one
        conv2, token2 = self.server.create_conversation()
        _, full_ev = self.server.turn(conv2, token2, NAME_TEXT)
        _, full = self.check_turn_stream(full_ev, want_turn=1)
        self.assertTrue(full.startswith(text) and len(full) > len(text),
                        "cancelled %r vs full %r" % (text, full))

    def test_many_followers_at_once(self):
        """Forty followers of one streaming reply each get it whole, in
        order, equal to the stored text, and the server stays healthy."""
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        head, it = self.first_events(r, 1)
        n = 40
        boxes = [{} for _ in range(n)]

        def follow(box):
            try:
                f = self.server.events(conv, query_token=token)
                box["status"] = f.status
                box["events"] = collect(f)
                f.close()
            except Exception as e:          # reported below
                box["error"] = e

        ths = [threading.Thread(target=follow, args=(b,), daemon=True)
               for b in boxes]
        for th in ths:
            th.start()
        events = head + list(it)
        for th in ths:
            th.join(30)
        t, text = self.check_turn_stream(events, want_turn=1)
        for i, b in enumerate(boxes):
            self.assertNotIn("error", b, "follower %d: %r" % (
                i, b.get("error")))
            self.assertEqual(b["status"], 200, "follower %d" % i)
            ft, ftext = self.check_turn_stream(b["events"], want_turn=1)
            self.assertEqual(ftext, text, "follower %d read another text" % i)
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual((row["status"], row["text"]), ("complete", text))
        status, _, _ = self.server.call("GET", "/api/health")
        self.assertEqual(status, 200)

    def test_events_follow_a_streaming_reply(self):
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        head, it = self.first_events(r, 1)
        box = {}

        def drain():
            try:
                box["events"] = head + list(it)
            except Exception as e:          # reported below
                box["error"] = e

        th = threading.Thread(target=drain, daemon=True)
        th.start()
        f = self.server.events(conv, query_token=token)
        self.addCleanup(f.close)
        self.assertEqual(f.status, 200)
        self.assertTrue(f.headers.get("content-type", "").startswith(
            "text/event-stream"))
        fev = collect(f)
        th.join(20)
        self.assertFalse(th.is_alive(), "the turn did not end")
        self.assertNotIn("error", box, box.get("error"))
        t, text = self.check_turn_stream(box["events"], want_turn=1)
        ft, ftext = self.check_turn_stream(fev, want_turn=1)
        self.assertEqual(ft, t)
        self.assertEqual(ftext, text, "the follower read another text")
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual((row["status"], row["text"]), ("complete", text))
        fdeltas = [e for e in fev if e.event == "delta"]
        self.assertGreaterEqual(len(fdeltas), 2, "the follower did not "
                                "follow the reply as it grew")
        self.assertLess(fdeltas[0].t, box["events"][-1].t,
                        "the follower saw nothing before the reply ended")

    def test_client_id_replay_while_streaming(self):
        conv, token = self.server.create_conversation()
        r1 = self.start_turn(conv, token, NAME_TEXT, client_id="live-1")
        head, it = self.first_events(r1, 2)
        n_rows = len(self.conv_messages(conv))
        # the same client_id while the reply is still being written: no
        # 409 and no new turn, the same reply followed to its end
        r2 = self.server.post_message(conv, token, NAME_TEXT,
                                      client_id="live-1")
        self.addCleanup(r2.close)
        self.assertEqual(r2.status, 200, r2.read_body()[:300]
                         if r2.status != 200 else "")
        self.assertEqual(self.msg_row(head[0].data["assistant_message_id"])
                         ["status"], "streaming",
                         "the reply was over before the replay started")
        ev2 = collect(r2)
        ev1 = head + list(it)
        t1, text1 = self.check_turn_stream(ev1, want_turn=1)
        t2, text2 = self.check_turn_stream(ev2, want_turn=1)
        self.assertEqual(t2, t1)
        self.assertEqual(text2, text1)
        self.assertEqual(len(self.conv_messages(conv)), n_rows)

    def test_events_resume_from_last_event_id_while_streaming(self):
        """A client that saw deltas up to byte N (the POST's own stream is
        ahead of the periodic saves) resumes with Last-Event-ID: N: it must
        get the bytes after N, none it already has."""
        conv, token = self.server.create_conversation()
        r = self.start_turn(conv, token, NAME_TEXT)
        it = read_events(r)
        seen = [next(it)]
        self.assertEqual(seen[0].event, "turn")
        mid = int(seen[0].data["assistant_message_id"])

        def saved():
            return self.server.query("SELECT length FROM messages WHERE "
                                     "id = ?", (mid,))[0][0]

        last_saved = saved()
        resume = None
        for ev in it:
            seen.append(ev)
            self.assertEqual(ev.event, "delta", "the reply ended before a "
                             "save could be observed")
            now_saved = saved()
            if now_saved != last_saved and int(ev.id) >= now_saved:
                # a save just happened; the next one is ~250 ms away, so
                # the next delta is sent but not yet saved
                nxt = next(it)
                seen.append(nxt)
                self.assertEqual(nxt.event, "delta")
                resume = int(nxt.id)
                break
            last_saved = now_saved
        self.assertIsNotNone(resume)
        saved_at_resume = saved()
        f = self.server.events(conv, token=token, last_event_id=resume)
        self.addCleanup(f.close)
        self.assertEqual(f.status, 200)
        fev = collect(f)
        events = seen + list(it)
        t, text = self.check_turn_stream(events, want_turn=1)
        raw = text.encode("utf-8")
        self.assertEqual(fev[0].event, "turn")
        self.assertEqual(fev[0].data, t)
        self.assertEqual(fev[-1].data, {"status": "complete"})
        got = delta_text(fev).encode("utf-8")
        self.assertEqual(got, raw[resume:],
                         "BUG (cgi/follow.c follow_reply): resumed with "
                         "Last-Event-ID: %d while %d bytes were saved; the "
                         "follower sent %d bytes starting %r (ids %s) "
                         "instead of the %d after byte %d, starting %r: "
                         "the offset is clamped to the saved length, so "
                         "bytes the client already has are sent again" % (
                             resume, saved_at_resume, len(got), got[:30],
                             [e.id for e in fev[1:-1]][:4], len(raw) - resume,
                             resume, raw[resume:resume + 30]))
        pos = resume
        for e in fev[1:-1]:
            pos += len(e.data["text"].encode("utf-8"))
            self.assertEqual(e.id, str(pos), "follower delta ids do not "
                             "count on from Last-Event-ID %d" % resume)

    def test_client_disconnect_reply_is_finished(self):
        conv, token = self.server.create_conversation()
        ref_conv, ref_token = self.server.create_conversation()
        # the same first message elsewhere, read to its end: the full reply
        ref = self.start_turn(ref_conv, ref_token, NAME_TEXT)
        box = {}
        th = threading.Thread(target=lambda: box.setdefault(
            "events", collect(ref)), daemon=True)
        th.start()
        r = self.start_turn(conv, token, NAME_TEXT)
        head, _ = self.first_events(r, 1)
        r.close()
        got = delta_text(head)
        mid = head[0].data["assistant_message_id"]

        def final():
            row = self.msg_row(mid)
            return row if row["status"] != "streaming" else None

        row = self.server.wait_for(final, 15.0, 0.1, "the reply to be final")
        th.join(20)
        self.assertIn("events", box, "the reference turn did not end")
        _, full = self.check_turn_stream(box["events"], want_turn=1)
        self.assertEqual(row["status"], "complete")
        self.assertGreater(len(row["text"]), len(got),
                           "the reply stopped when the client left")
        self.assertTrue(row["text"].startswith(got))
        self.assertEqual(row["text"], full,
                         "the stored reply is not the whole reply")
        self.assertEqual(self.server.counts(conv)[2], 0)


if __name__ == "__main__":
    main("integration_turn")
