"""test_provider.py: replies from a model provider (DESIGN.md, "Models",
"The streaming turn"), over HTTP, through the real lighttpd and the real
intake.fcgi, against tests/mock_provider.py speaking the OpenAI-compatible
and the Anthropic Messages protocols.

    make test-build && BUILD=build/test python3 tests/integration/test_provider.py

Every class runs once per protocol (a shared base, one TestCase class per
protocol).  Each class starts its own mock provider and its own server.
After each turn the program spawns the extractor, which makes a
non-streaming call to the same mock: chat scripts are pushed with
"when": {"stream": true}, the default script answers the extraction, and
the chat requests of a test are found by the visitor's text (unique per
test) as the last message of a streaming request.

The last line printed is "integration_provider: N passed, N failed".
"""

import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import harness  # noqa
from harness import (ServerTestCase, collect, delta_text, free_port,  # noqa
                     main, read_events)
from mock_provider import MockProvider, split_words  # noqa

KEY = "sk-test-SECRET-123"
FIRM = "Hartwell & Quince Legal"
MODEL = "mock-model-7"
FIELDS = ("full_name", "phone", "email", "matter_type", "urgency", "summary")
EXTRACT_DEFAULT = {"json": {f: None for f in FIELDS}}

FIRST_TOKEN_MS = 1500
GAP_MS = 1500
TOTAL_MS = 4000

REPLY = ("Thank you for getting in touch with us today. Could you tell me "
         "your full name and the best phone number to reach you?")
LONG_REPLY = " ".join("word%02d" % i for i in range(30))
PROMPT_TEMPLATE = ("PROMPT-FILE-7: you answer for {firm}. Ask calmly, one "
                   "thing at a time.\nSign every reply as {firm}.\n")


def base_env(proto, url):
    return {
        "INTAKE_LLM_PROVIDER": proto,
        "INTAKE_LLM_URL": url,
        "INTAKE_LLM_API_KEY": KEY,
        "INTAKE_LLM_MODEL": MODEL,
        "INTAKE_FIRM_NAME": FIRM,
        "INTAKE_CONNECT_TIMEOUT_MS": "2000",
        "INTAKE_FIRST_TOKEN_TIMEOUT_MS": str(FIRST_TOKEN_MS),
        "INTAKE_GAP_TIMEOUT_MS": str(GAP_MS),
        "INTAKE_TOTAL_TIMEOUT_MS": str(TOTAL_MS),
        "INTAKE_PING_MS": "500",
        "INTAKE_EXTRACT_TIMEOUT_MS": "3000",
    }


def chat(script):
    """A script for the streaming (chat) call only."""
    s = dict(script)
    s["when"] = {"stream": True}
    return s


