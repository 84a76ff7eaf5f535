// bench_change: change detection over N entities, ~0.1% changed, side by side with the
// seeds' SQL diff (LEFT JOIN ... IS DISTINCT FROM) in SQLite over the same data.
//
// Every benchmark runs on ONE thread except BM_ChangeDetector_MemoryTwoThreads (the same
// work split over 2 threads, the caller's included; timed in real time). What each includes:
//  - BM_ChangeDetector_Memory: ChangeDetector::diff with the stored fingerprints already
//    loaded: fingerprint every current entity (canonical encoding + XXH3), probe the flat
//    table, find removed ids, build the sorted ChangeSet (ids copied).
//  - BM_ChangeDetector_MemoryDiffOnly: FingerprintTable::diff alone, current fingerprints
//    precomputed (the table's share of the above).
//  - BM_ChangeDetector_SqliteLeftJoin: the seeds' query over two in-memory SQLite tables
//    current_raw/last_processed(id TEXT PRIMARY KEY, stats TEXT); prepared once; steps
//    every result row and copies the ids. SQLite spells IS DISTINCT FROM as IS NOT.
//  - BM_ChangeDetector_SqliteLeftJoinQueryDetector: the same diff as a QueryChangeDetector
//    runs it through SqliteChangeQueryRunner: a file database (WAL, read-only runner
//    connection), tables keyed by (game_date, id) so the date is a bound :date; each
//    iteration prepares the statement, steps every row, validates, sorts and duplicate-checks
//    the ids into a ChangeSet. (The name BM_ChangeDetector_SqliteLeftJoin is the bare
//    baseline above, which summarize.py compares against.)
//  - BM_ChangeDetector_LoadFingerprints{_Memory,_Sqlite}: ChangeDetector::load, i.e. one
//    read-only transaction reading ~N/2048 bucket rows, decoding and filling the table.

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "pipeline/change/change_detector.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#if __has_include("pipeline/sqlite/sqlite_state_store.hpp")
#include "pipeline/sqlite/sqlite_state_store.hpp"
#endif
#if __has_include("pipeline/sqlite/sqlite_change_query_runner.hpp")
#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/sqlite/sqlite_change_query_runner.hpp"
#endif

namespace change_bench {

const pipeline::CalendarDate kDate = *pipeline::CalendarDate::parse("2025-11-18");

std::string stats_for(std::size_t i, int version) {
  return fmt::format("pts={};reb={};ast={};min={};v={}", i % 41, i % 13, i % 11, 10 + i % 30, version);
}

/// N entities: the snapshot committed last time and the current one (every 1000th changed).
struct Data {
  std::vector<pipeline::EntitySnapshot> current;
  std::vector<std::string> ids;
  std::vector<std::string> last_stats;
  std::size_t changed = 0;
};

const Data& data(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Data>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<Data>();
    slot->current.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      slot->ids.push_back(fmt::format("player-{:07}", i));
      slot->last_stats.push_back(stats_for(i, 0));
      const bool changed = i % 1000 == 7;
      slot->changed += changed ? 1 : 0;
      slot->current.push_back({slot->ids.back(), {{"stats", stats_for(i, changed ? 1 : 0)}}});
    }
  }
  return *slot;
}

pipeline::FingerprintChangeDetectorOptions config() { return {"players", {"stats"}, "change"}; }

/// Commits the "last processed" snapshot into `store`.
void seed_store(pipeline::StateStore& store, std::size_t n) {
  const auto& d = data(n);
  std::vector<pipeline::EntitySnapshot> last;
  last.reserve(n);
  for (std::size_t i = 0; i < n; ++i) last.push_back({d.ids[i], {{"stats", d.last_stats[i]}}});
  auto detector = pipeline::ChangeDetector::create(store, config());
  auto cs = detector->detect(kDate, last);
  auto st = store.transact([&](pipeline::Transaction& tx) { return detector->commit(tx, cs); });
  if (!st) std::fprintf(stderr, "seed failed: %s\n", st.error().to_string().c_str());
}

pipeline::MemoryStateStore& memory_store(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<pipeline::MemoryStateStore>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<pipeline::MemoryStateStore>(pipeline::MemoryStateStore::create().value());
    seed_store(*slot, n);
  }
  return *slot;
}

