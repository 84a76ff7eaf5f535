#include "pipeline/coordinate/scheduler.hpp"

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/timestamp.hpp"
#include "pipeline/core/timer_queue.hpp"
#include "pipeline/schedule/daily_schedule.hpp"

namespace scheduler_test {

using namespace std::chrono_literals;
using pipeline::Scheduler;
using pipeline::TimePoint;

TimePoint at(std::string_view s) { return *pipeline::parse_rfc3339(s); }

Scheduler::NextDue source_of(const pipeline::DailySchedule& s) {
  return [s](TimePoint t) -> std::optional<Scheduler::Due> {
    if (auto i = s.next_after(t)) return Scheduler::Due{i->job, i->at};
    return std::nullopt;
  };
}

struct Fired {
  std::string job;
  std::string scheduled;  // RFC 3339
  std::string now;        // the clock when the callback ran
  friend bool operator==(const Fired&, const Fired&) = default;
};

std::ostream& operator<<(std::ostream& os, const Fired& f) {
  return os << f.job << "@" << f.scheduled << " (now " << f.now << ")";
}

// A clock whose timers run only when told, *after* time has already jumped: what a
// suspended host or a late timer thread looks like to the scheduler.
class LateClock final : public pipeline::Clock {
 public:
  explicit LateClock(TimePoint start) : now_(start) {}
  [[nodiscard]] TimePoint now() const noexcept override { return now_; }
  pipeline::TimerId schedule_at(TimePoint due, std::function<void()> fn) override {
    return timers_.add(due, std::move(fn));
  }
  bool cancel(pipeline::TimerId id) noexcept override { return timers_.cancel(id); }
  void jump_to(TimePoint t) {
    now_ = t;
    while (auto next = timers_.pop_due(now_)) next->second();
  }

 private:
  TimePoint now_;
  pipeline::internal::TimerQueue timers_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = pipeline::DailySchedule::phase5();
    ASSERT_TRUE(s) << s.error().to_string();
    schedule_ = std::make_unique<pipeline::DailySchedule>(*s);
  }
  Scheduler::OnDue record(const pipeline::Clock& clock) {
    return [this, &clock](const std::string& job, TimePoint scheduled) {
      fired_.push_back({job, pipeline::format_rfc3339(scheduled), pipeline::format_rfc3339(clock.now())});
    };
  }
  std::unique_ptr<pipeline::DailySchedule> schedule_;
  std::vector<Fired> fired_;
};

TEST_F(SchedulerTest, FiresExactlyTheFourJobsOfADayInOrderAtTheirInstants) {
  pipeline::ManualClock clock(at("2025-11-18T08:00:00Z"));  // 00:00 PST
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  ASSERT_TRUE(scheduler->start());
  EXPECT_EQ(clock.pending_timers(), 1u);  // one armed timer, not one per job
  clock.advance(24h - 1s);
  EXPECT_EQ(fired_, (std::vector<Fired>{{"backup", "2025-11-18T14:00:00Z", "2025-11-18T14:00:00Z"},
                                        {"retry", "2025-11-18T14:15:00Z", "2025-11-18T14:15:00Z"},
                                        {"retry", "2025-11-18T14:30:00Z", "2025-11-18T14:30:00Z"},
                                        {"status_check", "2025-11-18T15:00:00Z", "2025-11-18T15:00:00Z"}}));
  EXPECT_EQ(scheduler->fired(), 4u);
  ASSERT_TRUE(scheduler->armed());
  EXPECT_EQ(pipeline::format_rfc3339(scheduler->armed()->at), "2025-11-19T14:00:00Z");
}

TEST_F(SchedulerTest, FiresAtPdtInstantsOnSpringForwardDay) {
  pipeline::ManualClock clock(at("2025-03-09T08:00:00Z"));  // 00:00 PST, before the gap
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  scheduler->start();
  clock.advance(23h - 1s);  // the local day is 23 hours long
  ASSERT_EQ(fired_.size(), 4u);
  EXPECT_EQ(fired_[0].now, "2025-03-09T13:00:00Z");
  EXPECT_EQ(fired_[3].now, "2025-03-09T14:00:00Z");
}

TEST_F(SchedulerTest, StartFiresAJobDueExactlyNow) {
  pipeline::ManualClock clock(at("2025-11-18T14:00:00Z"));
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  scheduler->start();
  clock.run_due();
  ASSERT_EQ(fired_.size(), 1u);
  EXPECT_EQ(fired_[0].job, "backup");
}

