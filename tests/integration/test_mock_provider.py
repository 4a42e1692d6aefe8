#!/usr/bin/env python3
"""test_mock_provider.py: checks that tests/mock_provider.py speaks the two
provider protocols the way the recordings in tests/fixtures/llm-streams/
do, and that its failure scripts (status, drop, hang, error, garbage) do
what they say.  Ends with the line "mock_provider: N passed, N failed".

A small raw HTTP/1.1 client is used instead of http.client so the chunked
framing itself (one HTTP chunk per event, the final 0-length chunk or its
absence) can be checked.
"""

import faulthandler
import glob
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
sys.dont_write_bytecode = True      # leave no __pycache__ in tests/

import mock_provider as mp_mod  # noqa: E402
from mock_provider import MockProvider  # noqa: E402

IO_TIMEOUT = 5.0        # every socket operation is bounded by this

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/v1/messages"


# ---------------------------------------------------------------------------
# A raw HTTP/1.1 client that keeps the chunk framing.

class Resp:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.chunks = []        # [(time received, payload)]
        self.complete = False   # the final 0-length chunk arrived
        self.eof = False        # the server closed the connection
        self.t_headers = None
        self.raw_body = b""     # close-delimited or Content-Length body

    @property
    def body(self):
        if self.chunks:
            return b"".join(c for _, c in self.chunks)
        return self.raw_body


class Conn:
    """One request on its own connection ("Connection: close")."""

    def __init__(self, port, path, body, headers=None, version="HTTP/1.1",
                 method="POST"):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        h = {"Host": "127.0.0.1:%d" % port,
             "Content-Type": "application/json",
             "Content-Length": str(len(body)),
             "Connection": "close",
             "User-Agent": "test_mock_provider"}
        h.update(headers or {})
        if path == ANTHROPIC and "anthropic-version" not in h:
            h["anthropic-version"] = "2023-06-01"
        req = "%s %s %s\r\n" % (method, path, version)
        req += "".join("%s: %s\r\n" % kv for kv in h.items() if kv[1]
                       is not None) + "\r\n"
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=IO_TIMEOUT)
        self.sock.sendall(req.encode() + body)
        self.buf = b""
        self.r = Resp()
        self.chunked = False
        self.length = None

    def _fill(self, timeout=IO_TIMEOUT):
        """Read more; False on EOF (or timeout -> raises)."""
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.r.eof = True
            return False
        self.buf += d
        return True

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise AssertionError("connection closed before headers")
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = h.decode("latin-1").split("\r\n")
        self.r.status = int(lines[0].split()[1])
        for ln in lines[1:]:
            k, v = ln.split(":", 1)
            self.r.headers[k.strip().lower()] = v.strip()
        self.r.t_headers = time.monotonic()
        self.chunked = "chunked" in self.r.headers.get(
            "transfer-encoding", "").lower()
        if "content-length" in self.r.headers:
            self.length = int(self.r.headers["content-length"])
        return self.r

    def next_chunk(self, timeout=IO_TIMEOUT):
        """The next HTTP chunk's payload, or None at the end (0-length chunk
        or EOF)."""
        assert self.chunked
        while b"\r\n" not in self.buf:
            if not self._fill(timeout):
                return None
        line, rest = self.buf.split(b"\r\n", 1)
        size = int(line, 16)
        while len(rest) < size + 2:
            if not self._fill(timeout):
                return None
            line, rest = self.buf.split(b"\r\n", 1)
        if rest[size:size + 2] != b"\r\n":
            raise AssertionError("bad chunk framing")
        self.buf = rest[size + 2:]
        if size == 0:
            self.r.complete = True
            return None
        data = rest[:size]
        self.r.chunks.append((time.monotonic(), data))
        return data

    def read_all(self):
        if self.r.status is None:
            self.head()
        if self.chunked:
            while self.next_chunk() is not None:
                pass
            # After the last chunk the server closes ("Connection: close").
            while self._fill():
                pass
        else:
            while (self.length is None or len(self.buf) < self.length) \
                    and self._fill():
                pass
            self.r.raw_body = self.buf
        self.close()
        return self.r

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(port, path, body, headers=None, **kw):
    return Conn(port, path, body, headers, **kw).read_all()


