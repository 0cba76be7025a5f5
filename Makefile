# Thin wrapper: every target sets up what it needs (scripts/bootstrap is idempotent).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CIMLAB := $(BUILD_DIR)/src/cli/cimlab

.PHONY: all setup build demo test bench clean

all: build

setup:
	@scripts/bootstrap

build: setup
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

demo: build
	$(CIMLAB) run configs/examples/demo.yaml --out runs/demo

test: build
	cd $(BUILD_DIR) && OMP_NUM_THREADS=1 ctest --output-on-failure -j$(JOBS)

bench: build
	@scripts/run_benchmarks $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
