# dsv3 - see README.md.  make | make test | make sanitize | make clean
CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -O2
BUILD   ?= build
PREFIX  ?= /usr/local

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wpointer-arith
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# The user's CFLAGS come first; what the build needs is appended.
LIB_CFLAGS = $(CFLAGS) -std=c11 $(WARNINGS) -fPIC -fvisibility=hidden
APP_CFLAGS = $(CFLAGS) -std=c11 $(WARNINGS) -I.
LDLIBS  = -lm

.PHONY: all lib test sanitize bench fuzz clean install check-headers

all: lib $(BUILD)/dsv3

lib: $(BUILD)/libdsv3.a $(BUILD)/libdsv3.so

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/dsv3.o: dsv3.c dsv3.h | $(BUILD)
	$(CC) $(LIB_CFLAGS) -c dsv3.c -o $@

$(BUILD)/libdsv3.a: $(BUILD)/dsv3.o
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libdsv3.so: $(BUILD)/dsv3.o
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/dsv3: examples/main.c $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) examples/main.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/test_dsv3: tests/test_dsv3.c tests/test_malformed.c tests/test_util.h $(BUILD)/libdsv3.a
	$(CC) $(APP_CFLAGS) tests/test_dsv3.c $(BUILD)/libdsv3.a -o $@ $(LDFLAGS) $(LDLIBS)

# The tokenizer test compiles the library into itself (to read its work counter).
$(BUILD)/test_tokenizer: tests/test_tokenizer.c tests/test_util.h dsv3.c dsv3.h | $(BUILD)
	$(CC) $(APP_CFLAGS) tests/test_tokenizer.c -o $@ $(LDFLAGS) $(LDLIBS)

# The public header must compile as strict C99 and as C++.
$(BUILD)/header_c99.o: tests/header_c99.c dsv3.h | $(BUILD)
	$(CC) $(CFLAGS) -std=c99 -pedantic $(WARNINGS) -Werror -I. -c tests/header_c99.c -o $@
$(BUILD)/header_cpp.o: tests/header_cpp.cpp dsv3.h | $(BUILD)
	$(CXX) $(CFLAGS) -std=c++11 -pedantic -Wall -Wextra -Werror -I. -c tests/header_cpp.cpp -o $@
# The C++ check needs a C++ compiler; `make test` itself needs only cc and make.
HAVE_CXX := $(shell command -v $(CXX) 2>/dev/null)
ifneq ($(HAVE_CXX),)
check-headers: $(BUILD)/header_c99.o $(BUILD)/header_cpp.o
else
check-headers: $(BUILD)/header_c99.o
	@echo "note: no $(CXX) found, skipping the C++ header test"
endif

test: all check-headers $(BUILD)/test_dsv3 $(BUILD)/test_tokenizer
	$(BUILD)/test_dsv3 tests/data
	$(BUILD)/test_tokenizer tests/data
	sh tests/test_cli.sh $(BUILD)/dsv3 tests/data

# Throughput figures (not pass/fail): the tokenizer on ~4 MB of mixed text.
bench: $(BUILD)/test_tokenizer
	$(BUILD)/test_tokenizer --bench tests/data

# libFuzzer targets (clang): build-fuzz/fuzz_tokenize -max_total_time=60
fuzz:
	mkdir -p build-fuzz
	clang -O1 -g -fsanitize=fuzzer,address,undefined -std=c11 $(WARNINGS) -I. fuzz/fuzz_tokenize.c dsv3.c -o build-fuzz/fuzz_tokenize -lm

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize:
	$(MAKE) BUILD=build-sanitize CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 644 dsv3.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libdsv3.a $(BUILD)/libdsv3.so $(DESTDIR)$(PREFIX)/lib/

clean:
	rm -rf build build-sanitize build-fuzz
