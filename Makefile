SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# dsv3 - see README.md.  make | make test | make install | make sanitize | make clean
CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -O2
BUILD   ?= build
PREFIX  ?= /usr/local

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif

# Windows, cross-built with MinGW-w64 and tested under wine (see README):
#   make CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ BUILD=build-win RUN=wine test
# A MinGW $(CC) is recognised by its target triple: programs get EXE=.exe, the
# shared library is dsv3.dll (+ import library libdsv3.dll.a), threads are
# Win32's (no -pthread), printf gets MinGW's C99 formats (%zu), and the C++
# example links its runtime statically. The Python binding's test is skipped
# there (a Linux python3 cannot load dsv3.dll).
TARGET := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq ($(findstring mingw,$(TARGET))$(findstring windows,$(TARGET)),)
WINDOWS = 1
endif
ifeq ($(WINDOWS),1)
EXE    ?= .exe
SHLIB   = dsv3.dll
PIC     =
PTHREAD =
APP_DEFS = -D__USE_MINGW_ANSI_STDIO=1
CXX_LDFLAGS = -static # no libstdc++/libgcc DLLs to ship or find
else
EXE    ?=
SHLIB   = libdsv3.so
PIC     = -fPIC -fvisibility=hidden
PTHREAD = -pthread
APP_DEFS =
CXX_LDFLAGS =
endif

# The user's CFLAGS come first; what the build needs is appended.
LIB_CFLAGS = $(CFLAGS) -std=c11 $(WARNINGS) $(PIC) $(PTHREAD)
APP_CFLAGS = $(CFLAGS) -std=c11 $(WARNINGS) -I. $(APP_DEFS)
LDLIBS  = -lm $(PTHREAD)

.PHONY: all lib run test sanitize clean install uninstall check-headers fuzz fuzz-replay replay-corpus bench bench-models

# The C++ example is built when a C++ compiler for the same machine exists
# (a cross build may pair an aarch64 cc with the host's c++).
HAVE_CXX := $(shell command -v $(CXX) 2>/dev/null)
machine = $(firstword $(subst -, ,$(shell $(1) -dumpmachine 2>/dev/null)))
ifneq ($(HAVE_CXX),)
ifeq ($(call machine,$(CC)),$(call machine,$(CXX)))
CPP_EXAMPLE = $(BUILD)/dsv3-cpp$(EXE)
endif
endif
PYTHON ?= $(shell command -v python3 2>/dev/null)
# The HTTP server needs POSIX sockets and threads: not built for Windows.
ifneq ($(WINDOWS),1)
SERVER = $(BUILD)/dsv3-server$(EXE)
endif

all: lib $(BUILD)/dsv3$(EXE) $(BUILD)/dsv3-quantize$(EXE) $(BUILD)/dsv3-simple$(EXE) $(BUILD)/dsv3-chat$(EXE) \
     $(CPP_EXAMPLE) $(SERVER)

lib: $(BUILD)/libdsv3.a $(BUILD)/$(SHLIB)

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/dsv3.o: dsv3.c dsv3.h | $(BUILD)
	$(CC) $(LIB_CFLAGS) -c dsv3.c -o $@

$(BUILD)/libdsv3.a: $(BUILD)/dsv3.o
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libdsv3.so: $(BUILD)/dsv3.o
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

# A DLL exports what DSV3_SHARED marks dllexport, so it gets its own object;
# programs using it define DSV3_SHARED too and link the import library.
$(BUILD)/dsv3-dll.o: dsv3.c dsv3.h | $(BUILD)
	$(CC) $(LIB_CFLAGS) -DDSV3_SHARED -c dsv3.c -o $@
$(BUILD)/dsv3.dll: $(BUILD)/dsv3-dll.o
	$(CC) $(CFLAGS) -shared -o $@ $^ -Wl,--out-implib,$(BUILD)/libdsv3.dll.a $(LDFLAGS) $(LDLIBS)
# The test suite linked against the DLL: proves the export/import markings.
$(BUILD)/test_dsv3_dll$(EXE): tests/test_dsv3.c tests/test_malformed.c tests/test_util.h $(BUILD)/dsv3.dll
	$(CC) $(APP_CFLAGS) -DDSV3_SHARED tests/test_dsv3.c $(BUILD)/libdsv3.dll.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3$(EXE): examples/main.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/main.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3-simple$(EXE): examples/simple.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/simple.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3-chat$(EXE): examples/chat.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/chat.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3-server$(EXE): examples/server.c examples/json.h examples/server_http.h examples/tool_calls.h $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) $(PTHREAD) examples/server.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3-cpp$(EXE): examples/cpp/main.cpp examples/cpp/dsv3.hpp $(BUILD)/libdsv3.a
	$(CXX) $(CFLAGS) -std=c++17 -pedantic -Wall -Wextra -Wshadow -Werror -I. examples/cpp/main.cpp \
	    $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(CXX_LDFLAGS) $(LDLIBS)

