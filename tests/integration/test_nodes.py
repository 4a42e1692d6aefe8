"""test_nodes.py: several web nodes on one PostgreSQL database (DESIGN.md,
"Storage engines (contract v1)"; issue 14, "Tests (real parts)").

    make test-build && BUILD=build/test /usr/bin/python3 tests/integration/test_nodes.py

Each class runs two real nodes: two lighttpd servers, each spawning its
own intake.fcgi and its own extractors, with INTAKE_NODE=a and
INTAKE_NODE=b and one INTAKE_DB, a fresh database of a throwaway cluster
(tests/pg_cluster.py).  This suite runs on PostgreSQL whatever
INTAKE_TEST_ENGINE says; a cluster that cannot start fails it (make test
installs postgresql), it is never skipped.

  FollowTests     a reply written on A is followed from B while it
                  streams; turns of one conversation alternate A, B, A...,
                  each sent to the other node the moment done arrives
  RaceTests       32 extractors, 16 with each node's configuration, start
                  together on the jobs of one lead: each job done once,
                  one audit row each, the audit consistent with one serial
                  order of merges, the lead equal to a one-extractor run's
  KillTests       A is killed (SIGKILL, intake.fcgi and lighttpd) mid-reply:
                  B leaves the reply alone while its heartbeat is fresh,
                  then marks it interrupted with the saved text, and takes
                  the next turn; the dead turn's extraction still runs
  OutageTests     PostgreSQL restarted (fast), and stopped for longer than
                  INTAKE_STALE_MS, while turns run on both: 503 unavailable
                  meanwhile, never a 500 or a crash, both nodes serve again
                  by themselves, every reply row ends final with all the
                  text its visitor saw

The last line printed is "integration_nodes: N passed, N failed".
"""

import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

# Before the harness is imported: it reads the engine once (and re-runs
# this file under Debian's python3 when psycopg2 is missing here).
os.environ["INTAKE_TEST_ENGINE"] = "postgresql"

import harness  # noqa: E402
from harness import (ADMIN, EXTRACTOR, SANITIZER_MARKS, TOP,  # noqa: E402
                     HarnessError, Server, collect, delta_text, main,
                     read_events)

STALE_MS = 2000         # INTAKE_STALE_MS of the kill and outage nodes
FOLLOW_WAIT = 60.0      # a follow or a turn ending (a loaded machine)
RECOVER_WAIT = 30.0     # both nodes serving again after PostgreSQL is back
FINAL_WAIT = 60.0       # every reply row final after the outage
JOBS_WAIT = 120.0       # 32 extractors under ASan on a shared machine

TEXT = ("Hi, my name is Jane Doe. I was in a car accident last week and "
        "my phone is 555-123-4567.")


def now_ms():
    return int(time.time() * 1000)


def iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                         time.gmtime(time.time() if t is None else t))


# --------------------------------------------------------------------------
# two nodes on one database

class NodesTestCase(unittest.TestCase):
    """Two nodes per class: cls.a and cls.b (harness Servers), the same
    database, INTAKE_NODE a and b; every test checks both logs for
    sanitizer reports, and so does the end of the class."""

    node_env = {}
    word_delay_ms = 5
    a = None
    b = None
    nodes = ()

    @classmethod
    def setUpClass(cls):
        # The cluster first: if PostgreSQL cannot start here the class
        # fails (ClusterError), it is not skipped.
        harness.pg()
        env = {"INTAKE_ADMIN_TOKEN": ADMIN}
        env.update(cls.node_env)
        cls.nodes = []
        try:
            a = Server(dict(env, INTAKE_NODE="a"), cls.word_delay_ms,
                       cls.__name__ + "-a")
            cls.nodes.append(a)
            a.init_db()
            b = Server(dict(env, INTAKE_NODE="b"), cls.word_delay_ms,
                       cls.__name__ + "-b", db_uri=a.db_uri)
            cls.nodes.append(b)
            cls.a, cls.b = a, b
            cls.before_start()
            a.start()
            b.start()
        except BaseException:
            for srv in reversed(cls.nodes):
                srv.stop()
                found = srv.sanitizer_findings(False)
                if found:
                    harness.SANITIZER_REPORTS.append((srv.name, found))
                sys.stderr.write("%s log tail:\n%s\n" % (srv.name,
                                                         srv.log_tail()))
            for srv in reversed(cls.nodes):
                srv.cleanup()
            cls.nodes = []
            raise

    @classmethod
    def before_start(cls):
        """Hook: the database exists, neither node runs yet."""

    @classmethod
    def tearDownClass(cls):
        found = []
        # b first: a made the database and drops it at its cleanup.
        for srv in reversed(cls.nodes):
            srv.stop()
            f = srv.sanitizer_findings()
            if f:
                harness.SANITIZER_REPORTS.append((srv.name, f))
                found.append(f)
        for srv in reversed(cls.nodes):
            srv.cleanup()
        cls.nodes = []
        if found:
            raise AssertionError("sanitizer report in a node's log (after "
                                 "stop):\n" + "\n".join(found))

    def tearDown(self):
        for srv in self.nodes:
            found = srv.sanitizer_findings()
            if found:
                harness.SANITIZER_REPORTS.append((self.id(), found))
                self.fail("sanitizer report in %s's log during this test:"
                          "\n%s" % (srv.name, found))

    # ---- helpers
    def start_turn(self, srv, conv, token, text):
        r = srv.post_message(conv, token, text, timeout=60)
        if r.status != 200:
            body = r.read_body()
            r.close()
            self.fail("POST messages on %s: %d %r" % (srv.name, r.status,
                                                      body[:300]))
        self.addCleanup(r.close)
        return r

    def check_stream(self, events, want_turn=None, want_status="complete",
                     what="stream"):
        """turn first, deltas with cumulative byte ids, the end last;
        (turn event data, text)."""
        names = [e.event for e in events]
        self.assertTrue(names, "%s: no events" % what)
        self.assertEqual(names[0], "turn", "%s: %s" % (what, names))
        end = "done" if want_status in ("complete", "cancelled") else "error"
        self.assertEqual(names[-1], end, "%s: %s (last %r)" % (
            what, names, events[-1].data))
        self.assertTrue(all(n == "delta" for n in names[1:-1]),
                        "%s: %s" % (what, names))
        self.assertEqual(events[-1].data.get("status"), want_status,
                         "%s: %r" % (what, events[-1].data))
        total = 0
        for e in events[1:-1]:
            total += len(e.data["text"].encode("utf-8"))
            self.assertEqual(e.id, str(total), "%s: delta id %r, bytes so "
                             "far %d" % (what, e.id, total))
        if want_turn is not None:
            self.assertEqual(events[0].data["turn"], want_turn, what)
        return events[0].data, delta_text(events)

    def msg_row(self, mid):
        rows = self.a.query("SELECT * FROM messages WHERE id = ?",
                            (int(mid),))
        self.assertEqual(len(rows), 1, "no message %s" % mid)
        return rows[0]


