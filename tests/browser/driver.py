"""driver.py: what the browser suites' Python drivers (test_page.py,
test_leads.py, test_workspace.py, test_embed.py) share: the tools they
need, starting the server, running a Node suite against it, and adding up
its results with their own.

A Node suite (page.test.mjs, leads.test.mjs, …) prints "plan N", then "ok
NAME" or "FAIL NAME: why" per test; a test it planned but never reported
counts as failed, and so does a run that died without a FAIL line.  A
sanitizer report in the server's logs counts as one more failure.  The
last line is "NAME: N passed, N failed", which tests/run.sh adds up.

Importing this module puts tests/integration on the path, for harness.
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

NODE_TIMEOUT = 150          # a whole Node run (each aims at well under 90 s)


def finish(name, passed, failed):
    """Prints the last line and exits: 1 if anything failed."""
    print("%s: %d passed, %d failed" % (name, passed, failed))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def missing_tools():
    """What a browser suite needs and this machine lacks, in words."""
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


def require_tools(name, what, missing=()):
    """Ends the run as one failure, saying that WHAT cannot run, if this
    machine lacks a tool a browser suite needs or has any of missing, the
    driver's own lacks."""
    missing = missing_tools() + list(missing)
    if missing:
        print("%s cannot run, missing: %s; run scripts/deps.sh test" %
              (what, ", ".join(missing)))
        finish(name, 0, 1)


def start(name, srv, stop=()):
    """Starts srv; if it cannot, says why, stops and removes it, calls each
    of stop (the driver's own servers) and ends the run as one failure."""
    try:
        srv.start()
    except Exception as e:
        print("FAIL starting the server: %s" % e)
        srv.stop()
        srv.cleanup()
        for f in stop:
            f()
        finish(name, 0, 1)


def checker():
    """(checks, check): a list for report's checks, and check(name, cond,
    why), which adds one."""
    checks = []

    def check(name, cond, why):
        checks.append((bool(cond), name, why))
    return checks, check


def run_node(script, srv, env=None):
    """Runs tests/browser/SCRIPT against the started srv, with env added to
    this process's environment; (its output, its exit status or None if it
    was killed after NODE_TIMEOUT)."""
    full = dict(os.environ)
    full.setdefault("SCREENSHOT_DIR",
                    os.path.join(harness.BUILD_DIR, "screenshots"))
    # Chromium's temporary profile goes with the server's temporary folder.
    full["TMPDIR"] = srv.tmp
    full.update(env or {})
    try:
        p = subprocess.run(
            ["node", os.path.join(HERE, script),
             "http://127.0.0.1:%d/" % srv.port],
            cwd=harness.TOP, env=full, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=NODE_TIMEOUT)
        return p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        out += "\nFAIL the browser run took over %d s and was killed\n" % \
            NODE_TIMEOUT
        return out, None


def report(name, srv, t0, out, rc, checks=()):
    """Prints the Node run's output (out, rc from run_node), then checks,
    (passed, name, why) made by the driver; then what the stopped srv's
    logs say, and the last line; removes srv's folder and exits.  t0: when
    the time with the server began (time.monotonic())."""
    sys.stdout.write(out)
    if out and not out.endswith("\n"):
        sys.stdout.write("\n")

    plan = re.search(r"^plan (\d+)$", out, re.M)
    planned = int(plan.group(1)) if plan else 1
    passed = len(re.findall(r"^ok ", out, re.M))
    failed = max(planned - passed, len(re.findall(r"^FAIL ", out, re.M)))
    if rc not in (0, 1) and failed == 0:
        failed = 1
    for good, what, why in checks:
        print("ok %s" % what if good else "FAIL %s: %s" % (what, why))
        passed += good
        failed += not good
    found = srv.sanitizer_findings(False)
    if found:
        print("SANITIZER report in the server's logs:\n%s" % found)
        failed += 1
    if failed:
        print("server log tail:\n%s" % srv.log_tail(30))
    srv.cleanup()
    print("(%.1f s with the server)" % (time.monotonic() - t0))
    finish(name, passed, failed)