def content_text(content):
    """A message's content as text (a string, or Anthropic's blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content
                       if isinstance(b, dict))
    return None


LOG_LINE = re.compile(r"^\S+ (\S+)\[\d+\] \w+: (.*)$")
PROGRAM = "intake.fcgi"


class ProviderChecks(harness.MockProviderMixin):
    """Helpers and assertions shared by every class (mixed into a
    ServerTestCase; cls.proto is "openai" or "anthropic")."""

    proto = None
    mock = None

    @classmethod
    def make_env(cls, url):
        return base_env(cls.proto, url)

    @classmethod
    def mock_setup(cls, mock):
        mock.set_default(EXTRACT_DEFAULT)
        return cls.make_env(mock.url)

    def setUp(self):
        super().setUp()
        self.mock.reset()
        self.mock.set_default(EXTRACT_DEFAULT)
        self.mark_log()

    def mark_log(self):
        """Remember where the logs end: new_log() is what comes after."""
        self.log_offsets = {}
        for p in (self.server.errlog, self.server.outlog):
            try:
                self.log_offsets[p] = os.path.getsize(p)
            except OSError:
                self.log_offsets[p] = 0

    # ---- text that is unique to a test
    def words(self, what="hello"):
        return "%s ref %s" % (what, uuid.uuid4().hex[:12])

    # ---- the log
    def new_log(self):
        """What the logs got since setUp."""
        out = []
        for p, off in self.log_offsets.items():
            try:
                with open(p, "rb") as f:
                    f.seek(off)
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                continue
        return "\n".join(out)

    def new_log_messages(self, prog=PROGRAM):
        """The program's log lines written since setUp, without their time
        and pid prefix (so a pid or a millisecond count matches no needle);
        lines of the extractor (another program) are left out."""
        out = []
        for line in self.new_log().splitlines():
            m = LOG_LINE.match(line)
            if m and m.group(1) == prog:
                out.append(m.group(2))
        return out

    def wait_log(self, pattern, conv=None, timeout=5.0):
        """A new log line of the program matching pattern (case-
        insensitive) and naming conv if given; bounded."""
        rx = re.compile(pattern, re.I)
        deadline = time.monotonic() + timeout
        while True:
            lines = self.new_log_messages()
            for line in lines:
                if rx.search(line) and (conv is None or conv in line):
                    return line
            if time.monotonic() > deadline:
                self.fail("no log line of %s matching %r%s; its new log "
                          "lines:\n%s" % (
                              PROGRAM, pattern, "" if conv is None else
                              " naming conversation " + conv,
                              "\n".join(lines[-20:])))
            time.sleep(0.05)

    def assert_key_not_in_log(self):
        """Not in what the logs got during this test (a leak in one test
        does not fail the next ones)."""
        log = self.new_log()
        self.assertNotIn(KEY, log, "the API key is in the log:\n%s" %
                         "\n".join(l for l in log.splitlines() if KEY in l))
        self.assertNotIn("SECRET-123", log,
                         "part of the API key is in the log")

    # ---- the mock's record
    def chat_requests(self, text):
        """Recorded streaming requests whose last message is (or, for
        Anthropic, ends with) text."""
        out = []
        for r in self.mock.requests():
            body = r.get("body")
            if not r.get("stream") or not isinstance(body, dict):
                continue
            msgs = body.get("messages")
            if not (isinstance(msgs, list) and msgs and
                    isinstance(msgs[-1], dict)):
                continue
            last = content_text(msgs[-1].get("content")) or ""
            # Anthropic joins neighbouring visitor messages (after a reply
            # that failed empty) into one: the text ends the last message
            if last == text or (self.proto == "anthropic" and
                                last.endswith("\n\n" + text)):
                out.append(r)
        return out

    def chat_request(self, text, finished=True, timeout=5.0):
        """The one streaming request of the turn whose message was text
        (waits until the mock has finished answering it)."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.chat_requests(text)
            if reqs and (not finished or reqs[0]["t_end"] is not None):
                break
            if time.monotonic() > deadline:
                self.fail("the mock saw no%s streaming request for %r "
                          "(requests: %s)" % (
                              " finished" if finished else "", text,
                              [(r["path"], r["stream"]) for r in
                               self.mock.requests()]))
            time.sleep(0.02)
        self.assertEqual(len(reqs), 1, "%d chat requests for one turn" %
                         len(reqs))
        return reqs[0]

    def sent_messages(self, req):
        """[(role, text)] of the request's messages, system apart:
        (system text, messages)."""
        body = req["body"]
        msgs = [(m.get("role"), content_text(m.get("content")))
                for m in body["messages"]]
        if self.proto == "openai":
            self.assertTrue(msgs and msgs[0][0] == "system",
                            "OpenAI: the first message is not the system "
                            "prompt: %r" % msgs[:1])
            self.assertNotIn("system", body, "OpenAI: a top-level system")
            return msgs[0][1], msgs[1:]
        self.assertNotIn("system", [r for r, _ in msgs],
                         "Anthropic: a message with role system")
        self.assertIsInstance(body.get("system"), str,
                              "Anthropic: no top-level system string")
        return body["system"], msgs

    # ---- turns
    def new_conv(self):
        return self.server.create_conversation()

    def turn(self, conv, token, text, headers=None):
        """POST a message and read the stream to its end: the events."""
        r = self.server.post_message(conv, token, text, headers=headers)
        self.addCleanup(r.close)
        if r.status != 200:
            self.fail("POST messages: want 200, got %d %r" %
                      (r.status, r.read_body()[:300]))
        self.assertTrue(r.content_type().startswith("text/event-stream"),
                        r.headers)
        events = collect(r)
        r.close()
        return events

    def check_stream(self, events, last):
        """turn first, only deltas between, last event named last; delta ids
        count the bytes.  Returns (turn data, text of the deltas)."""
        self.assertTrue(events, "no events")
        names = [e.event for e in events]
        self.assertEqual(names[0], "turn", names)
        self.assertEqual(names[-1], last, "events: %s, last data %r" % (
            names, events[-1].data))
        self.assertTrue(all(n == "delta" for n in names[1:-1]), names)
        total = 0
        for e in events[1:-1]:
            self.assertIsInstance(e.data.get("text"), str, e.data)
            total += len(e.data["text"].encode("utf-8"))
            self.assertEqual(e.id, str(total), "delta id")
        return events[0].data, delta_text(events)

    def check_complete(self, events, want_text):
        t, text = self.check_stream(events, "done")
        self.assertEqual(events[-1].data, {"status": "complete"})
        self.assertEqual(text, want_text, "the deltas are not the reply")
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual((row["status"], row["text"]),
                         ("complete", want_text), "the stored reply")
        return t

    def check_failed(self, events):
        """The stream ends with event: error and a plain message; the row
        is 'error' with the text the client received.  (turn, text)."""
        t, text = self.check_stream(events, "error")
        data = events[-1].data
        self.assertIsInstance(data, dict, data)
        self.assertEqual(set(data), {"status", "message"}, data)
        self.assertEqual(data["status"], "error", data)
        msg = data["message"]
        self.assertIsInstance(msg, str, data)
        self.assertTrue(msg.strip(), "an empty error message")
        self.assertLess(len(msg), 200, msg)
        for bad in ("HTTP", "curl", "sk-test", "SECRET", "{", "}"):
            self.assertNotIn(bad, msg, "the visitor is told internals: %r"
                             % msg)
        self.assertNotIn(KEY, events[-1].raw.decode("utf-8", "replace"))
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual(row["status"], "error", "stored status")
        self.assertEqual(row["text"], text,
                         "the stored text is not what the client received")
        self.assertEqual(row["length"], len(text.encode("utf-8")))
        self.assertEqual(row["error"], msg, "the stored error is not what "
                         "the visitor was told")
        return t, text

    def msg_row(self, msg_id):
        rows = self.server.query("SELECT * FROM messages WHERE id = ?",
                                 (int(msg_id),))
        self.assertEqual(len(rows), 1, "no message row %s" % msg_id)
        return rows[0]

    def next_turn_works(self, conv, token, failed_turn):
        """A next turn in the same conversation completes."""
        text = self.words("and now")
        reply = "All good again, %s." % uuid.uuid4().hex[:8]
        self.mock.push(chat({"text": reply}))
        events = self.turn(conv, token, text)
        t = self.check_complete(events, reply)
        self.assertEqual(t["turn"], failed_turn + 1)
        req = self.chat_request(text)
        self.assertEqual(req["outcome"], "complete")
        return t

    def assert_no_key(self, data, what):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        self.assertNotIn(KEY, data, "the API key is in %s" % what)
        self.assertNotIn("SECRET-123", data, "part of the key is in %s" %
                         what)


