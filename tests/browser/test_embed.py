"""test_embed.py: the chat on the firm's own site (www/embed.js) and the
page's disclosure, in a real browser, against the real server.

Three origins on the loopback address, one port each:

- the intake service: intake.fcgi under lighttpd as every integration
  suite starts it (tests/integration/harness.py), its configuration
  written by scripts/lighttpd-conf.sh with INTAKE_EMBED_ORIGINS naming
  the firm's site below (so the page's frame-ancestors lists it), and the
  built-in model slowed to INTAKE_WORD_DELAY_MS=60 so that a reply lasts
  long enough to reload or press Stop while it streams;
- the firm's site ("listed"): a small HTTP server in this process serving
  host.html, a page with the one tag
  <script src="http://127.0.0.1:PORT/embed.js" async></script>, a strict
  Content-Security-Policy of its own (script-src and frame-src the intake
  origin, style-src 'self': nothing inline allowed) and a style sheet that
  tries hard to restyle buttons, frames and everything else;
- another site ("other"), the same page from an origin NOT in
  INTAKE_EMBED_ORIGINS: the browser must refuse to show the chat there.

The service's disclosure is INTAKE_DISCLOSURE_FILE, a text of several
lines with markup in it, which the page must show as text.

Then embed.test.mjs (playwright-core driving Debian's /usr/bin/chromium)
runs against them: the launcher and the panel by keyboard, a turn, a
reload of the host page mid-reply, the queue and Stop in the frame, the
refusal on the other site, the host page left as it was, the disclosure
(shown first, its SHA-256 sent with the first message and recorded on
the lead, the page working without it), and screenshots at desktop and
phone widths.  This adds its checks of the headers: the intake page says
frame-ancestors with the listed origin, and nothing else (no
X-Frame-Options) stands in the way.

    BUILD=build/test python3 tests/browser/test_embed.py

The last line is "embed: N passed, N failed".  Needs what test_page.py
needs.  Environment: CHROMIUM, BROWSER_TEST_ONLY (a substring of the
tests' names), INTAKE_TEST_KEEP=1 keeps the server's temporary folder.
"""

import http.server
import os
import threading
import time

import driver  # first: it puts tests/integration on the path
import harness

NAME = "embed"
WORD_DELAY_MS = 60
ADMIN = "embed-admin-token-0123456789abcdef"
DISCLOSURE = (
    "Smith & Jones LLP \u2014 before you start:\n"
    "This chat is an automated assistant, not a lawyer. It gives no legal "
    "advice, and writing here does not make us your lawyers.\n"
    "<img src=x onerror=window.__pwned=1> <b>is text here</b>\n")

HOST_CSS = b"""/* A site whose styles reach for everything: none of it may reach the
   chat's launcher or panel, and the chat may change none of it. */
*, *::before, *::after { box-sizing: content-box; }
html { font: 20px/1.8 Georgia, serif; color: rgb(40, 40, 40); letter-spacing: 1px; }
body { margin: 0 auto; max-width: 860px; padding: 24px; background: rgb(255, 250, 240); }
button { background: rgb(200, 0, 0) !important; color: rgb(255, 255, 0) !important;
  font-size: 22px !important; padding: 14px !important; border-radius: 0 !important; }
iframe { border: 9px solid rgb(200, 0, 0) !important; width: 60px !important;
  height: 60px !important; }
svg { display: none !important; }
body > * { transform: translateX(0); opacity: 0.98 !important; }
[hidden] { display: block !important; }
.site-footer { position: fixed; bottom: 0; left: 0; padding: 4px 12px; }
"""

HOST_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
  <title>Smith &amp; Jones LLP: our practice</title>
  <link rel="stylesheet" href="/host.css">
  <script src="{intake}embed.js" async></script>
</head>
<body>
  <header>
    <h1 id="host-title">Smith &amp; Jones LLP</h1>
    <nav><a href="/" id="host-link">Home</a> · <a href="/">Our practice</a></nav>
  </header>
  <main>
    <p id="host-text">We help people after accidents, with families, with work, and with
      the paperwork of a life. Tell us what happened: the chat in the corner reaches
      our intake team at any hour.</p>
    <button type="button" id="host-button">Call us</button>
    <p>{filler}</p>
  </main>
  <footer class="site-footer">Smith &amp; Jones LLP · 1 Main Street</footer>
