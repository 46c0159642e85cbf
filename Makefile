# SPDX-License-Identifier: Apache-2.0
# Builds out of tree into $(OUTPUT). `make help` lists the targets.

OUTPUT ?= .output
prefix ?= /usr/local
DESTDIR ?=

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc

ARCH := $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error unsupported architecture $(ARCH))
endif
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARNINGS := -Wall -Wextra -Werror -Werror=undef -Wstrict-prototypes -Wmissing-prototypes \
	    -Wshadow -Wpointer-arith -Wsign-compare -Wformat=2 -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
override CFLAGS += $(WARNINGS) -std=gnu11 -D_GNU_SOURCE -I. -I$(OUTPUT)
SAN ?=
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

POLICY_LIBS := -lcjson -lcrypto
HTTPS_LIBS := -levent_openssl -levent -lssl
# The journal's writer hashes with libgcrypt's SM3 (assembly; OpenSSL 3.0 has none for SM3).
JOURNAL_LIBS := -lgcrypt
AGENT_LIBS := -lbpf -lelf -lz -lseccomp $(HTTPS_LIBS) -lsqlite3 -lrdkafka $(JOURNAL_LIBS)
TEST_LIBS := -lcmocka

# -mcpu=v3: atomic fetch-and-add/or (exact use counts, holder bits) need BPF ISA v3 (>= 5.12).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -I. \
	      -Wall -Werror -Werror=undef