# --------------------------------------------------------------------------
# the main classes: one server per protocol, short timeouts

class ProviderTests(ProviderChecks):

    # ---- 1. a normal reply and the request's shape
    def test_normal_reply_and_request_shape(self):
        conv, token = self.new_conv()
        text1 = self.words("Hello, my name is Zoë Brontë")
        reply1 = REPLY + " (\"quoted\" — ünïcode) " + uuid.uuid4().hex[:6]
        self.mock.push(chat({"text": reply1, "delay_ms": 5}))
        events = self.turn(conv, token, text1)
        t1 = self.check_complete(events, reply1)
        self.assertEqual(t1["turn"], 1)
        self.assertGreaterEqual(sum(e.event == "delta" for e in events), 5,
                                "the reply was not streamed piece by piece")

        req = self.chat_request(text1)
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/v1/chat/completions"
                         if self.proto == "openai" else "/v1/messages")
        self.assertEqual(req["proto"], self.proto)
        self.assertEqual(req["outcome"], "complete")
        h = req["headers"]
        if self.proto == "openai":
            self.assertEqual(h.get("authorization"), "Bearer " + KEY, h)
            self.assertNotIn("x-api-key", h)
        else:
            self.assertEqual(h.get("x-api-key"), KEY, h)
            self.assertTrue(h.get("anthropic-version"), h)
            self.assertNotIn("authorization", h)
        self.assertTrue(h.get("content-type", "").startswith(
            "application/json"), h)
        body = req["body"]
        self.assertIs(body.get("stream"), True, body)
        self.assertEqual(body.get("model"), MODEL)
        if self.proto == "anthropic":
            self.assertIsInstance(body.get("max_tokens"), int)
        system, msgs = self.sent_messages(req)
        self.assertIn(FIRM, system, "the firm's name is not in the prompt")
        self.assertNotIn("{firm}", system)
        self.assertEqual(msgs, [("user", text1)])

        # GET shows the same
        got = self.server.get_conversation(conv, token)["messages"]
        self.assertEqual([(m["role"], m["turn"], m["text"], m["status"])
                          for m in got],
                         [("user", 1, text1, "complete"),
                          ("assistant", 1, reply1, "complete")])

        # the second turn carries the first one
        text2 = self.words("My phone is 202 555 0147")
        reply2 = "Thanks, noted. " + uuid.uuid4().hex[:6]
        self.mock.push(chat({"text": reply2}))
        events2 = self.turn(conv, token, text2)
        t2 = self.check_complete(events2, reply2)
        self.assertEqual(t2["turn"], 2)
        req2 = self.chat_request(text2)
        system2, msgs2 = self.sent_messages(req2)
        self.assertEqual(system2, system)
        self.assertEqual(msgs2, [("user", text1), ("assistant", reply1),
                                 ("user", text2)])
        self.assert_key_not_in_log()

    def test_connection_to_the_provider_is_kept(self):
        """Turns one after another reuse the connection a worker thread
        keeps: no new TCP (and, for a real provider, TLS) handshake
        before each first token."""
        conv, token = self.new_conv()
        n = 8
        for i in range(n):
            reply = "Noted %d. %s" % (i, uuid.uuid4().hex[:6])
            self.mock.push(chat({"text": reply}))
            self.check_complete(self.turn(conv, token, self.words(
                "Message number %d" % i)), reply)
        peers = [r["peer"] for r in self.mock.requests() if r["stream"]]
        self.assertEqual(len(peers), n, peers)
        self.assertLess(len(set(peers)), n, "a new connection for every "
                        "turn: %s" % peers)

    def test_extraction_call_is_not_streamed(self):
        """The extractor's call goes to the same provider, not streamed
        (this is what the chat scripts' "when" relies on)."""
        conv, token = self.new_conv()
        text = self.words("I am Jane Roe, jane.roe@example.com")
        self.mock.push(chat({"text": REPLY}))
        self.check_complete(self.turn(conv, token, text), REPLY)
        deadline = time.monotonic() + 10
        ex = []
        while time.monotonic() < deadline and not ex:
            ex = [r for r in self.mock.requests()
                  if not r["stream"] and r["t_end"] is not None and
                  text in json.dumps(r["body"], ensure_ascii=False)]
            time.sleep(0.05)
        self.assertTrue(ex, "no extraction call reached the provider")
        self.assertEqual(ex[0]["path"], self.chat_request(text)["path"])
        self.assertEqual(ex[0]["status"], 200)

    # ---- a NUL from the model: one text for every reader
    def test_nul_from_the_model_dropped_for_every_reader(self):
        """A provider's "\\u0000" is dropped where the stream is decoded:
        the stream, the stored row, GET and the follower's replay hold the
        same text, with no NUL (a C string would end there: GET used to
        show "Hello" while the follower replayed everything)."""
        conv, token = self.new_conv()
        text = self.words("Hi")
        sent = "Hello\u0000World, how can I \u0000help?\u0000"
        want = sent.replace("\u0000", "")
        self.mock.push(chat({"text": sent, "delay_ms": 2}))
        events = self.turn(conv, token, text)
        t, streamed = self.check_stream(events, "done")
        req = self.chat_request(text)
        self.assertEqual(req["outcome"], "complete")
        row = self.msg_row(t["assistant_message_id"])
        got = self.server.get_conversation(conv, token)["messages"]
        r = self.server.events(conv, token=token)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        replay = collect(r)
        r.close()
        self.assertEqual(replay[-1].event, "done", replay[-1:])
        replayed = delta_text(replay)
        readers = {"the stream": streamed, "the stored row": row["text"],
                   "GET": got[-1]["text"], "the follower": replayed}
        for who, txt in readers.items():
            self.assertNotIn("\x00", txt, "%s holds a NUL: %r" % (who, txt))
            self.assertEqual(txt, want, "%s: %r" % (who, txt))
        self.assertEqual(row["length"], len(want.encode("utf-8")))
        self.assertEqual(row["status"], "complete")

    # ---- 3. reasoning is never shown nor stored
    def test_reasoning_not_shown_nor_stored(self):
        conv, token = self.new_conv()
        text = self.words("Hi")
        secret = "PONDER-%s hidden chain of thought" % uuid.uuid4().hex[:6]
        self.mock.push(chat({"text": REPLY, "reasoning": secret,
                             "delay_ms": 2}))
        events = self.turn(conv, token, text)
        t = self.check_complete(events, REPLY)
        req = self.chat_request(text)
        self.assertEqual(req["outcome"], "complete")
        self.assertGreater(req["events_sent"], len(split_words(REPLY)),
                           "the mock sent no reasoning")
        for e in events:
            self.assertNotIn("PONDER", e.raw.decode("utf-8"),
                             "reasoning reached the client")
        row = self.msg_row(t["assistant_message_id"])
        self.assertNotIn("PONDER", row["text"])
        got = self.server.get_conversation(conv, token)
        self.assertNotIn("PONDER", json.dumps(got))

    # ---- 4. garbage between chunks
    def test_garbage_lines_ignored(self):
        conv, token = self.new_conv()
        text = self.words("Hi")
        garbage = [": a comment from a proxy",
                   "data: {this is not json",
                   "data: {\"unrelated\": true, \"choices\": \"no\"}",
                   "event: mystery\ndata: {\"type\":\"mystery\"}",
                   "retry: 1000",
                   "id: 42",
                   "just some words with no field at all",
                   "data: [1, 2, 3]"]
        self.mock.push(chat({"text": REPLY, "garbage": garbage}))
        events = self.turn(conv, token, text)
        self.check_complete(events, REPLY)
        req = self.chat_request(text)
        self.assertEqual(req.get("garbage_sent"), len(garbage),
                         "the mock did not send the garbage")
        self.next_turn_works(conv, token, 1)

    # ---- 5. failures
    def run_failure(self, script, log_pattern, want_text="",
                    upstream_closed=False):
        """A turn whose provider call fails as script says: the error event,
        the row, the log, and a next turn that works.  want_text: the
        partial text expected (a str), or a callable checking it."""
        conv, token = self.new_conv()
        text = self.words("Hello")
        self.mock.push(chat(script))
        t0 = time.monotonic()
        events = self.turn(conv, token, text)
        elapsed = time.monotonic() - t0
        t, got = self.check_failed(events)
        if callable(want_text):
            want_text(got)
        else:
            self.assertEqual(got, want_text, "partial text")
        req = self.chat_request(text, finished=upstream_closed, timeout=5.0)
        if upstream_closed:
            self.assertTrue(req["client_closed"], "the upstream transfer "
                            "was not closed after the failure: %r" %
                            req["outcome"])
        self.wait_log(log_pattern, conv)
        self.assert_key_not_in_log()
        self.next_turn_works(conv, token, t["turn"])
        return elapsed, got

    def test_fail_429(self):
        self.run_failure({"status": 429, "retry_after": 7}, r"\b429\b")

    def test_fail_500(self):
        self.run_failure({"status": 500}, r"\b500\b")

    def test_fail_401(self):
        self.run_failure({"status": 401}, r"\b401\b")

    def test_fail_first_token_timeout(self):
        elapsed, _ = self.run_failure(
            {"text": REPLY, "first_delay_ms": FIRST_TOKEN_MS + 2500},
            r"first token", upstream_closed=True)
        self.assertGreater(elapsed, FIRST_TOKEN_MS / 1000.0 - 0.1)
        self.assertLess(elapsed, FIRST_TOKEN_MS / 1000.0 + 1.5,
                        "the first-token timeout fired late")

    def test_fail_gap_mid_reply(self):
        chunks = split_words(REPLY)
        elapsed, _ = self.run_failure(
            {"text": REPLY, "hang_after": 2, "hang_ms": 30000},
            r"gap|no token for|mid-reply|stall", "".join(chunks[:2]),
            upstream_closed=True)
        self.assertGreater(elapsed, GAP_MS / 1000.0 - 0.1)
        self.assertLess(elapsed, GAP_MS / 1000.0 + 1.5,
                        "the gap timeout fired late")

    def test_fail_total_timeout(self):
        chunks = split_words(LONG_REPLY)

        def partial(got):
            self.assertTrue(got, "nothing received before the total timeout")
            self.assertTrue(LONG_REPLY.startswith(got), got)
            self.assertLess(len(got), len(LONG_REPLY))
            self.assertIn(got, ["".join(chunks[:i])
                                for i in range(1, len(chunks))])

        # 30 chunks 300 ms apart: 9 s, never a gap, over the total of 4 s
        elapsed, _ = self.run_failure(
            {"text": LONG_REPLY, "delay_ms": 300},
            r"total|not done within|too long", partial,
            upstream_closed=True)
        self.assertGreater(elapsed, TOTAL_MS / 1000.0 - 0.1)
        self.assertLess(elapsed, TOTAL_MS / 1000.0 + 1.5)

    def test_fail_dropped_connection(self):
        chunks = split_words(REPLY)
        self.run_failure({"text": REPLY, "drop_after": 3},
                         r"transfer|terminator|connection|closed|partial|"
                         r"dropped|lost", "".join(chunks[:3]))

    def test_fail_error_event_mid_stream(self):
        chunks = split_words(REPLY)
        self.run_failure({"text": REPLY, "error_after": 3,
                          "error_message": "Model melted down"},
                         r"mid-stream|melted down", "".join(chunks[:3]))

    # ---- 6. the visitor leaves
    def test_visitor_leaves_reply_completes(self):
        conv, token = self.new_conv()
        text = self.words("Hello")
        reply = " ".join("word%02d" % i for i in range(20))
        self.assertEqual(len(split_words(reply)), 20)
        self.mock.push(chat({"text": reply, "delay_ms": 100}))
        r = self.server.post_message(conv, token, text)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        head = []
        for ev in read_events(r):
            head.append(ev)
            if ev.event == "delta":
                break
        r.close()
        self.assertEqual([e.event for e in head], ["turn", "delta"])
        mid = head[0].data["assistant_message_id"]
        row = self.server.wait_for(
            lambda: (lambda x: x if x["status"] != "streaming" else None)(
                self.msg_row(mid)), 10.0, 0.05, "the reply to be final")
        self.assertEqual(row["status"], "complete")
        self.assertEqual(row["text"], reply, "the stored reply is not whole")
        req = self.chat_request(text)
        self.assertEqual(req["outcome"], "complete")
        self.assertFalse(req["client_closed"],
                         "the upstream call stopped when the visitor left")
        self.next_turn_works(conv, token, 1)

    # ---- 7. Stop
    def test_cancel_aborts_upstream(self):
        conv, token = self.new_conv()
        text = self.words("Hello")
        self.mock.push(chat({"text": LONG_REPLY, "delay_ms": 200}))
        r = self.server.post_message(conv, token, text)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        it = read_events(r)
        head = []
        for ev in it:
            head.append(ev)
            if ev.event == "delta":
                break
        self.assertEqual([e.event for e in head], ["turn", "delta"])
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, None,
            self.server.auth(token))
        t_cancel = time.monotonic()
        t_cancel_wall = time.time()
        self.assertEqual(status, 202, b)
        self.assertEqual(json.loads(b), {"status": "cancelling"})
        events = head + list(it)
        t, got = self.check_stream(events, "done")
        self.assertEqual(events[-1].data, {"status": "cancelled"})
        self.assertLess(events[-1].t - t_cancel, 2.0,
                        "done came %.2f s after the cancel" %
                        (events[-1].t - t_cancel))
        self.assertTrue(got and LONG_REPLY.startswith(got) and
                        len(got) < len(LONG_REPLY), got)
        row = self.msg_row(t["assistant_message_id"])
        self.assertEqual((row["status"], row["text"]), ("cancelled", got))
        req = self.chat_request(text, finished=True, timeout=3.0)
        self.assertTrue(req["client_closed"],
                        "the upstream transfer was not aborted (outcome %r)"
                        % req["outcome"])
        self.assertLess(req["t_end"] - t_cancel_wall, 1.5,
                        "the upstream transfer ended %.2f s after the cancel"
                        % (req["t_end"] - t_cancel_wall))
        # a stale cancel, after that reply ended
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, None,
            self.server.auth(token))
        self.assertEqual(status, 409, b)
        self.assertEqual(json.loads(b)["error"]["code"], "not_streaming")
        self.next_turn_works(conv, token, 1)

    def test_stale_cancel_after_complete_reply(self):
        conv, token = self.new_conv()
        text = self.words("Hello")
        self.mock.push(chat({"text": REPLY}))
        self.check_complete(self.turn(conv, token, text), REPLY)
        status, h, b = self.server.call(
            "POST", "/api/conversations/%s/cancel" % conv, None,
            self.server.auth(token))
        self.assertEqual(status, 409, b)
        self.assertEqual(json.loads(b)["error"]["code"], "not_streaming")
        # the next reply is slow enough for a leftover cancel to bite
        text2 = self.words("Next")
        reply2 = " ".join(split_words(REPLY)[:8])
        self.mock.push(chat({"text": reply2, "delay_ms": 80}))
        events = self.turn(conv, token, text2)
        self.check_complete(events, reply2)
        self.assertEqual(self.chat_request(text2)["outcome"], "complete")

    # ---- 8. HTTPoxy
    def test_proxy_header_is_not_the_upstream_proxy(self):
        conv, token = self.new_conv()
        text = self.words("Hello")
        self.mock.push(chat({"text": REPLY}))
        events = self.turn(conv, token, text,
                           headers={"Proxy": "http://127.0.0.1:9/"})
        self.check_complete(events, REPLY)
        req = self.chat_request(text)
        self.assertEqual(req["outcome"], "complete")
        self.assertEqual(req["path"], "/v1/chat/completions"
                         if self.proto == "openai" else "/v1/messages")

    # ---- 9. the key never leaves
    def test_key_never_in_responses(self):
        status, _, body = self.server.call("POST", "/api/conversations")
        self.assertEqual(status, 201)
        self.assert_no_key(body, "POST /api/conversations")
        obj = json.loads(body)
        conv, token = obj["id"], obj["token"]
        seen = []
        text = self.words("Hello")
        self.mock.push(chat({"text": REPLY}))
        r = self.server.post_message(conv, token, text)
        self.addCleanup(r.close)
        raw = r.read_body()
        r.close()
        seen.append(raw)
        self.assertIn(b"event: done", raw)
        # a failed turn, where the provider's error body talks about keys
        text2 = self.words("Again")
        self.mock.push(chat({"status": 401}))
        r = self.server.post_message(conv, token, text2)
        self.addCleanup(r.close)
        raw2 = r.read_body()
        r.close()
        self.assertIn(b"event: error", raw2)
        seen.append(raw2)
        for path in ("/api/conversations/%s" % conv,
                     "/api/conversations/%s/events" % conv):
            status, headers, body = self.server.call(
                "GET", path, None, self.server.auth(token))
            self.assertEqual(status, 200, (path, body[:200]))
            self.assert_no_key(body, "GET " + path)
            self.assert_no_key(json.dumps(headers), "headers of " + path)
            seen.append(body)
        got = self.server.get_conversation(conv, token)
        self.assertEqual([m["status"] for m in got["messages"]],
                         ["complete", "complete", "complete", "error"])
        for i, data in enumerate(seen):
            self.assert_no_key(data, "response %d" % i)
        status, _, body = self.server.call("GET", "/api/health")
        self.assert_no_key(body, "health")
        rows = self.server.query("SELECT text, error FROM messages WHERE "
                                 "conversation_id = ?", (conv,))
        for row in rows:
            self.assert_no_key(row["text"] or "", "a stored text")
            self.assert_no_key(row["error"] or "", "a stored error")
        self.chat_request(text2)
        self.wait_log(r"\b401\b", conv)
        self.assert_key_not_in_log()

    def test_provider_echoing_the_key_does_not_put_it_in_the_log(self):
        """An OpenAI-compatible server (a proxy, a local server) may quote
        the key it refused in its error body; the program logs the
        provider's message, so the key must be taken out of it."""
        conv, token = self.new_conv()
        text = self.words("Hello")
        self.mock.push(chat({"status": 401, "error_message":
                             "Incorrect API key provided: " + KEY}))
        self.check_failed(self.turn(conv, token, text))
        self.chat_request(text)
        self.wait_log(r"\b401\b", conv)
        self.assert_key_not_in_log()

    def test_error_event_echoing_the_key_does_not_put_it_in_the_log(self):
        """The same for a provider's error event in the middle of a
        stream, whose message the program logs too."""
        conv, token = self.new_conv()
        text = self.words("Hello")
        chunks = split_words(REPLY)
        self.mock.push(chat({"text": REPLY, "error_after": 2,
                             "error_message": "Key " + KEY + " revoked"}))
        _, got = self.check_failed(self.turn(conv, token, text))
        self.assertEqual(got, "".join(chunks[:2]))
        self.chat_request(text)
        self.wait_log(r"mid-stream|revoked", conv)
        self.assert_key_not_in_log()


