#!/bin/sh
# run.sh: the libFuzzer targets (tests/fuzz/fuzz_*.c).
#
#   tests/fuzz/run.sh seeds         each target over its seed corpus once
#                                   (a regression test, part of make test)
#   tests/fuzz/run.sh fuzz SECONDS  each target fuzzed for SECONDS
#
# Targets link against a clang build of the library with ASan and UBSan;
# each reads tests/fuzz/corpus/NAME/ and writes what it finds to
# build/fuzz/corpus/NAME/, never to the repository.  Prints
# "fuzz: N passed, N failed", one count per target.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mode=${1:-seeds}
secs=${2:-30}
out=build/fuzz
flags="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined"

make --no-print-directory BUILD=$out CC=clang \
    CFLAGS="$flags -fsanitize=fuzzer-no-link" $out/libintake.a >/dev/null || {
	echo "fuzz: 0 passed, 1 failed (library build)"
	exit 1
}
passed=0
failed=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	corpus=tests/fuzz/corpus/${name#fuzz_}
	bin=$out/$name
	if ! clang -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	    $flags -fsanitize=fuzzer -Icommon -Icgi -Iextractor \
	    -o "$bin" "$src" $out/libintake.a -lcurl -ljansson -lsqlite3 -lpq -lcrypto \
	    -lfcgi -lpthread; then
		echo "$name: build failed"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$out/corpus/${name#fuzz_}"
	if [ "$mode" = fuzz ]; then
		set -- -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
		    -artifact_prefix="$out/" "$out/corpus/${name#fuzz_}" "$corpus"
	else
		set -- -runs=0 -artifact_prefix="$out/" "$corpus"
	fi
	if "$bin" "$@" > "$out/$name.log" 2>&1; then
		echo "$name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*\|#[0-9]*.*DONE.*' "$out/$name.log" | tail -1))"
		passed=$((passed + 1))
	else
		tail -n 30 "$out/$name.log"
		echo "$name: FAILED (see $out/$name.log)"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
