#!/bin/sh
# vps-lighttpd.sh: intake under lighttpd on a Debian 12 server, the steps
# README.md ("On your own server: lighttpd") shows, as one script.  Run it
# as root after `make install`:
#
#   sh /usr/local/share/intake/examples/vps-lighttpd.sh
#
# Running it again changes nothing (intake.conf, once written, is yours and
# is never rewritten; the web server's part is written again from the
# example).  Every path is a variable whose default is the real one, so
# that tests/integration/test_vps.py runs this very script into a
# temporary root on a loopback port:
#
#   ETC=/etc VAR=/var/lib RUN=/run LOG=/var/log PREFIX=/usr/local
#   PORT=80            the port the site answers on (for the last message)
#   WEB_USER=www-data  the web server's user: it runs the program
#   SERVICE=systemd    restart lighttpd with systemctl; "none": start it
#                      yourself, with the command printed ("start: ...")
set -eu
ETC=${ETC:-/etc}
VAR=${VAR:-/var/lib}
RUN=${RUN:-/run}
LOG=${LOG:-/var/log}
PREFIX=${PREFIX:-/usr/local}
PORT=${PORT:-80}
WEB_USER=${WEB_USER:-www-data}
SERVICE=${SERVICE:-systemd}
for path in "$ETC" "$VAR" "$RUN" "$LOG" "$PREFIX"; do
	case $path in
	/*[!A-Za-z0-9._/-]*|[!/]*) echo "$0: $path: not a plain absolute path" >&2; exit 2 ;;
	esac
done
case $SERVICE in
systemd|none) ;;
*) echo "$0: SERVICE=$SERVICE: systemd or none" >&2; exit 2 ;;
esac
WEB_GROUP=$(id -gn "$WEB_USER")
EX=$PREFIX/share/intake/examples

# fill FILE: the installed example FILE with the paths and user above (the
# example itself with the defaults).
fill() {
	sed -e 's|/usr/local/|@PREFIX@/|g' -e 's|/etc/intake/|@ETC@/intake/|g' \
	    -e 's|/var/lib/intake/|@VAR@/intake/|g' \
	    -e 's|/var/log/intake/|@LOG@/intake/|g' -e 's|/run/|@RUN@/|g' \
	    -e 's|^Group=www-data$|Group=@GROUP@|' -e 's|www-data|@USER@|g' \
	    -e "s|@PREFIX@|$PREFIX|g" -e "s|@ETC@|$ETC|g" -e "s|@VAR@|$VAR|g" \
	    -e "s|@LOG@|$LOG|g" -e "s|@RUN@|$RUN|g" -e "s|@GROUP@|$WEB_GROUP|g" \
	    -e "s|@USER@|$WEB_USER|g" "$1"
}

# put MODE FILE: standard input becomes FILE, root's, mode MODE (made
# unreadable to others until then).
put() {
	(umask 077 && cat > "$2.new")
	chmod "$1" "$2.new"
	mv -f "$2.new" "$2"
}

# ---- the steps (README.md shows the script from here on, as it is)

# 1. What must be there: the programs (make install), lighttpd, cron.
if [ ! -x "$PREFIX/bin/intake.fcgi" ]; then
	echo "no $PREFIX/bin/intake.fcgi: run make install first" >&2
	exit 1
fi
if [ ! -d "$ETC/lighttpd/conf-enabled" ]; then
	echo "lighttpd is not installed: apt-get install lighttpd" >&2
	exit 1
fi
if ! command -v cron >/dev/null; then
	echo "cron is not installed (apt-get install cron): no sweep" >&2
fi

# 2. The configuration, /etc/intake/intake.conf: root's, readable by the
#    web server's group and no one else (the program reads it and cannot
#    change it).  Written once from the example; then it is yours: set
#    firm_name, the model (llm_*) and admin_token in it.
install -d -o root -g "$WEB_GROUP" -m 0750 "$ETC/intake"
if [ ! -e "$ETC/intake/intake.conf" ]; then
	fill "$EX/intake.conf" | put 0640 "$ETC/intake/intake.conf"
fi
chown root:"$WEB_GROUP" "$ETC/intake/intake.conf"
chmod 0640 "$ETC/intake/intake.conf"

# 3. The database, /var/lib/intake/intake.db: the web server's user owns
#    its folder (0700) and the file (0600).  intake-extract --init makes
#    it now, as that user: made by root, every request would answer 503.
install -d -o "$WEB_USER" -g "$WEB_GROUP" -m 0700 "$VAR/intake"
runuser -u "$WEB_USER" -- env INTAKE_CONFIG="$ETC/intake/intake.conf" \
    "$PREFIX/bin/intake-extract" --init

# 4. The program's log, /var/log/intake/intake.log, written by the web
#    server's user (lighttpd keeps the program's standard error out of
#    its own error.log: INTAKE_LOG_FILE in lighttpd's part names this).
install -d -o "$WEB_USER" -g "$WEB_GROUP" -m 0750 "$LOG/intake"

# 5. lighttpd's part, conf-available/50-intake.conf, enabled with fastcgi
#    and setenv as lighty-enable-mod does it: links in conf-enabled/,
#    which Debian's lighttpd.conf includes (add nothing to lighttpd.conf).
fill "$EX/lighttpd.conf" |
    put 0644 "$ETC/lighttpd/conf-available/50-intake.conf"
for conf in 05-setenv 10-fastcgi 50-intake; do
	ln -sfn "../conf-available/$conf.conf" \
	    "$ETC/lighttpd/conf-enabled/$conf.conf"
done

# 6. The sweep every 5 minutes (jobs whose extractor was killed):
#    /etc/cron.d/intake, a system crontab naming the user it runs as.
install -d -m 0755 "$ETC/cron.d"
fill "$EX/intake.cron" | put 0644 "$ETC/cron.d/intake"

# 7. The checks: the program's, as the web server's user (what the
#    installation lacks, one line each), and lighttpd's of its
#    configuration.  The script stops at a problem.
runuser -u "$WEB_USER" -- env INTAKE_CONFIG="$ETC/intake/intake.conf" \
    "$PREFIX/bin/intake.fcgi" --check
lighttpd -tt -f "$ETC/lighttpd/lighttpd.conf"

# 8. lighttpd starts again with its configuration.
if [ "$SERVICE" = systemd ]; then
	systemctl restart lighttpd
else
	echo "start: lighttpd -D -f $ETC/lighttpd/lighttpd.conf"
fi
echo "intake: http://127.0.0.1:$PORT/intake/ (settings: $ETC/intake/intake.conf)"