class OpenAIProviderTests(ProviderTests, ServerTestCase):
    proto = "openai"


class AnthropicProviderTests(ProviderTests, ServerTestCase):
    proto = "anthropic"


# --------------------------------------------------------------------------
# 5. connection refused: nothing listens at INTAKE_LLM_URL; then a provider
# comes up on that port and the same conversation goes on.

class RefusedTests(ProviderChecks):

    @classmethod
    def setUpClass(cls):
        cls.mock = None
        cls.refused_port = free_port()
        cls.server_env = base_env(cls.proto, "http://127.0.0.1:%d/v1" %
                                  cls.refused_port)
        ServerTestCase.setUpClass.__func__(cls)

    @classmethod
    def tearDownClass(cls):
        try:
            ServerTestCase.tearDownClass.__func__(cls)
        finally:
            if cls.mock is not None:
                cls.mock.stop()
                cls.mock = None

    def setUp(self):
        ServerTestCase.setUp(self)
        self.mark_log()

    def test_connection_refused(self):
        conv, token = self.new_conv()
        text = self.words("Hello")
        t0 = time.monotonic()
        events = self.turn(conv, token, text)
        elapsed = time.monotonic() - t0
        t, got = self.check_failed(events)
        self.assertEqual(got, "")
        self.assertLess(elapsed, 3.0, "a refused connection took %.1f s" %
                        elapsed)
        self.wait_log(r"refused|could not (reach|connect)|"
                      r"couldn't connect|connect(ion)? (failed|error)", conv)
        self.assert_key_not_in_log()
        # the provider comes up: the same conversation goes on
        mock = MockProvider(port=self.refused_port)
        try:
            mock.start()
        except OSError as e:
            self.skipTest("port %d taken meanwhile: %s" %
                          (self.refused_port, e))
        type(self).mock = mock
        self.mock.set_default(EXTRACT_DEFAULT)
        self.next_turn_works(conv, token, 1)


