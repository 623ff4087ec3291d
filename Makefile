# xordi-tlog build. `make` builds every binary into bin/; `make test` runs the suite.
#
# Each module folder has a module.mk that declares, with plain variables:
#   LIBS     += name            a static library built from name_SRCS
#   BINS     += name            a shipped program (`make install`), from name_SRCS + name_LIBS
#   TESTS    += name            a test program (run by `make test`), same variables
#   TOOLS    += name            a helper program for tests/bench (built, not run as a test)
#   name_PKGS                   pkg-config packages it needs (libraries and programs)
# Every program also links base/ (the shared helpers), so no module lists it.
# Modules never edit this file to add their own pieces.
#
# `make` prints one line per target ("CC logd/main.c", "LD bin/logd"); V=1 prints the
# commands. `make install` (PREFIX=/usr/local, DESTDIR honoured) installs the BINS only,
# with man pages and tlog's bash completion generated from their --help texts.

SHELL := /bin/bash
# The rules generated from module.mk come first in the file; `make` alone must still build
# everything, not the first library.
.DEFAULT_GOAL := all
CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif

SAN ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# libFuzzer build: clang, ASan+UBSan, objects instrumented for coverage.
CC := clang
OUT := build/fuzz
OPT := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
SANLD := -fsanitize=fuzzer,address,undefined
else ifeq ($(SAN),1)
OUT := build/san
OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANLD := -fsanitize=address,undefined
else
OUT := build/rel
OPT := -O2 -D_FORTIFY_SOURCE=2
SANLD :=
endif
BIN := $(if $(filter 1,$(FUZZ)),bin/fuzz,$(if $(filter 1,$(SAN)),bin/san,bin))

# $(call show,WHAT) prints one short line for a recipe, unless V=1 shows the commands.
V ?= 0
ifeq ($(V),1)
show :=
else
show = @echo "$(1)";
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# Reproducible builds: no absolute paths or times end up in binaries.
REPRO := -ffile-prefix-map=$(CURDIR)=. -fdebug-prefix-map=$(CURDIR)=.

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter
HARDEN := -fstack-protector-strong -fPIE -fno-strict-aliasing
CFLAGS ?=
BASE_CFLAGS := -std=c11 -g $(OPT) $(WARN) $(HARDEN) $(REPRO) -D_GNU_SOURCE \
               -DXT_VERSION='"$(VERSION)"' -I. $(CFLAGS)
LDFLAGS ?=
BASE_LDFLAGS := -pie -Wl,-z,relro,-z,now $(SANLD) $(LDFLAGS)

