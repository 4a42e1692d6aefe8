#!/usr/bin/env python3
"""mock_provider.py: a fake model provider for intake's tests.

It speaks the two protocols intake uses, byte for byte the way the real
recordings in tests/fixtures/llm-streams/ show them:

  POST /v1/chat/completions   OpenAI-compatible; "stream": true gives SSE
                              `data: {...}\\n\\n` chunks ending in
                              `data: [DONE]\\n\\n`
  POST /v1/messages           Anthropic Messages; "stream": true gives SSE
                              `event: NAME\\ndata: {...}\\n\\n` from
                              message_start to message_stop

Streams go out with HTTP/1.1 `Transfer-Encoding: chunked`, one HTTP chunk
per SSE event, written straight to the socket (TCP_NODELAY), as the real
servers do.  An HTTP/1.0 request (or the script field "chunked": false)
gets a close-delimited body instead.

Use it as a module:

    mp = MockProvider(port=0).start()
    mp.push({"text": "Hello there", "delay_ms": 20})
    ... point INTAKE_LLM_URL at mp.url ("http://127.0.0.1:PORT/v1") ...
    reqs = mp.wait_done(1)          # or mp.requests()
    mp.stop()

or as a program:

    python3 tests/mock_provider.py --port N [--default JSON]
        prints "ready PORT" once listening; runs until SIGTERM/SIGINT.
        Control endpoints (JSON bodies):
          POST /_control/push      a script object, or a list of them
          POST /_control/default   a script object
          GET  /_control/requests  [?wait=N&timeout=S] the recorded requests
          POST /_control/reset     forget scripts, default and requests
    python3 tests/mock_provider.py --selftest [--requests 2000] [--clients 4]
        measures the mock's own ceiling in streaming requests per second.

A script (a dict, every field optional) decides one response; see
SCRIPT_FIELDS below for the list and the README-style notes in the
docstring of MockProvider.push().
"""

import argparse
import base64
import collections
import copy
import http.client
import http.server
import json
import os
import random
import re
import select
import signal
import socket
import socketserver
import string
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

DEFAULT_TEXT = ("Thanks for reaching out. Could you tell me your name and "
                "the best number to reach you?")

SCRIPT_FIELDS = {
    "text", "chunk_words", "fixture", "delay_ms", "first_delay_ms",
    "status", "retry_after", "error_message", "drop_after", "hang_after",
    "hang_ms", "garbage", "error_after", "reasoning", "usage", "json",
    "content", "delay_total_ms", "finish_reason", "chunked",
    "close_without_response", "when",
}
WHEN_FIELDS = {"proto", "stream", "path"}

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"

_ALNUM = string.ascii_letters + string.digits


def fixtures_dir():
    """The fixtures folder: $FIXTURES, else <repo>/tests/fixtures/llm-streams."""
    d = os.environ.get("FIXTURES")
    if d:
        return d
    return os.path.join(REPO, "tests", "fixtures", "llm-streams")


def fixture_path(name):
    return os.path.join(fixtures_dir(), name)


def split_events(data, ndjson=False):
    """Split a recorded body after each event boundary ("\\n\\n", or "\\n"
    for NDJSON), keeping every byte: b"".join(result) == data."""
    sep = b"\n" if ndjson else b"\n\n"
    out, i = [], 0
    while i < len(data):
        j = data.find(sep, i)
        if j < 0:
            out.append(data[i:])
            break
        out.append(data[i:j + len(sep)])
        i = j + len(sep)
    return out


def split_words(text, n=1):
    """Split text into chunks of n words, each keeping its leading space
    like real tokens; b"".join(result) == text."""
    n = max(1, int(n))
    toks = re.findall(r"\s*\S+", text)
    rest = text[len("".join(toks)):]
    if rest:
        if toks:
            toks[-1] += rest
        else:
            toks = [rest]
    return ["".join(toks[i:i + n]) for i in range(0, len(toks), n)]


