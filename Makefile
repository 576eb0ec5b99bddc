# Convenience front end over CMake.  The two commands of the quick start:
#   make demo    build and run the main demo
#   make test    build everything and run every test
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CONFIGURE = cmake -S . -DTFD_WERROR=ON $(CMAKE_FLAGS)

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: demo test asan valgrind fuzz bench build clean tsan load soak bench-timers

build:
	$(CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

demo:
	$(CONFIGURE) -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS) --target demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

# Every test again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(CONFIGURE) -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTFD_SANITIZE=address,undefined \
	  -DTFD_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

# The unit tests under valgrind's memcheck (errors and definite leaks fail).  The timer-queue
# model test runs TFD_MODEL_OPS operations per kind here instead of its 10 million: memcheck
# runs it ~50x slower, and the full run is the plain build's job.
VALGRIND_MODEL_OPS ?= 200000
valgrind: build
	TFD_MODEL_OPS=$(VALGRIND_MODEL_OPS) valgrind --error-exitcode=1 --leak-check=full \
	  --errors-for-leak-kinds=definite -q $(BUILD)/tests/tfd_unit_tests --gtest_brief=1

# The cross-thread tests (post/stop from other threads, wake-ups, and the fault tests with
# client and poster threads) under ThreadSanitizer.
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= RunContract|WakeFd|EventLoop|fault_eintr|fault_eagain|fault_accept|fault_short_io|Coro
tsan:
	$(CONFIGURE) -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTFD_SANITIZE=thread \
	  -DTFD_BUILD_BENCH=OFF -DTFD_BUILD_PYTHON=OFF -DTFD_BUILD_TOOLS=OFF
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target tfd_unit_tests tfd_backend_tests \
	  tfd_integration_tests
	ctest --test-dir $(TSAN_BUILD) --output-on-failure -j$(JOBS) -R '$(TSAN_TESTS)'

# examples/timer_server under LOAD_CLIENTS concurrent hostile loopback clients for
# LOAD_SECONDS (tests/load/timer_server_load.cpp); `make soak` runs the same for an hour.
LOAD_CLIENTS ?= 1000
LOAD_SECONDS ?= 60
load: build
	$(BUILD)/tests/load/timer_server_load --server $(BUILD)/examples/timer_server \
	  --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS)

soak: build
	$(BUILD)/tests/load/timer_server_load --server $(BUILD)/examples/timer_server \
	  --clients $(LOAD_CLIENTS) --soak

# Every libFuzzer target for FUZZ_SECONDS each (clang, ASan + UBSan), from fuzz/corpus/, then
# the Python argument fuzzer on CPython 3.13 against $(BUILD)'s tfd (skipped if not built).
fuzz:
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTFD_WERROR=OFF \
	  -DTFD_SANITIZE=address,undefined,fuzzer-no-link -DTFD_BUILD_FUZZERS=ON -DTFD_BUILD_TESTS=OFF \
	  -DTFD_BUILD_EXAMPLES=OFF -DTFD_BUILD_BENCH=OFF -DTFD_BUILD_PYTHON=OFF -DTFD_BUILD_TOOLS=OFF
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	TFD_PYTHON_PATH=$(CURDIR)/$(BUILD)/python/3.13 fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	$(BUILD)/bench/timer_fd_bench

# Timers at scale: tfd against libev, libuv, libevent, asio and sd-event (installs their
# Debian packages if missing), a Release build in its own directory; table on stdout, JSON
# in $(BENCH_BUILD)/timers_bench.json.
BENCH_BUILD ?= build-bench
bench-timers:
	bench/timers/run.sh $(BENCH_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