class OpenAIRefusedTests(RefusedTests, ServerTestCase):
    proto = "openai"


class AnthropicRefusedTests(RefusedTests, ServerTestCase):
    proto = "anthropic"


# --------------------------------------------------------------------------
# 1, 2. INTAKE_HISTORY_MESSAGES and INTAKE_SYSTEM_PROMPT_FILE

class ConfigTests(ProviderChecks):
    history = 2

    @classmethod
    def make_env(cls, url):
        cls.prompt_dir = tempfile.mkdtemp(prefix="intake-prompt-")
        cls.prompt_file = os.path.join(cls.prompt_dir, "prompt.txt")
        with open(cls.prompt_file, "w", encoding="utf-8") as f:
            f.write(PROMPT_TEMPLATE)
        env = base_env(cls.proto, url)
        env["INTAKE_HISTORY_MESSAGES"] = str(cls.history)
        env["INTAKE_SYSTEM_PROMPT_FILE"] = cls.prompt_file
        return env

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(getattr(cls, "prompt_dir", "/nonexistent"),
                          ignore_errors=True)

    def expected_history(self, convo):
        """The last `history` messages of the conversation; Anthropic's
        list starts with the visitor (a leading assistant one is left
        out)."""
        want = convo[-self.history:]
        if self.proto == "anthropic":
            while want and want[0][0] == "assistant":
                want = want[1:]
        return want

    def test_prompt_file_filled(self):
        conv, token = self.new_conv()
        text = self.words("Hi")
        self.mock.push(chat({"text": REPLY}))
        self.check_complete(self.turn(conv, token, text), REPLY)
        system, msgs = self.sent_messages(self.chat_request(text))
        self.assertEqual(system, PROMPT_TEMPLATE.replace("{firm}", FIRM),
                         "the prompt file was not used or not filled")
        self.assertEqual(msgs, [("user", text)])

    def test_history_limit(self):
        conv, token = self.new_conv()
        convo = []
        for i in range(1, 4):
            text = self.words("message %d" % i)
            reply = "Reply number %d, %s." % (i, uuid.uuid4().hex[:6])
            self.mock.push(chat({"text": reply}))
            self.check_complete(self.turn(conv, token, text), reply)
            convo.append(("user", text))
            _, msgs = self.sent_messages(self.chat_request(text))
            self.assertEqual(
                msgs, self.expected_history(convo),
                "turn %d with INTAKE_HISTORY_MESSAGES=%d: the messages sent "
                "are not the last %d of the conversation" % (
                    i, self.history, self.history))
            convo.append(("assistant", reply))


