# SoulBox build. `make` builds build/soulbox; `make test` installs what is
# missing, builds, and runs every test suite; `make run` starts the service.
CC      ?= gcc
PYTHON  := /usr/bin/python3
PKGS    := libuv jansson libcyaml libseccomp sqlite3 libnghttp2 libprotobuf-c

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
CFLAGS  := $(BASE) $(SANFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I$(BUILD)/gen
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
AGENT_SRC := src/sandbox/agent.c src/sandbox/plan.c src/sandbox/proto.c \
             src/sandbox/rootfs.c src/sandbox/creds.c src/sandbox/net.c \
             src/sandbox/rlimits.c src/common/error.c src/common/util.c
AGENT_OBJ := $(AGENT_SRC:src/%.c=$(BUILD)/agent/%.o)

# Everything but the binary's front end: what unit tests link against.
LIB_SRC := $(filter-out src/sandbox/agent.c src/sandbox/seccomp_gen.c, \
             $(wildcard src/common/*.c src/config/*.c src/sandbox/*.c src/runner/*.c \
                        src/scheduler/*.c src/store/*.c src/server/*.c))
# gRPC: C code generated from proto/ by protoc-c, and the descriptor set for reflection.
PROTOS  := soulbox/v1/soulbox.proto grpc/health/v1/health.proto \
           grpc/reflection/v1alpha/reflection.proto
PB_SRC  := $(PROTOS:%.proto=$(BUILD)/gen/%.pb-c.c)
PB_OBJ  := $(PROTOS:%.proto=$(BUILD)/obj/gen/%.pb-c.o)
.SECONDARY: $(PB_SRC) $(PB_SRC:.c=.h)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/agent_blob.o \
           $(BUILD)/obj/seccomp_blob.o $(BUILD)/obj/languages_blob.o \
           $(BUILD)/obj/proto_blob.o $(PB_OBJ)
LANG_FILES := $(sort $(wildcard languages/*.yaml))
CLI_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
GEN_OBJ := $(BUILD)/obj/sandbox/seccomp.o $(BUILD)/obj/common/error.o

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test check unit integration setup run clean
all: $(BUILD)/soulbox

$(BUILD)/soulbox: $(LIB_OBJ) $(CLI_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c | $(PB_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	cd proto && protoc-c --c_out=$(CURDIR)/$(BUILD)/gen $*.proto

$(BUILD)/obj/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(BUILD)/gen/descriptors.pb: $(addprefix proto/,$(PROTOS))
	@mkdir -p $(dir $@)
	cd proto && protoc-c --descriptor_set_out=$(CURDIR)/$@ --include_imports $(PROTOS)

$(BUILD)/obj/proto_blob.o: src/server/proto_blob.S $(BUILD)/gen/descriptors.pb
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

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_OBJ) -pie $(SANFLAGS) $(TEST_LDLIBS)

# One command for everything: dependencies, build, unit, integration and attack tests.
test: setup
	$(MAKE) --no-print-directory check

setup:
	@scripts/setup.sh

check: all unit integration

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

integration: all
	SOULBOX=$(CURDIR)/$(BUILD)/soulbox $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration tests/security

run: setup all
	$(BUILD)/soulbox serve --config config/soulbox.yaml

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
