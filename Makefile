# pg_budget: PGXS build.  CFLAGS come from pg_config; add warnings with
# COPT, e.g. make COPT='-Wall -Wextra -Werror'.

PG_CONFIG ?= pg_config

EXTENSION = pg_budget
MODULE_big = pg_budget
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA = $(wildcard sql/pg_budget--*.sql)
# server headers as system headers: -Wextra judges our code, not theirs
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)

REGRESS = setup status functions settings privileges rules
REGRESS_OPTS = --temp-instance=$(CURDIR)/tmp_regress \
	--temp-config=$(srcdir)/test/regress.conf
TAP_TESTS = 1

EXTRA_CLEAN = tmp_regress results regression.diffs regression.out \
	test/unit/build test/unit/build-sanitize test/fuzz/build


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: unittest unittest-sanitize fuzz
unittest:
	PG_CONFIG=$(PG_CONFIG) bash test/unit/run.sh

# the same unit tests under AddressSanitizer and UBSan (any report fails)
unittest-sanitize:
	SANITIZE=1 PG_CONFIG=$(PG_CONFIG) bash test/unit/run.sh

# libFuzzer on the class-table parser and the admission arithmetic
fuzz:
	PG_CONFIG=$(PG_CONFIG) bash test/fuzz/run.sh

# PGXS does not track header dependencies: every object depends on every
# header, so that a change to a shared struct rebuilds all its users.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# PGXN: `make dist` writes pg_budget-<version>.zip (DIST_OUT=dir to put it
# elsewhere), the version read from pg_budget.control's default_version
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(srcdir)/pg_budget.control)
DIST_OUT ?= .
.PHONY: dist
dist:
	perl $(srcdir)/scripts/dist.pl $(srcdir) $(EXTENSION)-$(EXTVERSION) $(DIST_OUT)
