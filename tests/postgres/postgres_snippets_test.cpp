// The example of include/pipeline/postgres/ (`@snippet postgres_snippets_test.cpp <tag>`),
// against the test run's server.

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "pipeline/postgres/postgres_state_store.hpp"
#include "postgres/postgres_server.hpp"

namespace pipeline::postgres_snippets_test {
namespace {

TEST(PostgresSnippets, PostgresStateStore) {
  const std::string server = testing::postgres_uri();
  ASSERT_FALSE(server.empty());
  const std::string prefix = testing::fresh_prefix();
  // "postgresql://pipeline@db:5432/state?table_prefix=nba_" in production.
  const std::string uri = server + (server.find('?') == std::string::npos ? "?" : "&") + "table_prefix=" + prefix;
  {
    //! [postgres_state_store]
    auto store = pipeline::PostgresStateStore::open(uri);
    ASSERT_TRUE(store) << store.error().to_string();
    auto st = (*store)->transact([](pipeline::Transaction& tx) { return tx.put("runs/p1", "ok"); });
    //! [postgres_state_store]
    ASSERT_TRUE(st) << st.error().to_string();
    auto value = (*store)->get("runs/p1");
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, std::optional<std::string>("ok"));
  }
  testing::PgAdmin(server).drop_tables(prefix);
}

}  // namespace
}  // namespace pipeline::postgres_snippets_test