TEST_F(SchedulerTest, StopCancelsTheArmedTimer) {
  pipeline::ManualClock clock(at("2025-11-18T08:00:00Z"));
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  scheduler->start();
  clock.advance(6h + 10min);  // backup fired at 14:00Z
  ASSERT_EQ(fired_.size(), 1u);
  scheduler->stop();
  EXPECT_FALSE(scheduler->running());
  EXPECT_EQ(clock.pending_timers(), 0u);
  clock.advance(48h);
  EXPECT_EQ(fired_.size(), 1u);
  // Restarting (now 2025-11-20T14:10Z) arms from now: what was missed while stopped
  // never fires.
  ASSERT_TRUE(scheduler->start());
  clock.advance(24h);
  ASSERT_EQ(fired_.size(), 5u);
  EXPECT_EQ(fired_[1].job + "@" + fired_[1].scheduled, "retry@2025-11-20T14:15:00Z");
  EXPECT_EQ(fired_[4].job + "@" + fired_[4].scheduled, "backup@2025-11-21T14:00:00Z");
}

TEST_F(SchedulerTest, StopFromInsideTheCallbackStopsFurtherJobs) {
  pipeline::ManualClock clock(at("2025-11-18T08:00:00Z"));
  std::vector<std::string> jobs;
  std::unique_ptr<Scheduler> scheduler;
  scheduler = Scheduler::create(clock, source_of(*schedule_), [&](const std::string& job, TimePoint) {
                jobs.push_back(job);
                if (jobs.size() == 2) scheduler->stop();
              }).value();
  scheduler->start();
  clock.advance(72h);
  EXPECT_EQ(jobs, (std::vector<std::string>{"backup", "retry"}));
}

TEST_F(SchedulerTest, ManualClockJumpOverSeveralDaysFiresEachInstantOnceInOrder) {
  pipeline::ManualClock clock(at("2025-11-01T07:00:00Z"));  // 2025-11-01 00:00 PDT
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  scheduler->start();
  clock.advance(72h);  // across the 2025-11-02 fall-back
  ASSERT_EQ(fired_.size(), 12u);
  for (std::size_t i = 0; i < fired_.size(); ++i) EXPECT_EQ(fired_[i].now, fired_[i].scheduled) << i;
  EXPECT_EQ(fired_[0].scheduled, "2025-11-01T13:00:00Z");  // PDT
  EXPECT_EQ(fired_[4].scheduled, "2025-11-02T14:00:00Z");  // PST
  EXPECT_EQ(fired_[11].scheduled, "2025-11-03T15:00:00Z");
}

TEST_F(SchedulerTest, LateClockFiresEveryMissedInstantOnceInOrder) {
  LateClock clock(at("2025-11-18T08:00:00Z"));
  auto scheduler = Scheduler::create(clock, source_of(*schedule_), record(clock)).value();
  scheduler->start();
  clock.jump_to(at("2025-11-20T14:20:00Z"));  // two days and two jobs were missed
  std::vector<std::string> scheduled;
  for (const auto& f : fired_) {
    scheduled.push_back(f.job + "@" + f.scheduled);
    EXPECT_EQ(f.now, "2025-11-20T14:20:00Z");  // all late, at the jump
  }
  EXPECT_EQ(scheduled, (std::vector<std::string>{
                           "backup@2025-11-18T14:00:00Z", "retry@2025-11-18T14:15:00Z", "retry@2025-11-18T14:30:00Z",
                           "status_check@2025-11-18T15:00:00Z", "backup@2025-11-19T14:00:00Z",
                           "retry@2025-11-19T14:15:00Z", "retry@2025-11-19T14:30:00Z",
                           "status_check@2025-11-19T15:00:00Z", "backup@2025-11-20T14:00:00Z",
                           "retry@2025-11-20T14:15:00Z"}));
  ASSERT_TRUE(scheduler->armed());
  EXPECT_EQ(pipeline::format_rfc3339(scheduler->armed()->at), "2025-11-20T14:30:00Z");
}

TEST(SchedulerSource, NonAdvancingSourceDoesNotSpin) {
  pipeline::ManualClock clock(at("2025-11-18T00:00:00Z"));
  const TimePoint fixed = at("2025-11-18T01:00:00Z");
  int calls = 0;
  auto scheduler =
      Scheduler::create(
          clock, [&](TimePoint) { return std::optional<Scheduler::Due>(Scheduler::Due{"stuck", fixed}); },
          [&](const std::string&, TimePoint) { ++calls; })
          .value();
  scheduler->start();
  clock.advance(2h);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(scheduler->armed());
}

TEST_F(SchedulerTest, CreateRefusesAMissingSourceOrCallback) {
  pipeline::ManualClock clock(at("2025-11-18T08:00:00Z"));
  auto no_source = Scheduler::create(clock, {}, record(clock));
  ASSERT_FALSE(no_source);
  EXPECT_EQ(no_source.error().code, pipeline::ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Scheduler::create(clock, source_of(*schedule_), {}));
}

}  // namespace scheduler_test