def read_in_thread(it, out, errors):
    """Consume the event iterator it into out in a thread (errors gets
    what it raised); the Thread, started."""
    def run():
        try:
            for ev in it:
                out.append(ev)
        except Exception as e:      # noqa: BLE001 (reported by the test)
            errors.append(e)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def collect_within(resp, timeout, what):
    """Every event of resp, the stream ending within timeout seconds
    (pings would keep a socket timeout from ever firing)."""
    out, errors = [], []
    th = read_in_thread(read_events(resp), out, errors)
    th.join(timeout)
    if th.is_alive():
        resp.close()
        th.join(5)
        raise AssertionError("%s: no end within %.0f s (last events %r)" %
                             (what, timeout, [e.event for e in out][-5:]))
    if errors:
        raise errors[0]
    return out


# --------------------------------------------------------------------------
# 1 and 2: following and alternating

class FollowTests(NodesTestCase):
    word_delay_ms = 80      # a reply of a few seconds
    # The next turn's head waits at the other node for a whole reply.
    node_env = {"INTAKE_BODY_TIMEOUT_MS": "60000"}

    def test_reply_written_on_a_followed_from_b(self):
        """B's events of a reply A is writing: B's deltas arrive while A
        streams, add up to A's reply, and end with done; the row holds
        the same text."""
        conv, token = self.a.create_conversation()
        r = self.start_turn(self.a, conv, token, TEXT)
        it = read_events(r)
        first = next(it)
        self.assertEqual(first.event, "turn", first)
        a_events, errors = [first], []
        th = read_in_thread(it, a_events, errors)
        # The placeholder is committed before A's first event: B finds it.
        rb = self.b.events(conv, token=token)
        self.addCleanup(rb.close)
        self.assertEqual(rb.status, 200, rb.read_body()[:300]
                         if rb.status != 200 else "")
        b_events = collect_within(rb, FOLLOW_WAIT, "B's follow")
        th.join(FOLLOW_WAIT)
        self.assertFalse(th.is_alive(), "A's stream did not end")
        self.assertFalse(errors, "A's stream: %r" % errors)
        ta, text_a = self.check_stream(a_events, 1, what="A's stream")
        tb, text_b = self.check_stream(b_events, 1, what="B's stream")
        self.assertEqual(tb["assistant_message_id"],
                         ta["assistant_message_id"])
        self.assertEqual(text_b, text_a, "B's deltas differ from A's reply")
        # B followed it while it was written, not a replay after the end.
        a_done = a_events[-1].t
        early = [e for e in b_events if e.event == "delta" and e.t < a_done]
        self.assertGreaterEqual(
            len(early), 2, "B got %d deltas before A's done (of %d): not "
            "followed while streaming" % (len(early), len(b_events) - 2))
        row = self.msg_row(ta["assistant_message_id"])
        self.assertEqual((row["status"], row["text"], row["owner_node"]),
                         ("complete", text_a, "a"))
        got = self.b.get_conversation(conv, token)["messages"]
        self.assertEqual([(m["role"], m["status"], m["text"]) for m in got],
                         [("user", "complete", TEXT),
                          ("assistant", "complete", text_a)])

    def test_turns_alternate_between_nodes(self):
        """Six turns of one conversation, odd ones on A, even ones on B.
        Each next request waits at the other node with its head sent and
        its body held back; the body goes the moment the previous turn's
        done arrives: the node that wrote done had saved the reply final
        before (else the other node answers 409 turn_in_progress)."""
        conv, token = self.a.create_conversation()
        texts = ["Hello, my name is Maria Lopez.",
                 "My email is maria.lopez@example.com.",
                 "It is about a divorce.",
                 "You can call me at 555-201-3344.",
                 "It is quite urgent, the hearing is next week.",
                 "That is all, thank you."]
        want = []
        r = self.start_turn(self.a, conv, token, texts[0])
        for i, text in enumerate(texts, 1):
            srv = self.a if i % 2 else self.b
            nxt = None
            if i < len(texts):
                nxt = open_post(self.b if i % 2 else self.a, conv, token,
                                texts[i])
                self.addCleanup(nxt[0].close)
            events = []
            for ev in read_events(r):
                events.append(ev)
                if ev.event in ("done", "error"):
                    break
            if nxt is not None:
                nxt[0].sendall(nxt[1])      # the next turn goes out now
            r.close()
            t, reply = self.check_stream(events, i, what="turn %d on %s" %
                                         (i, srv.name))
            want.append(("user", i, text, "complete"))
            want.append(("assistant", i, reply, "complete"))
            row = self.msg_row(t["assistant_message_id"])
            self.assertEqual(row["owner_node"], "a" if i % 2 else "b",
                             "turn %d written by the wrong node" % i)
            if nxt is not None:
                r = harness.Response(nxt[0], "POST")
                if r.status != 200:
                    self.fail("turn %d, sent on done of turn %d: %d %r" % (
                        i + 1, i, r.status, r.read_body()[:300]))
        for srv in (self.a, self.b):
            msgs = srv.get_conversation(conv, token)["messages"]
            self.assertEqual(len(msgs), 12, "%s: %r" % (srv.name, msgs))
            self.assertEqual([(m["role"], m["turn"], m["text"], m["status"])
                              for m in msgs], want,
                             "GET on %s" % srv.name)


