// The examples of include/pipeline/change/ (`@snippet change_snippets_test.cpp <tag>`).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "pipeline/change/change_detector.hpp"
#include "pipeline/change/fingerprint.hpp"
#include "pipeline/change/fingerprint_change_detector.hpp"
#include "pipeline/change/fingerprint_table.hpp"
#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/change/selective_filter.hpp"
#include "pipeline/memory/memory_state_store.hpp"

namespace pipeline::change_snippets_test {
namespace {

using Snapshot = std::vector<pipeline::EntitySnapshot>;

pipeline::EntitySnapshot player(std::string id, std::string injury_status) {
  return {std::move(id), {{"injury_status", std::move(injury_status)}, {"minutes", std::int64_t{34}}}};
}

struct ChangeSnippets : ::testing::Test {
  pipeline::MemoryStateStore store = pipeline::MemoryStateStore::create().value();
  pipeline::CalendarDate date = *pipeline::CalendarDate::parse("2025-11-18");
  std::vector<std::string> processed;
  bool processed_all = false;
  void process_all() { processed_all = true; }
  void process(std::vector<std::string> ids) { processed = std::move(ids); }

  // Commits an earlier snapshot of the date, so the next detection has something to compare with.
  void commit_first_run(const Snapshot& players) {
    auto detector = pipeline::FingerprintChangeDetector::create(store, pipeline::player_change_detector());
    ASSERT_TRUE(detector);
    const pipeline::ChangeSet cs = detector->detect(date, players);
    ASSERT_TRUE(store.transact([&](pipeline::Transaction& tx) { return detector->commit(tx, cs); }));
  }
};

TEST_F(ChangeSnippets, ChangeDetector) {
  commit_first_run({player("lebron-james", "available"), player("curry", "available")});
  const Snapshot players{player("lebron-james", "out"), player("curry", "available")};
  //! [change_detector]
  auto detector = pipeline::FingerprintChangeDetector::create(store, pipeline::player_change_detector());
  const pipeline::ChangeDetector& d = *detector;
  pipeline::ChangeSet cs = d.detect(date, players);
  if (cs.full_fallback) process_all(); else process(cs.ids_to_process());
  auto st = store.transact([&](pipeline::Transaction& tx) { return d.commit(tx, cs); });
  //! [change_detector]
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_FALSE(processed_all);
  EXPECT_EQ(processed, std::vector<std::string>{"lebron-james"});
}

TEST_F(ChangeSnippets, FingerprintChangeDetector) {
  commit_first_run({player("lebron-james", "available")});
  const Snapshot players{player("lebron-james", "available"), player("curry", "available")};
  std::vector<std::string> successes;
  auto record_success = [&](pipeline::Transaction& tx) { return tx.put("runs/player_summary/2025-11-18", "ok"); };
  //! [fingerprint_change_detector]
  auto detector = pipeline::FingerprintChangeDetector::create(store, pipeline::player_change_detector());
  pipeline::ChangeSet cs = detector->detect(date, players);
  if (cs.full_fallback) process_all(); else process(cs.ids_to_process());
  auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    PIPELINE_TRY(record_success(tx));
    return detector->commit(tx, cs);
  });
  //! [fingerprint_change_detector]
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(processed, std::vector<std::string>{"curry"});
  EXPECT_TRUE(detector->detect(date, players).nothing_changed());   // committed: nothing new
}

TEST(ChangeSnippetsPlain, Fingerprint) {
  //! [fingerprint]
  pipeline::Fingerprinter fp({"injury_status", "minutes"});
  pipeline::EntitySnapshot p{"lebron-james", {{"minutes", std::int64_t{34}}, {"injury_status", std::string("out")}}};
  std::string scratch;
  auto h = fp.fingerprint(p, scratch);   // same value on every machine, for any field order
  //! [fingerprint]
  ASSERT_TRUE(h);
  pipeline::EntitySnapshot reordered{"lebron-james", {p.fields[1], p.fields[0]}};
  EXPECT_EQ(fp.fingerprint(reordered).value(), *h);
  reordered.fields[0].value = std::string("available");
  EXPECT_NE(fp.fingerprint(reordered).value(), *h);
}

