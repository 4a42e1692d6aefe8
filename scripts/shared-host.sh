#!/bin/sh
# shared-host.sh: lay out the shared-host bundle (DESIGN.md, "Shared-hosting
# bundle") from programs already built; make shared-host runs it.
#
#   scripts/shared-host.sh OBJ_DIR OUT_DIR [HOME_DIR]
#
# OUT_DIR gets exactly two folders, public_html/ and intake/, for a web
# person to upload into the account's home as they are.  Their modes are
# the ones suEXEC accepts (folders and programs 0755, files 0644,
# intake.conf 0600: nothing group- or world-writable), whatever the umask.
# Sources: the page from www/, the .htaccess files and the commented
# intake.conf from examples/shared-host/, the programs from OBJ_DIR.
#
# public_html/.htaccess lets the pages of the origins in
# INTAKE_EMBED_ORIGINS (a comma list, checked by embed-origins.sh) show the
# page in a frame (www/embed.js); without them, frame-ancestors 'none'.
#
# intake.conf gets a random admin token, printed once.  An intake.conf
# already in OUT_DIR is kept as it is (its token and whatever was filled
# in), so building again never loses a configured bundle.
#
# intake/crontab.txt is the one line for the account's own crontab: with
# HOME_DIR (e.g. /home/ACCOUNT) it names the account's real path, else it
# says $HOME, which cron sets to the account's home for a user crontab.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 OBJ_DIR OUT_DIR [HOME_DIR]" >&2
	exit 2
fi
obj=$1
out=$2
home_dir=${3:-}
src=$top/examples/shared-host

case $home_dir in
'') extract='"$HOME/intake/intake-extract"' ;;
/*[!A-Za-z0-9._/-]*|*/) echo "shared-host.sh: HOME_DIR: an absolute path of letters, digits, . _ - and /, no / at the end" >&2; exit 2 ;;
/*) extract=$home_dir/intake/intake-extract ;;
*) echo "shared-host.sh: HOME_DIR must be absolute (/home/ACCOUNT)" >&2; exit 2 ;;
esac

frame_ancestors=$("$top/scripts/embed-origins.sh") || exit 2

for prog in intake.fcgi intake-extract; do
	if [ ! -x "$obj/$prog" ]; then
		echo "shared-host.sh: $obj/$prog is missing (make shared-host builds it)" >&2
		exit 1
	fi
done

# The programs must not need what shared hosts lack.
if command -v readelf >/dev/null 2>&1; then
	for prog in intake.fcgi intake-extract; do
		if readelf -d "$obj/$prog" | grep -E 'NEEDED.*lib(fcgi|jansson|sqlite3)'; then
			echo "shared-host.sh: $obj/$prog loads the library above: it must be linked in (make shared-host)" >&2
			exit 1
		fi
	done
fi

# Built beside OUT_DIR, then put in its place.
new=$out.new
rm -rf "$new"
mkdir -p "$new"
trap 'rm -rf "$new"' EXIT
web=$new/public_html
mine=$new/intake
install -d -m 0755 "$web" "$web/api" "$web/errors" "$mine"

for f in "$top"/www/*; do
	[ -f "$f" ] && install -m 0644 "$f" "$web/"
done
# Apache's JSON answers (the lighttpd-*.html ones are lighttpd's).
install -m 0644 "$top"/www/errors/*.json "$web/errors/"
sed "s|frame-ancestors 'none';|frame-ancestors $frame_ancestors;|" \
    "$src/public_html/.htaccess" > "$web/.htaccess"
chmod 0644 "$web/.htaccess"
install -m 0644 "$src/public_html/api/.htaccess" "$web/api/.htaccess"
install -m 0755 "$obj/intake.fcgi" "$web/api/intake.cgi"
install -m 0755 "$obj/intake-extract" "$mine/intake-extract"

printf '*/5 * * * * %s --sweep >/dev/null\n' "$extract" > "$mine/crontab.txt"
chmod 0644 "$mine/crontab.txt"

token=
if [ -f "$out/intake/intake.conf" ]; then
	cp "$out/intake/intake.conf" "$mine/intake.conf"
else
	token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
	(umask 077 && sed "s/@ADMIN_TOKEN@/$token/" "$src/intake/intake.conf" \
	    > "$mine/intake.conf")
fi
chmod 0600 "$mine/intake.conf"

rm -rf "$out"
mv "$new" "$out"
trap - EXIT

glibc=$(objdump -T "$out/public_html/api/intake.cgi" "$out/intake/intake-extract" 2>/dev/null |
    grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
echo "shared-host: $out/public_html and $out/intake, ready to upload into the account's home"
if [ "$frame_ancestors" != "'none'" ]; then
	echo "shared-host: the chat may be framed by pages of $frame_ancestors (public_html/.htaccess)"
fi
echo "shared-host: the programs need glibc ${glibc:-?} or newer and libcurl (libcurl.so.4) on the host"
if [ -n "$token" ]; then
	echo "shared-host: admin token (the password of leads.html; also in intake/intake.conf):"
	echo "  $token"
else
	echo "shared-host: kept $out/intake/intake.conf (its admin token as it was)"
fi
