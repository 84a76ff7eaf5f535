#include "pipeline/postgres/postgres_state_store.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "contracts/state_store_contract.hpp"
#include "postgres/postgres_server.hpp"

namespace postgres_state_store_test {

using pipeline::ErrorCode;
using pipeline::PostgresStateStore;
using pipeline::PostgresStateStoreOptions;
using pipeline::Status;
using pipeline::Transaction;
using pipeline::contracts::StateStoreContract;
using pipeline::contracts::StateStoreFactory;
using pipeline::testing::fresh_prefix;
using pipeline::testing::PgAdmin;
using pipeline::testing::postgres_uri;

INSTANTIATE_TEST_SUITE_P(Postgres, StateStoreContract,
                         ::testing::Values(StateStoreFactory{"Postgres", [] {
                                                               return pipeline::testing::make_postgres_store();
                                                             }}),
                         pipeline::contracts::factory_name);

class PostgresStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = postgres_uri();
    ASSERT_FALSE(uri_.empty());
    prefix_ = fresh_prefix();
  }
  void TearDown() override {
    if (!uri_.empty()) PgAdmin(uri_).drop_tables(prefix_);
  }
  std::unique_ptr<PostgresStateStore> open(PostgresStateStoreOptions o = {}) {
    if (o.table_prefix.empty()) o.table_prefix = prefix_;
    auto s = PostgresStateStore::open(uri_, o);
    if (!s) {
      ADD_FAILURE() << s.error().to_string();
      return nullptr;
    }
    return std::move(*s);
  }
  std::string with_param(const std::string& param) const {
    return uri_ + (uri_.find('?') == std::string::npos ? "?" : "&") + param;
  }

  std::string uri_;
  std::string prefix_;
};

TEST_F(PostgresStateStoreTest, TablePrefixComesFromTheUri) {
  auto store = PostgresStateStore::open(with_param("table_prefix=" + prefix_));
  ASSERT_TRUE(store) << store.error().to_string();
  EXPECT_EQ((*store)->table_prefix(), prefix_);
  ASSERT_TRUE((*store)->transact([](Transaction& tx) { return tx.put("k", "v"); }));
  PgAdmin admin(uri_);
  EXPECT_EQ(admin.exec("SELECT count(*) FROM \"" + prefix_ + "rows\""), "1");
  EXPECT_EQ(admin.exec("SELECT version FROM \"" + prefix_ + "pipeline_schema\""),
            std::to_string(PostgresStateStore::kSchemaVersion));
  auto clash = PostgresStateStore::open(with_param("table_prefix=" + prefix_), {.table_prefix = "other_"});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PostgresStateStoreTest, BadTablePrefixIsRefused) {
  for (const std::string& bad : std::vector<std::string>{"Upper_", "x\"; DROP TABLE y; --", "9lives_", "has space",
                                                         std::string(33, 'a')}) {
    auto store = PostgresStateStore::open(uri_, {.table_prefix = bad});
    ASSERT_FALSE(store) << bad;
    EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(store.error().message.find("table prefix"), std::string::npos) << store.error().message;
  }
}

TEST_F(PostgresStateStoreTest, MalformedConnectionStringIsInvalidArgument) {
  for (const std::string bad : {"postgresql://u@h/db?no_such_parameter=1", "postgresql://[::1/db", "host"}) {
    auto store = PostgresStateStore::open(bad);
    ASSERT_FALSE(store) << bad;
    EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument) << bad << ": " << store.error().message;
  }
}

TEST_F(PostgresStateStoreTest, UnreachableServerIsUnavailable) {
  PostgresStateStoreOptions o;
  o.connect_timeout = std::chrono::seconds(2);
  auto store = PostgresStateStore::open("postgresql://postgres@127.0.0.1:1/postgres", o);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(store.error().message.find("cannot connect"), std::string::npos) << store.error().message;
}

TEST_F(PostgresStateStoreTest, PasswordNeverAppearsInErrors) {
  auto store = PostgresStateStore::open("postgresql://nobody:s3cr3t-pw@127.0.0.1:1/postgres");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().message.find("s3cr3t-pw"), std::string::npos) << store.error().message;
}

TEST_F(PostgresStateStoreTest, NewerSchemaIsRefusedWithClearError) {
  ASSERT_NE(open(), nullptr);
  PgAdmin(uri_).exec("UPDATE \"" + prefix_ + "pipeline_schema\" SET version = 99");
  auto again = PostgresStateStore::open(uri_, {.table_prefix = prefix_});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(again.error().message.find("schema version 99"), std::string::npos) << again.error().message;
}

TEST_F(PostgresStateStoreTest, ProcessesOpeningTogetherCreateTheSchemaOnce) {
  constexpr int kOpeners = 4;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kOpeners);
  for (int i = 0; i < kOpeners; ++i)
    threads.emplace_back([&, i] {
      auto s = PostgresStateStore::open(uri_, {.table_prefix = prefix_});
      if (!s) errors[static_cast<std::size_t>(i)] = s.error().to_string();
    });
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(PgAdmin(uri_).exec("SELECT count(*) FROM \"" + prefix_ + "pipeline_schema\""), "1");
}

