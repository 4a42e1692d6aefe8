#!/usr/bin/env python3
"""leads_list.py: how GET /api/leads behaves at 100,000 leads (issue 13).

Standard library only; not part of `make bench` (it measures one query,
not the service under load).  It makes a database with the programs'
own schema (`intake-extract --init`), fills it with N leads through
SQLite (a conversation, a lead row with its status, urgency and search
text, and six lead_fields rows each, as the merge writes them), starts
the real lighttpd + intake.fcgi on it (tests/integration/harness.py) and
times, through HTTP, the first page, each filter, a search for a common
and for a rare term, and a page deep in the list (?before= from the
middle).  It prints EXPLAIN QUERY PLAN of the SQL that
common/lead_view.c (lead_list_json) builds for each: that SQL is copied
here, so keep the two alike.

    make BUILD=build/bench CFLAGS="-O2 -g -DNDEBUG" all
    BUILD=build/bench python3 bench/leads_list.py [N]

N defaults to 100000.  Each figure is the median (and the maximum) of
REPEAT requests (LEADS_REPEAT, default 15), after one warm-up request;
the page cache is warm, as on a server in use.  Results are printed; the
numbers in bench/notes.md ("The leads list at 100,000 leads") come from
this script.
"""

import datetime
import os
import random
import secrets
import sqlite3
import statistics
import sys
import time
import urllib.parse

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("BUILD", "build/bench")
sys.dont_write_bytecode = True

import harness  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
REPEAT = int(os.environ.get("LEADS_REPEAT", "15"))

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David "
         "Elizabeth William Barbara Richard Susan Joseph Jessica Thomas "
         "Sarah Charles Karen Maria Jose Wei Aisha Olga Kenji").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez "
        "Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor "
        "Moore Jackson Martin Lee Perez Thompson White Harris Nguyen Kim "
        "Okafor Novak Rossi").split()
STORIES = [
    "I was in a car accident on the highway and my back still hurts",
    "my landlord wants to evict me and kept my deposit",
    "I was fired after I reported harassment at work",
    "my husband and I are getting a divorce and need help with custody",
    "I was arrested last night and have a court date next week",
    "my visa expires soon and I need help with a green card",
    "my father passed away and we need help with the will and probate",
    "my business partner broke our contract and took the clients",
    "I slipped and fell at the grocery store and broke my wrist",
    "the insurance company denied my claim after the crash",
]
STATUS_W = (("new", 70), ("contacted", 15), ("qualified", 8),
            ("declined", 5), ("spam", 2))
URGENCY_W = (("normal", 55), ("low", 20), ("high", 15), ("emergency", 5),
             (None, 5))
RARE = "zanzibarquux"       # in one lead's summary only


def pick(rng, weighted):
    r = rng.uniform(0, sum(w for _, w in weighted))
    for v, w in weighted:
        r -= w
        if r <= 0:
            return v
    return weighted[-1][0]


def fill(db_path, n):
    """n leads, updated over two years, newest most often."""
    rng = random.Random(13)
    c = sqlite3.connect(db_path)
    c.execute("PRAGMA synchronous = OFF")
    end = datetime.datetime(2025, 11, 30, 12, 0, 0)
    rare_at = n // 3
    t0 = time.monotonic()
    with c:
        for i in range(n):
            cid = secrets.token_urlsafe(16)
            upd = end - datetime.timedelta(seconds=int(
                rng.expovariate(1 / (86400 * 120))) % (86400 * 730))
            cre = upd - datetime.timedelta(minutes=rng.randint(0, 90))
            u = upd.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % \
                rng.randint(0, 999)
            cr = cre.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            nm = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
            ph = "+1555%07d" % rng.randint(0, 9999999)
            em = "%s.%s%d@example.com" % (nm.split()[0].lower(),
                                          nm.split()[1].lower(),
                                          rng.randint(1, 999))
            summary = "My name is %s, %s." % (nm, rng.choice(STORIES))
            if i == rare_at:
                summary += " It happened in " + RARE + "."
            st, urg = pick(rng, STATUS_W), pick(rng, URGENCY_W)
            search = " ".join((nm, ph, em, summary)).lower()
            c.execute("INSERT INTO conversations (id, token, created_at, "
                      "updated_at) VALUES (?,?,?,?)",
                      (cid, secrets.token_urlsafe(24), cr, u))
            c.execute("INSERT INTO leads (conversation_id, created_at, "
                      "updated_at, status, urgency, search) VALUES "
                      "(?,?,?,?,?,?)", (cid, cr, u, st, urg, search))
            for f, v in (("full_name", nm), ("phone", ph), ("email", em),
                         ("matter_type", "personal_injury"),
                         ("urgency", urg), ("summary", summary)):
                if v is None:
                    continue
                c.execute("INSERT INTO lead_fields (conversation_id, "
                          "field, value, strength, turn, source, "
                          "updated_at) VALUES (?,?,?,2,1,'rules',?)",
                          (cid, f, v, u))
    # No ANALYZE: the programs never run it, so the planner works without
    # sqlite_stat1 here as it does in use.
    c.close()
    return time.monotonic() - t0


