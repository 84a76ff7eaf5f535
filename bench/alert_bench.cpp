// Alert layer benchmarks.
//
// BM_AlertLimiter_Decide: RateLimiter::decide over 1,000 keys (hashes precomputed, keys
// visited in a fixed shuffled order), time advancing 0.5 ms per decision so each key regains
// half a token per visit and both outcomes occur. Limits: warning, 1 token per second, burst 5. No
// sinks, no allocation. With ->Threads(2) both threads share one limiter (16 shards)
// and walk the same 1,000 keys from different offsets: the figure shows lock contention
// and cache-line sharing on 2 cores. items_per_second is per CPU second without
// UseRealTime and per wall second (both threads together) with it.
//
// BM_AlertManager_Raise: the full AlertManager::raise path (hashing the key, decision,
// counter add, and for passing alerts building an Alert and calling one no-op callback
// sink) on the same 1,000 keys with a ManualClock that is not advanced: after each key's
// burst nearly every raise is suppressed, which is the storm case the limiter is for.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/alert/callback_sink.hpp"
#include "pipeline/alert/rate_limiter.hpp"
#include "pipeline/core/manual_clock.hpp"

namespace {

constexpr int kKeys = 1000;

struct Keys {
  std::vector<std::string> text;
  std::vector<std::uint64_t> hash;
  Keys() {
    std::vector<int> order(kKeys);
    for (int i = 0; i < kKeys; ++i) order[static_cast<std::size_t>(i)] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
    for (int i : order) {
      text.push_back("coverage/phase" + std::to_string(i % 5 + 1) + "/processor-" + std::to_string(i));
      hash.push_back(pipeline::RateLimiter::hash_key(text.back()));
    }
  }
};

const Keys& keys() {
  static const Keys k;
  return k;
}

pipeline::RateLimiterOptions bench_limits() {
  pipeline::RateLimiterOptions c;
  c.warning = {std::chrono::seconds(1), 5};
  return c;
}

void BM_AlertLimiter_Decide(benchmark::State& state) {
  static pipeline::RateLimiter* limiter = nullptr;
  if (state.thread_index() == 0) limiter = pipeline::RateLimiter::create(bench_limits()).value().release();
  const Keys& k = keys();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kKeys / 2);
  auto now = pipeline::ManualClock::kDefaultStart;
  std::uint64_t allowed = 0;
  for (auto _ : state) {
    const auto d = limiter->decide(k.text[i], k.hash[i], pipeline::Severity::kWarning, now);
    allowed += d.allowed ? 1 : 0;
    benchmark::DoNotOptimize(d);
    if (++i == kKeys) i = 0;
    now += std::chrono::microseconds(500);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allowed_share"] =
      benchmark::Counter(static_cast<double>(allowed) / static_cast<double>(std::max<std::int64_t>(state.iterations(), 1)),
                         benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    delete limiter;
    limiter = nullptr;
  }
}
BENCHMARK(BM_AlertLimiter_Decide);
BENCHMARK(BM_AlertLimiter_Decide)->Threads(2);
BENCHMARK(BM_AlertLimiter_Decide)->Threads(2)->UseRealTime();

void BM_AlertManager_Raise(benchmark::State& state) {
  pipeline::ManualClock clock;
  std::atomic<std::uint64_t> sent{0};
  auto sink = pipeline::CallbackAlertSink::create(
      [&](const pipeline::Alert&) { sent.fetch_add(1, std::memory_order_relaxed); }).value();
  pipeline::AlertManagerOptions config;
  config.limits = bench_limits();
  config.digest_flush_interval = pipeline::Duration::zero();
  auto alerts = pipeline::AlertManager::create(clock, {sink}, config).value();
  const Keys& k = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(alerts->raise(pipeline::Severity::kWarning, k.text[i], "processor is late"));
    if (++i == kKeys) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["delivered"] = static_cast<double>(sent.load());
}
BENCHMARK(BM_AlertManager_Raise);

}  // namespace

BENCHMARK_MAIN();
