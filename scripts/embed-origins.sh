#!/bin/sh
# embed-origins.sh: the intake page's frame-ancestors, from
# INTAKE_EMBED_ORIGINS (DESIGN.md, "Staff workspace and privacy"), for the
# scripts that write a web server's configuration (lighttpd-conf.sh,
# apache-conf.sh, shared-host.sh).
#
#   scripts/embed-origins.sh [LIST]     (default: $INTAKE_EMBED_ORIGINS)
#
# LIST is a comma list of the origins whose pages may show the chat in a
# frame (www/embed.js), e.g. "https://www.firm.example,https://firm.example".
# Prints the CSP source list: 'none' when LIST is empty (the page refuses
# every frame), else the origins separated by one space.
#
# The value goes into a response header, so it is checked here, with the
# rule common/config.c's config_origins applies to the same setting: each
# origin is http:// or https://, a host name (letters, digits, dots, '-'
# inside a label) and an optional :PORT from 1 to 65535, and nothing else:
# no path, no wildcard, no quote, space or semicolon.  Spaces around the
# commas are allowed.  Anything else: the reason on standard error, exit 2.
set -eu
LC_ALL=C
export LC_ALL
list=${1-${INTAKE_EMBED_ORIGINS:-}}

bad() {
	printf 'INTAKE_EMBED_ORIGINS: "%s" is not an origin: want comma-separated origins such as https://www.firm.example or http://127.0.0.1:8081 (scheme, host and port only)\n' "$1" >&2
	exit 2
}

# Nothing but blanks: no page may frame this one.
case $list in
*[!\ \	]*) ;;
*) echo "'none'"; exit 0 ;;
esac

out=
rest=$list,
while [ -n "$rest" ]; do
	o=${rest%%,*}
	rest=${rest#*,}
	while :; do
		case $o in
		' '*|'	'*) o=${o#?} ;;
		*' '|*'	') o=${o%?} ;;
		*) break ;;
		esac
	done
	case $o in
	[Hh][Tt][Tt][Pp]://*|[Hh][Tt][Tt][Pp][Ss]://*) hostport=${o#*://} ;;
	*) bad "$o" ;;
	esac
	host=${hostport%%:*}
	case $host in
	''|*[!A-Za-z0-9.-]*|[.-]*|*[.-]|*..*|*.-*|*-.*) bad "$o" ;;
	esac
	if [ "$host" != "$hostport" ]; then
		port=${hostport#*:}
		case $port in
		''|*[!0-9]*|??????*) bad "$o" ;;
		esac
		if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
			bad "$o"
		fi
	fi
	out=$out${out:+ }$o
done
printf '%s\n' "$out"
