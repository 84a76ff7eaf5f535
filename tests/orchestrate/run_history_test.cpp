#include "pipeline/orchestrate/run_history.hpp"

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "store_under_test.hpp"

namespace run_history_test {

using namespace std::chrono_literals;
using pipeline::RunHistory;
using pipeline::RunKey;
using pipeline::RunState;
using pipeline::StartDecision;

RunKey key(std::string processor = "player_game_summary", int wave = 0) {
  return RunKey{std::move(processor), pipeline::CalendarDate::parse("2025-11-18").value(), wave};
}

class RunHistoryTest : public pipeline::testing::StoreSuite {};

TEST_P(RunHistoryTest, StartSucceedThenSkipWithinWindowUnlessForced) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  EXPECT_TRUE(history.should_run(key(), 2h).value());
  auto start = history.try_start(key(), "w1", 2h).value();
  ASSERT_EQ(start.decision, StartDecision::kStarted);
  EXPECT_EQ(start.record.attempts, 1);
  EXPECT_EQ(start.record.lease_until, clock.now() + 10min);
  clock.advance(3min);
  ASSERT_TRUE(history.record_success(key(), "w1"));
  auto rec = history.get(key()).value();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::kSuccess);
  EXPECT_EQ(rec->finished_at, clock.now());
  EXPECT_EQ(rec->started_at, clock.now() - 3min);

  clock.advance(1h);
  EXPECT_FALSE(history.should_run(key(), 2h).value());
  EXPECT_EQ(history.try_start(key(), "w2", 2h).value().decision, StartDecision::kSkipped);
  EXPECT_TRUE(history.should_run(key(), 2h, true).value());
  auto forced = history.try_start(key(), "w2", 2h, true).value();
  EXPECT_EQ(forced.decision, StartDecision::kStarted);
  EXPECT_EQ(forced.record.attempts, 2);
}

TEST_P(RunHistoryTest, SuccessOlderThanWindowRunsAgain) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  ASSERT_EQ(history.try_start(key(), "w1", 2h).value().decision, StartDecision::kStarted);
  ASSERT_TRUE(history.record_success(key(), "w1"));
  clock.advance(2h + 1s);
  EXPECT_EQ(history.try_start(key(), "w1", 2h).value().decision, StartDecision::kStarted);
}

TEST_P(RunHistoryTest, LiveLeaseIsBusyAndExpiredLeaseIsReclaimable) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store, {.lease = 5min}).value();
  ASSERT_EQ(history.try_start(key(), "crashed", 2h).value().decision, StartDecision::kStarted);
  clock.advance(4min);
  auto busy = history.try_start(key(), "w2", 2h, true).value();
  EXPECT_EQ(busy.decision, StartDecision::kBusy);
  EXPECT_EQ(busy.record.owner, "crashed");
  EXPECT_FALSE(history.should_run(key(), 2h).value());
  clock.advance(2min);
  auto reclaimed = history.try_start(key(), "w2", 2h).value();
  EXPECT_EQ(reclaimed.decision, StartDecision::kStarted);
  EXPECT_EQ(reclaimed.record.attempts, 2);
  // The crashed runner lost its lease: it can no longer mark the run.
  auto late = history.record_success(key(), "crashed");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, pipeline::ErrorCode::kFailedPrecondition);
}

TEST_P(RunHistoryTest, RenewLeaseKeepsOthersOut) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store, {.lease = 5min}).value();
  ASSERT_EQ(history.try_start(key(), "w1", 2h).value().decision, StartDecision::kStarted);
  clock.advance(4min);
  ASSERT_TRUE(history.renew_lease(key(), "w1"));
  clock.advance(4min);
  EXPECT_EQ(history.try_start(key(), "w2", 2h).value().decision, StartDecision::kBusy);
  EXPECT_FALSE(history.renew_lease(key(), "w2"));
}

TEST_P(RunHistoryTest, FailureIsRecordedAndRunsAgain) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  ASSERT_EQ(history.try_start(key(), "w1", 2h).value().decision, StartDecision::kStarted);
  ASSERT_TRUE(history.record_failure(key(), "w1", "BigQuery quota exceeded"));
  auto rec = history.get(key()).value();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, RunState::kFailed);
  EXPECT_EQ(rec->error, "BigQuery quota exceeded");
  EXPECT_TRUE(history.should_run(key(), 2h).value());
}