LIBS :=
BINS :=
TESTS :=
TOOLS :=
FUZZERS :=
include $(sort $(wildcard */module.mk */*/module.mk))

pkg_cflags = $(if $(1),$(shell pkg-config --cflags $(1)))
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1)))

# One object directory per build flavour; dependency files keep headers honest.
obj_of = $(patsubst %.c,$(OUT)/obj/%.o,$(1))

define lib_rule
$(OUT)/lib$(1).a: $(call obj_of,$($(1)_SRCS))
	@mkdir -p $$(@D)
	$$(call show,AR $$@)rm -f $$@ && ar rcsD $$@ $$^
$(call obj_of,$($(1)_SRCS)): PKGS := $($(1)_PKGS)
endef

# Programs link their own libraries plus the libraries' pkg-config dependencies.
# base/ is the bottom of the tree: every program links it, last, so no module.mk
# names it and any library may use it.
define prog_rule
$(1)_ALLPKGS := $(sort $($(1)_PKGS) $(foreach l,$($(1)_LIBS) base,$($(l)_PKGS)))
$(BIN)/$(1): $(call obj_of,$($(1)_SRCS)) $(foreach l,$(filter-out base,$($(1)_LIBS)) base,$(OUT)/lib$(l).a)
	@mkdir -p $$(@D)
	$$(call show,LD $$@)$$(CC) $$(BASE_LDFLAGS) -o $$@ $(call obj_of,$($(1)_SRCS)) \
	  $(foreach l,$(filter-out base,$($(1)_LIBS)) base,$(OUT)/lib$(l).a) $$(call pkg_libs,$$($(1)_ALLPKGS)) -lpthread -lm
$(call obj_of,$($(1)_SRCS)): PKGS := $($(1)_PKGS) $(foreach l,$($(1)_LIBS) base,$($(l)_PKGS))
endef

$(foreach l,$(LIBS),$(eval $(call lib_rule,$(l))))
$(foreach p,$(BINS) $(TESTS) $(TOOLS) $(FUZZERS),$(eval $(call prog_rule,$(p))))

$(OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call show,CC $<)$(CC) $(BASE_CFLAGS) $(call pkg_cflags,$(PKGS)) -MMD -MP -c -o $@ $<

-include $(shell find build -name '*.d' 2>/dev/null)

ALL_PROGS := $(addprefix $(BIN)/,$(BINS) $(TOOLS))
ALL_TESTS := $(addprefix $(BIN)/,$(TESTS))

# Man pages and tlog's bash completion, generated from the shipped programs' --help
# texts (deploy/gen-man.sh, deploy/gen-completion.sh), so they cannot drift from them.
MAN_OUT := $(OUT)/man
MAN_STAMP := $(MAN_OUT)/.stamp
COMPLETION := $(OUT)/completion/tlog
HELP_GEN := deploy/help-lib.sh README.md VERSION

$(MAN_STAMP): $(addprefix $(BIN)/,$(BINS)) deploy/gen-man.sh $(HELP_GEN)
	$(call show,MAN $(MAN_OUT)/*.1)bash deploy/gen-man.sh --out $(MAN_OUT) $(addprefix $(BIN)/,$(BINS))
	@touch $@

$(COMPLETION): $(BIN)/tlog deploy/gen-completion.sh $(HELP_GEN)
	@mkdir -p $(@D)
	$(call show,GEN $@)bash deploy/gen-completion.sh $(BIN)/tlog $@

.PHONY: all deps test check sanitize bench demo clean fuzz fuzzers all-tests crashtest faulttest release \
        doc install uninstall
all: $(ALL_PROGS) doc

doc: $(MAN_STAMP) $(COMPLETION)

# Installs the shipped programs (BINS: never a TOOLS or TESTS program), their man pages
# and tlog's bash completion under $(DESTDIR)$(PREFIX).
PREFIX ?= /usr/local
DESTDIR ?=
bindir ?= $(PREFIX)/bin
man1dir ?= $(PREFIX)/share/man/man1
bashcompdir ?= $(PREFIX)/share/bash-completion/completions
install: $(addprefix $(BIN)/,$(BINS)) doc
	@install -d $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) $(DESTDIR)$(bashcompdir)
	$(call show,INSTALL $(DESTDIR)$(bindir): $(BINS))install -m 0755 $(addprefix $(BIN)/,$(BINS)) $(DESTDIR)$(bindir)/
	$(call show,INSTALL $(DESTDIR)$(man1dir): $(MAN_OUT)/*.1)install -m 0644 $(MAN_OUT)/*.1 $(DESTDIR)$(man1dir)/
	$(call show,INSTALL $(DESTDIR)$(bashcompdir)/tlog)install -m 0644 $(COMPLETION) $(DESTDIR)$(bashcompdir)/tlog

# Removes what install wrote; the page names are those of this build's man pages.
uninstall: $(MAN_STAMP)
	$(call show,UNINSTALL $(DESTDIR)$(PREFIX))rm -f $(addprefix $(DESTDIR)$(bindir)/,$(BINS)) \
	  $(DESTDIR)$(bashcompdir)/tlog && \
	for f in $(MAN_OUT)/*.1; do rm -f "$(DESTDIR)$(man1dir)/$${f##*/}"; done

deps:
	@bash deploy/install-deps.sh

# The test programs print "ok - name" / "not ok - name" lines; tests/run.sh runs
# them all (and the shell tests in tests/*.test.sh) and prints "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory all-tests
	@BIN=$(BIN) bash tests/run.sh $(ALL_TESTS)

all-tests: $(ALL_PROGS) $(ALL_TESTS)

check: test

sanitize: deps
	@$(MAKE) --no-print-directory SAN=1 all-tests
	@BIN=bin/san ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  bash tests/run.sh $(addprefix bin/san/,$(TESTS))

bench: deps all
	@bash bench/run.sh

demo: deps all
	@bash tests/demo.sh

# Two clean builds of HEAD compared bit for bit; writes release/manifest.json.
# RELEASE_ARGS: deploy/release.sh's options (the release workflow passes --image-repo).
RELEASE_ARGS ?=
release: deps
	@bash deploy/release.sh $(RELEASE_ARGS)

# The long crash test (not in CI): 100 kill -9 cycles of logd under load, then every
# acknowledged entry and every published checkpoint checked (XT_CRASH_CYCLES to change).
XT_CRASH_CYCLES ?= 100
crashtest: deps
	@$(MAKE) --no-print-directory all-tests
	@XT_CRASH_CYCLES=$(XT_CRASH_CYCLES) XT_TEST_TIMEOUT=3600 XT_TEST_SCRIPTS=0 BIN=$(BIN) bash tests/run.sh $(BIN)/test-logd-crash

# tests/logd-faults.test.sh in its long mode: XT_FAULT_CYCLES (default 30) random
# write, fsync and ENOSPC failures under load, each followed by a restart.
XT_FAULT_CYCLES ?= 30
faulttest: deps
	@$(MAKE) --no-print-directory all-tests
	@XT_FAULTS_LONG=1 XT_FAULT_CYCLES=$(XT_FAULT_CYCLES) BIN=$(BIN) bash tests/logd-faults.test.sh

# libFuzzer targets (FUZZERS in module.mk files, sources in tests/fuzz/), each run for
# FUZZ_SECONDS on its seed corpus tests/fuzz/corpus/<name>/; new inputs go to a
# scratch copy, crashes to tests/fuzz/artifacts/.
FUZZ_SECONDS ?= 30
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(addprefix bin/fuzz/,$(FUZZERS))

fuzzers: $(addprefix $(BIN)/,$(FUZZERS))

clean:
	rm -rf build bin

# OCI image layouts of logd and collector from bin/ and the package lock, without a
# container runtime (deploy/images/build-images.sh): release/images/{logd,collector}.
.PHONY: images lock
images: $(BIN)/logd $(BIN)/collector
	@bash deploy/images/build-images.sh --bin $(BIN) --out release/images --reuse

# Re-pins deploy/images/packages.lock to the versions Debian's archive offers now.
lock: $(BIN)/logd $(BIN)/collector
	@bash deploy/images/make-lock.sh --bin $(BIN) --out deploy/images/packages.lock
