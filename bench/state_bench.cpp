// StateStore benchmarks: single-row transactions/s and outbox write+relay/s for the
// memory and SQLite stores (SQLite at synchronous NORMAL and FULL) and PostgreSQL (on
// loopback, synchronous_commit=on: every commit waits for the server's WAL flush; one
// client thread, so no group commit).

#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "bench/bench_support.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/orchestrate/outbox_relay.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"

namespace {

using bench_support::BenchDir;
using bench_support::NullTransport;

void single_row(benchmark::State& state, pipeline::StateStore& store) {
  std::size_t i = 0;
  std::string key;
  const std::string value(100, 'v');
  for (auto _ : state) {
    key = "bench/row/" + std::to_string(i++ % 1000);
    auto st = store.transact([&](pipeline::Transaction& tx) { return tx.put(key, value); });
    if (!st) {
      state.SkipWithError(st.error().to_string().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// One transaction per item (row + outbox entry); a relay publishes every 64 items.
void outbox(benchmark::State& state, pipeline::StateStore& store) {
  NullTransport transport;
  pipeline::ManualClock clock;
  auto created_relay = pipeline::OutboxRelay::create(clock, store, transport, {.owner = "bench", .batch_size = 64});
  if (!created_relay) {
    state.SkipWithError(created_relay.error().to_string().c_str());
    return;
  }
  pipeline::OutboxRelay& relay = **created_relay;
  std::size_t i = 0;
  const std::string payload(200, 'p');
  for (auto _ : state) {
    const std::string id = "bench-" + std::to_string(i++);
    auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
      PIPELINE_TRY(tx.put("bench/decision/" + std::to_string(i % 1000), id));
      return tx.enqueue({"bench-topic", {id, payload, {}}}).map([](bool) {});
    });
    if (st && i % 64 == 0) st = relay.drain().map([](std::size_t) {});
    if (!st) {
      state.SkipWithError(st.error().to_string().c_str());
      break;
    }
  }
  if (auto drained = relay.drain(); !drained) state.SkipWithError(drained.error().to_string().c_str());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["published"] = static_cast<double>(transport.published);
}

void BM_StateStore_Memory_SingleRow(benchmark::State& state) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  single_row(state, store);
}
BENCHMARK(BM_StateStore_Memory_SingleRow)->UseRealTime();

void BM_StateStore_Sqlite_SingleRow(benchmark::State& state, pipeline::SqliteSynchronous sync) {
  BenchDir dir;
  auto store = pipeline::SqliteStateStore::open(dir.file("bench.db"), {.synchronous = sync});
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  single_row(state, **store);
}
BENCHMARK_CAPTURE(BM_StateStore_Sqlite_SingleRow, NORMAL, pipeline::SqliteSynchronous::kNormal)->UseRealTime();
BENCHMARK_CAPTURE(BM_StateStore_Sqlite_SingleRow, FULL, pipeline::SqliteSynchronous::kFull)->UseRealTime();

void BM_Outbox_Memory(benchmark::State& state) {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  outbox(state, store);
}
BENCHMARK(BM_Outbox_Memory)->UseRealTime();

void BM_Outbox_Sqlite(benchmark::State& state) {
  BenchDir dir;
  auto store = pipeline::SqliteStateStore::open(dir.file("bench.db"));
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  outbox(state, **store);
}
BENCHMARK(BM_Outbox_Sqlite)->UseRealTime();

#ifdef PIPELINE_BENCH_HAVE_POSTGRES
void BM_StateStore_Postgres_SingleRow(benchmark::State& state) {
  bench_support::PostgresTables tables;
  auto store = tables.open();
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  single_row(state, **store);
}
BENCHMARK(BM_StateStore_Postgres_SingleRow)->UseRealTime();

void BM_Outbox_Postgres(benchmark::State& state) {
  bench_support::PostgresTables tables;
  auto store = tables.open();
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  outbox(state, **store);
}
BENCHMARK(BM_Outbox_Postgres)->UseRealTime();
#endif

}  // namespace

BENCHMARK_MAIN();
