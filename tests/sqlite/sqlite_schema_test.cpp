// The SQLite store's table layout: versioned in PRAGMA user_version, an older file
// migrated in place when opened, a newer one refused.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace sqlite_schema_test {

using namespace pipeline;
using pipeline::testing::TempDir;

/// A raw connection to write a file as older code did, or to read what the store wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) ADD_FAILURE() << message;
    sqlite3_free(message);
  }
  std::int64_t integer(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    const std::int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// The tables exactly as the store created them before the layout had a version (layout 1).
void write_layout1_file(const std::string& path) {
  RawDb db(path);
  db.exec(
      "CREATE TABLE rows(key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE outbox(  sequence INTEGER PRIMARY KEY,  id TEXT NOT NULL UNIQUE,  topic TEXT NOT NULL,"
      "  payload BLOB NOT NULL,  attributes TEXT NOT NULL,  lease_owner TEXT,"
      "  lease_until INTEGER NOT NULL DEFAULT 0,  claims INTEGER NOT NULL DEFAULT 0,"
      "  sent INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX outbox_unsent ON outbox(sequence) WHERE sent = 0;"
      "INSERT INTO rows VALUES('runs/p1', 'ok');"
      "INSERT INTO outbox(id, topic, payload, attributes, sent) VALUES('sent-1', 't', 'a', '{}', 1);"
      "INSERT INTO outbox(id, topic, payload, attributes) VALUES('pending-1', 't', 'b', '{\"k\":\"v\"}');");
}

const TimePoint kNow = TimePoint(std::chrono::seconds(1735689600));

TEST(SqliteSchema, ANewFileHasTheCurrentLayout) {
  TempDir dir;
  ASSERT_TRUE(SqliteStateStore::open(dir.file("state.db")));
  RawDb db(dir.file("state.db"));
  EXPECT_EQ(db.integer("PRAGMA user_version"), 2);
  EXPECT_EQ(db.integer("SELECT count(*) FROM pragma_table_info('outbox') WHERE name = 'message_id'"), 1);
}

TEST(SqliteSchema, ALayout1FileIsMigratedAndKeepsItsRowsAndOutbox) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  write_layout1_file(path);
  {
    auto store = SqliteStateStore::open(path);
    ASSERT_TRUE(store) << store.error().to_string();
    EXPECT_EQ((*store)->get("runs/p1").value(), std::optional<std::string>("ok"));
    EXPECT_EQ((*store)->pending_outbox().value(), 1u);
    auto claimed = (*store)->claim_outbox({"relay", 10, kNow, std::chrono::seconds(30)});
    ASSERT_TRUE(claimed) << claimed.error().to_string();
    ASSERT_EQ(claimed->size(), 1u);
    EXPECT_EQ(claimed->front().entry.message.id, "pending-1");
    EXPECT_EQ(claimed->front().entry.outbox_key(), "pending-1");
    EXPECT_EQ(claimed->front().entry.message.attributes, (Attributes{{"k", "v"}}));

    // The migrated file takes a replay of an id it already sent, under a key of its own.
    std::vector<bool> added;
    ASSERT_TRUE((*store)->transact([&](Transaction& tx) -> Status {
      added.push_back(tx.enqueue({"t", {"sent-1", "a", {}}}).value());
      added.push_back(tx.enqueue({"t", {"sent-1", "a", {}}, "sent-1~replay1"}).value());
      return ok();
    }));
    EXPECT_EQ(added, (std::vector<bool>{false, true}));
  }
  // Reopened: already at the current layout, nothing migrates twice; the replay reads back.
  auto store = SqliteStateStore::open(path);
  ASSERT_TRUE(store) << store.error().to_string();
  auto claimed = (*store)->claim_outbox({"relay", 10, kNow + std::chrono::minutes(1), std::chrono::seconds(30)});
  ASSERT_TRUE(claimed);
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].entry.outbox_key(), "pending-1");
  EXPECT_EQ((*claimed)[1].entry.message.id, "sent-1");
  EXPECT_EQ((*claimed)[1].entry.outbox_key(), "sent-1~replay1");
  ASSERT_TRUE((*store)->complete_outbox({"pending-1", "sent-1~replay1"}));
  EXPECT_EQ((*store)->pending_outbox().value(), 0u);
  store->reset();
  RawDb db(path);
  EXPECT_EQ(db.integer("PRAGMA user_version"), 2);
}

TEST(SqliteSchema, AFileOfANewerLayoutIsRefusedUntouched) {
  TempDir dir;
  const std::string path = dir.file("state.db");
  ASSERT_TRUE(SqliteStateStore::open(path));
  {
    RawDb db(path);
    db.exec("PRAGMA user_version = 99");
  }
  auto store = SqliteStateStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("layout 99"), std::string::npos) << store.error().message;
  RawDb db(path);
  EXPECT_EQ(db.integer("PRAGMA user_version"), 99);
}

}  // namespace sqlite_schema_test
