# springfield: one Makefile for the library, the CLI, tests, benchmarks and CI helpers.
#
#   make              library build/libspringfield.a and CLI build/springfield
#   make test         every Criterion test (SPRINGFIELD_ISA=... picks the ISA path)
#   make test-isas    the test suite once per ISA path this CPU can run
#   make test-neon    NEON kernels cross-compiled for aarch64 and run under qemu-aarch64
#   make bench        the benchmarks (GEMM, conv, data, train)
#   make train        the default demo training run (no download)
#   make deps         install missing Debian packages (as root) or print the apt-get line
#   SANITIZE=address,undefined make test   sanitizer build, in build/san/
#   make test-valgrind   a short training run and a resume under valgrind memcheck
#   make test-tsan       the loader tests and a short training run under ThreadSanitizer (clang, no OpenMP)
#   make test-e2e-san    the end-to-end scripts with the ASan+UBSan build of the CLI

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
PYTHON := /usr/bin/python3
ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)

# V=1 shows full compiler command lines.
Q := $(if $(V),,@)

# BUILD_VARIANT=NAME builds into build/NAME (e.g. the deliberately slowed build of the perf check); with
# SANITIZE the default folder is build/san.
ifdef SANITIZE
BUILD := build/$(or $(BUILD_VARIANT),san)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifdef BUILD_VARIANT
BUILD := build/$(BUILD_VARIANT)
SANFLAGS :=
else
BUILD := build
SANFLAGS :=
endif

# Packages the build, the tests and the benchmarks need; `make deps` installs the missing ones.
DEPS := libcriterion-dev libjpeg62-turbo-dev libspng-dev libpng-dev libhwloc-dev libjansson-dev \
        libcairo2-dev libfontconfig-dev zlib1g-dev libopenblas-dev libdnnl-dev pkg-config
DEPS_NEON := gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
DEPS_GOLDEN := python3-torch python3-torchvision python3-pil python3-numpy

# OPENMP=0 builds without OpenMP: the ThreadSanitizer build, since libgomp is not instrumented and its
# barriers would read as races. The pragmas are then ignored (one thread computes), so what is used only
# in a num_threads() clause looks unused; bench/, which needs OpenMP and the yardstick libraries, is
# left out: its commands say they are not in that build.
OPENMP ?= 1
ifeq ($(OPENMP),0)
OMP_CFLAGS := -Wno-unknown-pragmas -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-function \
              -Wno-unused-parameter
OMP_LDFLAGS :=
else
OMP_CFLAGS := -fopenmp
OMP_LDFLAGS := -fopenmp
endif

OPT ?= -O3
CFLAGS_BASE := -std=c11 $(OPT) -g -Wall -Wextra -Werror $(OMP_CFLAGS) -D_GNU_SOURCE -Isrc $(SANFLAGS) $(EXTRA_CFLAGS)
PKGS := libjpeg spng hwloc jansson cairo fontconfig zlib
# Recursive (=), not simple (:=): on a fresh machine the packages arrive only when the deps target has run,
# after the Makefile was parsed, so pkg-config must be asked when a recipe needs the flags, not at parse time.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS = $(CFLAGS_BASE) $(PKG_CFLAGS) -DSF_HAVE_HWLOC=1
LDLIBS = $(PKG_LIBS) -lm -lpthread
LDFLAGS := $(OMP_LDFLAGS) $(SANFLAGS)
BENCH_LIBS := $(if $(filter 0,$(OPENMP)),,-ldnnl -ldl)  # OpenBLAS is dlopen'ed by bench/openblas_dl.c

# Per-ISA translation units: a file named *_avx512.c, *_avx2.c or *_neon.c holds one ISA's micro-kernels
# and gets that ISA's -m flags; nothing else does, so the binary runs on any x86-64.
FLAGS_avx512 := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mavx2 -mbmi2
FLAGS_avx2 := -mavx2 -mfma
# *bf16_avx512.c also use AVX512_BF16 (vdpbf16ps, vcvtneps2bf16); they run only where sf_bf16_supported().
$(BUILD)/obj/%bf16_avx512.o: FLAGS_avx512 += -mavx512bf16
FLAGS_neon :=

