#include "pipeline/orchestrate/idempotent_consumer.hpp"

#include <gtest/gtest.h>

#include "orchestrate/outbox_test_support.hpp"
#include "pipeline/mocks/failing_state_store.hpp"
#include "store_under_test.hpp"

namespace idempotent_consumer_test {

using pipeline::IdempotentConsumer;
using pipeline::Status;
using pipeline::Transaction;
using pipeline::outbox_test::RecordedDelivery;

class IdempotentConsumerTest : public pipeline::testing::StoreSuite {};

TEST_P(IdempotentConsumerTest, RedeliveryIsAckedWithoutRunningBodyAgain) {
  int runs = 0;
  auto consumer = pipeline::IdempotentConsumer::create(store, [&](Transaction& tx, const pipeline::Delivery& d) -> Status {
    ++runs;
    return tx.put("effects/" + d.id(), d.payload());
  }, {"c1"}).value();
  auto first = std::make_shared<RecordedDelivery>("id-1", "hello");
  auto again = std::make_shared<RecordedDelivery>("id-1", "hello");
  consumer.handler()(first);
  consumer.handler()(again);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(first->acks(), 1);
  EXPECT_EQ(again->acks(), 1);
  EXPECT_EQ(store.get("effects/id-1").value(), std::optional<std::string>("hello"));
  EXPECT_TRUE(consumer.processed("id-1").value());
  EXPECT_FALSE(consumer.processed("id-2").value());
}

TEST_P(IdempotentConsumerTest, BodyErrorNacksWithTextAndCommitsNothing) {
  bool fail_body = true;
  auto consumer = pipeline::IdempotentConsumer::create(store, [&](Transaction& tx, const pipeline::Delivery&) -> Status {
    PIPELINE_TRY(tx.put("effects/x", "partial"));
    if (fail_body) return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "upstream not ready");
    return pipeline::ok();
  }, {"c1"}).value();
  auto d = std::make_shared<RecordedDelivery>("id-1", "p");
  consumer.handle(d);
  EXPECT_EQ(d->nacks(), 1);
  EXPECT_EQ(d->acks(), 0);
  EXPECT_NE(d->last_nack().find("upstream not ready"), std::string::npos);
  EXPECT_FALSE(store.get("effects/x").value().has_value());
  EXPECT_FALSE(consumer.processed("id-1").value());
  // The redelivery runs the body again, now successfully.
  fail_body = false;
  auto retry = std::make_shared<RecordedDelivery>("id-1", "p");
  EXPECT_EQ(consumer.process(*retry).value(), IdempotentConsumer::Outcome::kProcessed);
  EXPECT_EQ(consumer.process(*retry).value(), IdempotentConsumer::Outcome::kDuplicate);
}

TEST_P(IdempotentConsumerTest, ProcessAllCommitsARoundTogetherAndSkipsProcessedIds) {
  int runs = 0;
  bool fail_c = false;
  auto consumer = pipeline::IdempotentConsumer::create(store, [&](Transaction& tx, const pipeline::Delivery& d) -> Status {
    ++runs;
    if (fail_c && d.id() == "id-c") return pipeline::fail(pipeline::ErrorCode::kFailedPrecondition, "c is not ready");
    return tx.put("effects/" + d.id(), d.payload());
  }, {"c1"}).value();
  RecordedDelivery a("id-a", "1"), b("id-b", "2"), c("id-c", "3");
  ASSERT_TRUE(consumer.process(a));
  auto round = consumer.process_all({&a, &b, &a});
  ASSERT_TRUE(round) << round.error().to_string();
  using Outcome = IdempotentConsumer::Outcome;
  EXPECT_EQ(*round, (std::vector<Outcome>{Outcome::kDuplicate, Outcome::kProcessed, Outcome::kDuplicate}));
  EXPECT_EQ(runs, 2);
  // A failing body fails the whole round: nothing of it commits.
  fail_c = true;
  RecordedDelivery d("id-d", "4");
  auto failed = consumer.process_all({&d, &c});
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().to_string().find("c is not ready"), std::string::npos);
  EXPECT_FALSE(consumer.processed("id-d").value());
  EXPECT_FALSE(store.get("effects/id-d").value().has_value());
}

TEST_P(IdempotentConsumerTest, StoreFailureNacks) {
  pipeline::StateStore& real = this->store;
  pipeline::mocks::FailingStateStore store(real);
  int runs = 0;
  auto consumer = pipeline::IdempotentConsumer::create(store, [&](Transaction&, const pipeline::Delivery&) -> Status {
    ++runs;
    return pipeline::ok();
  }, {"c1"}).value();
  store.fail_transact(pipeline::ErrorCode::kUnavailable, 1);
  auto d = std::make_shared<RecordedDelivery>("id-1", "p");
  consumer.handle(d);
  EXPECT_EQ(d->nacks(), 1);
  EXPECT_NE(d->last_nack().find("injected failure"), std::string::npos);
  EXPECT_EQ(runs, 0);
  consumer.handle(d);
  EXPECT_EQ(d->acks(), 1);
  EXPECT_EQ(runs, 1);
}

TEST_P(IdempotentConsumerTest, ConsumersWithDifferentNamesEachProcessOnce) {
  int a = 0, b = 0;
  auto ca = IdempotentConsumer::create(
                store, [&](Transaction&, const pipeline::Delivery&) { ++a; return pipeline::ok(); }, {"a"})
                .value();
  auto cb = IdempotentConsumer::create(
                store, [&](Transaction&, const pipeline::Delivery&) { ++b; return pipeline::ok(); }, {"b"})
                .value();
  RecordedDelivery d("id-1", "p");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ca.process(d));
    ASSERT_TRUE(cb.process(d));
  }
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
}

TEST_P(IdempotentConsumerTest, ConcurrentDuplicatesRunBodyOnce) {
  std::atomic<int> runs{0};
  auto consumer = pipeline::IdempotentConsumer::create(store, [&](Transaction&, const pipeline::Delivery&) {
    ++runs;
    return pipeline::ok();
  }, {"c"}).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        RecordedDelivery d("id-" + std::to_string(i), "p");
        ASSERT_TRUE(consumer.process(d));
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(runs.load(), 25);
}

TEST_P(IdempotentConsumerTest, CreateRefusesAnEmptyNameAndAMissingBody) {
  auto unnamed = IdempotentConsumer::create(store, [](Transaction&, const pipeline::Delivery&) { return pipeline::ok(); }, {});
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_EQ(unnamed.error().message, "IdempotentConsumerOptions::name must not be empty");
  EXPECT_FALSE(IdempotentConsumer::create(store, {}, {"c1"}));
}

PIPELINE_STORE_SUITE(IdempotentConsumerTest);

}  // namespace idempotent_consumer_test