TEST_F(PostgresStateStoreTest, LikeWildcardsInKeysArePlainBytes) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  for (const char* k : {"a%b", "a%", "a_c", "abc", "a\\x"})
    ASSERT_TRUE(store->transact([&](Transaction& tx) { return tx.put(k, k); }));
  auto rows = store->scan("a%").value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, "a%");
  EXPECT_EQ(rows[1].key, "a%b");
  EXPECT_EQ(store->scan("a_").value().size(), 1u);
  EXPECT_EQ(store->read([](Transaction& tx) { return tx.count("a\\"); }).value(), 1u);
}

TEST_F(PostgresStateStoreTest, ValuesWithEveryByteRoundTrip) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  ASSERT_TRUE(store->transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("bytes", all));
    return tx.put("empty", "");
  }));
  EXPECT_EQ(store->get("bytes").value(), std::optional<std::string>(all));
  EXPECT_EQ(store->get("empty").value(), std::optional<std::string>(""));
}

TEST_F(PostgresStateStoreTest, BrokenConnectionIsReplacedWithoutAnError) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->transact([](Transaction& tx) { return tx.put("k", "1"); }));
  PgAdmin admin(uri_);
  EXPECT_EQ(admin.exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
                       "'pipeline:" + prefix_ + "'"),
            "1");
  // The server closed the pooled connection: the next calls reconnect, nothing fails.
  EXPECT_EQ(store->get("k").value(), std::optional<std::string>("1"));
  EXPECT_EQ(store->pending_outbox().value(), 0u);
}

// The relay's claim and mark run as one pipelined transaction; a statement failing inside
// it (here a trigger of the test refusing the mark) returns the error, rolls back, and
// leaves the one pooled connection usable for the next call.
TEST_F(PostgresStateStoreTest, FailedRelayStatementRollsBackAndLeavesTheConnectionUsable) {
  PostgresStateStoreOptions o;
  o.pool_size = 1;
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->transact([](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.enqueue({"topic", {"refused", "{}", {}}}));
    return tx.enqueue({"topic", {"fine", "{}", {}}}).map([](bool) {});
  }));
  const auto now = std::chrono::system_clock::now();
  auto claimed = store->claim_outbox({"relay", 10, now, std::chrono::seconds(30)});
  ASSERT_TRUE(claimed) << claimed.error().to_string();
  ASSERT_EQ(claimed->size(), 2u);

  PgAdmin admin(uri_);
  const std::string fn = "\"" + prefix_ + "refuse\"";
  admin.exec("CREATE FUNCTION " + fn +
             "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
             " IF NEW.id = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$");
  admin.exec("CREATE TRIGGER " + fn + " BEFORE UPDATE ON \"" + prefix_ + "outbox\" FOR EACH ROW EXECUTE FUNCTION " +
             fn + "()");
  auto st = store->complete_outbox({"fine", "refused"});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("refused by the test"), std::string::npos) << st.error().to_string();
  EXPECT_EQ(store->pending_outbox().value(), 2u) << "the failed mark rolled back whole";

  admin.exec("DROP TRIGGER " + fn + " ON \"" + prefix_ + "outbox\"");
  admin.exec("DROP FUNCTION " + fn + "()");
  ASSERT_TRUE(store->complete_outbox({"fine", "refused"}));
  EXPECT_EQ(store->pending_outbox().value(), 0u);
  auto again = store->claim_outbox({"relay", 10, now + std::chrono::minutes(5), std::chrono::seconds(30)});
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(again->empty());
}

TEST_F(PostgresStateStoreTest, PoolLetsThreadsQueueForConnections) {
  PostgresStateStoreOptions o;
  o.pool_size = 1;
  auto store = open(o);
  ASSERT_NE(store, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i)
        if (!store->transact([&](Transaction& tx) { return tx.put("t" + std::to_string(t), std::to_string(i)); }))
          ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->scan("t").value().size(), 4u);
}

// A writer killed in the middle of its transaction leaves nothing: the server rolls back
// when the connection drops, and the key is writable at once.
TEST_F(PostgresStateStoreTest, WriterKilledMidTransactionLeavesNothing) {
  ASSERT_NE(open(), nullptr);  // the tables exist before the child forks
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    auto store = PostgresStateStore::open(uri_, {.table_prefix = prefix_});
    if (!store) ::_exit(3);
    (void)(*store)->transact([&](Transaction& tx) -> Status {
      PIPELINE_TRY(tx.put("half/a", "1"));
      PIPELINE_TRY(tx.enqueue({"topic", {"half-msg", "p", {}}}).map([](bool) {}));
      PIPELINE_TRY(tx.put("half/b", "2"));
      (void)!::write(ready[1], "x", 1);
      for (;;) ::pause();  // killed here, before COMMIT
    });
    ::_exit(4);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child never reached the middle of its transaction";
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  auto status = pipeline::testing::wait_child(child);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(pipeline::testing::killed_by_sigkill(*status)) << pipeline::testing::describe_status(*status);

  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->transact([](Transaction& tx) { return tx.put("half/a", "mine"); }));
  EXPECT_EQ(store->scan("half/").value().size(), 1u);
  EXPECT_EQ(store->get("half/a").value(), std::optional<std::string>("mine"));
  EXPECT_EQ(store->pending_outbox().value(), 0u);
}

}  // namespace postgres_state_store_test
