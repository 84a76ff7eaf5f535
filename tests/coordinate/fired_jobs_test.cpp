// Phase 5 jobs recorded per date in the store: a restarted coordinator runs what it
// missed, once, and two coordinators on one store fire each job once between them.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pipeline/alert/alert_manager.hpp"
#include "pipeline/coordinate/batch_coordinator.hpp"
#include "pipeline/coordinate/fired_jobs.hpp"
#include "pipeline/coordinate/hybrid_trigger.hpp"
#include "pipeline/core/manual_clock.hpp"
#include "pipeline/memory/memory_state_store.hpp"
#include "pipeline/mocks/recording_transport.hpp"
#include "pipeline/schedule/daily_schedule.hpp"
#include "pipeline/sqlite/sqlite_state_store.hpp"
#include "temp_dir.hpp"

namespace pipeline {
namespace fired_jobs_test {

using std::chrono::hours;
using std::chrono::minutes;

const CalendarDate kDate = *CalendarDate::parse("2025-11-18");  // PST: 06:00 PT = 14:00Z

/// 420 players expected, none predicted (no workers): retries keep publishing.
class Ledger final : public PredictionLedger {
 public:
  Result<std::vector<std::string>> expected(CalendarDate) override {
    std::vector<std::string> out;
    for (int i = 0; i < 420; ++i) out.push_back(fmt::format("p{:03}", i));
    return out;
  }
  Result<std::map<std::string, std::int64_t>> predicted(CalendarDate) override { return {}; }
};

class Ready final : public ReadinessSource {
 public:
  Result<ReadinessCounts> counts(CalendarDate) override { return ReadinessCounts{420, 450}; }
};

/// One coordinator process: its alerts, coordinator and hybrid trigger over a shared store.
struct Instance {
  Instance(ManualClock& clock, StateStore& store, Transport& transport, ReadinessSource& source,
           PredictionLedger& ledger, const DailySchedule& schedule, HybridTriggerOptions options)
      : alerts(AlertManager::create(clock, {}).value()),
        coordinator(BatchCoordinator::create(clock, store, *alerts, source, ledger).value()),
        hybrid(HybridTrigger::create(
                   clock, store, transport, *coordinator,
                   [schedule](TimePoint t) -> std::optional<Scheduler::Due> {
                     if (auto i = schedule.next_after(t)) return Scheduler::Due{i->job, i->at};
                     return std::nullopt;
                   },
                   [schedule](TimePoint t) { return schedule.wall_time(t).date; }, options)
                   .value()) {}
  std::unique_ptr<AlertManager> alerts;
  std::unique_ptr<BatchCoordinator> coordinator;
  std::unique_ptr<HybridTrigger> hybrid;
};

/// "job@HH:MMZ:outcome" for each run, with "*" on the catch-up runs.
std::vector<std::string> summary(const HybridTrigger& h) {
  std::vector<std::string> out;
  for (const auto& r : h.runs())
    out.push_back(fmt::format("{}{}@{}:{}", r.catch_up ? "*" : "", r.source, format_rfc3339(r.at).substr(11, 5),
                              r.outcome));
  return out;
}

/// The same tests over the memory store (one shared object) and SQLite (one file, a
/// connection per instance, as separate processes would have).
class FiredJobsTest : public ::testing::TestWithParam<std::string> {
 protected:
  FiredJobsTest() : schedule(*DailySchedule::phase5()) {}

  StateStore& store_for(int instance) {
    if (GetParam() == "memory") return memory;
    while (static_cast<int>(sqlite.size()) <= instance) {
      auto s = SqliteStateStore::open(dir.file("state.db"));
      EXPECT_TRUE(s) << s.error().to_string();
      sqlite.push_back(std::move(*s));
    }
    return *sqlite[static_cast<std::size_t>(instance)];
  }

