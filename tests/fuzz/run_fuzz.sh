#!/usr/bin/env bash
# Builds tests/fuzz/fuzz_onnx_import with clang (libFuzzer, AddressSanitizer, UBSan) in a CMake build of
# its own, with only cimlab_core and cimlab_graph (-DCIMLAB_FUZZ=ON), and fuzzes the ONNX importer for a
# bounded time from a seed corpus: the fixture models (tests/fixtures/onnx) and the bad models
# (tests/invalid). The corpus the fuzzer grows is kept in BUILD_DIR/corpus for the next run.
#
# Usage: run_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS=60]
# Exit status: non-zero when the build fails or the fuzzer finds a crash, a sanitizer report, a leak, an
# input slower than 20 s, more than 2 GB of memory or an exception other than cimlab::core::Error; the
# input is left in BUILD_DIR/artifacts (reproduce: BUILD_DIR/tests/fuzz/fuzz_onnx_import FILE).
set -euo pipefail
src=$(cd "$1" && pwd)
build=$2
seconds=${3:-60}
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCIMLAB_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" > "$build/configure.log"
cmake --build "$build" --target fuzz_onnx_import -j 2 > "$build/build.log" 2>&1 || { tail -40 "$build/build.log"; exit 1; }
mkdir -p "$build/corpus" "$build/artifacts"
cp "$src"/tests/fixtures/onnx/*.onnx "$src"/tests/invalid/*.onnx "$build/corpus/"
"$build/tests/fuzz/fuzz_onnx_import" "$build/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1