def open_post(srv, conv, token, text):
    """A POST of a message to srv whose head goes now and whose body the
    caller sends later: (socket, body)."""
    body = json.dumps({"text": text}).encode()
    head = ("POST /api/conversations/%s/messages HTTP/1.1\r\n"
            "Host: 127.0.0.1:%d\r\nConnection: close\r\n"
            "User-Agent: intake-integration\r\n"
            "Authorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (conv, srv.port, token,
                                            len(body)))
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
    sock.settimeout(60)
    sock.sendall(head.encode("latin-1"))
    return sock, body


SECRET = "pw-" + base64.urlsafe_b64encode(os.urandom(12)).decode()


class SecretTests(NodesTestCase):
    """A password in INTAKE_DB (libpq takes it in the URI; the test
    cluster trusts the socket, so any password does) never reaches a
    log, an answer or --check: not while serving, not when the database
    cannot be reached."""

    @classmethod
    def before_start(cls):
        for srv in (cls.a, cls.b):
            srv.env["INTAKE_DB"] = srv.db_uri + "&password=" + SECRET

    def check_output(self, env):
        r = subprocess.run([os.path.join(harness.BUILD_DIR, "intake.fcgi"),
                            "--check"], env=env, capture_output=True,
                           timeout=60)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertNotIn(SECRET, out)
        return out

    def test_no_password_anywhere(self):
        conv, token = self.a.create_conversation()
        r, events = self.b.turn(conv, token, "My name is Jane Roe.")
        self.assertEqual(events[-1].event, "done")
        for srv in (self.a, self.b):
            status, _, body = srv.call("GET", "/api/health",
                                       headers={"Authorization":
                                                "Bearer " + ADMIN})
            self.assertNotIn(SECRET.encode(), body)
        out = self.check_output(self.a.env)
        self.assertIn("Database: PostgreSQL", out)
        # A database that is not there: libpq's reason, no URI.
        bad = dict(self.a.env, INTAKE_DB=self.a.env["INTAKE_DB"].replace(
            "postgresql:///", "postgresql:///no_such_db_"))
        out = self.check_output(bad)
        self.assertIn("problem: Database", out)
        self.assertIn("no_such_db_", out, "libpq's reason is not said")
        for srv in (self.a, self.b):
            self.assertNotIn(SECRET, srv.log_text(), srv.name)