$(BUILD)/test_dsv3$(EXE): tests/test_dsv3.c tests/test_malformed.c tests/test_util.h $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) tests/test_dsv3.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

# A client of build/dsv3-server over loopback sockets (no library needed).
$(BUILD)/test_server$(EXE): tests/test_server.c tests/test_util.h examples/json.h examples/tool_calls.h | $(BUILD)
	$(CC) $(APP_CFLAGS) $(PTHREAD) tests/test_server.c -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/test_generate$(EXE): tests/test_generate.c tests/test_util.h $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) tests/test_generate.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

# The shipped model against the PyTorch model that trained it (tests/tools/train).
$(BUILD)/test_trained$(EXE): tests/test_trained.c tests/test_util.h $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) tests/test_trained.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3-quantize$(EXE): examples/quantize.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/quantize.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)


$(BUILD)/dsv3-bench$(EXE): examples/bench.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/bench.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

# `make bench` builds the benchmark; `make bench-models` writes its models
# (several GB, into build/bench) and runs it on them.
# `make bench` also prints the tokenizer's throughput on ~4 MB of mixed text.
bench: $(BUILD)/dsv3-bench$(EXE) $(BUILD)/test_tokenizer$(EXE)
	$(RUN) $(BUILD)/test_tokenizer$(EXE) --bench tests/data
bench-models: $(BUILD)/dsv3-bench$(EXE)
	/usr/bin/python3 tests/tools/gen_bench_models.py $(BUILD)/bench
	for m in $(BUILD)/bench/bench-q8_0.gguf $(BUILD)/bench/bench-q4_k_m.gguf; do \
	    for t in 1 2; do $(RUN) $(BUILD)/dsv3-bench$(EXE) -m $$m -t $$t -p 512 -n 32 -d 0,4096 -r 2; done; done

# The tests of the kernels, batched attention, the tokenizer (its work
# counter) and the quantizers reach dsv3.c's private functions: one object
# holds them all with dsv3.c compiled once (tests/test_internal.c), and each
# test's program is that object with the main tests/test_main.c names.
INTERNAL_TESTS = kernels attention tokenizer quantize
$(BUILD)/test_internal.o: tests/test_internal.c $(INTERNAL_TESTS:%=tests/test_%.c) tests/test_util.h dsv3.c dsv3.h | $(BUILD)
	$(CC) $(APP_CFLAGS) $(PTHREAD) -c tests/test_internal.c -o $@
$(INTERNAL_TESTS:%=$(BUILD)/test_%$(EXE)): $(BUILD)/test_%$(EXE): tests/test_main.c $(BUILD)/test_internal.o
	$(CC) $(APP_CFLAGS) -DTEST_MAIN=test_$*_main tests/test_main.c $(BUILD)/test_internal.o -o $@ $(LDFLAGS) $(LDLIBS)

# The public header must compile as strict C99 and as C++.
$(BUILD)/header_c99.o: tests/header_c99.c dsv3.h | $(BUILD)
	$(CC) $(CFLAGS) -std=c99 -pedantic $(WARNINGS) -Werror -I. -c tests/header_c99.c -o $@
$(BUILD)/header_cpp.o: tests/header_cpp.cpp dsv3.h | $(BUILD)
	$(CXX) $(CFLAGS) -std=c++11 -pedantic -Wall -Wextra -Werror -I. -c tests/header_cpp.cpp -o $@
# The C++ check needs a C++ compiler; `make test` itself needs only cc and make.
ifneq ($(HAVE_CXX),)
check-headers: $(BUILD)/header_c99.o $(BUILD)/header_cpp.o
else
check-headers: $(BUILD)/header_c99.o
	@echo "note: no $(CXX) found, skipping the C++ header test"
endif

# The demo: the shipped model (models/README.md) writes 100 tokens of text.
PROMPT ?= And God said
run: $(BUILD)/dsv3
	$(BUILD)/dsv3 -m models/dsv3-kjv.gguf -p "$(PROMPT)" -n 100 --temp 0.8 --top-p 0.95 --seed 1

