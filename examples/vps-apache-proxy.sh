#!/bin/sh
# vps-apache-proxy.sh: intake under Apache with mod_proxy_fcgi on a Debian
# 12 server, the steps README.md ("On your own server: Apache with
# mod_proxy_fcgi") shows, as one script.  Run it as root after
# `make install`:
#
#   sh /usr/local/share/intake/examples/vps-apache-proxy.sh
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
#   SERVICE=systemd    install, enable and restart intake.service and
#                      restart Apache with systemctl; "none": start both
#                      yourself, with the commands printed ("start: ...")
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

# 1. What must be there: the programs (make install), Apache, cron.
if [ ! -x "$PREFIX/bin/intake.fcgi" ]; then
	echo "no $PREFIX/bin/intake.fcgi: run make install first" >&2
	exit 1
fi
if [ ! -d "$ETC/apache2/conf-available" ]; then
	echo "Apache is not installed: apt-get install apache2" >&2
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

# 4. The program runs on its own as the web server's user, listening on
#    /run/intake/intake.sock: /etc/systemd/system/intake.service.  systemd
#    makes /run/intake at each start (RuntimeDirectory); the program's
#    log is the journal (journalctl -u intake).
install -d -m 0755 "$ETC/systemd/system"
fill "$EX/intake.service" | put 0644 "$ETC/systemd/system/intake.service"

# 5. Apache's part, conf-available/intake.conf (the page at /intake/, the
#    program at /api/), enabled with the modules it needs.
fill "$EX/apache-proxy-fcgi.conf" |
    put 0644 "$ETC/apache2/conf-available/intake.conf"
export APACHE_CONFDIR="$ETC/apache2" APACHE_STATE_DIRECTORY="$VAR/apache2"
a2enmod -q proxy_fcgi headers rewrite reqtimeout
a2enconf -q intake

# 6. The sweep every 5 minutes (jobs whose extractor was killed):
#    /etc/cron.d/intake, a system crontab naming the user it runs as.
install -d -m 0755 "$ETC/cron.d"
fill "$EX/intake.cron" | put 0644 "$ETC/cron.d/intake"

# 7. The checks: the program's, as the web server's user (what the
#    installation lacks, one line each), and Apache's of its
#    configuration.  The script stops at a problem.
runuser -u "$WEB_USER" -- env INTAKE_CONFIG="$ETC/intake/intake.conf" \
    "$PREFIX/bin/intake.fcgi" --check
apache2ctl configtest

# 8. The program and Apache start again with their configuration.
#    Without systemd, /run/intake is made here (until the next boot).
if [ "$SERVICE" = systemd ]; then
	systemctl daemon-reload
	systemctl enable intake
	systemctl restart intake apache2
else
	install -d -o "$WEB_USER" -g "$WEB_GROUP" -m 0750 "$RUN/intake"
	echo "start: runuser -u $WEB_USER -- env INTAKE_CONFIG=$ETC/intake/intake.conf $PREFIX/bin/intake.fcgi --listen $RUN/intake/intake.sock"
	echo "start: env APACHE_CONFDIR=$APACHE_CONFDIR apache2ctl -DFOREGROUND"
fi
echo "intake: http://127.0.0.1:$PORT/intake/ (settings: $ETC/intake/intake.conf)"
