#!/bin/sh
# run.sh: serve intake in the foreground on 127.0.0.1:$PORT (make run).
#
# Creates the database if it is missing (mode 0600), writes the server's
# configuration under $BUILD/run, and runs the server until Ctrl-C or
# SIGTERM, then stops it and everything it started.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
PORT=${PORT:-8080}
SERVER=${SERVER:-lighttpd}
cd "$top"

mkdir -p var "$BUILD/run"
chmod 700 var "$BUILD/run"
export INTAKE_DB="${INTAKE_DB:-$top/var/intake.db}"
export INTAKE_EXTRACTOR="${INTAKE_EXTRACTOR:-$top/$BUILD/intake-extract}"
"$BUILD/intake-extract" --init

case $SERVER in
lighttpd)
	scripts/lighttpd-conf.sh "$BUILD" "$BUILD/run" "$PORT" \
	    > "$BUILD/run/lighttpd.conf"
	lighttpd -t -f "$BUILD/run/lighttpd.conf" >/dev/null
	set -- lighttpd -D -f "$BUILD/run/lighttpd.conf"
	;;
*)
	echo "run: unknown SERVER=$SERVER (lighttpd)" >&2
	exit 2
	;;
esac

: > "$BUILD/run/error.log"
"$@" &
server=$!
stop() {
	trap - INT TERM
	kill -INT "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	# The server stops its FastCGI workers; anything left of ours goes too.
	pkill -TERM -f "^$top/$BUILD/intake.fcgi" 2>/dev/null || true
	exit 0
}
trap stop INT TERM
echo "intake: serving on http://127.0.0.1:$PORT/ ($SERVER; database $INTAKE_DB)"
echo "intake: the program logs here, the server to $BUILD/run/error.log; Ctrl-C stops"
tail -n 0 -f "$BUILD/run/error.log" &
tailer=$!
trap 'kill $tailer 2>/dev/null; stop' INT TERM
wait "$server" || true
kill "$tailer" 2>/dev/null || true