LIB_SRC_ALL := $(shell find src/kernels src/nn src/data src/util -name '*.c' | sort)
ifeq ($(ARCH),aarch64)
LIB_SRC := $(filter-out %_avx512.c %_avx2.c,$(LIB_SRC_ALL))
else
LIB_SRC := $(filter-out %_neon.c,$(LIB_SRC_ALL))
endif
CLI_SRC := $(shell find src/cli $(if $(filter 0,$(OPENMP)),,bench) -name '*.c' | sort)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_UTIL_SRC := $(sort $(wildcard tests/util/*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB := $(BUILD)/libspringfield.a
CLI := $(BUILD)/springfield
DEPS_STAMP := build/.deps-ok

.PHONY: all deps features test test-unit test-e2e test-isas test-neon bench train clean perf-check perf-check-bites fuzz \
        test-valgrind test-tsan test-e2e-san
all: features $(LIB) $(CLI)

# Installs only what is missing; as non-root it prints the command instead of failing half-way.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEPS); do dpkg-query -W -f="\$${Status}\n" $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else echo "deps: missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	@mkdir -p build && touch $@

features: $(DEPS_STAMP)
	@echo "springfield: cc $(CC) $$($(CC) -dumpversion) for $(ARCH), OpenMP $(if $(filter 0,$(OPENMP)),no,yes), $(if $(SANITIZE),sanitize=$(SANITIZE),no sanitizers)"
	@echo "springfield: cpu: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $$(nproc) cores online"
	@echo "springfield: cpu flags:$$(for f in avx512f avx2 fma asimd; do grep -qw $$f /proc/cpuinfo && printf ' %s' $$f; done)"
	@echo "springfield: libs:$$(for p in $(PKGS) openblas dnnl; do v=$$(pkg-config --modversion $$p 2>/dev/null || { [ $$p = dnnl ] && [ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo present; }) && printf ' %s-%s' $$p $$v || printf ' %s-MISSING' $$p; done)"

$(BUILD)/obj/%_avx512.o: %_avx512.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) $(FLAGS_avx512) -I. -MMD -MP -c $< -o $@
$(BUILD)/obj/%_avx2.o: %_avx2.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) $(FLAGS_avx2) -I. -MMD -MP -c $< -o $@
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -I. -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_OBJ) $(LIB)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS) $(BENCH_LIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(TEST_UTIL_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -Itests -MMD -MP $< $(TEST_UTIL_OBJ) $(LIB) -o $@ $(LDFLAGS) $(LDLIBS) -lcriterion

# Each test binary runs on its own so that one crash names its unit; all of them run even if one fails.
# `make test` = the Criterion unit tests, then the end-to-end CLI scripts (tests/e2e).
test: test-unit test-e2e

test-unit: all $(TEST_BIN)
	@echo "springfield: testing ISA path $${SPRINGFIELD_ISA:-auto} with $${OMP_NUM_THREADS:-all} threads"
	@fail=0; for t in $(TEST_BIN); do echo "== $$t"; $$t --jobs=1 || fail=1; done; \
	if [ $$fail = 0 ]; then echo "springfield: all test binaries passed"; else echo "springfield: SOME TESTS FAILED"; exit 1; fi

test-e2e: all
	SPRINGFIELD=$(CLI) tests/e2e/run_all.sh

test-isas: all $(TEST_BIN)
	@for isa in avx512 avx2 scalar; do \
	  if $(CLI) info --isa-supported $$isa >/dev/null 2>&1; then \
	    echo "==== ISA $$isa"; SPRINGFIELD_ISA=$$isa $(MAKE) --no-print-directory test-unit || exit 1; \
	  else echo "==== ISA $$isa: not supported on this CPU, skipped"; fi; done

# NEON: the kernel units (src/kernels, src/util) and their tests, cross-compiled and run under qemu.
NEON_CC := aarch64-linux-gnu-gcc
NEON_BUILD := build/neon
NEON_SYSROOT := build/neon-sysroot
NEON_LIBDIR := $(abspath $(NEON_SYSROOT))/usr/lib/aarch64-linux-gnu
# Criterion runs each test in a forked process; under qemu-user a fork from the multithreaded runner
# sometimes never reaches its exec (the child sits in a futex with no CPU time used), so a binary that
# outlives the timeout is run once more. Failures are not retried.
NEON_TIMEOUT ?= 900
NEON_TESTS ?= $(sort $(wildcard tests/test_kern_*.c tests/test_sgemm*.c tests/test_cpu.c))
NEON_LIB_SRC := $(filter-out %_avx512.c %_avx2.c %/topology.c,$(shell find src/kernels src/util -name '*.c' | sort))
test-neon:
	@./tools/neon-sysroot.sh $(NEON_SYSROOT)
	@mkdir -p $(NEON_BUILD)
	@fail=0; for t in $(NEON_TESTS); do n=$$(basename $$t .c); \
	  $(NEON_CC) -std=c11 -O2 -Wall -Wextra -Werror -fopenmp -D_GNU_SOURCE -Isrc -Itests -idirafter /usr/include \
	    $$t $(TEST_UTIL_SRC) $(NEON_LIB_SRC) -o $(NEON_BUILD)/$$n -L$(NEON_LIBDIR) -Wl,--disable-new-dtags \
	    -Wl,-rpath,$(NEON_LIBDIR) -Wl,-rpath-link,/usr/lib/aarch64-linux-gnu -lcriterion -lm -lpthread || exit 1; \
	  echo "== $$n (aarch64 under qemu)"; \
	  for try in 1 2; do \
	    SPRINGFIELD_ISA=neon SPRINGFIELD_EMULATED=1 QEMU_LD_PREFIX=/ timeout $(NEON_TIMEOUT) $(NEON_BUILD)/$$n --jobs=1; rc=$$?; \
	    [ $$rc = 124 ] && [ $$try = 1 ] || break; \
	    echo "springfield: $$n still running after $(NEON_TIMEOUT) s under qemu: a test process that hangs at its fork (qemu-user), run again once"; \
	  done; \
	  [ $$rc = 0 ] || { [ $$rc = 124 ] && echo "springfield: $$n timed out twice under qemu"; fail=1; }; done; \
	[ $$fail = 0 ] || { echo "springfield: NEON TESTS FAILED"; exit 1; }

bench: all
	$(CLI) bench all

train: all
	$(CLI) train

# The perf regression check (ratios against OpenBLAS and the FMA peak, compared with the CPU profile's
# baselines), and the proof that it bites: a deliberately slowed GEMM build must fail it.
perf-check: all
	$(CLI) perf-check

perf-check-bites: all
	tests/perf_check_bites.sh

# Reliability checks (tools/*_check.sh say what each covers and why it is built so).
# valgrind memcheck: a short training run and a resume with the normal build.
test-valgrind: all
	tools/valgrind_check.sh $(CLI)

# ThreadSanitizer: clang, OpenMP off (libgomp is not instrumented); the loader stress program
# tests/tsan_loader.c and the CLI, in build/tsan.
TSAN_MAKE := $(MAKE) --no-print-directory CC=clang SANITIZE=thread OPENMP=0 BUILD_VARIANT=tsan
test-tsan: | $(DEPS_STAMP)
	$(TSAN_MAKE) build/tsan/springfield build/tsan/tests/tsan_loader
	tools/tsan_check.sh build/tsan

$(BUILD)/tests/tsan_loader: tests/tsan_loader.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

# The end-to-end scripts with the ASan+UBSan CLI (build/san); the kill -9 loop kills 10 times here
# (24 in `make test`), which keeps the slower sanitized pass short.
test-e2e-san: | $(DEPS_STAMP)
	SANITIZE=address,undefined $(MAKE) --no-print-directory build/san/springfield
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  KILL9_COUNT=10 SPRINGFIELD=build/san/springfield tests/e2e/run_all.sh

# libFuzzer harnesses fuzz/fuzz_*.c, each for FUZZ_SECONDS under ASan+UBSan.
FUZZ_SECONDS ?= 30
fuzz: | $(DEPS_STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ./tools/fuzz.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