POLICY_SRCS := $(wildcard policy/*.c)
POLICY_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(POLICY_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.skel.h,$(BPF_SRCS))
HTTPS_SRCS := $(wildcard https/*.c)
JOURNAL_SRCS := $(wildcard journal/*.c)
HTTPS_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(HTTPS_SRCS))
AGENT_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c))
AGENT_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(AGENT_SRCS))
PEPCTL_SRCS := $(wildcard tools/pepctl*.c)
TDS_SRCS := tools/tds-platform.c $(wildcard tools/tds_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(wildcard tests/unit/test_*.c))
# Kernel tests: tests/bpf/test_*.c, linked with the agent's objects (root, own cgroup).
BPF_TESTS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
# Benchmarks: tests/bench/*.c, linked like the kernel tests; run by tests/bench/run.sh.
# A benchmark's own BPF program is tests/bench/<name>.bpf.c, its skeleton beside the bench.
BENCH_BPF := $(wildcard tests/bench/*.bpf.c)
BENCHES := $(patsubst tests/bench/%.c,$(OUTPUT)/tests/bench/%,\
	     $(filter-out $(BENCH_BPF),$(wildcard tests/bench/*.c)))
BINS := $(OUTPUT)/pepctl $(OUTPUT)/pep-agent $(OUTPUT)/tds-platform
# tests/bpf/kafka.t's broker (librdkafka's mock cluster), linked like the kernel tests.
TEST_HELPERS := $(OUTPUT)/tests/bpf/kafka_broker

.PHONY: all deps test test-unit check asan fuzz bench demo install clean help vmlinux
all: $(BINS) $(UNIT_TESTS) $(BPF_TESTS) $(TEST_HELPERS) $(BENCHES)

help:
	@echo "make deps    install the Debian packages the project needs (root, idempotent)"
	@echo "make         build everything into $(OUTPUT)/"
	@echo "make demo    the main job: see README"
	@echo "make check   deps + every test suite CI runs (README's test command)"
	@echo "make test    unit tests only (no root)"
	@echo "make asan    unit tests under ASan+UBSan"
	@echo "make fuzz    libFuzzer over parse+validate+verify (FUZZ_SECONDS, default 60)"
	@echo "make bench   benchmarks (ratios, medians)"
	@echo "make install DESTDIR= prefix=/usr/local"

deps:
	./scripts/deps.sh

# ---- policy/ ----------------------------------------------------------------------------
$(OUTPUT)/libpolicy.a: $(POLICY_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(OUTPUT)/%.o: %.c $(wildcard policy/*.h https/*.h journal/*.h bpf/*.h agent/*.h tools/*.h tests/unit/*.h) | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# ---- bpf/ ------------------------------------------------------------------------------
# bpf/*.bpf.c, and tests/bench/*.bpf.c (a benchmark's own load)
$(OUTPUT)/%.bpf.o: %.bpf.c $(wildcard bpf/*.h) $(VMLINUX)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

# A loader embeds its skeleton: rebuild loaders when a BPF object changes (not just order-only).
$(AGENT_OBJS) $(OUTPUT)/agent/main.o: $(BPF_SKELS)

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$(notdir $*))_bpf > $@

$(OUTPUT)/tests/bench/journal_bench.o: $(OUTPUT)/tests/bench/journal_load.skel.h

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(OUTPUT)/vmlinux.h.tmp
	cmp -s $(OUTPUT)/vmlinux.h.tmp $(VMLINUX) || mv $(OUTPUT)/vmlinux.h.tmp $(VMLINUX)

# ---- programs ---------------------------------------------------------------------------
# pepctl records verify reads the journal itself, with the same code as the agent writes it.
$(OUTPUT)/pepctl: $(patsubst %.c,$(OUTPUT)/%.o,$(PEPCTL_SRCS)) $(OUTPUT)/libjournal.a \
		  $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) -lseccomp -o $@

# ---- https/: mutual-TLS server and client, shared by the agent and tds-platform ----------
$(OUTPUT)/libhttps.a: $(HTTPS_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

# ---- journal/: the behaviour records' format, written by the agent, checked by pepctl ----
$(OUTPUT)/libjournal.a: $(patsubst %.c,$(OUTPUT)/%.o,$(JOURNAL_SRCS))
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(OUTPUT)/libagent.a: $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(OUTPUT)/pep-agent: $(OUTPUT)/agent/main.o $(OUTPUT)/libagent.a $(OUTPUT)/libjournal.a \
		       $(OUTPUT)/libhttps.a $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(AGENT_LIBS) -o $@

$(OUTPUT)/tds-platform: $(patsubst %.c,$(OUTPUT)/%.o,$(TDS_SRCS)) $(OUTPUT)/libhttps.a \
		       $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(HTTPS_LIBS) $(JOURNAL_LIBS) -lsqlite3 -o $@

# ---- tests ------------------------------------------------------------------------------
$(OUTPUT)/tests/unit/%: $(OUTPUT)/tests/unit/%.o $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(JOURNAL_LIBS) $(TEST_LIBS) -o $@

# The journal needs no kernel: its unit test links the journal library only.
$(OUTPUT)/tests/unit/test_journal: $(OUTPUT)/libjournal.a
$(OUTPUT)/tests/unit/test_clock: $(OUTPUT)/agent/clock.o

$(OUTPUT)/tests/bpf/%: $(OUTPUT)/tests/bpf/%.o $(OUTPUT)/libagent.a $(OUTPUT)/libjournal.a \
		      $(OUTPUT)/libhttps.a $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(AGENT_LIBS) $(TEST_LIBS) -o $@

$(OUTPUT)/tests/bench/%: $(OUTPUT)/tests/bench/%.o $(OUTPUT)/libagent.a $(OUTPUT)/libjournal.a \
			$(OUTPUT)/libhttps.a $(OUTPUT)/libpolicy.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(POLICY_LIBS) $(AGENT_LIBS) $(TEST_LIBS) -o $@

# Unit tests (tests/unit, cmocka) and command-line tests (tests/cli/*.t) need no root.
# cmocka 1.1.5 prints skips as "not ok": a test that must skip prints "1..0 # SKIP why" itself.
export CMOCKA_MESSAGE_OUTPUT := TAP
test test-unit: $(UNIT_TESTS) $(BINS)
	OUTPUT=$(OUTPUT) prove $(UNIT_TESTS) $(wildcard tests/cli/*.t)

asan:
	$(MAKE) OUTPUT=.output-asan SAN=address,undefined CFLAGS="-O1 -g" test-unit

FUZZ_SECONDS ?= 60
$(OUTPUT)/fuzz/fuzz_contract: tests/fuzz/fuzz_contract.c $(POLICY_SRCS) $(wildcard policy/*.h)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
		tests/fuzz/fuzz_contract.c $(POLICY_SRCS) $(POLICY_LIBS) -o $@
fuzz: $(OUTPUT)/fuzz/fuzz_contract
	./tests/fuzz/run.sh $< $(FUZZ_SECONDS)

# The README's test command: everything CI runs, set-up included.
check: deps
	./scripts/kernel-setup.sh
	$(MAKE) all
	OUTPUT=$(OUTPUT) prove $(UNIT_TESTS) $(wildcard tests/cli/*.t) $(BPF_TESTS) \
		$(wildcard tests/bpf/*.t tests/vm/*.t)
	$(MAKE) asan
	$(MAKE) fuzz

bench: all
	./tests/bench/run.sh $(OUTPUT)

demo: deps
	./scripts/kernel-setup.sh
	$(MAKE) all
	./scripts/demo.sh $(OUTPUT)

# The unit names the agent where it is installed; a config already in /etc/pep is kept.
install: $(BINS)
	install -d $(DESTDIR)$(prefix)/bin $(DESTDIR)$(prefix)/lib/systemd/system \
		$(DESTDIR)$(prefix)/share/doc/pep $(DESTDIR)/etc/pep
	install -m 0755 $(BINS) $(DESTDIR)$(prefix)/bin/
	sed 's|@prefix@|$(prefix)|g' systemd/pep-agent.service \
		>$(DESTDIR)$(prefix)/lib/systemd/system/pep-agent.service
	chmod 0644 $(DESTDIR)$(prefix)/lib/systemd/system/pep-agent.service
	install -m 0644 README.md docs/agent.conf.example $(DESTDIR)$(prefix)/share/doc/pep/
	[ -e $(DESTDIR)/etc/pep/agent.conf ] || \
		install -m 0600 docs/agent.conf.example $(DESTDIR)/etc/pep/agent.conf

clean:
	rm -rf $(OUTPUT) .output-asan

.DELETE_ON_ERROR:
.SECONDARY:
