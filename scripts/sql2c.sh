#!/bin/sh
# sql2c.sh NAME FILE...: compile a schema and its migrations into a C
# table NAME (and NAME's count, n_ after the prefix: db_migrations ->
# db_n_migrations).  schema.sql is version 1 unless its first line says
# "-- version N"; NNN-*.sql upgrades to version NNN.
set -eu
name=$1
shift
count=$(printf '%s' "$name" | sed 's/migrations$/n_migrations/')
echo '/* Generated from sql/ by scripts/sql2c.sh: do not edit. */'
echo 'struct db_migration { int version; const char *sql; };'
echo "extern const struct db_migration $name[];"
echo "extern const int $count;"
echo "const struct db_migration $name[] = {"
for f in "$@"; do
	case "$(basename "$f")" in
	schema.sql)
		v=$(sed -n '1s/^-- version \([0-9][0-9]*\).*/\1/p' "$f")
		[ -n "$v" ] || v=1 ;;
	*) v=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/') ;;
	esac
	printf '{ %s,\n' "$v"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/' "$f"
	echo '},'
done
echo '};'
echo "const int $count = sizeof($name) / sizeof($name[0]);"