class SharedLimitTests(NodesTestCase):
    """The per-address limits are counted in the database, so they hold
    across nodes: an address that spreads its requests over both nodes
    gets no more than one node would give it."""
    node_env = {"INTAKE_RATE_CONVERSATIONS": "6"}

    def test_rate_limit_shared_by_both_nodes(self):
        got = []
        for i in range(6):
            node = self.a if i % 2 == 0 else self.b
            status, _, body = node.call("POST", "/api/conversations")
            got.append(status)
        self.assertEqual(got, [201] * 6, "the first six, three a node")
        # The seventh, on either node, is over the address's minute.
        for node in (self.a, self.b):
            status, headers, body = node.call("POST", "/api/conversations")
            self.assertEqual(status, 429, "node %s: %r" % (node.name,
                                                           body[:200]))
            self.assertIn(b"rate_limited", body)


# --------------------------------------------------------------------------
# 3: extractors of both nodes racing on one lead

RACE_TURNS = 96
RACE_EXTRACTORS = 16        # per node
NAMES = ("Ann Lee", "Jane Doe", "Bob Stone", "Maria Lopez", "Tom Reed")


def race_text(k):
    """Turn k's message: every turn corrects the phone and the e-mail,
    some give a name, an urgency, a matter: the latest turn's values win
    only if the merges are serialised."""
    s = ["You can reach me at 555-%03d-%04d." % (200 + k, (k * 7919) % 10000),
         "My email is client%d@example.com." % k]
    if k % 3 == 0:
        s.append("My name is %s." % NAMES[k % len(NAMES)])
    if k % 4 == 0:
        s.append("It is urgent.")
    if k % 5 == 0:
        s.append("It is about a divorce.")
    elif k % 7 == 0:
        s.append("I was in a car accident.")
    return " ".join(s)


def plant_conversation(srv, turns):
    """A conversation of turns complete turns, straight into the database;
    its id."""
    conv = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    ts = iso(time.time() - 60)
    c = srv.db_rw()
    try:
        with c:
            c.execute("INSERT INTO conversations (id, token, created_at, "
                      "updated_at) VALUES (?, 't', ?, ?)", (conv, ts, ts))
            for k in range(1, turns + 1):
                text = race_text(k)
                c.execute("INSERT INTO messages (conversation_id, turn, "
                          "role, status, text, length, created_at, "
                          "updated_at) VALUES (?, ?, 'user', 'complete', ?, "
                          "?, ?, ?)", (conv, k, text, len(text.encode()),
                                       ts, ts))
                c.execute("INSERT INTO messages (conversation_id, turn, "
                          "role, status, text, length, created_at, "
                          "updated_at) VALUES (?, ?, 'assistant', "
                          "'complete', 'Thank you.', 10, ?, ?)",
                          (conv, k, ts, ts))
    finally:
        c.close()
    return conv


def insert_jobs(c, conv, turns, shuffle):
    """On connection c (not committed): a pending job for each turn, in a
    shuffled order when asked (the claim order is then not the turn
    order)."""
    order = list(range(1, turns + 1))
    if shuffle:
        random.shuffle(order)
    ts = iso()
    for k in order:
        c.execute("INSERT INTO jobs (conversation_id, turn, state, "
                  "created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)",
                  (conv, k, ts, ts))


def plant_jobs(srv, conv, turns, shuffle):
    c = srv.db_rw()
    try:
        with c:
            insert_jobs(c, conv, turns, shuffle)
    finally:
        c.close()


def audit_breaks(srv, conv, fields=("phone", "email")):
    """The extraction audit against one serial order.  Every turn gives
    these fields at one strength, so the rule is "the later turn wins";
    the audit rows are inserted inside the merge's locked transaction, so
    their id order is the merges' order.  Replayed in that order, a row
    must list a field in fields_won iff its turn is above every earlier
    row's.  A merge that read the lead before another committed and then
    overwrote it (a lost update) claims a win the replay refuses.  The
    rows that disagree: (id, turn, field, best turn before, won)."""
    rows = srv.query("SELECT id, turn, fields_won, fields_json FROM "
                     "extractions WHERE conversation_id = ? ORDER BY id",
                     (conv,))
    best = dict.fromkeys(fields, 0)
    bad = []
    for r in rows:
        won = set(filter(None, r["fields_won"].split(",")))
        vals = json.loads(r["fields_json"])
        for f in fields:
            if f not in vals:
                bad.append((r["id"], r["turn"], f, "not extracted", None))
                continue
            if (f in won) != (r["turn"] > best[f]):
                bad.append((r["id"], r["turn"], f, best[f], f in won))
            best[f] = max(best[f], r["turn"])
    return bad


def lead_of(srv, conv):
    return sorted(tuple(r) for r in srv.query(
        "SELECT field, value, strength, turn, source FROM lead_fields "
        "WHERE conversation_id = ?", (conv,)))


