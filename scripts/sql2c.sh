#!/bin/sh
# sql2c.sh: compile the schema and its migrations into a C table.
# sql/schema.sql is version 1; sql/NNN-*.sql upgrades to version NNN.
set -eu
echo '/* Generated from sql/ by scripts/sql2c.sh: do not edit. */'
echo 'struct db_migration { int version; const char *sql; };'
echo 'extern const struct db_migration db_migrations[];'
echo 'extern const int db_n_migrations;'
echo 'const struct db_migration db_migrations[] = {'
for f in "$@"; do
	case "$(basename "$f")" in
	schema.sql) v=1 ;;
	*) v=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/') ;;
	esac
	printf '{ %s,\n' "$v"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/' "$f"
	echo '},'
done
echo '};'
echo 'const int db_n_migrations = sizeof(db_migrations) / sizeof(db_migrations[0]);'