  std::unique_ptr<Instance> make(int instance, Duration grace = hours(24)) {
    HybridTriggerOptions o;
    o.instance = fmt::format("coordinator-{}", instance);
    o.subscription = fmt::format("phase5-trigger-sub-{}", instance);
    o.catch_up_grace = grace;
    return std::make_unique<Instance>(clock, store_for(instance), transport, source, ledger, schedule, o);
  }

  testing::TempDir dir;
  MemoryStateStore memory = MemoryStateStore::create().value();
  std::vector<std::unique_ptr<SqliteStateStore>> sqlite;
  ManualClock clock{*parse_rfc3339("2025-11-18T08:00:00Z")};  // 00:00 PST
  mocks::RecordingTransport transport;
  Ready source;
  Ledger ledger;
  DailySchedule schedule;
};

TEST_P(FiredJobsTest, RestartedAfterTheBackupInstantRunsTheBackupAtOnceThenTheRestOnTime) {
  clock.set_time(*parse_rfc3339("2025-11-18T14:05:00Z"));  // 06:05 PST: the 06:00 backup was missed
  auto a = make(0);
  ASSERT_TRUE(a->hybrid->start());
  EXPECT_EQ(summary(*a->hybrid), (std::vector<std::string>{"*backup@14:00:started"}));
  clock.advance(hours(1) + minutes(30));
  EXPECT_EQ(summary(*a->hybrid), (std::vector<std::string>{"*backup@14:00:started", "retry@14:15:retrying",
                                                          "retry@14:30:retrying", "status_check@15:00:status_alerted"}));
  auto batches = a->coordinator->batches(kDate);
  ASSERT_TRUE(batches);
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ(batches->front().triggered_by, BatchTrigger::kScheduler);
  EXPECT_EQ(batches->front().attempts, 3);
  auto fired = a->hybrid->fired_jobs().list(kDate);
  ASSERT_TRUE(fired);
  ASSERT_EQ(fired->size(), 4u);
  EXPECT_EQ(fired->front().job, "backup");
  EXPECT_EQ(fired->front().at, *parse_rfc3339("2025-11-18T14:00:00Z"));
  EXPECT_EQ(fired->front().owner, "coordinator-0");
}

TEST_P(FiredJobsTest, ARestartRunsOnlyTheJobsNotFiredBeforeItDied) {
  auto first = make(0);
  ASSERT_TRUE(first->hybrid->start());
  clock.set_time(*parse_rfc3339("2025-11-18T14:10:00Z"));  // the backup ran at 06:00
  EXPECT_EQ(summary(*first->hybrid), (std::vector<std::string>{"backup@14:00:started"}));
  first.reset();                                            // the process dies
  clock.set_time(*parse_rfc3339("2025-11-18T14:35:00Z"));  // and comes back at 06:35
  auto again = make(0);
  ASSERT_TRUE(again->hybrid->start());
  EXPECT_EQ(summary(*again->hybrid),
            (std::vector<std::string>{"*backup@14:00:already_fired", "*retry@14:15:retrying", "*retry@14:30:retrying"}));
  clock.advance(hours(1));
  EXPECT_EQ(summary(*again->hybrid).back(), "status_check@15:00:status_alerted");
  EXPECT_EQ(again->coordinator->batches(kDate)->front().attempts, 3);
}

TEST_P(FiredJobsTest, TwoCoordinatorsStartedTogetherFireEachJobOnceBetweenThem) {
  clock.set_time(*parse_rfc3339("2025-11-18T14:40:00Z"));  // 06:40 PST: three jobs past due
  auto a = make(0);
  auto b = make(1);
  ASSERT_TRUE(a->hybrid->start());
  ASSERT_TRUE(b->hybrid->start());
  clock.advance(hours(1));
  EXPECT_EQ(summary(*a->hybrid),
            (std::vector<std::string>{"*backup@14:00:started", "*retry@14:15:retrying", "*retry@14:30:retrying",
                                      "status_check@15:00:status_alerted"}));
  // The second found the catch-up claimed; of the two schedulers' 07:00 firings one ran.
  EXPECT_EQ(summary(*b->hybrid),
            (std::vector<std::string>{"*backup@14:00:already_fired", "*retry@14:15:already_fired",
                                      "*retry@14:30:already_fired", "status_check@15:00:already_fired"}));
  auto batches = b->coordinator->batches(kDate);
  ASSERT_TRUE(batches);
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ(batches->front().attempts, 3);  // one fan-out and two retries, not four
  EXPECT_EQ(a->hybrid->fired_jobs().list(kDate)->size(), 4u);
}

TEST_P(FiredJobsTest, JobsPastTheGraceAreSkippedAndYesterdaysAreNotCaughtUp) {
  clock.set_time(*parse_rfc3339("2025-11-18T15:10:00Z"));  // 07:10 PST
  auto a = make(0, minutes(15));
  ASSERT_TRUE(a->hybrid->start());
  EXPECT_EQ(summary(*a->hybrid),
            (std::vector<std::string>{"*backup@14:00:skipped", "*retry@14:15:skipped", "*retry@14:30:skipped",
                                      "*status_check@15:00:status_alerted"}));
  a.reset();
  clock.set_time(*parse_rfc3339("2025-11-19T09:00:00Z"));  // 01:00 PST the next day
  auto next_day = make(0);
  ASSERT_TRUE(next_day->hybrid->start());
  EXPECT_TRUE(next_day->hybrid->runs().empty());
  EXPECT_EQ(next_day->hybrid->scheduler().armed()->at, *parse_rfc3339("2025-11-19T14:00:00Z"));
}

TEST_P(FiredJobsTest, ForgettingADateMakesItsJobsFireAgain) {
  clock.set_time(*parse_rfc3339("2025-11-18T15:10:00Z"));
  auto a = make(0);
  ASSERT_TRUE(a->hybrid->start());
  EXPECT_EQ(a->hybrid->runs().size(), 4u);
  a.reset();
  auto b = make(1);
  EXPECT_EQ(*b->hybrid->fired_jobs().forget(kDate), 4u);
  EXPECT_TRUE(b->hybrid->fired_jobs().list(kDate)->empty());
  EXPECT_EQ(*b->hybrid->fired_jobs().forget(kDate), 0u);
  ASSERT_TRUE(b->hybrid->start());
  EXPECT_EQ(summary(*b->hybrid),
            (std::vector<std::string>{"*backup@14:00:running", "*retry@14:15:retrying", "*retry@14:30:retrying",
                                      "*status_check@15:00:status_alerted"}));
}

TEST_P(FiredJobsTest, CreateRefusesAnEmptyPrefixOrOneEndingInASlash) {
  auto empty = FiredJobs::create(store_for(0), {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(FiredJobs::create(store_for(0), {"phase5/fired/"}));
  EXPECT_TRUE(FiredJobs::create(store_for(0), {"phase5/fired"}));
}

TEST_P(FiredJobsTest, HybridTriggerCreateRefusesAnEmptyInstanceOrANegativeGrace) {
  auto alerts = AlertManager::create(clock, {}).value();
  auto coordinator = BatchCoordinator::create(clock, store_for(0), *alerts, source, ledger).value();
  auto next_due = [](TimePoint) -> std::optional<Scheduler::Due> { return std::nullopt; };
  auto game_date_of = [](TimePoint) { return kDate; };
  HybridTriggerOptions unnamed;
  unnamed.instance.clear();
  auto r = HybridTrigger::create(clock, store_for(0), transport, *coordinator, next_due, game_date_of, unnamed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "HybridTriggerOptions::instance must not be empty");
  HybridTriggerOptions negative;
  negative.catch_up_grace = -hours(1);
  EXPECT_FALSE(HybridTrigger::create(clock, store_for(0), transport, *coordinator, next_due, game_date_of, negative));
  EXPECT_FALSE(HybridTrigger::create(clock, store_for(0), transport, *coordinator, next_due, {}));
}

INSTANTIATE_TEST_SUITE_P(Stores, FiredJobsTest, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace fired_jobs_test
}  // namespace pipeline
