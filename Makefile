# intake: an AI intake chat for professional-services firms.
#
#   make            build the programs into build/
#   make run        install missing packages, build, serve on 127.0.0.1:$(PORT)
#   make test       every test, under AddressSanitizer and UBSan, -Werror
#   make bench      optimised build under the real web server (see bench/)
#   make shared-host  the two folders for a shared host, build/shared-host/
#   make install    PREFIX=/usr/local DESTDIR=
#
# Local overrides go in Makefile.local.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/intake
PORT	?= 8080
SERVER	?= lighttpd
BUILD	?= build

CC	?= cc
CFLAGS	?= -O2 -g
WERROR	?=
# What the code needs whatever CFLAGS says (make CFLAGS=... keeps these).
WARN	 = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wwrite-strings -pedantic
PKGS	 = libcurl jansson sqlite3 libcrypto libpq
XCFLAGS	 = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) \
	   $(WERROR) -MMD -MP -Icommon \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(or $(shell pkg-config --libs $(PKGS) 2>/dev/null),-lcurl -ljansson -lsqlite3 -lcrypto -lpq) \
	   -lfcgi -lpthread

SAN	 = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

-include Makefile.local

COMMON_SRC	= $(wildcard common/*.c)
CGI_SRC		= $(filter-out cgi/main.c,$(wildcard cgi/*.c))
EXTRACT_SRC	= $(filter-out extractor/main.c,$(wildcard extractor/*.c))
SQL_SRC		= sql/schema.sql $(sort $(wildcard sql/[0-9]*.sql))
PG_SQL_SRC	= sql/pg/schema.sql $(sort $(wildcard sql/pg/[0-9]*.sql))
LIB_OBJ		= $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRC) $(CGI_SRC) $(EXTRACT_SRC)) \
		  $(BUILD)/gen/schema_sql.o $(BUILD)/gen/schema_pg.o
LIB		= $(BUILD)/libintake.a

UNIT_SRC	= $(wildcard tests/unit/test_*.c)
UNIT_BIN	= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC	= $(wildcard tests/tools/*.c)
TOOL_BIN	= $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
BENCH_SRC	= $(wildcard bench/*.c)
BENCH_BIN	= $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

PROGS		= $(BUILD)/intake.fcgi $(BUILD)/intake-extract

.PHONY: all run test unit integration bench install clean deps test-build fuzz \
	unit-bins tool-bins bench-bins shared-host

all: $(PROGS)

# V=1 shows each command in full.
Q	= $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

# The schema and migrations, compiled in so a program can create its database.
$(BUILD)/gen/schema_sql.c: $(SQL_SRC) scripts/sql2c.sh
	@mkdir -p $(@D)
	$(Q)scripts/sql2c.sh db_migrations $(SQL_SRC) > $@

$(BUILD)/gen/schema_pg.c: $(PG_SQL_SRC) scripts/sql2c.sh
	@mkdir -p $(@D)
	$(Q)scripts/sql2c.sh db_pg_migrations $(PG_SQL_SRC) > $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/intake.fcgi: $(BUILD)/cgi/main.o $(LIB)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.c %.a,$^) $(LDLIBS)

$(BUILD)/intake-extract: $(BUILD)/extractor/main.o $(LIB)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.c %.a,$^) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) -Itests/unit -Icgi -Iextractor $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

$(BUILD)/tests/%: tests/tools/%.c $(LIB)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.c %.a,$^) $(LDLIBS)

# --as-needed: each bench program loads only the libraries it uses.
$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(filter %.c %.a,$^) $(LDLIBS)

deps:
	@scripts/deps.sh run $(SERVER)

run: deps all
	@BUILD=$(BUILD) PORT=$(PORT) SERVER=$(SERVER) exec scripts/run.sh

# The test build: sanitizers, warnings as errors, its own build folder;
# and a plain one for valgrind (which cannot run sanitized binaries).
test-build:
	@$(MAKE) --no-print-directory BUILD=build/test WERROR=-Werror \
	    CFLAGS="$(SAN)" LDFLAGS="$(SAN)" all unit-bins tool-bins
	@$(MAKE) --no-print-directory BUILD=build/valgrind WERROR=-Werror \
	    CFLAGS="-O1 -g" all

unit-bins: $(UNIT_BIN)
tool-bins: $(TOOL_BIN)

bench-bins: $(BENCH_BIN)

# Optimised programs in their own build folder, then the suite under the
# real web servers on loopback (bench/run.py; results in bench/results.md).
bench:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory BUILD=build/bench \
	    CFLAGS="-O2 -g -DNDEBUG" all bench-bins
	@BUILD=build/bench python3 bench/run.py

# The shared-host bundle (DESIGN.md, "Shared-hosting bundle"): optimised
# programs that carry libfcgi, jansson and SQLite inside (shared hosts
# lack them) and load only libcurl and the C library, built without
# PostgreSQL (one machine: SQLite; no libpq to load there); then
# scripts/shared-host.sh lays out public_html/ and intake/ in
# SHARED_HOST_OUT.  HOME_DIR=/home/ACCOUNT writes the account's path into
# the crontab line (else it says $HOME, which cron sets).
SHARED_HOST_OBJ	?= build/shared-host-obj
SHARED_HOST_OUT	?= build/shared-host
HOME_DIR	?=
STATIC_LDLIBS	 = -Wl,--as-needed -Wl,-Bstatic -lfcgi -ljansson -lsqlite3 \
		   -Wl,-Bdynamic -lcurl -lcrypto -lm -lpthread -ldl
shared-host:
	@$(MAKE) --no-print-directory BUILD=$(SHARED_HOST_OBJ) \
	    CFLAGS="-O2 -DNDEBUG -DINTAKE_NO_POSTGRES" LDFLAGS= \
	    LDLIBS="$(STATIC_LDLIBS)" all
	@scripts/shared-host.sh $(SHARED_HOST_OBJ) $(SHARED_HOST_OUT) $(HOME_DIR)

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory test-build
	@BUILD=build/test tests/run.sh

# Programs 0755; the page, schema and examples 0644; a sample config 0600.
install: all
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/www \
	    $(DESTDIR)$(SHAREDIR)/www/errors $(DESTDIR)$(SHAREDIR)/sql \
	    $(DESTDIR)$(SHAREDIR)/sql/pg $(DESTDIR)$(SHAREDIR)/examples
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(filter-out www/errors,$(wildcard www/*)) \
	    $(DESTDIR)$(SHAREDIR)/www/
	install -m 0644 www/errors/* $(DESTDIR)$(SHAREDIR)/www/errors/
	install -m 0644 $(SQL_SRC) $(DESTDIR)$(SHAREDIR)/sql/
	install -m 0644 $(PG_SQL_SRC) $(DESTDIR)$(SHAREDIR)/sql/pg/
	install -m 0644 examples/lighttpd.conf examples/apache-fcgid.conf \
	    examples/apache-proxy-fcgi.conf examples/htaccess \
	    examples/htaccess-cgi examples/intake.service \
	    examples/intake.cron examples/vps-lighttpd.sh \
	    examples/vps-apache-proxy.sh $(DESTDIR)$(SHAREDIR)/examples/
	install -m 0600 examples/intake.conf $(DESTDIR)$(SHAREDIR)/examples/

# Each libFuzzer target for FUZZ_SECONDS, from its seed corpus.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh test
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
