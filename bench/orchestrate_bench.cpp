// Fan-in benchmarks of the CompletionTracker.
//
// BM_CompletionTracker_<Store>: completions recorded per second. Each completion is one
//   store transaction (dedup row, record rows, done-row scan); every 21st completes a
//   date of the NBA Phase 2->3 tracker (21 expected) and also decides the trigger and
//   encodes it into the outbox. No relay, no transport. SQLite: synchronous=NORMAL, WAL.
// BM_CompletionTracker_Postgres/<writers>/<batch>: the same on PostgreSQL on loopback
//   (synchronous_commit=on: each commit waits for the WAL flush), by 1 or 2 writer
//   processes on one database (the second records other dates; items count both), each
//   committing <batch> completions per transaction (record_completion(tx, m), then
//   after_commit): batch 1 is one commit per completion, batch 21 one per date.
// BM_FanInLatency_<Store>[_Threaded]: the time from calling record_completion for the
//   last expected completion of a date to the trigger arriving in a subscriber's handler
//   (p50_us, p99_us; the reported time per iteration is that latency). Includes the
//   decision transaction, encoding, the outbox claim/publish/mark and the delivery.
//   Inline: the relay runs on the recording thread right after the commit and the
//   MemoryTransport delivers inline (the pump-mode path). Threaded: a background relay
//   (woken by notify) and one transport worker thread deliver it. Postgres: the inline
//   path on PostgreSQL on loopback (the relay's claim and mark are two more commits).
#include <benchmark/benchmark.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "pipeline/core/best_effort_settle.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/memory/memory_transport.hpp"
#include "pipeline/orchestrate/completion_tracker.hpp"
#include "examples/nba_synthetic/nba_preset.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"

namespace {

using bench_support::BenchDir;

pipeline::CompletionTrackerOptions phase3_config() { return nba::tracker_presets().front(); }

// The completions of one date: every raw processor, one changed player each.
std::vector<pipeline::Message> date_completions(const pipeline::CompletionTrackerOptions& config, int day) {
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
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
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
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
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

#ifdef PIPELINE_BENCH_HAVE_POSTGRES
// Records `batch` completions per transaction, dates from `first_day` on, until `go_on()`
// says stop; returns how many it recorded (or an error).
template <class GoOn>
pipeline::Result<std::int64_t> record_batches(pipeline::StateStore& store, int batch, int first_day, GoOn go_on) {
  pipeline::ManualClock clock;
  auto config = phase3_config();
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
  if (!tracker) return pipeline::fail(tracker.error());
  std::vector<pipeline::Message> pending;
  int day = first_day;
  std::int64_t recorded = 0;
  std::vector<pipeline::RecordOutcome> outcomes;
  while (go_on()) {
    std::vector<pipeline::Message> chunk;
    while (static_cast<int>(chunk.size()) < batch) {
      if (pending.empty()) pending = date_completions(config, day++);
      chunk.push_back(std::move(pending.back()));
      pending.pop_back();
    }
    auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
      outcomes.clear();
      for (const auto& m : chunk) {
        auto r = (*tracker)->record_completion(tx, m);
        if (!r) return pipeline::fail(r.error());
        outcomes.push_back(std::move(*r));
      }
      return pipeline::ok();
    });
    if (!st) return pipeline::fail(st.error());
    for (const auto& o : outcomes) (*tracker)->after_commit(o);
    recorded += batch;
  }
  return recorded;
}

// A second writer process on the same tables: records from day 40000 on between the
// parent's "go" and "stop" bytes, then writes its count back.
struct WriterProcess {
  pid_t pid = -1;
  int control = -1;  // parent -> child: 'g', then 's'
  int result = -1;   // child -> parent: the count

