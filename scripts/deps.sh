#!/bin/sh
# deps.sh: install the Debian packages a command needs, when they are missing.
#
#   scripts/deps.sh run [SERVER]   to build and serve (SERVER as make run's)
#   scripts/deps.sh test           to run the tests as well
#
# As root it runs apt-get (after apt-get update); otherwise it prints the
# exact apt-get line to run and fails, so nothing half-works.  The test
# profile also needs chromium and node/npm for the browser tests (nodejs
# and npm are asked for only when the node or npm command is missing: a
# node from elsewhere, with its own npm, will do), and then installs the
# browser tests' npm packages (npm ci in tests/browser, as any user) when
# they are not there yet.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

profile=${1:-run}
pkgs="gcc make pkg-config libfcgi-dev libcurl4-openssl-dev libsqlite3-dev
libjansson-dev libssl-dev libpq-dev lighttpd sqlite3"
apache="apache2 libapache2-mod-fcgid"
case $profile in
run)
	case ${2:-lighttpd} in
	lighttpd) ;;
	*) pkgs="$pkgs $apache" ;;
	esac
	;;
test)
	# The servers of the integration tests (suEXEC for the shared-host
	# bundle's), valgrind for the long-lived program, clang and its
	# runtime for the libFuzzer targets, chromium, and the SMTP server
	# the delivery tests send to (aiosmtpd, run by Debian's python3);
	# PostgreSQL for the second pass of the storage suites, which start
	# throwaway clusters of its initdb and read them with psycopg2.
	pkgs="$pkgs $apache apache2-suexec-custom python3 curl valgrind clang
libclang-rt-14-dev chromium python3-aiosmtpd postgresql python3-psycopg2"
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

# npm_packages: the browser tests' packages, pinned by package-lock.json.
npm_packages() {
	[ "$profile" = test ] || return 0
	[ -d "$top/tests/browser/node_modules/playwright-core" ] && return 0
	echo "deps: npm ci in tests/browser" >&2
	(cd "$top/tests/browser" && npm ci --no-audit --no-fund)
}

if [ -z "$missing" ]; then
	npm_packages
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	npm_packages
	exit 0
fi
echo "deps: missing Debian packages. Run as root:" >&2
echo "  apt-get update && apt-get install -y$missing" >&2
exit 1