def validate_script(script):
    """Raise ValueError if script is not a dict of known fields."""
    if not isinstance(script, dict):
        raise ValueError("a script must be a JSON object")
    bad = set(script) - SCRIPT_FIELDS
    if bad:
        raise ValueError("unknown script field(s): %s" % ", ".join(sorted(bad)))
    when = script.get("when")
    if when is not None:
        if not isinstance(when, dict) or set(when) - WHEN_FIELDS:
            raise ValueError('"when" takes an object with proto, stream, path')
    fx = script.get("fixture")
    if fx is not None and (not isinstance(fx, str) or
                           not os.path.isfile(fixture_path(fx))):
        raise ValueError("no such fixture: %r (in %s)" % (fx, fixtures_dir()))
    g = script.get("garbage")
    if g is not None and (not isinstance(g, list) or
                          not all(isinstance(x, str) for x in g)):
        raise ValueError('"garbage" must be a list of strings')
    for k in ("chunk_words", "delay_ms", "first_delay_ms", "status",
              "drop_after", "hang_after", "hang_ms", "error_after",
              "delay_total_ms"):
        v = script.get(k)
        if v is not None and (isinstance(v, bool) or
                              not isinstance(v, (int, float))):
            raise ValueError('"%s" must be a number' % k)
    return script


def _rid(prefix, n):
    return prefix + "".join(random.choice(_ALNUM) for _ in range(n))


def _dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------
# Error bodies, as the real providers write them.

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None,
          "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key",
          "Incorrect API key provided: sk-mock***. You can find your API key "
          "at https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model `{model}` does not exist or you do not have access to "
          "it."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for {model} in organization org-mock on "
          "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try "
          "again in 20s. Visit https://platform.openai.com/account/"
          "rate-limits to learn more."),
    500: ("server_error", None,
          "The server had an error while processing your request. Sorry "
          "about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None,
          "The engine is currently overloaded, please try again later."),
}

_ANTHROPIC_ERRORS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error",
          "Your API key does not have permission to use the specified "
          "resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number "
          "of bytes."),
    429: ("rate_limit_error",
          "This request would exceed the rate limit for your organization of "
          "50 requests per minute. For details, refer to: "
          "https://docs.claude.com/en/api/rate-limits."),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Overloaded"),
    529: ("overloaded_error", "Overloaded"),
}


def openai_error_body(status, model="gpt-4o-mini", message=None):
    typ, code, msg = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error",
                 None, "Request failed with status %d." % status))
    return {"error": {"message": message or msg.replace("{model}", model),
                      "type": typ, "param": None, "code": code}}


def anthropic_error_body(status, model="claude", message=None):
    typ, msg = _ANTHROPIC_ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error",
                 "Request failed with status %d." % status))
    return {"type": "error",
            "error": {"type": typ, "message": message or
                      msg.replace("{model}", model)},
            "request_id": _rid("req_011", 21)}


# ---------------------------------------------------------------------------
# Synthesized streams: lists of (kind, bytes).  kind is "pre" (sent before
# or between the counted chunks), "rchunk" (a reasoning delta: paced by
# delay_ms, not counted), "chunk" (a text delta: what drop_after,
# hang_after and error_after count) or "post" (the closing events).

def _sse(data, event=None):
    s = "data: " + data + "\n\n"
    if event is not None:
        s = "event: " + event + "\n" + s
    return s.encode("utf-8")


def openai_stream(model, text, reasoning=None, usage=False,
                  finish_reason="stop", chunk_words=1, prompt_tokens=10):
    cid = _rid("chatcmpl-", 29)
    created = int(time.time())
    fp = "fp_" + "".join(random.choice("0123456789abcdef") for _ in range(10))

    def chunk(delta, finish=None):
        o = {"id": cid, "object": "chat.completion.chunk",
             "created": created, "model": model,
             "system_fingerprint": fp,
             "choices": [{"index": 0, "delta": delta, "logprobs": None,
                          "finish_reason": finish}]}
        if usage:
            o["usage"] = None
        return _sse(_dumps(o))

    ev = [("pre", chunk({"role": "assistant", "content": ""}))]
    n = 0
    if reasoning:
        for r in split_words(reasoning, chunk_words):
            ev.append(("rchunk", chunk({"reasoning": r})))
            n += 1
    for w in split_words(text, chunk_words):
        ev.append(("chunk", chunk({"content": w})))
        n += 1
    ev.append(("post", chunk({}, finish_reason)))
    if usage:
        u = {"id": cid, "object": "chat.completion.chunk",
             "created": created, "model": model, "system_fingerprint": fp,
             "choices": [],
             "usage": {"prompt_tokens": prompt_tokens,
                       "completion_tokens": n,
                       "total_tokens": prompt_tokens + n,
                       "prompt_tokens_details": {"cached_tokens": 0,
                                                 "audio_tokens": 0},
                       "completion_tokens_details": {
                           "reasoning_tokens": 0, "audio_tokens": 0,
                           "accepted_prediction_tokens": 0,
                           "rejected_prediction_tokens": 0}}}
        ev.append(("post", _sse(_dumps(u))))
    ev.append(("post", b"data: [DONE]\n\n"))
    return ev


