"""test_resilience.py: a reply when things go wrong around it.

Each class is one way the world misbehaves while a visitor waits, driven
through the real lighttpd (or Apache) and the real SQLite:

- a reply cut short by INTAKE_MAX_REPLY is an error, not "complete";
- another process holding the write lock does not freeze the stream;
- a final save that cannot be written is made final as soon as the
  database takes a write, and readers see the reply interrupted at once;
- a -wal/-shm the program cannot write is repaired or named, and health
  says so;
- a stop signal ends every stream with a last event;
- ?token= on /events can be switched off.

    BUILD=build/test python3 tests/integration/test_resilience.py

The last line printed is "integration_resilience: N passed, N failed".
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import harness  # noqa
from harness import (BUILD_DIR, ServerTestCase, collect, delta_text,  # noqa
                     main, read_events)

MAX_REPLY = 1024
LONG = " ".join("w%04d" % i for i in range(600))        # 3,599 bytes


def hold_write_lock(db_path):
    """Another process's connection holding BEGIN IMMEDIATE (the caller
    rolls it back)."""
    c = sqlite3.connect(db_path, timeout=10, isolation_level=None)
    c.execute("BEGIN IMMEDIATE")
    return c


class Common:
    def msg_row(self, msg_id):
        rows = self.server.query("SELECT status, text, error FROM messages "
                                 "WHERE id = ?", (msg_id,))
        self.assertEqual(len(rows), 1)
        return rows[0]

    def new_turn(self, text="Hello, I need some help with a matter."):
        conv, token = self.server.create_conversation()
        r = self.server.post_message(conv, token, text)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        return conv, token, r


class CutReplyTests(harness.MockProviderMixin, Common, ServerTestCase):
    """A model reply longer than INTAKE_MAX_REPLY: the text that fits is
    kept, and the reply ends as an error, stored as one, with the reason
    in the log."""

    @classmethod
    def mock_setup(cls, mock):
        mock.set_default({"json": {f: None for f in (
            "full_name", "phone", "email", "matter_type", "urgency",
            "summary")}})
        return {"INTAKE_LLM_PROVIDER": "openai", "INTAKE_LLM_URL": mock.url,
                "INTAKE_LLM_API_KEY": "sk-test", "INTAKE_MAX_REPLY":
                str(MAX_REPLY), "INTAKE_EXTRACT_TIMEOUT_MS": "3000"}

    def test_cut_reply_is_an_error_not_complete(self):
        self.mock.push({"text": LONG, "when": {"stream": True}})
        conv, token, r = self.new_turn()
        events = collect(r)
        last = events[-1]
        self.assertEqual(last.event, "error", events[-3:])
        self.assertEqual(last.data["status"], "error")
        self.assertTrue(last.data["message"])
        text = delta_text(events)
        self.assertTrue(0 < len(text.encode()) <= MAX_REPLY, len(text))
        self.assertTrue(LONG.startswith(text))
        mid = int(events[0].data["assistant_message_id"])
        row = self.msg_row(mid)
        self.assertEqual(row["status"], "error")
        self.assertEqual(row["text"], text, "the kept text differs")
        got = self.server.get_conversation(conv, token)
        self.assertEqual(got["messages"][-1]["status"], "error")
        self.assertIn("INTAKE_MAX_REPLY", self.server.log_text())


@harness.sqlite_only("SQLite's one write lock (BEGIN IMMEDIATE)")
class OutsideLockTests(Common, ServerTestCase):
    """Another process holds BEGIN IMMEDIATE for longer than the busy
    timeout while a reply streams: deltas keep coming, and the reply is
    saved whole once the lock is let go."""
    word_delay_ms = 300
    HOLD_S = 9.0

    def test_stream_goes_on_while_another_process_writes(self):
        conv, token, r = self.new_turn()
        it = read_events(r)
        events = [next(it)]             # turn
        events.append(next(it))         # the first delta
        holder = hold_write_lock(self.server.db_path)
        held_at = time.monotonic()
        try:
            for ev in it:
                events.append(ev)
                if time.monotonic() - held_at >= self.HOLD_S:
                    break
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        during = [e.t for e in events[1:] if e.t >= held_at]
        self.assertGreater(len(during), 3, "the reply ended before the "
                           "lock was let go: make it longer")
        gaps = [b - a for a, b in zip([held_at] + during, during)]
        self.assertLess(max(gaps), 2.5, "the stream stalled %.1f s while "
                        "another process held the write lock" % max(gaps))
        events.extend(read_events(r))
        self.assertEqual(events[-1].event, "done", events[-3:])
        mid = int(events[0].data["assistant_message_id"])
        self.assertEqual((self.msg_row(mid)["status"],
                          self.msg_row(mid)["text"]),
                         ("complete", delta_text(events)))


@harness.sqlite_only("SQLite's one write lock (BEGIN IMMEDIATE)")
class BusyDeadlineTests(Common, ServerTestCase):
    """A writer waits for the lock INTAKE_BUSY_TIMEOUT_MS in all, one
    deadline, then answers 503: not that timeout again for each of twenty
    retries (a request once stalled ~100 s at the default)."""
    # The rate limit's count is a BEGIN IMMEDIATE transaction.
    server_env = {"INTAKE_BUSY_TIMEOUT_MS": "500",
                  "INTAKE_RATE_CONVERSATIONS": "1000"}

    def test_one_deadline_then_503(self):
        holder = hold_write_lock(self.server.db_path)
        try:
            t0 = time.monotonic()
            status, _, body = self.server.call("POST", "/api/conversations")
            took = time.monotonic() - t0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual(status, 503, body)
        self.assertLess(took, 4.0, "a 500 ms busy timeout took %.1f s" %
                        took)
        status, _, _ = self.server.call("POST", "/api/conversations")
        self.assertEqual(status, 201)


@harness.sqlite_only("SQLite's one write lock (BEGIN IMMEDIATE)")
class UnsavedFinalTests(Common, ServerTestCase):
    """The final save cannot be written (here the write lock is held
    longer than its tries last; a full disk behaves the same): the visitor
    is told, a reader sees the reply interrupted at once, and the row is
    final as soon as the database takes a write, not once the heartbeat
    is stale (INTAKE_STALE_MS, 30 s)."""
    word_delay_ms = 20
    server_env = {"INTAKE_BUSY_TIMEOUT_MS": "300"}

    def test_final_saved_when_the_database_takes_a_write(self):
        conv, token, r = self.new_turn()
        it = read_events(r)
        events = [next(it), next(it)]
        holder = hold_write_lock(self.server.db_path)
        try:
            events.extend(it)
            told = time.monotonic()
            self.assertEqual(events[-1].event, "error", events[-3:])
            self.assertIn("could not be saved", events[-1].data["message"])
            mid = int(events[0].data["assistant_message_id"])
            # A reader now, the lock still held: not "streaming".
            got = self.server.get_conversation(conv, token)
            self.assertEqual(got["messages"][-1]["status"], "interrupted")
            ev = self.server.events(conv, token=token)
            self.addCleanup(ev.close)
            follow = collect(ev)
            self.assertEqual(follow[-1].event, "error")
            self.assertEqual(follow[-1].data["status"], "interrupted")
            self.assertLess(time.monotonic() - told, 10.0)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        released = time.monotonic()
        self.server.wait_for(lambda: self.msg_row(mid)["status"] == "error",
                             timeout=15, what="the reply made final")
        self.assertLess(time.monotonic() - released, 15.0)
        row = self.msg_row(mid)
        self.assertEqual(row["text"], delta_text(events))
        self.assertIn("saved at last", self.server.log_text())


@harness.sqlite_only("the database's -wal/-shm files")
class SidecarTests(Common, ServerTestCase):
    """A -shm or -wal left read-only (made while the database file was
    0400) broke every write while health said ok.  Under plain CGI the
    program runs as the web server's user, as on a host."""
    web_server = "cgi"

    def db_files(self):
        return [self.server.db_path + s for s in ("-wal", "-shm")]

    def plant_sidecars(self, uid, gid):
        for p in self.db_files():
            with open(p, "wb") as f:
                f.write(b"\0" * (32768 if p.endswith("-shm") else 0))
            os.chown(p, uid, gid)
            os.chmod(p, 0o400)

    def tearDown(self):
        for p in self.db_files():
            try:
                os.unlink(p)
            except OSError:
                pass
        super().tearDown()

    def test_own_readonly_sidecars_are_repaired(self):
        st = os.stat(self.server.db_path)
        self.plant_sidecars(st.st_uid, st.st_gid)
        status, _, body = self.server.call("GET", "/api/health")
        self.assertEqual(status, 200, body)
        conv, token = self.server.create_conversation()
        _, events = self.server.turn(conv, token, "Hello there.")
        self.assertEqual(events[-1].event, "done")
        self.assertIn("repaired", self.server.log_text())

    def test_foreign_readonly_sidecar_fails_health_and_init(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to plant another owner's file")
        self.plant_sidecars(0, 0)
        status, _, body = self.server.call("GET", "/api/health")
        self.assertEqual(status, 503, body)
        self.assertEqual(json.loads(body)["error"]["code"], "unavailable")
        status, _, _ = self.server.call("POST", "/api/conversations")
        self.assertEqual(status, 503)
        st = os.stat(self.server.db_path)
        env = dict(self.server.env)
        init = subprocess.run(
            ["setpriv", "--reuid=%d" % st.st_uid, "--regid=%d" % st.st_gid,
             "--clear-groups", os.path.join(self.server.bindir,
                                            "intake-extract"), "--init"],
            env=env, capture_output=True, timeout=30)
        self.assertNotEqual(init.returncode, 0, "--init said the database "
                            "was ready")
        self.assertRegex(init.stderr, rb"intake\.db-(wal|shm) cannot be "
                         rb"written by this account")


class StopSignalTests(Common, ServerTestCase):
    """Ctrl-C (SIGINT) to the program mid-reply: the reply is saved as
    interrupted and the visitor, and a follower, get a last event rather
    than a cut connection."""
    word_delay_ms = 200

    def test_sigint_ends_streams_with_a_last_event(self):
        conv, token, r = self.new_turn()
        it = read_events(r)
        events = [next(it), next(it)]
        ev = self.server.events(conv, token=token)
        self.addCleanup(ev.close)
        fit = read_events(ev)
        follow = [next(fit)]
        pids = self.server.fcgi_pids()
        self.assertTrue(pids)
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        events.extend(it)
        follow.extend(fit)
        self.assertEqual(events[-1].event, "error", events[-3:])
        self.assertEqual(events[-1].data["status"], "interrupted")
        self.assertEqual(follow[-1].event, "error", follow[-3:])
        self.assertEqual(follow[-1].data["status"], "interrupted")
        mid = int(events[0].data["assistant_message_id"])
        self.server.wait_for(lambda: self.msg_row(mid)["status"] ==
                             "interrupted", timeout=10,
                             what="the reply saved as interrupted")
        self.assertEqual(self.msg_row(mid)["text"], delta_text(events))


class MakeRunCtrlCTests(Common, __import__("unittest").TestCase):
    """make run (scripts/run.sh) and Ctrl-C: SIGINT to its whole process
    group, as a terminal sends it, mid-reply.  The visitor gets the last
    event (the reply interrupted) before the server goes, and everything
    run.sh started is gone."""

    def run_and_interrupt(self, server):
        tmp = tempfile.mkdtemp(prefix="intake-run-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", tmp]))
        os.chmod(tmp, 0o755)
        if server != "lighttpd" and os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("www-data")
            os.chown(tmp, pw.pw_uid, pw.pw_gid)
        port = harness.free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("INTAKE_")}
        env.update({"BUILD": os.path.relpath(BUILD_DIR, harness.TOP),
                    "PORT": str(port), "SERVER": server,
                    "INTAKE_DB": os.path.join(tmp, "intake.db"),
                    "INTAKE_WORD_DELAY_MS": "300",
                    "INTAKE_RATE_CONVERSATIONS": "0",
                    "INTAKE_RATE_MESSAGES": "0"})
        out = open(os.path.join(tmp, "run.out"), "wb")
        self.addCleanup(out.close)
        p = subprocess.Popen(["scripts/run.sh"], cwd=harness.TOP, env=env,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)

        def kill_all():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
        self.addCleanup(kill_all)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = harness.request(port, "GET", "/api/health",
                                               timeout=2).read_body(), 0, 0
                break
            except (OSError, harness.HarnessError):
                if time.monotonic() > deadline or p.poll() is not None:
                    self.fail("make run did not start: %s" % open(
                        os.path.join(tmp, "run.out")).read()[-2000:])
                time.sleep(0.2)
        r = harness.request(port, "POST", "/api/conversations", b"")
        c = r.json()
        r = harness.request(port, "POST", "/api/conversations/%s/messages" %
                            c["id"], {"text": "Hello, I need help."},
                            {"Authorization": "Bearer %s" % c["token"]})
        self.addCleanup(r.close)
        self.assertEqual(r.status, 200)
        it = read_events(r)
        events = [next(it), next(it)]
        os.killpg(p.pid, signal.SIGINT)
        try:
            events.extend(it)
        except harness.HarnessError as e:
            logs = ""
            for f in (os.path.join(tmp, "run.out"),
                      os.path.join(BUILD_DIR, "run", "error.log")):
                try:
                    logs += open(f, errors="replace").read()[-3000:]
                except OSError:
                    pass
            self.fail("%s; events %r\n%s" % (e, events[-3:], logs))
        self.assertEqual(events[-1].event, "error", events[-3:])
        self.assertEqual(events[-1].data["status"], "interrupted")
        p.wait(timeout=30)

    def test_ctrl_c_lighttpd(self):
        self.run_and_interrupt("lighttpd")

    def test_ctrl_c_cgi(self):
        self.run_and_interrupt("cgi")


class QueryTokenTests(Common, ServerTestCase):
    """INTAKE_EVENTS_QUERY_TOKEN=0: /events refuses ?token= (tokens in
    URLs reach access logs); the Authorization header still works."""
    server_env = {"INTAKE_EVENTS_QUERY_TOKEN": "0"}

    def test_query_token_refused_header_taken(self):
        conv, token = self.server.create_conversation()
        self.server.turn(conv, token, "Hello there.")
        r = self.server.events(conv, query_token=token)
        self.addCleanup(r.close)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "unauthorized")
        r2 = self.server.events(conv, token=token)
        self.addCleanup(r2.close)
        self.assertEqual(r2.status, 200)
        self.assertEqual(collect(r2)[-1].event, "done")


if __name__ == "__main__":
    main("integration_resilience")