TEST_P(RunHistoryTest, SuccessAndOutboxEntryCommitInOneTransaction) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  ASSERT_EQ(history.try_start(key(), "w1", 2h).value().decision, StartDecision::kStarted);
  // A failing enqueue rolls the success back too.
  auto st = store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    PIPELINE_TRY(history.mark_success(tx, key(), "w1"));
    return tx.enqueue({"", {"done-1", "{}", {}}}).map([](bool) {});
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(history.get(key()).value()->state, RunState::kRunning);
  ASSERT_TRUE(store.transact([&](pipeline::Transaction& tx) -> pipeline::Status {
    PIPELINE_TRY(history.mark_success(tx, key(), "w1"));
    return tx.enqueue({"phase3-complete", {"done-1", "{}", {}}}).map([](bool) {});
  }));
  EXPECT_EQ(history.get(key()).value()->state, RunState::kSuccess);
  EXPECT_EQ(store.pending_outbox().value(), 1u);
}

TEST_P(RunHistoryTest, ListsRunsOfOneDate) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  ASSERT_TRUE(history.try_start(key("b_proc", 1), "w", 1h));
  ASSERT_TRUE(history.try_start(key("a_proc", 0), "w", 1h));
  RunKey other{"a_proc", pipeline::CalendarDate::parse("2025-11-19").value(), 0};
  ASSERT_TRUE(history.try_start(other, "w", 1h));
  auto runs = history.list(key().date).value();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].key, key("a_proc", 0));
  EXPECT_EQ(runs[1].key, key("b_proc", 1));
}

// A date taken over from a dead process: its running records end as failed at once and
// start again; successes, failures and other dates are left as they were.
TEST_P(RunHistoryTest, AbandonRunningEndsTheDatesLiveLeasesOnly) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  ASSERT_EQ(history.try_start(key("a"), "dead", 2h).value().decision, StartDecision::kStarted);
  ASSERT_EQ(history.try_start(key("b"), "dead", 2h).value().decision, StartDecision::kStarted);
  ASSERT_TRUE(history.record_success(key("b"), "dead"));
  ASSERT_EQ(history.try_start(key("c", 1), "dead", 2h).value().decision, StartDecision::kStarted);
  RunKey other_date{"a", pipeline::CalendarDate::parse("2025-11-19").value(), 0};
  ASSERT_EQ(history.try_start(other_date, "alive", 2h).value().decision, StartDecision::kStarted);
  EXPECT_EQ(history.try_start(key("a"), "next", 2h).value().decision, StartDecision::kBusy);

  EXPECT_EQ(history.abandon_running(key().date, "taken over").value(), 2);  // a and c/w1
  auto a = history.get(key("a")).value();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->state, RunState::kFailed);
  EXPECT_EQ(a->error, "abandoned: taken over");
  EXPECT_EQ(history.get(key("b")).value()->state, RunState::kSuccess);
  EXPECT_EQ(history.get(other_date).value()->state, RunState::kRunning);
  EXPECT_EQ(history.try_start(key("a"), "next", 2h).value().decision, StartDecision::kStarted) << "no wait for the lease";
  EXPECT_EQ(history.try_start(key("b"), "next", 2h).value().decision, StartDecision::kSkipped);
  EXPECT_EQ(history.abandon_running(key().date, "again").value(), 1) << "a, next's now; c ended already";
}

TEST_P(RunHistoryTest, BadProcessorNameIsRejected) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  auto r = history.try_start(key("a/b"), "w", 1h);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pipeline::ErrorCode::kInvalidArgument);
}

TEST_P(RunHistoryTest, ConcurrentStartersExactlyOneWins) {
  pipeline::ManualClock clock;
  RunHistory history = RunHistory::create(clock, store).value();
  for (int round = 0; round < 20; ++round) {
    const RunKey k = key("proc", round);
    std::atomic<int> started{0}, busy{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        auto r = history.try_start(k, "w" + std::to_string(t), 1h);
        ASSERT_TRUE(r);
        if (r->decision == StartDecision::kStarted) ++started;
        if (r->decision == StartDecision::kBusy) ++busy;
      });
    for (auto& th : threads) th.join();
    EXPECT_EQ(started.load(), 1);
    EXPECT_EQ(busy.load(), 3);
  }
}

TEST_P(RunHistoryTest, CreateRefusesALeaseThatIsNotPositive) {
  pipeline::ManualClock clock;
  auto r = RunHistory::create(clock, store, {.lease = 0s});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "RunHistoryOptions::lease must be positive");
}

PIPELINE_STORE_SUITE(RunHistoryTest);

}  // namespace run_history_test
