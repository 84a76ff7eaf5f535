#include "pipeline/change/selective_filter.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace selective_filter_test {

using pipeline::ChangeSet;
using pipeline::EntityFilter;
using pipeline::SqlEntityFilterOptions;

ChangeSet changes(std::vector<std::string> added, std::vector<std::string> changed, std::vector<std::string> removed = {}) {
  ChangeSet cs;
  cs.entity_kind = "players";
  cs.added = std::move(added);
  cs.changed = std::move(changed);
  cs.removed = std::move(removed);
  return cs;
}

/// A real SQLite table t(player_id TEXT, points INT).
class Db {
 public:
  Db() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    exec("CREATE TABLE t(player_id TEXT PRIMARY KEY, points INTEGER)");
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const char* sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  }
  void insert(const std::string& id, int points) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "INSERT INTO t VALUES (?, ?)", -1, &st, nullptr), SQLITE_OK);
    sqlite3_bind_text(st, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, points);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  /// Runs "SELECT player_id FROM t WHERE <predicate> ORDER BY player_id" with the filter's bindings.
  std::vector<std::string> select(const pipeline::SqlFilter& f) {
    const std::string sql = "SELECT player_id FROM t WHERE " + f.predicate + " ORDER BY player_id";
    sqlite3_stmt* st = nullptr;
    std::vector<std::string> out;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    if (!st) return out;
    EXPECT_EQ(sqlite3_bind_parameter_count(st), static_cast<int>(f.parameters.size()));
    for (std::size_t i = 0; i < f.parameters.size(); ++i)
      sqlite3_bind_text(st, static_cast<int>(i + 1), f.parameters[i].data(), static_cast<int>(f.parameters[i].size()),
                        SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    return out;
  }
  bool table_exists() {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 't'", -1, &st,
                                 nullptr),
              SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    const bool exists = sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return exists;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SelectiveFilter, SmallSetBecomesBoundPlaceholders) {
  auto f = pipeline::sql_entity_filter(changes({"curry"}, {"durant", "lebron-james"}), "player_id");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->predicate, "player_id IN (?, ?, ?)");
  EXPECT_EQ(f->parameters, (std::vector<std::string>{"curry", "durant", "lebron-james"}));
  EXPECT_FALSE(f->matches_everything);
}

TEST(SelectiveFilter, LargeSetBindsOneJsonArray) {
  auto f = pipeline::sql_entity_filter(changes({"a\"b", "c"}, {}), "t.player_id", SqlEntityFilterOptions{.max_inline_ids = 1});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->predicate, "t.player_id IN (SELECT value FROM json_each(?))");
  EXPECT_EQ(f->parameters, std::vector<std::string>{R"(["a\"b","c"])"});
}

TEST(SelectiveFilter, FallbackMatchesEverythingAndNoChangeMatchesNothing) {
  ChangeSet full = changes({}, {});
  full.full_fallback = true;
  Db db;
  db.insert("a", 1);
  auto all = pipeline::sql_entity_filter(full, "player_id");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->matches_everything);
  EXPECT_EQ(db.select(*all), std::vector<std::string>{"a"});
  auto none = pipeline::sql_entity_filter(changes({}, {}), "player_id");
  ASSERT_TRUE(none);
  EXPECT_TRUE(db.select(*none).empty());
}

TEST(SelectiveFilter, RemovedIdsOnlyWhenAsked) {
  auto cs = changes({"b"}, {}, {"gone"});
  EXPECT_EQ(pipeline::sql_entity_filter(cs, "id")->parameters, std::vector<std::string>{"b"});
  EXPECT_EQ(pipeline::sql_entity_filter(cs, "id", {.include_removed = true})->parameters,
            (std::vector<std::string>{"b", "gone"}));
}

TEST(SelectiveFilter, RejectsColumnThatIsNotAnIdentifier) {
  for (const char* bad : {"", "player_id; DROP TABLE t", "1col", "a..b", "a.", "p id", "x'"})
    EXPECT_FALSE(pipeline::sql_entity_filter(changes({"a"}, {}), bad)) << bad;
}

TEST(SelectiveFilter, RejectsInvalidIds) {
  EXPECT_FALSE(pipeline::sql_entity_filter(changes({std::string("a\0b", 3)}, {}), "id"));
  EXPECT_FALSE(pipeline::sql_entity_filter(changes({std::string(pipeline::kMaxEntityIdBytes + 1, 'x')}, {}), "id"));
  EXPECT_FALSE(pipeline::sql_entity_filter(changes({""}, {}), "id"));
}

TEST(SelectiveFilter, InjectionAttemptStaysDataInSqlite) {
  // Quotes, parentheses and semicolons are allowed in ids (printable ASCII without
  // spaces or '/'): they must stay data, bound as parameters.
  const std::string evil = "x');DROP(TABLE(t));--";
  for (std::size_t max_inline : {std::size_t{64}, std::size_t{0}}) {
    Db db;
    db.insert(evil, 1);
    db.insert("x", 2);
    db.insert("lebron-james", 3);
    auto f = pipeline::sql_entity_filter(changes({}, {evil}), "player_id", {.max_inline_ids = max_inline});
    ASSERT_TRUE(f);
    EXPECT_EQ(f->predicate.find(evil), std::string::npos);
    EXPECT_EQ(db.select(*f), std::vector<std::string>{evil}) << f->predicate;
    EXPECT_TRUE(db.table_exists());
  }
  // An id with a space is refused before any SQL is built.
  auto refused = pipeline::sql_entity_filter(changes({}, {"x'); DROP TABLE t; --"}), "player_id");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, pipeline::ErrorCode::kInvalidArgument);
}

TEST(SelectiveFilter, JsonFormMatchesExactlyTheSelectedRows) {
  Db db;
  std::vector<std::string> chosen;
  for (int i = 0; i < 300; ++i) {
    db.insert(fmt::format("p{:03}", i), i);
    if (i % 7 == 0) chosen.push_back(fmt::format("p{:03}", i));
  }
  auto f = pipeline::sql_entity_filter(changes({}, chosen), "player_id", {.max_inline_ids = 8});
  ASSERT_TRUE(f);
  ASSERT_EQ(f->parameters.size(), 1u);
  EXPECT_EQ(db.select(*f), chosen);
}

TEST(EntityFilterTest, MatchesSelectedIdsOrEverythingOnFallback) {
  auto keep = EntityFilter::from(changes({"b"}, {"a"}, {"z"}));
  EXPECT_TRUE(keep("a"));
  EXPECT_TRUE(keep("b"));
  EXPECT_FALSE(keep("z"));
  EXPECT_FALSE(keep("c"));
  EXPECT_TRUE(EntityFilter::from(changes({}, {}, {"z"}), true)("z"));
  ChangeSet full = changes({}, {});
  full.full_fallback = true;
  auto all = EntityFilter::from(full);
  EXPECT_TRUE(all.matches_everything());
  EXPECT_TRUE(all("anything"));
}

}  // namespace selective_filter_test
