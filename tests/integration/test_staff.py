"""test_staff.py: the firm's side through the real lighttpd, intake.fcgi
and intake-extract on a real SQLite file (DESIGN.md, "Staff workspace and
privacy (contract v1)"): the lead as staff read it (status, transcript,
history, related leads, disclosure), PATCH of status and note, the list's
filters, search and paging, erasure (DELETE /api/conversations/{id},
also while a reply streams, with the bytes gone from the file and its
WAL), retention by intake-extract --sweep, and the disclosure text.

    make test-build && BUILD=build/test python3 tests/integration/test_staff.py

Leads are made the way visitors make them (turns to the built-in model,
read by the rules extractor), except the 250 planted by PagingTests
before its server starts (the paging is about the list's query, not the
merge).  Every bad request is checked to change nothing: the lead's
detail and the stored rows are read before and after.

This process is a child subreaper (harness.become_subreaper), so the
double-forked extractors are reaped.

The last line printed is "integration_staff: N passed, N failed".
"""

import datetime
import hashlib
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import (ADMIN, EXTRACTOR, FIELDS, TOP,  # noqa: E402
                     LeadChecks, ServerTestCase, delta_text, free_port,
                     main, read_events)

LEAD_WAIT = 15.0        # a turn's extraction landing
STATUSES = ("new", "contacted", "qualified", "declined", "spam")
URGENCIES = ("low", "normal", "high", "emergency")
LEAD_KEYS = {"conversation_id", "fields", "extractions", "notifications",
             "status", "transcript", "history", "related", "disclosure"}
TRANSCRIPT_KEYS = {"role", "turn", "text", "status", "created_at"}
HISTORY_KEYS = {"at", "by", "status", "note"}
TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
ERASED = {"status": "error", "message": "This conversation was erased."}

# Every table that holds something of a conversation, and how a row
# names it (message_parts goes through its message: see conv_rows).
CONV_TABLES = ("conversations", "messages", "leads", "lead_fields",
               "lead_history", "extractions", "jobs", "notifications",
               "stream_slots")

_rng = random.Random()


def setUpModule():
    harness.require_subreaper()


def tearDownModule():
    harness.reap_adopted()


def word(n=8):
    """Lower-case letters only: nothing the rules read as a number."""
    return "".join(_rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(n))


def name():
    """A full name no other lead of the run has."""
    return "Jane " + word(9).capitalize()


def phone():
    """(as the visitor writes it, as the rules store it)."""
    a, b = _rng.randint(200, 999), _rng.randint(0, 9999)
    return "555-%03d-%04d" % (a, b), "+1555%03d%04d" % (a, b)


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bearer(token):
    return harness.Server.auth(token)


class StaffChecks(LeadChecks):
    """Helpers mixed into ServerTestCase (INTAKE_ADMIN_TOKEN = ADMIN)."""

    # ---- HTTP
    def api(self, method, path, body=None, headers=None, admin=True,
            content_type=None):
        """(status, headers, JSON-or-None, raw body)."""
        h = dict(self.admin()) if admin else {}
        if headers:
            h.update(headers)
        kw = {}
        if content_type is not None:
            kw["content_type"] = content_type
        status, hdrs, raw = self.server.call(method, path, body, h, **kw)
        obj = None
        if raw:
            try:
                obj = json.loads(raw.decode("utf-8"))
            except ValueError:
                pass
        return status, hdrs, obj, raw

    def assert_error(self, status, obj, raw, want, code, what):
        self.assertEqual(status, want, "%s: %d %r" % (what, status,
                                                      raw[:300]))
        self.assertIsInstance(obj, dict, "%s: error body not JSON: %r" %
                              (what, raw[:300]))
        self.assertEqual(obj.get("error", {}).get("code"), code,
                         "%s: %r" % (what, obj))

    def get_lead(self, conv):
        status, _, obj, raw = self.api("GET", "/api/leads/%s" % conv)
        self.assertEqual(status, 200, raw[:300])
        return obj

    def patch(self, conv, body, headers=None, admin=True, content_type=None):
        return self.api("PATCH", "/api/leads/%s" % conv, body, headers,
                        admin, content_type)

    def leads(self, query=""):
        """GET /api/leads?query: the JSON (asserts 200)."""
        path = "/api/leads" + ("?" + query if query else "")
        status, hdrs, obj, raw = self.api("GET", path)
        self.assertEqual(status, 200, "GET %s: %d %r" % (path, status,
                                                         raw[:300]))
        self.assertTrue(hdrs.get("content-type", "").startswith(
            "application/json"), hdrs)
        self.assertIsInstance(obj.get("leads"), list, obj)
        return obj

    def lead_ids(self, query=""):
        return [l["conversation_id"] for l in self.leads(query)["leads"]]

    def walk(self, query, limit):
        """Page from the first page to an empty one, each after the last
        lead of the one before (its updated_at as before=, its id as
        before_id=); every page's ids in order, and the pages' sizes."""
        ids, sizes = [], []
        q = ("%s&" % query if query else "") + "limit=%d" % limit
        obj = self.leads(q)
        self.assertEqual(set(obj), {"leads"}, "the list's keys")
        for _ in range(1000):
            page = [l["conversation_id"] for l in obj["leads"]]
            self.assertLessEqual(len(page), limit)
            if not page:
                return ids, sizes
            ids += page
            sizes.append(len(page))
            last = obj["leads"][-1]
            obj = self.leads(q + "&before=%s&before_id=%s" % (
                urllib.parse.quote(last["updated_at"], safe=""),
                urllib.parse.quote(last["conversation_id"], safe="")))
        self.fail("paging did not end in 1000 pages")

    # ---- making leads
    def turn_ok(self, conv, token, text, extra=None):
        body = {"text": text}
        if extra:
            body.update(extra)
        r = self.server.post_message(conv, token, None, body=body)
        try:
            self.assertEqual(r.status, 200, r.read_body()[:300]
                             if r.status != 200 else "")
            events = list(read_events(r))
        finally:
            r.close()
        self.assertTrue(events and events[-1].event == "done" and
                        events[-1].data == {"status": "complete"},
                        "turn did not complete: %r" % events[-3:])
        return events

    def wait_jobs(self, conv, n):
        """Every one of conv's n jobs is done (or failed); then reap."""
        def probe():
            rows = self.server.query("SELECT state FROM jobs WHERE "
                                     "conversation_id = ?", (conv,))
            return len(rows) >= n and all(r["state"] in ("done", "failed")
                                          for r in rows)
        self.server.wait_for(probe, LEAD_WAIT, 0.05,
                             "%d job(s) of %s done" % (n, conv))
        harness.reap_adopted()

    def make_lead(self, *texts, extra=None):
        """A conversation with one turn per text, its extractions done:
        (conv, token, [events of each turn])."""
        conv, token = self.server.create_conversation()
        evs = []
        for i, t in enumerate(texts):
            evs.append(self.turn_ok(conv, token, t,
                                    extra if i == 0 else None))
        self.wait_jobs(conv, len(texts))
        return conv, token, evs

    # ---- stored state
    def table_rows(self, tables=("conversations", "messages", "leads",
                                 "lead_fields", "lead_history",
                                 "extractions", "jobs")):
        c = self.server.db()
        try:
            return {t: [tuple(r) for r in c.execute(
                "SELECT * FROM %s ORDER BY 1, 2" % t)] for t in tables}
        finally:
            c.close()

    def conv_rows(self, conv, message_ids=()):
        """{table: rows of conv}; message_parts by the given message ids
        and by conv's messages still there."""
        c = self.server.db()
        try:
            out = {}
            for t in CONV_TABLES:
                col = "id" if t == "conversations" else "conversation_id"
                out[t] = c.execute("SELECT count(*) FROM %s WHERE %s = ?" %
                                   (t, col), (conv,)).fetchone()[0]
            ids = set(message_ids) | {r[0] for r in c.execute(
                "SELECT id FROM messages WHERE conversation_id = ?",
                (conv,))}
            out["message_parts"] = sum(c.execute(
                "SELECT count(*) FROM message_parts WHERE message_id = ?",
                (i,)).fetchone()[0] for i in ids)
            return out
        finally:
            c.close()

    def file_bytes(self):
        """The database file and its -wal, as bytes (on PostgreSQL a dump
        of its rows: see Server.db_bytes)."""
        return self.server.db_bytes()

    def in_file(self, text, want=True):
        """Assert text is (or is not) in the database file or its -wal;
        a failure names where, not the whole file."""
        data = self.file_bytes()
        needle = text.encode("utf-8")
        at = data.find(needle)
        if want and at < 0:
            self.fail("precondition: %r is not in the database file nor "
                      "its WAL (%d bytes)" % (text, len(data)))
        if not want and at >= 0:
            self.fail("%r is still in the database file or its WAL at "
                      "byte %d (of %d): %r" % (
                          text, at, len(data),
                          data[max(0, at - 80):at + len(needle) + 80]))

    def unchanged(self, conv, fn, what):
        """fn() (a bad request) changes neither conv's detail nor a row."""
        before = (self.get_lead(conv) if conv else None, self.table_rows())
        fn()
        after = (self.get_lead(conv) if conv else None, self.table_rows())
        self.assertEqual(before[0], after[0], "%s changed the lead" % what)
        self.assertEqual(before[1], after[1], "%s changed stored rows" %
                         what)


