#!/bin/sh
# run.sh: run every test and add up their counts (make test).
#
# Each test program or script prints lines "NAME: N passed, N failed";
# this adds them up and ends with the one line "N passed, N failed".
# A program that dies without its line counts as one failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build/test}
export BUILD
log=$BUILD/test.log
: > "$log"
passed=0
failed=0

# The integration suites run under Debian's python3: its python3-psycopg2
# (the PostgreSQL pass) and python3-aiosmtpd are there, whatever python3
# comes first on PATH.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# This script chooses the engine of each pass.
unset INTAKE_TEST_ENGINE INTAKE_TEST_DB
# sfx: appended to the name in a suite's count line (a second pass).
sfx=

# run NAME CMD...: run one suite, print its output, add up its counts.
run() {
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >> "$log"
	line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
	[ -n "$line" ] && [ -n "$sfx" ] &&
		line=$(printf '%s\n' "$line" | sed "s/^\([^ ]*\):/\1$sfx:/")
	if [ -z "$line" ]; then
		printf '%s\n' "$out" | tail -n 20
		echo "$name: 0 passed, 1 failed (exit $rc, no count)"
		failed=$((failed + 1))
		return
	fi
	p=$(printf '%s' "$line" | sed 's/^[^ ]* \([0-9]*\) passed.*/\1/')
	f=$(printf '%s' "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | grep -v -E '^(ok|PASS)' | tail -n 40
		[ "$f" -eq 0 ] && f=1
	fi
	echo "$line"
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
run repo_paths python3 tests/check_paths.py
run fuzz_seeds tests/fuzz/run.sh seeds
run sse_js node tests/browser/sse.test.mjs
for t in tests/integration/test_*.py; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .py)" "$PY" "$t"
done

# PostgreSQL (DESIGN.md, "Storage engines"): the suites that exercise
# storage again, each with a throwaway cluster of its own and a fresh
# database per server (tests/pg_cluster.py; their lines end in _pg); and
# the unit tests that open their database through tests/unit/testdb.h,
# with a cluster and a database (INTAKE_TEST_DB) for each: pg_cluster.py
# --run ends the cluster with the test, and its watchdog ends it if we
# are killed, so no postgres outlives this script.
pg_suites="test_turn test_resilience test_staff test_notify test_extract
test_hostile test_attack test_bodies test_provider test_valgrind test_workers"
pg_units=$(grep -l -E 'testdb\.h|INTAKE_TEST_DB' tests/unit/test_*.c |
	sed 's|.*/||; s|\.c$||')
if "$PY" tests/pg_cluster.py --available 2>> "$log"; then
	for s in $pg_suites; do
		t=tests/integration/$s.py
		[ -f "$t" ] || continue
		run "${s}_pg" env INTAKE_TEST_ENGINE=postgresql "$PY" "$t"
	done
	sfx=_pg
	for s in $pg_units; do
		t=$BUILD/tests/$s
		[ -x "$t" ] || continue
		run "${s}_pg" "$PY" tests/pg_cluster.py --run -- "$t"
	done
	sfx=
else
	echo "postgresql: 0 passed, 1 failed (no PostgreSQL here: scripts/deps.sh test)"
	failed=$((failed + 1))
fi
for t in tests/browser/test_*.py; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .py)" python3 "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
