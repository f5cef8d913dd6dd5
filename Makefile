# SoulBox build. `make` builds build/soulbox; `make test` installs what is
# missing, builds, and runs every test suite; `make run` starts the service.
CC      ?= gcc
PYTHON  := /usr/bin/python3
PKGS    := libuv jansson libcyaml libseccomp sqlite3 libnghttp2 libprotobuf-c zlib

# Default: Debian's static archives for every library that ships one; libc and
# libwslay (Debian has no static libwslay) are shared. Loading two shared
# libraries instead of eight keeps `soulbox run` starting fast. Sanitizer
# builds and `make LINK=dynamic` link every library shared.
ifeq ($(SANITIZE),1)
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LINK    ?= dynamic
else
BUILD   ?= build
SANFLAGS :=
LINK    ?= static
endif

# snprintf truncation is always bounded and checked where it matters; the
# warning fires on every PATH_MAX-sized join, so it is off.
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
           -Wno-format-truncation
# No strict aliasing: socket address code views one struct through several types.
BASE    := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -Isrc -fstack-protector-strong -fno-strict-aliasing \
           -D_FORTIFY_SOURCE=2 -fPIE
# libpq: headers only; cluster mode loads libpq.so.5 at run time (store/pq.c).
CFLAGS  := $(BASE) $(SANFLAGS) $(shell pkg-config --cflags $(PKGS) libpq 2>/dev/null) -I$(BUILD)/gen
# Tests always link the shared libraries (Criterion has no usable static form).
TEST_LDLIBS := $(shell pkg-config --libs $(PKGS) criterion 2>/dev/null) -lhttp_parser -lwslay -lm -lpthread
ifeq ($(LINK),static)
LDLIBS  := -Wl,-Bstatic $(shell pkg-config --static --libs $(PKGS) 2>/dev/null | \
             sed 's/-luv /-luv_a /; s/-lpthread//g; s/-ldl//g; s/-lrt//g; s/-lm\b//g') -lhttp_parser \
           -Wl,-Bdynamic -lwslay -lm -lpthread
LDFLAGS := -pie -Wl,-z,relro,-z,now,--as-needed
else
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lwslay -lm -lpthread
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SANFLAGS)
endif