  static WriterProcess start(const bench_support::PostgresTables& tables, int batch) {
    int to_child[2], to_parent[2];
    if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(to_child[1]);
      ::close(to_parent[0]);
      auto store = tables.open();
      char c = 0;
      if (!store || ::read(to_child[0], &c, 1) != 1) ::_exit(3);
      auto n = record_batches(**store, batch, 40000, [&] {
        pollfd p{to_child[0], POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
      });
      const std::int64_t count = n ? *n : -1;
      (void)!::write(to_parent[1], &count, sizeof count);
      ::_exit(n ? 0 : 4);
    }
    ::close(to_child[0]);
    ::close(to_parent[1]);
    return WriterProcess{pid, to_child[1], to_parent[0]};
  }
  void go() const { (void)!::write(control, "g", 1); }
  // Stops the child and returns its count (-1 when it failed).
  std::int64_t stop() {
    (void)!::write(control, "s", 1);
    std::int64_t count = -1;
    if (::read(result, &count, sizeof count) != static_cast<ssize_t>(sizeof count)) count = -1;
    ::close(control);
    ::close(result);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return count;
  }
};

void BM_CompletionTracker_Postgres(benchmark::State& state) {
  const int writers = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  bench_support::PostgresTables tables;
  auto store = tables.open();
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  WriterProcess other;
  if (writers == 2) {
    other = WriterProcess::start(tables, batch);
    if (other.pid <= 0) {
      state.SkipWithError("cannot start the second writer process");
      return;
    }
    other.go();
  }
  auto n = record_batches(**store, batch, 0, [&] { return state.KeepRunning(); });
  const std::int64_t others = writers == 2 ? other.stop() : 0;
  if (!n || others < 0) {
    state.SkipWithError(n ? "the second writer failed" : n.error().to_string().c_str());
    return;
  }
  state.SetItemsProcessed(*n + others);
  state.counters["batch"] = batch;
  state.counters["writers"] = writers;
}
// {writers, completions per transaction}; each iteration is one transaction.
BENCHMARK(BM_CompletionTracker_Postgres)->Args({1, 1})->Args({2, 1})->Args({1, 21})->Args({2, 21})->UseRealTime();
#endif

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
  auto transport = pipeline::MemoryTransport::create(clock, topts).value();
  auto config = phase3_config();
  auto tracker = pipeline::CompletionTracker::create(clock, store, config);
  if (!tracker) {
    state.SkipWithError(tracker.error().to_string().c_str());
    return;
  }
  std::atomic<std::int64_t> arrived_ns{0};
  std::atomic<int> arrivals{0};
  auto sub = transport->subscribe({"bench-phase3", config.trigger_topic, {}}, [&](pipeline::DeliveryPtr d) {
    arrived_ns.store(SteadyClock::now().time_since_epoch().count(), std::memory_order_relaxed);
    pipeline::best_effort_ack(*d);
    arrivals.fetch_add(1, std::memory_order_release);
  });
  if (!sub) {
    state.SkipWithError(sub.error().to_string().c_str());
    return;
  }
  pipeline::OutboxRelayOptions ropts;
  ropts.owner = "bench-relay";
  auto created_relay = pipeline::OutboxRelay::create(clock, store, *transport, ropts);
  if (!created_relay) {
    state.SkipWithError(created_relay.error().to_string().c_str());
    return;
  }
  pipeline::OutboxRelay& relay = **created_relay;
  if (threaded) {
    if (!transport->start(1)) {
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
    transport->stop();
  }
  report_percentiles(state, latencies);
}

void BM_FanInLatency_Memory(benchmark::State& state) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  fan_in_latency(state, store, false);
}
BENCHMARK(BM_FanInLatency_Memory)->UseManualTime();

void BM_FanInLatency_Memory_Threaded(benchmark::State& state) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
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

#ifdef PIPELINE_BENCH_HAVE_POSTGRES
void BM_FanInLatency_Postgres(benchmark::State& state) {
  bench_support::PostgresTables tables;
  auto store = tables.open();
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  fan_in_latency(state, **store, false);
}
// Each iteration first records a date's 20 other completions, untimed (a commit each).
BENCHMARK(BM_FanInLatency_Postgres)->UseManualTime()->Iterations(200);
#endif

}  // namespace

BENCHMARK_MAIN();