class RaceTests(NodesTestCase):
    word_delay_ms = 1
    # Every one of a node's 16 may run at once (the cap is per node).
    # The claims wait at the start line (below) within the busy timeout.
    node_env = {"INTAKE_MAX_EXTRACTORS": str(RACE_EXTRACTORS * 2),
                "INTAKE_BUSY_TIMEOUT_MS": "60000"}

    @classmethod
    def before_start(cls):
        # The reference: the same turns, their jobs run one after another
        # by a single extractor before anything else runs.
        cls.ref = plant_conversation(cls.a, RACE_TURNS)
        plant_jobs(cls.a, cls.ref, RACE_TURNS, shuffle=False)
        p = subprocess.run([EXTRACTOR, "--sweep"], env=cls.a.env, cwd=TOP,
                           capture_output=True, timeout=JOBS_WAIT)
        if p.returncode != 0:
            raise HarnessError("reference --sweep exited %d: %s" % (
                p.returncode, p.stderr.decode("utf-8", "replace")[-2000:]))
        cls.conv = plant_conversation(cls.a, RACE_TURNS)

    def start_line(self, procs):
        """The race's jobs and its 32 extractors (appended to procs), all
        at a start line: the jobs table locked (EXCLUSIVE: reads go on,
        claims wait) while the jobs are inserted and the extractors start,
        so that they claim together rather than the first few draining
        everything while the others still load."""
        gate = self.a.db_rw()
        try:
            gate.execute("LOCK TABLE jobs IN EXCLUSIVE MODE")
            insert_jobs(gate, self.conv, RACE_TURNS, shuffle=True)
            for i in range(RACE_EXTRACTORS * 2):
                srv = self.a if i % 2 == 0 else self.b
                procs.append((srv.name, subprocess.Popen(
                    [EXTRACTOR, "--drain"], env=srv.env, cwd=TOP,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)))

            def waiting():
                if any(p.poll() is not None for _, p in procs):
                    return True
                return self.a.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock'"
                )[0][0] >= len(procs)
            try:
                self.a.wait_for(waiting, 60, 0.05, "the extractors at the "
                                "start line")
            except AssertionError as e:
                sys.stderr.write("RaceTests: %s; released anyway\n" % e)
            gate.commit()
        finally:
            gate.close()

    def test_32_extractors_on_two_nodes_lose_nothing(self):
        ref_jobs = self.a.query("SELECT state FROM jobs WHERE "
                                "conversation_id = ?", (self.ref,))
        self.assertEqual([r["state"] for r in ref_jobs],
                         ["done"] * RACE_TURNS, "the reference run")
        ref = lead_of(self.a, self.ref)
        by_field = {f[0]: f for f in ref}
        # The reference is what the rule says: the last turn's phone and
        # e-mail (every turn corrects them at the same strength).
        self.assertEqual((by_field["email"][1], by_field["email"][3]),
                         ("client%d@example.com" % RACE_TURNS, RACE_TURNS),
                         ref)
        self.assertEqual(by_field["phone"][3], RACE_TURNS, ref)
        self.assertEqual(audit_breaks(self.a, self.ref), [],
                         "the reference's audit")

        procs = []
        try:
            self.start_line(procs)
            deadline = time.monotonic() + JOBS_WAIT
            outs = []
            for name, p in procs:
                out, err = p.communicate(timeout=max(1.0, deadline -
                                                     time.monotonic()))
                outs.append((name, p.returncode,
                             err.decode("utf-8", "replace")))
        finally:
            for _, p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for name, rc, err in outs:
            self.assertEqual(rc, 0, "an extractor of %s exited %d: %s" % (
                name, rc, err[-2000:]))
            self.assertFalse(any(m in err for m in SANITIZER_MARKS),
                             "sanitizer report from an extractor of %s:\n%s"
                             % (name, err[-4000:]))

        # Every job done, each claimed once, by a node's extractor.
        jobs = self.a.wait_for(
            lambda: (lambda rows: rows if all(r["state"] == "done"
                                              for r in rows) else None)(
                self.a.query("SELECT turn, state, tries, node FROM jobs "
                             "WHERE conversation_id = ? ORDER BY turn",
                             (self.conv,))),
            JOBS_WAIT, 0.2, "every job of the race done")
        self.assertEqual([r["turn"] for r in jobs],
                         list(range(1, RACE_TURNS + 1)))
        twice = [(r["turn"], r["tries"]) for r in jobs if r["tries"] != 1]
        self.assertEqual(twice, [], "jobs claimed more than once "
                         "(turn, tries)")
        nodes = {r["node"] for r in jobs}
        self.assertLessEqual(nodes, {"a", "b"}, nodes)
        self.assertEqual(nodes, {"a", "b"}, "the jobs did not run on both "
                         "nodes: %r" % nodes)
        # One audit row per job: none run twice, none lost.
        ex = self.a.query("SELECT turn, source FROM extractions WHERE "
                          "conversation_id = ? ORDER BY turn",
                          (self.conv,))
        self.assertEqual(len(ex), len(jobs), "extractions != jobs")
        self.assertEqual([(r["turn"], r["source"]) for r in ex],
                         [(k, "rules") for k in range(1, RACE_TURNS + 1)])
        # Each merge saw the one before it (no lost update).
        self.assertEqual(audit_breaks(self.a, self.conv), [],
                         "merges that won over a later turn already "
                         "stored: (id, turn, field, stored turn, won)")
        # The lead is the per-field maximum: what one extractor made.
        got = lead_of(self.a, self.conv)
        self.assertEqual(got, ref, "the raced lead differs from the one "
                         "made by one extractor")
        urg = "SELECT urgency FROM leads WHERE conversation_id = ?"
        self.assertEqual(self.a.query(urg, (self.conv,))[0][0],
                         self.a.query(urg, (self.ref,))[0][0])
        # Both nodes read the same lead.
        details = []
        for srv in (self.a, self.b):
            status, _, body = srv.call("GET", "/api/leads/%s" % self.conv,
                                       None, Server.auth(ADMIN))
            self.assertEqual(status, 200, body[:300])
            details.append({k: (v["value"], v["strength"], v["turn"])
                            for k, v in json.loads(body)["fields"].items()})
        self.assertEqual(details[0], details[1])
        self.assertEqual(details[0], {f: (v, s, t) for f, v, s, t, _ in got})


