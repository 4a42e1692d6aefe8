"""test_valgrind.py: the long-lived program under valgrind.

intake.fcgi, built without sanitizers (BUILD_VALGRIND, default
build/valgrind), runs under memcheck as `intake.fcgi --listen SOCKET`
behind lighttpd, serves a session that touches every endpoint and the
ways a reply ends (complete, a client that leaves, cancel, errors,
replay, the events endpoint, leads), then stops on SIGTERM.  memcheck
must report no error and nothing definitely lost.

    make test-build && BUILD=build/test python3 tests/integration/test_valgrind.py

The last line printed is "valgrind: N passed, N failed".
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import TOP, collect, main  # noqa: E402

VBUILD = os.environ.get("BUILD_VALGRIND",
                        os.path.join(TOP, "build", "valgrind"))
ADMIN = "admin-valgrind-token"


class Valgrind(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.become_subreaper()
        cls.srv = harness.Server({"INTAKE_ADMIN_TOKEN": ADMIN,
                                  "INTAKE_THREADS": "4"},
                                 word_delay_ms=20, name="valgrind")
        srv = cls.srv
        sock = os.path.join(srv.rundir, "intake.sock")
        srv.env["INTAKE_FCGI_SOCKET"] = sock
        srv.env["INTAKE_EXTRACTOR"] = os.path.join(VBUILD, "intake-extract")
        srv.init_db()
        cls.vlog = os.path.join(srv.rundir, "valgrind.log")
        cls.prog = subprocess.Popen(
            ["valgrind", "--leak-check=full", "--child-silent-after-fork=yes",
             "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
             "--track-origins=yes", "--log-file=" + cls.vlog,
             os.path.join(VBUILD, "intake.fcgi"), "--listen", sock],
            env=srv.env, cwd=srv.tmp, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(
                srv.rundir, "program.log"), "ab"))
        deadline = time.monotonic() + 30
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        srv.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.srv.stop()
        finally:
            if cls.prog.poll() is None:
                cls.prog.kill()
                cls.prog.wait(10)
            harness.reap_adopted()
            cls.srv.cleanup()

    def test_1_session(self):
        s = self.srv
        conv, token = s.create_conversation()
        r, ev = s.turn(conv, token, "Hi, I'm Jane Doe, 555-123-4567, a car "
                       "accident yesterday, it is urgent.")
        self.assertEqual(ev[-1].event, "done")
        r, ev = s.turn(conv, token, "My email is jane@example.com")
        self.assertEqual(ev[-1].event, "done")
        # the same client_id again: replayed, not a new turn
        for _ in range(2):
            r = s.post_message(conv, token, "Once only.", client_id="c-1")
            ev = collect(r)
            r.close()
            self.assertEqual(ev[-1].event, "done")
        # a client that leaves mid-reply
        r = s.post_message(conv, token, "Leaving early.")
        for e in harness.read_events(r):
            if e.event == "delta":
                break
        r.close()
        s.wait_for(lambda: s.query(
            "SELECT count(*) FROM messages WHERE conversation_id = ? AND "
            "status = 'streaming'", (conv,))[0][0] == 0, timeout=30,
            what="the reply to end")
        # cancel
        r = s.post_message(conv, token, "Stop me.")
        for e in harness.read_events(r):
            if e.event == "delta":
                break
        st, _, _ = s.call("POST", "/api/conversations/%s/cancel" % conv,
                          b"{}", dict(s.auth(token), **{
                              "Content-Type": "application/json"}))
        self.assertEqual(st, 202)
        collect(r)
        r.close()
        # reads, replays, errors
        s.get_conversation(conv, token)
        r = s.events(conv, query_token=token, offset=5)
        collect(r)
        r.close()
        for path, body, want in (
                ("/api/conversations/%s/messages" % conv, b"{bad", 400),
                ("/api/conversations/%s/messages" % conv,
                 b'{"text":""}', 400),
                ("/api/conversations/nope/messages", b'{"text":"x"}', 404)):
            st, _, _ = s.call("POST", path, body, dict(
                s.auth(token), **{"Content-Type": "application/json"}))
            self.assertEqual(st, want, path)
        for path in ("/api/leads", "/api/leads?format=csv",
                     "/api/leads?status=new&urgency=high&q=a%25_b&limit=2"
                     "&before=9999&before_id=x",
                     "/api/leads/%s" % conv, "/api/health",
                     "/api/disclosure"):
            st, _, _ = s.call("GET", path, None,
                              {"Authorization": "Bearer " + ADMIN})
            self.assertEqual(st, 200, path)
        # the staff's writes: status and note, bad ones, an erase
        admin = {"Authorization": "Bearer " + ADMIN,
                 "Content-Type": "application/json"}
        for body, want in ((b'{"status":"contacted","note":"rang"}', 200),
                           (b'{"status":"bogus"}', 400),
                           (b'{"note":"' + b"x" * 2001 + b'"}', 413),
                           (b"{}", 400), (b"{bad", 400)):
            st, _, _ = s.call("PATCH", "/api/leads/%s" % conv, body, admin)
            self.assertEqual(st, want, body[:40])
        other, _ = s.create_conversation()
        st, _, _ = s.call("DELETE", "/api/conversations/%s" % other, None,
                          {"Authorization": "Bearer " + ADMIN})
        self.assertEqual(st, 204)
        st, _, _ = s.call("DELETE", "/api/conversations/%s" % other, None,
                          {"Authorization": "Bearer " + ADMIN})
        self.assertEqual(st, 404)

    def test_2_clean_at_exit(self):
        # The program first (the harness would SIGKILL what it started
        # that is still alive when lighttpd stops), then the server.
        self.srv.children.pop(self.prog.pid, None)
        self.prog.send_signal(signal.SIGTERM)
        self.prog.wait(60)
        self.srv.stop()
        with open(self.vlog, errors="replace") as f:
            log = f.read()
        sys.stderr.write(log[-3000:] if log.strip() else "")
        self.assertNotRegex(log, r"Invalid (read|write)|uninitialised|"
                            r"Conditional jump|Invalid free|Mismatched",
                            "memcheck errors")
        m = re.findall(r"definitely lost: ([\d,]+) bytes", log)
        errs = re.findall(r"ERROR SUMMARY: ([\d,]+) errors", log)
        self.assertTrue(errs, "no ERROR SUMMARY: memcheck did not finish")
        self.assertEqual(errs[-1], "0", "memcheck errors")
        # No LEAK SUMMARY at all means nothing leaked; otherwise 0 bytes.
        self.assertTrue(all(x == "0" for x in m), "definitely lost: %s" % m)


if __name__ == "__main__":
    main("valgrind")
