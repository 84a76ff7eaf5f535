// SqliteChangeQueryRunner on a real SQLite file: named parameters bound (never spliced),
// the statement checks, the row checks, and QueryChangeDetector on top of it.
#include "pipeline/sqlite/sqlite_change_query_runner.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace sqlite_change_query_runner_test {

using pipeline::CalendarDate;
using pipeline::ChangeQueryRow;
using pipeline::ErrorCode;
using pipeline::QueryChangeDetector;
using pipeline::QueryParam;
using pipeline::SqliteChangeQueryRunner;
using pipeline::testing::TempDir;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");

/// A database file written through its own connection (the warehouse's writer).
class Db {
 public:
  explicit Db(const std::string& path) : path_(path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    exec("PRAGMA journal_mode=WAL");
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
      ADD_FAILURE() << sql << ": " << (message ? message : "?");
    sqlite3_free(message);
  }
  long long count(const std::string& table) {
    sqlite3_stmt* s = nullptr;
    long long n = -1;
    if (sqlite3_prepare_v2(db_, ("SELECT count(*) FROM " + table).c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

/// A file with a small roster: players(game_date, id, team).
struct Fixture {
  TempDir dir;
  Db db{dir.file("warehouse.db")};
  std::unique_ptr<SqliteChangeQueryRunner> runner;

  Fixture() {
    db.exec("CREATE TABLE players(game_date TEXT, id TEXT, team TEXT, rating REAL, PRIMARY KEY(game_date, id))");
    db.exec("INSERT INTO players VALUES('2025-11-18','amy','LAL',1.5),('2025-11-18','bob','BOS',2.5),"
            "('2025-11-18','o''neil','LAL',3.5),('2025-11-17','amy','LAL',1.5)");
    auto r = SqliteChangeQueryRunner::open(db.path());
    if (!r) {
      ADD_FAILURE() << r.error().to_string();
      return;
    }
    runner = std::move(*r);
  }

  pipeline::Result<std::vector<ChangeQueryRow>> run(const std::string& sql, std::vector<QueryParam> params) {
    return runner->changed_entities(sql, params);
  }
};

std::vector<std::string> ids(const std::vector<ChangeQueryRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

TEST(SqliteChangeQueryRunner, BindsNamedParametersInAnySpelling) {
  Fixture f;
  auto rows = f.run("SELECT id FROM players WHERE game_date = :date AND team = @team AND rating > $min ORDER BY id",
                    {{"date", std::string("2025-11-18")}, {"team", std::string("LAL")}, {"min", std::int64_t{1}}});
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(ids(*rows), (std::vector<std::string>{"amy", "o'neil"}));
  EXPECT_FALSE((*rows)[0].change.has_value());

  // One name used twice is one parameter.
  rows = f.run("SELECT id, 'added' FROM players WHERE game_date = :date AND id IN (SELECT id FROM players WHERE "
               "game_date = :date AND team = 'BOS')",
               {{"date", std::string("2025-11-18")}});
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "bob");
  EXPECT_EQ((*rows)[0].change, std::optional<std::string>("added"));
}

TEST(SqliteChangeQueryRunner, AHostileValueStaysDataAndCannotAlterTheStatement) {
  Fixture f;
  const std::string sql = "SELECT id FROM players WHERE game_date = :date AND team = :team";
  for (const std::string& hostile :
       std::vector<std::string>{"LAL' OR '1'='1", "x'; DROP TABLE players; --", "LAL\" OR 1=1 --",
                                "') UNION SELECT name FROM sqlite_schema --"}) {
    auto rows = f.run(sql, {{"date", std::string("2025-11-18")}, {"team", hostile}});
    ASSERT_TRUE(rows) << rows.error().to_string();
    EXPECT_TRUE(rows->empty()) << hostile;  // no team is literally called that
  }
  // A hostile "date" is just as inert.
  auto rows = f.run(sql, {{"date", std::string("2025-11-18' OR '1'='1")}, {"team", std::string("LAL")}});
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(f.db.count("players"), 4);

  // Through the detector: a hostile configured value, and an id with a quote passing through intact.
  auto d = QueryChangeDetector::create(*f.runner, {"players", sql, {{"team", std::string("x'); DELETE FROM players; --")}}});
  ASSERT_TRUE(d) << d.error().to_string();
  auto cs = d->detect(kDate, {});
  EXPECT_FALSE(cs.full_fallback) << cs.fallback_reason;
  EXPECT_TRUE(cs.nothing_changed());
  auto lal = QueryChangeDetector::create(*f.runner, {"players", sql, {{"team", std::string("LAL")}}});
  ASSERT_TRUE(lal);
  EXPECT_EQ(lal->detect(kDate, {}).changed, (std::vector<std::string>{"amy", "o'neil"}));
  EXPECT_EQ(f.db.count("players"), 4);
}

TEST(SqliteChangeQueryRunner, AHostileIdInTheWarehouseIsRefusedNotRun) {
  Fixture f;
  f.db.exec("INSERT INTO players VALUES('2025-11-18','x''); DROP TABLE players; --','LAL',0)");
  auto d = QueryChangeDetector::create(*f.runner, {"players", "SELECT id FROM players WHERE game_date = :date", {}});
  ASSERT_TRUE(d);
  auto direct = d->query(kDate);
  ASSERT_FALSE(direct);
  EXPECT_EQ(direct.error().code, ErrorCode::kInvalidArgument);
  auto cs = d->detect(kDate, {});
  EXPECT_TRUE(cs.full_fallback);
  EXPECT_EQ(f.db.count("players"), 5);
}

TEST(SqliteChangeQueryRunner, RefusesStatementsThatBreakTheContract) {
  Fixture f;
  const std::vector<QueryParam> date{{"date", std::string("2025-11-18")}};
  struct Case {
    std::string sql;
    std::vector<QueryParam> params;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"SELECT id FROM players WHERE game_date = ?", date, "positional"},
      {"SELECT id FROM players WHERE game_date = ?1", date, "positional"},
      {"SELECT id FROM players WHERE game_date = :day", date, "':day', which is not given"},
      {"SELECT id FROM players", date, "'date' is not used"},
      {"SELECT id FROM players WHERE game_date = :date; DELETE FROM players", date, "more than one"},
      {"DELETE FROM players WHERE game_date = :date RETURNING id", date, "may write"},
      {"SELECT id, team, rating FROM players WHERE game_date = :date", date, "returns 3 columns"},
      {"-- nothing here", {}, "holds no SQL statement"},
      {"SELECT id FROM no_such_table WHERE game_date = :date", date, "no such table"},
      {"SELECT id FROM players WHERE game_date = :date", {{"date", std::string("a")}, {"date", std::string("b")}},
       "more than once"},
  };
  for (const auto& c : cases) {
    auto rows = f.run(c.sql, c.params);
    ASSERT_FALSE(rows) << c.sql;
    EXPECT_EQ(rows.error().code, ErrorCode::kInvalidArgument) << c.sql << ": " << rows.error().to_string();
    EXPECT_NE(rows.error().message.find(c.says), std::string::npos) << c.sql << ": " << rows.error().message;
  }
  EXPECT_EQ(f.db.count("players"), 4);
}

TEST(SqliteChangeQueryRunner, ChecksEachRowsColumnTypes) {
  Fixture f;
  const std::vector<QueryParam> date{{"date", std::string("2025-11-18")}};
  // An INTEGER id is its decimal text.
  auto rows = f.run("SELECT 42 + 0 * length(:date)", date);
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(ids(*rows), std::vector<std::string>{"42"});
  for (const char* sql : {"SELECT NULL WHERE :date IS NOT NULL", "SELECT rating FROM players WHERE game_date = :date",
                          "SELECT x'00ff' WHERE :date IS NOT NULL", "SELECT id, NULL FROM players WHERE game_date = :date",
                          "SELECT id, 7 FROM players WHERE game_date = :date"}) {
    auto bad = f.run(sql, date);
    ASSERT_FALSE(bad) << sql;
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument) << sql;
    EXPECT_NE(bad.error().message.find("row 1"), std::string::npos) << bad.error().message;
  }
}

TEST(SqliteChangeQueryRunner, SeesWhatTheWriterCommitsLater) {
  Fixture f;
  const std::string sql = "SELECT id FROM players WHERE game_date = :date AND team = 'NYK'";
  auto before = f.run(sql, {{"date", std::string("2025-11-18")}});
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->empty());
  f.db.exec("INSERT INTO players VALUES('2025-11-18','cal','NYK',0)");
  auto after = f.run(sql, {{"date", std::string("2025-11-18")}});
  ASSERT_TRUE(after);
  EXPECT_EQ(ids(*after), std::vector<std::string>{"cal"});
}

TEST(SqliteChangeQueryRunner, OpensOnlyAnExistingDatabaseFile) {
  TempDir dir;
  EXPECT_EQ(SqliteChangeQueryRunner::open(":memory:").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(SqliteChangeQueryRunner::open("").error().code, ErrorCode::kInvalidArgument);
  auto missing = SqliteChangeQueryRunner::open(dir.file("missing.db"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.db")));  // never created
  std::ofstream(dir.file("text.db")) << "this is not a database, just a long enough line of text to have a header";
  auto text = SqliteChangeQueryRunner::open(dir.file("text.db"));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kDataLoss) << text.error().to_string();
}

}  // namespace sqlite_change_query_runner_test
