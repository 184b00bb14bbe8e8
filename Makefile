# contact_list_fdw: PostgreSQL foreign data wrapper for WeCom externalcontact/contact_list
#
# make && make install     build and install against the pg_config on PATH
# make test                install missing packages, build, install, run the whole suite
# make demo                install missing packages, build, install, run a demo
# make mock                the mock WeCom endpoint in the foreground, and the SQL to try it
# make bench [N=1000000]   benchmark against a plain C client and a Python ETL script,
#                          then 1, 4 and 16 corps under one partitioned table
# make test-matrix [TARGETS=trixie,sid]
#                          the suite on every Debian release we support, in chroots
# make parser-cases        the page parser's verdicts on fixed bodies (no PostgreSQL)
# make sabotage            break src/ one line at a time (test/sabotages.txt): the tests must notice
# make sanitize            regress and fault steps with the library under ASan and UBSan: no report may appear
# make check-layers        every include and call in src/ runs down the floors of CONTRIBUTING.md
# make deb                 build postgresql-NN-contact-list-fdw packages into deb/
# make dist                the PGXN zip contact_list_fdw-X.Y.Z.zip, from git archive

MODULE_big = contact_list_fdw
OBJS = \
	src/contact_list_fdw.o \
	src/option.o \
	src/tokens.o \
	src/wecom.o \
	src/http.o \
	src/redact.o \
	src/page_parser.o \
	src/json_validate.o \
	src/convert.o \
	src/scan.o \
	src/scan_log.o \
	src/scan_events.o \
	src/shmem.o \
	src/progress.o \
	src/stats.o

EXTENSION = contact_list_fdw
DATA = contact_list_fdw--1.0.sql contact_list_fdw--1.1.sql contact_list_fdw--1.2.sql contact_list_fdw--1.0--1.1.sql contact_list_fdw--1.1--1.2.sql
PGFILEDESC = "contact_list_fdw - foreign data wrapper for WeCom external contacts"

REGRESS = setup options scan convert tokens errors cancel transport security planner analyze import readonly errors_table recipes scans_log shared recent_scans multi_corp async
REGRESS_OPTS = --inputdir=. --outputdir=.

# Without pkg-config (it comes with no -dev package we need) the headers are
# still found on the standard paths, so the link must not lose the libraries:
# a library without them builds and then fails to load.
PKG_CONFIG ?= pkg-config
CURL_JSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcurl json-c 2>/dev/null)
CURL_JSON_LIBS := $(or $(shell $(PKG_CONFIG) --libs libcurl json-c 2>/dev/null),-lcurl -ljson-c)
PG_CPPFLAGS = -I$(srcdir)/src $(CURL_JSON_CFLAGS)
# -Wno-clobbered: PG_TRY's own _do_rethrow flag draws a GCC false positive under -Wextra
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Wno-clobbered
SHLIB_LINK = $(CURL_JSON_LIBS)
# make CLF_FAULT_INJECT=1: a test build with fault injection points
# (test/fault_suite.py builds one in a directory of its own); never shipped
ifdef CLF_FAULT_INJECT
PG_CPPFLAGS += -DCLF_FAULT_INJECTION -DCLF_JSON_TOKENER_NEW=clf_fault_json_tokener_new
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
# the test scripts build and test against the same PostgreSQL as make
ifneq ($(origin PG_CONFIG),file)
export PG_CONFIG
endif

# pg_cron is packaged for some PostgreSQL majors only (test/run.sh says
# when its test is left out)
ifneq ($(wildcard $(shell $(PG_CONFIG) --pkglibdir 2>/dev/null)/pg_cron.so),)
REGRESS += recipes_cron
endif

# The test, demo and bench entry points must work on a machine that has no
# server headers yet: they install them first, then call make again.
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install:
	@echo "PostgreSQL server development files not found (pg_config --pgxs)." >&2
	@echo "Run 'make test' or 'make demo' once, or: apt-get install build-essential postgresql-server-dev-NN libcurl4-openssl-dev libjson-c-dev pkg-config (NN: the server's major version)" >&2
	@exit 1
endif

# pg_buildext (make deb) builds in a directory of its own per PostgreSQL
# major, with VPATH pointing here: the objects need their src/ there.
ifneq ($(VPATH),)
$(shell mkdir -p src)
endif

# PGXS tracks no header dependencies unless PostgreSQL was configured with
# --enable-depend: a changed struct must rebuild every object that uses it.
# (in the source tree, which is not this directory in a VPATH build)
$(OBJS): $(wildcard $(srcdir)/src/*.h)

.PHONY: test test-matrix demo mock bench fuzz parser-cases sabotage sanitize check-layers deps deb dist
deps:
	test/deps.sh
test:
	test/run.sh
test-matrix:
	test/matrix.sh $(if $(TARGETS),--targets $(TARGETS))
demo:
	test/demo.sh
mock:
	test/mock.sh
bench:
	bench/run.sh $(if $(N),--rows $(N))
fuzz:
	test/fuzz/run.sh $(if $(SECONDS),--seconds $(SECONDS))
parser-cases:
	test/fuzz/cases.sh
sabotage:
	test/sabotage.sh
sanitize:
	test/sanitize.sh

check-layers:
	/usr/bin/python3 test/check_layers.py --selftest
	/usr/bin/python3 test/check_layers.py
deb:
	tools/deb.sh
dist:
	tools/dist.sh