# The agent is pid 1 of every sandbox: static, libc only, never sanitized.
AGENT_SRC := $(wildcard src/sandbox/agent/*.c) src/sandbox/plan.c src/sandbox/proto.c \
             src/sandbox/tlv.c src/sandbox/rootfs.c src/sandbox/creds.c src/sandbox/net.c \
             src/sandbox/rlimits.c src/common/error.c src/common/util.c
AGENT_OBJ := $(AGENT_SRC:src/%.c=$(BUILD)/agent/%.o)

# Everything but the binary's front end: what unit tests link against.
LIB_SRC := $(filter-out src/sandbox/seccomp_gen.c, \
             $(wildcard src/common/*.c src/config/*.c src/sandbox/*.c src/runner/*.c \
                        src/scheduler/*.c src/store/*.c src/cluster/*.c src/transport/*.c src/service/*.c src/net/*.c \
                        src/frontend/*.c src/frontend/*/*.c src/server/*.c src/client/*.c src/vm/*.c))
# gRPC: C code generated from proto/ by protoc-c, and the descriptor set for reflection.
PROTOS  := soulbox/v1/soulbox.proto soulbox/v1/sessions.proto grpc/health/v1/health.proto \
           grpc/reflection/v1alpha/reflection.proto
PB_SRC  := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
PB_OBJ  := $(PROTOS:%.proto=$(BUILD)/obj/gen/%.pb-c.o)
.SECONDARY: $(PB_SRC) $(PB_SRC:.c=.h)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/agent_blob.o $(BUILD)/obj/vm_init_blob.o \
           $(BUILD)/obj/seccomp_blob.o $(BUILD)/obj/languages_blob.o \
           $(BUILD)/obj/proto_blob.o $(BUILD)/obj/templates_blob.o \
           $(BUILD)/obj/drivers_blob.o $(BUILD)/obj/ui_blob.o $(PB_OBJ)
LANG_FILES := $(sort $(wildcard languages/*.yaml))
TPL_FILES  := $(sort $(wildcard templates/*.yaml))
CLI_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
GEN_OBJ := $(BUILD)/obj/sandbox/seccomp.o $(BUILD)/obj/common/error.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test check check-san check-cgroup2 check-microvm check-container check-piston check-judge0 unit integration cluster load sdk ui-test setup setup-run run install clean
all: $(BUILD)/soulbox

$(BUILD)/soulbox: $(LIB_OBJ) $(CLI_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c | $(PB_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	cd proto && protoc-c --c_out=$(abspath $(BUILD))/gen $*.proto

$(BUILD)/obj/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(BUILD)/gen/descriptors.pb: $(addprefix proto/,$(PROTOS))
	@mkdir -p $(dir $@)
	cd proto && protoc-c --descriptor_set_out=$(abspath $@) --include_imports $(PROTOS)

$(BUILD)/obj/proto_blob.o: src/frontend/grpc/proto_blob.S $(BUILD)/gen/descriptors.pb
	@mkdir -p $(dir $@)
	$(CC) -c -DPROTO_SET='"$(BUILD)/gen/descriptors.pb"' -o $@ $<

$(BUILD)/agent/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -MMD -MP -c -o $@ $<

$(BUILD)/soulbox-agent: $(AGENT_OBJ)
	$(CC) -static-pie -Wl,-z,relro,-z,now,-z,noexecstack -o $@ $^

$(BUILD)/obj/agent_blob.o: src/sandbox/agent_blob.S $(BUILD)/soulbox-agent
	@mkdir -p $(dir $@)
	$(CC) -c -DAGENT_BIN='"$(BUILD)/soulbox-agent"' \
	    -DAGENT_ID="\"$$(sha256sum $(BUILD)/soulbox-agent | cut -c1-16)\"" -o $@ $<

# A microVM guest's /init: static, libc only, embedded like the agent.
$(BUILD)/vm-init: src/vm/init/init.c src/vm/init/boot.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE) -static -Os -o $@ $<

$(BUILD)/obj/vm_init_blob.o: src/vm/init_blob.S $(BUILD)/vm-init
	@mkdir -p $(dir $@)
	$(CC) -c -DVM_INIT_BIN='"$(BUILD)/vm-init"' -o $@ $<

# The default filter is compiled once, at build time, by the same libseccomp.
$(BUILD)/seccomp-gen: $(BUILD)/obj/sandbox/seccomp_gen.o $(GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/seccomp-notify.bpf: $(BUILD)/seccomp-gen
	$< $(BUILD)/seccomp-notify.bpf $(BUILD)/seccomp-kill.bpf

$(BUILD)/obj/seccomp_blob.o: src/sandbox/seccomp_blob.S $(BUILD)/seccomp-notify.bpf
	@mkdir -p $(dir $@)
	$(CC) -c -DBPF_NOTIFY='"$(BUILD)/seccomp-notify.bpf"' \
	    -DBPF_KILL='"$(BUILD)/seccomp-kill.bpf"' -o $@ $<

# Every language file, each behind "\0SOULBOX-LANG <name>\n", for embedding.
$(BUILD)/languages.bundle: $(LANG_FILES)
	@mkdir -p $(dir $@)
	@: > $@; for f in $(LANG_FILES); do printf '\000SOULBOX-LANG %s\n' "$${f##*/}" >> $@; \
	    cat "$$f" >> $@; done

$(BUILD)/obj/languages_blob.o: src/runner/languages_blob.S $(BUILD)/languages.bundle
	@mkdir -p $(dir $@)
	$(CC) -c -DLANG_BUNDLE='"$(BUILD)/languages.bundle"' -o $@ $<

