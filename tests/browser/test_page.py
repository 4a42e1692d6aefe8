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

import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402

NAME = "browser"
WORD_DELAY_MS = 60
NODE_TIMEOUT = 150          # the whole Node run (it aims at well under 90 s)


def finish(passed, failed):
    print("%s: %d passed, %d failed" % (NAME, passed, failed))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def missing_tools():
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    out = []
    if shutil.which("node") is None:
        out.append("node (Debian package nodejs)")
    if not os.access(chromium, os.X_OK):
        out.append("%s (Debian package chromium)" % chromium)
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        out.append("tests/browser/node_modules/playwright-core "
                   "(npm ci in tests/browser)")
    return out


def main():
    missing = missing_tools()
    if missing:
        print("browser tests cannot run, missing: %s; run scripts/deps.sh "
              "test" % ", ".join(missing))
        finish(0, 1)

    srv = harness.Server(word_delay_ms=WORD_DELAY_MS, name="browser")
    try:
        srv.start()
    except Exception as e:
        print("FAIL starting the server: %s" % e)
        srv.stop()
        srv.cleanup()
        finish(0, 1)

    base = "http://127.0.0.1:%d/" % srv.port
    env = dict(os.environ)
    env.setdefault("SCREENSHOT_DIR",
                   os.path.join(harness.BUILD_DIR, "screenshots"))
    # Chromium's temporary profile goes with the server's temporary folder.
    env["TMPDIR"] = srv.tmp
    t0 = time.monotonic()
    out = ""
    rc = None
    try:
        p = subprocess.run(
            ["node", os.path.join(HERE, "page.test.mjs"), base],
            cwd=harness.TOP, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=NODE_TIMEOUT)
        out = p.stdout.decode("utf-8", "replace")
        rc = p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        out += "\nFAIL the browser run took over %d s and was killed\n" % \
            NODE_TIMEOUT
    finally:
        srv.stop()
    sys.stdout.write(out)
    if out and not out.endswith("\n"):
        sys.stdout.write("\n")

    plan = re.search(r"^plan (\d+)$", out, re.M)
    planned = int(plan.group(1)) if plan else 1
    passed = len(re.findall(r"^ok ", out, re.M))
    failed = max(planned - passed, len(re.findall(r"^FAIL ", out, re.M)))
    if rc not in (0, 1) and failed == 0:
        failed = 1
    found = srv.sanitizer_findings(False)
    if found:
        print("SANITIZER report in the server's logs:\n%s" % found)
        failed += 1
    if failed:
        print("server log tail:\n%s" % srv.log_tail(30))
    srv.cleanup()
    print("(%.1f s with the server)" % (time.monotonic() - t0))
    finish(passed, failed)


if __name__ == "__main__":
    main()
