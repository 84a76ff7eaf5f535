// The examples of include/pipeline/sqlite/ and of QueryChangeDetector over SQLite
// (`@snippet sqlite_snippets_test.cpp <tag>`).

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "pipeline/change/query_change_detector.hpp"
#include "pipeline/sqlite/sqlite_change_query_runner.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace pipeline::sqlite_snippets_test {
namespace {

// Today's staged injury report against the last processed one: LeBron's status changed,
// Curry is new, Tatum is unchanged.
void write_warehouse(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql =
      "CREATE TABLE staged_injury_report(game_date TEXT, player_lookup TEXT, status TEXT);"
      "CREATE TABLE injury_report(game_date TEXT, player_lookup TEXT, status TEXT);"
      "INSERT INTO staged_injury_report VALUES ('2025-11-18', 'lebron-james', 'out'),"
      " ('2025-11-18', 'curry', 'available'), ('2025-11-18', 'tatum', 'available');"
      "INSERT INTO injury_report VALUES ('2025-11-18', 'lebron-james', 'questionable'),"
      " ('2025-11-18', 'tatum', 'available');";
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteSnippets, QueryChangeDetector) {
  testing::TempDir dir;
  const std::string warehouse_db = dir.file("warehouse.db");
  write_warehouse(warehouse_db);
  const auto date = *pipeline::CalendarDate::parse("2025-11-18");
  std::vector<std::string> processed;
  bool processed_all = false;
  auto process_all = [&] { processed_all = true; };
  auto process = [&](std::vector<std::string> ids) { processed = std::move(ids); };
  //! [query_change_detector_sqlite]
  auto runner = pipeline::SqliteChangeQueryRunner::open(warehouse_db);
  ASSERT_TRUE(runner) << runner.error().to_string();
  auto detector = pipeline::QueryChangeDetector::create(**runner, {
      "players",
      "SELECT s.player_lookup, CASE WHEN p.player_lookup IS NULL THEN 'added' ELSE 'changed' END"
      " FROM staged_injury_report s LEFT JOIN injury_report p"
      "   ON p.game_date = s.game_date AND p.player_lookup = s.player_lookup"
      " WHERE s.game_date = :date AND (p.player_lookup IS NULL OR s.status IS NOT p.status)",
      {}});
  pipeline::ChangeSet cs = detector->detect(date, {});
  if (cs.full_fallback) process_all(); else process(cs.ids_to_process());
  //! [query_change_detector_sqlite]
  EXPECT_FALSE(processed_all) << cs.fallback_reason;
  EXPECT_EQ(cs.added, std::vector<std::string>{"curry"});
  EXPECT_EQ(cs.changed, std::vector<std::string>{"lebron-james"});
  EXPECT_EQ(processed, (std::vector<std::string>{"curry", "lebron-james"}));
}

TEST(SqliteSnippets, SqliteStateStore) {
  testing::TempDir dir;
  const std::string state_db = dir.file("state.db");
  //! [sqlite_state_store]
  auto store = pipeline::SqliteStateStore::open(state_db, {.synchronous = pipeline::SqliteSynchronous::kFull});
  ASSERT_TRUE(store) << store.error().to_string();
  auto st = (*store)->transact([](pipeline::Transaction& tx) { return tx.put("runs/p1", "ok"); });
  //! [sqlite_state_store]
  ASSERT_TRUE(st) << st.error().to_string();
  store->reset();   // closed; a new process reads what was committed
  auto reopened = pipeline::SqliteStateStore::open(state_db);
  ASSERT_TRUE(reopened);
  auto value = (*reopened)->get("runs/p1");
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, std::optional<std::string>("ok"));
}

}  // namespace
}  // namespace pipeline::sqlite_snippets_test
