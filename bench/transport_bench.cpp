// bench_transport: the Transport implementations side by side.
//   BM_Transport_<Impl>_Publish    messages/s through publish (one subscription attached,
//                                  nothing consumed), 1 and 4 publisher threads;
//   BM_Transport_<Impl>_PublishBatch/N  the same through publish_batch, N messages per call
//                                  (items are messages), 1 and 4 publisher threads;
//   BM_Transport_<Impl>_RoundTrip  one message at a time: publish -> handler -> ack
//                                  returned, p50_us / p99_us of that path (threaded mode).
// Redis runs on PIPELINE_REDIS_URI, else on the server scripts/services.sh starts (left
// running; `scripts/services.sh stop` ends it). Each benchmark uses its own key prefix.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/bench_support.hpp"
#include <fmt/format.h>

#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/system_clock.hpp"
#include "pipeline/memory/memory_transport.hpp"

#ifdef PIPELINE_BENCH_HAVE_REDIS
#include "pipeline/redis/redis_transport.hpp"
#endif

namespace {

using Steady = std::chrono::steady_clock;

// Waits for the handler to settle message `n` (one in flight at a time).
class Handoff {
 public:
  void done(std::uint64_t n) {
    {
      std::lock_guard lock(mu_);
      settled_ = n;
    }
    cv_.notify_one();
  }
  void wait(std::uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return settled_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t settled_ = 0;
};

void report_latency(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

// Drives round trips on `transport` (a handler already acks and calls `handoff.done`).
template <class Publish>
void round_trips(benchmark::State& state, Handoff& handoff, Publish&& publish) {
  std::vector<double> us;
  std::uint64_t n = 0;
  for (auto _ : state) {
    const auto t0 = Steady::now();
    ++n;
    if (!publish(n)) {
      state.SkipWithError("publish failed");
      return;
    }
    handoff.wait(n);
    us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
  }
  state.SetItemsProcessed(state.iterations());
  report_latency(state, us);
}

// The publish benchmarks' transport, shared by their threads: thread 0 opens it (with one
// subscription that consumes nothing) before the loop and closes it afterwards; the
// threads read `transport` inside the loop only.
template <class T>
struct PublishTarget {
  static inline std::unique_ptr<T> transport;
  static inline std::unique_ptr<pipeline::Subscription> sub;
  // `open_transport()` returns a Result<std::unique_ptr<T>> or a std::unique_ptr<T>.
  template <class Open>
  static bool open(benchmark::State& state, Open&& open_transport) {
    if (state.thread_index() != 0) return true;
    pipeline::Result<std::unique_ptr<T>> t = open_transport();
    if (!t) {
      state.SkipWithError(t.error().to_string().c_str());
      return false;
    }
    transport = std::move(*t);
    sub = std::move(*transport->subscribe({"bench-sub", "bench-topic", {}}, [](pipeline::DeliveryPtr) {}));
    return true;
  }
  static void close(benchmark::State& state) {
    if (state.thread_index() != 0) return;
    sub.reset();
    transport.reset();
  }

  // One publish per iteration (200-byte payloads).
  static void publish_singles(benchmark::State& state) {
    std::uint64_t i = 0;
    const std::string payload(200, 'x');
    for (auto _ : state) {
      auto st = transport->publish("bench-topic", {fmt::format("t{}-{}", state.thread_index(), i++), payload, {}});
      if (!st) state.SkipWithError(st.error().to_string().c_str());
    }
    state.SetItemsProcessed(state.iterations());
  }

  // One publish_batch of state.range(0) messages per iteration; items are messages.
  static void publish_batches(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string payload(200, 'x');
    std::uint64_t i = 0;
    for (auto _ : state) {
      std::vector<pipeline::OutgoingMessage> batch;
      batch.reserve(size);
      for (std::size_t k = 0; k < size; ++k)
        batch.push_back({fmt::format("t{}-{}", state.thread_index(), i++), payload, {}});
      auto result = transport->publish_batch("bench-topic", std::move(batch));
      if (!result.status) state.SkipWithError(result.status.error().to_string().c_str());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
  }
};

// ---- memory ----------------------------------------------------------------------------

pipeline::SystemClock& clock() {
  static pipeline::SystemClock c;
  return c;
}

using MemoryTarget = PublishTarget<pipeline::MemoryTransport>;

std::unique_ptr<pipeline::MemoryTransport> open_memory() {
  return pipeline::MemoryTransport::create(clock(), pipeline::MemoryTransportOptions{1u << 30, false}).value();
}

void BM_Transport_Memory_Publish(benchmark::State& state) {
  if (!MemoryTarget::open(state, open_memory)) return;
  MemoryTarget::publish_singles(state);
  MemoryTarget::close(state);
}
BENCHMARK(BM_Transport_Memory_Publish)->Threads(1)->Threads(4)->UseRealTime();

void BM_Transport_Memory_PublishBatch(benchmark::State& state) {
  if (!MemoryTarget::open(state, open_memory)) return;
  MemoryTarget::publish_batches(state);
  MemoryTarget::close(state);
}
BENCHMARK(BM_Transport_Memory_PublishBatch)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Threads(1)->Threads(4)->UseRealTime();

void BM_Transport_Memory_RoundTrip(benchmark::State& state) {
  auto transport = pipeline::MemoryTransport::create(clock()).value();
  Handoff handoff;
  auto sub = transport->subscribe({"rt-sub", "rt-topic", {}}, [&](pipeline::DeliveryPtr d) {
    pipeline::best_effort_ack(*d);
    handoff.done(std::stoull(d->id()));
  });
  if (!sub || !transport->start(1)) {
    state.SkipWithError("memory transport did not start");
    return;
  }
  const std::string payload(200, 'x');
  round_trips(state, handoff, [&](std::uint64_t n) {
    return transport->publish("rt-topic", {std::to_string(n), payload, {}}).has_value();
  });
  transport->stop();
}
BENCHMARK(BM_Transport_Memory_RoundTrip)->UseRealTime();

// ---- Redis -----------------------------------------------------------------------------
#ifdef PIPELINE_BENCH_HAVE_REDIS

using bench_support::redis_uri;

std::string fresh_prefix() {
  static std::atomic<int> counter{0};
  return fmt::format("bench-{}-{}:", ::getpid(), counter++);
}

using RedisTarget = PublishTarget<pipeline::RedisTransport>;

// A fresh prefix and no backlog limit in reach.
pipeline::Result<std::unique_ptr<pipeline::RedisTransport>> open_redis() {
  pipeline::RedisTransportOptions o;
  o.key_prefix = fresh_prefix();
  o.max_unacked_per_subscription = std::size_t{1} << 40;
  o.pool_size = 4;
  return pipeline::RedisTransport::open(clock(), redis_uri(), o);
}

void BM_Transport_Redis_Publish(benchmark::State& state) {
  if (!RedisTarget::open(state, open_redis)) return;
  RedisTarget::publish_singles(state);
  RedisTarget::close(state);
}
BENCHMARK(BM_Transport_Redis_Publish)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_Transport_Redis_PublishBatch(benchmark::State& state) {
  if (!RedisTarget::open(state, open_redis)) return;
  RedisTarget::publish_batches(state);
  RedisTarget::close(state);
}
BENCHMARK(BM_Transport_Redis_PublishBatch)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Threads(1)->Threads(4)->UseRealTime();

void BM_Transport_Redis_RoundTrip(benchmark::State& state) {
  pipeline::RedisTransportOptions o;
  o.key_prefix = fresh_prefix();
  o.handler_threads = 1;
  auto t = pipeline::RedisTransport::open(clock(), redis_uri(), o);
  if (!t) {
    state.SkipWithError(t.error().to_string().c_str());
    return;
  }
  Handoff handoff;
  auto sub = (*t)->subscribe({"rt-sub", "rt-topic", {}}, [&](pipeline::DeliveryPtr d) {
    pipeline::best_effort_ack(*d);
    handoff.done(std::stoull(d->id()));
  });
  if (!sub) {
    state.SkipWithError(sub.error().to_string().c_str());
    return;
  }
  const std::string payload(200, 'x');
  round_trips(state, handoff, [&](std::uint64_t n) {
    return (*t)->publish("rt-topic", {std::to_string(n), payload, {}}).has_value();
  });
}
BENCHMARK(BM_Transport_Redis_RoundTrip)->UseRealTime();

#endif

}  // namespace

BENCHMARK_MAIN();