class OpenAIConfigTests(ConfigTests, ServerTestCase):
    # the last 2: the previous reply and the visitor's new message
    proto = "openai"
    history = 2


class AnthropicConfigTests(ConfigTests, ServerTestCase):
    # with 2, Anthropic's list (which must start with the visitor) drops
    # the previous reply and a count off by one would not show: 3
    proto = "anthropic"
    history = 3


class HistoryOneTests(ProviderChecks):
    """INTAKE_HISTORY_MESSAGES=1: the visitor's new message alone."""

    @classmethod
    def make_env(cls, url):
        env = base_env(cls.proto, url)
        env["INTAKE_HISTORY_MESSAGES"] = "1"
        return env

    def test_history_one_sends_the_visitors_message(self):
        conv, token = self.new_conv()
        for i in (1, 2):
            text = self.words("message %d" % i)
            reply = "Reply %d." % i
            self.mock.push(chat({"text": reply}))
            self.check_complete(self.turn(conv, token, text), reply)
            reqs = [r for r in self.mock.requests() if r["stream"]]
            self.assertEqual(len(reqs), 1, "one chat request per turn")
            _, msgs = self.sent_messages(reqs[0])
            self.assertEqual(msgs, [("user", text)],
                             "turn %d with INTAKE_HISTORY_MESSAGES=1: the "
                             "visitor's message was not sent" % i)
            self.mock.reset()
            self.mock.set_default(EXTRACT_DEFAULT)


class OpenAIHistoryOneTests(HistoryOneTests, ServerTestCase):
    proto = "openai"


class AnthropicHistoryOneTests(HistoryOneTests, ServerTestCase):
    proto = "anthropic"


if __name__ == "__main__":
    main("integration_provider")