# RUN prefixes every test binary, e.g. for a cross build under emulation:
#   make CC=aarch64-linux-gnu-gcc BUILD=build-arm64 RUN="qemu-aarch64 -L /usr/aarch64-linux-gnu" test
RUN ?=
#   make CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ BUILD=build-win RUN=wine test
# (on Windows the suite also runs test_dsv3 against dsv3.dll, found beside it).
TESTS = $(BUILD)/test_dsv3$(EXE) $(BUILD)/test_kernels$(EXE) $(BUILD)/test_tokenizer$(EXE) $(BUILD)/test_quantize$(EXE) \
        $(BUILD)/test_attention$(EXE) \
        $(BUILD)/test_generate$(EXE) $(BUILD)/test_trained$(EXE)
ifeq ($(WINDOWS),1)
TESTS += $(BUILD)/test_dsv3_dll$(EXE)
else
TESTS += $(BUILD)/test_server$(EXE)
endif
# Each test runs as a target of its own, so `make -j2 test` runs them side by
# side (CI does, with -O to keep each one's output together).
# The longest (under qemu: attention, tokenizer) start first.
TEST_RUNS = attention tokenizer quantize kernels dsv3 generate trained server cli examples docs
ifeq ($(WINDOWS),1)
TEST_RUNS := $(filter-out server,$(TEST_RUNS)) dsv3_dll
endif
.PHONY: $(TEST_RUNS:%=test-%)
test: $(TEST_RUNS:%=test-%)
$(TEST_RUNS:%=test-%): all check-headers $(TESTS)
test-kernels:
	$(RUN) $(BUILD)/test_kernels$(EXE)
test-quantize test-attention test-dsv3 test-dsv3_dll test-generate test-tokenizer:
	$(RUN) $(BUILD)/$(@:test-%=test_%)$(EXE) tests/data
test-trained:
	$(RUN) $(BUILD)/test_trained$(EXE) models/dsv3-kjv.gguf tests/data
test-server:
	RUN="$(RUN)" $(RUN) $(BUILD)/test_server$(EXE) $(SERVER) models/dsv3-kjv.gguf tests/data/v3_tools.gguf
test-cli:
	RUN="$(RUN)" EXE="$(EXE)" sh tests/test_cli.sh $(BUILD)/dsv3$(EXE) tests/data
test-examples:
	RUN="$(RUN)" EXE="$(EXE)" CPP="$(CPP_EXAMPLE)" PYTHON="$(PYTHON)" sh tests/test_examples.sh $(BUILD) tests/data
test-docs:
	RUN="$(RUN)" EXE="$(EXE)" sh tests/check_docs.sh $(BUILD) README.md

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer, then the
# fuzz corpus replayed through the same build.
SAN_CFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS = -fsanitize=address,undefined
sanitize:
	$(MAKE) BUILD=build-sanitize CFLAGS="$(SAN_CFLAGS)" LDFLAGS="$(SAN_LDFLAGS)" test replay-corpus

# Fuzzing. `make fuzz` builds the libFuzzer target (clang only), run it as e.g.
#   build/fuzz_load -dict=fuzz/gguf.dict -max_len=32768 -max_total_time=240 fuzz/corpus/load
# `make fuzz-replay` runs fuzz/corpus through fuzz/driver.c under ASan + UBSan with
# $(CC), no libFuzzer needed. Seeds: /usr/bin/python3 tests/tools/gen_fuzz_seeds.py
FUZZ_CC ?= clang
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) 2>/dev/null)
FUZZ_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    -std=c11 $(WARNINGS) -I. -pthread
# The four library targets use only the public API, so they share one
# instrumented library object (fuzzer-no-link: coverage without libFuzzer's
# main); clang spends minutes on dsv3.c under the sanitizers, seconds on each
# target. fuzz_http (dsv3-server's HTTP and JSON parsing) needs no library.
FUZZ_TARGETS = load tokenize state chat
$(BUILD)/fuzz-dsv3.o: dsv3.c dsv3.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c dsv3.c -o $@
$(FUZZ_TARGETS:%=$(BUILD)/fuzz_%): $(BUILD)/fuzz_%: fuzz/fuzz_%.c $(BUILD)/fuzz-dsv3.o
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(BUILD)/fuzz-dsv3.o -o $@ -lm
$(BUILD)/fuzz_http: fuzz/fuzz_http.c examples/json.h examples/server_http.h examples/tool_calls.h | $(BUILD)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< -o $@
# `make fuzz` builds the five targets and runs each for FUZZ_SECONDS; any
# crash stops make with an error.
FUZZ_SECONDS ?= 60
FUZZ_RUN = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(BUILD)/ -print_final_stats=1
FUZZ_RUNS = $(FUZZ_TARGETS) http
ifneq ($(HAVE_FUZZ_CC),)
fuzz: $(FUZZ_RUNS:%=fuzz-%)
.PHONY: $(FUZZ_RUNS:%=fuzz-%)
FUZZ_ARGS_load = -dict=fuzz/gguf.dict -max_len=32768
FUZZ_ARGS_tokenize = -max_len=4096
FUZZ_ARGS_http = -dict=fuzz/http.dict -max_len=4096
# each its own target (make -j2 runs two at once), over a scratch copy of its
# seed corpus where it has one
$(FUZZ_RUNS:%=fuzz-%): fuzz-%: $(BUILD)/fuzz_%
	rm -rf $(BUILD)/fuzz-work/$* && mkdir -p $(BUILD)/fuzz-work/$*
	if [ -d fuzz/corpus/$* ]; then cp fuzz/corpus/$*/* $(BUILD)/fuzz-work/$*/; fi
	$(BUILD)/fuzz_$* $(FUZZ_ARGS_$*) $(FUZZ_RUN) $(BUILD)/fuzz-work/$* 2>&1 | tail -n 5
