#!/usr/bin/env bash
# Side by side with BullMQ (issue 23, item 5): runs the BullMQ FlowProducer fan-in peer and
# our BM_FanInLatency_RedisPostgres (bench_distributed) on this machine, one after the
# other, and prints one JSON object as its last line:
#   {"pipeline": {"p50_us", "p99_us", "completions_per_s"}, "bullmq": {same},
#    "ratios": {"p99_ours_over_theirs", "p50_ours_over_theirs", "completions_per_s_ours_over_theirs"}}
# The peer lives at ../shared/peers/bullmq/run.sh beside the repository, or under
# $PIPELINE_PEERS_DIR/bullmq/run.sh. Our side uses the scripts/services.sh servers
# (PostgreSQL with synchronous_commit=on, Redis), or PIPELINE_POSTGRES_URI and
# PIPELINE_REDIS_URI when set. PIPELINE_BENCH_BUILD_DIR reuses a configured build
# directory (PIPELINE_BUILD_BENCH=ON); by default build/bench is configured Release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PIPELINE_PEERS_DIR:-$root/../shared/peers}
peer=$peers/bullmq/run.sh
if [ ! -f "$peer" ]; then
  echo "compare_bullmq.sh: the BullMQ peer is missing: no $peer (set PIPELINE_PEERS_DIR to the folder holding bullmq/run.sh)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "compare_bullmq.sh: node is not installed; the peer needs it" >&2; exit 1; }
cd "$root"

build=${PIPELINE_BENCH_BUILD_DIR:-build/bench}
if [ -z "${PIPELINE_BENCH_BUILD_DIR:-}" ]; then
  bash scripts/setup-deps.sh
  export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
  mkdir -p build
  cmake -S . -B "$build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release -DPIPELINE_BUILD_TESTS=OFF \
    -DPIPELINE_BUILD_EXAMPLES=OFF -DPIPELINE_BUILD_TOOLS=OFF -DPIPELINE_BUILD_BENCH=ON >build/compare.configure.log 2>&1 ||
    { cat build/compare.configure.log; exit 1; }
fi
cmake --build "$build" --target bench_distributed -j "$(nproc)" >build/compare.build.log 2>&1 ||
  { tail -n 60 build/compare.build.log; exit 1; }

if [ -z "${PIPELINE_POSTGRES_URI:-}" ] || [ -z "${PIPELINE_REDIS_URI:-}" ]; then
  bash scripts/services.sh start >/dev/null
  bash scripts/services.sh start-redis >/dev/null
  eval "$(bash scripts/services.sh env | sed 's/^/export /')"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p build
echo "== pipeline: BM_FanInLatency_RedisPostgres" >&2
"$build/bench/bench_distributed" --benchmark_filter="${PIPELINE_COMPARE_FILTER:-BM_FanInLatency_RedisPostgres/1/256/}" \
  --benchmark_out="$out/pipeline.json" --benchmark_out_format=json --benchmark_counters_tabular=true >&2
echo "== bullmq: $peer" >&2
bash "$peer" | tee "$out/bullmq.out" >&2

cp "$out/pipeline.json" build/compare.pipeline.json  # every counter, for the per-stage breakdown
python3 - "$out/pipeline.json" "$out/bullmq.out" <<'PY'
import json, sys
bench = [b for b in json.load(open(sys.argv[1]))["benchmarks"] if "p99_us" in b]
if not bench:
    sys.exit("compare_bullmq.sh: the pipeline benchmark reported nothing (see its output above)")
b = bench[0]
stages = ["to_tracker_p50_us", "decide_p50_us", "to_consumer_p50_us", "completions_per_tx", "statements_per_completion",
          "statement_us", "commit_us", "tx_us", "ack_us", "outbox_call_us"]
print("pipeline stages: " + ", ".join(f"{k}={b[k]:.1f}" for k in stages if k in b), file=sys.stderr)
peer = None
for line in open(sys.argv[2]):
    line = line.strip()
    if line.startswith("{"):
        peer = json.loads(line)
if peer is None:
    sys.exit("compare_bullmq.sh: the BullMQ peer printed no JSON result")
ours = {"p50_us": round(b["p50_us"], 1), "p99_us": round(b["p99_us"], 1),
        "completions_per_s": round(b["completions_per_s"], 1)}
theirs = {"p50_us": round(peer["fanin_latency_us"]["p50"], 1), "p99_us": round(peer["fanin_latency_us"]["p99"], 1),
          "completions_per_s": peer["completions_per_s"]}
ratios = {"p99_ours_over_theirs": round(ours["p99_us"] / theirs["p99_us"], 3),
          "p50_ours_over_theirs": round(ours["p50_us"] / theirs["p50_us"], 3),
          "completions_per_s_ours_over_theirs": round(ours["completions_per_s"] / theirs["completions_per_s"], 3)}
ratios["goal_met"] = ratios["p99_ours_over_theirs"] <= 0.5 and ratios["completions_per_s_ours_over_theirs"] >= 2.0
print(json.dumps({"pipeline": ours, "bullmq": theirs, "ratios": ratios}))
PY
