"""test_page.py: the intake page in a real browser, against the real server.

Starts intake.fcgi under lighttpd exactly as the integration suites do
(tests/integration/harness.py: a temporary database, a free loopback
port), with the built-in model slowed to INTAKE_WORD_DELAY_MS=60 so that
a reply lasts long enough to type, reload, open a second tab or press
Stop while it streams; then runs page.test.mjs (playwright-core driving
Debian's /usr/bin/chromium headless) against it and adds up its results.

    BUILD=build/test python3 tests/browser/test_page.py

The last line is "browser: N passed, N failed".  A test the Node side
planned but never reported counts as failed; a sanitizer report in the
server's logs counts as one more failure.  Needs: node, the npm packages
of tests/browser (scripts/deps.sh test installs them) and chromium.
Environment: CHROMIUM, BROWSER_TEST_ONLY (see page.test.mjs),
INTAKE_TEST_KEEP=1 keeps the server's temporary folder.
"""

import time

import driver  # first: it puts tests/integration on the path
import harness

NAME = "browser"
WORD_DELAY_MS = 60


def main():
    driver.require_tools(NAME, "browser tests")
    srv = harness.Server(word_delay_ms=WORD_DELAY_MS, name="browser")
    driver.start(NAME, srv)

    t0 = time.monotonic()
    try:
        out, rc = driver.run_node("page.test.mjs", srv)
    finally:
        srv.stop()
    driver.report(NAME, srv, t0, out, rc)


if __name__ == "__main__":
    main()