# --------------------------------------------------------------------------
# GET /api/leads/{id}, PATCH, GET /api/disclosure (built-in text)

class LeadDetailTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 1

    def setUp(self):
        harness.reap_adopted()

    def test_detail_status_transcript_history(self):
        nm = name()
        shown, stored = phone()
        t1 = "My name is %s, I was in a car accident. My number is %s." % (
            nm, shown)
        # What a visitor may type: markup, quotes, a new line, accents, an
        # emoji, a backslash; kept exactly as sent.
        t2 = ('He said "<b>sorry</b>" & left;\nthen — café 😀 \\o/ '
              "<script>alert(1)</script>")
        conv, token, evs = self.make_lead(t1, t2)
        d = self.get_lead(conv)
        self.assertTrue(LEAD_KEYS <= set(d), "lead lacks %s: %r" % (
            LEAD_KEYS - set(d), sorted(d)))
        self.assertEqual(d["conversation_id"], conv)
        self.assertEqual(d["status"], "new")
        self.assertEqual(d["history"], [])
        self.assertEqual(d["related"], [])
        self.assertIsNone(d["disclosure"])
        self.assertIsInstance(d["notifications"], list)
        self.assertEqual(d["fields"]["full_name"]["value"], nm)
        self.assertEqual(d["fields"]["phone"]["value"], stored)
        tr = d["transcript"]
        self.assertEqual(len(tr), 4, tr)
        for m in tr:
            self.assertEqual(set(m), TRANSCRIPT_KEYS, m)
            self.assertRegex(m["created_at"], TIME_RE)
            self.assertEqual(m["status"], "complete", m)
        self.assertEqual([(m["role"], m["turn"]) for m in tr],
                         [("user", 1), ("assistant", 1), ("user", 2),
                          ("assistant", 2)])
        self.assertEqual(tr[0]["text"], t1)
        self.assertEqual(tr[2]["text"], t2)
        self.assertEqual(tr[1]["text"], delta_text(evs[0]))
        self.assertEqual(tr[3]["text"], delta_text(evs[1]))
        self.assertTrue(tr[1]["text"])
        self.assertEqual([m["created_at"] for m in tr],
                         sorted(m["created_at"] for m in tr),
                         "transcript not oldest first")
        # the visitor's own view says the same
        mine = self.server.get_conversation(conv, token)["messages"]
        self.assertEqual([(m["role"], m["turn"], m["text"], m["status"])
                          for m in mine],
                         [(m["role"], m["turn"], m["text"], m["status"])
                          for m in tr])
        # every lead of the list carries its status
        lst = self.leads()
        self.assertTrue(lst["leads"])
        for l in lst["leads"]:
            self.assertIn(l.get("status"), STATUSES, l)
        row = [l for l in lst["leads"] if l["conversation_id"] == conv]
        self.assertEqual(len(row), 1)
        self.assertEqual(row[0]["status"], "new")

    def test_related_by_phone_and_email(self):
        shown, _ = phone()
        other, _ = phone()
        em = "%s.%s@example.org" % (word(5), word(6))
        a, _, _ = self.make_lead("My name is %s and my number is %s." % (
            name(), shown))
        # the same number written another way, normalised alike
        digits = re.sub(r"\D", "", shown)
        b, _, _ = self.make_lead("My name is %s, call (%s) %s %s." % (
            name(), digits[:3], digits[3:6], digits[6:]))
        c, _, _ = self.make_lead("My name is %s and my number is %s." % (
            name(), other))
        d1, _, _ = self.make_lead("My name is %s, write to %s please." % (
            name(), em))
        d2, _, _ = self.make_lead("My name is %s, write to %s please." % (
            name(), em.upper()))
        # two leads with neither phone nor e-mail are not related
        e1, _, _ = self.make_lead("My name is %s." % name())
        e2, _, _ = self.make_lead("My name is %s." % name())
        self.assertEqual(self.get_lead(a)["fields"]["phone"]["value"],
                         self.get_lead(b)["fields"]["phone"]["value"])
        self.assertEqual(self.get_lead(a)["related"], [b])
        self.assertEqual(self.get_lead(b)["related"], [a])
        self.assertEqual(self.get_lead(c)["related"], [])
        self.assertEqual(self.get_lead(d1)["related"], [d2])
        self.assertEqual(self.get_lead(d2)["related"], [d1])
        self.assertEqual(self.get_lead(e1)["related"], [])
        self.assertEqual(self.get_lead(e2)["related"], [])

    # ---- disclosure
    def disclosure(self):
        status, hdrs, obj, raw = self.api("GET", "/api/disclosure",
                                          admin=False)
        self.assertEqual(status, 200, raw[:300])
        self.assertTrue(hdrs.get("content-type", "").startswith(
            "application/json"), hdrs)
        self.assertEqual(set(obj), {"text", "sha256"}, obj)
        return obj

    def test_disclosure_builtin_and_recorded(self):
        dis = self.disclosure()
        self.assertTrue(dis["text"].strip())
        self.assertRegex(dis["sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual(dis["sha256"], sha256(dis["text"]))
        # carried by the first message: recorded with the time
        t0 = time.time()
        conv, _, _ = self.make_lead("My name is %s." % name(),
                                    "I was hurt at work.",
                                    extra={"disclosure": dis["sha256"]})
        d = self.get_lead(conv)
        self.assertIsInstance(d["disclosure"], dict, d["disclosure"])
        self.assertEqual(set(d["disclosure"]), {"sha256", "at"})
        self.assertEqual(d["disclosure"]["sha256"], dis["sha256"])
        self.assertRegex(d["disclosure"]["at"], TIME_RE)
        at = datetime.datetime.strptime(d["disclosure"]["at"][:19],
                                        "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertLess(abs(at - t0), 120, d["disclosure"])
        self.assertLessEqual(d["disclosure"]["at"][:19],
                             d["transcript"][1]["created_at"][:19])
        # not carried: null
        conv2, _, _ = self.make_lead("My name is %s." % name())
        self.assertIsNone(self.get_lead(conv2)["disclosure"])
        # a well-formed sha of another text: not recorded
        wrong = sha256(dis["text"] + " ")
        conv3, _, _ = self.make_lead("My name is %s." % name(),
                                     extra={"disclosure": wrong})
        self.assertIsNone(self.get_lead(conv3)["disclosure"])
        # carried by the second message only: not recorded
        conv4, tok4, _ = self.make_lead("My name is %s." % name())
        self.turn_ok(conv4, tok4, "Thanks.", {"disclosure": dis["sha256"]})
        self.wait_jobs(conv4, 2)
        self.assertIsNone(self.get_lead(conv4)["disclosure"])
        # the first recorded stays when a later message carries another
        conv5, tok5, _ = self.make_lead("My name is %s." % name(),
                                        extra={"disclosure": dis["sha256"]})
        first = self.get_lead(conv5)["disclosure"]
        self.assertIsNotNone(first)
        self.turn_ok(conv5, tok5, "One more thing.", {"disclosure": wrong})
        self.wait_jobs(conv5, 2)
        self.assertEqual(self.get_lead(conv5)["disclosure"], first)

    def test_disclosure_malformed_is_400_and_stores_nothing(self):
        dis = self.disclosure()
        conv, token = self.server.create_conversation()
        for bad in ("abc", dis["sha256"][:63], dis["sha256"] + "0",
                    "g" * 64, " " + dis["sha256"][1:], "", 12345, None,
                    [dis["sha256"]], {"sha256": dis["sha256"]}):
            if bad is None:
                continue    # null: as if absent (not a case of the contract)
            r = self.server.post_message(conv, token, None, body={
                "text": "My name is Ann Lee.", "disclosure": bad})
            try:
                body = r.read_body()
            finally:
                r.close()
            self.assertEqual(r.status, 400, "disclosure %r: %d %r" % (
                bad, r.status, body[:200]))
            self.assertEqual(json.loads(body)["error"]["code"],
                             "bad_request")
            self.assertEqual(self.server.counts(conv), (1, 0, 0),
                             "disclosure %r stored something" % (bad,))
        row = self.server.query("SELECT disclosure_sha256, disclosure_at "
                                "FROM conversations WHERE id = ?", (conv,))
        self.assertEqual(tuple(row[0]), (None, None))
        # the first message that is accepted is the first message
        self.turn_ok(conv, token, "My name is %s." % name(),
                     {"disclosure": dis["sha256"]})
        self.wait_jobs(conv, 1)
        self.assertEqual(self.get_lead(conv)["disclosure"]["sha256"],
                         dis["sha256"])

    # ---- PATCH
    def test_patch_status_and_note(self):
        conv, _, _ = self.make_lead("My name is %s." % name())
        self.assertEqual(self.get_lead(conv)["status"], "new")
        note = 'Called back.\nLeft a voicemail — "<b>soon</b>" café 😀'
        status, _, obj, raw = self.patch(conv, {"status": "contacted",
                                                "note": note})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(obj, self.get_lead(conv),
                         "the answer is not the lead as GET has it")
        self.assertEqual(obj["status"], "contacted")
        self.assertEqual(len(obj["history"]), 1, obj["history"])
        h = obj["history"][0]
        self.assertEqual(set(h), HISTORY_KEYS, h)
        self.assertRegex(h["at"], TIME_RE)
        self.assertEqual((h["by"], h["status"], h["note"]),
                         ("admin", "contacted", note))
        # a note alone: the status stays
        status, _, obj, raw = self.patch(conv, {"note": "No answer."})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(obj["status"], "contacted")
        self.assertEqual(len(obj["history"]), 2, obj["history"])
        self.assertEqual(obj["history"][1]["note"], "No answer.")
        self.assertIsNone(obj["history"][1]["status"])
        self.assertEqual(obj["history"][1]["by"], "admin")
        # a status alone
        status, _, obj, raw = self.patch(conv, {"status": "qualified"})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(obj["status"], "qualified")
        self.assertEqual(len(obj["history"]), 3)
        self.assertEqual(obj["history"][2]["status"], "qualified")
        self.assertIsNone(obj["history"][2]["note"])
        # oldest first
        self.assertEqual(obj["history"][0]["note"], note)
        ats = [x["at"] for x in obj["history"]]
        self.assertEqual(ats, sorted(ats))
        # every status of the contract is taken; the list shows it
        for s in ("declined", "spam", "contacted", "qualified"):
            status, _, obj, raw = self.patch(conv, {"status": s})
            self.assertEqual(status, 200, "%s: %r" % (s, raw[:300]))
            self.assertEqual(obj["status"], s)
            row = [l for l in self.leads()["leads"]
                   if l["conversation_id"] == conv]
            self.assertEqual(row[0]["status"], s)
        self.assertEqual(len(self.get_lead(conv)["history"]), 7)
        # the visitor's own view has no trace of it
        self.assertNotIn(b"voicemail", json.dumps(self.server.get_conversation(
            conv, self.server.query("SELECT token FROM conversations WHERE "
                                    "id = ?", (conv,))[0][0])).encode())

    def test_patch_note_length_in_characters(self):
        conv, _, _ = self.make_lead("My name is %s." % name())
        # 2,000 characters of two, three and four bytes: 5,000 bytes
        exact = ("é" * 500) + ("€" * 1000) + ("😀" * 500)
        self.assertEqual(len(exact), 2000)
        status, _, obj, raw = self.patch(conv, {"note": exact})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(obj["history"][-1]["note"], exact)
        n = len(obj["history"])

        def over(note):
            def go():
                status, _, obj, raw = self.patch(conv, {"status": "spam",
                                                        "note": note})
                self.assert_error(status, obj, raw, 413, "too_large",
                                  "note of %d characters" % len(note))
            return go
        self.unchanged(conv, over(exact + "a"), "a note of 2,001")
        self.unchanged(conv, over("a" * 2001), "a note of 2,001 ASCII")
        self.unchanged(conv, over("😀" * 4000), "a note of 4,000 emoji")
        self.assertEqual(len(self.get_lead(conv)["history"]), n)
        self.assertEqual(self.get_lead(conv)["status"], "new")
        # ASCII at the limit too
        status, _, obj, raw = self.patch(conv, {"note": "a" * 2000})
        self.assertEqual(status, 200, raw[:300])

    def test_patch_bad_requests_change_nothing(self):
        conv, token, _ = self.make_lead("My name is %s." % name())
        status, _, _, raw = self.patch(conv, {"note": "first"})
        self.assertEqual(status, 200, raw[:300])   # precondition: it works
        path = "/api/leads/%s" % conv
        bad_json = [
            ({"status": "bogus"}, "unknown status"),
            ({"status": "Contacted"}, "status in capitals"),
            ({"status": ""}, "empty status"),
            ({"status": "bogus", "note": "x"}, "unknown status with a note"),
            ({}, "empty object"),
            ({"status": 1}, "status a number"),
            ({"status": True}, "status a boolean"),
            ({"status": ["contacted"]}, "status an array"),
            ({"note": 5}, "note a number"),
            ({"note": {"text": "x"}}, "note an object"),
            ({"status": "contacted", "note": 5}, "good status, bad note"),
            ({"status": 5, "note": "x"}, "bad status, good note"),
            ([], "an array"),
            ("contacted", "a string"),
            (42, "a number"),
        ]
        for body, what in bad_json:
            def go(body=body, what=what):
                status, _, obj, raw = self.patch(conv, json.dumps(body),
                                                 content_type=
                                                 "application/json")
                self.assert_error(status, obj, raw, 400, "bad_request",
                                  what)
            self.unchanged(conv, go, what)
        for raw_body, what in ((b"", "an empty body"),
                               (b"status=contacted", "a form"),
                               (b'{"status": "contacted"', "cut JSON"),
                               (b'{"status": "contacted"} x', "trailing"),
                               (b'{"note": "\xff\xfe"}', "invalid UTF-8"),
                               (b"null", "null")):
            def go(raw_body=raw_body, what=what):
                status, _, obj, raw = self.patch(conv, raw_body,
                                                 content_type=
                                                 "application/json")
                self.assert_error(status, obj, raw, 400, "bad_request",
                                  what)
            self.unchanged(conv, go, what)
        # who may: a visitor's token (even this conversation's), none,
        # a wrong admin token
        for h, what in ((self.admin(token), "the visitor's token"),
                        ({}, "no Authorization"),
                        (self.admin("x" + ADMIN), "a wrong admin token")):
            def go(h=h, what=what):
                status, _, raw = self.server.call(
                    "PATCH", path, {"status": "spam"}, h)
                self.assert_error(status, json.loads(raw) if raw else None,
                                  raw, 401, "unauthorized", what)
            self.unchanged(conv, go, what)
        # no such lead: an unknown id, a conversation with no lead yet
        empty, _ = self.server.create_conversation()
        for cid, what in (("A" * 22, "an unknown id"),
                          (empty, "a conversation without a lead")):
            def go(cid=cid, what=what):
                status, _, obj, raw = self.patch(cid, {"status":
                                                       "contacted"})
                self.assert_error(status, obj, raw, 404, "not_found", what)
                status, _, obj, raw = self.api("GET", "/api/leads/%s" % cid)
                self.assert_error(status, obj, raw, 404, "not_found", what)
            self.unchanged(conv, go, what)
        self.assertEqual(self.server.query(
            "SELECT count(*) FROM leads WHERE conversation_id = ?",
            (empty,))[0][0], 0)
        # methods the routes do not have: 405, nothing erased or changed
        for m, p in (("DELETE", path), ("PUT", path), ("POST", path),
                     ("PATCH", "/api/conversations/%s" % conv),
                     ("PUT", "/api/conversations/%s" % conv),
                     ("POST", "/api/disclosure"),
                     ("DELETE", "/api/disclosure"),
                     ("PATCH", "/api/leads")):
            def go(m=m, p=p):
                status, _, obj, raw = self.api(m, p, {"status": "spam"})
                self.assert_error(status, obj, raw, 405,
                                  "method_not_allowed", "%s %s" % (m, p))
            self.unchanged(conv, go, "%s %s" % (m, p))
        # still works after all that
        status, _, obj, raw = self.patch(conv, {"status": "contacted"})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(len(obj["history"]), 2)


# --------------------------------------------------------------------------
# who made a change: REMOTE_USER when the web server authenticates

class RemoteUserTests(StaffChecks, ServerTestCase):
    """lighttpd's own basic authentication on /api/leads (mod_auth,
    mod_authn_file): the program sees REMOTE_USER."""
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 1
    USER, PASSWORD = "paralegal", "pw-" + secrets.token_hex(8)

    @classmethod
    def before_start(cls, srv):
        users = os.path.join(srv.tmp, "users")
        with open(users, "w") as f:
            f.write("%s:%s\n" % (cls.USER, cls.PASSWORD))
        srv.extra_conf = (
            'server.modules += ( "mod_auth", "mod_authn_file" )\n'
            'auth.backend = "plain"\n'
            'auth.backend.plain.userfile = "%s"\n'
            '$HTTP["url"] =~ "^/api/leads" {\n'
            '\tauth.require = ( "" => ( "method" => "basic", '
            '"realm" => "intake", "require" => "valid-user" ) )\n'
            '}\n' % users)

    def basic(self, user=None, password=None):
        import base64
        cred = "%s:%s" % (user or self.USER, password or self.PASSWORD)
        return {"Authorization": "Basic " +
                base64.b64encode(cred.encode()).decode()}

    def test_history_by_remote_user(self):
        conv, _, _ = self.make_lead("My name is %s." % name())
        # lighttpd itself refuses without the password
        status, _, _, _ = self.api("GET", "/api/leads/%s" % conv,
                                   admin=False)
        self.assertEqual(status, 401)
        status, _, _, _ = self.api("GET", "/api/leads/%s" % conv,
                                   headers=self.basic(password="wrong"),
                                   admin=False)
        self.assertEqual(status, 401)
        status, _, obj, raw = self.api("PATCH", "/api/leads/%s" % conv,
                                       {"status": "contacted",
                                        "note": "Spoke to her."},
                                       headers=self.basic(), admin=False)
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(obj["history"][-1]["by"], self.USER)
        self.assertEqual(obj["history"][-1]["status"], "contacted")
        status, _, obj, raw = self.api("GET", "/api/leads/%s" % conv,
                                       headers=self.basic(), admin=False)
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual([h["by"] for h in obj["history"]], [self.USER])


# --------------------------------------------------------------------------
# the disclosure from INTAKE_DISCLOSURE_FILE

class DisclosureFileTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 1
    TEXT = ("Ünïcode Law LLP — this chat is run by software, not by a "
            "lawyer.\nNothing here is legal advice; writing creates no "
            "attorney–client relationship. 😀")

    @classmethod
    def before_start(cls, srv):
        path = os.path.join(srv.tmp, "disclosure.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(cls.TEXT + "\n")
        srv.env["INTAKE_DISCLOSURE_FILE"] = path

    def test_file_text_and_its_sha(self):
        status, _, obj, raw = self.api("GET", "/api/disclosure",
                                       admin=False)
        self.assertEqual(status, 200, raw[:300])
        # The file's text (its final new line may be kept or dropped),
        # and the SHA-256 of exactly the text answered.
        self.assertEqual(obj["text"].rstrip("\n"), self.TEXT)
        self.assertEqual(obj["sha256"], sha256(obj["text"]))
        conv, _, _ = self.make_lead("My name is %s." % name(),
                                    extra={"disclosure": obj["sha256"]})
        self.assertEqual(self.get_lead(conv)["disclosure"]["sha256"],
                         obj["sha256"])
        # the sha of the text without the file (or any other): not recorded
        conv2, _, _ = self.make_lead("My name is %s." % name(), extra={
            "disclosure": sha256(self.TEXT + "x")})
        self.assertIsNone(self.get_lead(conv2)["disclosure"])


class DisclosureFileLimitTests(StaffChecks, unittest.TestCase):
    """INTAKE_DISCLOSURE_FILE of 16 KiB is taken; one byte more, bytes
    that are not UTF-8, or no such file: the program refuses to run with
    that configuration (503), it never shows a text cut short."""

    def serve(self, content):
        srv = harness.Server({"INTAKE_ADMIN_TOKEN": ADMIN}, 1,
                             "disclosure-limit")
        srv.init_db()       # --init reads the configuration too
        path = os.path.join(srv.tmp, "disclosure.txt")
        if content is not None:
            with open(path, "wb") as f:
                f.write(content)
        srv.env["INTAKE_DISCLOSURE_FILE"] = path
        self.addCleanup(srv.cleanup)
        self.addCleanup(srv.stop)
        srv.start(healthy=False)
        return srv

    def test_limits(self):
        # 16,384 bytes: 4,096 four-byte characters
        ok = "😀" * 4096
        self.assertEqual(len(ok.encode()), 16384)
        srv = self.serve(ok.encode())
        status, _, raw = srv.call("GET", "/api/disclosure")
        self.assertEqual(status, 200, raw[:200])
        self.assertEqual(json.loads(raw)["text"], ok)
        self.assertEqual(srv.call("GET", "/api/health")[0], 200)
        for content, what in ((ok.encode() + b"a", "16,385 bytes"),
                              (b"Caf\xe9 disclosure", "Latin-1"),
                              (b"a\0b", "a NUL byte"),
                              (None, "no such file")):
            srv = self.serve(content)
            for p in ("/api/health", "/api/disclosure"):
                status, _, raw = srv.call("GET", p)
                self.assertEqual(status, 503, "%s: GET %s: %d %r" % (
                    what, p, status, raw[:200]))
            srv.stop()
            self.assertEqual(srv.sanitizer_findings(False), "")


# --------------------------------------------------------------------------
# GET /api/leads: filters and search on leads made by turns

class ListFilterTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 1

    @classmethod
    def prepare(cls):
        t = cls("test_status_filter")
        cls.surname = word(9).capitalize()
        cls.dom = word(7) + ".example.org"
        cls.fruit = word(10)
        p1, cls.phone1 = phone()
        p2, _ = phone()
        cls.emergency, _, _ = t.make_lead(
            "My name is Quinn %s. I was in a car accident and it's an "
            "emergency. My number is %s." % (cls.surname, p1))
        cls.urgent, _, _ = t.make_lead(
            "My name is Ann Lee, my landlord wants to evict me and it's "
            "urgent. Call %s." % p2)
        cls.plain, _, _ = t.make_lead(
            "My name is Bob Stone. My business partner took the %s "
            "accounts and left, write to bob@%s" % (cls.fruit, cls.dom))
        cls.wild, _, _ = t.make_lead(
            "My name is Cy Mole. The dealer promised 50% off and a "
            "2_for_1 deal on the car (see C:\\deals), then kept my "
            "deposit.")
        cls.mine = {cls.emergency, cls.urgent, cls.plain, cls.wild}

    def only_mine(self, ids):
        return [i for i in ids if i in self.mine]

    def test_status_filter(self):
        for s in STATUSES:
            self.assertEqual(self.only_mine(self.lead_ids("status=" + s)),
                             [] if s != "new" else self.only_mine(
                                 self.lead_ids()))
        c = self.make_lead("My name is %s." % name())[0]
        status, _, _, raw = self.patch(c, {"status": "declined"})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(self.lead_ids("status=declined"), [c])
        self.assertNotIn(c, self.lead_ids("status=new"))
        self.assertIn(c, self.lead_ids())
        self.assertIn(self.emergency, self.lead_ids("status=new"))
        for l in self.leads("status=new")["leads"]:
            self.assertEqual(l["status"], "new")
        status, _, _, raw = self.patch(c, {"status": "new"})
        if status == 200:
            self.assertIn(c, self.lead_ids("status=new"))

    def test_urgency_filter(self):
        d = self.get_lead(self.emergency)
        self.assertEqual(d["fields"]["urgency"]["value"], "emergency")
        self.assertEqual(self.get_lead(self.urgent)["fields"]["urgency"]
                         ["value"], "high")
        self.assertEqual(self.lead_ids("urgency=emergency"),
                         [self.emergency])
        self.assertEqual(self.lead_ids("urgency=high"), [self.urgent])
        self.assertEqual(self.lead_ids("urgency=low"), [])
        self.assertEqual(self.lead_ids("status=new&urgency=emergency"),
                         [self.emergency])
        self.assertEqual(self.lead_ids("status=spam&urgency=emergency"), [])
        for l in self.leads("urgency=emergency")["leads"]:
            self.assertEqual(l["fields"]["urgency"], "emergency")

    def test_search(self):
        cases = [
            (self.surname.upper(), [self.emergency], "name, capitals"),
            ("quinn " + self.surname.lower()[:4], [self.emergency],
             "name across a space"),
            (self.phone1[-7:], [self.emergency], "phone digits"),
            (self.dom.upper(), [self.plain], "e-mail, capitals"),
            ("bob@" + self.dom, [self.plain], "the whole e-mail"),
            (self.fruit[2:8], [self.plain], "a word of the summary"),
            (self.fruit.upper(), [self.plain], "summary, capitals"),
            ("50%", [self.wild], "a literal %"),
            ("%", [self.wild], "% alone"),
            ("_", [self.wild], "_ alone"),
            ("2_for", [self.wild], "a literal _"),
            ("\\", [self.wild], "a literal backslash"),
            ("c:\\d", [self.wild], "a backslash inside"),
            ("\\%", [], "a backslash and a %"),
            ("5_%", [], "% and _ are not wildcards"),
            ("s%e", [], "% is not a wildcard"),
            ("c_r", [], "_ is not a wildcard"),
            ("'; DROP TABLE leads; --", [], "SQL"),
            ("zz" + word(12), [], "absent"),
        ]
        for q, want, what in cases:
            got = self.only_mine(self.lead_ids("q=" + urllib.parse.quote(
                q, safe="")))
            self.assertEqual(got, want, "%s: q=%r" % (what, q))
        # nothing beyond those four is found by their terms
        self.assertEqual(self.lead_ids("q=" + self.fruit), [self.plain])
        # combined with a filter
        self.assertEqual(self.lead_ids("q=%s&urgency=emergency" %
                                       self.surname), [self.emergency])
        self.assertEqual(self.lead_ids("q=%s&urgency=high" %
                                       self.surname), [])
        # a word only in the assistant's replies is not searched
        self.assertEqual(self.only_mine(self.lead_ids(
            "q=virtual%20intake%20assistant")), [])
        # q at its limit, and over it
        status, _, obj, raw = self.api("GET", "/api/leads?q=" + "a" * 200)
        self.assertEqual(status, 200, raw[:300])
        status, _, obj, raw = self.api("GET", "/api/leads?q=" + "a" * 201)
        self.assert_error(status, obj, raw, 400, "bad_request",
                          "q of 201 characters")

    def test_search_folds_case_beyond_ascii(self):
        """Names and places are not all ASCII: "émilie" finds "Émilie"."""
        town = "Ål" + word(6)
        c, _, _ = self.make_lead("My name is %s. We live in %s, near the "
                                 "ÉCOLE, and my landlord wants to evict "
                                 "us." % (name(), town.upper()))
        self.assertEqual(self.lead_ids("q=" + urllib.parse.quote(
            town.upper())), [c], "precondition: found as written")
        self.assertEqual(self.lead_ids("q=" + urllib.parse.quote(
            town.lower())), [c], "a lower-case query misses %r" %
            town.upper())
        self.assertEqual(self.lead_ids("q=" + urllib.parse.quote(
            "école")), [c])

    def test_limit(self):
        all_ids = self.lead_ids()
        self.assertGreaterEqual(len(all_ids), 4)
        obj = self.leads("limit=1")
        self.assertEqual(len(obj["leads"]), 1)
        self.assertEqual(obj["leads"][0]["conversation_id"], all_ids[0])
        obj = self.leads("limit=1000")
        self.assertEqual([l["conversation_id"] for l in obj["leads"]],
                         all_ids)

    def test_bad_queries_are_400(self):
        for q in ("status=bogus", "status=New", "status=new,contacted",
                  "urgency=urgent", "urgency=EMERGENCY", "urgency=none",
                  "limit=0", "limit=1001", "limit=-1", "limit=abc",
                  "limit=10abc", "limit=1e2", "limit=99999999999999999999",
                  "status=new&urgency=bogus"):
            def go(q=q):
                status, _, obj, raw = self.api("GET", "/api/leads?" + q)
                self.assert_error(status, obj, raw, 400, "bad_request",
                                  "GET /api/leads?" + q)
            self.unchanged(None, go, q)
        # the list still answers, and a visitor's token does not read it
        self.assertTrue(self.lead_ids())
        conv, token = self.server.create_conversation()
        for q in ("", "?status=new", "?q=a"):
            status, _, _, raw = self.api("GET", "/api/leads" + q,
                                         headers=self.admin(token))
            self.assertEqual(status, 401, raw[:200])

    def test_csv_keeps_its_columns(self):
        # The CSV's columns stay those of contract v1 (a spreadsheet or a
        # script that reads them by position keeps working); the status
        # is in the JSON list.
        status, hdrs, _, raw = self.api("GET", "/api/leads?format=csv")
        self.assertEqual(status, 200, raw[:300])
        self.assertTrue(hdrs.get("content-type", "").startswith("text/csv"))
        import csv
        import io
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        self.assertEqual(rows[0][:3], ["conversation_id", "created_at",
                                       "updated_at"], rows[0])
        self.assertEqual(len(rows) - 1, len(self.lead_ids()))


# --------------------------------------------------------------------------
# paging through 250 leads planted before the server starts

class PagingTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 1
    N = 250

    @classmethod
    def before_start(cls, srv):
        """250 leads in 25 groups of 10 sharing one updated_at (paging on
        updated_at alone would skip or repeat them), statuses and
        urgencies in turn."""
        c = srv.db_rw()
        cls.planted = []
        base = datetime.datetime(2025, 3, 1, 12, 0, 0)
        try:
            with c:
                for i in range(cls.N):
                    cid = "P%03d%s" % (i, secrets.token_urlsafe(16))
                    at = iso(base + datetime.timedelta(minutes=i // 10))
                    st, urg = STATUSES[i % 5], URGENCIES[i % 4]
                    nm = "Planted Lead %03d" % i
                    c.execute("INSERT INTO conversations (id, token, "
                              "created_at, updated_at) VALUES (?,?,?,?)",
                              (cid, secrets.token_urlsafe(24), at, at))
                    c.execute("INSERT INTO leads (conversation_id, "
                              "created_at, updated_at, status, urgency, "
                              "search) VALUES (?,?,?,?,?,?)",
                              (cid, at, at, st, urg, nm.lower()))
                    for f, v in (("full_name", nm), ("urgency", urg)):
                        c.execute("INSERT INTO lead_fields (conversation_id,"
                                  " field, value, strength, turn, source, "
                                  "updated_at) VALUES (?,?,?,2,1,'rules',?)",
                                  (cid, f, v, at))
                    cls.planted.append((at, cid, st, urg, nm))
        finally:
            c.close()

    def expect(self, pred=lambda p: True):
        """The planted ids that pred keeps, newest first (updated_at, then
        conversation id, both descending)."""
        return [p[1] for p in sorted(self.planted, reverse=True)
                if pred(p)]

    def check_walk(self, query, limit, pred=lambda p: True):
        ids, sizes = self.walk(query, limit)
        want = self.expect(pred)
        self.assertTrue(want)
        self.assertEqual(len(ids), len(set(ids)), "a lead twice: %s %s" % (
            query, limit))
        self.assertEqual(set(ids), set(want), "%s limit %d" % (query, limit))
        self.assertEqual(ids, want, "not newest first (%s)" % query)
        self.assertTrue(all(s == limit for s in sizes[:-1]), sizes)
        return sizes

    def test_default_limit_is_100(self):
        obj = self.leads()
        self.assertEqual(len(obj["leads"]), 100)
        self.assertEqual([l["conversation_id"] for l in obj["leads"]],
                         self.expect()[:100])
        for l in obj["leads"]:
            self.assertIn(l["status"], STATUSES)
        self.assertEqual(len(self.leads("limit=1000")["leads"]), self.N)

    def test_walk_all(self):
        self.check_walk("", 7)
        sizes = self.check_walk("", 100)
        self.assertEqual(sizes[:3], [100, 100, 50])
        self.check_walk("", 10)     # pages end exactly on a group
        self.check_walk("", 1)

    def test_walk_filtered(self):
        self.check_walk("status=contacted", 9, lambda p: p[2] == "contacted")
        self.check_walk("urgency=emergency", 8,
                        lambda p: p[3] == "emergency")
        self.check_walk("status=spam&urgency=low", 3,
                        lambda p: p[2] == "spam" and p[3] == "low")
        self.check_walk("q=lead%2001", 4, lambda p: "lead 01" in
                        p[4].lower())

    def test_page_fields(self):
        obj = self.leads("limit=3")
        byid = {p[1]: p for p in self.planted}
        for l in obj["leads"]:
            p = byid[l["conversation_id"]]
            self.assertEqual(l["updated_at"], p[0])
            self.assertEqual(l["status"], p[2])
            self.assertEqual(l["fields"]["full_name"], p[4])
            self.assertEqual(l["fields"]["urgency"], p[3])
            self.assertEqual(set(l["fields"]), set(FIELDS))


# --------------------------------------------------------------------------
# DELETE /api/conversations/{id}

class EraseTests(StaffChecks, ServerTestCase):
    """A webhook target that refuses (a closed port), retried only after
    an hour: every lead has a pending notification row to erase too."""
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN,
                  "INTAKE_WEBHOOK_URL": "http://127.0.0.1:%d/hook" %
                  free_port(),
                  "INTAKE_WEBHOOK_SECRET": "whsec_" + __import__(
                      "base64").b64encode(os.urandom(32)).decode(),
                  "INTAKE_PUBLIC_URL": "https://intake.firm.test",
                  "INTAKE_NOTIFY_BACKOFF_S": "3600"}
    word_delay_ms = 1

    def setUp(self):
        harness.reap_adopted()

    def full_lead(self, phrase):
        """A lead with everything, the phrase in its first message (and so
        in its summary and extractions), its notification tried once."""
        shown, _ = phone()
        conv, token, evs = self.make_lead(
            "My name is %s, I was in a car accident and it's urgent, the "
            "other driver said %s twice. My number is %s." % (
                name(), phrase, shown),
            "Also %s was written on his truck, and I have photos." % phrase)
        def tried():
            rows = self.server.query(
                "SELECT attempts, lease_until FROM notifications WHERE "
                "conversation_id = ?", (conv,))
            return rows and all(r[0] >= 1 and r[1] is None for r in rows)
        self.server.wait_for(tried, LEAD_WAIT, 0.05,
                             "the lead's notifications tried once")
        return conv, token

    def test_erase_then_404_everywhere(self):
        conv, token = self.full_lead(word(14))
        other, otok = self.full_lead(word(14))
        rows = self.conv_rows(conv)
        for t in CONV_TABLES + ("message_parts",):
            if t not in ("lead_history", "stream_slots", "message_parts"):
                self.assertGreater(rows[t], 0, "no %s row to erase" % t)
        self.assertEqual(self.patch(conv, {"status": "contacted",
                                           "note": "x"})[0], 200)
        self.assertEqual(self.conv_rows(conv)["lead_history"], 1)
        self.assertTrue(self.get_lead(conv)["notifications"])
        mids = [r[0] for r in self.server.query(
            "SELECT id FROM messages WHERE conversation_id = ?", (conv,))]
        other_before = (self.get_lead(other), self.conv_rows(other),
                        self.server.get_conversation(other, otok))
        # before: every route answers for it
        conv_path = "/api/conversations/%s" % conv
        routes = [
            ("GET", conv_path, None, bearer(token), 200),
            ("GET", conv_path + "/events", None, bearer(token), 200),
            ("GET", conv_path + "/events?token=" + token, None, {}, 200),
            ("POST", conv_path + "/cancel", None, bearer(token), 409),
            ("GET", "/api/leads/" + conv, None, self.admin(), 200),
            ("PATCH", "/api/leads/" + conv, {"note": "y"}, self.admin(),
             200),
        ]
        for m, p, b, h, want in routes:
            status, _, raw = self.server.call(m, p, b, h)
            self.assertEqual(status, want, "before: %s %s: %r" % (
                m, p, raw[:200]))
        status, hdrs, raw = self.server.call("DELETE", conv_path, None,
                                             self.admin())
        self.assertEqual(status, 204, raw[:300])
        self.assertEqual(raw, b"")
        routes.append(("POST", conv_path + "/messages", {"text": "hello"},
                       bearer(token), None))
        routes.append(("DELETE", conv_path, None, self.admin(), None))
        for m, p, b, h, _ in routes:
            status, _, raw = self.server.call(m, p, b, h)
            self.assertEqual(status, 404, "after: %s %s: %d %r" % (
                m, p, status, raw[:200]))
            self.assertEqual(json.loads(raw)["error"]["code"], "not_found")
        self.assertEqual(self.conv_rows(conv, mids),
                         {t: 0 for t in CONV_TABLES + ("message_parts",)})
        self.assertNotIn(conv, self.lead_ids())
        self.assertNotIn(conv, self.lead_ids("limit=1000&status=contacted"))
        # the other conversation is as it was
        self.assertEqual((self.get_lead(other), self.conv_rows(other),
                          self.server.get_conversation(other, otok)),
                         other_before)
        # and the visitor of the erased one can start again
        self.server.create_conversation()

    def test_erase_auth_and_unknown(self):
        conv, token = self.full_lead(word(14))
        path = "/api/conversations/%s" % conv
        for h, what in ((bearer(token), "its own visitor's token"),
                        ({}, "no Authorization"),
                        (self.admin(ADMIN + "x"), "a wrong admin token")):
            def go(h=h, what=what):
                status, _, raw = self.server.call("DELETE", path, None, h)
                self.assertEqual(status, 401, "%s: %d %r" % (what, status,
                                                             raw[:200]))
                self.assertEqual(json.loads(raw)["error"]["code"],
                                 "unauthorized")
            self.unchanged(conv, go, what)
        for cid in ("A" * 22, "x", "%2e%2e"):
            def go(cid=cid):
                status, _, raw = self.server.call(
                    "DELETE", "/api/conversations/%s" % cid, None,
                    self.admin())
                self.assertEqual(status, 404, "%s: %d %r" % (cid, status,
                                                             raw[:200]))
            self.unchanged(conv, go, "DELETE of %r" % cid)
        self.assertEqual(self.server.get_conversation(conv, token)["id"],
                         conv)

    @harness.sqlite_only("the bytes of the database file and its -wal")
    def test_erased_bytes_gone_from_file_and_wal(self):
        phrase = "qz" + word(18)
        keep = "qz" + word(18)
        conv, token = self.full_lead(phrase)
        other, _ = self.full_lead(keep)
        # the lead keeps it in its summary and its extractions
        d = self.get_lead(conv)
        self.assertIn(phrase, d["fields"]["summary"]["value"])
        self.assertIn(phrase, json.dumps(d["extractions"]))
        self.assertEqual(self.patch(conv, {"note": "asked for " + phrase +
                                           " to be erased"})[0], 200)
        self.in_file(phrase)
        self.in_file(keep)
        self.in_file(token)
        status, _, raw = self.server.call(
            "DELETE", "/api/conversations/%s" % conv, None, self.admin())
        self.assertEqual(status, 204, raw[:300])
        self.in_file(phrase, False)
        self.in_file(phrase.upper(), False)
        self.in_file(token, False)
        self.in_file(keep)
        self.assertNotIn(phrase, self.server.log_text(),
                         "the erased text is in the log")
        self.assertIn(keep, self.get_lead(other)["fields"]["summary"]
                      ["value"])
        # and it stays gone when the server writes on
        self.full_lead(word(14))
        self.in_file(phrase, False)


# --------------------------------------------------------------------------
# erasing a conversation whose reply is streaming

class StreamingEraseTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN}
    word_delay_ms = 150          # the built-in reply: ~15 s of words

    def test_erase_while_streaming(self):
        phrase = "qz" + word(18)
        # a finished turn first: a lead, extractions, a job
        conv, token, _ = self.make_lead("My name is %s, my landlord wants "
                                        "to evict me: %s." % (name(),
                                                              phrase))
        other, otok = self.server.create_conversation()
        r = self.server.post_message(conv, token, "And the heater is "
                                     "broken since %s." % phrase)
        self.assertEqual(r.status, 200)
        r2 = self.server.post_message(other, otok, "My name is %s, I was "
                                      "fired." % name())
        self.assertEqual(r2.status, 200)
        ev = read_events(r)
        first = [next(ev), next(ev)]
        self.assertEqual([e.event for e in first], ["turn", "delta"])
        mids = [first[0].data["user_message_id"],
                first[0].data["assistant_message_id"]]
        follower = self.server.events(conv, token)
        self.assertEqual(follower.status, 200)
        fev = read_events(follower)
        self.assertEqual(next(fev).event, "turn")
        self.assertEqual(self.server.query(
            "SELECT status FROM messages WHERE conversation_id = ? AND "
            "role = 'assistant' ORDER BY turn DESC LIMIT 1",
            (conv,))[0][0], "streaming", "precondition: it streams")
        # staff see the reply as it is so far
        last = self.get_lead(conv)["transcript"][-1]
        self.assertEqual((last["role"], last["turn"], last["status"]),
                         ("assistant", 2, "streaming"), last)
        self.in_file(phrase)
        t0 = time.monotonic()
        status, _, raw = self.server.call(
            "DELETE", "/api/conversations/%s" % conv, None, self.admin())
        t_del = time.monotonic() - t0
        self.assertEqual(status, 204, raw[:300])
        rest = list(ev)
        r.close()
        self.assertTrue(rest, "the stream ended with no event")
        self.assertEqual(rest[-1].event, "error", rest[-3:])
        self.assertEqual(rest[-1].data, ERASED)
        self.assertTrue(all(e.event == "delta" for e in rest[:-1]),
                        rest[-3:])
        self.assertLess(r.t_end - t0, 10.0, "the stream went on %.1f s "
                        "after the erase" % (r.t_end - t0))
        # the follower ends too (its last event, if any, is an error)
        frest = list(fev)
        follower.close()
        self.assertLess(follower.t_end - t0, 15.0)
        if frest and frest[-1].event in ("done", "error"):
            self.assertEqual(frest[-1].event, "error", frest[-3:])
        zero = {t: 0 for t in CONV_TABLES + ("message_parts",)}
        self.assertEqual(self.conv_rows(conv, mids), zero)
        self.in_file(phrase, False)
        # nothing is written for it afterwards
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            harness.reap_adopted()
            time.sleep(0.2)
        self.assertEqual(self.conv_rows(conv, mids), zero)
        self.in_file(phrase, False)
        self.assertEqual(self.server.query(
            "SELECT count(*) FROM message_parts WHERE message_id NOT IN "
            "(SELECT id FROM messages)")[0][0], 0)
        for m, p, h in (("GET", "/api/conversations/%s" % conv,
                         bearer(token)),
                        ("GET", "/api/leads/%s" % conv, self.admin())):
            self.assertEqual(self.server.call(m, p, None, h)[0], 404)
        # the other conversation's reply was not touched
        events2 = list(read_events(r2))
        r2.close()
        self.assertEqual(events2[-1].event, "done", events2[-3:])
        self.assertEqual(events2[-1].data, {"status": "complete"})
        self.assertLess(t_del, 10.0)


# --------------------------------------------------------------------------
# erasing a conversation while its extraction waits for the model

class EraseDuringExtractionTests(StaffChecks, harness.MockProviderMixin,
                                 ServerTestCase):
    """The extractor has read the conversation and waits 4 s for the
    model (tests/mock_provider.py) when the conversation is erased: what
    it then merges must not bring any of it back."""
    word_delay_ms = 1

    @classmethod
    def mock_setup(cls, mock):
        mock.set_default({"text": "Thank you. Could you tell me more?"})
        return {"INTAKE_ADMIN_TOKEN": ADMIN, "INTAKE_LLM_PROVIDER": "openai",
                "INTAKE_LLM_URL": mock.url, "INTAKE_LLM_API_KEY": "sk-test",
                "INTAKE_LLM_MODEL": "gpt-test"}

    def extraction_requests(self):
        return [r for r in self.mock.requests()
                if r["path"] == "/v1/chat/completions" and not r["stream"]]

    def test_erase_while_extracting(self):
        phrase = "qz" + word(18)
        shown, _ = phone()
        self.mock.push({"when": {"stream": False}, "delay_total_ms": 4000,
                        "json": {"full_name": "Kim " + phrase.capitalize(),
                                 "phone": shown, "email": None,
                                 "matter_type": "employment",
                                 "urgency": "high",
                                 "summary": "Fired; " + phrase}})
        conv, token = self.server.create_conversation()
        self.turn_ok(conv, token, "My name is %s, I was fired over %s." % (
            name(), phrase))
        self.server.wait_for(lambda: self.extraction_requests(), LEAD_WAIT,
                             0.02, "the extractor's model request")
        jobs = self.server.query("SELECT state FROM jobs WHERE "
                                 "conversation_id = ?", (conv,))
        self.assertEqual([j[0] for j in jobs], ["running"],
                         "precondition: the extraction is under way")
        status, _, raw = self.server.call(
            "DELETE", "/api/conversations/%s" % conv, None, self.admin())
        self.assertEqual(status, 204, raw[:300])
        zero = {t: 0 for t in CONV_TABLES + ("message_parts",)}
        self.assertEqual(self.conv_rows(conv), zero)
        # the model answers 4 s after it was asked; then a little more
        end = time.monotonic() + 7.0
        while time.monotonic() < end:
            harness.reap_adopted()
            time.sleep(0.2)
        self.assertEqual(self.conv_rows(conv), zero,
                         "the extractor wrote for an erased conversation")
        self.in_file(phrase, False)
        self.assertEqual(self.server.call("GET", "/api/leads/%s" % conv,
                                          None, self.admin())[0], 404)
        self.assertNotIn(conv, self.lead_ids("limit=1000"))
        # the service goes on
        c2, _, _ = self.make_lead("My name is %s." % name())
        self.assertEqual(self.get_lead(c2)["status"], "new")


# --------------------------------------------------------------------------
# retention: intake-extract --sweep with INTAKE_RETENTION_DAYS

class RetentionTests(StaffChecks, ServerTestCase):
    server_env = {"INTAKE_ADMIN_TOKEN": ADMIN, "INTAKE_RETENTION_DAYS": "1"}
    word_delay_ms = 1

    def sweep(self, env):
        harness.reap_adopted()
        p = subprocess.run([EXTRACTOR, "--sweep"], env=env, cwd=TOP,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "--sweep exited %d: %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace")[-2000:]))
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(len(out.splitlines()), 1, "--sweep printed %r" %
                         out)
        self.assertTrue(out.startswith("sweep: "), out)
        return p.stderr.decode("utf-8", "replace")

    def test_retention(self):
        srv = self.server
        phrase = "qz" + word(18)
        made = {}
        for key, status in (("contacted", "contacted"),
                            ("qualified", "qualified"),
                            ("declined", "declined"), ("spam", "spam"),
                            ("new_old", None), ("new_recent", None),
                            ("was_contacted", "declined")):
            extra = " Note %s." % phrase if key == "new_old" else ""
            conv, _, _ = self.make_lead("My name is %s, I was hurt in a "
                                        "crash last month.%s" % (name(),
                                                                 extra))
            if key == "was_contacted":
                self.assertEqual(self.patch(conv, {"status":
                                                   "contacted"})[0], 200)
            if status:
                self.assertEqual(self.patch(conv, {"status": status})[0],
                                 200)
            made[key] = conv
        made["empty_old"] = srv.create_conversation()[0]
        made["empty_recent"] = srv.create_conversation()[0]
        srv.quiesce()
        # three days ago, or twenty hours ago: written with the server down
        srv.stop()
        now = datetime.datetime.now(datetime.timezone.utc)
        old, recent = iso(now - datetime.timedelta(days=3)), \
            iso(now - datetime.timedelta(hours=20))
        c = srv.db_rw()
        try:
            with c:
                for key, conv in made.items():
                    c.execute("UPDATE conversations SET updated_at = ? "
                              "WHERE id = ?", (recent if "recent" in key
                                               else old, conv))
        finally:
            c.close()
        srv.start()
        self.in_file(phrase)
        before = {k: self.conv_rows(v) for k, v in made.items()}
        # 0 (the default) keeps everything
        env0 = dict(srv.env, INTAKE_RETENTION_DAYS="0")
        log = self.sweep(env0)
        self.assertNotRegex(log, r"retention: erased [1-9]")
        self.assertEqual({k: self.conv_rows(v) for k, v in made.items()},
                         before, "retention 0 erased something")
        env_unset = {k: v for k, v in srv.env.items()
                     if k != "INTAKE_RETENTION_DAYS"}
        self.sweep(env_unset)
        self.assertEqual({k: self.conv_rows(v) for k, v in made.items()},
                         before, "no retention setting erased something")
        # 1 day
        log = self.sweep(srv.env)
        gone = {"declined", "spam", "new_old", "was_contacted", "empty_old"}
        self.assertRegex(log, r"retention: erased %d conversation\(s\)" %
                         len(gone))
        zero = {t: 0 for t in CONV_TABLES + ("message_parts",)}
        for key, conv in made.items():
            rows = self.conv_rows(conv)
            if key in gone:
                self.assertEqual(rows, zero, "%s not erased" % key)
                self.assertEqual(srv.call("GET", "/api/leads/%s" % conv,
                                          None, self.admin())[0], 404)
            else:
                self.assertEqual(rows, before[key], "%s changed" % key)
                if not key.startswith("empty"):
                    self.assertEqual(self.get_lead(conv)["conversation_id"],
                                     conv)
        self.in_file(phrase, False)
        # a second sweep finds nothing more
        log = self.sweep(srv.env)
        self.assertNotRegex(log, r"retention: erased [1-9]")
        self.assertEqual(self.conv_rows(made["contacted"]),
                         before["contacted"])


if __name__ == "__main__":
    main("integration_staff")
