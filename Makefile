# Convenience front end over CMake.  The two commands of the quick start:
#   make demo    build and run the main demo
#   make test    build everything and run every test
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CONFIGURE = cmake -S . -DTFD_WERROR=ON $(CMAKE_FLAGS)

.PHONY: demo test asan bench build clean

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

bench: build
	$(BUILD)/bench/timer_fd_bench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