def anthropic_stream(model, text, reasoning=None, finish_reason="end_turn",
                     chunk_words=1, input_tokens=10):
    def e(obj):
        return _sse(_dumps(obj), obj["type"])

    ping = _sse('{"type": "ping"}', "ping")
    ev = [("pre", e({"type": "message_start", "message": {
        "id": _rid("msg_01", 22), "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens,
                  "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0, "output_tokens": 1,
                  "service_tier": "standard"}}}))]
    idx = 0
    n = 0
    if reasoning:
        ev.append(("pre", e({"type": "content_block_start", "index": idx,
                             "content_block": {"type": "thinking",
                                               "thinking": "",
                                               "signature": ""}})))
        ev.append(("pre", ping))
        for r in split_words(reasoning, chunk_words):
            ev.append(("rchunk", e({"type": "content_block_delta",
                                    "index": idx,
                                    "delta": {"type": "thinking_delta",
                                              "thinking": r}})))
            n += 1
        sig = base64.b64encode(os.urandom(48)).decode("ascii")
        ev.append(("pre", e({"type": "content_block_delta", "index": idx,
                             "delta": {"type": "signature_delta",
                                       "signature": sig}})))
        ev.append(("pre", e({"type": "content_block_stop", "index": idx})))
        idx += 1
    ev.append(("pre", e({"type": "content_block_start", "index": idx,
                         "content_block": {"type": "text", "text": ""}})))
    if not reasoning:
        ev.append(("pre", ping))
    for w in split_words(text, chunk_words):
        ev.append(("chunk", e({"type": "content_block_delta", "index": idx,
                               "delta": {"type": "text_delta", "text": w}})))
        n += 1
    ev.append(("post", e({"type": "content_block_stop", "index": idx})))
    ev.append(("post", e({"type": "message_delta",
                          "delta": {"stop_reason": finish_reason,
                                    "stop_sequence": None},
                          "usage": {"output_tokens": n}})))
    ev.append(("post", e({"type": "message_stop"})))
    return ev


def openai_error_event(message=None):
    return _sse(_dumps({"error": {
        "message": message or "The server had an error while processing "
        "your request. Sorry about that!", "type": "server_error"}}), "error")


def anthropic_error_event(message=None):
    return _sse(_dumps({"type": "error", "error": {
        "details": None, "type": "overloaded_error",
        "message": message or "Overloaded"}}), "error")


# ---------------------------------------------------------------------------
# Non-streaming answers.

def openai_completion(req, model, script, prompt_tokens):
    message = {"role": "assistant", "content": None, "refusal": None,
               "annotations": []}
    finish = script.get("finish_reason") or "stop"
    if "content" in script:
        message["content"] = script["content"]
    elif "json" in script:
        out = _dumps(script["json"])
        tools = req.get("tools") if isinstance(req, dict) else None
        if tools:
            # A real server given tools answers with a tool call.  With a
            # forced function it still says "stop"; otherwise "tool_calls".
            tc = req.get("tool_choice")
            name = None
            if isinstance(tc, dict):
                name = (tc.get("function") or {}).get("name")
            if not name:
                t0 = tools[0] if isinstance(tools[0], dict) else {}
                name = (t0.get("function") or {}).get("name") or \
                    t0.get("name") or "extract"
            if "finish_reason" not in script:
                finish = "stop" if isinstance(tc, dict) else "tool_calls"
            message["tool_calls"] = [{
                "id": _rid("call_", 24), "type": "function",
                "function": {"name": name, "arguments": out}}]
        else:
            message["content"] = out
    else:
        message["content"] = script.get("text", DEFAULT_TEXT)
    n = max(1, len(str(message["content"] or "")) // 4)
    return {"id": _rid("chatcmpl-", 29), "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n,
                      "total_tokens": prompt_tokens + n,
                      "prompt_tokens_details": {"cached_tokens": 0,
                                                "audio_tokens": 0},
                      "completion_tokens_details": {
                          "reasoning_tokens": 0, "audio_tokens": 0,
                          "accepted_prediction_tokens": 0,
                          "rejected_prediction_tokens": 0}},
            "service_tier": "default",
            "system_fingerprint": "fp_" + "".join(
                random.choice("0123456789abcdef") for _ in range(10))}


