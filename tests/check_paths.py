#!/usr/bin/env python3
"""check_paths.py: nothing the build or the tests read lies outside the
repository.

`make test` must pass in a clone anywhere, with nothing beside it.  This
scans the Makefile and every file under tests/, bench/ and scripts/ (not
node_modules, not the copied recordings, not the fuzz corpora) for a
reference that climbs out of the repository: a sibling "shared" folder, a
path joined with ".." from the repository's root, three levels up, or a
checkout's absolute location.  It first checks that it finds each of
those shapes in a planted sample, so a scanner that matches nothing
cannot pass.  Prints "repo_paths: N passed, N failed".
"""

import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOTS = ("Makefile", "tests", "bench", "scripts", ".ci")
SKIP_DIRS = {"node_modules", "fixtures", "corpus", "__pycache__"}
SUFFIXES = (".py", ".c", ".h", ".sh", ".mjs", ".js", ".json", ".conf",
            "Makefile", "run", ".md")

# Each shape of a path that leaves the repository, with a sample it must
# catch.
SHAPES = [
    # (The samples are put together so that this file does not itself
    # hold the paths it looks for.)
    (re.compile(r"\.\./shared\b"), 'dir = "..' + '/shared/x"'),
    (re.compile(r"""['"]\.\.['"]\s*,\s*['"]shared['"]"""),
     'os.path.join(REPO, "..", "shared")'),
    (re.compile(r"(REPO|TOP|top|ROOT)\w*\s*,\s*['\"]\.\.['\"]"),
     "os.path.join(TOP, '..', 'x')"),
    (re.compile(r"\$\(?\{?top\}?\)?/\.\./"), 'cp "$top/../x" .'),
    (re.compile(r"(\.\./){3,}"), "include ../../../x"),
    (re.compile(r"(?<![\w.])/work/"), "open('/work/main/x')"),
]
THIS = os.path.abspath(__file__)


def offending(text):
    """[(line number, line)] of text that match a shape."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if any(rx.search(line) for rx, _ in SHAPES):
            out.append((n, line.strip()))
    return out


def files():
    for root in ROOTS:
        path = os.path.join(TOP, root)
        if os.path.isfile(path):
            yield path
            continue
        for d, dirs, names in os.walk(path):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            for name in names:
                if name.endswith(SUFFIXES):
                    yield os.path.join(d, name)


def main():
    passed = failed = 0
    for rx, sample in SHAPES:
        if rx.search(sample):
            passed += 1
        else:
            failed += 1
            print("FAIL: shape %s misses its sample %r" % (rx.pattern,
                                                           sample))
    bad = 0
    for path in files():
        if os.path.abspath(path) == THIS:
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            print("FAIL: %s: %s" % (path, e))
            bad += 1
            continue
        for n, line in offending(text):
            print("FAIL: %s:%d refers outside the repository: %s" %
                  (os.path.relpath(path, TOP), n, line))
            bad += 1
    if bad:
        failed += bad
    else:
        passed += 1
    print("repo_paths: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