void memory_bench(benchmark::State& state, unsigned threads) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& d = data(n);
  auto& store = memory_store(n);
  auto options = config();
  options.threads = threads;
  auto detector = pipeline::ChangeDetector::create(store, options);
  auto table = detector->load(kDate);
  if (!table) {
    state.SkipWithError(table.error().to_string().c_str());
    return;
  }
  std::size_t changed = 0;
  for (auto _ : state) {
    auto cs = detector->diff(kDate, *table, d.current);
    changed = cs.changed.size();
    benchmark::DoNotOptimize(cs);
  }
  if (changed != d.changed) state.SkipWithError("wrong number of changed entities");
  state.counters["changed"] = static_cast<double>(changed);
  state.counters["threads"] = threads;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_ChangeDetector_Memory(benchmark::State& state) { memory_bench(state, 1); }
void BM_ChangeDetector_MemoryTwoThreads(benchmark::State& state) { memory_bench(state, 2); }

void BM_ChangeDetector_MemoryDiffOnly(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& d = data(n);
  auto detector = pipeline::ChangeDetector::create(memory_store(n), config());
  auto table = detector->load(kDate);
  auto fps = detector->fingerprint_all(d.current);
  if (!table || !fps) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<std::string_view> ids(d.ids.begin(), d.ids.end());
  std::size_t changed = 0;
  for (auto _ : state) {
    auto diff = table->diff(ids, *fps);
    changed = diff.changed.size();
    benchmark::DoNotOptimize(diff);
  }
  if (changed != d.changed) state.SkipWithError("wrong number of changed entities");
  state.counters["threads"] = 1;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_ChangeDetector_SqliteLeftJoin(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& d = data(n);
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  auto exec = [&](const char* sql) { sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
  exec("CREATE TABLE current_raw(id TEXT PRIMARY KEY, stats TEXT)");
  exec("CREATE TABLE last_processed(id TEXT PRIMARY KEY, stats TEXT)");
  exec("BEGIN");
  for (const char* table : {"current_raw", "last_processed"}) {
    sqlite3_stmt* ins = nullptr;
    const std::string sql = fmt::format("INSERT INTO {} VALUES (?, ?)", table);
    sqlite3_prepare_v2(db, sql.c_str(), -1, &ins, nullptr);
    const bool current = std::string_view(table) == "current_raw";
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& stats =
          current ? std::get<std::string>(d.current[i].fields[0].value) : d.last_stats[i];
      sqlite3_bind_text(ins, 1, d.ids[i].data(), static_cast<int>(d.ids[i].size()), SQLITE_STATIC);
      sqlite3_bind_text(ins, 2, stats.data(), static_cast<int>(stats.size()), SQLITE_STATIC);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
  }
  exec("COMMIT");
  exec("ANALYZE");
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT r.id FROM current_raw r LEFT JOIN last_processed p USING (id) "
                         "WHERE p.id IS NULL OR r.stats IS NOT p.stats",
                         -1, &q, nullptr) != SQLITE_OK) {
    state.SkipWithError(sqlite3_errmsg(db));
    sqlite3_close(db);
    return;
  }
  std::size_t changed = 0;
  for (auto _ : state) {
    std::vector<std::string> ids;
    while (sqlite3_step(q) == SQLITE_ROW) ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
    sqlite3_reset(q);
    changed = ids.size();
    benchmark::DoNotOptimize(ids);
  }
  if (changed != d.changed) state.SkipWithError("wrong number of changed entities");
  state.counters["changed"] = static_cast<double>(changed);
  state.counters["threads"] = 1;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  sqlite3_finalize(q);
  sqlite3_close(db);
}

