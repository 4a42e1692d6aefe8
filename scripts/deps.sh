#!/bin/sh
# deps.sh: install the Debian packages a command needs, when they are missing.
#
#   scripts/deps.sh run     to build and serve
#   scripts/deps.sh test    to run the tests as well
#
# As root it runs apt-get (after apt-get update); otherwise it prints the
# exact apt-get line to run and fails, so nothing half-works.
set -eu

profile=${1:-run}
pkgs="gcc make pkg-config libfcgi-dev libcurl4-openssl-dev libsqlite3-dev
libjansson-dev lighttpd sqlite3"
case $profile in
run) ;;
test) pkgs="$pkgs python3 curl" ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "deps: missing Debian packages. Run as root:" >&2
echo "  apt-get update && apt-get install -y$missing" >&2
exit 1
