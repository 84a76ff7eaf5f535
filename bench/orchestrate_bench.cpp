// Fan-in benchmarks of the CompletionTracker.
//
// BM_CompletionTracker_<Store>: completions recorded per second. Each completion is one
//   store transaction (dedup row, record rows, done-row scan); every 21st completes a
//   date of the NBA Phase 2->3 tracker (21 expected) and also decides the trigger and
//   encodes it into the outbox. No relay, no transport. SQLite: synchronous=NORMAL, WAL.
// BM_FanInLatency_<Store>[_Threaded]: the time from calling record_completion for the
//   last expected completion of a date to the trigger arriving in a subscriber's handler
//   (p50_us, p99_us; the reported time per iteration is that latency). Includes the
//   decision transaction, encoding, the outbox claim/publish/mark and the delivery.
//   Inline: the relay runs on the recording thread right after the commit and the
//   MemoryTransport delivers inline (the pump-mode path). Threaded: a background relay
//   (woken by notify) and one transport worker thread deliver it.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "examples/nba_synthetic/nba_preset.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"

namespace {

using bench_support::BenchDir;

pipeline::CompletionTrackerConfig phase3_config() { return nba::tracker_presets().front(); }

// The completions of one date: every raw processor, one changed player each.
std::vector<pipeline::Message> date_completions(const pipeline::CompletionTrackerConfig& config, int day) {
  const auto date = pipeline::CalendarDate::parse("2020-01-01")->plus_days(day);
  std::vector<pipeline::Message> out;
  for (const auto& p : config.expected) {
    pipeline::Message m;
    m.processor_name = p;
    m.phase = config.upstream_phase;
    m.execution_id = fmt::format("{}-{}", p, day);
    m.correlation_id = fmt::format("scrape-{}", day);
    m.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    m.partition_date = date;
    m.entities_changed = pipeline::EntityChanges{{"players", {fmt::format("player-{}", out.size())}}};
    out.push_back(std::move(m));
  }
  return out;
}

void record_throughput(benchmark::State& state, pipeline::StateStore& store) {
  pipeline::ManualClock clock;
  auto config = phase3_config();
  auto tracker = pipeline::CompletionTracker::create(store, clock, config);
  if (!tracker) {
    state.SkipWithError(tracker.error().to_string().c_str());
    return;
  }
  int day = 0;
  std::vector<pipeline::Message> batch;
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      batch = date_completions(config, day++);
      next = 0;
      state.ResumeTiming();
    }
    auto r = (*tracker)->record_completion(batch[next++]);
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      return;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["dates_decided"] = static_cast<double>(day);
}

void BM_CompletionTracker_Memory(benchmark::State& state) {
  pipeline::MemoryStateStore store;
  record_throughput(state, store);
}
BENCHMARK(BM_CompletionTracker_Memory)->UseRealTime();

void BM_CompletionTracker_Sqlite(benchmark::State& state) {
  BenchDir dir;
  auto store = pipeline::SqliteStateStore::open(dir.file("state.db"), {});
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  record_throughput(state, **store);
}
BENCHMARK(BM_CompletionTracker_Sqlite)->UseRealTime();

using SteadyClock = std::chrono::steady_clock;

void report_percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
}

// Records all but the last completion of a date untimed, then times the last one until
// the trigger reaches the subscriber's handler.
void fan_in_latency(benchmark::State& state, pipeline::StateStore& store, bool threaded) {
  pipeline::ManualClock clock;
  pipeline::MemoryTransportOptions topts;
  topts.inline_delivery = !threaded;
  pipeline::MemoryTransport transport(clock, topts);
  auto config = phase3_config();
  auto tracker = pipeline::CompletionTracker::create(store, clock, config);
  if (!tracker) {
    state.SkipWithError(tracker.error().to_string().c_str());
    return;
  }
  std::atomic<std::int64_t> arrived_ns{0};
  std::atomic<int> arrivals{0};
  auto sub = transport.subscribe({"bench-phase3", config.trigger_topic, {}}, [&](pipeline::DeliveryPtr d) {
    arrived_ns.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
    (void)d->ack();
    arrivals.fetch_add(1, std::memory_order_release);
  });
  if (!sub) {
    state.SkipWithError(sub.error().to_string().c_str());
    return;
  }
  pipeline::OutboxRelayOptions ropts;
  ropts.owner = "bench-relay";
  pipeline::OutboxRelay relay(store, transport, clock, ropts);
  if (threaded) {
    if (!transport.start(1)) {
      state.SkipWithError("transport start failed");
      return;
    }
    relay.start();
  }
  std::vector<double> latencies;
  int day = 0;
  for (auto _ : state) {
    auto batch = date_completions(config, day++);
    for (std::size_t i = 0; i + 1 < batch.size(); ++i)
      if (!(*tracker)->record_completion(batch[i])) {
        state.SkipWithError("record failed");
        return;
      }
    const int before = arrivals.load(std::memory_order_acquire);
    const auto t0 = SteadyClock::now();
    auto r = (*tracker)->record_completion(batch.back());
    if (!r || r->triggered.empty()) {
      state.SkipWithError("the last completion did not trigger");
      return;
    }
    if (threaded) {
      relay.notify();
    } else if (!relay.relay_once()) {
      state.SkipWithError("relay failed");
      return;
    }
    while (arrivals.load(std::memory_order_acquire) == before) {
    }
    const double us =
        static_cast<double>(arrived_ns.load(std::memory_order_relaxed) - t0.time_since_epoch().count()) / 1000.0;
    latencies.push_back(us);
    state.SetIterationTime(us / 1e6);
  }
  if (threaded) {
    relay.stop();
    transport.stop();
  }
  report_percentiles(state, latencies);
}

void BM_FanInLatency_Memory(benchmark::State& state) {
  pipeline::MemoryStateStore store;
  fan_in_latency(state, store, false);
}
BENCHMARK(BM_FanInLatency_Memory)->UseManualTime();

void BM_FanInLatency_Memory_Threaded(benchmark::State& state) {
  pipeline::MemoryStateStore store;
  fan_in_latency(state, store, true);
}
BENCHMARK(BM_FanInLatency_Memory_Threaded)->UseManualTime();

void BM_FanInLatency_Sqlite(benchmark::State& state) {
  BenchDir dir;
  auto store = pipeline::SqliteStateStore::open(dir.file("state.db"), {});
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  fan_in_latency(state, **store, false);
}
BENCHMARK(BM_FanInLatency_Sqlite)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