else
fuzz:
	@echo "note: no $(FUZZ_CC) found, cannot build the libFuzzer targets"
endif

$(BUILD)/fuzz_replay$(EXE): fuzz/driver.c fuzz/fuzz_load.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) fuzz/driver.c fuzz/fuzz_load.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)
$(BUILD)/fuzz_replay_http$(EXE): fuzz/driver.c fuzz/fuzz_http.c examples/json.h examples/server_http.h examples/tool_calls.h | $(BUILD)
	$(CC) $(APP_CFLAGS) fuzz/driver.c fuzz/fuzz_http.c -o $@ $(LDFLAGS)
replay-corpus: $(BUILD)/fuzz_replay$(EXE) $(BUILD)/fuzz_replay_http$(EXE)
	$(RUN) $(BUILD)/fuzz_replay$(EXE) fuzz/corpus/load
	$(RUN) $(BUILD)/fuzz_replay_http$(EXE) fuzz/corpus/http
fuzz-replay:
	$(MAKE) BUILD=build-sanitize CFLAGS="$(SAN_CFLAGS)" LDFLAGS="$(SAN_LDFLAGS)" replay-corpus

# `make install PREFIX=/usr DESTDIR=/tmp/stage`: the header, both libraries,
# dsv3.pc for pkg-config and the tools dsv3, dsv3-quantize and dsv3-chat (the
# examples dsv3-simple and dsv3-cpp are there to be read, not installed).
# dsv3.pc gets PREFIX, LIBDIR, INCLUDEDIR and the version from dsv3.h; with
# --static it adds what libdsv3.a needs. A DLL goes to BINDIR, beside the
# programs that load it, and its import library to LIBDIR.
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION = $(shell awk '$$2 ~ /^DSV3_VERSION_(MAJOR|MINOR|PATCH)$$/ { v = v s $$3; s = "." } END { print v }' dsv3.h)
TOOLS = $(BUILD)/dsv3$(EXE) $(BUILD)/dsv3-quantize$(EXE) $(BUILD)/dsv3-chat$(EXE)
ifneq ($(WINDOWS),1) # the server is POSIX only
TOOLS += $(BUILD)/dsv3-server$(EXE)
endif
install: lib $(TOOLS)
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 644 dsv3.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/libdsv3.a $(DESTDIR)$(LIBDIR)/
ifeq ($(WINDOWS),1)
	install -m 755 $(BUILD)/dsv3.dll $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/libdsv3.dll.a $(DESTDIR)$(LIBDIR)/
else
	install -m 644 $(BUILD)/$(SHLIB) $(DESTDIR)$(LIBDIR)/
endif
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@libdir@|$(LIBDIR)|' -e 's|@includedir@|$(INCLUDEDIR)|' \
	    -e 's|@version@|$(VERSION)|' -e 's|@libs_private@|$(strip $(LDLIBS))|' dsv3.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/dsv3.pc

# Removes exactly the files install writes (give it the same PREFIX, DESTDIR
# and directories); the directories stay, they may hold other packages.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/dsv3.h $(DESTDIR)$(LIBDIR)/libdsv3.a $(DESTDIR)$(LIBDIR)/$(SHLIB) \
	    $(DESTDIR)$(LIBDIR)/libdsv3.dll.a $(DESTDIR)$(BINDIR)/dsv3.dll $(DESTDIR)$(PKGCONFIGDIR)/dsv3.pc \
	    $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS)))

clean:
	rm -rf build build-sanitize build-fuzz build-win build-cmake
