// bench_publish: the caller's cost of UnifiedPublisher::publish, end-to-end publishing
// into a memory transport subscriber, the publish call while the transport is down,
// and the message codec.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "bench/bench_support.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/message_codec.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/publish/unified_publisher.hpp"

namespace {

using bench_support::NullTransport;

using namespace pipeline;

constexpr const char* kTopic = "nba-phase3-analytics-complete";

Message typical_message(std::size_t i) {
  Message m;
  m.processor_name = "player_game_summary";
  m.phase = "phase3_analytics";
  m.execution_id = fmt::format("exec-{}", i);
  m.correlation_id = "3f1c2a9e-0d4b-4c1e-9a77-5b2e8c6d1f00";
  m.partition_date = *CalendarDate::parse("2025-11-18");
  m.output_table = "player_game_summary";
  m.output_dataset = "nba_analytics";
  m.record_count = 450;
  m.duration_seconds = 12.5;
  m.entities_changed = EntityChanges{{"players", {"anthony-davis", "lebron-james", "luka-doncic"}}};
  m.is_incremental = true;
  return m;
}

// Waits until the publisher has sent everything; a failure invalidates the measurement.
void flush_or_skip(benchmark::State& state, UnifiedPublisher& publisher, ManualClock& clock) {
  if (!publisher.flush(clock.now() + std::chrono::hours(1))) state.SkipWithError("the publisher did not drain");
}

/// A transport that accepts and discards, so the enqueue benchmark measures the caller.
// The caller's cost: validate, derive the stable id, move into the queue (encoding and
// sending happen on the worker thread). Messages are built before timing.
void BM_Publisher_Enqueue(benchmark::State& state) {
  ManualClock clock;
  NullTransport transport;
  UnifiedPublisherOptions options;
  options.queue_capacity = 1 << 20;
  auto publisher = UnifiedPublisher::create(clock, transport, options).value();
  std::vector<Message> batch;
  constexpr std::size_t kBatch = 4096;
  for (std::size_t i = 0; i < kBatch; ++i) batch.push_back(typical_message(i));
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == kBatch) {
      state.PauseTiming();
      flush_or_skip(state, *publisher, clock);
      batch.clear();
      for (std::size_t k = 0; k < kBatch; ++k) batch.push_back(typical_message(k));
      i = 0;
      state.ResumeTiming();
    }
    auto r = publisher->publish(kTopic, std::move(batch[i++]));
    benchmark::DoNotOptimize(r);
  }
  flush_or_skip(state, *publisher, clock);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("validate + stable id + enqueue; queue 1M; worker sends to a null transport");
}
BENCHMARK(BM_Publisher_Enqueue)->UseRealTime();

// End to end: publish -> worker encodes -> MemoryTransport (inline delivery) -> a
// subscriber's handler acks. Throughput counted when the subscriber has seen them all.
void BM_Publisher_Memory(benchmark::State& state) {
  ManualClock clock;
  auto memory = MemoryTransport::create(clock, MemoryTransportOptions{1 << 20, true}).value();
  std::atomic<std::int64_t> received{0};
  auto sub = memory->subscribe({"phase4-sub", kTopic, {}}, [&](DeliveryPtr d) {
    best_effort_ack(*d);
    received.fetch_add(1, std::memory_order_relaxed);
  });
  UnifiedPublisherOptions options;
  options.queue_capacity = 1 << 20;
  auto publisher = UnifiedPublisher::create(clock, *memory, options).value();
  constexpr std::size_t kBatch = 4096;
  std::vector<Message> batch;
  std::size_t refused = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (std::size_t k = 0; k < kBatch; ++k) batch.push_back(typical_message(k));
    state.ResumeTiming();
    for (auto& m : batch) refused += publisher->publish(kTopic, std::move(m)) ? 0 : 1;
    flush_or_skip(state, *publisher, clock);
  }
  if (refused != 0) state.SkipWithError("the publisher refused messages");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  if (received.load() != static_cast<std::int64_t>(state.iterations() * kBatch)) state.SkipWithError("lost messages");
  state.SetLabel("validate + enqueue + encode + memory transport (inline) + subscriber ack; batches of 4096");
}
BENCHMARK(BM_Publisher_Memory)->UseRealTime()->Unit(benchmark::kMillisecond);

// The publish call while the transport fails every send: the worker waits on a retry
// timer (the ManualClock never moves), the queue absorbs the calls.
void BM_Publisher_TransportDown(benchmark::State& state) {
  constexpr std::size_t kCapacity = 1 << 20;
  ManualClock clock;
  mocks::RecordingTransport inner{false};
  mocks::FailingTransport transport{inner};
  transport.set_down(true);
  UnifiedPublisherOptions options;
  options.queue_capacity = kCapacity;
  auto publisher = UnifiedPublisher::create(clock, transport, options).value();
  std::vector<Message> batch;
  for (std::size_t k = 0; k < 200000; ++k) batch.push_back(typical_message(k));
  std::vector<double> samples;
  samples.reserve(batch.size());
  std::size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = publisher->publish(kTopic, std::move(batch[i++]));
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
    samples.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double p) { return samples[static_cast<std::size_t>(p * static_cast<double>(samples.size() - 1))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(fmt::format("transport down; queue capacity {} (never full here: {} calls)", kCapacity,
                             state.iterations()));
}
BENCHMARK(BM_Publisher_TransportDown)->Iterations(200000)->UseRealTime();

void BM_MessageCodec_Encode(benchmark::State& state) {
  const Message m = typical_message(7);
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto s = encode_message(m);
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_MessageCodec_Encode);

void BM_MessageCodec_Decode(benchmark::State& state) {
  const std::string json = encode_message(typical_message(7));
  for (auto _ : state) {
    auto m = decode_message(json);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}
BENCHMARK(BM_MessageCodec_Decode);

}  // namespace

BENCHMARK_MAIN();
