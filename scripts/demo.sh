#!/usr/bin/env bash
# Installs what is needed, builds pipelinectl and runs the demo.
#
#   scripts/demo.sh [ARGS...]                the embedded demo: one process, simulated time
#   scripts/demo.sh --distributed [ARGS...]  every role its own process over Redis Streams and
#                                            PostgreSQL, which scripts/services.sh starts (and
#                                            stops again when the demo ends)
#
# Other arguments go to `pipelinectl demo` (e.g. --json, --chaos, --workers 3).
set -euo pipefail
cd "$(dirname "$0")/.."
distributed=0
args=()
for a in "$@"; do
  if [ "$a" = "--distributed" ]; then distributed=1; else args+=("$a"); fi
done
bash scripts/setup-deps.sh
mkdir -p build
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
cmake -S . -B build/demo -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release \
  -DPIPELINE_BUILD_TESTS=OFF -DPIPELINE_BUILD_BENCH=OFF >build/demo.configure.log 2>&1 ||
  { cat build/demo.configure.log; exit 1; }
cmake --build build/demo -j "$(nproc)" --target pipelinectl >build/demo.build.log 2>&1 ||
  { tail -n 80 build/demo.build.log; exit 1; }
ctl=build/demo/tools/pipelinectl/pipelinectl
if [ "$distributed" -eq 0 ]; then
  exec "$ctl" demo ${args[@]+"${args[@]}"}
fi
# The demo's own servers, in their own state directory, stopped on any exit.
export PIPELINE_SERVICES_DIR="${TMPDIR:-/tmp}/pipeline-demo-services-$(id -u)"
trap 'bash scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/services.sh start >/dev/null
eval "$(bash scripts/services.sh env | sed 's/^/export /')"
"$ctl" demo --transport "$PIPELINE_REDIS_URI" --store "$PIPELINE_POSTGRES_URI" ${args[@]+"${args[@]}"}
