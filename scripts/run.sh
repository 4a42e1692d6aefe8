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
"$BUILD/intake-extract" --init --owner "$(id -un)"

# Apache will not run its workers as root: as root, they and the program
# run as www-data, which must own the database's folder and the run folder.
as_web() { "$@"; }
if [ "$SERVER" != lighttpd ] && [ "$(id -u)" -eq 0 ]; then
	case $INTAKE_DB in
	postgres://*|postgresql://*) chown -R www-data: "$BUILD/run" ;;
	*) chown -R www-data: "$(dirname "$INTAKE_DB")" "$BUILD/run" ;;
	esac
	as_web() { setpriv --reuid=www-data --regid=www-data --init-groups -- "$@"; }
fi

helper=
case $SERVER in
lighttpd)
	rm -f "$BUILD/run/lighttpd.conf"
	(umask 077 && scripts/lighttpd-conf.sh "$BUILD" "$BUILD/run" "$PORT" \
	    > "$BUILD/run/lighttpd.conf")
	lighttpd -t -f "$BUILD/run/lighttpd.conf" >/dev/null
	set -- lighttpd -D -f "$BUILD/run/lighttpd.conf"
	;;
apache|apache-proxy|cgi)
	case $SERVER in
	apache) mode=fcgid ;;
	apache-proxy) mode=proxy ;;
	cgi) mode=cgi ;;
	esac
	mkdir -p "$BUILD/run/fcgid"
	[ "$(id -u)" -eq 0 ] && chown www-data: "$BUILD/run/fcgid"
	# It holds every INTAKE_* value (the admin token, the API key): born
	# readable by its owner alone (a file left from before keeps its mode
	# under ">", so it goes first).
	rm -f "$BUILD/run/apache.conf"
	(umask 077 && scripts/apache-conf.sh "$mode" "$BUILD" "$BUILD/run" \
	    "$PORT" > "$BUILD/run/apache.conf")
	apache2 -t -f "$top/$BUILD/run/apache.conf" 2>/dev/null ||
	    apache2 -t -f "$top/$BUILD/run/apache.conf"
	if [ "$mode" = proxy ]; then
		as_web "$BUILD/intake.fcgi" --listen "$top/$BUILD/run/intake.sock" &
		helper=$!
	fi
	set -- apache2 -D FOREGROUND -f "$top/$BUILD/run/apache.conf"
	;;
*)
	echo "run: unknown SERVER=$SERVER (lighttpd, apache, apache-proxy, cgi)" >&2
	exit 2
	;;
esac

: > "$BUILD/run/error.log"
# The server runs in a session of its own: Ctrl-C reaches this script
# alone, and stop() ends the program's streams (each gets its last event)
# while the server is still there to carry them, then stops the server.
# The session also names this server's processes, and no one else's (a
# test suite may run the same build beside it).
setsid "$@" &
server=$!
# ours PGREP-ARGS: this server's program processes (its session).
ours() {
	"$@" -s "$server" -f "^$top/$BUILD/intake.fcgi" 2>/dev/null
}
# ours_left: wait (up to 5 s) until none of them runs.
ours_left() {
	i=0
	while { ours pgrep >/dev/null ||
	    { [ -n "$helper" ] && kill -0 "$helper" 2>/dev/null; }; } &&
	    [ $i -lt 25 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}
stop() {
	trap - INT TERM
	ours pkill -INT || true
	[ -z "$helper" ] || kill -INT "$helper" 2>/dev/null || true
	ours_left
	case $SERVER in
	lighttpd) kill -INT "$server" 2>/dev/null || true ;;
	*) kill -TERM "$server" 2>/dev/null || true ;;
	esac
	wait "$server" 2>/dev/null || true
	if [ -n "$helper" ]; then
		kill -TERM "$helper" 2>/dev/null || true
		wait "$helper" 2>/dev/null || true
	fi
	# The server stops its FastCGI workers; anything left of ours goes too.
	ours pkill -TERM || true
	exit 0
}
trap stop INT TERM
# A PostgreSQL URI may hold a password: not shown.
case $INTAKE_DB in
postgres://*|postgresql://*) shown=PostgreSQL ;;
*) shown=$INTAKE_DB ;;
esac
echo "intake: serving on http://127.0.0.1:$PORT/ ($SERVER; database $shown)"
echo "intake: the program logs here, the server to $BUILD/run/error.log; Ctrl-C stops"
tail -n 0 -f "$BUILD/run/error.log" &
tailer=$!
trap 'kill $tailer 2>/dev/null; stop' INT TERM
wait "$server" || true
kill "$tailer" 2>/dev/null || true