def anthropic_message(req, model, script, input_tokens):
    stop = script.get("finish_reason") or "end_turn"
    req = req if isinstance(req, dict) else {}
    if "content" in script:
        content = [{"type": "text", "text": script["content"]}]
    elif "json" in script:
        tc = req.get("tool_choice")
        tools = req.get("tools")
        name = tc.get("name") if isinstance(tc, dict) else None
        if not name and tools and isinstance(tools[0], dict):
            name = tools[0].get("name")
        if name or tools:
            content = [{"type": "tool_use", "id": _rid("toolu_01", 22),
                        "name": name or "extract", "input": script["json"]}]
            if "finish_reason" not in script:
                stop = "tool_use"
        else:
            content = [{"type": "text", "text": _dumps(script["json"])}]
    else:
        content = [{"type": "text", "text": script.get("text", DEFAULT_TEXT)}]
    return {"id": _rid("msg_01", 22), "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens,
                      "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0,
                      "output_tokens": max(1, len(_dumps(content)) // 4),
                      "service_tier": "standard"}}


# ---------------------------------------------------------------------------
# The server.

class _Stop(Exception):
    """The response ends here (client gone, dropped, or server stopping)."""


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-provider/1"
    sys_version = ""
    timeout = 120           # an idle keep-alive connection is let go

    # -- plumbing --------------------------------------------------------

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.mock = self.server.mock
        self.mock._conn_add(self.connection)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.mock._conn_del(self.connection)

    def log_message(self, fmt, *args):
        if self.mock.verbose:
            sys.stderr.write("mock_provider: %s %s\n" %
                             (self.address_string(), fmt % args))

    def do_POST(self):
        self._dispatch("POST")

    def do_GET(self):
        self._dispatch("GET")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                             b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send_json(self, status, obj, extra=None, reason=None):
        body = _dumps(obj).encode("utf-8")
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    # -- routing ---------------------------------------------------------

    def _dispatch(self, method):
        t_start = time.time()
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        if path.startswith("/_control/"):
            self._control(method, path, split.query, raw)
            return
        self._provider(method, path, split.query, raw, t_start)

    def _control(self, method, path, query, raw):
        mock = self.mock
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except ValueError as e:
            self._send_json(400, {"ok": False, "error": "bad JSON: %s" % e})
            return
        try:
            if path == "/_control/push" and method == "POST":
                scripts = data if isinstance(data, list) else [data or {}]
                mock.push(*scripts)
                self._send_json(200, {"ok": True, "queued": mock.queued()})
            elif path == "/_control/default" and method == "POST":
                mock.set_default(data or {})
                self._send_json(200, {"ok": True})
            elif path == "/_control/requests" and method == "GET":
                q = urllib.parse.parse_qs(query)
                if "wait" in q:
                    reqs = mock.wait_done(int(q["wait"][0]),
                                          float(q.get("timeout", ["5"])[0]))
                else:
                    reqs = mock.requests()
                self._send_json(200, reqs)
            elif path == "/_control/reset" and method == "POST":
                mock.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, {"ok": False, "error": "no such control "
                                      "endpoint: %s %s" % (method, path)})
        except ValueError as e:
            self._send_json(400, {"ok": False, "error": str(e)})

    def _provider(self, method, path, query, raw, t_start):
        mock = self.mock
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        rec = {"method": method, "path": path, "query": query,
               "headers": headers, "body": None, "proto": None,
               "stream": False, "t_start": t_start, "t_end": None,
               "client_closed": False, "status": None, "outcome": None,
               "events_sent": 0, "script": None,
               # which connection: a client that keeps its connection
               # sends its next request from the same port
               "peer": "%s:%d" % self.client_address[:2]}
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
            rec["raw_body"] = raw.decode("utf-8", "replace")
        rec["body"] = body
        proto = {OPENAI_PATH: "openai", ANTHROPIC_PATH: "anthropic"}.get(path)
        rec["proto"] = proto
        stream = isinstance(body, dict) and body.get("stream") is True
        rec["stream"] = stream
        self.rec = rec

        # Answers that do not depend on a script (and do not use one up).
        problem = None
        if proto is None:
            problem = (404, "Invalid URL (%s %s)" % (method, path))
        elif method != "POST":
            problem = (405, "Method not allowed: %s %s" % (method, path))
        elif not isinstance(body, dict):
            problem = (400, "We could not parse the JSON body of your "
                       "request. (HINT: This likely means you aren't using "
                       "your HTTP library correctly. The OpenAI API expects "
                       "a JSON payload, but what was sent was not valid "
                       "JSON.)" if proto == "openai" else
                       "There was an error parsing the body of your request")
        elif proto == "anthropic" and "anthropic-version" not in headers:
            problem = (400, "anthropic-version: header is required")
        elif not isinstance(body.get("model"), str):
            problem = (400, "you must provide a model parameter"
                       if proto == "openai" else "model: Field required")
        elif not isinstance(body.get("messages"), list):
            problem = (400, "Missing required parameter: 'messages'."
                       if proto == "openai" else "messages: Field required")
        elif proto == "anthropic" and not isinstance(body.get("max_tokens"),
                                                     int):
            problem = (400, "max_tokens: Field required")
        if problem is not None:
            mock._record(rec)
            st, msg = problem
            rec["status"] = st
            rec["outcome"] = "invalid_request"
            try:
                if proto == "anthropic":
                    self._send_json(st, anthropic_error_body(st, message=msg))
                else:
                    self._send_json(st, openai_error_body(st, message=msg))
            except OSError:
                rec["client_closed"] = True
                self.close_connection = True
            finally:
                mock._finish(rec)
            return

        script = mock._take(proto, stream, path)
        rec["script"] = script
        mock._record(rec)
        try:
            self._answer(proto, stream, body, script)
        except _Stop:
            self.close_connection = True
        except OSError:
            rec["client_closed"] = True
            if rec["outcome"] in (None, "streaming"):
                rec["outcome"] = "client_closed"
            self.close_connection = True
        finally:
            mock._finish(rec)

    # -- answering -------------------------------------------------------

    def _wait(self, ms):
        """Sleep ms, watching the client and stop().  Raises _Stop if the
        client went away or the server is stopping."""
        if not ms or ms <= 0:
            return
        end = time.monotonic() + ms / 1000.0
        sock = self.connection
        stopping = self.mock._stopping
        watch = True
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            if stopping.is_set():
                self.rec["outcome"] = "server_stopped"
                self._abort()
            if not watch:
                stopping.wait(min(left, 0.05))
                continue
            try:
                r, _, _ = select.select([sock], [], [], min(left, 0.05))
            except (OSError, ValueError):
                r = [sock]
            if not r:
                continue
            try:
                peek = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                peek = b""
            if peek == b"":
                self.rec["client_closed"] = True
                self.rec["outcome"] = "client_closed"
                raise _Stop()
            watch = False       # the client sent bytes: cannot watch for EOF

    def _abort(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Stop()

    def _model(self, body, proto):
        m = body.get("model")
        if isinstance(m, str) and m:
            return m
        return "gpt-4o-mini" if proto == "openai" else "claude-sonnet-4-5"

    def _prompt_tokens(self, body):
        return max(1, len(_dumps(body.get("messages", []))) // 4)

    def _answer(self, proto, stream, body, script):
        rec = self.rec
        if script.get("close_without_response"):
            rec["outcome"] = "closed_without_response"
            self._abort()
        self._wait(script.get("delay_total_ms"))
        model = self._model(body, proto)
        status = script.get("status")
        if status is not None and int(status) >= 300:
            status = int(status)
            extra = {}
            if script.get("retry_after") is not None:
                extra["retry-after"] = str(script["retry_after"])
            if proto == "anthropic":
                extra["request-id"] = _rid("req_011", 21)
                obj = anthropic_error_body(status, model,
                                           script.get("error_message"))
            else:
                extra["x-request-id"] = _rid("req_", 32)
                obj = openai_error_body(status, model,
                                        script.get("error_message"))
            rec["status"] = status
            rec["outcome"] = "status"
            self._send_json(status, obj, extra,
                            "Overloaded" if status == 529 else None)
            return
        if "fixture" in script:
            name = script["fixture"]
            try:
                with open(fixture_path(name), "rb") as f:
                    data = f.read()
            except OSError as e:
                rec["status"] = 500
                rec["outcome"] = "status"
                self._send_json(500, {"error": {
                    "message": "mock_provider: fixture %s: %s" % (name, e),
                    "type": "server_error", "param": None, "code": None}})
                return
            nd = name.endswith(".ndjson")
            events = [("chunk", e) for e in split_events(data, nd)]
            ctype = ("application/x-ndjson" if nd else
                     "text/event-stream; charset=utf-8")
            self._stream(proto, events, script, ctype)
            return
        if not stream:
            self._nonstream(proto, body, model, script)
            return
        if "text" in script:
            text = script["text"]
        elif "content" in script:
            text = script["content"]
        elif "json" in script:
            text = _dumps(script["json"])
        else:
            text = DEFAULT_TEXT
        cw = script.get("chunk_words", 1)
        if proto == "openai":
            so = body.get("stream_options")
            usage = script.get("usage", isinstance(so, dict) and
                               so.get("include_usage") is True)
            events = openai_stream(model, text, script.get("reasoning"),
                                   bool(usage),
                                   script.get("finish_reason") or "stop", cw,
                                   self._prompt_tokens(body))
        else:
            events = anthropic_stream(model, text, script.get("reasoning"),
                                      script.get("finish_reason") or
                                      "end_turn", cw,
                                      self._prompt_tokens(body))
        self._stream(proto, events, script, "text/event-stream; charset=utf-8")

    def _nonstream(self, proto, body, model, script):
        rec = self.rec
        if proto == "openai":
            obj = openai_completion(body, model, script,
                                    self._prompt_tokens(body))
            extra = {"x-request-id": _rid("req_", 32),
                     "openai-processing-ms": "42"}
        else:
            obj = anthropic_message(body, model, script,
                                    self._prompt_tokens(body))
            extra = {"request-id": _rid("req_011", 21)}
        data = _dumps(obj).encode("utf-8")
        rec["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if script.get("drop_after") is not None:
            self.wfile.write(data[:len(data) // 2])
            rec["outcome"] = "dropped"
            self._abort()
        self.wfile.write(data)
        rec["outcome"] = "complete"

    def _stream(self, proto, events, script, ctype):
        rec = self.rec
        chunked = (self.request_version != "HTTP/1.0" and
                   script.get("chunked", True) is not False)
        rec["status"] = 200
        rec["outcome"] = "streaming"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
        self.send_header("Cache-Control", "no-cache")
        if proto == "anthropic":
            self.send_header("request-id", _rid("req_011", 21))
        else:
            self.send_header("x-request-id", _rid("req_", 32))
            self.send_header("openai-processing-ms", "42")
        self.end_headers()

        def write(b):
            if chunked:
                b = b"%x\r\n" % len(b) + b + b"\r\n"
            self.wfile.write(b)     # unbuffered: one sendall per event
            rec["events_sent"] += 1

        garbage = []
        for g in script.get("garbage") or []:
            g = g.encode("utf-8")
            garbage.append(g if g.endswith(b"\n") else g + b"\n\n")
        garbage_sent = not garbage

        def send_garbage():
            for g in garbage:
                write(g)
            rec["events_sent"] -= len(garbage)
            rec["garbage_sent"] = len(garbage)

        limits = [("hang", script.get("hang_after")),
                  ("error", script.get("error_after")),
                  ("drop", script.get("drop_after"))]
        done = set()
        delay = script.get("delay_ms") or 0
        n_chunk = 0
        n_delta = 0

        def checkpoint(final):
            """Act on the limits reached (all of them, once the chunks are
            used up).  Returns False if the stream ends here."""
            for what, lim in limits:
                if lim is None or what in done:
                    continue
                if n_chunk < lim and not final:
                    continue
                done.add(what)
                if what == "hang":
                    rec["hung_at"] = n_chunk
                    self._wait(script.get("hang_ms", 30000))
                elif what == "error":
                    write(anthropic_error_event(script.get("error_message"))
                          if proto == "anthropic" else
                          openai_error_event(script.get("error_message")))
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                    rec["outcome"] = "error_event"
                    self.close_connection = True
                    return False
                else:
                    rec["outcome"] = "dropped"
                    self._abort()
            return True

        self._wait(script.get("first_delay_ms"))
        for kind, data in events:
            if kind in ("chunk", "post"):
                if kind == "post" and not garbage_sent:
                    send_garbage()
                    garbage_sent = True
                if not checkpoint(kind == "post"):
                    return
            if kind in ("chunk", "rchunk"):
                if n_delta > 0:
                    self._wait(delay)
                n_delta += 1
            write(data)
            if kind == "chunk":
                n_chunk += 1
                if not garbage_sent:
                    send_garbage()
                    garbage_sent = True
        if not garbage_sent:
            send_garbage()
        if not checkpoint(True):
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True
        rec["outcome"] = "complete"


class MockProvider:
    """A fake OpenAI-compatible + Anthropic provider on 127.0.0.1.

    MockProvider(port=0, host="127.0.0.1", verbose=False)
      .start() -> self     listen and serve in a background thread
      .stop()              stop; streams in progress are cut off
      .url                 "http://127.0.0.1:PORT/v1"
      .port
      .push(*scripts)      queue scripts, first in first out, one per request
      .set_default(script) the script used when the queue has none that fits
      .queued()            number of queued scripts
      .requests()          recorded requests (copies), oldest first
      .wait_done(n, timeout=5.0) wait until >= n requests are recorded and
                           all of them have finished (t_end set); returns
                           requests() (raises TimeoutError)
      .reset()             empty the queue, the default and the record
    """

    def __init__(self, port=0, host="127.0.0.1", verbose=False):
        self.host = host
        self._port = port
        self.verbose = verbose
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue = collections.deque()
        self._default = {}
        self._reqs = []
        self._conns = set()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    # -- life ------------------------------------------------------------

    def start(self):
        self._stopping.clear()
        self._server = _Server((self.host, self._port), _Handler)
        self._server.mock = self
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name="mock-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(2)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return "http://%s:%d/v1" % (self.host, self._port)

    # -- scripts ---------------------------------------------------------

    def push(self, *scripts):
        """Queue scripts for the next requests.  Fields, all optional:

        text            reply text (default DEFAULT_TEXT)
        chunk_words     words per streamed chunk (default 1)
        fixture         file in fixtures_dir() (or absolute path) replayed
                        byte for byte, one HTTP chunk per event
        delay_ms        pause before each text/reasoning delta but the first
                        (fixtures: before each event but the first)
        first_delay_ms  pause after the headers, before the first event
        delay_total_ms  pause before answering at all
        status          answer this HTTP error with the provider's body
        retry_after     value of a retry-after header (with status)
        error_message   message of the status body / mid-stream error
        drop_after      stream: close without terminator nor final 0-length
                        chunk after N chunks; non-stream: send the headers
                        and half the body, then close
        hang_after      after N chunks go quiet for hang_ms (default 30000),
                        then carry on; ends early when the client leaves
                        or stop() is called
        garbage         raw strings sent after chunk 1 ("\\n\\n" added unless
                        one ends in "\\n")
        error_after     after N chunks send the protocol's error event and
                        end the body (no [DONE] / message_stop)
        reasoning       reasoning deltas sent before the text
        usage           OpenAI usage-only chunk before [DONE] (default:
                        the request's stream_options.include_usage)
        json            non-stream: structured output (OpenAI content or
                        tool call if the request has tools; Anthropic
                        tool_use if the request has tools/tool_choice)
        content         non-stream: raw text as the model's content
        finish_reason   finish_reason / stop_reason to report
        chunked         false: close-delimited body instead of chunked
        close_without_response  close the connection without a byte
        when            {"proto": "openai"|"anthropic", "stream": bool,
                        "path": str}: only a request like that takes it

        The "counted chunks" are the text deltas of a synthesized stream
        (reasoning deltas are paced by delay_ms but not counted), or every
        event of a fixture.  A limit at or past their number acts just
        before the closing events (so all text, no terminator).
        """
        for s in scripts:
            validate_script(s)
        with self._lock:
            for s in scripts:
                self._queue.append(copy.deepcopy(s))
        return self

    def set_default(self, script):
        validate_script(script)
        with self._lock:
            self._default = copy.deepcopy(script)
        return self

    def queued(self):
        with self._lock:
            return len(self._queue)

    def reset(self):
        with self._lock:
            self._queue.clear()
            self._default = {}
            self._reqs = []
            self._cond.notify_all()
        return self

    def _take(self, proto, stream, path):
        with self._lock:
            for i, s in enumerate(self._queue):
                w = s.get("when") or {}
                if ("proto" in w and w["proto"] != proto) or \
                   ("stream" in w and bool(w["stream"]) != stream) or \
                   ("path" in w and w["path"] != path):
                    continue
                del self._queue[i]
                return s
            return copy.deepcopy(self._default)

    # -- record ----------------------------------------------------------

    def _record(self, rec):
        with self._lock:
            self._reqs.append(rec)
            self._cond.notify_all()

    def _finish(self, rec):
        with self._lock:
            rec["t_end"] = time.time()
            self._cond.notify_all()

    def requests(self):
        with self._lock:
            return copy.deepcopy(self._reqs)

    def wait_done(self, n=None, timeout=5.0):
        end = time.monotonic() + timeout
        with self._lock:
            if n is None:
                n = len(self._reqs)
            while len(self._reqs) < n or \
                    any(r["t_end"] is None for r in self._reqs):
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("mock_provider: %d of %d requests "
                                       "done" % (sum(r["t_end"] is not None
                                                     for r in self._reqs), n))
                self._cond.wait(left)
            return copy.deepcopy(self._reqs)

    def _conn_add(self, c):
        with self._lock:
            self._conns.add(c)

    def _conn_del(self, c):
        with self._lock:
            self._conns.discard(c)


# ---------------------------------------------------------------------------
# The self-test: how many streaming requests per second can it serve?

def selftest(total=2000, clients=4, keepalive=False):
    mp = MockProvider(port=0).start()
    per = [total // clients + (1 if i < total % clients else 0)
           for i in range(clients)]
    errors = []
    events = [0] * clients
    obody = _dumps({"model": "gpt-4o-mini", "stream": True, "messages": [
        {"role": "user", "content": "Hello"}]}).encode()
    abody = _dumps({"model": "claude-sonnet-4-5", "max_tokens": 256,
                    "stream": True, "messages": [
                        {"role": "user", "content": "Hello"}]}).encode()

    def client(k):
        conn = None
        for i in range(per[k]):
            anth = (i % 2 == 1)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", mp.port,
                                                      timeout=10)
                hdr = {"Content-Type": "application/json",
                       "Accept": "text/event-stream"}
                if anth:
                    hdr["anthropic-version"] = "2023-06-01"
                if not keepalive:
                    hdr["Connection"] = "close"
                conn.request("POST", ANTHROPIC_PATH if anth else OPENAI_PATH,
                             abody if anth else obody, hdr)
                r = conn.getresponse()
                data = r.read()
                end = (b"event: message_stop\ndata: {\"type\":\"message_stop\""
                       b"}\n\n" if anth else b"data: [DONE]\n\n")
                if r.status != 200 or not data.endswith(end):
                    errors.append("bad response %d" % r.status)
                events[k] += data.count(b"\n\n")
            except (OSError, http.client.HTTPException) as e:
                errors.append(repr(e))
                conn = None
                continue
            if not keepalive:
                conn.close()
                conn = None

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.monotonic() - t0
    mp.stop()
    print("selftest: %d streaming requests (%d clients, %s, openai and "
          "anthropic alternating) in %.2f s: %.0f events/s, %d errors"
          % (total, clients, "keep-alive" if keepalive else
             "one connection each", dt, sum(events) / dt, len(errors)))
    for e in errors[:5]:
        print("selftest: error: %s" % e)
    print("selftest: %.0f requests/s" % (total / dt))
    sys.stdout.flush()
    return 0 if not errors else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock LLM provider "
                                 "(OpenAI-compatible and Anthropic).")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--default", help="default script, as JSON")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--selftest", action="store_true",
                    help="measure streaming requests/s against itself")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keepalive", action="store_true",
                    help="selftest: reuse connections")
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest(a.requests, a.clients, a.keepalive)
    mp = MockProvider(port=a.port, host=a.host, verbose=a.verbose)
    if a.default:
        try:
            mp.set_default(json.loads(a.default))
        except ValueError as e:
            print("mock_provider: --default: %s" % e, file=sys.stderr)
            return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    mp.start()
    print("ready %d" % mp.port, flush=True)
    while not done.wait(1):
        pass
    mp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