#if __has_include("pipeline/sqlite/sqlite_change_query_runner.hpp")
void BM_ChangeDetector_SqliteLeftJoinQueryDetector(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& d = data(n);
  bench_support::BenchDir dir;
  const std::string path = dir.file("warehouse.db");
  {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    auto exec = [&](const char* sql) { sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE current_raw(game_date TEXT, id TEXT, stats TEXT, PRIMARY KEY(game_date, id))");
    exec("CREATE TABLE last_processed(game_date TEXT, id TEXT, stats TEXT, PRIMARY KEY(game_date, id))");
    exec("BEGIN");
    const std::string date = kDate.to_string();
    for (const char* table : {"current_raw", "last_processed"}) {
      sqlite3_stmt* ins = nullptr;
      const std::string sql = fmt::format("INSERT INTO {} VALUES (?, ?, ?)", table);
      sqlite3_prepare_v2(db, sql.c_str(), -1, &ins, nullptr);
      const bool current = std::string_view(table) == "current_raw";
      for (std::size_t i = 0; i < n; ++i) {
        const std::string& stats = current ? std::get<std::string>(d.current[i].fields[0].value) : d.last_stats[i];
        sqlite3_bind_text(ins, 1, date.data(), static_cast<int>(date.size()), SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, d.ids[i].data(), static_cast<int>(d.ids[i].size()), SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, stats.data(), static_cast<int>(stats.size()), SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
      }
      sqlite3_finalize(ins);
    }
    exec("COMMIT");
    exec("ANALYZE");
    sqlite3_close(db);
  }
  auto runner = pipeline::SqliteChangeQueryRunner::open(path);
  if (!runner) {
    state.SkipWithError(runner.error().to_string().c_str());
    return;
  }
  auto detector = pipeline::QueryChangeDetector::create(
      **runner, {"players",
                 "SELECT r.id, CASE WHEN p.id IS NULL THEN 'added' ELSE 'changed' END FROM current_raw r "
                 "LEFT JOIN last_processed p ON p.game_date = r.game_date AND p.id = r.id "
                 "WHERE r.game_date = :date AND (p.id IS NULL OR r.stats IS NOT p.stats)",
                 {}});
  if (!detector) {
    state.SkipWithError(detector.error().to_string().c_str());
    return;
  }
  std::size_t changed = 0;
  std::string error;
  for (auto _ : state) {
    auto cs = detector->query(kDate);
    if (!cs) {
      error = cs.error().to_string();
      state.SkipWithError(error.c_str());
      break;
    }
    changed = cs->changed.size();
    benchmark::DoNotOptimize(cs);
  }
  if (!error.empty()) return;
  if (changed != d.changed) state.SkipWithError("wrong number of changed entities");
  state.counters["changed"] = static_cast<double>(changed);
  state.counters["threads"] = 1;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
#endif

void load_bench(benchmark::State& state, pipeline::StateStore& store) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto detector = pipeline::ChangeDetector::create(store, config());
  std::size_t size = 0;
  for (auto _ : state) {
    auto table = detector->load(kDate);
    if (!table) {
      state.SkipWithError(table.error().to_string().c_str());
      return;
    }
    size = table->size();
    benchmark::DoNotOptimize(table);
  }
  if (size != n) state.SkipWithError("wrong table size");
  state.counters["threads"] = 1;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

void BM_ChangeDetector_LoadFingerprints_Memory(benchmark::State& state) {
  load_bench(state, memory_store(static_cast<std::size_t>(state.range(0))));
}

#if __has_include("pipeline/sqlite/sqlite_state_store.hpp")
void BM_ChangeDetector_LoadFingerprints_Sqlite(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  bench_support::BenchDir dir;
  auto store = pipeline::SqliteStateStore::open(dir.file("fingerprints.db"));
  if (!store) {
    state.SkipWithError(store.error().to_string().c_str());
    return;
  }
  seed_store(**store, n);
  load_bench(state, **store);
  store->reset();
}
#endif

BENCHMARK(BM_ChangeDetector_Memory)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChangeDetector_MemoryTwoThreads)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ChangeDetector_MemoryDiffOnly)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ChangeDetector_SqliteLeftJoin)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
#if __has_include("pipeline/sqlite/sqlite_change_query_runner.hpp")
BENCHMARK(BM_ChangeDetector_SqliteLeftJoinQueryDetector)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(BM_ChangeDetector_LoadFingerprints_Memory)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
#if __has_include("pipeline/sqlite/sqlite_state_store.hpp")
BENCHMARK(BM_ChangeDetector_LoadFingerprints_Sqlite)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
#endif

}  // namespace change_bench

BENCHMARK_MAIN();