</body>
</html>
"""


class Site(http.server.ThreadingHTTPServer):
    """A firm's site on a loopback port of its own: / is host.html with
    the embed tag for self.intake (set once the service has started)."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Page)
        self.intake = None
        self.origin = "http://127.0.0.1:%d" % self.server_address[1]
        self.hits = []


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        site = self.server
        site.hits.append(self.path)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            body = HOST_HTML.format(
                intake=site.intake,
                filler=" ".join(["Our practice has served the county since 1962."] * 30)
            ).encode()
            ctype = "text/html; charset=utf-8"
        elif path == "/host.css":
            body, ctype = HOST_CSS, "text/css; charset=utf-8"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        intake = site.intake.rstrip("/")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # What the README tells a firm's web person to allow: the intake
        # origin's script and frame; styles from the site alone.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src %s; frame-src %s; "
            "style-src 'self'; img-src 'self'; base-uri 'none'" %
            (intake, intake))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(site):
    t = threading.Thread(target=site.serve_forever, daemon=True)
    t.start()
    return t


def header_checks(srv, listed, other):
    """(passed, what, why) of the intake page's own headers."""
    out = []
    resp = harness.request(srv.port, "GET", "/")
    body = resp.read_body()
    csp = resp.headers.get("content-security-policy", "")
    want = "frame-ancestors %s;" % listed.origin
    out.append((resp.status == 200 and want in csp,
                "the page's CSP says %s" % want,
                "status %d, CSP %r, body %r" % (resp.status, csp, body[:200])))
    out.append((other.origin not in csp and "'none'" not in
                csp.split("frame-ancestors", 1)[-1].split(";", 1)[0],
                "the CSP names no other ancestor",
                "CSP %r" % csp))
    out.append(("x-frame-options" not in resp.headers,
                "no X-Frame-Options on the page",
                "headers %r" % resp.headers))
    resp = harness.request(srv.port, "GET", "/embed.js")
    js = resp.read_body()
    out.append((resp.status == 200 and resp.headers.get(
        "content-type", "").startswith("text/javascript") and
        b"IntakeEmbed" in js,
        "embed.js is served as JavaScript",
        "status %d, headers %r" % (resp.status, resp.headers)))
    return out


def main():
    driver.require_tools(NAME, "browser tests")
    listed, other = Site(), Site()
    serve(listed)
    serve(other)
    srv = harness.Server(word_delay_ms=WORD_DELAY_MS, name="embed", env={
        "INTAKE_EMBED_ORIGINS": listed.origin,
        "INTAKE_ADMIN_TOKEN": ADMIN,
    })
    # The firm's own disclosure, with markup that must be shown as text.
    disclosure = os.path.join(srv.tmp, "disclosure.txt")
    with open(disclosure, "w", encoding="utf-8") as f:
        f.write(DISCLOSURE)
    srv.env["INTAKE_DISCLOSURE_FILE"] = disclosure
    driver.start(NAME, srv, (listed.shutdown, other.shutdown))
    listed.intake = other.intake = "http://127.0.0.1:%d/" % srv.port

    t0 = time.monotonic()
    checks = []
    try:
        checks = header_checks(srv, listed, other)
        out, rc = driver.run_node("embed.test.mjs", srv, env={
            "EMBED_HOST": listed.origin + "/",
            "EMBED_OTHER": other.origin + "/",
            "EMBED_ADMIN": ADMIN,
            "EMBED_DISCLOSURE_FILE": disclosure,
        })
    finally:
        srv.stop()
        listed.shutdown()
        other.shutdown()
    checks.append((any(h.startswith("/") for h in other.hits),
                   "the other site's page was loaded (its refusal is real)",
                   "no request reached it"))
    driver.report(NAME, srv, t0, out, rc, checks)


if __name__ == "__main__":
    main()