# --------------------------------------------------------------------------
# 4: a node killed mid-reply

class KillTests(NodesTestCase):
    word_delay_ms = 200     # 30-odd words: several seconds
    node_env = {"INTAKE_STALE_MS": str(STALE_MS)}

    def test_node_killed_mid_reply(self):
        a, b = self.a, self.b
        conv, token = a.create_conversation()
        r = self.start_turn(a, conv, token, TEXT)
        seen = []
        it = read_events(r)
        for ev in it:
            seen.append(ev)
            if sum(e.event == "delta" for e in seen) >= 4:
                break
        self.assertEqual(seen[0].event, "turn", seen)
        mid = int(seen[0].data["assistant_message_id"])
        # Something saved (a part) before the kill.
        a.wait_for(lambda: self.msg_row(mid)["length"] > 0, 20, 0.05,
                   "a part of the reply saved")
        self.assertEqual(self.msg_row(mid)["status"], "streaming",
                         "the reply ended before the kill: make it longer")
        fcgi = a.fcgi_pids()
        self.assertTrue(fcgi, "no intake.fcgi under A's lighttpd")
        for pid in fcgi:
            os.kill(pid, 9)
        a.proc.kill()
        a.proc.wait(10)
        # What A's visitor saw, to the cut.
        try:
            for ev in it:
                seen.append(ev)
        except (HarnessError, OSError):
            pass
        r.close()
        self.assertNotIn(seen[-1].event, ("done", "error"),
                         "A's reply ended before the kill")
        visitor = delta_text(seen)

        # While its heartbeat is fresh, B leaves the reply alone (A's pid
        # means nothing on B).
        row = self.msg_row(mid)
        self.assertEqual(row["owner_node"], "a")
        hb = row["heartbeat_at"]
        status, _, body = b.call("GET", "/api/conversations/%s" % conv,
                                 None, Server.auth(token))
        asked_by = now_ms()
        self.assertEqual(status, 200, body[:300])
        fresh = asked_by < hb + STALE_MS
        if fresh:
            self.assertEqual(json.loads(body)["messages"][1]["status"],
                             "streaming", "B marked a reply whose heartbeat "
                             "was %d ms old (INTAKE_STALE_MS %d)" % (
                                 asked_by - hb, STALE_MS))
        else:
            sys.stderr.write("KillTests: too slow to ask B within "
                             "INTAKE_STALE_MS of the last heartbeat (%d ms):"
                             " not checked\n" % (asked_by - hb))
        parts = self.a.query("SELECT \"offset\", text FROM message_parts "
                             "WHERE message_id = ? ORDER BY \"offset\"",
                             (mid,))
        saved = "".join(p["text"] for p in parts) if \
            self.msg_row(mid)["status"] == "streaming" else None

        # B follows it: the saved text, then interrupted once stale.
        rb = b.events(conv, token=token)
        self.addCleanup(rb.close)
        self.assertEqual(rb.status, 200)
        evs = collect_within(rb, FOLLOW_WAIT, "B's follow")
        marked_at = now_ms()
        names = [e.event for e in evs]
        self.assertEqual(names[0], "turn", names)
        self.assertEqual(names[-1], "error", names)
        self.assertEqual(evs[-1].data.get("status"), "interrupted", evs[-1])
        self.assertGreaterEqual(marked_at, hb + STALE_MS)
        row = self.msg_row(mid)
        self.assertEqual(row["status"], "interrupted")
        self.assertTrue(row["text"], "no text kept")
        if saved is not None:
            self.assertEqual(row["text"], saved, "the saved parts were not "
                             "what was kept")
        self.assertEqual(delta_text(evs), row["text"])
        self.assertEqual(row["length"], len(row["text"].encode()))
        self.assertTrue(visitor.startswith(row["text"]),
                        "kept %r, A's visitor saw %r" % (row["text"],
                                                          visitor))

        # B takes the next turn.
        r2 = self.start_turn(b, conv, token, "Are you still there?")
        self.check_stream(collect(r2), 2, what="turn 2 on B")
        msgs = b.get_conversation(conv, token)["messages"]
        self.assertEqual([(m["turn"], m["role"], m["status"]) for m in msgs],
                         [(1, "user", "complete"),
                          (1, "assistant", "interrupted"),
                          (2, "user", "complete"),
                          (2, "assistant", "complete")])
        self.assertEqual(msgs[1]["text"], row["text"])
        # No job lost with A: both turns' extractions run (on B).
        jobs = b.wait_for(lambda: (lambda rows: rows if len(rows) == 2 and
                                   all(j["state"] == "done" for j in rows)
                                   else None)(
            b.query("SELECT turn, state, node FROM jobs WHERE "
                    "conversation_id = ? ORDER BY turn", (conv,))),
            FOLLOW_WAIT, 0.2, "both jobs of the conversation done")
        self.assertEqual([j["node"] for j in jobs], ["b", "b"])