# Every session template, each behind "\000SOULBOX-TPL <name>\n".
$(BUILD)/templates.bundle: $(TPL_FILES)
	@mkdir -p $(dir $@)
	@: > $@; for f in $(TPL_FILES); do printf '\000SOULBOX-TPL %s\n' "$${f##*/}" >> $@; \
	    cat "$$f" >> $@; done

$(BUILD)/obj/templates_blob.o: src/service/templates_blob.S $(BUILD)/templates.bundle
	@mkdir -p $(dir $@)
	$(CC) -c -DTPL_BUNDLE='"$(BUILD)/templates.bundle"' -o $@ $<

# The web UI (ui/): bundled by esbuild from ui/src and ui/node_modules (npm ci
# when ui/package-lock.json changed), then embedded like the drivers.
# (A copy without ui/, as in deploy/Dockerfile's build stage, takes $(BUILD)/ui as built.)
UI_SRC := $(wildcard ui/src/* ui/build.mjs ui/package-lock.json)
$(BUILD)/ui/version: $(UI_SRC)
	@scripts/ui-deps.sh
	node ui/build.mjs $(abspath $(BUILD))/ui

$(BUILD)/obj/ui_blob.o: src/frontend/ui/ui_blob.S $(BUILD)/ui/version
	@mkdir -p $(dir $@)
	$(CC) -c -Wa,-I$(BUILD)/ui -o $@ $<

DRIVERS := src/service/drivers/python.py src/service/drivers/javascript.js \
           src/service/drivers/bash.sh src/service/drivers/watch.py \
           src/service/fnrt/python.py src/service/fnrt/javascript.js
$(BUILD)/obj/drivers_blob.o: src/service/drivers_blob.S $(DRIVERS)
	@mkdir -p $(dir $@)
	$(CC) -c -DDRIVER_PY='"src/service/drivers/python.py"' \
	    -DDRIVER_JS='"src/service/drivers/javascript.js"' \
	    -DDRIVER_SH='"src/service/drivers/bash.sh"' \
	    -DDRIVER_WATCH='"src/service/drivers/watch.py"' \
	    -DFNRT_PY='"src/service/fnrt/python.py"' \
	    -DFNRT_JS='"src/service/fnrt/javascript.js"' -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJ) -pie $(SANFLAGS) $(TEST_LDLIBS)

# One command for everything: dependencies, build, unit, integration, attack
# and load tests, the engine's tests on pure cgroup v2 in a VM, then unit,
# integration and attack tests again under ASan + UBSan (LeakSanitizer at
# exit), then every fuzz target for a short while.
test: setup
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory check-cgroup2
	$(MAKE) --no-print-directory check-microvm
	$(MAKE) --no-print-directory check-container
	$(MAKE) --no-print-directory check-san
	$(MAKE) --no-print-directory fuzz-smoke

# The sanitizer run: a leak or undefined behaviour in the server or the CLI
# makes its process exit non-zero, which fails the test that ran it. A small
# quarantine keeps memory use (which some tests bound) close to normal.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=4:thread_local_quarantine_size_kb=64 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
check-san:
	$(MAKE) --no-print-directory SANITIZE=1 all unit
	$(SAN_ENV) SOULBOX=$(CURDIR)/build-san/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration tests/security
	$(SAN_ENV) SOULBOX=$(CURDIR)/build-san/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/cluster -k "sync_requests or async_work or restarting or cut_off or forwards or e2b"

setup:
	@scripts/setup.sh

# The engine's unit tests (test_cgroup, test_sandbox, test_pool) and `soulbox
# run` with memory, wall-time and process limit breaches, as root in a VM
# booted with pure cgroup v2 (cgroup_no_v1=all), so that the v2 code of
# src/sandbox/cgroup.c runs for real on a host with cgroup v1. Debian's cloud
# kernel under QEMU (microvm, TCG: no KVM needed; 30-40 s here), the host's
# / read-only over virtiofs. Fails if QEMU or the kernel is missing (make setup
# installs QEMU and unpacks the kernel into /var/lib/soulbox/guest-kernel), if
# the guest does not boot, or after 15 minutes.
check-cgroup2: all unit
	$(PYTHON) tests/vm/run_in_vm.py --build $(BUILD) --timeout 900

# The microVM isolation backend end to end (tests/microvm): a fixed set of
# runs, each booting a guest under TCG here (~3 s; compilers 20 s): the
# languages python, bash, javascript, c, go and java, every limit's status,
# the isolation proofs and the VMM's confinement. Run once, not again under
# the sanitizers (a few minutes), and egress against netlab's fake internet.
# Then the attack suite's filesystem, kernel-surface, resource and egress
# cases with every attack inside a microVM (the neighbour each checks stays
# on namespaces): 8 minutes here.
check-microvm: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider tests/microvm
	SOULBOX=$(abspath $(BUILD))/soulbox SOULBOX_ATTACK_ISOLATION=microvm $(PYTHON) -m pytest -q \
	    -p no:cacheprovider tests/security/test_attack_files.py \
	    tests/security/test_attack_kernel.py tests/security/test_attack_resources.py \
	    tests/security/test_attack_egress.py

# The container image end to end (tests/deploy/test_container.py): Debian's
# dockerd started by hand on a socket, data root and bridge of its own (no
# iptables rules), a debootstrap base image, deploy/Dockerfile built with
# bash, c and python, then run with the documented flags and driven over its
# published ports; also without each flag. ~3 minutes here on a fresh
# machine (the base image and layers stay in /var/lib/soulbox-test-docker).
check-container: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider tests/deploy

check: all unit integration check-piston check-judge0 cluster load sdk ui-test

# The attack suite's cases through the server again with every run submitted
# through a compat API (no endpoint is a way around a limit): run() through
# Piston's POST /api/v2/execute or Judge0's POST /submissions?wait=true, the
# attacks in the background through Piston's WebSocket or Judge0's create +
# poll. What the API cannot say (disk, open files, network...) stays native;
# how many runs went each way is printed per file (docs/compat.md). About
# 1.5 minutes each here.
COMPAT_ATTACKS := kernel leaks result network resources kill files
check-piston check-judge0: check-%: all
	@rm -f $(BUILD)/attack-via-$*.txt
	SOULBOX=$(abspath $(BUILD))/soulbox SOULBOX_ATTACK_VIA=$* \
	    SOULBOX_ATTACK_VIA_REPORT=$(abspath $(BUILD))/attack-via-$*.txt $(PYTHON) -m pytest -q \
	    -p no:cacheprovider $(COMPAT_ATTACKS:%=tests/security/test_attack_%.py)
	@cat $(BUILD)/attack-via-$*.txt

# The web UI in a real browser (tests/ui): Debian's Chromium driven by npm's
# playwright-core against one server with keys, sessions and an admin key;
# screenshots of each view land in docs/img. Once, not under the sanitizers.
ui-test: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) tests/sdk/with_server.py --name ui \
	    --uid-base 2100000000 -- node --test --test-concurrency=1 tests/ui/

# Cluster mode (tests/cluster): Debian's PostgreSQL started in a temporary
# directory, three to four nodes on loopback ports, faults (kill -9, the
# database restarting, a partition through a proxy) and 1,000 mixed requests
# with a node killed and restarted. ~30 s.
cluster: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider tests/cluster

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

integration: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration tests/security

# 10,000 mixed requests at concurrency 64 (SOULBOX_LOAD_REQUESTS to change).
load: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) -m pytest -q -s -p no:cacheprovider tests/load

# The Python, Node.js and Go SDKs (sdk/), built and tested against one real
# server (API keys and sessions on); once, not again under the sanitizers.
sdk: all
	SOULBOX=$(abspath $(BUILD))/soulbox $(PYTHON) tests/sdk/with_server.py -- tests/sdk/run_all.sh

run: setup-run all
	$(BUILD)/soulbox serve --config config/soulbox.yaml

# What serving needs, without the test tools (a Docker engine, promtool, ...).
setup-run:
	@SOULBOX_SETUP=run scripts/setup.sh

# A host install (docs/deploy.md): the binary, a config (never overwritten),
# the systemd unit, the data directory. DESTDIR for staging, PREFIX for the
# binary's place (the unit follows it).
PREFIX ?= /usr/local
install: all
	install -D -m 755 $(BUILD)/soulbox $(DESTDIR)$(PREFIX)/bin/soulbox
	[ -e $(DESTDIR)/etc/soulbox/soulbox.yaml ] || \
	    install -D -m 640 config/soulbox.yaml $(DESTDIR)/etc/soulbox/soulbox.yaml
	install -d -m 755 $(DESTDIR)/etc/systemd/system
	sed 's|/usr/local|$(PREFIX)|g' deploy/systemd/soulbox.service > \
	    $(DESTDIR)/etc/systemd/system/soulbox.service
	chmod 644 $(DESTDIR)/etc/systemd/system/soulbox.service
	install -D -m 644 docs/deploy.md $(DESTDIR)$(PREFIX)/share/doc/soulbox/deploy.md
	install -d -m 700 $(DESTDIR)/var/lib/soulbox

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- Fuzzing (tests/fuzz) ----
# libFuzzer targets for every parser of outside input, built with clang, ASan
# and UBSan in build-fuzz/ (the project's objects in an archive, so each
# target links only what it uses; libraries shared, as in the sanitizer
# build). Needs clang and libclang-rt-dev (scripts/setup.sh).
#   make fuzz                     every target for FUZZ_SECONDS (default 60) each
#   make fuzz FUZZ_TARGETS=http   only some
#   make fuzz-smoke               CI: 10 s each, seeds and regressions first
# Each run first replays tests/fuzz/regressions/<name> and the seeds in
# tests/fuzz/corpus/<name>, then fuzzes with both as its starting corpus; new
# inputs go to build-fuzz/corpus/<name>, crashes to build-fuzz/crashes/<name>.
FUZZ         := build-fuzz
FUZZ_CC      := clang
FUZZ_TARGETS ?= http request websocket grpc config names agent e2b dns client vmstream function
FUZZ_SECONDS ?= 60
FUZZ_OPTS    ?= -timeout=5 -rss_limit_mb=2048
# Longest input generated (regressions may be longer: they are replayed whole).
FUZZ_MAX_LEN ?= 4096
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# BASE without -Werror (clang warns about other things than gcc) and without
# _FORTIFY_SOURCE (its checked wrappers hide calls from ASan).
FUZZ_CFLAGS  := $(filter-out -Werror -D_FORTIFY_SOURCE=2 -Wno-format-truncation,$(BASE)) \
                -fsanitize=fuzzer-no-link \
                $(FUZZ_SAN) $(shell pkg-config --cflags $(PKGS) libpq 2>/dev/null) -I$(BUILD)/gen
FUZZ_LDFLAGS := -fsanitize=fuzzer $(FUZZ_SAN) -pie
FUZZ_LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lwslay -lm -lpthread
# The sources the targets link (not all of LIB_SRC: clang 14 refuses some of
# the sandbox code that gcc takes, and none of it parses outside input).
FUZZ_SRC     := $(wildcard src/common/*.c src/config/*.c) src/runner/lang.c src/runner/limits.c \
                src/runner/result.c src/runner/tar.c src/sandbox/plan.c src/sandbox/seccomp.c \
                src/sandbox/tlv.c src/sandbox/proto.c src/sandbox/cause.c \
                src/transport/tcp.c src/transport/http.c src/transport/http_parse.c \
                src/transport/http_query.c src/transport/http_body.c src/service/result_json.c \
                src/service/exec_req.c \
                src/runner/argv.c \
                src/frontend/request.c src/service/callback_policy.c src/frontend/events.c \
                src/frontend/grpc/grpc_convert.c src/frontend/grpc/grpc_frame.c \
                src/frontend/ws/ws_msg.c \
                src/frontend/grpc/pbdesc.c \
                src/frontend/e2b/connect.c src/frontend/multipart.c src/service/session_path.c \
                src/sandbox/collected.c $(wildcard src/net/*.c) src/runner/runner.c \
                src/client/sse.c src/client/http_client.c src/vm/stream.c \
                src/service/cron.c src/service/function_resp.c
FUZZ_LIB_OBJ := $(FUZZ_SRC:src/%.c=$(FUZZ)/obj/%.o) $(PROTOS:%.proto=$(FUZZ)/obj/gen/%.pb-c.o) \
                $(FUZZ)/obj/languages_blob.o
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ)/fuzz_%)
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ)/tests/fuzz_%.o)
.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean

fuzz-build: $(FUZZ_BINS)

# The generated protobuf sources and the language bundle are the main
# build's ($(BUILD)/gen, $(BUILD)/languages.bundle): only the compiler differs.
$(FUZZ)/obj/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(FUZZ)/obj/%.o: src/%.c | $(PB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ)/obj/languages_blob.o: src/runner/languages_blob.S $(BUILD)/languages.bundle
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -c -DLANG_BUNDLE='"$(BUILD)/languages.bundle"' -o $@ $<

$(FUZZ)/libsoulbox.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ)/tests/%.o: tests/fuzz/%.c | $(PB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -MMD -MP -c -o $@ $<

$(FUZZ)/fuzz_%: $(FUZZ)/tests/fuzz_%.o $(FUZZ)/libsoulbox.a
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

# Per target: replay regressions and seeds (one run each), then fuzz. Every
# target runs; the recipe fails at the end if any crashed, leaked or hung.
fuzz: $(FUZZ_BINS)
	@failed=""; for t in $(FUZZ_TARGETS); do \
	    bin=$(FUZZ)/fuzz_$$t; seeds=tests/fuzz/corpus/$$t; regs=tests/fuzz/regressions/$$t; \
	    mkdir -p $(FUZZ)/corpus/$$t $(FUZZ)/crashes/$$t; \
	    dirs=$$(for d in $$regs $$seeds; do [ -d $$d ] && echo $$d; done); \
	    files=$$([ -n "$$dirs" ] && find $$dirs -type f ! -name '.*' | sort); \
	    echo "== fuzz_$$t: replaying $$(echo $$files | wc -w) inputs"; \
	    if [ -n "$$files" ] && ! $$bin $(FUZZ_OPTS) $$files >$(FUZZ)/fuzz_$$t.replay.log 2>&1; then \
	        tail -n 40 $(FUZZ)/fuzz_$$t.replay.log; failed="$$failed $$t"; continue; fi; \
	    echo "== fuzz_$$t: fuzzing for $(FUZZ_SECONDS) s"; \
	    $$bin $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ)/crashes/$$t/ \
	        $$([ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict) \
	        $(FUZZ)/corpus/$$t $$dirs >$(FUZZ)/fuzz_$$t.log 2>&1; rc=$$?; \
	    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	        $(FUZZ)/fuzz_$$t.log | tr '\n' ' '; echo; \
	    if [ $$rc -ne 0 ]; then tail -n 60 $(FUZZ)/fuzz_$$t.log; failed="$$failed $$t"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed (logs in $(FUZZ)/, inputs in $(FUZZ)/crashes/)"; exit 1; fi

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10 FUZZ_OPTS="-timeout=5 -rss_limit_mb=2048"

fuzz-clean:
	rm -rf $(FUZZ)

-include $(shell find $(FUZZ) -name '*.d' 2>/dev/null)
