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

# run NAME CMD...: run one suite, print its output, add up its counts.
run() {
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >> "$log"
	line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
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
	run "$(basename "$t" .py)" python3 "$t"
done
for t in tests/browser/test_*.py; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .py)" python3 "$t"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
