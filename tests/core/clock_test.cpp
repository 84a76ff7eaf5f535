#include <atomic>
#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "pipeline/core/manual_clock.hpp"
#include "pipeline/core/system_clock.hpp"

namespace pipeline {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(ManualClock, AdvanceFiresDueTimersInOrderOfDueTimeThenScheduling) {
  ManualClock clock;
  std::vector<int> order;
  clock.schedule_after(minutes(2), [&] { order.push_back(3); });
  clock.schedule_after(minutes(1), [&] { order.push_back(1); });
  clock.schedule_after(minutes(1), [&] { order.push_back(2); });
  clock.schedule_after(minutes(5), [&] { order.push_back(4); });
  EXPECT_EQ(clock.advance(minutes(2)), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(clock.pending_timers(), 1u);
}

TEST(ManualClock, NowIsTheDueTimeInsideACallbackAndTheTargetAfter) {
  ManualClock clock;
  const auto start = clock.now();
  TimePoint seen{};
  clock.schedule_after(minutes(30), [&] { seen = clock.now(); });
  clock.advance(minutes(45));
  EXPECT_EQ(seen, start + minutes(30));
  EXPECT_EQ(clock.now(), start + minutes(45));
}

TEST(ManualClock, TimerScheduledByACallbackInsideTheStepFiresInTheSameAdvance) {
  ManualClock clock;
  int fired = 0;
  clock.schedule_after(seconds(10), [&] {
    ++fired;
    clock.schedule_after(seconds(10), [&] { ++fired; });
  });
  clock.advance(seconds(25));
  EXPECT_EQ(fired, 2);
}

TEST(ManualClock, CancelledTimerDoesNotFire) {
  ManualClock clock;
  bool fired = false;
  const auto id = clock.schedule_after(seconds(1), [&] { fired = true; });
  EXPECT_TRUE(clock.cancel(id));
  EXPECT_FALSE(clock.cancel(id));
  clock.advance(seconds(2));
  EXPECT_FALSE(fired);
}

TEST(ManualClock, TimeNeverGoesBackwards) {
  ManualClock clock;
  const auto start = clock.now();
  clock.set_time(start - minutes(5));
  EXPECT_EQ(clock.now(), start);
}

TEST(SystemClock, FiresATimerThatIsAlreadyDue) {
  // Uses a due time in the past so the test never waits on wall time.
  SystemClock clock;
  std::atomic<bool> fired{false};
  std::mutex mu;
  std::condition_variable cv;
  clock.schedule_at(clock.now() - seconds(1), [&] {
    std::lock_guard lock(mu);
    fired = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return fired.load(); });
  EXPECT_TRUE(fired);
}

TEST(SystemClock, AnOffsetShiftsNowAndTheTimersDueOnIt) {
  // A year back: now() is shifted, and a timer due just before the shifted now fires at
  // once (due on the shifted time, not on the system clock's, where it would be a year away).
  const auto offset = -std::chrono::duration_cast<Duration>(std::chrono::hours(24 * 365));
  SystemClock clock(offset);
  const auto system_now = std::chrono::system_clock::now();
  EXPECT_LT(clock.now(), system_now + offset + minutes(1));
  EXPECT_GT(clock.now(), system_now + offset - minutes(1));
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;
  clock.schedule_at(clock.now() - seconds(1), [&] {
    std::lock_guard lock(mu);
    fired = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return fired; });
  EXPECT_TRUE(fired);
}

}  // namespace
}  // namespace pipeline
