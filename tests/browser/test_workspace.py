"""test_workspace.py: the leads page as the staff's workspace, in a real
browser against the real program.

Starts intake.fcgi under lighttpd as every integration suite does
(tests/integration/harness.py) with an admin token, then makes leads
through the API as visitors would (built-in model, rule-based
extraction):

- Maria Quinn, personal injury, who saw the disclosure (its SHA-256 sent
  with her first message); her second message holds markup
  (<img src=x onerror=…>, <b>) and her first a line break;
- Tomas Reyes, whose brother is in jail: urgency emergency;
- Olga Petrova, by e-mail, no rush: the one erased;
- four more, so that a page of three needs "Older leads" twice.

Once every lead has its name and the extractions are done,
workspace.test.mjs (playwright-core driving Debian's /usr/bin/chromium)
signs in with the admin token, finds Maria by the search box, reads her
transcript, marks her contacted with a note, filters by status and by
urgency, pages, erases Olga through the confirmation, and checks the list
and a lead at 1280x800 and 390x844 for overflow and overlapping controls
(screenshots in SCREENSHOT_DIR).  Afterwards this checks through the API
what the page did: Maria contacted with the note by "admin", Olga gone.

    BUILD=build/test python3 tests/browser/test_workspace.py

The last line is "leads_workspace: N passed, N failed".  Needs what
test_page.py needs.
"""

import json
import os
import time

import driver  # first: it puts tests/integration on the path
import harness

NAME = "leads_workspace"
ADMIN = "leads-workspace-admin-token-0123456789"
SETTLE_S = 60       # every lead named and its extractions done, at most

# Maria's two messages, as the page must show them (text, not markup).
MARIA = [
    "Hello, my name is Maria Quinn. A delivery truck hit my car on the "
    "highway.\nYou can call me at 555-201-3344.",
    "It happened yesterday <img src=x onerror=\"window.__pwned=1\"> and my "
    "neck hurts <b>a lot</b> & I missed work.",
]
OTHERS = {
    "tomas": ["My name is Tomas Reyes. My brother is in jail right now, "
              "this is an emergency. Call me at 555-301-7788."],
    "olga": ["My name is Olga Petrova. I need help with a divorce, no rush. "
             "My e-mail is olga.petrova@example.com."],
    "ben": ["My name is Ben Carter. I was fired from my job last week. "
            "My number is 555-401-1000."],
    "chloe": ["My name is Chloe Dunn. I want to write a will. "
              "My number is 555-402-1000."],
    "dev": ["My name is Dev Patel. My landlord kept my deposit. "
            "My number is 555-403-1000."],
    "erin": ["My name is Erin Walsh. I need a visa for my husband. "
             "My number is 555-404-1000."],
}
NAMES = {"maria": "Maria Quinn", "tomas": "Tomas Reyes",
         "olga": "Olga Petrova", "ben": "Ben Carter", "chloe": "Chloe Dunn",
         "dev": "Dev Patel", "erin": "Erin Walsh"}


def lead(srv, conv):
    """GET /api/leads/{conv} as staff: (status, parsed body or None)."""
    status, _, body = srv.call("GET", "/api/leads/%s" % conv, None,
                               srv.auth(ADMIN))
    return status, (json.loads(body) if status == 200 else None)


def say(srv, conv, token, text, disclosure=None):
    """One whole turn of the visitor's; fails unless it completes."""
    body = {"text": text}
    if disclosure is not None:
        body["disclosure"] = disclosure
    r = srv.post_message(conv, token, text, body=body)
    try:
        if r.status != 200:
            raise harness.HarnessError("turn: status %d %r" %
                                       (r.status, r.read_body()[:300]))
        events = harness.collect(r)
    finally:
        r.close()
    last = events[-1] if events else None
    if last is None or last.event != "done":
        raise harness.HarnessError("turn did not end with done: %r" % events)


def check_api(srv, convs, check):
    """What the page did, read through the API: Maria contacted with a
    note by admin, Olga erased, the others there."""
    status, maria = lead(srv, convs["maria"])
    hist = (maria or {}).get("history") or []
    check("Maria is contacted, with the page's note by admin",
          status == 200 and maria.get("status") == "contacted" and
          any(h.get("by") == "admin" and h.get("status") == "contacted"
              and h.get("note") for h in hist),
          "GET Maria: %d, status %r, history %r" %
          (status, (maria or {}).get("status"), hist))
    status, _ = lead(srv, convs["olga"])
    check("Olga's lead is gone (404)", status == 404,
          "GET Olga: %d, want 404" % status)
    status, _, body = srv.call("GET", "/api/leads?limit=1000", None,
                               srv.auth(ADMIN))
    ids = [x["conversation_id"] for x in json.loads(body)["leads"]] \
        if status == 200 else None
    check("the others are all still there",
          ids is not None and sorted(ids) == sorted(
              c for k, c in convs.items() if k != "olga"),
          "GET /api/leads: %d, ids %r" % (status, ids))


def main():
    driver.require_tools(NAME, "leads workspace tests")
    checks, check = driver.checker()
    srv = harness.Server(name="leads-workspace",
                         env={"INTAKE_ADMIN_TOKEN": ADMIN})
    t0 = time.monotonic()
    out = ""
    rc = None
    try:
        srv.start()
        status, _, body = srv.call("GET", "/api/disclosure")
        if status != 200:
            raise harness.HarnessError("GET /api/disclosure: %d" % status)
        sha = json.loads(body)["sha256"]

        convs = {}
        # One after the other, so that the list's order (the latest
        # activity first) is Maria's last.
        for key in ("olga", "ben", "chloe", "dev", "erin", "tomas", "maria"):
            conv, token = srv.create_conversation()
            convs[key] = conv
            texts = MARIA if key == "maria" else OTHERS[key]
            for i, text in enumerate(texts):
                say(srv, conv, token, text,
                    sha if key == "maria" and i == 0 else None)

        def named():
            for key, conv in convs.items():
                _, d = lead(srv, conv)
                f = ((d or {}).get("fields") or {}).get("full_name") or {}
                if f.get("value") != NAMES[key]:
                    return None
            return True
        try:
            harness.wait_until(named, timeout=SETTLE_S, interval=0.3,
                               what="every lead named")
        except harness.HarnessError:
            raise harness.HarnessError("the leads did not get their names: %s"
                                       % json.dumps({k: lead(srv, c)[1] for
                                                     k, c in convs.items()}))
        srv.quiesce(timeout=SETTLE_S)
        _, tomas = lead(srv, convs["tomas"])
        urgency = tomas["fields"].get("urgency", {}).get("value")
        if urgency != "emergency":
            raise harness.HarnessError("Tomas's urgency is %r, the test "
                                       "needs emergency" % urgency)

        out, rc = driver.run_node("workspace.test.mjs", srv, {
            "WS_ADMIN_TOKEN": ADMIN,
            "WS_CONVS": json.dumps(convs),
            "WS_NAMES": json.dumps(NAMES),
            "WS_MARIA": json.dumps(MARIA),
            "WS_DISCLOSURE": sha,
        })

        # What the page did, read through the API (when every test ran).
        if not os.environ.get("BROWSER_TEST_ONLY"):
            check_api(srv, convs, check)
    except Exception as e:
        check("setting up", False, str(e))
    finally:
        srv.stop()
    driver.report(NAME, srv, t0, out, rc, checks)


if __name__ == "__main__":
    main()