TEST(ChangeSnippetsPlain, FingerprintTable) {
  //! [fingerprint_table]
  pipeline::FingerprintTable t;
  t.insert("lebron-james", 0x1234);
  std::vector<std::string_view> ids{"lebron-james", "curry"};
  std::vector<std::uint64_t> fps{0x9999, 0x5555};
  auto d = t.diff(ids, fps);   // d.changed = {0}, d.added = {1}
  //! [fingerprint_table]
  EXPECT_EQ(d.changed, std::vector<std::uint32_t>{0});
  EXPECT_EQ(d.added, std::vector<std::uint32_t>{1});
  EXPECT_TRUE(d.removed.empty());
}

// A warehouse that answers every diff statement with the same rows.
struct Warehouse {
  std::vector<pipeline::ChangeQueryRow> rows;
  std::vector<std::string> bound;
  pipeline::Result<std::vector<pipeline::ChangeQueryRow>> select_ids(std::string_view,
                                                                     std::span<const pipeline::QueryParam> params) {
    for (const auto& p : params) bound.push_back(p.name);
    return rows;
  }
};
Warehouse my_warehouse{{{"lebron-james", "changed"}, {"curry", "added"}}, {}};

//! [change_query_runner]
class MyRunner final : public pipeline::ChangeQueryRunner {
  pipeline::Result<std::vector<pipeline::ChangeQueryRow>> changed_entities(
      std::string_view sql, std::span<const pipeline::QueryParam> params) override {
    return my_warehouse.select_ids(sql, params);   // binds params by name
  }
};
//! [change_query_runner]

TEST(ChangeSnippetsPlain, ChangeQueryRunner) {
  MyRunner runner;
  auto detector = pipeline::QueryChangeDetector::create(runner, {"players", "SELECT id, change FROM diff WHERE d = :date", {}});
  ASSERT_TRUE(detector) << detector.error().to_string();
  const pipeline::ChangeSet cs = detector->detect(*pipeline::CalendarDate::parse("2025-11-18"), {});
  EXPECT_EQ(cs.added, std::vector<std::string>{"curry"});
  EXPECT_EQ(cs.changed, std::vector<std::string>{"lebron-james"});
  EXPECT_EQ(my_warehouse.bound, std::vector<std::string>{"date"});
}

TEST(ChangeSnippetsPlain, SqlEntityFilter) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE boxscores(game_date TEXT, player_id TEXT);"
                         "INSERT INTO boxscores VALUES ('2025-11-18', 'curry'), ('2025-11-18', 'lebron-james'),"
                         " ('2025-11-17', 'curry');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  pipeline::ChangeSet changes;
  changes.changed = {"curry"};
  //! [sql_entity_filter]
  auto f = pipeline::sql_entity_filter(changes, "player_id");
  std::string sql = "SELECT player_id FROM boxscores WHERE game_date = ? AND " + f->predicate;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, "2025-11-18", -1, SQLITE_STATIC);
  for (std::size_t i = 0; i < f->parameters.size(); ++i)   // bound values, never pasted ids
    sqlite3_bind_text(stmt, static_cast<int>(i) + 2, f->parameters[i].c_str(), -1, SQLITE_TRANSIENT);
  //! [sql_entity_filter]
  ASSERT_TRUE(f) << f.error().to_string();
  ASSERT_NE(stmt, nullptr) << sqlite3_errmsg(db);
  std::vector<std::string> read;
  while (sqlite3_step(stmt) == SQLITE_ROW) read.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  EXPECT_EQ(read, std::vector<std::string>{"curry"});
}

TEST(ChangeSnippetsPlain, EntityFilter) {
  struct Row {
    std::string player_id;
  };
  const std::vector<Row> rows{{"curry"}, {"lebron-james"}};
  std::vector<std::string> processed;
  auto process = [&](const Row& row) { processed.push_back(row.player_id); };
  pipeline::ChangeSet changes;
  changes.added = {"lebron-james"};
  //! [entity_filter]
  auto keep = pipeline::EntityFilter::from(changes);
  for (const auto& row : rows) if (keep(row.player_id)) process(row);
  //! [entity_filter]
  EXPECT_EQ(processed, std::vector<std::string>{"lebron-james"});
}

}  // namespace
}  // namespace pipeline::change_snippets_test