def list_sql(status=None, urgency=None, q=None, before=None,
             before_id=None):
    """The SQL and its arguments as common/lead_view.c builds them."""
    sql = ("SELECT conversation_id, created_at, updated_at, "
           "coalesce(status, 'new') FROM leads WHERE 1")
    args = []
    if status:
        sql += " AND status = ?"
        args.append(status)
    if urgency:
        sql += " AND urgency = ?"
        args.append(urgency)
    if q:
        like = "%" + "".join("\\" + ch if ch in "%_\\" else ch
                             for ch in q.lower()) + "%"
        sql += " AND search LIKE ? ESCAPE '\\'"
        args.append(like)
    if before:
        if before_id:
            sql += " AND (updated_at, conversation_id) < (?, ?)"
            args += [before, before_id]
        else:
            sql += " AND updated_at < ?"
            args.append(before)
    sql += " ORDER BY updated_at DESC, conversation_id DESC LIMIT ?"
    args.append(101)
    return sql, args


def timed(srv, path, repeat):
    auth = srv.auth(harness.ADMIN)
    status, _, body = srv.call("GET", path, None, auth)
    if status != 200:
        raise SystemExit("GET %s: %d %r" % (path, status, body[:300]))
    out = []
    for _ in range(repeat):
        t = time.monotonic()
        status, _, body = srv.call("GET", path, None, auth)
        out.append((time.monotonic() - t) * 1000)
        if status != 200:
            raise SystemExit("GET %s: %d" % (path, status))
    import json
    return out, len(json.loads(body)["leads"])


def main():
    srv = harness.Server({"INTAKE_ADMIN_TOKEN": harness.ADMIN}, 1,
                         "leads_list")
    try:
        srv.init_db()
        secs = fill(srv.db_path, N)
        size = os.path.getsize(srv.db_path)
        srv.start()
        ro = sqlite3.connect("file:%s?mode=ro" % srv.db_path, uri=True)
        mid = ro.execute("SELECT updated_at, conversation_id FROM leads "
                         "ORDER BY updated_at DESC, conversation_id DESC "
                         "LIMIT 1 OFFSET ?", (N // 2,)).fetchone()
        cases = [
            ("first page", {}),
            ("?status=contacted", {"status": "contacted"}),
            ("?status=spam", {"status": "spam"}),
            ("?urgency=emergency", {"urgency": "emergency"}),
            ("?status=new&urgency=emergency",
             {"status": "new", "urgency": "emergency"}),
            ("?q=smith (common)", {"q": "smith"}),
            ("?q=%s (rare, 1 lead)" % RARE, {"q": RARE}),
            ("?q=nobodyhere (none)", {"q": "nobodyhere"}),
            ("deep page (?before= at %d)" % (N // 2),
             {"before": mid[0], "before_id": mid[1]}),
            ("?status=spam, deep", {"status": "spam", "before": mid[0],
                                    "before_id": mid[1]}),
        ]
        print("%d leads (filled in %.0f s), database %.0f MB, build %s" % (
            N, secs, size / 1e6, harness.BUILD))
        print()
        print("| request | leads on the page | median ms | max ms |")
        print("|---|---|---|---|")
        plans = []
        for label, kw in cases:
            path = "/api/leads?" + urllib.parse.urlencode(kw)
            times, n = timed(srv, path, REPEAT)
            print("| %s | %d | %.1f | %.1f |" % (
                label, n, statistics.median(times), max(times)))
            sql, args = list_sql(**kw)
            plan = ro.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
            plans.append((label, [r[-1] for r in plan]))
            sys.stdout.flush()
        print()
        for label, plan in plans:
            print("%s:\n    %s" % (label, "\n    ".join(plan)))
        ro.close()
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    main()
