#!/usr/bin/env bash
# Installs what is needed, builds pipelinectl and runs the demo.
# Extra arguments go to `pipelinectl demo` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
mkdir -p build
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
cmake -S . -B build/demo -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release \
  -DPIPELINE_BUILD_TESTS=OFF -DPIPELINE_BUILD_BENCH=OFF >build/demo.configure.log 2>&1 ||
  { cat build/demo.configure.log; exit 1; }
cmake --build build/demo -j "$(nproc)" --target pipelinectl >build/demo.build.log 2>&1 ||
  { tail -n 80 build/demo.build.log; exit 1; }
exec build/demo/tools/pipelinectl/pipelinectl demo "$@"