def chat_body(stream=True, **extra):
    b = {"model": "gpt-4o-mini", "stream": stream,
         "messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "Hello"}]}
    b.update(extra)
    return b


def msg_body(stream=True, **extra):
    b = {"model": "claude-sonnet-4-5", "max_tokens": 512, "stream": stream,
         "system": "Be brief.",
         "messages": [{"role": "user", "content": "Hello"}]}
    b.update(extra)
    return b


# ---------------------------------------------------------------------------
# A tiny SSE parser (WHATWG rules, enough for these streams).

def sse_parse(data):
    """-> (events [(name, data)], comment count)."""
    events, comments = [], 0
    name, lines = None, []
    text = data.decode("utf-8")
    for line in text.split("\n"):
        if line == "":
            if lines:
                events.append((name or "message", "\n".join(lines)))
            name, lines = None, []
            continue
        if line.startswith(":"):
            comments += 1
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name = value
        elif field == "data":
            lines.append(value)
    return events, comments


def openai_text(events, key="content"):
    out = []
    for name, d in events:
        if d == "[DONE]" or name != "message":
            continue
        for c in json.loads(d).get("choices", []):
            v = c.get("delta", {}).get(key)
            if v:
                out.append(v)
    return "".join(out)


def anthropic_text(events, delta_type="text_delta", key="text"):
    out = []
    for name, d in events:
        o = json.loads(d)
        if o["type"] == "content_block_delta" and \
                o["delta"]["type"] == delta_type:
            out.append(o["delta"][key])
    return "".join(out)


# ---------------------------------------------------------------------------

class MockProviderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.mp = MockProvider(port=0).start()
        cls.port = cls.mp.port

    @classmethod
    def tearDownClass(cls):
        cls.mp.stop()

    def setUp(self):
        self.mp.reset()

    # -- replay ----------------------------------------------------------

    def test_fixture_replay_is_byte_exact(self):
        files = sorted(glob.glob(os.path.join(mp_mod.fixtures_dir(),
                                              "*.sse")))
        self.assertGreaterEqual(len(files), 7, mp_mod.fixtures_dir())
        files.append(os.path.join(mp_mod.fixtures_dir(),
                                  "ollama-native.ndjson"))
        for f in files:
            name = os.path.basename(f)
            with self.subTest(fixture=name):
                with open(f, "rb") as fh:
                    want = fh.read()
                self.mp.push({"fixture": name})
                anth = name.startswith("anthropic")
                r = request(self.port, ANTHROPIC if anth else OPENAI,
                            msg_body() if anth else chat_body())
                self.assertEqual(r.status, 200)
                self.assertTrue(r.complete, "no final 0-length chunk")
                self.assertEqual(r.body, want)
                nd = name.endswith(".ndjson")
                self.assertEqual(len(r.chunks),
                                 len(mp_mod.split_events(want, nd)),
                                 "one HTTP chunk per event")
                self.assertTrue(all(c.endswith(b"\n" if nd else b"\n\n")
                                    for _, c in r.chunks))
                self.assertTrue(r.headers["content-type"].startswith(
                    "application/x-ndjson" if nd else "text/event-stream"))

    # -- synthesized streams -----------------------------------------------

    def test_openai_stream_framing(self):
        text = "Hello, I am the intake assistant. What's your name?"
        self.mp.push({"text": text, "chunk_words": 2, "usage": True})
        r = request(self.port, OPENAI, chat_body(model="my-model"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertTrue(r.headers["content-type"].startswith(
            "text/event-stream"))
        self.assertTrue(r.complete)
        for _, c in r.chunks:       # exactly `data: <one line>\n\n`
            self.assertTrue(c.startswith(b"data: ") and c.endswith(b"\n\n")
                            and c.count(b"\n") == 2, c)
        events, comments = sse_parse(r.body)
        self.assertEqual(comments, 0)
        self.assertEqual(events[-1], ("message", "[DONE]"))
        objs = [json.loads(d) for _, d in events[:-1]]
        ids = {o["id"] for o in objs}
        self.assertEqual(len(ids), 1)
        self.assertTrue(ids.pop().startswith("chatcmpl-"))
        for o in objs:
            self.assertEqual(o["object"], "chat.completion.chunk")
            self.assertEqual(o["model"], "my-model")
            self.assertIsInstance(o["created"], int)
            self.assertIsInstance(o["system_fingerprint"], str)
            self.assertIn("usage", o)
        self.assertEqual(objs[0]["choices"][0],
                         {"index": 0, "delta": {"role": "assistant",
                                                "content": ""},
                          "logprobs": None, "finish_reason": None})
        mids = objs[1:-2]
        self.assertEqual(len(mids), 5)          # 9 words, 2 per chunk
        self.assertEqual(mids[0]["choices"][0]["delta"], {"content": "Hello, I"})
        self.assertEqual(mids[1]["choices"][0]["delta"], {"content": " am the"})
        self.assertEqual(objs[-2]["choices"][0],
                         {"index": 0, "delta": {}, "logprobs": None,
                          "finish_reason": "stop"})
        self.assertEqual(objs[-1]["choices"], [])
        self.assertEqual(objs[-1]["usage"]["completion_tokens"], 5)
        self.assertEqual(openai_text(events), text)

    def test_anthropic_stream_framing(self):
        self.mp.push({})        # the default intake question
        r = request(self.port, ANTHROPIC, msg_body(model="claude-x"))
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertIn("request-id", r.headers)
        for _, c in r.chunks:   # exactly `event: T\ndata: {..."type":T}\n\n`
            lines = c.decode().split("\n")
            self.assertEqual(len(lines), 4, c)
            self.assertTrue(lines[0].startswith("event: "))
            self.assertTrue(lines[1].startswith("data: "))
            self.assertEqual(lines[2:], ["", ""])
            self.assertEqual(json.loads(lines[1][6:])["type"], lines[0][7:])
        events, _ = sse_parse(r.body)
        names = [n for n, _ in events]
        self.assertEqual(names[:3], ["message_start", "content_block_start",
                                     "ping"])
        self.assertEqual(names[-3:], ["content_block_stop", "message_delta",
                                      "message_stop"])
        self.assertEqual(set(names[3:-3]), {"content_block_delta"})
        self.assertEqual(events[2][1], '{"type": "ping"}')
        start = json.loads(events[0][1])["message"]
        self.assertTrue(start["id"].startswith("msg_"))
        self.assertEqual(start["model"], "claude-x")
        self.assertEqual(start["content"], [])
        self.assertIn("input_tokens", start["usage"])
        self.assertEqual(json.loads(events[1][1])["content_block"],
                         {"type": "text", "text": ""})
        md = json.loads(events[-2][1])
        self.assertEqual(md["delta"]["stop_reason"], "end_turn")
        self.assertEqual(md["usage"]["output_tokens"], len(names) - 6)
        self.assertEqual(anthropic_text(events), mp_mod.DEFAULT_TEXT)
        self.assertTrue(json.loads(events[4][1])["delta"]["text"]
                        .startswith(" "), "chunks keep their leading space")

    def test_reasoning_kept_apart(self):
        self.mp.push({"text": "Hi there.", "reasoning": "Think first."})
        r = request(self.port, OPENAI, chat_body())
        ev, _ = sse_parse(r.body)
        self.assertEqual(openai_text(ev, "reasoning"), "Think first.")
        self.assertEqual(openai_text(ev), "Hi there.")
        self.mp.push({"text": "Hi there.", "reasoning": "Think first."})
        r = request(self.port, ANTHROPIC, msg_body())
        ev, _ = sse_parse(r.body)
        blocks = [json.loads(d)["content_block"]["type"] for n, d in ev
                  if n == "content_block_start"]
        self.assertEqual(blocks, ["thinking", "text"])
        self.assertEqual(anthropic_text(ev, "thinking_delta", "thinking"),
                         "Think first.")
        self.assertEqual(anthropic_text(ev), "Hi there.")
        self.assertEqual(ev[-1][0], "message_stop")

    def test_garbage_after_first_chunk(self):
        junk = ["data: {not json", ": keep-alive comment",
                "event: unknown_thing\ndata: {}"]
        self.mp.push({"text": "one two three", "garbage": junk})
        r = request(self.port, OPENAI, chat_body())
        ch = [c for _, c in r.chunks]
        self.assertIn(b'"content":"one"', ch[1])
        self.assertEqual(ch[2:5], [j.encode() + b"\n\n" for j in junk])
        self.assertIn(b'"content":" two"', ch[5])
        self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"))

    # -- failures ----------------------------------------------------------

    def test_status_errors(self):
        self.mp.push({"status": 429, "retry_after": 7})
        r = request(self.port, OPENAI, chat_body())
        self.assertEqual(r.status, 429)
        self.assertEqual(r.headers["retry-after"], "7")
        self.assertTrue(r.headers["content-type"].startswith(
            "application/json"))
        e = json.loads(r.body)["error"]
        self.assertEqual((e["type"], e["code"], e["param"]),
                         ("requests", "rate_limit_exceeded", None))
        self.assertTrue(e["message"].startswith("Rate limit reached"))
        for st, typ in ((429, "rate_limit_error"), (500, "api_error"),
                        (529, "overloaded_error"), (503, "overloaded_error"),
                        (401, "authentication_error")):
            self.mp.push({"status": st})
            r = request(self.port, ANTHROPIC, msg_body())
            self.assertEqual(r.status, st)
            o = json.loads(r.body)
            self.assertEqual(o["type"], "error")
            self.assertEqual(o["error"]["type"], typ)
            self.assertIsInstance(o["error"]["message"], str)
        self.mp.push({"status": 500, "error_message": "boom"})
        r = request(self.port, OPENAI, chat_body(stream=False))
        self.assertEqual(json.loads(r.body)["error"],
                         {"message": "boom", "type": "server_error",
                          "param": None, "code": None})

    def test_drop_after(self):
        self.mp.push({"text": "a b c d e", "drop_after": 2})
        r = request(self.port, OPENAI, chat_body())
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete, "a dropped stream has no 0-length chunk")
        self.assertTrue(r.eof)
        ev, _ = sse_parse(r.body)
        self.assertEqual(len(ev), 3)            # role chunk + 2 words
        self.assertEqual(openai_text(ev), "a b")
        self.mp.push({"text": "a b c", "drop_after": 99})
        r = request(self.port, ANTHROPIC, msg_body())
        ev, _ = sse_parse(r.body)
        self.assertFalse(r.complete)
        self.assertEqual(anthropic_text(ev), "a b c")
        self.assertEqual(ev[-1][0], "content_block_delta")
        self.mp.push({"json": {"a": 1}, "drop_after": 0})
        r = request(self.port, OPENAI, chat_body(stream=False))
        self.assertEqual(r.status, 200)
        self.assertLess(len(r.body), int(r.headers["content-length"]))
        reqs = self.mp.wait_done(3, 2)
        self.assertEqual([q["outcome"] for q in reqs], ["dropped"] * 3)

    def test_error_after(self):
        self.mp.push({"text": "a b c", "error_after": 1})
        r = request(self.port, OPENAI, chat_body())
        self.assertTrue(r.complete)
        ev, _ = sse_parse(r.body)
        self.assertEqual(openai_text(ev), "a")
        self.assertEqual(ev[-1][0], "error")
        self.assertEqual(json.loads(ev[-1][1])["error"]["type"],
                         "server_error")
        self.assertNotIn(b"[DONE]", r.body)
        self.assertNotIn(b"finish_reason\":\"stop", r.body)
        self.mp.push({"text": "a b c", "error_after": 2})
        r = request(self.port, ANTHROPIC, msg_body())
        self.assertTrue(r.body.endswith(
            b'event: error\ndata: {"type":"error","error":{"details":null,'
            b'"type":"overloaded_error","message":"Overloaded"}}\n\n'))
        ev, _ = sse_parse(r.body)
        self.assertEqual(anthropic_text(ev), "a b")
        self.assertNotIn("message_stop", [n for n, _ in ev])

    def test_hang_until_client_leaves(self):
        self.mp.push({"text": "a b c d", "hang_after": 2})
        c = Conn(self.port, OPENAI, chat_body())
        c.head()
        for _ in range(3):                      # role chunk + 2 words
            self.assertIsNotNone(c.next_chunk())
        r, _, _ = select.select([c.sock], [], [], 0.3)
        self.assertEqual(r, [], "nothing may arrive while hanging")
        t_close = time.time()
        c.close()
        q = self.mp.wait_done(1, 3)[0]
        self.assertTrue(q["client_closed"])
        self.assertEqual(q["outcome"], "client_closed")
        self.assertLess(q["t_end"] - t_close, 0.5)
        self.assertLessEqual(q["t_start"], q["t_end"])

    def test_hang_then_resume(self):
        self.mp.push({"text": "a b c", "hang_after": 1, "hang_ms": 300})
        r = request(self.port, OPENAI, chat_body())
        self.assertTrue(r.complete)
        gap = r.chunks[2][0] - r.chunks[1][0]
        self.assertGreaterEqual(gap, 0.25)
        self.assertEqual(openai_text(sse_parse(r.body)[0]), "a b c")

    def test_stop_ends_a_hanging_stream(self):
        mp = MockProvider(port=0).start()
        mp.push({"hang_after": 0})
        c = Conn(mp.port, OPENAI, chat_body())
        c.head()
        self.assertIsNotNone(c.next_chunk())    # the role chunk
        t0 = time.monotonic()
        th = threading.Thread(target=mp.stop)
        th.start()
        th.join(3)
        self.assertFalse(th.is_alive())
        self.assertIsNone(c.next_chunk(timeout=2))
        self.assertFalse(c.r.complete)
        self.assertLess(time.monotonic() - t0, 2)
        c.close()

    def test_delays(self):
        self.mp.push({"text": "a b c", "first_delay_ms": 250,
                      "delay_ms": 60})
        c = Conn(self.port, OPENAI, chat_body())
        r = c.read_all()
        self.assertGreaterEqual(r.chunks[0][0] - r.t_headers, 0.2)
        self.assertGreaterEqual(r.chunks[3][0] - r.chunks[1][0], 0.1)
        self.mp.push({"json": {"x": 1}, "delay_total_ms": 200})
        t0 = time.monotonic()
        r = request(self.port, ANTHROPIC, msg_body(stream=False))
        self.assertGreaterEqual(time.monotonic() - t0, 0.18)
        self.assertEqual(r.status, 200)

    # -- non-streaming (extraction) ----------------------------------------

    def test_json_nonstream(self):
        obj = {"name": "Ann Lee", "phone": "555 0100", "urgent": True}
        self.mp.push({"json": obj})
        r = request(self.port, OPENAI, chat_body(
            stream=False, model="gpt-x",
            response_format={"type": "json_object"}))
        o = json.loads(r.body)
        self.assertEqual(o["object"], "chat.completion")
        self.assertEqual(o["model"], "gpt-x")
        ch = o["choices"][0]
        self.assertEqual(ch["finish_reason"], "stop")
        self.assertEqual(ch["message"]["role"], "assistant")
        self.assertEqual(json.loads(ch["message"]["content"]), obj)
        self.assertIn("total_tokens", o["usage"])

        self.mp.push({"json": obj})
        tools = [{"name": "save", "input_schema": {"type": "object"}},
                 {"name": "record_intake", "input_schema": {"type": "object"}}]
        r = request(self.port, ANTHROPIC, msg_body(
            stream=False, tools=tools,
            tool_choice={"type": "tool", "name": "record_intake"}))
        o = json.loads(r.body)
        self.assertEqual((o["type"], o["role"], o["stop_reason"]),
                         ("message", "assistant", "tool_use"))
        self.assertEqual(len(o["content"]), 1)
        tu = o["content"][0]
        self.assertEqual((tu["type"], tu["name"], tu["input"]),
                         ("tool_use", "record_intake", obj))
        self.assertTrue(tu["id"].startswith("toolu_"))

        self.mp.push({"json": obj})
        r = request(self.port, ANTHROPIC, msg_body(stream=False, tools=tools))
        self.assertEqual(json.loads(r.body)["content"][0]["name"], "save")

        self.mp.push({"content": "Sure! {name: Ann"})
        r = request(self.port, OPENAI, chat_body(stream=False))
        self.assertEqual(json.loads(r.body)["choices"][0]["message"]
                         ["content"], "Sure! {name: Ann")
        self.mp.push({"content": "not json"})
        r = request(self.port, ANTHROPIC, msg_body(stream=False, tools=tools))
        o = json.loads(r.body)
        self.assertEqual(o["content"], [{"type": "text", "text": "not json"}])
        self.assertEqual(o["stop_reason"], "end_turn")

    # -- record, queue, control --------------------------------------------

    def test_recording(self):
        self.mp.push({"text": "ok"})
        request(self.port, ANTHROPIC, msg_body(),
                {"X-Api-Key": "sk-test", "anthropic-version": "2023-06-01"})
        q = self.mp.wait_done(1, 2)[0]
        self.assertEqual(q["path"], "/v1/messages")
        self.assertEqual(q["headers"]["x-api-key"], "sk-test")
        self.assertEqual(q["headers"]["anthropic-version"], "2023-06-01")
        self.assertEqual(q["body"], msg_body())
        self.assertTrue(q["stream"])
        self.assertFalse(q["client_closed"])
        self.assertEqual(q["outcome"], "complete")
        self.assertLessEqual(q["t_start"], q["t_end"])
        self.assertLess(q["t_end"] - q["t_start"], 2)

    def test_queue_default_and_when(self):
        self.mp.set_default({"text": "default"})
        self.mp.push({"text": "for extraction", "when": {"stream": False}},
                     {"text": "first"})
        self.assertEqual(self.mp.queued(), 2)
        r = request(self.port, OPENAI, chat_body())
        self.assertEqual(openai_text(sse_parse(r.body)[0]), "first")
        r = request(self.port, OPENAI, chat_body())
        self.assertEqual(openai_text(sse_parse(r.body)[0]), "default")
        r = request(self.port, OPENAI, chat_body(stream=False))
        self.assertEqual(json.loads(r.body)["choices"][0]["message"]
                         ["content"], "for extraction")
        with self.assertRaises(ValueError):
            self.mp.push({"txet": "typo"})
        with self.assertRaises(ValueError):
            self.mp.push({"fixture": "no-such-file.sse"})

    def test_protocol_checks_and_routes(self):
        self.mp.push({"text": "kept"})
        r = request(self.port, ANTHROPIC, msg_body(),
                    {"anthropic-version": None})
        self.assertEqual(r.status, 400)
        self.assertEqual(json.loads(r.body)["error"]["type"],
                         "invalid_request_error")
        r = request(self.port, "/v1/v1/chat/completions", chat_body())
        self.assertEqual(r.status, 404)
        self.assertEqual(self.mp.queued(), 1, "a refused request uses no "
                         "script")
        self.assertEqual(len(self.mp.requests()), 2)

    def test_keepalive_and_close_delimited(self):
        import http.client
        h = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=IO_TIMEOUT)
        try:
            for word in ("one", "two"):
                self.mp.push({"text": word})
                h.request("POST", OPENAI, json.dumps(chat_body()),
                          {"Content-Type": "application/json"})
                resp = h.getresponse()
                data = resp.read()
                self.assertEqual(openai_text(sse_parse(data)[0]), word)
        finally:
            h.close()
        self.mp.push({"text": "plain", "chunked": False})
        r = request(self.port, OPENAI, chat_body())
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertTrue(r.raw_body.endswith(b"data: [DONE]\n\n"))
        r = request(self.port, OPENAI, chat_body(), version="HTTP/1.0")
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertEqual(openai_text(sse_parse(r.raw_body)[0]),
                         mp_mod.DEFAULT_TEXT)

    def test_cli_and_control_endpoints(self):
        p = subprocess.Popen(
            [sys.executable, os.path.join(TESTS, "mock_provider.py"),
             "--port", "0", "--default", '{"text": "from the CLI"}'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            r, _, _ = select.select([p.stdout], [], [], IO_TIMEOUT)
            self.assertTrue(r, "no ready line")
            line = p.stdout.readline().decode()
            self.assertRegex(line, r"^ready [0-9]+\n$")
            port = int(line.split()[1])
            r = request(port, "/_control/push", {"text": "pushed"})
            self.assertEqual(json.loads(r.body)["queued"], 1)
            r = request(port, OPENAI, chat_body())
            self.assertEqual(openai_text(sse_parse(r.body)[0]), "pushed")
            r = request(port, ANTHROPIC, msg_body())
            self.assertEqual(anthropic_text(sse_parse(r.body)[0]),
                             "from the CLI")
            r = request(port, "/_control/requests?wait=2&timeout=2", b"",
                        method="GET")
            reqs = json.loads(r.body)
            self.assertEqual([q["path"] for q in reqs], [OPENAI, ANTHROPIC])
            self.assertTrue(all(q["t_end"] for q in reqs))
            r = request(port, "/_control/default", {"text": "new"})
            self.assertEqual(r.status, 200)
            r = request(port, "/_control/push", {"bogus": 1})
            self.assertEqual(r.status, 400)
            r = request(port, "/_control/reset", b"")
            self.assertEqual(r.status, 200)
            r = request(port, "/_control/requests", b"", method="GET")
            self.assertEqual(json.loads(r.body), [])
        finally:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(3)
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(p.returncode, 0)


def main():
    faulthandler.dump_traceback_later(60, exit=True)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(
        MockProviderTest)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + \
        len(res.unexpectedSuccesses)
    passed = res.testsRun - failed
    sys.stderr.flush()
    sys.stdout.flush()
    print("mock_provider: %d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
