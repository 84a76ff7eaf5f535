#!/usr/bin/env bash
# Builds Release, runs every bench_<layer> binary, writes one Google Benchmark JSON file
# per binary to bench/results/, then prints the comparisons the issues ask for.
# BENCH_FILTER narrows what runs (a Google Benchmark regex).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
mkdir -p build bench/results
cmake -S . -B build/bench -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release -DPIPELINE_BUILD_TESTS=OFF \
  -DPIPELINE_BUILD_EXAMPLES=OFF -DPIPELINE_BUILD_TOOLS=OFF >build/bench.configure.log 2>&1 ||
  { cat build/bench.configure.log; exit 1; }
cmake --build build/bench -j "$(nproc)" >build/bench.build.log 2>&1 || { tail -n 60 build/bench.build.log; exit 1; }
for bin in build/bench/bench/bench_*; do
  name=$(basename "$bin")
  echo "== $name"
  # Keep the previous results of a binary the filter leaves out (it writes an empty file).
  "$bin" --benchmark_filter="${BENCH_FILTER:-.}" --benchmark_out="bench/results/$name.json.new" \
    --benchmark_out_format=json --benchmark_counters_tabular=true
  if [ -s "bench/results/$name.json.new" ]; then
    mv "bench/results/$name.json.new" "bench/results/$name.json"
  else
    rm -f "bench/results/$name.json.new"
  fi
done
python3 bench/summarize.py bench/results