# --------------------------------------------------------------------------
# 5: PostgreSQL restarted under load

class Traffic:
    """Turns and reads on one node in threads, each outcome recorded:
    (node, kind, t_start, t_end, status, detail)."""

    def __init__(self, srv, probe_conv, probe_token):
        self.srv = srv
        self.probe = (probe_conv, probe_token)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results = []       # (kind, t0, t1, status, code)
        self.turns = []         # dicts, one per 200 turn
        self.errors = []
        self.threads = []

    def record(self, kind, t0, status, headers, body):
        """A non-200 answer must be the contract's JSON error."""
        code = None
        if status >= 400:
            try:
                obj = json.loads(body)
                code = obj["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "NOT JSON: %r" % body[:200]
            if not headers.get("content-type", "").startswith(
                    "application/json"):
                code = "%s (Content-Type %r)" % (
                    code, headers.get("content-type"))
        with self.lock:
            self.results.append((kind, t0, time.monotonic(), status, code))

    def guarded(self, fn):
        def run():
            while not self.stop.is_set():
                try:
                    fn()
                except Exception as e:      # noqa: BLE001
                    with self.lock:
                        self.errors.append(repr(e))
                    time.sleep(0.05)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        self.threads.append(th)

    def one_turn(self):
        srv = self.srv
        t0 = time.monotonic()
        status, headers, body = srv.call("POST", "/api/conversations",
                                         timeout=60)
        self.record("create", t0, status, headers, body)
        if status != 201:
            time.sleep(0.05)
            return
        obj = json.loads(body)
        conv, token = obj["id"], obj["token"]
        t0 = time.monotonic()
        r = srv.post_message(conv, token, TEXT, timeout=60)
        if r.status != 200:
            body = r.read_body()
            r.close()
            self.record("turn", t0, r.status, r.headers, body)
            time.sleep(0.05)
            return
        events, cut = [], None
        try:
            for ev in read_events(r):
                events.append(ev)
        except (HarnessError, OSError) as e:
            cut = repr(e)
        finally:
            r.close()
        self.record("turn", t0, 200, r.headers, b"")
        with self.lock:
            self.turns.append({"node": srv.name, "t0": t0,
                               "t1": time.monotonic(), "conv": conv,
                               "events": events, "cut": cut})

    def one_read(self):
        t0 = time.monotonic()
        status, headers, body = self.srv.call(
            "GET", "/api/conversations/%s" % self.probe[0], None,
            Server.auth(self.probe[1]), timeout=60)
        self.record("read", t0, status, headers, body)
        time.sleep(0.02)

    def start(self, turners=2):
        for _ in range(turners):
            self.guarded(self.one_turn)
        self.guarded(self.one_read)

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(90)
        return not any(th.is_alive() for th in self.threads)


def pg_down_for(seconds):
    """PostgreSQL stopped (fast: sessions cut), kept down for seconds,
    started again at the same socket.  (pg_cluster's own pg_ctl: it has
    restart() but no stop that keeps the cluster.)"""
    c = harness.pg()
    c._pg_ctl("stop", "-m", "fast")
    time.sleep(seconds)
    c._pg_ctl("start")


class OutageTests(NodesTestCase):
    word_delay_ms = 40      # replies of a second or two: some span it
    node_env = {"INTAKE_STALE_MS": str(STALE_MS)}

    def test_postgresql_restarted_under_load(self):
        """pg_ctl restart -m fast (a fraction of a second down)."""
        self.outage(lambda: harness.pg().restart())

    def test_postgresql_down_for_seconds_under_load(self):
        """Down longer than INTAKE_STALE_MS: writers cannot beat their
        hearts, so a reader may mark a live reply interrupted; the writer's
        end must still keep every streamed byte."""
        self.outage(lambda: pg_down_for(STALE_MS / 1000.0 + 2))

    def outage(self, down):
        """Turns and reads on both nodes; down() takes PostgreSQL away and
        back; then what every request got and what every reply row holds."""
        a, b = self.a, self.b
        pids = {srv.name: sorted(srv.fcgi_pids()) for srv in (a, b)}
        for srv in (a, b):
            self.assertTrue(pids[srv.name], "no intake.fcgi on %s" %
                            srv.name)
        traffic = []
        for srv in (a, b):
            conv, token = srv.create_conversation()
            srv.turn(conv, token, "Hello.")
            traffic.append(Traffic(srv, conv, token))
        for t in traffic:
            t.start()
        try:
            time.sleep(2.0)
            t_down = time.monotonic()
            down()
            t_up = time.monotonic()

            # Both nodes serve whole turns again, by themselves.
            def recovered():
                ok = set()
                for t in traffic:
                    with t.lock:
                        for turn in t.turns:
                            ev = turn["events"]
                            if turn["t0"] > t_up and ev and \
                                    ev[-1].event == "done" and \
                                    ev[-1].data.get("status") == "complete":
                                ok.add(turn["node"])
                return ok == {a.name, b.name}
            a.wait_for(recovered, RECOVER_WAIT, 0.1,
                       "a complete turn on both nodes after the restart")
            time.sleep(1.0)
        finally:
            stopped = all([t.finish() for t in traffic])
        self.assertTrue(stopped, "a request hung past its timeout")
        for t in traffic:
            self.assertEqual(t.errors, [], "%s: requests that failed at the "
                             "HTTP level" % t.srv.name)

        # Never a 500, never a crash: every failure is the JSON 503.
        results = [(t.srv.name,) + r for t in traffic for r in t.results]
        bad = [r for r in results if r[4] not in (200, 201) and
               (r[4], r[5]) != (503, "unavailable")]
        self.assertEqual(bad, [], "answers other than 200/201 or 503 "
                         "unavailable (node, kind, t0, t1, status, code)")
        n503 = sum(1 for r in results if r[4] == 503)
        self.assertGreater(n503, 0, "no request saw the outage (%.1f s "
                           "down): nothing was tested" % (t_up - t_down))
        late = [r for r in results if r[4] == 503 and
                r[2] > t_up + RECOVER_WAIT]
        self.assertEqual(late, [], "503 long after PostgreSQL was back")
        self.assertEqual({srv.name: sorted(srv.fcgi_pids())
                          for srv in (a, b)}, pids,
                         "an intake.fcgi was restarted (crashed?)")

        # No reply lost beyond what its visitor saw.
        turns = [x for t in traffic for x in t.turns]
        across = [x for x in turns if x["t0"] < t_up and x["t1"] > t_down]
        self.assertTrue(across, "no reply was streaming during the outage")
        finals = []
        for turn in turns:
            ev = turn["events"]
            self.assertTrue(ev and ev[0].event == "turn",
                            "a 200 turn without its turn event: %r" % turn)
            mid = int(ev[0].data["assistant_message_id"])
            seen = delta_text(ev)
            try:
                a.wait_for(lambda: self.msg_row(mid)["status"] !=
                           "streaming", FINAL_WAIT, 0.2, "reply %d final" %
                           mid)
            except AssertionError as e:
                row = self.msg_row(mid)
                self.fail("%s: the row %r; its visitor (on %s, %.1f-%.1f s "
                          "after the outage began) got %r ending %r, %d "
                          "bytes of text; parts saved: %r" % (
                              e, dict(zip(row.keys(), row)), turn["node"],
                              turn["t0"] - t_down, turn["t1"] - t_down,
                              [x.event for x in ev][-3:], ev[-1].data,
                              len(seen.encode()), [tuple(x) for x in a.query(
                                  "SELECT \"offset\", length(text) FROM "
                                  "message_parts WHERE message_id = ?",
                                  (mid,))]))
            row = self.msg_row(mid)
            what = "reply %d on %s (%r, cut %r): row %r %r" % (
                mid, turn["node"], [e.event for e in ev][-2:], turn["cut"],
                row["status"], row["error"])
            if turn in across:
                finals.append("%s/%s" % (ev[-1].data.get("status"),
                                         row["status"]))
            self.assertIn(row["status"], ("complete", "interrupted",
                                          "error"), what)
            end = ev[-1] if ev[-1].event in ("done", "error") else None
            if end is None:
                self.assertTrue(row["text"].startswith(seen), what)
                continue
            self.assertEqual(row["text"], seen, what + ": text differs")
            if end.event == "done":
                self.assertEqual(row["status"], "complete", what)

        counts = {}
        for r in results:
            counts[(r[0][-1], r[1], r[4])] = counts.get(
                (r[0][-1], r[1], r[4]), 0) + 1
        sys.stderr.write("\n%s: down %.1f s; %s; %d turns, %d across the "
                         "outage (seen/row: %s)\n" % (
                             self.id().split(".")[-1], t_up - t_down,
                             ", ".join("%s %s %d: %d" % (k + (v,))
                                       for k, v in sorted(counts.items())),
                             len(turns), len(across), ", ".join(finals)))


if __name__ == "__main__":
    main("integration_nodes", engine_suffix=False)
