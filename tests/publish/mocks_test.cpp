#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/mocks/counting_state_store.hpp"
#include "pipeline/mocks/failing_transport.hpp"
#include "pipeline/mocks/manual_clock_helpers.hpp"
#include "pipeline/mocks/recording_transport.hpp"

namespace pipeline {
namespace mocks_test {

TEST(RecordingTransport, RecordsAndDeliversSynchronously) {
  mocks::RecordingTransport transport;
  std::string got;
  auto sub = transport.subscribe({"s", "t", {}}, [&](DeliveryPtr d) {
    got = d->id();
    (void)d->ack();
  });
  ASSERT_TRUE(sub.has_value());
  ASSERT_TRUE(transport.publish("t", {"id-1", "{}", {}}));
  ASSERT_TRUE(transport.publish("other", {"id-2", "{}", {}}));
  EXPECT_EQ(got, "id-1");
  EXPECT_EQ(transport.published_count(), 2u);
  ASSERT_EQ(transport.deliveries().size(), 1u);
  EXPECT_EQ(transport.deliveries()[0]->outcome(), "acked");
  EXPECT_EQ(transport.deliveries()[0]->ack().error().code, ErrorCode::kFailedPrecondition);
}

TEST(FailingTransport, FailsTheNextCallsThenPassesThrough) {
  mocks::RecordingTransport inner{false};
  mocks::FailingTransport transport{inner};
  transport.fail_next(2, ErrorCode::kBackpressure);
  EXPECT_EQ(transport.publish("t", {"a", "{}", {}}).error().code, ErrorCode::kBackpressure);
  EXPECT_EQ(transport.publish("t", {"b", "{}", {}}).error().code, ErrorCode::kBackpressure);
  EXPECT_TRUE(transport.publish("t", {"c", "{}", {}}).has_value());
  transport.set_down(true);
  EXPECT_EQ(transport.publish("t", {"d", "{}", {}}).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(transport.calls(), 4u);
  EXPECT_EQ(transport.failures(), 3u);
  EXPECT_EQ(inner.published_count(), 1u);
}

TEST(CountingStateStore, CountsTheWatchedWritesOfCommittedTransactionsOnly) {
  MemoryStateStore real = MemoryStateStore::create().value();
  std::vector<mocks::StoreOperation> ops;
  std::vector<std::string> completed;
  mocks::CountingStateStore store(
      real, {.watch = [](std::string_view k) { return k.starts_with("d/"); },
             .on_operation =
                 [&](const mocks::StoreCall& c) {
                   ops.push_back(c.operation);
                   if (c.ids) completed = *c.ids;
                 },
             .on_watched_write = [](Transaction& tx, const mocks::WatchedWrite& w) {
               return tx.put("witness/" + w.key, w.conditional ? "insert" : "put");
             }});
  // Committed: a conditional insert that wrote, and a put.
  ASSERT_TRUE(store.transact([](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.insert("d/1", "a"));
    return tx.put("other", "x");
  }));
  ASSERT_TRUE(store.transact([](Transaction& tx) -> Status {
    auto again = tx.insert("d/1", "b");  // present: no write
    if (!again || *again) return fail(ErrorCode::kInternal, "insert should have found d/1");
    return tx.put("d/2", "c");
  }));
  // Rolled back: not counted, and the witness went with it.
  EXPECT_FALSE(store.transact([](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.put("d/3", "d"));
    return fail(ErrorCode::kInternal, "roll back");
  }));
  // A conflict re-runs the body: only the committed attempt counts.
  int attempt = 0;
  ASSERT_TRUE(store.transact([&](Transaction& tx) -> Status {
    PIPELINE_TRY(tx.insert("d/4", "e"));
    return ++attempt == 1 ? fail(ErrorCode::kConflict, "again") : ok();
  }));
  EXPECT_EQ(store.committed_write_counts(), (std::map<std::string, int>{{"d/1", 1}, {"d/2", 1}, {"d/4", 1}}));
  const auto writes = store.committed_writes();
  ASSERT_EQ(writes.size(), 3u);
  EXPECT_TRUE(writes[0].conditional);
  EXPECT_FALSE(writes[1].conditional);
  EXPECT_EQ(writes[1].value, "c");
  EXPECT_EQ(real.get("witness/d/2").value(), "put");
  EXPECT_FALSE(real.get("witness/d/3").value().has_value());
  EXPECT_EQ(store.count(mocks::StoreOperation::kTransact), 4);
  EXPECT_EQ(store.count(mocks::StoreOperation::kAttempt), 5);
  EXPECT_EQ(store.count(mocks::StoreOperation::kCommit), 3);
  EXPECT_EQ(store.operations(), static_cast<long>(ops.size()));
  EXPECT_EQ(ops.front(), mocks::StoreOperation::kTransact);
  ASSERT_TRUE(store.complete_outbox({"id-1", "id-2"}));
  EXPECT_EQ(completed, (std::vector<std::string>{"id-1", "id-2"}));
}

TEST(ManualClockHelpers, RunAllTimersFollowsTimersScheduledByCallbacks) {
  ManualClock clock;
  const auto start = clock.now();
  int fired = 0;
  clock.schedule_after(std::chrono::minutes(5), [&] {
    ++fired;
    clock.schedule_after(std::chrono::hours(2), [&] { ++fired; });
  });
  EXPECT_EQ(mocks::run_all_timers(clock), 2u);
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(clock.now(), start + std::chrono::minutes(125));
}

TEST(ManualClockHelpers, AdvanceUntilStopsWhenThePredicateHolds) {
  ManualClock clock;
  const auto start = clock.now();
  EXPECT_TRUE(mocks::advance_until(clock, std::chrono::seconds(1), 100,
                                   [&] { return clock.now() >= start + std::chrono::seconds(7); }));
  EXPECT_EQ(clock.now(), start + std::chrono::seconds(7));
  EXPECT_FALSE(mocks::advance_until(clock, std::chrono::seconds(1), 3, [] { return false; }));
}

}  // namespace mocks_test
}  // namespace pipeline
