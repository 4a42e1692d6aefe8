"""test_servers.py: the same turn under every way the program is served:
lighttpd (mod_fastcgi), Apache mod_fcgid, Apache mod_proxy_fcgi with
intake.fcgi --listen, and plain CGI under Apache's mod_cgid.

    make test-build && BUILD=build/test python3 tests/integration/test_servers.py

Each server gets the mock provider (OpenAI protocol): chat replies stream
a word every 40 ms, and every model extraction takes 3 s, so a response
that waited on the extractor (or an extractor that held the response's
descriptor: the CGI stdout) would end seconds after its "done".

The last line printed is "integration_servers: N passed, N failed".
"""

import os
import secrets
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import ServerTestCase, collect, delta_text, main  # noqa: E402

ADMIN = "admin-" + secrets.token_urlsafe(18)
FIELDS = ("full_name", "phone", "email", "matter_type", "urgency", "summary")
REPLY = ("Thank you for telling me. May I have your full name and the best "
         "number to reach you, please?")
EXTRACT_MS = 3000
END_BOUND = 1.0         # generous: it is not a timing test


def setUpModule():
    harness.become_subreaper()


class TurnUnderServer(harness.MockProviderMixin):
    """Mixed into a ServerTestCase per server (cls.web_server)."""

    @classmethod
    def mock_setup(cls, mock):
        cls.reset_mock()
        return {
            "INTAKE_LLM_PROVIDER": "openai",
            "INTAKE_LLM_URL": mock.url,
            "INTAKE_LLM_API_KEY": "sk-test-servers",
            "INTAKE_ADMIN_TOKEN": ADMIN,
            "INTAKE_EXTRACT_TIMEOUT_MS": "10000",
        }

    @classmethod
    def reset_mock(cls, delay_ms=40):
        cls.mock.reset()
        cls.mock.set_default({"json": {
            "full_name": "Jane Doe", "phone": "555-123-4567", "email": None,
            "matter_type": "personal_injury", "urgency": "high",
            "summary": "Rear-ended on the highway."},
            "delay_total_ms": EXTRACT_MS, "when": {"stream": False}})
        cls.mock.push({"text": REPLY, "delay_ms": delay_ms,
                       "when": {"stream": True}})

    def setUp(self):
        super().setUp()
        self.reset_mock()

    def chat_script(self, delay_ms=40, n=1):
        for _ in range(n):
            self.mock.push({"text": REPLY, "delay_ms": delay_ms,
                            "when": {"stream": True}})

    def test_turn_streams_ends_at_once_and_extraction_lands(self):
        conv, token = self.server.create_conversation()
        r, events = self.server.turn(conv, token, "I was rear-ended on the "
                                     "highway, my name is Jane Doe.")
        names = [e.event for e in events]
        self.assertEqual(names[0], "turn", names)
        self.assertEqual(names[-1], "done", names)
        self.assertEqual(events[-1].data, {"status": "complete"})
        deltas = [e for e in events if e.event == "delta"]
        self.assertGreaterEqual(len(deltas), 5)
        # Streamed: the deltas arrive spread over the reply's length.
        self.assertGreater(deltas[-1].t - deltas[0].t, 0.2,
                           "deltas arrived all at once (buffered)")
        text = delta_text(events)
        self.assertEqual(text, REPLY)
        offset = 0
        for e in deltas:
            offset += len(e.data["text"].encode())
            self.assertEqual(int(e.id), offset)
        # The response ended at once after "done", extraction or not.
        self.assertLess(r.t_end - events[-1].t, END_BOUND,
                        "the response ended %.3f s after done" %
                        (r.t_end - events[-1].t))
        row = self.server.query(
            "SELECT text, status FROM messages WHERE conversation_id = ? "
            "AND role = 'assistant'", (conv,))[0]
        self.assertEqual((row["text"], row["status"]), (REPLY, "complete"))
        # And the model's extraction lands, seconds later.
        def landed():
            rows = self.server.query(
                "SELECT count(*) FROM extractions WHERE conversation_id = ? "
                "AND source = 'model' AND error IS NULL", (conv,))
            return rows[0][0] >= 1
        self.server.wait_for(landed, timeout=EXTRACT_MS / 1000 + 10,
                             what="the model extraction")
        status, _, body = self.server.call(
            "GET", "/api/leads/%s" % conv, None,
            {"Authorization": "Bearer " + ADMIN})
        self.assertEqual(status, 200, body)
        self.assertIn(b"+15551234567", body)

    def test_second_turn_right_after_done(self):
        self.chat_script(n=2)
        conv, token = self.server.create_conversation()
        r, events = self.server.turn(conv, token, "First message.")
        self.assertEqual(events[-1].event, "done")
        r2, events2 = self.server.turn(conv, token, "Second message.")
        self.assertEqual(events2[0].data["turn"], 2)
        self.assertEqual(events2[-1].event, "done")

    def test_409_while_streaming(self):
        self.mock.reset()
        self.mock.set_default({"json": {f: None for f in FIELDS},
                               "when": {"stream": False}})
        self.chat_script(delay_ms=80)
        conv, token = self.server.create_conversation()
        r = self.server.post_message(conv, token, "Tell me more.")
        first = None
        for e in harness.read_events(r):
            if e.event == "delta":
                first = e
                break
        self.assertIsNotNone(first)
        status, _, body = self.server.call(
            "POST", "/api/conversations/%s/messages" % conv,
            b'{"text":"again"}', dict(self.server.auth(token),
                                     **{"Content-Type": "application/json"}))
        self.assertEqual(status, 409, body)
        self.assertIn(b"turn_in_progress", body)
        rest = collect(r)
        r.close()
        self.assertEqual(rest[-1].event, "done")

    def test_client_leaves_reply_never_left_streaming(self):
        self.mock.reset()
        self.mock.set_default({"json": {f: None for f in FIELDS},
                               "when": {"stream": False}})
        self.chat_script(delay_ms=60)
        conv, token = self.server.create_conversation()
        r = self.server.post_message(conv, token, "Hello there.")
        for e in harness.read_events(r):
            if e.event == "delta":
                break
        r.close()
        # FastCGI reads the reply to its end; plain CGI may be stopped
        # by the server (SIGTERM) and saves what it had as interrupted.
        want = ("complete",) if self.web_server != "cgi" else \
            ("complete", "interrupted")

        def final():
            rows = self.server.query(
                "SELECT status, text FROM messages WHERE conversation_id = ? "
                "AND role = 'assistant'", (conv,))
            return rows and rows[0]["status"] != "streaming" and rows[0]
        row = self.server.wait_for(final, timeout=15,
                                   what="the reply to be final")
        self.assertIn(row["status"], want)
        if row["status"] == "complete":
            self.assertEqual(row["text"], REPLY)

    def test_cancel(self):
        self.mock.reset()
        self.mock.set_default({"json": {f: None for f in FIELDS},
                               "when": {"stream": False}})
        self.chat_script(delay_ms=150)
        conv, token = self.server.create_conversation()
        r = self.server.post_message(conv, token, "Hello.")
        for e in harness.read_events(r):
            if e.event == "delta":
                break
        status, _, body = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, b"{}",
            dict(self.server.auth(token),
                 **{"Content-Type": "application/json"}))
        self.assertEqual(status, 202, body)
        rest = collect(r)
        r.close()
        self.assertEqual(rest[-1].event, "done")
        self.assertEqual(rest[-1].data, {"status": "cancelled"})


class Lighttpd(TurnUnderServer, ServerTestCase):
    web_server = "lighttpd"


class ApacheFcgid(TurnUnderServer, ServerTestCase):
    web_server = "apache"


class ApacheProxyFcgi(TurnUnderServer, ServerTestCase):
    web_server = "apache-proxy"


class PlainCgi(TurnUnderServer, ServerTestCase):
    web_server = "cgi"


if __name__ == "__main__":
    main("integration_servers")
