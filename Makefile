# collapse: convenience targets around CMake/CTest.
#   make            configure (once) and build into $(BUILD); does not bootstrap
#   make bootstrap  install dependencies, torch and corpora (scripts/bootstrap.sh)
#   make test       bootstrap, build, run every test (gpu-labelled tests skip without a GPU)
#   make run        bootstrap, build the `collapse` command only, run scripts/quickstart.sh
#   make gpu-test   build, run only the gpu-labelled tests
#   make cuda-check compile and link, against a CUDA torch and without a GPU, every target whose
#                   code differs under CUDA (scripts/cuda_compile_check.sh)
#   make sanitize-check build the tests that link no LibTorch with ASan and UBSan in
#                   build-sanitize/ and run them (scripts/sanitize_check.sh; CI runs it)
#   make reliability build, then inject an I/O fault or a SIGKILL at RELIABILITY_POINTS write
#                   points (default 50 per kind; "all" for every one) of a small experiment
#                   (docs/reliability.md)
#   make fuzz       build the libFuzzer harnesses with clang in build-fuzz/ and run each for
#                   FUZZ_SECONDS (default 600; scripts/fuzz.sh)
#   make clean      remove $(BUILD)
# Variables: BUILD (build folder), JOBS (parallelism), CMAKE_ARGS (extra configure arguments;
# giving them re-runs the configure step, so `make CMAKE_ARGS=-DCOLLAPSE_SANITIZE=address` works
# on an existing build folder), BUILD_TARGET (build only this target, e.g.
# `make BUILD_TARGET=collapse`).

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
BUILD_TARGET ?=
RELIABILITY_POINTS ?= 50
FUZZ_SECONDS ?= 600

.DEFAULT_GOAL := build
.PHONY: build bootstrap test run gpu-test cuda-check sanitize-check mutants reliability fuzz clean

# Configure when there is no cache, or when a first configure failed and left a cache but no
# build system behind, or when CMAKE_ARGS asks for something.
build:
	@if [ ! -f $(BUILD)/CMakeCache.txt ] || [ -n "$(strip $(CMAKE_ARGS))" ] || \
	    { [ ! -f $(BUILD)/Makefile ] && [ ! -f $(BUILD)/build.ninja ]; }; then \
	  echo "cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)"; \
	  cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS); \
	fi
	cmake --build $(BUILD) -j $(JOBS) $(if $(BUILD_TARGET),--target $(BUILD_TARGET))

bootstrap:
	scripts/bootstrap.sh

# Steps run in sequence inside one recipe so that `make -j` cannot build before bootstrap.
test:
	scripts/bootstrap.sh
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The quick start needs the `collapse` command alone, not the tests and benchmarks.
run:
	scripts/bootstrap.sh
	$(MAKE) --no-print-directory build BUILD_TARGET=collapse
	BIN="$${BIN:-$(BUILD)/bin/collapse}" scripts/quickstart.sh

gpu-test:
	$(MAKE) --no-print-directory build
	ctest --test-dir $(BUILD) -L gpu --output-on-failure

cuda-check:
	scripts/cuda_compile_check.sh

# Needs what `make test` installed (CI runs it after make test).
sanitize-check:
	scripts/bootstrap.sh
	JOBS=$(JOBS) scripts/sanitize_check.sh

# The mutation check (docs/testing.md): every planted fault of tests/mutants.toml, built in a
# scratch copy under build-mutants/ and run against the suite. Hours on 2 cores; not part of CI.
mutants:
	scripts/bootstrap.sh
	scripts/mutants.py $(MUTANTS_ARGS)

# The fault sweep of docs/reliability.md; CI runs the same tests with 3 points per kind.
reliability:
	scripts/bootstrap.sh
	$(MAKE) --no-print-directory build
	COLLAPSE_RELIABILITY_POINTS=$(RELIABILITY_POINTS) ctest --test-dir $(BUILD) -R 'IoFaults|KillAnywhere' \
	  --output-on-failure --timeout 0 -j $(JOBS)

# The parsers of outside bytes under libFuzzer (docs/reliability.md). Not part of CI, which
# replays the saved inputs (ctest fuzz.*) instead.
fuzz:
	scripts/bootstrap.sh
	scripts/fuzz.sh --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
